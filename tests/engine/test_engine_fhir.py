"""FHIR R4 ingest: the real Synthea sample, US Core extensions, misplaced codes, minimisation."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from equilean.engine import sources, store
from equilean.engine.errors import InputError
from equilean.engine.sources import fhir

# Real Synthea bundles kept in the repository (tests/data/synthea-fhir-r4-sample/README.md).
SAMPLE = Path(
    os.environ.get(
        "EQUILEAN_FHIR_SAMPLE",
        Path(__file__).resolve().parents[1] / "data" / "synthea-fhir-r4-sample",
    )
)


# One hand-written patient with two Coverages (tests/data/fhir-two-coverages/README.md).
TWO_COVERAGES = Path(__file__).resolve().parents[1] / "data" / "fhir-two-coverages"


def _resources(kind):
    for path in sorted(SAMPLE.glob("*.json")):
        for entry in json.loads(path.read_text())["entry"]:
            if entry["resource"]["resourceType"] == kind:
                yield path, entry["resource"]


def _rows(con, sql):
    return con.con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def loaded():
    con = store.connect("duckdb://")
    report = sources.ingest(SAMPLE, kind="fhir", con=con, source="sample")
    return con, report


def test_it_loads_every_patient_and_encounter_of_the_sample(loaded):
    con, report = loaded
    patients = list(_resources("Patient"))
    encounters = list(_resources("Encounter"))
    assert _rows(con, "SELECT count(*) FROM patients")[0][0] == len(patients)
    assert _rows(con, "SELECT count(*) FROM encounters")[0][0] == len(encounters)
    assert report.rejections == []


def test_it_reports_the_ethnicity_code_inside_the_race_extension(loaded):
    _, report = loaded
    expected = [
        path.name
        for path, res in _resources("Patient")
        for ext in res.get("extension", [])
        if ext["url"].endswith("us-core-race")
        for part in ext["extension"]
        if part.get("valueCoding", {}).get("code") == "2135-2"
    ]
    assert expected, "the sample is expected to carry 2135-2 in the race extension"
    finding = next(f for f in report.findings if f.code == "2135-2")
    assert finding.field == "race_codes"
    assert finding.problem == "ethnicity code in the race field"
    assert finding.count == len(expected)
    assert all(any(name in ex for name in expected) for ex in finding.examples)
    assert "2135-2" in report.to_text()


def test_it_keeps_the_misplaced_code_as_given(loaded):
    con, _ = loaded
    rows = _rows(con, "SELECT race_codes FROM patients WHERE race_codes LIKE '%2135-2%'")
    assert len(rows) == 4


def test_it_stores_no_direct_identifiers(loaded):
    con, _ = loaded
    secrets = set()
    for _, res in _resources("Patient"):
        secrets |= {i["value"] for i in res.get("identifier", []) if i.get("type")}
        secrets |= {n["family"] for n in res.get("name", [])}
        secrets |= {t["value"] for t in res.get("telecom", [])}
        secrets |= {line for a in res.get("address", []) for line in a.get("line", [])}
    # MR identifiers equal Synthea's id; the resource id itself is the pseudonymous key.
    secrets -= {res["id"] for _, res in _resources("Patient")}
    stored = set()
    for table in ("patients", "encounters"):
        cur = con.con.execute(f"SELECT * FROM {table}")
        for row in cur.fetchall():
            stored |= {str(v) for v in row if v is not None}
    assert secrets and not (secrets & stored)
    columns = {r[0] for r in _rows(con, "SELECT column_name FROM information_schema.columns")}
    assert not columns & {"name", "ssn", "phone", "address", "line"}


def test_it_gives_every_sample_patient_a_known_payer_group(loaded):
    con, _ = loaded
    groups = dict(_rows(con, "SELECT payer_group, count(*) FROM patients GROUP BY 1"))
    assert set(groups) <= {"Commercial", "Medicaid", "Self-pay", "Medicare"}
    assert sum(groups.values()) == len(list(_resources("Patient")))


def test_it_takes_the_payer_from_the_latest_coverage():
    # The later Coverage (Medicaid, 2022) comes first in the file, the earlier (Aetna) second.
    tables, _ = sources.read_extract(TWO_COVERAGES, kind="fhir")
    row = tables["patients"].set_index("patient_id").loc["two-coverages"]
    assert (row["payer"], row["payer_group"]) == ("Medicaid", "Medicaid")


def test_it_reads_us_core_interpreter_language_and_zip(tmp_path):
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "birthDate": "1950-05-06",
        "extension": [
            {"url": fhir.RACE_URL, "extension": [
                {"url": "ombCategory", "valueCoding": {"code": "2106-3"}},
                {"url": "ombCategory", "valueCoding": {"code": "2054-5"}},
                {"url": "text", "valueString": "White and Black"}]},
            {"url": fhir.US_CORE + "us-core-interpreter-needed",
             "valueCoding": {"code": "Y"}},
        ],
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]}},
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "vi-VN"}]},
             "preferred": True},
        ],
        "address": [{"use": "home", "line": ["1 Main St"], "postalCode": "02118-1234"}],
    }  # fmt: skip
    (tmp_path / "Patient.ndjson").write_text(json.dumps(patient) + "\n")
    tables, report = sources.read_extract(tmp_path, kind="fhir")
    row = tables["patients"].iloc[0]
    assert row["language"] == "vi"
    assert bool(row["interpreter_needed"]) is True
    assert row["race_codes"] == "2106-3|2054-5"
    assert row["race_ethnicity"] == "Multiracial"
    assert row["postal_code"] == "02118"
    assert report.completeness["language"] == 1.0


def test_it_maps_organisations_and_reports_the_unmapped(tmp_path):
    bundle = json.loads(next(SAMPLE.glob("*.json")).read_text())
    (tmp_path / "one.json").write_text(json.dumps(bundle))
    orgs = {r["resource"]["id"]: r["resource"]["name"] for r in bundle["entry"]
            if r["resource"]["resourceType"] == "Organization"}  # fmt: skip
    first = next(iter(orgs.values()))
    tables, report = sources.read_extract(tmp_path, kind="fhir", org_map={first: "MUH"})
    hospitals = set(tables["encounters"]["hospital"])
    assert "MUH" in hospitals
    assert first not in report.unmapped_orgs
    assert set(report.unmapped_orgs) == hospitals - {"MUH"}


def test_a_malformed_file_raises_and_loads_nothing(tmp_path):
    for path in sorted(SAMPLE.glob("*.json"))[:3]:
        shutil.copy(path, tmp_path / path.name)
    text = (tmp_path / sorted(p.name for p in tmp_path.iterdir())[1]).read_text()
    (tmp_path / "zz_truncated.json").write_text(text[: len(text) // 2])
    con = store.connect("duckdb://")
    with pytest.raises(InputError) as err:
        sources.ingest(tmp_path, kind="fhir", con=con, source="bad")
    assert err.value.file.endswith("zz_truncated.json")
    assert err.value.hint
    assert _rows(con, "SELECT count(*) FROM information_schema.tables")[0][0] == 0


def test_a_resource_without_a_type_names_the_line(tmp_path):
    (tmp_path / "x.ndjson").write_text('{"resourceType": "Patient", "id": "a"}\n{"id": "b"}\n')
    with pytest.raises(InputError) as err:
        sources.read_extract(tmp_path / "x.ndjson", kind="fhir")
    assert err.value.row == 2
    assert err.value.field == "resourceType"


def test_an_encounter_for_an_unknown_patient_is_rejected_with_its_location(tmp_path):
    lines = [
        {"resourceType": "Patient", "id": "a", "gender": "male"},
        {"resourceType": "Encounter", "id": "e1", "class": {"code": "EMER"},
         "subject": {"reference": "Patient/a"}, "period": {"start": "2024-01-01T10:00:00"}},
        {"resourceType": "Encounter", "id": "e2", "class": {"code": "EMER"},
         "subject": {"reference": "Patient/ghost"}, "period": {"start": "2024-01-01T10:00:00"}},
    ]  # fmt: skip
    (tmp_path / "x.ndjson").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    tables, report = sources.read_extract(tmp_path / "x.ndjson", kind="fhir")
    assert list(tables["encounters"]["encounter_id"]) == ["e1"]
    [rejection] = report.rejections
    assert (rejection.file, rejection.row, rejection.field) == ("x.ndjson", 3, "patient_id")
