"""Turn what a reader found into typed canonical tables: validate, normalise codes, derive.

Every reader (FHIR, CSV/Parquet) ends here, so the same patient gives the same strata whatever
format it arrived in. Problems go to the data-quality report: rows that cannot be used are
rejected with their location, odd codes are counted with examples, never silently dropped.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from equilean.engine import dimensions, schema
from equilean.engine.errors import InputError
from equilean.engine.organisation import Organisation
from equilean.engine.sources.quality import MAX_EXAMPLES, CodeFinding, QualityReport

# Yes/no columns of the encounters contract that the measures count.
MEASURE_FLAGS = tuple(c.name for c in schema.columns("encounters") if c.dtype == "boolean")
KEYS = {
    "patients": "patient_id",
    "encounters": "encounter_id",
    "appointments": "appointment_id",
}
SEX = {
    "female": "female",
    "f": "female",
    "male": "male",
    "m": "male",
    "other": "other",
    "o": "other",
    "unknown": "unknown",
    "unk": "unknown",
    "u": "unknown",
}
TRUTHY = {"true": True, "t": True, "1": True, "y": True, "yes": True, "1.0": True}
FALSY = {"false": False, "f": False, "0": False, "n": False, "no": False, "0.0": False}
READMIT_DAYS = 30
# A time with a UTC offset ("Z", "+02:00", "-0500") after its clock time.
OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})$"
# What a patient whose race field says Hispanic (2135-2) and ethnicity field says Not Hispanic
# (2186-5) counts as: "hispanic" (either field saying Hispanic is enough, the AHRQ "Hispanic of
# any race" reading) or "ethnicity-field" (the ethnicity field decides).
CONFLICT_RULES = ("hispanic", "ethnicity-field")


ROW_WORD = {".json": "entry", ".ndjson": "line"}


def _where(frame: pd.DataFrame, mask: pd.Series) -> list[str]:
    """'file entry 3' (Bundle), 'file line 3' (NDJSON) or 'file row 3' (CSV, Parquet)."""
    rows = frame.loc[mask].head(MAX_EXAMPLES)
    return [
        f"{f} {ROW_WORD.get(Path(f).suffix, 'row')} {r}"
        for f, r in zip(rows["_file"], rows["_row"], strict=True)
    ]


def _finding(report, frame, mask, field, problem, values: pd.Series) -> None:
    """Add one finding per distinct offending value, with a few locations each."""
    if not mask.any():
        return
    bad = values[mask].astype(str)
    for value, count in bad.value_counts().sort_index().items():
        report.findings.append(
            CodeFinding(
                field,
                str(value),
                int(count),
                problem,
                _where(frame, mask & (values.astype(str) == value)),
            )
        )


def _reject(report, table, frame, mask, reason, field) -> pd.DataFrame:
    """Record every row in `mask` as rejected and return the rest."""
    if not mask.any():
        return frame
    bad = frame.loc[mask, ["_file", "_row"]]
    for file, row in zip(bad["_file"], bad["_row"], strict=True):
        report.reject(table, reason, file=file, row=int(row), field=field)
    return frame.loc[~mask]


def _text(series: pd.Series) -> pd.Series:
    out = series.astype("string").str.strip()
    return out.mask(out == "")


def _bool(report, frame, name) -> pd.Series:
    if name not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="boolean")
    raw = frame[name]
    if raw.dtype == bool or str(raw.dtype) == "boolean":
        return raw.astype("boolean")
    text = _text(raw).str.lower()
    parsed = text.map({**TRUTHY, **FALSY}).astype("boolean")
    _finding(report, frame, text.notna() & parsed.isna(), name, "not a yes/no value", text)
    return parsed


def _time(report, frame, name, kind="timestamp") -> pd.Series:
    """Local wall-clock times in the health system's zone, so events fall on the right day.

    A time with a UTC offset (FHIR's "-04:00", Synthea CSV's "Z") is converted to
    `schema.local_zone()`; a time without one is taken as local already.
    """
    if name not in frame:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    raw = frame[name]
    zone = schema.local_zone()
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw.dt.tz_convert(zone).dt.tz_localize(None) if raw.dt.tz is not None else raw
    else:
        text = _text(raw)
        offset = text.str.contains(OFFSET, regex=True, na=False)
        parsed = pd.to_datetime(
            text.where(~offset).str.slice(0, 19), format="ISO8601", errors="coerce"
        )
        if offset.any():
            aware = pd.to_datetime(text[offset], format="ISO8601", utc=True, errors="coerce")
            parsed = parsed.astype("datetime64[us]")
            parsed[offset] = aware.dt.tz_convert(zone).dt.tz_localize(None).astype("datetime64[us]")
        _finding(report, frame, text.notna() & parsed.isna(), name, f"not a {kind}", text)
    return parsed.astype("datetime64[us]")


def _now() -> pd.Timestamp:
    """Now, as a local wall-clock time: later times cannot have happened yet."""
    return pd.Timestamp(datetime.now(schema.local_zone()).replace(tzinfo=None))


def _reject_future(report, table, frame, when: pd.Series, field, what) -> pd.DataFrame:
    """Reject rows dated after today (for dates) or after now (for times)."""
    limit = _now().normalize() if what == "date" else _now()
    return _reject(report, table, frame, when > limit, f"{field} is in the future", field)


def _choice(report, frame, name, allowed, fallback, aliases=None) -> pd.Series:
    text = _text(frame[name]).str.lower() if name in frame else pd.Series(pd.NA, index=frame.index)
    if aliases:
        text = text.map(lambda v: aliases.get(v, v) if isinstance(v, str) else v)
    ok = text.isin(allowed)
    _finding(report, frame, text.notna() & ~ok, name, f"not one of {', '.join(allowed)}", text)
    return text.where(ok | text.isna(), fallback)


def _ensure(frame: pd.DataFrame, names) -> pd.DataFrame:
    """Add the optional columns a mapping left out, as nulls."""
    missing = [n for n in names if n not in frame]
    return frame.assign(**dict.fromkeys(missing)) if missing else frame


def _dedupe(report, table, frame) -> pd.DataFrame:
    key = KEYS[table]
    frame = _reject(report, table, frame, _text(frame[key]).isna(), f"no {key}", key)
    return _reject(
        report, table, frame, frame[key].duplicated(keep="first"), f"duplicate {key}", key
    )


def conflict_rule() -> str:
    """`EQUILEAN_ETHNICITY_CONFLICT`: how a Hispanic race code beside a Not Hispanic ethnicity
    counts (see `CONFLICT_RULES`)."""
    rule = os.environ.get("EQUILEAN_ETHNICITY_CONFLICT") or "hispanic"
    if rule not in CONFLICT_RULES:
        raise InputError(
            f"unknown rule {rule!r}",
            field="EQUILEAN_ETHNICITY_CONFLICT",
            hint=f"use one of {', '.join(CONFLICT_RULES)}",
        )
    return rule


def _settle_conflicts(report, pat, race, eth, tokens) -> pd.Series:
    """Find patients whose two fields contradict each other, report them, apply the rule.

    Returns the race codes to store: under ``ethnicity-field`` the Hispanic code is taken out
    of the race field, so every dimension derived later (in pandas or in the store) agrees.
    """
    cat = tokens["category"]
    rows = tokens["row"]
    hispanic_in_race = set(rows[(cat == "hispanic") & (tokens["field"] == "race")])
    not_hispanic = set(rows[(cat == "not_hispanic") & (tokens["field"] == "ethnicity")])
    clash = sorted(hispanic_in_race & not_hispanic)
    if not clash:
        return race
    rule = conflict_rule()
    positions = pd.Series(range(len(pat)), index=pat.index)
    used = (
        "counted as Hispanic or Latino"
        if rule == "hispanic"
        else "counted by the ethnicity field as Not Hispanic or Latino"
    )
    report.findings.append(
        CodeFinding(
            "race_codes/ethnicity_codes",
            "Hispanic in race, Not Hispanic in ethnicity",
            len(clash),
            f"contradiction: {used} (EQUILEAN_ETHNICITY_CONFLICT={rule})",
            _where(pat, positions.isin(clash)),
        )
    )
    if rule == "hispanic":
        return race
    drop = tokens[(cat == "hispanic") & (tokens["field"] == "race") & rows.isin(clash)]
    kept = race.copy()
    for row, group in drop.groupby("row"):
        codes = [c for c in str(race.iloc[row]).split("|") if c.strip() not in set(group["token"])]
        kept.iloc[row] = "|".join(codes) or pd.NA
    return kept


def _race_ethnicity(report: QualityReport, pat: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    race, eth = _text(pat["race_codes"]), _text(pat["ethnicity_codes"])
    tokens = dimensions.race_ethnicity_tokens(
        race.reset_index(drop=True), eth.reset_index(drop=True)
    )
    positions = pd.Series(range(len(pat)), index=pat.index)
    for (field, problem), subset in (
        (
            ("race_codes", "ethnicity code in the race field"),
            tokens["misplaced"] & (tokens["field"] == "race"),
        ),
        (
            ("ethnicity_codes", "race code in the ethnicity field"),
            tokens["misplaced"] & (tokens["field"] == "ethnicity"),
        ),
        (
            ("race_codes", "unknown race code"),
            tokens["category"].isna() & (tokens["field"] == "race"),
        ),
        (
            ("ethnicity_codes", "unknown ethnicity code"),
            tokens["category"].isna() & (tokens["field"] == "ethnicity"),
        ),
    ):
        hits = tokens[subset]
        for code, group in hits.groupby("token", sort=True):
            mask = positions.isin(group["row"])
            report.findings.append(
                CodeFinding(field, str(code), len(group), problem, _where(pat, mask))
            )
    race = _settle_conflicts(report, pat, race, eth, tokens)
    return race, dimensions.combine_race_ethnicity(race, eth)


def _language(report, pat) -> pd.Series:
    text = _text(pat["language"]).str.lower()
    primary = text.str.split(r"[-_]", regex=True).str[0]
    ok = primary.str.fullmatch(r"[a-z]{2,3}").fillna(False).astype(bool)
    _finding(report, pat, text.notna() & ~ok, "language", "not a BCP-47 language tag", text)
    return primary.where(ok)


def _postal(report, pat) -> pd.Series:
    text = _text(pat["postal_code"]) if "postal_code" in pat else pd.Series(pd.NA, index=pat.index)
    digits = text.str.extract(r"^(\d{3,5})(?:-\d{4})?$", expand=False)
    # ZIPs that lost leading zeros in a spreadsheet (02720 -> 2720) get them back.
    fixed = digits.str.zfill(5)
    _finding(report, pat, text.notna() & digits.isna(), "postal_code", "not a US ZIP code", text)
    return fixed


def patients(report: QualityReport, pat: pd.DataFrame) -> pd.DataFrame:
    """Validate and normalise patients; derive race_ethnicity and payer_group."""
    pat = _ensure(pat, ("race_codes", "ethnicity_codes", "language", "payer", "postal_code"))
    pat = _dedupe(report, "patients", pat)
    birth = _time(report, pat, "birth_date", "date").dt.normalize()
    pat = _reject_future(report, "patients", pat, birth, "birth_date", "date")
    death = _time(report, pat, "death_date", "date").dt.normalize()
    pat = _reject_future(report, "patients", pat, death, "death_date", "date")
    out = pd.DataFrame(index=pat.index)
    out["patient_id"] = _text(pat["patient_id"])
    out["birth_date"] = birth.loc[pat.index]
    out["death_date"] = death.loc[pat.index]
    before_birth = out["death_date"] < out["birth_date"]
    _finding(report, pat, before_birth.fillna(False), "death_date", "before the birth date",
             out["death_date"])  # fmt: skip
    out["death_date"] = out["death_date"].mask(before_birth)
    deceased = _bool(report, pat, "deceased")
    out["deceased"] = deceased.mask(out["death_date"].notna(), True)
    out["sex"] = _choice(report, pat, "sex", schema.SEX, "unknown", SEX)
    out["sex"] = out["sex"].fillna("unknown")
    out["race_codes"] = _text(pat["race_codes"]) if "race_codes" in pat else None
    out["ethnicity_codes"] = _text(pat["ethnicity_codes"]) if "ethnicity_codes" in pat else None
    pat = pat.assign(race_codes=out["race_codes"], ethnicity_codes=out["ethnicity_codes"])
    out["race_codes"], out["race_ethnicity"] = _race_ethnicity(report, pat)
    out["language"] = _language(report, pat) if "language" in pat else None
    out["interpreter_needed"] = _bool(report, pat, "interpreter_needed")
    out["payer"] = _text(pat["payer"]) if "payer" in pat else None
    out["payer_group"] = dimensions.map_payer_group(out["payer"])
    out["postal_code"] = _postal(report, pat)
    if "adi_decile" in pat:
        adi = pd.to_numeric(pat["adi_decile"], errors="coerce")
        bad = pat["adi_decile"].notna() & ~adi.between(1, 10)
        _finding(report, pat, bad, "adi_decile", "not a decile 1-10", pat["adi_decile"])
        out["adi_decile"] = adi.where(~bad).round().astype("Int64")
    else:
        out["adi_decile"] = pd.Series(pd.NA, index=pat.index, dtype="Int64")
    out["disability"] = _bool(report, pat, "disability")
    return out


def _resolve_orgs(report, enc, names, org_map, organisation) -> pd.DataFrame:
    """Map organisation / location references or names to org codes; report what is unmapped."""
    org_map = org_map or {}
    known = set(organisation.nodes) if organisation else set()
    for column in ("hospital", "unit"):
        raw = _text(enc[column])
        named = raw.map(names).astype("string").fillna(raw)
        by_ref = raw.map(org_map).astype("string")
        by_name = named.map(org_map).astype("string")
        direct = named.where(named.isin(known))
        code = by_ref.fillna(by_name).fillna(direct)
        unmapped = named[named.notna() & code.isna()]
        for name, count in unmapped.value_counts().items():
            report.unmapped_orgs[str(name)] = report.unmapped_orgs.get(str(name), 0) + int(count)
        enc[column] = code.fillna(named)
    if organisation is not None:
        # A mapped unit fixes its hospital, whatever the serviceProvider said.
        hospital_of = {
            u.code: organisation.ancestor(u.code, "hospital") for u in organisation.units()
        }
        enc["hospital"] = enc["unit"].map(hospital_of).fillna(enc["hospital"])
    return enc


def _readmissions(enc: pd.DataFrame) -> pd.Series:
    """An inpatient stay is readmitted if the patient is admitted again within 30 days."""
    inpatient = enc[enc["encounter_class"] == "inpatient"].sort_values(["patient_id", "start_time"])
    next_start = inpatient.groupby("patient_id")["start_time"].shift(-1)
    gap = next_start - inpatient["end_time"].fillna(inpatient["start_time"])
    flag = (gap <= pd.Timedelta(days=READMIT_DAYS)) & gap.notna()
    return flag.astype("boolean").reindex(enc.index)


def encounters(
    report: QualityReport,
    enc: pd.DataFrame,
    patient_ids: pd.Series,
    names: dict[str, str] | None = None,
    org_map: dict[str, str] | None = None,
    organisation: Organisation | None = None,
) -> pd.DataFrame:
    """Validate and normalise encounters; resolve org codes; derive length of stay."""
    enc = _ensure(enc, ("hospital", "unit", "end_time", "disposition"))
    enc = _dedupe(report, "encounters", enc)
    enc = _reject(
        report,
        "encounters",
        enc,
        ~_text(enc["patient_id"]).isin(patient_ids),
        "patient not in this extract",
        "patient_id",
    )
    start = _time(report, enc, "start_time")
    enc = _reject(report, "encounters", enc, start.isna(), "no valid start time", "start_time")
    enc = _reject_future(report, "encounters", enc, start.loc[enc.index], "start_time", "time")
    out = pd.DataFrame(index=enc.index)
    out["encounter_id"] = _text(enc["encounter_id"])
    out["patient_id"] = _text(enc["patient_id"])
    out["encounter_class"] = _choice(
        report, enc, "encounter_class", schema.ENCOUNTER_CLASSES, "other"
    )
    out["encounter_class"] = out["encounter_class"].fillna("other")
    orgs = _resolve_orgs(
        report, enc[["hospital", "unit"]].copy(), names or {}, org_map, organisation
    )
    out["hospital"], out["unit"] = orgs["hospital"], orgs["unit"]
    out["start_time"] = start.loc[enc.index]
    end = _time(report, enc, "end_time")
    backwards = end < out["start_time"]
    _finding(report, enc, backwards.fillna(False), "end_time", "ends before it starts", end)
    out["end_time"] = end.mask(backwards)
    out["disposition"] = _choice(report, enc, "disposition", schema.DISPOSITIONS, "other")
    out["length_of_stay_hours"] = (out["end_time"] - out["start_time"]).dt.total_seconds() / 3600
    for name in MEASURE_FLAGS:
        out[name] = _bool(report, enc, name)
    if "door_to_provider_minutes" in enc:
        out["door_to_provider_minutes"] = pd.to_numeric(
            enc["door_to_provider_minutes"], errors="coerce"
        )
    else:
        out["door_to_provider_minutes"] = np.nan
    if out["readmitted_30d"].isna().all():
        out["readmitted_30d"] = _readmissions(out)
    if out["left_without_being_seen"].isna().all():
        ed = out["encounter_class"] == "emergency"
        out["left_without_being_seen"] = (out["disposition"] == "lwbs").astype("boolean").where(ed)
    return out


def census_days(
    report: QualityReport, days: pd.DataFrame, encounter_ids: pd.Series
) -> pd.DataFrame:
    """Validate census days: each row needs a known encounter and a date."""
    days = _ensure(days, ("patient_id", "hospital", "unit", "falls", "pressure_injuries"))
    days = _reject(
        report,
        "census_days",
        days,
        ~_text(days["encounter_id"]).isin(encounter_ids),
        "encounter not in this extract",
        "encounter_id",
    )
    date = _time(report, days, "census_date", "date").dt.normalize()
    days = _reject(report, "census_days", days, date.isna(), "no valid census date", "census_date")
    days = _reject_future(report, "census_days", days, date.loc[days.index], "census_date", "date")
    out = pd.DataFrame(index=days.index)
    for name in ("encounter_id", "patient_id", "hospital", "unit"):
        out[name] = _text(days[name])
    out["census_date"] = date.loc[days.index]
    out["patient_days"] = pd.to_numeric(days.get("patient_days", 1.0), errors="coerce")
    for name in ("falls", "pressure_injuries"):
        out[name] = pd.to_numeric(days[name], errors="coerce").astype("Int64")
    return out


def appointments(report: QualityReport, appt: pd.DataFrame, patient_ids: pd.Series) -> pd.DataFrame:
    """Validate appointments; derive no_show from the status when not given."""
    appt = _ensure(appt, ("hospital", "unit", "status"))
    appt = _dedupe(report, "appointments", appt)
    appt = _reject(
        report,
        "appointments",
        appt,
        ~_text(appt["patient_id"]).isin(patient_ids),
        "patient not in this extract",
        "patient_id",
    )
    when = _time(report, appt, "scheduled_time")
    appt = _reject(report, "appointments", appt, when.isna(), "no valid time", "scheduled_time")
    out = pd.DataFrame(index=appt.index)
    for name in ("appointment_id", "patient_id", "hospital", "unit"):
        out[name] = _text(appt[name])
    out["scheduled_time"] = when.loc[appt.index]
    out["status"] = _choice(report, appt, "status", schema.APPOINTMENT_STATUSES, "cancelled")
    given = _bool(report, appt, "no_show")
    out["no_show"] = given.fillna((out["status"] == "noshow").astype("boolean"))
    return out


def completeness(report: QualityReport, pat: pd.DataFrame) -> None:
    """Share of patients with a usable race/ethnicity, ethnicity, language and payer."""
    if pat.empty:
        return
    report.completeness = {
        "race_ethnicity": float((pat["race_ethnicity"] != dimensions.UNKNOWN).mean()),
        "language": float(pat["language"].notna().mean()),
        "interpreter_needed": float(pat["interpreter_needed"].notna().mean()),
        "payer": float((pat["payer_group"] != "Unknown").mean()),
    }
