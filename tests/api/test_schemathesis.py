"""Property-based fuzzing of the REST API against its own OpenAPI schema (schemathesis).

A unit leader's token calls every operation in /api/v1/schema/ with generated inputs, over a
small tree with observations, a hidden cell and signals. Every response must be a documented
status with a documented content type and body, and none may be a server error. The seed is
fixed and generation is derandomised, so a run is reproducible and bounded.
"""

import json

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CONFIG = schemathesis.Config.from_dict(
    {"seed": 20261101, "generation": {"deterministic": True, "database": "none"}}
)


@pytest.fixture
def token(ward, unit_leader):
    """Marcus leads 4 West: readmissions there with hidden cells, and signals in and out of his
    scope (`ward`)."""
    # Each run starts with the whole request allowance, whatever ran before.
    cache.clear()
    return Token.objects.create(user=unit_leader).key


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Let the raw WSGI app keep the test's database connection, as Django's test client does.

    The app closes connections at the end of each request; the test's data lives in its open
    transaction, and on PostgreSQL the close is real.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def served_schema() -> dict:
    """The document /api/v1/schema/ serves (checked below), built without a request."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(served_schema(), config=CONFIG)
APP = get_wsgi_application()


def test_it_fuzzes_the_schema_the_api_serves(token):
    response = Client().get("/api/v1/schema/?format=json", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert json.loads(response.content) == json.loads(json.dumps(served_schema()))


@schema.parametrize()
# One tree and token serve every generated input of an operation; that is the intent.
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_the_api_keeps_to_its_schema(case, token):
    case.call_and_validate(app=APP, headers={"Authorization": f"Token {token}"}, checks=CHECKS)
