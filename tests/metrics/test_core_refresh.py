"""Refresh: observations upserted without churn, signals never duplicated, lifecycle kept."""

import datetime as dt

from equilean.metrics import detect
from equilean.metrics import refresh as refresh_module
from equilean.metrics.models import Observation, Signal

# The engine_result fixture: 4 nodes (4 West and the department, hospital and system above it)
# each with 4 monthly series (overall, White, Black, Asian) of 12 months.
NODES, SERIES, MONTHS = 4, 4, 12
# Each series also gets a 3-month trailing window ending at each month detection looks at.
WINDOWS = detect.window_count(detect.Settings())


def run():
    return refresh_module.refresh(con=object(), end=dt.date(2026, 11, 1))


def test_it_writes_monthly_and_window_observations(engine_result):
    report = run()
    expected = NODES * SERIES * (MONTHS + WINDOWS)
    assert report.observations_written == Observation.objects.count() == expected
    assert set(Observation.objects.values_list("grain", flat=True)) == {"month", "3m"}
    window = Observation.objects.get(
        node__code="MUH-4W", grain="3m", dimension="race", group="White", period=dt.date(2026, 8, 1)
    )
    assert (window.numerator, window.denominator) == (144, 1200)


def test_rerunning_changes_nothing(engine_result):
    run()
    before = list(Observation.objects.order_by("pk").values())
    signals = list(Signal.objects.order_by("pk").values())
    report = run()
    assert report.observations_written == report.observations_deleted == 0
    assert (report.signals_new, report.signals_updated) == (0, 0)
    assert list(Observation.objects.order_by("pk").values()) == before
    assert list(Signal.objects.order_by("pk").values()) == signals


def test_a_cell_that_disappears_is_deleted(engine_result):
    run()
    frame = engine_result["frame"]
    engine_result["frame"] = frame[frame["group"] != "Asian"]
    report = run()
    # Asian's monthly and window cells at each node.
    assert report.observations_deleted == NODES * (MONTHS + WINDOWS)
    assert not Observation.objects.filter(group="Asian").exists()


def test_small_cells_are_flagged_with_their_complements(engine_result):
    run()
    asian = Observation.objects.get(
        node__code="MUH-4W", grain="month", group="Asian", period=dt.date(2026, 10, 1)
    )
    assert asian.numerator == 2 and asian.numerator_hidden
    # Hiding 2 alone would let 102 - 48 - 52 reveal it: one more cell of the table is hidden.
    table = Observation.objects.filter(
        node__code="MUH-4W", grain="month", period=dt.date(2026, 10, 1)
    )
    # The complement is the smallest visible count: White's 48 (Black has 52).
    hidden = table.filter(numerator_hidden=True)
    assert sorted(hidden.values_list("group", flat=True)) == ["Asian", "White"]
    assert not table.get(dimension="overall").numerator_hidden


def test_a_gap_raises_one_signal_per_key_however_often_refresh_runs(engine_result):
    run()
    run()
    gaps = Signal.objects.filter(kind="equity_gap", node__code="MUH-4W")
    assert gaps.count() == 1
    gap = gaps.get()
    assert gap.group == "Black or African American"
    assert gap.evidence["reference"] == "White"
    assert gap.status == Signal.Status.NEW


def test_a_resolved_gap_that_comes_back_is_reopened(engine_result, unit_leader):
    run()
    gap = Signal.objects.get(kind="equity_gap", node__code="MUH-4W")
    gap.acknowledge(unit_leader)
    gap.resolve(unit_leader, "huddle countermeasure in place")
    Signal.objects.filter(pk=gap.pk).update(resolved_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC))
    report = run()
    gap.refresh_from_db()
    assert report.signals_reopened == 1
    assert gap.status == Signal.Status.NEW
    # Created, acknowledged, resolved, reopened (the test's queryset update leaves no record).
    assert gap.history.count() == 4


def test_a_gap_no_longer_detected_is_kept_but_marked(engine_result):
    run()
    frame = engine_result["frame"]
    black = frame["group"] == "Black or African American"
    engine_result["frame"] = frame.assign(numerator=frame["numerator"].where(~black, 24.0))
    report = run()
    gap = Signal.objects.get(kind="equity_gap", node__code="MUH-4W")
    # The Black gap was an equity gap and, held in every window, a persistent one, at each node.
    assert report.signals_cleared == 2 * NODES
    assert gap.still_detected is False
