"""FHIR R4 reader: Bundles (JSON) and NDJSON -> the canonical tables, keeping only what we need.

Only the fields the measures use are read. Names, identifiers (SSN, driver's licence,
passport, MRN), street addresses and phone numbers are never copied out of a resource.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pandas as pd

from equilean.engine.errors import InputError, decode_utf8
from equilean.engine.sources.quality import QualityReport

try:  # orjson parses large bundles several times faster; plain json is the fallback
    import orjson

    def _loads(raw: bytes) -> Any:
        return orjson.loads(raw)

    _DecodeError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - depends on the environment

    def _loads(raw: bytes) -> Any:
        return json.loads(raw)

    _DecodeError = json.JSONDecodeError

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
RACE_URL = US_CORE + "us-core-race"
ETHNICITY_URL = US_CORE + "us-core-ethnicity"
BIRTHSEX_URL = US_CORE + "us-core-birthsex"
INTERPRETER_URLS = (
    "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired",
    US_CORE + "us-core-interpreter-needed",
)
BCP47 = "urn:ietf:bcp:47"

BIRTHSEX = {"F": "female", "M": "male", "UNK": "unknown", "O": "other", "OTH": "other"}
GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
# v3 ActCode encounter classes -> the contract's encounter_class.
ENCOUNTER_CLASS = {
    "EMER": "emergency",
    "IMP": "inpatient",
    "ACUTE": "inpatient",
    "NONAC": "inpatient",
    "OBSENC": "observation",
    "AMB": "ambulatory",
    "FLD": "ambulatory",
    "SS": "ambulatory",
    "VR": "virtual",
    "HH": "other",
    "PRENC": "other",
}
# NUBC UB-04 patient discharge status and HL7 discharge-disposition codes -> the contract.
DISPOSITION = {
    "01": "home",
    "06": "home",
    "02": "transfer",
    "05": "transfer",
    "43": "transfer",
    "63": "transfer",
    "65": "transfer",
    "66": "transfer",
    "70": "transfer",
    "03": "snf",
    "04": "snf",
    "61": "snf",
    "64": "snf",
    "62": "rehab",
    "07": "ama",
    "09": "admitted",
    "20": "expired",
    "40": "expired",
    "41": "expired",
    "42": "expired",
    "50": "other",
    "51": "other",
    "home": "home",
    "alt-home": "home",
    "other-hcf": "transfer",
    "hosp": "transfer",
    "psy": "transfer",
    "long": "snf",
    "snf": "snf",
    "rehab": "rehab",
    "aadvice": "ama",
    "exp": "expired",
    "oth": "other",
    "lwbs": "lwbs",
}
APPOINTMENT_STATUS = {
    "fulfilled": "fulfilled",
    "arrived": "fulfilled",
    "checked-in": "fulfilled",
    "noshow": "noshow",
    "cancelled": "cancelled",
}
YES = {"y", "yes", "true", "la33-6"}
NO = {"n", "no", "false", "la32-8"}


@dataclass
class Extract:
    """What a reader found: raw canonical-shaped frames plus the report being filled in.

    Each frame has ``_file`` and ``_row`` columns (file name, and Bundle entry or NDJSON line)
    used to locate rejections and findings; they are dropped before loading.
    """

    frames: dict[str, pd.DataFrame]
    report: QualityReport
    org_refs: dict[str, str] = field(default_factory=dict)


def _ref_id(ref: dict | None) -> str | None:
    """The id in a reference: 'urn:uuid:x', 'Patient/x' and 'x' all give 'x'.

    A conditional reference ('Organization?identifier=system|value') is returned whole, to be
    resolved against the extract's resources once every file has been read (`_Identifiers`).
    """
    if not ref or not ref.get("reference"):
        return None
    text = ref["reference"]
    if text.startswith("urn:uuid:"):
        return text[9:]
    if "?" in text:
        return text
    return text.rsplit("/", 1)[-1]


# Resource types whose identifiers conditional references may use.
REFERABLE = ("Patient", "Organization", "Location", "Practitioner")


@dataclass
class _Identifiers:
    """Business identifiers of the extract's resources, to resolve conditional references."""

    ids: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, res: dict) -> None:
        for ident in res.get("identifier") or []:
            value = ident.get("value")
            if value:
                system = ident.get("system") or ""
                self.ids[(res["resourceType"], f"{system}|{value}")] = res["id"]
                self.ids.setdefault((res["resourceType"], str(value)), res["id"])

    def resolve(self, ref: Any) -> Any:
        """'Type?identifier=system|value' -> that resource's id; anything else as it is."""
        if not isinstance(ref, str) or "?identifier=" not in ref:
            return ref
        kind, _, query = ref.partition("?identifier=")
        token = unquote(query.split("&", 1)[0])
        key = token[1:] if token.startswith("|") else token
        return self.ids.get((kind, key), ref)


def _codes(ext: dict) -> str | None:
    """'|'-joined codes of a US Core race/ethnicity extension, or its text if it has none."""
    codes: list[str] = []
    text = None
    for part in ext.get("extension", []):
        if part.get("url") in ("ombCategory", "detailed"):
            code = (part.get("valueCoding") or {}).get("code")
            if code and code not in codes:
                codes.append(code)
        elif part.get("url") == "text":
            text = part.get("valueString")
    if codes:
        return "|".join(codes)
    return text


def _yes_no(ext: dict) -> bool | None:
    if "valueBoolean" in ext:
        return bool(ext["valueBoolean"])
    coding = ext.get("valueCoding") or {}
    concept = ext.get("valueCodeableConcept") or {}
    code = coding.get("code") or next(
        (c.get("code") for c in concept.get("coding", []) if c.get("code")), None
    )
    code = str(code or "").lower()
    return True if code in YES else False if code in NO else None


def _language(patient: dict) -> str | None:
    comms = patient.get("communication") or []
    chosen = next((c for c in comms if c.get("preferred")), comms[0] if comms else None)
    if not chosen:
        return None
    concept = chosen.get("language") or {}
    codings = concept.get("coding") or []
    coding = next((c for c in codings if c.get("system") == BCP47), codings[0] if codings else {})
    return coding.get("code") or concept.get("text")


def _postal_code(patient: dict) -> str | None:
    addresses = patient.get("address") or []
    home = next((a for a in addresses if a.get("use") == "home"), addresses[0] if addresses else {})
    return home.get("postalCode")


def patient_row(res: dict, where: tuple[str, int]) -> dict:
    """The canonical fields of one Patient; nothing else is copied."""
    deceased = res.get("deceasedBoolean")
    row: dict[str, Any] = {
        "patient_id": res.get("id"),
        "birth_date": res.get("birthDate"),
        "death_date": res.get("deceasedDateTime"),
        "deceased": True if res.get("deceasedDateTime") else deceased,
        "sex": GENDER.get(res.get("gender") or ""),
        "race_codes": None,
        "ethnicity_codes": None,
        "language": _language(res),
        "interpreter_needed": None,
        "postal_code": _postal_code(res),
        "_file": where[0],
        "_row": where[1],
    }
    for ext in res.get("extension", []):
        url = ext.get("url")
        if url == RACE_URL:
            row["race_codes"] = _codes(ext)
        elif url == ETHNICITY_URL:
            row["ethnicity_codes"] = _codes(ext)
        elif url == BIRTHSEX_URL and ext.get("valueCode") in BIRTHSEX:
            # Birth sex when given: it is what sex-specific measures and norms are built on.
            row["sex"] = BIRTHSEX[ext["valueCode"]]
        elif url in INTERPRETER_URLS:
            row["interpreter_needed"] = _yes_no(ext)
    return row


def _first_code(concept: dict | None) -> str | None:
    concept = concept or {}
    return next((c.get("code") for c in concept.get("coding", []) if c.get("code")), None) or (
        concept.get("text")
    )


def encounter_row(res: dict, where: tuple[str, int]) -> dict:
    """The canonical fields of one Encounter (organisation names are resolved later)."""
    period = res.get("period") or {}
    cls = res.get("class") or {}
    locations = res.get("location") or []
    loc_ref = (locations[0].get("location") or {}) if locations else {}
    disp = _first_code((res.get("hospitalization") or {}).get("dischargeDisposition"))
    return {
        "encounter_id": res.get("id"),
        "patient_id": _ref_id(res.get("subject")),
        "encounter_class": ENCOUNTER_CLASS.get(cls.get("code") or "", "other"),
        "hospital": _ref_id(res.get("serviceProvider"))
        or (res.get("serviceProvider") or {}).get("display"),
        "unit": _ref_id(loc_ref) or loc_ref.get("display"),
        "start_time": period.get("start"),
        "end_time": period.get("end"),
        "disposition": None if disp is None else DISPOSITION.get(str(disp).lower(), "other"),
        "_file": where[0],
        "_row": where[1],
    }


def appointment_row(res: dict, where: tuple[str, int]) -> dict:
    """The canonical fields of one Appointment."""
    actors = [(p.get("actor") or {}) for p in res.get("participant", [])]
    patient = next((a for a in actors if "Patient" in (a.get("reference") or "")), {})
    location = next((a for a in actors if "Location" in (a.get("reference") or "")), {})
    return {
        "appointment_id": res.get("id"),
        "patient_id": _ref_id(patient),
        "hospital": None,
        "unit": _ref_id(location) or location.get("display"),
        "scheduled_time": res.get("start"),
        "status": APPOINTMENT_STATUS.get(res.get("status") or "", "other"),
        "_file": where[0],
        "_row": where[1],
    }


def _coverages(res: dict) -> Iterator[dict]:
    """Coverage resources, top-level or contained in a claim / explanation of benefit."""
    found = [res] if res.get("resourceType") == "Coverage" else []
    found += [c for c in res.get("contained", []) if c.get("resourceType") == "Coverage"]
    when = (
        (res.get("billablePeriod") or {}).get("start")
        or res.get("created")
        or (res.get("period") or {}).get("start")
    )
    for cov in found:
        payor = (cov.get("payor") or [{}])[0]
        payer = payor.get("display") or _first_code(cov.get("type"))
        patient = _ref_id(cov.get("beneficiary")) or _ref_id(res.get("patient"))
        if payer and patient:
            start = (cov.get("period") or {}).get("start") or when or ""
            yield {"patient_id": patient, "payer": payer, "_when": start}


def _resources(path: Path, raw: bytes) -> Iterator[tuple[dict, tuple[str, int]]]:
    """Every resource in a Bundle, single-resource JSON or NDJSON file, with its location."""
    raw = decode_utf8(path, raw, by_line=path.suffix == ".ndjson")
    if path.suffix == ".ndjson":
        for lineno, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                res = _loads(line)
            except _DecodeError as exc:
                raise InputError(
                    f"line is not valid JSON ({exc})",
                    file=str(path),
                    row=lineno,
                    hint="NDJSON needs one complete FHIR resource per line",
                ) from exc
            yield from _unbundle(res, path, lineno)
        return
    try:
        doc = _loads(raw)
    except _DecodeError as exc:
        raise InputError(
            f"file is not valid JSON ({exc})",
            file=str(path),
            row=getattr(exc, "lineno", None),
            hint="export the Bundle again; the file may be truncated",
        ) from exc
    yield from _unbundle(doc, path, None)


def _unbundle(doc: Any, path: Path, row: int | None) -> Iterator[tuple[dict, tuple[str, int]]]:
    if not isinstance(doc, dict) or not doc.get("resourceType"):
        raise InputError(
            "not a FHIR resource (no resourceType)",
            file=str(path),
            row=row,
            field="resourceType",
            hint="give FHIR R4 Bundles (JSON) or NDJSON with one resource per line",
        )
    if doc["resourceType"] != "Bundle":
        yield doc, (path.name, row or 0)
        return
    for i, entry in enumerate(doc.get("entry") or []):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict) or not res.get("resourceType"):
            raise InputError(
                f"Bundle entry {i} has no resource with a resourceType",
                file=str(path),
                row=row,
                field=f"entry[{i}].resource",
                hint="every Bundle entry needs a resource",
            )
        # A Bundle's entries are numbered from 0 as in FHIRPath (Bundle.entry[i]).
        yield res, (path.name, i if row is None else row)


def files_in(path: str | Path) -> list[Path]:
    """The FHIR files at a path: the file itself, or *.json / *.ndjson in a directory.

    A ``manifest.json`` in the directory (FHIR Bulk Data and `equilean synth` write one) is
    not a resource and is skipped.
    """
    path = Path(path)
    if path.is_dir():
        found = sorted(
            p
            for p in path.iterdir()
            if p.suffix in (".json", ".ndjson") and p.name != "manifest.json"
        )
    elif path.exists():
        found = [path]
    else:
        found = []
    if not found:
        raise InputError(
            "no FHIR files found",
            file=str(path),
            hint="give a Bundle .json file, an .ndjson file, or a directory of them",
        )
    return found


def read(
    path: str | Path,
    source: str,
    progress: Callable[[int, int], None] | None = None,
) -> Extract:
    """Read FHIR R4 Bundles / NDJSON into raw canonical frames.

    Parameters
    ----------
    path
        A Bundle JSON file, an NDJSON file, or a directory of them.
    source
        The load key that the report is written for.
    progress
        Called as ``progress(files_done, files_total)``.

    Returns
    -------
    Extract
        Frames ``patients``, ``encounters``, ``appointments`` with raw codes, and the report.
        A malformed file raises `InputError` before anything is returned.
    """
    files = files_in(path)
    report = QualityReport(source=source, kind="fhir")
    patients: list[dict] = []
    encounters: list[dict] = []
    appointments: list[dict] = []
    coverages: list[dict] = []
    names: dict[str, str] = {}
    identifiers = _Identifiers()
    for done, file in enumerate(files, start=1):
        raw = file.read_bytes()
        records = 0
        for res, where in _resources(file, raw):
            records += 1
            kind = res["resourceType"]
            report.resource_types[kind] = report.resource_types.get(kind, 0) + 1
            if kind == "Patient":
                patients.append(patient_row(res, where))
            elif kind == "Encounter":
                encounters.append(encounter_row(res, where))
            elif kind == "Appointment":
                appointments.append(appointment_row(res, where))
            elif kind in ("Organization", "Location") and res.get("id"):
                names[res["id"]] = res.get("name") or res["id"]
            if kind in REFERABLE and res.get("id"):
                identifiers.add(res)
            if kind in ("Coverage", "ExplanationOfBenefit", "Claim"):
                coverages.extend(_coverages(res))
        report.add_file(file, hashlib.sha256(raw).hexdigest(), records)
        if progress:
            progress(done, len(files))

    pat = pd.DataFrame(patients, columns=[*patient_row({}, ("", 0)).keys()])
    if coverages:
        # The most recent coverage is the patient's payer for stratification.
        cov = pd.DataFrame(coverages)
        cov["patient_id"] = cov["patient_id"].map(identifiers.resolve)
        cov = cov.sort_values(["patient_id", "_when"], kind="stable")
        latest = cov.drop_duplicates("patient_id", keep="last").set_index("patient_id")["payer"]
        pat["payer"] = pat["patient_id"].map(latest)
    else:
        pat["payer"] = None
    enc = pd.DataFrame(encounters, columns=[*encounter_row({}, ("", 0)).keys()])
    appt = pd.DataFrame(appointments, columns=[*appointment_row({}, ("", 0)).keys()])
    # References may name resources in other files (Synthea's hospitalInformation*.json).
    for frame, columns in (
        (enc, ("patient_id", "hospital", "unit")),
        (appt, ("patient_id", "unit")),
    ):
        for column in columns:
            frame[column] = frame[column].map(identifiers.resolve)
    return Extract(
        frames={"patients": pat, "encounters": enc, "appointments": appt},
        report=report,
        org_refs=names,
    )
