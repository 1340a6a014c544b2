"""A small study team and helpers to code transcripts as a given coder."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from equilean.studies import services
from equilean.studies.models import Code, Coding, Completion, Participant, Site
from equilean.studies.scope import Membership

# Five answers (paragraphs) after one question; the interviewer's turn is not a unit.
FIVE_ANSWERS = (
    "Interviewer: How do your huddles go?\n\n"
    "P01: Alpha one. Alpha two.\n\n"
    "Beta comes next.\n\n"
    "Gamma follows.\n\n"
    "Delta is quiet.\n\n"
    "Epsilon ends it."
)


@pytest.fixture
def team(tree, make_person, executive):
    """Lena leads a study; Cora and Cole code; Rita reads. Eve, an executive over the whole
    hospital, is not on the team: the org tree gives no access to a study."""
    lena = make_person("lena", "unit_leader", "MUH-4W")
    cora, cole, rita = (make_person(n) for n in ("cora", "cole", "rita"))
    study = services.create_study(
        lena, title="Huddles and equity", node=tree["MERIDIAN"], unit="paragraph"
    )
    for user, role in ((cora, Membership.CODER), (cole, Membership.CODER), (rita, "reader")):
        study.members.create(user=user, role=role)
    version = study.codebook()
    codes = {
        name: Code.objects.create(version=version, name=name, order=i)
        for i, name in enumerate(("Escalation", "Equity data"), 1)
    }
    site = Site.objects.create(study=study, name="Meridian University Hospital")
    participant = Participant.objects.create(
        study=study, pseudonym="P01", role="Nurse manager", tier=1, site=site
    )
    return SimpleNamespace(
        study=study,
        lead=lena,
        coders=(cora, cole),
        reader=rita,
        outsider=executive,
        codes=codes,
        participant=participant,
    )


@pytest.fixture
def add_transcript(team):
    def add(text: str = FIVE_ANSWERS, title: str = "Interview P01", **fields):
        fields.setdefault("participant", team.participant)
        return services.add_transcript(team.study, team.lead, title, text, "pasted", **fields)

    return add


def code_units(transcript, coder, code: Code, numbers, finish: bool = True) -> None:
    """`coder` applies `code` to whole paragraphs `numbers` (counting answers from 1)."""
    units = list(transcript.study.units([transcript.pk]))
    for n in numbers:
        unit = units[n - 1]
        Coding.objects.create(
            transcript=transcript, coder=coder, code=code, start=unit.start, end=unit.end
        )
    if finish:
        Completion.objects.get_or_create(transcript=transcript, coder=coder)
