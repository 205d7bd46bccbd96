"""Effects of assistance: exact parts against statsmodels and scipy, the bootstrap parts
against statsmodels' cluster-robust variances, and simulation-based calibration of the
main effect's 95% interval (coverage and false-positive rate) on numpy-made studies."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit
from statsmodels.stats.sandwich_covariance import cov_cluster, cov_cluster_2groups

from oversight_ext.analysis import condition_means, effect, mcnemar, order_effects
from oversight_ext.analysis.effects import _codes, _two_way


def simulate(rng: np.random.Generator, *, n_raters: int = 60, n_items: int = 120, k: int = 3, effect_logit: float = 0.4) -> pl.DataFrame:
    """A within-subject study: each item judged by k raters per condition, never twice by one
    rater; logit P(correct) = 0.5 + effect * assisted + rater skill + item ease."""
    skill = rng.normal(0, 0.6, n_raters)
    ease = rng.normal(0, 1.0, n_items)
    rater = np.argsort(rng.random((n_items, n_raters)), axis=1)[:, : 2 * k].ravel()
    item = np.repeat(np.arange(n_items), 2 * k)
    assisted = np.tile(np.r_[np.zeros(k, int), np.ones(k, int)], n_items)
    correct = rng.random(rater.size) < expit(0.5 + effect_logit * assisted + skill[rater] + ease[item])
    return pl.DataFrame(
        {
            "rater": [f"r{r}" for r in rater],
            "item_id": [f"i{i}" for i in item],
            "condition": np.where(assisted == 1, "assisted", "unassisted"),
            "position": rng.permutation(rater.size),
            "correct": correct,
        }
    )


def true_difference(effect_logit: float) -> float:
    """Population difference in P(correct), integrating the normal rater + item effects."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    s = np.hypot(0.6, 1.0)
    return float(np.sum(w * expit(0.5 + effect_logit + s * x)) - np.sum(w * expit(0.5 + s * x)))


def test_point_estimates_and_cell_variance_are_exact() -> None:
    f = simulate(np.random.default_rng(0))
    df = f.to_pandas()
    res = effect(f, control="unassisted", n_boot=200).row(0, named=True)
    means = df.groupby("condition")["correct"].mean()
    assert abs(res["difference"] - (means["assisted"] - means["unassisted"])) < 1e-12
    cm = condition_means(f, n_boot=200).to_pandas().set_index("condition")
    assert np.allclose(cm.loc[means.index, "mean"], means, atol=1e-12)
    # The (rater, item) cell variance is exact: statsmodels' cluster-robust variance of the
    # difference-in-means regression with each cell its own cluster, without the G/(G-1) factor.
    ols = sm.OLS(df["correct"].astype(float), sm.add_constant((df["condition"] == "assisted").astype(float))).fit()
    r, i, cond, y = _codes(f, "correct", "condition", ["unassisted", "assisted"])
    _, _, _, v_cell = _two_way(r, i, cond, y, np.array([[-1.0, 1.0]]), 10, 0)
    cells = r * 1000 + i
    n_cells = np.unique(cells).size
    ref = cov_cluster(ols, cells, use_correction=False)[1, 1]
    print(
        f"difference and means vs pandas: max abs diff {abs(res['difference'] - (means['assisted'] - means['unassisted'])):.2e};"
        f" cell variance vs statsmodels cov_cluster: {abs(v_cell[0] * (n_cells - 1) / n_cells - ref):.2e}"
    )
    assert abs(v_cell[0] * (n_cells - 1) / n_cells - ref) < 1e-9 * max(ref, 1)


def test_bootstrap_variances_converge_to_the_cluster_robust_ones() -> None:
    f = simulate(np.random.default_rng(1))
    df = f.to_pandas()
    ols = sm.OLS(df["correct"].astype(float), sm.add_constant((df["condition"] == "assisted").astype(float))).fit()
    r, i, cond, y = _codes(f, "correct", "condition", ["unassisted", "assisted"])
    _, v_r, v_i, _ = _two_way(r, i, cond, y, np.array([[-1.0, 1.0]]), 20000, 3)
    n_r, n_i = r.max() + 1, i.max() + 1
    ref_r = cov_cluster(ols, r, use_correction=False)[1, 1] * n_r / (n_r - 1)
    ref_i = cov_cluster(ols, i, use_correction=False)[1, 1] * n_i / (n_i - 1)
    # 20,000 resamples: the Monte Carlo error of a variance is about 1%.
    assert abs(v_r[0] / ref_r - 1) < 0.05 and abs(v_i[0] / ref_i - 1) < 0.05
    both, _, _ = cov_cluster_2groups(ols, r, i, use_correction=False)
    se = effect(f, control="unassisted", n_boot=20000, seed=3)["se"].item()
    assert abs(se / np.sqrt(both[1, 1]) - 1) < 0.05


def test_mcnemar_equals_scipy_on_paired_items() -> None:
    rng = np.random.default_rng(4)
    rows = []
    for item in range(60):
        p_plain, p_help = 0.5, 0.75
        rows += [{"item_id": f"i{item}", "rater": f"a{item}", "condition": "u", "correct": bool(rng.random() < p_plain)}]
        rows += [{"item_id": f"i{item}", "rater": f"b{item}", "condition": "h", "correct": bool(rng.random() < p_help)}]
    f = pl.DataFrame(rows)
    res = mcnemar(f, treatment="h", control="u").row(0, named=True)
    wide = f.pivot(on="condition", index="item_id", values="correct")
    b = int((wide["u"] & ~wide["h"]).sum())
    c = int((~wide["u"] & wide["h"]).sum())
    assert (res["control_only"], res["treatment_only"], res["n_items"]) == (b, c, 60)
    if res["exact"]:
        print(f"McNemar exact p vs scipy binomtest: max abs diff {abs(res['p_value'] - stats.binomtest(min(b, c), b + c, 0.5).pvalue):.2e}")
        assert abs(res["p_value"] - stats.binomtest(min(b, c), b + c, 0.5).pvalue) < 1e-9
    else:
        chi2 = (abs(b - c) - 1) ** 2 / (b + c)
        print(f"McNemar chi2 p vs scipy chi2.sf: max abs diff {abs(res['p_value'] - stats.chi2.sf(chi2, 1)):.2e}")
        assert abs(res["statistic"] - chi2) < 1e-9 and abs(res["p_value"] - stats.chi2.sf(chi2, 1)) < 1e-9
    few = mcnemar(f.filter(pl.col("item_id").is_in(["i0", "i1", "i2", "i3", "i4", "i5"])), treatment="h", control="u").row(0, named=True)
    assert few["exact"] is True


@pytest.mark.slow
def test_interval_is_calibrated_over_simulated_studies() -> None:
    """Simulation-based calibration (500 studies with an effect and 500 without; the benchmark runs 1,000)."""
    rng = np.random.default_rng(2026)
    truth = true_difference(0.4)
    covered = significant_null = 0
    n = 500
    for s in range(n):
        res = effect(simulate(rng), control="unassisted", n_boot=400, seed=s).row(0, named=True)
        covered += res["ci_low"] <= truth <= res["ci_high"]
        null = effect(simulate(rng, effect_logit=0.0), control="unassisted", n_boot=400, seed=s).row(0, named=True)
        significant_null += null["p_value"] < 0.05
    assert 0.92 <= covered / n <= 0.98, covered / n
    assert 0.02 <= significant_null / n <= 0.085, significant_null / n


def test_order_effects_find_a_planted_drift_and_bad_arguments_are_named() -> None:
    rng = np.random.default_rng(5)
    f = simulate(rng, effect_logit=0.0)
    late = pl.col("position").rank("ordinal").over("rater") > pl.len().over("rater") / 2
    # Fatigue: late judgments are right far less often.
    f = f.with_columns(pl.when(late).then(pl.lit(False)).otherwise(pl.col("correct")).alias("correct"))
    res = order_effects(f, n_boot=300)
    assert res.height == 2 and (res["ci_high"] < 0).all()
    with pytest.raises(ValueError, match="n_boot=1"):
        effect(f, n_boot=1)
    with pytest.raises(ValueError, match="no column 'caught'"):
        effect(f, outcome="caught")
    assert effect(f.filter(pl.col("condition") == "assisted")).height == 0
