"""Confidence intervals for proportions, counts, rates, means and two-group contrasts.

Every function broadcasts over numpy arrays, so one call covers thousands of groups.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "difference",
    "mean",
    "poisson_count",
    "rate",
    "rate_ratio",
    "ratio",
    "wilson",
    "z_value",
]


def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard normal quantile for a confidence level, e.g. 1.959964 for 0.95."""
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _float(*arrays):
    """Broadcast the inputs to float arrays."""
    return np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))


def _out(value):
    """Return a Python float for a 0-d result and the array otherwise."""
    return float(value) if np.ndim(value) == 0 else value


def wilson(x, n, confidence: float = 0.95):
    """Wilson score interval for a proportion x / n.

    Method: Wilson (1927), "Probable inference, the law of succession, and statistical
    inference", JASA 22:209-212; as in PHEindicatormethods ``phe_proportion``.

    ``(2x + z^2 -+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))``

    Parameters
    ----------
    x, n : array_like
        Events and trials; they broadcast together. ``n == 0`` gives NaN.
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    (lower, upper)
    """
    x, n = _float(x, n)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = 2 * x + z**2
        half = z * np.sqrt(np.maximum(z**2 + 4 * x * (1 - x / n), 0.0))
        denom = 2 * (n + z**2)
        lower = np.where(x <= 0, 0.0, (centre - half) / denom)
        upper = np.where(x >= n, 1.0, (centre + half) / denom)
    bad = ~(n > 0)
    lower = np.where(bad, np.nan, lower)
    upper = np.where(bad, np.nan, upper)
    return _out(lower), _out(upper)


def poisson_count(x, confidence: float = 0.95):
    """Confidence interval for a Poisson count.

    Method: Byar's approximation for x >= 10 and the exact chi-square (Garwood) method below,
    following PHE Fingertips technical guidance and PHEindicatormethods ``byars_lower``.

    - Byar: ``x (1 - 1/(9x) - z/(3 sqrt(x)))^3`` and
      ``(x + 1) (1 - 1/(9(x + 1)) + z/(3 sqrt(x + 1)))^3``.
    - Exact: ``chi2(alpha/2, 2x)/2`` and ``chi2(1 - alpha/2, 2x + 2)/2``.

    Parameters
    ----------
    x : array_like
        Observed counts (non-negative).
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    (lower, upper)
    """
    (x,) = _float(x)
    z = z_value(confidence)
    alpha = 1 - confidence
    with np.errstate(divide="ignore", invalid="ignore"):
        byar_lower = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
        byar_upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
        exact_lower = np.where(x > 0, stats.chi2.ppf(alpha / 2, 2 * x) / 2, 0.0)
        exact_upper = stats.chi2.ppf(1 - alpha / 2, 2 * x + 2) / 2
    big = x >= 10
    lower = np.where(big, byar_lower, exact_lower)
    upper = np.where(big, byar_upper, exact_upper)
    bad = ~(x >= 0)
    return _out(np.where(bad, np.nan, lower)), _out(np.where(bad, np.nan, upper))


def rate(x, exposure, per: float = 1, confidence: float = 0.95):
    """Event rate per ``per`` units of exposure, with a Poisson interval on the count.

    Method: the count interval of :func:`poisson_count` (Byar for x >= 10, exact chi-square
    below), divided by the exposure: ``per * x / exposure``.

    Returns
    -------
    (value, lower, upper)
    """
    x, exposure = _float(x, exposure)
    lower, upper = poisson_count(x, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(exposure > 0, per / exposure, np.nan)
    return _out(x * scale), _out(np.asarray(lower) * scale), _out(np.asarray(upper) * scale)


def mean(values, confidence: float = 0.95):
    """Mean with a Student's t interval, along the last axis, ignoring NaN.

    Method: ``mean -+ t(1 - alpha/2, n - 1) * s / sqrt(n)`` with the sample standard
    deviation s (ddof 1), as in PHEindicatormethods ``phe_mean``.

    Parameters
    ----------
    values : array_like
        One series per row; the last axis holds the observations. NaN is skipped.

    Returns
    -------
    (mean, lower, upper)
    """
    values = np.asarray(values, dtype=float)
    present = ~np.isnan(values)
    n = present.sum(axis=-1)
    filled = np.where(present, values, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = filled.sum(axis=-1) / n
        squares = np.where(present, (values - centre[..., None]) ** 2, 0.0).sum(axis=-1)
        sd = np.sqrt(squares / (n - 1))
        t = stats.t.ppf(0.5 + confidence / 2, np.where(n > 1, n - 1, np.nan))
        half = t * sd / np.sqrt(n)
    return _out(centre), _out(centre - half), _out(centre + half)


def difference(x1, n1, x2, n2, confidence: float = 0.95):
    """Difference of two independent proportions p1 - p2 with the Newcombe hybrid score interval.

    Method: Newcombe (1998), "Interval estimation for the difference between independent
    proportions", Stat Med 17:873-890, method 10, built from the two Wilson intervals
    (l1, u1) and (l2, u2):

    ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` and ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``.

    Returns
    -------
    (d, lower, upper)
    """
    x1, n1, x2, n2 = _float(x1, n1, x2, n2)
    l1, u1 = wilson(x1, n1, confidence)
    l2, u2 = wilson(x2, n2, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = x1 / n1
        p2 = x2 / n2
    d = p1 - p2
    lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return _out(d), _out(lower), _out(upper)


def ratio(x1, n1, x2, n2, confidence: float = 0.95):
    """Ratio of two independent proportions (risk ratio) with the Katz log interval.

    Method: Katz, Baptista, Azen & Pike (1978), Biometrics 34:469-474:
    ``exp(log(r) -+ z sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2))``. A zero count makes the
    interval undefined (NaN), as in the original method.

    Returns
    -------
    (r, lower, upper)
    """
    x1, n1, x2, n2 = _float(x1, n1, x2, n2)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (x1 / n1) / (x2 / n2)
        se = np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
        defined = (x1 > 0) & (x2 > 0)
        lower = np.where(defined, r * np.exp(-z * se), np.nan)
        upper = np.where(defined, r * np.exp(z * se), np.nan)
    return _out(r), _out(lower), _out(upper)


def rate_ratio(x1, t1, x2, t2, confidence: float = 0.95):
    """Ratio of two Poisson rates (x1/t1) / (x2/t2) with the exact conditional interval.

    Method: conditional on x1 + x2, x1 is binomial with p = t1 R / (t1 R + t2); the
    Clopper-Pearson limits (pl, pu) for p give ``R = p/(1 - p) * t2/t1``. This is the interval
    of R's ``poisson.test`` for two samples (Armitage, Berry & Matthews, Statistical Methods in
    Medical Research, 4th ed., 2002, section 5.3).

    Returns
    -------
    (rr, lower, upper)
    """
    x1, t1, x2, t2 = _float(x1, t1, x2, t2)
    alpha = 1 - confidence
    total = x1 + x2
    with np.errstate(divide="ignore", invalid="ignore"):
        p_low = np.where(x1 > 0, stats.beta.ppf(alpha / 2, x1, x2 + 1), 0.0)
        p_high = np.where(x2 > 0, stats.beta.ppf(1 - alpha / 2, x1 + 1, x2), 1.0)
        scale = t2 / t1
        rr = (x1 / t1) / (x2 / t2)
        lower = p_low / (1 - p_low) * scale
        upper = np.where(p_high < 1, p_high / (1 - p_high) * scale, np.inf)
    bad = ~(total > 0)
    return (
        _out(rr),
        _out(np.where(bad, np.nan, lower)),
        _out(np.where(bad, np.nan, upper)),
    )
