"""Power analysis speed and calibration: the closed-form two-way clustered test against statsmodels.

    python bench/power.py            # 2,000 simulated studies per check; baseline on 200
    python bench/power.py --quick    # 300 studies; baseline on 40

Prints, for one study size (30 raters, 60 items, overlap 2, within-subject):

- seconds per 1,000 simulated studies of ``estimate_power`` (vectorised two-way cluster-robust
  test) beside the straightforward version of the same computation measured in the same run:
  one ``statsmodels`` OLS fit with two-way clustered covariance per simulated study; the ratio;
- that both give the same standard errors (largest relative difference; the small-sample
  factors differ, so the comparison is without them);
- the calibration: coverage of the 95% interval with an effect of 0.10, and the rejection rate
  with no effect, over the full count of simulated studies, for both designs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import statsmodels.api as sm

from oversight_ext.study.power import PowerConfig, cluster_z, estimate_power, simulated_outcomes


def statsmodels_se(rater: np.ndarray, item: np.ndarray, treat: np.ndarray, y: np.ndarray) -> np.ndarray:
    X = sm.add_constant(treat)
    groups = np.column_stack([rater, item])
    out = []
    for row in y:
        fit = sm.OLS(row, X).fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
        out.append(fit.bse[1])
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    n_sims, n_base = (300, 40) if args.quick else (2000, 200)
    size = {"n_raters": 30, "n_items": 60, "overlap": 2}

    config = PowerConfig(effect=0.1, n_sims=n_sims, seed=1, **size)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    result = estimate_power(config)
    ours = (time.perf_counter() - t0) / n_sims * 1000

    rater, item, treat, y = simulated_outcomes(config, np.random.default_rng(2), n_base)
    t0 = time.perf_counter()
    base_se = statsmodels_se(rater, item, treat, y)
    base = (time.perf_counter() - t0) / n_base * 1000
    our_se = cluster_z(rater, item, treat, y, small_sample=False)["se"].to_numpy()
    judgments = int(result["judgments"][0])
    print(f"study size: {size['n_raters']} raters, {size['n_items']} items, overlap 2, {judgments} judgments per study")
    print(f"estimate_power (vectorised two-way cluster test): {ours:8.2f} s per 1,000 studies ({n_sims} simulated)")
    print(f"statsmodels OLS, two-way clustered, per study:    {base:8.2f} s per 1,000 studies ({n_base} simulated)")
    print(f"ratio: {base / ours:.1f}x faster; largest relative SE difference {np.max(np.abs(our_se / base_se - 1)):.2e}")

    print(f"calibration over {n_sims} simulated studies each (95% interval, alpha 0.05):")
    for design in ("within", "between"):
        with_effect = estimate_power(PowerConfig(effect=0.1, n_sims=n_sims, seed=3, design=design, **size))  # type: ignore[arg-type]
        null = estimate_power(PowerConfig(effect=0.0, n_sims=n_sims, seed=4, design=design, **size))  # type: ignore[arg-type]
        print(
            f"  {design:7s}: coverage with effect 0.10 = {with_effect['coverage'][0]:.3f}, power = {with_effect['power'][0]:.3f}; "
            f"false-positive rate with no effect = {null['power'][0]:.3f}"
        )


if __name__ == "__main__":
    main()
