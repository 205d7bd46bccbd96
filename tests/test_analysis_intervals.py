"""Intervals inside [0, 1]: Wilson and Newcombe against statsmodels, and the study-level
intervals on small, lopsided and constant samples."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from oversight_ext.analysis import condition_means, effect
from oversight_ext.analysis.effects import IntervalWarning
from oversight_ext.analysis.intervals import effective_n, mover_difference, wilson


def test_wilson_and_newcombe_equal_statsmodels() -> None:
    rng = np.random.default_rng(0)
    worst_w = worst_n = 0.0
    for _ in range(200):
        n1, n0 = rng.integers(1, 60, 2)
        k1, k0 = rng.integers(0, n1 + 1), rng.integers(0, n0 + 1)
        lo1, hi1 = wilson(np.array(k1 / n1), np.array(n1), 1.959963984540054)
        lo0, hi0 = wilson(np.array(k0 / n0), np.array(n0), 1.959963984540054)
        ref1 = proportion_confint(k1, n1, method="wilson")
        worst_w = max(worst_w, abs(float(lo1) - ref1[0]), abs(float(hi1) - ref1[1]))
        low, high = mover_difference(np.array(k1 / n1), lo1, hi1, np.array(k0 / n0), lo0, hi0, np.array(0.0))
        ref = confint_proportions_2indep(k1, n1, k0, n0, method="newcomb", compare="diff")
        worst_n = max(worst_n, abs(float(low) - ref[0]), abs(float(high) - ref[1]))
    print(f"max abs diff vs statsmodels: Wilson {worst_w:.2e}, Newcombe {worst_n:.2e}")
    assert worst_w < 1e-12 and worst_n < 1e-12


def test_effective_n_falls_back_to_the_count_without_variation() -> None:
    assert effective_n(np.array([0.5, 1.0, 0.3]), np.array([0.01, 0.0, 0.0]), np.array([40, 12, 9])).tolist() == [25.0, 12.0, 9.0]


def small_study(seed: int, n_raters: int, n_items: int, p: tuple[float, float]) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rater = np.repeat(np.arange(n_raters), n_items)
    item = np.tile(np.arange(n_items), n_raters)
    treated = (rater + item) % 2
    y = rng.random(rater.size) < np.where(treated == 1, p[1], p[0])
    return pl.DataFrame(
        {
            "rater": rater.astype(str),
            "item_id": item.astype(str),
            "condition": np.where(treated == 1, "b", "a"),
            "correct": y,
        }
    )


def test_small_lopsided_samples_stay_inside_zero_one() -> None:
    for seed in range(20):
        f = small_study(seed, 4, 6, (0.9, 0.97))
        means = condition_means(f, n_boot=200, seed=seed)
        assert (means["ci_low"] >= 0).all() and (means["ci_high"] <= 1).all()
        assert (means["ci_low"] <= means["mean"]).all() and (means["mean"] <= means["ci_high"]).all()
        e = effect(f, control="a", n_boot=200, seed=seed)
        assert -1 <= e["ci_low"][0] <= e["difference"][0] <= e["ci_high"][0] <= 1


def test_a_constant_outcome_says_no_variation_and_keeps_a_real_interval() -> None:
    f = small_study(1, 5, 6, (1.0, 1.0))
    with pytest.warns(IntervalWarning, match="without variation"):
        means = condition_means(f, n_boot=200)
    assert means["note"].str.contains("no variation").all()
    assert (means["ci_high"] == 1.0).all() and (means["ci_low"] < 0.95).all()  # Wilson on 15 judgments, not [1, 1]
    with pytest.warns(IntervalWarning):
        e = effect(f, control="a", n_boot=200)
    assert "no variation" in e["note"][0] and e["ci_low"][0] < 0 < e["ci_high"][0] and e["p_value"][0] == 1.0
