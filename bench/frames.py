"""The dataframe baselines: pandas groupby per dimension and a numpy bincount floor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bench.variants import ADI, AGE_BANDS, DIMENSIONS, LANGUAGES
from equilean.engine import organisation

LEVELS = ("unit", "department", "hospital", "system")
PATIENT = ["patient_id", "birth_date", "sex", "race_ethnicity", "language", "interpreter_needed",
           "payer_group", "adi_decile"]  # fmt: skip


def _true(s: pd.Series) -> np.ndarray:
    """SQL truth of a boolean column: null is not true."""
    return s.fillna(False).to_numpy(dtype=bool)


def _in(s: pd.Series, values) -> np.ndarray:
    return s.isin(values).to_numpy(dtype=bool)


def _enc(m: str):
    """Hand-written row inputs of each measure, as an analyst would spell them in pandas."""
    cls = lambda f: f["encounter_class"]  # noqa: E731
    specs = {
        "interpreter_use": lambda f: (_true(f.interpreter_needed), _true(f.interpreter_used)),
        "race_ethnicity_completeness": lambda f: (
            np.ones(len(f), bool),
            (f.race_ethnicity.notna() & (f.race_ethnicity != "Unknown")).to_numpy(bool),
        ),
        "language_completeness": lambda f: (
            np.ones(len(f), bool),
            (f.language.notna() & ~f.language.isin(["", "und", "unk"])).to_numpy(bool),
        ),
        "experience_top_box": lambda f: (_true(f.survey_returned), _true(f.survey_top_box)),
        "ed_lwbs": lambda f: (
            _in(cls(f), ["emergency"]),
            _true(f.left_without_being_seen) | _in(f.disposition, ["lwbs"]),
        ),
        "sepsis_bundle": lambda f: (_true(f.sepsis_eligible), _true(f.sepsis_bundle_met)),
        "pain_reassessment": lambda f: (_true(f.pain_reassessment_due), _true(f.pain_reassessed)),
        "hypertension_control": lambda f: (
            _in(cls(f), ["ambulatory", "virtual"]) & _true(f.hypertension),
            _true(f.bp_controlled),
        ),
        "crc_screening": lambda f: (
            _in(cls(f), ["ambulatory", "virtual"]) & _true(f.crc_eligible),
            _true(f.crc_screened),
        ),
        "restraint_use": lambda f: (
            _in(cls(f), ["inpatient", "emergency", "observation"]),
            _true(f.restraint_used),
        ),
        "readmission_30d": lambda f: (
            _in(cls(f), ["inpatient"]) & ~_in(f.disposition, ["expired"]),
            _true(f.readmitted_30d),
        ),
        "discharge_ama": lambda f: (
            _in(cls(f), ["inpatient", "emergency", "observation"]) & f.disposition.notna(),
            _in(f.disposition, ["ama"]),
        ),
        "no_show": lambda f: (
            _in(f.status, ["fulfilled", "noshow"]),
            _true(f.no_show) | _in(f.status, ["noshow"]),
        ),
        "falls_rate": lambda f: (f.patient_days.to_numpy(float), f.falls.to_numpy(float)),
        "hapi_rate": lambda f: (
            f.patient_days.to_numpy(float),
            f.pressure_injuries.to_numpy(float),
        ),
        "ed_los_median": lambda f: (
            _in(cls(f), ["emergency"]) & f.length_of_stay_hours.between(0, 240).to_numpy(bool),
            f.length_of_stay_hours.to_numpy(float),
        ),
        "ed_door_to_provider": lambda f: (
            _in(cls(f), ["emergency"])
            & (f.door_to_provider_minutes >= 0).to_numpy(bool)
            & ~_true(f.left_without_being_seen),
            f.door_to_provider_minutes.to_numpy(float),
        ),
    }
    return specs[m]


# (table, date column) -> measures; "value" measures are the mean and median ones.
BATCHES = {
    ("encounters", "start_time"): [
        "interpreter_use", "race_ethnicity_completeness", "language_completeness",
        "experience_top_box", "ed_lwbs", "ed_los_median", "ed_door_to_provider", "sepsis_bundle",
        "pain_reassessment", "hypertension_control", "crc_screening", "restraint_use",
    ],
    ("encounters", "end_time"): ["readmission_30d", "discharge_ama"],
    ("census_days", "census_date"): ["falls_rate", "hapi_rate"],
    ("appointments", "scheduled_time"): ["no_show"],
}  # fmt: skip
RATES = {"falls_rate", "hapi_rate"}
MEDIANS = {"ed_los_median"}
VALUES = {"ed_los_median", "ed_door_to_provider"}


def _tree() -> tuple[pd.DataFrame, str]:
    org = organisation.load()
    tree = pd.DataFrame(org.unit_rollup())
    return tree.assign(system=tree["system"].fillna(org.root)), org.root


def _labels(frame: pd.DataFrame, age: pd.Series | None) -> pd.DataFrame:
    """The six group columns ``g_<dimension>`` (and ``g_overall``) from patient columns."""
    code = frame["language"].str.strip().str.lower()
    unknown = code.isna() | code.isin(["", "und", "unk"])
    quintile = (frame["adi_decile"] + 1) // 2
    sex = frame["sex"].map({"female": "Female", "male": "Male", "other": "Other"})
    labels = {
        "g_overall": "All",
        "g_race_ethnicity": frame["race_ethnicity"].fillna("Unknown"),
        "g_language": np.where(unknown, "Unknown", code.map(LANGUAGES).fillna("Other")),
        "g_payer_group": frame["payer_group"].fillna("Unknown"),
        "g_sex": sex.fillna("Unknown"),
        "g_adi_quintile": quintile.map(ADI).fillna("Unknown"),
    }
    if age is not None:
        bands = pd.cut(age, BAND_EDGES, right=False, labels=BAND_LABELS)
        labels["g_age_band"] = bands.astype(object).fillna("Unknown")
    return frame.assign(**labels)


BAND_EDGES = [lo for lo, _, _ in AGE_BANDS] + [AGE_BANDS[-1][1] + 1]
BAND_LABELS = [label for _, _, label in AGE_BANDS]


def _age(born_y, born_md, when_y, when_md):
    """Completed years on a date from year and month*100+day parts."""
    return when_y - born_y - (when_md < born_md)


def _read(folder: Path, table: str, date: str) -> pd.DataFrame:
    """The table's rows with a date, joined to their patients, with the group columns."""
    frame = pd.read_parquet(folder / f"{table}.parquet")
    frame = frame[frame[date].notna()]
    people = pd.read_parquet(folder / "patients.parquet", columns=PATIENT)
    frame = frame.merge(people, on="patient_id", how="left")
    when = pd.to_datetime(frame[date])
    frame["period"] = when.dt.to_period("M").dt.start_time
    born = pd.to_datetime(frame["birth_date"])
    age = _age(born.dt.year, born.dt.month * 100 + born.dt.day, when.dt.year,
               when.dt.month * 100 + when.dt.day)  # fmt: skip
    return _labels(frame, age)


def _inputs(frame: pd.DataFrame, measures) -> pd.DataFrame:
    """One numerator and denominator (or value) column per measure; values only in scope."""
    cols = {}
    for m in measures:
        den, num = _enc(m)(frame)
        if m in VALUES:
            cols[f"{m}__v"] = np.where(den, num, np.nan)
        elif m in RATES:
            cols[f"{m}__n"], cols[f"{m}__d"] = num, den
        else:
            cols[f"{m}__n"], cols[f"{m}__d"] = (den & num).astype(float), den.astype(float)
    return pd.DataFrame(cols, index=frame.index)


def _long(wide: pd.DataFrame, measures, level: str, dim: str) -> pd.DataFrame:
    """Per-measure rows (numerator, denominator, median) from one wide grouped frame."""
    frames = []
    for m in measures:
        if m in VALUES:
            part = wide[[f"{m}__s", f"{m}__c", f"{m}__m"]].set_axis(
                ["numerator", "denominator", "median"], axis=1
            )
            part = part[part["denominator"] > 0]
        else:
            part = wide[[f"{m}__n", f"{m}__d"]].set_axis(["numerator", "denominator"], axis=1)
            if m in RATES and "__rows" in wide:
                # A dense grid has every group: keep the ones with rows, as a groupby would.
                part = part[wide["__rows"] > 0]
            elif m not in RATES:
                part = part[part["denominator"] > 0]
        frames.append(part.reset_index().assign(measure=m, level=level, dimension=dim))
    return pd.concat(frames, ignore_index=True)


def pandas_groupby(folder: Path) -> pd.DataFrame:
    """Read, join, derive groups, then groupby [node, month, group] per level and dimension."""
    tree, root = _tree()
    out = []
    for (table, date), measures in BATCHES.items():
        # The tree says where a unit rolls up; the table's own hospital column is not used.
        frame = _read(folder, table, date).drop(columns="hospital")
        frame = frame.merge(tree, on="unit", how="left")
        frame["system"] = frame["system"].fillna(root)
        inputs = _inputs(frame, measures)
        frame = pd.concat([frame, inputs], axis=1)
        sums = [c for c in inputs.columns if not c.endswith("__v")]
        values = [c for c in inputs.columns if c.endswith("__v")]
        for level in LEVELS:
            for dim in ("overall", *DIMENSIONS):
                grouped = frame.groupby([level, "period", f"g_{dim}"], dropna=False)
                wide = grouped[sums].sum()
                for v in values:
                    m = v[:-3]
                    stats = grouped[v].agg(["sum", "count", "median"])
                    wide[[f"{m}__s", f"{m}__c", f"{m}__m"]] = stats.to_numpy()
                wide.index.names = ["node", "period", "group"]
                long = _long(wide, measures, level, dim)
                # Rows outside the tree have no department or hospital.
                out.append(long[long["node"].notna()] if level != "unit" else long)
    return pd.concat(out, ignore_index=True)


def _parts(when: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Year and month*100+day of datetime64 values, as floats (NaN for NaT)."""
    months = when.astype("datetime64[M]")
    year = (when.astype("datetime64[Y]").astype(np.int64) + 1970).astype(float)
    md = (
        (months.astype(np.int64) % 12 + 1) * 100.0
        + (when.astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)
        + 1
    )
    bad = np.isnat(when)
    year[bad], md[bad] = np.nan, np.nan
    return year, md


def _medians(key: np.ndarray, value: np.ndarray, by_value: np.ndarray, size: int) -> np.ndarray:
    """The median of `value` per integer key (NaN where a key has none).

    `by_value` orders the non-null values once; a stable sort by key then keeps each key's
    values in order, which is cheaper than a lexsort per (level, dimension).
    """
    order = by_value[np.argsort(key[by_value], kind="stable")]
    key, value = key[order], value[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    counts = np.diff(np.r_[starts, len(key)])
    out = np.full(size, np.nan)
    out[key[starts]] = (value[starts + (counts - 1) // 2] + value[starts + counts // 2]) / 2
    return out


def _dense_rows(wide: dict, shape, labels, measures, level: str, dim: str) -> pd.DataFrame:
    """The non-empty cells of dense (node, month, group) arrays as long per-measure rows."""
    frames = []
    for m in measures:
        if m in VALUES:
            num, den, med = wide[f"{m}__s"], wide[f"{m}__c"], wide[f"{m}__m"]
            keep = den > 0
        else:
            num, den, med = wide[f"{m}__n"], wide[f"{m}__d"], None
            # A rate keeps every group with rows, as a groupby would; a proportion its
            # groups with rows in the denominator.
            keep = wide["__rows"] > 0 if m in RATES else den > 0
        cells = np.flatnonzero(keep)
        node, month, group = np.unravel_index(cells, shape)
        frames.append(
            pd.DataFrame(
                {
                    "node": labels[0][node],
                    "period": labels[1][month],
                    "group": labels[2][group],
                    "numerator": num[cells],
                    "denominator": den[cells],
                    "median": med[cells] if med is not None else np.nan,
                    "measure": m,
                    "level": level,
                    "dimension": dim,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def numpy_floor(folder: Path) -> pd.DataFrame:
    """Dictionary-encode node, month and group once; np.bincount per measure x dimension."""
    tree, root = _tree()
    people = pd.read_parquet(folder / "patients.parquet", columns=PATIENT)
    # A last all-null patient stands for rows whose patient is not in the patients table.
    people = pd.concat([people, people.iloc[:0].reindex([len(people)])], ignore_index=True)
    people = _labels(people, None)
    codes = {d: pd.factorize(people[f"g_{d}"]) for d in DIMENSIONS if d != "age_band"}
    codes["overall"] = (np.zeros(len(people), np.int64), np.array(["All"], object))
    born_y, born_md = _parts(pd.to_datetime(people["birth_date"]).to_numpy())
    ids = pa.array(people["patient_id"].iloc[:-1].to_numpy(object), pa.string())
    out = []
    for (table, date), measures in BATCHES.items():
        frame = pd.read_parquet(folder / f"{table}.parquet")
        frame = frame[frame[date].notna()].reset_index(drop=True)
        found = pc.index_in(pa.array(frame["patient_id"].to_numpy(object), pa.string()), ids)
        idx = pc.fill_null(found, len(people) - 1).to_numpy(zero_copy_only=False)
        for c in ("interpreter_needed", "race_ethnicity", "language"):
            frame[c] = people[c].to_numpy(object)[idx]
        inputs = {c: v.to_numpy() for c, v in _inputs(frame, measures).items()}
        by_value = {}
        for c, arr in inputs.items():
            if c.endswith("__v"):
                known = np.flatnonzero(~np.isnan(arr))
                by_value[c] = known[np.argsort(arr[known], kind="stable")]
        when = pd.to_datetime(frame[date]).to_numpy()
        when_y, when_md = _parts(when)
        age = _age(born_y[idx], born_md[idx], when_y, when_md)
        band = np.searchsorted(BAND_EDGES, age, side="right") - 1
        band = np.where(np.isnan(age) | (band < 0) | (band >= len(BAND_LABELS)), -1, band)
        row_codes = {d: (c[idx], labels) for d, (c, labels) in codes.items()}
        row_codes["age_band"] = (
            np.where(band < 0, len(BAND_LABELS), band),
            np.array([*BAND_LABELS, "Unknown"], object),
        )
        month = when.astype("datetime64[M]").astype(np.int64)
        first = month.min()
        month -= first
        n_month = int(month.max()) + 1
        month_labels = (
            np.arange(first, first + n_month).astype("datetime64[M]").astype("datetime64[ns]")
        )
        units, unit_labels = pd.factorize(frame["unit"], use_na_sentinel=False)
        n_unit = len(unit_labels)
        for dim in ("overall", *DIMENSIONS):
            groups, labels = row_codes[dim]
            n_group = len(labels)
            size = n_unit * n_month * n_group
            key = (units * n_month + month) * n_group + groups
            dense = {"__rows": np.bincount(key, minlength=size).astype(float)}
            for c, arr in inputs.items():
                if c.endswith("__v"):
                    has = ~np.isnan(arr)
                    dense[c[:-3] + "__c"] = np.bincount(key[has], minlength=size).astype(float)
                    dense[c[:-3] + "__s"] = np.bincount(key[has], arr[has], minlength=size)
                else:
                    dense[c] = np.bincount(key, arr, minlength=size)
            for level in LEVELS:
                if level == "unit":
                    nodes = np.asarray(unit_labels, object)
                else:
                    nodes = tree.set_index("unit")[level].reindex(unit_labels).to_numpy(object)
                if level == "system":
                    nodes = np.where(pd.isna(nodes), root, nodes)
                node_codes, node_labels = pd.factorize(nodes, use_na_sentinel=False)
                onehot = np.zeros((len(node_labels), n_unit))
                onehot[node_codes, np.arange(n_unit)] = 1.0
                wide = {c: (onehot @ a.reshape(n_unit, -1)).ravel() for c, a in dense.items()}
                lsize = len(node_labels) * n_month * n_group
                lkey = (node_codes[units] * n_month + month) * n_group + groups
                for c, arr in inputs.items():
                    if c.endswith("__v"):
                        m = c[:-3]
                        wide[m + "__m"] = (
                            _medians(lkey, arr, by_value[c], lsize)
                            if m in MEDIANS
                            else np.full(lsize, np.nan)
                        )
                shape = (len(node_labels), n_month, n_group)
                labels3 = (np.asarray(node_labels, object), month_labels, labels)
                long = _dense_rows(wide, shape, labels3, measures, level, dim)
                # Rows outside the tree have no department or hospital.
                out.append(long[long["node"].notna()] if level != "unit" else long)
    return pd.concat(out, ignore_index=True)
