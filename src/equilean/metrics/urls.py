"""URLs of the measure and equity pages."""

from django.urls import path

from equilean.metrics import views

app_name = "metrics"
urlpatterns = [
    path("measures/", views.catalogue, name="catalogue"),
    path("measures/charts.js", views.charts_js, name="charts_js"),
    path("measures/<slug:measure>/", views.measure_definition, name="measure"),
    path("nodes/<str:code>/measures/<slug:measure>/", views.node_measure, name="node_measure"),
    path("nodes/<str:code>/equity/", views.equity_dashboard, name="equity"),
    *[
        path(
            f"nodes/<str:code>/equity/signals/<int:pk>/{step}/",
            views.signal_action,
            {"step": step},
            name=f"signal_{step}",
        )
        for step in views.STEPS
    ],
]
