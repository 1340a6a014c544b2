"""The canonical tables of the measure store: column names, types, meanings, and a validator."""

from __future__ import annotations

import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from equilean.engine.errors import InputError


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, Ibis type, nullability, allowed values and meaning."""

    name: str
    dtype: str
    doc: str
    nullable: bool = True
    allowed: tuple[str, ...] | None = None


def _c(name, dtype, doc, nullable=True, allowed=None) -> Column:
    return Column(name, dtype, doc, nullable, tuple(allowed) if allowed else None)


SEX = ("female", "male", "other", "unknown")
ENCOUNTER_CLASSES = ("emergency", "inpatient", "ambulatory", "observation", "virtual", "other")
DISPOSITIONS = (
    "home",
    "snf",
    "rehab",
    "expired",
    "ama",
    "lwbs",
    "transfer",
    "admitted",
    "other",
)
PAYER_GROUPS = ("Medicare", "Medicaid", "Commercial", "Self-pay", "Other", "Unknown")
APPOINTMENT_STATUSES = ("fulfilled", "noshow", "cancelled")
SOURCE = _c("source", "string", "the load key: reloading a source replaces its rows", False)

TABLES: dict[str, tuple[Column, ...]] = {
    "patients": (
        _c("patient_id", "string", "the patient's identifier, unique across the store", False),
        SOURCE,
        _c("birth_date", "date", "date of birth"),
        _c("sex", "string", "administrative sex", allowed=SEX),
        _c("race_codes", "string", 'raw race values as given (CDC codes or words), "|"-joined'),
        _c("ethnicity_codes", "string", 'raw ethnicity values as given, "|"-joined'),
        _c(
            "race_ethnicity",
            "string",
            "OMB SPD 15 (2024) combined label from combine_race_ethnicity",
        ),
        _c("language", "string", "BCP-47 primary language subtag, lower-case; null when unknown"),
        _c("interpreter_needed", "boolean", "the patient needs an interpreter"),
        _c("payer", "string", "raw payer code or name"),
        _c("payer_group", "string", "payer group from the payer code map", allowed=PAYER_GROUPS),
        _c("postal_code", "string", "5-digit ZIP code"),
        _c("adi_decile", "int64", "Area Deprivation Index state decile, 1 (least) to 10 (most)"),
        _c("disability", "boolean", "the patient has a recorded disability"),
        _c("death_date", "date", "date of death, the day only (for mortality measures)"),
        _c("deceased", "boolean", "the patient has died, whether or not the date is known"),
    ),
    "encounters": (
        _c("encounter_id", "string", "the encounter's identifier", False),
        _c("patient_id", "string", "the patient (patients.patient_id)", False),
        SOURCE,
        _c("encounter_class", "string", "care setting", False, ENCOUNTER_CLASSES),
        _c("hospital", "string", "hospital code in the organisation tree"),
        _c("unit", "string", "unit code in the organisation tree"),
        _c(
            "start_time",
            "timestamp",
            "arrival or admission time, local wall-clock time in EQUILEAN_TIME_ZONE",
            False,
        ),
        _c("end_time", "timestamp", "departure or discharge time"),
        _c("disposition", "string", "where the patient went", allowed=DISPOSITIONS),
        _c("length_of_stay_hours", "float64", "end_time - start_time in hours"),
        _c("readmitted_30d", "boolean", "an unplanned inpatient readmission within 30 days"),
        _c("left_without_being_seen", "boolean", "left the ED before a provider saw them"),
        _c("door_to_provider_minutes", "float64", "ED arrival to first provider contact"),
        _c("interpreter_used", "boolean", "a qualified interpreter was used"),
        _c("sepsis_eligible", "boolean", "in the SEP-1 denominator"),
        _c("sepsis_bundle_met", "boolean", "the SEP-1 bundle was completed"),
        _c("pain_reassessment_due", "boolean", "pain medication given, reassessment due"),
        _c("pain_reassessed", "boolean", "pain reassessed within the expected time"),
        _c("restraint_used", "boolean", "physical restraint used during the stay"),
        _c("hypertension", "boolean", "patient with diagnosed hypertension (CMS165 denominator)"),
        _c("bp_controlled", "boolean", "last blood pressure < 140/90"),
        _c("crc_eligible", "boolean", "due for colorectal cancer screening (CMS130 denominator)"),
        _c("crc_screened", "boolean", "colorectal cancer screening up to date"),
        _c("survey_returned", "boolean", "an experience survey was returned"),
        _c("survey_top_box", "boolean", "the overall rating was top box (9-10)"),
    ),
    "census_days": (
        _c("encounter_id", "string", "the inpatient encounter", False),
        _c("patient_id", "string", "the patient", False),
        SOURCE,
        _c("hospital", "string", "hospital code"),
        _c("unit", "string", "unit code where the patient was that day"),
        _c("census_date", "date", "the calendar day", False),
        _c("patient_days", "float64", "exposure that day, usually 1.0", False),
        _c("falls", "int64", "falls that day"),
        _c("pressure_injuries", "int64", "new hospital-acquired pressure injuries that day"),
    ),
    "appointments": (
        _c("appointment_id", "string", "the appointment's identifier", False),
        _c("patient_id", "string", "the patient", False),
        SOURCE,
        _c("hospital", "string", "hospital code"),
        _c("unit", "string", "clinic unit code"),
        _c("scheduled_time", "timestamp", "scheduled start (local wall-clock)", False),
        _c("status", "string", "outcome", allowed=APPOINTMENT_STATUSES),
        _c("no_show", "boolean", "the patient did not come"),
    ),
}

_ARROW = {
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "boolean": pa.bool_(),
    "int64": pa.int64(),
    "float64": pa.float64(),
}
DEFAULT_TIME_ZONE = "America/New_York"
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


def local_zone() -> ZoneInfo:
    """The health system's time zone (`EQUILEAN_TIME_ZONE`), in which days and months fall.

    Timestamps with a UTC offset are converted to it; times without one are taken to be local
    wall-clock times already.
    """
    name = os.environ.get("EQUILEAN_TIME_ZONE") or DEFAULT_TIME_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"unknown time zone {name!r}",
            field="EQUILEAN_TIME_ZONE",
            hint="use an IANA zone name such as America/New_York or America/Chicago",
        ) from None


def columns(table_name: str) -> tuple[Column, ...]:
    """The canonical columns of one table, in order."""
    try:
        return TABLES[table_name]
    except KeyError:
        raise InputError(
            f"unknown table '{table_name}'", hint=f"use one of {', '.join(TABLES)}"
        ) from None


def ibis_schema(table_name: str) -> ibis.Schema:
    """The Ibis schema of one canonical table."""
    return ibis.schema({c.name: c.dtype for c in columns(table_name)})


def arrow_schema(table_name: str) -> pa.Schema:
    """The pyarrow schema of one canonical table, with each column's meaning as metadata."""
    return pa.schema(
        [
            pa.field(c.name, _ARROW[c.dtype], nullable=c.nullable, metadata={"doc": c.doc})
            for c in columns(table_name)
        ]
    )


def _bad(name: str, mask: pd.Series, values: pd.Series, what: str, file: str | None):
    if mask.any():
        first = int(np.flatnonzero(mask.to_numpy())[0])
        raise InputError(
            f"{int(mask.sum())} value(s) are not {what}, first {values.iloc[first]!r}",
            file=file,
            row=first + 1,
            field=name,
            hint=f"give {what} in column '{name}'",
        )


def _coerce(col: Column, values: pd.Series, file: str | None) -> pd.Series:
    missing = values.isna()
    if col.dtype == "string":
        out = values.astype("object").where(~missing, None)
        out = out.map(lambda v: v if v is None or isinstance(v, str) else str(v))
        return out.astype("string")
    if col.dtype == "boolean":
        if pd.api.types.is_bool_dtype(values):
            return values.astype("boolean")
        text = values.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[text.isin(_TRUE).fillna(False).astype(bool)] = True
        out[text.isin(_FALSE).fillna(False).astype(bool)] = False
        _bad(col.name, out.isna() & ~missing, values, "true/false", file)
        return out
    if col.dtype in ("int64", "float64"):
        out = pd.to_numeric(values, errors="coerce")
        _bad(col.name, out.isna() & ~missing, values, "numbers", file)
        if col.dtype == "int64":
            _bad(col.name, out.notna() & (out % 1 != 0), values, "whole numbers", file)
            return out.astype("Int64")
        return out.astype("Float64")
    stamps = pd.to_datetime(values, errors="coerce", format="mixed")
    _bad(col.name, stamps.isna() & ~missing, values, f"{col.dtype}s", file)
    if getattr(stamps.dt, "tz", None) is not None:
        # Periods are the health system's local days: convert, then keep the wall-clock time.
        stamps = stamps.dt.tz_convert(local_zone()).dt.tz_localize(None)
    # The store keeps microseconds; finer digits are clock noise, not data.
    return stamps.dt.normalize() if col.dtype == "date" else stamps.dt.floor("us")


def validate(table_name: str, frame, *, file: str | None = None) -> pa.Table:
    """Check and coerce a frame to one canonical table.

    Parameters
    ----------
    table_name : str
        One of ``patients``, ``encounters``, ``census_days``, ``appointments``.
    frame : pandas.DataFrame or pyarrow.Table
        The rows. Missing nullable columns are added as nulls; extra columns are dropped.
    file : str, optional
        The file the rows came from, named in errors.

    Returns
    -------
    pyarrow.Table
        Exactly the canonical columns, in order, with the canonical types.

    Raises
    ------
    InputError
        A required column is missing or null, a value cannot be read as the column's type, or a
        coded column holds a value outside its allowed list; the error names the first bad row
        (1-based) and the column.
    """
    cols = columns(table_name)
    if isinstance(frame, pa.Table):
        frame = frame.to_pandas()
    absent = [c.name for c in cols if c.name not in frame.columns and not c.nullable]
    if absent:
        raise InputError(
            f"table '{table_name}' lacks required column(s) {', '.join(absent)}",
            file=file,
            field=absent[0],
            hint="map these columns from the extract",
        )
    frame = frame.reset_index(drop=True)
    arrays = {}
    for col in cols:
        if col.name not in frame.columns:
            arrays[col.name] = pa.nulls(len(frame), _ARROW[col.dtype])
            continue
        values = _coerce(col, frame[col.name], file)
        _bad(col.name, values.isna() & (not col.nullable), values, "filled in", file)
        if col.allowed:
            allowed = pd.Series(values).isin(col.allowed).fillna(False).astype(bool)
            _bad(col.name, ~allowed & values.notna(), values, f"one of {col.allowed}", file)
        arrays[col.name] = pa.array(values, type=_ARROW[col.dtype], from_pandas=True)
    return pa.table(arrays, schema=arrow_schema(table_name))
