"""App config for the web shell (templates and static files)."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "equilean.web"
    label = "web"
    verbose_name = "Web shell"
