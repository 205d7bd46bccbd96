"""The effect of assistance: differences between conditions with two-way cluster intervals,
McNemar's test on paired items, and order effects.

Raters and items are both sources of correlation (a skilled rater is right on many items, an
easy item is judged right by many raters), so an interval that treats judgments as
independent is too narrow. :func:`effect` uses the two-way cluster bootstrap in the form
of Cameron, Gelbach and Miller (2011, "Robust inference with multiway clustering"): one
bootstrap resampling raters (with all their judgments), one resampling items, and the
variance ``V = V_rater + V_item - V_cell``, where ``V_cell`` is the variance under
resampling single (rater, item) cells. Subtracting ``V_cell`` removes the judgment-level
noise that both one-way bootstraps count. The product-weight ("pigeonhole") bootstrap
(Owen 2007) counts that noise about three times over, which for sparse rating designs
(each rater sees a few dozen items) makes 95% intervals cover nearly always. ``V_cell`` is
the resampling variance computed exactly (the B -> infinity limit) rather than drawn, since
a cell bootstrap of a million judgments costs a million draws per resample. Each term gets
CGM's G / (G - 1) factor and the interval uses a t quantile on min(raters, items) - 1
degrees of freedom. Resamples are weights: a B x R count matrix times the per-rater sums,
so 1,000 resamples of any number of judgments cost one small matrix product per clustering.

The bootstrap gives variances; the intervals of 0/1 outcomes are built from them so they
stay inside [0, 1] (:mod:`.intervals`: Wilson on the effective sample size for a mean, MOVER
with the arms' correlation for a difference). Other outcomes keep the t interval. Where the
variance falls back, or an outcome does not vary, a :class:`IntervalWarning` says so (the
report lists it) beside the row's ``note``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from .frames import with_correct
from .intervals import effective_n, mover_difference, wilson
from .qc import drops_qc

__all__ = ["IntervalWarning", "condition_means", "default_control", "effect", "mcnemar", "order_effects"]


class IntervalWarning(UserWarning):
    """An interval rests on a fallback (a variance replaced, an outcome without variation)."""


def default_control(frame: pl.DataFrame, condition: str = "condition") -> str | None:
    """The baseline condition: the first unassisted one if the frame says, else the first by name."""
    if condition == "condition" and "condition_kind" in frame.columns:
        plain = frame.filter(pl.col("condition_kind") == "unassisted")["condition"].unique().sort().to_list()
        if plain:
            return str(plain[0])
    names = frame[condition].drop_nulls().unique().sort().to_list() if condition in frame.columns else []
    return str(names[0]) if names else None


def _counts(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """B x n multinomial counts: resampling n clusters with replacement, B times."""
    draws = rng.integers(0, n, size=(n_boot, n))
    draws += np.arange(0, n_boot * n, n)[:, None]  # in place: row b's draws land in slots b*n...
    return np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n)


def _cluster_sums(index: np.ndarray, cond: np.ndarray, y: np.ndarray, n_clusters: int, n_cond: int) -> tuple[np.ndarray, np.ndarray]:
    key = index * n_cond + cond
    sums = np.bincount(key, weights=y, minlength=n_clusters * n_cond).reshape(n_clusters, n_cond)
    counts = np.bincount(key, minlength=n_clusters * n_cond).reshape(n_clusters, n_cond).astype(np.float64)
    return sums, counts


def _boot_var(w: np.ndarray, sums: np.ndarray, counts: np.ndarray, contrasts: np.ndarray) -> np.ndarray:
    """Bootstrap variance of each contrast (row of ``contrasts``) of the condition means."""
    both = w.astype(np.float64) @ np.hstack([sums, counts])  # one product for numerators and denominators
    k = sums.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = both[:, :k] / both[:, k:]
    return np.asarray(np.nanvar(means @ contrasts.T, axis=0, ddof=1))


def _codes(f: pl.DataFrame, outcome: str, condition: str, names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    f = f.filter(pl.col(condition).cast(pl.Utf8).is_in(names))
    cond = f[condition].cast(pl.Utf8).replace_strict({n: k for k, n in enumerate(names)}, return_dtype=pl.Int64).to_numpy()
    # Dense integer codes from polars (numpy's unique on a million Python strings takes seconds).
    codes = f.select(
        (pl.col(c).cast(pl.Utf8).cast(pl.Categorical).to_physical().rank("dense").cast(pl.Int64) - 1) for c in ("rater", "item_id")
    )
    r, i = codes["rater"].to_numpy(), codes["item_id"].to_numpy()
    return r, i, cond, f[outcome].cast(pl.Float64).to_numpy()


def _interval(v_r: np.ndarray, v_i: np.ndarray, v_cell: np.ndarray, n_r: int, n_i: int, level: float) -> tuple:
    """(variance, notes, t quantile, degrees of freedom) per contrast; a variance that is
    not positive falls back to the larger one-way variance, with a warning."""
    var = v_r + v_i - v_cell
    fallback = "V_rater + V_item - V_cell <= 0: used the larger one-way variance"
    # A zero variance with no variation at all is no fallback: that case gets its own note.
    notes = ["" if v > 0 or max(a, b) <= 0 else fallback for v, a, b in zip(var, v_r, v_i)]
    if any(notes):
        warnings.warn(f"two-way cluster variance: {fallback} for {sum(map(bool, notes))} contrast(s)", IntervalWarning, stacklevel=4)
    var = np.where(var > 0, var, np.maximum(v_r, v_i))
    dof = max(min(n_r, n_i) - 1, 1)
    return var, notes, float(stats.t.ppf(0.5 + level / 2, dof)), dof


def _binary(y: np.ndarray) -> bool:
    return bool(np.all((y == 0) | (y == 1)))


def _no_variation(y: np.ndarray, cond: np.ndarray, k: int, outcome: str) -> str:
    """A note when arm ``k`` has judgments that all share one value (else "")."""
    arm = y[cond == k]
    if arm.size and np.all(arm == arm[0]):
        return f"no variation: every {outcome} in this arm is {arm[0]:g} (Wilson interval on its {arm.size} judgments)"
    return ""


def _two_way(
    r: np.ndarray, i: np.ndarray, cond: np.ndarray, y: np.ndarray, contrasts: np.ndarray, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Condition means and, per contrast, the rater, item and cell variances (CGM-scaled)."""
    n_r, n_i, n_c = int(r.max()) + 1, int(i.max()) + 1, contrasts.shape[1]
    sum_r, cnt_r = _cluster_sums(r, cond, y, n_r, n_c)
    sum_i, cnt_i = _cluster_sums(i, cond, y, n_i, n_c)
    cnt = cnt_r.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sum_r.sum(0) / cnt
    rng = np.random.default_rng(seed)
    v_r = _boot_var(_counts(rng, n_r, n_boot), sum_r, cnt_r, contrasts)
    v_i = _boot_var(_counts(rng, n_i, n_boot), sum_i, cnt_i, contrasts)
    # Influence of each judgment on each contrast, summed within (rater, item) cells.
    psi = (y - means[cond]) / cnt[cond]
    cell = np.unique(r * n_i + i, return_inverse=True)[1]
    v_cell = np.array([np.sum(np.bincount(cell, weights=psi * row[cond]) ** 2) for row in contrasts])
    # CGM's small-sample factors G / (G - 1) per clustering; :func:`effect` adds a t quantile
    # on min(G) - 1 degrees of freedom: with few raters the normal interval is too short.
    n_cells = int(cell.max()) + 1
    scale = np.array([n_r / max(n_r - 1, 1), n_i / max(n_i - 1, 1), n_cells / max(n_cells - 1, 1)])
    return means, v_r * scale[0], v_i * scale[1], v_cell * scale[2]


@drops_qc
def effect(
    frame: pl.DataFrame,
    *,
    outcome: str = "correct",
    control: str | None = None,
    treatments: Sequence[str] | None = None,
    condition: str = "condition",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """Difference in the mean of ``outcome`` (treatment - control) with a two-way cluster interval.

    One row per treatment: means and counts, ``difference``, ``se`` (and its rater, item
    and cell parts), the ``level`` interval, a two-sided ``p_value``, and ``note`` where the
    variance had to fall back (see CGM 2011: V_rater + V_item - V_cell < 0 uses the larger
    one-way variance). Rows with a null outcome are left out.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 2:
        raise ValueError(f"n_boot={n_boot!r}: give an integer number of bootstrap resamples >= 2 (e.g. 1000)")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: give the interval's coverage as a fraction, e.g. 0.95")
    for col in ("rater", "item_id", condition, outcome if outcome != "correct" or "label" not in frame.columns else "label"):
        if col not in frame.columns:
            raise ValueError(f"the frame has no column {col!r}; give a study frame (analysis.study_frame) or add it")
    # Only the columns used: filtering a study frame's list columns costs more than the bootstrap.
    keep = ["rater", "item_id", condition, outcome, "label", "verdict", "condition_kind"]
    frame = frame.select(list(dict.fromkeys(c for c in keep if c in frame.columns)))
    if outcome == "correct" and "label" in frame.columns:
        frame = with_correct(frame)
    f = frame.filter(pl.col(outcome).is_not_null() & pl.col(condition).is_not_null())
    control = control if control is not None else default_control(f, condition)
    present = set(f[condition].cast(pl.Utf8).unique().to_list())
    if treatments is None:
        treatments = sorted(present - {control})
    out_schema = {
        "treatment": pl.Utf8,
        "control": pl.Utf8,
        "outcome": pl.Utf8,
        "n_treatment": pl.Int64,
        "n_control": pl.Int64,
        "mean_treatment": pl.Float64,
        "mean_control": pl.Float64,
        "difference": pl.Float64,
        "se": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "p_value": pl.Float64,
        "se_rater": pl.Float64,
        "se_item": pl.Float64,
        "se_cell": pl.Float64,
        "n_raters": pl.Int64,
        "n_items": pl.Int64,
        "note": pl.Utf8,
    }
    if control is None or control not in present or not treatments:
        return pl.DataFrame(schema=out_schema)
    names = [control, *treatments]
    r, i, cond, y = _codes(f, outcome, condition, names)
    contrasts = np.zeros((len(treatments), len(names)))
    contrasts[:, 0] = -1.0
    contrasts[np.arange(len(treatments)), np.arange(1, len(names))] = 1.0
    # The arms' own variances too: the MOVER interval needs them and their correlation.
    both = np.vstack([contrasts, np.eye(len(names))])
    means, v_r, v_i, v_cell = _two_way(r, i, cond, y, both, n_boot, seed)
    cnt = np.bincount(cond, minlength=len(names))
    diff = contrasts @ means
    n_r, n_i = int(r.max()) + 1, int(i.max()) + 1
    var_all, notes, z, dof = _interval(v_r, v_i, v_cell, n_r, n_i, level)
    var, arm_var = var_all[: len(treatments)], var_all[len(treatments) :]
    se = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2 * stats.t.sf(np.abs(diff) / se, dof)
    if _binary(y):
        lo_arm, hi_arm = wilson(means, effective_n(means, arm_var, cnt), z)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = (arm_var[1:] + arm_var[0] - var) / (2 * np.sqrt(arm_var[1:] * arm_var[0]))
        low, high = mover_difference(means[1:], lo_arm[1:], hi_arm[1:], means[0], lo_arm[0], hi_arm[0], corr)
    else:
        low, high = diff - z * se, diff + z * se
    flat = [_no_variation(y, cond, k, outcome) for k in range(len(names))]
    rows = []
    for k, name in enumerate(treatments):
        row_notes = [n for n in (notes[k], flat[0], flat[k + 1]) if n]
        if flat[0] and flat[k + 1] and diff[k] == 0:
            p[k] = 1.0  # both arms constant and equal: no evidence of a difference
        rows.append(
            {
                "treatment": name,
                "control": control,
                "outcome": outcome,
                "n_treatment": int(cnt[k + 1]),
                "n_control": int(cnt[0]),
                "mean_treatment": float(means[k + 1]),
                "mean_control": float(means[0]),
                "difference": float(diff[k]),
                "se": float(se[k]),
                "ci_low": float(low[k]),
                "ci_high": float(high[k]),
                "p_value": float(p[k]),
                "se_rater": float(np.sqrt(v_r[k])),
                "se_item": float(np.sqrt(v_i[k])),
                "se_cell": float(np.sqrt(v_cell[k])),
                "n_raters": n_r,
                "n_items": n_i,
                "note": "; ".join(dict.fromkeys(row_notes)) or None,
            }
        )
    if any(flat):
        warnings.warn(f"{outcome}: an arm without variation; its interval is Wilson's on the raw count", IntervalWarning, stacklevel=3)
    return pl.DataFrame(rows, schema=out_schema).with_columns(pl.col(pl.Float64).fill_nan(None))


@drops_qc
def condition_means(
    frame: pl.DataFrame, *, outcome: str = "correct", condition: str = "condition", n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> pl.DataFrame:
    """Mean of ``outcome`` per condition with the two-way cluster variance of :func:`effect`;
    for a 0/1 outcome the interval is Wilson's on the effective sample size (inside [0, 1]),
    and ``note`` says where a condition's outcome does not vary."""
    schema = {
        condition: pl.Utf8,
        "n": pl.Int64,
        "mean": pl.Float64,
        "se": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "note": pl.Utf8,
    }
    f = frame.filter(pl.col(outcome).is_not_null() & pl.col(condition).is_not_null())
    names = sorted(f[condition].cast(pl.Utf8).unique().to_list())
    if not names:
        return pl.DataFrame(schema=schema)
    r, i, cond, y = _codes(f, outcome, condition, names)
    means, v_r, v_i, v_cell = _two_way(r, i, cond, y, np.eye(len(names)), max(n_boot, 2), seed)
    var, _, z, _ = _interval(v_r, v_i, v_cell, int(r.max()) + 1, int(i.max()) + 1, level)
    cnt = np.bincount(cond, minlength=len(names))
    se = np.sqrt(var)
    if _binary(y):
        low, high = wilson(means, effective_n(means, var, cnt), z)
    else:
        low, high = means - z * se, means + z * se
    flat = [_no_variation(y, cond, k, outcome) for k in range(len(names))]
    if any(flat):
        warnings.warn(f"{outcome}: a condition without variation; its interval is Wilson's on the raw count", IntervalWarning, stacklevel=3)
    out = pl.DataFrame(
        {condition: names, "n": cnt, "mean": means, "se": se, "ci_low": low, "ci_high": high, "note": [f or None for f in flat]},
        schema=schema,
    )
    return out.with_columns(pl.col(pl.Float64).fill_nan(None))


@drops_qc
def mcnemar(frame: pl.DataFrame, *, treatment: str, control: str, outcome: str = "correct", condition: str = "condition") -> pl.DataFrame:
    """McNemar's test on items judged under both conditions (statsmodels).

    An item counts as right under a condition when most of its judgments there are right;
    items with a tie are left out (``n_ties``). The exact binomial test is used when fewer
    than 25 items disagree, the chi-square with continuity correction otherwise.
    """
    f = frame.filter(pl.col(outcome).is_not_null() & pl.col(condition).is_in([treatment, control]))
    per_item = (
        f.group_by("item_id", condition)
        .agg(pl.col(outcome).cast(pl.Float64).mean().alias("m"))
        .pivot(on=condition, index="item_id", values="m")
    )
    schema = {
        "treatment": pl.Utf8,
        "control": pl.Utf8,
        "n_items": pl.Int64,
        "both": pl.Int64,
        "control_only": pl.Int64,
        "treatment_only": pl.Int64,
        "neither": pl.Int64,
        "n_ties": pl.Int64,
        "statistic": pl.Float64,
        "p_value": pl.Float64,
        "exact": pl.Boolean,
    }
    if treatment not in per_item.columns or control not in per_item.columns:
        return pl.DataFrame(schema=schema)
    paired = per_item.drop_nulls([treatment, control])
    tie = (paired[treatment] == 0.5) | (paired[control] == 0.5)
    paired = paired.filter(~tie)
    t = (paired[treatment] > 0.5).to_numpy()
    c = (paired[control] > 0.5).to_numpy()
    table = np.array([[np.sum(c & t), np.sum(c & ~t)], [np.sum(~c & t), np.sum(~c & ~t)]])
    exact = bool(table[0, 1] + table[1, 0] < 25)
    if table[0, 1] + table[1, 0] == 0:
        statistic, p_value = float("nan"), 1.0
    else:
        res = sm_mcnemar(table, exact=exact, correction=True)
        statistic, p_value = float(res.statistic), float(res.pvalue)
    row = {
        "treatment": treatment,
        "control": control,
        "n_items": int(table.sum()),
        "both": int(table[0, 0]),
        "control_only": int(table[0, 1]),
        "treatment_only": int(table[1, 0]),
        "neither": int(table[1, 1]),
        "n_ties": int(tie.sum()),
        "statistic": statistic,
        "p_value": p_value,
        "exact": exact,
    }
    return pl.DataFrame([row], schema=schema).with_columns(pl.col("statistic").fill_nan(None))


@drops_qc
def order_effects(frame: pl.DataFrame, *, outcome: str = "correct", n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> pl.DataFrame:
    """Does the outcome drift along a rater's queue? Per condition, the last half of each
    rater's queue minus the first half (``mean_late - mean_early``), with the same two-way cluster interval as :func:`effect`.
    Fatigue or learning shows as a difference; a design that is not counterbalanced shows it
    confounded with the condition effect."""
    if "position" not in frame.columns:
        raise ValueError("the frame has no 'position' column; give a study frame (analysis.study_frame)")
    f = frame.filter(pl.col(outcome).is_not_null()).with_columns(
        pl.when(pl.col("position").rank("ordinal").over("rater") > pl.len().over("rater") / 2)
        .then(pl.lit("late"))
        .otherwise(pl.lit("early"))
        .alias("half")
    )
    parts = []
    for name in f["condition"].unique().sort().to_list():
        res = effect(
            f.filter(pl.col("condition") == name),
            outcome=outcome,
            condition="half",
            control="early",
            treatments=["late"],
            n_boot=n_boot,
            level=level,
            seed=seed,
        )
        parts.append(res.with_columns(pl.lit(name).alias("condition")))
    if not parts:
        return effect(f, outcome=outcome, condition="half", control="early", treatments=["late"]).with_columns(
            pl.lit(None, pl.Utf8).alias("condition")
        )
    names = {"n_treatment": "n_late", "n_control": "n_early", "mean_treatment": "mean_late", "mean_control": "mean_early"}
    return pl.concat(parts).select("condition", pl.exclude("condition", "treatment", "control")).rename(names)
