"""Measures x dimensions -> aggregates by org level, period and group, pushed down through Ibis."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import operator
from collections.abc import Iterable, Mapping, Sequence

import ibis
import ibis.common.exceptions as ibis_exc
import pandas as pd
import pyarrow as pa

from equilean.engine import dimensions as dims
from equilean.engine import organisation
from equilean.engine.errors import InputError
from equilean.engine.measures import PATIENT_COLUMNS, Measure, builtin_catalogue

log = logging.getLogger(__name__)

LEVELS = ("unit", "department", "hospital", "system")
GRAINS = {"day": "D", "week": "W", "month": "M"}
OVERALL = "overall"
ALL = "All"
COLUMNS = (
    "measure",
    "level",
    "node",
    "grain",
    "period",
    "dimension",
    "group",
    "numerator",
    "denominator",
    "count",
    "sum",
    "sum_sq",
    "median",
)
# DuckDB computes a batch over a table with more rows than this in date ranges (see `_plan`).
CHUNK_ROWS = 1_000_000
_KEY = {"unit": "_unit", "department": "_department", "hospital": "_hospital", "system": "_system"}


def _resolve_measures(measures) -> list[Measure]:
    if measures is None:
        return list(builtin_catalogue().measures.values())
    if isinstance(measures, Mapping):
        measures = measures.values()
    known = builtin_catalogue().measures
    out = []
    for m in measures:
        if isinstance(m, Measure):
            out.append(m)
        elif m in known:
            out.append(known[m])
        else:
            raise InputError(
                f"unknown measure '{m}'",
                field="measures",
                hint="use a built-in id or pass Measure objects",
            )
    return out


def _resolve_dimensions(measure: Measure, dimensions) -> list[dims.Dimension]:
    if dimensions is None or isinstance(dimensions, Mapping):
        lookup = dict(builtin_catalogue().dimensions)
        lookup.update(dimensions or {})
        wanted = measure.dimensions
    else:
        lookup = builtin_catalogue().dimensions
        wanted = dimensions
    out = []
    for d in wanted:
        if isinstance(d, dims.Dimension):
            out.append(d)
        elif d in lookup:
            out.append(lookup[d])
        else:
            raise InputError(
                f"unknown dimension '{d}' for measure '{measure.id}'",
                field="dimensions",
                hint=f"use one of {', '.join(sorted(lookup))}",
            )
    return out


def _has_table(con, name: str) -> bool:
    # Asking for the table, not listing them all: DuckDB 1.5 deprecates what list_tables uses.
    try:
        con.table(name)
    except ibis_exc.TableNotFound:
        return False
    return True


def _rollup_table(org: organisation.Organisation) -> ibis.Table:
    rows = org.unit_rollup()
    return ibis.memtable(pa.table({_KEY[level]: [r[level] for r in rows] for level in LEVELS}))


def _joined(con, measure: Measure, needs_race: bool, start, end) -> ibis.Table:
    """The measure table's rows dated in ``[start, end)``, with patient columns, age and race."""
    table = con.table(measure.table)
    patients = con.table("patients")
    date = table[measure.date]
    # Bounds compared with the stored column, not its date, so DuckDB filters while scanning;
    # a timestamp is on or after a day exactly when it is at or after the day's midnight.
    kind = date.type()
    if start is not None:
        table = table.filter(date >= ibis.literal(start, type="date").cast(kind))
    if end is not None:
        table = table.filter(date < ibis.literal(end, type="date").cast(kind))
    date = table[measure.date]
    rel = table.mutate(_date=date.date() if kind.is_timestamp() else date)
    rel = rel.filter(rel._date.notnull())
    people = patients.select(*PATIENT_COLUMNS, _pid=patients.patient_id)
    rel = rel.left_join(people, rel.patient_id == people._pid).drop("_pid")
    rel = rel.mutate(age=dims.age_at(rel.birth_date, rel._date))
    if needs_race:
        derived = dims.patient_race_ethnicity(patients).rename(_pid="patient_id")
        rel = rel.left_join(derived, rel.patient_id == derived._pid).drop("_pid")
    return rel


def _measure_columns(rel: ibis.Table, i: int, measure: Measure) -> dict[str, ibis.Value]:
    """Measure `i`'s per-row inputs: ``_n<i>``/``_d<i>`` (proportion, rate) or ``_v<i>``."""
    den = measure.denominator.compile(rel)
    if measure.type == "rate":
        num = measure.numerator.compile(rel)
        return {f"_n{i}": num.cast("float64"), f"_d{i}": den.cast("float64")}
    inside = den.fill_null(False)
    if measure.type == "proportion":
        # 0/1 as one byte: DuckDB keeps these rows in memory (see `_plan`); `_sums` casts them
        # to doubles, which DuckDB sums faster than it counts with a FILTER clause.
        event = inside & measure.numerator.compile(rel).fill_null(False)
        return {f"_d{i}": inside.cast("int8"), f"_n{i}": event.cast("int8")}
    value = measure.value.compile(rel).cast("float64")
    return {f"_v{i}": ibis.ifelse(inside, value, ibis.null().cast("float64"))}


def batch_rows(
    con,
    batch: Sequence[Measure],
    dimensions: Sequence[dims.Dimension],
    grains: Sequence[str],
    org: organisation.Organisation,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ibis.Table:
    """The rows of measures sharing a table, date and unit column, ready to group, in Ibis.

    Columns: ``_unit`` (and ``_department``, ``_hospital``, ``_system`` when a mean or median
    is in the batch), ``_p_<grain>``, ``_g_<dimension id>`` and, for the i-th measure,
    ``_n<i>`` / ``_d<i>`` (proportion: 0/1 int8; rate: numbers) or ``_v<i>`` (the value inside
    the denominator, else null). Rows outside every denominator are dropped unless a rate needs
    them.
    """
    first = batch[0]
    needs_race = any(d.needs & {"race", "ethnicity"} for d in dimensions)
    rel = _joined(con, first, needs_race, start, end)
    inputs = {}
    for i, measure in enumerate(batch):
        inputs.update(_measure_columns(rel, i, measure))
    rel = rel.mutate(**inputs, _unit=rel[first.unit].cast("string"))
    if all(m.type != "rate" for m in batch):
        # Only rows inside some denominator count, so later steps read fewer rows.
        kept = [rel[c] > 0 if c[1] == "d" else rel[c].notnull() for c in inputs if c[1] in "dv"]
        rel = rel.filter(functools.reduce(operator.or_, kept))
    if any(m.type in ("mean", "median") for m in batch):
        rollup = _rollup_table(org)
        rel = rel.left_join(rollup, rel._unit == rollup._unit).drop("_unit_right")
        rel = rel.mutate(_system=rel._system.fill_null(org.root))
    periods = {f"_p_{g}": rel._date.truncate(GRAINS[g]).cast("date") for g in grains}
    groups = {f"_g_{d.id}": d.expr(rel) for d in dimensions}
    return rel.mutate(**periods, **groups, _g_overall=ibis.literal(ALL))


def _sums(rel: ibis.Table, batch: Sequence[Measure]) -> dict[str, ibis.Value]:
    out = {}
    for i, measure in enumerate(batch):
        if measure.type in ("proportion", "rate"):
            out[f"_n{i}"] = rel[f"_n{i}"].cast("float64").sum()
            out[f"_d{i}"] = rel[f"_d{i}"].cast("float64").sum()
        else:
            value = rel[f"_v{i}"]
            out[f"_c{i}"] = value.count()
            out[f"_s{i}"] = value.sum()
            out[f"_q{i}"] = (value * value).sum()
    return out


def _grouped(rel: ibis.Table, node: str, dim_ids, grains, aggregates) -> ibis.Table:
    """One GROUP BY per (grain, dimension), stacked: DuckDB scans the shared rows once."""
    parts = []
    for grain in grains:
        for dim in dim_ids:
            agg = rel.group_by(
                _node=rel[node], _period=rel[f"_p_{grain}"], _group=rel[f"_g_{dim}"]
            ).aggregate(**aggregates(rel))
            parts.append(agg.mutate(grain=ibis.literal(grain), dimension=ibis.literal(dim)))
    return ibis.union(*parts)


def batch_query(
    con,
    batch: Sequence[Measure],
    dimensions: Sequence[dims.Dimension],
    grains: Sequence[str] = ("month",),
    org: organisation.Organisation | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> tuple[ibis.Table, ibis.Table | None]:
    """The batch's unit-level sums and, for means and medians, the per-level medians.

    Sums are computed from the rows once per unit and added up the tree afterwards (see
    `compute`); medians cannot be added, so they are recomputed from the rows at each level.
    Each query stacks one GROUP BY per (grain, dimension) over the rows of `batch_rows`.
    """
    org = org or organisation.load()
    rel = batch_rows(con, batch, dimensions, grains, org, start, end)
    dim_ids = [OVERALL, *(d.id for d in dimensions)]
    units = _grouped(rel, "_unit", dim_ids, grains, lambda r: _sums(r, batch))
    values = [i for i, m in enumerate(batch) if m.type in ("mean", "median")]
    if not values:
        return units, None
    rows = rel.filter(functools.reduce(operator.or_, [rel[f"_v{i}"].notnull() for i in values]))
    parts = []
    for level in LEVELS:
        scoped = rows.filter(rows[_KEY[level]].notnull())
        part = _grouped(
            scoped,
            _KEY[level],
            dim_ids,
            grains,
            lambda r: {f"_m{i}": r[f"_v{i}"].median() for i in values},
        )
        parts.append(part.mutate(level=ibis.literal(level)))
    return units, ibis.union(*parts)


def _batches(measures, dimensions) -> list[tuple[list[Measure], list[dims.Dimension]]]:
    """Measures grouped by (table, date, unit column), each with the union of their dimensions."""
    batches: dict[tuple, tuple[list, dict]] = {}
    for measure in measures:
        batch, wanted = batches.setdefault((measure.table, measure.date, measure.unit), ([], {}))
        batch.append(measure)
        for dim in _resolve_dimensions(measure, dimensions):
            wanted.setdefault(dim.id, dim)
    return [(batch, list(wanted.values())) for batch, wanted in batches.values()]


def _rolled_up(units: pd.DataFrame, org: organisation.Organisation) -> pd.DataFrame:
    """Unit sums added up the tree: units outside the tree reach the system level only."""
    tree = pd.DataFrame(org.unit_rollup()).rename(columns={"unit": "_node"})
    known = units.merge(tree, on="_node", how="left")
    known["system"] = known["system"].fillna(org.root)
    key = ["node", "grain", "period", "dimension", "group"]
    sums = [c for c in units.columns if c[:2] in ("_n", "_d", "_c", "_s", "_q")]
    frames = []
    for level in LEVELS:
        column = "_node" if level == "unit" else level
        scoped = known[known[column].notna()].rename(
            columns={"_period": "period", "_group": "group"}
        )
        scoped = scoped.assign(node=scoped[column])
        # min_count=1 keeps SQL's SUM semantics: a sum over nothing but nulls is null.
        summed = scoped.groupby(key, sort=False, dropna=False)[sums].sum(min_count=1)
        frames.append(summed.reset_index().assign(level=level))
    return pd.concat(frames, ignore_index=True)


def _tidy(wide: pd.DataFrame, batch: Sequence[Measure], measure_dims) -> pd.DataFrame:
    """The batch's wide per-node frame as the tidy rows of `compute`, one block per measure."""
    frames = []
    for i, measure in enumerate(batch):
        mine = wide[wide["dimension"].isin([OVERALL, *measure_dims[measure.id]])]
        out = mine[["level", "node", "grain", "period", "dimension", "group"]].assign(
            measure=measure.id
        )
        if measure.type in ("proportion", "rate"):
            out = out.assign(
                numerator=mine[f"_n{i}"].astype("float64"),
                denominator=mine[f"_d{i}"].astype("float64"),
                count=pd.array([pd.NA] * len(mine), dtype="Int64"),
                sum=float("nan"),
                sum_sq=float("nan"),
                median=float("nan"),
            )
            # A proportion's groups are the ones with a row inside its denominator.
            keep = mine[f"_d{i}"] > 0 if measure.type == "proportion" else slice(None)
        else:
            out = out.assign(
                numerator=mine[f"_s{i}"].astype("float64"),
                denominator=mine[f"_c{i}"].astype("float64"),
                count=mine[f"_c{i}"].astype("Int64"),
                sum=mine[f"_s{i}"].astype("float64"),
                sum_sq=mine[f"_q{i}"].astype("float64"),
                median=mine[f"_m{i}"].astype("float64"),
            )
            keep = mine[f"_c{i}"] > 0
        frames.append(out[keep])
    return pd.concat(frames, ignore_index=True)


def _period_starts(lo: dt.date, hi: dt.date, weekly: bool) -> list[dt.date]:
    """The starts of the months (or ISO weeks) after `lo` up to and including `hi`."""
    if weekly:
        first = lo - dt.timedelta(days=lo.weekday()) + dt.timedelta(weeks=1)
        return [first + dt.timedelta(weeks=i) for i in range((hi - first).days // 7 + 1)]
    months = (hi.year - lo.year) * 12 + hi.month - lo.month
    return [
        dt.date(lo.year + (lo.month + i) // 12, (lo.month + i) % 12 + 1, 1) for i in range(months)
    ]


def _plan(
    con, measure: Measure, grains, start, end
) -> list[tuple[tuple[str, ...], object, object]]:
    """The (grains, start, end) parts a batch is computed in: one, unless DuckDB needs more.

    DuckDB materialises the rows that a batch's stacked GROUP BYs share (about 350 bytes a
    row), so a big table is computed in date ranges of about `CHUNK_ROWS` rows each. The ranges
    start on period boundaries, so no period is split and each median still sees all its rows;
    weeks and months do not share boundaries, so weekly parts are planned apart.
    """
    whole = [(tuple(grains), start, end)]
    if con.name != "duckdb":
        return whole
    table = con.table(measure.table)
    rows = table.count().to_pyarrow().as_py()
    if rows <= CHUNK_ROWS:
        return whole
    date = table[measure.date]
    span = table.aggregate(lo=date.min().cast("date"), hi=date.max().cast("date")).to_pyarrow()
    lo, hi = span["lo"][0].as_py(), span["hi"][0].as_py()
    if lo is None:
        return whole
    parts = []
    for weekly in (False, True):
        mine = tuple(g for g in grains if (g == "week") == weekly)
        if not mine:
            continue
        starts = _period_starts(lo, hi, weekly)
        step = max(1, -(-len(starts) * CHUNK_ROWS // rows))
        edges = [
            e
            for e in starts[step - 1 :: step]
            if (start is None or e > start) and (end is None or e < end)
        ]
        bounds = [start, *edges, end]
        parts += [(mine, a, b) for a, b in itertools.pairwise(bounds)]
    return parts


def compute(
    con,
    measures: Iterable[Measure | str] | Mapping[str, Measure] | None = None,
    dimensions: Sequence[str | dims.Dimension] | Mapping[str, dims.Dimension] | None = None,
    grains: Sequence[str] = ("month",),
    org: organisation.Organisation | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """Numerator and denominator of each measure by org node, period, dimension and group.

    Parameters
    ----------
    con : ibis backend
        The measure store holding the canonical tables (DuckDB, Spark, ...).
    measures : iterable of Measure or id, optional
        Defaults to the built-in library. Measures whose table is not in the store are skipped.
    dimensions : sequence of id or Dimension, or mapping of id to Dimension, optional
        A sequence is used for every measure. Otherwise each measure uses the dimensions its
        definition lists, looked up in the mapping (e.g. a catalogue's custom dimensions) and
        the built-ins.
    grains : sequence of {"day", "week", "month"}
        Period lengths; weeks start on Monday.
    org : Organisation, optional
        The tree used to roll units up; defaults to `organisation.load()`.
    start, end : datetime.date, optional
        Keep rows whose measure date is in ``[start, end)``.

    Returns
    -------
    pandas.DataFrame
        One row per measure, level (unit, department, hospital, system), node (org code),
        grain, period (date of the period start), dimension (``overall`` or a dimension id) and
        group (``All`` for overall). ``numerator`` and ``denominator``: events and rows
        (proportion), summed numerator and exposure (rate), or sum and count of values (mean,
        median). ``count``, ``sum``, ``sum_sq`` and ``median`` are filled for mean and median
        measures only; medians are recomputed from rows at every level, never averaged. Rows
        whose unit is not in the tree count at the unit and system levels only; rows with no
        unit at the system level only.
    """
    bad = [g for g in grains if g not in GRAINS]
    if bad:
        raise InputError(
            f"unknown grain '{bad[0]}'", field="grains", hint=f"use {', '.join(GRAINS)}"
        )
    org = org or organisation.load()
    if not _has_table(con, "patients"):
        raise InputError("the store has no patients table", hint="run `equilean ingest` first")
    present = [m for m in _resolve_measures(measures) if _has_table(con, m.table)]
    for measure in _resolve_measures(measures):
        if measure not in present:
            log.info("skipping %s: the store has no %s table", measure.id, measure.table)
    frames = []
    for batch, batch_dims in _batches(present, dimensions):
        measure_dims = {m.id: [d.id for d in _resolve_dimensions(m, dimensions)] for m in batch}
        units, medians = [], []
        for part_grains, lo, hi in _plan(con, batch[0], grains, start, end):
            unit_query, median_query = batch_query(con, batch, batch_dims, part_grains, org, lo, hi)
            units.append(con.to_pyarrow(unit_query))
            if median_query is not None:
                medians.append(con.to_pyarrow(median_query))
        wide = _rolled_up(pa.concat_tables(units).to_pandas(), org)
        if medians:
            per_level = pa.concat_tables(medians).to_pandas()
            per_level = per_level.rename(
                columns={"_node": "node", "_period": "period", "_group": "group"}
            )
            wide = wide.merge(
                per_level, on=["level", "node", "grain", "period", "dimension", "group"], how="left"
            )
        frames.append(_tidy(wide, batch, measure_dims))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    result = pd.concat(frames, ignore_index=True)[list(COLUMNS)]
    return result.sort_values(list(COLUMNS[:7]), ignore_index=True)
