"""App config for the studies app."""

from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "equilean.studies"
    label = "studies"
    verbose_name = "Interview studies"

    def ready(self) -> None:
        from equilean.org.services import demo_people_created

        demo_people_created.connect(_add_demo_study, dispatch_uid="studies-demo")


def _add_demo_study(sender, **kwargs) -> None:
    """The demo's interview study, made once its people exist."""
    from equilean.studies.demo import create_demo_study

    create_demo_study()
