"""The one place that decides who may see or work on a study: its members, not the org tree.

Interview transcripts are research data about staff, so a study is visible only to its team
(lead, coders, readers), whatever their roles in the health system. Every model of the app
uses `StudyScopedQuerySet`; pages, the API and exports call `for_user(user, action)`.
Codings add one more rule, blind parallel coding (see `CodingQuerySet` in models).
"""

from __future__ import annotations

from django.db import models

from equilean.org.roles import Action


class Membership(models.TextChoices):
    LEAD = "lead", "Study lead"
    CODER = "coder", "Coder"
    READER = "reader", "Reader"


# The study's policy table, in the org's vocabulary of actions: VIEW reads the study,
# CHANGE codes its transcripts, ADMINISTER sets it up, opens comparison and reconciles.
MEMBER_ACTIONS: dict[str, frozenset[str]] = {
    Membership.LEAD: frozenset({Action.VIEW, Action.CHANGE, Action.ADMINISTER}),
    Membership.CODER: frozenset({Action.VIEW, Action.CHANGE}),
    Membership.READER: frozenset({Action.VIEW}),
}


def memberships_allowing(action: str) -> list[str]:
    """The study roles that let a member take `action`."""
    if action not in Action.values:
        raise ValueError(f"unknown action {action!r}; expected one of {Action.values}")
    return [role for role, actions in MEMBER_ACTIONS.items() if action in actions]


def study_ids(user, action: str):
    """A subquery of the ids of studies where `user` may take `action`."""
    from equilean.studies.models import StudyMember

    if not user or not user.is_authenticated or not user.is_active:
        return StudyMember.objects.none().values("study")
    return StudyMember.objects.filter(user=user, role__in=memberships_allowing(action)).values(
        "study"
    )


class StudyScopedQuerySet(models.QuerySet):
    """Records of a study; `study_field` leads to the study's id."""

    study_field = "study"

    def for_user(self, user, action: str = Action.VIEW) -> StudyScopedQuerySet:
        return self.filter(**{f"{self.study_field}__in": study_ids(user, action)})


def can(user, action: str, study) -> bool:
    """Whether `user` may take `action` on `study`."""
    return study_ids(user, action).filter(study=study.pk).exists()
