"""The crossed random-effects logistic model against statsmodels on small cases."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy.special import expit
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

from oversight_ext.analysis import MixedConfig, fit_mixed


def simulate(seed: int, n_raters: int, n_items: int, k: int, *, sd_rater: float, sd_item: float, effect: float = 0.6) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rater = np.argsort(rng.random((n_items, n_raters)), axis=1)[:, : 2 * k].ravel()
    item = np.repeat(np.arange(n_items), 2 * k)
    assisted = np.tile(np.r_[np.zeros(k, int), np.ones(k, int)], n_items)
    eta = 0.3 + effect * assisted + rng.normal(0, sd_rater, n_raters)[rater] + rng.normal(0, sd_item, n_items)[item]
    return pl.DataFrame(
        {
            "rater": [f"r{r:03d}" for r in rater],
            "item_id": [f"i{i:04d}" for i in item],
            "condition": np.where(assisted == 1, "assisted", "unassisted"),
            "condition_kind": np.where(assisted == 1, "assisted", "unassisted"),
            "correct": rng.random(rater.size) < expit(eta),
        }
    )


def test_agrees_with_statsmodels_bayes_mixed_glm_on_a_small_case() -> None:
    f = simulate(0, 60, 150, 4, sd_rater=0.7, sd_item=1.0)
    ours = {r["term"]: r for r in fit_mixed(f).iter_rows(named=True)}
    pdf = f.with_columns(pl.col("correct").cast(pl.Int64), (pl.col("condition") == "assisted").cast(pl.Int64).alias("treat")).to_pandas()
    ref = BinomialBayesMixedGLM.from_formula("correct ~ treat", {"rater": "0 + C(rater)", "item": "0 + C(item_id)"}, pdf).fit_vb()
    # Variational Bayes (with its weak priors) and the Laplace mode differ slightly by design.
    assert abs(ours["(Intercept)"]["estimate"] - ref.fe_mean[0]) < 0.1
    assert abs(ours["condition[assisted]"]["estimate"] - ref.fe_mean[1]) < 0.1
    sd_rater, sd_item = np.exp(ref.vcp_mean)
    assert abs(ours["sd(rater)"]["estimate"] / sd_rater - 1) < 0.25
    assert abs(ours["sd(item_id)"]["estimate"] / sd_item - 1) < 0.25
    row = ours["condition[assisted]"]
    assert row["ci_low"] < 0.6 < row["ci_high"] and row["p_value"] < 0.05 and abs(row["odds_ratio"] - np.exp(row["estimate"])) < 1e-12


def test_without_rater_or_item_variation_it_is_plain_logistic_regression() -> None:
    f = simulate(1, 40, 200, 3, sd_rater=0.0, sd_item=0.0)
    ours = fit_mixed(f)
    sds = ours.filter(pl.col("kind") == "sd")["estimate"].to_numpy()
    ref = sm.Logit(
        f["correct"].cast(pl.Float64).to_numpy(), sm.add_constant((f["condition"] == "assisted").cast(pl.Float64).to_numpy())
    ).fit(disp=0)
    fixed = ours.filter(pl.col("kind") == "fixed")
    assert np.all(sds < 0.3)
    assert np.allclose(fixed["estimate"].to_numpy(), ref.params, atol=0.03)
    assert np.allclose(fixed["std_err"].to_numpy(), ref.bse, rtol=0.1)


def test_bad_input_is_named() -> None:
    f = simulate(2, 10, 20, 2, sd_rater=0.5, sd_item=0.5)
    with pytest.raises(ValueError, match="no column 'skill'"):
        fit_mixed(f, MixedConfig(fixed=("skill",)))
    with pytest.raises(ValueError, match="need both outcomes"):
        fit_mixed(f.with_columns(pl.lit(True).alias("correct")))
    with pytest.raises(ValueError, match="one or two grouping columns"):
        fit_mixed(f, MixedConfig(groups=("rater", "item_id", "condition")))
    one_group = fit_mixed(f, MixedConfig(groups=("item_id",)))
    assert one_group["term"].to_list() == ["(Intercept)", "condition[assisted]", "sd(item_id)"]
