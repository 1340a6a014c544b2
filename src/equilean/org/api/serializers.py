"""Serializers for nodes and the signed-in person."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from equilean.org.models import Node, RoleGrant


# A wall-clock time at the site, without the zone offset that OpenAPI's "time" format requires.
@extend_schema_field({"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"})
class LocalTimeField(serializers.TimeField):
    """A time of day as HH:MM:SS, local to the site."""


class NodeSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    tier_name = serializers.CharField(read_only=True)
    huddle_time = LocalTimeField(
        format="%H:%M:%S", allow_null=True, required=False, help_text="Daily huddle, local time."
    )

    class Meta:
        model = Node
        fields = ["code", "name", "level", "tier", "tier_name", "huddle_time", "kind", "parent"]


class RoleGrantSerializer(serializers.ModelSerializer):
    node = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = RoleGrant
        fields = ["role", "node", "ends"]


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    title = serializers.CharField()
    home_node = serializers.CharField(allow_null=True)
    roles = RoleGrantSerializer(many=True)
    can_see_unsuppressed_at = serializers.ListField(child=serializers.CharField())
