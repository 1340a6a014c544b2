"""Setting a study up, and adding transcripts by paste or upload with identifier checks."""

import io

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import RestrictedError
from django.urls import reverse

from equilean.studies.models import Code, Coding, Segment, Study, Transcript
from equilean.studies.services import new_codebook_version
from tests.studies.conftest import code_units


def test_a_person_with_a_change_role_starts_a_study_and_leads_it(client, team):
    client.force_login(team.lead)
    response = client.post(
        reverse("studies:list"),
        {"title": "Rounding study", "node": "", "unit": "sentence", "interviewer": "Q"},
    )
    assert response.status_code == 200  # the node is required
    node = team.study.node.__class__.objects.get(code="MUH-4W")
    response = client.post(
        reverse("studies:list"),
        {"title": "Rounding study", "node": node.pk, "unit": "sentence", "interviewer": "Q"},
    )
    study = Study.objects.get(title="Rounding study")
    assert response["Location"] == reverse("studies:detail", args=[study.pk])
    assert study.members.get().user == team.lead
    assert study.codebook().number == 1


def test_the_lead_adds_sites_participants_members_and_nested_codes(client, team):
    client.force_login(team.lead)
    pk = team.study.pk
    setup = lambda part, data: client.post(reverse("studies:setup", args=[pk, part]), data)  # noqa: E731
    setup("site", {"name": "Riverside"})
    site = team.study.sites.get(name="Riverside")
    setup("participant", {"pseudonym": "P02", "role": "Charge nurse", "tier": 1, "site": site.pk})
    setup("member", {"username": "eve", "role": "reader"})
    parent = team.codes["Escalation"]
    setup("code", {"name": "Read-back", "parent": parent.pk, "definition": "Answer read back"})
    assert team.study.participants.filter(pseudonym="P02", site=site).exists()
    assert team.study.members.filter(user=team.outsider, role="reader").exists()
    assert Code.objects.get(name="Read-back").parent == parent
    # A duplicate pseudonym is refused with a message naming it.
    response = setup("participant", {"pseudonym": "P02"})
    page = client.get(response["Location"]).content.decode()
    assert "P02 is already a participant of this study." in page


def test_a_new_codebook_version_copies_the_tree_and_old_codings_keep_theirs(team, add_transcript):
    transcript = add_transcript()
    child = Code.objects.create(
        version=team.study.codebook(), name="Read-back", parent=team.codes["Escalation"]
    )
    Coding.objects.create(transcript=transcript, coder=team.coders[0], code=child, start=0, end=5)
    version = new_codebook_version(team.study, team.lead, "Clarify read-back")
    assert version.number == 2
    copy = version.codes.get(name="Read-back")
    assert copy.parent.name == "Escalation" and copy.parent.version == version
    assert Coding.objects.get().code.version.number == 1


def post_transcript(client, study, **data):
    return client.post(
        reverse("studies:transcript_new", args=[study.pk]), {"title": "Interview", **data}
    )


def test_pasted_text_is_saved_with_its_units(client, team):
    client.force_login(team.lead)
    response = post_transcript(
        client, team.study, text="Interviewer: Why?\n\nP01: Because. It helps.", training="on"
    )
    assert response.status_code == 302
    transcript = Transcript.objects.get()
    assert transcript.training and transcript.source == "pasted"
    kinds = sorted(Segment.objects.values_list("kind", flat=True))
    assert kinds == ["paragraph"] * 2 + ["sentence"] * 3 + ["turn"] * 2


def test_a_word_file_is_read(client, team):
    document = docx.Document()
    document.add_paragraph("P01: We look at falls by language.")
    buffer = io.BytesIO()
    document.save(buffer)
    client.force_login(team.lead)
    upload = SimpleUploadedFile("p01.docx", buffer.getvalue())
    assert post_transcript(client, team.study, file=upload).status_code == 302
    transcript = Transcript.objects.get()
    assert (transcript.text, transcript.source) == ("P01: We look at falls by language.", "docx")


def test_a_bad_file_shows_what_is_wrong_and_saves_nothing(client, team):
    client.force_login(team.lead)
    upload = SimpleUploadedFile("p01.vtt", b"00:00:01.000 --> 00:00:02.000\nHi\n")
    response = post_transcript(client, team.study, file=upload)
    assert response.status_code == 200
    assert "p01.vtt, line 1: a WebVTT file starts with the line" in response.content.decode()
    assert not Transcript.objects.exists() and not Segment.objects.exists()


def test_identifiers_are_flagged_and_saved_only_once_checked(client, team):
    client.force_login(team.lead)
    text = "P01: Call me on 555-201-3344 after the huddle."
    response = post_transcript(client, team.study, text=text)
    page = response.content.decode()
    assert response.status_code == 200
    assert "line 1: phone number “555-201-3344”" in page
    assert not Transcript.objects.exists()
    response = post_transcript(client, team.study, text=text, checked="on")
    assert response.status_code == 302
    assert Transcript.objects.get().text == text


def test_an_uploaded_file_with_identifiers_comes_back_as_text_to_edit(client, team):
    client.force_login(team.lead)
    upload = SimpleUploadedFile("p01.txt", b"P01: MRN 1234567 was the patient.")
    page = post_transcript(client, team.study, file=upload).content.decode()
    assert "medical record number" in page
    assert "P01: MRN 1234567 was the patient.</textarea>" in page
    assert 'name="source" value="txt"' in page
    assert not Transcript.objects.exists()


def test_a_participant_with_transcripts_stays_but_a_whole_study_can_go(team, add_transcript):
    transcript = add_transcript()
    code_units(transcript, team.coders[0], team.codes["Escalation"], [1])
    with pytest.raises(RestrictedError):
        team.participant.delete()
    team.study.delete()
    assert not Transcript.objects.exists() and not Coding.objects.exists()
