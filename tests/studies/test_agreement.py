"""Agreement inputs: the yes/no decisions built from codings, checked on small hand-worked
examples. The statistics themselves are checked against published values in
tests/engine/stats/test_stats_agreement.py; here each expected figure is worked by hand from
the formula in the comments, so a wrong unit, count or missing value shows up as a wrong number.
"""

import pytest

from equilean.studies import agreement
from equilean.studies.models import Coding, Comparison, Completion
from equilean.studies.services import open_comparison
from tests.studies.conftest import code_units


def pooled(figures, coders=None):
    return next(f for f in figures if f.pooled and (coders is None or f.coders == coders))


def per_code(figures, code):
    return next(f for f in figures if f.code == code and len(f.coders) == 2)


@pytest.fixture
def coded(team, add_transcript):
    """Cora and Cole code the five answers; comparison is open on all transcripts."""
    transcript = add_transcript()
    cora, cole = team.coders
    escalation, equity = team.codes["Escalation"], team.codes["Equity data"]
    code_units(transcript, cora, escalation, [1, 2, 3])
    code_units(transcript, cole, escalation, [1, 2])
    code_units(transcript, cole, equity, [5])
    open_comparison(team.study, team.lead, Comparison.OPEN)
    return transcript


def test_segment_level_per_code_matches_the_hand_worked_values(team, coded):
    # Escalation over the 5 answers: Cora 1 1 1 0 0, Cole 1 1 0 0 0.
    # p_o = 4/5 = 0.8; p_e = 0.6 * 0.4 + 0.4 * 0.6 = 0.48; kappa = (0.8 - 0.48) / 0.52 = 0.6154.
    # alpha: 10 values, n_1 = n_0 = 5; one disagreeing unit gives o_01 = o_10 = 1;
    # alpha = 1 - (n - 1) * (o_01 + o_10) / (2 n_0 n_1) = 1 - 9 * 2 / 50 = 0.64.
    figures = agreement.figures(agreement.ratings(team.study, team.lead, "segment"))
    f = per_code(figures, "Escalation")
    assert f.coders == ("Cora", "Cole") or f.coders == ("Cole", "Cora")
    assert (f.units, sorted(f.applied), f.all_applied) == (5, [2, 3], 2)
    assert f.percent == pytest.approx(0.8)
    assert f.kappa == pytest.approx(0.32 / 0.52)
    assert f.alpha == pytest.approx(0.64)


def test_a_code_one_coder_never_used_has_kappa_and_alpha_zero(team, coded):
    # Equity data: Cora 0 0 0 0 0, Cole 0 0 0 0 1. p_o = 0.8; p_e = 0 * 0.2 + 1 * 0.8 = 0.8,
    # so kappa = 0; alpha = 1 - 9 * 2 / (2 * 9 * 1) = 0.
    f = per_code(
        agreement.figures(agreement.ratings(team.study, team.lead, "segment")), "Equity data"
    )
    assert f.percent == pytest.approx(0.8)
    assert f.kappa == pytest.approx(0.0)
    assert f.alpha == pytest.approx(0.0)


def test_overall_pools_every_code_decision(team, coded):
    # 10 unit x code decisions: Cora 1110000000, Cole 1100000001. p_o = 8/10;
    # p_e = 0.3 * 0.3 + 0.7 * 0.7 = 0.58; kappa = 0.22 / 0.42 = 0.5238.
    # alpha: n = 20, n_1 = 6, n_0 = 14, two disagreeing units: 1 - 19 * 4 / (2 * 14 * 6) = 0.5476.
    f = pooled(agreement.figures(agreement.ratings(team.study, team.lead, "segment")))
    assert (f.units, f.all_applied) == (10, 2)
    assert f.percent == pytest.approx(0.8)
    assert f.kappa == pytest.approx(0.22 / 0.42)
    assert f.alpha == pytest.approx(1 - 76 / 168)


def test_character_level_counts_every_character_of_the_transcript(team, add_transcript):
    # 20 characters, one paragraph. Cora codes [0, 12), Cole [4, 16): both 8, Cora only 4,
    # Cole only 4, neither 4. p_o = 12/20 = 0.6; p_e = 0.6 * 0.6 + 0.4 * 0.4 = 0.52;
    # kappa = 0.08 / 0.48 = 0.1667. alpha: n = 40, n_1 = 24, n_0 = 16, 8 disagreeing units:
    # 1 - 39 * 16 / (2 * 24 * 16) = 0.1875.
    transcript = add_transcript("aaaaabbbbbcccccddddd", title="Characters")
    cora, cole = team.coders
    code = team.codes["Escalation"]
    for coder, start, end in ((cora, 0, 12), (cole, 4, 16)):
        Coding.objects.create(transcript=transcript, coder=coder, code=code, start=start, end=end)
        Completion.objects.create(transcript=transcript, coder=coder)
    open_comparison(team.study, team.lead, Comparison.OPEN)
    f = per_code(
        agreement.figures(agreement.ratings(team.study, team.lead, "character")), "Escalation"
    )
    assert (f.units, sorted(f.applied), f.all_applied) == (20, [12, 12], 8)
    assert f.percent == pytest.approx(0.6)
    assert f.kappa == pytest.approx(0.08 / 0.48)
    assert f.alpha == pytest.approx(1 - 624 / 768)


def test_three_coders_give_alpha_across_all(team, coded):
    # Lena codes like Cora: units (1,1,1) (1,1,1) (1,0,1) (0,0,0) (0,0,0), m_u = 3, weight 1/2.
    # o_11 = 3 + 3 + 1 = 7, o_00 = 3 + 3 = 6, o_01 = o_10 = 1; n = 15, n_1 = 8, n_0 = 7.
    # alpha = 1 - 14 * 2 / (2 * 8 * 7) = 0.75.
    code_units(coded, team.lead, team.codes["Escalation"], [1, 2, 3])
    figures = agreement.figures(agreement.ratings(team.study, team.lead, "segment"))
    everyone = [f for f in figures if f.code == "Escalation" and len(f.coders) == 3]
    assert len(everyone) == 1
    assert everyone[0].alpha == pytest.approx(0.75)
    assert everyone[0].percent is None and everyone[0].kappa is None
    assert len([f for f in figures if f.code == "Escalation"]) == 4  # three pairs and all


def test_an_unfinished_transcript_counts_as_missing_not_as_no(team, coded, add_transcript):
    second = add_transcript(title="Interview P01, part 2")
    cora, cole = team.coders
    code_units(second, cora, team.codes["Escalation"], [1], finish=True)
    code_units(second, cole, team.codes["Escalation"], [], finish=False)
    f = per_code(
        agreement.figures(agreement.ratings(team.study, team.lead, "segment")), "Escalation"
    )
    # Only the first transcript's five answers are rated by both.
    assert f.units == 5
    assert f.kappa == pytest.approx(0.32 / 0.52)


def test_the_training_subset_is_computed_on_its_own(team, add_transcript):
    training = add_transcript(title="Training", training=True)
    main = add_transcript(title="Main")
    cora, cole = team.coders
    code = team.codes["Escalation"]
    code_units(training, cora, code, [1, 2])
    code_units(training, cole, code, [1, 2])
    code_units(main, cora, code, [1, 2, 3, 4])
    code_units(main, cole, code, [5])
    open_comparison(team.study, team.lead, Comparison.TRAINING)
    f = per_code(
        agreement.figures(agreement.ratings(team.study, team.lead, "segment", "training")),
        "Escalation",
    )
    assert (f.units, f.percent, f.kappa) == (5, 1.0, 1.0)
    # With comparison open on the training subset only, "all" sees just that subset too.
    assert (
        per_code(
            agreement.figures(agreement.ratings(team.study, team.lead, "segment", "all")),
            "Escalation",
        ).units
        == 5
    )


def test_no_figures_while_coding_is_blind(team, add_transcript):
    transcript = add_transcript()
    cora, cole = team.coders
    code_units(transcript, cora, team.codes["Escalation"], [1])
    code_units(transcript, cole, team.codes["Escalation"], [2])
    for person in (team.lead, cora):
        assert agreement.figures(agreement.ratings(team.study, person, "segment")) == []


def test_disagreements_list_each_coders_decision(team, coded):
    rows = agreement.disagreements(team.study, team.lead)
    found = sorted(
        (r.code, r.segment.number, r.decisions["Cora"], r.decisions["Cole"]) for r in rows
    )
    # Answer 3 (paragraph 4) on Escalation, answer 5 (paragraph 6) on Equity data.
    assert found == [("Equity data", 6, False, True), ("Escalation", 4, True, False)]
    escalation = next(r for r in rows if r.code == "Escalation")
    assert escalation.excerpts == {"Cora": ["Gamma follows."]}
