"""Raters' "cannot judge" answers per condition: how often they gave no verdict, and the primary
contrast if every such answer were wrong.

Accuracy estimates read verdicts only, so a condition whose raters skip the hard items looks
better than it is. Two tables guard against that. ``cannot_judge`` gives, per condition, the
share of answered assignments that are "cannot judge" records, with the same two-way cluster
(raters and items) Wilson interval as the accuracy table. ``cannot_judge_worst_case`` recomputes
the accuracy contrast with every cannot-judge answer of a gold item counted as wrong: a
worst-case sensitivity line beside the primary contrast, not a replacement for it.

Both read :func:`.frames.study_frame` with ``cannot_judge=True``: a cannot-judge row has a null
verdict. QC items are left out, as in every estimate.
"""

from __future__ import annotations

import polars as pl

from . import effects
from .config import AnalysisConfig
from .qc import split_qc

__all__ = ["cannot_judge_rates", "counted_as_wrong", "worst_case_effect"]

#: The column :func:`cannot_judge_rates` averages: 1 for a cannot-judge record, 0 for a verdict.
SKIPPED = "cannot_judge"


def _answers(frame: pl.DataFrame) -> pl.DataFrame:
    """Non-QC rows with the 0/1 ``cannot_judge`` column (a null verdict is a cannot-judge record)."""
    rows, _ = split_qc(frame)
    return rows.with_columns(pl.col("verdict").is_null().cast(pl.Int64).alias(SKIPPED))


def cannot_judge_rates(frame: pl.DataFrame, config: AnalysisConfig | None = None) -> pl.DataFrame:
    """Per condition: ``n`` answered assignments (verdicts and cannot-judge), ``cannot_judge``
    how many gave no verdict, ``rate`` and its interval (two-way cluster, Wilson on the effective
    sample size; :func:`.effects.condition_means`). Empty when the frame has no rows."""
    cfg = config or AnalysisConfig()
    rows = _answers(frame)
    schema = {
        "condition": pl.Utf8,
        "n": pl.Int64,
        "cannot_judge": pl.Int64,
        "rate": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "note": pl.Utf8,
    }
    if rows.height == 0:
        return pl.DataFrame(schema=schema)
    means = effects.condition_means(rows, outcome=SKIPPED, n_boot=cfg.n_boot, seed=cfg.seed, level=cfg.level)
    counts = rows.group_by("condition").agg(pl.col(SKIPPED).sum().cast(pl.Int64).alias("cannot_judge"))
    out = means.join(counts, on="condition", how="left").select(
        "condition", "n", "cannot_judge", pl.col("mean").alias("rate"), "ci_low", "ci_high", "note"
    )
    return out.sort("condition")


def counted_as_wrong(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every cannot-judge answer of a gold item marked ``correct = False``."""
    rows = _answers(frame)
    wrong = (pl.col(SKIPPED) == 1) & pl.col("label").is_not_null()
    return rows.with_columns(pl.when(wrong).then(pl.lit(False)).otherwise(pl.col("correct")).alias("correct"))


def worst_case_effect(
    frame: pl.DataFrame, *, treatment: str | None, control: str | None = None, config: AnalysisConfig | None = None
) -> pl.DataFrame:
    """The accuracy contrast ``treatment`` vs ``control`` (:func:`.effects.effect`) with every
    cannot-judge answer counted as wrong, plus ``cannot_judge_treatment`` and
    ``cannot_judge_control``: how many such answers each arm holds. ``treatment=None``: every
    condition against the control."""
    cfg = config or AnalysisConfig()
    rows = counted_as_wrong(frame)
    control = control or effects.default_control(rows)
    if control is None or rows.filter(pl.col("correct").is_not_null()).height == 0:
        return pl.DataFrame()
    treatments = None if treatment is None else [treatment]
    table = effects.effect(
        rows, outcome="correct", control=control, treatments=treatments, n_boot=cfg.n_boot, seed=cfg.seed, level=cfg.level
    )
    if table.height == 0:
        return table
    skipped = dict(rows.group_by("condition").agg(pl.col(SKIPPED).sum()).iter_rows())
    return table.with_columns(
        pl.lit("cannot judge counted as wrong").alias("counting"),
        pl.col("treatment").replace_strict(skipped, default=0, return_dtype=pl.Int64).alias("cannot_judge_treatment"),
        pl.lit(int(skipped.get(control, 0)), pl.Int64).alias("cannot_judge_control"),
    )
