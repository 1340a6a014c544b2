"""API views: the scoped node list and detail, and /me/."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from equilean.org.api.serializers import MeSerializer, NodeSerializer
from equilean.org.models import Node, RoleGrant
from equilean.org.roles import Action


class NodeViewSet(viewsets.ReadOnlyModelViewSet):
    """Nodes of the health-system tree that the caller may see."""

    serializer_class = NodeSerializer
    lookup_field = "code"

    def get_queryset(self):
        queryset = Node.objects.for_user(self.request.user, Action.VIEW).select_related("parent")
        level = self.request.query_params.get("level")
        return queryset.filter(level=level) if level else queryset


class MeView(APIView):
    """The signed-in person, their roles, and where they may see unsuppressed small cells."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        profile = getattr(user, "profile", None)
        grants = RoleGrant.objects.filter(user=user).active().select_related("node")
        unsuppressed = Node.objects.for_user(user, Action.VIEW_UNSUPPRESSED)
        payload = {
            "username": user.get_username(),
            "display_name": profile.display_name if profile else user.get_username(),
            "title": profile.title if profile else "",
            "home_node": profile.home_node.code if profile and profile.home_node else None,
            "roles": grants,
            "can_see_unsuppressed_at": list(unsuppressed.values_list("code", flat=True)),
        }
        return Response(MeSerializer(payload).data)
