"""Serializers for nodes and the signed-in person."""

from rest_framework import serializers

from equilean.org.models import Node, RoleGrant


class NodeSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)
    tier_name = serializers.CharField(read_only=True)

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
