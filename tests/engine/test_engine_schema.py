"""The canonical tables: the contract's names and types, and the validator's coercions."""

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from equilean.engine.errors import InputError
from equilean.engine.schema import TABLES, arrow_schema, ibis_schema, validate


def test_it_has_exactly_the_contract_tables():
    assert set(TABLES) == {"patients", "encounters", "census_days", "appointments"}


def test_every_table_has_a_source_column():
    for name in TABLES:
        assert ibis_schema(name)["source"].is_string()


def test_patients_columns_match_the_contract():
    assert [c.name for c in TABLES["patients"]] == [
        "patient_id",
        "source",
        "birth_date",
        "sex",
        "race_codes",
        "ethnicity_codes",
        "race_ethnicity",
        "language",
        "interpreter_needed",
        "payer",
        "payer_group",
        "postal_code",
        "adi_decile",
        "disability",
        "death_date",
        "deceased",
    ]


def test_encounter_measure_columns_are_nullable_booleans():
    schema = arrow_schema("encounters")
    for name in ("readmitted_30d", "sepsis_bundle_met", "survey_top_box", "crc_screened"):
        assert schema.field(name).type == pa.bool_()
        assert schema.field(name).nullable


def test_census_days_types():
    schema = ibis_schema("census_days")
    assert schema["census_date"].is_date()
    assert schema["patient_days"].is_floating()
    assert schema["falls"].is_integer()


def test_arrow_schema_documents_each_column():
    field = arrow_schema("appointments").field("no_show")
    assert field.metadata[b"doc"] == b"the patient did not come"


def test_it_coerces_text_to_the_canonical_types():
    frame = pd.DataFrame(
        {
            "patient_id": [1, "p2"],
            "source": ["s", "s"],
            "birth_date": ["1950-01-02", "2001-03-04"],
            "adi_decile": ["3", None],
            "interpreter_needed": ["Yes", "no"],
        }
    )
    table = validate("patients", frame)
    assert table.schema.names == [c.name for c in TABLES["patients"]]
    assert table.column("patient_id").to_pylist() == ["1", "p2"]
    assert table.column("birth_date").to_pylist() == [dt.date(1950, 1, 2), dt.date(2001, 3, 4)]
    assert table.column("adi_decile").to_pylist() == [3, None]
    assert table.column("interpreter_needed").to_pylist() == [True, False]
    assert table.column("disability").null_count == 2


def test_it_accepts_an_arrow_table():
    table = pa.table({"patient_id": ["p"], "source": ["s"], "sex": ["male"]})
    assert validate("patients", table).column("sex").to_pylist() == ["male"]


def test_it_keeps_wall_clock_time_of_zoned_timestamps():
    frame = pd.DataFrame(
        {
            "appointment_id": ["a"],
            "patient_id": ["p"],
            "source": ["s"],
            "scheduled_time": pd.to_datetime(["2024-05-01 08:15"]).tz_localize("US/Eastern"),
        }
    )
    stamp = validate("appointments", frame).column("scheduled_time").to_pylist()[0]
    assert stamp == dt.datetime(2024, 5, 1, 8, 15)


def test_it_rejects_a_missing_required_column():
    with pytest.raises(InputError) as err:
        validate("encounters", pd.DataFrame({"encounter_id": ["e"]}), file="enc.csv")
    assert err.value.file == "enc.csv"
    assert err.value.field == "patient_id"


def test_it_names_the_row_and_field_of_a_bad_number():
    frame = pd.DataFrame({"patient_id": ["a", "b", "c"], "source": "s", "adi_decile": [1, 2, "x"]})
    with pytest.raises(InputError) as err:
        validate("patients", frame)
    assert (err.value.row, err.value.field) == (3, "adi_decile")


def test_it_rejects_a_fractional_integer():
    frame = pd.DataFrame({"patient_id": ["a"], "source": "s", "adi_decile": [2.5]})
    with pytest.raises(InputError, match="whole numbers"):
        validate("patients", frame)


def test_it_rejects_a_coded_value_outside_the_list():
    frame = pd.DataFrame({"patient_id": ["a", "b"], "source": "s", "sex": ["female", "F"]})
    with pytest.raises(InputError) as err:
        validate("patients", frame)
    assert (err.value.row, err.value.field) == (2, "sex")


def test_it_rejects_a_null_in_a_required_column():
    frame = pd.DataFrame({"patient_id": ["a", None], "source": "s"})
    with pytest.raises(InputError) as err:
        validate("patients", frame)
    assert (err.value.row, err.value.field) == (2, "patient_id")


def test_it_rejects_an_unknown_table():
    with pytest.raises(InputError, match="unknown table"):
        validate("labs", pd.DataFrame())
