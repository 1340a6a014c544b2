"""Coding on the page (htmx) and through the API, and the lead's reconciliation."""

from django.urls import reverse

from equilean.studies import agreement
from equilean.studies.models import Coding, Comparison, Completion, Resolution
from equilean.studies.services import open_comparison
from tests.studies.conftest import code_units


def test_a_coder_codes_a_selection_and_gets_the_partial_back(client, team, add_transcript):
    transcript = add_transcript()
    client.force_login(team.coders[0])
    start = transcript.text.index("Beta")
    response = client.post(
        reverse("studies:coding_add", args=[team.study.pk, transcript.pk]),
        {"code": team.codes["Escalation"].pk, "start": start, "end": start + 4},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "My codings (1)" in body
    coding = Coding.objects.get()
    assert (coding.excerpt, coding.coder, coding.code.version.number) == ("Beta", team.coders[0], 1)


def test_a_selection_outside_the_text_is_refused_with_a_message(client, team, add_transcript):
    transcript = add_transcript()
    client.force_login(team.coders[0])
    response = client.post(
        reverse("studies:coding_add", args=[team.study.pk, transcript.pk]),
        {"code": team.codes["Escalation"].pk, "start": 5, "end": 10_000},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "outside the transcript" in response.content.decode()
    assert not Coding.objects.exists()


def test_a_coder_removes_a_coding_and_marks_the_transcript_finished(client, team, add_transcript):
    transcript = add_transcript()
    code_units(transcript, team.coders[0], team.codes["Escalation"], [1], finish=False)
    client.force_login(team.coders[0])
    args = [team.study.pk, transcript.pk]
    client.post(reverse("studies:coding_remove", args=[*args, Coding.objects.get().pk]))
    assert not Coding.objects.exists()
    client.post(reverse("studies:finish", args=args))
    assert Completion.objects.filter(coder=team.coders[0]).exists()


def test_the_study_page_counts_my_codings_and_who_finished(client, team, add_transcript):
    transcript = add_transcript()
    cora, cole = team.coders
    code_units(transcript, cora, team.codes["Escalation"], [1, 2])
    code_units(transcript, cole, team.codes["Escalation"], [1])
    client.force_login(cora)
    page = client.get(reverse("studies:detail", args=[team.study.pk])).content.decode()
    assert 'data-mine="2"' in page and 'data-finished="2"' in page


def test_the_api_records_a_coding_for_the_caller(client, team, add_transcript):
    transcript = add_transcript()
    client.force_login(team.coders[1])
    response = client.post(
        reverse("study-codings", args=[team.study.pk]),
        {"transcript": transcript.pk, "code": team.codes["Equity data"].pk, "start": 0, "end": 11},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["coder"] == "cole"
    assert response.json()["codebook_version"] == 1
    bad = client.post(
        reverse("study-codings", args=[team.study.pk]),
        {"transcript": transcript.pk, "code": team.codes["Equity data"].pk, "start": 4, "end": 2},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "end" in bad.json()


def disagreeing(team, add_transcript):
    transcript = add_transcript()
    cora, cole = team.coders
    code_units(transcript, cora, team.codes["Escalation"], [1, 2])
    code_units(transcript, cole, team.codes["Escalation"], [1])
    open_comparison(team.study, team.lead, Comparison.OPEN)
    return agreement.disagreements(team.study, team.lead)


def test_the_lead_resolves_a_disagreement_recording_who_and_why(client, team, add_transcript):
    (row,) = disagreeing(team, add_transcript)
    client.force_login(team.lead)
    page = client.get(reverse("studies:disagreements", args=[team.study.pk])).content.decode()
    assert "1 of 1 disagreements still to resolve" in page
    response = client.post(
        reverse("studies:resolve", args=[team.study.pk, row.segment.pk]),
        {"code": "Escalation", "applies": "yes", "reason": "Describes a tier-3 escalation."},
    )
    assert response.status_code == 302
    resolution = Resolution.objects.get()
    assert (resolution.applies, resolution.decided_by, resolution.reason) == (
        True,
        team.lead,
        "Describes a tier-3 escalation.",
    )
    assert resolution.history.count() == 1
    page = client.get(reverse("studies:disagreements", args=[team.study.pk])).content.decode()
    assert "0 of 1 disagreements still to resolve" in page
    assert "Describes a tier-3 escalation." in page
    # The consensus now carries the code on both answers.
    assert {seg for (seg, code) in agreement.consensus(team.study, team.lead)} == {
        s.pk for s in team.study.units([row.segment.transcript_id])[:2]
    }


def test_a_resolution_needs_a_reason(client, team, add_transcript):
    (row,) = disagreeing(team, add_transcript)
    client.force_login(team.lead)
    client.post(
        reverse("studies:resolve", args=[team.study.pk, row.segment.pk]),
        {"code": "Escalation", "applies": "no", "reason": ""},
    )
    assert not Resolution.objects.exists()


def test_the_lead_resolves_through_the_api(client, team, add_transcript):
    (row,) = disagreeing(team, add_transcript)
    client.force_login(team.lead)
    response = client.post(
        reverse("study-disagreements", args=[team.study.pk]),
        {"segment": row.segment.pk, "code": "Escalation", "applies": False, "reason": "Aside."},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()[0]["resolution"]["decided_by"] == "lena"
    assert Resolution.objects.get().applies is False
