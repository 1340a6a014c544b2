"""The roles a person can hold at a node, and the actions each role allows in that subtree."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    FRONTLINE = "frontline", "Frontline staff"
    UNIT_LEADER = "unit_leader", "Unit leader"
    DEPARTMENT_LEADER = "department_leader", "Department leader"
    EXECUTIVE = "executive", "Executive"
    EQUITY_ANALYST = "equity_analyst", "Equity analyst"
    ADMINISTRATOR = "administrator", "Administrator"


class Action(models.TextChoices):
    VIEW = "view", "See the node's boards and aggregates"
    CHANGE = "change", "Change the node's records"
    VIEW_UNSUPPRESSED = "view_unsuppressed", "See small cells (1-10) unsuppressed"
    RESPOND = "respond", "Acknowledge, link and resolve signals"
    ADMINISTER = "administer", "Grant roles and edit the tree"


# The single policy table: every page, API endpoint and export asks it through Node.for_user.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.FRONTLINE: frozenset({Action.VIEW, Action.CHANGE}),
    Role.UNIT_LEADER: frozenset({Action.VIEW, Action.CHANGE, Action.RESPOND}),
    Role.DEPARTMENT_LEADER: frozenset({Action.VIEW, Action.CHANGE, Action.RESPOND}),
    Role.EXECUTIVE: frozenset({Action.VIEW, Action.CHANGE, Action.RESPOND}),
    Role.EQUITY_ANALYST: frozenset({Action.VIEW, Action.VIEW_UNSUPPRESSED, Action.RESPOND}),
    Role.ADMINISTRATOR: frozenset(
        {Action.VIEW, Action.CHANGE, Action.VIEW_UNSUPPRESSED, Action.RESPOND, Action.ADMINISTER}
    ),
}


def roles_allowing(action: str) -> list[str]:
    """The roles whose grant lets a person take `action`."""
    if action not in Action.values:
        raise ValueError(f"unknown action {action!r}; expected one of {Action.values}")
    return [role for role, actions in ROLE_ACTIONS.items() if action in actions]
