"""The metrics API: scope, small-cell suppression, filters, and the signal actions."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from equilean.metrics.models import Signal
from equilean.metrics.refresh import refresh


@pytest.fixture
def refreshed(engine_result):
    refresh(con=object(), end=dt.date(2026, 11, 1))


@pytest.fixture
def api():
    return APIClient()


def rows(api, **params):
    response = api.get("/api/v1/observations/", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_measures_are_listed(api, refreshed, unit_leader):
    api.force_authenticate(unit_leader)
    codes = [m["id"] for m in api.get("/api/v1/measures/").json()["results"]]
    assert "readmission_30d" in codes
    detail = api.get("/api/v1/measures/readmission_30d/").json()
    assert (detail["type"], detail["better"]) == ("proportion", "lower")


def test_observations_are_scoped_to_the_callers_nodes(api, refreshed, other_unit_leader):
    api.force_authenticate(other_unit_leader)
    assert rows(api, measure="readmission_30d") == []
    assert rows(api, node="MUH-4W") == []


def test_a_unit_leader_never_sees_a_small_count(api, refreshed, unit_leader):
    api.force_authenticate(unit_leader)
    found = rows(api, node="MUH-4W", dimension="race", grain="month", period="2026-10-01")
    asian = next(r for r in found if r["group"] == "Asian")
    assert asian["numerator"] is None and asian["rate"] is None and asian["suppressed"]
    # Its complement is hidden too, so the overall count cannot give it away.
    assert sum(r["suppressed"] for r in found) >= 2
    assert all(r["numerator"] is None or not 1 <= r["numerator"] <= 10 for r in found)


def test_an_analyst_sees_small_counts(api, refreshed, analyst):
    api.force_authenticate(analyst)
    found = rows(api, node="MUH-4W", dimension="race", grain="month", period="2026-10-01")
    asian = next(r for r in found if r["group"] == "Asian")
    assert (asian["numerator"], asian["denominator"], asian["suppressed"]) == (2, 20, False)
    # Proportions are reported per 100 (a percentage).
    assert asian["rate"] == pytest.approx(10.0)


def test_observations_need_a_measure_or_node_filter(api, refreshed, analyst):
    api.force_authenticate(analyst)
    assert api.get("/api/v1/observations/").status_code == 400
    assert api.get("/api/v1/observations/?node=MUH&period=not-a-date").status_code == 400


def test_period_ranges_filter(api, refreshed, analyst):
    api.force_authenticate(analyst)
    found = rows(
        api,
        node="MUH",
        grain="month",
        dimension="overall",
        period_from="2026-09-01",
        period_to="2026-10-01",
    )
    assert sorted(r["period"] for r in found) == ["2026-09-01", "2026-10-01"]


def signal_at(node):
    return Signal.objects.get(kind="equity_gap", node__code=node)


def test_signals_are_scoped_and_filterable(api, refreshed, unit_leader, other_unit_leader):
    api.force_authenticate(unit_leader)
    listed = api.get("/api/v1/signals/", {"node": "MUH-4W", "kind": "equity_gap"}).json()
    assert [s["group"] for s in listed["results"]] == ["Black or African American"]
    api.force_authenticate(other_unit_leader)
    assert api.get("/api/v1/signals/").json()["results"] == []
    assert api.get(f"/api/v1/signals/{signal_at('MUH-4W').pk}/").status_code == 404


def test_a_unit_leader_acknowledges_links_and_resolves(api, refreshed, unit_leader):
    api.force_authenticate(unit_leader)
    pk = signal_at("MUH-4W").pk
    acked = api.post(f"/api/v1/signals/{pk}/acknowledge/").json()
    assert (acked["status"], acked["acknowledged_by"]) == ("acknowledged", "marcus")
    linked = api.post(f"/api/v1/signals/{pk}/link/", {"reference": "A3-2026-014"}).json()
    assert (linked["status"], linked["link"]) == ("linked", "A3-2026-014")
    resolved = api.post(f"/api/v1/signals/{pk}/resolve/", {"note": "discharge calls"}).json()
    assert resolved["status"] == "resolved"
    again = api.post(f"/api/v1/signals/{pk}/acknowledge/")
    assert again.status_code == 409


def test_linking_needs_a_reference(api, refreshed, unit_leader):
    api.force_authenticate(unit_leader)
    response = api.post(f"/api/v1/signals/{signal_at('MUH-4W').pk}/link/", {"reference": ""})
    assert response.status_code == 400


def test_someone_who_may_only_look_cannot_respond(api, refreshed, make_person):
    nurse = make_person("rosa", "frontline", "MUH-4W")
    api.force_authenticate(nurse)
    pk = signal_at("MUH-4W").pk
    assert api.get(f"/api/v1/signals/{pk}/").status_code == 200
    assert api.post(f"/api/v1/signals/{pk}/acknowledge/").status_code == 403


def test_a_unit_leader_cannot_respond_outside_their_unit(api, refreshed, other_unit_leader):
    api.force_authenticate(other_unit_leader)
    assert api.post(f"/api/v1/signals/{signal_at('MUH-4W').pk}/acknowledge/").status_code == 404


def test_evidence_is_blanked_when_its_cell_is_hidden(api, refreshed, unit_leader, analyst):
    signal = signal_at("MUH-4W")
    signal.evidence = {**signal.evidence, "hidden": True}
    signal.save()
    api.force_authenticate(unit_leader)
    evidence = api.get(f"/api/v1/signals/{signal.pk}/").json()["evidence"]
    assert evidence["numerator"] is None and evidence["ratio"] is None
    assert evidence["reference"] == "White"
    api.force_authenticate(analyst)
    assert api.get(f"/api/v1/signals/{signal.pk}/").json()["evidence"]["numerator"] == 156
