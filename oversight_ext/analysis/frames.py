"""The analysis frame: one row per current judgment, joined with gold, design and critique facts.

Every analysis function reads this one frame (or a frame with the subset of its columns it
needs, which is how the validity tests and the benchmark build theirs with numpy). Columns
come from the records' polars schema (:func:`oversight_ext.records.frame_schema`), plus:

- ``condition_kind`` ("unassisted" | "assisted", by :meth:`oversight_ext.records.Study.kind_of`),
  ``display``, ``position``, ``is_qc`` from the assignment and the stored study; ``rater_kind`` ("human" | "simulated") from the raters;
- ``label``, ``bug_lines``, ``gold_path`` from the item (null label: no gold);
- ``critique_id``, ``critique_verdict``, ``critique_confidence``, ``critique_planted`` and
  ``critique_comments`` (the critique's comments with their planted flags);
- ``correct``: the verdict equals the gold label (null where the item has no gold);
- ``time_on_task_s`` is the server's time (see :func:`server_times`), ``client_time_s`` what
  the rater's browser said, ``time_flag`` why a client time was not trusted (null: it was).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from oversight_ext.records import Comment, Item, Judgment, Study, frame_schema

__all__ = ["FRAME_COLUMNS", "empty_frame", "study_frame", "with_correct"]

_JUDGMENT_COLUMNS = (
    "submission_id",
    "assignment_id",
    "rater",
    "item_id",
    "condition",
    "verdict",
    "confidence",
    "time_on_task_s",
    "likert",
    "flags",
    "dispositions",
    "simulated",
    "submitted_at",
    "received_at",
)

#: Seconds a browser's time on task may exceed the server's window (clock rounding, network).
TIME_SLACK_S = 5.0

#: Column name -> polars type of :func:`study_frame`'s result.
FRAME_COLUMNS: dict[str, pl.DataType] = {
    "study": pl.Utf8(),
    **{c: frame_schema(Judgment)[c] for c in _JUDGMENT_COLUMNS},
    "rater_kind": pl.Utf8(),
    "condition_kind": pl.Utf8(),
    "display": pl.Utf8(),
    "position": pl.Int64(),
    "is_qc": pl.Boolean(),
    "label": pl.Utf8(),
    "bug_lines": frame_schema(Item)["bug_lines"],
    "gold_path": pl.Utf8(),
    "critique_id": pl.Utf8(),
    "critique_verdict": pl.Utf8(),
    "critique_confidence": pl.Float64(),
    "critique_planted": pl.Boolean(),
    "critique_comments": pl.List(pl.Struct(frame_schema(Comment))),
    "correct": pl.Boolean(),
    "client_time_s": pl.Float64(),
    "time_flag": pl.Utf8(),
}


def empty_frame() -> pl.DataFrame:
    """A study frame with no rows (the shape every analysis function accepts)."""
    return pl.DataFrame(schema=FRAME_COLUMNS)


def with_correct(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``correct`` (verdict == gold label, null without gold) when the frame lacks it."""
    if "correct" in frame.columns:
        return frame
    return frame.with_columns(
        pl.when(pl.col("label").is_null()).then(None).otherwise(pl.col("verdict") == pl.col("label")).alias("correct")
    )


def study_frame(store: Any, study: str, *, cannot_judge: bool = False) -> pl.DataFrame:
    """Current (not superseded) judgments of ``study`` joined with gold, design and critiques.

    Raises the store's ``UnknownRecord`` when no study has that name. A study without
    judgments gives an empty frame with the full schema. Judgments of QC items stay in,
    marked ``is_qc``: every estimating function drops them itself (:func:`.qc.drops_qc`),
    and the QC tables read them. ``cannot_judge=True`` adds the current "cannot judge"
    records (null verdict, confidence and ``correct``) for :mod:`.abstention`; no estimate
    reads them otherwise.
    """
    info = store.study(study)
    judged = store.judgments_frame(study=study, cannot_judge=cannot_judge)
    if judged.height == 0:
        return empty_frame()
    judged = server_times(judged.select(_JUDGMENT_COLUMNS), store.first_sent(study))

    design = store.assignments_frame(study).select(
        pl.col("id").alias("assignment_id"), "position", "is_qc", "display", "critique_id", "condition"
    )
    shows = pl.col("critique_id").is_not_null().alias("shows_critique")
    design = design.with_columns(shows).join(_kinds(info, design), on=["condition", "shows_critique"], how="left").drop("shows_critique")
    item_ids = judged["item_id"].unique().to_list()
    items = store.items_frame(ids=item_ids).select(pl.col("id").alias("item_id"), "label", "bug_lines", pl.col("path").alias("gold_path"))
    critique_ids = [c for c in design["critique_id"].unique().to_list() if c is not None]
    crits = _critiques(store, critique_ids)
    raters = store.raters_frame().select(pl.col("id").alias("rater"), pl.col("kind").alias("rater_kind"))

    out = (
        judged.join(design.drop("condition"), on="assignment_id", how="left")
        .join(items, on="item_id", how="left")
        .join(crits, on="critique_id", how="left")
        .join(raters, on="rater", how="left")
        .with_columns(
            pl.lit(study).alias("study"),
            pl.col("rater_kind").fill_null(pl.when(pl.col("simulated")).then(pl.lit("simulated")).otherwise(pl.lit("human"))),
        )
    )
    return with_correct(out).select([pl.col(c).cast(t) for c, t in FRAME_COLUMNS.items()]).sort("rater", "position")


def server_times(judged: pl.DataFrame, first_sent: dict[str, Any]) -> pl.DataFrame:
    """Time on task as the server saw it: from first sending the item view to receiving the judgment.

    ``client_time_s`` keeps the browser's figure. Where the server sent views for the study, a
    person's judgment is flagged (``time_flag``) and its browser time not trusted when the
    server never sent that assignment before the judgment arrived ("never_sent": time null) or
    the browser claims more time than the server's window ("longer_than_sent": the server's
    time). Simulated raters, and studies the server never sent a view of (older databases,
    judgments stored directly), keep the browser's time unflagged.
    """
    judged = judged.with_columns(pl.col("time_on_task_s").alias("client_time_s"))
    if not first_sent:
        return judged.with_columns(pl.lit(None, pl.Utf8).alias("time_flag"))
    sent = pl.DataFrame(
        {"assignment_id": list(first_sent), "first_sent_at": list(first_sent.values())},
        schema={"assignment_id": pl.Utf8, "first_sent_at": judged.schema["received_at"]},
    )
    window = (pl.col("received_at") - pl.col("first_sent_at")).dt.total_milliseconds() / 1000.0
    person = ~pl.col("simulated")
    never = person & (pl.col("first_sent_at").is_null() | (pl.col("window") < 0))
    longer = person & ~never & (pl.col("client_time_s") > pl.col("window") + TIME_SLACK_S)
    return (
        judged.join(sent, on="assignment_id", how="left")
        .with_columns(window.alias("window"))
        .with_columns(
            pl.when(never).then(pl.lit("never_sent")).when(longer).then(pl.lit("longer_than_sent")).otherwise(None).alias("time_flag"),
            pl.when(never).then(None).when(person).then(pl.col("window")).otherwise(pl.col("client_time_s")).alias("time_on_task_s"),
        )
        .drop("first_sent_at", "window")
    )


def _kinds(info: Study, design: pl.DataFrame) -> pl.DataFrame:
    """condition, shows_critique -> condition_kind, by the study's one rule (one call per distinct pair)."""
    pairs = design.select("condition", pl.col("critique_id").is_not_null().alias("shows_critique")).unique()
    kinds = [info.condition_kind(c, shows_critique=s) for c, s in pairs.iter_rows()]
    return pairs.with_columns(pl.Series("condition_kind", kinds, dtype=pl.Utf8))


def _critiques(store: Any, ids: list[str]) -> pl.DataFrame:
    schema = {
        "critique_id": pl.Utf8(),
        "critique_verdict": pl.Utf8(),
        "critique_confidence": pl.Float64(),
        "critique_planted": pl.Boolean(),
        "critique_comments": FRAME_COLUMNS["critique_comments"],
    }
    if not ids:
        return pl.DataFrame(schema=schema)
    # One query for all critiques beats one per id; the filter keeps just this study's.
    frame = store.critiques_frame().filter(pl.col("id").is_in(ids))
    return frame.select(
        pl.col("id").alias("critique_id"),
        pl.col("verdict").alias("critique_verdict"),
        pl.col("confidence").alias("critique_confidence"),
        pl.col("planted").alias("critique_planted"),
        pl.col("comments").alias("critique_comments"),
    ).cast(schema)  # type: ignore[arg-type]
