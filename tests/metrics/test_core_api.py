"""The metrics API: scope, small-cell suppression, filters, and the signal actions."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from equilean.metrics.frames import observations_for
from equilean.metrics.models import Signal
from equilean.metrics.privacy import blank_suppressed_groups
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
    assert api.get("/api/v1/observations/", {"node": "MUH-4W"}).status_code == 400


def test_a_unit_leader_never_sees_a_small_count(api, refreshed, engine_result, unit_leader):
    api.force_authenticate(unit_leader)
    found = rows(api, node="MUH-4W", dimension="race", grain="month", period="2026-10-01")
    asian = next(r for r in found if r["group"] == "Asian")
    assert asian["numerator"] is None and asian["rate"] is None and asian["suppressed"]
    # Its complement, the smallest other group's count, is hidden too, so the overall count
    # cannot give it away; nothing else is.
    month = engine_result["frame"]
    month = month[
        (month["node"] == "MUH-4W")
        & (month["dimension"] == "race")
        & (month["period"] == dt.date(2026, 10, 1))
    ]
    small = month[month["numerator"].between(1, 10)]
    complement = month.drop(small.index).nsmallest(1, "numerator")
    expected = {*small["group"], *complement["group"]}
    assert {r["group"] for r in found if r["suppressed"]} == expected
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


def frame_rows(user, **filters):
    """The observations as the API served them when it paged the whole masked frame (with
    suppressed groups' counts blank, as on the pages)."""
    frame = blank_suppressed_groups(observations_for(user, **filters))
    frame = frame.astype(object).where(frame.notna(), None)
    fields = ["measure", "node", "grain", "period", "dimension", "group", "numerator"]
    fields += ["denominator", "rate", "count", "mean", "median", "suppressed"]
    return [
        {**row, "period": row["period"].isoformat()} for row in frame[fields].to_dict("records")
    ]


@pytest.mark.parametrize("person", ["unit_leader", "analyst"])
def test_each_page_of_observations_is_the_masked_frames_page(api, ward, person, request):
    user = request.getfixturevalue(person)
    api.force_authenticate(user)
    expected = frame_rows(user, node__code="MUH-4W")
    served, offset = [], 0
    while True:
        page = api.get("/api/v1/observations/", {"node": "MUH-4W", "limit": 7, "offset": offset})
        assert page.status_code == 200, page.content
        assert page.json()["count"] == len(expected)
        served += page.json()["results"]
        offset += 7
        if not page.json()["next"]:
            break
    assert served == expected
    asian = [r for r in served if r["group"] == "Asian"]
    hidden = person == "unit_leader"
    assert all((r["numerator"] is None) == hidden == r["suppressed"] for r in asian)


def test_observations_are_paged_by_the_database(api, ward, analyst):
    api.force_authenticate(analyst)
    with CaptureQueriesContext(connection) as queries:
        found = rows(api, node="MUH-4W", limit=3)
    assert len(found) == 3
    selects = [q["sql"] for q in queries if '"metrics_observation"."numerator"' in q["sql"]]
    assert len(selects) == 1 and "LIMIT 3" in selects[0]


@pytest.mark.parametrize(
    ("param", "value", "allowed"),
    [
        ("measure", "shoe_size", "readmission_30d"),
        ("node", "NOWHERE", "MUH-4W"),
        ("grain", "fortnight", "3m"),
        ("dimension", "shoe_size", "race_ethnicity"),
    ],
)
def test_an_unknown_filter_is_refused_with_the_allowed_values(
    api, ward, unit_leader, param, value, allowed
):
    api.force_authenticate(unit_leader)
    params = {"node": "MUH-4W", param: value}
    response = api.get("/api/v1/observations/", params)
    assert response.status_code == 400
    message = " ".join(response.json()[param])
    assert value in message and allowed in message


def test_a_node_outside_scope_is_unknown_to_the_caller(api, ward, other_unit_leader):
    api.force_authenticate(other_unit_leader)
    response = api.get("/api/v1/observations/", {"node": "MUH-4W"})
    assert response.status_code == 400
    allowed = response.json()["node"][0].split("allowed:")[1]
    assert "RIV-3S" in allowed and "MUH-4W" not in allowed


@pytest.mark.parametrize(
    ("url", "param", "value"),
    [
        ("/api/v1/signals/", "node", "NOWHERE"),
        ("/api/v1/signals/", "kind", "rumour"),
        ("/api/v1/signals/", "status", "forgotten"),
        ("/api/v1/nodes/", "level", "ward"),
    ],
)
def test_other_unknown_filters_are_refused(api, ward, analyst, url, param, value):
    api.force_authenticate(analyst)
    response = api.get(url, {param: value})
    assert response.status_code == 400 and value in response.json()[param][0]


def test_a_suppressed_groups_counts_are_hidden_as_on_the_page(
    api, client, ward, unit_leader, page_numbers
):
    client.force_login(unit_leader)
    page = client.get("/nodes/MUH-4W/measures/readmission_30d/?dimension=race_ethnicity")
    shown = {
        r["group"]: (r.get("numerator"), r.get("denominator"))
        for r in page_numbers.rows(page_numbers.specs(page.text)["stratified"])
        if r.get("group")
    }
    api.force_authenticate(unit_leader)
    found = rows(api, node="MUH-4W", grain="3m", dimension="race_ethnicity")
    served = {r["group"]: (r["numerator"], r["denominator"]) for r in found}
    assert served == shown
    assert served["Asian"] == (None, None)


def test_the_schema_describes_observations_as_a_page(api, analyst):
    api.force_authenticate(analyst)
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    body = schema["paths"]["/api/v1/observations/"]["get"]["responses"]["200"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
