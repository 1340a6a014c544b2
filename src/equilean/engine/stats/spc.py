"""Statistical process control: XmR, p / p' and u / u' charts, and Anhøj run-chart rules.

The charts work on "long" arrays (one row per point, series after series), so a single call
charts thousands of series: limits come from ``np.bincount`` sums per block (a series, or the
part of a series after a rebase) and the rules from run lengths, never from a loop per series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from equilean.engine.errors import InputError

__all__ = [
    "Chart",
    "Runs",
    "p_chart",
    "p_chart_many",
    "runs",
    "runs_many",
    "u_chart",
    "u_chart_many",
    "xmr",
    "xmr_many",
]

# NHS "Making Data Count" constants: 2.66 = 3 / d2 with d2 = 1.128 for n = 2, and 3.267 = D4.
XMR_LIMIT = 2.66
MR_SCREEN = 3.267
D2 = 1.128

RULES = ("outside", "trend", "two_of_three", "shift")
SIGNALS = ("improvement", "concern", "neutral_high", "neutral_low", "common_cause")
FRAME_COLUMNS = (
    "value",
    "centre",
    "lower",
    "upper",
    "lower_2s",
    "upper_2s",
    "rule",
    "signal",
)


@dataclass(frozen=True)
class Runs:
    """Anhøj runs analysis of one or many series (arrays hold one entry per series).

    ``n_useful`` counts the points not on the centre line; ``signal`` is True when the longest
    run is longer than ``max_longest_run`` or there are fewer crossings than ``min_crossings``.
    """

    n_useful: np.ndarray
    longest_run: np.ndarray
    max_longest_run: np.ndarray
    crossings: np.ndarray
    min_crossings: np.ndarray
    signal: np.ndarray

    def as_frame(self) -> pd.DataFrame:
        """One row per series."""
        return pd.DataFrame(
            {name: np.atleast_1d(getattr(self, name)) for name in self.__dataclass_fields__}
        )


@dataclass(frozen=True)
class Chart:
    """A control chart: ``frame`` has one row per point, ``summary`` one row per series.

    ``frame`` columns: the series keys (for the ``*_many`` functions), ``position`` (0-based
    index within the series), ``segment`` (0-based, increases at each rebase), ``value``,
    ``centre``, ``lower``, ``upper``, ``lower_2s``, ``upper_2s``, ``rule`` (``outside``,
    ``trend``, ``two_of_three``, ``shift``, or missing when none fired) and ``signal``
    (``improvement``, ``concern``, ``neutral_high``, ``neutral_low`` or ``common_cause``);
    p and u charts add ``numerator`` and ``denominator``.

    ``summary`` columns: the series keys, ``variation_icon``, ``assurance`` and, for p and u
    charts, the Anhøj runs analysis (``n_useful``, ``longest_run``, ``max_longest_run``,
    ``crossings``, ``min_crossings``, ``runs_signal``).
    """

    frame: pd.DataFrame
    summary: pd.DataFrame

    def _one(self, column: str):
        values = self.summary[column]
        return values.iloc[0] if len(values) == 1 else values

    @property
    def variation_icon(self):
        """Making Data Count variation icon of the last point (a Series for many series)."""
        return self._one("variation_icon")

    @property
    def assurance(self):
        """``pass``, ``fail``, ``inconsistent`` or None (a Series for many series)."""
        return self._one("assurance")


# ---------------------------------------------------------------------------------------------
# long-format machinery


@dataclass(frozen=True)
class _Layout:
    """Block structure of long arrays: a block is one segment of one series."""

    series: np.ndarray
    block: np.ndarray
    position: np.ndarray
    block_position: np.ndarray
    segment: np.ndarray
    n_blocks: int
    n_series: int
    same_as_previous: np.ndarray


def _layout(series: np.ndarray, rebase: np.ndarray) -> _Layout:
    """Block ids, positions and segments for long arrays sorted by series then time."""
    n = len(series)
    series_start = np.ones(n, dtype=bool)
    series_start[1:] = series[1:] != series[:-1]
    block_start = series_start | rebase.astype(bool)
    block = np.cumsum(block_start) - 1
    first = np.flatnonzero(block_start)
    series_first = np.flatnonzero(series_start)
    series_id = np.cumsum(series_start) - 1
    position = np.arange(n) - series_first[series_id] if n else np.zeros(0, dtype=int)
    block_position = np.arange(n) - first[block] if n else np.zeros(0, dtype=int)
    # segment number within the series: blocks so far minus blocks before the series began
    segment = block - block[series_first][series_id] if n else np.zeros(0, dtype=int)
    same = np.zeros(n, dtype=bool)
    same[1:] = block[1:] == block[:-1]
    return _Layout(
        series=series_id,
        block=block,
        position=position,
        block_position=block_position,
        segment=segment,
        n_blocks=len(first),
        n_series=len(series_first),
        same_as_previous=same,
    )


def _block_sum(layout: _Layout, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sum of ``values`` where ``mask`` within each block."""
    return np.bincount(layout.block, weights=np.where(mask, values, 0.0), minlength=layout.n_blocks)


def _block_mean(layout: _Layout, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``values`` where ``mask`` within each block (NaN for an empty block)."""
    total = _block_sum(layout, values, mask)
    count = np.bincount(layout.block, weights=mask.astype(float), minlength=layout.n_blocks)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _run_length(starts: np.ndarray) -> np.ndarray:
    """Length of the run each point belongs to, given a boolean array of run starts."""
    if len(starts) == 0:
        return np.zeros(0, dtype=int)
    run = np.cumsum(starts) - 1
    return np.bincount(run)[run]


def _moving_range(layout: _Layout, values: np.ndarray, base: np.ndarray) -> np.ndarray:
    """|x_i - x_(i-1)| within a block where both points are in the baseline, NaN elsewhere."""
    mr = np.full(len(values), np.nan)
    ok = layout.same_as_previous[1:] & base[1:] & base[:-1]
    mr[1:] = np.where(ok, np.abs(values[1:] - values[:-1]), np.nan)
    return mr


def _rules(
    layout: _Layout,
    value: np.ndarray,
    centre: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    lower_2s: np.ndarray,
    upper_2s: np.ndarray,
    trend: int,
    shift: int,
) -> tuple[np.ndarray, np.ndarray]:
    """NHS Making Data Count rules as in NHSRplotthedots: (rule per point, direction +1/-1/0).

    Precedence is outside > trend > two_of_three > shift; every point of a trend or shift is
    marked, two-in-three marks its points beyond 2 sigma (but inside the limits), and all
    three points of a two-in-three window must sit on the same side of the mean.
    """
    n = len(value)
    same = layout.same_as_previous
    with np.errstate(invalid="ignore"):
        outside = (value > upper) | (value < lower)
        side = np.nan_to_num(np.sign(value - centre)).astype(int)
        close = ~outside & ((value > upper_2s) | (value < lower_2s))

    # trend: runs of equal, non-zero step signs; a tie (step 0) or a gap breaks the run
    step = np.zeros(n, dtype=int)
    step[1:] = np.where(same[1:], np.nan_to_num(np.sign(value[1:] - value[:-1])), 0)
    step_start = np.ones(n, dtype=bool)
    step_start[1:] = (step[1:] != step[:-1]) | ~same[1:]
    qualifies = (step != 0) & (_run_length(step_start) >= trend - 1)
    next_qualifies = np.append(qualifies[1:], False)
    in_trend = qualifies | next_qualifies
    next_in_trend = np.append(in_trend[1:] & same[1:], False)
    next_step = np.append(step[1:], 0)
    # a point between two trends takes the direction of the step to its right (NHSRplotthedots)
    trend_direction = np.where(in_trend & next_in_trend, next_step, step)

    # two in three: windows of three consecutive points within a block
    window = np.zeros(n, dtype=bool)
    if n >= 3:
        inside_block = same[1:-1] & same[2:]
        close_count = close[:-2].astype(int) + close[1:-1] + close[2:]
        side_sum = side[:-2] + side[1:-1] + side[2:]
        window[:-2] = inside_block & (close_count >= 2) & (np.abs(side_sum) == 3)
    in_window = window.copy()
    in_window[1:] |= window[:-1]
    in_window[2:] |= window[:-2]
    two_of_three = in_window & close

    # shift: runs of points on one side of the centre; a point on the centre breaks it
    side_start = np.ones(n, dtype=bool)
    side_start[1:] = (side[1:] != side[:-1]) | ~same[1:]
    in_shift = (side != 0) & (_run_length(side_start) >= shift)

    conditions = [outside, in_trend, two_of_three, in_shift]
    rule = np.select(conditions, list(RULES), default="")
    direction = np.select(conditions, [side, trend_direction, side, side], default=0)
    return np.where(rule == "", None, rule).astype(object), direction


def _signal(rule: np.ndarray, direction: np.ndarray, improvement: str | None) -> np.ndarray:
    """Classify special causes by direction: improvement/concern, or neutral high/low."""
    special = np.not_equal(rule, None) & (direction != 0)
    if improvement is None:
        labels = np.where(direction > 0, "neutral_high", "neutral_low")
    else:
        oriented = direction * (1 if improvement == "increase" else -1)
        labels = np.where(oriented > 0, "improvement", "concern")
    return np.where(special, labels, "common_cause").astype(object)


def _summary(
    layout: _Layout,
    signal: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    improvement: str | None,
    target,
) -> pd.DataFrame:
    """Variation icon and assurance per series, from its last point (the last segment)."""
    last = np.zeros(layout.n_series, dtype=int)
    if len(layout.series):
        last = np.flatnonzero(np.append(layout.series[1:] != layout.series[:-1], True))
    last_signal = signal[last]
    if improvement is None:
        icon = last_signal
    else:
        high, low = ("high", "low") if improvement == "increase" else ("low", "high")
        icon = np.select(
            [last_signal == "improvement", last_signal == "concern"],
            [f"improvement_{high}", f"concern_{low}"],
            default=last_signal,
        )
    assurance = np.full(layout.n_series, None, dtype=object)
    if target is not None and improvement is not None:
        target = np.broadcast_to(np.asarray(target, dtype=float), (layout.n_series,))
        above, below = target > upper[last], target < lower[last]
        passes, fails = (below, above) if improvement == "increase" else (above, below)
        assurance = np.select([passes, fails], ["pass", "fail"], default="inconsistent")
        assurance = np.where(np.isnan(target), None, assurance).astype(object)
    return pd.DataFrame({"variation_icon": icon.astype(object), "assurance": assurance})


def _check_improvement(improvement: str | None) -> None:
    if improvement not in (None, "increase", "decrease"):
        raise InputError(
            f"improvement must be None, 'increase' or 'decrease', not {improvement!r}",
            field="improvement",
        )


def _check_rules(rules: str) -> None:
    if rules not in ("anhoej", "nhs"):
        raise InputError(
            f"rules must be 'anhoej' or 'nhs', not {rules!r}",
            field="rules",
            hint="'anhoej' flags points outside the limits plus a runs analysis (qicharts2); "
            "'nhs' applies the Making Data Count rules",
        )


# ---------------------------------------------------------------------------------------------
# array inputs -> long arrays


def _as_long(values, *others, rebase=None):
    """Flatten 1-d or 2-d (series x time) inputs to long arrays with series ids and rebase flags.

    ``rebase`` is either positions (0-based) where a new segment starts, applied to every
    series, or a boolean array shaped like ``values`` that is True at each segment start.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim not in (1, 2):
        raise InputError("values must be 1-d (one series) or 2-d (series x time)")
    shape = values.shape if values.ndim == 2 else (1, values.shape[0])
    arrays = [
        np.broadcast_to(np.asarray(a, dtype=float), values.shape).reshape(shape) for a in others
    ]
    flags = np.zeros(shape, dtype=bool)
    if rebase is not None:
        rebase_array = np.asarray(rebase)
        if rebase_array.dtype == bool:
            flags = np.broadcast_to(rebase_array, values.shape).reshape(shape).copy()
        else:
            positions = rebase_array.astype(int).ravel()
            if positions.size and (positions.min() < 0 or positions.max() >= shape[1]):
                raise InputError("rebase positions must lie inside the series", field="rebase")
            flags[:, positions] = True
    series = np.repeat(np.arange(shape[0]), shape[1])
    return (
        values.reshape(shape).ravel(),
        [a.ravel() for a in arrays],
        series,
        flags.ravel(),
        values.ndim == 1,
    )


def _frame(layout: _Layout, columns: dict, keys: pd.DataFrame | None) -> pd.DataFrame:
    """Assemble the per-point frame, with the series keys first when there are any."""
    body = {"position": layout.position, "segment": layout.segment, **columns}
    frame = pd.DataFrame(body)
    # one dtype whether or not any rule fired: pandas' string dtype, missing where none did
    frame["rule"] = frame["rule"].astype("str")
    frame["signal"] = frame["signal"].astype("str")
    if keys is not None:
        frame = pd.concat([keys.reset_index(drop=True), frame], axis=1)
    return frame


def _summary_frame(summary: pd.DataFrame, keys: pd.DataFrame | None, layout: _Layout):
    """Put the series keys (one row per series) in front of the per-series summary."""
    if keys is None:
        return summary
    starts = np.flatnonzero(np.append(True, layout.series[1:] != layout.series[:-1]))
    series_keys = keys[keys.attrs.get("by", list(keys.columns))].iloc[starts]
    series_keys = series_keys.reset_index(drop=True)
    return pd.concat([series_keys, summary], axis=1)


# ---------------------------------------------------------------------------------------------
# XmR


def _xmr_long(
    value: np.ndarray,
    series: np.ndarray,
    rebase: np.ndarray,
    improvement: str | None,
    target,
    screen: bool,
    fix_after: int | None,
    shift: int,
    trend: int,
    keys: pd.DataFrame | None,
) -> Chart:
    _check_improvement(improvement)
    layout = _layout(series, rebase)
    valid = ~np.isnan(value)
    base = valid & (layout.block_position < (np.inf if fix_after is None else fix_after))
    mean = _block_mean(layout, value, base)
    mr = _moving_range(layout, value, base)
    amr = _block_mean(layout, mr, ~np.isnan(mr))
    if screen:
        with np.errstate(invalid="ignore"):
            kept = mr < MR_SCREEN * amr[layout.block]
        amr = _block_mean(layout, mr, kept)
    centre = mean[layout.block]
    spread = amr[layout.block]
    upper, lower = centre + XMR_LIMIT * spread, centre - XMR_LIMIT * spread
    upper_2s = centre + 2 / 3 * XMR_LIMIT * spread
    lower_2s = centre - 2 / 3 * XMR_LIMIT * spread
    rule, direction = _rules(layout, value, centre, lower, upper, lower_2s, upper_2s, trend, shift)
    signal = _signal(rule, direction, improvement)
    frame = _frame(
        layout,
        {
            "value": value,
            "centre": centre,
            "lower": lower,
            "upper": upper,
            "lower_2s": lower_2s,
            "upper_2s": upper_2s,
            "rule": rule,
            "signal": signal,
        },
        keys,
    )
    summary = _summary(layout, signal, lower, upper, improvement, target)
    return Chart(frame=frame, summary=_summary_frame(summary, keys, layout))


def xmr(
    values,
    improvement: str | None = None,
    target=None,
    screen: bool = True,
    rebase=None,
    fix_after: int | None = None,
    shift: int = 7,
    trend: int = 7,
) -> Chart:
    """XmR (individuals) chart with the NHS "Making Data Count" rules.

    Method: NHS England "Making Data Count" as implemented in the R package NHSRplotthedots
    (``ptd_spc``). Within each segment, with mR the mean moving range ``mean(|x_i - x_(i-1)|)``:

    - centre ``mean(x)``; limits ``mean -+ 2.66 mR``; 2-sigma lines ``mean -+ (2/3) 2.66 mR``;
    - ``screen=True`` drops moving ranges at or above ``3.267 mR`` once and recomputes mR;
    - ``fix_after=k`` computes the mean and mR from the first k points of each segment only.

    Rules, first match wins, each restarting at a rebase: a point outside the limits; a trend
    of ``trend`` points all rising or all falling (a tie breaks it); two of three points beyond
    the 2-sigma lines, all three on one side of the mean (only those beyond 2 sigma are
    marked); a shift of ``shift`` points on one side of the mean (a point on it breaks it).
    Every point of a trend or shift is marked. A special cause is an ``improvement`` or a
    ``concern`` by its direction (trend) or side (others); with ``improvement=None`` it is
    ``neutral_high`` or ``neutral_low``.

    The variation icon is the last point's signal, oriented to high/low
    (``improvement_high``, ``concern_low``, ...). Assurance compares ``target`` with the last
    segment's limits: ``pass`` if every point should meet it, ``fail`` if none should, else
    ``inconsistent``; None without a target or an improvement direction.

    Parameters
    ----------
    values : array_like
        One series (1-d) or many (2-d, series x time; pad with NaN).
    improvement : {None, "increase", "decrease"}
        Which direction is better.
    target : float or array_like, optional
        Target per series for the assurance icon.
    screen : bool
        Screen out large moving ranges before computing the limits.
    rebase : sequence of int or bool array, optional
        0-based positions where a new segment starts, or a boolean mask shaped like ``values``.
    fix_after : int, optional
        Compute each segment's limits from its first ``fix_after`` points.
    shift, trend : int
        Points needed for a shift and a trend.

    Returns
    -------
    Chart
    """
    value, _, series, flags, _single = _as_long(values, rebase=rebase)
    return _xmr_long(
        value, series, flags, improvement, target, screen, fix_after, shift, trend, None
    )


def _long_from_frame(frame: pd.DataFrame, by: Sequence[str], order: str | None):
    """Sort a long frame by series keys (and order), returning it with series ids."""
    by = list(by)
    missing = [c for c in [*by, *([order] if order else [])] if c not in frame.columns]
    if missing:
        raise InputError(f"columns not found: {', '.join(missing)}", field=missing[0])
    sort = [*by, *([order] if order else [])]
    ordered = frame.sort_values(sort, kind="stable").reset_index(drop=True) if sort else frame
    ordered = ordered.reset_index(drop=True)
    series = (
        ordered.groupby(by, sort=False, dropna=False).ngroup().to_numpy()
        if by
        else np.zeros(len(ordered), dtype=int)
    )
    keys = ordered[sort].copy() if sort else None
    if keys is not None:
        keys.attrs["by"] = by
    return ordered, series, keys


def xmr_many(
    frame: pd.DataFrame,
    by: Sequence[str],
    value: str = "value",
    order: str | None = None,
    rebase: str | None = None,
    improvement: str | None = None,
    target: str | float | None = None,
    screen: bool = True,
    fix_after: int | None = None,
    shift: int = 7,
    trend: int = 7,
) -> Chart:
    """XmR charts for every series of a long frame in one vectorised pass (see :func:`xmr`).

    Parameters
    ----------
    frame : DataFrame
        One row per point.
    by : list of str
        Columns that identify a series (e.g. unit, measure, dimension, group).
    value : str
        Column with the plotted value.
    order : str, optional
        Column giving the time order within a series (e.g. period); the frame order otherwise.
    rebase : str, optional
        Boolean column, True at the first point of each new segment.
    target : str or float, optional
        A column (constant within a series) or one number for the assurance icon.

    Returns
    -------
    Chart
        ``frame`` holds the ``by`` and ``order`` columns followed by the columns documented on
        :class:`Chart`; ``summary`` has one row per series.
    """
    ordered, series, keys = _long_from_frame(frame, by, order)
    flags = ordered[rebase].fillna(False).to_numpy(bool) if rebase else np.zeros(len(series), bool)
    targets = _series_target(ordered, series, target)
    return _xmr_long(
        ordered[value].to_numpy(float),
        series,
        flags,
        improvement,
        targets,
        screen,
        fix_after,
        shift,
        trend,
        keys,
    )


def _series_target(ordered: pd.DataFrame, series: np.ndarray, target):
    """One target per series, from a column (its last value) or a constant."""
    if target is None or not isinstance(target, str):
        return target
    last = np.flatnonzero(np.append(series[1:] != series[:-1], True)) if len(series) else []
    return ordered[target].to_numpy(float)[last]


# ---------------------------------------------------------------------------------------------
# runs analysis


def _runs_long(value: np.ndarray, centre: np.ndarray, series: np.ndarray, n_series: int) -> Runs:
    """Anhøj runs analysis per series on long arrays; points on the centre are ignored."""
    with np.errstate(invalid="ignore"):
        side = np.sign(value - centre)
    useful = ~np.isnan(side) & (side != 0)
    s, sid = side[useful], series[useful]
    starts = np.ones(len(s), dtype=bool)
    starts[1:] = (s[1:] != s[:-1]) | (sid[1:] != sid[:-1])
    lengths = _run_length(starts)
    n_useful = np.bincount(sid, minlength=n_series)
    n_runs = np.bincount(sid, weights=starts.astype(float), minlength=n_series).astype(int)
    longest = np.zeros(n_series, dtype=int)
    np.maximum.at(longest, sid, lengths)
    has = n_useful > 0
    with np.errstate(divide="ignore"):
        max_longest = np.where(has, np.round(np.log2(np.maximum(n_useful, 1))) + 3, np.nan)
    min_crossings = np.where(has, stats.binom.ppf(0.05, np.maximum(n_useful - 1, 0), 0.5), np.nan)
    crossings = np.maximum(n_runs - 1, 0)
    signal = has & ((longest > max_longest) | (crossings < min_crossings))
    return Runs(
        n_useful=n_useful,
        longest_run=np.where(has, longest, np.nan),
        max_longest_run=max_longest,
        crossings=np.where(has, crossings, np.nan),
        min_crossings=min_crossings,
        signal=signal,
    )


def _squeeze(result: Runs) -> Runs:
    """Scalars for a single series."""
    return Runs(**{k: getattr(result, k)[0].item() for k in result.__dataclass_fields__})


def runs(values, centre=None) -> Runs:
    """Run-chart analysis with the Anhøj rules.

    Method: Anhøj & Olesen (2014), "Run charts revisited", PLoS ONE 9(11):e113825, as in
    qicharts2 ``runs.analysis``. Points on the centre line are dropped; with n the useful
    points, a signal is an unusually long run, longer than ``round(log2(n)) + 3`` (Schilling
    2012), or too few crossings, fewer than the 5% quantile of Binomial(n - 1, 0.5) (Chen 2010).

    Parameters
    ----------
    values : array_like
        One series (1-d) or many (2-d, series x time; NaN is skipped).
    centre : float or array_like, optional
        Centre line, broadcast against ``values``; the median of each series by default.

    Returns
    -------
    Runs
        Scalars for one series, arrays (one entry per series) for many.
    """
    values = np.asarray(values, dtype=float)
    single = values.ndim == 1
    matrix = np.atleast_2d(values)
    if centre is None:
        centre_matrix = np.broadcast_to(np.nanmedian(matrix, axis=1)[:, None], matrix.shape)
    elif single:
        centre_matrix = np.broadcast_to(np.asarray(centre, dtype=float), values.shape)[None, :]
    else:
        centre_matrix = np.broadcast_to(
            np.asarray(centre, dtype=float).reshape(-1, 1)
            if np.ndim(centre) == 1 and len(centre) == matrix.shape[0]
            else np.asarray(centre, dtype=float),
            matrix.shape,
        )
    series = np.repeat(np.arange(matrix.shape[0]), matrix.shape[1])
    result = _runs_long(matrix.ravel(), centre_matrix.ravel(), series, matrix.shape[0])
    return _squeeze(result) if single else result


def runs_many(
    frame: pd.DataFrame, by: Sequence[str], value: str = "value", order: str | None = None
) -> pd.DataFrame:
    """Anhøj runs analysis (see :func:`runs`) around each series' median, one row per series."""
    ordered, series, keys = _long_from_frame(frame, by, order)
    value_array = ordered[value].to_numpy(float)
    medians = ordered.groupby(series)[value].transform("median").to_numpy(float)
    n_series = int(series.max()) + 1 if len(series) else 0
    result = _runs_long(value_array, medians, series, n_series).as_frame()
    layout = _layout(series, np.zeros(len(series), dtype=bool))
    by_keys = keys[list(by)] if keys is not None else None
    return _summary_frame(result, by_keys, layout)


# ---------------------------------------------------------------------------------------------
# attribute charts (p, u)


def _attribute_long(
    kind: str,
    x: np.ndarray,
    n: np.ndarray,
    series: np.ndarray,
    rebase: np.ndarray,
    laney: bool,
    per: float,
    rules: str,
    improvement: str | None,
    target,
    shift: int,
    trend: int,
    keys: pd.DataFrame | None,
) -> Chart:
    _check_improvement(improvement)
    _check_rules(rules)
    layout = _layout(series, rebase)
    valid = ~np.isnan(x) & (n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(valid, x / n, np.nan)
        centre = (_block_sum(layout, x, valid) / _block_sum(layout, n, valid))[layout.block]
        variance = centre * (1 - centre) if kind == "p" else centre
        sigma = np.sqrt(variance / n)
        if laney:
            # Laney (2002): sigma_z from the mean moving range of the z-scores, over d2 = 1.128
            z = (value - centre) / sigma
            mr = _moving_range(layout, z, valid & np.isfinite(z))
            sigma_z = _block_mean(layout, mr, ~np.isnan(mr)) / D2
            sigma = sigma * sigma_z[layout.block]
        sigma = np.where(valid, sigma, np.nan)
    upper, lower = centre + 3 * sigma, centre - 3 * sigma
    upper_2s, lower_2s = centre + 2 * sigma, centre - 2 * sigma
    lower, lower_2s = np.maximum(lower, 0.0), np.maximum(lower_2s, 0.0)
    if kind == "p":
        upper, upper_2s = np.minimum(upper, 1.0), np.minimum(upper_2s, 1.0)
    if rules == "nhs":
        rule, direction = _rules(
            layout, value, centre, lower, upper, lower_2s, upper_2s, trend, shift
        )
    else:
        with np.errstate(invalid="ignore"):
            outside = (value > upper) | (value < lower)
            direction = np.where(outside, np.nan_to_num(np.sign(value - centre)), 0).astype(int)
        rule = np.where(outside, "outside", None).astype(object)
    signal = _signal(rule, direction, improvement)
    scale = float(per)
    frame = _frame(
        layout,
        {
            "numerator": x,
            "denominator": n,
            "value": value * scale,
            "centre": centre * scale,
            "lower": lower * scale,
            "upper": upper * scale,
            "lower_2s": lower_2s * scale,
            "upper_2s": upper_2s * scale,
            "rule": rule,
            "signal": signal,
        },
        keys,
    )
    summary = _summary(layout, signal, lower * scale, upper * scale, improvement, target)
    runs_result = _runs_long(value, centre, layout.series, layout.n_series).as_frame()
    runs_result = runs_result.rename(columns={"signal": "runs_signal"})
    summary = pd.concat([summary, runs_result], axis=1)
    return Chart(frame=frame, summary=_summary_frame(summary, keys, layout))


def p_chart(
    x,
    n,
    laney: bool = False,
    rules: str = "anhoej",
    improvement: str | None = None,
    target=None,
    rebase=None,
    shift: int = 7,
    trend: int = 7,
) -> Chart:
    """p chart (proportions) or Laney p' chart.

    Method: Montgomery, Introduction to Statistical Quality Control, p chart, as implemented
    in qicharts2 (``qic.p``, ``qic.pp``). Per segment, ``p = sum(x) / sum(n)`` and
    ``sigma_i = sqrt(p (1 - p) / n_i)``; limits ``p -+ 3 sigma_i`` clipped to [0, 1], and
    2-sigma lines ``p -+ 2 sigma_i``.

    Laney p' (Laney 2002, "Improved control charts for attributes", Quality Engineering
    14:531-537): ``z_i = (p_i - p) / sigma_i``, ``sigma_z = mean(|z_i - z_(i-1)|) / 1.128`` and
    ``sigma_i' = sigma_i sigma_z``.

    ``rules="anhoej"`` (qicharts2) flags points outside the limits and reports the Anhøj
    runs analysis in ``summary``; ``rules="nhs"`` applies the Making Data Count rules of
    :func:`xmr` to the same limits.

    Parameters
    ----------
    x, n : array_like
        Numerators and denominators: 1-d for one series, 2-d (series x time) for many.
    laney : bool
        Use Laney's p' limits for large or over-dispersed denominators.
    rules : {"anhoej", "nhs"}
        Points outside the limits plus the runs analysis, or the Making Data Count rules.
    improvement, target, rebase, shift, trend
        As for :func:`xmr`.

    Returns
    -------
    Chart
    """
    value, (n_long,), series, flags, _ = _as_long(x, n, rebase=rebase)
    return _attribute_long(
        "p",
        value,
        n_long,
        series,
        flags,
        laney,
        1,
        rules,
        improvement,
        target,
        shift,
        trend,
        None,
    )


def u_chart(
    x,
    exposure,
    laney: bool = False,
    per: float = 1,
    rules: str = "anhoej",
    improvement: str | None = None,
    target=None,
    rebase=None,
    shift: int = 7,
    trend: int = 7,
) -> Chart:
    """u chart (rates per unit of exposure) or Laney u' chart.

    Method: Montgomery, u chart, as implemented in qicharts2 (``qic.u``, ``qic.up``). Per
    segment ``u = sum(x) / sum(exposure)`` and ``sigma_i = sqrt(u / exposure_i)``; limits
    ``u -+ 3 sigma_i`` (the lower clipped at 0). Laney u' scales sigma_i by
    ``sigma_z = mean moving range of z / 1.128`` as for :func:`p_chart`. Values, centre and
    limits are multiplied by ``per`` (e.g. 1000 for a rate per 1,000 patient days); ``target``
    is on that scale.

    Returns
    -------
    Chart
    """
    value, (t_long,), series, flags, _ = _as_long(x, exposure, rebase=rebase)
    return _attribute_long(
        "u",
        value,
        t_long,
        series,
        flags,
        laney,
        per,
        rules,
        improvement,
        target,
        shift,
        trend,
        None,
    )


def _attribute_many(kind, frame, by, x, n, order, rebase, target, **options) -> Chart:
    ordered, series, keys = _long_from_frame(frame, by, order)
    flags = ordered[rebase].fillna(False).to_numpy(bool) if rebase else np.zeros(len(series), bool)
    return _attribute_long(
        kind,
        ordered[x].to_numpy(float),
        ordered[n].to_numpy(float),
        series,
        flags,
        target=_series_target(ordered, series, target),
        keys=keys,
        **options,
    )


def p_chart_many(
    frame: pd.DataFrame,
    by: Sequence[str],
    x: str = "numerator",
    n: str = "denominator",
    order: str | None = None,
    rebase: str | None = None,
    laney: bool = False,
    rules: str = "anhoej",
    improvement: str | None = None,
    target: str | float | None = None,
    shift: int = 7,
    trend: int = 7,
) -> Chart:
    """p (or Laney p') charts for every series of a long frame in one pass (see :func:`p_chart`).

    ``frame`` has one row per point; ``by`` names the columns identifying a series, ``order``
    the time column and ``rebase`` an optional boolean column marking segment starts. The
    result's ``frame`` holds the ``by`` and ``order`` columns followed by ``position``,
    ``segment``, ``numerator``, ``denominator``, ``value``, ``centre``, ``lower``, ``upper``,
    ``lower_2s``, ``upper_2s``, ``rule`` and ``signal``; its ``summary`` has one row per
    series with ``variation_icon``, ``assurance`` and the Anhøj runs analysis.
    """
    return _attribute_many(
        "p",
        frame,
        by,
        x,
        n,
        order,
        rebase,
        target,
        laney=laney,
        per=1,
        rules=rules,
        improvement=improvement,
        shift=shift,
        trend=trend,
    )


def u_chart_many(
    frame: pd.DataFrame,
    by: Sequence[str],
    x: str = "numerator",
    exposure: str = "denominator",
    order: str | None = None,
    rebase: str | None = None,
    laney: bool = False,
    per: float = 1,
    rules: str = "anhoej",
    improvement: str | None = None,
    target: str | float | None = None,
    shift: int = 7,
    trend: int = 7,
) -> Chart:
    """u (or Laney u') charts for every series of a long frame in one pass (see :func:`u_chart`).

    The columns returned are those of :func:`p_chart_many`, with values and limits per ``per``
    units of exposure.
    """
    return _attribute_many(
        "u",
        frame,
        by,
        x,
        exposure,
        order,
        rebase,
        target,
        laney=laney,
        per=per,
        rules=rules,
        improvement=improvement,
        shift=shift,
        trend=trend,
    )
