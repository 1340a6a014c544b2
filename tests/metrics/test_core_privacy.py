"""Suppression flags across a node's table, the tree and time windows, and masking for people."""

import datetime as dt

import numpy as np
import pandas as pd

from equilean.metrics.privacy import constraint_memberships, mask_frame, suppression_flags

OCT = dt.date(2026, 10, 1)


def cells(rows):
    frame = pd.DataFrame(rows, columns=["node", "dimension", "group", "numerator"])
    return frame.assign(measure="m", grain="month", period=OCT, denominator=1000.0, count=pd.NA)


def test_a_hidden_unit_cell_is_protected_across_sibling_units():
    frame = cells(
        [
            ("A", "overall", "All", 64),
            ("A", "race", "X", 4),
            ("A", "race", "Y", 60),
            ("B", "overall", "All", 90),
            ("B", "race", "X", 30),
            ("B", "race", "Y", 60),
            ("C", "overall", "All", 110),
            ("C", "race", "X", 50),
            ("C", "race", "Y", 60),
            ("P", "overall", "All", 264),
            ("P", "race", "X", 84),
            ("P", "race", "Y", 180),
        ]
    )
    parent_of = {"A": "P", "B": "P", "C": "P"}
    flags = suppression_flags(frame, parent_of)
    hidden = flags["numerator_hidden"].to_numpy()
    assert hidden[1]  # A's 4
    # No constraint (a node's table, or siblings with their parent) is left with one hidden cell.
    rows, constraints = constraint_memberships(frame, parent_of)
    values = frame["numerator"].to_numpy(float)
    for c in np.unique(constraints):
        members = rows[constraints == c]
        assert (hidden[members] & (values[members] > 0)).sum() != 1


def test_a_window_protects_its_months():
    frame = cells([("A", "overall", "All", 40)] * 3)
    frame["period"] = [dt.date(2026, 8, 1), dt.date(2026, 9, 1), OCT]
    frame["numerator"] = [20.0, 5.0, 15.0]
    window = frame.iloc[[0]].assign(grain="3m", period=dt.date(2026, 8, 1), numerator=40.0)
    window["months"] = [[dt.date(2026, 8, 1), dt.date(2026, 9, 1), OCT]]
    both = pd.concat([frame.assign(months=None), window], ignore_index=True)
    hidden = suppression_flags(both, {})["numerator_hidden"].tolist()
    # September's 5 is hidden; with August, October and the window shown it could be
    # recovered, so the smallest other month is hidden too.
    assert hidden == [False, True, True, False]


def test_masking_hides_counts_and_everything_derived():
    frame = pd.DataFrame(
        {
            "numerator": [4.0, 40.0],
            "denominator": [50.0, 60.0],
            "rate": [8.0, 66.7],
            "mean": [np.nan, np.nan],
            "numerator_hidden": [True, False],
            "denominator_hidden": [False, False],
        }
    )
    shown = mask_frame(frame, unsuppressed=False)
    assert shown["numerator"].isna().tolist() == [True, False]
    assert shown["rate"].isna().tolist() == [True, False]
    assert shown["denominator"].tolist() == [50.0, 60.0]
    assert shown["suppressed"].tolist() == [True, False]
    assert "numerator_hidden" not in shown
    assert mask_frame(frame, unsuppressed=True)["numerator"].tolist() == [4.0, 40.0]


def test_continuous_sums_are_hidden_with_their_count():
    frame = cells(
        [("A", "overall", "All", 400.0), ("A", "race", "X", 150.0), ("A", "race", "Y", 250.0)]
    )
    frame["denominator"] = [20.0, 6.0, 14.0]
    frame["count"] = frame["denominator"]
    flags = suppression_flags(frame, {})
    assert flags["denominator_hidden"].tolist() == [False, True, True]
    assert flags["numerator_hidden"].tolist() == [False, True, True]
