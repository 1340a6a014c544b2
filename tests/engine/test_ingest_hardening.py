"""Loads that must not lose data or leak identifiers, and real-world FHIR and Synthea quirks."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from equilean.engine import sources, store
from equilean.engine.errors import InputError, LoadRefused

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "synthea-fhir-r4-sample"
BUNDLES = sorted(p for p in SAMPLE.glob("*.json") if "Information" not in p.name)
INFO = sorted(SAMPLE.glob("*Information*.json"))
CDC = "urn:oid:2.16.840.1.113883.6.238"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"


def _copy(dest: Path, bundles=BUNDLES) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for path in [*bundles, *INFO]:
        shutil.copy(path, dest / path.name)
    return dest


def _count(con, table, source):
    return con.con.execute(f"SELECT count(*) FROM {table} WHERE source = ?", [source]).fetchone()[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store_file(tmp_path):
    """A DuckDB store file holding the sample as source 'ehr', closed again."""
    path = tmp_path / "store.duckdb"
    con = store.connect(f"duckdb://{path}")
    sources.ingest(_copy(tmp_path / "sample"), kind="fhir", con=con, source="ehr")
    con.disconnect()
    return path


def _ingest_into(path: Path, *args, **kwargs):
    con = store.connect(f"duckdb://{path}")
    try:
        return sources.ingest(*args, con=con, **kwargs)
    finally:
        con.disconnect()


def _patient(pid, birth="1970-01-01", race=("2106-3",), ethnicity="2186-5", **extra):
    def ext(url, codes):
        return {
            "url": US_CORE + url,
            "extension": [
                {"url": "ombCategory", "valueCoding": {"system": CDC, "code": c}} for c in codes
            ],
        }

    return {
        "resourceType": "Patient",
        "id": pid,
        "birthDate": birth,
        "gender": "female",
        "extension": [ext("us-core-race", race), ext("us-core-ethnicity", [ethnicity])],
        **extra,
    }


def _encounter(eid, pid, start, end=None, provider=None):
    res = {
        "resourceType": "Encounter",
        "id": eid,
        "subject": {"reference": f"urn:uuid:{pid}"},
        "class": {"code": "AMB"},
        "period": {"start": start, "end": end or start},
    }
    if provider:
        res["serviceProvider"] = {"reference": provider}
    return res


def _bundle(*resources) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def _write_json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc))
    return path


# 1. A load with nothing usable, or one that would shrink a source, changes nothing.


def test_a_file_with_no_usable_resources_is_refused_and_the_store_is_unchanged(
    store_file, tmp_path
):
    before = _digest(store_file)
    banana = _write_json(tmp_path / "wrong_type.json", {"resourceType": "Banana"})
    with pytest.raises(LoadRefused, match="no usable rows"):
        _ingest_into(store_file, banana, kind="fhir", source="ehr")
    assert _digest(store_file) == before


def test_a_reload_that_shrinks_a_source_is_refused_unless_allowed(store_file, tmp_path):
    before = _digest(store_file)
    few = _copy(tmp_path / "few", BUNDLES[:3])
    with pytest.raises(InputError, match=r"shrink source 'ehr' from 20 to 3 patients") as err:
        _ingest_into(store_file, few, kind="fhir", source="ehr")
    assert "--allow-shrink" in err.value.hint
    assert _digest(store_file) == before
    _ingest_into(store_file, few, kind="fhir", source="ehr", allow_shrink=True)
    con = store.connect(f"duckdb://{store_file}")
    assert _count(con, "patients", "ehr") == 3


def _census(ids):
    return pa.table(
        {
            "encounter_id": ids,
            "patient_id": ids,
            "census_date": [pa.scalar(0, pa.date32()).as_py()] * len(ids),
            "patient_days": [1.0] * len(ids),
        }
    )


def _people(ids):
    return pa.table({"patient_id": ids, "sex": ["female"] * len(ids)})


def test_a_source_is_replaced_whole_even_tables_the_reload_does_not_give(tmp_path):
    con = store.connect(f"duckdb://{tmp_path / 's.duckdb'}")
    store.load(con, {"patients": _people(["a", "b"]), "census_days": _census(["e1"])}, "ehr")
    store.load(con, {"patients": _people(["x"]), "census_days": _census(["e9"])}, "other")
    store.load(con, {"patients": _people(["a", "b"])}, "ehr")
    assert _count(con, "census_days", "ehr") == 0
    assert _count(con, "census_days", "other") == 1


def test_a_store_from_before_a_new_column_takes_the_new_load(tmp_path):
    con = store.connect(f"duckdb://{tmp_path / 's.duckdb'}")
    store.load(con, {"patients": _people(["a"])}, "ehr")
    con.con.execute("ALTER TABLE patients DROP COLUMN death_date")
    store.load(con, {"patients": _people(["a", "b"])}, "ehr")
    assert _count(con, "patients", "ehr") == 2


# 2-4. Rejected rows, bytes that are not UTF-8, dates in the future, truncated CSV rows.


def test_too_many_rejected_rows_refuse_the_load_with_the_report(tmp_path):
    people = [_patient(f"p{i}") for i in range(20)]
    visits = [_encounter(f"e{i}", f"p{i % 20}", "2024-01-02T10:00:00") for i in range(60)]
    visits += [_encounter("bad", "nobody", "2024-01-02T10:00:00")]
    folder = tmp_path / "x"
    folder.mkdir()
    _write_json(folder / "b.json", _bundle(*people, *visits))
    con = store.connect("duckdb://")
    with pytest.raises(LoadRefused, match=r"1 of 81 rows were rejected \(1\.2%\)") as err:
        sources.ingest(folder, kind="fhir", con=con, source="x")
    assert [r.reason for r in err.value.report.rejections] == ["patient not in this extract"]
    assert con.con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0] == 0
    report = sources.ingest(folder, kind="fhir", con=con, source="x", max_rejected=1)
    assert report.rows_loaded == {"patients": 20, "encounters": 60, "appointments": 0}


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_bytes_that_are_not_utf8_name_the_file_and_byte(tmp_path, suffix):
    good = json.dumps(_patient("p1")).encode()
    if suffix == ".ndjson":
        body = good + b"\n" + good.replace(b'"female"', b'"f\xe9male"') + b"\n"
        offset = len(good) + 1 + good.index(b'"female"') + 2
    else:
        body = good.replace(b'"female"', b'"f\xe9male"')
        offset = good.index(b'"female"') + 2
    path = tmp_path / f"latin1{suffix}"
    path.write_bytes(body)
    with pytest.raises(InputError) as err:
        sources.read_extract(path, kind="fhir")
    assert err.value.file == str(path)
    assert f"byte {offset:,}" in str(err.value)
    assert err.value.row == (2 if suffix == ".ndjson" else None)


def test_dates_in_the_future_are_rejected_per_row(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    _write_json(
        folder / "b.json",
        _bundle(
            _patient("p1"),
            _patient("p2", birth="2999-01-01"),
            _encounter("e1", "p1", "2024-01-02T10:00:00"),
            _encounter("e2", "p1", "2100-01-02T10:00:00"),
        ),
    )
    _, report = sources.read_extract(folder, kind="fhir")
    found = {(r.table, r.row, r.field, r.reason) for r in report.rejections}
    assert found == {
        ("patients", 1, "birth_date", "birth_date is in the future"),
        ("encounters", 3, "start_time", "start_time is in the future"),
    }
    assert report.rows_loaded["patients"] == 1 and report.rows_loaded["encounters"] == 1


PATIENT_HEADER = ["Id", "BIRTHDATE", "DEATHDATE", "FIRST", "LAST", "RACE", "ETHNICITY",
                  "GENDER", "ZIP"]  # fmt: skip
ENCOUNTER_HEADER = ["Id", "START", "STOP", "PATIENT", "ORGANIZATION", "PAYER", "ENCOUNTERCLASS",
                    "REASONDESCRIPTION"]  # fmt: skip


def _synthea_csv(root: Path, patients, encounters) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, header, rows in (
        ("patients.csv", PATIENT_HEADER, patients),
        ("encounters.csv", ENCOUNTER_HEADER, encounters),
        ("payers.csv", ["Id", "NAME"], [{"Id": "y1", "NAME": "Medicare"}]),
        ("organizations.csv", ["Id", "NAME"], [{"Id": "o1", "NAME": "RIV"}]),
    ):
        with (root / name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, restval="")
            writer.writeheader()
            writer.writerows(rows)
    return root


def test_a_truncated_csv_row_is_rejected_with_its_row(tmp_path):
    people = [{"Id": "p1", "BIRTHDATE": "1970-01-02", "RACE": "white", "GENDER": "F"}]
    visits = [
        {"Id": f"e{i}", "START": "2024-01-01T10:00:00Z", "PATIENT": "p1", "ORGANIZATION": "o1",
         "PAYER": "y1", "ENCOUNTERCLASS": "inpatient", "REASONDESCRIPTION": "x"}
        for i in range(3)
    ]  # fmt: skip
    root = _synthea_csv(tmp_path / "csv", people, visits)
    path = root / "encounters.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2][: lines[2].index("T10")]  # row 3 stops half-way through START
    path.write_text("\n".join(lines) + "\n")
    _, report = sources.read_extract(root, kind="synthea-csv")
    [rej] = report.rejections
    assert (rej.table, rej.file, rej.row) == ("encounters", "encounters.csv", 3)
    assert "2 of 8 fields" in rej.reason
    assert report.rows_read["encounters"] == 3 and report.rows_loaded["encounters"] == 2


# 5. File names that carry a patient's name never reach the store.


def test_file_names_that_carry_a_name_and_id_never_reach_the_store(tmp_path):
    folder = _copy(tmp_path / "bundles", BUNDLES[:5])
    # One rejected row and one finding, so the report quotes locations too.
    broken = json.loads(BUNDLES[0].read_text())
    broken["entry"].append({"resource": _encounter("orphan", "nobody", "2020-01-01T10:00:00")})
    _write_json(folder / BUNDLES[0].name, broken)
    con = store.connect(f"duckdb://{tmp_path / 's.duckdb'}")
    report = sources.ingest(folder, kind="fhir", con=con, source="ehr", max_rejected=5)
    assert report.rejections and report.findings
    secrets = set()
    for path in BUNDLES[:5]:
        secrets.add(path.name)
        secrets |= set(re.split(r"_", path.stem))  # first name, last name, id
    tables = [r[0] for r in con.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    texts = []
    for table in tables:
        cols = con.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND data_type = 'VARCHAR'",
            [table],
        ).fetchall()
        for (col,) in cols:
            texts += [v for (v,) in con.con.execute(f'SELECT "{col}" FROM "{table}"').fetchall()]
    blob = "\n".join(t for t in texts if t)
    leaked = {s for s in secrets if s in blob}
    assert not leaked
    stored = json.loads(store.load_history(con)["report"].iloc[-1])
    assert [f["file"] for f in stored["files"]] == [f"file {i}" for i in range(1, 8)]
    assert stored["files"][0]["sha256"] == _digest(folder / sorted(os.listdir(folder))[0])
    assert stored["rejections"][0]["file"].startswith("file ")
    # The operator's own report still names the files.
    assert BUNDLES[0].name in report.to_json()


def test_a_single_file_needs_a_source_name(tmp_path):
    path = shutil.copy(BUNDLES[0], tmp_path / BUNDLES[0].name)
    with pytest.raises(InputError, match="needs a source name"):
        sources.ingest(path, kind="fhir", con=store.connect("duckdb://"))


# 6. Conditional references (newer Synthea) resolve by identifier, across files.


def test_conditional_references_resolve_by_identifier_across_files(tmp_path):
    plain = store.connect("duckdb://")
    sources.ingest(_copy(tmp_path / "plain", BUNDLES[:4]), kind="fhir", con=plain, source="s")
    folder = _copy(tmp_path / "conditional", BUNDLES[:4])
    system = "https://github.com/synthetichealth/synthea"
    for path in folder.glob("*.json"):
        doc = json.loads(path.read_text())
        for entry in doc["entry"]:
            ref = entry["resource"].get("serviceProvider")
            if ref:
                org_id = ref["reference"].removeprefix("urn:uuid:")
                ref["reference"] = f"Organization?identifier={system}|{org_id}"
        _write_json(path, doc)
    con = store.connect("duckdb://")
    report = sources.ingest(folder, kind="fhir", con=con, source="s")
    query = "SELECT encounter_id, hospital FROM encounters ORDER BY 1"
    rows = con.con.execute(query).fetchall()
    assert rows == plain.con.execute(query).fetchall()
    assert not any("synthea" in h or "?" in h for _, h in rows)
    assert not any("identifier" in name for name in report.unmapped_orgs)


# 7. Times with an offset fall on the health system's local day.


def test_the_same_encounters_as_utc_csv_and_local_fhir_get_the_same_days(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUILEAN_TIME_ZONE", "America/New_York")
    # 03:30 UTC on 1 April is 23:30 on 31 March in New York (EDT, -04:00).
    starts = [("2024-04-01T03:30:00Z", "2024-03-31T23:30:00-04:00"),
              ("2024-01-15T02:00:00Z", "2024-01-14T21:00:00-05:00"),
              ("2024-07-04T15:00:00Z", "2024-07-04T11:00:00-04:00")]  # fmt: skip
    people = [{"Id": "p1", "BIRTHDATE": "1970-01-02", "RACE": "white", "GENDER": "F"}]
    visits = [
        {"Id": f"e{i}", "START": utc, "STOP": utc, "PATIENT": "p1", "ORGANIZATION": "o1",
         "PAYER": "y1", "ENCOUNTERCLASS": "ambulatory"}
        for i, (utc, _) in enumerate(starts)
    ]  # fmt: skip
    csv_tables, _ = sources.read_extract(
        _synthea_csv(tmp_path / "csv", people, visits), kind="synthea-csv"
    )
    fhir_dir = tmp_path / "fhir"
    fhir_dir.mkdir()
    _write_json(
        fhir_dir / "b.json",
        _bundle(
            _patient("p1"), *(_encounter(f"e{i}", "p1", loc) for i, (_, loc) in enumerate(starts))
        ),
    )
    fhir_tables, _ = sources.read_extract(fhir_dir, kind="fhir")
    from_csv = csv_tables["encounters"].set_index("encounter_id")["start_time"].sort_index()
    from_fhir = fhir_tables["encounters"].set_index("encounter_id")["start_time"].sort_index()
    assert list(from_csv.astype(str)) == [
        "2024-03-31 23:30:00", "2024-01-14 21:00:00", "2024-07-04 11:00:00"
    ]  # fmt: skip
    assert from_csv.equals(from_fhir)


def test_a_time_without_an_offset_is_kept_as_local_wall_clock_time(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUILEAN_TIME_ZONE", "America/Chicago")
    folder = tmp_path / "x"
    folder.mkdir()
    _write_json(
        folder / "b.json", _bundle(_patient("p1"), _encounter("e1", "p1", "2024-03-31T23:30:00"))
    )
    tables, _ = sources.read_extract(folder, kind="fhir")
    assert str(tables["encounters"]["start_time"].iloc[0]) == "2024-03-31 23:30:00"


# 8. Contradicting race and ethnicity fields are reported and settled by a documented rule.


@pytest.mark.parametrize(
    ("rule", "expected"),
    [(None, "Hispanic or Latino"), ("ethnicity-field", "White")],
)
def test_a_hispanic_race_code_beside_not_hispanic_is_reported_and_settled(
    tmp_path, monkeypatch, rule, expected
):
    if rule:
        monkeypatch.setenv("EQUILEAN_ETHNICITY_CONFLICT", rule)
    else:
        monkeypatch.delenv("EQUILEAN_ETHNICITY_CONFLICT", raising=False)
    folder = tmp_path / "x"
    folder.mkdir()
    _write_json(
        folder / "b.json",
        _bundle(
            _patient("p1", race=("2106-3", "2135-2")),
            _patient("p2", race=("2135-2",), ethnicity="2135-2"),
            _patient("p3", race=("2106-3", "2135-2")),
            _encounter("e1", "p1", "2024-01-02T10:00:00"),
        ),
    )
    tables, report = sources.read_extract(folder, kind="fhir")
    [clash] = [f for f in report.findings if f.problem.startswith("contradiction")]
    assert clash.count == 2
    assert f"EQUILEAN_ETHNICITY_CONFLICT={rule or 'hispanic'}" in clash.problem
    labels = tables["patients"].set_index("patient_id")["race_ethnicity"]
    assert labels["p1"] == expected and labels["p3"] == expected
    assert labels["p2"] == "Hispanic or Latino"


def test_an_unknown_conflict_rule_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUILEAN_ETHNICITY_CONFLICT", "coin-toss")
    folder = tmp_path / "x"
    folder.mkdir()
    _write_json(folder / "b.json", _bundle(_patient("p1", race=("2135-2",))))
    with pytest.raises(InputError, match="EQUILEAN_ETHNICITY_CONFLICT"):
        sources.read_extract(folder, kind="fhir")


# 9. The death date, to the day.


def test_the_death_date_is_stored_as_a_day_from_fhir_and_synthea_csv(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    _write_json(
        folder / "b.json",
        _bundle(
            _patient("p1", deceasedDateTime="2023-05-06T14:15:00-04:00"),
            _patient("p2", deceasedBoolean=True),
            _patient("p3", deceasedBoolean=False),
            _patient("p4"),
        ),
    )
    tables, _ = sources.read_extract(folder, kind="fhir")
    pat = tables["patients"].set_index("patient_id")
    assert str(pat.loc["p1", "death_date"]) == "2023-05-06 00:00:00"
    deceased = pat["deceased"]
    assert deceased.astype(object).where(deceased.notna(), None).tolist() == [
        True, True, False, None
    ]  # fmt: skip
    people = [{"Id": "p1", "BIRTHDATE": "1940-01-02", "DEATHDATE": "2022-11-30", "GENDER": "M"},
              {"Id": "p2", "BIRTHDATE": "1950-01-02", "GENDER": "F"}]  # fmt: skip
    tables, _ = sources.read_extract(_synthea_csv(tmp_path / "csv", people, []), kind="synthea-csv")
    pat = tables["patients"].set_index("patient_id")
    assert str(pat.loc["p1", "death_date"]) == "2022-11-30 00:00:00"
    assert pat["death_date"].isna().tolist() == [False, True]
    assert bool(pat.loc["p1", "deceased"])


# The command line: exit status 2 and a message, the store untouched.


def _cli(*args, home: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EQUILEAN_", "PYTEST"))}
    return subprocess.run(
        [sys.executable, "-m", "equilean.cli", *args],
        env={**env, "EQUILEAN_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_cli_refuses_bad_loads_with_status_2_and_leaves_the_store(store_file, tmp_path):
    url = f"duckdb://{store_file}"
    before = _digest(store_file)
    banana = _write_json(tmp_path / "wrong_type.json", {"resourceType": "Banana"})
    result = _cli(
        "ingest", str(banana), "--source", "ehr", "--store", url, "--quiet", home=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert "no usable rows" in result.stderr and "Traceback" not in result.stderr
    few = _copy(tmp_path / "few", BUNDLES[:2])
    result = _cli("ingest", str(few), "--source", "ehr", "--store", url, "--quiet", home=tmp_path)
    assert result.returncode == 2 and "--allow-shrink" in result.stderr
    result = _cli("ingest", str(few), "--max-rejected", "lots", home=tmp_path)
    assert result.returncode == 2 and "not a share like 2%" in result.stderr
    assert _digest(store_file) == before
    result = _cli(
        "ingest", str(few), "--source", "ehr", "--store", url, "--quiet", "--allow-shrink",
        home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "patients: read 2, loaded 2" in result.stdout


def test_a_csv_that_is_not_utf8_names_the_file_byte_and_row(tmp_path):
    people = [{"Id": "p1", "BIRTHDATE": "1970-01-02", "RACE": "white", "GENDER": "F"},
              {"Id": "p2", "BIRTHDATE": "1971-01-02", "RACE": "white", "GENDER": "M"}]  # fmt: skip
    root = _synthea_csv(tmp_path / "csv", people, [])
    path = root / "patients.csv"
    body = path.read_bytes().replace(b"p2,", b"p\xe92,")
    path.write_bytes(body)
    with pytest.raises(InputError) as err:
        sources.read_extract(root, kind="synthea-csv")
    assert err.value.file == str(path) and err.value.row == 3
    offset = body.index(b"\xe9")
    assert f"byte {offset:,}" in str(err.value)
