"""An interview study in the browser: code with the keyboard and the mouse on a tablet, then
the lead opens comparison, resolves a disagreement and downloads the report on a desktop."""

import re

import pytest
from playwright.sync_api import expect

from equilean.studies import services
from equilean.studies.models import Code, Coding, Completion, Participant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = (
    "Interviewer: How do your huddles go?\n\n"
    "P01: We escalate to the department.\n\n"
    "The answer comes back the same day.\n\n"
    "Interpreters are often late.\n\n"
    "Language is missing for many patients.\n\n"
    "That is all."
)


@pytest.fixture
def study(tree, make_person):
    lena = make_person("lena", "unit_leader", "MUH-4W")
    cora, cole = make_person("cora"), make_person("cole")
    study = services.create_study(lena, title="Huddle interviews", node=tree["MERIDIAN"])
    study.members.create(user=cora, role="coder")
    study.members.create(user=cole, role="coder")
    version = study.codebook()
    for order, name in enumerate(("Escalation", "Equity data"), 1):
        Code.objects.create(version=version, name=name, order=order)
    participant = Participant.objects.create(study=study, pseudonym="P01", role="Nurse manager")
    transcript = services.add_transcript(
        study, lena, "Interview P01", TEXT, "pasted", participant=participant
    )
    # Cole has already coded answers 1 and 2 with Escalation.
    for unit in list(study.units([transcript.pk]))[:2]:
        Coding.objects.create(
            transcript=transcript,
            coder=cole,
            code=version.codes.get(name="Escalation"),
            start=unit.start,
            end=unit.end,
        )
    Completion.objects.create(transcript=transcript, coder=cole)
    return study


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_coders_code_blind_and_the_lead_reconciles(page, sign_in, study):
    page.set_viewport_size({"width": 820, "height": 1000})
    sign_in("cora")
    page.get_by_role("link", name="Studies").click()
    page.get_by_role("link", name="Huddle interviews").click()
    page.get_by_role("link", name="Interview P01").click()
    expect(page.get_by_text("your codings are yours alone")).to_be_visible()
    expect(page.get_by_text("My codings (0)")).to_be_visible()  # Cole's are not shown

    # Keyboard: focus the first answer, press 1 (Escalation); j j to the third, 1 again.
    page.get_by_label("Paragraph 2, P01").focus()
    page.keyboard.press("1")
    expect(page.get_by_text("My codings (1)")).to_be_visible()
    expect(page.get_by_label("Paragraph 2, P01")).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.get_by_label("Paragraph 4, P01")).to_be_focused()
    page.keyboard.press("1")
    expect(page.get_by_text("My codings (2)")).to_be_visible()

    # Mouse: select one word, then click a code.
    page.evaluate(
        """() => {
          const piece = [...document.querySelectorAll('[data-o]')]
            .find(s => s.textContent.startsWith('Language'));
          const range = document.createRange();
          range.setStart(piece.firstChild, 0);
          range.setEnd(piece.firstChild, 8);
          getSelection().removeAllRanges();
          getSelection().addRange(range);
        }"""
    )
    expect(page.locator("#selection")).to_have_text("To code: “Language”")
    page.get_by_role("button", name="2 Equity data").click()
    expect(page.get_by_text("My codings (3)")).to_be_visible()
    expect(page.locator(".my-codings li").last).to_contain_text("Equity data Language v1")
    assert fits(page)
    page.screenshot(path="test-results/study-coding-820.png", full_page=True)
    page.get_by_role("button", name="I have finished coding this transcript").click()
    expect(page.get_by_text("You have finished this transcript")).to_be_visible()

    # The lead, on a desktop: agreement is blind until she opens comparison.
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1440, "height": 1000})
    sign_in("lena")
    page.goto(f"/studies/{study.pk}/agreement/")
    expect(page.get_by_text("Coding is blind")).to_be_visible()
    page.get_by_role("button", name="Open comparison on all transcripts").click()
    # Escalation: Cora 1 0 1 0 0, Cole 1 1 0 0 0; Equity data: Cora 0 0 0 1 0, Cole none.
    # 10 paragraph x code decisions, 7 agree.
    expect(page.locator(".headline")).to_contain_text("agreed on 70.0% of 10 paragraph")
    assert fits(page)

    page.get_by_role("link", name="Disagreements").click()
    expect(page.get_by_text("3 of 3 disagreements still to resolve")).to_be_visible()
    first = page.locator(".disagreement").first
    first.get_by_label("The code applies").check()
    first.get_by_label("Why").fill("The answer coming back is part of the escalation.")
    first.get_by_role("button", name="Record the consensus").click()
    expect(page.get_by_text("2 of 3 disagreements still to resolve")).to_be_visible()
    expect(page.locator(".resolution").first).to_contain_text("Lena")
    assert fits(page)
    page.screenshot(path="test-results/study-disagreements-1440.png", full_page=True)

    page.get_by_role("link", name="Themes and report").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="report (Word)").click()
    assert re.search(r"_report_\d{4}-\d\d-\d\d\.docx$", download.value.suggested_filename)
