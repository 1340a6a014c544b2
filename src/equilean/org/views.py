"""Pages for the health-system tree: a node's page and the node switcher."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from equilean.org.models import Node, RoleGrant
from equilean.org.roles import Action
from equilean.org.scope import can


@login_required
def node_detail(request, code: str):
    node = get_object_or_404(Node.objects.for_user(request.user, Action.VIEW), code=code)
    request.session["current_node"] = node.code
    visible = Node.objects.for_user(request.user, Action.VIEW)
    context = {
        "node": node,
        "ancestors": [a for a in node.ancestors() if a.pk != node.pk],
        "children": visible.filter(parent=node).order_by("name"),
        "grants": RoleGrant.objects.for_user(request.user, Action.VIEW)
        .active()
        .filter(node=node)
        .select_related("user__profile"),
        "can_change": can(request.user, Action.CHANGE, node),
        "next_huddle": node.next_huddle(),
    }
    template = "org/_node_body.html" if request.htmx else "org/node_detail.html"
    return render(request, template, context)


@login_required
@require_POST
def switch_node(request):
    code = request.POST.get("node", "")
    node = get_object_or_404(Node.objects.for_user(request.user, Action.VIEW), code=code)
    request.session["current_node"] = node.code
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("org:node", code=node.code)
