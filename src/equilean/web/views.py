"""The home page ("My day") and the health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from equilean.org.models import Node, RoleGrant


def my_nodes(user) -> list[Node]:
    """The nodes a person works at: where they hold a role, and their home node."""
    grants = RoleGrant.objects.filter(user=user).active().select_related("node")
    nodes = {g.node.pk: g.node for g in grants}
    profile = getattr(user, "profile", None)
    if profile and profile.home_node_id:
        nodes.setdefault(profile.home_node_id, profile.home_node)
    return sorted(nodes.values(), key=lambda n: n.path)


@login_required
def home(request):
    grants = RoleGrant.objects.filter(user=request.user).active().select_related("node")
    rows = [
        {
            "node": node,
            "next_huddle": node.next_huddle(),
            "roles": [g.get_role_display() for g in grants if g.node_id == node.pk],
        }
        for node in my_nodes(request.user)
    ]
    # Soonest huddle first; nodes without a huddle time go last.
    rows.sort(
        key=lambda r: (r["next_huddle"] is None, r["next_huddle"] and r["next_huddle"].timestamp())
    )
    hour = timezone.localtime().hour
    greeting = "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"
    return render(request, "web/my_day.html", {"rows": rows, "greeting": greeting})


@require_GET
@never_cache
def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
