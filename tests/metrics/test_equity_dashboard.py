"""The equity dashboard: matrix, completeness, open signals, actions only for responders."""

import re


def test_it_shows_the_strongest_signal_in_each_cell(client, analyst, ward):
    client.force_login(analyst)
    response = client.get("/nodes/MUH-4W/equity/")
    assert response.status_code == 200
    text = re.sub(r"\s+", " ", response.text)
    # Readmission x race/ethnicity holds a persistent gap (Asian) and a gap (Black): the
    # persistent one is stronger and names its group, with an icon and text.
    row = text[text.index("30-day readmission</a></th>") :]
    row = row[: row.index("</tr>")]
    assert "Persistent equity gap" in row and "Asian" in row
    assert 'href="/nodes/MUH-4W/measures/readmission_30d/?dimension=race_ethnicity"' in row
    assert "<svg" in row


def test_it_lists_open_signals_with_actions_for_a_unit_leader(client, unit_leader, ward):
    client.force_login(unit_leader)
    response = client.get("/nodes/MUH-4W/equity/")
    assert f"/nodes/MUH-4W/equity/signals/{ward['gap'].pk}/acknowledge/" in response.text
    assert "Black or African American higher than White" in response.text
    # The signal on another unit is not listed.
    assert "Spanish higher than English" not in response.text


def test_it_hides_the_evidence_of_a_signal_on_small_cells(client, unit_leader, ward, page_numbers):
    client.force_login(unit_leader)
    response = client.get("/nodes/MUH-4W/equity/")
    assert "Suppressed: this signal rests on counts from 1 to 10." in response.text
    assert not [v for v in page_numbers.counts(response.text) if 1 <= v <= 10]
    assert 60.0 in page_numbers.counts(response.text)


def test_the_analyst_sees_the_small_signal_counts(client, analyst, ward, page_numbers):
    client.force_login(analyst)
    response = client.get("/nodes/MUH-4W/equity/")
    assert 4.0 in page_numbers.counts(response.text)


def test_it_shows_no_actions_to_frontline_staff(client, frontline, ward):
    client.force_login(frontline)
    response = client.get("/nodes/MUH-4W/equity/")
    assert response.status_code == 200
    assert "/acknowledge/" not in response.text


def test_it_404s_outside_the_persons_scope(client, other_unit_leader, ward):
    client.force_login(other_unit_leader)
    assert client.get("/nodes/MUH-4W/equity/").status_code == 404
    assert client.get("/nodes/MUH-4W/equity/?export=csv&table=signals").status_code == 404


def test_the_nav_and_my_day_link_to_the_dashboard(client, unit_leader, ward):
    client.force_login(unit_leader)
    response = client.get("/")
    # One in the navigation and one on My day's row for Marcus's only unit.
    assert response.text.count('href="/nodes/MUH-4W/equity/"') == 2
    assert 'href="/nodes/MUH-4W/equity/"' in client.get("/nodes/MUH-4W/").text
