"""Small-cell suppression: hide counts of 1-10 and enough complementary cells to protect them.

Follows the CMS cell-size suppression policy (no cell of 1 to 10 beneficiaries displayed, and
no cell derivable from totals). Each pass is vectorised over all rows and groups; the passes
repeat only until no group has a lone hidden cell, which takes a handful of passes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from equilean.engine.errors import InputError

__all__ = ["SuppressionMask", "suppress", "suppression_mask"]


@dataclass(frozen=True)
class SuppressionMask:
    """Which cells to hide, and which group totals must be hidden because no cell could be.

    ``cells`` is a boolean frame over the count columns (same index as the input).
    ``row_totals`` is True for rows whose total must be hidden (a lone hidden cell with no
    other non-zero cell in the row). ``column_totals`` has one row per ``within`` group and
    one boolean column per count column, True where that group's column total must be hidden.
    """

    cells: pd.DataFrame
    row_totals: np.ndarray
    column_totals: pd.DataFrame


def _complement_cost(values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Cost of hiding a visible cell as a complement: its count, so the smallest goes first.

    Zeros never serve: a reader who knows zeros are shown could tell the hidden one apart.
    """
    usable = ~hidden & (values > 0)
    return np.where(usable, values, np.inf)


def suppression_mask(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    threshold: int = 11,
    within: Sequence[str] = (),
    row_groups: bool = True,
) -> SuppressionMask:
    """Primary and complementary suppression of counts.

    Method: CMS cell-size suppression policy (cells of 1 to ``threshold - 1`` are hidden;
    zero may be shown), with complementary suppression: while a row (across
    ``count_columns``, when there are two or more) or a column within a ``within`` group has
    exactly one hidden cell, the smallest visible non-zero cell of that group is hidden too;
    if the group has no other non-zero cell, its total is marked for hiding instead.

    Parameters
    ----------
    frame : DataFrame
        One row per displayed row of the table.
    count_columns : sequence of str
        Columns holding displayed counts.
    threshold : int
        Counts from 1 to ``threshold - 1`` are hidden.
    within : sequence of str
        Columns whose groups form the column totals (e.g. unit and measure); the whole frame
        is one group when empty.
    row_groups : bool
        Treat each row's counts as adding up to a row total. Set False when the count columns
        do not add up (e.g. a numerator and its denominator).

    Returns
    -------
    SuppressionMask
    """
    columns = list(count_columns)
    within = list(within)
    missing = [c for c in [*columns, *within] if c not in frame.columns]
    if missing:
        raise InputError(f"columns not found: {', '.join(missing)}", field=missing[0])
    values = frame[columns].to_numpy(dtype=float, na_value=np.nan)
    hidden = (values >= 1) & (values < threshold)
    group = (
        frame.groupby(within, sort=False, dropna=False).ngroup().to_numpy()
        if within
        else np.zeros(len(frame), dtype=int)
    )
    n_groups = int(group.max()) + 1 if len(group) else 0
    row_totals = np.zeros(len(frame), dtype=bool)
    column_totals = np.zeros((n_groups, len(columns)), dtype=bool)
    rows = np.arange(len(frame))
    # every pass hides at least one more cell or stops, so this ends within rows x columns
    for _ in range(values.size + 1):
        changed = False
        if row_groups and len(columns) >= 2:
            lone = (hidden.sum(axis=1) == 1) & ~row_totals
            cost = _complement_cost(values, hidden)
            pick = np.argmin(cost, axis=1)
            possible = np.isfinite(cost[rows, pick])
            fix = lone & possible
            hidden[rows[fix], pick[fix]] = True
            row_totals |= lone & ~possible
            changed |= bool(lone.any())
        for j in range(len(columns)):
            count = np.bincount(group, weights=hidden[:, j], minlength=n_groups)
            lone_group = (count == 1) & ~column_totals[:, j]
            if not lone_group.any():
                continue
            cost = _complement_cost(values[:, j], hidden[:, j])
            order = np.lexsort((cost, group))
            first = np.ones(len(order), dtype=bool)
            first[1:] = group[order][1:] != group[order][:-1]
            best_row = order[first]
            best_group = group[best_row]
            possible = np.isfinite(cost[best_row])
            fix = lone_group[best_group] & possible
            hidden[best_row[fix], j] = True
            column_totals[best_group[lone_group[best_group] & ~possible], j] = True
            changed = True
        if not changed:
            break
    cells = pd.DataFrame(hidden, index=frame.index, columns=columns)
    totals = (
        frame[within].drop_duplicates().reset_index(drop=True)
        if within
        else pd.DataFrame(index=range(n_groups))
    )
    totals = pd.concat([totals, pd.DataFrame(column_totals, columns=columns)], axis=1)
    return SuppressionMask(cells=cells, row_totals=row_totals, column_totals=totals)


def suppress(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    threshold: int = 11,
    within: Sequence[str] = (),
    rates: Mapping[str, str | Sequence[str]] | None = None,
    row_groups: bool = True,
) -> pd.DataFrame:
    """Return a copy of ``frame`` with suppressed counts, and the rates built on them, as NA.

    See :func:`suppression_mask` for the method (CMS cell-size suppression with
    complementary suppression). ``rates`` maps each rate column to the count column(s) it is
    derived from; the rate is hidden when any of them is.
    """
    mask = suppression_mask(frame, count_columns, threshold, within, row_groups)
    result = frame.copy()
    for column in count_columns:
        hidden = mask.cells[column].to_numpy()
        result[column] = result[column].astype("Float64").mask(hidden)
        if pd.api.types.is_integer_dtype(frame[column].dtype):
            result[column] = result[column].astype("Int64")
    for rate, sources in (rates or {}).items():
        sources = [sources] if isinstance(sources, str) else list(sources)
        unknown = [s for s in sources if s not in mask.cells.columns]
        if unknown:
            raise InputError(
                f"rate {rate!r} derives from {', '.join(unknown)}, which is not a count column",
                field=rate,
            )
        hidden = mask.cells[sources].any(axis=1).to_numpy()
        result[rate] = result[rate].astype("Float64").mask(hidden)
    return result


def constrained_mask(
    values,
    member_row,
    member_constraint,
    threshold: int = 11,
    hidden=None,
) -> np.ndarray:
    """Complementary suppression over any set of additive constraints (tables of many shapes).

    Method: CMS cell-size suppression (cells of 1 to ``threshold - 1`` hidden, zero shown)
    with complementary suppression generalised from row/column totals to linear constraints.
    Each constraint is a set of cells whose values are tied by one equation (e.g. a total and
    its parts: the groups of a dimension and the overall row; the units of a department and
    the department; three months and their trailing window). A hidden cell is recoverable
    when it is the only hidden non-zero cell of some constraint, so while any constraint has
    exactly one, its smallest visible non-zero member is hidden too (Cox, 1980, "Suppression
    methodology and statistical disclosure control", JASA 75:377-385, the "no singleton"
    condition). Zeros are never used as complements. Vectorised over all constraints per
    pass; passes repeat until nothing changes.

    Parameters
    ----------
    values : array_like
        One count per cell.
    member_row, member_constraint : array_like of int
        The membership list: cell ``member_row[k]`` belongs to constraint
        ``member_constraint[k]``. A cell may belong to many constraints.
    threshold : int
        Counts from 1 to ``threshold - 1`` are hidden.
    hidden : array_like of bool, optional
        Cells already hidden for another reason.

    Returns
    -------
    numpy.ndarray of bool
        True for every cell to hide.
    """
    values = np.asarray(values, dtype=float)
    rows = np.asarray(member_row, dtype=np.int64)
    constraints = np.asarray(member_constraint, dtype=np.int64)
    if rows.shape != constraints.shape:
        raise InputError(
            "member_row and member_constraint must be the same length", field="member_constraint"
        )
    primary = (values >= 1) & (values < threshold)
    hidden = primary | (np.zeros_like(primary) if hidden is None else np.asarray(hidden, bool))
    if not len(rows):
        return hidden
    n_constraints = int(constraints.max()) + 1
    positive = np.nan_to_num(values, nan=0.0) > 0
    # Sort the memberships once by constraint, then by value, so the first visible non-zero
    # member of each constraint is its cheapest complement.
    order = np.lexsort((values[rows], constraints))
    rows, constraints = rows[order], constraints[order]
    for _ in range(len(values) + 1):
        counted = hidden[rows] & positive[rows]
        lone = np.bincount(constraints, weights=counted, minlength=n_constraints) == 1
        usable = lone[constraints] & ~hidden[rows] & positive[rows]
        if not usable.any():
            break
        first = np.ones(usable.sum(), dtype=bool)
        picked_constraints = constraints[usable]
        first[1:] = picked_constraints[1:] != picked_constraints[:-1]
        hidden[rows[usable][first]] = True
    return hidden
