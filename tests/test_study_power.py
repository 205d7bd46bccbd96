"""Power analysis: the clustered test matches statsmodels, is calibrated, and the search works."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from oversight_ext.study.power import PowerConfig, cluster_z, estimate_power, search_power, simulated_outcomes


def test_cluster_z_matches_statsmodels_two_way_clustering() -> None:
    config = PowerConfig(n_raters=12, n_items=30, overlap=2, effect=0.1)
    rater, item, treat, y = simulated_outcomes(config, np.random.default_rng(0), 3)
    ours = cluster_z(rater, item, treat, y, small_sample=False)
    for s in range(3):
        X = sm.add_constant(treat)
        fit = sm.OLS(y[s], X).fit(cov_type="cluster", cov_kwds={"groups": np.column_stack([rater, item]), "use_correction": False})
        assert abs(ours["difference"][s] - fit.params[1]) < 1e-9
        assert abs(ours["se"][s] - fit.bse[1]) < 1e-9


def test_marginal_accuracy_matches_the_config() -> None:
    config = PowerConfig(base_accuracy=0.6, effect=0.15, n_raters=10, n_items=50, rater_sd=0.7, item_sd=1.0)
    _, _, treat, y = simulated_outcomes(config, np.random.default_rng(1), 2000)
    assert abs(y[:, treat == 0].mean() - 0.6) < 0.01
    assert abs(y[:, treat == 1].mean() - 0.75) < 0.01


def test_interval_covers_the_truth_and_false_positives_are_near_alpha() -> None:
    # A looser band than the 93-97% of the benchmark: 600 studies give a 95% +-1.8% spread.
    effect = estimate_power(PowerConfig(effect=0.1, n_raters=24, n_items=60, overlap=1, n_sims=600, seed=3))
    assert 0.91 <= effect["coverage"][0] <= 0.985
    assert abs(effect["mean_estimate"][0] - 0.1) < 0.01
    null = estimate_power(PowerConfig(effect=0.0, n_raters=24, n_items=60, overlap=1, n_sims=600, seed=4))
    assert 0.015 <= null["power"][0] <= 0.09
    assert effect["power"][0] > null["power"][0] + 0.1


def test_power_grows_with_effect_and_search_finds_the_smallest_size() -> None:
    small = estimate_power(PowerConfig(effect=0.05, n_sims=300))
    large = estimate_power(PowerConfig(effect=0.2, n_sims=300))
    assert large["power"][0] > small["power"][0]
    config = PowerConfig(effect=0.2, n_raters=10, n_items=20, n_sims=300)
    best, tried = search_power(config, vary="n_items")
    assert best is not None
    reach = dict(zip(tried["n_items"], tried["reaches_target"]))
    assert reach[best] and not reach.get(best - 1, False)
    assert set(tried["n_raters"]) == {10}
    best_r, tried_r = search_power(config, vary="n_raters")
    assert best_r is not None and tried_r["n_items"].to_list() == [round(n * 2) for n in tried_r["n_raters"]]
    none, _ = search_power(PowerConfig(effect=0.01, n_sims=100), vary="n_items", max_n=16)
    assert none is None


def test_bootstrap_test_uses_the_analysis_interval() -> None:
    out = estimate_power(PowerConfig(effect=0.2, n_sims=8, n_boot=50, test="bootstrap"))
    assert 0 <= out["power"][0] <= 1 and out["test"][0] == "bootstrap"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"base_accuracy": 0.95, "effect": 0.1}, "strictly between 0 and 1"),
        ({"n_raters": 0}, "whole number"),
        ({"alpha": 1.5}, "alpha"),
        ({"test": "t"}, "'cluster_z' or 'bootstrap'"),
        ({"overlap": 20, "n_raters": 10}, "lower overlap or add raters"),
    ],
)
def test_bad_power_config_is_refused(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PowerConfig(**kw)  # type: ignore[arg-type]
