"""Where raters looked: the share of each diff they had on screen, time per hunk, and whether a
missed flaw's lines were ever on screen.

Reads the attention record each judgment carries (:mod:`oversight_ext.attention`). A miss (a
buggy item judged correct) is "never looked" when no line of the gold flaw was ever on
screen, "looked and missed" when one was, and "outside the diff" when the gold lines are not
lines of the diff at all (the flaw is in code the change leaves out). A "cannot judge" answer
is its own outcome: it counts in ``n`` and ``cannot_judge`` and its record in the share seen and
time per hunk (where the rater looked before giving up), never as a miss. Judgments without a
record (older clients) count in ``n`` but in none of the attention figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from oversight_ext.attention import lines_seen, seconds_by_hunk
from oversight_ext.diffs import DiffError, DiffFile, parse_diff
from oversight_ext.records import Item
from oversight_ext.store import Store

from .qc import drops_qc

__all__ = ["LOOKED_AND_MISSED", "NEVER_LOOKED", "OUTSIDE_DIFF", "attention_frame", "attention_report", "flaw_lines"]

NEVER_LOOKED = "never looked"
LOOKED_AND_MISSED = "looked and missed"
OUTSIDE_DIFF = "outside the diff"

Place = tuple[int, int, int]  # file, hunk, line index in the hunk

_FRAME_SCHEMA = {
    "submission_id": pl.Utf8,
    "rater": pl.Utf8,
    "item_id": pl.Utf8,
    "condition": pl.Utf8,
    "condition_kind": pl.Utf8,
    "simulated": pl.Boolean,
    "is_qc": pl.Boolean,
    "recorded": pl.Boolean,
    "cannot_judge": pl.Boolean,
    "lines": pl.Int64,
    "hunks": pl.Int64,
    "share_seen": pl.Float64,
    "seconds_per_hunk": pl.Float64,
    "missed": pl.Boolean,
    "flaw_seen": pl.Utf8,
}


def flaw_lines(item: Item, files: list[DiffFile]) -> set[Place]:
    """The places in the diff of the item's gold flaw: its ``bug_lines`` on the new side and
    ``bug_lines_before`` on the old side of the item's file."""
    places: set[Place] = set()
    new, old = set(item.bug_lines), set(item.bug_lines_before)
    for fi, f in enumerate(files):
        if item.path and item.path not in (f.path, f.new_path, f.old_path) and len(files) > 1:
            continue
        for hi, h in enumerate(f.hunks):
            for li, ln in enumerate(h.lines):
                if (ln.new is not None and ln.new in new) or (ln.kind != "add" and ln.old is not None and ln.old in old):
                    places.add((fi, hi, li))
    return places


def _parsed(item: Item) -> list[DiffFile]:
    try:
        return parse_diff(item.diff)
    except DiffError:
        return []


def attention_frame(store: Store, study: str) -> pl.DataFrame:
    """One row per current judgment of ``study``, "cannot judge" answers included (``cannot_judge``
    true, never ``missed``): the share of the diff's lines ever on screen, the mean seconds each
    hunk was on screen (hunks never shown count 0), and for a missed flaw whether its lines were
    on screen (``flaw_seen``; null for judgments that missed nothing)."""
    s = store.study(study)
    judgments = store.judgments(study=study, cannot_judge=True)
    assignments = {a.id: a for a in store.assignments(study)}
    items = {it.id: it for it in store.iter_items(ids=sorted({j.item_id for j in judgments}))}
    files = {i: _parsed(it) for i, it in items.items()}
    rows: list[dict[str, Any]] = []
    for j in judgments:
        item, parsed = items[j.item_id], files[j.item_id]
        sizes = {(fi, hi): len(h.lines) for fi, f in enumerate(parsed) for hi, h in enumerate(f.hunks)}
        total = sum(sizes.values())
        missed = item.label == "buggy" and j.verdict == "correct"  # a cannot-judge answer has no verdict
        row: dict[str, Any] = {
            "submission_id": j.submission_id,
            "rater": j.rater,
            "item_id": j.item_id,
            "condition": j.condition,
            "condition_kind": s.kind_of(assignments[j.assignment_id]),
            "simulated": j.simulated,
            "is_qc": assignments[j.assignment_id].is_qc,
            "recorded": j.attention is not None,
            "cannot_judge": j.is_cannot_judge,
            "lines": total,
            "hunks": len(sizes),
            "share_seen": None,
            "seconds_per_hunk": None,
            "missed": missed,
            "flaw_seen": None,
        }
        if j.attention is not None:
            seen = lines_seen(j.attention)
            shown = sum(len({i for i in seen.get(key, ()) if i < n}) for key, n in sizes.items())
            row["share_seen"] = shown / total if total else None
            row["seconds_per_hunk"] = sum(seconds_by_hunk(j.attention).get(k, 0.0) for k in sizes) / len(sizes) if sizes else None
            if missed:
                flaw = flaw_lines(item, parsed)
                if not flaw:
                    row["flaw_seen"] = OUTSIDE_DIFF
                else:
                    looked = any(li in seen.get((fi, hi), ()) for fi, hi, li in flaw)
                    row["flaw_seen"] = LOOKED_AND_MISSED if looked else NEVER_LOOKED
        rows.append(row)
    return pl.DataFrame(rows, schema=_FRAME_SCHEMA, orient="row") if rows else pl.DataFrame(schema=_FRAME_SCHEMA)


@drops_qc
def attention_report(frame: pl.DataFrame, by: Iterable[str] = ("condition",)) -> pl.DataFrame:
    """Per group of ``by`` (QC judgments left out, as from every estimate): answers (``n``), of them
    verdicts (``judged``) and "cannot judge" answers (``cannot_judge``), those with a record, mean
    share of the diff seen, mean seconds per hunk, misses (verdicts only), and the misses whose
    flaw was never on screen, looked at and missed, or outside the diff."""
    keys = list(by)
    return (
        frame.group_by(keys, maintain_order=True)
        .agg(
            pl.len().alias("n"),
            (~pl.col("cannot_judge")).sum().alias("judged"),
            pl.col("cannot_judge").sum().alias("cannot_judge"),
            pl.col("recorded").sum().alias("recorded"),
            pl.col("share_seen").mean().alias("share_seen"),
            pl.col("seconds_per_hunk").mean().alias("seconds_per_hunk"),
            (pl.col("missed") & pl.col("recorded")).sum().alias("missed"),
            (pl.col("flaw_seen") == NEVER_LOOKED).sum().alias("never_looked"),
            (pl.col("flaw_seen") == LOOKED_AND_MISSED).sum().alias("looked_and_missed"),
            (pl.col("flaw_seen") == OUTSIDE_DIFF).sum().alias("outside_diff"),
        )
        .sort(keys)
    )
