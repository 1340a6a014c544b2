"""The demo study: made with the demo people, and its agreement matches an independent count."""

import pytest
from django.urls import reverse

from equilean.org.services import create_demo_people
from equilean.studies.models import Coding, Comparison, Completion, Segment, Study
from equilean.studies.services import open_comparison


@pytest.fixture
def demo(tree):
    create_demo_people("demo-password")
    return Study.objects.get()


def test_the_demo_has_a_small_study_with_two_coders_and_themes(demo):
    assert demo.transcripts.count() == 8
    assert demo.transcripts.filter(training=True).count() == 2
    coders = set(Completion.objects.values_list("coder__username", flat=True))
    assert coders == {"analyst", "deptleader"}
    assert demo.themes.count() == 3
    assert demo.comparison == Comparison.TRAINING
    create_demo_people("demo-password")
    assert Study.objects.count() == 1


def test_demo_agreement_matches_a_count_made_here(client, demo):
    """Cohen's kappa and alpha for the pooled paragraph decisions, counted straight from the
    codings with the textbook formulas (two coders, no missing values)."""
    lead = demo.members.get(role="lead").user
    open_comparison(demo, lead, Comparison.OPEN)
    units = Segment.objects.filter(transcript__study=demo, kind="paragraph").exclude(
        speaker="Interviewer"
    )
    codes = sorted(set(demo.codebook().codes.values_list("name", flat=True)))
    decisions = {"analyst": [], "deptleader": []}
    for unit in units:
        for code in codes:
            for coder, row in decisions.items():
                row.append(
                    Coding.objects.filter(
                        transcript=unit.transcript_id,
                        coder__username=coder,
                        code__name=code,
                        start__lt=unit.end,
                        end__gt=unit.start,
                    ).exists()
                )
    a, b = decisions["analyst"], decisions["deptleader"]
    n = len(a)
    pairs = list(zip(a, b, strict=True))
    both, neither = sum(x and y for x, y in pairs), sum(not x and not y for x, y in pairs)
    p_o = (both + neither) / n
    p_e = (sum(a) / n) * (sum(b) / n) + (1 - sum(a) / n) * (1 - sum(b) / n)
    kappa = (p_o - p_e) / (1 - p_e)
    # Krippendorff's nominal alpha, two coders, binary: 1 - (2n - 1) * 2d / (2 n_0 n_1).
    ones = sum(a) + sum(b)
    alpha = 1 - (2 * n - 1) * 2 * (n - both - neither) / (2 * ones * (2 * n - ones))

    client.force_login(lead)
    figures = client.get(reverse("study-agreement", args=[demo.pk])).json()
    overall = next(f for f in figures if f["code"] == "")
    assert overall["units"] == n == 32 * len(codes)
    assert overall["percent"] == pytest.approx(p_o)
    assert overall["kappa"] == pytest.approx(kappa)
    assert overall["alpha"] == pytest.approx(alpha)
    assert 0.6 < kappa < 1  # the demo's coders mostly agree, not perfectly
