"""URLs of the study pages."""

from django.urls import path

from equilean.studies import views

app_name = "studies"
urlpatterns = [
    path("", views.study_list, name="list"),
    path("<int:pk>/", views.study_detail, name="detail"),
    path("<int:pk>/setup/<slug:part>/", views.setup, name="setup"),
    path("<int:pk>/transcripts/new/", views.transcript_new, name="transcript_new"),
    path("<int:pk>/transcripts/<int:transcript>/", views.transcript_code, name="code"),
    path("<int:pk>/transcripts/<int:transcript>/codings/", views.coding_add, name="coding_add"),
    path(
        "<int:pk>/transcripts/<int:transcript>/codings/<int:coding>/delete/",
        views.coding_remove,
        name="coding_remove",
    ),
    path(
        "<int:pk>/transcripts/<int:transcript>/finish/",
        views.transcript_finish,
        name="finish",
    ),
    path("<int:pk>/comparison/", views.comparison_open, name="comparison"),
    path("<int:pk>/agreement/", views.agreement_page, name="agreement"),
    path("<int:pk>/disagreements/", views.disagreement_list, name="disagreements"),
    path("<int:pk>/segments/<int:segment>/resolve/", views.resolve, name="resolve"),
    path("<int:pk>/themes/", views.theme_list, name="themes"),
    path("<int:pk>/export/<str:kind>", views.export, name="export"),
]
