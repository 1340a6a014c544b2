"""The study API for a member: participants, transcripts with units, codebook versions, themes,
agreement and exports."""

from django.urls import reverse

from equilean.studies.models import Comparison, Theme
from equilean.studies.services import new_codebook_version, open_comparison
from tests.studies.conftest import code_units


def test_a_reader_reads_the_study_through_the_api(client, team, add_transcript):
    transcript = add_transcript()
    for coder in team.coders:
        code_units(transcript, coder, team.codes["Escalation"], [1])
    open_comparison(team.study, team.lead, Comparison.OPEN)
    new_codebook_version(team.study, team.lead, "second")
    Theme.objects.create(study=team.study, name="Loops", code_names=["Escalation"])
    client.force_login(team.reader)
    pk = team.study.pk

    def get(name, *args, **params):
        response = client.get(reverse(name, args=[pk, *args]), params)
        assert response.status_code == 200, (name, response.content[:200])
        return response

    assert get("study-detail").json()["unit"] == "paragraph"
    assert get("study-participants").json()["results"][0]["pseudonym"] == "P01"
    assert get("study-transcripts").json()["results"][0]["title"] == "Interview P01"
    detail = get("study-transcript", transcript.pk).json()
    units = [s for s in detail["segments"] if s["kind"] == "paragraph"]
    assert detail["text"][units[1]["start"] : units[1]["end"]] == "Alpha one. Alpha two."
    versions = get("study-codebook").json()["results"]
    assert [v["number"] for v in versions] == [2, 1]
    assert [c["name"] for c in versions[0]["codes"]] == ["Escalation", "Equity data"]
    assert get("study-themes").json()["results"][0]["code_names"] == ["Escalation"]
    figures = get("study-agreement", level="character").json()
    assert {f["level"] for f in figures} == {"character"}
    assert get("study-export", "report.md").content.decode().startswith("# Huddles and equity")
    bad = client.get(reverse("study-agreement", args=[pk]), {"level": "word"})
    assert bad.status_code == 400 and "allowed: segment, character" in bad.json()["level"][0]
