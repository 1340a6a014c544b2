"""The benchmarked ways to compute every built-in measure x 6 dimensions; each runs in a child."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from equilean.engine import organisation
from equilean.engine.measures import builtin_measures

# The six dimensions every variant splits by; none needs the 1997 race derivation.
DIMENSIONS = ("race_ethnicity", "language", "payer_group", "sex", "age_band", "adi_quintile")
TABLES = ("patients", "encounters", "census_days", "appointments")
LANGUAGES = {
    "en": "English", "es": "Spanish", "zh": "Chinese", "vi": "Vietnamese", "ar": "Arabic",
    "ko": "Korean", "ru": "Russian", "ht": "Haitian Creole", "pt": "Portuguese", "tl": "Tagalog",
}  # fmt: skip
AGE_BANDS = ((0, 17, "0-17"), (18, 44, "18-44"), (45, 64, "45-64"), (65, 74, "65-74"),
             (75, 84, "75-84"), (85, 200, "85+"))  # fmt: skip
ADI = {1: "Q1 least deprived", 2: "Q2", 3: "Q3", 4: "Q4", 5: "Q5 most deprived"}


def _duckdb_store(folder: Path, threads: int | None = None):
    import ibis

    con = ibis.duckdb.connect(threads=threads) if threads else ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")
    for table in TABLES:
        con.raw_sql(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder / (table + '.parquet')}')"
        )
    return con


def equilean(folder: Path) -> int:
    """equilean's compute on a DuckDB store whose tables are views over the Parquet files."""
    from equilean.engine.compute import compute

    return len(compute(_duckdb_store(folder), dimensions=list(DIMENSIONS)))


def spark(folder: Path) -> int:
    """equilean's compute on Spark local mode, tables read from the same Parquet files."""
    from equilean.engine import store
    from equilean.engine.compute import compute

    con = store.connect("spark://local")
    for table in TABLES:
        con._session.read.parquet(str(folder / f"{table}.parquet")).createOrReplaceTempView(table)
    return len(compute(con, dimensions=list(DIMENSIONS)))


# ---------------------------------------------------------------------------------------------
# The anchor: hand-written DuckDB SQL, one GROUPING SETS query per table and date column.
# ---------------------------------------------------------------------------------------------


def _sql(text: str) -> str:
    """A measure condition in SQL: the measure language is SQL's except for `==`."""
    return "(" + text.replace("==", "=") + ")"


def _dimension_sql() -> dict[str, str]:
    language = " ".join(f"WHEN '{c}' THEN '{n}'" for c, n in LANGUAGES.items())
    ages = " ".join(f"WHEN age BETWEEN {lo} AND {hi} THEN '{label}'" for lo, hi, label in AGE_BANDS)
    adi = " ".join(f"WHEN {q} THEN '{label}'" for q, label in ADI.items())
    return {
        "race_ethnicity": "coalesce(race_ethnicity, 'Unknown')",
        "language": "CASE WHEN lower(trim(language)) IN ('', 'und', 'unk') OR language IS NULL "
        f"THEN 'Unknown' ELSE CASE lower(trim(language)) {language} ELSE 'Other' END END",
        "payer_group": "coalesce(payer_group, 'Unknown')",
        "sex": "CASE sex WHEN 'female' THEN 'Female' WHEN 'male' THEN 'Male' "
        "WHEN 'other' THEN 'Other' ELSE 'Unknown' END",
        "age_band": f"CASE {ages} ELSE 'Unknown' END",
        "adi_quintile": f"CASE (adi_decile + 1) // 2 {adi} ELSE 'Unknown' END",
    }


def anchor_queries(root: str) -> list[str]:
    """One GROUPING SETS query per (table, date): every level x (overall + 6 dimensions)."""
    batches: dict[tuple[str, str], list] = {}
    for m in builtin_measures().values():
        batches.setdefault((m.table, m.date), []).append(m)
    dims = _dimension_sql()
    levels = ("unit", "department", "hospital", "system")
    sets = ", ".join(
        f"({lv}, period{', g_' + d if d else ''})" for lv in levels for d in ("", *dims)
    )
    queries = []
    for (table, date), measures in batches.items():
        aggregates = []
        for m in measures:
            den, i = _sql(m.denominator.text), m.id
            if m.type == "proportion":
                num = _sql(m.numerator.text)
                aggregates += [f"count(*) FILTER (WHERE {den} AND {num}) AS {i}__n",
                               f"count(*) FILTER (WHERE {den}) AS {i}__d"]  # fmt: skip
            elif m.type == "rate":
                aggregates += [f"sum({_sql(m.numerator.text)}) AS {i}__n", f"sum({den}) AS {i}__d"]
            else:
                v = _sql(m.value.text)
                aggregates += [f"{agg} FILTER (WHERE {den}) AS {i}__{name}" for name, agg in
                               (("c", f"count({v})"), ("s", f"sum({v})"),
                                ("q", f"sum({v} * {v})"), ("m", f"median({v})"))]  # fmt: skip
        groups = ", ".join(f"{sql} AS g_{name}" for name, sql in dims.items())
        queries.append(f"""
WITH joined AS (
  SELECT d.*, p.* EXCLUDE (patient_id, source), d.{date}::DATE AS _date,
         tree.department, tree.hospital, coalesce(tree.system, '{root}') AS system
  FROM {table} AS d
  LEFT JOIN patients AS p USING (patient_id)
  LEFT JOIN tree ON d.unit = tree.unit
  WHERE d.{date} IS NOT NULL
), aged AS (
  SELECT *, date_trunc('month', _date)::DATE AS period,
         year(_date) - year(birth_date) - ((month(_date) * 100 + day(_date))
           < (month(birth_date) * 100 + day(birth_date)))::INT AS age
  FROM joined
), grouped AS (SELECT *, {groups} FROM aged)
SELECT unit, department, hospital, system, period, {", ".join("g_" + d for d in dims)},
       GROUPING(unit, department, hospital, system) AS _level, {", ".join(aggregates)}
FROM grouped
GROUP BY GROUPING SETS ({sets})""")
    return queries


def anchor(folder: Path) -> int:
    """The hand-written GROUPING SETS SQL, run by DuckDB over the Parquet files."""
    import duckdb

    org = organisation.load()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for table in TABLES:
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder / (table + '.parquet')}')"
        )
    tree = pd.DataFrame(org.unit_rollup())
    con.register("tree", tree)
    return sum(
        con.execute(query).fetch_arrow_table().num_rows for query in anchor_queries(org.root)
    )
