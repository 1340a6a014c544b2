"""Inter-coder agreement for a study, from the codings the person asking may see.

The figures come from `equilean.engine.stats.agreement`; this module prepares their inputs.
Each code is a yes/no decision per unit:

- segment level: the units are the study's segments (turns, paragraphs or sentences, less the
  interviewer's); a coder applied the code to a segment when any of their codings with it
  overlaps the segment;
- character level, as NVivo computes it: the units are the transcript's characters; a coder
  applied the code to a character when one of their codings with it covers it.

A coder's units count only in transcripts they have marked finished; elsewhere they are
missing, which pairwise figures drop and Krippendorff's alpha allows. "Overall" pools every
code's decisions (units x codes).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from equilean.engine.stats import agreement as stats
from equilean.studies.models import Coding, Completion, Segment, Study, StudyMember, Transcript
from equilean.studies.scope import Membership

LEVELS = {"segment": "segments", "character": "characters"}
SUBSETS = {"training": "Training subset", "all": "All transcripts open for comparison"}


@dataclass(frozen=True)
class Figure:
    """Agreement on one code (or all codes pooled) between some coders, with its counts."""

    code: str
    level: str
    coders: tuple[str, ...]
    units: int
    applied: tuple[int, ...]
    all_applied: int
    percent: float | None
    kappa: float | None
    alpha: float

    @property
    def pooled(self) -> bool:
        return not self.code


@dataclass
class Ratings:
    """Yes/no decisions: `values[coder][code]` is a float array over units (NaN = missing)."""

    level: str
    coders: list[str]
    codes: list[str]
    units: int
    values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def comparable_transcripts(study: Study, user, subset: str = "all"):
    """Transcripts of `study` open for comparison that `user` may see, optionally training only."""
    transcripts = Transcript.objects.for_user(user).filter(study=study).filter(study.comparable())
    return transcripts.filter(training=True) if subset == "training" else transcripts


def ratings(study: Study, user, level: str, subset: str = "all") -> Ratings:
    """Every coder's decisions on every code at `level`, over the comparable transcripts."""
    transcripts = list(comparable_transcripts(study, user, subset).order_by("pk"))
    ids = [t.pk for t in transcripts]
    codings = list(
        Coding.objects.for_user(user)
        .filter(transcript__in=ids)
        .select_related("code", "coder__profile")
    )
    finished = set(
        Completion.objects.for_user(user)
        .filter(transcript__in=ids)
        .values_list("transcript_id", "coder_id")
    )
    coder_members = [
        m
        for m in StudyMember.objects.filter(
            study=study, role__in=[Membership.LEAD, Membership.CODER]
        ).select_related("user__profile")
        if any((t, m.user_id) in finished for t in ids)
    ]
    codebook = study.codebook()
    names = list(codebook.codes.values_list("name", flat=True)) if codebook else []
    names += sorted({c.code.name for c in codings} - set(names))
    # Unit index ranges: per transcript, which slice of the unit axis it occupies.
    if level == "segment":
        segments = list(study.units(ids))
        owner = np.array([s.transcript_id for s in segments], dtype=np.int64)
        starts = np.array([s.start for s in segments], dtype=np.int64)
        ends = np.array([s.end for s in segments], dtype=np.int64)
        size = len(segments)
    else:
        offsets, size = {}, 0
        for t in transcripts:
            offsets[t.pk] = size
            size += len(t.text)
    result = Ratings(level, [m.name for m in coder_members], names, size)
    for member in coder_members:
        done = np.zeros(size, dtype=bool)
        for t in transcripts:
            if (t.pk, member.user_id) in finished:
                if level == "segment":
                    done |= owner == t.pk
                else:
                    done[offsets[t.pk] : offsets[t.pk] + len(t.text)] = True
        per_code = {name: np.where(done, 0.0, np.nan) for name in names}
        for coding in codings:
            if coding.coder_id != member.user_id or not done.any():
                continue
            if level == "segment":
                hit = (
                    (owner == coding.transcript_id)
                    & (starts < coding.end)
                    & (ends > coding.start)
                    & done
                )
                per_code[coding.code.name][hit] = 1.0
            elif (coding.transcript_id, member.user_id) in finished:
                base = offsets[coding.transcript_id]
                per_code[coding.code.name][base + coding.start : base + coding.end] = 1.0
        result.values[member.name] = per_code
    return result


def _figure(code: str, level: str, coders: tuple[str, ...], rows: list[np.ndarray]) -> Figure:
    matrix = np.vstack(rows)
    rated = ~np.isnan(matrix)
    everyone = rated.all(axis=0)
    alpha = stats.krippendorff_alpha(np.where(rated, matrix, None))
    percent = kappa = None
    if len(rows) == 2:
        a, b = (np.where(np.isnan(r), None, r) for r in rows)
        percent = stats.percent_agreement(a, b)
        kappa = stats.cohen_kappa(a, b) if everyone.any() else float("nan")
    return Figure(
        code=code,
        level=level,
        coders=coders,
        units=int(everyone.sum()),
        applied=tuple(int((r[everyone] == 1).sum()) for r in rows),
        all_applied=int((matrix[:, everyone] == 1).all(axis=0).sum()),
        percent=percent,
        kappa=kappa,
        alpha=alpha,
    )


def figures(data: Ratings) -> list[Figure]:
    """Per code and pooled, for every pair of coders and (with three or more) for all coders."""
    groups = [tuple(pair) for pair in combinations(data.coders, 2)]
    if len(data.coders) > 2:
        groups.append(tuple(data.coders))
    out = []
    for group in groups:
        pooled = [np.concatenate([data.values[c][code] for code in data.codes]) for c in group]
        if data.codes:
            out.append(_figure("", data.level, group, pooled))
        for code in data.codes:
            out.append(_figure(code, data.level, group, [data.values[c][code] for c in group]))
    return out


@dataclass(frozen=True)
class Disagreement:
    """A segment where the coders who finished its transcript decided differently on a code."""

    segment: Segment
    code: str
    decisions: dict[str, bool]
    excerpts: dict[str, list[str]]
    resolution: object | None


def disagreements(study: Study, user, subset: str = "all") -> list[Disagreement]:
    """Each (segment, code) on which the coders differ, with each coder's excerpts."""
    from equilean.studies.models import Resolution

    data = ratings(study, user, "segment", subset)
    if len(data.coders) < 2:
        return []
    ids = comparable_transcripts(study, user, subset).values("pk")
    segments = list(study.units(ids).select_related("transcript__participant"))
    codings = defaultdict(list)
    for coding in (
        Coding.objects.for_user(user)
        .filter(transcript__in=ids)
        .select_related("code", "coder__profile", "transcript")
    ):
        codings[coding.transcript_id].append(coding)
    resolved = {
        (r.segment_id, r.code_name): r
        for r in Resolution.objects.for_user(user).filter(segment__in=[s.pk for s in segments])
    }
    names = {m.user_id: m.name for m in study.members.select_related("user__profile")}
    out = []
    for code in data.codes:
        stacked = np.vstack([data.values[c][code] for c in data.coders])
        # Split: at least one coder said yes and one said no (missing ratings are neither).
        split = (stacked == 1).any(axis=0) & (stacked == 0).any(axis=0)
        for index in np.flatnonzero(split):
            column = stacked[:, index]
            segment = segments[index]
            excerpts = defaultdict(list)
            for coding in codings[segment.transcript_id]:
                overlaps = coding.start < segment.end and coding.end > segment.start
                if overlaps and coding.code.name == code:
                    excerpts[names.get(coding.coder_id, "")].append(coding.excerpt)
            out.append(
                Disagreement(
                    segment=segment,
                    code=code,
                    decisions={
                        c: bool(v) for c, v in zip(data.coders, column, strict=True) if v == v
                    },
                    excerpts=dict(excerpts),
                    resolution=resolved.get((segment.pk, code)),
                )
            )
    return sorted(out, key=lambda d: (d.segment.transcript_id, d.segment.number, d.code))


def consensus(study: Study, user) -> dict[tuple[int, str], bool]:
    """(segment id, code) -> True where the finished coders all applied the code, or the lead
    resolved that it applies; undecided disagreements are left out."""
    from equilean.studies.models import Resolution

    data = ratings(study, user, "segment")
    ids = comparable_transcripts(study, user).values("pk")
    segments = list(study.units(ids).values_list("pk", flat=True))
    out = {}
    if data.coders:
        for code in data.codes:
            stacked = np.vstack([data.values[c][code] for c in data.coders])
            rated = ~np.isnan(stacked)
            agreed = rated.any(axis=0) & (np.where(rated, stacked, 1) == 1).all(axis=0)
            for index in np.flatnonzero(agreed):
                out[(segments[index], code)] = True
    for r in Resolution.objects.for_user(user).filter(segment__in=segments):
        if r.applies:
            out[(r.segment_id, r.code_name)] = True
        else:
            out.pop((r.segment_id, r.code_name), None)
    return out
