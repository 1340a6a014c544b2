"""FHIR ingest: equilean's reader and store load vs a minimal json.load-and-extract loop."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
ENCOUNTERS = 100_000


def prepare(data: Path, equilean: Path) -> Path:
    """`equilean synth --format fhir` output of about 100k encounters, generated once."""
    folder = data / f"fhir-{ENCOUNTERS}"
    if not (folder / "manifest.json").exists():
        subprocess.run(
            [equilean, "synth", "--out", folder, "--encounters", str(ENCOUNTERS),
             "--format", "fhir", "--end", "2026-10-31", "--quiet"], check=True,
        )  # fmt: skip
    return folder


def equilean_ingest(folder: Path) -> int:
    """`sources.ingest(kind="fhir")` into a fresh DuckDB store; rows loaded."""
    from equilean.engine import sources, store

    with tempfile.TemporaryDirectory() as tmp:
        con = store.connect(f"duckdb://{tmp}/store.duckdb")
        report = sources.ingest(folder, kind="fhir", con=con)
        con.disconnect()
    return report.rows_loaded["patients"] + report.rows_loaded["encounters"]


def _codes(ext: dict) -> str | None:
    codes = [e["valueCoding"]["code"] for e in ext.get("extension", []) if "valueCoding" in e]
    return "|".join(codes) or None


def _patient(res: dict) -> dict:
    ext = {e["url"]: e for e in res.get("extension", [])}
    comms = res.get("communication") or [{}]
    codings = (comms[0].get("language") or {}).get("coding") or [{}]
    return {
        "patient_id": res["id"],
        "birth_date": res.get("birthDate"),
        "sex": res.get("gender"),
        "race_codes": _codes(ext[RACE]) if RACE in ext else None,
        "ethnicity_codes": _codes(ext[ETHNICITY]) if ETHNICITY in ext else None,
        "language": codings[0].get("code"),
    }


def _encounter(res: dict) -> dict:
    period = res.get("period") or {}
    location = (res.get("location") or [{}])[0].get("location") or {}
    disposition = (res.get("hospitalization") or {}).get("dischargeDisposition") or {}
    return {
        "encounter_id": res["id"],
        "patient_id": res["subject"]["reference"].rsplit("/", 1)[-1],
        "encounter_class": res["class"]["code"],
        "hospital": (res.get("serviceProvider") or {}).get("reference", "").rsplit("/", 1)[-1],
        "unit": location.get("reference", "").rsplit("/", 1)[-1],
        "start_time": period.get("start"),
        "end_time": period.get("end"),
        "disposition": (disposition.get("coding") or [{}])[0].get("code"),
    }


def minimal_loop(folder: Path) -> int:
    """json.loads each NDJSON line and pick the same patient and encounter columns."""
    rows = {"Patient": [], "Encounter": [], "Coverage": []}
    for name in rows:
        with open(folder / f"{name}.ndjson") as lines:
            for line in lines:
                res = json.loads(line)
                if name == "Patient":
                    rows[name].append(_patient(res))
                elif name == "Encounter":
                    rows[name].append(_encounter(res))
                else:
                    rows[name].append((res["beneficiary"]["reference"][8:], res["payor"][0]))
    patients = pd.DataFrame(rows["Patient"])
    payers = dict(rows["Coverage"])
    patients["payer"] = patients["patient_id"].map(lambda p: (payers.get(p) or {}).get("display"))
    encounters = pd.DataFrame(rows["Encounter"])
    for column in ("start_time", "end_time"):
        encounters[column] = pd.to_datetime(encounters[column])
    return len(patients) + len(encounters)
