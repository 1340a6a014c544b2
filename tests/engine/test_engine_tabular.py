"""CSV / Parquet ingest through mapping files, and agreement of Synthea CSV with FHIR."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from equilean.engine import sources, store
from equilean.engine.errors import InputError
from equilean.engine.sources import tabular

# Real Synthea bundles kept in the repository (tests/data/synthea-fhir-r4-sample/README.md).
SAMPLE = Path(
    os.environ.get(
        "EQUILEAN_FHIR_SAMPLE",
        Path(__file__).resolve().parents[1] / "data" / "synthea-fhir-r4-sample",
    )
)
# Synthea's own words for the codes its FHIR exporter writes (2135-2 is its "hispanic" race).
RACE_WORD = {"2106-3": "white", "2054-5": "black", "2028-9": "asian", "1002-5": "native",
             "2076-8": "hawaiian", "2135-2": "hispanic", "2131-1": "other"}  # fmt: skip
ETHNICITY_WORD = {"2135-2": "hispanic", "2186-5": "nonhispanic"}
CLASS_WORD = {"AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient"}
PATIENT_HEADER = ["Id", "BIRTHDATE", "DEATHDATE", "SSN", "DRIVERS", "PASSPORT", "PREFIX",
                  "FIRST", "LAST", "SUFFIX", "MAIDEN", "MARITAL", "RACE", "ETHNICITY", "GENDER",
                  "BIRTHPLACE", "ADDRESS", "CITY", "STATE", "COUNTY", "ZIP", "LAT", "LON",
                  "HEALTHCARE_EXPENSES", "HEALTHCARE_COVERAGE"]  # fmt: skip
ENCOUNTER_HEADER = ["Id", "START", "STOP", "PATIENT", "ORGANIZATION", "PROVIDER", "PAYER",
                    "ENCOUNTERCLASS", "CODE", "DESCRIPTION", "BASE_ENCOUNTER_COST",
                    "TOTAL_CLAIM_COST", "PAYER_COVERAGE", "REASONCODE",
                    "REASONDESCRIPTION"]  # fmt: skip


def _write(path, header, rows):
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)


def _ext_code(res, suffix):
    for ext in res.get("extension", []):
        if ext["url"].endswith(suffix):
            return next(p["valueCoding"]["code"] for p in ext["extension"] if "valueCoding" in p)
    return None


def _synthea_csv_from_fhir(bundles, out: Path):
    """Write Synthea-style CSV files holding the same people as the FHIR bundles."""
    patients, encounters, payers, orgs = [], [], {}, {}
    for bundle in bundles:
        resources = [e["resource"] for e in bundle["entry"]]
        payer_of = {}
        for res in resources:
            if res["resourceType"] == "ExplanationOfBenefit":
                enc = res["item"][0]["encounter"][0]["reference"].split(":")[-1]
                payer_of[enc] = res["insurance"][0]["coverage"]["display"]
        for res in resources:
            kind = res["resourceType"]
            if kind == "Organization":
                orgs[res["id"]] = res["name"]
            elif kind == "Patient":
                name = res["name"][0]
                patients.append({
                    "Id": res["id"], "BIRTHDATE": res["birthDate"], "SSN": "999-00-0000",
                    "FIRST": name["given"][0], "LAST": name["family"],
                    "RACE": RACE_WORD[_ext_code(res, "us-core-race")],
                    "ETHNICITY": ETHNICITY_WORD[_ext_code(res, "us-core-ethnicity")],
                    "GENDER": _ext_code_birthsex(res), "ADDRESS": res["address"][0]["line"][0],
                    "ZIP": res["address"][0].get("postalCode", "").lstrip("0"),
                })  # fmt: skip
            elif kind == "Encounter":
                payer = payer_of.get(res["id"], "")
                payers.setdefault(payer, f"payer-{len(payers)}")
                encounters.append({
                    "Id": res["id"], "START": res["period"]["start"], "STOP": res["period"]["end"],
                    "PATIENT": res["subject"]["reference"].split(":")[-1],
                    "ORGANIZATION": res["serviceProvider"]["reference"].split(":")[-1],
                    "PAYER": payers[payer], "ENCOUNTERCLASS": CLASS_WORD[res["class"]["code"]],
                })  # fmt: skip
    _write(out / "patients.csv", PATIENT_HEADER, patients)
    _write(out / "encounters.csv", ENCOUNTER_HEADER, encounters)
    _write(out / "payers.csv", ["Id", "NAME"], [{"Id": v, "NAME": k} for k, v in payers.items()])
    _write(
        out / "organizations.csv", ["Id", "NAME"], [{"Id": k, "NAME": v} for k, v in orgs.items()]
    )


def _ext_code_birthsex(res):
    return next(e["valueCode"] for e in res["extension"] if e["url"].endswith("us-core-birthsex"))


STRATA = ["birth_date", "sex", "race_ethnicity", "payer_group", "postal_code"]


def test_the_same_patients_as_synthea_csv_and_as_fhir_get_the_same_strata(tmp_path):
    files = sorted(SAMPLE.glob("*.json"))[:6]
    fhir_dir, csv_dir = tmp_path / "fhir", tmp_path / "csv"
    fhir_dir.mkdir()
    csv_dir.mkdir()
    for path in files:
        (fhir_dir / path.name).write_bytes(path.read_bytes())
    _synthea_csv_from_fhir([json.loads(p.read_text()) for p in files], csv_dir)
    from_fhir, fhir_report = sources.read_extract(fhir_dir, kind="fhir")
    from_csv, csv_report = sources.read_extract(csv_dir, kind="synthea-csv")
    a = from_fhir["patients"].set_index("patient_id")[STRATA].sort_index()
    b = from_csv["patients"].set_index("patient_id")[STRATA].sort_index()
    assert len(a) == len(files)
    assert a.astype(str).equals(b.astype(str))
    cols = ["encounter_id", "encounter_class", "hospital", "start_time"]
    ea = from_fhir["encounters"][cols].sort_values("encounter_id").reset_index(drop=True)
    eb = from_csv["encounters"][cols].sort_values("encounter_id").reset_index(drop=True)
    assert ea.astype(str).equals(eb.astype(str))
    # Patients whose FHIR race extension carries 2135-2; the CSV writes them as race "hispanic".
    hispanic_as_race = sum(
        _ext_code(e["resource"], "us-core-race") == "2135-2"
        for p in files
        for e in json.loads(p.read_text())["entry"]
        if e["resource"]["resourceType"] == "Patient"
    )
    assert hispanic_as_race > 0, "the six sample files are expected to carry 2135-2 as a race"
    for report, code in ((fhir_report, "2135-2"), (csv_report, "hispanic")):
        misplaced = [(f.code, f.count) for f in report.findings
                     if f.problem == "ethnicity code in the race field"]  # fmt: skip
        assert misplaced == [(code, hispanic_as_race)], report.kind


def _tiny_synthea(root: Path, extra_rows=()):
    _write(root / "patients.csv", PATIENT_HEADER, [
        {"Id": "p1", "BIRTHDATE": "1970-01-02", "SSN": "999-12-3456", "FIRST": "Ann",
         "LAST": "Smith", "ADDRESS": "12 Elm Street", "RACE": "black",
         "ETHNICITY": "nonhispanic", "GENDER": "F", "ZIP": "2118"},
        {"Id": "p2", "BIRTHDATE": "1990-03-04", "SSN": "999-65-4321", "RACE": "white",
         "ETHNICITY": "hispanic", "GENDER": "M", "ZIP": "02720"},
    ])  # fmt: skip
    _write(root / "encounters.csv", ENCOUNTER_HEADER, [
        {"Id": "e1", "START": "2024-01-01T10:00:00Z", "STOP": "2024-01-03T10:00:00Z",
         "PATIENT": "p1", "ORGANIZATION": "o1", "PAYER": "y1", "ENCOUNTERCLASS": "inpatient"},
        {"Id": "e2", "START": "2024-01-20T10:00:00Z", "STOP": "2024-01-22T10:00:00Z",
         "PATIENT": "p1", "ORGANIZATION": "o1", "PAYER": "y2", "ENCOUNTERCLASS": "inpatient"},
        *extra_rows,
    ])  # fmt: skip
    _write(
        root / "payers.csv",
        ["Id", "NAME"],
        [{"Id": "y1", "NAME": "Medicare"}, {"Id": "y2", "NAME": "Medicaid"}],
    )
    _write(root / "organizations.csv", ["Id", "NAME"], [{"Id": "o1", "NAME": "RIV"}])


def test_synthea_csv_keeps_only_mapped_columns_and_derives_strata(tmp_path):
    _tiny_synthea(tmp_path)
    con = store.connect("duckdb://")
    report = sources.ingest(tmp_path, kind="synthea-csv", con=con, source="csv")
    rows = con.con.execute(
        "SELECT patient_id, race_ethnicity, payer_group, postal_code FROM patients ORDER BY 1"
    ).fetchall()
    assert rows == [("p1", "Black or African American", "Medicaid", "02118"),
                    ("p2", "Hispanic or Latino", "Unknown", "02720")]  # fmt: skip
    dump = str(con.con.execute("SELECT * FROM patients").fetchall())
    assert "999-12-3456" not in dump and "Elm" not in dump and "Smith" not in dump
    readmit = con.con.execute("SELECT encounter_id, readmitted_30d, hospital FROM encounters "
                              "ORDER BY 1").fetchall()  # fmt: skip
    assert readmit == [("e1", True, "RIV"), ("e2", False, "RIV")]
    assert report.rows_loaded == {"patients": 2, "encounters": 2}


def test_a_row_with_a_bad_reference_is_rejected_with_file_and_row(tmp_path):
    _tiny_synthea(tmp_path, [{"Id": "e3", "START": "2024-02-01", "PATIENT": "nobody",
                              "ENCOUNTERCLASS": "emergency"}])  # fmt: skip
    _, report = sources.read_extract(tmp_path, kind="synthea-csv")
    [rej] = report.rejections
    assert (rej.table, rej.file, rej.row, rej.field) == ("encounters", "encounters.csv", 4,
                                                          "patient_id")  # fmt: skip
    assert "patients.csv" in " ".join(report.files)


def test_a_csv_without_a_mapped_column_raises_and_loads_nothing(tmp_path):
    _tiny_synthea(tmp_path)
    text = (tmp_path / "patients.csv").read_text().replace("RACE,", "RAZE,")
    (tmp_path / "patients.csv").write_text(text)
    con = store.connect("duckdb://")
    with pytest.raises(InputError) as err:
        sources.ingest(tmp_path, kind="synthea-csv", con=con)
    assert err.value.file.endswith("patients.csv")
    assert "RACE" in str(err.value)
    assert con.con.execute("SELECT count(*) FROM information_schema.tables").fetchone()[0] == 0


def test_a_bad_mapping_file_names_the_key(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("tables:\n  patients:\n    file: p.csv\n    columns:\n"
                    "      patient_id: {column: Id, lookup: nowhere}\n")  # fmt: skip
    with pytest.raises(InputError, match="nowhere"):
        tabular.load_mapping(path)
    path.write_text("tables:\n  visits: {file: v.csv, columns: {}}\n")
    with pytest.raises(InputError, match="visits"):
        tabular.load_mapping(path)


def test_the_presets_only_name_canonical_or_documented_columns():
    for preset in tabular.PRESETS:
        mapping = tabular.load_mapping(preset)
        targets = {c.target for t in mapping.tables.values() for c in t.columns}
        assert not targets & {"ssn", "name", "address", "phone", "first", "last"}
