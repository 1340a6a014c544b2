"""Funnel-plot control limits for comparing units of different sizes, with over-dispersion.

Everything broadcasts over numpy arrays of unit sizes, so one call draws every funnel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from equilean.engine.errors import InputError

__all__ = [
    "Dispersion",
    "adjusted_limits",
    "overdispersion",
    "proportion_limits",
    "ratio_limits",
]

WINSOR = 0.10


def _interpolated_quantile(distribution, p: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Spiegelhalter's interpolated quantile of a discrete count, divided by ``size``.

    With r the p-quantile (smallest r with F(r) >= p) and
    ``a = (F(r) - p) / (F(r) - F(r - 1))``, the limit is ``(r - a) / size``.
    """
    r = distribution.ppf(p)
    at_r = distribution.cdf(r)
    below = distribution.cdf(r - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(at_r > below, (at_r - p) / (at_r - below), 0.0)
        return np.maximum(r - a, 0.0) / size


def proportion_limits(target, n, confidence: float = 0.95, method: str = "exact"):
    """Funnel limits for a proportion around ``target`` at sample sizes ``n``.

    Method: Spiegelhalter (2005), "Funnel plots for comparing institutional performance",
    Stat Med 24:1185-1202, appendix A.1.1. ``exact`` takes binomial quantiles r_p of
    Binomial(n, target) with interpolation, ``(r_p - a) / n`` where
    ``a = (F(r_p) - p) / (F(r_p) - F(r_p - 1))``; ``normal`` is
    ``target -+ z sqrt(target (1 - target) / n)`` (PHEindicatormethods), clipped to [0, 1].

    Parameters
    ----------
    target : float or array_like
        The benchmark proportion (0-1).
    n : array_like
        Denominators at which to draw the limits.
    confidence : float
        Two-sided coverage, e.g. 0.95 or 0.998.
    method : {"exact", "normal"}

    Returns
    -------
    (lower, upper)
    """
    target, n = np.broadcast_arrays(np.asarray(target, float), np.asarray(n, float))
    alpha = (1 - confidence) / 2
    if method == "normal":
        z = stats.norm.ppf(1 - alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            half = z * np.sqrt(target * (1 - target) / n)
        lower, upper = np.clip(target - half, 0, 1), np.clip(target + half, 0, 1)
    elif method == "exact":
        distribution = stats.binom(n, target)
        lower = _interpolated_quantile(distribution, np.full(n.shape, alpha), n)
        upper = np.minimum(_interpolated_quantile(distribution, np.full(n.shape, 1 - alpha), n), 1)
    else:
        raise InputError(f"method must be 'exact' or 'normal', not {method!r}", field="method")
    return _out(lower), _out(upper)


def ratio_limits(expected, confidence: float = 0.95):
    """Exact Poisson funnel limits for a standardised ratio (observed / expected), target 1.

    Method: Spiegelhalter (2005), Stat Med 24:1185-1202, appendix A.1.2: the interpolated
    quantiles of Poisson(expected), ``(r_p - a) / expected`` with
    ``a = (F(r_p) - p) / (F(r_p) - F(r_p - 1))``.

    Returns
    -------
    (lower, upper)
    """
    expected = np.asarray(expected, float)
    alpha = (1 - confidence) / 2
    distribution = stats.poisson(expected)
    lower = _interpolated_quantile(distribution, np.full(expected.shape, alpha), expected)
    upper = _interpolated_quantile(distribution, np.full(expected.shape, 1 - alpha), expected)
    return _out(lower), _out(upper)


@dataclass(frozen=True)
class Dispersion:
    """Over-dispersion estimates from the winsorised z-scores of k units.

    ``phi`` is the multiplicative factor and ``tau2`` the additive (random-effects) variance
    on the transformed scale: arcsine square root for proportions, square root for ratios.
    """

    z: np.ndarray
    phi: float
    tau2: float
    k: int
    kind: str


def _transform(kind: str, x, n, target):
    """Variance-stabilised value, target and standard error (Spiegelhalter 2005, table 1)."""
    x, n = np.asarray(x, float), np.asarray(n, float)
    if kind == "proportion":
        value = np.arcsin(np.sqrt(x / n))
        centre = np.arcsin(np.sqrt(target))
    elif kind == "ratio":
        value = np.sqrt(x / n)
        centre = np.sqrt(target)
    else:
        raise InputError(f"kind must be 'proportion' or 'ratio', not {kind!r}", field="kind")
    return value, centre, 1 / (2 * np.sqrt(n))


def _back(kind: str, t):
    if kind == "proportion":
        return np.sin(np.clip(t, 0, np.pi / 2)) ** 2
    return np.maximum(t, 0) ** 2


def overdispersion(x, n, target=None, kind: str = "proportion") -> Dispersion:
    """Estimate over-dispersion among units for funnel plots.

    Method: Spiegelhalter (2005), "Handling over-dispersion of performance indicators",
    Qual Saf Health Care 14:347-351. On the variance-stabilised scale (``asin(sqrt(p))`` with
    s = 1/(2 sqrt(n)) for proportions; ``sqrt(O/E)`` with s = 1/(2 sqrt(E)) for standardised
    ratios) each unit has ``z_i = (y_i - y_0) / s_i``; z is winsorised at its 10th and 90th
    percentiles. Then ``phi = sum(z^2) / k`` and the DerSimonian-Laird estimate
    ``tau2 = max(0, (k phi - (k - 1)) / (sum(w) - sum(w^2) / sum(w)))`` with ``w = 1/s^2``.

    Parameters
    ----------
    x, n : array_like
        Numerators and denominators (proportions), or observed and expected (ratios).
    target : float, optional
        Benchmark; the pooled ``sum(x) / sum(n)`` by default (1 is usual for ratios).
    kind : {"proportion", "ratio"}

    Returns
    -------
    Dispersion
    """
    x, n = np.asarray(x, float), np.asarray(n, float)
    if target is None:
        target = x.sum() / n.sum()
    value, centre, s = _transform(kind, x, n, target)
    z = (value - centre) / s
    low, high = np.percentile(z, [100 * WINSOR, 100 * (1 - WINSOR)])
    z = np.clip(z, low, high)
    k = z.size
    phi = float(np.sum(z**2) / k)
    w = 1 / s**2
    tau2 = max(0.0, float((k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum())))
    return Dispersion(z=z, phi=phi, tau2=tau2, k=k, kind=kind)


def adjusted_limits(
    target, n, dispersion: Dispersion, confidence: float = 0.95, method: str = "additive"
):
    """Funnel limits widened for over-dispersion, on the transformed scale and back-transformed.

    Method: Spiegelhalter (2005), Qual Saf Health Care 14:347-351. With y_0 the transformed
    target and s = 1/(2 sqrt(n)): ``multiplicative`` gives ``y_0 -+ z sqrt(phi) s`` (phi
    floored at 1, so limits never narrow) and ``additive`` gives ``y_0 -+ z sqrt(s^2 + tau2)``.
    The limits are mapped back with ``sin(.)^2`` (proportions) or ``(.)^2`` (ratios).

    Returns
    -------
    (lower, upper)
    """
    n = np.asarray(n, float)
    _, centre, s = _transform(dispersion.kind, np.zeros_like(n), n, target)
    z = stats.norm.ppf(0.5 + confidence / 2)
    if method == "multiplicative":
        half = z * np.sqrt(max(dispersion.phi, 1.0)) * s
    elif method == "additive":
        half = z * np.sqrt(s**2 + dispersion.tau2)
    else:
        raise InputError(
            f"method must be 'multiplicative' or 'additive', not {method!r}", field="method"
        )
    return _out(_back(dispersion.kind, centre - half)), _out(_back(dispersion.kind, centre + half))


def _out(value):
    return float(value) if np.ndim(value) == 0 else value
