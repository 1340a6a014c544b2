"""The nightly refresh: aggregates from the measure store into Observations, then Signals."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from equilean.engine import compute, organisation, store
from equilean.metrics import detect, privacy
from equilean.metrics.catalogue import engine_catalogue, sync_measures
from equilean.metrics.models import Measure, Observation, Signal
from equilean.org.models import Node

log = logging.getLogger(__name__)
VALUE_FIELDS = [
    "numerator",
    "denominator",
    "count",
    "mean",
    "sum_sq",
    "median",
    "numerator_hidden",
    "denominator_hidden",
]
KEY_FIELDS = ["measure_id", "node_id", "grain", "period", "dimension", "group"]
STAGE_TABLE = "refresh_observation_stage"


@dataclass
class RefreshReport:
    """What a refresh did, for the command's output and the operations log."""

    measures: int = 0
    measures_retired: int = 0
    aggregate_rows: int = 0
    observations_written: int = 0
    observations_deleted: int = 0
    unknown_nodes: list[str] = field(default_factory=list)
    signals_new: int = 0
    signals_updated: int = 0
    signals_reopened: int = 0
    signals_cleared: int = 0

    def lines(self) -> list[str]:
        return [
            f"measures: {self.measures}"
            + (f", retired: {self.measures_retired}" if self.measures_retired else ""),
            f"aggregate rows: {self.aggregate_rows:,}",
            f"observations written: {self.observations_written:,}, "
            f"deleted: {self.observations_deleted:,}",
            f"signals new: {self.signals_new}, updated: {self.signals_updated}, "
            f"reopened: {self.signals_reopened}, no longer detected: {self.signals_cleared}",
            *(
                [f"rows for nodes not in the tree (skipped): {', '.join(self.unknown_nodes)}"]
                if self.unknown_nodes
                else []
            ),
        ]


def organisation_from_db() -> organisation.Organisation:
    """The app's tree in the engine's shape, so rollups follow what the admins maintain."""
    nodes = list(Node.objects.select_related("parent").order_by("path"))
    children: dict[str, list[str]] = {}
    for node in nodes:
        if node.parent_id:
            children.setdefault(node.parent.code, []).append(node.code)
    engine_nodes = {
        n.code: organisation.OrgNode(
            code=n.code,
            name=n.name,
            level=n.level,
            parent=n.parent.code if n.parent_id else None,
            kind=n.kind or None,
            children=tuple(children.get(n.code, ())),
        )
        for n in nodes
    }
    roots = [n.code for n in nodes if not n.parent_id]
    if len(roots) != 1:
        raise ValueError(f"the tree needs exactly one system node, found {len(roots)}")
    return organisation.Organisation(nodes=engine_nodes, root=roots[0])


def refresh(
    con=None,
    *,
    grains: tuple[str, ...] = ("month",),
    settings: detect.Settings | None = None,
    end: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> RefreshReport:
    """Compute every active measure, upsert Observations, and raise or update Signals.

    `end` (exclusive) defaults to the first day of the current month, so only whole months
    are charted and compared.
    """
    step = progress or (lambda label: None)
    report = RefreshReport()
    con = con or store.connect()
    catalogue = engine_catalogue()
    step("Syncing measures")
    measures = sync_measures(catalogue)
    report.measures = len(measures)
    retire_measures(measures, report)
    step("Computing aggregates")
    end = end or timezone.localdate().replace(day=1)
    frame = compute.compute(
        con, list(catalogue.measures.values()), grains=grains, org=organisation_from_db(), end=end
    )
    report.aggregate_rows = len(frame)
    settings = settings or detect.Settings()
    measure_table = pd.DataFrame(
        [
            {"measure": m.code, "kind": m.kind, "better": m.better, "per": m.per}
            for m in measures.values()
        ]
    )
    windows = detect.trailing_windows(
        frame, measure_table, settings, count=detect.window_count(settings)
    )
    step("Writing observations")
    cells = pd.concat([frame, window_rows(windows, settings)], ignore_index=True)
    cells = _with_ids(cells, measures, report)
    parent_of = dict(Node.objects.filter(parent__isnull=False).values_list("code", "parent__code"))
    cells = pd.concat([cells, privacy.suppression_flags(cells, parent_of)], axis=1)
    write_observations(cells, report)
    step("Detecting signals")
    found = attach_suppression(
        detect.detect(frame, measure_table, settings, windows=windows), cells
    )
    step("Writing signals")
    write_signals(found, measures, report)
    return report


def attach_suppression(found: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Mark each signal's evidence hidden when its group's or reference's counts are."""
    if found.empty:
        return found
    flags = cells.assign(hidden=cells["numerator_hidden"] | cells["denominator_hidden"])[
        ["measure", "node", "grain", "period", "dimension", "group", "hidden"]
    ]
    keys = ["measure", "node", "grain", "period", "dimension"]
    found = found.rename(columns={"cell_grain": "grain", "cell_period": "period"})
    found = found.merge(flags, on=[*keys, "group"], how="left")
    reference = flags.rename(columns={"group": "reference", "hidden": "reference_hidden"})
    found = found.merge(reference, on=[*keys, "reference"], how="left")
    hidden = found["hidden"].fillna(False).astype(bool) | found["reference_hidden"].fillna(
        False
    ).astype(bool)
    found["evidence"] = [
        {**evidence, "hidden": bool(h)}
        for evidence, h in zip(found["evidence"], hidden, strict=True)
    ]
    return found


def window_rows(windows: pd.DataFrame, settings: detect.Settings) -> pd.DataFrame:
    """Trailing-window sums as observation rows: grain "<n>m", period = the first month."""
    if windows.empty:
        return pd.DataFrame()
    months = settings.window_months
    start = windows["window_end"] - pd.DateOffset(months=months - 1)
    rows = windows.drop(columns=["window_end", "kind", "better", "per"]).assign(
        grain=f"{months}m",
        period=start.dt.date,
        months=[[(s + pd.DateOffset(months=k)).date() for k in range(months)] for s in start],
    )
    continuous = rows["count"].notna()
    rows["sum"] = rows["numerator"].where(continuous)
    return rows


def _with_ids(
    frame: pd.DataFrame, measures: dict[str, Measure], report: RefreshReport
) -> pd.DataFrame:
    node_ids = dict(Node.objects.values_list("code", "id"))
    unknown = sorted(set(frame["node"]) - set(node_ids))
    report.unknown_nodes = unknown
    frame = frame[frame["node"].isin(node_ids)].reset_index(drop=True)
    frame["node_id"] = frame["node"].map(node_ids)
    frame["measure_id"] = frame["measure"].map({k: m.id for k, m in measures.items()})
    frame["period"] = pd.to_datetime(frame["period"]).dt.date
    continuous = frame["count"].notna()
    frame["mean"] = np.where(continuous, frame["sum"] / frame["count"], np.nan)
    return frame


def retire_measures(current: dict[str, Measure], report: RefreshReport) -> None:
    """Hide measures gone from the catalogue and delete their observations and signals."""
    gone = Measure.objects.exclude(code__in=list(current))
    with transaction.atomic():
        report.observations_deleted += Observation.objects.filter(measure__in=gone).delete()[0]
        Signal.objects.filter(measure__in=gone).delete()
        report.measures_retired = gone.filter(active=True).update(active=False)


def write_observations(frame: pd.DataFrame, report: RefreshReport) -> None:
    """Upsert only what changed and delete cells that disappeared, in one short transaction."""
    new = frame[KEY_FIELDS + VALUE_FIELDS].copy()
    # Every measure's cells, so a measure with no rows any more loses its stale ones too.
    existing = pd.DataFrame.from_records(
        Observation.objects.values_list("id", *KEY_FIELDS, *VALUE_FIELDS),
        columns=["id", *KEY_FIELDS, *VALUE_FIELDS],
    )
    merged = new.merge(existing, on=KEY_FIELDS, how="outer", suffixes=("", "_old"), indicator=True)
    gone = merged.loc[merged["_merge"] == "right_only", "id"].astype(int).tolist()
    current = merged[merged["_merge"] != "right_only"]
    changed = np.zeros(len(current), dtype=bool)
    for name in VALUE_FIELDS:
        a = pd.to_numeric(current[name], errors="coerce").to_numpy(dtype=float)
        b = pd.to_numeric(current[f"{name}_old"], errors="coerce").to_numpy(dtype=float)
        same = np.isclose(a, b, rtol=1e-12, atol=0, equal_nan=True)
        changed |= ~same
    rows = [
        tuple(_clean(v) for v in row)
        for row in current.loc[changed, KEY_FIELDS + VALUE_FIELDS].itertuples(index=False)
    ]
    quote = connection.ops.quote_name
    table = quote(Observation._meta.db_table)
    columns = ", ".join(quote(name) for name in KEY_FIELDS + VALUE_FIELDS)
    updates = ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in VALUE_FIELDS)
    keys = ", ".join(quote(name) for name in KEY_FIELDS)
    # Stage the rows outside any transaction: the write lock is then held only while the
    # database copies them in, so pages and logins never wait behind a long refresh.
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGE_TABLE} AS SELECT {columns} FROM {table} WHERE 1 = 0"
        )
        try:
            placeholders = ", ".join(["%s"] * len(KEY_FIELDS + VALUE_FIELDS))
            cursor.executemany(
                f"INSERT INTO {STAGE_TABLE} ({columns}) VALUES ({placeholders})", rows
            )
            with transaction.atomic():
                for start in range(0, len(gone), 5000):
                    Observation.objects.filter(id__in=gone[start : start + 5000]).delete()
                # "WHERE 1 = 1" keeps SQLite from reading ON CONFLICT as a join constraint.
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {STAGE_TABLE} "
                    f"WHERE 1 = 1 ON CONFLICT ({keys}) DO UPDATE SET {updates}"
                )
        finally:
            cursor.execute(f"DROP TABLE {STAGE_TABLE}")
    report.observations_written = len(rows)
    report.observations_deleted += len(gone)


def _clean(value):
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return None if value is pd.NA else value


def write_signals(found: pd.DataFrame, measures: dict[str, Measure], report: RefreshReport) -> None:
    """Create new signals, update changed ones, reopen resolved ones that came back."""
    nodes = {n.code: n for n in Node.objects.all()}
    now = timezone.now()
    existing = {
        (s.kind, s.measure.code, s.node.code, s.dimension, s.group): s
        for s in Signal.objects.select_related("measure", "node")
    }
    seen = set()
    with transaction.atomic():
        for row in found.to_dict("records"):
            if row["node"] not in nodes:
                continue
            key = (row["kind"], row["measure"], row["node"], row["dimension"], row["group"])
            seen.add(key)
            values = {
                "direction": row["direction"],
                "period_start": row["period_start"],
                "period_end": row["period_end"],
                "summary": row["summary"][:300],
                "evidence": row["evidence"],
                "still_detected": True,
            }
            signal = existing.get(key)
            if signal is None:
                Signal.objects.create(
                    kind=row["kind"],
                    measure=measures[row["measure"]],
                    node=nodes[row["node"]],
                    dimension=row["dimension"],
                    group=row["group"],
                    first_detected=now,
                    last_detected=now,
                    **values,
                )
                report.signals_new += 1
                continue
            reopen = (
                signal.status == Signal.Status.RESOLVED
                and signal.resolved_at
                and values["period_end"] > timezone.localdate(signal.resolved_at)
            )
            if reopen:
                signal.status = Signal.Status.NEW
                signal.resolved_at = signal.resolved_by = None
                report.signals_reopened += 1
            if reopen or any(getattr(signal, k) != v for k, v in values.items()):
                for name, value in values.items():
                    setattr(signal, name, value)
                signal.last_detected = now
                signal.save()
                report.signals_updated += not reopen
        stale = [s.pk for key, s in existing.items() if key not in seen and s.still_detected]
        Signal.objects.filter(pk__in=stale).update(still_detected=False)
        report.signals_cleared = len(stale)
