"""Journeys a person takes in the browser: sign in, My day, switch node, sign out."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_unit_leader_signs_in_to_my_day_and_signs_out(page, sign_in, unit_leader):
    sign_in("marcus")
    expect(page.get_by_role("heading", name="My day")).to_be_visible()
    expect(page.get_by_role("link", name="4 West Medical-Surgical")).to_be_visible()
    page.get_by_text("Marcus").first.click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_an_analyst_switches_node(page, sign_in, analyst):
    sign_in("sam")
    page.get_by_label("Switch node", exact=True).select_option("RIV")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("heading", name="Riverside Community Hospital")).to_be_visible()
    page.get_by_role("link", name="Emergency Services").click()
    expect(page.get_by_role("heading", name="Emergency Services")).to_be_visible()
    expect(page.get_by_label("Switch node", exact=True)).to_have_value("RIV")


def test_a_wrong_password_is_explained(page, sign_in, unit_leader):
    sign_in("marcus", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("didn't match")


def test_the_shell_works_by_keyboard(page, sign_in, unit_leader):
    sign_in("marcus")
    expect(page.get_by_role("heading", name="My day")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_my_day_fits_a_tablet(page, sign_in, unit_leader):
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in("marcus")
    expect(page.get_by_role("heading", name="My day")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768
