"""Template context shared by every page: navigation modules and the node switcher."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from equilean.org.models import Node
from equilean.org.roles import Action


def nav_modules(node_code: str | None = None, studies: bool = False) -> list[dict[str, str]]:
    """The modules in the main navigation, in the order leaders use them.

    Modules about one node (Equity) point at `node_code`, the person's current or home node.
    Studies appear to members of a study and to those who may start one.
    """
    modules = [{"label": "My day", "url": reverse("home"), "icon": "sun", "name": "home"}]
    if node_code:
        modules.append(
            {
                "label": "Equity",
                "url": reverse("metrics:equity", args=[node_code]),
                "icon": "warning",
                "name": "equity",
            }
        )
    if studies:
        modules.append(
            {
                "label": "Studies",
                "url": reverse("studies:list"),
                "icon": "speech",
                "name": "studies",
            }
        )
    return modules


def shell(request) -> dict[str, object]:
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"oidc_enabled": settings.OIDC_ENABLED}
    nodes = list(Node.objects.for_user(user).only("code", "name", "level", "path"))
    codes = {n.code for n in nodes}
    current = request.session.get("current_node")
    current = current if current in codes else None
    profile = getattr(user, "profile", None)
    home = profile.home_node.code if profile and profile.home_node_id else None
    return {
        "nav_modules": nav_modules(
            current or (home if home in codes else None),
            studies=user.study_memberships.exists()
            or Node.objects.for_user(user, Action.CHANGE).exists(),
        ),
        "switcher_nodes": nodes,
        "current_node_code": current,
        "oidc_enabled": settings.OIDC_ENABLED,
    }
