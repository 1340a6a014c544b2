"""Agreement statistics match Krippendorff's, Fleiss' and Cohen's formulas, worked by hand."""

import numpy as np
import pytest

from equilean.engine.errors import InputError
from equilean.engine.stats import agreement

N = None
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C
RELIABILITY = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]

# 10 subjects, 14 raters, 5 categories (kappa 0.210, checked by hand below)
FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def _ordinal(c, k, values, n_c):
    low, high = sorted((values.index(c), values.index(k)))
    return (n_c[low : high + 1].sum() - (n_c[low] + n_c[high]) / 2) ** 2


DISTANCE = {
    "nominal": lambda c, k, values, n_c: float(c != k),
    "ordinal": _ordinal,
    "interval": lambda c, k, values, n_c: (c - k) ** 2,
    "ratio": lambda c, k, values, n_c: ((c - k) / (c + k)) ** 2,
}


def _alpha_by_hand(data, level):
    """Krippendorff (2011): alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck, where o is the
    coincidence matrix (each pair of values in a unit counts 1 / (m_u - 1))."""
    values = sorted({v for row in data for v in row if v is not None})
    o = np.zeros((len(values), len(values)))
    for unit in zip(*data, strict=True):
        present = [values.index(v) for v in unit if v is not None]
        for i, c in enumerate(present):
            for j, k in enumerate(present):
                if i != j:
                    o[c, k] += 1 / (len(present) - 1)
    n_c = o.sum(axis=1)
    d = np.array([[DISTANCE[level](c, k, values, n_c) for k in values] for c in values])
    return 1 - (n_c.sum() - 1) * (o * d).sum() / (np.outer(n_c, n_c) * d).sum()


def test_krippendorff_nominal_alpha_matches_the_published_value():
    # Krippendorff (2011), section C, gives 0.743 for these data.
    alpha = agreement.krippendorff_alpha(RELIABILITY, "nominal")
    assert alpha == pytest.approx(_alpha_by_hand(RELIABILITY, "nominal"), abs=1e-12)
    assert alpha == pytest.approx(0.743, abs=5e-4)


@pytest.mark.parametrize(
    ("level", "rounded"), [("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_krippendorff_other_levels_match_the_coincidence_matrix_formula(level, rounded):
    alpha = agreement.krippendorff_alpha(RELIABILITY, level)
    assert alpha == pytest.approx(_alpha_by_hand(RELIABILITY, level), abs=1e-12)
    assert alpha == pytest.approx(rounded, abs=5e-4)


def test_krippendorff_accepts_nan_for_missing():
    data = np.array([[np.nan if v is None else v for v in row] for row in RELIABILITY])
    assert agreement.krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)


def test_cohen_kappa_of_a_2x2_table_is_observed_against_chance_agreement():
    # Observed agreement (20 + 50) / 100; chance 0.4 x 0.3 + 0.6 x 0.7 from the margins.
    observed, chance = 0.70, 0.4 * 0.3 + 0.6 * 0.7
    kappa = agreement.cohen_kappa_table([[20, 20], [10, 50]])
    assert kappa == pytest.approx((observed - chance) / (1 - chance), abs=1e-12)
    assert kappa == pytest.approx(0.348, abs=5e-4)


def test_cohen_kappa_from_labels_builds_the_same_table():
    a = ["yes"] * 40 + ["no"] * 60
    b = ["yes"] * 20 + ["no"] * 20 + ["yes"] * 10 + ["no"] * 50
    assert agreement.cohen_kappa(a, b) == pytest.approx(0.16 / 0.46)


def test_weighted_kappa_with_two_categories_equals_plain_kappa():
    table = [[20, 20], [10, 50]]
    plain = agreement.cohen_kappa_table(table)
    assert agreement.cohen_kappa_table(table, "linear") == pytest.approx(plain)
    assert agreement.cohen_kappa_table(table, "quadratic") == pytest.approx(plain)


def test_weighted_kappa_gives_partial_credit_for_near_misses():
    near = [[10, 5, 0], [5, 10, 5], [0, 5, 10]]
    assert agreement.cohen_kappa_table(near, "quadratic") > agreement.cohen_kappa_table(near)


def test_fleiss_kappa_matches_fleiss_formula():
    # Fleiss (1971): mean per-subject agreement P against chance P_e from category shares.
    counts = np.array(FLEISS, float)
    raters = counts.sum(axis=1)[0]
    per_subject = ((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))
    shares = counts.sum(axis=0) / counts.sum()
    p, p_e = per_subject.mean(), (shares**2).sum()
    kappa = agreement.fleiss_kappa(FLEISS)
    assert kappa == pytest.approx((p - p_e) / (1 - p_e), abs=1e-12)
    assert kappa == pytest.approx(0.210, abs=5e-4)


def test_percent_agreement_skips_missing_ratings():
    assert agreement.percent_agreement([1, 2, 3, None], [1, 2, 4, 4]) == pytest.approx(2 / 3)


def test_bad_inputs_are_rejected():
    with pytest.raises(InputError):
        agreement.cohen_kappa_table([[1, 2, 3]])
    with pytest.raises(InputError):
        agreement.fleiss_kappa([[1, 2], [3, 3]])
    with pytest.raises(InputError):
        agreement.krippendorff_alpha(RELIABILITY, "fuzzy")
