"""Crawl every equity page, export, htmx partial, chart and API endpoint over real refreshed
data as people without the unsuppressed-data permission, and fail on any small-cell leak."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from equilean.engine import organisation, sources, store, synth
from equilean.metrics.models import Measure, Signal
from equilean.metrics.refresh import refresh
from equilean.org.models import Profile, RoleGrant
from equilean.org.services import load_tree

END = dt.date(2026, 10, 1)
TABLES = {
    "measure": ["spc", "stratified", "groups", "funnel"],
    "equity": ["matrix", "signals", "completeness"],
}
WITH_UNITS_BELOW = {"MUH"}
ROW = re.compile(r"<tr( class=\"suppressed-row\")?>(.*?)</tr>", re.S)
CELL = re.compile(r'class="(count|number|percent)" data-value="([^"]*)"')


def _one_hospital() -> organisation.Organisation:
    """Meridian with only its university hospital: a third of the cells, so this stays fast."""
    full = organisation.load()
    keep = {
        code
        for code, node in full.nodes.items()
        if code == full.root
        or code == "MUH"
        or (node.level != "system" and full.ancestor(code, "hospital") == "MUH")
    }
    nodes = {
        code: dataclasses.replace(node, children=tuple(c for c in node.children if c in keep))
        for code, node in full.nodes.items()
        if code in keep
    }
    return organisation.Organisation(nodes=nodes, root=full.root)


@pytest.fixture(scope="module")
def refreshed(django_db_setup, django_db_blocker, tmp_path_factory):
    """Synthetic extract -> DuckDB store -> refresh into the test database, once."""
    folder = tmp_path_factory.mktemp("crawl")
    synth.generate(folder / "extract", encounters=20_000, years=1, end=END)
    with django_db_blocker.unblock():
        load_tree(_one_hospital())
        con = store.connect(f"duckdb:///{folder / 'store.duckdb'}")
        sources.ingest(folder / "extract", kind="equilean", source="crawl", con=con)
        refresh(con, end=END)
        people = {}
        for username, role, code in (
            ("leader", "unit_leader", "MUH-4W"),
            ("exec", "executive", "MUH"),
            ("analyst", "equity_analyst", "MERIDIAN"),
        ):
            user = get_user_model().objects.create_user(username=username, password="x")
            Profile.objects.create(user=user, display_name=username)
            RoleGrant.objects.create(user=user, node_id=_node_id(code), role=role)
            people[username] = user
        yield people
        # The data was committed outside any test's transaction: leave an empty database.
        call_command("flush", interactive=False, verbosity=0)


def _node_id(code):
    from equilean.org.models import Node

    return Node.objects.get(code=code).pk


def _urls(nodes: list[str], limit: int | None = None) -> list[str]:
    """Every page, partial, export and API call for these nodes and all measures."""
    urls = ["/measures/", "/measures/?export=csv&table=catalogue"]
    for code in nodes:
        equity = f"/nodes/{code}/equity/"
        urls += [equity, f"/api/v1/signals/?node={code}&limit=1000"]
        urls += [f"{equity}?export=csv&table={t}" for t in TABLES["equity"]]
        urls += [f"{equity}?export=xlsx&table=signals"]
        for measure in Measure.objects.filter(active=True).order_by("code")[:limit]:
            page = f"/nodes/{code}/measures/{measure.code}/"
            urls += [
                page,
                f"{page}?dimension={measure.dimensions[-1]}&partial=dimension",
                f"/api/v1/observations/?node={code}&measure={measure.code}&limit=100000",
            ]
            # Units have no units below them, so no funnel.
            tables = [t for t in TABLES["measure"] if t != "funnel" or code in WITH_UNITS_BELOW]
            urls += [f"{page}?export=csv&table={t}" for t in tables]
            urls += [f"{page}?dimension={measure.dimensions[-1]}&export=xlsx&table=stratified"]
    return urls


def _numbers(url: str, response) -> list[tuple[str, float, bool]]:
    """(field, value, row suppressed) for every count-like value in a response."""
    found = []
    content_type = response["Content-Type"]
    if content_type.startswith("application/json"):
        body = response.json()
        rows = body.get("results", body) if isinstance(body, dict) else body
        for row in rows:
            values = row.get("evidence", row)
            for key in ("numerator", "denominator"):
                if values.get(key) is not None:
                    found.append((key, float(values[key]), False))
    elif content_type.startswith("text/csv"):
        for row in csv.DictReader(io.StringIO(response.content.decode())):
            for key in ("Numerator", "Denominator", "Patients", "Of"):
                if row.get(key):
                    found.append((key, float(row[key]), row.get("suppressed") == "yes"))
    elif "spreadsheet" in content_type:
        header, *rows = load_workbook(io.BytesIO(response.content)).active.values
        for row in rows:
            for key, value in zip(header, row, strict=True):
                if key in ("Numerator", "Denominator", "Patients") and value is not None:
                    found.append((key, float(value), False))
    else:
        page = response.content.decode()
        for hidden, cells in ROW.findall(page):
            for kind, value in CELL.findall(cells):
                # A suppressed row may keep a visible count, but nothing derived from it.
                assert not (hidden and kind != "count" and value), (url, cells)
        found += [
            ("count", float(v), False)
            for v in re.findall(r'class="count" data-value="([^"]+)"', page)
        ]
        for name, spec in re.findall(
            r'<script id="spec-([\w-]+)" type="application/json">(.*?)</script>', page, re.S
        ):
            for row in _rows(json.loads(spec.replace("&quot;", '"'))):
                if row.get("suppressed"):
                    assert row.get("value") is None and row.get("rate") is None, (url, name, row)
                for key in ("numerator", "denominator"):
                    if row.get(key) is not None:
                        found.append((f"{name}.{key}", float(row[key]), False))
    return found


def _rows(spec) -> list[dict]:
    out = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "values" and isinstance(value, list):
                out += [r for r in value if isinstance(r, dict)]
            elif key == "datasets":
                out += [r for rows in value.values() for r in rows]
            else:
                out += _rows(value)
    elif isinstance(spec, list):
        for value in spec:
            out += _rows(value)
    return out


def _crawl(user, nodes, limit: int | None = None) -> tuple[int, list]:
    client = Client()
    client.force_login(user)
    small, checked = [], 0
    continuous = set(
        Measure.objects.filter(kind__in=["mean", "median"]).values_list("code", flat=True)
    )
    for url in _urls(nodes, limit):
        headers = {"HTTP_HX_REQUEST": "true"} if "partial=" in url else {}
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
        sums = any(f"/{c}/" in url or f"measure={c}" in url for c in continuous)
        for field, value, _ in _numbers(url, response):
            checked += 1
            # For a mean or median the numerator is a sum of values, not a count.
            if sums and field.lower().endswith("numerator"):
                continue
            if 1 <= value <= 10:
                small.append((url, field, value))
    return checked, small


@pytest.mark.django_db
@pytest.mark.parametrize(("username", "nodes"), [("leader", ["MUH-4W"]), ("exec", ["MUH"])])
def test_no_page_export_or_api_shows_a_small_count(refreshed, username, nodes):
    checked, small = _crawl(refreshed[username], nodes)
    assert checked > 1000
    assert not small, small[:10]


@pytest.mark.django_db
def test_the_analyst_does_see_small_counts_so_the_crawl_can_fail(refreshed):
    _, small = _crawl(refreshed["analyst"], ["MUH-4W"], limit=4)
    assert small
    assert Signal.objects.filter(node__code__startswith="MUH").exists()
