"""Only a study's team gets in: every page and endpoint refuses people outside the study
(including executives over the whole tree), and lead-only steps refuse coders and readers."""

import pytest
from django.urls import reverse

from equilean.studies.models import Comparison, Segment
from equilean.studies.services import open_comparison
from tests.studies.conftest import code_units


@pytest.fixture
def ready(team, add_transcript):
    """A coded transcript open for comparison, with one disagreement."""
    transcript = add_transcript()
    cora, cole = team.coders
    code_units(transcript, cora, team.codes["Escalation"], [1, 2])
    code_units(transcript, cole, team.codes["Escalation"], [1])
    open_comparison(team.study, team.lead, Comparison.OPEN)
    coding = transcript.codings.filter(coder=cora).first()
    segment = Segment.objects.get(transcript=transcript, kind="paragraph", number=3)
    return {
        "pk": team.study.pk,
        "study": team.study.pk,
        "transcript": transcript.pk,
        "coding": coding.pk,
        "segment": segment.pk,
    }


# (url name, its parameters, method, POST data)
PAGES = [
    ("studies:detail", ["pk"], "get"),
    ("studies:setup", ["pk", "site"], "post"),
    ("studies:transcript_new", ["pk"], "get"),
    ("studies:code", ["pk", "transcript"], "get"),
    ("studies:coding_add", ["pk", "transcript"], "post"),
    ("studies:coding_remove", ["pk", "transcript", "coding"], "post"),
    ("studies:finish", ["pk", "transcript"], "post"),
    ("studies:comparison", ["pk"], "post"),
    ("studies:agreement", ["pk"], "get"),
    ("studies:disagreements", ["pk"], "get"),
    ("studies:resolve", ["pk", "segment"], "post"),
    ("studies:themes", ["pk"], "get"),
    ("studies:export", ["pk", "report.md"], "get"),
    ("study-detail", ["pk"], "get"),
    ("study-participants", ["study"], "get"),
    ("study-transcripts", ["study"], "get"),
    ("study-transcript", ["study", "transcript"], "get"),
    ("study-codebook", ["study"], "get"),
    ("study-codings", ["study"], "get"),
    ("study-codings", ["study"], "post"),
    ("study-agreement", ["study"], "get"),
    ("study-disagreements", ["study"], "get"),
    ("study-disagreements", ["study"], "post"),
    ("study-themes", ["study"], "get"),
    ("study-export", ["study", "report.md"], "get"),
]
LEAD_ONLY = {
    "studies:setup",
    "studies:transcript_new",
    "studies:comparison",
    "studies:resolve",
}


def url(name, params, ids):
    return reverse(name, args=[ids.get(p, p) for p in params])


def call(client, method, address):
    data = {"code": "Escalation", "applies": "yes", "reason": "x", "name": "Site B"}
    return client.post(address, data) if method == "post" else client.get(address)


def test_people_outside_the_study_get_not_found(client, team, ready):
    # One test over every page and endpoint: the set-up is the slow part.
    client.force_login(team.outsider)
    refused = {
        (name, method): call(client, method, url(name, params, ready)).status_code
        for name, params, method in PAGES
    }
    assert refused == {(name, method): 404 for name, _, method in PAGES}


def test_coders_and_readers_cannot_take_the_leads_steps(client, team, ready):
    for person in (team.coders[0], team.reader):
        client.force_login(person)
        for name, params, method in PAGES:
            if name in LEAD_ONLY:
                assert call(client, method, url(name, params, ready)).status_code == 404, name


def test_the_api_refuses_a_coder_resolving_with_403(client, team, ready):
    client.force_login(team.coders[0])
    response = client.post(
        reverse("study-disagreements", args=[team.study.pk]),
        {"segment": ready["segment"], "code": "Escalation", "applies": True, "reason": "x"},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_readers_cannot_code(client, team, ready):
    client.force_login(team.reader)
    for name in ("studies:coding_add", "studies:finish"):
        assert call(client, "post", url(name, ["pk", "transcript"], ready)).status_code == 404


def test_readers_cannot_post_codings_through_the_api(client, team, ready):
    client.force_login(team.reader)
    response = client.post(
        reverse("study-codings", args=[team.study.pk]),
        {
            "transcript": ready["transcript"],
            "code": team.codes["Escalation"].pk,
            "start": 0,
            "end": 3,
        },
    )
    assert response.status_code == 403


def test_the_study_list_shows_only_my_studies(client, team, ready):
    client.force_login(team.outsider)
    assert "Huddles and equity" not in client.get(reverse("studies:list")).content.decode()
    assert client.get(reverse("study-list")).json()["results"] == []
    client.force_login(team.reader)
    assert "Huddles and equity" in client.get(reverse("studies:list")).content.decode()


def test_a_coder_cannot_remove_another_coders_coding(client, team, ready):
    client.force_login(team.coders[1])
    response = client.post(url("studies:coding_remove", ["pk", "transcript", "coding"], ready))
    assert response.status_code == 404


def test_starting_a_study_needs_a_change_role_somewhere(client, team):
    client.force_login(team.coders[0])  # no role in the tree
    response = client.post(reverse("studies:list"), {"title": "Mine", "node": team.study.node_id})
    assert response.status_code == 404
