"""Power analysis by simulation: how many raters and items a study needs.

Each simulated study uses the real assignment table :func:`design.assign` would freeze (two
conditions, the given overlap and design), draws correctness from a logistic model with
rater and item random effects, and tests the accuracy difference:

- ``test="cluster_z"`` (default): the difference in means with the two-way cluster-robust
  variance of Cameron, Gelbach and Miller (2011), ``V_rater + V_item - V_judgment``, with
  their G/(G-1) factors and a t reference on ``min(G) - 1`` degrees of freedom. Closed form,
  so thousands of studies take seconds.
- ``test="bootstrap"``: the analysis package's two-way cluster bootstrap
  (:func:`oversight_ext.analysis.effects.effect`), the interval the report shows. Slower.

``effect`` is on the accuracy scale: the intercepts are solved so that the *marginal*
accuracy (averaged over raters and items) is ``base_accuracy`` unassisted and
``base_accuracy + effect`` assisted, which is the quantity the analysis estimates.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import optimize, sparse, stats
from tqdm.auto import tqdm

from oversight_ext.options import check_fields, option
from oversight_ext.records import Study

from .config import StudyConfig
from .design import assign

__all__ = ["PowerConfig", "estimate_power", "search_power", "simulated_outcomes"]


@dataclass(frozen=True)
class PowerConfig:
    """What the researcher expects, and the study size to check."""

    base_accuracy: float = option("expected accuracy without assistance", 0.65)
    effect: float = option("expected gain in accuracy with assistance (0.10 = ten points)", 0.10)
    n_raters: int = option("raters in the study", 20)
    n_items: int = option("items in the study", 40)
    overlap: int = option("raters per item and condition", 1)
    design: Literal["within", "between"] = option("'within' or 'between' subjects", "within")
    rater_sd: float = option("spread of rater skill, logit scale", 0.5)
    item_sd: float = option("spread of item difficulty, logit scale", 0.8)
    alpha: float = option("two-sided significance level", 0.05)
    n_sims: int = option("simulated studies per estimate", 500)
    test: Literal["cluster_z", "bootstrap"] = option("'cluster_z' (closed form, fast) or 'bootstrap' (the report's interval)", "cluster_z")
    n_boot: int = option("bootstrap resamples per simulated study (test='bootstrap')", 200)
    seed: int = option("seed of the simulation", 0)

    def __post_init__(self) -> None:
        if not 0 < self.base_accuracy < 1 or not 0 < self.base_accuracy + self.effect < 1:
            raise ValueError(
                f"PowerConfig: base_accuracy={self.base_accuracy!r} and base_accuracy + effect={self.base_accuracy + self.effect!r} "
                "must both lie strictly between 0 and 1"
            )
        check_fields(self, ("n_raters", "n_items", "overlap", "n_sims", "n_boot"), "count")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"PowerConfig.seed = {self.seed!r} is invalid: give a whole number")
        if not 0 < self.alpha < 1:
            raise ValueError(f"PowerConfig.alpha = {self.alpha!r} is invalid: give a level such as 0.05")
        if self.rater_sd < 0 or self.item_sd < 0:
            raise ValueError("PowerConfig: rater_sd and item_sd must be >= 0")
        if self.test not in ("cluster_z", "bootstrap"):
            raise ValueError(f"PowerConfig.test = {self.test!r} is invalid: use 'cluster_z' or 'bootstrap'")
        self.study()  # refuses an impossible design (e.g. overlap larger than raters) now

    @classmethod
    def for_study(cls, study: StudyConfig | Study, n_items: int, **kw: Any) -> PowerConfig:
        """The power question for one contrast of ``study`` (its raters, overlap and design).

        Each contrast compares two conditions with ``n_items x overlap`` judgments each, as
        in a two-condition study of the same size, which is what this simulates.
        """
        if study.design == "between":
            # Between subjects, a contrast involves only the two conditions' groups of raters.
            n_raters = 2 * (study.n_raters // len(study.conditions))
        else:
            n_raters = study.n_raters
        return cls(n_raters=n_raters, n_items=n_items, overlap=study.overlap, design=study.design, seed=study.seed, **kw)

    def study(self) -> StudyConfig:
        """The two-condition study whose frozen table the simulation uses."""
        return StudyConfig(
            name="power",
            conditions=({"name": "unassisted"}, {"name": "assisted"}),  # type: ignore[arg-type]
            seed=self.seed,
            design=self.design,
            overlap=self.overlap,
            open_slots=self.n_raters,
        )


def _intercept(p: float, sd: float) -> float:
    """b with E[sigmoid(b + sd Z)] = p, Z standard normal (Gauss-Hermite quadrature)."""
    x, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    return float(optimize.brentq(lambda b: float(np.sum(w / (1 + np.exp(-(b + sd * x))))) - p, -30, 30))


def _table(config: PowerConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = assign(config.study(), [f"i{i}" for i in range(config.n_items)])
    raters = {r: k for k, r in enumerate(sorted({a.rater for a in table}))}
    rater = np.array([raters[a.rater] for a in table])
    item = np.array([int(a.item_id[1:]) for a in table])
    treat = np.array([a.condition == "assisted" for a in table], dtype=np.float64)
    return rater, item, treat


def simulated_outcomes(config: PowerConfig, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` simulated studies: (rater, item, treat) of the table and an n x judgments 0/1 matrix."""
    rater, item, treat = _table(config)
    total = float(np.hypot(config.rater_sd, config.item_sd))
    b0 = _intercept(config.base_accuracy, total)
    b1 = _intercept(config.base_accuracy + config.effect, total) - b0
    u = rng.standard_normal((n, int(rater.max()) + 1)) * config.rater_sd
    v = rng.standard_normal((n, config.n_items)) * config.item_sd
    eta = b0 + b1 * treat + u[:, rater] + v[:, item]
    y = (rng.random(eta.shape) < 1 / (1 + np.exp(-eta))).astype(np.float64)
    return rater, item, treat, y


def _cluster_meat(cluster: np.ndarray, scores: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum over clusters of the squared cluster sums of the treatment-coefficient score."""
    onehot = sparse.csr_matrix((np.ones(len(cluster)), (np.arange(len(cluster)), cluster)), shape=(len(cluster), n_clusters))
    sums = np.asarray((onehot.T @ scores.T).T)
    return np.asarray((sums**2).sum(axis=1))


def cluster_z(
    rater: np.ndarray, item: np.ndarray, treat: np.ndarray, y: np.ndarray, level: float = 0.95, *, small_sample: bool = True
) -> pl.DataFrame:
    """Per simulated study (rows of ``y``): difference in means, two-way cluster SE, interval, p.

    ``small_sample=False`` drops the G/(G-1) factors (then it equals statsmodels' OLS with
    ``cov_type="cluster"`` on both groupings and ``use_correction=False``).
    """
    n_r, n_i = int(rater.max()) + 1, int(item.max()) + 1
    n1, n0 = treat.sum(), (1 - treat).sum()
    m1, m0 = (y @ treat) / n1, (y @ (1 - treat)) / n0
    diff = m1 - m0
    resid = y - np.where(treat > 0, m1[:, None], m0[:, None])
    # The OLS influence of each judgment on the difference in means (the treatment
    # coefficient's score times the bread): e/n1 for treated, -e/n0 for controls.
    scores = resid * np.where(treat > 0, 1 / n1, -1 / n0)
    n = len(treat)
    v_r, v_i, v_e = _cluster_meat(rater, scores, n_r), _cluster_meat(item, scores, n_i), (scores**2).sum(axis=1)
    if small_sample:
        v_r, v_i, v_e = v_r * n_r / max(n_r - 1, 1), v_i * n_i / max(n_i - 1, 1), v_e * n / max(n - 1, 1)
    var = v_r + v_i - v_e
    var = np.where(var > 0, var, np.maximum(v_r, v_i))
    se = np.sqrt(var)
    dof = max(min(n_r, n_i) - 1, 1)
    q = stats.t.ppf(0.5 + level / 2, dof)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2 * stats.t.sf(np.abs(diff) / se, dof)
    return pl.DataFrame({"difference": diff, "se": se, "ci_low": diff - q * se, "ci_high": diff + q * se, "p_value": p})


def _bootstrap(config: PowerConfig, rater: np.ndarray, item: np.ndarray, treat: np.ndarray, y: np.ndarray) -> pl.DataFrame:
    from oversight_ext.analysis.effects import effect

    rows = []
    for s in range(y.shape[0]):
        frame = pl.DataFrame(
            {
                "rater": [f"r{r}" for r in rater],
                "item_id": [f"i{i}" for i in item],
                "condition": np.where(treat > 0, "assisted", "unassisted"),
                "correct": y[s],
            }
        )
        level = 1 - config.alpha
        out = effect(frame, control="unassisted", treatments=["assisted"], n_boot=config.n_boot, seed=config.seed + s, level=level)
        rows.append(out.select("difference", "se", "ci_low", "ci_high", "p_value"))
    return pl.concat(rows)


def estimate_power(config: PowerConfig, *, progress: bool = False) -> pl.DataFrame:
    """One row: power (share of simulated studies rejecting no effect), interval coverage of the
    true effect, mean estimate and SE, and the study size. Deterministic per ``config.seed``."""
    rng = np.random.default_rng([config.seed, 23])
    chunk = max(1, min(config.n_sims, 2_000_000 // max(1, config.n_items * config.overlap * 2)))
    results = []
    with tqdm(total=config.n_sims, desc="power", unit="study", disable=not progress) as bar:
        done = 0
        while done < config.n_sims:
            n = min(chunk, config.n_sims - done)
            rater, item, treat, y = simulated_outcomes(config, rng, n)
            if config.test == "cluster_z":
                results.append(cluster_z(rater, item, treat, y, level=1 - config.alpha))
            else:
                results.append(_bootstrap(config, rater, item, treat, y))
            done += n
            bar.update(n)
    sims = pl.concat(results)
    truth = config.effect
    return pl.DataFrame(
        {
            "n_raters": [config.n_raters],
            "n_items": [config.n_items],
            "overlap": [config.overlap],
            "design": [config.design],
            "judgments": [len(treat)],
            "effect": [truth],
            "power": [float((sims["p_value"] < config.alpha).mean())],  # type: ignore[arg-type]
            "coverage": [float(((sims["ci_low"] <= truth) & (truth <= sims["ci_high"])).mean())],  # type: ignore[arg-type]
            "mean_estimate": [float(sims["difference"].mean())],  # type: ignore[arg-type]
            "mean_se": [float(sims["se"].mean())],  # type: ignore[arg-type]
            "n_sims": [config.n_sims],
            "test": [config.test],
        }
    )


def _smallest(config: PowerConfig, vary: str) -> int:
    # Both designs need overlap raters in each of the two conditions.
    return 2 if vary == "n_items" else 2 * config.overlap


def search_power(
    config: PowerConfig,
    *,
    vary: Literal["n_raters", "n_items"] = "n_raters",
    target: float = 0.8,
    max_n: int = 2000,
    progress: bool = False,
) -> tuple[int | None, pl.DataFrame]:
    """The smallest ``vary`` (raters or items) whose simulated power reaches ``target``;
    ``None`` if even ``max_n`` does not. Also every size tried.

    Varying items holds the raters fixed (each rater judges more). Varying raters holds each
    rater's workload at ``config``'s (``2 x n_items x overlap / n_raters`` judgments), so the
    item pool grows with the raters: with a fixed pool and overlap, more raters would only
    spread the same judgments thinner.

    Doubling finds a size that is enough, then bisection the smallest; each size is
    simulated with the same seed so the comparison between sizes is not blurred by noise.
    """
    if vary not in ("n_raters", "n_items"):
        raise ValueError(f"search_power(vary={vary!r}): use 'n_raters' or 'n_items'")
    if not 0 < target < 1:
        raise ValueError(f"search_power(target={target!r}): give a power between 0 and 1, e.g. 0.8")
    tried: dict[int, pl.DataFrame] = {}

    workload = 2 * config.n_items * config.overlap / config.n_raters

    def power_at(n: int) -> float:
        if n not in tried:
            change: dict[str, Any] = {vary: n}
            if vary == "n_raters":
                change["n_items"] = max(2, round(n * workload / (2 * config.overlap)))
            tried[n] = estimate_power(dataclasses.replace(config, **change))
        return float(tried[n]["power"][0])

    lo = _smallest(config, vary)
    hi = lo
    with tqdm(desc=f"power search over {vary}", unit="size", disable=not progress) as bar:
        while power_at(hi) < target:
            bar.update(1)
            if hi >= max_n:
                frame = pl.concat(tried[n] for n in sorted(tried))
                return None, frame.with_columns((pl.col("power") >= target).alias("reaches_target"))
            lo, hi = hi, min(max_n, hi * 2)
        while hi - lo > 1 and lo < hi:
            mid = (lo + hi) // 2
            bar.update(1)
            if power_at(mid) >= target:
                hi = mid
            else:
                lo = mid
    frame = pl.concat(tried[n] for n in sorted(tried))
    return hi, frame.with_columns((pl.col("power") >= target).alias("reaches_target"))
