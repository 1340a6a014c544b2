"""Routes under /api/v1/studies/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from equilean.studies.api import views

# Ids are matched as any text, so a malformed one is the API's 404, not the site's page.
router = SimpleRouter()
router.register("", views.StudyViewSet, basename="study")

urlpatterns = [
    path("<str:study>/participants/", views.ParticipantList.as_view(), name="study-participants"),
    path("<str:study>/transcripts/", views.TranscriptList.as_view(), name="study-transcripts"),
    path(
        "<str:study>/transcripts/<str:transcript>/",
        views.TranscriptDetail.as_view(),
        name="study-transcript",
    ),
    path("<str:study>/codebook/", views.CodebookList.as_view(), name="study-codebook"),
    path("<str:study>/codings/", views.CodingList.as_view(), name="study-codings"),
    path("<str:study>/agreement/", views.AgreementView.as_view(), name="study-agreement"),
    path(
        "<str:study>/disagreements/", views.DisagreementView.as_view(), name="study-disagreements"
    ),
    path("<str:study>/themes/", views.ThemeList.as_view(), name="study-themes"),
    path("<str:study>/exports/<str:kind>", views.ExportView.as_view(), name="study-export"),
    path("", include(router.urls)),
]
