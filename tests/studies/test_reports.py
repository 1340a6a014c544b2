"""Themes, frequencies, co-occurrence and the exports built from the consensus."""

import csv
import io

import docx
import pytest
from django.urls import reverse

from equilean.studies import exports
from equilean.studies.models import Comparison, Participant, Theme
from equilean.studies.services import open_comparison
from tests.studies.conftest import code_units


@pytest.fixture
def themed(team, add_transcript):
    """Two participants; both coders agree, so the consensus is what they coded."""
    other = Participant.objects.create(study=team.study, pseudonym="P02", role="Director", tier=2)
    first, second = add_transcript(), add_transcript(title="Interview P02", participant=other)
    escalation, equity = team.codes["Escalation"], team.codes["Equity data"]
    for coder in team.coders:
        code_units(first, coder, escalation, [1, 2])
        code_units(first, coder, equity, [2, 3])
        code_units(second, coder, equity, [1])
    open_comparison(team.study, team.lead, Comparison.OPEN)
    Theme.objects.create(
        study=team.study,
        name="Answers need to come back",
        code_names=["Escalation"],
        recommendation="Read every answer back.",
    )
    return team


def test_frequencies_count_segments_and_participants_by_role_tier_and_site(themed):
    report = exports.theme_report(themed.study, themed.lead)
    (summary,) = report["themes"]
    assert (summary.segments, summary.participants) == (2, 1)
    assert summary.frequencies["role"] == {"Escalation": {"Nurse manager": (2, 1)}}
    assert summary.frequencies["tier"] == {"Escalation": {"Unit": (2, 1)}}
    assert summary.frequencies["site"] == {"Escalation": {"Meridian University Hospital": (2, 1)}}
    assert [e.segment.text for e in summary.exemplars] == [
        "Alpha one. Alpha two.",
        "Beta comes next.",
    ]


def test_co_occurrence_counts_segments_carrying_both_codes(themed):
    report = exports.theme_report(themed.study, themed.lead)
    assert report["co_names"] == ["Equity data", "Escalation"]
    # Equity data on 3 segments, Escalation on 2, both on answer 2 of P01.
    assert [row for _, row in report["co_rows"]] == [[3, 1], [1, 2]]


def test_the_methods_paragraph_states_the_real_numbers(themed):
    text = exports.theme_report(themed.study, themed.lead)["methods"]
    assert "We interviewed 2 participants (1 Nurse manager, 1 Director)" in text
    assert "segmented into paragraphs, the unit of analysis" in text
    assert "2 coders coded each transcript independently" in text
    # 10 answers x 2 codes, all agreed.
    assert "agreed on 100.0% of 20 segment x code decisions" in text


def test_the_csv_has_one_row_per_consensus_code(client, themed):
    client.force_login(themed.reader)
    response = client.get(reverse("studies:export", args=[themed.study.pk, "codings.csv"]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert len(rows) == 5
    assert rows[0]["participant"] == "P01" and rows[0]["tier"] == "Unit"


def test_the_agreement_csv_states_unit_level_and_counts(client, themed):
    client.force_login(themed.lead)
    response = client.get(reverse("studies:export", args=[themed.study.pk, "agreement.csv"]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    pooled = next(r for r in rows if r["subset"] == "all" and r["level"] == "segment")
    assert pooled["code"] == "(all codes pooled)"
    assert (pooled["units_rated_by_all"], pooled["percent_agreement"]) == ("20", "1.0000")


def test_the_word_report_opens_with_methods_and_themes(client, themed):
    client.force_login(themed.lead)
    response = client.get(reverse("studies:export", args=[themed.study.pk, "report.docx"]))
    document = docx.Document(io.BytesIO(response.content))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:2] == ["Methods", "Theme: Answers need to come back"]
    assert any("Recommendation: Read every answer back." in p.text for p in document.paragraphs)


def test_the_lead_adds_a_theme_from_codebook_codes(client, themed):
    client.force_login(themed.lead)
    response = client.post(
        reverse("studies:themes", args=[themed.study.pk]),
        {"name": "Data on the board", "code_names": ["Equity data"], "description": "d"},
    )
    assert response.status_code == 302
    assert Theme.objects.get(name="Data on the board").code_names == ["Equity data"]
    client.force_login(themed.reader)
    response = client.post(reverse("studies:themes", args=[themed.study.pk]), {"name": "No"})
    assert response.status_code == 404
