"""The measure YAML format, the safe expression language, and the built-in library."""

import textwrap

import ibis
import pyarrow as pa
import pytest

from equilean.engine.errors import InputError
from equilean.engine.measures import (
    ExpressionError,
    builtin_measures,
    check,
    load_catalogue,
    load_measures,
    parse_expression,
)

CONTRACT_IDS = {
    "readmission_30d",
    "ed_lwbs",
    "ed_los_median",
    "ed_door_to_provider",
    "interpreter_use",
    "falls_rate",
    "hapi_rate",
    "sepsis_bundle",
    "pain_reassessment",
    "restraint_use",
    "discharge_ama",
    "no_show",
    "hypertension_control",
    "crc_screening",
    "experience_top_box",
    "race_ethnicity_completeness",
    "language_completeness",
}
# The contract's built-in dimension ids (schema.md), typed out independently.
CONTRACT_DIMENSIONS = {"race_ethnicity", "race", "ethnicity", "language", "interpreter_needed",
                       "payer_group", "sex", "age_band", "adi_quintile", "disability"}  # fmt: skip


@pytest.fixture
def rows():
    con = ibis.duckdb.connect()
    return con, con.create_table(
        "rows",
        pa.table(
            {
                "cls": ["inpatient", "emergency", "inpatient", None],
                "disp": ["home", "expired", None, "home"],
                "x": [1, 5, 10, None],
                "y": [2.0, 2.0, 4.0, 1.0],
                "flag": [True, False, None, True],
            }
        ),
    )


def _eval(rows, text):
    con, table = rows
    return (
        con.to_pyarrow(table.select(v=parse_expression(text).compile(table)))
        .column("v")
        .to_pylist()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cls == 'inpatient'", [True, False, True, None]),
        ("cls = 'inpatient' and disp != 'expired'", [True, False, None, None]),
        ("cls == 'inpatient' and (disp is null or disp <> 'expired')", [True, False, True, None]),
        ("cls in ('inpatient', 'emergency')", [True, True, True, None]),
        ("cls not in ('inpatient')", [False, True, False, None]),
        ("x between 2 and 10", [False, True, True, None]),
        ("x not between 2 and 10", [True, False, False, None]),
        ("x is not null", [True, True, True, False]),
        ("x + y * 2", [5.0, 9.0, 18.0, None]),
        ("(x + y) * 2", [6.0, 14.0, 28.0, None]),
        ("-x + 1", [0, -4, -9, None]),
        ("x / 2 >= 2.5", [False, True, True, None]),
        ("not flag or x > 4", [False, True, True, None]),
        ('cls == "it\'s"', [False, False, False, None]),
        ("true", [True, True, True, True]),
        ("flag == TRUE", [True, False, None, True]),
    ],
)
def test_expressions_compile_to_sql_semantics(rows, text, expected):
    assert _eval(rows, text) == expected


def test_and_binds_tighter_than_or(rows):
    assert _eval(rows, "cls == 'emergency' or cls == 'inpatient' and disp == 'home'") == [
        True,
        True,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "function calls"),
        ("os.system('ls')", "attribute access"),
        ("len(cls)", "function calls"),
        ("cls[0]", "indexing"),
        ("x == 1; y", "only one expression"),
        ("x == null", "is null"),
        ("x ==", "end of the expression"),
        ("x in (y)", "literal"),
        ("(x == 1", "to close|expected"),
        ("x == 1 x", "unexpected 'x'"),
        ("lambda: 1", "this character"),
        ("x is 1", "'null' after 'is'"),
    ],
)
def test_the_language_refuses_anything_else(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text)


def test_a_refusal_gives_the_position():
    with pytest.raises(ExpressionError) as err:
        parse_expression("a == b.c")
    assert err.value.position == 6


def test_it_reports_the_columns_an_expression_reads():
    assert parse_expression("a > 1 and b in (1, 2) or c is null").columns() == {"a", "b", "c"}


def test_the_builtin_library_has_every_contract_measure():
    measures = builtin_measures()
    assert set(measures) == CONTRACT_IDS
    assert {m.type for m in measures.values()} == {"proportion", "rate", "mean", "median"}


def test_builtin_readmission_excludes_deaths():
    m = builtin_measures()["readmission_30d"]
    assert m.table == "encounters"
    assert m.date == "end_time"
    assert "expired" in m.denominator.text
    assert m.better == "lower"


def test_builtin_rates_are_per_thousand_patient_days():
    for mid in ("falls_rate", "hapi_rate"):
        m = builtin_measures()[mid]
        assert (m.type, m.table, m.per, m.denominator.text) == (
            "rate",
            "census_days",
            1000.0,
            "patient_days",
        )


def _write(tmp_path, text, name="m.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """\
measures:
  - id: ed_admit
    name: ED visits admitted
    pillar: quality
    type: proportion
    table: encounters
    denominator: encounter_class == 'emergency'
    numerator: disposition == 'admitted'
    better: lower
    dimensions: [language, sex]
"""


def test_it_loads_a_valid_file(tmp_path):
    measures = load_measures(_write(tmp_path, GOOD))
    m = measures["ed_admit"]
    assert (m.per, m.date, m.unit, m.dimensions, m.line) == (
        100.0,
        "start_time",
        "unit",
        ("language", "sex"),
        2,
    )


def test_check_names_file_line_field_and_suggests_a_column(tmp_path):
    path = _write(tmp_path, GOOD.replace("disposition == 'admitted'", "dispositon == 'admitted'"))
    errors = check(path)
    assert len(errors) == 1
    error = errors[0]
    assert (error.file, error.line, error.field) == (str(path), 8, "numerator")
    assert "unknown column 'dispositon'" in error.message
    assert error.hint == "did you mean 'disposition'?"


def test_check_reports_every_problem_at_once(tmp_path):
    text = GOOD.replace("pillar: quality", "pillar: qualty").replace(
        "better: lower", "bettr: lower"
    )
    errors = check(_write(tmp_path, text))
    found = {(e.line, e.field) for e in errors}
    assert (4, "pillar") in found
    assert (9, "bettr") in found
    assert any(e.field == "better" and "required" in e.message for e in errors)


def test_check_reports_a_refused_expression_with_its_line(tmp_path):
    errors = check(
        _write(tmp_path, GOOD.replace("encounter_class == 'emergency'", "__import__('os')"))
    )
    assert [(e.line, e.field) for e in errors] == [(7, "denominator")]
    assert "function calls" in errors[0].message


def test_check_rejects_a_number_where_a_condition_is_needed(tmp_path):
    errors = check(
        _write(tmp_path, GOOD.replace("encounter_class == 'emergency'", "length_of_stay_hours"))
    )
    assert "expected a boolean expression" in errors[0].message


def test_check_rejects_mismatched_types(tmp_path):
    errors = check(
        _write(tmp_path, GOOD.replace("encounter_class == 'emergency'", "encounter_class + 1 > 2"))
    )
    assert [(e.line, e.field) for e in errors] == [(7, "denominator")]
    assert "types do not fit" in errors[0].message


def test_check_rejects_an_unknown_dimension(tmp_path):
    errors = check(_write(tmp_path, GOOD.replace("[language, sex]", "[languge]")))
    assert [(e.line, e.field, e.hint) for e in errors] == [
        (10, "dimensions", "did you mean 'language'?"),
    ]


def test_check_rejects_reusing_a_builtin_id(tmp_path):
    errors = check(_write(tmp_path, GOOD.replace("ed_admit", "ed_lwbs")))
    assert "already" in errors[0].message
    assert (errors[0].line, errors[0].field) == (2, "id")


def test_a_median_needs_a_value(tmp_path):
    text = GOOD.replace("type: proportion", "type: median")
    errors = check(_write(tmp_path, text))
    assert {e.field for e in errors} == {"value", "numerator"}


def test_bad_yaml_gives_the_line(tmp_path):
    errors = check(_write(tmp_path, "measures:\n  - id: a\n    name: [unclosed\n"))
    assert errors[0].line is not None
    assert "YAML" in errors[0].message


def test_load_measures_raises_the_first_error(tmp_path):
    with pytest.raises(InputError, match="unknown field 'bettr'"):
        load_measures(_write(tmp_path, GOOD.replace("better:", "bettr:")))


def test_custom_dimensions_and_intersections_are_read(tmp_path):
    text = """\
    dimensions:
      - id: older_adult
        name: Older adults
        cases:
          - {group: 65 and over, when: age >= 65}
        else: Under 65
      - id: payer_x_older
        intersect: [payer_group, older_adult]
      - id: local_language
        based_on: language
        top: [en, so]
    """
    measures = GOOD.removeprefix("measures:\n").replace(
        "[language, sex]", "[payer_x_older, local_language]"
    )
    cat = load_catalogue(_write(tmp_path, textwrap.dedent(text) + "measures:\n" + measures))
    custom = {"older_adult", "payer_x_older", "local_language"}
    assert set(cat.dimensions) == CONTRACT_DIMENSIONS | custom
    assert cat.measures["ed_admit"].dimensions == ("payer_x_older", "local_language")
    assert cat.dimensions["payer_x_older"].needs == frozenset({"age"})
    assert cat.dimensions["older_adult"].groups == ("65 and over", "Under 65")


def test_a_custom_dimension_with_an_unknown_column_is_reported(tmp_path):
    text = """\
    dimensions:
      - id: rural
        cases:
          - {group: Rural, when: postcode in ('99501')}
    """
    errors = check(_write(tmp_path, text))
    assert errors[0].hint == "did you mean 'postal_code'?"
    assert (errors[0].line, errors[0].field) == (4, "cases")
