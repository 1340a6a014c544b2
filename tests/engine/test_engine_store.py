"""The measure store: idempotent reloads by source, atomic loads, the load log."""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa
import pytest

from equilean.engine import store
from equilean.engine.errors import InputError


def _patients(ids):
    return pa.table(
        {
            "patient_id": ids,
            "birth_date": [date(1980, 1, 1)] * len(ids),
            "sex": ["female"] * len(ids),
            "race_ethnicity": ["White"] * len(ids),
            "payer_group": ["Medicare"] * len(ids),
        }
    )


def _count(con, table, source=None):
    sql = f"SELECT count(*) FROM {table}" + (f" WHERE source = '{source}'" if source else "")
    return con.con.execute(sql).fetchone()[0]


@pytest.fixture
def con(tmp_path):
    return store.connect(f"duckdb://{tmp_path / 'store.duckdb'}")


def test_it_replaces_a_source_on_reload_without_double_counting(con):
    store.load(con, {"patients": _patients(["a", "b", "c"])}, "ehr")
    store.load(con, {"patients": _patients(["a", "b", "c"])}, "ehr")
    assert _count(con, "patients") == 3
    # A reload that drops most patients needs saying so (the shrink guard).
    store.load(con, {"patients": _patients(["a"])}, "ehr", max_shrink=None)
    assert _count(con, "patients") == 1


def test_it_keeps_other_sources_rows(con):
    store.load(con, {"patients": _patients(["a", "b"])}, "ehr")
    store.load(con, {"patients": _patients(["x"])}, "registry")
    store.load(con, {"patients": _patients(["c"])}, "ehr", max_shrink=None)
    assert _count(con, "patients", "registry") == 1
    assert _count(con, "patients", "ehr") == 1


def test_it_leaves_the_previous_state_when_a_load_fails_midway(con):
    store.load(con, {"patients": _patients(["a", "b"])}, "ehr")
    con.con.execute("CREATE TABLE extra (x BIGINT, source VARCHAR)")
    # patients is deleted and re-inserted first; the second insert then fails on a bad cast.
    bad = {"patients": _patients(["z"]), "extra": pa.table({"x": ["not a number"]})}
    with pytest.raises(Exception, match=r"(?i)convert|cast"):
        store.load(con, bad, "ehr", max_shrink=None)
    ids = sorted(r[0] for r in con.con.execute("SELECT patient_id FROM patients").fetchall())
    assert ids == ["a", "b"]
    assert len(store.load_history(con)) == 1


def test_it_rejects_rows_that_break_the_contract_before_writing(con):
    store.load(con, {"patients": _patients(["a"])}, "ehr")
    broken = _patients(["b"]).set_column(2, "sex", pa.array(["robot"]))
    with pytest.raises(InputError, match="sex"):
        store.load(con, {"patients": broken}, "ehr")
    assert _count(con, "patients") == 1


def test_it_records_each_load_with_its_row_counts(con):
    store.load(con, {"patients": _patients(["a", "b"])}, "ehr", report={"ok": True})
    store.load(con, {"patients": _patients(["a"])}, "ehr", max_shrink=None)
    history = store.load_history(con)
    assert list(history["source"]) == ["ehr", "ehr"]
    assert json.loads(history["rows"].iloc[0]) == {"patients": 2}
    assert json.loads(history["report"].iloc[0]) == {"ok": True}


def test_it_reads_the_store_url_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("EQUILEAN_STORE", raising=False)
    monkeypatch.setenv("EQUILEAN_HOME", str(tmp_path))
    assert store.default_url() == f"duckdb://{tmp_path / 'store.duckdb'}"
    monkeypatch.setenv("EQUILEAN_STORE", "duckdb://")
    assert store.default_url() == "duckdb://"


def test_it_names_the_spark_extra_when_pyspark_is_missing():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match=r"equilean\[spark\]"):
            store.connect("spark://local")
    else:
        pytest.skip("pyspark is installed here")


def test_it_refuses_an_unknown_store_scheme():
    with pytest.raises(InputError, match="scheme"):
        store.connect("mongodb://x")
