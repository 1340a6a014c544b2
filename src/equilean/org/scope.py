"""The one place that decides which nodes, and so which records, a person may see or change.

Every model whose records belong to a node uses `ScopedQuerySet`; pages, the API and exports
all call `Model.objects.for_user(user, action)` and never fetch by key without it.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db import models
from django.db.models import Q

from equilean.org.roles import Action, roles_allowing

UNSUPPRESSED_PERMISSION = "org.view_unsuppressed_data"


def granted_paths(user, action: str) -> list[str] | None:
    """Tree paths under which `user` may take `action`; None means everywhere."""
    if not user or not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return None
    cache = user.__dict__.setdefault("_equilean_scope", {})
    if action not in cache:
        if action == Action.VIEW_UNSUPPRESSED and user.has_perm(UNSUPPRESSED_PERMISSION):
            # The global permission lifts suppression wherever the person may look at all.
            cache[action] = granted_paths(user, Action.VIEW)
        else:
            cache[action] = list(
                user.role_grants.filter(role__in=roles_allowing(action))
                .active()
                .values_list("node__path", flat=True)
            )
    return cache[action]


def scope_filter(user, action: str, path_field: str) -> Q | None:
    """A Q restricting `path_field` to the user's subtrees, or None for no restriction."""
    paths = granted_paths(user, action)
    if paths is None:
        return None
    if not paths:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{path_field}__startswith": p}) for p in paths))


class ScopedQuerySet(models.QuerySet):
    """A queryset whose records sit at a node; `node_path_field` leads to that node's path."""

    node_path_field = "node__path"

    def for_user(self, user, action: str = Action.VIEW) -> ScopedQuerySet:
        condition = scope_filter(user, action, self.node_path_field)
        return self if condition is None else self.filter(condition)


def can(user, action: str, node) -> bool:
    """Whether `user` may take `action` at `node`."""
    paths = granted_paths(user, action)
    return paths is None or any(node.path.startswith(p) for p in paths)


def can_see_unsuppressed(user, node) -> bool:
    """Whether small cells (1-10) at `node` may be shown to `user` without suppression."""
    return can(user, Action.VIEW_UNSUPPRESSED, node)
