"""API views of a study; each looks the study up through `Study.objects.for_user` first."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from equilean.api.filters import known
from equilean.api.pagination import Page
from equilean.api.responses import errors
from equilean.org.roles import Action
from equilean.studies import agreement, exports, services
from equilean.studies.api.serializers import (
    CodebookVersionSerializer,
    CodingSerializer,
    ConsensusSerializer,
    DisagreementSerializer,
    FigureSerializer,
    ParticipantSerializer,
    StudySerializer,
    ThemeSerializer,
    TranscriptDetailSerializer,
    TranscriptSerializer,
)
from equilean.studies.models import (
    CodebookVersion,
    Coding,
    Participant,
    Segment,
    Study,
    Theme,
    Transcript,
)
from equilean.studies.scope import can

SUBSET = OpenApiParameter("subset", str, enum=list(agreement.SUBSETS))


def _id(value: str) -> int:
    """A record id from the path; anything but digits is not found."""
    if not value.isdigit():
        raise NotFound("No such record.")
    return int(value)


class StudyViewSet(viewsets.ReadOnlyModelViewSet):
    """Studies whose team the caller is on."""

    serializer_class = StudySerializer
    pagination_class = Page
    lookup_value_regex = "[^/]+"

    def get_object(self):
        _id(self.kwargs["pk"])
        return super().get_object()

    def get_queryset(self):
        return Study.objects.for_user(self.request.user).select_related("node")

    @extend_schema(responses={200: StudySerializer, **errors(404)})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)


class InStudy:
    """A view nested under /studies/{study}/: the study must be the caller's."""

    def study(self, action: str = Action.VIEW) -> Study:
        if not hasattr(self, "_study"):
            self._study = get_object_or_404(
                Study.objects.for_user(self.request.user), pk=_id(self.kwargs["study"])
            )
        if action != Action.VIEW and not can(self.request.user, action, self._study):
            raise PermissionDenied("Your role in this study does not allow this.")
        return self._study


@extend_schema(responses={200: ParticipantSerializer(many=True), **errors(404)})
class ParticipantList(InStudy, generics.ListAPIView):
    """The study's participants, by pseudonym."""

    serializer_class = ParticipantSerializer
    pagination_class = Page

    def get_queryset(self):
        return Participant.objects.for_user(self.request.user).filter(study=self.study())


@extend_schema(responses={200: TranscriptSerializer(many=True), **errors(404)})
class TranscriptList(InStudy, generics.ListAPIView):
    """The study's transcripts (without their text)."""

    serializer_class = TranscriptSerializer
    pagination_class = Page

    def get_queryset(self):
        return (
            Transcript.objects.for_user(self.request.user)
            .filter(study=self.study())
            .select_related("participant")
        )


@extend_schema(responses={200: TranscriptDetailSerializer, **errors(404)})
class TranscriptDetail(InStudy, generics.RetrieveAPIView):
    """One transcript with its text and its turns, paragraphs and sentences."""

    serializer_class = TranscriptDetailSerializer
    lookup_url_kwarg = "transcript"

    def get_object(self):
        _id(self.kwargs["transcript"])
        return super().get_object()

    def get_queryset(self):
        return Transcript.objects.for_user(self.request.user).filter(study=self.study())


@extend_schema(responses={200: CodebookVersionSerializer(many=True), **errors(404)})
class CodebookList(InStudy, generics.ListAPIView):
    """Every version of the codebook, newest first, with its codes."""

    serializer_class = CodebookVersionSerializer
    pagination_class = Page

    def get_queryset(self):
        return (
            CodebookVersion.objects.for_user(self.request.user)
            .filter(study=self.study())
            .prefetch_related("codes")
        )


class CodingList(InStudy, generics.ListCreateAPIView):
    """Codings the caller may see: their own, and others' only once comparison is open."""

    serializer_class = CodingSerializer
    pagination_class = Page

    def get_queryset(self):
        return (
            Coding.objects.for_user(self.request.user)
            .filter(transcript__study=self.study())
            .select_related("coder", "code__version", "transcript")
        )

    def get_serializer(self, *args, **kwargs):
        if getattr(self, "swagger_fake_view", False):
            return CodingSerializer(*args, **kwargs)
        return CodingSerializer(*args, study=self.study(), **kwargs)

    @extend_schema(responses={200: CodingSerializer(many=True), **errors(404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(responses={201: CodingSerializer, **errors(400, 403, 404)})
    def post(self, request, *args, **kwargs):
        self.study(Action.CHANGE)
        return super().post(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save(coder=self.request.user)


class AgreementView(InStudy, APIView):
    """Agreement per code and pooled, between each pair of coders and across all."""

    @extend_schema(
        parameters=[
            SUBSET,
            OpenApiParameter("level", str, enum=list(agreement.LEVELS)),
        ],
        responses={200: FigureSerializer(many=True), **errors(400, 404)},
    )
    def get(self, request, study):
        subset = known(request.query_params, "subset", agreement.SUBSETS) or "all"
        level = known(request.query_params, "level", agreement.LEVELS) or "segment"
        data = agreement.ratings(self.study(), request.user, level, subset)
        return Response(FigureSerializer(agreement.figures(data), many=True).data)


class DisagreementView(InStudy, APIView):
    """Segments where the coders differ on a code, and the lead's consensus on each."""

    @extend_schema(
        parameters=[SUBSET], responses={200: DisagreementSerializer(many=True), **errors(400, 404)}
    )
    def get(self, request, study):
        subset = known(request.query_params, "subset", agreement.SUBSETS) or "all"
        rows = agreement.disagreements(self.study(), request.user, subset)
        return Response(DisagreementSerializer(rows, many=True).data)

    @extend_schema(
        request=ConsensusSerializer,
        responses={201: DisagreementSerializer(many=True), **errors(400, 403, 404)},
    )
    def post(self, request, study):
        """The lead records the consensus on one code in one segment."""
        study = self.study(Action.ADMINISTER)
        payload = ConsensusSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ids = agreement.comparable_transcripts(study, request.user).values("pk")
        segment = Segment.objects.filter(transcript__in=ids, pk=payload.data["segment"]).first()
        if segment is None:
            raise NotFound("No segment by that id is open for comparison in this study.")
        services.resolve(
            segment,
            payload.data["code"],
            payload.data["applies"],
            payload.data["reason"],
            request.user,
        )
        rows = [r for r in agreement.disagreements(study, request.user) if r.segment == segment]
        return Response(DisagreementSerializer(rows, many=True).data, status.HTTP_201_CREATED)


@extend_schema(responses={200: ThemeSerializer(many=True), **errors(404)})
class ThemeList(InStudy, generics.ListAPIView):
    """The study's themes and the codes each groups."""

    serializer_class = ThemeSerializer
    pagination_class = Page

    def get_queryset(self):
        return Theme.objects.for_user(self.request.user).filter(study=self.study())


class ExportView(InStudy, APIView):
    """Consensus codings or agreement as CSV, or the report as Markdown or Word."""

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR),
            (
                200,
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ): OpenApiResponse(OpenApiTypes.BINARY),
            **errors(404),
        }
    )
    def get(self, request, study, kind):
        if kind not in exports.EXPORTS:
            raise NotFound(f"No export {kind!r}; choose one of {', '.join(exports.EXPORTS)}.")
        body, content_type, filename = exports.EXPORTS[kind](self.study(), request.user)
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
