"""The measure store: connect to an Ibis backend and load canonical tables atomically by source."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
from ibis.common.exceptions import TableNotFound

from equilean.engine import schema
from equilean.engine.errors import InputError

LOADS = "loads"
# Tables whose row count a reload may not cut by more than `DEFAULT_MAX_SHRINK` unasked.
GUARDED = ("patients", "encounters")
DEFAULT_MAX_SHRINK = 0.2
_SQL_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "int64": "BIGINT",
    "float64": "DOUBLE",
}
LOADS_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("loaded_at", pa.timestamp("us")),
        ("rows", pa.string()),
        ("report", pa.string()),
    ]
)


def default_url() -> str:
    """`EQUILEAN_STORE`, else a DuckDB file under `EQUILEAN_HOME` (default ``./var``)."""
    url = os.environ.get("EQUILEAN_STORE")
    if url:
        return url
    home = Path(os.environ.get("EQUILEAN_HOME") or "var")
    return f"duckdb://{home / 'store.duckdb'}"


def connect(url: str | None = None) -> ibis.BaseBackend:
    """Connect to the measure store.

    Parameters
    ----------
    url
        ``duckdb://PATH`` (``duckdb://`` or ``duckdb://:memory:`` for an in-memory store),
        ``spark://local`` (a local SparkSession; needs the ``spark`` extra) or
        ``postgres://user:pass@host/db``. Defaults to `default_url`.

    Returns
    -------
    ibis.BaseBackend
        The Ibis backend; pass it to `load` and to the measure computations.
    """
    url = url or default_url()
    scheme, _, rest = url.partition("://")
    if scheme == "duckdb":
        if rest in ("", ":memory:"):
            return ibis.duckdb.connect()
        Path(rest).parent.mkdir(parents=True, exist_ok=True)
        return ibis.duckdb.connect(rest)
    if scheme == "spark":
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise InputError(
                "the Spark store needs pyspark, which is not installed",
                field="EQUILEAN_STORE",
                hint="pip install 'equilean[spark]'",
            ) from exc
        master = "local[*]" if rest in ("", "local") else rest
        home = Path(os.environ.get("EQUILEAN_HOME") or "var").resolve()
        session = (
            SparkSession.builder.master(master)
            .appName("equilean")
            .config("spark.driver.memory", os.environ.get("EQUILEAN_SPARK_MEMORY", "4g"))
            .config("spark.ui.enabled", "false")
            # Aggregates are small: a few partitions beat Spark's default of 200 on one machine.
            .config(
                "spark.sql.shuffle.partitions", os.environ.get("EQUILEAN_SPARK_PARTITIONS", "8")
            )
            # Times are local wall-clock times; a fixed zone keeps periods the same on any host.
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.warehouse.dir", str(home / "spark-warehouse"))
            .getOrCreate()
        )
        return ibis.pyspark.connect(session)
    if scheme in ("postgres", "postgresql"):
        return ibis.connect(url)
    raise InputError(
        f"unknown store URL scheme {scheme!r}",
        field="EQUILEAN_STORE",
        hint="use duckdb://PATH, spark://local or postgres://user:pass@host/db",
    )


def _arrow(name: str, frame: Any, source: str) -> pa.Table:
    """The rows tagged with `source`, coerced to the canonical schema when it is a known table."""
    table = (
        frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    )
    if "source" in table.column_names:
        table = table.drop_columns(["source"])
    table = table.append_column("source", pa.array([source] * table.num_rows, pa.string()))
    return schema.validate(name, table) if name in schema.TABLES else table


def _load_record(source: str, rows: dict[str, int], report: Any) -> pa.Table:
    # A quality report names the extract's files only by position in the store.
    if hasattr(report, "for_store"):
        report = report.for_store()
    body = json.dumps(report, default=str, sort_keys=True)
    return pa.table(
        {
            "source": [source],
            "loaded_at": [datetime.now(UTC).replace(tzinfo=None)],
            "rows": [json.dumps(rows, sort_keys=True)],
            "report": [body],
        },
        schema=LOADS_SCHEMA,
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_shrink(old: dict[str, int], staged, source: str, max_shrink: float | None) -> None:
    """Refuse a reload that would cut a source's patients or encounters by more than allowed."""
    if max_shrink is None:
        return
    for name in GUARDED:
        before = old.get(name, 0)
        after = staged[name].num_rows if name in staged else 0
        if before and after < before * (1 - max_shrink):
            raise InputError(
                f"this load would shrink source {source!r} from {before:,} to {after:,} {name} "
                f"({(before - after) / before:.0%} fewer; at most {max_shrink:.0%} is allowed "
                "unasked). Nothing was changed",
                field="source",
                hint="check that the extract is complete and is the right source; if the drop "
                "is expected, load again with --allow-shrink (allow_shrink=True)",
            )


def _load_duckdb(
    con: ibis.BaseBackend, staged: dict[str, pa.Table], source: str, max_shrink: float | None
) -> None:
    raw = con.con
    existing = {row[0] for row in raw.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    # A source is replaced whole: its rows go from every canonical table, loaded now or not.
    cleared = [name for name in schema.TABLES if name in existing or name in staged]
    # Registered Arrow tables are zero-copy views, so staging costs no extra memory.
    views = {name: f"__equilean_stage_{name}" for name in staged}
    for name, table in staged.items():
        raw.register(views[name], table)
    try:
        raw.execute("BEGIN TRANSACTION")
        try:
            old = {
                name: raw.execute(
                    f"SELECT count(*) FROM {_quote(name)} WHERE source = ?", [source]
                ).fetchone()[0]
                for name in GUARDED
                if name in existing
            }
            _check_shrink(old, staged, source, max_shrink)
            for name in cleared:
                if name in existing:
                    _add_new_columns(raw, name)
                    raw.execute(f"DELETE FROM {_quote(name)} WHERE source = ?", [source])
            for name, view in views.items():
                target = _quote(name)
                raw.execute(f"CREATE TABLE IF NOT EXISTS {target} AS FROM {view} LIMIT 0")
                raw.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {view}")
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
    finally:
        for view in views.values():
            raw.unregister(view)


def _add_new_columns(raw, name: str) -> None:
    """Give a store made by an older equilean the canonical columns added since."""
    have = {row[0] for row in raw.execute(f"DESCRIBE {_quote(name)}").fetchall()}
    for col in schema.columns(name):
        if col.name not in have:
            raw.execute(
                f"ALTER TABLE {_quote(name)} ADD COLUMN {_quote(col.name)} {_SQL_TYPES[col.dtype]}"
            )


def _load_generic(
    con: ibis.BaseBackend, staged: dict[str, pa.Table], source: str, max_shrink: float | None
) -> None:
    # Without a transaction API in Ibis, each table is rebuilt off to the side and swapped in,
    # so a failure leaves every table either fully old or fully new.
    existing = set(con.list_tables())
    old = {}
    for name in GUARDED:
        if name in existing:
            table = con.table(name)
            old[name] = int(table.filter(table.source == source).count().execute())
    _check_shrink(old, staged, source, max_shrink)
    # A source is replaced whole: its rows go from every canonical table, loaded now or not.
    emptied = {
        name: schema.arrow_schema(name).empty_table()
        for name in schema.TABLES
        if name in existing and name not in staged
    }
    for name, table in {**emptied, **staged}.items():
        stage = f"__equilean_stage_{name}"
        con.create_table(stage, table, overwrite=True)
        new = con.table(stage)
        if name in existing:
            kept = con.table(name)
            if name != LOADS:
                kept = kept.filter(kept.source != source)
            # A store made by an older equilean lacks the columns added since.
            kept = kept.mutate(
                **{
                    col: ibis.null(new[col].type())
                    for col in new.columns
                    if col not in kept.columns
                }
            ).select(new.columns)
            new = kept.union(new, distinct=False)
        con.create_table(name, new.to_pyarrow(), overwrite=True)
        con.drop_table(stage)


def load(
    con: ibis.BaseBackend,
    tables: dict[str, pd.DataFrame | pa.Table],
    source: str,
    report: Any = None,
    max_shrink: float | None = DEFAULT_MAX_SHRINK,
) -> dict[str, int]:
    """Replace one source's rows in the canonical tables, atomically and idempotently.

    Every row of `tables` is tagged with ``source`` and canonical tables are checked and
    coerced with `equilean.engine.schema.validate` before anything is written. In one
    transaction (DuckDB), that source's old rows are deleted from every canonical table (a
    source is replaced whole, even a table this load does not give) and the new ones inserted,
    and the load is recorded in the ``loads`` table. Loading the same extract twice leaves the
    same rows; a failure part-way leaves the previous state as it was.

    Parameters
    ----------
    con
        A backend from `connect`.
    tables
        Canonical table name -> DataFrame or Arrow table with the contract's columns.
    source
        The load key (for example the extract's name).
    report
        A `QualityReport` (or any JSON-able object) stored with the load record; a report
        names files only by position there (`QualityReport.for_store`).
    max_shrink
        The largest share by which a reload may cut the source's patients or encounters
        (default 20%); more raises `InputError` and changes nothing. ``None`` allows any.

    Returns
    -------
    dict
        Rows loaded per table.
    """
    if not source:
        raise InputError(
            "a load needs a non-empty source name",
            field="source",
            hint="pass source=... (e.g. the extract's name)",
        )
    staged = {name: _arrow(name, frame, source) for name, frame in tables.items()}
    rows = {name: table.num_rows for name, table in staged.items()}
    staged[LOADS] = _load_record(source, rows, report)
    if con.name == "duckdb":
        _load_duckdb(con, staged, source, max_shrink)
    else:
        _load_generic(con, staged, source, max_shrink)
    return rows


def load_history(con: ibis.BaseBackend) -> pd.DataFrame:
    """Every load so far: source, loaded_at, rows per table (JSON) and the report (JSON)."""
    try:
        loads = con.table(LOADS)
    except TableNotFound:
        return LOADS_SCHEMA.empty_table().to_pandas()
    return loads.order_by("loaded_at").to_pyarrow().to_pandas()
