"""The demo's interview study: made-up leaders talking about huddles and equity.

Everyone here is invented. Two coders code eight short transcripts in parallel with a few
deliberate differences, so agreement, disagreements and themes all have something to show.
The training subset is open for comparison; the lead opens the rest.
"""

from __future__ import annotations

import random

from django.contrib.auth import get_user_model
from django.db import transaction

from equilean.org.models import Node
from equilean.studies import services
from equilean.studies.models import (
    Code,
    Coding,
    Comparison,
    Completion,
    Participant,
    Site,
    Study,
    StudyMember,
    Theme,
)
from equilean.studies.scope import Membership

TITLE = "Equity in the daily huddle: leader interviews"
CODES = [
    ("Huddles", None, "How tiered huddles run.", "", ""),
    (
        "Equity data at huddle",
        "Huddles",
        "Stratified measures or equity gaps discussed at a huddle board.",
        "The speaker describes looking at a measure split by race, language, payer or similar.",
        "General talk about data without a group comparison (use Data quality).",
    ),
    (
        "Escalation",
        "Huddles",
        "A problem passed up a tier, and whether an answer came back.",
        "Any mention of escalating, the next tier, or a reply cascading down.",
        "",
    ),
    ("Huddle burden", "Huddles", "Time or effort it takes to prepare and run huddles.", "", ""),
    ("Leadership", None, "What leaders do.", "", ""),
    (
        "Leader accountability",
        "Leadership",
        "Leaders owning equity goals, scorecards or follow-through.",
        "",
        "",
    ),
    ("Frontline engagement", "Leadership", "Staff raising problems and ideas.", "", ""),
    ("Barriers", None, "What gets in the way.", "", ""),
    (
        "Data quality",
        "Barriers",
        "Missing, late or untrusted data, including unknown race or language.",
        "",
        "",
    ),
    ("Time pressure", "Barriers", "Staffing and time crowding out improvement work.", "", ""),
]
# (pseudonym, role, tier, site)
PARTICIPANTS = [
    ("P01", "Chief nursing officer", 4, "Meridian University Hospital"),
    ("P02", "Vice president of quality", 3, "Meridian University Hospital"),
    ("P03", "Director of medicine", 2, "Meridian University Hospital"),
    ("P04", "Nurse manager", 1, "Meridian University Hospital"),
    ("P05", "Chief operating officer", 3, "Riverside Community Hospital"),
    ("P06", "Health equity officer", 4, "Riverside Community Hospital"),
    ("P07", "Nurse manager", 1, "Riverside Community Hospital"),
    ("P08", "Charge nurse", 1, "Riverside Community Hospital"),
]
QUESTIONS = [
    "Tell me how your huddle works on a normal morning.",
    "How does equity come up, if it does?",
    "What happens when the team cannot fix something itself?",
    "What gets in the way?",
]
# Answers by topic, each with the codes a careful coder would apply.
ANSWERS = [
    [
        (
            "We stand at the board at seven thirty for ten minutes. Safety first, then quality, "
            "then staffing. It is quick because the board is already filled in.",
            ["Huddles"],
        ),
        (
            "Preparing the board used to take me an hour. Now the numbers are there when I arrive, "
            "so I spend the time on the conversation instead.",
            ["Huddle burden"],
        ),
        (
            "The charge nurse runs it and anyone can add a card. Last week a new graduate raised "
            "the broken bed alarms and we fixed it by noon.",
            ["Frontline engagement"],
        ),
        (
            "Every tier has its slot, so by ten the executives know what the units could not "
            "solve. It only works if each of us shows up on time.",
            ["Huddles", "Leader accountability"],
        ),
    ],
    [
        (
            "We look at falls split by preferred language. Patients who need an interpreter fell "
            "more often, and that surprised the team.",
            ["Equity data at huddle"],
        ),
        (
            "Our readmissions are shown by payer and by neighbourhood deprivation. The gap for "
            "Medicaid patients is on the board every day now.",
            ["Equity data at huddle"],
        ),
        (
            "Honestly, equity comes up when the analyst flags a gap. Too many records say race "
            "unknown, so people doubt the numbers.",
            ["Equity data at huddle", "Data quality"],
        ),
        (
            "My scorecard has an equity goal and my review asks about it. That changed what I "
            "ask about in rounding.",
            ["Leader accountability"],
        ),
    ],
    [
        (
            "We escalate it to the department huddle with what we tried. The answer comes back "
            "the same day and we read it back at the next huddle.",
            ["Escalation"],
        ),
        (
            "Escalations used to vanish. Now I can see who owns it and when they answered, so I "
            "follow up myself.",
            ["Escalation", "Leader accountability"],
        ),
        (
            "If interpreters are late we send it up to tier three. Twice the answer came back "
            "within a day with a new staffing plan.",
            ["Escalation", "Equity data at huddle"],
        ),
        (
            "Staff tell me they escalate and hear nothing. I try to close the loop before the "
            "end of my shift.",
            ["Escalation", "Frontline engagement"],
        ),
    ],
    [
        (
            "Staffing. When we are short the huddle is the first thing people want to skip.",
            ["Time pressure", "Huddle burden"],
        ),
        (
            "The data arrive a month late for some measures. By then the nurses have forgotten "
            "what happened.",
            ["Data quality"],
        ),
        (
            "There is never enough time on the floor to test an idea properly. We need protected "
            "time for improvement work.",
            ["Time pressure"],
        ),
        (
            "Language is missing for a fifth of our patients. Registration is fixing the form, but "
            "until then the gap is hard to trust.",
            ["Data quality", "Equity data at huddle"],
        ),
    ],
]
THEMES = [
    (
        "Equity data has to be on the board to be discussed",
        "Leaders talked about equity when stratified measures were part of the daily board, "
        "and doubted them when race or language was often unknown.",
        ["Equity data at huddle", "Data quality"],
        "Show each KPI by language and payer on the tier-1 board, with data completeness "
        "beside it.",
    ),
    (
        "Escalations need a visible answer",
        "Escalation built trust only when the answer came back and was read back.",
        ["Escalation", "Leader accountability"],
        "Track each escalation to a named owner and a read-back at the originating huddle.",
    ),
    (
        "Huddles compete with time on the floor",
        "Short staffing and preparation work pushed huddles and improvement aside.",
        ["Huddle burden", "Time pressure", "Frontline engagement"],
        "Prefill boards from the data and protect time for improvement work.",
    ),
]
TRAINING = 2


def _transcript_text(index: int) -> tuple[str, list[list[str]]]:
    """An interview of four questions; each answer is chosen by the participant's index."""
    lines, truth = [], []
    for topic, question in enumerate(QUESTIONS):
        answer, codes = ANSWERS[topic][(index + topic) % len(ANSWERS[topic])]
        lines += [f"Interviewer: {question}", "", f"{PARTICIPANTS[index][0]}: {answer}", ""]
        truth.append(codes)
    return "\n".join(lines).strip(), truth


@transaction.atomic
def create_demo_study() -> Study | None:
    """Create the demo study once; None if it exists or the demo people are missing."""
    people = {
        u.username: u
        for u in get_user_model().objects.filter(
            username__in=["analyst", "deptleader", "unitleader", "executive"]
        )
    }
    if len(people) < 4 or Study.objects.filter(title=TITLE).exists():
        return None
    lead, second, reader = people["analyst"], people["deptleader"], people["executive"]
    study = services.create_study(
        lead,
        title=TITLE,
        question="How do leaders bring equity into tiered huddles, and what gets in the way?",
        node=Node.objects.filter(parent__isnull=True).first(),
        unit="paragraph",
    )
    StudyMember.objects.create(study=study, user=second, role=Membership.CODER)
    StudyMember.objects.create(study=study, user=people["unitleader"], role=Membership.CODER)
    StudyMember.objects.create(study=study, user=reader, role=Membership.READER)
    sites = {
        name: Site.objects.create(study=study, name=name) for name in {p[3] for p in PARTICIPANTS}
    }
    first = study.codebook()
    made = {}
    for order, (name, parent, definition, inclusion, exclusion) in enumerate(CODES, 1):
        made[name] = Code.objects.create(
            version=first,
            parent=made.get(parent),
            name=name,
            definition=definition,
            inclusion=inclusion,
            exclusion=exclusion,
            order=order,
        )
    version = services.new_codebook_version(
        study, lead, "Data quality now includes unknown race or language"
    )
    codes = {c.name: c for c in version.codes.all()}
    rng = random.Random(14)
    for index, (pseudonym, role, tier, site) in enumerate(PARTICIPANTS):
        participant = Participant.objects.create(
            study=study, pseudonym=pseudonym, role=role, tier=tier, site=sites[site]
        )
        text, truth = _transcript_text(index)
        transcript = services.add_transcript(
            study,
            lead,
            f"Interview {pseudonym}",
            text,
            "pasted",
            participant=participant,
            training=index < TRAINING,
        )
        answers = transcript.segments.filter(kind="paragraph").exclude(speaker="Interviewer")
        for coder, slip in ((lead, 0.06), (second, 0.1)):
            for segment, intended in zip(answers, truth, strict=True):
                applied = [c for c in intended if rng.random() > slip]
                if rng.random() < slip:
                    applied.append(rng.choice(sorted(codes)))
                for name in dict.fromkeys(applied):
                    # Now and then a coder marks only the first sentence, as people do.
                    end = segment.end
                    if rng.random() < 0.3:
                        end = segment.start + segment.text.find(".") + 1
                    Coding.objects.create(
                        transcript=transcript,
                        coder=coder,
                        code=codes[name],
                        start=segment.start,
                        end=end,
                    )
            Completion.objects.create(transcript=transcript, coder=coder)
    services.open_comparison(study, lead, Comparison.TRAINING)
    for name, description, code_names, recommendation in THEMES:
        Theme.objects.create(
            study=study,
            name=name,
            description=description,
            code_names=code_names,
            recommendation=recommendation,
        )
    return study
