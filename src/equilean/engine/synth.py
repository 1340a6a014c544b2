"""Synthetic health system: seeded, messy, US-like patient data with known disparities.

The extract matches the demo organisation (every unit of `organisation.load()`), the canonical
tables of the store, and a ground-truth manifest of the disparities and the one improvement
built into it, so the statistics can be checked against what is known to be there.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm import tqdm

from equilean.engine import organisation as org
from equilean.engine import schema
from equilean.engine.errors import InputError

FORMATS = ("parquet", "csv", "fhir")
DEMO_ENCOUNTERS = 150_000
ENCOUNTERS_PER_PATIENT = 4.0
BLOCK_PATIENTS = 25_000
TABLES = ("patients", "encounters", "census_days", "appointments")

# Patient categories: the intended combined race/ethnicity (see the code options below).
CATEGORIES = (
    "white", "black", "hispanic", "asian", "aian", "nhpi", "mena", "multi", "unknown", "declined",
)  # fmt: skip
CATEGORY_P = np.array([0.50, 0.14, 0.15, 0.065, 0.01, 0.005, 0.02, 0.03, 0.06, 0.02])
LABEL = {
    "white": "White",
    "black": "Black or African American",
    "hispanic": "Hispanic or Latino",
    "asian": "Asian",
}
# (race codes, ethnicity codes, probability) per category: raw values as EHRs hold them,
# including detailed codes, missing ethnicity, "Other Race" and null flavours.
CODE_OPTIONS: dict[str, list[tuple[str, str, float]]] = {
    "white": [("2106-3", "2186-5", 0.85), ("2106-3", "", 0.1), ("2106-3|2113-9", "2186-5", 0.05)],
    "black": [("2054-5", "2186-5", 0.9), ("2054-5", "", 0.1)],
    "hispanic": [
        ("2106-3", "2135-2", 0.4),
        ("", "2135-2", 0.25),
        ("2131-1", "2135-2", 0.2),
        ("2106-3", "2135-2|2148-5", 0.1),
        ("2054-5", "2135-2|2180-8", 0.05),
    ],
    "asian": [("2028-9", "2186-5", 0.6), ("2028-9|2034-7", "2186-5", 0.2),
              ("2028-9|2047-9", "2186-5", 0.2)],
    "aian": [("1002-5", "2186-5", 1.0)],
    "nhpi": [("2076-8", "2186-5", 1.0)],
    "mena": [("2118-8", "2186-5", 0.7), ("2106-3|2118-8", "2186-5", 0.3)],
    "multi": [("2106-3|2054-5", "2186-5", 0.5), ("2106-3|2028-9", "2186-5", 0.3),
              ("2054-5|1002-5", "2186-5", 0.2)],
    "unknown": [("UNK", "UNK", 0.5), ("", "", 0.5)],
    "declined": [("ASKU", "ASKU", 1.0)],
}  # fmt: skip
LANGUAGES = ("en", "es", "zh", "vi", "ar", "ht", "ru", "pt", "ko", "tl", "so", "")
# Rows follow CATEGORIES, columns LANGUAGES ("" = not recorded).
LANGUAGE_P = np.array(
    [
        [0.93, 0.005, 0, 0, 0, 0, 0.025, 0.02, 0, 0, 0, 0.02],
        [0.88, 0.01, 0, 0, 0, 0.06, 0, 0, 0, 0, 0.03, 0.02],
        [0.43, 0.55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.02],
        [0.45, 0, 0.25, 0.17, 0, 0, 0, 0, 0.05, 0.06, 0, 0.02],
        [0.98, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.02],
        [0.98, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.02],
        [0.55, 0, 0, 0, 0.43, 0, 0, 0, 0, 0, 0, 0.02],
        [0.96, 0.02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.02],
        [0.80, 0.05, 0.02, 0.02, 0.01, 0.01, 0, 0, 0, 0, 0, 0.09],
        [0.90, 0.03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.07],
    ]
)
HOSPITAL_P = {  # home hospital by category: catchments differ, as in real cities
    "black": (0.35, 0.50, 0.15),
    "hispanic": (0.55, 0.30, 0.15),
    "asian": (0.60, 0.20, 0.20),
}
DEFAULT_HOSPITAL_P = (0.40, 0.30, 0.30)
COMMERCIAL = ("Aetna", "Blue Cross Blue Shield", "UnitedHealthcare", "Cigna", "Humana")
OTHER_PAYERS = ("Tricare", "Workers Compensation")
ZIPS = {
    "MUH": ("02108", "02115", "02118", "02119", "02120", "02121", "02124", "02125"),
    "RIV": ("02720", "02721", "02723", "02724", "02740", "02744", "02746", "02747"),
    "LAK": ("01801", "01803", "01810", "01824", "01850", "01851", "01852", "01854"),
}
# Share of encounters by care setting, then split across units by beds.
SETTING_SHARE = {"emergency": 0.33, "inpatient": 0.22, "ambulatory": 0.45}
SETTING_OF_KIND = {
    "emergency": "emergency",
    "ambulatory": "ambulatory",
    "icu": "inpatient",
    "med_surg": "inpatient",
    "labor_delivery": "inpatient",
    "behavioral_health": "inpatient",
}
LOS_HOURS = {  # lognormal median hours, sigma
    "emergency": (4.0, 0.5),
    "icu": (72.0, 0.6),
    "med_surg": (96.0, 0.6),
    "labor_delivery": (48.0, 0.3),
    "behavioral_health": (192.0, 0.6),
    "ambulatory": (0.5, 0.3),
}
FALLS_PER_1000 = {"icu": 1.5, "med_surg": 3.5, "labor_delivery": 0.5, "behavioral_health": 5.0}
HAPI_PER_1000 = {"icu": 3.0, "med_surg": 1.2, "labor_delivery": 0.1, "behavioral_health": 0.3}


@dataclass(frozen=True)
class Effect:
    """One effect built into the data: a disparity (group vs reference) or an improvement."""

    measure: str
    level: str
    code: str
    dimension: str | None
    group: str | None
    reference_group: str | None
    true_ratio: float
    kind: str = "disparity"


BLACK, WHITE = LABEL["black"], LABEL["white"]
EFFECTS = (
    Effect("readmission_30d", "hospital", "RIV", "race_ethnicity", BLACK, WHITE, 1.8),
    Effect("ed_lwbs", "unit", "MUH-ED", "language", "Spanish", "English", 2.5),
    Effect("ed_door_to_provider", "unit", "LAK-ED", "race_ethnicity", BLACK, WHITE, 1.35),
    Effect("interpreter_use", "hospital", "MUH", "language", "Chinese", "Spanish", 0.55),
    Effect("no_show", "hospital", "RIV", "payer_group", "Medicaid", "Commercial", 1.8),
    Effect("hypertension_control", "unit", "RIV-FM", "race_ethnicity", BLACK, WHITE, 0.7),
    Effect("pain_reassessment", "unit", "MUH-4W", None, None, None, 0.88 / 0.70, "improvement"),
)  # fmt: skip
# 4 West's pain-reassessment project: 70% reassessed before the intervention, 88% after.
PAIN_BEFORE, PAIN_AFTER, PAIN_ELSEWHERE = 0.70, 0.88, 0.85


def _previous_month_end(today: date) -> date:
    return today.replace(day=1) - timedelta(days=1)


@dataclass
class _Units:
    """The organisation's units as arrays, for vectorised choices."""

    codes: np.ndarray
    kinds: np.ndarray
    hospitals: np.ndarray
    hospital_codes: tuple[str, ...]
    weights: np.ndarray  # [patient type, unit]: relative encounter volume

    @classmethod
    def build(cls, organisation: org.Organisation) -> _Units:
        units = organisation.units()
        codes = np.array([u.code for u in units])
        kinds = np.array([u.kind or "ambulatory" for u in units])
        hospitals = np.array([organisation.ancestor(u.code, "hospital") for u in units])
        beds = np.array([float(u.beds or 10) for u in units])
        names = [u.name.lower() for u in units]
        setting = np.array([SETTING_OF_KIND.get(k, "ambulatory") for k in kinds])
        share = np.zeros(len(units))
        for name, part in SETTING_SHARE.items():
            in_setting = setting == name
            share[in_setting] = part * beds[in_setting] / beds[in_setting].sum()
        pediatric = np.array(["pediatric" in n for n in names])
        maternity = (kinds == "labor_delivery") | np.array(["mother" in n for n in names])
        womens = np.array(["women" in n for n in names])
        general_ok = ~pediatric & ~maternity & ~womens
        # Patient types: 0 child, 1 woman 15-45, 2 other woman, 3 man or other adult.
        child = np.where(pediatric, 1.0, np.where(general_ok & (setting != "inpatient"), 0.2, 0))
        weights = np.vstack(
            [
                share * child,
                share * (general_ok | maternity | womens),
                share * (general_ok | womens),
                share * general_ok,
            ]
        )
        hosp_codes = tuple(dict.fromkeys(hospitals))
        return cls(codes, kinds, hospitals, hosp_codes, weights)


def _pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a [rows, options] probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _patients(rng, first_id: int, n: int, end: date, hosp_codes) -> tuple[pd.DataFrame, dict]:
    """A block of patients, and the traits behind them that the encounters depend on."""
    cat = rng.choice(len(CATEGORIES), size=n, p=CATEGORY_P / CATEGORY_P.sum())
    race = np.empty(n, dtype=object)
    eth = np.empty(n, dtype=object)
    # Ten fixed categories: a loop over them is a loop over a constant, not over rows.
    for i, name in enumerate(CATEGORIES):
        idx = np.flatnonzero(cat == i)
        options = CODE_OPTIONS[name]
        p = np.array([o[2] for o in options])
        choice = rng.choice(len(options), size=len(idx), p=p / p.sum())
        race[idx] = np.array([o[0] for o in options], dtype=object)[choice]
        eth[idx] = np.array([o[1] for o in options], dtype=object)[choice]
    lang = np.array(LANGUAGES, dtype=object)[_pick(rng, LANGUAGE_P[cat])]
    english = lang == "en"
    u = rng.random(n)
    interp = np.where(english, np.where(u < 0.93, "false", ""), np.where(u < 0.7, "true", ""))
    interp = np.where((~english) & (u >= 0.7) & (u < 0.9), "false", interp)
    interp = np.where(lang == "", "", interp)
    age = np.where(rng.random(n) < 0.2, rng.uniform(0, 18, n), rng.uniform(18, 95, n))
    sex = np.array(["female", "male", "other", "unknown"])[
        rng.choice(4, size=n, p=[0.52, 0.47, 0.003, 0.007])
    ]
    birth = pd.Timestamp(end) - pd.to_timedelta(np.floor(age * 365.25), unit="D")
    home_p = np.array([HOSPITAL_P.get(c, DEFAULT_HOSPITAL_P) for c in CATEGORIES])[cat]
    home = _pick(rng, home_p)
    minority = np.isin(cat, [CATEGORIES.index("black"), CATEGORIES.index("hispanic")])
    older = age >= 65
    payer_p = np.where(
        older[:, None],
        [0.85, 0.08, 0.05, 0.02, 0.0, 0.0],
        np.where(
            minority[:, None], [0, 0.34, 0.45, 0.12, 0.04, 0.05], [0, 0.18, 0.66, 0.07, 0.04, 0.05]
        ),
    )
    group = _pick(rng, payer_p)  # Medicare, Medicaid, Commercial, Self-pay, Other, Unknown
    names = np.select(
        [group == 0, group == 1, group == 2, group == 3, group == 4],
        [
            np.where(rng.random(n) < 0.3, "Medicare Advantage", "Medicare"),
            "Medicaid",
            np.array(COMMERCIAL)[rng.integers(0, len(COMMERCIAL), n)],
            "Self-pay",
            np.array(OTHER_PAYERS)[rng.integers(0, len(OTHER_PAYERS), n)],
        ],
        "",
    )
    zips = np.array([ZIPS.get(h, ZIPS["MUH"]) for h in hosp_codes])
    postal = zips[home, rng.integers(0, zips.shape[1], n)]
    latent = rng.normal(size=n) + 0.9 * np.isin(group, [1, 3]) + 0.6 * minority
    adi = np.clip(np.floor((latent + 2.2) / 4.4 * 10) + 1, 1, 10).astype(float)
    adi[rng.random(n) < 0.03] = np.nan
    dis_u = rng.random(n)
    disability = np.where(dis_u < 0.12, "true", np.where(dis_u < 0.92, "false", ""))
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{i:09d}" for i in range(first_id, first_id + n)],
            "birth_date": birth.normalize(),
            "sex": sex,
            "race_codes": race,
            "ethnicity_codes": eth,
            "language": lang,
            "interpreter_needed": interp,
            "payer": names,
            "postal_code": postal,
            "adi_decile": pd.array(adi, dtype="Int64"),
            "disability": disability,
        }
    )
    for column in ("race_codes", "ethnicity_codes", "language", "payer"):
        frame[column] = frame[column].replace("", None)
    for column in ("interpreter_needed", "disability"):
        frame[column] = frame[column].map({"true": True, "false": False}).astype("boolean")
    traits = {"category": cat, "home": home, "age": age, "payer_group": group}
    return frame, traits


def _bern(rng, p) -> np.ndarray:
    return rng.random(len(p)) < p


def _encounters(rng, pat, traits, first_id: int, units: _Units, start, end, cut):
    """A block's encounters, census days and appointments, with the effects built in."""
    cat, home, age = traits["category"], traits["home"], traits["age"]
    n_pat = len(pat)
    mean_extra = ENCOUNTERS_PER_PATIENT - 1
    count = 1 + rng.poisson(rng.gamma(1.5, mean_extra / 1.5, n_pat))
    who = np.repeat(np.arange(n_pat), count)
    n = len(who)
    female = pat["sex"].to_numpy() == "female"
    ptype = np.where(age < 18, 0, np.where(female & (age < 45), 1, np.where(female, 2, 3)))[who]
    n_hosp = len(units.hospital_codes)
    hosp = np.where(rng.random(n) < 0.85, home[who], rng.integers(0, n_hosp, n))
    in_hosp = units.hospitals[None, :] == np.array(units.hospital_codes)[hosp][:, None]
    unit = _pick(rng, units.weights[ptype] * in_hosp)
    kind = units.kinds[unit]
    code = units.codes[unit]
    hospital = units.hospitals[unit]
    span_days = (end - start).days + 1
    day = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, span_days, n), unit="D")
    hour = np.where(kind == "ambulatory", rng.uniform(8, 17, n), rng.uniform(0, 24, n))
    begin = day + pd.to_timedelta(np.round(hour * 3600), unit="s")
    median = np.array([LOS_HOURS[k][0] for k in kind])
    sigma = np.array([LOS_HOURS[k][1] for k in kind])
    los = median * np.exp(sigma * rng.normal(size=n))
    emergency, ambulatory = kind == "emergency", kind == "ambulatory"
    inpatient = ~emergency & ~ambulatory
    observation = (kind == "med_surg") & (rng.random(n) < 0.08)
    virtual = ambulatory & (rng.random(n) < 0.1)
    enc_class = np.select(
        [emergency, observation, inpatient, virtual],
        ["emergency", "observation", "inpatient", "virtual"],
        "ambulatory",
    )
    stay = inpatient & ~observation
    los = np.where(observation, np.minimum(los, 30.0), los)
    lang = pat["language"].to_numpy()[who]
    black = cat[who] == CATEGORIES.index("black")
    # ED: left without being seen, door-to-provider, disposition.
    lwbs_p = np.where((code == "MUH-ED") & (lang == "es"), 0.04 * 2.5, 0.04)
    lwbs = emergency & _bern(rng, lwbs_p)
    d2p_scale = np.where((code == "LAK-ED") & black, 1.35, 1.0)
    door = np.where(emergency & ~lwbs, 30.0 * np.exp(0.6 * rng.normal(size=n)) * d2p_scale, np.nan)
    los = np.where(lwbs, los * 0.4, los)
    ed_disp = np.array(["admitted", "ama", "transfer", "expired", "home"])[
        _pick(rng, np.tile([0.18, 0.015, 0.01, 0.002, 0.793], (n, 1)))
    ]
    ip_disp = np.array(["home", "snf", "rehab", "transfer", "ama", "expired", "other"])[
        _pick(rng, np.tile([0.72, 0.10, 0.05, 0.03, 0.02, 0.02, 0.06], (n, 1)))
    ]
    disposition = np.where(
        emergency, np.where(lwbs, "lwbs", ed_disp), np.where(inpatient, ip_disp, None)
    )
    end_time = begin + pd.to_timedelta(np.round(los * 3600), unit="s")
    acute = emergency | inpatient

    def flag(mask, p):
        """A yes/no column drawn with probability p where it applies, null elsewhere."""
        drawn = pd.Series(_bern(rng, p), dtype="boolean")
        return drawn.where(pd.Series(mask), pd.NA)

    readmit_p = np.where((hospital == "RIV") & black, 0.12 * 1.8, 0.12)
    needs = pat["interpreter_needed"].fillna(False).to_numpy(dtype=bool)[who]
    interp_p = np.where((hospital == "MUH") & (lang == "zh"), 0.8 * 0.55, 0.8)
    sepsis = flag(acute, np.where(kind == "icu", 0.15, 0.05))
    pain_due = flag(acute, np.full(n, 0.35))
    after = begin.to_numpy() >= cut.to_datetime64()
    pain_p = np.where(code == "MUH-4W", np.where(after, PAIN_AFTER, PAIN_BEFORE), PAIN_ELSEWHERE)
    adult = age[who] >= 18
    htn = flag(ambulatory & adult, np.clip(0.05 + 0.5 * (age[who] - 18) / 60, 0, 0.6))
    bp_p = np.where((code == "RIV-FM") & black, 0.65 * 0.7, 0.65)
    crc = ambulatory & (age[who] >= 45) & (age[who] < 76)
    survey = flag(stay | ambulatory, np.full(n, 0.25))
    frame = pd.DataFrame(
        {
            "encounter_id": [f"E{i:010d}" for i in range(first_id, first_id + n)],
            "patient_id": pat["patient_id"].to_numpy()[who],
            "encounter_class": enc_class,
            "hospital": hospital,
            "unit": code,
            "start_time": begin.astype("datetime64[us]"),
            "end_time": end_time.astype("datetime64[us]"),
            "disposition": disposition,
            "readmitted_30d": flag(stay, readmit_p),
            "left_without_being_seen": flag(emergency, lwbs.astype(float)),
            "door_to_provider_minutes": door,
            "interpreter_used": flag(needs, interp_p),
            "sepsis_eligible": sepsis,
            "sepsis_bundle_met": flag(sepsis.fillna(False).to_numpy(dtype=bool), np.full(n, 0.6)),
            "pain_reassessment_due": pain_due,
            "pain_reassessed": flag(pain_due.fillna(False).to_numpy(dtype=bool), pain_p),
            "restraint_used": flag(acute, np.where(kind == "behavioral_health", 0.08, 0.02)),
            "hypertension": htn,
            "bp_controlled": flag(htn.fillna(False).to_numpy(dtype=bool), bp_p),
            "crc_eligible": flag(ambulatory & adult, crc.astype(float)),
            "crc_screened": flag(crc, np.full(n, 0.7)),
            "survey_returned": survey,
            "survey_top_box": flag(survey.fillna(False).to_numpy(dtype=bool), np.full(n, 0.72)),
        }
    )
    census = _census(rng, frame[stay], kind[stay], cut)
    appointments = _appointments(
        rng, frame[ambulatory & ~virtual], pat, traits["payer_group"], first_id, start, end
    )
    return frame, census, appointments


def _census(rng, stays: pd.DataFrame, kind: np.ndarray, cut: pd.Timestamp) -> pd.DataFrame:
    """One row per midnight-census day of each stay (at least one day)."""
    first = stays["start_time"].dt.normalize()
    days = np.maximum((stays["end_time"].dt.normalize() - first).dt.days.to_numpy(), 1)
    rows = np.repeat(np.arange(len(stays)), days)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(days) - days, days)
    when = first.to_numpy()[rows] + offset.astype("timedelta64[D]")
    unit = stays["unit"].to_numpy()[rows]
    k = kind[rows]
    falls_rate = np.array([FALLS_PER_1000[x] for x in k]) / 1000
    hapi_rate = np.array([HAPI_PER_1000[x] for x in k]) / 1000
    return pd.DataFrame(
        {
            "encounter_id": stays["encounter_id"].to_numpy()[rows],
            "patient_id": stays["patient_id"].to_numpy()[rows],
            "hospital": stays["hospital"].to_numpy()[rows],
            "unit": unit,
            "census_date": pd.to_datetime(when).astype("datetime64[us]"),
            "patient_days": 1.0,
            "falls": rng.poisson(falls_rate),
            "pressure_injuries": rng.poisson(hapi_rate),
        }
    )


def _appointments(rng, visits, pat, payer_group, first_id, start, end) -> pd.DataFrame:
    """Scheduled clinic slots: each clinic visit's slot plus the slots that were missed."""
    n = round(len(visits) * 1.15)
    pick = rng.integers(0, max(len(visits), 1), n) if len(visits) else np.zeros(0, dtype=int)
    chosen = visits.iloc[pick]
    group = pd.Series(payer_group, index=pat["patient_id"]).loc[chosen["patient_id"]]
    medicaid_riv = (group.to_numpy() == 1) & (chosen["hospital"].to_numpy() == "RIV")
    noshow_p = np.where(medicaid_riv, 0.08 * 1.8, 0.08)
    u = rng.random(n)
    status = np.where(
        u < noshow_p, "noshow", np.where(u < noshow_p + 0.06, "cancelled", "fulfilled")
    )
    shift = pd.to_timedelta(rng.integers(-14, 15, n), unit="D")
    when = (chosen["start_time"] + shift).dt.floor("15min")
    when = when.clip(pd.Timestamp(start) + pd.Timedelta(hours=8), pd.Timestamp(end))
    return pd.DataFrame(
        {
            "appointment_id": [f"A{first_id:010d}-{i}" for i in range(n)],
            "patient_id": chosen["patient_id"].to_numpy(),
            "hospital": chosen["hospital"].to_numpy(),
            "unit": chosen["unit"].to_numpy(),
            "scheduled_time": when.to_numpy(),
            "status": status,
            "no_show": status == "noshow",
        }
    )


class _Sink:
    """Streams one table's chunks to Parquet or CSV with a fixed schema (bounded memory)."""

    def __init__(self, path: Path, table: str, fmt: str):
        self.schema = pa.schema(
            [f for f in schema.arrow_schema(table) if f.name not in DERIVED.get(table, ())]
        ).remove_metadata()
        self.schema = pa.schema([f.remove_metadata().with_nullable(True) for f in self.schema])
        self.path = path
        self.writer = (
            pq.ParquetWriter(path, self.schema, compression="zstd")
            if fmt == "parquet"
            else pacsv.CSVWriter(path, self.schema)
        )

    def write(self, frame: pd.DataFrame) -> None:
        # Columns the generator does not make (a death date) are written as nulls of their type.
        absent = dict.fromkeys(n for n in self.schema.names if n not in frame)
        frame = frame.assign(**absent).reindex(columns=self.schema.names)
        self.writer.write_table(
            pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        )

    def close(self) -> None:
        self.writer.close()


# Columns ingest derives from the raw ones, so the extract does not carry them.
DERIVED = {
    "patients": ("source", "race_ethnicity", "payer_group"),
    "encounters": ("source", "length_of_stay_hours"),
    "census_days": ("source",),
    "appointments": ("source",),
}


def _fhir_lines(table: str, frame: pd.DataFrame) -> list[str]:
    """FHIR R4 resources (one JSON line each) for a chunk of a canonical table."""
    records = frame.replace({np.nan: None}).to_dict("records")
    return [json.dumps(FHIR_BUILDERS[table](r), separators=(",", ":")) for r in records]


def _codings(codes: str | None) -> list[dict]:
    parts = [c for c in (codes or "").split("|") if c]
    return [
        {
            "url": "ombCategory" if i == 0 else "detailed",
            "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": c},
        }
        for i, c in enumerate(parts)
    ]


def _fhir_patient(r: dict) -> dict:
    ext = [
        {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
         "extension": _codings(r["race_codes"])},
        {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
         "extension": _codings(r["ethnicity_codes"])},
    ]  # fmt: skip
    if r["interpreter_needed"] is not None:
        ext.append(
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired",
                "valueBoolean": bool(r["interpreter_needed"]),
            }
        )
    res = {
        "resourceType": "Patient",
        "id": r["patient_id"],
        "extension": ext,
        "gender": r["sex"],
        "birthDate": str(r["birth_date"])[:10],
        "address": [{"use": "home", "postalCode": r["postal_code"]}],
    }
    if r["language"]:
        res["communication"] = [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": r["language"]}]},
             "preferred": True}
        ]  # fmt: skip
    return res


FHIR_CLASS = {"emergency": "EMER", "inpatient": "IMP", "observation": "OBSENC",
              "ambulatory": "AMB", "virtual": "VR"}  # fmt: skip
FHIR_DISPOSITION = {"home": "home", "snf": "snf", "rehab": "rehab", "expired": "exp",
                    "ama": "aadvice", "lwbs": "lwbs", "transfer": "other-hcf",
                    "admitted": "hosp", "other": "oth"}  # fmt: skip


def _fhir_encounter(r: dict) -> dict:
    res = {
        "resourceType": "Encounter",
        "id": r["encounter_id"],
        "status": "finished",
        "class": {"code": FHIR_CLASS[r["encounter_class"]]},
        "subject": {"reference": f"Patient/{r['patient_id']}"},
        "period": {"start": str(r["start_time"]).replace(" ", "T"),
                   "end": str(r["end_time"]).replace(" ", "T")},
        "serviceProvider": {"reference": f"Organization/{r['hospital']}"},
        "location": [{"location": {"reference": f"Location/{r['unit']}"}}],
    }  # fmt: skip
    if r["disposition"]:
        res["hospitalization"] = {
            "dischargeDisposition": {"coding": [{"code": FHIR_DISPOSITION[r["disposition"]]}]}
        }
    return res


def _fhir_appointment(r: dict) -> dict:
    return {
        "resourceType": "Appointment",
        "id": r["appointment_id"],
        "status": r["status"],
        "start": str(r["scheduled_time"]).replace(" ", "T"),
        "participant": [
            {"actor": {"reference": f"Patient/{r['patient_id']}"}, "status": "accepted"},
            {"actor": {"reference": f"Location/{r['unit']}"}, "status": "accepted"},
        ],
    }


def _fhir_coverage(r: dict) -> dict:
    return {
        "resourceType": "Coverage",
        "id": f"cov-{r['patient_id']}",
        "status": "active",
        "beneficiary": {"reference": f"Patient/{r['patient_id']}"},
        "payor": [{"display": r["payer"]}],
    }


FHIR_BUILDERS = {
    "patients": _fhir_patient,
    "encounters": _fhir_encounter,
    "appointments": _fhir_appointment,
    "coverage": _fhir_coverage,
}
FHIR_FILES = {
    "patients": "Patient.ndjson",
    "coverage": "Coverage.ndjson",
    "encounters": "Encounter.ndjson",
    "appointments": "Appointment.ndjson",
}


class _FhirSink:
    """Streams one resource type as NDJSON."""

    def __init__(self, path: Path, table: str):
        self.path, self.table = path, table
        self.handle = path.open("w", encoding="utf-8")

    def write(self, frame: pd.DataFrame) -> None:
        if self.table == "coverage":
            frame = frame[frame["payer"].notna()]
        for line in _fhir_lines(self.table, frame):
            self.handle.write(line + "\n")

    def close(self) -> None:
        self.handle.close()


def _window(end: date | None, years: int) -> tuple[date, date, date]:
    """First day, last day and the improvement's start (the first of a month ~60% in)."""
    end = end or _previous_month_end(date.today())
    start = (pd.Timestamp(end) - pd.DateOffset(years=years) + pd.Timedelta(days=1)).date()
    cut = (pd.Timestamp(start) + (pd.Timestamp(end) - pd.Timestamp(start)) * 0.6).date()
    return start, end, cut.replace(day=1)


def generate(
    out_dir: str | Path,
    seed: int = 7,
    encounters: int = DEMO_ENCOUNTERS,
    fmt: str = "parquet",
    end: date | None = None,
    years: int = 3,
    organisation: org.Organisation | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Write a synthetic health system's extract and its ground-truth manifest.

    Parameters
    ----------
    out_dir
        Directory to write into (created). Files appear only when generation succeeds.
    seed
        The same seed, size, window and organisation give byte-identical files.
    encounters
        Approximate number of encounters; patients are ``encounters / 4``. Generated in blocks
        of 25,000 patients, so memory stays bounded at any size (10 million is fine).
    fmt
        ``"parquet"`` (default), ``"csv"`` (both load with ``kind="equilean"``) or ``"fhir"``
        (NDJSON: Patient, Coverage, Encounter, Appointment; census days and the measure flags
        have no FHIR form and are left out).
    end, years
        The data window: `years` years ending on `end` (default: the end of last month).
    organisation
        The health-system tree (default: the demo Meridian Health).
    progress
        Called as ``progress(blocks_done, blocks_total)``; default a tqdm bar on a terminal.

    Returns
    -------
    dict
        The manifest, also written to ``manifest.json``: window, counts, files and the
        ``effects`` built in (measure, level, code, dimension, group, reference_group,
        true_ratio, start, end, kind).
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}", field="fmt", hint=f"use one of {FORMATS}")
    if encounters < 100:
        raise InputError("too few encounters", field="encounters", hint="ask for at least 100")
    organisation = organisation or org.load()
    units = _Units.build(organisation)
    start, end, cut = _window(end, years)
    n_patients = max(25, round(encounters / ENCOUNTERS_PER_PATIENT))
    n_blocks = -(-n_patients // BLOCK_PATIENTS)
    seeds = np.random.SeedSequence(seed).spawn(n_blocks)
    out = Path(out_dir)
    tmp = out / ".synth-partial"
    tmp.mkdir(parents=True, exist_ok=True)
    if fmt == "fhir":
        sinks = {t: _FhirSink(tmp / name, t) for t, name in FHIR_FILES.items()}
    else:
        sinks = {t: _Sink(tmp / f"{t}.{fmt}", t, fmt) for t in TABLES}
    bar = None
    if progress is None:
        bar = tqdm(total=n_blocks, unit="block", disable=not sys.stderr.isatty())
    counts = dict.fromkeys(TABLES, 0)
    next_encounter = 0
    try:
        for block, block_seed in enumerate(seeds):
            rng = np.random.default_rng(block_seed)
            size = min(BLOCK_PATIENTS, n_patients - block * BLOCK_PATIENTS)
            pat, traits = _patients(rng, block * BLOCK_PATIENTS, size, end, units.hospital_codes)
            enc, census, appt = _encounters(
                rng, pat, traits, next_encounter, units, start, end, pd.Timestamp(cut)
            )
            next_encounter += len(enc)
            chunk = {"patients": pat, "encounters": enc, "census_days": census,
                     "appointments": appt, "coverage": pat}  # fmt: skip
            for table, sink in sinks.items():
                sink.write(chunk[table])
            for table in TABLES:
                counts[table] += len(chunk[table])
            if bar is not None:
                bar.update()
            elif progress:
                progress(block + 1, n_blocks)
    except BaseException:
        for sink in sinks.values():
            sink.close()
        for file in tmp.iterdir():
            file.unlink()
        tmp.rmdir()
        raise
    finally:
        if bar is not None:
            bar.close()
    for sink in sinks.values():
        sink.close()
    files = []
    for sink in sinks.values():
        sink.path.replace(out / sink.path.name)
        files.append(sink.path.name)
    tmp.rmdir()
    manifest = {
        "generator": "equilean.engine.synth",
        "seed": seed,
        "format": fmt,
        "ingest_kind": "fhir" if fmt == "fhir" else "equilean",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "intervention_date": cut.isoformat(),
        "rows": counts,
        "files": files,
        "effects": [
            {
                "measure": e.measure,
                "level": e.level,
                "code": e.code,
                "dimension": e.dimension,
                "group": e.group,
                "reference_group": e.reference_group,
                "true_ratio": e.true_ratio,
                "start": (cut if e.kind == "improvement" else start).isoformat(),
                "end": end.isoformat(),
                "kind": e.kind,
            }
            for e in EFFECTS
        ],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
