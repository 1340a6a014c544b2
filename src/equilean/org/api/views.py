"""API views: the scoped node list and detail, and /me/."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from equilean.api.filters import known
from equilean.api.pagination import Page
from equilean.api.responses import errors
from equilean.org.api.serializers import MeSerializer, NodeSerializer
from equilean.org.models import Level, Node, RoleGrant
from equilean.org.roles import Action


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("level", str, enum=Level.values)],
        responses={200: NodeSerializer(many=True), **errors(400)},
    ),
    retrieve=extend_schema(responses={200: NodeSerializer, **errors(404)}),
)
class NodeViewSet(viewsets.ReadOnlyModelViewSet):
    """Nodes of the health-system tree that the caller may see."""

    serializer_class = NodeSerializer
    pagination_class = Page
    lookup_field = "code"
    # Any code reaches the view, so an unknown one is the API's 404, not the site's page.
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        queryset = Node.objects.for_user(self.request.user, Action.VIEW).select_related("parent")
        level = known(self.request.query_params, "level", Level.values)
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
