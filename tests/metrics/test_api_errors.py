"""API errors: bad paging, bad ids and the schema's account of nulls and error responses."""

import re

import pytest
from rest_framework.test import APIClient

HUGE = "9999999999999999999"
LISTS = [
    "/api/v1/nodes/",
    "/api/v1/measures/",
    "/api/v1/signals/",
    "/api/v1/observations/?node=MUH-4W",
]


@pytest.fixture
def api(analyst):
    client = APIClient()
    client.force_authenticate(analyst)
    return client


@pytest.fixture
def schema(api):
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def component(schema, name):
    return schema["components"]["schemas"][name]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("param", ["limit", "offset"])
def test_a_huge_limit_or_offset_is_not_a_server_error(api, ward, url, param):
    sep = "&" if "?" in url else "?"
    response = api.get(f"{url}{sep}{param}={HUGE}")
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) <= 1000


def test_a_huge_limit_is_clamped_to_the_largest_page(api, ward, monkeypatch):
    from equilean.api.pagination import Page

    monkeypatch.setattr(Page, "max_limit", 5)
    found = api.get(f"/api/v1/observations/?node=MUH-4W&limit={HUGE}").json()
    assert len(found["results"]) == 5 and found["count"] > 5


@pytest.mark.parametrize("step", ["acknowledge", "link", "resolve"])
@pytest.mark.parametrize("pk", ["abc", HUGE])
def test_a_signal_id_that_is_not_a_number_is_not_found(api, ward, step, pk):
    response = api.post(f"/api/v1/signals/{pk}/{step}/", {"reference": "A3-1"})
    assert response.status_code == 404, response.content
    assert api.get(f"/api/v1/signals/{pk}/").status_code == 404


def test_the_schema_says_which_fields_may_be_null(schema):
    signal = component(schema, "Signal")["properties"]
    for name in ("acknowledged_by", "resolved_by", "acknowledged_at", "resolved_at"):
        assert signal[name].get("nullable") is True, name
    node = component(schema, "Node")["properties"]
    assert node["parent"].get("nullable") is True


def test_the_schema_does_not_call_a_local_huddle_time_an_rfc3339_time(schema, api):
    huddle = component(schema, "Node")["properties"]["huddle_time"]
    assert huddle.get("format") != "time"
    served = api.get("/api/v1/nodes/MUH-4W/").json()["huddle_time"]
    assert re.fullmatch(huddle["pattern"], served)


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/v1/observations/", "get", {"200", "400"}),
        ("/api/v1/nodes/", "get", {"200", "400"}),
        ("/api/v1/nodes/{code}/", "get", {"200", "404"}),
        ("/api/v1/measures/{code}/", "get", {"200", "404"}),
        ("/api/v1/signals/", "get", {"200", "400"}),
        ("/api/v1/signals/{id}/", "get", {"200", "404"}),
        ("/api/v1/signals/{id}/acknowledge/", "post", {"200", "403", "404", "409"}),
        ("/api/v1/signals/{id}/link/", "post", {"200", "400", "403", "404", "409"}),
        ("/api/v1/signals/{id}/resolve/", "post", {"200", "400", "403", "404", "409"}),
    ],
)
def test_the_schema_documents_error_responses(schema, path, method, codes):
    assert codes <= set(schema["paths"][path][method]["responses"])
