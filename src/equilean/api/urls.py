"""The /api/v1/ router, the OpenAPI schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from equilean.metrics.api.views import MeasureViewSet, ObservationList, SignalViewSet
from equilean.org.api.views import MeView, NodeViewSet

router = DefaultRouter()
router.register("nodes", NodeViewSet, basename="node")
router.register("measures", MeasureViewSet, basename="measure")
router.register("signals", SignalViewSet, basename="signal")

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("observations/", ObservationList.as_view(), name="api-observations"),
    path("studies/", include("equilean.studies.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include(router.urls)),
]
