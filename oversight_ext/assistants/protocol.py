"""The critic protocol and the shared machinery every backend uses to build a Critique.

A critic is given an :class:`~oversight_ext.records.ItemView`: what a rater sees, no gold. A
backend implements :meth:`BaseCritic.review`, returning a :class:`Draft` (claims anchored to
lines, a verdict, a confidence). :meth:`BaseCritic.critique` times it, turns any exception into
a ``failed`` critique with the reason, drops comments whose lines do not exist (counting them
as hallucinated and marking the critique ``partial``), and stamps the deterministic id.

The two backends that are given gold on purpose (the ``exec-tests`` upper bound and the
``planted`` study instrument) set ``uses_gold`` and implement :meth:`BaseCritic.review_gold`;
gold reaches them only through the named argument ``critique(view, gold=item.gold())``.
:func:`critique_item` is how callers holding a whole :class:`~oversight_ext.records.Item`
critique it: it passes the view, gold only to a critic that uses it, and files the critique
under the item's real id.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from oversight_ext.diffs import DiffError, apply_diff, parse_diff
from oversight_ext.records import Comment, Critique, Gold, Item, ItemView, view_id

__all__ = [
    "BaseCritic",
    "Claim",
    "Critic",
    "Draft",
    "critique_id",
    "critique_item",
    "existing_lines",
    "item_sources",
    "sweep_item",
]


@runtime_checkable
class Critic(Protocol):
    """Anything that critiques items: a name, the hash of its spec, and ``critique`` of what a
    rater sees. ``gold`` is ignored unless the critic sets ``uses_gold`` (see the module doc)."""

    name: str
    spec_hash: str

    def critique(self, view: ItemView, *, gold: Gold | None = None) -> Critique: ...


def uses_gold(critic: object) -> bool:
    """Whether ``critic`` is one of the backends that are given gold on purpose."""
    return bool(getattr(critic, "uses_gold", False))


def _refile(critique: Critique, item: Item) -> Critique:
    """The critique of a view filed under the item's real id (the store's key); a failure
    reason that names the view's opaque id names the item instead (it is for the operator)."""
    reason = critique.reason.replace(view_id(item.id), item.id) if critique.reason else critique.reason
    return dataclasses.replace(critique, item_id=item.id, id=critique_id(critique.assistant, critique.spec_hash, item.id), reason=reason)


def critique_item(critic: Critic, item: Item) -> Critique:
    """Critique a whole item: the critic gets ``item.view()``, and ``item.gold()`` only when it
    is one of the backends that use gold; the critique is filed under ``item.id``."""
    gold = item.gold() if uses_gold(critic) else None
    return _refile(critic.critique(item.view(), gold=gold), item)


def sweep_item(critic: BaseCritic, item: Item, verbosities: list[float]) -> dict[float, Critique]:
    """:meth:`BaseCritic.sweep` of a whole item, as :func:`critique_item` does it."""
    gold = item.gold() if uses_gold(critic) else None
    return {v: _refile(c, item) for v, c in critic.sweep(item.view(), verbosities, gold=gold).items()}


def _check_view(view: object) -> ItemView:
    if isinstance(view, ItemView):
        return view
    if isinstance(view, Item):
        raise ValueError(
            f"critique(view=Item({view.id!r})) is invalid: a critic is given what a rater sees, never gold; "
            "pass item.view() (and gold=item.gold() to a backend that uses it), or use critique_item(critic, item)"
        )
    raise ValueError(f"critique(view={view!r}) is invalid: give an ItemView (Item.view())")


@dataclass
class Claim:
    """A comment before it has an id and before its lines are checked."""

    start_line: int
    text: str
    end_line: int | None = None
    path: str | None = None
    side: str = "new"
    severity: str = "major"
    category: str = "bug"
    planted: bool = False
    #: How sure the backend is of this claim; the ensemble and verbosity knob rank by it.
    score: float = 0.5


@dataclass
class Draft:
    """What a backend found; :meth:`BaseCritic.critique` turns it into a Critique."""

    claims: list[Claim] = field(default_factory=list)
    verdict: str | None = None
    confidence: float | None = None
    summary: str = ""
    model: str = ""
    status: str = "ok"
    reason: str | None = None
    planted: bool = False
    #: Claims the backend itself already judged to point at missing lines.
    hallucinated: int = 0
    #: The verdict is "buggy" only while some claim survives the verbosity knob, else None.
    verdict_from_claims: bool = False


def critique_id(name: str, spec_hash: str, item_id: str) -> str:
    """The deterministic id of a critic's critique of an item (the cache key in the store)."""
    return f"{name}:{spec_hash[:12]}:{item_id}"


def item_sources(item: ItemView) -> tuple[str | None, str | None]:
    """The code before and after the change, rebuilt from the diff where the item lacks one."""
    before, after = item.before, item.after
    if after is None and before is not None:
        try:
            after = apply_diff(before, item.diff, item.path or None)
        except DiffError:
            after = None
    return before, after


def existing_lines(item: ItemView) -> dict[tuple[str, str], int | set[int]]:
    """For each (path, side), the lines a comment may anchor to: a line count or a set of lines.

    The item's main file has its full text (``before``/``after``); other files of a multi-file
    diff are known only through the lines their hunks show.
    """
    out: dict[tuple[str, str], int | set[int]] = {}
    try:
        files = parse_diff(item.diff)
    except DiffError:
        files = []
    for f in files:
        new: set[int] = set()
        old: set[int] = set()
        for h in f.hunks:
            for ln in h.lines:
                if ln.new is not None:
                    new.add(ln.new)
                if ln.old is not None:
                    old.add(ln.old)
        out[(f.path, "new")] = new
        out[(f.path, "old")] = old
    before, after = item_sources(item)
    main = item.path or (files[0].path if files else "")
    for side, text in (("new", after), ("old", before)):
        if text is not None:
            out[(main, side)] = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    return out


def _line_exists(known: dict[tuple[str, str], int | set[int]], path: str, side: str, line: int) -> bool:
    lines = known.get((path, side))
    if lines is None:
        return False
    return 1 <= line <= lines if isinstance(lines, int) else line in lines


class BaseCritic:
    """Shared behaviour of every backend; subclasses implement :meth:`review`."""

    #: Claims scoring below this are dropped: the verbosity knob (1.0 keeps everything).
    min_score: float = 0.0
    #: True only for the backends given gold on purpose (they implement :meth:`review_gold`).
    uses_gold: bool = False

    def __init__(self, name: str, spec_hash: str, *, model: str = "", verbosity: float = 1.0) -> None:
        self.name = name
        self.spec_hash = spec_hash
        self.model = model
        self.verbosity = float(verbosity)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, spec_hash={self.spec_hash[:12]!r})"

    def review(self, view: ItemView) -> Draft:
        raise NotImplementedError

    def review_gold(self, view: ItemView, gold: Gold | None) -> Draft:
        """:meth:`review` for the backends that use gold (``uses_gold``); others never get it."""
        return self.review(view)

    def _draft(self, view: ItemView, gold: Gold | None) -> tuple[Draft, float]:
        started = time.perf_counter()
        try:
            draft = self.review_gold(view, gold) if self.uses_gold else self.review(view)
        except Exception as exc:  # a per-item failure must not end the batch: record why instead
            draft = Draft(status="failed", reason=f"{type(exc).__name__}: {exc}"[:2000])
        return draft, time.perf_counter() - started

    def critique(self, view: ItemView, *, gold: Gold | None = None) -> Critique:
        """Critique what a rater sees of one item. Never raises for a problem with the item or
        the backend (a view that is not an :class:`ItemView` is the caller's error: ValueError)."""
        view = _check_view(view)
        draft, latency = self._draft(view, gold)
        try:
            return self.finish(view, draft, latency)
        except ValueError as exc:  # the backend produced an invalid field (e.g. confidence 7)
            return self.finish(view, Draft(status="failed", reason=f"invalid critique: {exc}"[:2000]), latency)

    def benign_summary(self, critique: Critique) -> tuple[str, float] | None:
        """The summary and confidence this backend would give had it found nothing wrong with the
        item ``critique`` is of, in its own wording (None: the backend has no fixed wording).
        The ``planted`` backend uses it so that a planted "looks correct" reads like the real thing."""
        return None

    def keep(self, claim: Claim, verbosity: float | None = None) -> bool:
        """The verbosity knob: at verbosity v keep claims scoring at least 1 - v."""
        v = self.verbosity if verbosity is None else verbosity
        return claim.score >= 1.0 - v - 1e-9

    def sweep(self, view: ItemView, verbosities: list[float], *, gold: Gold | None = None) -> dict[float, Critique]:
        """Critiques of one item at several verbosity settings from a single review."""
        view = _check_view(view)
        draft, latency = self._draft(view, gold)
        out = {}
        for v in verbosities:
            try:
                out[v] = self.finish(view, draft, latency, verbosity=v)
            except ValueError as exc:
                out[v] = self.finish(view, Draft(status="failed", reason=f"invalid critique: {exc}"[:2000]), latency)
        return out

    def finish(self, item: ItemView, draft: Draft, latency: float, *, verbosity: float | None = None, **extra: Any) -> Critique:
        known = existing_lines(item)
        default_path = item.path or next((p for p, _ in known), "")
        comments: list[Comment] = []
        hallucinated = draft.hallucinated
        for claim in sorted(draft.claims, key=lambda c: (-c.score, c.start_line)):
            if not self.keep(claim, verbosity):
                continue
            path = claim.path or default_path
            side = claim.side if claim.side in ("new", "old") else "new"
            end = max(claim.end_line or claim.start_line, claim.start_line)
            if not all(_line_exists(known, path, side, ln) for ln in (claim.start_line, end)):
                hallucinated += 1
                continue
            if any(c.path == path and c.side == side and c.start_line == claim.start_line and c.text == claim.text for c in comments):
                continue
            comments.append(
                Comment(
                    id=f"c{len(comments) + 1}",
                    path=path,
                    start_line=claim.start_line,
                    end_line=end,
                    text=claim.text.strip() or "(no text)",
                    side=side,  # type: ignore[arg-type]
                    severity=claim.severity if claim.severity in ("info", "minor", "major", "critical") else "major",  # type: ignore[arg-type]
                    category=claim.category or "bug",
                    planted=claim.planted,
                )
            )
        status, reason = draft.status, draft.reason
        if hallucinated and status == "ok":
            status = "partial" if comments or draft.verdict else "failed"
            reason = f"dropped {hallucinated} comment(s) pointing at lines that do not exist"
        if status != "ok" and not reason:
            reason = "the backend gave no reason"
        verdict = draft.verdict if draft.verdict in ("buggy", "correct") else None
        if draft.verdict_from_claims:
            verdict = "buggy" if comments else None
        conf = None if draft.confidence is None else min(max(float(draft.confidence), 0.0), 1.0)
        return Critique(
            id=critique_id(self.name, self.spec_hash, item.id),
            item_id=item.id,
            assistant=self.name,
            comments=tuple(comments),
            verdict=verdict,  # type: ignore[arg-type]
            confidence=conf,
            summary=draft.summary,
            model=draft.model or self.model,
            spec_hash=self.spec_hash,
            status=status,  # type: ignore[arg-type]
            reason=reason,
            planted=draft.planted,
            hallucinated=hallucinated,
            latency_s=max(latency, 0.0),
            **extra,
        )
