"""Fixtures shared by the Django tests: the demo tree and named people with roles."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from equilean.engine import organisation
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
