"""Pages for measures and equity: the catalogue, a measure at a node, and the equity dashboard.

Every number on these pages (and in their CSV/XLSX exports) comes from
`frames.observations_for` or `privacy.visible_evidence`, so scope and small-cell suppression
are applied in one place; the views only arrange what those return.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pandas as pd
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from equilean.engine import dimensions as engine_dimensions
from equilean.engine.stats.disparity import UNKNOWN_GROUPS
from equilean.metrics import charts, exports
from equilean.metrics.detect import COMPLETENESS_MEASURES, Settings
from equilean.metrics.exports import Column, Table
from equilean.metrics.frames import COLUMNS as FRAME_COLUMNS
from equilean.metrics.frames import observations_for
from equilean.metrics.models import Measure, Signal, SignalNoteMissing, SignalStateError
from equilean.metrics.privacy import Viewer, visible_evidence
from equilean.org.models import Node
from equilean.org.roles import Action
from equilean.org.scope import can

WINDOW_GRAIN = f"{Settings().window_months}m"
# Strongest first: what a cell of the dashboard's matrix shows when several signals apply.
SIGNAL_RANK = {
    ("persistent_gap", "concern"): 5,
    ("equity_gap", "concern"): 4,
    ("completeness_drop", "concern"): 3,
    ("special_cause", "concern"): 2,
    ("special_cause", "improvement"): 1,
}
VARIATION = {
    "common_cause": ("Common cause variation", "~"),
    "improvement_high": ("Special cause: improvement, high values", "H"),
    "improvement_low": ("Special cause: improvement, low values", "L"),
    "concern_high": ("Special cause: concern, high values", "H"),
    "concern_low": ("Special cause: concern, low values", "L"),
    "neutral_high": ("Special cause: high values", "H"),
    "neutral_low": ("Special cause: low values", "L"),
}
ASSURANCE = {
    "pass": ("Will consistently meet the target", "P"),
    "fail": ("Will consistently miss the target", "F"),
    "inconsistent": ("May or may not meet the target", "?"),
}


@cache
def dimension_names() -> dict[str, str]:
    """Display names of the built-in dimensions, with "overall" first."""
    names = {d.id: d.name for d in engine_dimensions.builtin_dimensions(()).values()}
    return {"overall": "Overall", **names}


def dimension_label(dimension: str) -> str:
    return dimension_names().get(dimension, dimension.replace("_", " ").capitalize())


def _node(request, code: str) -> Node:
    return get_object_or_404(Node.objects.for_user(request.user, Action.VIEW), code=code)


def _export_or_none(request, tables: dict[str, Table], *parts: str):
    """The download asked for by ?export=csv|xlsx&table=<name>, or None for the page."""
    fmt = request.GET.get("export")
    if not fmt:
        return None
    if fmt not in exports.FORMATS:
        return HttpResponseBadRequest("export must be csv or xlsx")
    table = tables.get(request.GET.get("table", ""))
    if table is None:
        return HttpResponseBadRequest(f"table must be one of: {', '.join(tables)}")
    return exports.export(table, fmt, *parts)


# ---------------------------------------------------------------------------------------------
# Catalogue


@login_required
@require_GET
def catalogue(request):
    measures = list(Measure.objects.filter(active=True))
    frame = pd.DataFrame(
        [
            {
                "measure": m.name,
                "code": m.code,
                "pillar": m.get_pillar_display(),
                "kind": m.get_kind_display(),
                "better": m.get_better_display(),
                "target": m.target,
                "unit": m.unit_label,
                "dimensions": ", ".join(dimension_label(d) for d in m.dimensions),
            }
            for m in measures
        ],
        columns=["measure", "code", "pillar", "kind", "better", "target", "unit", "dimensions"],
    )
    table = Table(
        "catalogue",
        "Measures in the catalogue",
        [
            Column("measure", "Measure", "text"),
            Column("code", "Code", "text"),
            Column("pillar", "Pillar", "text"),
            Column("kind", "Type", "text"),
            Column("better", "Better when", "text"),
            Column("target", "Target", "number"),
            Column("unit", "Unit", "text"),
            Column("dimensions", "Stratified by", "text"),
        ],
        frame,
    )
    download = _export_or_none(request, {"catalogue": table}, "measures")
    if download:
        return download
    return render(
        request,
        "metrics/catalogue.html",
        {"measures": measures, "table": table, "export_formats": list(exports.FORMATS)},
    )


@login_required
@require_GET
def measure_definition(request, measure: str):
    measure = get_object_or_404(Measure, code=measure, active=True)
    home = getattr(getattr(request.user, "profile", None), "home_node", None)
    return render(
        request,
        "metrics/measure.html",
        {
            "measure": measure,
            "dimensions": [dimension_label(d) for d in measure.dimensions],
            "node": home if home and can(request.user, Action.VIEW, home) else None,
        },
    )


@login_required
@require_GET
def charts_js(request):
    """The local Vega bundle; the version in its query string lets browsers keep it a year."""
    response = FileResponse(
        charts.bundle_path().open("rb"), content_type="text/javascript; charset=utf-8"
    )
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


# ---------------------------------------------------------------------------------------------
# A measure at a node


def _value_columns(measure, prefix: str = "") -> list[Column]:
    """The count and value columns of a series table, by the measure's kind."""
    unit = f" ({measure.unit_label})" if measure.unit_label else ""
    if measure.is_continuous:
        return [
            Column("denominator", "Patients", "count"),
            Column("value", f"{measure.get_kind_display()}{unit}", "number"),
        ]
    return [
        Column("numerator", "Numerator", "count"),
        Column("denominator", "Denominator", "count"),
        Column("value", f"{prefix}Rate{unit}", "number", 2),
    ]


def _spc_columns(measure) -> list[Column]:
    return [
        Column("period", "Month", "text"),
        *_value_columns(measure),
        Column("centre", "Centre line", "number", 2),
        Column("lower", "Lower limit", "number", 2),
        Column("upper", "Upper limit", "number", 2),
        Column("signal_label", "Variation", "text"),
        Column("suppressed", "Suppressed", "flag"),
    ]


def _signal_labels(points: pd.DataFrame) -> pd.Series:
    labels = {k: v[0] for k, v in charts.SIGNAL_STYLE.items()}
    return points["signal"].map(labels).fillna("")


def _icon(table: dict, name) -> dict | None:
    if name is None or (isinstance(name, float) and math.isnan(name)) or name not in table:
        return None
    label, glyph = table[name]
    return {"name": name, "label": label, "glyph": glyph}


@login_required
@require_GET
def node_measure(request, code: str, measure: str):
    node = _node(request, code)
    measure = get_object_or_404(Measure, code=measure, active=True)
    viewer = Viewer(request.user)
    unsuppressed = viewer.unsuppressed_at(node)
    dimension = request.GET.get("dimension") or (
        measure.dimensions[0] if measure.dimensions else "overall"
    )
    if dimension != "overall" and dimension not in measure.dimensions:
        raise Http404(f"{measure.name} is not stratified by {dimension}")
    rows = observations_for(
        request.user, viewer, measure=measure, node=node, dimension__in=["overall", dimension]
    )
    monthly = rows[rows["grain"] == "month"]
    overall_points, overall_summary = charts.spc_series(
        monthly[monthly["dimension"] == "overall"].copy(), measure
    )
    overall_points["signal_label"] = _signal_labels(overall_points)
    group_rows = monthly[monthly["dimension"] == dimension].copy()
    group_points, group_summary = (
        charts.spc_series(group_rows, measure) if not group_rows.empty else (group_rows, None)
    )
    if not group_rows.empty:
        group_points["signal_label"] = _signal_labels(group_points)

    windows = rows[rows["grain"] == WINDOW_GRAIN]
    latest = windows["period"].max() if not windows.empty else None
    window = windows[windows["period"] == latest] if latest is not None else windows
    strata = charts.stratified(window[window["dimension"] == dimension], measure)
    strata = _order_groups(strata, dimension)
    strata["status"] = np.select(
        [
            strata["is_reference"],
            strata["unknown"],
            strata["significant"],
            strata.get("ratio", pd.Series(np.nan, index=strata.index)).notna(),
        ],
        ["Reference", "Unknown or declined", "Gap", "No significant gap"],
        default="Not compared",
    )
    overall_window = window[window["dimension"] == "overall"]
    parent_rate = (
        float(charts.plotted_value(overall_window, measure).iloc[0])
        if not overall_window.empty
        else None
    )
    reference_row = strata[strata["is_reference"]]
    reference_rate = float(reference_row["rate"].iloc[0]) if not reference_row.empty else None

    children = (
        observations_for(
            request.user,
            viewer,
            measure=measure,
            node__parent=node,
            grain=WINDOW_GRAIN,
            dimension="overall",
            period=latest,
        )
        if latest is not None
        else pd.DataFrame(columns=FRAME_COLUMNS)
    )
    limits = (
        charts.funnel_points(children, parent_rate, measure)
        if not children.empty
        else pd.DataFrame()
    )
    # A unit has no units below it; a department or hospital always has the (maybe empty) table.
    has_units_below = node.children.exists()
    funnel_table = _funnel_table(children, limits, measure) if has_units_below else None

    tables = {
        "spc": Table(
            "spc",
            f"{measure.name} at {node.name}, by month",
            _spc_columns(measure),
            overall_points.assign(period=overall_points["period"].astype(str)),
        ),
        "stratified": _stratified_table(strata, measure, dimension, latest),
        "groups": Table(
            "groups",
            f"{measure.name} by month for each group of {dimension_label(dimension)}",
            [Column("group", "Group", "text"), *_spc_columns(measure)],
            group_points.assign(period=group_points["period"].astype(str))
            if not group_rows.empty
            else pd.DataFrame(columns=["group", "period", "suppressed"]),
        ),
    }
    if funnel_table is not None:
        tables["funnel"] = funnel_table
    download = _export_or_none(request, tables, node.code, measure.code)
    if download:
        return download

    overall = overall_summary.iloc[0].to_dict() if not overall_summary.empty else {}
    context = {
        "node": node,
        "measure": measure,
        "unsuppressed": unsuppressed,
        "dimension": dimension,
        "dimension_name": dimension_label(dimension),
        "dimension_choices": [(d, dimension_label(d)) for d in measure.dimensions],
        "latest": latest,
        "window_end": (pd.Timestamp(latest) + pd.DateOffset(months=Settings().window_months - 1))
        if latest is not None
        else None,
        "tables": tables,
        "overall": overall,
        "variation": _icon(VARIATION, overall.get("variation_icon")),
        "assurance": _icon(ASSURANCE, overall.get("assurance")),
        "group_summaries": _group_summaries(group_summary),
        "gap": _widest_gap(strata, measure),
        "reference_rate": reference_rate,
        "specs": {
            "spc": charts.spc_spec(overall_points, measure) if not overall_points.empty else None,
            "stratified": charts.stratified_spec(strata, measure, reference_rate)
            if not strata.empty
            else None,
            "groups": charts.spc_spec(group_points, measure, facet=True)
            if not group_rows.empty
            else None,
            "funnel": charts.funnel_spec(children, limits, parent_rate, measure)
            if not limits.empty
            else None,
        },
        "charts_version": charts.bundle_version(),
        "export_formats": list(exports.FORMATS),
        "open_signals": Signal.objects.for_user(request.user)
        .open()
        .filter(node=node, measure=measure)
        .count(),
    }
    template = (
        "metrics/_by_dimension.html"
        if request.htmx and request.GET.get("partial") == "dimension"
        else "metrics/node_measure.html"
    )
    return render(request, template, context)


def _order_groups(strata: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Groups in the dimension's display order (unknown and declined last)."""
    known = {d.id: d.groups for d in engine_dimensions.builtin_dimensions(()).values()}
    order = {g: i for i, g in enumerate(known.get(dimension, ()))}
    position = strata["group"].map(order).fillna(len(order)).to_numpy()
    return strata.iloc[np.lexsort((strata["group"].to_numpy(str), position))].reset_index(drop=True)


def _stratified_table(strata: pd.DataFrame, measure, dimension: str, latest) -> Table:
    unit = f" ({measure.unit_label})" if measure.unit_label else ""
    frame = strata.rename(columns={"rate": "value"})
    if measure.is_continuous:
        frame = frame.assign(denominator=frame.get("count", frame["denominator"]))
        columns = [Column("group", "Group", "text"), *_value_columns(measure)]
    else:
        columns = [
            Column("group", "Group", "text"),
            *_value_columns(measure),
            Column("lower", "95% CI lower", "number", 2),
            Column("upper", "95% CI upper", "number", 2),
            Column("status", "Compared with the reference", "text"),
            Column("difference", f"Difference{unit}", "number", 2),
            Column("ratio", "Ratio", "number", 2),
            Column("excess_events", "Excess events", "number"),
        ]
    period = f" in the 3 months from {latest:%b %Y}" if latest is not None else ""
    return Table(
        "stratified",
        f"{measure.name} by {dimension_label(dimension)}{period}",
        [*columns, Column("suppressed", "Suppressed", "flag")],
        frame,
    )


def _funnel_table(children: pd.DataFrame, limits: pd.DataFrame, measure) -> Table:
    frame = children.assign(value=charts.plotted_value(children, measure))
    if not limits.empty:
        n = frame["denominator"].to_numpy(float)
        grid = limits["denominator"].to_numpy(float)
        inside = np.full(len(frame), "", dtype=object)
        for name, label in (("998", "99.8%"), ("95", "95%")):
            low = np.interp(n, grid, limits[f"lower_{name}"].to_numpy(float))
            high = np.interp(n, grid, limits[f"upper_{name}"].to_numpy(float))
            with np.errstate(invalid="ignore"):
                value = frame["value"].to_numpy(float)
                outside = (value < low) | (value > high)
            inside = np.where((inside == "") & outside, f"Outside {label} limits", inside)
        frame["position"] = np.where(
            frame["value"].isna(), "", np.where(inside == "", "Inside 95% limits", inside)
        )
    else:
        frame["position"] = ""
    return Table(
        "funnel",
        f"{measure.name}: units below this node in the latest window",
        [
            Column("node_name", "Unit", "text"),
            *_value_columns(measure),
            Column("position", "Funnel", "text"),
            Column("suppressed", "Suppressed", "flag"),
        ],
        frame,
    )


def _group_summaries(summary: pd.DataFrame | None) -> list[dict]:
    if summary is None:
        return []
    return [
        {
            "group": row["group"],
            "limits_shown": bool(row["limits_shown"]),
            "reason": row["reason"],
            "variation": _icon(VARIATION, row["variation_icon"]),
        }
        for row in summary.to_dict("records")
    ]


def _widest_gap(strata: pd.DataFrame, measure) -> dict | None:
    """The significant gap with the largest relative difference, for the summary sentence."""
    if measure.is_continuous or "relative_difference" not in strata:
        return None
    gaps = strata[strata["significant"]]
    if gaps.empty:
        return None
    row = gaps.loc[gaps["relative_difference"].abs().idxmax()]
    return {
        "group": row["group"],
        "reference": row["reference"],
        "rate": row["rate"],
        "reference_rate": strata.loc[strata["is_reference"], "rate"].iloc[0],
        "ratio": row["ratio"],
        "excess_events": row["excess_events"],
    }


# ---------------------------------------------------------------------------------------------
# The equity dashboard


def _rank(signal: Signal) -> int:
    return SIGNAL_RANK.get((signal.kind, signal.direction), 0)


def _signal_view(signal: Signal, viewer: Viewer) -> dict:
    """A signal with its evidence as the viewer may see it, on the page's scale."""
    shown = viewer.unsuppressed_at(signal.node)
    evidence = visible_evidence(signal.evidence, shown)
    scale = charts.display_scale(signal.measure)
    # Special-cause evidence comes from SPC, which already charts on the page's scale for
    # rates; p charts chart 0-1 proportions.
    scaled = {
        k: (v * scale if isinstance(v, int | float) and v is not None else v)
        for k, v in evidence.items()
        if k in ("rate", "lower", "upper", "difference", "value", "centre")
    }
    return {
        "signal": signal,
        "evidence": {**evidence, **scaled},
        "hidden": bool(signal.evidence.get("hidden")) and not shown,
        "dimension_name": dimension_label(signal.dimension),
        "rank": _rank(signal),
    }


def _signals_table(items: list[dict]) -> Table:
    frame = pd.DataFrame(
        [
            {
                "kind": item["signal"].get_kind_display(),
                "measure": item["signal"].measure.name,
                "dimension": item["dimension_name"],
                "group": item["signal"].group,
                "status": item["signal"].get_status_display(),
                "summary": item["signal"].summary,
                "period": f"{item['signal'].period_start} to {item['signal'].period_end}",
                "numerator": item["evidence"].get("numerator"),
                "denominator": item["evidence"].get("denominator"),
                "rate": item["evidence"].get("rate", item["evidence"].get("value")),
                "ratio": item["evidence"].get("ratio"),
                "excess_events": item["evidence"].get("excess_events"),
                "suppressed": item["hidden"],
            }
            for item in items
        ],
        columns=[
            "kind",
            "measure",
            "dimension",
            "group",
            "status",
            "summary",
            "period",
            "numerator",
            "denominator",
            "rate",
            "ratio",
            "excess_events",
            "suppressed",
        ],
    )
    return Table(
        "signals",
        "Open signals at this node",
        [
            Column("kind", "Signal", "text"),
            Column("measure", "Measure", "text"),
            Column("dimension", "Dimension", "text"),
            Column("group", "Group", "text"),
            Column("status", "Status", "text"),
            Column("summary", "Summary", "text"),
            Column("period", "Period", "text"),
            Column("numerator", "Numerator", "count"),
            Column("denominator", "Denominator", "count"),
            Column("rate", "Rate", "number", 2),
            Column("ratio", "Ratio", "number", 2),
            Column("excess_events", "Excess events", "number"),
            Column("suppressed", "Suppressed", "flag"),
        ],
        frame,
    )


def _completeness(request, viewer: Viewer, node: Node) -> Table:
    """Completeness of race/ethnicity and language, and the share answered Unknown/declined."""
    rows = observations_for(
        request.user,
        viewer,
        node=node,
        grain=WINDOW_GRAIN,
        measure__code__in=sorted(COMPLETENESS_MEASURES),
        dimension__in=["overall", "race_ethnicity", "language"],
    )
    items = []
    if not rows.empty:
        rows = rows[rows["period"] == rows["period"].max()]
        for code, label in (
            ("race_ethnicity_completeness", "Race and ethnicity recorded"),
            ("language_completeness", "Preferred language recorded"),
        ):
            overall = rows[(rows["measure"] == code) & (rows["dimension"] == "overall")]
            for row in overall.to_dict("records"):
                items.append(_share(label, row["numerator"], row["denominator"], row["suppressed"]))
        # The share of patients in the Unknown or declined groups, from the other measure's
        # stratification (each completeness measure is stratified by the other dimension).
        for code, dimension, label in (
            ("language_completeness", "race_ethnicity", "Race and ethnicity unknown or declined"),
            ("race_ethnicity_completeness", "language", "Language unknown"),
        ):
            part = rows[(rows["measure"] == code) & (rows["dimension"] == dimension)]
            total = rows[(rows["measure"] == code) & (rows["dimension"] == "overall")]
            if part.empty or total.empty:
                continue
            missing = part[part["group"].str.lower().isin(UNKNOWN_GROUPS)]
            hidden = bool(missing["suppressed"].any() or total["suppressed"].any())
            items.append(
                _share(
                    label,
                    missing["denominator"].sum(min_count=1) if not hidden else None,
                    total["denominator"].iloc[0] if not hidden else None,
                    hidden,
                )
            )
    frame = pd.DataFrame(items, columns=["item", "numerator", "denominator", "share", "suppressed"])
    return Table(
        "completeness",
        "Data completeness in the latest 3 months",
        [
            Column("item", "Item", "text"),
            Column("numerator", "Patients", "count"),
            Column("denominator", "Of", "count"),
            Column("share", "Share", "percent"),
            Column("suppressed", "Suppressed", "flag"),
        ],
        frame,
    )


def _share(label, numerator, denominator, suppressed) -> dict:
    ok = numerator is not None and denominator and not pd.isna(numerator) and denominator > 0
    return {
        "item": label,
        "numerator": numerator if ok else None,
        "denominator": denominator if ok else None,
        "share": numerator / denominator if ok else None,
        "suppressed": bool(suppressed),
    }


def _matrix_table(matrix: list[dict], columns: list[str]) -> Table:
    """The measure x dimension matrix as a downloadable table."""
    matrix_frame = pd.DataFrame(
        [
            {
                "measure": row["measure"].name,
                **{
                    cell["dimension"]: (
                        cell["item"]["signal"].get_kind_display()
                        + (
                            f": {cell['item']['signal'].group}"
                            if cell["dimension"] != "overall"
                            else ""
                        )
                        if cell["item"]
                        else ("No open signal" if cell["stratified"] else "Not stratified")
                    )
                    for cell in row["cells"]
                },
            }
            for row in matrix
        ],
        columns=["measure", *columns],
    )
    return Table(
        "matrix",
        "Strongest open signal by measure and dimension",
        [Column("measure", "Measure", "text")]
        + [Column(d, dimension_label(d), "text") for d in columns],
        matrix_frame,
    )


SIGNALS_SHOWN = 10


@login_required
@require_GET
def equity_dashboard(request, code: str):
    node = _node(request, code)
    request.session["current_node"] = node.code
    viewer = Viewer(request.user)
    measures = list(Measure.objects.filter(active=True))
    signals = list(
        Signal.objects.for_user(request.user)
        .open()
        .filter(node=node)
        .select_related("measure", "node", "acknowledged_by__profile")
    )
    items = sorted(
        (_signal_view(s, viewer) for s in signals),
        key=lambda item: (-item["rank"], item["signal"].measure.name, item["signal"].group),
    )
    strongest: dict[tuple[str, str], dict] = {}
    for item in items:
        strongest.setdefault((item["signal"].measure.code, item["signal"].dimension), item)
    used = {d for m in measures for d in m.dimensions}
    columns = [d for d in dimension_names() if d == "overall" or d in used]
    columns += sorted(used - set(columns))
    matrix = [
        {
            "measure": m,
            "cells": [
                {
                    "dimension": d,
                    "stratified": d == "overall" or d in m.dimensions,
                    "item": strongest.get((m.code, d)),
                }
                for d in columns
            ],
        }
        for m in measures
    ]
    tables = {
        "signals": _signals_table(items),
        "completeness": _completeness(request, viewer, node),
    }
    if request.GET.get("export"):
        # The matrix as a table is only needed for its download; the page draws it directly.
        tables["matrix"] = _matrix_table(matrix, columns)
    download = _export_or_none(request, tables, node.code, "equity")
    if download:
        return download
    below = (
        Signal.objects.for_user(request.user)
        .open()
        .filter(node__parent=node)
        .values("node__code", "node__name")
        .annotate(open=Count("id"))
        .order_by("node__name")
    )
    context = {
        "node": node,
        "ancestors": [a for a in node.ancestors() if a.pk != node.pk],
        "columns": [(d, dimension_label(d)) for d in columns],
        "matrix": matrix,
        "items": items if request.GET.get("signals") == "all" else items[:SIGNALS_SHOWN],
        "signal_count": len(items),
        "tables": tables,
        "can_respond": can(request.user, Action.RESPOND, node),
        "unsuppressed": viewer.unsuppressed_at(node),
        "below": list(below),
        "export_formats": list(exports.FORMATS),
    }
    return render(request, "metrics/equity.html", context)


STEPS = ("acknowledge", "link", "resolve")


@login_required
@require_POST
def signal_action(request, code: str, pk: int, step: str):
    """Acknowledge, link or resolve a signal; an htmx call gets the updated signal back."""
    node = _node(request, code)
    signal = get_object_or_404(
        Signal.objects.for_user(request.user).filter(node=node).select_related("measure", "node"),
        pk=pk,
    )
    if not can(request.user, Action.RESPOND, signal.node):
        raise PermissionDenied("Your roles do not let you respond to signals at this node.")
    status, note_error = 200, None
    try:
        if step == "acknowledge":
            signal.acknowledge(request.user)
            done = "Signal acknowledged."
        elif step == "link":
            signal.link_to(request.user, request.POST.get("reference", ""))
            done = f"Signal linked to {signal.link}."
        else:
            signal.resolve(request.user, request.POST.get("note", ""))
            done = "Signal resolved."
        messages.success(request, done)
    except SignalStateError as exc:
        messages.error(request, str(exc))
        done, status = str(exc), 409
    except SignalNoteMissing as exc:
        messages.error(request, str(exc))
        done, note_error = None, str(exc)
    if request.htmx:
        item = _signal_view(signal, Viewer(request.user))
        # The message is shown inline, so it must not appear again on the next page.
        list(messages.get_messages(request))
        # A missing note answers 200: htmx swaps no 4xx response, and the form must show it.
        return render(
            request,
            "metrics/_signal.html",
            {
                "item": item,
                "node": node,
                "can_respond": True,
                "notice": done,
                "note_error": note_error,
            },
            status=status,
        )
    return redirect(reverse("metrics:equity", args=[node.code]) + f"#signal-{signal.pk}")
