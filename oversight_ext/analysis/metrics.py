"""Rater metrics over a study frame: accuracy, catching bugs, false alarms, time, calibration,
what raters did with AI comments, and over-reliance on wrong critiques.

Each function takes a study frame (:mod:`.frames`) and ``by`` (the grouping columns, by
default the condition) and returns one polars row per group. :func:`outcomes` derives the
per-judgment 0/1 outcomes the other functions (and :mod:`.effects`) aggregate; a frame that
already carries an outcome column keeps it, so simulated frames can supply their own.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from oversight_ext.records import CONFIDENCE_LEVELS
from oversight_ext.submission import scale_of

from .frames import with_correct
from .qc import drops_qc

__all__ = [
    "BIN_EDGES",
    "accuracy",
    "bin_edges",
    "calibration",
    "calibration_error",
    "dispositions",
    "outcomes",
    "over_reliance",
    "sandwich",
    "summary",
]

#: Confidence bin edges of the five likelihood levels (Bowman et al. 2022): one bin per level.
BIN_EDGES: tuple[float, ...] = tuple((a + b) / 2 for a, b in itertools.pairwise(CONFIDENCE_LEVELS))


def bin_edges(levels: Sequence[float]) -> tuple[float, ...]:
    """Edges putting each of ``levels`` (ascending) in its own bin: the midpoints between neighbours."""
    return tuple((a + b) / 2 for a, b in itertools.pairwise(sorted(levels)))


By = Sequence[str]


def _mean(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64).mean()


def outcomes(frame: pl.DataFrame, *, tolerance: int = 1) -> pl.DataFrame:
    """Add per-judgment outcomes, each null where it does not apply.

    ``correct``: verdict equals gold. A gold *flaw* is a run of consecutive gold bug lines;
    ``n_flaws`` / ``flaws_caught``: the item's flaws, and those with a flag within
    ``tolerance`` lines (new side, same file) *and* a "buggy" verdict (a rater who marks the
    line but calls the code correct has not caught it); ``caught``: on a buggy item, some
    flaw caught; ``line_hit``: on a buggy item, some flag near a gold line whatever the
    verdict (the looser, line-only figure). ``n_flags`` / ``n_hits``: flags and flags near a
    gold line on gold items; ``false_alarm``: on a correct item, the verdict is buggy;
    ``followed_wrong``: the critique's verdict was wrong and the rater's verdict agrees with it.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance={tolerance!r} is negative; give the number of lines a flag may miss a gold line by (e.g. 1)")
    out = with_correct(frame)
    has_label = pl.col("label").is_not_null()
    new_cols: list[pl.Expr] = []
    if "flags" in out.columns and "bug_lines" in out.columns and "caught" not in out.columns:
        hits = _flag_hits(out, tolerance)
        flaws = _flaw_hits(out, tolerance)
        out = out.with_row_index("_row").join(hits, on="_row", how="left").join(flaws, on="_row", how="left").drop("_row")
        out = out.with_columns(
            pl.col("n_flags").fill_null(0), pl.col("n_hits").fill_null(0), pl.col("n_flaws").fill_null(0), pl.col("_flaws_hit").fill_null(0)
        )
        says_buggy = pl.col("verdict") == "buggy"
        is_buggy = pl.col("label") == "buggy"
        new_cols += [
            pl.when(is_buggy).then(says_buggy & (pl.col("_flaws_hit") > 0)).otherwise(None).alias("caught"),
            pl.when(is_buggy).then(pl.col("n_hits") > 0).otherwise(None).alias("line_hit"),
            pl.when(is_buggy).then(pl.col("n_flaws")).otherwise(None).alias("n_flaws"),
            pl.when(is_buggy).then(pl.when(says_buggy).then(pl.col("_flaws_hit")).otherwise(0)).otherwise(None).alias("flaws_caught"),
            pl.when(has_label).then(pl.col("n_flags")).otherwise(None).alias("n_flags"),
            pl.when(has_label).then(pl.col("n_hits")).otherwise(None).alias("n_hits"),
        ]
    if "false_alarm" not in out.columns:
        new_cols.append(pl.when(pl.col("label") == "correct").then(pl.col("verdict") == "buggy").otherwise(None).alias("false_alarm"))
    if "critique_verdict" in out.columns and "followed_wrong" not in out.columns:
        wrong = has_label & pl.col("critique_verdict").is_not_null() & (pl.col("critique_verdict") != pl.col("label"))
        new_cols.append(pl.when(wrong).then(pl.col("verdict") == pl.col("critique_verdict")).otherwise(None).alias("followed_wrong"))
    out = out.with_columns(new_cols) if new_cols else out
    return out.drop("_flaws_hit") if "_flaws_hit" in out.columns else out


def _flaw_hits(frame: pl.DataFrame, tolerance: int) -> pl.DataFrame:
    """Per row: ``n_flaws`` (runs of consecutive gold lines) and ``_flaws_hit`` (runs with a flag near them)."""
    gold_path = pl.col("gold_path") if "gold_path" in frame.columns else pl.lit("")
    rows = frame.with_row_index("_row").select("_row", "flags", "bug_lines", gold_path.fill_null("").alias("_gold_path"))
    lines = rows.select("_row", "bug_lines").explode("bug_lines").drop_nulls("bug_lines").unique().sort("_row", "bug_lines")
    flaws = (
        # Sorted by row and line, a flaw starts where the row changes or the line jumps by more than one.
        # One flat cumulative sum numbers them (a nested per-row window was quadratic: 25 s at 1M rows).
        lines.with_columns(
            ((pl.col("_row").diff().fill_null(1) != 0) | (pl.col("bug_lines").diff().fill_null(2) > 1)).cum_sum().alias("_flaw")
        )
        .group_by("_row", "_flaw")
        .agg(pl.col("bug_lines").min().alias("_start"), pl.col("bug_lines").max().alias("_end"))
    )
    flags = rows.select("_row", "flags", "_gold_path").explode("flags").drop_nulls("flags").unnest("flags")
    same_file = (pl.col("path") == "") | (pl.col("_gold_path") == "") | (pl.col("path") == pl.col("_gold_path"))
    near = (pl.col("line") >= pl.col("_start") - tolerance) & (pl.col("line") <= pl.col("_end") + tolerance)
    hit = (
        flaws.join(flags, on="_row", how="inner")
        .filter((pl.col("side") == "new") & same_file & near)
        .select("_row", "_flaw")
        .unique()
        .group_by("_row")
        .agg(pl.len().cast(pl.Int64).alias("_flaws_hit"))
    )
    per_row = flaws.group_by("_row").agg(pl.len().cast(pl.Int64).alias("n_flaws"))
    return per_row.join(hit, on="_row", how="left")


def _flag_hits(frame: pl.DataFrame, tolerance: int) -> pl.DataFrame:
    gold_path = pl.col("gold_path") if "gold_path" in frame.columns else pl.lit("")
    flags = (
        frame.with_row_index("_row")
        .select("_row", "flags", "bug_lines", gold_path.fill_null("").alias("_gold_path"))
        .explode("flags")
        .drop_nulls("flags")
        .unnest("flags")
    )
    same_file = (pl.col("path") == "") | (pl.col("_gold_path") == "") | (pl.col("path") == pl.col("_gold_path"))
    near = (pl.col("bug_lines") - pl.col("line")).list.eval(pl.element().abs() <= tolerance).list.any().fill_null(False)
    hit = (pl.col("side") == "new") & same_file & near
    return flags.group_by("_row").agg(pl.len().cast(pl.Int64).alias("n_flags"), hit.sum().cast(pl.Int64).alias("n_hits"))


@drops_qc
def accuracy(frame: pl.DataFrame, by: By = ("condition",)) -> pl.DataFrame:
    """Judgments on gold items, how many were right, and the share."""
    f = with_correct(frame).filter(pl.col("correct").is_not_null())
    return (
        f.group_by(list(by))
        .agg(pl.len().alias("n"), pl.col("correct").sum().cast(pl.Int64).alias("n_correct"), _mean(pl.col("correct")).alias("accuracy"))
        .sort(list(by))
    )


@drops_qc
def summary(frame: pl.DataFrame, by: By = ("condition",), *, tolerance: int = 1) -> pl.DataFrame:
    """One row per group with every scalar metric (null where the data cannot give it).

    ``catch_rate``: share of gold flaws caught (a flag at the flaw and a "buggy" verdict),
    over all flaws of the buggy items judged; ``line_catch_rate``: share of judgments of
    buggy items with a flag at a gold line, whatever the verdict (line-only);
    ``flag_precision``: share of flags (on gold items) near a gold line, with a Wilson
    interval (``flag_precision_low`` / ``_high``) on the flags' effective number under
    clustering by rater; ``false_alarm_rate``:
    share of judgments of correct items called buggy; ``calibration_error``: see
    :func:`calibration_error`; ``brier_score``: mean of (confidence - correct)^2.
    """
    f = outcomes(frame, tolerance=tolerance)
    aggs = [
        pl.len().alias("n"),
        pl.col("rater").n_unique().alias("n_raters"),
        pl.col("item_id").n_unique().alias("n_items"),
        _mean(pl.col("correct")).alias("accuracy"),
    ]
    if "caught" in f.columns:
        aggs += [
            (pl.col("flaws_caught").sum() / pl.col("n_flaws").sum()).alias("catch_rate"),
            _mean(pl.col("line_hit")).alias("line_catch_rate"),
            (pl.col("n_hits").sum() / pl.col("n_flags").sum()).alias("flag_precision"),
        ]
    aggs.append(_mean(pl.col("false_alarm")).alias("false_alarm_rate"))
    if "time_on_task_s" in f.columns:
        aggs += [pl.col("time_on_task_s").median().alias("median_time_s"), pl.col("time_on_task_s").mean().alias("mean_time_s")]
    if "confidence" in f.columns:
        aggs.append(pl.col("confidence").mean().alias("mean_confidence"))
        # Brier score: mean squared gap between stated confidence (that the verdict is right) and being right.
        aggs.append(((pl.col("confidence") - pl.col("correct").cast(pl.Float64)) ** 2).mean().alias("brier_score"))
    if "followed_wrong" in f.columns:
        aggs.append(_mean(pl.col("followed_wrong")).alias("agree_with_wrong_critique"))
    out = f.group_by(list(by)).agg(aggs)
    if "confidence" in f.columns:
        out = out.join(calibration_error(f, by), on=list(by), how="left")
    if "flag_precision" in out.columns:
        out = out.join(_precision_interval(f, by), on=list(by), how="left").with_columns(
            pl.col("flag_precision", "catch_rate").fill_nan(None)
        )
    return out.sort(list(by))


def _precision_interval(f: pl.DataFrame, by: By, z: float = 1.959963984540054) -> pl.DataFrame:
    """Wilson interval of hits / flags per group, on the effective number of flags: the
    ratio estimator's variance with raters as clusters (flags of one rater are not independent)."""
    from .intervals import effective_n, wilson

    per = (
        f.filter(pl.col("n_flags").is_not_null())
        .group_by([*by, "rater"])
        .agg(pl.col("n_hits").sum().alias("h"), pl.col("n_flags").sum().alias("m"))
    )
    rows = []
    for key, g in per.group_by(list(by), maintain_order=True):
        h, m = g["h"].to_numpy().astype(float), g["m"].to_numpy().astype(float)
        total, r = m.sum(), len(m)
        if total == 0:
            rows.append((*key, None, None))
            continue
        p = h.sum() / total
        var = r / max(r - 1, 1) * np.sum((h - p * m) ** 2) / total**2
        low, high = wilson(np.array(p), effective_n(np.array(p), np.array(var), np.array(total)), z)
        rows.append((*key, float(low), float(high)))
    schema: dict[str, Any] = {**{c: f.schema[c] for c in by}, "flag_precision_low": pl.Float64, "flag_precision_high": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _observed_scale(values: list[Any]) -> tuple[float, ...]:
    """The known scale holding every stated confidence; when the values lie on none (judgments
    from elsewhere, or studies on different scales pooled), each stated value is its own bin,
    which is the usual calibration error for discrete confidences, and a warning says so."""
    try:
        return scale_of(values)
    except ValueError as exc:
        # 4: past calibration() and its QC wrapper, to the caller.
        warnings.warn(f"{exc}; calibration bins each stated value on its own", UserWarning, stacklevel=4)
        return tuple(sorted({round(float(v), 6) for v in values if v is not None}))


@drops_qc
def calibration(frame: pl.DataFrame, by: By = ("condition",), *, levels: Sequence[float] | None = None) -> pl.DataFrame:
    """Accuracy against stated confidence, one bin per level of the study's confidence scale
    (the reliability diagram's points); ``level`` is the bin's level.

    ``levels``: the study's ``confidence_levels``; left out, the one known scale holding every
    confidence in the frame (:func:`~oversight_ext.submission.scale_of`); values on no single known
    scale are binned one bin per stated value, with a warning (analyse each study on its own scale)."""
    f = with_correct(frame).filter(pl.col("correct").is_not_null())
    scale = tuple(sorted(levels)) if levels is not None else _observed_scale(f["confidence"].unique().to_list())
    bin_index = pl.sum_horizontal([(pl.col("confidence") > edge).cast(pl.Int64) for edge in bin_edges(scale)])
    return (
        f.with_columns(bin_index.alias("bin"))
        .group_by([*by, "bin"])
        .agg(pl.len().alias("n"), pl.col("confidence").mean().alias("mean_confidence"), _mean(pl.col("correct")).alias("accuracy"))
        .with_columns(pl.col("bin").map_elements(lambda b: scale[b], return_dtype=pl.Float64).alias("level"))
        .sort([*by, "bin"])
    )


@drops_qc
def calibration_error(frame: pl.DataFrame, by: By = ("condition",), *, levels: Sequence[float] | None = None) -> pl.DataFrame:
    """Expected calibration error over the bins of :func:`calibration` (the study's levels):
    sum over bins of (share of judgments) x |accuracy - confidence|."""
    bins = calibration(frame, by, levels=levels)
    return (
        bins.with_columns((pl.col("n") / pl.col("n").sum().over(list(by))).alias("_w"))
        .group_by(list(by))
        .agg((pl.col("_w") * (pl.col("accuracy") - pl.col("mean_confidence")).abs()).sum().alias("calibration_error"))
        .sort(list(by))
    )


def _disposition_rows(frame: pl.DataFrame, by: By) -> pl.DataFrame:
    """One row per disposition, with whether the comment it answers was planted wrong."""
    if "dispositions" not in frame.columns:
        raise ValueError("the frame has no 'dispositions' column; give a study frame (analysis.study_frame)")
    disp = (
        frame.with_row_index("_row")
        .select("_row", *by, "dispositions")
        .explode("dispositions")
        .drop_nulls("dispositions")
        .unnest("dispositions")
    )
    if "critique_comments" in frame.columns:
        comments = (
            frame.with_row_index("_row")
            .select("_row", "critique_comments")
            .explode("critique_comments")
            .drop_nulls("critique_comments")
            .select(
                "_row",
                pl.col("critique_comments").struct.field("id").alias("comment_id"),
                pl.col("critique_comments").struct.field("planted"),
            )
        )
        disp = disp.join(comments, on=["_row", "comment_id"], how="left")
    else:
        disp = disp.with_columns(pl.lit(None, pl.Boolean).alias("planted"))
    return disp.with_columns(pl.col("planted").fill_null(False))


@drops_qc
def dispositions(frame: pl.DataFrame, by: By = ("condition",)) -> pl.DataFrame:
    """What raters did with AI comments: counts and shares of keep / edit / reject per group,
    separately for honest and planted-wrong comments (CriticGPT Fig. 4)."""
    disp = _disposition_rows(frame, by)
    keys = [*by, "planted"]
    return (
        disp.group_by([*keys, "action"])
        .agg(pl.len().alias("n"))
        .with_columns((pl.col("n") / pl.col("n").sum().over(keys)).alias("share"))
        .sort([*keys, "action"])
    )


@drops_qc
def over_reliance(frame: pl.DataFrame, by: By = ("condition",)) -> pl.DataFrame:
    """How often raters accepted what a wrong critique said.

    ``planted_claims`` / ``accepted_planted``: dispositions of planted-wrong comments, and
    those kept or edited rather than rejected; ``wrong_critiques`` / ``followed``: judgments
    of items whose critique verdict contradicts gold, and those agreeing with it.
    """
    if "dispositions" in frame.columns:
        disp = _disposition_rows(frame, by).filter(pl.col("planted"))
    else:
        disp = pl.DataFrame(schema={**{c: frame.schema[c] for c in by}, "action": pl.Utf8})
    claims = disp.group_by(list(by)).agg(
        pl.len().alias("planted_claims"), (pl.col("action") != "reject").sum().cast(pl.Int64).alias("accepted_planted")
    )
    f = outcomes(frame).filter(pl.col("followed_wrong").is_not_null()) if "critique_verdict" in frame.columns else None
    groups = frame.select(list(by)).unique()
    out = groups.join(claims, on=list(by), how="left")
    if f is not None:
        verdicts = f.group_by(list(by)).agg(
            pl.len().alias("wrong_critiques"), pl.col("followed_wrong").sum().cast(pl.Int64).alias("followed")
        )
        out = out.join(verdicts, on=list(by), how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Int64).alias("wrong_critiques"), pl.lit(None, pl.Int64).alias("followed"))
    out = out.with_columns(
        pl.col("planted_claims", "accepted_planted", "wrong_critiques", "followed").cast(pl.Int64).fill_null(0)
    ).with_columns(
        pl.when(pl.col("planted_claims") > 0).then(pl.col("accepted_planted") / pl.col("planted_claims")).alias("acceptance_rate"),
        pl.when(pl.col("wrong_critiques") > 0).then(pl.col("followed") / pl.col("wrong_critiques")).alias("agreement_with_wrong_verdict"),
    )
    return out.sort(list(by))


@drops_qc
def sandwich(frame: pl.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> pl.DataFrame:
    """Accuracy of four judges on the same study: unassisted humans, the critic alone (its
    verdict on each item once), humans with the critic (one row per assisted condition) and
    gold (1 by definition). Human rows carry two-way cluster intervals, the critic a Wilson
    interval over items. Judges the frame cannot give (no critiques, no unassisted
    condition) are left out."""
    from statsmodels.stats.proportion import proportion_confint

    from .effects import condition_means

    schema = {"judge": pl.Utf8, "role": pl.Utf8, "accuracy": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64}
    f = with_correct(frame).filter(pl.col("correct").is_not_null())
    rows: list[dict[str, object]] = []
    if f.height == 0:
        return pl.DataFrame(schema=schema)
    kind = pl.col("condition_kind") if "condition_kind" in f.columns else pl.lit("unassisted")
    f = f.with_columns(kind.alias("_kind"))
    plain = condition_means(f.filter(pl.col("_kind") == "unassisted"), condition="_kind", n_boot=n_boot, seed=seed)
    for r in plain.iter_rows(named=True):
        rows.append(
            {
                "judge": "unassisted human",
                "role": "human",
                "accuracy": r["mean"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "n": r["n"],
            }
        )
    if "critique_verdict" in f.columns:
        critic = f.filter(pl.col("critique_verdict").is_not_null()).unique(["item_id", "critique_id"])
        if critic.height:
            k = int((critic["critique_verdict"] == critic["label"]).sum())
            lo, hi = proportion_confint(k, critic.height, method="wilson")
            rows.append(
                {"judge": "critic alone", "role": "critic", "accuracy": k / critic.height, "ci_low": lo, "ci_high": hi, "n": critic.height}
            )
    helped = f.filter(pl.col("_kind") == "assisted")
    assisted = condition_means(helped, n_boot=n_boot, seed=seed)
    for r in assisted.iter_rows(named=True):
        name = "human + critic" if assisted.height == 1 else f"human + critic ({r['condition']})"
        rows.append(
            {"judge": name, "role": "human + critic", "accuracy": r["mean"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": r["n"]}
        )
    rows.append({"judge": "gold", "role": "gold", "accuracy": 1.0, "ci_low": None, "ci_high": None, "n": f["item_id"].n_unique()})
    return pl.DataFrame(rows, schema=schema)
