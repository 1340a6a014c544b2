"""Serializers for measures, observations and signals; counts pass through privacy first."""

from rest_framework import serializers

from equilean.metrics.models import RESOLVE_NEEDS_A_NOTE, Measure, Signal


class MeasureSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="code")
    type = serializers.CharField(source="kind")

    class Meta:
        model = Measure
        fields = [
            "id",
            "name",
            "pillar",
            "type",
            "better",
            "per",
            "unit_label",
            "target",
            "dimensions",
            "description",
            "definition",
        ]


class ObservationSerializer(serializers.Serializer):
    """One observation as the caller may see it (built from a masked frame row)."""

    measure = serializers.CharField()
    node = serializers.CharField()
    grain = serializers.CharField()
    period = serializers.DateField()
    dimension = serializers.CharField()
    group = serializers.CharField()
    numerator = serializers.FloatField(allow_null=True)
    denominator = serializers.FloatField(allow_null=True)
    rate = serializers.FloatField(allow_null=True, help_text="numerator / denominator x per")
    count = serializers.FloatField(allow_null=True)
    mean = serializers.FloatField(allow_null=True)
    median = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField(help_text="True when small cells were hidden here")


class SignalSerializer(serializers.ModelSerializer):
    measure = serializers.SlugRelatedField(slug_field="code", read_only=True)
    node = serializers.SlugRelatedField(slug_field="code", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    resolved_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = Signal
        fields = [
            "id",
            "kind",
            "measure",
            "node",
            "dimension",
            "group",
            "direction",
            "status",
            "summary",
            "period_start",
            "period_end",
            "evidence",
            "still_detected",
            "first_detected",
            "last_detected",
            "acknowledged_by",
            "acknowledged_at",
            "link",
            "resolved_by",
            "resolved_at",
            "resolution_note",
        ]

    def get_evidence(self, signal) -> dict:
        viewer = self.context["viewer"]
        from equilean.metrics.privacy import visible_evidence

        return visible_evidence(signal.evidence, viewer.unsuppressed_at(signal.node))


class LinkSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=300)


class ResolveSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=500,
        error_messages={"required": RESOLVE_NEEDS_A_NOTE, "blank": RESOLVE_NEEDS_A_NOTE},
    )
