"""Disparity comparisons pick the right reference, flag gaps by the AHRQ rule and sum up."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from equilean.engine.errors import InputError
from equilean.engine.stats import disparity

GROUPS = pd.DataFrame(
    {
        "group": ["White", "Black", "Asian", "Hispanic", "Unknown"],
        "numerator": [100, 80, 10, 40, 9],
        "denominator": [1000, 500, 150, 300, 50],
    }
)


def row(frame, group):
    return frame.set_index("group").loc[group]


def test_compare_returns_the_contract_columns():
    result = disparity.compare(GROUPS)
    for column in [
        "group", "numerator", "denominator", "rate", "lower", "upper", "is_reference",
        "difference", "difference_lower", "difference_upper", "ratio", "ratio_lower",
        "ratio_upper", "relative_difference", "p_value", "q_value", "significant",
        "excess_events",
    ]:  # fmt: skip
        assert column in result.columns


def test_largest_group_is_the_default_reference():
    result = disparity.compare(GROUPS)
    assert result["is_reference"].tolist() == [True, False, False, False, False]
    assert np.isnan(row(result, "White")["p_value"])


def test_unknown_is_never_the_reference_even_when_largest():
    groups = GROUPS.assign(denominator=[1000, 500, 150, 300, 5000])
    result = disparity.compare(groups)
    assert row(result, "White")["is_reference"]
    assert not row(result, "Unknown")["is_reference"]
    with pytest.raises(InputError):
        disparity.compare(groups, reference="Unknown")


def test_best_reference_is_the_lowest_rate_when_lower_is_better():
    result = disparity.compare(GROUPS, reference="best", better="lower")
    assert row(result, "Asian")["is_reference"]
    result = disparity.compare(GROUPS, reference="best", better="higher")
    assert row(result, "Black")["is_reference"]


def test_small_groups_are_reported_but_never_the_reference():
    result = disparity.compare(GROUPS, reference="best", min_denominator=200)
    assert row(result, "White")["is_reference"]
    assert np.isnan(row(result, "Asian")["p_value"])
    assert row(result, "Asian")["rate"] == pytest.approx(10 / 150)


def test_named_reference():
    result = disparity.compare(GROUPS, reference="Hispanic")
    assert row(result, "Hispanic")["is_reference"]
    assert row(result, "White")["difference"] == pytest.approx(0.1 - 40 / 300)
    with pytest.raises(InputError):
        disparity.compare(GROUPS, reference="Martian")


def test_rest_compares_each_group_with_all_other_known_groups():
    result = disparity.compare(GROUPS, reference="rest")
    black = row(result, "Black")
    rest_rate = (100 + 10 + 40) / (1000 + 150 + 300)
    assert black["ratio"] == pytest.approx(0.16 / rest_rate)
    assert not result["is_reference"].any()
    unknown = row(result, "Unknown")
    assert unknown["ratio"] == pytest.approx(0.18 / (230 / 1950))


def test_p_value_is_the_pearson_chi_square_test():
    result = disparity.compare(GROUPS)
    table = [[80, 420], [100, 900]]
    expected = stats.chi2_contingency(table, correction=False).pvalue
    assert row(result, "Black")["p_value"] == pytest.approx(expected)


def test_intervals_are_wilson_newcombe_and_katz():
    result = row(disparity.compare(GROUPS), "Black")
    wilson = stats.binomtest(80, 500).proportion_ci(0.95, method="wilson")
    assert (result["lower"], result["upper"]) == pytest.approx((wilson.low, wilson.high))
    se = np.sqrt(1 / 80 - 1 / 500 + 1 / 100 - 1 / 1000)
    z = stats.norm.ppf(0.975)
    assert result["ratio_lower"] == pytest.approx(1.6 * np.exp(-z * se))
    assert result["difference"] == pytest.approx(0.06)


def test_ahrq_rule_needs_a_ten_percent_adverse_gap_and_p_below_005():
    groups = pd.DataFrame(
        {
            "group": ["A", "B", "C", "D"],
            "numerator": [100_000, 105_000, 130, 90_000],
            "denominator": [1_000_000, 1_000_000, 1000, 1_000_000],
        }
    )
    result = disparity.compare(groups, reference="A", better="lower")
    # B: 5% worse with a tiny p -> not significant; C: 30% worse with p < 0.05 -> significant
    assert row(result, "B")["p_value"] < 1e-6
    assert not row(result, "B")["significant"]
    assert row(result, "C")["relative_difference"] == pytest.approx(0.3)
    assert row(result, "C")["p_value"] < 0.05
    assert row(result, "C")["significant"]
    # D is 10% better: significant only in the adverse direction
    assert not row(result, "D")["significant"]
    flipped = disparity.compare(groups, reference="A", better="higher")
    assert row(flipped, "D")["significant"]


def test_excess_events_are_the_events_above_the_reference_rate():
    result = disparity.compare(GROUPS)
    assert row(result, "Black")["excess_events"] == pytest.approx(80 - 0.1 * 500)
    assert row(result, "Asian")["excess_events"] == pytest.approx(10 - 0.1 * 150)
    assert row(result, "White")["excess_events"] == 0
    higher = disparity.compare(GROUPS, better="higher")
    assert row(higher, "Black")["excess_events"] == pytest.approx(0.1 * 500 - 80)


def test_q_values_are_benjamini_hochberg_within_each_by_group():
    both = pd.concat(
        [GROUPS.assign(unit="A"), GROUPS.assign(unit="B", numerator=GROUPS["numerator"] * 2)]
    )
    together = disparity.compare(both, by=["unit"])
    for unit in ["A", "B"]:
        alone = disparity.compare(both[both["unit"] == unit].drop(columns="unit"))
        part = together[together["unit"] == unit]
        assert part["q_value"].tolist() == pytest.approx(alone["q_value"].tolist(), nan_ok=True)
        assert part["p_value"].tolist() == pytest.approx(alone["p_value"].tolist(), nan_ok=True)


def test_rates_per_exposure_use_poisson_methods():
    groups = pd.DataFrame(
        {"group": ["A", "B"], "numerator": [65, 30], "denominator": [20_000, 5_000]}
    )
    result = disparity.compare(groups, kind="rate", per=1000, min_denominator=1)
    a, b = row(result, "A"), row(result, "B")
    # Byar's limits for A's 65 events, per 1,000 of 20,000 exposure.
    z = stats.norm.ppf(0.975)
    byar_lower = 65 * (1 - 1 / (9 * 65) - z / (3 * np.sqrt(65))) ** 3
    byar_upper = 66 * (1 - 1 / (9 * 66) + z / (3 * np.sqrt(66))) ** 3
    assert (a["lower"], a["upper"]) == pytest.approx((byar_lower / 20, byar_upper / 20))
    assert b["ratio"] == pytest.approx(6 / 3.25)
    assert b["difference"] == pytest.approx(6 - 3.25)


def test_benjamini_hochberg_matches_hand_computation():
    result = disparity.benjamini_hochberg([0.01, 0.04, 0.03, 0.005, np.nan], q=0.03)
    assert result.q_values[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert np.isnan(result.q_values[4])
    assert result.rejected.tolist() == [True, False, False, True, False]


def test_benjamini_hochberg_treats_rows_as_families():
    result = disparity.benjamini_hochberg([[0.01, 0.02], [0.04, 0.5]])
    np.testing.assert_allclose(result.q_values, [[0.02, 0.02], [0.08, 0.5]])


def test_summary_indices_follow_their_definitions():
    result = disparity.summary(GROUPS)
    rates = np.array([0.1, 0.16, 10 / 150, 40 / 300])
    sizes = np.array([1000, 500, 150, 300])
    mu = 230 / 1950
    share = sizes / sizes.sum()
    assert result["reference"] == "White"
    assert result["index_of_disparity"] == pytest.approx(
        100 * np.mean(np.abs(rates[1:] - 0.1)) / 0.1
    )
    assert result["index_of_disparity_mean"] == pytest.approx(
        100 * np.mean(np.abs(rates - mu)) / mu
    )
    assert result["index_of_disparity_weighted"] == pytest.approx(
        100 * np.sum(share * np.abs(rates - mu)) / mu
    )
    assert result["between_group_variance"] == pytest.approx(np.sum(share * (rates - mu) ** 2))
    assert result["theil"] == pytest.approx(np.sum(share * rates / mu * np.log(rates / mu)))
    assert result["mean_log_deviation"] == pytest.approx(np.sum(share * np.log(mu / rates)))
    assert result["par"] == pytest.approx(mu - 0.1)
    assert result["paf"] == pytest.approx((mu - 0.1) / mu)
    assert result["excess_events"] == pytest.approx(230 - 0.1 * 1950)


def test_summary_by_group_returns_one_row_each():
    both = pd.concat([GROUPS.assign(unit="A"), GROUPS.assign(unit="B")])
    result = disparity.summary(both, by=["unit"])
    assert result["unit"].tolist() == ["A", "B"]
    assert result["theil"].iloc[0] == pytest.approx(result["theil"].iloc[1])


def test_summary_has_no_single_rate_for_rest():
    with pytest.raises(InputError):
        disparity.summary(GROUPS, reference="rest")


def test_slope_index_recovers_a_linear_gradient():
    # equal fifths: mid-ranks 0.1, 0.3, ..., 0.9; y = 20 - 10 x exactly
    mid = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    result = disparity.slope_index(20 - 10 * mid, [5, 5, 5, 5, 5])
    assert result.sii == pytest.approx(-10)
    assert result.rii == pytest.approx(10 / 20)


def test_slope_index_uses_population_weighted_mid_ranks():
    populations = np.array([10, 30, 60])
    mid = np.array([0.05, 0.25, 0.7])
    result = disparity.slope_index(3 + 4 * mid, populations)
    assert result.sii == pytest.approx(4)
    assert result.intercept == pytest.approx(3)
    many = disparity.slope_index(np.vstack([3 + 4 * mid, 1 + 2 * mid]), populations)
    assert many.sii == pytest.approx([4, 2])


def test_compare_rejects_numerators_above_denominators():
    with pytest.raises(InputError):
        disparity.compare(GROUPS.assign(numerator=[2000, 1, 1, 1, 1]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 500)), min_size=2, max_size=6))
def test_rates_sit_inside_their_intervals(cells):
    groups = pd.DataFrame(
        {
            "group": [f"g{i}" for i in range(len(cells))],
            "numerator": [min(x, n) for x, n in cells],
            "denominator": [n for _, n in cells],
        }
    )
    result = disparity.compare(groups, min_denominator=1)
    assert (result["lower"] <= result["rate"] + 1e-12).all()
    assert (result["rate"] <= result["upper"] + 1e-12).all()
    assert result["lower"].between(0, 1).all() and result["upper"].between(0, 1).all()
    compared = result.dropna(subset=["difference"])
    assert (compared["difference_lower"] <= compared["difference"] + 1e-12).all()
    assert (compared["difference"] <= compared["difference_upper"] + 1e-12).all()
    assert (result["q_value"].dropna() >= result["p_value"].dropna() - 1e-12).all()


def test_bh_families_match_separate_calls():
    # Ragged families in one call give the same q-values as one call per family.
    p = np.array([0.01, 0.04, 0.03, 0.20, 0.001, 0.5, 0.049])
    family = np.array(["a", "a", "b", "a", "b", "b", "c"])
    together = disparity.benjamini_hochberg(p, family=family).q_values
    for label in "abc":
        alone = disparity.benjamini_hochberg(p[family == label]).q_values
        assert together[family == label] == pytest.approx(alone)
    # R: p.adjust(c(0.01, 0.04, 0.20), "BH") = 0.03, 0.06, 0.20
    assert together[family == "a"] == pytest.approx([0.03, 0.06, 0.20])


def test_means_match_welchs_t_test_on_the_raw_values():
    # Reference implementation: scipy's Welch t-test and t interval on the raw values.
    rng = np.random.default_rng(3)
    a, b = rng.normal(42, 9, 80), rng.normal(35, 6, 150)
    groups = pd.DataFrame(
        {
            "group": ["Black or African American", "White"],
            "numerator": [a.sum(), b.sum()],
            "denominator": [len(a), len(b)],
            "sum_sq": [(a**2).sum(), (b**2).sum()],
        }
    )
    out = disparity.compare(groups, kind="mean", better="lower").set_index("group")
    row = out.loc["Black or African American"]
    welch = stats.ttest_ind(a, b, equal_var=False)
    assert row["p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
    assert row["difference"] == pytest.approx(a.mean() - b.mean())
    ci = welch.confidence_interval(0.95)
    assert (row["difference_lower"], row["difference_upper"]) == pytest.approx((ci.low, ci.high))
    t_ci = stats.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=stats.sem(a))
    assert (row["lower"], row["upper"]) == pytest.approx(t_ci)
    assert row["excess_events"] == pytest.approx(a.sum() - b.mean() * len(a))
    assert bool(row["significant"]) is True
    assert bool(out.loc["White", "is_reference"]) is True


def test_means_need_sum_of_squares():
    groups = pd.DataFrame({"group": ["a"], "numerator": [1.0], "denominator": [2]})
    with pytest.raises(InputError, match="sum_sq"):
        disparity.compare(groups, kind="mean")
