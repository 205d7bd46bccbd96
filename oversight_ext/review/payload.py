"""What a judgment may hold beyond its JSON schema: clean text, shallow nesting, lines that
exist, the study's own scale and possible times.

The schema (:mod:`oversight_ext.submission`) fixes the fields, their types and sizes. These
checks need more than the payload: the item's files, the study's scale, the server's clock.
Each refusal is a :class:`~.errors.BadRequest` naming the field at fault, so no odd payload
reaches the store (where a lone surrogate or a NUL character would fail as a server error).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from oversight_ext.records import Judgment, Study

from .diffcache import hunk_lines
from .errors import BadRequest

__all__ = ["CLOCK_SKEW", "MAX_DEPTH", "check_lines", "check_scale", "check_text", "check_times", "line_limits"]

#: Deepest nesting a payload needs: payload -> flags -> flag -> field value.
MAX_DEPTH = 4
#: How far ahead of the server's clock a client's clock may run.
CLOCK_SKEW = dt.timedelta(minutes=5)
#: Earliest time any judgment can carry (before it, a client clock is simply wrong).
EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
#: Seconds a client's time on task may exceed the time between its own start and submit stamps
#: (rounding of the two clocks the browser reads).
TIME_SLACK_S = 5.0


def check_text(payload: Mapping[str, Any]) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` and strings that cannot be stored as UTF-8 text
    (lone surrogates, NUL characters), naming the top-level field that holds them."""
    for name, value in payload.items():
        _check_key(name, name)
        stack: list[tuple[Any, int]] = [(value, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise BadRequest(f"judgment field {name!r} is nested {depth} levels deep; send the documented shape", field=name)
            if isinstance(node, str):
                _check_string(name, node)
            elif isinstance(node, dict):
                for k, v in node.items():
                    _check_key(name, k)
                    stack.append((v, depth + 1))
            elif isinstance(node, (list, tuple)):
                stack.extend((v, depth + 1) for v in node)


def _check_key(field: str, key: Any) -> None:
    if isinstance(key, str):
        _check_string(field, key)


def _check_string(field: str, text: str) -> None:
    if "\x00" in text:
        raise BadRequest(f"judgment field {field!r} holds a NUL character; send text without it", field=field)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(
            f"judgment field {field!r} holds a lone surrogate (half of a UTF-16 pair); send valid Unicode text", field=field
        ) from None


def check_scale(study: Study, judgment: Judgment) -> None:
    """The study's scales decide the confidence levels allowed, and whether a Likert rating is
    required or refused. A "cannot judge" record carries neither (the record refuses both)."""
    if judgment.cannot_judge is not None or judgment.confidence is None:
        return
    if not any(abs(judgment.confidence - c) < 1e-6 for c in study.confidence_levels):
        raise BadRequest(
            f"judgment field 'confidence' = {judgment.confidence!r} is not a level of study {study.name!r}; "
            f"give one of its levels {list(study.confidence_levels)}",
            field="confidence",
        )
    if study.verdict_scale == "likert" and judgment.likert is None:
        raise BadRequest("likert is missing: this study asks for a 1-7 Likert rating; send likert", field="likert")
    if study.verdict_scale != "likert" and judgment.likert is not None:
        raise BadRequest(
            f"likert = {judgment.likert!r}: this study uses a {study.verdict_scale} verdict and no Likert scale; send likert = null",
            field="likert",
        )


def check_times(judgment: Judgment, now: dt.datetime) -> None:
    """Refuse times no client can have seen: the future, before 2020, a start after the submit,
    or more time on task than between the client's own start and submit."""
    sub, start = judgment.submitted_at, judgment.started_at
    for name, value in (("submitted_at", sub), ("started_at", start)):
        if value is None:
            continue
        if value > now + CLOCK_SKEW:
            raise BadRequest(
                f"{name} = {value.isoformat()} is in the future (server time {now.isoformat()}); send the client's clock", field=name
            )
        if value < EPOCH:
            raise BadRequest(f"{name} = {value.isoformat()} is before {EPOCH:%Y}; send the client's clock", field=name)
    if start is not None:
        if start > sub:
            raise BadRequest(
                f"started_at = {start.isoformat()} is after submitted_at = {sub.isoformat()}; send the times in order", field="started_at"
            )
        elapsed = (sub - start).total_seconds()
        if judgment.time_on_task_s > elapsed + TIME_SLACK_S:
            raise BadRequest(
                f"time_on_task_s = {judgment.time_on_task_s:g} is more than the {elapsed:g} s between started_at and submitted_at; "
                "send the time the item was visible",
                field="time_on_task_s",
            )


def line_limits(files: list[dict[str, Any]], item_path: str, before: str | None, after: str | None) -> dict[tuple[str, str], int]:
    """(path, side) -> the last line a rater can see there: the file's length where the item
    carries the file, else the last line of the diff's hunks. Path "" (the whole change) takes
    the largest of all."""
    limits: dict[tuple[str, str], int] = {}

    def widen(path: str, side: str, line: int) -> None:
        for key in ((path, side), ("", side)):
            limits[key] = max(limits.get(key, 0), line)

    for f in files:
        for hunk in f["hunks"]:
            for _kind, old, new, _text in hunk_lines(hunk):
                if old is not None:
                    widen(f["old_path"], "old", old)
                if new is not None:
                    widen(f["new_path"], "new", new)
    for side, text in (("old", before), ("new", after)):
        if text:
            widen(item_path, side, text.count("\n") + (0 if text.endswith("\n") else 1))
    return limits


def check_lines(judgment: Judgment, limits: Mapping[tuple[str, str], int]) -> None:
    """Every flagged line exists on its side of its file."""
    for flag in judgment.flags:
        last = limits.get((flag.path, flag.side), 0)
        if flag.last_line > last:
            where = f"{flag.path or 'the change'} ({flag.side} side)"
            fix = f"flag a line from 1 to {last}" if last else f"this side of {flag.path or 'the change'} shows no lines"
            raise BadRequest(f"flags: line {flag.last_line} is not in {where}; {fix}", field="flags")
