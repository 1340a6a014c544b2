"""Blind parallel coding: nobody sees another coder's codings until the lead opens comparison,
in the queryset, on the coding page and in the API."""

import pytest
from django.urls import reverse

from equilean.studies.models import Coding, Comparison
from equilean.studies.services import open_comparison
from tests.studies.conftest import code_units


@pytest.fixture
def two_transcripts(team, add_transcript):
    """Cora and Cole each code a training transcript and a main one."""
    training = add_transcript(title="Training", training=True)
    main = add_transcript(title="Main")
    cora, cole = team.coders
    for transcript in (training, main):
        code_units(transcript, cora, team.codes["Escalation"], [1])
        code_units(transcript, cole, team.codes["Equity data"], [2])
    return training, main


def visible_coders(user, transcript):
    return set(
        Coding.objects.for_user(user)
        .filter(transcript=transcript)
        .values_list("coder__username", flat=True)
    )


def test_before_comparison_each_member_sees_only_their_own(team, two_transcripts):
    cora, cole = team.coders
    for transcript in two_transcripts:
        assert visible_coders(cora, transcript) == {"cora"}
        assert visible_coders(cole, transcript) == {"cole"}
        # The lead is blind too until she opens comparison; readers and outsiders see nothing.
        assert visible_coders(team.lead, transcript) == set()
        assert visible_coders(team.reader, transcript) == set()
        assert visible_coders(team.outsider, transcript) == set()


def test_opening_the_training_subset_shows_only_training_codings(team, two_transcripts):
    training, main = two_transcripts
    open_comparison(team.study, team.lead, Comparison.TRAINING)
    cora = team.coders[0]
    assert visible_coders(cora, training) == {"cora", "cole"}
    assert visible_coders(team.reader, training) == {"cora", "cole"}
    assert visible_coders(cora, main) == {"cora"}
    assert visible_coders(team.outsider, training) == set()


def test_opening_all_shows_everything_to_the_team_only(team, two_transcripts):
    open_comparison(team.study, team.lead, Comparison.OPEN)
    for transcript in two_transcripts:
        assert visible_coders(team.coders[0], transcript) == {"cora", "cole"}
        assert visible_coders(team.outsider, transcript) == set()


def test_a_coder_changes_only_their_own_codings_and_only_while_blind(team, two_transcripts):
    cora = team.coders[0]
    changeable = Coding.objects.for_user(cora, "change")
    assert set(changeable.values_list("coder__username", flat=True)) == {"cora"}
    open_comparison(team.study, team.lead, Comparison.OPEN)
    assert not Coding.objects.for_user(cora, "change").exists()


def test_the_coding_page_shows_only_my_codings(client, team, two_transcripts):
    training, _ = two_transcripts
    client.force_login(team.coders[0])
    body = client.get(reverse("studies:code", args=[team.study.pk, training.pk])).content.decode()
    assert "My codings (1)" in body
    assert ">Escalation</span>" in body
    assert ">Equity data</span>" not in body


def test_the_api_refuses_other_coders_codings_before_comparison(client, team, two_transcripts):
    client.force_login(team.coders[0])
    url = reverse("study-codings", args=[team.study.pk])
    coders = {row["coder"] for row in client.get(url).json()["results"]}
    assert coders == {"cora"}
    open_comparison(team.study, team.lead, Comparison.TRAINING)
    rows = client.get(url).json()["results"]
    assert {(r["coder"], r["transcript"]) for r in rows} == {
        ("cora", two_transcripts[0].pk),
        ("cole", two_transcripts[0].pk),
        ("cora", two_transcripts[1].pk),
    }


def test_agreement_and_disagreement_pages_wait_for_comparison(client, team, two_transcripts):
    client.force_login(team.lead)
    page = client.get(reverse("studies:agreement", args=[team.study.pk])).content.decode()
    assert "Coding is blind" in page
    assert client.get(reverse("study-disagreements", args=[team.study.pk])).json() == []


def test_codings_freeze_once_comparison_opens(client, team, two_transcripts):
    training, main = two_transcripts
    open_comparison(team.study, team.lead, Comparison.TRAINING)
    cora = team.coders[0]
    client.force_login(cora)
    add = reverse("studies:coding_add", args=[team.study.pk, training.pk])
    response = client.post(
        add, {"code": team.codes["Escalation"].pk, "start": 0, "end": 5}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400 and "can no longer change" in response.content.decode()
    own = Coding.objects.get(transcript=training, coder=cora)
    remove = reverse("studies:coding_remove", args=[team.study.pk, training.pk, own.pk])
    assert client.post(remove).status_code == 404
    api = client.post(
        reverse("study-codings", args=[team.study.pk]),
        {"transcript": training.pk, "code": team.codes["Escalation"].pk, "start": 0, "end": 5},
        content_type="application/json",
    )
    assert api.status_code == 400 and "transcript" in api.json()
    # The main transcript is still blind, so coding goes on there.
    response = client.post(
        reverse("studies:coding_add", args=[team.study.pk, main.pk]),
        {"code": team.codes["Escalation"].pk, "start": 0, "end": 5},
    )
    assert response.status_code == 302
    assert Coding.objects.filter(transcript=main, coder=cora).count() == 2
