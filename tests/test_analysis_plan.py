"""The pre-registered plan at work: QC judgments in no estimate, raters below the QC
threshold left out, one primary test and Holm-adjusted secondary tests, and simulated
raters never pooled with people unless asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from statsmodels.stats.multitest import multipletests
from test_study_creation import make_items

from oversight_ext.analysis import AnalysisConfig, analyze, effect, study_frame
from oversight_ext.analysis.reporting import study_plan
from oversight_ext.store import Store
from oversight_ext.study import StudyConfig, StudyConfigError, create_study, simulate


def pilot(tmp_path: Path, analysis: dict) -> tuple[Store, pl.DataFrame]:
    store = Store(f"sqlite:///{tmp_path / 'o.db'}")
    store.add_items(make_items(24))
    config = {
        "name": "pilot",
        "seed": 1,
        "open_slots": 12,
        "overlap": 2,
        "qc_rate": 0.15,
        "items": {"source": "toy"},
        "analysis": analysis,
        "conditions": [
            {"name": "unassisted"},
            {"name": "lint", "kind": "assisted", "assistant": "lint"},
            {"name": "wrong", "kind": "assisted", "assistant": "lint", "planted_rate": 0.5},
        ],
    }
    create_study(store, StudyConfig.from_dict(config))
    simulate(store, "pilot", 12, 1)
    return store, study_frame(store, "pilot")


def test_qc_items_enter_no_estimate_and_the_primary_test_is_the_only_unadjusted_one(tmp_path: Path) -> None:
    pytest.importorskip("oversight_ext.assistants")
    store, frame = pilot(tmp_path, {"primary_treatment": "wrong", "primary_outcome": "correct", "adjust": "holm"})
    plan = study_plan(store.study("pilot"))
    assert plan.primary_treatment == "wrong" and plan.qc_min_accuracy is None
    qc = frame.filter(pl.col("is_qc"))
    assert qc.height > 0
    result = analyze(frame, AnalysisConfig(n_boot=200, mixed_model=False), plan=plan)
    # Every estimate counts only the non-QC judgments.
    assert result.tables["summary"]["n"].sum() == frame.height - qc.height
    assert result.tables["accuracy"]["n"].sum() == frame.height - qc.height
    plain = effect(frame.filter(~pl.col("is_qc")), control="unassisted", n_boot=200)
    ours = result.tables["effects"].filter(pl.col("outcome") == "correct")
    assert np.allclose(ours["difference"].to_numpy(), plain["difference"].to_numpy())
    # QC on its own: one row per rater who saw QC items, accuracy with an interval inside [0, 1].
    raters = result.tables["qc_raters"]
    assert raters["n_qc"].sum() == qc.height and raters["rater"].n_unique() == qc["rater"].n_unique()
    assert ((raters["ci_low"] <= raters["qc_accuracy"]) & (raters["qc_accuracy"] <= raters["ci_high"])).all()
    assert result.tables["qc_reliability"]["n"][0] == qc.height
    # One primary test; the rest Holm-adjusted as one family.
    tests = result.tables["tests"]
    primary = tests.filter(pl.col("role") == "primary")
    assert primary["test"].to_list() == ["correct: wrong - unassisted"] and primary["p_adjusted"][0] == primary["p_value"][0]
    sec = tests.filter((pl.col("role") == "secondary") & pl.col("p_value").is_not_null())
    assert sec.height >= 4
    ref = multipletests(sec["p_value"].to_numpy(), method="holm")[1]
    print(f"max abs diff of Holm-adjusted p-values vs statsmodels: {np.max(np.abs(sec['p_adjusted'].to_numpy() - ref)):.2e}")
    assert np.allclose(sec["p_adjusted"].to_numpy(), ref, atol=1e-15)
    store.close()


def test_raters_below_the_qc_threshold_are_left_out_when_asked(tmp_path: Path) -> None:
    pytest.importorskip("oversight_ext.assistants")
    store, frame = pilot(tmp_path, {"qc_min_accuracy": 0.99})
    plan = study_plan(store.study("pilot"))
    assert plan.primary_treatment == "lint"  # the first assisted condition by default
    result = analyze(frame, AnalysisConfig(n_boot=50, mixed_model=False), plan=plan)
    below = result.tables["qc_raters"].filter(~pl.col("passes"))["rater"].to_list()
    assert below, "a 0.99 threshold should catch some simulated rater"
    assert result.tables["summary"]["n_raters"].max() <= frame["rater"].n_unique() - len(below)
    assert any("below the pre-registered QC accuracy 0.99" in n for n in result.notes)
    kept = analyze(frame, AnalysisConfig(n_boot=50, mixed_model=False, qc_exclude=False), plan=plan)
    assert kept.tables["summary"]["n"].sum() > result.tables["summary"]["n"].sum()
    with pytest.raises(StudyConfigError, match=r"analysis\.qc_min_accuracy"):
        StudyConfig.from_dict({"name": "x", "seed": 1, "open_slots": 2, "conditions": [{"name": "u"}], "analysis": {"qc_min_accuracy": 2}})
    with pytest.raises(StudyConfigError, match=r"analysis\.primary_treatment"):
        StudyConfig.from_dict(
            {"name": "x", "seed": 1, "open_slots": 2, "conditions": [{"name": "u"}], "analysis": {"primary_treatment": "v"}}
        )
    store.close()


def test_simulated_judgments_are_never_pooled_with_peoples_unless_asked() -> None:
    rng = np.random.default_rng(0)
    n = 400
    frame = pl.DataFrame(
        {
            "rater": [f"r{k % 20}" for k in range(n)],
            "item_id": [f"i{k % 40}" for k in range(n)],
            "condition": ["u", "h"] * (n // 2),
            "rater_kind": ["human" if k % 20 < 10 else "simulated" for k in range(n)],
            "label": "buggy",
            "verdict": np.where(rng.random(n) < 0.7, "buggy", "correct"),
            "position": np.arange(n) // 20,
        }
    )
    auto = analyze(frame, AnalysisConfig(n_boot=20, mixed_model=False))
    assert auto.tables["raters"]["rater_kind"].to_list() == ["human"] and auto.tables["summary"]["n"].sum() == n // 2
    assert any("left out 200 judgments by simulated raters" in note for note in auto.notes)
    pooled = analyze(frame, AnalysisConfig(n_boot=20, mixed_model=False, raters="all"))
    assert pooled.tables["summary"]["n"].sum() == n and any("pooled, as asked" in note for note in pooled.notes)
    sims = analyze(frame.filter(pl.col("rater_kind") == "simulated"), AnalysisConfig(n_boot=20, mixed_model=False))
    assert sims.tables["raters"]["rater_kind"].to_list() == ["simulated"]


def test_qc_judgments_are_out_of_every_estimate_whoever_calls_it(tmp_path: Path) -> None:
    """The study frame keeps QC rows; the estimating functions and the dashboard drop them."""
    pytest.importorskip("oversight_ext.assistants")
    from oversight_ext.analysis import calibration, condition_means, mcnemar, summary
    from oversight_ext.analysis.agreement import agreement
    from oversight_ext.workshop.dashboard import dashboard_data, most_missed

    store, frame = pilot(tmp_path, {})
    qc = frame.filter(pl.col("is_qc"))
    plain = frame.filter(~pl.col("is_qc"))
    assert qc.height > 0 and plain.height > 0
    assert_frame_equal(summary(frame), summary(plain))
    assert_frame_equal(calibration(frame), calibration(plain))
    assert_frame_equal(agreement(frame), agreement(plain))
    assert_frame_equal(condition_means(frame, n_boot=100), condition_means(plain, n_boot=100))
    assert_frame_equal(effect(frame, control="unassisted", n_boot=100), effect(plain, control="unassisted", n_boot=100))
    assert_frame_equal(mcnemar(frame, treatment="lint", control="unassisted"), mcnemar(plain, treatment="lint", control="unassisted"))
    # The dashboard: accuracy counts only non-QC judgments, and no QC item is among the most missed.
    acc = pl.DataFrame(dashboard_data(store, "pilot")["tables"]["accuracy"])
    assert acc["n"].sum() == plain.filter(pl.col("correct").is_not_null()).height
    assert not set(most_missed(frame, k=100)["item_id"]) & set(qc["item_id"])


def test_qc_reliability_gives_no_alpha_on_a_single_qc_item() -> None:
    """Alpha on one item is 0 whatever the raters do: all agreeing or split, it is no figure."""
    from oversight_ext.analysis.qc import qc_reliability

    def qc(verdicts: list[str], items: list[str]) -> pl.DataFrame:
        n = len(verdicts)
        return pl.DataFrame(
            {"rater": [f"r{k}" for k in range(n)], "item_id": items, "verdict": verdicts, "label": ["buggy"] * n, "is_qc": [True] * n}
        )

    one = qc_reliability(qc(["buggy"] * 9 + ["correct"] * 3, ["q1"] * 12)).row(0, named=True)
    assert one["krippendorff_alpha"] is None and "one QC item" in one["note"] and one["accuracy"] == 0.75
    two = qc_reliability(qc(["buggy", "buggy", "correct", "correct"], ["q1", "q1", "q2", "q2"])).row(0, named=True)
    assert two["krippendorff_alpha"] == 1.0 and two["note"] is None
