"""Helpers for the equity page tests: read the counts and chart data a page shows.

The observations and signals at 4 West (`ward`) are in tests/conftest.py, shared with the
browser and API tests."""

from __future__ import annotations

import html
import json
import re

import pytest

COUNT_CELL = re.compile(r'class="count" data-value="([^"]*)"')
SPEC = re.compile(r'<script id="spec-([\w-]+)" type="application/json">(.*?)</script>', re.S)


def count_values(page: str) -> list[float]:
    """Every number marked as a count on the page (blank cells are suppressed ones)."""
    return [float(v) for v in COUNT_CELL.findall(page) if v not in ("", "None")]


def chart_specs(page: str) -> dict[str, dict]:
    """The Vega-Lite specs embedded in the page, by chart name."""
    return {name: json.loads(html.unescape(body)) for name, body in SPEC.findall(page)}


def chart_rows(spec: dict) -> list[dict]:
    """Every data row of a spec: inline values and named datasets, in layers and facets."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("values", "datasets") and value:
                    rows = value if key == "values" else [r for v in value.values() for r in v]
                    found.extend(r for r in rows if isinstance(r, dict))
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found


def chart_counts(spec: dict) -> list[float]:
    """Every numerator and denominator in a spec's data."""
    return [
        float(row[k])
        for row in chart_rows(spec)
        for k in ("numerator", "denominator")
        if row.get(k) is not None
    ]


@pytest.fixture
def page_numbers():
    """The parsers above, for tests (conftest modules cannot be imported under importlib)."""
    return type(
        "PageNumbers",
        (),
        {
            "counts": staticmethod(count_values),
            "specs": staticmethod(chart_specs),
            "chart_counts": staticmethod(chart_counts),
            "rows": staticmethod(chart_rows),
        },
    )
