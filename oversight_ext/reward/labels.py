"""Combining rater judgments into one training label per item, keeping track of provenance.

Judgments are read from the study frame (:mod:`oversight_ext.analysis.frames`), as every
analysis reads them. Each judgment is a vote for "correct" or "buggy". Votes are weighted by the study condition
they were given under (``condition_weights``, by condition name or kind) and by the rater's
reliability on gold QC items; they are then combined by majority, by confidence, or by
Dawid-Skene (1979) EM, which learns each rater's confusion matrix. The result is a frame
``item_id, label, weight, n_labels`` where ``label`` is P(correct), ready for
:func:`oversight_ext.reward.data.pairs_from_items`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from oversight_ext.store import Store

__all__ = ["LABEL_SCHEMA", "aggregate", "condition_kinds", "judgment_labels", "rater_reliability", "votes"]

LABEL_SCHEMA = {"item_id": pl.Utf8, "label": pl.Float64, "weight": pl.Float64, "n_labels": pl.Int64}


def condition_kinds(store: Store, study: str) -> dict[str, str]:
    """Condition name -> "assisted" | "unassisted", as the typed study defines it (one rule for every layer)."""
    return dict(store.study(study).condition_kinds())


def _frame(store: Store, study: str) -> pl.DataFrame:
    from oversight_ext.analysis.frames import study_frame

    return study_frame(store, study)


def rater_reliability(store: Store, study: str, *, frame: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each rater's accuracy on the study's gold QC items, Laplace-smoothed: (right + 1) / (n + 2).

    A rater with no QC judgments gets 0.5 of evidence either way, i.e. weight 0.5. ``frame``
    is the study frame when the caller has it already.
    """
    f = _frame(store, study) if frame is None else frame
    qc = f.filter(pl.col("is_qc").fill_null(False) & pl.col("label").is_not_null())
    right = {r["rater"]: (r["k"], r["n"]) for r in qc.group_by("rater").agg(
        pl.col("correct").cast(pl.Int64).sum().alias("k"), pl.len().alias("n")).iter_rows(named=True)}  # fmt: skip
    rows = []
    for r in sorted(set(f["rater"].to_list())):
        k, n = right.get(r, (0, 0))
        rows.append({"rater": r, "qc_n": int(n), "qc_right": int(k), "reliability": (k + 1) / (n + 2)})
    return pl.DataFrame(rows, schema={"rater": pl.Utf8, "qc_n": pl.Int64, "qc_right": pl.Int64, "reliability": pl.Float64})


def votes(
    store: Store,
    study: str,
    *,
    conditions: Sequence[str] | None = None,
    condition_weights: Mapping[str, float] | None = None,
    reliability_weighting: bool = True,
    include_qc: bool = False,
) -> pl.DataFrame:
    """Current judgments as weighted votes: ``item_id, rater, condition, kind, vote (1 = correct), confidence, weight``.

    Read from the study frame (:func:`oversight_ext.analysis.frames.study_frame`), the rows
    every analysis reads. ``conditions`` keeps only judgments made under those condition names
    or kinds (e.g. ``["unassisted"]``). QC items are left out unless ``include_qc``: their gold
    already measured the raters.
    """
    frame = _frame(store, study)
    kinds = condition_kinds(store, study)
    rel = (
        {r["rater"]: r["reliability"] for r in rater_reliability(store, study, frame=frame).iter_rows(named=True)}
        if reliability_weighting
        else {}
    )
    cw = dict(condition_weights or {})
    rows = []
    for j in frame.iter_rows(named=True):
        kind = j["condition_kind"] or kinds.get(j["condition"]) or ""
        if conditions is not None and j["condition"] not in conditions and kind not in conditions:
            continue
        if j["is_qc"] and not include_qc:
            continue
        w = cw.get(j["condition"], cw.get(kind, 1.0)) * (rel.get(j["rater"], 1.0) if reliability_weighting else 1.0)
        rows.append(
            {
                "item_id": j["item_id"],
                "rater": j["rater"],
                "condition": j["condition"],
                "kind": kind,
                "vote": 1 if j["verdict"] == "correct" else 0,
                "confidence": float(j["confidence"]),
                "weight": float(w),
            }
        )
    schema = {
        "item_id": pl.Utf8,
        "rater": pl.Utf8,
        "condition": pl.Utf8,
        "kind": pl.Utf8,
        "vote": pl.Int64,
        "confidence": pl.Float64,
        "weight": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def aggregate(votes_frame: pl.DataFrame, method: str = "dawid_skene", *, max_iter: int = 50) -> pl.DataFrame:
    """One label per item from weighted votes; ``label`` is P(correct), ``weight`` the items' mean vote weight (mean 1)."""
    if method not in ("majority", "confidence", "dawid_skene"):
        raise ValueError(f"aggregation = {method!r} is invalid: use 'majority', 'confidence' or 'dawid_skene'")
    if votes_frame.height == 0:
        return pl.DataFrame(schema=LABEL_SCHEMA)
    v = votes_frame
    if method == "majority":
        per = v.group_by("item_id").agg(
            ((pl.col("vote") * pl.col("weight")).sum() / pl.col("weight").sum().clip(1e-12)).alias("share"),
        )
        # A strict majority is a hard label; an exact split stays undecided at 0.5.
        per = per.with_columns(pl.when(pl.col("share") > 0.5).then(1.0).when(pl.col("share") < 0.5).then(0.0).otherwise(0.5).alias("label"))
    elif method == "confidence":
        # A verdict at confidence c says P(correct) = 0.5 +/- c/2; votes add in log-odds.
        p = (0.5 + (pl.col("vote") * 2 - 1) * pl.col("confidence") / 2).clip(0.02, 0.98)
        v = v.with_columns(((p / (1 - p)).log() * pl.col("weight")).alias("logit"))
        per = v.group_by("item_id").agg(pl.col("logit").sum()).with_columns((1 / (1 + (-pl.col("logit")).exp())).alias("label"))
    else:
        per = _dawid_skene(v, max_iter)
    stats = v.group_by("item_id").agg(pl.col("weight").mean().alias("w"), pl.len().cast(pl.Int64).alias("n_labels"))
    out = per.join(stats, on="item_id")
    mean_w = float(out["w"].mean() or 1.0) or 1.0  # type: ignore[arg-type]
    return out.select("item_id", "label", (pl.col("w") / mean_w).alias("weight"), "n_labels").sort("item_id")


def _dawid_skene(v: pl.DataFrame, max_iter: int) -> pl.DataFrame:
    items = sorted(set(v["item_id"].to_list()))
    raters = sorted(set(v["rater"].to_list()))
    ii = _index(v["item_id"].to_list(), items)
    rr = _index(v["rater"].to_list(), raters)
    y = v["vote"].to_numpy()
    w = v["weight"].to_numpy()
    # Start from the weighted majority, then alternate: rater confusion (M) and item posteriors (E).
    num = np.bincount(ii, w * y, len(items))
    den = np.bincount(ii, w, len(items)).clip(1e-12)
    post = num / den
    for _ in range(max_iter):
        prior = post.mean().clip(1e-3, 1 - 1e-3)
        # sens[r] = P(vote correct | truly correct), spec[r] = P(vote buggy | truly buggy), from unweighted counts
        # with a Beta(2, 1) prior: raters start out better than chance, so small studies do not collapse to 0.5.
        sens = (np.bincount(rr, post[ii] * y, len(raters)) + 2) / (np.bincount(rr, post[ii], len(raters)) + 3)
        spec = (np.bincount(rr, (1 - post[ii]) * (1 - y), len(raters)) + 2) / (np.bincount(rr, 1 - post[ii], len(raters)) + 3)
        l1 = np.where(y == 1, np.log(sens[rr]), np.log(1 - sens[rr])) * w
        l0 = np.where(y == 0, np.log(spec[rr]), np.log(1 - spec[rr])) * w
        logit = np.log(prior / (1 - prior)) + np.bincount(ii, l1 - l0, len(items))
        new = 1 / (1 + np.exp(-logit))
        if np.max(np.abs(new - post)) < 1e-6:
            post = new
            break
        post = new
    return pl.DataFrame({"item_id": items, "label": post.astype(float)})


def _index(values: list[str], keys: list[str]) -> np.ndarray:
    pos = {k: i for i, k in enumerate(keys)}
    return np.array([pos[x] for x in values], dtype=np.int64)


def judgment_labels(
    store: Store,
    study: str,
    *,
    method: str = "dawid_skene",
    conditions: Sequence[str] | None = None,
    condition_weights: Mapping[str, float] | None = None,
    reliability_weighting: bool = True,
) -> pl.DataFrame:
    """Aggregated P(correct) per item from a study's current judgments (see :func:`votes`, :func:`aggregate`)."""
    v = votes(store, study, conditions=conditions, condition_weights=condition_weights, reliability_weighting=reliability_weighting)
    return aggregate(v, method)
