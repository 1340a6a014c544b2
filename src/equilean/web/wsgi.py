"""WSGI entry point for production servers, and the options `equilean serve` gives waitress."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "equilean.web.settings")
application = get_wsgi_application()


def server_options() -> dict:
    """Waitress options: believe forwarded headers only from the configured proxy."""
    from django.conf import settings

    if not settings.BEHIND_PROXY:
        return {}
    return {
        "trusted_proxy": settings.TRUSTED_PROXY,
        "trusted_proxy_count": settings.TRUSTED_PROXY_COUNT,
        "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-for"},
        "clear_untrusted_proxy_headers": True,
    }
