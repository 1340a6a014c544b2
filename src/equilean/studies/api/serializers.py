"""Serializers for studies, their transcripts, codebook, codings, agreement and themes."""

from __future__ import annotations

import math

from rest_framework import serializers

from equilean.studies import services
from equilean.studies.models import (
    Code,
    CodebookVersion,
    Coding,
    Participant,
    Segment,
    Study,
    Theme,
    Transcript,
)


class StudySerializer(serializers.ModelSerializer):
    node = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Study
        fields = [
            "id",
            "title",
            "question",
            "node",
            "unit",
            "interviewer",
            "comparison",
            "comparison_opened_at",
        ]


class ParticipantSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = Participant
        fields = ["id", "pseudonym", "role", "tier", "site"]


class SegmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = ["id", "kind", "number", "start", "end", "speaker"]


class TranscriptSerializer(serializers.ModelSerializer):
    participant = serializers.SlugRelatedField(
        slug_field="pseudonym", read_only=True, allow_null=True
    )

    class Meta:
        model = Transcript
        fields = ["id", "title", "participant", "training", "source", "created_at"]


class TranscriptDetailSerializer(TranscriptSerializer):
    segments = SegmentSerializer(many=True, read_only=True)

    class Meta(TranscriptSerializer.Meta):
        fields = [*TranscriptSerializer.Meta.fields, "text", "segments"]


class CodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Code
        fields = ["id", "name", "parent", "definition", "inclusion", "exclusion", "examples"]


class CodebookVersionSerializer(serializers.ModelSerializer):
    codes = CodeSerializer(many=True, read_only=True)

    class Meta:
        model = CodebookVersion
        fields = ["number", "note", "created_at", "codes"]


class CodingSerializer(serializers.ModelSerializer):
    coder = serializers.SlugRelatedField(slug_field="username", read_only=True)
    code_name = serializers.CharField(source="code.name", read_only=True)
    codebook_version = serializers.IntegerField(source="code.version.number", read_only=True)
    excerpt = serializers.CharField(read_only=True)

    class Meta:
        model = Coding
        fields = [
            "id",
            "transcript",
            "coder",
            "code",
            "code_name",
            "codebook_version",
            "start",
            "end",
            "excerpt",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def __init__(self, *args, study=None, **kwargs):
        super().__init__(*args, **kwargs)
        if study is not None:
            version = study.codebook()
            self.fields["transcript"].queryset = study.transcripts.all()
            self.fields["code"].queryset = version.codes.all() if version else Code.objects.none()

    def validate(self, data):
        if data["transcript"].frozen:
            raise serializers.ValidationError({"transcript": [services.FROZEN]})
        length = len(data["transcript"].text)
        if not 0 <= data["start"] < data["end"] <= length:
            raise serializers.ValidationError(
                {"end": [f"need 0 <= start < end <= {length} (the transcript's length)"]}
            )
        return data


def _number(value):
    return None if value is None or math.isnan(value) else value


class FigureSerializer(serializers.Serializer):
    code = serializers.CharField(help_text='The code, or "" for all codes pooled.')
    level = serializers.ChoiceField(choices=["segment", "character"])
    coders = serializers.ListField(child=serializers.CharField())
    units = serializers.IntegerField(help_text="Units every coder here rated.")
    applied = serializers.ListField(
        child=serializers.IntegerField(), help_text="Units each coder applied the code to."
    )
    all_applied = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)
    kappa = serializers.FloatField(allow_null=True)
    alpha = serializers.FloatField(allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in ("percent", "kappa", "alpha"):
            data[name] = _number(getattr(instance, name))
        return data


class ResolutionSerializer(serializers.Serializer):
    applies = serializers.BooleanField()
    reason = serializers.CharField()
    decided_by = serializers.CharField(source="decided_by.username")
    decided_at = serializers.DateTimeField()


class DisagreementSerializer(serializers.Serializer):
    segment = serializers.IntegerField(source="segment.pk")
    transcript = serializers.IntegerField(source="segment.transcript_id")
    number = serializers.IntegerField(source="segment.number")
    text = serializers.CharField(source="segment.text")
    code = serializers.CharField()
    decisions = serializers.DictField(child=serializers.BooleanField())
    resolution = ResolutionSerializer(allow_null=True)


class ConsensusSerializer(serializers.Serializer):
    segment = serializers.IntegerField()
    code = serializers.CharField(max_length=120)
    applies = serializers.BooleanField()
    reason = serializers.CharField(max_length=2000)


class ThemeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Theme
        fields = ["id", "name", "description", "code_names", "recommendation"]
