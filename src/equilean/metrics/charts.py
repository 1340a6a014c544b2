"""Charts for the measure pages: SPC, stratified rates, small multiples and funnel plots.

Every function takes frames already masked by `frames.observations_for`, so a suppressed
point reaches a chart only as a gap. The statistics come from `equilean.engine.stats`; the
specs are Vega-Lite (built with Altair) and drawn in the browser by the local bundle that
`bundle_path` writes once under EQUILEAN_HOME.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
from importlib.metadata import version
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
from django.conf import settings

from equilean.engine.stats import disparity, funnel, spc

# Laney's p'/u' above this mean denominator, as detection does (`detect.Settings.laney_above`).
LANEY_ABOVE = 1000
MIN_DENOMINATOR = 30
SIGNAL_STYLE = {
    # signal: (label, colour, shape); the shape and the label carry the meaning, not the colour.
    "common_cause": ("Common cause", "#5b6670", "circle"),
    "improvement": ("Special cause: improvement", "#1d4f91", "triangle-up"),
    "concern": ("Special cause: concern", "#b35c00", "diamond"),
    "neutral_high": ("Special cause: high", "#6a3d9a", "square"),
    "neutral_low": ("Special cause: low", "#6a3d9a", "square"),
}
NO_LIMITS_SUPPRESSED = (
    "Centre line and limits are not shown because some months are suppressed; "
    "they would let a reader work out the hidden counts."
)

# ---------------------------------------------------------------------------------------------
# The JavaScript bundle

# `ast` interprets Vega expressions instead of compiling them with `new Function`, and no
# default stylesheets are injected (app.css styles the tooltip): the Content-Security-Policy
# allows neither eval nor inline CSS.
SNIPPET = """
const CHART_OPTIONS = {
  actions: false,
  renderer: "svg",
  ast: true,
  defaultStyle: false,
  tooltip: {disableDefaultStyle: true},
};
function equileanCharts(root) {
  root.querySelectorAll("[data-vega-spec]").forEach((el) => {
    const source = document.getElementById(el.dataset.vegaSpec);
    if (!source || el.dataset.drawn) return;
    el.dataset.drawn = "1";
    vegaEmbed(el, JSON.parse(source.textContent), CHART_OPTIONS)
      .then(() => { el.dataset.drawn = "done"; })
      .catch(() => { el.textContent = "No chart drawn; the table has the numbers."; });
  });
}
window.equileanCharts = equileanCharts;
document.addEventListener("DOMContentLoaded", () => equileanCharts(document));
document.addEventListener("htmx:afterSettle", (event) => equileanCharts(event.target));
"""


def bundle_version() -> str:
    """Changes whenever the bundle's content would: the vl-convert release and our snippet."""
    digest = hashlib.sha256(f"{version('vl-convert-python')}{SNIPPET}".encode()).hexdigest()
    return digest[:12]


def bundle_path() -> Path:
    """Vega, Vega-Lite, vega-embed and our loader in one file, built on first use (~2 s)."""
    path = Path(settings.HOME) / "assets" / f"charts-{bundle_version()}.js"
    if not path.exists():
        import vl_convert

        schema = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
        text = vl_convert.javascript_bundle(SNIPPET, vl_version=schema)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a concurrent request never serves half a file.
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    return path


# ---------------------------------------------------------------------------------------------
# Statistics on masked frames


def display_scale(measure) -> float:
    """Factor from the engine's proportions (0-1) to the page's scale (e.g. percent)."""
    return float(measure.per) if measure.kind == "proportion" else 1.0


def plotted_value(frame: pd.DataFrame, measure) -> pd.Series:
    """The value charted for each row: the rate, the mean or the median (missing if hidden)."""
    if measure.kind == "mean":
        return frame["mean"].astype(float)
    if measure.kind == "median":
        return frame["median"].astype(float)
    return frame["rate"].astype(float)


def spc_series(points: pd.DataFrame, measure) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SPC for every group's monthly series in `points` (masked rows with a `group` column).

    Returns the points with value, centre, lower, upper, signal and rule, and a summary per
    group with `limits_shown`, `reason`, `variation_icon` and `assurance`. A series with any
    suppressed month, a missing value or fewer than two months gets no limits at all.
    """
    points = points.sort_values(["group", "period"], ignore_index=True)
    points["value"] = plotted_value(points, measure)
    by_group = points.groupby("group", sort=False)
    hidden = by_group["suppressed"].transform("any").astype(bool)
    missing = by_group["value"].transform(lambda v: v.isna().any()).astype(bool)
    if not measure.is_continuous:
        missing |= by_group["denominator"].transform(lambda n: (n <= 0).any()).astype(bool)
    short = by_group["period"].transform("size") < 2
    charted = points[~(hidden | missing | short)]
    for column in ("centre", "lower", "upper"):
        points[column] = np.nan
    points["signal"], points["rule"] = None, None
    summary = pd.DataFrame({"group": points["group"].unique()})
    summary["limits_shown"] = summary["group"].isin(charted["group"])
    reasons = pd.Series(
        np.select(
            [
                summary["group"].isin(points.loc[hidden, "group"]),
                summary["group"].isin(points.loc[short, "group"]),
            ],
            [NO_LIMITS_SUPPRESSED, "Too few months for limits."],
            default="Some months have no value, so there are no limits.",
        )
    )
    summary["reason"] = reasons.where(~summary["limits_shown"], "")
    summary["variation_icon"], summary["assurance"] = None, None
    if charted.empty:
        return points, summary
    chart = _chart(charted, measure)
    scale = display_scale(measure) if measure.kind == "proportion" else 1.0
    result = chart.frame[["group", "period", "centre", "lower", "upper", "signal", "rule"]].copy()
    result[["centre", "lower", "upper"]] *= scale
    points = points.drop(columns=["centre", "lower", "upper", "signal", "rule"]).merge(
        result, on=["group", "period"], how="left"
    )
    icons = chart.summary[["group", "variation_icon", "assurance"]]
    summary = summary.drop(columns=["variation_icon", "assurance"]).merge(
        icons, on="group", how="left"
    )
    return points, summary


def _chart(charted: pd.DataFrame, measure) -> spc.Chart:
    improvement = "decrease" if measure.better == "lower" else "increase"
    target = measure.target
    with np.errstate(all="ignore"):
        if measure.is_continuous:
            return spc.xmr_many(
                charted,
                by=["group"],
                value="value",
                order="period",
                improvement=improvement,
                target=target,
            )
        laney = bool(charted["denominator"].mean() > LANEY_ABOVE)
        if measure.kind == "rate":
            return spc.u_chart_many(
                charted,
                by=["group"],
                order="period",
                laney=laney,
                per=float(measure.per),
                rules="nhs",
                improvement=improvement,
                target=target,
            )
        return spc.p_chart_many(
            charted,
            by=["group"],
            order="period",
            laney=laney,
            rules="nhs",
            improvement=improvement,
            target=None if target is None else target / display_scale(measure),
        )


def stratified(window: pd.DataFrame, measure) -> pd.DataFrame:
    """Each group of one trailing window compared with the largest group (AHRQ rule).

    Only groups the viewer can see take part: a suppressed group keeps its row, blank, and
    is never the reference. Continuous measures get their means or medians, uncompared.
    """
    groups = window[window["dimension"] != "overall"].reset_index(drop=True)
    shown = groups[~groups["suppressed"].astype(bool)]
    columns = ["group", "numerator", "denominator", "count", "suppressed"]
    if measure.is_continuous or shown.empty:
        out = groups[columns].copy()
        out["rate"] = plotted_value(groups, measure)
        return out.assign(is_reference=False, reference=None, significant=False, unknown=False)
    with np.errstate(all="ignore"):
        compared = disparity.compare(
            shown[["group", "numerator", "denominator"]],
            reference="largest",
            better=measure.better,
            min_denominator=MIN_DENOMINATOR,
            kind=measure.kind,
            per=float(measure.per),
        )
    scale = display_scale(measure)
    for column in ("rate", "lower", "upper", "difference", "difference_lower", "difference_upper"):
        compared[column] = compared[column] * scale
    merged = groups[["group", "count", "suppressed"]].merge(
        compared.drop(columns=["significant_bh"]), on="group", how="left"
    )
    merged["is_reference"] = merged["is_reference"].fillna(False).astype(bool)
    # Unknown and declined answers are a completeness matter, never an equity gap (as detect).
    merged["unknown"] = merged["group"].astype(str).str.lower().isin(disparity.UNKNOWN_GROUPS)
    merged["significant"] = merged["significant"].fillna(False).astype(bool) & ~merged["unknown"]
    return merged


def funnel_points(children: pd.DataFrame, parent_rate: float | None, measure) -> pd.DataFrame:
    """Funnel limits (95% and 99.8%) around the parent's rate at a grid of denominators."""
    shown = children[~children["suppressed"].astype(bool) & (children["denominator"] > 0)]
    if (
        measure.is_continuous
        or shown.empty
        or parent_rate is None
        or not math.isfinite(parent_rate)
        or parent_rate <= 0
    ):
        return pd.DataFrame()
    low, high = shown["denominator"].min(), shown["denominator"].max()
    grid = np.unique(np.geomspace(max(low * 0.8, 1), high * 1.2, 60).round())
    scale = float(measure.per)
    target = parent_rate / scale
    out = pd.DataFrame({"denominator": grid})
    with np.errstate(all="ignore"):
        for confidence, name in ((0.95, "95"), (0.998, "998")):
            if measure.kind == "proportion":
                lower, upper = funnel.proportion_limits(target, grid, confidence)
            else:
                lower, upper = funnel.ratio_limits(target * grid, confidence)
                lower, upper = np.asarray(lower) * target, np.asarray(upper) * target
            out[f"lower_{name}"] = np.asarray(lower) * scale
            out[f"upper_{name}"] = np.asarray(upper) * scale
    return out


# ---------------------------------------------------------------------------------------------
# Vega-Lite specs


def records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    """JSON-safe rows: dates as ISO text and missing values as null."""
    rows = []
    # A column no row could fill (e.g. intervals when every group is suppressed) is null.
    for row in frame.reindex(columns=columns).to_dict("records"):
        rows.append({key: _json(value) for key, value in row.items()})
    return rows


def _json(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value


def _signal_encodings():
    labels = list(SIGNAL_STYLE)
    return (
        alt.Color(
            "signal:N",
            title="Variation",
            scale=alt.Scale(domain=labels, range=[s[1] for s in SIGNAL_STYLE.values()]),
            legend=alt.Legend(labelExpr=_label_expr()),
        ),
        alt.Shape(
            "signal:N",
            scale=alt.Scale(domain=labels, range=[s[2] for s in SIGNAL_STYLE.values()]),
            legend=None,
        ),
    )


def _label_expr() -> str:
    cases = " : ".join(f"datum.label == '{k}' ? '{v[0]}'" for k, v in SIGNAL_STYLE.items())
    return f"{cases} : datum.label"


SPC_FIELDS = [
    "group",
    "period",
    "numerator",
    "denominator",
    "value",
    "centre",
    "lower",
    "upper",
    "signal",
    "suppressed",
]


def spc_spec(points: pd.DataFrame, measure, facet: bool = False) -> dict:
    """An SPC chart (or, with `facet`, one small chart per group) as a Vega-Lite spec."""
    data = alt.Data(values=records(points, SPC_FIELDS))
    axis_title = measure.unit_label or measure.get_kind_display()
    base = alt.Chart(data).encode(x=alt.X("period:T", title=None))
    value = alt.Y("value:Q", title=axis_title, scale=alt.Scale(zero=False))
    colour, shape = _signal_encodings()
    layers = [
        base.mark_line(color="#5b6670", strokeWidth=1.5).encode(y=value),
        base.mark_line(color="#1b1f24", strokeWidth=1).encode(y="centre:Q"),
        base.mark_line(color="#4a5360", strokeDash=[4, 3], interpolate="step-after").encode(
            y="lower:Q"
        ),
        base.mark_line(color="#4a5360", strokeDash=[4, 3], interpolate="step-after").encode(
            y="upper:Q"
        ),
        base.mark_point(filled=True, size=55).encode(
            y=value,
            color=colour,
            shape=shape,
            tooltip=[
                alt.Tooltip("period:T", title="Month", format="%b %Y"),
                alt.Tooltip("value:Q", title=axis_title, format=",.2f"),
                alt.Tooltip("numerator:Q", format=","),
                alt.Tooltip("denominator:Q", format=","),
            ],
        ),
    ]
    chart = alt.layer(*layers)
    if facet:
        chart = chart.properties(width=240, height=140).facet(
            facet=alt.Facet("group:N", title=None), columns=3
        )
    else:
        chart = chart.properties(width=720, height=260)
    return chart.to_dict(validate=False)


STATUSES = ("Reference", "Gap", "No significant gap", "Not compared", "Unknown or declined")
STRATIFIED_FIELDS = [
    "group",
    "numerator",
    "denominator",
    "rate",
    "lower",
    "upper",
    "status",
    "suppressed",
]


def stratified_spec(rows: pd.DataFrame, measure, reference_rate: float | None) -> dict:
    """Rates by group with their confidence intervals and the reference group's rate."""
    data = alt.Data(values=records(rows, STRATIFIED_FIELDS))
    order = rows["group"].tolist()
    base = alt.Chart(data).encode(y=alt.Y("group:N", sort=order, title=None))
    axis_title = measure.unit_label or measure.get_kind_display()
    layers = [
        base.mark_rule(color="#4a5360").encode(x=alt.X("lower:Q", title=axis_title), x2="upper:Q"),
        base.mark_point(filled=True, size=80).encode(
            x="rate:Q",
            shape=alt.Shape(
                "status:N",
                title="Compared with the reference",
                scale=alt.Scale(
                    domain=[*STATUSES],
                    range=["square", "diamond", "circle", "triangle-up", "cross"],
                ),
            ),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(
                    domain=[*STATUSES],
                    range=["#1b1f24", "#b35c00", "#1d4f91", "#5b6670", "#5b6670"],
                ),
                legend=None,
            ),
            tooltip=["group:N", "rate:Q", "lower:Q", "upper:Q", "numerator:Q", "denominator:Q"],
        ),
    ]
    if reference_rate is not None and math.isfinite(reference_rate):
        line = alt.Chart(alt.Data(values=[{"reference": reference_rate}]))
        layers.append(line.mark_rule(strokeDash=[6, 3], color="#1b1f24").encode(x="reference:Q"))
    return (
        alt.layer(*layers)
        .properties(width=720, height=max(120, 26 * len(rows)))
        .to_dict(validate=False)
    )


FUNNEL_FIELDS = ["node", "node_name", "numerator", "denominator", "rate", "suppressed"]


def funnel_spec(units: pd.DataFrame, limits: pd.DataFrame, target: float, measure) -> dict:
    """Child units' rates against their size, inside 95% and 99.8% funnel limits."""
    axis_title = measure.unit_label or measure.get_kind_display()
    shown = units[~units["suppressed"].astype(bool)]
    points = alt.Chart(alt.Data(values=records(shown, FUNNEL_FIELDS))).mark_point(
        filled=True, size=70, color="#1d4f91"
    )
    layers = [
        points.encode(
            x=alt.X("denominator:Q", title="Denominator", scale=alt.Scale(type="log")),
            y=alt.Y("rate:Q", title=axis_title),
            tooltip=["node_name:N", "rate:Q", "numerator:Q", "denominator:Q"],
        )
    ]
    grid = alt.Chart(alt.Data(values=records(limits, list(limits.columns))))
    for name, dash in (("95", [4, 3]), ("998", [1, 2])):
        for side in ("lower", "upper"):
            layers.append(
                grid.mark_line(color="#4a5360", strokeDash=dash).encode(
                    x="denominator:Q", y=f"{side}_{name}:Q"
                )
            )
    target_line = alt.Chart(alt.Data(values=[{"target": target}]))
    layers.append(target_line.mark_rule(color="#1b1f24").encode(y="target:Q"))
    return alt.layer(*layers).properties(width=720, height=280).to_dict(validate=False)
