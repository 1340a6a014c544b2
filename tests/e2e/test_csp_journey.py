"""Under the Content-Security-Policy, My day, a measure's charts and the API docs still work."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pages_work_under_the_policy_with_no_violations(page, sign_in, ward, unit_leader):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append((page.url, message.text))
            if "Content Security Policy" in message.text
            else None
        ),
    )
    sign_in(unit_leader.username)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    response = page.goto("/")
    assert "default-src 'self'" in response.headers["content-security-policy"]

    page.goto("/nodes/MUH-4W/measures/readmission_30d/")
    expect(page.locator('[data-vega-spec][data-drawn="done"]').first).to_be_attached()
    expect(page.locator("[data-vega-spec] svg").first).to_be_visible()

    page.goto("/api/v1/docs/")
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("equilean API")
    assert violations == []
