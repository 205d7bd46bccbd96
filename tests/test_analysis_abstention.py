"""The analysis of "cannot judge": its rate per condition with an interval, and the accuracy
contrast with every cannot-judge answer counted as wrong, on a study whose simulated raters
skip hard items only because the configuration says so."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from test_study_creation import make_items

from oversight_ext.analysis import AnalysisConfig, effect, report, study_frame
from oversight_ext.analysis.abstention import cannot_judge_rates, counted_as_wrong, worst_case_effect
from oversight_ext.store import Store
from oversight_ext.study import StudyConfig, create_study, simulate
from oversight_ext.study.simulate import SimulatedRaterConfig

CONFIG = {
    "name": "skip",
    "seed": 2,
    "open_slots": 8,
    "overlap": 2,
    "items": {"source": "toy"},
    "conditions": [{"name": "alpha"}, {"name": "beta"}],
}


def study(db: str, rate: float) -> Store:
    store = Store(db)
    store.add_items(make_items(20))
    create_study(store, StudyConfig.from_dict(CONFIG))
    simulate(store, "skip", 8, 4, config=SimulatedRaterConfig(cannot_judge_rate=rate))
    return store


def test_simulated_raters_never_say_cannot_judge_unless_configured(tmp_path: Path) -> None:
    with study(f"sqlite:///{tmp_path / 'plain.db'}", 0.0) as store:
        everything = store.judgments(study="skip", cannot_judge=True)
        assert everything and all(j.verdict is not None for j in everything)
        assert cannot_judge_rates(study_frame(store, "skip", cannot_judge=True))["cannot_judge"].sum() == 0
    with pytest.raises(ValueError, match="cannot_judge_rate"):
        SimulatedRaterConfig(cannot_judge_rate=1.5)


def test_rates_and_the_worst_case_contrast_count_every_cannot_judge(tmp_path: Path) -> None:
    with study(f"sqlite:///{tmp_path / 'skip.db'}", 0.8) as store:
        skipped = [j for j in store.judgments(study="skip", cannot_judge=True) if j.is_cannot_judge]
        verdicts = store.judgments(study="skip")
        frame = study_frame(store, "skip", cannot_judge=True)
        plain = study_frame(store, "skip")
    assert skipped and all(j.cannot_judge is not None and j.cannot_judge.reason == "too_large" for j in skipped)
    # The default frame holds verdicts only; the wider one adds each cannot-judge record once.
    assert plain.height == len(verdicts) and frame.height == len(verdicts) + len(skipped)

    config = AnalysisConfig(n_boot=200)
    rates = cannot_judge_rates(frame, config)
    by_condition = {c: sum(1 for j in skipped if j.condition == c) for c in ("alpha", "beta")}
    assert dict(zip(rates["condition"], rates["cannot_judge"], strict=True)) == by_condition
    for row in rates.iter_rows(named=True):
        assert row["rate"] == pytest.approx(row["cannot_judge"] / row["n"])
        assert 0 <= row["ci_low"] <= row["rate"] <= row["ci_high"] <= 1

    # Counted as wrong, each skip lowers its condition's accuracy; left out, it raises it.
    worst = counted_as_wrong(frame)
    assert worst.filter(pl.col("verdict").is_null())["correct"].to_list() == [False] * len(skipped)
    honest = plain.group_by("condition").agg(pl.col("correct").mean()).sort("condition")["correct"]
    pessimistic = worst.group_by("condition").agg(pl.col("correct").mean()).sort("condition")["correct"]
    assert all(p < h for p, h in zip(pessimistic, honest, strict=True))

    table = worst_case_effect(frame, treatment="beta", config=config)
    assert table.height == 1 and table["counting"][0] == "cannot judge counted as wrong"
    assert (table["cannot_judge_treatment"][0], table["cannot_judge_control"][0]) == (by_condition["beta"], by_condition["alpha"])
    direct = effect(worst, outcome="correct", control="alpha", treatments=["beta"], n_boot=200)
    assert table["difference"][0] == pytest.approx(direct["difference"][0])


@pytest.mark.slow
def test_the_report_gives_the_rate_and_the_worst_case_line(tmp_path: Path) -> None:
    with study(f"sqlite:///{tmp_path / 'skip.db'}", 0.8) as store:
        page = report(store, "skip", tmp_path / "r.html", AnalysisConfig(n_boot=200, mixed_model=False)).read_text()
    assert "<h3>cannot judge</h3>" in page and "<h3>cannot judge worst case</h3>" in page
    assert "counted as wrong" in page
