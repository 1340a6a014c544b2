"""Fixtures shared by the Django tests: the demo tree, named people with roles, and a small
hand-made set of observations and signals at 4 West (`ward`)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from equilean.engine import organisation
from equilean.metrics.catalogue import sync_measures
from equilean.metrics.models import Observation, Signal
from equilean.org.models import Node, Profile, RoleGrant
from equilean.org.services import load_tree


@pytest.fixture
def tree(db) -> dict[str, Node]:
    """Meridian Health, loaded from the demo organisation file."""
    load_tree(organisation.load())
    return {node.code: node for node in Node.objects.all()}


@pytest.fixture
def make_person(db):
    """Make a person holding `role` at the node with `code` (or no role)."""

    def make(username: str, role: str | None = None, code: str | None = None, **extra):
        user = get_user_model().objects.create_user(
            username=username,
            password="correct horse battery",
            email=f"{username}@x.example",
            **extra,
        )
        node = Node.objects.get(code=code) if code else None
        Profile.objects.create(user=user, display_name=username.title(), home_node=node)
        if role:
            RoleGrant.objects.create(user=user, node=node, role=role)
        return user

    return make


@pytest.fixture
def unit_leader(tree, make_person):
    """Marcus leads 4 West at Meridian University Hospital."""
    return make_person("marcus", "unit_leader", "MUH-4W")


@pytest.fixture
def other_unit_leader(tree, make_person):
    """Ana leads 3 South at Riverside."""
    return make_person("ana", "unit_leader", "RIV-3S")


@pytest.fixture
def analyst(tree, make_person):
    """Sam is the system's equity analyst."""
    return make_person("sam", "equity_analyst", "MERIDIAN")


@pytest.fixture
def aggregates():
    """Build the engine's tidy aggregate frame by hand, one monthly series at a time.

    `add(measure, node, level, counts, dimension="overall", group="All")` appends monthly rows
    from a list of (numerator, denominator) pairs ending at October 2026; `frame()` returns them.
    """
    import pandas as pd

    rows = []

    class Builder:
        def add(
            self, measure, node, level, counts, dimension="overall", group="All", last="2026-10-01"
        ):
            periods = pd.date_range(end=last, periods=len(counts), freq="MS").date
            for period, (numerator, denominator) in zip(periods, counts, strict=True):
                rows.append(
                    {
                        "measure": measure,
                        "level": level,
                        "node": node,
                        "grain": "month",
                        "period": period,
                        "dimension": dimension,
                        "group": group,
                        "numerator": float(numerator),
                        "denominator": float(denominator),
                        "count": pd.NA,
                        "sum": float("nan"),
                        "sum_sq": float("nan"),
                        "median": float("nan"),
                    }
                )
            return self

        def frame(self):
            frame = pd.DataFrame(rows)
            frame["count"] = frame["count"].astype("Int64")
            return frame

    return Builder()


@pytest.fixture
def engine_result(monkeypatch, aggregates, tree):
    """Refresh reads this hand-built aggregate instead of a measure store.

    Returns a dict whose "frame" a test may replace to change what the next refresh sees.
    """
    # A gap at 4 West (its department, hospital and system see the same patients).
    for node, level in (
        ("MUH-4W", "unit"),
        ("MUH-MED", "department"),
        ("MUH", "hospital"),
        ("MERIDIAN", "system"),
    ):
        aggregates.add("readmission_30d", node, level, [(102, 620)] * 12)
        aggregates.add("readmission_30d", node, level, [(48, 400)] * 12, "race", "White")
        aggregates.add(
            "readmission_30d",
            node,
            level,
            [(52, 200)] * 12,
            "race",
            "Black or African American",
        )
        aggregates.add("readmission_30d", node, level, [(2, 20)] * 12, "race", "Asian")
    state = {"frame": aggregates.frame()}
    from equilean.engine import compute

    monkeypatch.setattr(compute, "compute", lambda con, measures, **kwargs: state["frame"])
    return state


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
