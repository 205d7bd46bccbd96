"""The ``replay`` backend: critiques made elsewhere, read from a JSONL file.

params:
  file  JSONL path (relative to the spec's folder), one critique per line: a
        ``Critique.to_dict()`` or any object with ``item_id`` and some of ``comments``
        (dicts with ``start_line`` / ``end_line`` / ``text`` / ``path`` / ``side`` /
        ``severity`` / ``category``), ``verdict``, ``confidence``, ``summary``, ``model``.

An item with no line in the file gets a ``failed`` critique saying so.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from oversight_ext.records import ItemView, view_id

from ..protocol import BaseCritic, Claim, Draft
from ..spec import AssistantConfig

__all__ = ["ReplayCritic", "read_replay"]


def read_replay(path: Any) -> dict[str, dict[str, Any]]:
    """The file's critiques by item id and by that id's :func:`~oversight_ext.records.view_id`
    (a later line for the same item wins)."""
    out: dict[str, dict[str, Any]] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"replay file {path}: line {n} is not JSON ({exc}); fix or remove that line") from None
            if not isinstance(rec, dict) or not isinstance(rec.get("item_id"), str):
                raise ValueError(f"replay file {path}: line {n} has no string 'item_id'; every line needs the id of the item it critiques")
            out[rec["item_id"]] = rec
            out[view_id(rec["item_id"])] = rec  # critics see items by their opaque view id
    return out


class ReplayCritic(BaseCritic):
    """Replays stored critiques; comments whose lines do not exist are dropped and counted."""

    def __init__(self, config: AssistantConfig) -> None:
        super().__init__(config.name, config.spec_hash, model="replay", verbosity=config.verbosity)
        file = config.params.get("file")
        if not file:
            raise ValueError(f"replay assistant {config.name!r}: params.file is missing: name the JSONL file of critiques")
        self.file = config.resolve(str(file))
        if not self.file.is_file():
            raise ValueError(f"replay assistant {config.name!r}: params.file = {str(self.file)!r} does not exist")
        # the spec hash must change when the file does, or stale cached critiques would be reused
        self.spec_hash = hashlib.sha256((config.spec_hash + hashlib.sha256(self.file.read_bytes()).hexdigest()).encode()).hexdigest()
        self._records: dict[str, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def records(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._records is None:
                self._records = read_replay(self.file)
            return self._records

    def review(self, item: ItemView) -> Draft:
        rec = self.records().get(item.id)
        if rec is None:
            return Draft(status="failed", reason=f"{self.file.name} holds no critique of item {item.id!r}")
        claims, bad = [], 0
        for c in rec.get("comments") or []:
            try:
                start = int(c["start_line"])
                claims.append(
                    Claim(
                        start_line=start,
                        end_line=int(c.get("end_line") or start),
                        text=str(c.get("text") or ""),
                        path=c.get("path") or None,
                        side=c.get("side") or "new",
                        severity=c.get("severity") or "major",
                        category=c.get("category") or "bug",
                        score=float(c.get("score", 1.0)),
                        planted=bool(c.get("planted", False)),
                    )
                )
            except (KeyError, TypeError, ValueError):
                bad += 1
        return Draft(
            claims=claims,
            verdict=rec.get("verdict"),
            confidence=rec.get("confidence"),
            summary=str(rec.get("summary") or ""),
            model=str(rec.get("model") or "replay"),
            hallucinated=bad,
            # A replayed deliberately-wrong critique stays marked, or over-reliance could not be measured.
            planted=bool(rec.get("planted", False)) or any(c.planted for c in claims),
        )
