"""Equity journeys in the browser: open the dashboard, drill into a gap, acknowledge, export."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("person", ["analyst", "unit_leader"])
def test_a_leader_drills_into_a_gap_acknowledges_it_and_exports(
    page, sign_in, request, ward, person
):
    user = request.getfixturevalue(person)
    sign_in(user.username)
    # The Equity module follows the node the person is looking at.
    page.get_by_label("Switch node", exact=True).select_option("MUH-4W")
    page.get_by_role("button", name="Go").click()
    page.get_by_role("link", name="Equity", exact=True).click()
    expect(page.get_by_role("heading", name="Equity at 4 West Medical-Surgical")).to_be_visible()
    signal = page.locator(f"#signal-{ward['gap'].pk}")
    expect(signal).to_contain_text("Black or African American higher than White")

    signal.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(f"#signal-{ward['gap'].pk} .status")).to_contain_text("Acknowledged")

    signal.get_by_role("link", name="30-day readmission").click()
    expect(page.get_by_role("heading", name="30-day readmission")).to_be_visible()
    expect(page.locator(".gap-summary")).to_contain_text("Black or African American")
    expect(page.locator('[data-vega-spec="spec-stratified"][data-drawn="done"]')).to_be_attached()

    with page.expect_download() as download:
        page.locator("#by-dimension .downloads").first.get_by_role("link", name="CSV").click()
    body = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename.startswith("equilean_MUH-4W_readmission_30d_")
    assert "Black or African American,60,240," in body
    asian = next(line for line in body.splitlines() if line.startswith("Asian,"))
    assert asian.endswith(",yes") == (person == "unit_leader")
