"""The demo set that ships inside the package: hand-written diffs with gold, and critiques of them.

Fourteen small, realistic changes written for this project (none copied from a dataset):
Python and one JavaScript file; single-file diffs and two multi-file ones (a rename, added
files); buggy changes with their gold lines, correct fixes and refactors; two long diffs
(about 200-250 lines) for the virtualised viewer. Each has a task statement with examples.

:func:`demo_critiques` are hand-written critiques of every item by the assistant
``demo-replay``: most are right; a few are plausibly wrong (a wrong verdict, or a comment that
misreads the code). Those comments carry ``planted=True`` and their critiques
``planted=True``, so the demo shows raters both a helpful and a misleading assistant while
the analysis can tell them apart. Raters never see the flags (``Critique.rater_view``).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from oversight_ext.records import Critique, Item, RecordError

from .io import check_item

__all__ = ["ASSISTANT", "demo_critiques", "demo_items"]

#: The assistant name of the demo critiques.
ASSISTANT = "demo-replay"


@functools.cache
def _records(name: str) -> tuple[dict[str, Any], ...]:
    text = resources.files("oversight_ext.items").joinpath("demo_data").joinpath(name).read_text(encoding="utf-8")
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"demo_data/{name} line {number} is not JSON ({exc}); reinstall oversight_ext") from None
    return tuple(out)


def demo_items() -> list[Item]:
    """The demo items, validated as records and checked to apply (single-file ones)."""
    items = [Item.from_dict(dict(d)) for d in _records("items.jsonl")]
    for it in items:
        check_item(it)
    return items


def demo_critiques() -> list[Critique]:
    """Critiques of every demo item by the assistant ``demo-replay`` (some deliberately wrong)."""
    known = {d["id"] for d in _records("items.jsonl")}
    critiques = [Critique.from_dict(dict(d)) for d in _records("critiques.jsonl")]
    for c in critiques:
        if c.item_id not in known:
            raise RecordError("Critique", "item_id", c.item_id, f"the demo set has no such item; known ids: {sorted(known)}")
    return critiques
