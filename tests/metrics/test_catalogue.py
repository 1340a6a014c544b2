"""The measure catalogue and a measure's definition page."""

from django.utils.html import escape


def test_it_lists_every_active_measure(client, unit_leader, measures):
    client.force_login(unit_leader)
    response = client.get("/measures/")
    assert response.status_code == 200
    for measure in measures.values():
        assert measure.name in response.text


def test_it_shows_a_definition_with_its_direction_target_and_dimensions(
    client, unit_leader, measures
):
    client.force_login(unit_leader)
    response = client.get("/measures/readmission_30d/")
    assert response.status_code == 200
    text = response.text
    assert "30-day readmission" in text
    assert "lower" in text and "12.0" in text
    assert escape(measures["readmission_30d"].definition["denominator"]) in text
    # The person's home node gets a link to the measure there.
    assert "/nodes/MUH-4W/measures/readmission_30d/" in text


def test_it_404s_on_an_unknown_measure(client, unit_leader, measures):
    client.force_login(unit_leader)
    assert client.get("/measures/not-a-measure/").status_code == 404


def test_it_exports_the_catalogue_as_csv(client, unit_leader, measures):
    client.force_login(unit_leader)
    response = client.get("/measures/?export=csv&table=catalogue")
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("Measure,Code,Pillar")
    assert len(lines) == 1 + len(measures)
