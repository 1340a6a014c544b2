"""Loading a health-system tree from an organisation file, and making the demo's people."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import Signal

from equilean.engine import organisation
from equilean.org.models import LEVEL_TIERS, Node, Profile, RoleGrant, huddle_time_of
from equilean.org.roles import Role


@transaction.atomic
def load_tree(org: organisation.Organisation) -> int:
    """Create or update every node of `org`; returns how many nodes it holds."""
    for entry in org.walk():
        Node.objects.update_or_create(
            code=entry.code,
            defaults={
                "name": entry.name,
                "level": entry.level,
                "tier": LEVEL_TIERS[entry.level],
                "huddle_time": huddle_time_of(entry.huddle_time),
                "kind": entry.kind or "",
                "parent": Node.objects.get(code=entry.parent) if entry.parent else None,
            },
        )
    return len(org.nodes)


@dataclass(frozen=True)
class DemoPerson:
    username: str
    display_name: str
    title: str
    role: str
    node: str


DEMO_PEOPLE = (
    DemoPerson("frontline", "Rosa Delgado", "Charge Nurse, 4 West", Role.FRONTLINE, "MUH-4W"),
    DemoPerson("unitleader", "Marcus Bell", "Nurse Manager, 4 West", Role.UNIT_LEADER, "MUH-4W"),
    DemoPerson(
        "deptleader", "Priya Raman", "Director of Medicine", Role.DEPARTMENT_LEADER, "MUH-MED"
    ),
    DemoPerson("executive", "Dana Whitfield", "Chief Nursing Officer", Role.EXECUTIVE, "MERIDIAN"),
    DemoPerson(
        "analyst", "Samuel Okafor", "Health Equity Analyst", Role.EQUITY_ANALYST, "MERIDIAN"
    ),
    DemoPerson("admin", "Jordan Lee", "equilean Administrator", Role.ADMINISTRATOR, "MERIDIAN"),
)


# Sent once the demo people exist, so each app can add its own demo records for them.
demo_people_created = Signal()


@transaction.atomic
def create_demo_people(password: str) -> list[DemoPerson]:
    """One person per role; re-running resets their passwords and grants, never duplicates."""
    User = get_user_model()
    for person in DEMO_PEOPLE:
        user, _ = User.objects.get_or_create(username=person.username)
        user.set_password(password)
        user.email = f"{person.username}@meridian.example"
        # The demo administrator also runs the Django admin, which needs superuser rights.
        user.is_staff = user.is_superuser = person.role == Role.ADMINISTRATOR
        user.save()
        node = Node.objects.get(code=person.node)
        Profile.objects.update_or_create(
            user=user,
            defaults={
                "display_name": person.display_name,
                "title": person.title,
                "home_node": node,
            },
        )
        RoleGrant.objects.get_or_create(user=user, node=node, role=person.role)
    demo_people_created.send(sender=create_demo_people)
    return list(DEMO_PEOPLE)
