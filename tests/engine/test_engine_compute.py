"""compute(): counts by hand on a tiny store (DuckDB and Spark), rollups, medians, filters."""

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

from equilean.engine import organisation, sources, synth
from equilean.engine import store as store_module
from equilean.engine.compute import COLUMNS, compute
from equilean.engine.errors import InputError
from equilean.engine.schema import validate

ORG = """\
code: SYS
name: Test System
hospitals:
  - code: H1
    name: Hospital One
    departments:
      - code: D1
        name: Department One
        units:
          - {code: U1, name: Unit One, kind: med_surg, beds: 10}
          - {code: U2, name: Unit Two, kind: med_surg, beds: 10}
      - code: D2
        name: Department Two
        units:
          - {code: U3, name: Unit Three, kind: emergency, beds: 10}
"""

JAN = dt.datetime(2024, 1, 3, 9, 0)  # a Wednesday; its week starts Monday 1 January


def _encounter(i, unit, cls="inpatient", readmitted=False, disposition="home", when=JAN, **extra):
    return {
        "encounter_id": f"e{i}",
        "patient_id": extra.pop("patient", "p1"),
        "source": "test",
        "encounter_class": cls,
        "unit": unit,
        "start_time": when - dt.timedelta(days=2),
        "end_time": when,
        "disposition": disposition,
        "readmitted_30d": readmitted,
        **extra,
    }


def _encounters():
    rows = []
    # U1: 7 discharges alive, 3 readmitted (2 of 4 for p1, who is White; 1 of 3 for p2, Black).
    for i, (patient, readmitted) in enumerate(
        [
            ("p1", True),
            ("p1", True),
            ("p1", False),
            ("p1", False),
            ("p2", True),
            ("p2", False),
            ("p2", False),
        ]
    ):
        rows.append(_encounter(i, "U1", readmitted=readmitted, patient=patient))
    rows.append(_encounter(10, "U1", readmitted=True, disposition="expired"))  # died: excluded
    rows.append(_encounter(11, "U1", cls="emergency", readmitted=True))  # not inpatient
    rows += [_encounter(20 + i, "U2", readmitted=i == 0) for i in range(3)]  # U2: 1 of 3
    rows += [_encounter(30 + i, "U3") for i in range(2)]  # U3: 0 of 2
    rows.append(_encounter(40, None, readmitted=True))  # no unit: system level only
    rows.append(_encounter(41, "ZZZ"))  # not in the tree: unit and system levels only
    rows.append(_encounter(42, "U1", readmitted=True, when=dt.datetime(2024, 2, 5)))  # February
    # ED stays: U1 lasts 1, 2, 3 hours and U2 10, 20 hours (medians 2 and 15; D1's is 3).
    for i, (unit, hours) in enumerate([("U1", 1), ("U1", 2), ("U1", 3), ("U2", 10), ("U2", 20)]):
        rows.append(
            _encounter(
                50 + i,
                unit,
                cls="emergency",
                length_of_stay_hours=float(hours),
                door_to_provider_minutes=float(10 * (i + 1)) if unit == "U1" else None,
            )
        )
    return pd.DataFrame(rows)


# pyspark 4.0 uses pandas options that pandas 3 deprecates and leaves py4j sockets to the GC.
SPARK = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def spark_or_skip(request):
    """A local Spark store, only when selected with `-m spark` and pyspark is installed."""
    if "spark" not in (request.config.getoption("-m") or ""):
        pytest.skip("Spark tests run only when selected with `-m spark` (make test-spark)")
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'equilean[spark]'")
    return store_module.connect("spark://local")


def put(con, name, table):
    """Make `table` (Arrow) readable as `name` in the store: a table in DuckDB, a view in Spark."""
    if con.name == "pyspark":
        con._session.createDataFrame(table).createOrReplaceTempView(name)
    else:
        con.create_table(name, table, overwrite=True)


@pytest.fixture(scope="module", params=["duckdb", pytest.param("spark", marks=SPARK)])
def store(request, tmp_path_factory):
    org_file = tmp_path_factory.mktemp("org") / "org.yaml"
    org_file.write_text(ORG)
    con = ibis.duckdb.connect() if request.param == "duckdb" else spark_or_skip(request)
    patients = pd.DataFrame(
        {
            "patient_id": ["p1", "p2"],
            "source": "test",
            "birth_date": ["1950-06-01", "1990-01-01"],
            "sex": ["female", "male"],
            "race_codes": ["2106-3", "2054-5"],
            "ethnicity_codes": ["2186-5", "2186-5"],
            "race_ethnicity": ["White", "Black or African American"],
            "language": ["en", "es"],
        }
    )
    put(con, "patients", validate("patients", patients))
    put(con, "encounters", validate("encounters", _encounters()))
    census = pd.DataFrame(
        {
            "encounter_id": "c",
            "patient_id": "p1",
            "source": "test",
            "unit": ["U1", "U1", "U1", "U3", "U3"],
            "census_date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-01", "2024-01-02"],
            "patient_days": 1.0,
            "falls": [0, 1, 0, 1, 1],
            "pressure_injuries": 0,
        }
    )
    put(con, "census_days", validate("census_days", census))
    return con, organisation.load(org_file)


def _pick(
    frame,
    measure,
    level,
    node,
    dimension="overall",
    group="All",
    grain="month",
    period=dt.date(2024, 1, 1),
):
    rows = frame[
        (frame.measure == measure)
        & (frame.level == level)
        & (frame.node == node)
        & (frame.dimension == dimension)
        & (frame.group == group)
        & (frame.grain == grain)
        & (frame.period == period)
    ]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.fixture(scope="module")
def readmissions(store):
    con, org = store
    return compute(con, ["readmission_30d"], dimensions=["race_ethnicity", "race"], org=org)


def test_it_returns_the_documented_columns(readmissions):
    assert tuple(readmissions.columns) == COLUMNS


@pytest.mark.parametrize(
    ("level", "node", "numerator", "denominator"),
    [
        ("unit", "U1", 3, 7),
        ("unit", "U2", 1, 3),
        ("unit", "U3", 0, 2),
        ("unit", "ZZZ", 0, 1),
        ("department", "D1", 4, 10),
        ("department", "D2", 0, 2),
        ("hospital", "H1", 4, 12),
        ("system", "SYS", 5, 14),
    ],
)
def test_readmissions_count_by_hand_and_roll_up(readmissions, level, node, numerator, denominator):
    row = _pick(readmissions, "readmission_30d", level, node)
    assert (row.numerator, row.denominator) == (numerator, denominator)


def test_groups_split_the_unit(readmissions):
    white = _pick(readmissions, "readmission_30d", "unit", "U1", "race_ethnicity", "White")
    black = _pick(
        readmissions, "readmission_30d", "unit", "U1", "race_ethnicity", "Black or African American"
    )
    assert (white.numerator, white.denominator) == (2, 4)
    assert (black.numerator, black.denominator) == (1, 3)


def test_the_1997_race_is_derived_in_the_backend(readmissions):
    row = _pick(readmissions, "readmission_30d", "department", "D1", "race", "White")
    assert (row.numerator, row.denominator) == (2 + 1, 4 + 3)  # p1's 4 in U1 and U2's 3


def test_the_next_month_is_its_own_period(readmissions):
    row = _pick(readmissions, "readmission_30d", "unit", "U1", period=dt.date(2024, 2, 1))
    assert (row.numerator, row.denominator) == (1, 1)


def test_proportions_leave_the_value_columns_empty(readmissions):
    assert readmissions["median"].isna().all()
    assert readmissions["count"].isna().all()


@pytest.fixture(scope="module")
def ed_times(store):
    con, org = store
    return compute(con, ["ed_los_median", "ed_door_to_provider"], dimensions=["sex"], org=org)


def test_medians_are_recomputed_at_each_level_not_averaged(ed_times):
    assert _pick(ed_times, "ed_los_median", "unit", "U1")["median"] == 2
    assert _pick(ed_times, "ed_los_median", "unit", "U2")["median"] == 15
    department = _pick(ed_times, "ed_los_median", "department", "D1")
    assert department["median"] == 3  # the median of medians would be 8.5
    assert (department["count"], department["sum"]) == (5, 36)


def test_means_carry_count_sum_and_sum_of_squares(ed_times):
    row = _pick(ed_times, "ed_door_to_provider", "unit", "U1")
    assert (row["count"], row["sum"], row.sum_sq) == (3, 60, 100 + 400 + 900)
    assert (row.numerator, row.denominator) == (60, 3)
    assert row["median"] == 20


def test_rates_sum_events_and_exposure(store):
    con, org = store
    rates = compute(con, ["falls_rate"], dimensions=[], org=org)
    assert (
        _pick(rates, "falls_rate", "unit", "U1").numerator,
        _pick(rates, "falls_rate", "unit", "U1").denominator,
    ) == (1, 3)
    hospital = _pick(rates, "falls_rate", "hospital", "H1")
    assert (hospital.numerator, hospital.denominator) == (3, 5)


def test_week_and_day_periods_start_on_their_first_day(store):
    con, org = store
    out = compute(con, ["falls_rate"], dimensions=[], grains=("day", "week"), org=org)
    week = _pick(out, "falls_rate", "unit", "U1", grain="week", period=dt.date(2024, 1, 1))
    assert week.denominator == 3
    day = _pick(out, "falls_rate", "unit", "U1", grain="day", period=dt.date(2024, 1, 2))
    assert (day.numerator, day.denominator) == (1, 1)


def test_start_and_end_bound_the_measure_date(store):
    con, org = store
    out = compute(
        con,
        ["readmission_30d"],
        dimensions=[],
        org=org,
        start=dt.date(2024, 2, 1),
        end=dt.date(2024, 3, 1),
    )
    assert set(out.period) == {dt.date(2024, 2, 1)}
    assert _pick(out, "readmission_30d", "system", "SYS", period=dt.date(2024, 2, 1)).numerator == 1


def test_measures_on_a_missing_table_are_skipped(store):
    con, org = store
    out = compute(con, ["no_show", "falls_rate"], dimensions=[], org=org)
    assert set(out.measure) == {"falls_rate"}


def test_it_rejects_an_unknown_grain(store):
    con, org = store
    with pytest.raises(InputError, match="grain"):
        compute(con, ["falls_rate"], grains=("year",), org=org)


def spark(test):
    """Mark a test as a Spark one."""
    for mark in SPARK:
        test = mark(test)
    return test


# Sums of floats may differ in their last bits when the engines add in another order.
RELATIVE = 1e-9
FLOATS = ["numerator", "denominator", "sum", "sum_sq", "median"]
DERIVED = ["race", "ethnicity", "language"]


@pytest.fixture(scope="module")
def both_backends(request, tmp_path_factory):
    spark = spark_or_skip(request)
    out = tmp_path_factory.mktemp("synth")
    quiet = lambda done, total: None  # noqa: E731
    synth.generate(out, seed=5, encounters=3000, end=dt.date(2025, 12, 31), progress=quiet)
    duck = ibis.duckdb.connect()
    sources.ingest(out, kind="equilean", con=duck, source="synth")
    for name in ("patients", "encounters", "census_days", "appointments"):
        put(spark, name, duck.table(name).to_pyarrow())
    grains = ("month", "week")
    return compute(duck, grains=grains), compute(spark, grains=grains)


def _portable(frame):
    return frame[~frame.dimension.isin(DERIVED)].reset_index(drop=True)


@spark
def test_spark_finds_the_same_rows(both_backends):
    duck, spark = map(_portable, both_backends)
    assert len(duck) > 10_000
    keys = list(COLUMNS[:7])
    pd.testing.assert_frame_equal(duck[keys], spark[keys])


@spark
def test_spark_counts_are_identical(both_backends):
    duck, spark = map(_portable, both_backends)
    assert duck["count"].equals(spark["count"])
    assert (duck.denominator.to_numpy() == spark.denominator.to_numpy()).all()


@spark
def test_spark_sums_and_medians_agree_to_rounding(both_backends):
    duck, spark = map(_portable, both_backends)
    for column in FLOATS:
        np.testing.assert_allclose(
            spark[column].to_numpy(), duck[column].to_numpy(), rtol=RELATIVE, equal_nan=True
        )


@spark
def test_spark_derives_race_and_language_like_duckdb(both_backends):
    duck, spark = (f[f.dimension.isin(DERIVED)].reset_index(drop=True) for f in both_backends)
    pd.testing.assert_frame_equal(duck, spark)


def test_big_tables_computed_in_date_ranges_give_the_same_result(tmp_path, monkeypatch):
    # DuckDB computes a table larger than CHUNK_ROWS in month-aligned date ranges to bound
    # memory; forcing tiny ranges must not change a single row.
    from equilean.engine import compute as compute_module

    synth.generate(
        tmp_path,
        seed=3,
        encounters=4000,
        end=dt.date(2025, 12, 31),
        progress=lambda done, total: None,
    )
    duck = ibis.duckdb.connect()
    sources.ingest(tmp_path, kind="equilean", con=duck, source="synth")
    grains = ("month", "week")
    whole = compute(duck, ["readmission_30d", "ed_los_median", "falls_rate"], grains=grains)
    monkeypatch.setattr(compute_module, "CHUNK_ROWS", 500)
    from equilean.engine.measures import builtin_measures

    parts = compute_module._plan(duck, builtin_measures()["readmission_30d"], grains, None, None)
    assert len(parts) > 4  # the ranged path really runs
    ranged = compute(duck, ["readmission_30d", "ed_los_median", "falls_rate"], grains=grains)
    assert len(ranged) == len(whole) > 0
    keys = ["measure", "level", "node", "grain", "period", "dimension", "group"]
    whole, ranged = (f.sort_values(keys, ignore_index=True) for f in (whole, ranged))
    pd.testing.assert_frame_equal(whole[keys], ranged[keys])
    for column in ("numerator", "denominator", "count", "median"):
        pd.testing.assert_series_equal(whole[column], ranged[column], check_exact=False, rtol=1e-12)
