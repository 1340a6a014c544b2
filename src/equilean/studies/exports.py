"""The theme report and the study's downloads: CSV of codings and agreement, Markdown, Word.

Everything is built from what the person asking may see (consensus over the transcripts open
for comparison), so a download never shows more than the pages do.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

from django.utils import timezone
from django.utils.text import slugify

from equilean.studies import agreement, services
from equilean.studies.models import Study

GROUPINGS = {"role": "Role", "tier": "Tier", "site": "Site"}
EXEMPLARS = 3


@dataclass
class ThemeSummary:
    """A theme with its codes' frequencies and its exemplar quotes."""

    theme: object
    segments: int
    participants: int
    frequencies: dict[str, dict[str, dict[str, tuple[int, int]]]]
    groups: dict[str, list[str]]
    exemplars: list[services.CodedSegment]


def theme_report(study: Study, user) -> dict:
    """Themes with frequencies by role, tier and site, exemplars, co-occurrence and methods."""
    coded = services.coded_segments(study, user)
    tables = {by: services.frequencies(coded, by) for by in GROUPINGS}
    summaries = []
    for theme in study.themes.all():
        names = set(theme.code_names)
        hits = [item for item in coded if names & set(item.codes)]
        summaries.append(
            ThemeSummary(
                theme=theme,
                segments=len(hits),
                participants=len({i.segment.transcript.participant_id for i in hits}),
                frequencies={
                    by: {c: table[c] for c in theme.code_names if c in table}
                    for by, table in tables.items()
                },
                groups={
                    by: sorted({g for c in theme.code_names for g in table.get(c, {})})
                    for by, table in tables.items()
                },
                # The longest passages first: they usually say the most.
                exemplars=sorted(hits, key=lambda i: -len(i.segment.text))[:EXEMPLARS],
            )
        )
    names, matrix = services.co_occurrence(coded)
    return {
        "themes": summaries,
        "groupings": GROUPINGS,
        "co_names": names,
        "co_rows": list(zip(names, matrix, strict=True)),
        "coded": coded,
        "methods": services.methods_paragraph(study, user),
    }


def _filename(study: Study, name: str, suffix: str) -> str:
    title = slugify(study.title)[:40]
    return f"equilean_study-{study.pk}_{title}_{name}_{timezone.localdate()}{suffix}"


def codings_csv(study: Study, user):
    """One row per consensus code on a segment, with the participant's role, tier and site."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["transcript", "participant", "role", "tier", "site", "unit", "number", "code", "text"]
    )
    for item in services.coded_segments(study, user):
        s = item.segment
        p = s.transcript.participant
        for code in item.codes:
            writer.writerow(
                [
                    s.transcript.title,
                    p.pseudonym if p else "",
                    p.role if p else "",
                    p.tier_name if p else "",
                    p.site.name if p and p.site else "",
                    s.kind,
                    s.number,
                    code,
                    s.text,
                ]
            )
    return buffer.getvalue(), "text/csv; charset=utf-8", _filename(study, "codings", ".csv")


def _number(value) -> str:
    undefined = value is None or (isinstance(value, float) and math.isnan(value))
    return "" if undefined else f"{value:.4f}"


def agreement_csv(study: Study, user):
    """Every agreement figure with its unit and counts, for both subsets and levels."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "subset",
            "level",
            "code",
            "coders",
            "units_rated_by_all",
            "units_applied_by_each",
            "units_applied_by_all",
            "percent_agreement",
            "cohen_kappa",
            "krippendorff_alpha_nominal",
        ]
    )
    for subset in agreement.SUBSETS:
        for level in agreement.LEVELS:
            for f in agreement.figures(agreement.ratings(study, user, level, subset)):
                writer.writerow(
                    [
                        subset,
                        level,
                        f.code or "(all codes pooled)",
                        " & ".join(f.coders),
                        f.units,
                        " / ".join(str(n) for n in f.applied),
                        f.all_applied,
                        _number(f.percent),
                        _number(f.kappa),
                        _number(f.alpha),
                    ]
                )
    return buffer.getvalue(), "text/csv; charset=utf-8", _filename(study, "agreement", ".csv")


def _sections(study: Study, user) -> list[tuple[str, list[str]]]:
    """The report as headed sections of paragraphs, shared by Markdown and Word."""
    report = theme_report(study, user)
    sections = [("Methods", [report["methods"]])]
    for summary in report["themes"]:
        theme = summary.theme
        lines = [
            theme.description,
            f"Codes: {', '.join(theme.code_names)}. "
            f"{summary.segments} coded segments from {summary.participants} participants.",
        ]
        for by, label in GROUPINGS.items():
            counts = {}
            for groups in summary.frequencies[by].values():
                for group, (segments, _people) in groups.items():
                    counts[group] = counts.get(group, 0) + segments
            if counts:
                lines.append(
                    f"Codes applied, by {label.lower()}: "
                    + "; ".join(f"{g} {n}" for g, n in sorted(counts.items()))
                    + "."
                )
        for item in summary.exemplars:
            p = item.segment.transcript.participant
            who = f"{p.pseudonym}, {p.role}" if p else item.segment.transcript.title
            lines.append(f"“{item.segment.text}” ({who})")
        if theme.recommendation:
            lines.append(f"Recommendation: {theme.recommendation}")
        sections.append((f"Theme: {theme.name}", [line for line in lines if line]))
    if report["co_names"]:
        sections.append(
            (
                "Codes that occur together",
                [
                    f"{a} with {b}: {report['co_rows'][i][1][j]} segments"
                    for i, a in enumerate(report["co_names"])
                    for j, b in enumerate(report["co_names"])
                    if j > i and report["co_rows"][i][1][j]
                ]
                or ["No two codes share a segment."],
            )
        )
    return sections


def report_markdown(study: Study, user):
    lines = [f"# {study.title}", "", study.question, ""]
    for heading, paragraphs in _sections(study, user):
        lines += [f"## {heading}", ""]
        for paragraph in paragraphs:
            lines += [paragraph, ""]
    body = "\n".join(lines)
    return body, "text/markdown; charset=utf-8", _filename(study, "report", ".md")


def report_docx(study: Study, user):
    import docx

    document = docx.Document()
    document.add_heading(study.title, level=0)
    if study.question:
        document.add_paragraph(study.question)
    for heading, paragraphs in _sections(study, user):
        document.add_heading(heading, level=1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return (
        buffer.getvalue(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _filename(study, "report", ".docx"),
    )


EXPORTS = {
    "codings.csv": codings_csv,
    "agreement.csv": agreement_csv,
    "report.md": report_markdown,
    "report.docx": report_docx,
}
