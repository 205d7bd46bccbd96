"""Gold quality-control items: kept out of every estimate, reported on their own.

QC items are gold items placed in raters' queues to check attention; they are not a sample
of the study's items (the same few recur for everyone, in one condition), so counting them
would move every estimate towards whatever the QC items happen to be (in the shipped
``mutated`` study, 30 QC judgments on 2 items moved the assistance effect from +0.065 to
+0.037). :func:`split_qc` separates them by the frame's ``is_qc`` mark (set from the study's
frozen table, which is how :class:`oversight_ext.records.Study` knows its ``qc_item_ids``);
:func:`qc_raters` gives each rater's QC accuracy with a Wilson interval, and whether the
rater meets a pre-registered threshold; :func:`qc_reliability` how consistently the QC items
are judged across raters (Krippendorff's alpha).

The study frame keeps QC judgments (the QC tables, the reward labels' rater reliability and
each participant's own results read them), so the exclusion is made where numbers are made:
every estimating function (metrics, agreement, effects, the mixed model, the workshop
dashboard's tables) is wrapped in :func:`drops_qc` and never sees a QC row, whoever calls it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import numpy as np
import polars as pl

from .frames import with_correct
from .intervals import wilson

__all__ = ["drops_qc", "qc_raters", "qc_reliability", "split_qc"]

P = ParamSpec("P")
R = TypeVar("R")


def split_qc(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(judgments that enter estimates, judgments of QC items)."""
    # Checked before filtering: a study frame's list columns make a filter cost more than most estimates.
    if "is_qc" not in frame.columns or not frame["is_qc"].fill_null(False).any():
        return frame, frame.clear()
    qc = pl.col("is_qc").fill_null(False)
    return frame.filter(~qc), frame.filter(qc)


def drops_qc(estimate: Callable[Concatenate[pl.DataFrame, P], R]) -> Callable[Concatenate[pl.DataFrame, P], R]:
    """Wrap a function whose first argument is a study frame so that it never sees the
    frame's QC judgments (rows with ``is_qc``); frames without that column pass unchanged."""

    @functools.wraps(estimate)
    def without_qc(frame: pl.DataFrame, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return estimate(split_qc(frame)[0], *args, **kwargs)

    return without_qc


def qc_raters(qc: pl.DataFrame, *, threshold: float | None = None, level: float = 0.95) -> pl.DataFrame:
    """One row per rater: QC judgments, how many were right, the share with a Wilson
    interval, and ``passes`` (null without a threshold)."""
    from scipy import stats

    schema = {
        "rater": pl.Utf8,
        "rater_kind": pl.Utf8,
        "n_qc": pl.Int64,
        "n_correct": pl.Int64,
        "qc_accuracy": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "passes": pl.Boolean,
    }
    f = with_correct(qc).filter(pl.col("correct").is_not_null())
    if f.height == 0:
        return pl.DataFrame(schema=schema)
    kind = pl.col("rater_kind").first() if "rater_kind" in f.columns else pl.lit("human")
    per = (
        f.group_by("rater")
        .agg(kind.alias("rater_kind"), pl.len().cast(pl.Int64).alias("n_qc"), pl.col("correct").sum().cast(pl.Int64).alias("n_correct"))
        .sort("rater")
    )
    n, k = per["n_qc"].to_numpy().astype(float), per["n_correct"].to_numpy().astype(float)
    low, high = wilson(k / n, n, float(stats.norm.ppf(0.5 + level / 2)))
    passes = pl.lit(None, pl.Boolean) if threshold is None else pl.col("qc_accuracy") >= threshold
    return (
        per.with_columns((pl.col("n_correct") / pl.col("n_qc")).alias("qc_accuracy"), pl.Series("ci_low", low), pl.Series("ci_high", high))
        .with_columns(passes.alias("passes"))
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
    )


def qc_reliability(qc: pl.DataFrame) -> pl.DataFrame:
    """One row: QC items, raters, judgments, mean accuracy, and Krippendorff's alpha of the
    verdicts on the QC items (null when fewer than two raters share an item, or with a single
    QC item, where alpha is 0 whatever the raters do; ``note`` says why)."""
    from .agreement import agreement

    f = with_correct(qc)
    schema = {
        "n_items": pl.Int64,
        "n_raters": pl.Int64,
        "n": pl.Int64,
        "accuracy": pl.Float64,
        "krippendorff_alpha": pl.Float64,
        "note": pl.Utf8,
    }
    if f.height == 0:
        return pl.DataFrame(schema=schema)
    n_items = f["item_id"].n_unique()
    alpha, note = None, None
    if "verdict" not in f.columns:
        note = "no verdicts: alpha needs them"
    elif n_items < 2:
        # Alpha's expected disagreement comes from the values pooled over items: on one item it
        # equals the observed disagreement, so alpha is 0 (or undefined) whatever the raters do.
        note = "one QC item: Krippendorff's alpha needs two or more (on one it is 0 by construction)"
    else:
        # Here the QC judgments are the sample: without the mark, agreement() keeps them.
        alpha = agreement(f.drop("is_qc", strict=False), by=()).row(0, named=True)["krippendorff_alpha"]
    acc = f["correct"].drop_nulls().cast(pl.Float64)
    row = {
        "n_items": n_items,
        "n_raters": f["rater"].n_unique(),
        "n": f.height,
        "accuracy": float(acc.mean()) if acc.len() else np.nan,  # type: ignore[arg-type]
        "krippendorff_alpha": alpha,
        "note": note,
    }
    return pl.DataFrame([row], schema=schema).with_columns(pl.col("accuracy").fill_nan(None))
