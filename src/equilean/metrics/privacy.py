"""Small-cell suppression for everything the app shows: which cells to hide, and hiding them.

Refresh decides once, over all observations together, which counts must be hidden from people
without the unsuppressed-data permission: every count from 1 to 10, plus complementary cells so
that no hidden count can be recovered from a total. The totals that tie cells together are the
overall row of each dimension's table, the parent node over its children, and the trailing
window over its months (`constrained_mask` handles all three at once). Pages, the API and
exports then call `mask_frame` or `visible_values`, the one place that applies the flags.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from equilean.engine.stats.suppression import constrained_mask
from equilean.org.roles import Action
from equilean.org.scope import granted_paths

THRESHOLD = 11
COUNT_SENSITIVE = ["numerator", "denominator"]
# Everything derived from a hidden count; shown as blank (with "suppressed" text) when hidden.
DERIVED_FROM_NUMERATOR = [
    "rate",
    "lower",
    "upper",
    "value",
    "difference",
    "difference_lower",
    "difference_upper",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "relative_difference",
    "excess_events",
    "p_value",
    "q_value",
    "mean",
    "median",
    "sum_sq",
    "centre",
    "count",
]


def constraint_memberships(
    frame: pd.DataFrame, parent_of: dict[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Every additive constraint among the observations, as (row, constraint) pairs.

    `frame` has measure, node, grain, period, dimension, group (and a default RangeIndex);
    window rows have grain like "3m" and a `months` column listing their month periods.
    """
    frame = frame.reset_index(drop=True)
    keys: list[pd.DataFrame] = []
    cell = ["measure", "node", "grain", "period"]

    # 1. The groups of a dimension add up to the overall row of the same node and period.
    groups = frame[frame["dimension"] != "overall"]
    parts = groups[[*cell, "dimension"]].reset_index(names="row")
    overall = frame[frame["dimension"] == "overall"][cell].reset_index(names="row")
    totals = overall.merge(parts[[*cell, "dimension"]].drop_duplicates(), on=cell)
    table = pd.concat([parts, totals], ignore_index=True)
    keys.append(_keyed(table, [*cell, "dimension"]))

    # 2. A node's children add up to the node (for the same measure, period and group).
    same = ["measure", "grain", "period", "dimension", "group"]
    children = frame[[*same, "node"]].reset_index(names="row")
    children["parent"] = children["node"].map(parent_of)
    children = children.dropna(subset=["parent"])
    parents = frame[[*same, "node"]].reset_index(names="row").rename(columns={"node": "parent"})
    parents = parents.merge(children[[*same, "parent"]].drop_duplicates(), on=[*same, "parent"])
    tree = pd.concat([children.drop(columns="node"), parents], ignore_index=True)
    keys.append(_keyed(tree, [*same, "parent"]))

    # 3. A trailing window adds up its months.
    if "months" in frame.columns:
        windows = frame[frame["months"].notna()]
        if not windows.empty:
            series = ["measure", "node", "dimension", "group"]
            exploded = windows[[*series, "months"]].reset_index(names="window").explode("months")
            exploded = exploded.rename(columns={"months": "period"})
            months = frame[frame["grain"] == "month"][[*series, "period"]].reset_index(names="row")
            linked = exploded.merge(months, on=[*series, "period"])
            member = pd.concat(
                [
                    linked[["row", "window"]],
                    pd.DataFrame({"row": windows.index, "window": windows.index}),
                ],
                ignore_index=True,
            )
            keys.append(_keyed(member, ["window"]))

    rows, codes, offset = [], [], 0
    for family in keys:
        rows.append(family["row"].to_numpy())
        codes.append(family["key"].to_numpy() + offset)
        offset += int(family["key"].max()) + 1 if len(family) else 0
    return np.concatenate(rows), np.concatenate(codes)


def _keyed(members: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Members with an integer constraint key per distinct `by` combination."""
    key = members.groupby(by, sort=False, dropna=False, observed=True).ngroup()
    return pd.DataFrame({"row": members["row"].to_numpy(), "key": key.to_numpy()})


def suppression_flags(frame: pd.DataFrame, parent_of: dict[str, str]) -> pd.DataFrame:
    """`numerator_hidden` and `denominator_hidden` for every row of `frame`.

    For continuous measures (a non-null `count`) the numerator is a sum of values, not a
    count: it is hidden exactly when its count (the denominator) is.
    """
    frame = frame.reset_index(drop=True)
    rows, constraints = constraint_memberships(frame, parent_of)
    denominator = constrained_mask(
        frame["denominator"].to_numpy(float), rows, constraints, THRESHOLD
    )
    continuous = (
        frame["count"].notna().to_numpy() if "count" in frame else np.zeros(len(frame), bool)
    )
    counts = np.where(continuous, 0.0, frame["numerator"].to_numpy(float))
    numerator = constrained_mask(counts, rows, constraints, THRESHOLD) | (continuous & denominator)
    return pd.DataFrame({"numerator_hidden": numerator, "denominator_hidden": denominator})


class Viewer:
    """Where one person may see small cells unsuppressed; asked once per request."""

    def __init__(self, user):
        self.paths = granted_paths(user, Action.VIEW_UNSUPPRESSED)

    def unsuppressed_at(self, node) -> bool:
        return self.paths is None or any(node.path.startswith(p) for p in self.paths)

    def unsuppressed_for(self, paths: pd.Series) -> np.ndarray:
        """Per row: whether the row's node (given by its tree path) is unsuppressed."""
        if self.paths is None:
            return np.ones(len(paths), dtype=bool)
        allowed = np.zeros(len(paths), dtype=bool)
        for prefix in self.paths:
            allowed |= paths.str.startswith(prefix).to_numpy()
        return allowed


def mask_frame(frame: pd.DataFrame, unsuppressed) -> pd.DataFrame:
    """`frame` as a person may see it: where `unsuppressed` (a bool, or one per row) is False,
    hidden counts and every value derived from them become missing. A `suppressed` column
    says which rows were touched; the flag columns are dropped."""
    frame = frame.copy()
    allowed = np.broadcast_to(np.asarray(unsuppressed, dtype=bool), (len(frame),))
    num = _flag(frame, "numerator_hidden") & ~allowed
    den = _flag(frame, "denominator_hidden") & ~allowed
    either = num | den
    for column in frame.columns:
        if column == "numerator":
            frame[column] = frame[column].mask(num)
        elif column == "denominator":
            frame[column] = frame[column].mask(den)
        elif column in DERIVED_FROM_NUMERATOR:
            frame[column] = frame[column].mask(either)
    frame["suppressed"] = either
    return frame.drop(columns=["numerator_hidden", "denominator_hidden"], errors="ignore")


def blank_suppressed_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """A masked `frame` with every count of a suppressed group's row blank, as the equity
    pages show a group they cannot compare; a node's overall row keeps its visible counts."""
    group = frame["suppressed"].astype(bool) & (frame["dimension"] != "overall")
    return frame.assign(**{c: frame[c].mask(group) for c in COUNT_SENSITIVE})


def _flag(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame[name].fillna(False).astype(bool).to_numpy()


EVIDENCE_KEPT = {
    "rule",
    "chart",
    "period",
    "reference",
    "windows_running",
    "window_months",
    "hidden",
}


def visible_evidence(evidence: dict, unsuppressed: bool) -> dict:
    """A signal's evidence as a person may see it: every number blanked when its cell is hidden."""
    if unsuppressed or not evidence.get("hidden"):
        return dict(evidence)
    return {k: (v if k in EVIDENCE_KEPT else None) for k, v in evidence.items()}
