"""The health-system tree (system > hospital > department > unit), people and role grants."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history import register
from simple_history.models import HistoricalRecords

from equilean.org.roles import Role
from equilean.org.scope import ScopedQuerySet

LEVEL_TIERS = {"unit": 1, "department": 2, "hospital": 3, "system": 4}


class Level(models.TextChoices):
    SYSTEM = "system", "System"
    HOSPITAL = "hospital", "Hospital"
    DEPARTMENT = "department", "Department or service line"
    UNIT = "unit", "Unit"


class NodeQuerySet(ScopedQuerySet):
    node_path_field = "path"


code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]*$", "Use letters, digits, '-' and '_' only."
)


class Node(models.Model):
    """A place in the health system that runs a tiered huddle: a unit up to the whole system."""

    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    level = models.CharField(max_length=20, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    tier = models.PositiveSmallIntegerField(
        help_text="1 = unit huddle ... 4 = system huddle (names set by EQUILEAN_TIER_NAMES)."
    )
    huddle_time = models.TimeField(null=True, blank=True, help_text="Daily huddle, local time.")
    kind = models.CharField(
        max_length=40, blank=True, help_text="Care setting of a unit, e.g. emergency, icu."
    )
    # Codes from the root down, e.g. "/MERIDIAN/MUH/MUH-EM/MUH-ED/": a subtree is a prefix.
    path = models.CharField(max_length=500, editable=False, db_index=True)
    history = HistoricalRecords()

    objects = NodeQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        permissions = [
            ("view_unsuppressed_data", "Can see small cells (1-10) without suppression"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args, **kwargs) -> None:
        if not self.tier:
            self.tier = LEVEL_TIERS[self.level]
        old_path = self.path
        self.path = (self.parent.path if self.parent_id else "/") + f"{self.code}/"
        super().save(*args, **kwargs)
        if old_path and old_path != self.path:
            for child in self.children.all():
                child.save()

    def clean(self) -> None:
        if self.level == Level.SYSTEM and self.parent_id:
            raise ValidationError({"parent": "A system sits at the top and has no parent."})
        if self.level != Level.SYSTEM and not self.parent_id:
            raise ValidationError({"parent": f"A {self.level} needs a parent node."})
        if self.parent_id:
            parent = self.parent
            if self.pk and parent.path.startswith(self.path or "\0"):
                raise ValidationError({"parent": "A node cannot sit under its own subtree."})
            if LEVEL_TIERS[parent.level] <= LEVEL_TIERS.get(self.level, 0):
                raise ValidationError(
                    {"parent": f"A {self.level} cannot sit under a {parent.level}."}
                )

    @property
    def tier_name(self) -> str:
        return settings.TIER_NAMES[self.tier - 1]

    def ancestors(self) -> models.QuerySet[Node]:
        """This node and the nodes above it, top first."""
        codes = [c for c in self.path.split("/") if c]
        return Node.objects.filter(code__in=codes).order_by("tier").reverse()

    def subtree(self) -> models.QuerySet[Node]:
        return Node.objects.filter(path__startswith=self.path)

    def units(self) -> models.QuerySet[Node]:
        return self.subtree().filter(level=Level.UNIT)

    def next_huddle(self, now: datetime | None = None) -> datetime | None:
        """The next start of this node's daily huddle, in the site's time zone."""
        if self.huddle_time is None:
            return None
        now = timezone.localtime(now)
        start = now.replace(
            hour=self.huddle_time.hour, minute=self.huddle_time.minute, second=0, microsecond=0
        )
        # A huddle in progress (within 15 minutes of its start) is still "next".
        return start if now - start <= timedelta(minutes=15) else start + timedelta(days=1)


class Profile(models.Model):
    """What equilean knows about a person beyond their login: name to show, title, home node."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    home_node = models.ForeignKey(
        Node, null=True, blank=True, on_delete=models.SET_NULL, related_name="home_of"
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.display_name


class RoleGrantQuerySet(ScopedQuerySet):
    node_path_field = "node__path"

    def active(self) -> RoleGrantQuerySet:
        today = timezone.localdate()
        return self.filter(Q(ends__isnull=True) | Q(ends__gte=today))


class RoleGrant(models.Model):
    """A role held by a person at a node; it applies to the node's whole subtree."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants"
    )
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=30, choices=Role.choices)
    ends = models.DateField(null=True, blank=True, help_text="Last day the grant applies.")
    history = HistoricalRecords()

    objects = RoleGrantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "node", "role"], name="one_grant_per_role")
        ]
        ordering = ["node__path", "role"]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_role_display()} at {self.node.code}"


def huddle_time_of(value: str | None) -> time | None:
    """Parse "HH:MM" from the organisation file."""
    if not value:
        return None
    hour, minute = str(value).split(":")
    return time(int(hour), int(minute))


# Logins are records too: keep their change history beside the tree's.
register(User, app="equilean.org", table_name="org_historicaluser")
