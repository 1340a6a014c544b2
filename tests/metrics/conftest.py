"""Fixtures for the equity pages: a small, hand-made set of observations and signals at 4 West."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest

from equilean.metrics.catalogue import sync_measures
from equilean.metrics.models import Observation, Signal

MONTHS = [dt.date(2025, m, 1) for m in range(1, 13)] + [dt.date(2026, m, 1) for m in (1, 2, 3)]
WINDOW = dt.date(2026, 1, 1)
# Latest 3-month window at 4 West, by race and ethnicity: (group, numerator, denominator,
# hidden). Asian (4 of 25) is a small cell; Unknown is hidden as its complement.
STRATA = [
    ("White", 60, 600, False),
    ("Black or African American", 60, 240, False),
    ("Hispanic or Latino", 20, 200, False),
    ("Asian", 4, 25, True),
    ("Unknown", 12, 35, True),
]
SMALL_MONTH = MONTHS[5]


@pytest.fixture
def measures(db):
    return sync_measures()


def _obs(measure, node, grain, period, dimension, group, numerator, denominator, hidden=False):
    return Observation(
        measure=measure,
        node=node,
        grain=grain,
        period=period,
        dimension=dimension,
        group=group,
        numerator=numerator,
        denominator=denominator,
        numerator_hidden=hidden,
        denominator_hidden=False,
    )


@pytest.fixture
def ward(tree, measures):
    """Readmissions at 4 West and its department: months, one small month, a 3-month window
    by race and ethnicity with a gap for Black patients and a hidden Asian cell, and signals."""
    readmission = measures["readmission_30d"]
    unit, dept = tree["MUH-4W"], tree["MUH-MED"]
    rows = []
    for period in MONTHS:
        small = period == SMALL_MONTH
        rows.append(
            _obs(
                readmission, unit, "month", period, "overall", "All", 7 if small else 40, 300, small
            )
        )
        rows.append(_obs(readmission, dept, "month", period, "overall", "All", 120, 1000))
        for group, numerator, denominator, hidden in STRATA:
            rows.append(
                _obs(
                    readmission,
                    unit,
                    "month",
                    period,
                    "race_ethnicity",
                    group,
                    numerator,
                    denominator,
                    hidden or small,
                )
            )
    total_n = sum(s[1] for s in STRATA)
    total_d = sum(s[2] for s in STRATA)
    rows.append(_obs(readmission, unit, "3m", WINDOW, "overall", "All", total_n, total_d))
    rows += [
        _obs(readmission, unit, "3m", WINDOW, "race_ethnicity", g, n, d, h) for g, n, d, h in STRATA
    ]
    rows.append(_obs(readmission, dept, "3m", WINDOW, "overall", "All", 360, 3000))
    # A sibling unit, so the department's funnel plot has two units.
    rows.append(_obs(readmission, tree["MUH-5E"], "3m", WINDOW, "overall", "All", 120, 1100))
    Observation.objects.bulk_create(rows)
    gap = Signal.objects.create(
        kind="equity_gap",
        measure=readmission,
        node=unit,
        dimension="race_ethnicity",
        group="Black or African American",
        direction="concern",
        period_start=WINDOW,
        period_end=dt.date(2026, 3, 31),
        summary="Black or African American higher than White",
        evidence={
            "reference": "White",
            "numerator": 60.0,
            "denominator": 240.0,
            "rate": 0.25,
            "ratio": 2.5,
            "excess_events": 36.0,
            "rule": "AHRQ",
            "hidden": False,
        },
    )
    small = Signal.objects.create(
        kind="persistent_gap",
        measure=readmission,
        node=unit,
        dimension="race_ethnicity",
        group="Asian",
        direction="concern",
        period_start=WINDOW,
        period_end=dt.date(2026, 3, 31),
        summary="Asian higher than White for 3 windows running",
        evidence={
            "reference": "White",
            "numerator": 4.0,
            "denominator": 25.0,
            "rate": 0.16,
            "ratio": 1.6,
            "excess_events": 1.5,
            "rule": "AHRQ",
            "hidden": True,
        },
    )
    elsewhere = Signal.objects.create(
        kind="equity_gap",
        measure=readmission,
        node=tree["RIV-3S"],
        dimension="language",
        group="Spanish",
        direction="concern",
        period_start=WINDOW,
        period_end=dt.date(2026, 3, 31),
        summary="Spanish higher than English",
        evidence={"numerator": 30.0, "denominator": 120.0, "hidden": False},
    )
    return {"gap": gap, "small": small, "elsewhere": elsewhere, "measure": readmission}


@pytest.fixture
def executive(tree, make_person):
    """Eve runs Meridian University Hospital (no unsuppressed-data permission)."""
    return make_person("eve", "executive", "MUH")


@pytest.fixture
def frontline(tree, make_person):
    """Fran is a nurse on 4 West: she may look, not respond."""
    return make_person("fran", "frontline", "MUH-4W")


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
