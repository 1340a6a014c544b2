"""SPC charts follow NHSRplotthedots' XmR and qicharts2's p-chart formulas and Anhøj's rules."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from equilean.engine.errors import InputError
from equilean.engine.stats import spc

PTD = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
BASE = [10, 12] * 5  # mean 11, mean moving range 2
RISE = [9, 9.5, 10, 10.5, 11, 11.5, 12]

P_X = [12, 8, 6, 9, 10, 12, 11, 16, 10, 6, 20, 15, 9, 8, 6, 8, 10, 7, 5, 8, 5, 8, 10, 6, 9]
P_N = [100, 80, 80, 100, 110, 110, 100, 100, 90, 90, 110, 120, 120, 120, 110, 80, 80, 80, 90]
P_N += [100, 100, 100, 100, 90, 90]


def rules(chart):
    return [r if isinstance(r, str) else None for r in chart.frame["rule"]]


def _moving_ranges(values, screen):
    """Moving ranges; screening drops those above 3.267 x their mean (NHSRplotthedots)."""
    ranges = np.abs(np.diff(values))
    return ranges[ranges <= 3.267 * ranges.mean()] if screen else ranges


def test_xmr_screened_limits_are_the_mean_plus_minus_2_66_screened_moving_ranges():
    # PTD's moving ranges are fifteen 1s, an 8 and a 9; screening drops the 8 and the 9.
    centre, mr = np.mean(PTD), _moving_ranges(PTD, screen=True).mean()
    assert (centre, mr) == pytest.approx((35 / 18, 1.0))
    frame = spc.xmr(PTD).frame
    assert frame["centre"].iloc[0] == pytest.approx(centre, abs=1e-12)
    assert frame["lower"].iloc[0] == pytest.approx(centre - 2.66 * mr, abs=1e-12)
    assert frame["upper"].iloc[0] == pytest.approx(centre + 2.66 * mr, abs=1e-12)


def test_xmr_unscreened_limits_use_every_moving_range():
    centre, mr = np.mean(PTD), _moving_ranges(PTD, screen=False).mean()
    assert mr == pytest.approx(32 / 17)
    frame = spc.xmr(PTD, screen=False).frame
    assert frame["lower"].iloc[0] == pytest.approx(centre - 2.66 * mr, abs=1e-12)
    assert frame["upper"].iloc[0] == pytest.approx(centre + 2.66 * mr, abs=1e-12)


def test_xmr_two_sigma_lines_sit_at_two_thirds_of_the_limits():
    frame = spc.xmr(PTD).frame
    centre = np.mean(PTD)
    assert frame["upper_2s"].iloc[0] == pytest.approx(centre + 2 / 3 * 2.66, abs=1e-12)
    assert frame["lower_2s"].iloc[0] == pytest.approx(centre - 2 / 3 * 2.66, abs=1e-12)


def test_only_point_5_is_special_cause_and_an_improvement_when_increasing():
    chart = spc.xmr(PTD, improvement="increase")
    signals = chart.frame["signal"].tolist()
    assert signals[4] == "improvement"
    assert rules(chart)[4] == "outside"
    assert signals[:4] + signals[5:] == ["common_cause"] * 17


def test_point_5_is_a_concern_when_decrease_is_better_and_neutral_without_direction():
    assert spc.xmr(PTD, improvement="decrease").frame["signal"].iloc[4] == "concern"
    assert spc.xmr(PTD).frame["signal"].iloc[4] == "neutral_high"


def test_beyond_two_sigma_on_opposite_sides_is_common_cause():
    values = np.tile([1.0, -1.0], 8)
    values[14], values[15] = 5.5, -5.5
    frame = spc.xmr(values).frame
    assert frame["centre"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    # The screened moving ranges (the 11 between 5.5 and -5.5 is dropped) average 32.5 / 14.
    assert frame["upper"].iloc[0] == pytest.approx(2.66 * 32.5 / 14, abs=1e-12)
    assert _moving_ranges(values, screen=True).mean() == pytest.approx(32.5 / 14)
    assert (frame["signal"] == "common_cause").all()


def test_every_point_of_a_trend_is_marked():
    chart = spc.xmr([*BASE, *RISE, 10, 12, 10, 12])
    marked = rules(chart)
    assert marked[10:17] == ["trend"] * 7
    assert marked[:10] == [None] * 10 and marked[17:] == [None] * 4


def test_a_tie_breaks_a_trend():
    tied = [9, 9.5, 10, 10, 10.5, 11, 11.5, 12]
    assert "trend" not in rules(spc.xmr([*BASE, *tied, 10, 12, 10, 12]))


def test_a_falling_trend_is_an_improvement_when_decrease_is_better():
    chart = spc.xmr([*BASE, *RISE[::-1], 10, 12, 10, 12], improvement="decrease")
    assert chart.frame["signal"].iloc[10:17].tolist() == ["improvement"] * 7


def test_every_point_of_a_shift_is_marked():
    above = [11.5, 11.6, 11.4, 11.7, 11.5, 11.6, 11.5]
    chart = spc.xmr([*BASE, 10, *above, 10], fix_after=10, improvement="increase")
    assert rules(chart)[11:18] == ["shift"] * 7
    assert chart.frame["signal"].iloc[11:18].tolist() == ["improvement"] * 7
    assert rules(chart)[10] is None and rules(chart)[18] is None


def test_six_points_or_a_point_on_the_mean_make_no_shift():
    six = [11.5, 11.6, 11.4, 11.7, 11.5, 11.6]
    assert "shift" not in rules(spc.xmr([*BASE, 10, *six, 10], fix_after=10))
    broken = [11.5, 11.6, 11.4, 11.0, 11.5, 11.6, 11.5, 11.6]
    assert "shift" not in rules(spc.xmr([*BASE, 10, *broken], fix_after=10))


def test_two_of_three_marks_only_the_points_beyond_two_sigma():
    # baseline mean 11, mR 2: 2-sigma line at 14.5467, limit at 16.32
    chart = spc.xmr([*BASE, 15, 12, 15.2, 10, 12], fix_after=10)
    assert rules(chart)[10:15] == ["two_of_three", None, "two_of_three", None, None]


def test_two_of_three_needs_all_three_points_on_one_side():
    chart = spc.xmr([*BASE, 15, 9, 15.2, 10, 12], fix_after=10)
    assert "two_of_three" not in rules(chart)


def test_outside_takes_precedence_over_the_other_rules():
    values = [*BASE, 10, 11.5, 11.6, 11.4, 20.0, 11.5, 11.6, 11.5]
    marked = rules(spc.xmr(values, fix_after=10))
    assert marked[14] == "outside"
    assert [marked[i] for i in (11, 12, 13, 15, 16, 17)] == ["shift"] * 6


def test_rebasing_restarts_limits_and_rules():
    first, second = [10, 12] * 5, [20, 22] * 5
    chart = spc.xmr([*first, *second], rebase=[10])
    frame = chart.frame
    assert frame["centre"].iloc[0] == pytest.approx(11.0)
    assert frame["centre"].iloc[10] == pytest.approx(21.0)
    assert frame["upper"].iloc[10] == pytest.approx(21 + 2.66 * 2)
    assert frame["segment"].tolist() == [0] * 10 + [1] * 10
    assert (frame["signal"] == "common_cause").all()
    # without the rebase the step change is special cause
    assert (spc.xmr([*first, *second]).frame["signal"] != "common_cause").any()


def test_assurance_compares_the_target_with_the_last_segments_limits():
    values = [*BASE, 20, 22, 20, 22, 20, 22, 20, 22]
    rebased = [10]
    # last segment: mean 21, limits 21 -+ 5.32
    assert spc.xmr(values, "increase", target=15, rebase=rebased).assurance == "pass"
    assert spc.xmr(values, "increase", target=27, rebase=rebased).assurance == "fail"
    assert spc.xmr(values, "increase", target=21, rebase=rebased).assurance == "inconsistent"
    assert spc.xmr(values, "decrease", target=15, rebase=rebased).assurance == "fail"
    assert spc.xmr(values, None, target=15, rebase=rebased).assurance is None
    assert spc.xmr(values, "increase", rebase=rebased).assurance is None


def test_variation_icon_follows_the_last_point():
    assert spc.xmr([*BASE, 20], "increase", fix_after=10).variation_icon == "improvement_high"
    assert spc.xmr([*BASE, 20], "decrease", fix_after=10).variation_icon == "concern_high"
    assert spc.xmr([*BASE, 2], "increase", fix_after=10).variation_icon == "concern_low"
    assert spc.xmr([*BASE, 2], None, fix_after=10).variation_icon == "neutral_low"
    assert spc.xmr(BASE, "increase").variation_icon == "common_cause"


def test_a_matrix_of_series_gives_the_same_charts_as_one_at_a_time():
    rng = np.random.default_rng(7)
    matrix = rng.normal(10, 2, size=(5, 30))
    matrix[2, 20:] += 8
    together = spc.xmr(matrix, improvement="increase")
    for row in range(5):
        alone = spc.xmr(matrix[row], improvement="increase").frame
        part = together.frame.iloc[row * 30 : (row + 1) * 30].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, alone)
    assert together.summary.shape[0] == 5


def test_xmr_many_charts_ragged_series_by_key():
    rows = [{"unit": "A", "period": p, "value": v} for p, v in enumerate(PTD)]
    rows += [{"unit": "B", "period": p, "value": v} for p, v in enumerate(BASE)]
    frame = pd.DataFrame(rows).sample(frac=1, random_state=3)
    chart = spc.xmr_many(frame, by=["unit"], order="period", improvement="increase")
    unit_a = chart.frame[chart.frame["unit"] == "A"]
    alone = np.mean(PTD) + 2.66 * _moving_ranges(PTD, screen=True).mean()
    assert unit_a["upper"].iloc[0] == pytest.approx(alone, abs=1e-12)
    assert unit_a["value"].tolist() == PTD
    assert chart.summary["unit"].tolist() == ["A", "B"]
    assert list(chart.summary["variation_icon"]) == ["common_cause", "common_cause"]


def test_xmr_rejects_an_unknown_improvement_direction():
    with pytest.raises(InputError):
        spc.xmr(PTD, improvement="up")


def test_p_chart_limits_are_the_pooled_rate_plus_minus_three_binomial_errors():
    x, n = np.array(P_X, float), np.array(P_N, float)
    centre = x.sum() / n.sum()
    half = 3 * np.sqrt(centre * (1 - centre) / n)
    lower, upper = np.maximum(centre - half, 0), centre + half
    frame = spc.p_chart(P_X, P_N).frame
    assert frame["centre"].iloc[0] == pytest.approx(centre, abs=1e-12)
    assert frame["lower"].to_numpy() == pytest.approx(lower, abs=1e-12)
    assert frame["upper"].to_numpy() == pytest.approx(upper, abs=1e-12)
    # The 80-patient months' lower limit falls below 0 and is drawn at 0.
    assert frame["lower"].iloc[1] == 0.0
    outside = np.flatnonzero((x / n > upper) | (x / n < lower)).tolist()
    assert outside == [10]
    assert frame.index[frame["rule"].eq("outside")].tolist() == outside


def test_p_chart_runs_analysis_follows_anhoej():
    # Anhøj's rules as qicharts2 applies them, worked out here from the points' sides.
    p = np.array(P_X) / np.array(P_N)
    side = np.sign(p - sum(P_X) / sum(P_N))
    side = side[side != 0]
    useful = len(side)
    changes = np.flatnonzero(np.diff(side) != 0)
    runs = np.diff(np.concatenate([[0], changes + 1, [useful]]))
    summary = spc.p_chart(P_X, P_N).summary.iloc[0]
    assert summary["longest_run"] == runs.max() == 5
    assert summary["max_longest_run"] == round(np.log2(useful) + 3) == 8
    assert summary["crossings"] == len(changes) == 10
    assert summary["min_crossings"] == stats.binom.ppf(0.05, useful - 1, 0.5) == 8
    assert not summary["runs_signal"]


def test_laney_p_prime_with_equal_denominators_is_an_individuals_chart():
    # Laney (2002): with constant n, sigma_z * sigma_p = mean moving range of p / 1.128
    x = np.array([30, 42, 35, 51, 38, 44, 29, 47, 40, 36])
    p = x / 500
    frame = spc.p_chart(x, np.full(10, 500), laney=True).frame
    half = 3 * np.mean(np.abs(np.diff(p))) / 1.128
    assert frame["upper"].iloc[0] == pytest.approx(p.mean() + half)
    assert frame["lower"].iloc[0] == pytest.approx(p.mean() - half)


def test_u_chart_scales_the_montgomery_limits_by_per():
    x, exposure = np.array([3, 5, 2, 8]), np.array([1000, 1200, 900, 1500])
    frame = spc.u_chart(x, exposure, per=1000).frame
    u = x.sum() / exposure.sum()
    assert frame["centre"].iloc[0] == pytest.approx(1000 * u)
    assert frame["upper"].tolist() == pytest.approx(1000 * (u + 3 * np.sqrt(u / exposure)))
    assert frame["lower"].tolist() == pytest.approx(
        np.maximum(0, 1000 * (u - 3 * np.sqrt(u / exposure)))
    )
    assert frame["value"].tolist() == pytest.approx(1000 * x / exposure)


def test_p_chart_many_matches_single_charts():
    frame = pd.DataFrame(
        {
            "unit": ["A"] * 25 + ["B"] * 10,
            "month": list(range(25)) + list(range(10)),
            "numerator": P_X + P_X[:10],
            "denominator": P_N + P_N[:10],
        }
    )
    chart = spc.p_chart_many(frame, by=["unit"], order="month")
    single = spc.p_chart(P_X[:10], P_N[:10]).frame
    part = chart.frame[chart.frame["unit"] == "B"]
    assert part["upper"].tolist() == pytest.approx(single["upper"].tolist())
    assert chart.summary.loc[0, "crossings"] == 10


def test_p_chart_can_use_the_nhs_rules():
    chart = spc.p_chart(P_X, P_N, rules="nhs", improvement="decrease")
    assert chart.frame["signal"].iloc[10] == "concern"


@pytest.mark.parametrize(
    ("n", "longest", "crossings"),
    [(10, 6, 2), (12, 7, 3), (20, 7, 6), (40, 8, 14), (100, 10, 41)],
)
def test_anhoej_limits_match_the_published_table(n, longest, crossings):
    values = np.tile([1.0, -1.0], n)[:n]
    result = spc.runs(values, centre=0)
    assert result.max_longest_run == longest
    assert result.min_crossings == crossings


def test_runs_ignores_points_on_the_centre_line():
    result = spc.runs([1, 0, 1, 0, -1, -1, 0, 1], centre=0)
    assert result.n_useful == 5
    assert result.longest_run == 2
    assert result.crossings == 2


def test_runs_flags_a_long_run_and_too_few_crossings():
    result = spc.runs(np.r_[np.ones(9), -np.ones(3)], centre=0)
    assert result.longest_run == 9 and result.signal
    assert not spc.runs(np.tile([1.0, -1.0], 10), centre=0).signal


def test_runs_many_gives_one_row_per_series():
    frame = pd.DataFrame({"unit": ["A"] * 12 + ["B"] * 10, "value": [*range(12), *range(10)]})
    result = spc.runs_many(frame, by=["unit"])
    assert result["unit"].tolist() == ["A", "B"]
    assert result["longest_run"].tolist() == [6, 5]
    assert result["crossings"].tolist() == [1, 1]
