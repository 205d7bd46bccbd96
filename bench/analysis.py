"""Benchmark the analysis beside straightforward pandas + statsmodels versions of the same work.

    python bench/analysis.py           # 1,000,000 judgments; mixed model on 100,000; 1,000 simulated studies
    python bench/analysis.py --quick   # 100,000 judgments; mixed model on 10,000; 200 simulated studies

Three parts, each printing our time, the baseline's time (measured in the same run, or
extrapolated from a measured fraction where running it all would take too long: the output
says so) and the ratio:

1. metrics + agreement + two-way cluster bootstrap (1,000 resamples) on judgments from
   2,000 raters and 10,000 items (target < 10 s and >= 5x the baseline);
2. the crossed random-effects logistic model on 100,000 judgments (500 raters, 2,000
   items; target < 60 s), beside statsmodels' ``BinomialBayesMixedGLM.fit_vb`` on 20,000,
   or with ``--lme4`` beside R's ``lme4::glmer(nAGQ=0)`` on the same 100,000;
3. simulation-based calibration of the effect's 95% interval (coverage and false-positive rate).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")

import krippendorff
import numpy as np
import pandas as pd
import polars as pl
import statsmodels.api as sm
from scipy.special import expit
from sklearn.metrics import cohen_kappa_score
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
from statsmodels.stats.sandwich_covariance import cov_cluster, cov_cluster_2groups

from oversight_ext.analysis import agreement, effect, fit_mixed, summary
from oversight_ext.records import CONFIDENCE_LEVELS


def judgments(n_raters: int, n_items: int, per_item: int, seed: int) -> pl.DataFrame:
    """A within-subject study: each item judged by ``per_item`` distinct raters, half assisted."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, n_raters, n_items)
    rater = ((start[:, None] + np.arange(per_item) * (n_raters // per_item)) % n_raters).ravel()
    item = np.repeat(np.arange(n_items), per_item)
    assisted = np.tile(np.arange(per_item) % 2, n_items)
    buggy = item % 2 == 0
    p = expit(0.4 + 0.4 * assisted + rng.normal(0, 0.6, n_raters)[rater] + rng.normal(0, 1.0, n_items)[item])
    right = rng.random(item.size) < p
    verdict = np.where(right == buggy, "buggy", "correct")
    flagged = buggy & (rng.random(item.size) < 0.6)
    line = np.where(right, 5 + rng.integers(-1, 2, item.size), rng.integers(1, 30, item.size))
    f = pl.DataFrame(
        {
            "rater": rater,
            "item_id": item,
            "condition": np.where(assisted == 1, "assisted", "unassisted"),
            "label": np.where(buggy, "buggy", "correct"),
            "verdict": verdict,
            "confidence": np.asarray(CONFIDENCE_LEVELS)[np.clip((p * 5).astype(int), 0, 4)],
            "time_on_task_s": rng.exponential(90, item.size),
            "line": line,
            "flagged": flagged,
        }
    )
    flag = pl.struct(pl.lit("m.py").alias("path"), pl.col("line"), pl.lit("").alias("comment"), pl.lit("new").alias("side"))
    return f.with_columns(
        pl.format("r{}", "rater").alias("rater"),
        pl.format("i{}", "item_id").alias("item_id"),
        pl.when(pl.col("flagged")).then(pl.concat_list(flag)).otherwise(pl.concat_list(flag).list.head(0)).alias("flags"),
        pl.when(pl.col("label") == "buggy")
        .then(pl.concat_list(pl.lit(5, pl.Int64)))
        .otherwise(pl.lit([], pl.List(pl.Int64)))
        .alias("bug_lines"),
        pl.lit("m.py").alias("gold_path"),
    ).drop("line", "flagged")


def ours(f: pl.DataFrame, n_boot: int) -> dict[str, float]:
    s = summary(f)
    a = agreement(f)
    e = effect(f, control="unassisted", n_boot=n_boot, seed=0).row(0, named=True)
    return {"accuracy_gap": float(s["accuracy"][0] - s["accuracy"][1]), "alpha": float(a["krippendorff_alpha"][0]), "se": e["se"]}


def naive(df: pd.DataFrame, n_boot_run: int, n_boot: int, n_pairs_run: int) -> tuple[float, dict[str, float]]:
    """The same computations written plainly with pandas, statsmodels, scikit-learn and the
    krippendorff package. The bootstrap runs ``n_boot_run`` resamples and the pairwise kappa
    ``n_pairs_run`` pairs; the time of the rest is extrapolated from them."""
    t0 = time.perf_counter()
    df = df.copy()
    df["correct"] = df["verdict"] == df["label"]

    def hit(row: pd.Series) -> bool:
        return any(abs(fl["line"] - b) <= 1 for fl in row["flags"] for b in row["bug_lines"])

    buggy = df[df["label"] == "buggy"]
    caught = buggy.apply(hit, axis=1)
    _ = caught.groupby(buggy["condition"]).mean()
    _ = df.groupby("condition")[["correct", "time_on_task_s", "confidence"]].agg(["mean", "median"])
    df["bin"] = np.searchsorted([0.335, 0.51, 0.70, 0.90], df["confidence"])
    _ = df.groupby(["condition", "bin"]).agg(acc=("correct", "mean"), conf=("confidence", "mean"), n=("correct", "size"))
    alphas = {}
    pair_time = 0.0
    total_pairs = 0
    for cond, g in df.groupby("condition"):
        wide = g.pivot(index="rater", columns="item_id", values="verdict")
        codes = wide.apply(lambda c: c.map({"buggy": 1.0, "correct": 0.0}))
        alphas[cond] = krippendorff.alpha(reliability_data=codes.to_numpy(), level_of_measurement="nominal")
        per_item = g.groupby("item_id")["verdict"].apply(lambda v: (v == "buggy").astype(int).tolist())
        table, _ = aggregate_raters(np.array(per_item.tolist()))
        fleiss_kappa(table)
        # Pairwise Cohen's kappa with scikit-learn on a sample of pairs, then extrapolated.
        by_rater = {r: s.set_index("item_id")["verdict"] for r, s in g.groupby("rater")}
        raters = list(by_rater)
        rng = np.random.default_rng(0)
        tp = time.perf_counter()
        for _ in range(n_pairs_run):
            a, b = rng.choice(len(raters), 2, replace=False)
            both = pd.concat([by_rater[raters[a]], by_rater[raters[b]]], axis=1, join="inner")
            if len(both) >= 2:
                cohen_kappa_score(both.iloc[:, 0], both.iloc[:, 1])
        pair_time += time.perf_counter() - tp
        n_r = len(raters)
        total_pairs += n_r * (n_r - 1) // 2
    extra = pair_time * (total_pairs / (2 * n_pairs_run) - 1)

    # Two-way cluster bootstrap by resampling data frames: raters, then items.
    def diff(d: pd.DataFrame) -> float:
        m = d.groupby("condition")["correct"].mean()
        return float(m["assisted"] - m["unassisted"])

    rng = np.random.default_rng(1)
    tb = time.perf_counter()
    draws: dict[str, list[float]] = {"rater": [], "item_id": []}
    groups = {k: dict(tuple(df.groupby(k))) for k in draws}
    for _ in range(n_boot_run):
        for key in draws:
            ids = list(groups[key])
            pick = rng.choice(len(ids), len(ids))
            draws[key].append(diff(pd.concat([groups[key][ids[j]] for j in pick])))
    boot_time = time.perf_counter() - tb
    ols = sm.OLS(df["correct"].astype(float), sm.add_constant((df["condition"] == "assisted").astype(float))).fit()
    cells = df["rater"].str.slice(1).astype(int) * 100_000 + df["item_id"].str.slice(1).astype(int)
    v_cell = cov_cluster(ols, cells.to_numpy(), use_correction=False)[1, 1]
    se = float(np.sqrt(max(np.var(draws["rater"], ddof=1) + np.var(draws["item_id"], ddof=1) - v_cell, 0)))
    elapsed = time.perf_counter() - t0 + extra + boot_time * (n_boot / n_boot_run - 1)
    pairs_total = pair_time + extra
    return elapsed, {"alpha": float(alphas["assisted"]), "se": se, "pairs_s": pairs_total}


def part_metrics(quick: bool) -> None:
    n_raters, n_items, per_item = (2000, 10_000, 100) if not quick else (400, 2_000, 50)
    f = judgments(n_raters, n_items, per_item, 0)
    print(
        f"\n1. metrics + agreement + two-way cluster bootstrap (1,000 resamples): {f.height:,} judgments, {n_raters:,} raters, {n_items:,} items"
    )
    t = time.perf_counter()
    res = ours(f, 1000)
    mine = time.perf_counter() - t
    print(f"   ours (polars + numpy + sparse):       {mine:8.2f} s   alpha(assisted)={res['alpha']:.4f}  se={res['se']:.5f}")
    n_boot_run, n_pairs_run = (5, 200) if not quick else (10, 200)
    base, ref = naive(f.to_pandas(), n_boot_run, 1000, n_pairs_run)
    print(
        f"   naive (pandas + statsmodels + sklearn): {base:8.2f} s   alpha(assisted)={ref['alpha']:.4f}  se={ref['se']:.5f} (few resamples: noisy)"
        f"   [extrapolated: {n_boot_run} of 1,000 resamples and {n_pairs_run} rater pairs per condition were run]"
    )
    print(f"   ratio: {base / mine:.1f}x faster; target < 10 s and >= 5x")
    print(
        f"   without the pairwise Cohen's kappa ({ref['pairs_s']:.0f} s of the baseline) the baseline takes"
        f" {base - ref['pairs_s']:.1f} s: {(base - ref['pairs_s']) / mine:.1f}x"
    )
    # Cross-check of the interval (untimed): statsmodels' analytic two-way cluster-robust SE.
    pdf = (
        f.with_columns((pl.col("verdict") == pl.col("label")).alias("correct"))
        .select("rater", "item_id", "condition", "correct")
        .to_pandas()
    )
    ols = sm.OLS(pdf["correct"].astype(float), sm.add_constant((pdf["condition"] == "assisted").astype(float))).fit()
    both, _, _ = cov_cluster_2groups(
        ols, pdf["rater"].astype("category").cat.codes.to_numpy(), pdf["item_id"].astype("category").cat.codes.to_numpy()
    )
    print(f"   reference: statsmodels analytic two-way cluster-robust se = {np.sqrt(both[1, 1]):.5f} (ours {res['se']:.5f})")


_GLMER = """
suppressMessages(library(lme4))
d <- read.csv(commandArgs(TRUE)[1])
d$rater <- factor(d$rater); d$item_id <- factor(d$item_id); d$correct <- as.integer(d$correct == "true")
t <- system.time(m <- glmer(correct ~ condition + (1|rater) + (1|item_id), data = d, family = binomial, nAGQ = 0))
v <- as.data.frame(VarCorr(m))
cat(t[["elapsed"]], fixef(m)[2], v$sdcor[v$grp == "rater"], v$sdcor[v$grp == "item_id"], "\n")
"""


def glmer_time(frame: pl.DataFrame) -> tuple[float, list[float]] | None:
    """Seconds R's lme4 ``glmer(nAGQ=0)`` takes to fit the same model (None without Rscript/lme4)."""
    import shutil
    import subprocess
    import tempfile

    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data, script = os.path.join(tmp, "d.csv"), os.path.join(tmp, "fit.R")
        frame.write_csv(data)
        with open(script, "w") as fh:
            fh.write(_GLMER)
        out = subprocess.run(["Rscript", script, data], capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        print(f"   lme4 baseline failed: {out.stderr.strip()[-300:]}")
        return None
    elapsed, *est = (float(x) for x in out.stdout.split())
    return elapsed, est


def part_mixed(quick: bool, lme4: bool = False) -> None:
    from scipy.special import expit as _expit

    def data(n_raters: int, n_items: int, per_item: int, seed: int) -> pl.DataFrame:
        rng = np.random.default_rng(seed)
        rater = np.argsort(rng.random((n_items, n_raters)), axis=1)[:, :per_item].ravel()
        item = np.repeat(np.arange(n_items), per_item)
        assisted = np.tile(np.arange(per_item) % 2, n_items)
        y = rng.random(item.size) < _expit(0.3 + 0.5 * assisted + rng.normal(0, 0.7, n_raters)[rater] + rng.normal(0, 1.0, n_items)[item])
        return pl.DataFrame(
            {"rater": rater.astype(str), "item_id": item.astype(str), "condition": np.where(assisted == 1, "b", "a"), "correct": y}
        )

    big = data(500, 2000, 50, 0) if not quick else data(100, 500, 20, 0)
    small = data(200, 1000, 20, 1) if not quick else data(50, 200, 10, 1)
    print("\n2. crossed random-effects logistic model (truth: treatment 0.5, sd rater 0.7, sd item 1.0)")
    t = time.perf_counter()
    fit = fit_mixed(big)
    mine = time.perf_counter() - t
    est = dict(zip(fit["term"], fit["estimate"]))
    print(
        f"   ours ({fit['method'][0]}, sparse Schur) on {big.height:,}: {mine:8.2f} s   treatment={est['condition[b]']:.3f}"
        f"  sd(rater)={est['sd(rater)']:.3f}  sd(item)={est['sd(item_id)']:.3f}  converged={fit['converged'][0]}"
    )
    if lme4:
        ref = glmer_time(big)
        if ref is not None:
            print(
                f"   lme4 glmer(nAGQ=0) on the same {big.height:,}: {ref[0]:8.2f} s   treatment={ref[1][0]:.3f}"
                f"  sd(rater)={ref[1][1]:.3f}  sd(item)={ref[1][2]:.3f}   ratio {ref[0] / mine:.1f}x"
            )
        return
    t = time.perf_counter()
    fit_small = fit_mixed(small)
    mine_small = time.perf_counter() - t
    pdf = small.with_columns(pl.col("correct").cast(pl.Int64), (pl.col("condition") == "b").cast(pl.Int64).alias("treat")).to_pandas()
    t = time.perf_counter()
    vb = BinomialBayesMixedGLM.from_formula("correct ~ treat", {"rater": "0 + C(rater)", "item": "0 + C(item_id)"}, pdf).fit_vb()
    base = time.perf_counter() - t
    est_small = dict(zip(fit_small["term"], fit_small["estimate"]))
    sds = np.exp(vb.vcp_mean)
    print(
        f"   ours on {small.height:,}:                    {mine_small:8.2f} s   treatment={est_small['condition[b]']:.3f}  sds={est_small['sd(rater)']:.3f}/{est_small['sd(item_id)']:.3f}"
    )
    print(f"   statsmodels fit_vb on {small.height:,}:      {base:8.2f} s   treatment={vb.fe_mean[1]:.3f}  sds={sds[0]:.3f}/{sds[1]:.3f}")
    print(
        f"   ratio on the same {small.height:,} judgments: {base / mine_small:.1f}x; ours on {big.height:,} took {mine:.1f} s (target < 60 s)"
    )


def part_calibration(quick: bool) -> None:
    n_sims = 200 if quick else 1000
    rng = np.random.default_rng(7)
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w /= w.sum()
    s = np.hypot(0.6, 1.0)
    truth = float(np.sum(w * expit(0.9 + s * x)) - np.sum(w * expit(0.5 + s * x)))

    def study(effect_logit: float) -> pl.DataFrame:
        skill, ease = rng.normal(0, 0.6, 60), rng.normal(0, 1.0, 120)
        rater = np.argsort(rng.random((120, 60)), axis=1)[:, :6].ravel()
        item = np.repeat(np.arange(120), 6)
        assisted = np.tile(np.r_[0, 0, 0, 1, 1, 1], 120)
        y = rng.random(rater.size) < expit(0.5 + effect_logit * assisted + skill[rater] + ease[item])
        return pl.DataFrame({"rater": rater, "item_id": item, "condition": np.where(assisted == 1, "h", "u"), "correct": y}).cast(
            {"rater": pl.Utf8, "item_id": pl.Utf8}
        )

    t = time.perf_counter()
    covered = false_pos = 0
    for k in range(n_sims):
        e = effect(study(0.4), control="u", n_boot=1000, seed=k).row(0, named=True)
        covered += e["ci_low"] <= truth <= e["ci_high"]
        false_pos += effect(study(0.0), control="u", n_boot=1000, seed=k)["p_value"].item() < 0.05
    print(f"\n3. calibration over {n_sims} simulated studies each (60 raters, 120 items, 720 judgments; {time.perf_counter() - t:.1f} s)")
    print(f"   95% interval coverage with a planted effect: {covered / n_sims:.3f} (target 0.93-0.97)")
    print(f"   false-positive rate at 0.05 with no effect:   {false_pos / n_sims:.3f} (target about 0.05)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a check in a minute or two")
    parser.add_argument("--part", choices=["metrics", "mixed", "calibration"], action="append", help="run only these parts")
    parser.add_argument(
        "--lme4",
        action="store_true",
        help="mixed model: time R's lme4 glmer(nAGQ=0) on the same data as the baseline, not statsmodels' fit_vb",
    )
    args = parser.parse_args()
    parts = args.part or ["metrics", "mixed", "calibration"]
    print(f"bench/analysis.py{' --quick' if args.quick else ''}: {os.cpu_count()} CPUs")
    if "metrics" in parts:
        part_metrics(args.quick)
    if "mixed" in parts:
        part_mixed(args.quick, args.lme4)
    if "calibration" in parts:
        part_calibration(args.quick)


if __name__ == "__main__":
    main()
