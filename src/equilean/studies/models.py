"""Interview studies: participants, transcripts, a versioned codebook, codings and consensus."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from equilean.org.models import Node
from equilean.org.roles import Action
from equilean.studies.scope import Membership, StudyScopedQuerySet


class Unit(models.TextChoices):
    TURN = "turn", "Speaker turn"
    PARAGRAPH = "paragraph", "Paragraph"
    SENTENCE = "sentence", "Sentence"


class Comparison(models.TextChoices):
    CLOSED = "closed", "Blind: each coder sees only their own codings"
    TRAINING = "training", "Open on the training transcripts"
    OPEN = "open", "Open on all transcripts"


class StudyQuerySet(StudyScopedQuerySet):
    study_field = "pk"


class Study(models.Model):
    """An interview study run by a team: its question, its unit of analysis and comparison state."""

    title = models.CharField(max_length=200)
    question = models.TextField(blank=True, help_text="What the study asks.")
    node = models.ForeignKey(
        Node,
        on_delete=models.PROTECT,
        related_name="studies",
        help_text="The part of the health system that sponsors the study.",
    )
    unit = models.CharField(
        max_length=20,
        choices=Unit.choices,
        default=Unit.PARAGRAPH,
        help_text="Unit of analysis: agreement and reports count these segments.",
    )
    interviewer = models.CharField(
        max_length=40,
        default="Interviewer",
        blank=True,
        help_text="This speaker's turns are questions, not data: they are not units of analysis.",
    )
    comparison = models.CharField(
        max_length=20, choices=Comparison.choices, default=Comparison.CLOSED
    )
    comparison_opened_at = models.DateTimeField(null=True, blank=True)
    comparison_opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = StudyQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.title

    def codebook(self) -> CodebookVersion | None:
        """The current (latest) codebook version."""
        return self.codebook_versions.order_by("-number").first()

    def members_with(self, role: str):
        return self.members.filter(role=role).select_related("user__profile")

    def units(self, transcripts) -> models.QuerySet[Segment]:
        """The units of analysis of `transcripts`, in reading order."""
        units = Segment.objects.filter(transcript__in=transcripts, kind=self.unit)
        if self.interviewer:
            units = units.exclude(speaker=self.interviewer)
        return units.order_by("transcript_id", "number")

    def comparable(self) -> Q:
        """Transcripts whose codings every member may now see (see `CodingQuerySet`)."""
        if self.comparison == Comparison.OPEN:
            return Q()
        if self.comparison == Comparison.TRAINING:
            return Q(training=True)
        return Q(pk__in=[])


class StudyMember(models.Model):
    """A person on a study's team, as its lead, a coder or a reader."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_memberships"
    )
    role = models.CharField(max_length=20, choices=Membership.choices)
    history = HistoricalRecords()

    objects = StudyScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "user"], name="one_membership")]
        ordering = ["role", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_role_display()} of {self.study}"

    @property
    def name(self) -> str:
        profile = getattr(self.user, "profile", None)
        return profile.display_name if profile else self.user.get_username()


class Site(models.Model):
    """A place where the study interviewed people, e.g. one hospital of the system."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=120)

    objects = StudyScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "name"], name="one_site_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# RESTRICT, not PROTECT: a site, participant or code in use cannot be deleted on its own, but
# deleting the whole study takes them with it.


class Participant(models.Model):
    """A person interviewed, known only by a pseudonymous id with their role, tier and site."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="participants")
    pseudonym = models.CharField(max_length=40, help_text="e.g. P07; never a name.")
    role = models.CharField(max_length=120, blank=True, help_text="e.g. Nurse manager.")
    tier = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text="Huddle tier the person leads: 1 = unit ... 4 = system.",
    )
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.RESTRICT, related_name="participants"
    )

    objects = StudyScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "pseudonym"], name="one_pseudonym")]
        ordering = ["pseudonym"]

    def __str__(self) -> str:
        return self.pseudonym

    @property
    def tier_name(self) -> str:
        return settings.TIER_NAMES[self.tier - 1] if self.tier else ""


class CodebookVersion(models.Model):
    """A numbered version of a study's codebook; each coding records the version it used."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="codebook_versions")
    number = models.PositiveIntegerField()
    note = models.CharField(max_length=200, blank=True, help_text="What changed.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = StudyScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "number"], name="one_codebook_number")
        ]
        ordering = ["study", "-number"]

    def __str__(self) -> str:
        return f"{self.study} codebook v{self.number}"


class CodeQuerySet(StudyScopedQuerySet):
    study_field = "version__study"


class Code(models.Model):
    """A code in one codebook version; codes nest under a parent code."""

    version = models.ForeignKey(CodebookVersion, on_delete=models.CASCADE, related_name="codes")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    name = models.CharField(max_length=120)
    definition = models.TextField(blank=True)
    inclusion = models.TextField(blank=True, help_text="Apply the code when...")
    exclusion = models.TextField(blank=True, help_text="Do not apply it when...")
    examples = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)

    objects = CodeQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="one_code_name_per_version")
        ]
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Transcript(models.Model):
    """The text of one interview, with the participant it records."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="transcripts")
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.RESTRICT, related_name="transcripts"
    )
    title = models.CharField(max_length=200)
    source = models.CharField(max_length=40, help_text="Pasted, or the uploaded file's type.")
    text = models.TextField()
    training = models.BooleanField(
        default=False, help_text="Part of the training subset coded first to check agreement."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = StudyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def frozen(self) -> bool:
        """Open for comparison: its codings can no longer change, or seeing the others' work
        would leak into agreement."""
        comparison = self.study.comparison
        return comparison == Comparison.OPEN or (
            comparison == Comparison.TRAINING and self.training
        )


class SegmentQuerySet(StudyScopedQuerySet):
    study_field = "transcript__study"


class Segment(models.Model):
    """A unit of a transcript: a speaker turn, paragraph or sentence, by character offsets."""

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="segments")
    kind = models.CharField(max_length=20, choices=Unit.choices)
    number = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    speaker = models.CharField(max_length=40, blank=True)

    objects = SegmentQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["transcript", "kind", "number"], name="one_segment_number"
            )
        ]
        ordering = ["transcript", "kind", "number"]

    def __str__(self) -> str:
        return f"{self.transcript} {self.kind} {self.number}"

    @property
    def text(self) -> str:
        return self.transcript.text[self.start : self.end]


class CodingQuerySet(StudyScopedQuerySet):
    study_field = "transcript__study"

    def for_user(self, user, action: str = Action.VIEW) -> CodingQuerySet:
        """Blind parallel coding: a member sees their own codings, and others' only on
        transcripts the lead has opened for comparison."""
        member = super().for_user(user, action)
        opened = Q(transcript__study__comparison=Comparison.OPEN) | Q(
            transcript__study__comparison=Comparison.TRAINING, transcript__training=True
        )
        if action != Action.VIEW:
            # A coder changes only their own codings, and only while the transcript is blind.
            return member.filter(coder=user).exclude(opened)
        return member.filter(Q(coder=user) | opened)


class Coding(models.Model):
    """A code applied by one coder to a stretch of a transcript (character offsets)."""

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="codings")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="codings"
    )
    code = models.ForeignKey(Code, on_delete=models.RESTRICT, related_name="codings")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = CodingQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="coding_not_empty")
        ]
        ordering = ["transcript", "start", "end"]

    def __str__(self) -> str:
        return f"{self.code} by {self.coder} at {self.start}-{self.end}"

    @property
    def excerpt(self) -> str:
        return self.transcript.text[self.start : self.end]


class CompletionQuerySet(StudyScopedQuerySet):
    study_field = "transcript__study"


class Completion(models.Model):
    """A coder's statement that they have finished coding a transcript.

    Agreement counts a transcript for a coder only once they have finished it; before that
    their silence on a passage is not yet a decision.
    """

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="completions")
    coder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    completed_at = models.DateTimeField(auto_now_add=True)

    objects = CompletionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transcript", "coder"], name="one_completion")
        ]

    def __str__(self) -> str:
        return f"{self.transcript} finished by {self.coder}"


class ResolutionQuerySet(StudyScopedQuerySet):
    study_field = "segment__transcript__study"


class Resolution(models.Model):
    """The lead's consensus on a disagreement: whether a code applies to a segment, and why."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="resolutions")
    code_name = models.CharField(max_length=120)
    applies = models.BooleanField()
    reason = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = ResolutionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "code_name"], name="one_resolution")
        ]

    def __str__(self) -> str:
        verdict = "applies" if self.applies else "does not apply"
        return f"{self.code_name} {verdict} to {self.segment}"


class Theme(models.Model):
    """A theme the team derived from codes, with what it recommends."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="themes")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    code_names = models.JSONField(default=list, help_text="Names of the codes it groups.")
    recommendation = models.TextField(blank=True)
    history = HistoricalRecords()

    objects = StudyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
