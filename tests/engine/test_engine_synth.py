"""The synthetic health system: determinism, consistency with the org file, known effects."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from equilean.engine import dimensions, organisation, sources, store, synth
from equilean.engine.stats import intervals

END = date(2025, 12, 31)
# The contract's built-in measure and dimension ids (schema.md), typed out independently.
MEASURES = {
    "readmission_30d", "ed_lwbs", "ed_los_median", "ed_door_to_provider", "interpreter_use",
    "falls_rate", "hapi_rate", "sepsis_bundle", "pain_reassessment", "restraint_use",
    "discharge_ama", "no_show", "hypertension_control", "crc_screening", "experience_top_box",
    "race_ethnicity_completeness", "language_completeness",
}  # fmt: skip
DIMENSIONS = {"race_ethnicity", "race", "ethnicity", "language", "interpreter_needed",
              "payer_group", "sex", "age_band", "adi_quintile", "disability"}  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    manifest = synth.generate(out, seed=11, end=END, progress=lambda done, total: None)
    tables = {t: pq.read_table(out / f"{t}.parquet").to_pandas() for t in synth.TABLES}
    return out, manifest, tables


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    a = synth.generate(tmp_path / "a", seed=3, encounters=4000, end=END, fmt="csv",
                       progress=lambda d, t: None)  # fmt: skip
    synth.generate(tmp_path / "b", seed=3, encounters=4000, end=END, fmt="csv",
                   progress=lambda d, t: None)  # fmt: skip
    synth.generate(tmp_path / "c", seed=4, encounters=4000, end=END, fmt="csv",
                   progress=lambda d, t: None)  # fmt: skip
    for name in a["files"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    enc = "encounters.csv"
    assert (tmp_path / "a" / enc).read_bytes() != (tmp_path / "c" / enc).read_bytes()


def test_it_uses_every_unit_of_the_demo_organisation(demo):
    _, _, tables = demo
    org = organisation.load()
    units = {u.code for u in org.units()}
    assert set(tables["encounters"]["unit"]) == units
    kinds = {u.code: u.kind for u in org.units()}
    enc = tables["encounters"]
    ed_class = set(enc.loc[enc["unit"].map(kinds) == "emergency", "encounter_class"])
    assert ed_class == {"emergency"}
    clinic_class = set(enc.loc[enc["unit"].map(kinds) == "ambulatory", "encounter_class"])
    assert clinic_class == {"ambulatory", "virtual"}
    hospital = {u.code: org.ancestor(u.code, "hospital") for u in org.units()}
    assert (enc["unit"].map(hospital) == enc["hospital"]).all()


def test_the_demo_size_is_about_what_was_asked(demo):
    _, manifest, tables = demo
    assert 130_000 < manifest["rows"]["encounters"] < 170_000
    assert len(tables["encounters"]) == manifest["rows"]["encounters"]


def test_the_demographics_are_messy_like_real_data(demo):
    _, _, tables = demo
    pat = tables["patients"]
    labels = dimensions.combine_race_ethnicity(pat["race_codes"], pat["ethnicity_codes"])
    share = labels.value_counts(normalize=True)
    assert 0.05 <= share["Unknown"] <= 0.08
    assert {"Asked but declined", "Multiracial", "Middle Eastern or North African"} <= set(
        share.index
    )
    assert {"es", "zh", "vi", "ar"} <= set(pat["language"].dropna())
    assert pat["interpreter_needed"].fillna(False).mean() > 0.05
    assert set(pat["adi_decile"].dropna()) == set(range(1, 11))


def test_the_manifest_names_real_measures_dimensions_and_org_codes(demo):
    _, manifest, _ = demo
    codes = set(organisation.load().nodes)
    improvements = [e for e in manifest["effects"] if e["kind"] == "improvement"]
    assert len(improvements) == 1
    for effect in manifest["effects"]:
        assert effect["measure"] in MEASURES
        assert effect["code"] in codes
        assert effect["dimension"] is None or effect["dimension"] in DIMENSIONS
        assert manifest["start"] <= effect["start"] < effect["end"] == manifest["end"]


def _outcomes(effect, tables):
    """The effect's outcome values in its group and in its reference group, at its node."""
    pat = tables["patients"].assign(
        race_ethnicity=lambda p: dimensions.combine_race_ethnicity(
            p["race_codes"], p["ethnicity_codes"]
        ),
        payer_group=lambda p: dimensions.map_payer_group(p["payer"]),
        # The manifest names languages as the language dimension shows them.
        language=lambda p: p["language"].map(dimensions.language_names()),
    )[["patient_id", "race_ethnicity", "language", "payer_group"]]
    column, table = {
        "readmission_30d": ("readmitted_30d", "encounters"),
        "ed_lwbs": ("left_without_being_seen", "encounters"),
        "ed_door_to_provider": ("door_to_provider_minutes", "encounters"),
        "interpreter_use": ("interpreter_used", "encounters"),
        "no_show": ("no_show", "appointments"),
        "hypertension_control": ("bp_controlled", "encounters"),
    }[effect["measure"]]
    rows = tables[table].merge(pat, on="patient_id")
    rows = rows[rows[effect["level"]] == effect["code"]]
    rows = rows[rows[column].notna()]
    by_group = rows.groupby(effect["dimension"])[column]
    group, reference = (by_group.get_group(effect[k]) for k in ("group", "reference_group"))
    return group.astype(float).to_numpy(), reference.astype(float).to_numpy()


def _ratio_interval(effect, group, reference, confidence):
    """The observed group / reference ratio with its confidence interval."""
    if effect["measure"] == "ed_door_to_provider":
        # Ratio of mean minutes: each mean's standard error from its Student-t interval, then
        # the delta method on the log of the ratio.
        means, errors = [], []
        for values in (group, reference):
            centre, _, upper = intervals.mean(values, confidence)
            t = stats.t.ppf(0.5 + confidence / 2, len(values) - 1)
            means.append(centre)
            errors.append((upper - centre) / t)
        ratio = means[0] / means[1]
        half = intervals.z_value(confidence) * np.hypot(errors[0] / means[0], errors[1] / means[1])
        return ratio, ratio * np.exp(-half), ratio * np.exp(half)
    # Yes/no outcomes: a risk ratio with the Katz log interval.
    return intervals.ratio(group.sum(), len(group), reference.sum(), len(reference), confidence)


def test_the_built_in_disparities_show_in_the_data(demo):
    _, manifest, tables = demo
    disparities = [e for e in manifest["effects"] if e["kind"] == "disparity"]
    assert len(disparities) == 6
    for effect in disparities:
        group, reference = _outcomes(effect, tables)
        # 99% intervals: the planted ratio must lie inside and "no disparity" (1) outside.
        ratio, lower, upper = _ratio_interval(effect, group, reference, 0.99)
        assert lower <= effect["true_ratio"] <= upper, (effect["measure"], ratio, lower, upper)
        assert not lower <= 1 <= upper, (effect["measure"], ratio, lower, upper)


def test_the_improvement_shows_after_the_intervention_date(demo):
    _, manifest, tables = demo
    [effect] = [e for e in manifest["effects"] if e["kind"] == "improvement"]
    assert effect["measure"] == "pain_reassessment"
    rows = tables["encounters"]
    rows = rows[(rows["unit"] == effect["code"]) & rows["pain_reassessment_due"].fillna(False)]
    after = (pd.to_datetime(rows["start_time"]) >= pd.Timestamp(effect["start"])).to_numpy()
    rate = rows.groupby(after)["pain_reassessed"].mean()
    assert rate[True] / rate[False] == pytest.approx(effect["true_ratio"], rel=0.1)


def test_the_parquet_output_ingests_without_rejections(demo):
    out, manifest, _ = demo
    con = store.connect("duckdb://")
    report = sources.ingest(out, kind=manifest["ingest_kind"], con=con, source="synth")
    assert report.rejections == []
    assert report.rows_loaded == manifest["rows"]
    assert not report.unmapped_orgs


def test_the_fhir_output_ingests_with_org_codes_and_strata(tmp_path):
    manifest = synth.generate(tmp_path, seed=5, encounters=3000, end=END, fmt="fhir",
                              progress=lambda d, t: None)  # fmt: skip
    tables, report = sources.read_extract(tmp_path, kind="fhir")
    assert len(tables["patients"]) == manifest["rows"]["patients"]
    assert len(tables["encounters"]) == manifest["rows"]["encounters"]
    assert not report.unmapped_orgs and report.rejections == []
    units = {u.code for u in organisation.load().units()}
    assert set(tables["encounters"]["unit"]) <= units
    assert (
        tables["patients"]["payer_group"].isin(["Medicare", "Medicaid", "Commercial"]).mean() > 0.7
    )


def test_a_failed_run_leaves_no_files(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(synth, "_census", boom)
    with pytest.raises(RuntimeError):
        synth.generate(tmp_path, seed=1, encounters=500, end=END, progress=lambda d, t: None)
    assert list(tmp_path.iterdir()) == []
