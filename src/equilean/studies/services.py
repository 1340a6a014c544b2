"""What a study team does: set up, add transcripts, code, open comparison, reconcile, report."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from equilean.engine.errors import InputError
from equilean.studies import agreement
from equilean.studies.models import (
    Code,
    CodebookVersion,
    Coding,
    Comparison,
    Resolution,
    Segment,
    Study,
    StudyMember,
    Transcript,
)
from equilean.studies.scope import Membership
from equilean.studies.text import segment

FROZEN = "comparison is open on this transcript, so its codings can no longer change"


@transaction.atomic
def create_study(user, **fields) -> Study:
    """A new study led by `user`, with an empty first codebook version."""
    study = Study.objects.create(**fields)
    StudyMember.objects.create(study=study, user=user, role=Membership.LEAD)
    CodebookVersion.objects.create(study=study, number=1, note="First version", created_by=user)
    return study


@transaction.atomic
def add_transcript(study: Study, user, title: str, text: str, source: str, **fields) -> Transcript:
    """Save a transcript with its turns, paragraphs and sentences."""
    transcript = Transcript.objects.create(
        study=study, title=title, text=text, source=source, created_by=user, **fields
    )
    Segment.objects.bulk_create(
        Segment(
            transcript=transcript,
            kind=span.kind,
            number=span.number,
            start=span.start,
            end=span.end,
            speaker=span.speaker[:40],
        )
        for span in segment(text)
    )
    return transcript


@transaction.atomic
def new_codebook_version(study: Study, user, note: str) -> CodebookVersion:
    """A copy of the current codebook as the next version; earlier codings keep theirs."""
    current = study.codebook()
    version = CodebookVersion.objects.create(
        study=study, number=(current.number + 1) if current else 1, note=note, created_by=user
    )
    if current:
        made: dict[int | None, Code] = {}
        remaining = list(current.codes.all())
        # Parents before children, so each copy can point at its parent's copy.
        while remaining:
            ready = [c for c in remaining if c.parent_id is None or c.parent_id in made]
            remaining = [c for c in remaining if c not in ready]
            for code in ready:
                old = code.pk
                code.pk = None
                code.version = version
                code.parent = made.get(code.parent_id)
                code.save()
                made[old] = code
    return version


def add_coding(transcript: Transcript, coder, code: Code, start: int, end: int) -> Coding:
    """Record `coder` applying `code` to text[start:end] of `transcript`."""
    if code.version.study_id != transcript.study_id:
        raise InputError("that code belongs to another study", field="code")
    if transcript.frozen:
        raise InputError(FROZEN, field="transcript")
    if not 0 <= start < end <= len(transcript.text):
        raise InputError(
            f"the selection {start}-{end} is outside the transcript (0-{len(transcript.text)})",
            field="start",
            hint="select the words again",
        )
    return Coding.objects.create(
        transcript=transcript, coder=coder, code=code, start=start, end=end
    )


def open_comparison(study: Study, user, stage: str) -> None:
    """Let every member see every coder's codings on the training transcripts, or on all."""
    if stage not in (Comparison.TRAINING, Comparison.OPEN):
        raise InputError(f"comparison can be opened on 'training' or 'open', not {stage!r}")
    study.comparison = stage
    study.comparison_opened_at = timezone.now()
    study.comparison_opened_by = user
    study.save()


def resolve(segment: Segment, code: str, applies: bool, reason: str, user) -> Resolution:
    """The lead's consensus on whether `code` applies to `segment`, with who and why."""
    if not reason.strip():
        raise InputError("say why, so the decision can be audited", field="reason")
    resolution, _ = Resolution.objects.update_or_create(
        segment=segment,
        code_name=code,
        defaults={"applies": applies, "reason": reason.strip(), "decided_by": user},
    )
    return resolution


@dataclass
class CodedSegment:
    """A segment with the consensus codes that apply to it."""

    segment: Segment
    codes: list[str]


def coded_segments(study: Study, user) -> list[CodedSegment]:
    """Consensus-coded segments of the transcripts open for comparison, in reading order."""
    decided = agreement.consensus(study, user)
    by_segment = defaultdict(list)
    for (segment_id, code), applies in decided.items():
        if applies:
            by_segment[segment_id].append(code)
    segments = Segment.objects.filter(pk__in=by_segment).select_related(
        "transcript__participant__site"
    )
    codebook = study.codebook()
    names = codebook.codes.values_list("name", flat=True) if codebook else []
    order = {name: i for i, name in enumerate(names)}
    return [
        CodedSegment(s, sorted(by_segment[s.pk], key=lambda n: (order.get(n, 1e9), n)))
        for s in segments.order_by("transcript__title", "number")
    ]


def frequencies(coded: list[CodedSegment], by: str) -> dict[str, dict[str, tuple[int, int]]]:
    """code -> group -> (segments, participants), grouping participants by role, tier or site."""
    segments: dict[str, Counter] = defaultdict(Counter)
    people: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for item in coded:
        participant = item.segment.transcript.participant
        group = _group(participant, by)
        for code in item.codes:
            segments[code][group] += 1
            people[code][group].add(participant.pk if participant else None)
    return {
        code: {g: (n, len(people[code][g])) for g, n in sorted(groups.items())}
        for code, groups in segments.items()
    }


def _group(participant, by: str) -> str:
    if participant is None:
        return "(no participant)"
    if by == "tier":
        return participant.tier_name or "(no tier)"
    if by == "site":
        return participant.site.name if participant.site else "(no site)"
    return participant.role or "(no role)"


def co_occurrence(coded: list[CodedSegment]) -> tuple[list[str], list[list[int]]]:
    """Codes and a symmetric matrix of how many segments carry both (the diagonal: each)."""
    names = sorted({c for item in coded for c in item.codes})
    index = {n: i for i, n in enumerate(names)}
    matrix = [[0] * len(names) for _ in names]
    for item in coded:
        for a in item.codes:
            for b in item.codes:
                matrix[index[a]][index[b]] += 1
    return names, matrix


def methods_paragraph(study: Study, user) -> str:
    """The report's methods paragraph, with the study's real numbers."""
    participants = list(study.participants.select_related("site"))
    roles = Counter(p.role or "role not recorded" for p in participants)
    sites = Counter(p.site.name if p.site else "site not recorded" for p in participants)
    coders = study.members.filter(role__in=[Membership.LEAD, Membership.CODER])
    coders = [m for m in coders if m.user.codings.filter(transcript__study=study).exists()]
    codebook = study.codebook()
    transcripts = study.transcripts.count()
    training = study.transcripts.filter(training=True).count()
    unit = study.get_unit_display().lower()
    text = (
        f"We interviewed {len(participants)} participants "
        f"({_listing(roles)}) at {len(sites)} sites ({_listing(sites)}). "
        f"The {transcripts} transcripts were segmented into {unit}s, the unit of analysis. "
        f"{len(coders)} coders coded each transcript independently and blind to each other's "
        f"codes, using codebook version {codebook.number if codebook else 0} "
        f"({codebook.codes.count() if codebook else 0} codes). "
    )
    pooled = _pooled(study, user, "training") if training else None
    if pooled:
        text += f"On the training subset of {training} transcripts, {_agreement_words(pooled)}. "
    pooled = _pooled(study, user, "all") if study.comparison == Comparison.OPEN else None
    if pooled:
        text += f"Across all {transcripts} transcripts, {_agreement_words(pooled)}. "
    elif study.comparison == Comparison.CLOSED:
        text += "Agreement is not yet available: comparison has not been opened. "
    resolved = Resolution.objects.filter(segment__transcript__study=study).count()
    text += f"The study lead resolved {resolved} disagreements by consensus, recording why."
    return text


def _pooled(study: Study, user, subset: str):
    figures = agreement.figures(agreement.ratings(study, user, "segment", subset))
    pooled = [f for f in figures if f.pooled and len(f.coders) == 2]
    return pooled[0] if len(pooled) == 1 and pooled[0].units else None


def _agreement_words(figure) -> str:
    return (
        f"the coders agreed on {figure.percent:.1%} of {figure.units:,} {figure.level} x code "
        f"decisions (Cohen's kappa {figure.kappa:.2f}, Krippendorff's alpha {figure.alpha:.2f})"
    )


def _listing(counter: Counter) -> str:
    return ", ".join(f"{n} {name}" for name, n in sorted(counter.items(), key=lambda x: -x[1]))
