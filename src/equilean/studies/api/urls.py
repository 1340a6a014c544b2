"""Routes under /api/v1/studies/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from equilean.studies.api import views

router = SimpleRouter()
router.register("", views.StudyViewSet, basename="study")

urlpatterns = [
    path("<int:study>/participants/", views.ParticipantList.as_view(), name="study-participants"),
    path("<int:study>/transcripts/", views.TranscriptList.as_view(), name="study-transcripts"),
    path(
        "<int:study>/transcripts/<int:transcript>/",
        views.TranscriptDetail.as_view(),
        name="study-transcript",
    ),
    path("<int:study>/codebook/", views.CodebookList.as_view(), name="study-codebook"),
    path("<int:study>/codings/", views.CodingList.as_view(), name="study-codings"),
    path("<int:study>/agreement/", views.AgreementView.as_view(), name="study-agreement"),
    path(
        "<int:study>/disagreements/", views.DisagreementView.as_view(), name="study-disagreements"
    ),
    path("<int:study>/themes/", views.ThemeList.as_view(), name="study-themes"),
    path("<int:study>/exports/<str:kind>", views.ExportView.as_view(), name="study-export"),
    path("", include(router.urls)),
]
