"""The typed records every layer exchanges: Item, Critique, Assignment, Judgment.

Each record is a frozen dataclass that validates itself on construction. A bad value raises
:class:`RecordError` (a ``ValueError``) naming the record, the field, the value it got and
how to fix it. ``to_dict`` / ``from_dict`` give the JSON form used by the store, the REST
API and files; :func:`frame_schema` gives the polars schema of a record, so frames built from
records everywhere share one set of columns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import polars as pl

from oversight_ext.study_record import Study, StudyCondition
from oversight_ext.submission import CONFIDENCE_LEVELS, CONFIDENCE_SCALES, KNOWN_LEVELS

__all__ = [
    "CONFIDENCE_LEVELS",
    "DISPLAYS",
    "Assignment",
    "CannotJudge",
    "Comment",
    "Critique",
    "Display",
    "Disposition",
    "Gold",
    "Item",
    "ItemView",
    "Judgment",
    "LineFlag",
    "RecordError",
    "Study",
    "StudyCondition",
    "frame_schema",
    "to_frame",
    "utcnow",
]

# The confidence scales (CONFIDENCE_LEVELS: the five levels of Bowman et al. 2022; the binary
# verdict's 55-95%) come from the submission schema (oversight_ext/schema/submission.schema.json),
# shared with the front end. A judgment holds a level of some scale; which scale a study offers is
# the study's (Study.confidence_levels), checked by the review service on submit.

Label = Literal["buggy", "correct"]
Side = Literal["new", "old"]
Severity = Literal["info", "minor", "major", "critical"]
CritiqueStatus = Literal["ok", "partial", "failed"]
Action = Literal["keep", "edit", "reject"]
Reason = Literal["valid", "nitpick", "wrong"]
#: How a critique is shown: "evidence" (line comments, and a monitor's hunk ranking), "verdict" (the
#: overall verdict only), "ranked" (a monitor's suspicion ranking of the hunks only: no comments, no verdict).
Display = Literal["evidence", "verdict", "ranked"]

LABELS: tuple[str, ...] = get_args(Label)
SIDES: tuple[str, ...] = get_args(Side)
SEVERITIES: tuple[str, ...] = get_args(Severity)
STATUSES: tuple[str, ...] = get_args(CritiqueStatus)
ACTIONS: tuple[str, ...] = get_args(Action)
REASONS: tuple[str, ...] = get_args(Reason)
#: Why a rater could not judge an item (the panel's short fixed list; "other" needs a note).
CannotJudgeReason = Literal["outside_expertise", "too_large", "broken", "other"]
CANNOT_JUDGE_REASONS: tuple[str, ...] = get_args(CannotJudgeReason)
DISPLAYS: tuple[str, ...] = get_args(Display)


class RecordError(ValueError):
    """A record field holds a value it must not. The message names field, value and fix."""

    def __init__(self, record: str, field_name: str, value: Any, fix: str) -> None:
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        super().__init__(f"{record}.{field_name} = {shown} is invalid: {fix}")
        self.record = record
        self.field = field_name
        self.value = value
        self.fix = fix


def utcnow() -> dt.datetime:
    """Timezone-aware current UTC time, the only clock records use."""
    return dt.datetime.now(dt.timezone.utc)


# --------------------------------------------------------------------------- validation


def _check_str(rec: str, name: str, value: Any, *, empty_ok: bool = False) -> None:
    if not isinstance(value, str):
        raise RecordError(rec, name, value, "give a string")
    if not empty_ok and not value.strip():
        raise RecordError(rec, name, value, "give a non-empty string")


def _check_opt_str(rec: str, name: str, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise RecordError(rec, name, value, "give a string or None")


def _check_choice(rec: str, name: str, value: Any, choices: tuple[str, ...], *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if value not in choices:
        raise RecordError(rec, name, value, f"use one of {', '.join(map(repr, choices))}")


def _check_line(rec: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RecordError(rec, name, value, "line numbers are 1-based positive integers")


def _check_number(rec: str, name: str, value: Any, lo: float, hi: float, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (lo <= value <= hi):
        raise RecordError(rec, name, value, f"give a number between {lo} and {hi}")


def _check_time(rec: str, name: str, value: Any, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise RecordError(rec, name, value, "give a timezone-aware datetime (UTC)")


R = TypeVar("R")


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


# --------------------------------------------------------------------------- records


class _Record:
    """What every record shares: a JSON-ready dict and back, validated by the record's own checks."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        return _from_dict(cls, data)


@dataclass(frozen=True, slots=True)
class Item(_Record):
    """Something a rater judges: a code diff, its task statement and its gold truth.

    ``label``, ``bug_lines``, ``bug_lines_before``, ``bug_type``, ``explanation`` and
    ``tests`` are gold: :meth:`rater_view` drops them, and nothing a rater's browser receives
    may contain them. ``bug_lines`` are 1-based lines of ``after`` (file ``path``).
    """

    id: str
    diff: str
    spec: str = ""
    language: str = "python"
    source: str = "unknown"
    task: str = ""
    path: str = ""
    before: str | None = None
    after: str | None = None
    pair_id: str | None = None
    direction: str | None = None
    label: Label | None = None
    bug_lines: tuple[int, ...] = ()
    bug_lines_before: tuple[int, ...] = ()
    bug_type: str | None = None
    explanation: str | None = None
    tests: str | None = None
    licence: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    GOLD_FIELDS: typing.ClassVar[tuple[str, ...]] = (
        "label",
        "bug_lines",
        "bug_lines_before",
        "bug_type",
        "explanation",
        "tests",
    )

    def __post_init__(self) -> None:
        r = "Item"
        object.__setattr__(self, "bug_lines", _as_tuple(self.bug_lines))
        object.__setattr__(self, "bug_lines_before", _as_tuple(self.bug_lines_before))
        _check_str(r, "id", self.id)
        _check_str(r, "diff", self.diff)
        for name in ("spec", "language", "source", "task", "path"):
            _check_str(r, name, getattr(self, name), empty_ok=True)
        for name in ("before", "after", "pair_id", "direction", "bug_type", "explanation", "tests", "licence"):
            _check_opt_str(r, name, getattr(self, name))
        _check_choice(r, "label", self.label, LABELS, optional=True)
        for name in ("bug_lines", "bug_lines_before"):
            seq = getattr(self, name)
            if not isinstance(seq, tuple):
                raise RecordError(r, name, seq, "give a list of 1-based line numbers")
            for line in seq:
                _check_line(r, name, line)
        if self.label == "correct" and self.bug_lines:
            raise RecordError(r, "bug_lines", self.bug_lines, "a correct item has no bug lines; set label='buggy' or clear them")
        if self.after is not None and self.bug_lines:
            n = self.after.count("\n") + (0 if self.after.endswith("\n") else 1)
            bad = [b for b in self.bug_lines if b > n]
            if bad:
                raise RecordError(r, "bug_lines", self.bug_lines, f"lines {bad} lie past the end of `after` ({n} lines)")
        for name in ("provenance", "meta"):
            if not isinstance(getattr(self, name), dict):
                raise RecordError(r, name, getattr(self, name), "give a dict (JSON object)")

    def view(self) -> ItemView:
        """What a rater sees of this item, and all a critic may read (:class:`ItemView`)."""
        return ItemView(
            id=view_id(self.id),
            diff=self.diff,
            path=self.path,
            before=self.before,
            after=self.after,
            task=self.task,
            language=canonical_language(self.language),
            spec=self.spec,
        )

    def gold(self) -> Gold:
        """The item's gold truth, for the few backends that are given it on purpose (:class:`Gold`)."""
        return Gold(
            label=self.label,
            bug_lines=self.bug_lines,
            bug_lines_before=self.bug_lines_before,
            bug_type=self.bug_type,
            explanation=self.explanation,
            tests=self.tests,
        )

    def rater_view(self) -> dict[str, Any]:
        """What a rater may see: everything except gold, provenance and internal metadata."""
        return {
            "id": self.id,
            "diff": self.diff,
            "spec": self.spec,
            "language": self.language,
            "task": self.task,
            "path": self.path,
        }


#: Names items give a language, by the name critics know it by (lower case).
LANGUAGE_ALIASES: dict[str, str] = {"python3": "python", "py": "python", "py3": "python", "cpython": "python"}


def canonical_language(language: str) -> str:
    """``Python``, ``python3``, ``py`` -> ``python``: the name critics compare against."""
    name = language.strip().lower()
    return LANGUAGE_ALIASES.get(name, name)


def view_id(item_id: str) -> str:
    """The opaque id an :class:`ItemView` carries: a digest of the item id, since ids may name
    the direction of a change (``...:introduce_bug``) and so give the label away."""
    return "v-" + hashlib.sha256(item_id.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ItemView:
    """An item as a rater sees it, and everything a critic is given: the change, the files
    around it, the task statement. It has no gold (label, bug lines, bug type, explanation,
    tests), no direction or pair, no provenance or metadata, and an opaque ``id``
    (:func:`view_id`): a critic cannot read what it is measured against, by accident or
    otherwise; the type checker rejects ``view.label`` and so does the runtime (slots).
    """

    id: str
    diff: str
    path: str = ""
    before: str | None = None
    after: str | None = None
    task: str = ""
    language: str = "python"
    spec: str = ""

    def __post_init__(self) -> None:
        r = "ItemView"
        _check_str(r, "id", self.id)
        _check_str(r, "diff", self.diff)
        for name in ("path", "task", "language", "spec"):
            _check_str(r, name, getattr(self, name), empty_ok=True)
        for name in ("before", "after"):
            _check_opt_str(r, name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class Gold:
    """An item's gold truth, handed only to backends that are given it on purpose, by a named
    argument (``critique(view, gold=...)``): the ``exec-tests`` upper bound (its ``tests``) and
    the ``planted`` study instrument (``label``, ``bug_lines``)."""

    label: Label | None = None
    bug_lines: tuple[int, ...] = ()
    bug_lines_before: tuple[int, ...] = ()
    bug_type: str | None = None
    explanation: str | None = None
    tests: str | None = None


@dataclass(frozen=True, slots=True)
class Comment(_Record):
    """One line-anchored claim of a critique."""

    id: str
    path: str
    start_line: int
    end_line: int
    text: str
    side: Side = "new"
    severity: Severity = "major"
    category: str = "bug"
    #: True when a `planted` critic made this claim deliberately wrong. Never sent to raters.
    planted: bool = False

    def __post_init__(self) -> None:
        r = "Comment"
        _check_str(r, "id", self.id)
        _check_str(r, "path", self.path, empty_ok=True)
        _check_line(r, "start_line", self.start_line)
        _check_line(r, "end_line", self.end_line)
        if self.end_line < self.start_line:
            raise RecordError(r, "end_line", self.end_line, f"must be >= start_line ({self.start_line})")
        _check_str(r, "text", self.text)
        _check_choice(r, "side", self.side, SIDES)
        _check_choice(r, "severity", self.severity, SEVERITIES)
        _check_str(r, "category", self.category)
        if not isinstance(self.planted, bool):
            raise RecordError(r, "planted", self.planted, "give True or False")

    def covers(self, line: int, tolerance: int = 0) -> bool:
        """Whether this comment's range is within ``tolerance`` lines of ``line``."""
        return self.start_line - tolerance <= line <= self.end_line + tolerance

    def rater_view(self) -> dict[str, Any]:
        d = _to_dict(self)
        d.pop("planted")
        return d


@dataclass(frozen=True, slots=True)
class Critique(_Record):
    """An assistant's critique of one item: line comments plus an overall verdict."""

    id: str
    item_id: str
    assistant: str
    comments: tuple[Comment, ...] = ()
    verdict: Label | None = None
    confidence: float | None = None
    summary: str = ""
    model: str = ""
    spec_hash: str = ""
    status: CritiqueStatus = "ok"
    reason: str | None = None
    planted: bool = False
    hallucinated: int = 0
    latency_s: float = 0.0
    created_at: dt.datetime = field(default_factory=utcnow)
    #: A monitor's suspicion of each hunk of the item's diff, in the diff's order (empty: not a monitor).
    hunk_scores: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        r = "Critique"
        object.__setattr__(self, "hunk_scores", _as_tuple(self.hunk_scores))
        if not isinstance(self.hunk_scores, tuple):
            raise RecordError(r, "hunk_scores", self.hunk_scores, "give a list of scores in [0, 1], one per hunk")
        for score in self.hunk_scores:
            _check_number(r, "hunk_scores", score, 0.0, 1.0)
        comments = tuple(Comment.from_dict(c) if isinstance(c, dict) else c for c in self.comments)
        object.__setattr__(self, "comments", comments)
        _check_str(r, "id", self.id)
        _check_str(r, "item_id", self.item_id)
        _check_str(r, "assistant", self.assistant)
        for c in comments:
            if not isinstance(c, Comment):
                raise RecordError(r, "comments", c, "give Comment records or dicts")
        if len({c.id for c in comments}) != len(comments):
            raise RecordError(r, "comments", [c.id for c in comments], "comment ids must be unique within a critique")
        _check_choice(r, "verdict", self.verdict, LABELS, optional=True)
        _check_number(r, "confidence", self.confidence, 0.0, 1.0, optional=True)
        _check_str(r, "summary", self.summary, empty_ok=True)
        _check_choice(r, "status", self.status, STATUSES)
        if self.status != "ok" and not self.reason:
            raise RecordError(r, "reason", self.reason, f"a {self.status} critique must say why")
        if isinstance(self.hallucinated, bool) or not isinstance(self.hallucinated, int) or self.hallucinated < 0:
            raise RecordError(r, "hallucinated", self.hallucinated, "give a count >= 0")
        _check_number(r, "latency_s", self.latency_s, 0.0, float("inf"))
        _check_time(r, "created_at", self.created_at, optional=False)

    def rater_view(self) -> dict[str, Any]:
        """The critique as a rater sees it: no planted flags, no internal identity.

        The id is replaced by an opaque digest: stored ids name the assistant (``planted:...``).
        """
        return {
            "id": hashlib.sha256(self.id.encode()).hexdigest()[:16],
            "comments": [c.rater_view() for c in self.comments],
            "verdict": self.verdict,
            "confidence": self.confidence,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class Assignment(_Record):
    """One rater is to judge one item under one condition, at one position in their queue."""

    id: str
    study: str
    rater: str
    item_id: str
    condition: str
    position: int = 0
    critique_id: str | None = None
    time_limit_s: float | None = None
    is_qc: bool = False
    #: How the critique is shown (:data:`Display`): "evidence", "verdict" or "ranked".
    display: Display = "evidence"

    def __post_init__(self) -> None:
        r = "Assignment"
        for name in ("id", "study", "rater", "item_id", "condition"):
            _check_str(r, name, getattr(self, name))
        if isinstance(self.position, bool) or not isinstance(self.position, int) or self.position < 0:
            raise RecordError(r, "position", self.position, "give a queue position >= 0")
        _check_opt_str(r, "critique_id", self.critique_id)
        _check_number(r, "time_limit_s", self.time_limit_s, 1.0, 86400.0, optional=True)
        _check_choice(r, "display", self.display, DISPLAYS)


@dataclass(frozen=True, slots=True)
class LineFlag(_Record):
    """A line (or lines ``line..end_line``) the rater flagged, with their own comment and, where
    they gave them, a severity (the critique comments' scale) and a category."""

    path: str
    line: int
    comment: str = ""
    side: Side = "new"
    end_line: int | None = None
    severity: Severity | None = None
    category: str | None = None

    def __post_init__(self) -> None:
        r = "LineFlag"
        _check_str(r, "path", self.path, empty_ok=True)
        _check_line(r, "line", self.line)
        _check_str(r, "comment", self.comment, empty_ok=True)
        _check_choice(r, "side", self.side, SIDES)
        if self.end_line is not None:
            _check_line(r, "end_line", self.end_line)
            if self.end_line < self.line:
                raise RecordError(r, "end_line", self.end_line, f"give a last line at or after line {self.line}, or None for one line")
        if self.severity is not None:
            _check_choice(r, "severity", self.severity, SEVERITIES)
        if self.category is not None:
            _check_str(r, "category", self.category)

    @property
    def last_line(self) -> int:
        """The flag's last line (``line`` for a one-line flag)."""
        return self.line if self.end_line is None else self.end_line


@dataclass(frozen=True, slots=True)
class Disposition(_Record):
    """What the rater did with one AI comment: keep, edit (with new text) or reject, and why."""

    comment_id: str
    action: Action
    reason: Reason | None = None
    edited_text: str | None = None

    def __post_init__(self) -> None:
        r = "Disposition"
        _check_str(r, "comment_id", self.comment_id)
        _check_choice(r, "action", self.action, ACTIONS)
        _check_choice(r, "reason", self.reason, REASONS, optional=True)
        if self.action == "edit" and not (self.edited_text and self.edited_text.strip()):
            raise RecordError(r, "edited_text", self.edited_text, "an 'edit' disposition needs the edited text")
        _check_opt_str(r, "edited_text", self.edited_text)


@dataclass(frozen=True, slots=True)
class CannotJudge(_Record):
    """The rater's reason for giving no verdict: one of a short fixed list, and a note ("other" needs one)."""

    reason: CannotJudgeReason
    note: str = ""

    def __post_init__(self) -> None:
        r = "CannotJudge"
        _check_choice(r, "reason", self.reason, CANNOT_JUDGE_REASONS)
        _check_str(r, "note", self.note, empty_ok=True)
        if len(self.note) > 2000:
            raise RecordError(r, "note", self.note, "keep the note to at most 2,000 characters")
        if self.reason == "other" and not self.note.strip():
            raise RecordError(r, "note", self.note, "reason 'other' needs a note saying why the item cannot be judged")


@dataclass(frozen=True, slots=True)
class Judgment(_Record):
    """A rater's judgment of one assignment. Never updated: a correction supersedes it.

    ``submission_id`` is made by the client; submitting the same id twice stores one row.
    ``study``, ``item_id`` and ``condition`` are filled by the store from the assignment.

    A "cannot judge" record is a Judgment with ``cannot_judge`` set and no verdict, confidence
    or Likert rating: it takes its place in the assignment's chain of revisions (it may replace
    a verdict, and a later verdict may replace it), but no accuracy estimate reads it
    (:meth:`oversight_ext.store.Store.judgments` leaves it out unless asked).
    """

    submission_id: str
    assignment_id: str
    rater: str
    verdict: Label | None
    confidence: float | None
    time_on_task_s: float
    flags: tuple[LineFlag, ...] = ()
    dispositions: tuple[Disposition, ...] = ()
    likert: int | None = None
    comment: str = ""
    study: str = ""
    item_id: str = ""
    condition: str = ""
    supersedes: str | None = None
    simulated: bool = False
    started_at: dt.datetime | None = None
    submitted_at: dt.datetime = field(default_factory=utcnow)
    received_at: dt.datetime | None = None
    #: What was on screen and when, as the client recorded it (:mod:`oversight_ext.attention`); None when not recorded.
    attention: dict[str, Any] | None = None
    #: Set when the rater gave no verdict and said why (see the class docstring); None for a verdict.
    cannot_judge: CannotJudge | None = None

    def __post_init__(self) -> None:
        r = "Judgment"
        flags = tuple(LineFlag.from_dict(f) if isinstance(f, dict) else f for f in self.flags)
        disp = tuple(Disposition.from_dict(d) if isinstance(d, dict) else d for d in self.dispositions)
        object.__setattr__(self, "flags", flags)
        object.__setattr__(self, "dispositions", disp)
        if isinstance(self.cannot_judge, dict):
            object.__setattr__(self, "cannot_judge", CannotJudge.from_dict(self.cannot_judge))
        _check_str(r, "submission_id", self.submission_id)
        if len(self.submission_id) > 128:
            raise RecordError(r, "submission_id", self.submission_id, "use at most 128 characters (a UUID is 36)")
        _check_str(r, "assignment_id", self.assignment_id)
        _check_str(r, "rater", self.rater)
        if self.cannot_judge is not None:
            self._check_cannot_judge()
        else:
            self._check_verdict()
        _check_number(r, "time_on_task_s", self.time_on_task_s, 0.0, 7 * 86400.0)
        for f in flags:
            if not isinstance(f, LineFlag):
                raise RecordError(r, "flags", f, "give LineFlag records or dicts")
        seen: set[str] = set()
        for d in disp:
            if not isinstance(d, Disposition):
                raise RecordError(r, "dispositions", d, "give Disposition records or dicts")
            if d.comment_id in seen:
                raise RecordError(r, "dispositions", d.comment_id, "give at most one disposition per comment")
            seen.add(d.comment_id)
        _check_str(r, "comment", self.comment, empty_ok=True)
        _check_opt_str(r, "supersedes", self.supersedes)
        if self.supersedes == self.submission_id:
            raise RecordError(r, "supersedes", self.supersedes, "a judgment cannot supersede itself")
        _check_time(r, "started_at", self.started_at)
        _check_time(r, "submitted_at", self.submitted_at, optional=False)
        _check_time(r, "received_at", self.received_at)
        if self.attention is not None and not isinstance(self.attention, dict):
            raise RecordError(r, "attention", self.attention, "give the attention record as a dict with spans and events, or None")

    @property
    def is_cannot_judge(self) -> bool:
        """The rater gave no verdict and said why (``cannot_judge``)."""
        return self.cannot_judge is not None

    def _check_cannot_judge(self) -> None:
        r = "Judgment"
        if not isinstance(self.cannot_judge, CannotJudge):
            raise RecordError(r, "cannot_judge", self.cannot_judge, "give a CannotJudge record or a dict with reason and note")
        for name in ("verdict", "confidence", "likert"):
            if getattr(self, name) is not None:
                raise RecordError(
                    r, name, getattr(self, name), "a cannot-judge record carries no verdict, confidence or likert: leave it out"
                )

    def _check_verdict(self) -> None:
        r = "Judgment"
        _check_choice(r, "verdict", self.verdict, LABELS)
        if (
            isinstance(self.confidence, bool)
            or not isinstance(self.confidence, (int, float))
            or not any(abs(self.confidence - c) < 1e-6 for c in KNOWN_LEVELS)
        ):
            scales = " or ".join(f"{name} {levels}" for name, levels in CONFIDENCE_SCALES.items())
            raise RecordError(r, "confidence", self.confidence, f"use one of the five levels of the study's scale: {scales}")
        if self.likert is not None and (isinstance(self.likert, bool) or not isinstance(self.likert, int) or not 1 <= self.likert <= 7):
            raise RecordError(r, "likert", self.likert, "give an integer from 1 to 7, or None")


# --------------------------------------------------------------------------- (de)serialisation


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _to_dict(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _to_dict(rec: Any) -> dict[str, Any]:
    return {f.name: _jsonable(getattr(rec, f.name)) for f in dataclasses.fields(rec)}


def _parse_time(cls_name: str, name: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise RecordError(cls_name, name, value, "give an ISO 8601 timestamp such as 2026-01-31T12:00:00Z") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _from_dict(cls: type[R], data: Any) -> R:
    name = cls.__name__
    if not isinstance(data, dict):
        raise RecordError(name, "<record>", data, "give a JSON object")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise RecordError(name, unknown[0], data[unknown[0]], f"unknown field; known fields are {sorted(names)}")
    required = [
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [n for n in required if n not in data]
    if missing:
        raise RecordError(name, missing[0], None, f"required field is missing (required: {required})")
    hints = _hints(cls)
    kwargs = {}
    for key, value in data.items():
        if hints[key] in (dt.datetime, dt.datetime | None):
            value = _parse_time(name, key, value)
        kwargs[key] = _as_tuple(value)
    try:
        return cls(**kwargs)
    except TypeError as exc:  # wrong constructor types surface as a RecordError too
        raise RecordError(name, "<record>", data, str(exc)) from None


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


# --------------------------------------------------------------------------- polars schema

_RECORDS = (Item, Comment, Critique, Assignment, LineFlag, Disposition, CannotJudge, Judgment)


def _polars_type(hint: Any) -> pl.DataType:
    origin = get_origin(hint)
    args = [a for a in get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return _polars_type(args[0])
    if origin is Literal:
        return pl.Utf8()
    if origin is tuple:
        return pl.List(_polars_type(args[0]))
    if origin is dict or hint is dict:
        return pl.Utf8()  # JSON text: free-form metadata
    if hint in _RECORDS:
        return pl.Struct(frame_schema(hint))
    return {
        str: pl.Utf8(),
        int: pl.Int64(),
        float: pl.Float64(),
        bool: pl.Boolean(),
        dt.datetime: pl.Datetime("us", "UTC"),
    }[hint]


def frame_schema(cls: type) -> dict[str, pl.DataType]:
    """The polars schema of a record: one column per field, nested records as structs."""
    return {f.name: _polars_type(_hints(cls)[f.name]) for f in dataclasses.fields(cls) if not f.name.isupper()}


def _frame_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _frame_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_frame_value(v) for v in value]
    return value


def to_frame(records: typing.Iterable[Any], cls: type, *, drop: typing.Sequence[str] = ()) -> pl.DataFrame:
    """A polars frame of records of type ``cls`` with the schema :func:`frame_schema` gives."""
    schema = {k: v for k, v in frame_schema(cls).items() if k not in drop}
    rows = [{k: _frame_value(getattr(r, k)) for k in schema} for r in records]
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
