"""Signal detection on hand-built aggregates: gaps, persistence, special causes, rare events."""

import pandas as pd
import pytest

from equilean.metrics import detect

MEASURES = pd.DataFrame(
    [
        {"measure": "readmission_30d", "kind": "proportion", "better": "lower", "per": 1.0},
        {"measure": "pain_reassessment", "kind": "proportion", "better": "higher", "per": 1.0},
        {"measure": "falls_rate", "kind": "rate", "better": "lower", "per": 1000.0},
    ]
)


def gap_series(aggregates, black_rate=0.24, months=12, node="RIV"):
    """Readmissions at a hospital: White 12%, Black `black_rate`, Unknown 30% but small."""
    black = round(black_rate * 200)
    aggregates.add("readmission_30d", node, "hospital", [(48 + black + 6, 620)] * months)
    aggregates.add("readmission_30d", node, "hospital", [(48, 400)] * months, "race", "White")
    aggregates.add(
        "readmission_30d",
        node,
        "hospital",
        [(round(black_rate * 200), 200)] * months,
        "race",
        "Black or African American",
    )
    aggregates.add("readmission_30d", node, "hospital", [(6, 20)] * months, "race", "Unknown")
    return aggregates.frame()


def test_it_finds_an_adverse_gap_in_the_latest_window(aggregates):
    found = detect.detect(gap_series(aggregates), MEASURES)
    gaps = found[found["kind"] == "equity_gap"]
    assert gaps[["node", "dimension", "group"]].values.tolist() == [
        ["RIV", "race", "Black or African American"]
    ]
    evidence = gaps.iloc[0]["evidence"]
    assert evidence["reference"] == "White"
    assert evidence["ratio"] == pytest.approx(2.0)
    # 3 months x 200 patients x (24% - 12%) readmissions that White patients' rate would avoid.
    assert evidence["excess_events"] == pytest.approx(72.0)
    assert "higher than White" in gaps.iloc[0]["summary"]


def test_a_gap_that_held_for_three_windows_is_persistent(aggregates):
    found = detect.detect(gap_series(aggregates), MEASURES)
    persistent = found[found["kind"] == "persistent_gap"]
    assert persistent["group"].tolist() == ["Black or African American"]
    # The same rates for all 12 months: the gap holds in every window detection looks at.
    windows = detect.window_count(detect.Settings())
    assert persistent.iloc[0]["evidence"]["windows_running"] == windows


def test_a_new_gap_is_not_yet_persistent(aggregates):
    aggregates.add("readmission_30d", "RIV", "hospital", [(48, 400)] * 12, "race", "White")
    aggregates.add(
        "readmission_30d",
        "RIV",
        "hospital",
        [(24, 200)] * 10 + [(48, 200)] * 2,
        "race",
        "Black or African American",
    )
    found = detect.detect(aggregates.frame(), MEASURES)
    assert "persistent_gap" not in set(found["kind"])


def test_a_small_difference_is_not_a_gap(aggregates):
    # 13% against 12% is under the AHRQ rule's 10% relative difference.
    found = detect.detect(gap_series(aggregates, black_rate=0.13), MEASURES)
    assert found[found["kind"] == "equity_gap"].empty


def test_unknown_answers_are_never_raised_as_gaps(aggregates):
    found = detect.detect(gap_series(aggregates), MEASURES)
    assert "Unknown" not in set(found["group"])


def test_when_higher_is_better_a_lower_rate_is_the_gap(aggregates):
    aggregates.add("pain_reassessment", "MUH", "hospital", [(360, 400)] * 6, "language", "English")
    aggregates.add("pain_reassessment", "MUH", "hospital", [(120, 200)] * 6, "language", "Spanish")
    found = detect.detect(aggregates.frame(), MEASURES)
    gap = found[found["kind"] == "equity_gap"].iloc[0]
    assert (gap["group"], gap["direction"]) == ("Spanish", "concern")
    assert "lower than English" in gap["summary"]


def test_a_sustained_shift_is_an_improvement_in_the_right_direction(aggregates):
    before, after = (
        [(30, 100)] * 14,
        [(45, 100), (46, 100), (44, 100), (47, 100), (45, 100), (46, 100), (48, 100), (45, 100)],
    )
    aggregates.add("pain_reassessment", "MUH-4W", "unit", before + after)
    found = detect.detect(aggregates.frame(), MEASURES)
    special = found[found["kind"] == "special_cause"]
    assert special[["node", "direction"]].values.tolist() == [["MUH-4W", "improvement"]]
    # Centre 786 / 2200 = 35.7%, upper limit 35.7% + 3 x 4.8% = 50.1%: the last 8 months
    # (44-48%) sit above the centre but inside the limits, and the latest (45%) is not beyond
    # 2 sigma (45.3%), so the rule that fires on it is the shift.
    centre = (14 * 30 + sum(x for x, _ in after)) / (22 * 100)
    sigma = (centre * (1 - centre) / 100) ** 0.5
    evidence = special.iloc[0]["evidence"]
    assert evidence["centre"] == pytest.approx(centre, abs=1e-6)
    assert evidence["upper"] == pytest.approx(centre + 3 * sigma, abs=1e-6)
    assert evidence["value"] < centre + 2 * sigma
    assert evidence["rule"] == "shift"


def test_common_cause_variation_raises_nothing(aggregates):
    noise = [(30, 100), (33, 100), (28, 100), (31, 100), (29, 100), (32, 100)] * 4
    aggregates.add("pain_reassessment", "MUH-4W", "unit", noise)
    assert detect.detect(aggregates.frame(), MEASURES).empty


def test_rare_events_are_not_signalled(aggregates):
    # Falls at one unit: mostly zero months, which the run rules would misread as a shift.
    falls = [(1, 900), (0, 900), (2, 900)] * 4 + [(0, 900)] * 8
    aggregates.add("falls_rate", "MUH-4W", "unit", falls)
    assert detect.detect(aggregates.frame(), MEASURES).empty


def test_bh_runs_across_all_of_a_nodes_comparisons(aggregates):
    # A borderline gap stands alone at one node but not among many null comparisons at another.
    settings = detect.Settings()
    aggregates.add("readmission_30d", "A", "unit", [(40, 400)] * 3, "race", "White")
    aggregates.add("readmission_30d", "A", "unit", [(27, 200)] * 3, "race", "Black")
    for k in range(30):
        aggregates.add("readmission_30d", "B", "unit", [(40, 400)] * 3, f"d{k}", "White")
        aggregates.add("readmission_30d", "B", "unit", [(20, 200)] * 3, f"d{k}", "Other")
    aggregates.add("readmission_30d", "B", "unit", [(40, 400)] * 3, "race", "White")
    aggregates.add("readmission_30d", "B", "unit", [(27, 200)] * 3, "race", "Black")
    windows = detect.trailing_windows(aggregates.frame(), MEASURES, settings, count=1)
    compared = detect.gaps(windows, settings).set_index(["node", "dimension", "group"])
    black_a, black_b = compared.loc[("A", "race", "Black")], compared.loc[("B", "race", "Black")]
    assert black_a["p_value"] == pytest.approx(black_b["p_value"])
    assert black_a["q_node"] < black_b["q_node"]
    assert bool(black_a["gap"]) and not bool(black_b["gap"])


def test_rates_with_different_scales_are_charted_on_their_own_scale(aggregates):
    measures = pd.concat(
        [
            MEASURES,
            pd.DataFrame(
                [{"measure": "ama_per_100", "kind": "rate", "better": "lower", "per": 100.0}]
            ),
        ]
    )
    before, after = [(30, 1000)] * 14, [(60, 1000)] * 8
    aggregates.add("falls_rate", "MUH-4W", "unit", before + after)
    aggregates.add("ama_per_100", "MUH-4W", "unit", before + after)
    special = detect.detect(aggregates.frame(), measures).set_index("measure")
    # 60 events per 1,000 exposure: 60 per 1,000 patient days, or 6 per 100.
    assert special.loc["falls_rate", "evidence"]["value"] == pytest.approx(60.0)
    assert special.loc["ama_per_100", "evidence"]["value"] == pytest.approx(6.0)
    assert set(special["direction"]) == {"concern"}
