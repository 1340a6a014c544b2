"""App config for the metrics app."""

from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "equilean.metrics"
    label = "metrics"
    verbose_name = "Measures and signals"
