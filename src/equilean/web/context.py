"""Template context shared by every page: navigation modules and the node switcher."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from equilean.org.models import Node


def nav_modules() -> list[dict[str, str]]:
    """The modules in the main navigation, in the order leaders use them."""
    return [{"label": "My day", "url": reverse("home"), "icon": "sun", "name": "home"}]


def shell(request) -> dict[str, object]:
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"oidc_enabled": settings.OIDC_ENABLED}
    nodes = list(Node.objects.for_user(user).only("code", "name", "level", "path"))
    current = request.session.get("current_node")
    return {
        "nav_modules": nav_modules(),
        "switcher_nodes": nodes,
        "current_node_code": current if any(n.code == current for n in nodes) else None,
        "oidc_enabled": settings.OIDC_ENABLED,
    }
