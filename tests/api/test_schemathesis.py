"""Property-based fuzzing of the REST API against its own OpenAPI schema (schemathesis).

A unit leader's token calls every operation in /api/v1/schema/ with generated inputs, over a
small tree with observations, a hidden cell and signals. Every response must be a documented
status with a documented content type and body, and none may be a server error. The seed is
fixed and generation is derandomised, so a run is reproducible and bounded.
"""

import datetime as dt
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

from equilean.metrics.catalogue import sync_measures
from equilean.metrics.models import Observation, Signal

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
def token(tree, make_person):
    """Marcus leads 4 West: readmissions there with a hidden Asian cell, and two signals."""
    readmission = sync_measures()["readmission_30d"]
    unit = tree["MUH-4W"]
    period = dt.date(2026, 10, 1)
    cells = [("overall", "All", 40, 300, False), ("race", "White", 35, 260, True)]
    cells += [("race", "Black or African American", 2, 20, True), ("race", "Asian", 3, 20, True)]
    Observation.objects.bulk_create(
        Observation(
            measure=readmission,
            node=unit,
            grain="month",
            period=period,
            dimension=dimension,
            group=group,
            numerator=numerator,
            denominator=denominator,
            numerator_hidden=hidden,
        )
        for dimension, group, numerator, denominator, hidden in cells
    )
    for kind, group in (("equity_gap", "Black or African American"), ("special_cause", "All")):
        Signal.objects.create(
            kind=kind,
            measure=readmission,
            node=unit,
            dimension="race" if group != "All" else "overall",
            group=group,
            direction="concern",
            period_start=period,
            period_end=dt.date(2026, 10, 31),
            summary=f"{group} at 4 West",
            evidence={"numerator": 2.0, "denominator": 20.0, "hidden": True},
        )
    # Each run starts with the whole request allowance, whatever ran before.
    cache.clear()
    return Token.objects.create(user=make_person("marcus", "unit_leader", "MUH-4W")).key


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
