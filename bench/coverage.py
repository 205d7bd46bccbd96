"""Coverage of the primary effect's 95% interval over simulated studies with a planted truth.

    python bench/coverage.py                 # 1,000 studies per design (Monte-Carlo SE ~0.7 points)
    python bench/coverage.py --quick         # 100 per design: a check in a few minutes
    python bench/coverage.py --n 300 --jobs 2 --designs crossed rater-slope
    python bench/coverage.py --no-mixed --first-seed 5000000   # the bootstrap only, on other seeds

For each design it simulates studies from a crossed logistic model (rater and item random
intercepts, and in one design an assistance effect that varies by rater), runs the two
intervals the report gives for the primary contrast, and counts how often each covers the
truth it estimates:

- the two-way cluster interval of the accuracy difference (:func:`oversight_ext.analysis.effect`:
  Wilson / MOVER on the two-way cluster bootstrap variance), against the population
  difference in accuracy (the model's marginal means, integrated over raters and items by
  Monte Carlo with 4 million draws);
- the mixed model's Wald interval of the treatment log-odds (:func:`oversight_ext.analysis.fit_mixed`,
  lme4's nAGQ=0), against the planted fixed effect.

Each line prints coverage with its Monte-Carlo SE (sqrt(c (1 - c) / n)), the mean interval
width, and how many fits did not converge. Target: 0.95 (0.94-0.96 at n = 1,000). Baseline:
nominal 0.95; the ratio printed is coverage / 0.95. A full run (1,000 or more per design, every
design, both intervals, the default seeds) writes results/coverage.json (bench/figures.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import polars as pl
from scipy.special import expit

from oversight_ext.analysis import MixedConfig, effect, fit_mixed


@dataclass(frozen=True)
class Design:
    """One simulated study design: sizes, variance components and the planted effect (log-odds)."""

    name: str
    n_raters: int
    n_items: int
    per_cell: int  # raters per item and condition
    between: bool = False
    intercept: float = 0.4
    effect: float = 0.5
    sd_rater: float = 0.6
    sd_item: float = 1.0
    sd_slope: float = 0.0  # rater-to-rater variation of the assistance effect

    def marginal_difference(self) -> float:
        """Population accuracy difference (assisted - unassisted), integrated by Monte Carlo."""
        rng = np.random.default_rng(12345)
        m = 4_000_000
        base = self.intercept + rng.normal(0, self.sd_rater, m) + rng.normal(0, self.sd_item, m)
        slope = self.effect + (rng.normal(0, self.sd_slope, m) if self.sd_slope else 0.0)
        return float(np.mean(expit(base + slope)) - np.mean(expit(base)))


DESIGNS = {
    d.name: d
    for d in (
        Design("crossed", n_raters=24, n_items=40, per_cell=2),
        Design("between", n_raters=24, n_items=40, per_cell=2, between=True),
        Design("rater-slope", n_raters=24, n_items=40, per_cell=2, sd_slope=0.5),
        Design("small-lopsided", n_raters=12, n_items=30, per_cell=1, intercept=1.6, sd_rater=0.4, sd_item=0.8),
    )
}


def simulate(design: Design, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    d = design
    k = d.per_cell
    if d.between:
        half = d.n_raters // 2
        plain = np.argsort(rng.random((d.n_items, half)), axis=1)[:, :k]
        helped = half + np.argsort(rng.random((d.n_items, d.n_raters - half)), axis=1)[:, :k]
        rater = np.hstack([plain, helped]).ravel()
    else:
        rater = np.argsort(rng.random((d.n_items, d.n_raters)), axis=1)[:, : 2 * k].ravel()
    item = np.repeat(np.arange(d.n_items), 2 * k)
    assisted = np.tile(np.r_[np.zeros(k, int), np.ones(k, int)], d.n_items)
    slope = d.effect + rng.normal(0, d.sd_slope, d.n_raters) if d.sd_slope else np.full(d.n_raters, d.effect)
    eta = d.intercept + slope[rater] * assisted + rng.normal(0, d.sd_rater, d.n_raters)[rater] + rng.normal(0, d.sd_item, d.n_items)[item]
    return pl.DataFrame(
        {
            "rater": rater.astype(str),
            "item_id": item.astype(str),
            "condition": np.where(assisted == 1, "h", "u"),
            "correct": rng.random(item.size) < expit(eta),
        }
    )


def one(args: tuple[Design, int, float, bool]) -> tuple[bool, float, bool | None, float | None, bool]:
    """(bootstrap covers, its width, mixed covers, its width, mixed converged) for one study."""
    design, seed, truth, with_mixed = args
    f = simulate(design, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = effect(f, control="u", n_boot=500, seed=seed).row(0, named=True)
        boot = (e["ci_low"] <= truth <= e["ci_high"], e["ci_high"] - e["ci_low"])
        if not with_mixed:
            return (*boot, None, None, True)
        try:
            fit = fit_mixed(f, MixedConfig(control="u")).filter(pl.col("term") == "condition[h]").row(0, named=True)
        except ValueError:  # separation: no fit; counted as not covering and not converged
            return (*boot, False, float("nan"), False)
    return (*boot, fit["ci_low"] <= design.effect <= fit["ci_high"], fit["ci_high"] - fit["ci_low"], bool(fit["converged"]))


def covered(hits: list[bool]) -> tuple[float, float]:
    """Coverage and its Monte-Carlo SE."""
    c = float(np.mean(hits))
    return c, float(np.sqrt(c * (1 - c) / len(hits)))


def line(label: str, hits: list[bool], widths: list[float]) -> str:
    c, se = covered(hits)
    return f"   {label:<34} coverage {c:.3f} +/- {se:.3f} (MC SE)   mean width {np.nanmean(widths):.3f}   ratio to nominal 0.95: {c / 0.95:.3f}"


def save(rows: list[dict[str, str]], n: int) -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from figures import save as save_figures

    save_figures(
        "coverage",
        command="python bench/coverage.py --jobs 2",
        page="statistics",
        rows=rows,
        conditions=f"{n} simulated studies per design, seeds 17, 1017, ...; Monte-Carlo SE about 0.7 points",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="simulated studies per design (default 1000)")
    parser.add_argument("--quick", action="store_true", help="100 studies per design")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--designs", nargs="*", choices=list(DESIGNS), default=list(DESIGNS), help="designs to run")
    parser.add_argument("--no-mixed", action="store_true", help="the bootstrap interval only")
    parser.add_argument("--first-seed", type=int, default=17, help="seed of the first study (study k: first + 1000 k)")
    args = parser.parse_args()
    n = 100 if args.quick else args.n
    rows: list[dict[str, str]] = []
    print(f"coverage of the primary effect's 95% interval: {n} simulated studies per design, {len(args.designs)} designs")
    for name in args.designs:
        d = DESIGNS[name]
        truth = d.marginal_difference()
        t = time.perf_counter()
        work = [(d, 1000 * k + args.first_seed, truth, not args.no_mixed) for k in range(n)]
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                res = list(pool.map(one, work, chunksize=8))
        else:
            res = [one(w) for w in work]
        print(
            f"\n{name}: {d.n_raters} raters, {d.n_items} items, {d.per_cell} per item and condition"
            f"{' (between-subject)' if d.between else ''}; sd rater {d.sd_rater}, item {d.sd_item}, slope {d.sd_slope};"
            f" effect {d.effect} log-odds = {truth:+.4f} accuracy ({time.perf_counter() - t:.0f} s)"
        )
        print(line("two-way cluster (accuracy diff.)", [r[0] for r in res], [r[1] for r in res]))
        if not args.no_mixed:
            print(
                line(
                    "mixed model (log-odds, nAGQ=0)",
                    [bool(r[2]) for r in res],
                    [float(r[3]) if r[3] is not None else float("nan") for r in res],
                )
            )
            impossible = sum(r[3] is not None and r[3] != r[3] for r in res)
            print(
                f"   mixed model fits not converged: {sum(not r[4] for r in res) - impossible} of {n};"
                f" not possible (separation; counted as misses): {impossible}"
            )
            boot, mixed = covered([r[0] for r in res]), covered([bool(r[2]) for r in res])
            rows.append(
                {
                    "case": f"{name}: {d.n_raters} raters, {d.n_items} items, {d.per_cell} per item and condition"
                    f"{', between-subject' if d.between else ''}, slope sd {d.sd_slope}",
                    "figure": f"two-way cluster {boot[0]:.3f} +/- {boot[1]:.3f}; mixed model {mixed[0]:.3f} +/- {mixed[1]:.3f}",
                    "baseline": "nominal 0.95 (target 0.94-0.96)",
                    "ratio": f"{boot[0] / 0.95:.3f} / {mixed[0] / 0.95:.3f}",
                }
            )
    if not args.quick and n >= 1000 and args.first_seed == 17 and len(rows) == len(DESIGNS):
        save(rows, n)


if __name__ == "__main__":
    main()
