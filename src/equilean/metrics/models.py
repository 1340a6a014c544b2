"""Measures, the aggregates observed on them at each node, and the signals raised on those."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from equilean.org.models import Node
from equilean.org.scope import ScopedQuerySet


class Measure(models.Model):
    """A KPI definition from the measure library (built in or the site's own YAML)."""

    class Pillar(models.TextChoices):
        SAFETY = "safety"
        QUALITY = "quality"
        EQUITY = "equity"
        EXPERIENCE = "experience"
        PEOPLE = "people"
        STEWARDSHIP = "stewardship"

    class Kind(models.TextChoices):
        PROPORTION = "proportion"
        RATE = "rate"
        MEAN = "mean"
        MEDIAN = "median"

    code = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    pillar = models.CharField(max_length=20, choices=Pillar.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    better = models.CharField(max_length=10, choices=[("lower", "Lower"), ("higher", "Higher")])
    per = models.FloatField(default=1)
    unit_label = models.CharField(max_length=60, blank=True)
    target = models.FloatField(null=True, blank=True)
    dimensions = models.JSONField(default=list)
    description = models.TextField(blank=True)
    definition = models.JSONField(default=dict, help_text="The measure's full definition.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["pillar", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_continuous(self) -> bool:
        return self.kind in (self.Kind.MEAN, self.Kind.MEDIAN)


class ObservationQuerySet(ScopedQuerySet):
    node_path_field = "node__path"


class Observation(models.Model):
    """One aggregate: a measure at a node for one period, overall or for one dimension group."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="observations")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="observations")
    grain = models.CharField(
        max_length=10, help_text='"month", "week", "day", or a trailing window such as "3m".'
    )
    period = models.DateField(help_text="First day of the period (of the window's first month).")
    dimension = models.CharField(max_length=60)
    group = models.CharField(max_length=120)
    numerator = models.FloatField()
    denominator = models.FloatField()
    # Continuous measures only: numerator is the sum of values and denominator their count.
    count = models.FloatField(null=True, blank=True)
    mean = models.FloatField(null=True, blank=True)
    sum_sq = models.FloatField(null=True, blank=True)
    median = models.FloatField(null=True, blank=True)
    # Set by refresh: hide from people without the unsuppressed-data permission (1-10 counts
    # and their complements); see equilean.metrics.privacy.
    numerator_hidden = models.BooleanField(default=False)
    denominator_hidden = models.BooleanField(default=False)

    objects = ObservationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "node", "grain", "period", "dimension", "group"],
                name="one_observation_per_cell",
            )
        ]
        indexes = [models.Index(fields=["node", "measure", "grain", "dimension", "period"])]

    def __str__(self) -> str:
        return f"{self.measure.code} {self.node.code} {self.period} {self.dimension}={self.group}"


class SignalQuerySet(ScopedQuerySet):
    node_path_field = "node__path"

    def open(self) -> SignalQuerySet:
        return self.exclude(status=Signal.Status.RESOLVED)


class Signal(models.Model):
    """Something on a measure that a leader should look at: a special cause or an equity gap."""

    class Kind(models.TextChoices):
        SPECIAL_CAUSE = "special_cause", "Special-cause variation"
        EQUITY_GAP = "equity_gap", "Equity gap"
        PERSISTENT_GAP = "persistent_gap", "Persistent equity gap"
        COMPLETENESS_DROP = "completeness_drop", "Drop in data completeness"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        LINKED = "linked", "Linked to work"
        RESOLVED = "resolved", "Resolved"

    class Direction(models.TextChoices):
        CONCERN = "concern", "Concern"
        IMPROVEMENT = "improvement", "Improvement"
        NEUTRAL = "neutral", "Neutral"

    # Identity: refresh finds a signal again by these, so re-running never duplicates one.
    kind = models.CharField(max_length=30, choices=Kind.choices)
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="signals")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="signals")
    dimension = models.CharField(max_length=60)
    group = models.CharField(max_length=120)

    direction = models.CharField(max_length=20, choices=Direction.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    summary = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    first_detected = models.DateTimeField(default=timezone.now)
    last_detected = models.DateTimeField(default=timezone.now)
    still_detected = models.BooleanField(default=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    link = models.CharField(max_length=300, blank=True, help_text="The card or A3 working on it.")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    history = HistoricalRecords()

    objects = SignalQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "measure", "node", "dimension", "group"], name="one_signal_per_key"
            )
        ]
        ordering = ["-last_detected", "kind"]

    def __str__(self) -> str:
        return self.summary

    def acknowledge(self, user) -> None:
        """A leader has seen the signal and owns the next step."""
        if self.status == self.Status.RESOLVED:
            raise SignalStateError("This signal is resolved; it cannot be acknowledged.")
        if self.status == self.Status.NEW:
            self.status = self.Status.ACKNOWLEDGED
        self.acknowledged_by, self.acknowledged_at = user, timezone.now()
        self.save()

    def link_to(self, user, reference: str) -> None:
        """Record the card or A3 that works on this signal."""
        if self.status == self.Status.RESOLVED:
            raise SignalStateError("This signal is resolved; reopen it before linking work.")
        if not reference.strip():
            raise SignalStateError("Name the card or A3 that works on this signal.")
        if not self.acknowledged_at:
            self.acknowledged_by, self.acknowledged_at = user, timezone.now()
        self.status, self.link = self.Status.LINKED, reference.strip()
        self.save()

    def resolve(self, user, note: str = "") -> None:
        """The work is done; a later refresh that finds the gap again reopens it."""
        if self.status == self.Status.RESOLVED:
            raise SignalStateError("This signal is already resolved.")
        if not note.strip():
            raise SignalNoteMissing(RESOLVE_NEEDS_A_NOTE)
        self.status = self.Status.RESOLVED
        self.resolved_by, self.resolved_at = user, timezone.now()
        self.resolution_note = note.strip()
        self.save()


class SignalStateError(Exception):
    """A lifecycle step that does not apply to the signal's current status."""


# The next person to see the gap reopen needs to know what was tried.
RESOLVE_NEEDS_A_NOTE = "Resolving a signal needs a note: say what was done about it."


class SignalNoteMissing(ValueError):
    """A resolve asked for without a note."""
