"""API views: the measure catalogue, scoped and suppressed observations, and signals."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from equilean.metrics.api.serializers import (
    LinkSerializer,
    MeasureSerializer,
    ObservationSerializer,
    ResolveSerializer,
    SignalSerializer,
)
from equilean.metrics.frames import observations_for
from equilean.metrics.models import Measure, Signal, SignalStateError
from equilean.metrics.privacy import Viewer
from equilean.org.roles import Action
from equilean.org.scope import can


class MeasureViewSet(viewsets.ReadOnlyModelViewSet):
    """The measure catalogue: definitions, pillar, direction, target and dimensions."""

    serializer_class = MeasureSerializer
    lookup_field = "code"
    queryset = Measure.objects.filter(active=True)


OBSERVATION_FILTERS = [
    OpenApiParameter("measure", str, description="measure id"),
    OpenApiParameter("node", str, description="node code"),
    OpenApiParameter("dimension", str, description="e.g. race_ethnicity, or overall"),
    OpenApiParameter("grain", str, description="month, week, day, or a window such as 3m"),
    OpenApiParameter("period", OpenApiTypes.DATE, description="exact period start"),
    OpenApiParameter("period_from", OpenApiTypes.DATE),
    OpenApiParameter("period_to", OpenApiTypes.DATE),
]


def _date(request, name):
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError({name: f"{value!r} is not a date like 2026-10-01"}) from None


class ObservationList(APIView):
    """Aggregates the caller may see; small cells are null with suppressed=true."""

    @extend_schema(parameters=OBSERVATION_FILTERS, responses=ObservationSerializer(many=True))
    def get(self, request):
        params = request.query_params
        filters = {f"{key}__code": params[key] for key in ("measure", "node") if params.get(key)}
        filters |= {key: params[key] for key in ("dimension", "grain") if params.get(key)}
        for name, lookup in (
            ("period", "period"),
            ("period_from", "period__gte"),
            ("period_to", "period__lte"),
        ):
            value = _date(request, name)
            if value:
                filters[lookup] = value
        if not filters.get("measure__code") and not filters.get("node__code"):
            raise ValidationError("filter by measure or node (the full table is very large)")
        frame = observations_for(request.user, **filters)
        paginator = LimitOffsetPagination()
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(ObservationSerializer(page, many=True).data)


class SignalViewSet(viewsets.ReadOnlyModelViewSet):
    """Signals at nodes the caller may see, with acknowledge, link and resolve actions."""

    serializer_class = SignalSerializer

    def get_queryset(self):
        queryset = Signal.objects.for_user(self.request.user, Action.VIEW).select_related(
            "measure", "node", "acknowledged_by", "resolved_by"
        )
        params = self.request.query_params
        if params.get("node"):
            queryset = queryset.filter(node__code=params["node"])
        for key in ("kind", "status"):
            if params.get(key):
                queryset = queryset.filter(**{key: params[key]})
        if params.get("open") in ("1", "true"):
            queryset = queryset.open()
        return queryset

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "viewer": Viewer(self.request.user)}

    @extend_schema(
        parameters=[
            OpenApiParameter("node", str),
            OpenApiParameter("kind", str),
            OpenApiParameter("status", str),
            OpenApiParameter("open", bool),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _respond(self, request, pk, step):
        signal = get_object_or_404(self.get_queryset(), pk=pk)
        if not can(request.user, Action.RESPOND, signal.node):
            raise PermissionDenied("Your roles do not let you respond to signals at this node.")
        try:
            step(signal)
        except SignalStateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(signal).data)

    @extend_schema(request=None, responses=SignalSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._respond(request, pk, lambda s: s.acknowledge(request.user))

    @extend_schema(request=LinkSerializer, responses=SignalSerializer)
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        body = LinkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(
            request, pk, lambda s: s.link_to(request.user, body.validated_data["reference"])
        )

    @extend_schema(request=ResolveSerializer, responses=SignalSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(
            request, pk, lambda s: s.resolve(request.user, body.validated_data["note"])
        )
