"""Race/ethnicity bridging, code maps, and the built-in dimensions evaluated in DuckDB."""

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from equilean.engine import dimensions as d


@pytest.mark.parametrize(
    ("race", "ethnicity", "combined"),
    [
        ("2106-3", "2186-5", "White"),
        ("2054-5", None, "Black or African American"),
        ("2028-9|2034-7", "2186-5", "Asian"),  # the OMB code and its detailed child
        ("2106-3", "2135-2", "Hispanic or Latino"),  # Hispanic of any (one) race
        (None, "2148-5", "Hispanic or Latino"),  # Mexican, a child of 2135-2
        ("2106-3|2054-5", "2135-2", "Multiracial"),  # two races beat the Hispanic bridge
        ("2106-3|2054-5", "2186-5", "Multiracial"),
        ("2118-8", "2186-5", "Middle Eastern or North African"),
        ("2123-8", None, "Middle Eastern or North African"),  # Lebanese
        ("2106-3|2118-8", None, "Middle Eastern or North African"),  # CDC roll-up, not 2 races
        ("2113-9|2118-8", None, "Multiracial"),  # Irish and MENA are two races
        ("2076-8", None, "Native Hawaiian or Pacific Islander"),
        ("1002-5", None, "American Indian or Alaska Native"),
        ("1735-0", None, "American Indian or Alaska Native"),
        ("ASKU", "ASKU", "Asked but declined"),
        ("UNK", "UNK", "Unknown"),
        (None, None, "Unknown"),
        ("", "", "Unknown"),
        ("9999-9", None, "Unknown"),
        ("2131-1", "2186-5", "Unknown"),  # "Other Race" names no minimum category
        ("2135-2", None, "Hispanic or Latino"),  # ethnicity code misplaced in the race field
        ("white", "hispanic", "Hispanic or Latino"),  # Synthea CSV words
        ("ASKU", "2135-2", "Hispanic or Latino"),
        (" 2106-3 | 2054-5 ", None, "Multiracial"),
    ],
)
def test_combine_race_ethnicity_follows_the_bridging_rule(race, ethnicity, combined):
    got = d.combine_race_ethnicity(pd.Series([race]), pd.Series([ethnicity]))
    assert got.tolist() == [combined]


def test_combined_labels_are_exactly_the_contract_ten():
    assert set(d.combined_labels()) == {
        "American Indian or Alaska Native",
        "Asian",
        "Black or African American",
        "Hispanic or Latino",
        "Middle Eastern or North African",
        "Native Hawaiian or Pacific Islander",
        "White",
        "Multiracial",
        "Unknown",
        "Asked but declined",
    }


def test_combine_keeps_the_index_and_accepts_arrow():
    race = pd.Series(["2106-3", "ASKU"], index=[10, 20])
    got = d.combine_race_ethnicity(race, pd.Series(["2186-5", None], index=[10, 20]))
    assert got.to_dict() == {10: "White", 20: "Asked but declined"}
    arrow = d.combine_race_ethnicity(pa.array(["2054-5"]), pa.array(["2186-5"]))
    assert arrow.tolist() == ["Black or African American"]


def test_tokens_flag_a_misplaced_ethnicity_code():
    tokens = d.race_ethnicity_tokens(pd.Series(["2106-3|2135-2"]), pd.Series(["2186-5"]))
    misplaced = tokens[tokens["misplaced"]]
    assert misplaced[["field", "token"]].values.tolist() == [["race", "2135-2"]]


def test_tokens_leave_unknown_values_without_a_category():
    tokens = d.race_ethnicity_tokens(pd.Series(["martian"]), pd.Series([None]))
    assert tokens["category"].isna().tolist() == [True]


def test_1997_race_counts_mena_as_white_and_ignores_ethnicity():
    race = pd.Series(["2118-8", "2106-3|2054-5", "ASKU", "2135-2"])
    eth = pd.Series(["2135-2", None, None, "ASKU"])
    assert d.race_1997(race, eth).tolist() == [
        "White",
        "Multiracial",
        "Asked but declined",
        "Unknown",
    ]
    assert d.ethnicity(race, eth).tolist() == [
        "Hispanic or Latino",
        "Unknown",
        "Unknown",
        "Hispanic or Latino",
    ]


def test_backend_race_and_ethnicity_match_pandas():
    race = ["2106-3", "2118-8|2106-3", "2113-9|2118-8", "ASKU", None, "2135-2", "2028-9|zz"]
    eth = ["2135-2", "2186-5", None, "ASKU", "UNK", "ASKU", "2186-5"]
    patients = pa.table(
        {
            "patient_id": [f"p{i}" for i in range(len(race))],
            "race_codes": race,
            "ethnicity_codes": eth,
        }
    )
    con = ibis.duckdb.connect()
    got = con.to_pyarrow(d.patient_race_ethnicity(con.create_table("patients", patients)))
    got = got.to_pandas().set_index("patient_id").reindex(patients["patient_id"].to_pylist())
    got = got.fillna("Unknown")
    assert got["race"].tolist() == d.race_1997(pd.Series(race), pd.Series(eth)).tolist()
    assert got["ethnicity"].tolist() == d.ethnicity(pd.Series(race), pd.Series(eth)).tolist()


def test_payer_groups_cover_synthea_names_and_sopt_codes():
    payers = pd.Series(
        [
            "Medicare",
            "Medicaid",
            "Dual Eligible",
            "NO_INSURANCE",
            "Aetna",
            "UnitedHealthcare",
            "21",
            "9999",
            "Acme Mutual",
            None,
        ]
    )
    assert d.map_payer_group(payers).tolist() == [
        "Medicare",
        "Medicaid",
        "Medicare",
        "Self-pay",
        "Commercial",
        "Commercial",
        "Medicaid",
        "Unknown",
        "Other",
        "Unknown",
    ]


def _evaluate(dimension, columns: dict) -> list[str]:
    con = ibis.duckdb.connect()
    table = con.create_table("rows", pa.table(columns))
    return con.to_pyarrow(table.select(g=dimension.expr(table))).column("g").to_pylist()


def test_language_names_the_top_languages_then_other_and_unknown():
    dim = d.language_dimension(["en", "es"])
    got = _evaluate(dim, {"language": ["en", "ES", "so", None, "und"]})
    assert got == ["English", "Spanish", "Other", "Unknown", "Unknown"]
    assert dim.groups == ("English", "Spanish", "Other", "Unknown")


def test_age_at_counts_completed_years():
    con = ibis.duckdb.connect()
    table = con.create_table(
        "rows",
        pa.table(
            {
                "born": [dt.date(2000, 3, 15)] * 3,
                "on": [dt.date(2018, 3, 14), dt.date(2018, 3, 15), dt.date(2000, 3, 15)],
            }
        ),
    )
    ages = con.to_pyarrow(table.select(a=d.age_at(table.born, table.on))).column("a")
    assert ages.to_pylist() == [17, 18, 0]


def test_age_band_uses_the_band_file():
    dim = d.builtin_dimensions()["age_band"]
    got = _evaluate(dim, {"age": pa.array([0, 17, 18, 64, 65, 85, 101, None], pa.int64())})
    assert got == ["0-17", "0-17", "18-44", "45-64", "65-74", "85+", "85+", "Unknown"]
    assert dim.ordered


def test_adi_quintile_pairs_deciles():
    dim = d.builtin_dimensions()["adi_quintile"]
    got = _evaluate(dim, {"adi_decile": pa.array([1, 2, 3, 9, 10, None], pa.int64())})
    assert got == [
        "Q1 least deprived",
        "Q1 least deprived",
        "Q2",
        "Q5 most deprived",
        "Q5 most deprived",
        "Unknown",
    ]


def test_boolean_and_sex_dimensions_label_nulls_unknown():
    dims = d.builtin_dimensions()
    flags = {"disability": pa.array([True, False, None])}
    assert _evaluate(dims["disability"], flags) == ["Disability", "No disability", "Unknown"]
    sexes = {"sex": ["female", "male", "unknown"]}
    assert _evaluate(dims["sex"], sexes) == ["Female", "Male", "Unknown"]


def test_intersection_joins_group_labels():
    dims = d.builtin_dimensions(["en"])
    both = d.intersect([dims["payer_group"], dims["language"]])
    got = _evaluate(both, {"payer_group": ["Medicaid", None], "language": ["en", "vi"]})
    assert got == ["Medicaid / English", "Unknown / Other"]
    assert both.id == "payer_group_x_language"


def test_builtin_dimension_ids_match_the_contract():
    assert set(d.BUILTIN_DIMENSION_IDS) == {
        "race_ethnicity",
        "race",
        "ethnicity",
        "language",
        "interpreter_needed",
        "payer_group",
        "sex",
        "age_band",
        "adi_quintile",
        "disability",
    }
