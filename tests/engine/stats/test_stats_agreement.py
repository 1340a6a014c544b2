"""Agreement statistics reproduce Krippendorff's, Fleiss' and Cohen's published examples."""

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

# Fleiss (1971) as reproduced in the literature: 10 subjects, 14 raters, 5 categories
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


def test_krippendorff_nominal_alpha_matches_the_published_value():
    assert agreement.krippendorff_alpha(RELIABILITY, "nominal") == pytest.approx(0.743, abs=5e-4)


@pytest.mark.parametrize(
    ("level", "published"), [("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_krippendorff_other_levels_match_the_published_values(level, published):
    assert agreement.krippendorff_alpha(RELIABILITY, level) == pytest.approx(published, abs=5e-4)


def test_krippendorff_accepts_nan_for_missing():
    data = np.array([[np.nan if v is None else v for v in row] for row in RELIABILITY])
    assert agreement.krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)


def test_cohen_kappa_matches_the_published_2x2_example():
    assert agreement.cohen_kappa_table([[20, 20], [10, 50]]) == pytest.approx(0.348, abs=5e-4)


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


def test_fleiss_kappa_matches_the_published_example():
    assert agreement.fleiss_kappa(FLEISS) == pytest.approx(0.210, abs=5e-4)


def test_percent_agreement_skips_missing_ratings():
    assert agreement.percent_agreement([1, 2, 3, None], [1, 2, 4, 4]) == pytest.approx(2 / 3)


def test_bad_inputs_are_rejected():
    with pytest.raises(InputError):
        agreement.cohen_kappa_table([[1, 2, 3]])
    with pytest.raises(InputError):
        agreement.fleiss_kappa([[1, 2], [3, 3]])
    with pytest.raises(InputError):
        agreement.krippendorff_alpha(RELIABILITY, "fuzzy")
