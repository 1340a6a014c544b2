"""The Django project: settings, root URLs, the base templates and static files."""
