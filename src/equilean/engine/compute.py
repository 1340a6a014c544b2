"""Measures x dimensions -> aggregates by org level, period and group, pushed down through Ibis."""

from __future__ import annotations

import datetime as dt
import logging
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


def measure_rows(
    con,
    measure: Measure,
    dimensions: Sequence[dims.Dimension],
    grains: Sequence[str],
    org: organisation.Organisation,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ibis.Table:
    """The measure's rows (inside its denominator) with org, period and group columns, in Ibis.

    Columns: ``_unit`` (and ``_department``, ``_hospital``, ``_system`` for mean and median
    measures), ``_p_<grain>``,
    ``_g_<dimension id>`` and ``_num`` / ``_den`` (proportion, rate) or ``_val`` (mean, median).
    """
    table = con.table(measure.table)
    patients = con.table("patients")
    date = table[measure.date]
    if date.type().is_timestamp():
        date = date.date()
    rel = table.mutate(_date=date)
    rel = rel.filter(rel._date.notnull())
    if start is not None:
        rel = rel.filter(rel._date >= ibis.literal(start, type="date"))
    if end is not None:
        rel = rel.filter(rel._date < ibis.literal(end, type="date"))
    people = patients.select(*PATIENT_COLUMNS, _pid=patients.patient_id)
    rel = rel.left_join(people, rel.patient_id == people._pid).drop("_pid")
    rel = rel.mutate(age=dims.age_at(rel.birth_date, rel._date))
    if any(d.needs & {"race", "ethnicity"} for d in dimensions):
        derived = dims.patient_race_ethnicity(patients).rename(_pid="patient_id")
        rel = rel.left_join(derived, rel.patient_id == derived._pid).drop("_pid")
    den = measure.denominator.compile(rel)
    if measure.type == "rate":
        rel = rel.mutate(
            _num=measure.numerator.compile(rel).cast("float64"), _den=den.cast("float64")
        )
    elif measure.type == "proportion":
        # Filtering to the denominator first means every later step reads fewer rows.
        rel = rel.filter(den.fill_null(False))
        num = measure.numerator.compile(rel).fill_null(False)
        rel = rel.mutate(_num=ibis.ifelse(num, 1.0, 0.0), _den=ibis.literal(1.0))
    else:
        rel = rel.filter(den.fill_null(False))
        rel = rel.mutate(_val=measure.value.compile(rel).cast("float64"))
        rel = rel.filter(rel._val.notnull())
    rel = rel.mutate(_unit=rel[measure.unit].cast("string"))
    if measure.type in ("mean", "median"):
        # Medians cannot be summed up the tree, so these rows carry every level's code.
        rollup = _rollup_table(org)
        rel = rel.left_join(rollup, rel._unit == rollup._unit).drop("_unit_right")
        rel = rel.mutate(_system=rel._system.fill_null(org.root))
    periods = {f"_p_{g}": rel._date.truncate(GRAINS[g]).cast("date") for g in grains}
    groups = {f"_g_{d.id}": d.expr(rel) for d in dimensions}
    return rel.mutate(**periods, **groups, _g_overall=ibis.literal(ALL))


def _metrics(rel: ibis.Table, kind: str) -> dict:
    if kind in ("proportion", "rate"):
        null = ibis.null().cast("float64")
        return {
            "numerator": rel._num.sum(),
            "denominator": rel._den.sum(),
            "count": ibis.null().cast("int64"),
            "sum": null,
            "sum_sq": null,
            "median": null,
        }
    total = rel._val.sum()
    return {
        "numerator": total,
        "denominator": rel._val.count().cast("float64"),
        "count": rel._val.count(),
        "sum": total,
        "sum_sq": (rel._val * rel._val).sum(),
        "median": rel._val.median(),
    }


def _tidy(agg: ibis.Table, measure: Measure, level: str, grain: str, dim: str) -> ibis.Table:
    return agg.select(
        measure=ibis.literal(measure.id),
        level=ibis.literal(level),
        node=agg._node,
        grain=ibis.literal(grain),
        period=agg._period,
        dimension=ibis.literal(dim),
        group=agg._group,
        numerator=agg.numerator.cast("float64"),
        denominator=agg.denominator.cast("float64"),
        count=agg["count"].cast("int64"),
        sum=agg["sum"].cast("float64"),
        sum_sq=agg.sum_sq.cast("float64"),
        median=agg.median.cast("float64"),
    )


def measure_query(
    con,
    measure: Measure,
    dimensions: Sequence[dims.Dimension],
    grains: Sequence[str] = ("month",),
    org: organisation.Organisation | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ibis.Table:
    """One Ibis query giving the tidy aggregate rows of one measure (see `compute`)."""
    org = org or organisation.load()
    rel = measure_rows(con, measure, dimensions, grains, org, start, end)
    dim_ids = [OVERALL, *(d.id for d in dimensions)]
    parts = []
    if measure.type in ("proportion", "rate"):
        # Additive: aggregate units from rows once, then sum units up the tree (cheap, small).
        unit_parts = []
        for grain in grains:
            for dim in dim_ids:
                agg = rel.group_by(
                    _unit=rel._unit, _period=rel[f"_p_{grain}"], _group=rel[f"_g_{dim}"]
                ).aggregate(_num=rel._num.sum(), _den=rel._den.sum())
                unit_parts.append(
                    agg.mutate(grain=ibis.literal(grain), dimension=ibis.literal(dim))
                )
        units = ibis.union(*unit_parts)
        rollup = _rollup_table(org)
        units = units.left_join(rollup, units._unit == rollup._unit).drop("_unit_right")
        units = units.mutate(_system=units._system.fill_null(org.root))
        for level in LEVELS:
            key = _KEY[level]
            for grain in grains:
                for dim in dim_ids:
                    scoped = units.filter(
                        (units.grain == grain) & (units.dimension == dim) & units[key].notnull()
                    )
                    agg = scoped.group_by(
                        _node=scoped[key], _period=scoped._period, _group=scoped._group
                    ).aggregate(**_metrics(scoped, measure.type))
                    parts.append(_tidy(agg, measure, level, grain, dim))
    else:
        for level in LEVELS:
            key = _KEY[level]
            scoped = rel.filter(rel[key].notnull())
            for grain in grains:
                for dim in dim_ids:
                    agg = scoped.group_by(
                        _node=scoped[key], _period=scoped[f"_p_{grain}"], _group=scoped[f"_g_{dim}"]
                    ).aggregate(**_metrics(scoped, measure.type))
                    parts.append(_tidy(agg, measure, level, grain, dim))
    return ibis.union(*parts)


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
    frames = []
    for measure in _resolve_measures(measures):
        if not _has_table(con, measure.table):
            log.info("skipping %s: the store has no %s table", measure.id, measure.table)
            continue
        query = measure_query(
            con, measure, _resolve_dimensions(measure, dimensions), grains, org, start, end
        )
        frames.append(con.to_pyarrow(query))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    result = pa.concat_tables(frames).to_pandas()
    result["count"] = result["count"].astype("Int64")
    return result.sort_values(list(COLUMNS[:7]), ignore_index=True)
