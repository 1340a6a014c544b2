"""Suppression hides every count of 1-10 and never leaves a hidden cell recoverable."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from equilean.engine.stats import suppression

TABLE = pd.DataFrame(
    {
        "unit": ["A", "A", "A", "B", "B"],
        "group": ["x", "y", "z", "x", "y"],
        "events": [5, 40, 60, 12, 0],
        "patients": [50, 300, 400, 20, 7],
        "rate": [0.1, 0.13, 0.15, 0.6, 0.0],
    }
)


def test_counts_from_1_to_10_are_hidden_and_zero_is_shown():
    result = suppression.suppress(TABLE, ["events"], within=["unit"])
    assert result["events"].isna().tolist() == [True, True, False, False, False]
    assert result.loc[4, "events"] == 0


def test_a_lone_hidden_cell_gets_the_smallest_complement_in_its_group():
    frame = pd.DataFrame({"unit": ["A"] * 4, "events": [3, 50, 12, 30]})
    hidden = suppression.suppression_mask(frame, ["events"], within=["unit"]).cells
    assert hidden["events"].tolist() == [True, False, True, False]


def test_rates_derived_from_a_hidden_count_are_hidden():
    result = suppression.suppress(
        TABLE,
        ["events", "patients"],
        within=["unit"],
        rates={"rate": ["events", "patients"]},
        row_groups=False,
    )
    either = result["events"].isna() | result["patients"].isna()
    assert result["rate"].isna().tolist() == either.tolist()
    assert result["rate"].isna().iloc[0]
    assert result.loc[2, "rate"] == 0.15


def test_a_group_with_no_possible_complement_hides_its_total():
    frame = pd.DataFrame({"unit": ["A", "B", "B"], "events": [4, 0, 30]})
    mask = suppression.suppression_mask(frame, ["events"], within=["unit"])
    totals = mask.column_totals.set_index("unit")["events"]
    assert totals.to_dict() == {"A": True, "B": False}


def test_integer_counts_stay_integers():
    result = suppression.suppress(TABLE, ["events"], within=["unit"])
    assert str(result["events"].dtype) == "Int64"


counts = st.one_of(st.just(0), st.integers(1, 10), st.integers(11, 200))


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda columns: st.lists(
            st.tuples(st.sampled_from("ABC"), st.lists(counts, min_size=columns, max_size=columns)),
            min_size=1,
            max_size=12,
        )
    ),
    st.booleans(),
)
def test_no_hidden_cell_can_be_recovered_from_totals(rows, row_groups):
    width = len(rows[0][1])
    columns = [f"c{j}" for j in range(width)]
    frame = pd.DataFrame([[unit, *values] for unit, values in rows], columns=["unit", *columns])
    mask = suppression.suppression_mask(frame, columns, within=["unit"], row_groups=row_groups)
    values = frame[columns].to_numpy()
    hidden = mask.cells.to_numpy()
    # primary suppression: nothing from 1 to 10 shows, zeros are never hidden
    assert not (((values >= 1) & (values <= 10)) & ~hidden).any()
    assert not (hidden & (values == 0)).any()
    # rows: a lone hidden cell is only allowed when the row total is hidden
    if row_groups and width >= 2:
        lone = hidden.sum(axis=1) == 1
        assert not (lone & ~mask.row_totals).any()
    # columns within each unit, likewise with the unit's column total
    totals = mask.column_totals.set_index("unit")
    for j, column in enumerate(columns):
        per_unit = pd.Series(hidden[:, j]).groupby(frame["unit"].to_numpy()).sum()
        for unit, count in per_unit.items():
            assert count != 1 or totals.loc[unit, column]


def _no_singletons(values, hidden, rows, constraints):
    for c in np.unique(constraints):
        members = rows[constraints == c]
        lone = hidden[members] & (values[members] > 0)
        # A constraint with no other non-zero member offers no complement (and no total).
        others = (values[members] > 0).sum() > 1
        assert lone.sum() != 1 or not others, (c, values[members], hidden[members])


def test_constrained_mask_protects_a_table_and_its_total():
    # White 15, Black 5, Asian 0, overall 20: Black is hidden, so White (or the total) must be.
    values = np.array([15, 5, 0, 20])
    hidden = suppression.constrained_mask(values, [0, 1, 2, 3], [0, 0, 0, 0])
    assert hidden.tolist() == [True, True, False, False]


def test_constrained_mask_follows_a_cell_into_a_second_table():
    # Cells: unit A Black 4, White 12, overall 16; unit B Black 30, White 25, overall 55;
    # department Black 34, White 37. Constraints: each unit's table, and each group across
    # the units with the department's cell as their total.
    values = np.array([4, 12, 16, 30, 25, 55, 34, 37])
    rows = np.array([0, 1, 2, 3, 4, 5, 0, 3, 6, 1, 4, 7])
    constraints = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    hidden = suppression.constrained_mask(values, rows, constraints)
    # 4 is primary; 12 protects it in unit A; 30 protects it across units; then 25 protects
    # 12 across units. Nothing else needs hiding.
    assert np.flatnonzero(hidden).tolist() == [0, 1, 3, 4]
    _no_singletons(values, hidden, rows, constraints)


@given(
    st.lists(st.integers(0, 40), min_size=2, max_size=12),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 4)), min_size=1, max_size=40),
)
@settings(max_examples=200, deadline=None)
def test_constrained_mask_never_leaves_a_singleton(values, memberships):
    values = np.array(values, dtype=float)
    pairs = np.array([(r % len(values), c) for r, c in memberships])
    rows, constraints = pairs[:, 0], pairs[:, 1]
    hidden = suppression.constrained_mask(values, rows, constraints)
    assert (hidden[(values >= 1) & (values <= 10)]).all()
    assert not hidden[values == 0].any()
    _no_singletons(values, hidden, rows, constraints)
