"""Equity comparisons: each group against a reference group, summary disparity indices, SII/RII.

All arithmetic is vectorised over rows; ``by=[...]`` runs thousands of comparisons (node x
measure x dimension) in one call, with reference selection and Benjamini-Hochberg done per
``by`` group through pandas group-wise operations rather than a Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from equilean.engine.errors import InputError
from equilean.engine.stats import intervals

__all__ = [
    "UNKNOWN_GROUPS",
    "BHResult",
    "SlopeIndex",
    "benjamini_hochberg",
    "compare",
    "slope_index",
    "summary",
]

# Group labels that record missing or declined answers (matched case-insensitively): they are
# reported as groups of their own but never used as a reference or in the summary indices.
UNKNOWN_GROUPS = frozenset(
    {"unknown", "declined", "asked but declined", "asked but unknown", "asku", "unk", "refused"}
)

# AHRQ National Healthcare Quality and Disparities Report: a meaningful difference is at
# least 10% in relative terms.
AHRQ_RELATIVE = 0.10

REFERENCES = ("largest", "best", "rest")


@dataclass(frozen=True)
class BHResult:
    """Benjamini-Hochberg adjusted p-values (q-values) and which hypotheses are rejected."""

    q_values: np.ndarray
    rejected: np.ndarray


@dataclass(frozen=True)
class SlopeIndex:
    """Slope and relative index of inequality, with the fitted value at the bottom rank."""

    sii: np.ndarray | float
    rii: np.ndarray | float
    intercept: np.ndarray | float


def _bh_long(p: np.ndarray, family: np.ndarray) -> np.ndarray:
    """BH q-values within each family (an integer id per p-value); NaN stays NaN."""
    frame = pd.DataFrame({"p": p, "family": family, "row": np.arange(len(p))})
    frame = frame[~np.isnan(frame["p"])].sort_values(["family", "p"], kind="stable")
    grouped = frame.groupby("family", sort=False)["p"]
    rank = grouped.cumcount().to_numpy() + 1
    m = grouped.transform("size").to_numpy()
    frame["adjusted"] = np.minimum(frame["p"].to_numpy() * m / rank, 1.0)
    # step-up: q_(i) = min over j >= i of p_(j) m / j
    reversed_frame = frame.iloc[::-1]
    q = reversed_frame.groupby("family", sort=False)["adjusted"].cummin()
    out = np.full(len(p), np.nan)
    out[reversed_frame["row"].to_numpy()] = q.to_numpy()
    return out


def benjamini_hochberg(p, q: float = 0.05, family=None) -> BHResult:
    """Benjamini-Hochberg false discovery rate control along the last axis.

    Method: Benjamini & Hochberg (1995), JRSS B 57:289-300, step-up procedure. With the m
    p-values sorted, ``q_(i) = min_(j >= i) min(1, p_(j) m / j)``; hypothesis i is rejected
    when ``q_i <= q``. NaN p-values are left out of m and get NaN. Same q-values as R's
    ``p.adjust(method = "BH")``.

    Parameters
    ----------
    p : array_like
        P-values; a 2-d array is treated as one family per row.
    q : float
        False discovery rate.
    family : array_like, optional
        For a 1-d ``p``, a label per p-value; each distinct label is its own family (e.g. all
        the comparisons at one node), so ragged families are adjusted in one call.

    Returns
    -------
    BHResult
    """
    p = np.asarray(p, dtype=float)
    if family is not None:
        codes = pd.factorize(np.asarray(family))[0]
        if p.ndim != 1 or len(codes) != len(p):
            raise InputError(
                "family needs one label per p-value",
                field="family",
                hint="pass a 1-d array of p-values and labels of the same length",
            )
        values = _bh_long(p, codes)
        with np.errstate(invalid="ignore"):
            return BHResult(q_values=values, rejected=values <= q)
    matrix = np.atleast_2d(p) if p.ndim else p.reshape(1, 1)
    family = np.repeat(np.arange(matrix.shape[0]), matrix.shape[1])
    values = _bh_long(matrix.ravel(), family).reshape(matrix.shape).reshape(p.shape)
    with np.errstate(invalid="ignore"):
        rejected = values <= q
    return BHResult(q_values=values, rejected=rejected)


def _is_unknown(group: pd.Series, unknown: Sequence[str]) -> np.ndarray:
    labels = {label.lower() for label in unknown}
    return group.astype(str).str.strip().str.lower().isin(labels).to_numpy()


def _validate(groups: pd.DataFrame, by: Sequence[str], kind: str, better: str) -> None:
    missing = [c for c in ["group", "numerator", "denominator", *by] if c not in groups.columns]
    if missing:
        raise InputError(
            f"groups is missing the column(s) {', '.join(missing)}",
            field=missing[0],
            hint="pass a frame with the columns group, numerator and denominator",
        )
    if better not in ("lower", "higher"):
        raise InputError(f"better must be 'lower' or 'higher', not {better!r}", field="better")
    if kind not in ("proportion", "rate", "mean"):
        raise InputError(f"kind must be 'proportion', 'rate' or 'mean', not {kind!r}", field="kind")
    if kind == "mean" and "sum_sq" not in groups.columns:
        raise InputError(
            "a comparison of means needs a sum_sq column (sum of squared values)",
            field="sum_sq",
            hint="pass numerator = sum of values, denominator = count, and sum_sq",
        )
    numerator = groups["numerator"].to_numpy(float)
    denominator = groups["denominator"].to_numpy(float)
    if (kind != "mean" and (numerator < 0).any()) or (denominator < 0).any():
        raise InputError("numerators and denominators must not be negative", field="numerator")
    if kind == "proportion" and (numerator > denominator).any():
        raise InputError(
            "a numerator is larger than its denominator",
            field="numerator",
            hint="use kind='rate' for events per exposure (e.g. falls per patient day)",
        )
    if groups.duplicated([*by, "group"]).any():
        raise InputError("each group must appear once per comparison", field="group")


def _check_reference(reference: str, unknown: Sequence[str]) -> None:
    if reference not in REFERENCES and _is_unknown(pd.Series([reference]), unknown)[0]:
        raise InputError(
            f"{reference!r} records a missing answer and cannot be the reference",
            field="reference",
        )


def _family(groups: pd.DataFrame, by: Sequence[str]) -> np.ndarray:
    """Integer id of each row's comparison family (its ``by`` group)."""
    if not by:
        return np.zeros(len(groups), dtype=int)
    return groups.groupby(list(by), sort=False, dropna=False).ngroup().to_numpy()


def _reference(
    groups: pd.DataFrame,
    family: np.ndarray,
    reference: str,
    better: str,
    eligible: np.ndarray,
    known: np.ndarray,
):
    """Reference numerator, denominator and name for every row, plus the is_reference mask."""
    n = len(groups)
    numerator = groups["numerator"].to_numpy(float)
    denominator = groups["denominator"].to_numpy(float)
    if reference == "rest":
        known_num = np.bincount(family, weights=np.where(known, numerator, 0.0))
        known_den = np.bincount(family, weights=np.where(known, denominator, 0.0))
        ref_num = known_num[family] - np.where(known, numerator, 0.0)
        ref_den = known_den[family] - np.where(known, denominator, 0.0)
        return ref_num, ref_den, np.full(n, "rest", dtype=object), np.zeros(n, dtype=bool)

    if reference == "largest":
        score = np.where(eligible, denominator, -np.inf)
    elif reference == "best":
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = numerator / denominator
        score = np.where(eligible, -rate if better == "lower" else rate, -np.inf)
    else:
        if not (groups["group"].astype(str) == str(reference)).any():
            raise InputError(
                f"reference group {reference!r} is not among the groups",
                field="reference",
                hint=f"use one of: {', '.join(REFERENCES)} or an existing group name",
            )
        score = np.where(eligible & (groups["group"].astype(str) == str(reference)), 1.0, -np.inf)
    # the best-scoring eligible row of each family; ties go to the first row
    order = np.lexsort((np.arange(n), -score, family))
    first = np.ones(n, dtype=bool)
    first[1:] = family[order][1:] != family[order][:-1]
    chosen = order[first]
    chosen = chosen[np.isfinite(score[chosen])]
    n_families = int(family.max()) + 1 if n else 0
    row_of_family = np.full(n_families, -1)
    row_of_family[family[chosen]] = chosen
    ref_row = row_of_family[family]
    has = ref_row >= 0
    safe = np.where(has, ref_row, 0)
    ref_num = np.where(has, numerator[safe], np.nan)
    ref_den = np.where(has, denominator[safe], np.nan)
    names = np.where(has, groups["group"].to_numpy(object)[safe], None)
    is_reference = has & (ref_row == np.arange(n))
    return ref_num, ref_den, names, is_reference


def _reference_values(frame, family, ref_name, values, known, reference):
    """Another column's value at each row's reference (pooled over the rest for "rest")."""
    if reference == "rest":
        pooled = np.bincount(family, weights=np.where(known, values, 0.0))
        return pooled[family] - np.where(known, values, 0.0)
    lookup = pd.Series(values, index=pd.MultiIndex.from_arrays([family, frame["group"]]))
    lookup = lookup[~lookup.index.duplicated()]
    keys = pd.MultiIndex.from_arrays([family, pd.Series(ref_name, dtype=object)])
    return lookup.reindex(keys).to_numpy(float)


def _contrast(kind: str, x1, n1, x2, n2, per: float, confidence: float):
    """Difference, ratio and two-sided p-value of group (1) against reference (2)."""
    if kind == "proportion":
        d, d_low, d_high = intervals.difference(x1, n1, x2, n2, confidence)
        r, r_low, r_high = intervals.ratio(x1, n1, x2, n2, confidence)
        with np.errstate(divide="ignore", invalid="ignore"):
            pooled = (x1 + x2) / (n1 + n2)
            se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
            z = (x1 / n1 - x2 / n2) / se
        scale = 1.0
    else:
        z_crit = intervals.z_value(confidence)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = x1 / n1 - x2 / n2
            se_d = np.sqrt(x1 / n1**2 + x2 / n2**2)
            d_low, d_high = d - z_crit * se_d, d + z_crit * se_d
            pooled = (x1 + x2) / (n1 + n2)
            se = np.sqrt(pooled * (1 / n1 + 1 / n2))
            z = d / se
        r, r_low, r_high = intervals.rate_ratio(x1, n1, x2, n2, confidence)
        scale = per
    # identical rates with no variation (both 0% or both 100%) carry no evidence of a gap
    p = np.where(se > 0, 2 * stats.norm.sf(np.abs(z)), np.where(np.isfinite(pooled), 1.0, np.nan))
    arrays = (d, d_low, d_high)
    d, d_low, d_high = (np.asarray(a, dtype=float) * scale for a in arrays)
    return d, d_low, d_high, np.asarray(r), np.asarray(r_low), np.asarray(r_high), p


def _mean_statistics(total, count, sum_sq, confidence: float):
    """Mean, its Student-t interval and the variance of the mean from sufficient statistics."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / count
        variance = np.maximum(sum_sq - total**2 / count, 0.0) / (count - 1)
        se2 = variance / count
        t = stats.t.ppf(0.5 + confidence / 2, count - 1)
        half = t * np.sqrt(se2)
    return mean, mean - half, mean + half, se2


def _contrast_means(m1, se2_1, n1, m2, se2_2, n2, confidence: float):
    """Welch's t-test for the difference of means and a delta-method interval for their ratio.

    Method: Welch (1947), Biometrika 34:28-35; degrees of freedom by Welch-Satterthwaite,
    ``df = (s1 + s2)^2 / (s1^2 / (n1 - 1) + s2^2 / (n2 - 1))`` with ``s = var / n``. The ratio's
    interval is ``exp(log r +/- z sqrt(s1 / m1^2 + s2 / m2^2))`` (delta method on the log).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        d = m1 - m2
        se_d = np.sqrt(se2_1 + se2_2)
        df = (se2_1 + se2_2) ** 2 / (se2_1**2 / (n1 - 1) + se2_2**2 / (n2 - 1))
        t_crit = stats.t.ppf(0.5 + confidence / 2, df)
        p = np.where(se_d > 0, 2 * stats.t.sf(np.abs(d / se_d), df), np.where(d == 0, 1.0, 0.0))
        r = m1 / m2
        z = intervals.z_value(confidence)
        se_log = np.sqrt(se2_1 / m1**2 + se2_2 / m2**2)
        r_low, r_high = r * np.exp(-z * se_log), r * np.exp(z * se_log)
    return d, d - t_crit * se_d, d + t_crit * se_d, r, r_low, r_high, p


def compare(
    groups: pd.DataFrame,
    reference: str = "largest",
    better: str = "lower",
    confidence: float = 0.95,
    min_denominator: float = 30,
    kind: str = "proportion",
    per: float = 1,
    by: Sequence[str] = (),
    unknown: Sequence[str] = tuple(UNKNOWN_GROUPS),
) -> pd.DataFrame:
    """Compare each group's rate with a reference group.

    Methods: proportions use the Wilson interval for each rate, the Newcombe hybrid score
    interval for the difference, the Katz log interval for the ratio and the pooled two-sample
    z-test ``z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))``. Rates (``kind="rate"``; the
    denominator is exposure) use Byar / exact Poisson intervals, a Wald interval for the
    difference, the exact conditional interval for the rate ratio and the score test
    ``z = (r1 - r2) / sqrt(r (1/t1 + 1/t2))`` with the pooled rate r.

    ``significant`` follows the AHRQ National Healthcare Quality and Disparities Report rule:
    a relative difference of at least 10% in the adverse direction and ``p < 1 - confidence``.
    ``q_value`` is the Benjamini-Hochberg adjusted p-value within each ``by`` group and
    ``significant_bh`` applies the AHRQ rule to it instead of p. ``excess_events`` is
    ``numerator - reference_rate * denominator`` when lower is better and its negative when
    higher is better: the events the group would not have had (or would have gained) at the
    reference rate; negative when the group does better than the reference.

    Parameters
    ----------
    groups : DataFrame
        Columns ``group``, ``numerator``, ``denominator`` and the ``by`` columns.
    reference : str
        ``"largest"`` (largest denominator), ``"best"`` (best rate), ``"rest"`` (each group
        against all other known groups pooled) or a group name. Groups named in ``unknown``
        and groups under ``min_denominator`` are never the reference.
    better : {"lower", "higher"}
        Direction in which the measure improves.
    min_denominator : float
        Groups smaller than this are reported with their rate but not compared.
    kind : {"proportion", "rate", "mean"}
        Proportion (numerator out of denominator), rate per ``per`` units of exposure, or mean
        (numerator = sum of values, denominator = count, plus a ``sum_sq`` column): Student-t
        interval per group, Welch's t-test and interval for the difference, delta-method
        interval for the ratio of means; excess_events is then the excess in the value's unit
        (e.g. minutes) summed over the group.
    by : sequence of str
        Columns identifying independent comparisons (e.g. unit, measure, dimension).

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``group``, ``numerator``, ``denominator``, ``rate``,
        ``lower``, ``upper``, ``is_reference``, ``reference`` (the reference group's name),
        ``difference``, ``difference_lower``, ``difference_upper``, ``ratio``,
        ``ratio_lower``, ``ratio_upper``, ``relative_difference``, ``p_value``, ``q_value``,
        ``significant``, ``significant_bh`` and ``excess_events``. Rates and differences are
        per ``per``; comparison columns are NaN for the reference row and uncompared groups.
    """
    by = list(by)
    _validate(groups, by, kind, better)
    frame = groups.reset_index(drop=True)
    numerator = frame["numerator"].to_numpy(float)
    denominator = frame["denominator"].to_numpy(float)
    known = ~_is_unknown(frame["group"], unknown)
    family = _family(frame, by)
    eligible = known & (denominator >= min_denominator) & (denominator > 0)
    _check_reference(reference, unknown)
    ref_num, ref_den, ref_name, is_reference = _reference(
        frame, family, reference, better, eligible, known
    )

    if kind == "mean":
        sum_sq = frame["sum_sq"].to_numpy(float)
        rate, lower, upper, se2 = _mean_statistics(numerator, denominator, sum_sq, confidence)
        ref_sum_sq = _reference_values(frame, family, ref_name, sum_sq, known, reference)
        _, _, _, ref_se2 = _mean_statistics(ref_num, ref_den, ref_sum_sq, confidence)
        scale = 1.0
    elif kind == "proportion":
        rate = np.divide(
            numerator, denominator, out=np.full(len(frame), np.nan), where=denominator > 0
        )
        lower, upper = intervals.wilson(numerator, denominator, confidence)
        scale = 1.0
    else:
        rate, lower, upper = intervals.rate(numerator, denominator, per, confidence)
        scale = per
    rate, lower, upper = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (rate, lower, upper))
    if kind == "proportion":
        rate, lower, upper = rate * scale, lower * scale, upper * scale

    compared = ~is_reference & (denominator >= min_denominator) & (denominator > 0) & (ref_den > 0)
    if kind == "mean":
        d, d_low, d_high, r, r_low, r_high, p = _contrast_means(
            rate, se2, denominator, ref_num / ref_den, ref_se2, ref_den, confidence
        )
    else:
        d, d_low, d_high, r, r_low, r_high, p = _contrast(
            kind, numerator, denominator, ref_num, ref_den, per, confidence
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_rate = ref_num / ref_den
        relative = (numerator / denominator) / ref_rate - 1
    columns = {
        "difference": d,
        "difference_lower": d_low,
        "difference_upper": d_high,
        "ratio": r,
        "ratio_lower": r_low,
        "ratio_upper": r_high,
        "relative_difference": relative,
        "p_value": p,
    }
    columns = {k: np.where(compared, np.atleast_1d(v), np.nan) for k, v in columns.items()}
    q = _bh_long(columns["p_value"], family)
    alpha = 1 - confidence
    sign = 1 if better == "lower" else -1
    with np.errstate(invalid="ignore"):
        adverse = sign * columns["relative_difference"] >= AHRQ_RELATIVE
        excess = sign * (numerator - ref_rate * denominator)
    result = frame[[*by, "group", "numerator", "denominator"]].copy()
    result["rate"] = rate
    result["lower"] = lower
    result["upper"] = upper
    result["is_reference"] = is_reference
    result["reference"] = ref_name
    for name, values in columns.items():
        result[name] = values
    result["q_value"] = q
    with np.errstate(invalid="ignore"):
        result["significant"] = adverse & (columns["p_value"] < alpha)
        result["significant_bh"] = adverse & (q < alpha)
    result["excess_events"] = np.where(is_reference, 0.0, excess)
    return result


def _summary_columns(
    frame: pd.DataFrame,
    family: np.ndarray,
    reference: str,
    better: str,
    min_denominator: float,
    per: float,
    unknown: Sequence[str],
) -> pd.DataFrame:
    numerator = frame["numerator"].to_numpy(float)
    denominator = frame["denominator"].to_numpy(float)
    known = ~_is_unknown(frame["group"], unknown)
    included = known & (denominator >= min_denominator) & (denominator > 0)
    ref_num, ref_den, names, is_reference = _reference(
        frame, family, reference, better, included, known
    )
    firsts = np.unique(family, return_index=True)[1]
    n_families = int(family.max()) + 1 if len(family) else 0

    def total(values, mask=included):
        return np.bincount(family, weights=np.where(mask, values, 0.0), minlength=n_families)

    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(included, numerator / denominator, np.nan)
        mu = total(numerator) / total(denominator)
        share = np.where(included, denominator / total(denominator)[family], 0.0)
        ref_rate = (ref_num / ref_den)[firsts]
        gap_mu = np.abs(rate - mu[family]) / mu[family]
        gap_ref = np.abs(rate - ref_rate[family]) / ref_rate[family]
        others = included & ~is_reference
        index_ref = 100 * total(gap_ref, others) / total(np.ones_like(rate), others)
        index_mean = 100 * total(gap_mu) / total(np.ones_like(rate))
        index_weighted = 100 * total(share * gap_mu)
        variance = total(share * (rate - mu[family]) ** 2)
        relative = rate / mu[family]
        theil_terms = np.where(relative > 0, relative * np.log(relative), 0.0)
        theil = total(share * theil_terms)
        mld = total(share * -np.log(relative))
        sign = 1 if better == "lower" else -1
        par = sign * (mu - ref_rate)
        paf = par / mu
        excess = sign * (total(numerator) - ref_rate * total(denominator))
    return pd.DataFrame(
        {
            "reference": names[firsts],
            "reference_rate": ref_rate * per,
            "overall_rate": mu * per,
            "index_of_disparity": index_ref,
            "index_of_disparity_mean": index_mean,
            "index_of_disparity_weighted": index_weighted,
            "between_group_variance": variance * per**2,
            "theil": theil,
            "mean_log_deviation": mld,
            "par": par * per,
            "paf": paf,
            "excess_events": excess,
        }
    )


def summary(
    groups: pd.DataFrame,
    reference: str = "largest",
    better: str = "lower",
    min_denominator: float = 30,
    kind: str = "proportion",
    per: float = 1,
    by: Sequence[str] = (),
    unknown: Sequence[str] = tuple(UNKNOWN_GROUPS),
):
    """Summary measures of disparity across the groups.

    The indices use the known groups with at least ``min_denominator``; mu is their pooled
    rate, p_j each group's share of their denominator and r_ref the reference group's rate.

    - ``index_of_disparity``: Pearcy & Keppel (2002), Public Health Reports 117:273-280, the
      Healthy People convention, ``100 mean_j |r_j - r_ref| / r_ref`` over non-reference
      groups.
    - ``index_of_disparity_mean`` and ``index_of_disparity_weighted``: WHO Health Equity
      Assessment Toolkit (HEAT) technical notes, ``100 mean_j |r_j - mu| / mu`` and
      ``100 sum_j p_j |r_j - mu| / mu``.
    - ``between_group_variance``: HEAT, ``sum_j p_j (r_j - mu)^2``.
    - ``theil``: ``sum_j p_j (r_j/mu) ln(r_j/mu)``; ``mean_log_deviation``:
      ``sum_j p_j ln(mu/r_j)`` (HEAT, unscaled: HEAT shows them x 1000).
    - ``par``: population attributable risk, ``mu - r_ref`` when lower is better and
      ``r_ref - mu`` when higher is better; ``paf = par / mu`` (a fraction, not a percentage);
      ``excess_events = par * sum_j n_j``, the events avoided had everyone the reference rate.

    Parameters
    ----------
    groups : DataFrame
        Columns ``group``, ``numerator``, ``denominator`` (and the ``by`` columns).
    reference : str
        ``"largest"``, ``"best"`` or a group name (``"rest"`` has no single reference rate).

    Returns
    -------
    Series or DataFrame
        A Series without ``by``; with ``by``, a DataFrame with one row per ``by`` group.
        Rates, PAR and the between-group variance are on the ``per`` scale.
    """
    by = list(by)
    _validate(groups, by, kind, better)
    if reference == "rest":
        raise InputError(
            "summary needs a single reference group",
            field="reference",
            hint="use 'largest', 'best' or a group name",
        )
    frame = groups.reset_index(drop=True)
    family = _family(frame, by)
    _check_reference(reference, unknown)
    result = _summary_columns(frame, family, reference, better, min_denominator, per, unknown)
    if not by:
        return result.iloc[0]
    firsts = np.unique(family, return_index=True)[1]
    keys = frame[by].iloc[firsts].reset_index(drop=True)
    return pd.concat([keys, result], axis=1)


def slope_index(values, populations) -> SlopeIndex:
    """Slope index (SII) and relative index (RII) of inequality for ordered groups.

    Method: Low & Low (2004), "Measuring the gap", J Public Health 26:388-395, following
    the PHE convention of PHEindicatormethods ``phe_sii``. The groups, in their given order
    (e.g. most to least deprived quintile), get the mid-point of their range in the cumulative
    population share, ``x_j = sum_(k<j) a_k + a_j / 2`` with ``a_j`` the population share;
    ``y = b0 + b1 x`` is fitted by least squares weighted by ``a_j`` (equivalently, regressing
    ``y sqrt(a)`` on ``sqrt(a)`` and ``x sqrt(a)``). ``SII = b1`` (the fitted gap between
    x = 1 and x = 0) and ``RII = (b0 + SII) / b0``.

    Parameters
    ----------
    values, populations : array_like
        The groups lie along the last axis; leading axes are independent series.

    Returns
    -------
    SlopeIndex
    """
    values = np.asarray(values, dtype=float)
    populations = np.broadcast_to(np.asarray(populations, dtype=float), values.shape)
    if (populations <= 0).any():
        raise InputError("every ordered group needs a positive population", field="populations")
    share = populations / populations.sum(axis=-1, keepdims=True)
    x = np.cumsum(share, axis=-1) - share / 2
    x_bar = (share * x).sum(axis=-1, keepdims=True)
    y_bar = (share * values).sum(axis=-1, keepdims=True)
    slope = (share * (x - x_bar) * (values - y_bar)).sum(axis=-1) / (share * (x - x_bar) ** 2).sum(
        axis=-1
    )
    intercept = y_bar[..., 0] - slope * x_bar[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        rii = (intercept + slope) / intercept

    def out(a):
        return float(a) if np.ndim(a) == 0 else a

    return SlopeIndex(sii=out(slope), rii=out(rii), intercept=out(intercept))
