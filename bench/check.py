"""Fail loudly unless every variant's aggregates match equilean's on the same Parquet files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# A proportion, a rate and a median, at the unit level (and the hospital level, where medians
# are recomputed from rows), overall and by two dimensions.
MEASURES = ("ed_lwbs", "falls_rate", "ed_los_median")
LEVELS = ("unit", "hospital")
DIMENSIONS = ("overall", "race_ethnicity", "age_band")
KEY = ["measure", "level", "node", "period", "dimension", "group"]
VALUES = ["numerator", "denominator", "median"]


def _select(frame: pd.DataFrame) -> pd.DataFrame:
    rows = frame[
        frame["measure"].isin(MEASURES)
        & frame["level"].isin(LEVELS)
        & frame["dimension"].isin(DIMENSIONS)
    ]
    rows = rows[KEY + VALUES].copy()
    rows["period"] = pd.to_datetime(rows["period"]).astype("datetime64[ns]")
    return rows.astype({c: "float64" for c in VALUES})


def anchor_frame(folder: Path) -> pd.DataFrame:
    """The anchor's GROUPING SETS output reshaped to the same long rows."""
    import duckdb

    from bench import variants
    from equilean.engine import organisation
    from equilean.engine.measures import builtin_measures

    org = organisation.load()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for table in variants.TABLES:
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder / table}.parquet')"
        )
    con.register("tree", pd.DataFrame(org.unit_rollup()))
    measures = builtin_measures()
    # GROUPING() has a bit set for each of unit, department, hospital, system not grouped.
    levels = {7: "unit", 13: "hospital"}
    frames = []
    for query in variants.anchor_queries(org.root):
        wide = con.execute(query).fetch_df()
        wide = wide[wide["_level"].isin(levels)]
        for m in MEASURES:
            if f"{m}__d" not in wide and f"{m}__c" not in wide:
                continue
            median = measures[m].type == "median"
            for dim in DIMENSIONS:
                g = None if dim == "overall" else f"g_{dim}"
                scoped = wide[wide[[f"g_{d}" for d in variants.DIMENSIONS if f"g_{d}" != g]]
                              .isna().all(axis=1)]  # fmt: skip
                if g:
                    scoped = scoped[scoped[g].notna()]
                level = scoped["_level"].map(levels)
                node = np.where(level == "unit", scoped["unit"], scoped["hospital"])
                frames.append(pd.DataFrame({
                    "measure": m, "level": level, "node": node, "period": scoped["period"],
                    "dimension": dim, "group": scoped[g] if g else "All",
                    "numerator": scoped[f"{m}__s" if median else f"{m}__n"],
                    "denominator": scoped[f"{m}__c" if median else f"{m}__d"],
                    "median": scoped[f"{m}__m"] if median else np.nan,
                }))  # fmt: skip
    out = pd.concat(frames, ignore_index=True)
    # Like equilean, keep only the groups with rows in the denominator (rates: any row).
    rate = out["measure"] == "falls_rate"
    return out[rate | (out["denominator"] > 0)]


def compare(name: str, reference: pd.DataFrame, other: pd.DataFrame) -> None:
    """Raise SystemExit naming the first differences unless the selected rows agree."""
    joined = _select(reference).merge(
        _select(other), on=KEY, how="outer", suffixes=("", "_x"), indicator=True
    )
    bad = joined["_merge"] != "both"
    for c in VALUES:
        a, b = joined[c], joined[f"{c}_x"]
        close = np.isclose(a, b, rtol=1e-9, atol=0) | (a.isna() & b.isna())
        bad |= ~close
    if bad.any():
        raise SystemExit(
            f"{name} disagrees with equilean on {int(bad.sum())} of {len(joined)} rows:\n"
            + joined[bad].head(5).to_string()
        )
    print(f"check: {name} agrees with equilean on {len(joined):,} rows", flush=True)


def run(folder: Path) -> None:
    """Compute with equilean and each other variant on `folder` and compare."""
    from bench import frames, variants
    from equilean.engine.compute import compute

    reference = compute(variants._duckdb_store(folder), dimensions=list(variants.DIMENSIONS))
    compare("anchor", reference, anchor_frame(folder))
    compare("pandas", reference, frames.pandas_groupby(folder))
    compare("numpy", reference, frames.numpy_floor(folder))
