"""Intervals match scipy, their formulas and published values, and contain their estimate."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from equilean.engine.stats import intervals


def _scipy_wilson(x, n):
    """The reference: scipy's Wilson score interval (no continuity correction)."""
    ci = stats.binomtest(x, n).proportion_ci(0.95, method="wilson")
    return ci.low, ci.high


def _byar(x):
    """Byar's approximation to the 95% Poisson limits, written out by hand."""
    z = stats.norm.ppf(0.975)
    lower = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
    upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
    return lower, upper


def test_wilson_matches_scipy():
    assert intervals.wilson(65, 100) == pytest.approx(_scipy_wilson(65, 100), abs=1e-12)
    assert intervals.wilson(1045, 5000) == pytest.approx(_scipy_wilson(1045, 5000), abs=1e-12)


def test_wilson_broadcasts_over_arrays():
    lower, upper = intervals.wilson([65, 1045], [100, 5000])
    expected = [_scipy_wilson(65, 100), _scipy_wilson(1045, 5000)]
    assert lower == pytest.approx([low for low, _ in expected], abs=1e-12)
    assert upper == pytest.approx([high for _, high in expected], abs=1e-12)


def test_byar_matches_the_formula_for_count_65():
    assert intervals.poisson_count(65) == pytest.approx(_byar(65), abs=1e-9)
    # Byar is close to the exact (Garwood) limits at this size.
    exact = stats.chi2.ppf(0.025, 130) / 2, stats.chi2.ppf(0.975, 132) / 2
    assert intervals.poisson_count(65) == pytest.approx(exact, abs=0.05)


def test_small_counts_use_the_exact_chi_square_limits():
    # Garwood (1936) exact 95% limits for a count of 5 (1.6235 to 11.6683 to 4 decimals).
    exact = stats.chi2.ppf(0.025, 10) / 2, stats.chi2.ppf(0.975, 12) / 2
    assert intervals.poisson_count(5) == pytest.approx(exact, abs=1e-9)
    assert intervals.poisson_count(5) == pytest.approx((1.6235, 11.6683), abs=5e-5)
    assert intervals.poisson_count(0)[0] == 0.0


def test_rate_scales_the_count_interval():
    value, lower, upper = intervals.rate(65, 2000, per=1000)
    assert value == pytest.approx(32.5)
    low, high = _byar(65)
    assert (lower, upper) == pytest.approx((low / 2, high / 2))


def test_mean_matches_students_t_interval():
    values = [4.1, 5.3, 6.2, 5.8, 4.9, 6.6]
    expected = stats.ttest_1samp(values, 0).confidence_interval(0.95)
    centre, lower, upper = intervals.mean(values)
    assert centre == pytest.approx(np.mean(values))
    assert (lower, upper) == pytest.approx((expected.low, expected.high))


def test_mean_skips_missing_values_per_series():
    centre, lower, _ = intervals.mean([[1.0, 2.0, 3.0, np.nan], [2.0, 4.0, 6.0, 8.0]])
    assert centre == pytest.approx([2.0, 5.0])
    assert lower[0] == pytest.approx(stats.ttest_1samp([1, 2, 3], 0).confidence_interval().low)


def test_newcombe_hybrid_score_matches_newcombe_1998_table_2():
    # Newcombe (1998) example (56/70 vs 48/80), method 10: 0.0524 to 0.3339
    d, lower, upper = intervals.difference(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert (lower, upper) == pytest.approx((0.0524, 0.3339), abs=5e-5)


def test_katz_log_interval_is_symmetric_on_the_log_scale():
    r, lower, upper = intervals.ratio(10, 100, 20, 100)
    se = np.sqrt(1 / 10 - 1 / 100 + 1 / 20 - 1 / 100)
    z = stats.norm.ppf(0.975)
    assert r == pytest.approx(0.5)
    assert (lower, upper) == pytest.approx((0.5 * np.exp(-z * se), 0.5 * np.exp(z * se)))


def test_katz_interval_is_undefined_for_a_zero_count():
    _, lower, upper = intervals.ratio(0, 100, 20, 100)
    assert np.isnan(lower) and np.isnan(upper)


def test_rate_ratio_uses_the_exact_conditional_binomial_limits():
    # equal exposures: R = p / (1 - p) with p the Clopper-Pearson limits of 10 out of 30
    ci = stats.binomtest(10, 30).proportion_ci(0.95, method="exact")
    rr, lower, upper = intervals.rate_ratio(10, 500, 20, 500)
    assert rr == pytest.approx(0.5)
    assert lower == pytest.approx(ci.low / (1 - ci.low))
    assert upper == pytest.approx(ci.high / (1 - ci.high))


counts = st.integers(min_value=0, max_value=10_000)


@settings(deadline=None)
@given(counts, st.integers(min_value=1, max_value=10_000), st.sampled_from([0.8, 0.95, 0.998]))
def test_wilson_contains_the_proportion_and_stays_in_0_1(x, n, confidence):
    x = min(x, n)
    lower, upper = intervals.wilson(x, n, confidence)
    assert 0.0 <= lower <= x / n + 1e-12
    assert x / n - 1e-12 <= upper <= 1.0


@settings(deadline=None)
@given(counts, st.integers(1, 5000), counts, st.integers(1, 5000))
def test_newcombe_interval_contains_difference_within_minus_one_one(x1, n1, x2, n2):
    x1, x2 = min(x1, n1), min(x2, n2)
    d, lower, upper = intervals.difference(x1, n1, x2, n2)
    assert -1.0 - 1e-12 <= lower <= d + 1e-12
    assert d - 1e-12 <= upper <= 1.0 + 1e-12


@settings(deadline=None)
@given(counts)
def test_poisson_interval_contains_the_count(x):
    lower, upper = intervals.poisson_count(x)
    assert 0.0 <= lower <= x <= upper
