"""Inter-rater agreement for parallel coding: percent agreement, Cohen's, Fleiss' kappa, alpha."""

from __future__ import annotations

import numpy as np
import pandas as pd

from equilean.engine.errors import InputError

__all__ = [
    "cohen_kappa",
    "cohen_kappa_table",
    "fleiss_kappa",
    "krippendorff_alpha",
    "percent_agreement",
]


def _missing(values: np.ndarray) -> np.ndarray:
    """True where a rating is absent (None or NaN)."""
    return pd.isna(pd.Series(values.ravel(), dtype=object)).to_numpy().reshape(values.shape)


def _paired(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    if a.shape != b.shape:
        raise InputError("the two raters must rate the same units", field="b")
    keep = ~(_missing(a) | _missing(b))
    return a[keep], b[keep]


def percent_agreement(a, b) -> float:
    """Share of units on which two raters agree, over units both rated.

    Method: simple (observed) agreement, ``sum(a_i == b_i) / n``.
    """
    a, b = _paired(a, b)
    if a.size == 0:
        return float("nan")
    return float(np.mean(a == b))


def cohen_kappa_table(table, weights: str | None = None) -> float:
    """Cohen's kappa from a k x k contingency table (rows rater A, columns rater B).

    Method: Cohen (1960), Educ Psychol Meas 20:37-46, ``(p_o - p_e) / (1 - p_e)``; weighted
    kappa (Cohen 1968, Psychol Bull 70:213-220) is ``1 - sum(w O) / sum(w E)`` with
    disagreement weights ``|i - j| / (k - 1)`` (linear) or ``((i - j) / (k - 1))^2``
    (quadratic); E holds the counts expected from the margins.

    Parameters
    ----------
    table : array_like
        Counts, categories in the same (ordinal) order on both axes.
    weights : {None, "linear", "quadratic"}
    """
    observed = np.asarray(table, dtype=float)
    if observed.ndim != 2 or observed.shape[0] != observed.shape[1]:
        raise InputError("the agreement table must be square", field="table")
    k = observed.shape[0]
    i, j = np.indices((k, k))
    if weights is None:
        w = (i != j).astype(float)
    elif weights == "linear":
        w = np.abs(i - j) / max(k - 1, 1)
    elif weights == "quadratic":
        w = ((i - j) / max(k - 1, 1)) ** 2
    else:
        raise InputError(
            f"weights must be None, 'linear' or 'quadratic', not {weights!r}", field="weights"
        )
    total = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total
    disagreement_expected = (w * expected).sum()
    if disagreement_expected == 0:
        return float("nan")
    return float(1 - (w * observed).sum() / disagreement_expected)


def cohen_kappa(a, b, weights: str | None = None) -> float:
    """Cohen's kappa for two raters' labels of the same units (see :func:`cohen_kappa_table`).

    Units either rater left blank (None or NaN) are dropped. Categories are ordered by
    sorting, which matters only for the weighted forms.
    """
    a, b = _paired(a, b)
    categories = sorted(set(a.tolist()) | set(b.tolist()))
    rows = pd.Categorical(a, categories=categories).codes
    cols = pd.Categorical(b, categories=categories).codes
    table = np.zeros((len(categories), len(categories)))
    np.add.at(table, (rows, cols), 1)
    return cohen_kappa_table(table, weights)


def fleiss_kappa(table) -> float:
    """Fleiss' kappa for many raters.

    Method: Fleiss (1971), "Measuring nominal scale agreement among many raters", Psychol
    Bull 76:378-382. ``table[i, j]`` counts raters putting subject i in category j (the same
    number of raters n per subject). ``P_i = (sum_j n_ij^2 - n) / (n (n - 1))``,
    ``p_j = sum_i n_ij / (N n)``, ``kappa = (mean(P_i) - sum p_j^2) / (1 - sum p_j^2)``.
    """
    counts = np.asarray(table, dtype=float)
    raters = counts.sum(axis=1)
    if counts.ndim != 2 or not np.allclose(raters, raters[0]) or raters[0] < 2:
        raise InputError(
            "every subject needs the same number (two or more) of raters", field="table"
        )
    n = raters[0]
    agreement = ((counts**2).sum(axis=1) - n) / (n * (n - 1))
    share = counts.sum(axis=0) / counts.sum()
    chance = (share**2).sum()
    return float((agreement.mean() - chance) / (1 - chance))


def krippendorff_alpha(data, level: str = "nominal") -> float:
    """Krippendorff's alpha for any number of coders, with missing codes.

    Method: Krippendorff (2011), "Computing Krippendorff's alpha-reliability", via the
    coincidence matrix ``o_ck = sum_u (n_uc n_uk - [c = k] n_uc) / (m_u - 1)`` over units with
    m_u >= 2 codes; ``alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck``. The squared
    difference d_ck is ``[c != k]`` (nominal), ``(c - k)^2`` (interval),
    ``((c - k) / (c + k))^2`` (ratio) or ``(sum_(g=c..k) n_g - (n_c + n_k) / 2)^2``
    (ordinal, on the sorted values).

    Parameters
    ----------
    data : array_like
        Coders x units; None or NaN marks a missing code.
    level : {"nominal", "ordinal", "interval", "ratio"}
    """
    values = np.asarray(data, dtype=object)
    if values.ndim != 2:
        raise InputError("data must be coders x units", field="data")
    present = ~_missing(values)
    codes = values[present].tolist()
    if level != "nominal":
        try:
            codes = [float(c) for c in codes]
        except (TypeError, ValueError) as error:
            raise InputError(f"{level} alpha needs numeric codes", field="data") from error
    categories = sorted(set(codes))
    unit = np.broadcast_to(np.arange(values.shape[1]), values.shape)[present]
    k = len(categories)
    per_unit = np.zeros((values.shape[1], k))
    np.add.at(per_unit, (unit, pd.Categorical(codes, categories=categories).codes), 1)
    m = per_unit.sum(axis=1)
    pairable = m >= 2
    per_unit, m = per_unit[pairable], m[pairable]
    if per_unit.size == 0:
        return float("nan")
    weight = 1 / (m - 1)
    coincidence = per_unit.T @ (per_unit * weight[:, None]) - np.diag(
        (per_unit * weight[:, None]).sum(axis=0)
    )
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    value = np.asarray(categories, dtype=float) if level != "nominal" else None
    if level == "nominal":
        delta = 1.0 - np.eye(k)
    elif level == "interval":
        delta = (value[:, None] - value[None, :]) ** 2
    elif level == "ratio":
        total = value[:, None] + value[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = np.where(total != 0, ((value[:, None] - value[None, :]) / total) ** 2, 0.0)
    elif level == "ordinal":
        cumulative = np.concatenate([[0.0], np.cumsum(n_c)])
        low = np.minimum.outer(np.arange(k), np.arange(k))
        high = np.maximum.outer(np.arange(k), np.arange(k))
        between = cumulative[high + 1] - cumulative[low]
        delta = (between - (n_c[:, None] + n_c[None, :]) / 2) ** 2
    else:
        raise InputError(
            f"level must be nominal, ordinal, interval or ratio, not {level!r}", field="level"
        )
    expected = (np.outer(n_c, n_c) * delta).sum()
    if expected == 0:
        return float("nan")
    return float(1 - (n - 1) * (coincidence * delta).sum() / expected)
