"""The attention record: which lines of a diff were on a rater's screen, when, and what they expanded or searched.

The review panel records it as compact intervals and sends it with the judgment (drafts keep
it too); the store appends it with the judgment; simulated raters make the same record; the
analysis reads it to tell a missed flaw whose lines were never on screen from one that was
looked at and missed. The shape (also in ``schema/submission.schema.json``)::

    {"spans":  [[t0_ms, t1_ms, file, hunk, first, last], ...],
     "events": [[t_ms, kind, file, hunk], ...],
     "truncated": false}

A span says the lines ``first..last`` (indices into the hunk's ``lines``, inclusive) of hunk
``hunk`` of file ``file`` (indices into the item view's ``files``) were on screen from ``t0_ms``
to ``t1_ms``, milliseconds after the judgment's ``started_at``. An event says the rater expanded
folded context (``expand``), went to a search hit (``search``) or, under a study's audit budget,
opened the hunk in depth (``audit``: once per hunk; reopening is free) in that hunk. ``truncated``
says the client stopped recording at the size limits below.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "EVENT_KINDS",
    "MAX_BYTES",
    "MAX_EVENTS",
    "MAX_SPANS",
    "AttentionError",
    "audited_hunks",
    "check_attention",
    "lines_seen",
    "seconds_by_hunk",
]

#: Most spans a record may hold: a rater scrolling for an hour at one view change a second.
MAX_SPANS = 5000
#: Most events a record may hold.
MAX_EVENTS = 1000
#: Largest record, as compact JSON: the span and event limits at realistic number sizes.
MAX_BYTES = 192 * 1024
#: What an event can say the rater did.
EVENT_KINDS = ("expand", "search", "audit")

Hunk = tuple[int, int]


class AttentionError(ValueError):
    """An attention record that breaks the shape or names lines the diff lacks; ``too_large`` when over :data:`MAX_BYTES`."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def check_attention(record: Mapping[str, Any], hunk_sizes: Sequence[Sequence[int]], elapsed_ms: float | None) -> None:
    """Refuse a record over :data:`MAX_BYTES`, with times outside ``0..elapsed_ms`` (the time between
    the judgment's start and submit, when both are known) or naming a file, hunk or line the item
    lacks. ``hunk_sizes[f][h]`` is the number of lines of hunk ``h`` of file ``f``.

    The JSON schema has already fixed the types and counts; these checks need the item."""
    size = len(json.dumps(record, separators=(",", ":")))
    if size > MAX_BYTES:
        raise AttentionError(f"attention is {size:,} bytes of JSON; send at most {MAX_BYTES:,} (merge short spans)", too_large=True)
    for i, (t0, t1, f, h, first, last) in enumerate(record.get("spans", ())):
        where = f"attention.spans[{i}]"
        if t1 < t0:
            raise AttentionError(f"{where} ends at {t1} ms before it starts at {t0} ms; send [start, end, ...]")
        if elapsed_ms is not None and t1 > elapsed_ms:
            raise AttentionError(
                f"{where} ends at {t1} ms, after the submit ({elapsed_ms:.0f} ms after started_at); send times from started_at"
            )
        _check_place(where, hunk_sizes, f, h)
        n = hunk_sizes[f][h]
        if not first <= last < n:
            raise AttentionError(
                f"{where} names lines {first}..{last} of hunk {h} of file {f}, which has lines 0..{n - 1}; send indices in the hunk"
            )
    for i, (t, _kind, f, h) in enumerate(record.get("events", ())):
        where = f"attention.events[{i}]"
        if elapsed_ms is not None and t > elapsed_ms:
            raise AttentionError(
                f"{where} is at {t} ms, after the submit ({elapsed_ms:.0f} ms after started_at); send times from started_at"
            )
        _check_place(where, hunk_sizes, f, h)


def _check_place(where: str, hunk_sizes: Sequence[Sequence[int]], f: int, h: int) -> None:
    if f >= len(hunk_sizes):
        raise AttentionError(f"{where} names file {f}; the diff has files 0..{len(hunk_sizes) - 1}")
    if h >= len(hunk_sizes[f]):
        raise AttentionError(f"{where} names hunk {h} of file {f}, which has {len(hunk_sizes[f])} hunks; send a hunk index of that file")


def audited_hunks(record: Mapping[str, Any] | None) -> set[Hunk]:
    """The (file, hunk) pairs the rater opened in depth (``audit`` events; a hunk counts once)."""
    return {(f, h) for _t, kind, f, h in (record or {}).get("events", ()) if kind == "audit"}


def lines_seen(record: Mapping[str, Any] | None) -> dict[Hunk, set[int]]:
    """(file, hunk) -> the indices of its lines that were ever on screen."""
    seen: dict[Hunk, set[int]] = {}
    for _t0, _t1, f, h, first, last in (record or {}).get("spans", ()):
        seen.setdefault((f, h), set()).update(range(first, last + 1))
    return seen


def seconds_by_hunk(record: Mapping[str, Any] | None) -> dict[Hunk, float]:
    """(file, hunk) -> seconds any of its lines were on screen (overlapping spans of one hunk count once)."""
    intervals: dict[Hunk, list[tuple[int, int]]] = {}
    for t0, t1, f, h, _first, _last in (record or {}).get("spans", ()):
        intervals.setdefault((f, h), []).append((t0, t1))
    return {key: _union_ms(spans) / 1000 for key, spans in intervals.items()}


def _union_ms(spans: Iterable[tuple[int, int]]) -> int:
    total, end = 0, None
    for t0, t1 in sorted(spans):
        if end is None or t0 > end:
            total += t1 - t0
            end = t1
        elif t1 > end:
            total += t1 - end
            end = t1
    return total
