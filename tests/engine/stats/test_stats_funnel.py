"""Funnel limits follow Spiegelhalter (2005) and behave as his limits should."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from equilean.engine.errors import InputError
from equilean.engine.stats import funnel


def test_normal_limits_are_the_target_plus_minus_z_standard_errors():
    target, n = 0.80642448, 1531
    half = stats.norm.ppf(0.975) * np.sqrt(target * (1 - target) / n)
    lower, upper = funnel.proportion_limits(target, n, 0.95, method="normal")
    assert (lower, upper) == pytest.approx((target - half, target + half), abs=1e-12)


def _spiegelhalter_limit(p, n, target):
    """Spiegelhalter (2005), Stat Med 24:1185-1202, appendix A.1, from binomial CDF values.

    r_p is the smallest r with F(r) >= p, a = (F(r_p) - p) / (F(r_p) - F(r_p - 1)), and the
    limit is (r_p - a) / n.
    """
    cdf = stats.binom.cdf(np.arange(n + 1), n, target)
    r = int(np.argmax(cdf >= p))
    below = cdf[r - 1] if r > 0 else 0.0
    return (r - (cdf[r] - p) / (cdf[r] - below)) / n


@pytest.mark.parametrize(
    ("n", "target", "confidence"), [(200, 0.1, 0.95), (57, 0.31, 0.998), (1000, 0.02, 0.95)]
)
def test_exact_limits_are_spiegelhalters_interpolated_binomial_quantiles(n, target, confidence):
    alpha = (1 - confidence) / 2
    lower, upper = funnel.proportion_limits(target, n, confidence)
    assert lower == pytest.approx(_spiegelhalter_limit(alpha, n, target), abs=1e-12)
    assert upper == pytest.approx(_spiegelhalter_limit(1 - alpha, n, target), abs=1e-12)


def test_exact_limits_approach_the_normal_limits_for_large_n():
    exact = funnel.proportion_limits(0.2, 1_000_000, 0.998)
    normal = funnel.proportion_limits(0.2, 1_000_000, 0.998, method="normal")
    assert exact == pytest.approx(normal, abs=2e-5)


def test_limits_broadcast_over_sizes_and_narrow_as_n_grows():
    lower, upper = funnel.proportion_limits(0.1, [50, 500, 5000])
    assert np.all(np.diff(upper) < 0) and np.all(np.diff(lower) > 0)


def test_ratio_limits_approach_one_plus_minus_z_over_root_e():
    lower, upper = funnel.ratio_limits(40_000.0)
    z = stats.norm.ppf(0.975)
    assert (lower, upper) == pytest.approx((1 - z / 200, 1 + z / 200), abs=2e-4)
    small_lower, small_upper = funnel.ratio_limits([2.0, 10.0])
    assert np.all(small_lower < 1) and np.all(small_upper > 1)


@settings(deadline=None)
@given(st.floats(0.01, 0.99), st.integers(5, 100_000))
def test_exact_limits_bracket_the_target_inside_0_1(target, n):
    lower, upper = funnel.proportion_limits(target, n, 0.95)
    assert 0 <= lower <= target + 1e-9 <= upper + 2e-9 <= 1 + 2e-9


def test_overdispersion_uses_winsorised_arcsine_z_scores():
    n = np.full(20, 400.0)
    p = np.linspace(0.35, 0.65, 20)
    x = p * n
    result = funnel.overdispersion(x, n, target=0.5)
    z = (np.arcsin(np.sqrt(p)) - np.arcsin(np.sqrt(0.5))) * 2 * np.sqrt(n)
    low, high = np.percentile(z, [10, 90])
    z = np.clip(z, low, high)
    phi = np.mean(z**2)
    w = 4 * n
    tau2 = (20 * phi - 19) / (w.sum() - (w**2).sum() / w.sum())
    assert result.phi == pytest.approx(phi)
    assert result.tau2 == pytest.approx(tau2)


def test_no_overdispersion_leaves_the_additive_limits_at_the_arcsine_limits():
    n = np.full(10, 1000.0)
    result = funnel.overdispersion(np.full(10, 100.0), n, target=0.1)
    assert result.phi == 0 and result.tau2 == 0
    lower, upper = funnel.adjusted_limits(0.1, 1000, result, method="additive")
    z = stats.norm.ppf(0.975)
    centre = np.arcsin(np.sqrt(0.1))
    assert lower == pytest.approx(np.sin(centre - z / (2 * np.sqrt(1000))) ** 2)
    assert upper == pytest.approx(np.sin(centre + z / (2 * np.sqrt(1000))) ** 2)


def test_overdispersion_widens_the_limits():
    rng = np.random.default_rng(4)
    n = rng.integers(200, 3000, 60)
    x = rng.binomial(n, rng.beta(10, 90, 60))
    result = funnel.overdispersion(x, n)
    assert result.phi > 1 and result.tau2 > 0
    plain = funnel.proportion_limits(x.sum() / n.sum(), 1000, method="normal")
    for method in ["additive", "multiplicative"]:
        lower, upper = funnel.adjusted_limits(x.sum() / n.sum(), 1000, result, method=method)
        assert lower < plain[0] and upper > plain[1]


def test_ratio_overdispersion_uses_the_square_root_scale():
    observed, expected = np.array([10.0, 20, 30, 40]), np.array([10.0, 20, 30, 40])
    assert funnel.overdispersion(observed, expected, target=1, kind="ratio").phi == 0


def test_unknown_methods_are_rejected():
    with pytest.raises(InputError):
        funnel.proportion_limits(0.1, 100, method="wald")
    with pytest.raises(InputError):
        funnel.overdispersion([1, 2], [10, 10], kind="mean")
