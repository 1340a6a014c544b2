"""API views: the measure catalogue, scoped and suppressed observations, and signals."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import F
from django.db.models.functions import Collate
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from equilean.api.filters import known
from equilean.api.pagination import Page
from equilean.api.responses import errors
from equilean.engine.compute import GRAINS
from equilean.metrics.api.serializers import (
    LinkSerializer,
    MeasureSerializer,
    ObservationSerializer,
    ResolveSerializer,
    SignalSerializer,
)
from equilean.metrics.detect import Settings
from equilean.metrics.frames import FIELDS, masked_frame
from equilean.metrics.models import Measure, Observation, Signal, SignalStateError
from equilean.metrics.privacy import Viewer
from equilean.org.models import Node
from equilean.org.roles import Action
from equilean.org.scope import can

OBSERVATION_GRAINS = [*GRAINS, f"{Settings().window_months}m"]


@extend_schema_view(retrieve=extend_schema(responses={200: MeasureSerializer, **errors(404)}))
class MeasureViewSet(viewsets.ReadOnlyModelViewSet):
    """The measure catalogue: definitions, pillar, direction, target and dimensions."""

    serializer_class = MeasureSerializer
    pagination_class = Page
    lookup_field = "code"
    # Any code reaches the view, so an unknown one is the API's 404, not the site's page.
    lookup_value_regex = "[^/]+"
    queryset = Measure.objects.filter(active=True)


def _example(value: str) -> list[OpenApiExample]:
    return [OpenApiExample(value, value=value)]


OBSERVATION_FILTERS = [
    OpenApiParameter(
        "measure", str, description="measure id", examples=_example("readmission_30d")
    ),
    OpenApiParameter("node", str, description="node code", examples=_example("MUH-4W")),
    OpenApiParameter("dimension", str, description="e.g. race_ethnicity, or overall"),
    OpenApiParameter(
        "grain", str, enum=OBSERVATION_GRAINS, description="a period, or a trailing window"
    ),
    OpenApiParameter("period", OpenApiTypes.DATE, description="exact period start"),
    OpenApiParameter("period_from", OpenApiTypes.DATE),
    OpenApiParameter("period_to", OpenApiTypes.DATE),
]
# The frame's order (pandas sorts text by code point), so paging in the database keeps it.
ORDER = ["measure__code", "node__code", "grain", "period", "dimension", "group"]


def _date(request, name):
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError({name: [f"{value!r} is not a date like 2026-10-01"]}) from None


def _by_code_point(field: str):
    return Collate(F(field), "C") if connection.vendor == "postgresql" else F(field)


def _scope_codes(user) -> list[str]:
    return list(
        Node.objects.for_user(user, Action.VIEW).order_by("code").values_list("code", flat=True)
    )


class ObservationList(generics.GenericAPIView):
    """Aggregates the caller may see; small cells are null with suppressed=true."""

    serializer_class = ObservationSerializer
    pagination_class = Page

    def filters(self) -> dict:
        """Django lookups for the query string; an unknown value is a 400 naming the allowed."""
        params = self.request.query_params
        measure = known(
            params, "measure", Measure.objects.order_by("code").values_list("code", flat=True)
        )
        node = (
            known(params, "node", _scope_codes(self.request.user)) if params.get("node") else None
        )
        chosen = Measure.objects.filter(code=measure) if measure else Measure.objects.all()
        dimensions = sorted({d for m in chosen for d in m.dimensions})
        dimension = known(params, "dimension", ["overall", *dimensions])
        grain = known(params, "grain", OBSERVATION_GRAINS)
        if not measure and not node:
            raise ValidationError(
                {"non_field_errors": ["filter by measure or node (the full table is very large)"]}
            )
        filters = {
            "measure__code": measure,
            "node__code": node,
            "dimension": dimension,
            "grain": grain,
        }
        for name, lookup in (
            ("period", "period"),
            ("period_from", "period__gte"),
            ("period_to", "period__lte"),
        ):
            filters[lookup] = _date(self.request, name)
        return {k: v for k, v in filters.items() if v is not None}

    def get_queryset(self):
        return (
            Observation.objects.for_user(self.request.user, Action.VIEW)
            .filter(**self.filters())
            .order_by(*[_by_code_point(f) if f != "period" else F(f) for f in ORDER])
            .values_list(*FIELDS.values())
        )

    @extend_schema(
        parameters=OBSERVATION_FILTERS,
        responses={200: ObservationSerializer(many=True), **errors(400)},
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        # Suppression flags were decided at refresh; the shared privacy code applies them here.
        frame = masked_frame(page, Viewer(request.user))
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("node", str, examples=_example("MUH-4W")),
            OpenApiParameter("kind", str, enum=Signal.Kind.values),
            OpenApiParameter("status", str, enum=Signal.Status.values),
            OpenApiParameter("open", bool),
        ],
        responses={200: SignalSerializer(many=True), **errors(400)},
    ),
    retrieve=extend_schema(responses={200: SignalSerializer, **errors(404)}),
)
class SignalViewSet(viewsets.ReadOnlyModelViewSet):
    """Signals at nodes the caller may see, with acknowledge, link and resolve actions."""

    serializer_class = SignalSerializer
    pagination_class = Page
    # Any id reaches the view, so one that is not a number is the API's 404.
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        queryset = Signal.objects.for_user(self.request.user, Action.VIEW).select_related(
            "measure", "node", "acknowledged_by", "resolved_by"
        )
        if self.action != "list":
            return queryset
        params = self.request.query_params
        if params.get("node"):
            queryset = queryset.filter(
                node__code=known(params, "node", _scope_codes(self.request.user))
            )
        for key, allowed in (("kind", Signal.Kind.values), ("status", Signal.Status.values)):
            if params.get(key):
                queryset = queryset.filter(**{key: known(params, key, allowed)})
        if params.get("open") in ("1", "true"):
            queryset = queryset.open()
        return queryset

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "viewer": Viewer(self.request.user)}

    def _respond(self, request, step, body_class=None):
        # get_object turns an id that is not a number into a 404, as GET does; the body is
        # read only once the caller may act, so a bad body never answers before a 404 or 403.
        signal = self.get_object()
        if not can(request.user, Action.RESPOND, signal.node):
            raise PermissionDenied("Your roles do not let you respond to signals at this node.")
        body = {}
        if body_class is not None:
            serializer = body_class(data=request.data)
            serializer.is_valid(raise_exception=True)
            body = serializer.validated_data
        try:
            step(signal, body)
        except SignalStateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(signal).data)

    @extend_schema(request=None, responses={200: SignalSerializer, **errors(403, 404, 409)})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._respond(request, lambda s, _: s.acknowledge(request.user))

    @extend_schema(
        request=LinkSerializer, responses={200: SignalSerializer, **errors(400, 403, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        return self._respond(
            request, lambda s, body: s.link_to(request.user, body["reference"]), LinkSerializer
        )

    @extend_schema(
        request=ResolveSerializer, responses={200: SignalSerializer, **errors(400, 403, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._respond(
            request, lambda s, body: s.resolve(request.user, body["note"]), ResolveSerializer
        )
