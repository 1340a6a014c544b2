"""The REST API: token auth, the scoped node list and detail, /me/, schema and docs."""

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def api():
    return APIClient()


def token_for(user):
    return Token.objects.create(user=user).key


def test_a_unit_leaders_token_lists_only_their_subtree(api, unit_leader, other_unit_leader):
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(unit_leader)}")
    response = api.get("/api/v1/nodes/")
    assert response.status_code == 200
    assert [n["code"] for n in response.json()["results"]] == ["MUH-4W"]


def test_a_department_leader_lists_the_department(api, tree, make_person):
    priya = make_person("priya", "department_leader", "MUH-MED")
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(priya)}")
    codes = {n["code"] for n in api.get("/api/v1/nodes/").json()["results"]}
    assert codes == {"MUH-MED", "MUH-4W", "MUH-5E", "MUH-6N", "MUH-7W"}


def test_it_refuses_a_node_outside_scope(api, unit_leader):
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(unit_leader)}")
    assert api.get("/api/v1/nodes/RIV-3S/").status_code == 404
    assert api.get("/api/v1/nodes/MUH-4W/").json()["parent"] == "MUH-MED"


def test_it_filters_by_level(api, analyst):
    api.force_authenticate(analyst)
    rows = api.get("/api/v1/nodes/?level=hospital").json()["results"]
    assert sorted(n["code"] for n in rows) == ["LAK", "MUH", "RIV"]


def test_it_refuses_anonymous_callers(api, tree):
    assert api.get("/api/v1/nodes/").status_code in (401, 403)
    assert api.get("/api/v1/me/").status_code in (401, 403)


def test_it_refuses_a_bad_token(api, tree):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get("/api/v1/nodes/").status_code == 401


def test_nodes_are_read_only(api, analyst):
    api.force_authenticate(analyst)
    assert api.post("/api/v1/nodes/", {"code": "X"}).status_code == 405


def test_me_describes_the_caller(api, analyst):
    api.force_authenticate(analyst)
    me = api.get("/api/v1/me/").json()
    assert me["username"] == "sam"
    assert me["roles"] == [{"role": "equity_analyst", "node": "MERIDIAN", "ends": None}]
    assert "MUH-4W" in me["can_see_unsuppressed_at"]


def test_me_shows_no_unsuppressed_access_for_a_unit_leader(api, unit_leader):
    api.force_authenticate(unit_leader)
    assert api.get("/api/v1/me/").json()["can_see_unsuppressed_at"] == []


def test_drf_create_token_makes_a_working_token(api, unit_leader, capsys):
    call_command("drf_create_token", "marcus")
    key = capsys.readouterr().out.split()[2]
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").json()["username"] == "marcus"


def test_the_schema_and_docs_are_served(client, analyst):
    client.force_login(analyst)
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/nodes/" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()
