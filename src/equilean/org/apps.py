"""App config for the organisation app."""

from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "equilean.org"
    label = "org"
    verbose_name = "Organisation"
