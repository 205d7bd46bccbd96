"""The review service: what one rater may see and submit, over the store.

The REST handlers and the notebook widget both call this one class, so the blinding rules
live in one place: a rater sees only their own assignments; an unassisted condition never
carries a critique; no answer holds gold, the condition's name, planted flags or another
rater's judgments. Stored item and critique ids can name a dataset or a label (the shared
code-pair schema's ids end in ``introduce_bug`` / ``fix_bug``), so a rater sees them only as
opaque ids: a keyed hash (HMAC-SHA256) under a random key the study keeps in the store.
Assignment ids are the design's own (``study:rater:position``), which say nothing the rater
does not know. The rater is always an argument the caller got from its identity layer
(Jupyter's IdentityProvider, the hub user, the kernel's user), never a field of the payload.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from typing import Any

from oversight_ext.attention import AttentionError, audited_hunks, check_attention
from oversight_ext.records import Assignment, Critique, Item, Judgment, RecordError, Study, utcnow
from oversight_ext.store import Store, UnknownRecord
from oversight_ext.study_record import SLOT_PREFIX
from oversight_ext.submission import KNOWN_LEVELS, PAYLOAD_FIELDS, REQUIRED_FIELDS, SubmissionError, check_submission

from . import payload as checks
from .diffcache import DiffCache
from .errors import BadRequest, Conflict, Forbidden, NotFound, ServiceError, TooLarge

__all__ = ["BadRequest", "Conflict", "Forbidden", "NotFound", "ReviewService", "ServiceError", "TooLarge"]

#: Judgment fields a rater's answers leave out: the condition's name is part of the blinding.
HIDDEN_JUDGMENT_FIELDS = ("condition",)
#: The study-state key holding the study's key for the opaque ids its raters see.
ID_KEY_STATE = "review.id_key"
#: Nested records whose errors are reported under the payload field that holds them.
_NESTED = {"LineFlag": "flags", "Disposition": "dispositions", "CannotJudge": "cannot_judge"}
#: The fields a judgment needs unless it is a "cannot judge" record instead.
VERDICT_FIELDS = ("verdict", "confidence")


def judgment_view(judgment: Judgment, item_id: str) -> dict[str, Any]:
    """A judgment as its own rater may see it: no condition name, the item by its opaque ``item_id``."""
    data = judgment.to_dict()
    for name in HIDDEN_JUDGMENT_FIELDS:
        data.pop(name, None)
    data["item_id"] = item_id
    return data


def opaque_id(key: bytes, kind: str, stored_id: str) -> str:
    """The id a rater sees for the stored ``kind`` ("item", "critique") id: a keyed hash, 24 hex digits."""
    return kind[0] + hmac.new(key, f"{kind}:{stored_id}".encode(), hashlib.sha256).hexdigest()[:24]


class ReviewService:
    """Queues, item views and judgment submission for one rater at a time.

    ``cache_size`` parsed diffs are kept in memory and, with ``prefetch``, the item a rater
    will open next is parsed in the background; with ``diff_cache_dir``, every parse is also
    kept on disk by content hash, for the first views after a restart (see :mod:`.diffcache`).
    """

    def __init__(
        self, store: Store, *, cache_size: int = 32, prefetch: bool = True, diff_cache_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self.store = store
        self.prefetch = prefetch
        self.diffs = DiffCache(cache_size, prefetch=prefetch, directory=diff_cache_dir)
        self._studies: dict[str, Study] = {}
        self._id_keys: dict[str, bytes] = {}
        self._critique_comments: dict[str, set[str]] = {}
        self._paths_by_item: dict[str, set[str]] = {}
        self._lines_by_item: dict[str, dict[tuple[str, str], int]] = {}

    # ------------------------------------------------------------------ queues

    def me(self, rater: str) -> dict[str, Any]:
        """The rater's role and, per study they hold assignments in, how many they have done."""
        row = self.store.rater(rater)
        role = row["role"] if row is not None and row["role"] == "owner" else "rater"
        done = self._done(rater)
        studies: dict[str, dict[str, Any]] = {}
        first_open: dict[str, Assignment] = {}
        for a in self.store.assignments(rater=rater):
            s = studies.setdefault(a.study, {"name": a.study, "done": 0, "total": 0})
            s["total"] += 1
            s["done"] += a.id in done
            if a.id not in done:
                first_open.setdefault(a.study, a)
        for a in first_open.values():  # the sidebar loads this first: parse what the rater opens next
            self._prefetch(a.item_id)
        for name in self._open_studies():
            studies.setdefault(name, {"name": name, "done": 0, "total": self._slot_size(name)})
        return {"rater": rater, "role": role, "studies": list(studies.values())}

    def queue(self, rater: str, study: str) -> dict[str, Any]:
        """The rater's assignments in ``study`` in queue order, each marked done or not, with its
        ``status``: "open", "judged" (a verdict), or "cannot_judge" (the rater said why not).
        A cannot-judge item counts as done: the rater has answered it, and may revise it."""
        assignments = self._enrolled(rater, study)
        status = self._status(rater, study)
        rows = [{"id": a.id, "position": a.position, "done": a.id in status, "status": status.get(a.id, "open")} for a in assignments]
        return {"study": study, "done": sum(r["done"] for r in rows), "total": len(rows), "assignments": rows}

    def next(self, rater: str, study: str) -> dict[str, Any]:
        """The first assignment of the rater's queue without a judgment, or None when done."""
        done = self._done(rater, study)
        nxt = next((a for a in self._enrolled(rater, study) if a.id not in done), None)
        if nxt is not None:
            self._prefetch(nxt.item_id)
        return {"assignment_id": None if nxt is None else nxt.id}

    def progress(self, rater: str, study: str) -> dict[str, int]:
        q = self.queue(rater, study)
        return {"done": q["done"], "total": q["total"]}

    # ------------------------------------------------------------------ the item view

    def view_json(self, rater: str, assignment_id: str, *, raw_diff: bool = True) -> str:
        """:meth:`view` as JSON text, the parsed diff spliced in from the cache's encoded copy
        (a 100k-line diff is about 6 MB of JSON: encoding it anew per request dominated a warm view)."""
        view, item = self._view(rater, assignment_id, raw_diff=raw_diff)
        del view["files"]
        head = json.dumps(view)
        return f'{head[:-1]}, "files": {self.diffs.encoded(item)}}}'

    def view(self, rater: str, assignment_id: str, *, raw_diff: bool = True) -> dict[str, Any]:
        """What ``rater`` may see of one of their assignments (see the module docstring).

        An assisted view showing the assistant's evidence, or its ranking alone (display
        "ranked"), carries the critique's ``hunk_scores`` (suspicion per hunk, for the triage
        minimap and ranked list); no other view carries any suspicion data. A "ranked" view
        carries no comments, verdict, confidence or summary: only the ranking.

        ``raw_diff=False`` leaves the diff text out when it parsed (``item.diff`` is ""): the
        review view reads only ``files``, and the text would double the payload.
        """
        return self._view(rater, assignment_id, raw_diff=raw_diff)[0]

    def _view(self, rater: str, assignment_id: str, *, raw_diff: bool) -> tuple[dict[str, Any], Item]:
        a = self._assignment(rater, assignment_id)
        self.store.mark_sent(a.id)  # the start of server-side time on task (the first call only)
        study = self._study(a.study)
        item = self.store.get_item(a.item_id)
        kind = study.kind_of(a)
        critique = None
        files = self.diffs.files(item)
        if kind == "assisted" and a.critique_id is not None:
            stored = self.store.get_critique(a.critique_id)
            critique = self._critique_view(stored, a)
            critique["id"] = self.public_id(a.study, "critique", a.critique_id)
            scores = self._hunk_scores(stored, a, files)
            if scores is not None:
                critique["hunk_scores"] = scores
        current = self._current(rater, a)
        # Only now: a prefetch parsing beside this view's own parse would slow both down.
        self._prefetch_after(rater, a)
        return {
            "assignment": {
                "id": a.id,
                "study": a.study,
                "position": a.position,
                "condition_kind": kind,
                "display": a.display,
                "time_limit_s": study.time_limit_of(a),
                "audit_budget_hunks": study.audit_budget_hunks,
                "verdict_scale": study.verdict_scale,
                "confidence_levels": list(study.confidence_levels),
            },
            "item": {
                **item.rater_view(),
                "id": self.public_id(a.study, "item", item.id),
                **({} if raw_diff or not files else {"diff": ""}),
            },
            "files": files,
            "critique": critique,
            "judgment": None if current is None else self._judgment_view(current, a),
        }, item

    # ------------------------------------------------------------------ submitting

    def submit(self, rater: str, payload: Any) -> tuple[dict[str, Any], bool]:
        """Store ``rater``'s judgment; returns (the stored judgment's view, created).

        Resubmitting a stored ``submission_id`` (a retry, a double click) creates nothing and
        returns the stored row. A new judgment of an assignment already judged replaces the
        current one: ``supersedes`` defaults to it and, when given, must name it.
        """
        if not isinstance(payload, dict):
            raise BadRequest(f"the judgment must be a JSON object, got {type(payload).__name__}; send the POST body as an object")
        checks.check_text(payload)
        if payload.get("cannot_judge") is not None:
            # A client may send the verdict fields as null beside cannot_judge: that is leaving them out.
            payload = {k: v for k, v in payload.items() if not (k in VERDICT_FIELDS and v is None)}
        unknown = sorted(set(payload) - PAYLOAD_FIELDS)
        if unknown:
            fix = "the server fills it" if unknown[0] in Judgment.__dataclass_fields__ else f"send only {sorted(PAYLOAD_FIELDS)}"
            raise BadRequest(f"judgment field {unknown[0]!r} is not accepted from the client: {fix}", field=unknown[0])
        for name in REQUIRED_FIELDS:
            if payload.get(name) is None:
                raise BadRequest(f"judgment field {name!r} is missing; send it (required: {list(REQUIRED_FIELDS)})", field=name)
        if payload.get("cannot_judge") is None:
            for name in VERDICT_FIELDS:
                if payload.get(name) is None:
                    raise BadRequest(
                        f"judgment field {name!r} is missing; send verdict and confidence, or cannot_judge with a reason instead",
                        field=name,
                    )
        if not isinstance(payload["assignment_id"], str):
            raise BadRequest(
                f"assignment_id = {payload['assignment_id']!r} is invalid: give the assignment's id string", field="assignment_id"
            )
        try:
            # Every scale's levels here; the study's own are checked once the assignment is known (checks.check_scale).
            check_submission(payload, levels=KNOWN_LEVELS)
        except SubmissionError as exc:
            raise BadRequest(str(exc), field=exc.field) from None
        a = self._assignment(rater, payload["assignment_id"])
        mine = self.store.judgments(assignment_id=a.id, current=False, cannot_judge=True)  # the assignment is this rater's
        resent = next((j for j in mine if j.submission_id == payload["submission_id"]), None)
        if resent is not None:
            return self._judgment_view(resent, a), False
        data = {k: v for k, v in payload.items() if v is not None or k in ("likert", "supersedes", "started_at")}
        if data.get("cannot_judge") is not None:
            data.setdefault("verdict", None)
            data.setdefault("confidence", None)
        data.setdefault("flags", [])
        data.setdefault("dispositions", [])
        data.setdefault("comment", "")
        current = self._current_of(mine)
        if current is not None:
            if data.get("supersedes") is None:
                data["supersedes"] = current.submission_id
            elif data["supersedes"] != current.submission_id:
                msg = f"supersedes = {data['supersedes']!r} is not the current judgment of {a.id}; name {current.submission_id!r}"
                raise BadRequest(msg, field="supersedes")
        judgment = self._judgment(rater, a, data)
        try:
            stored, created = self.store.submit(judgment)
        except UnknownRecord as exc:
            raise NotFound(str(exc)) from None
        except RecordError as exc:
            if exc.field == "rater":
                raise Forbidden(f"assignment {a.id!r} is not in your queue") from None
            raise BadRequest(str(exc), field=exc.field) from None
        if stored.rater != rater or stored.assignment_id != a.id:
            # Someone else's submission id: say so without showing their judgment.
            raise Conflict("submission_id is already used by another submission; make a fresh id (a UUID)", field="submission_id")
        return self._judgment_view(stored, a), created

    def _judgment(self, rater: str, a: Assignment, data: dict[str, Any]) -> Judgment:
        try:
            judgment = Judgment.from_dict({**data, "rater": rater})
        except RecordError as exc:
            field = _NESTED.get(exc.record, exc.field)
            raise BadRequest(str(exc), field=None if field.startswith("<") else field) from None
        study = self._study(a.study)
        checks.check_scale(study, judgment)
        checks.check_times(judgment, utcnow())
        shown: set[str] = set()
        if study.kind_of(a) == "assisted" and a.critique_id is not None and a.display == "evidence":
            shown = self._comment_ids(a.critique_id)
        stray = [d.comment_id for d in judgment.dispositions if d.comment_id not in shown]
        if stray:
            fix = "this item shows no critique comments" if not shown else f"name one of the comments shown ({sorted(shown)})"
            raise BadRequest(f"dispositions name comment {stray[0]!r}, which was not shown: {fix}", field="dispositions")
        paths = self._item_paths(a.item_id)
        bad = [f.path for f in judgment.flags if f.path not in paths]
        if bad:
            raise BadRequest(f"flags name file {bad[0]!r}, which is not in this diff; use one of {sorted(paths)}", field="flags")
        checks.check_lines(judgment, self._line_limits(a.item_id))
        if judgment.attention is not None:
            self._check_attention(judgment, a)
        if study.audit_budget_hunks is not None:
            self._check_audits(judgment, a, study.audit_budget_hunks)
        return judgment

    def _check_audits(self, judgment: Judgment, a: Assignment, budget: int) -> None:
        """Refuse a judgment whose attention record, with the rater's earlier records of the same
        assignment (a revision gets no fresh budget), opened more hunks in depth than the budget."""
        opened = audited_hunks(judgment.attention)
        earlier = set().union(
            *(audited_hunks(j.attention) for j in self.store.judgments(assignment_id=a.id, current=False, cannot_judge=True))
        )
        if len(opened | earlier) > budget:
            raise BadRequest(
                f"attention claims {len(opened | earlier)} hunks opened in depth ({len(opened)} in this record, "
                f"{len(earlier - opened)} more in earlier records of {a.id}); the study's audit budget is {budget} hunks per item: "
                "send only the audits the panel allowed",
                field="attention",
            )

    def _check_attention(self, judgment: Judgment, a: Assignment) -> None:
        sizes = [[len(h["kinds"]) for h in f["hunks"]] for f in self.diffs.files(self.store.get_item(a.item_id))]
        start = judgment.started_at
        elapsed = None if start is None else (judgment.submitted_at - start).total_seconds() * 1000 + checks.TIME_SLACK_S * 1000
        try:
            check_attention(judgment.attention or {}, sizes, elapsed)
        except AttentionError as exc:
            raise (TooLarge if exc.too_large else BadRequest)(str(exc), field="attention") from None

    # ------------------------------------------------------------------ helpers

    def _assignment(self, rater: str, assignment_id: str) -> Assignment:
        try:
            a = self.store.get_assignment(assignment_id)
        except UnknownRecord:
            raise NotFound(f"no assignment {assignment_id!r}; open one from your queue") from None
        if a.rater != rater:
            raise Forbidden(f"assignment {assignment_id!r} is not in your queue")
        return a

    def public_id(self, study: str, kind: str, stored_id: str) -> str:
        """The opaque id raters of ``study`` see for a stored item or critique id (see the module docstring)."""
        key = self._id_keys.get(study)
        if key is None:
            # First use in any process stores a fresh random key; every later reader gets that one.
            stored = self.store.ensure_state(study, ID_KEY_STATE, secrets.token_hex(32))
            key = self._id_keys[study] = bytes.fromhex(stored)
        return opaque_id(key, kind, stored_id)

    def _judgment_view(self, judgment: Judgment, a: Assignment) -> dict[str, Any]:
        return judgment_view(judgment, self.public_id(a.study, "item", a.item_id))

    def _study(self, name: str) -> Study:
        # A study's config is frozen with its table, so it can be kept for the process's life.
        study = self._studies.get(name)
        if study is None:
            try:
                study = self._studies[name] = self.store.study(name)
            except UnknownRecord:
                raise NotFound(f"no study {name!r}; see your studies at /oversight/api/me") from None
        return study

    @staticmethod
    def _hunk_scores(critique: Critique, a: Assignment, files: list[dict[str, Any]]) -> list[float] | None:
        """The monitor's suspicion per hunk (diff order), for the triage minimap: only where the
        rater sees the assistant's evidence or ranking, and only when there is one score per hunk
        shown (scores of another parse of the diff would colour the wrong hunks)."""
        if a.display not in ("evidence", "ranked") or not critique.hunk_scores:
            return None
        if len(critique.hunk_scores) != sum(len(f["hunks"]) for f in files):
            return None
        return list(critique.hunk_scores)

    @staticmethod
    def _critique_view(critique: Critique, a: Assignment) -> dict[str, Any]:
        view = critique.rater_view()
        if a.display in ("verdict", "ranked"):
            view["comments"] = []
        if a.display == "ranked":
            # The ranking alone: the monitor's verdict and its confidence would be a second hint.
            view.update(verdict=None, confidence=None, summary="")
        return view

    def _prefetch(self, item_id: str) -> None:
        self.diffs.prefetch(lambda: self.store.get_item(item_id))

    def _prefetch_after(self, rater: str, a: Assignment) -> None:
        """Parse, in the background, the item the rater will open after ``a``."""
        if not self.prefetch:
            return
        done = self._done(rater, a.study) | {a.id}
        queue = self.store.assignments(a.study, rater=rater)
        later = [b for b in queue if b.position > a.position and b.id not in done] or [b for b in queue if b.id not in done]
        if later:
            self._prefetch(later[0].item_id)

    def close(self) -> None:
        """Stop the prefetch thread and close the store."""
        self.diffs.close()
        self.store.close()

    def _comment_ids(self, critique_id: str) -> set[str]:
        # Critiques are immutable once stored: keep their comment ids for the process's life.
        ids = self._critique_comments.get(critique_id)
        if ids is None:
            ids = self._critique_comments[critique_id] = {c.id for c in self.store.get_critique(critique_id).comments}
        return ids

    def _item_paths(self, item_id: str) -> set[str]:
        # An item with judgments cannot be replaced in the store, so its file paths are stable.
        paths = self._paths_by_item.get(item_id)
        if paths is None:
            paths = self._paths_by_item[item_id] = self._paths(self.store.get_item(item_id))
        return paths

    def _line_limits(self, item_id: str) -> dict[tuple[str, str], int]:
        limits = self._lines_by_item.get(item_id)
        if limits is None:
            item = self.store.get_item(item_id)
            limits = self._lines_by_item[item_id] = checks.line_limits(self.diffs.files(item), item.path, item.before, item.after)
        return limits

    def _paths(self, item: Item) -> set[str]:
        paths = {"", item.path}
        for f in self.diffs.files(item):
            paths.update((f["old_path"], f["new_path"]))
        return paths

    def _done(self, rater: str, study: str | None = None) -> set[str]:
        return set(self._status(rater, study))

    def _status(self, rater: str, study: str | None = None) -> dict[str, str]:
        """Assignment id -> "judged" or "cannot_judge", by its current record (open ones absent)."""
        current = self.store.judgments(study=study, rater=rater, cannot_judge=True)
        return {j.assignment_id: "cannot_judge" if j.is_cannot_judge else "judged" for j in current}

    @staticmethod
    def _current_of(judgments: list[Judgment]) -> Judgment | None:
        replaced = {j.supersedes for j in judgments if j.supersedes}
        current = [j for j in judgments if j.submission_id not in replaced]
        return current[-1] if current else None

    def _current(self, rater: str, a: Assignment) -> Judgment | None:
        return self._current_of(self.store.judgments(assignment_id=a.id, current=False, cannot_judge=True))

    # ------------------------------------------------------------------ open enrolment

    def _open_studies(self) -> list[str]:
        names = []
        for name in self.store.study_names():
            if self._study(name).is_open and any(a.rater.startswith(SLOT_PREFIX) for a in self.store.assignments(name)):
                names.append(name)
        return names

    def _slot_size(self, study: str) -> int:
        slots: dict[str, int] = {}
        for a in self.store.assignments(study):
            if a.rater.startswith(SLOT_PREFIX):
                slots[a.rater] = slots.get(a.rater, 0) + 1
        return min(slots.values(), default=0)

    def _enrolled(self, rater: str, study: str) -> list[Assignment]:
        """The rater's queue in ``study``; in an open study, a newcomer claims a free slot."""
        held = self.store.assignments(study, rater=rater)
        if held or not self._study(study).is_open:
            return held
        from oversight_ext.store import Conflict as StoreConflict
        from oversight_ext.study import enroll

        try:
            self.store.add_rater(rater)
            return enroll(self.store, study, rater)
        except (StoreConflict, ValueError) as exc:
            raise Forbidden(f"cannot join study {study!r}: {exc}") from None
