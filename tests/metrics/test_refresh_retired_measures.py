"""Refresh leaves nothing behind for a measure that is gone or has no data any more."""

import datetime as dt

from equilean.metrics import refresh as refresh_module
from equilean.metrics.models import Measure, Observation, Signal


def run():
    return refresh_module.refresh(con=object(), end=dt.date(2026, 11, 1))


def test_a_measure_gone_from_the_catalogue_loses_its_observations_and_signals(engine_result):
    run()
    gone = Measure.objects.create(
        code="retired_measure", name="Retired", pillar="safety", kind="proportion", better="lower"
    )
    observation = Observation.objects.first()
    Observation.objects.create(
        measure=gone,
        node=observation.node,
        grain="month",
        period=dt.date(2026, 9, 1),
        dimension="overall",
        group="All",
        numerator=3,
        denominator=30,
    )
    signal = Signal.objects.first()
    Signal.objects.create(
        kind=signal.kind,
        measure=gone,
        node=signal.node,
        dimension=signal.dimension,
        group=signal.group,
        direction=signal.direction,
        period_start=signal.period_start,
        period_end=signal.period_end,
        summary="a gap on a retired measure",
    )
    report = run()
    gone.refresh_from_db()
    assert report.measures_retired == 1
    assert not gone.active
    assert not Observation.objects.filter(measure=gone).exists()
    assert not Signal.objects.filter(measure=gone).exists()
    assert Observation.objects.filter(measure__code="readmission_30d").exists()
    assert Signal.objects.filter(measure__code="readmission_30d").exists()


def test_a_measure_with_no_rows_any_more_loses_its_observations(engine_result, aggregates):
    aggregates.add("falls_rate", "MUH-4W", "unit", [(3, 900)] * 12)
    engine_result["frame"] = aggregates.frame()
    run()
    assert Observation.objects.filter(measure__code="falls_rate").exists()
    frame = engine_result["frame"]
    engine_result["frame"] = frame[frame["measure"] != "falls_rate"]
    report = run()
    assert report.observations_deleted > 0
    assert not Observation.objects.filter(measure__code="falls_rate").exists()
    assert Observation.objects.filter(measure__code="readmission_30d").exists()
