"""Finding signals in the aggregates: special causes, equity gaps, persistent gaps, completeness.

Pure pandas over the engine's tidy aggregate frame, calling `equilean.engine.stats` once per
family of series; no Django, so it is tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from equilean.engine.stats import disparity, spc

SERIES_KEYS = ["measure", "node", "dimension", "group"]
COMPLETENESS_MEASURES = {"race_ethnicity_completeness", "language_completeness"}
# cell_grain and cell_period name the observation holding the signal's counts, so refresh can
# attach that cell's suppression flags to the evidence.
SIGNAL_COLUMNS = [
    "kind",
    "measure",
    "node",
    "dimension",
    "group",
    "direction",
    "period_start",
    "period_end",
    "summary",
    "evidence",
    "cell_grain",
    "cell_period",
    "reference",
]


@dataclass(frozen=True)
class Settings:
    """How sensitive detection is; every value has a documented default."""

    window_months: int = 3
    persistent_windows: int = 3
    reference: str = "largest"
    min_denominator: float = 30
    # A group's SPC series is charted only when its points average at least this many cases.
    min_points: int = 12
    min_series_denominator: float = 20
    # Rare-event series (fewer events than this per month on average) are not signalled:
    # their many zero months look like long runs below the mean to the run rules.
    min_events_per_point: float = 5
    # Laney's p'/u' when a series' points average more cases than this (overdispersion).
    laney_above: float = 1000
    confidence: float = 0.95


def _month_frame(frame: pd.DataFrame, measures: pd.DataFrame) -> pd.DataFrame:
    monthly = frame[frame["grain"] == "month"].merge(measures, on="measure")
    monthly["period"] = pd.to_datetime(monthly["period"])
    return monthly


def special_causes(frame: pd.DataFrame, measures: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Series whose latest month is special-cause variation (NHS Making Data Count rules)."""
    monthly = _month_frame(frame, measures)
    if monthly.empty:
        return pd.DataFrame(columns=SIGNAL_COLUMNS)
    stats = monthly.groupby(SERIES_KEYS, observed=True).agg(
        points=("period", "size"),
        mean_n=("denominator", "mean"),
        mean_x=("numerator", "mean"),
        continuous=("count", "count"),
    )
    enough_events = (stats.continuous > 0) | (stats.mean_x >= settings.min_events_per_point)
    keep = stats[
        (stats.points >= settings.min_points)
        & (stats.mean_n >= settings.min_series_denominator)
        & enough_events
    ].index
    monthly = monthly.set_index(SERIES_KEYS).loc[keep].reset_index()
    charts = []
    # Series are charted in families sharing a chart type, direction and scale (`per`).
    for (kind, better, per), part in monthly.groupby(["kind", "better", "per"], observed=True):
        improvement = "decrease" if better == "lower" else "increase"
        large = part.groupby(SERIES_KEYS)["denominator"].transform("mean") > settings.laney_above
        for laney, subset in part.groupby(large):
            if subset.empty:
                continue
            if kind in ("mean", "median"):
                values = subset.assign(
                    value=subset["numerator"] / subset["denominator"]
                    if kind == "mean"
                    else subset["median"]
                )
                chart = spc.xmr_many(
                    values, by=SERIES_KEYS, value="value", order="period", improvement=improvement
                )
            elif kind == "rate":
                chart = spc.u_chart_many(
                    subset,
                    by=SERIES_KEYS,
                    order="period",
                    laney=bool(laney),
                    improvement=improvement,
                    rules="nhs",
                    per=float(per),
                )
            else:
                chart = spc.p_chart_many(
                    subset,
                    by=SERIES_KEYS,
                    order="period",
                    laney=bool(laney),
                    improvement=improvement,
                    rules="nhs",
                )
            points = chart.frame
            latest = points.loc[points.groupby(SERIES_KEYS)["period"].idxmax()]
            charts.append(latest.assign(laney=bool(laney), chart=kind))
    if not charts:
        return pd.DataFrame(columns=SIGNAL_COLUMNS)
    latest = pd.concat(charts, ignore_index=True)
    hits = latest[latest["signal"].isin(["improvement", "concern"])].copy()
    if hits.empty:
        return pd.DataFrame(columns=SIGNAL_COLUMNS)
    completeness = hits["measure"].isin(COMPLETENESS_MEASURES) & (hits["signal"] == "concern")
    hits["kind"] = np.where(completeness, "completeness_drop", "special_cause")
    hits["direction"] = hits["signal"]
    hits["period_start"] = hits["period"].dt.date
    hits["cell_grain"], hits["cell_period"], hits["reference"] = "month", hits["period_start"], None
    hits["period_end"] = (hits["period"] + pd.offsets.MonthEnd(0)).dt.date
    hits["summary"] = [
        f"{'Improvement' if s == 'improvement' else 'Concern'}: {rule.replace('_', ' ')} rule "
        f"fired in {p:%b %Y}" + ("" if d == "overall" else f" for {g}")
        for s, rule, p, d, g in zip(
            hits["signal"],
            hits["rule"].fillna("special cause"),
            hits["period"],
            hits["dimension"],
            hits["group"],
            strict=True,
        )
    ]
    hits["evidence"] = [
        {
            "rule": _text(rule),
            "value": _num(v),
            "centre": _num(c),
            "lower": _num(lo),
            "upper": _num(hi),
            "chart": chart + ("'" if laney else ""),
            "period": f"{p:%Y-%m-%d}",
        }
        for rule, v, c, lo, hi, chart, laney, p in zip(
            hits["rule"],
            hits["value"],
            hits["centre"],
            hits["lower"],
            hits["upper"],
            hits["chart"],
            hits["laney"],
            hits["period"],
            strict=True,
        )
    ]
    return hits[SIGNAL_COLUMNS].reset_index(drop=True)


def _num(value) -> float | None:
    """A JSON-safe number: missing and infinite values (e.g. a ratio over a zero rate) -> None."""
    if value is None or pd.isna(value) or not np.isfinite(float(value)):
        return None
    return round(float(value), 6)


def _text(value) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def trailing_windows(
    frame: pd.DataFrame, measures: pd.DataFrame, settings: Settings, count: int
) -> pd.DataFrame:
    """Numerator and denominator summed over the trailing windows ending at each of the last
    `count` months, for every series (overall and stratified)."""
    monthly = _month_frame(frame, measures)
    if monthly.empty:
        return monthly.assign(window_end=pd.Series(dtype="datetime64[ns]"))
    last = monthly["period"].max()
    ends = pd.date_range(end=last, periods=count, freq="MS")
    pieces = []
    for end in ends:
        start = end - pd.DateOffset(months=settings.window_months - 1)
        inside = monthly[(monthly["period"] >= start) & (monthly["period"] <= end)]
        pieces.append(inside.assign(window_end=end))
    windows = pd.concat(pieces, ignore_index=True)
    sums = ["numerator", "denominator", "count", "sum_sq"]
    keys = ["window_end", "measure", "kind", "better", "per", "node", "dimension", "group"]
    return windows.groupby(keys, observed=True, dropna=False)[sums].sum(min_count=1).reset_index()


def gaps(windows: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Every group compared with its reference in every window (AHRQ rule, BH per node)."""
    results = []
    windows = windows[windows["dimension"] != "overall"]
    for (kind, better, per), part in windows.groupby(["kind", "better", "per"], observed=True):
        if kind not in ("proportion", "rate", "mean"):
            continue  # medians have no sufficient statistics to compare; see the docs
        columns = [
            "window_end",
            "measure",
            "node",
            "dimension",
            "group",
            "numerator",
            "denominator",
            *(["sum_sq"] if kind == "mean" else []),
        ]
        compared = disparity.compare(
            part[columns],
            reference=settings.reference,
            better=better,
            confidence=settings.confidence,
            min_denominator=settings.min_denominator,
            kind=kind,
            per=per,
            by=["window_end", "measure", "node", "dimension"],
        )
        results.append(compared.assign(kind=kind, better=better, per=per))
    if not results:
        return pd.DataFrame()
    compared = pd.concat(results, ignore_index=True)
    # Benjamini-Hochberg across all of a node's comparisons in a window, not just one table's.
    family = compared.groupby(["window_end", "node"], sort=False).ngroup().to_numpy()
    compared["q_node"] = disparity.benjamini_hochberg(
        compared["p_value"].to_numpy(), family=family
    ).q_values
    alpha = 1 - settings.confidence
    adverse = np.where(
        compared["better"] == "lower",
        compared["relative_difference"] >= 0.10,
        compared["relative_difference"] <= -0.10,
    )
    # Unknown and declined answers are a data-completeness matter, reported in the tables and
    # the completeness panel, not raised as equity gaps.
    missing_answer = compared["group"].astype(str).str.lower().isin(disparity.UNKNOWN_GROUPS)
    compared["gap"] = adverse & (compared["q_node"] < alpha) & ~missing_answer
    return compared


def equity_gaps(windows: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Significant gaps in the latest window, and those that held for several windows."""
    compared = gaps(windows, settings)
    if compared.empty:
        return pd.DataFrame(columns=SIGNAL_COLUMNS)
    compared = compared.sort_values(["measure", "node", "dimension", "group", "window_end"])
    latest_end = compared["window_end"].max()
    keys = ["measure", "node", "dimension", "group"]
    # Consecutive windows with a gap, counted back from the latest one.
    streak = (
        compared.assign(broken=~compared["gap"])
        .groupby(keys, observed=True)["broken"]
        .transform(lambda s: (~s[::-1].cummax()).sum())
    )
    compared["streak"] = streak
    latest = compared[(compared["window_end"] == latest_end) & compared["gap"]].copy()
    if latest.empty:
        return pd.DataFrame(columns=SIGNAL_COLUMNS)
    start = latest_end - pd.DateOffset(months=settings.window_months - 1)
    rows = []
    for persistent in (False, True):
        chosen = latest[latest["streak"] >= settings.persistent_windows] if persistent else latest
        if chosen.empty:
            continue
        out = chosen.copy()
        out["kind"] = "persistent_gap" if persistent else "equity_gap"
        out["direction"] = "concern"
        months = settings.window_months + (out["streak"] - 1 if persistent else 0)
        out["period_start"] = (
            [(latest_end - pd.DateOffset(months=int(m) - 1)).date() for m in months]
            if persistent
            else start.date()
        )
        out["period_end"] = (latest_end + pd.offsets.MonthEnd(0)).date()
        # No numbers in the summary: they live in the evidence, where suppression applies.
        out["summary"] = [
            f"{g} {'higher' if b == 'lower' else 'lower'} than {ref}"
            f"{' for ' + str(int(s)) + ' windows running' if persistent else ''}"
            for g, b, ref, s in zip(
                out["group"], out["better"], out["reference"], out["streak"], strict=True
            )
        ]
        out["cell_grain"], out["cell_period"] = f"{settings.window_months}m", start.date()
        out["evidence"] = [_gap_evidence(row, settings) for row in out.itertuples(index=False)]
        rows.append(out)
    return pd.concat(rows, ignore_index=True)[SIGNAL_COLUMNS]


def _gap_evidence(row, settings: Settings) -> dict:
    return {
        "reference": _text(row.reference),
        "numerator": _num(row.numerator),
        "denominator": _num(row.denominator),
        "rate": _num(row.rate),
        "lower": _num(row.lower),
        "upper": _num(row.upper),
        "difference": _num(row.difference),
        "ratio": _num(row.ratio),
        "ratio_lower": _num(row.ratio_lower),
        "ratio_upper": _num(row.ratio_upper),
        "relative_difference": _num(row.relative_difference),
        "p_value": _num(row.p_value),
        "q_value": _num(row.q_node),
        "excess_events": _num(row.excess_events),
        "windows_running": int(row.streak),
        "window_months": settings.window_months,
        "rule": "AHRQ: relative difference >= 10% adverse, BH-adjusted p < 0.05",
    }


def window_count(settings: Settings) -> int:
    """How many trailing windows detection looks at: enough to see a gap persist."""
    return settings.persistent_windows + 3


def detect(
    frame: pd.DataFrame,
    measures: pd.DataFrame,
    settings: Settings | None = None,
    windows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """All signals in one frame with SIGNAL_COLUMNS.

    `frame` is the engine's tidy aggregate (compute output, level/node/grain/period/...);
    `measures` has one row per measure with columns measure, kind, better and per.
    """
    settings = settings or Settings()
    if windows is None:
        windows = trailing_windows(frame, measures, settings, count=window_count(settings))
    found = [special_causes(frame, measures, settings), equity_gaps(windows, settings)]
    found = [f for f in found if not f.empty]
    if not found:
        return pd.DataFrame(columns=SIGNAL_COLUMNS)
    return pd.concat(found, ignore_index=True)
