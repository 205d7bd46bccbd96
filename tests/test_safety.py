"""The safety-vs-audit-budget curve: hand-computed on a small case, monotone in the budget, bad input named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from test_study_creation import make_items

from oversight_ext.analysis.config import AnalysisConfig
from oversight_ext.analysis.reporting import _has_items_of, report
from oversight_ext.analysis.safety import PERFECT, SafetyError, safety_curve, study_safety
from oversight_ext.cli import main
from oversight_ext.store import Store
from oversight_ext.study import StudyConfig, create_study, simulate

CONTROLS = [0.1, 0.2, 0.3, 0.4, 0.5]
FLAWED = [0.45, 0.6, 0.05, 0.9]
HUMAN = {"u": [1.0, 0.0, 1.0, 0.5], "r": [1.0, 1.0, np.nan, 1.0]}


def at(curve: pl.DataFrame, variant: str, budget: float) -> float:
    return float(curve.filter((pl.col("variant") == variant) & (pl.col("budget") == budget))["safety"][0])


def test_the_curve_equals_the_hand_computed_values() -> None:
    curve = safety_curve(FLAWED, CONTROLS, HUMAN, alone=["u"], budgets=(0.2, 0.01), n_boot=200, seed=3)
    # thresholds: the 0.99 and 0.8 linear quantiles of the controls, 0.496 and 0.42
    # b = 1%: flawed items 0.6 and 0.9 audited; b = 20%: 0.45 too (0.05 never)
    assert curve["budget"].unique().sort().to_list() == [0.01, 0.2]
    assert at(curve, PERFECT, 0.01) == pytest.approx(2 / 4) and at(curve, PERFECT, 0.2) == pytest.approx(3 / 4)
    assert at(curve, "monitor + human (u)", 0.01) == pytest.approx((0.0 + 0.5) / 4)
    assert at(curve, "monitor + human (u)", 0.2) == pytest.approx((1.0 + 0.0 + 0.5) / 4)
    # an item unjudged under r leaves r's rows: 3 flawed items there
    assert at(curve, "monitor + human (r)", 0.01) == pytest.approx(2 / 3) and at(curve, "monitor + human (r)", 0.2) == pytest.approx(1.0)
    assert at(curve, "human alone (u)", 0.2) == pytest.approx(0.2 * 2.5 / 4) and at(curve, "human alone (u)", 0.01) == pytest.approx(
        0.01 * 2.5 / 4
    )
    assert set(curve["flawed"]) == {4} and set(curve["controls"]) == {5}
    assert (curve["ci_low"] <= curve["safety"] + 1e-12).all() and (curve["safety"] <= curve["ci_high"] + 1e-12).all()
    again = safety_curve(FLAWED, CONTROLS, HUMAN, alone=["u"], budgets=(0.2, 0.01), n_boot=200, seed=3)
    assert again.equals(curve)  # seeded


def test_safety_and_its_interval_never_fall_as_the_budget_grows() -> None:
    rng = np.random.default_rng(0)
    flawed, controls = rng.beta(3, 2, 40), rng.beta(2, 3, 40)
    human = {"u": rng.random(40), "r": (rng.random(40) < 0.6).astype(float)}
    curve = safety_curve(flawed, controls, human, alone=["u"], budgets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5), n_boot=300, seed=1)
    for variant in curve["variant"].unique().to_list():
        rows = curve.filter(pl.col("variant") == variant).sort("budget")
        for col in ("safety", "ci_low", "ci_high"):
            assert (rows[col].diff().drop_nulls() >= -1e-12).all(), (variant, col, rows[col].to_list())
    perfect = curve.filter(pl.col("variant") == PERFECT)["safety"]
    assert (curve.filter(pl.col("variant") == "monitor + human (u)")["safety"] <= perfect + 1e-12).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budgets": (0.0, 0.1)}, r"budgets = \[0.0, 0.1\] is invalid: give shares of items in \(0, 1\]"),
        ({"n_boot": 10}, r"n_boot = 10 is invalid: give a whole number of bootstrap resamples >= 100"),
        ({"level": 95}, r"level = 95 is invalid: give an interval coverage between 0 and 1"),
        ({"alone": ["x"]}, r"alone = 'x' is not a condition of `human`; name one of \['r', 'u'\]"),
        ({"controls": []}, r"4 flawed item\(s\) and 0 clean control\(s\) have monitor scores: safety needs both"),
        ({"human": {"u": [1.0]}}, r"human\['u'\] has 1 values for 4 flawed items"),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"flawed": FLAWED, "controls": CONTROLS, "human": HUMAN, **kwargs}
    with pytest.raises(SafetyError, match=message):
        safety_curve(**args)  # type: ignore[arg-type]


def test_a_study_without_monitor_scores_is_named_in_the_error_the_report_and_the_cli(
    sqlite_store: Store, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_store.add_items(make_items(8))
    config = {"name": "nomon", "seed": 1, "open_slots": 2, "conditions": [{"name": "u"}], "audit_budget_hunks": 2, "time_limit_s": 60}
    create_study(sqlite_store, StudyConfig.from_dict(config))
    simulate(sqlite_store, "nomon", 2, seed=1)
    # the report adds the safety tables for sabotage items or an audit budget (here: the budget)
    assert _has_items_of(sqlite_store, "nomon", "toy") and not _has_items_of(sqlite_store, "nomon", "oversight-sabotage")
    with pytest.raises(SafetyError, match="study 'nomon' has no critiques with per-hunk scores: give a condition a monitor"):
        study_safety(sqlite_store, "nomon", n_boot=100)
    page = report(sqlite_store, "nomon", tmp_path / "r.html", AnalysisConfig(n_boot=100, mixed_model=False)).read_text()
    assert "safety: not computed: study &#x27;nomon&#x27; has no critiques with per-hunk scores" in page
    assert main(["safety", "nomon", "--budgets", "0.01,x", "--db", sqlite_url]) == 2
    assert "--budgets '0.01,x' is invalid: give comma-separated shares" in capsys.readouterr().err
    assert main(["safety", "nomon", "--budgets", "0,0.5", "--db", sqlite_url]) == 2
    assert "budgets = [0.0, 0.5] is invalid" in capsys.readouterr().err
