"""A practice study for a workshop's first minutes (and for load tests): real diffs, known critiques.

Items are mutated from real Python source (:func:`oversight_ext.items.mutate.generate_items`).
The critic is an answer key with a seeded share of deliberately wrong critiques
(``assistant="practice-key"``, marked ``planted``), so a class sees at once both how a good
critique helps and how a wrong one misleads, without waiting for a critic to run.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

import numpy as np

from oversight_ext.items.mutate import generate_items
from oversight_ext.records import Assignment, Comment, Critique, Item, Study
from oversight_ext.store import Conflict, Store
from oversight_ext.study import ConditionConfig, StudyConfig, assign, code_version

__all__ = ["PRACTICE_ASSISTANT", "practice_critiques", "practice_study"]

PRACTICE_ASSISTANT = "practice-key"


def _spec_hash(seed: int, wrong_rate: float) -> str:
    return hashlib.sha256(f"{PRACTICE_ASSISTANT}:{seed}:{wrong_rate}".encode()).hexdigest()


def _line_count(item: Item) -> int:
    text = item.after or ""
    return max(1, text.count("\n") + (0 if text.endswith("\n") else 1))


def practice_critiques(items: Sequence[Item], *, wrong_rate: float = 0.25, seed: int = 0) -> list[Critique]:
    """One critique per gold item: right (names the bug line) or, at ``wrong_rate``, planted wrong."""
    if isinstance(wrong_rate, bool) or not isinstance(wrong_rate, (int, float)) or not 0 <= wrong_rate <= 1:
        raise ValueError(f"wrong_rate={wrong_rate!r}: give the share of wrong critiques, between 0 and 1")
    spec = _spec_hash(seed, wrong_rate)
    rng = np.random.default_rng([seed, 11])
    out = []
    for it in items:
        if it.label is None:
            raise ValueError(f"item {it.id!r} has no gold label; practice critiques need gold (label='buggy' or 'correct')")
        wrong = bool(rng.random() < wrong_rate)
        says_buggy = (it.label == "buggy") != wrong
        comments: tuple[Comment, ...] = ()
        if says_buggy:
            # A right critique points at the gold line; a wrong one at some other line.
            line = it.bug_lines[0] if it.bug_lines and not wrong else int(rng.integers(1, _line_count(it) + 1))
            text = "This line changes the behaviour: check it against the task." if not wrong else "This line looks wrong."
            comments = (Comment(id="c1", path=it.path, start_line=line, end_line=line, text=text, planted=wrong),)
        out.append(
            Critique(
                id=f"{PRACTICE_ASSISTANT}:{spec[:12]}:{it.id}",
                item_id=it.id,
                assistant=PRACTICE_ASSISTANT,
                comments=comments,
                verdict="buggy" if says_buggy else "correct",
                confidence=0.8,
                summary="The change introduces a bug." if says_buggy else "The change keeps the behaviour.",
                spec_hash=spec,
                planted=wrong,
            )
        )
    return out


def practice_study(
    store: Store,
    name: str,
    *,
    raters: Sequence[str] = (),
    open_slots: int = 0,
    n_items: int = 8,
    overlap: int = 1,
    source: str = "textwrap",
    wrong_rate: float = 0.25,
    seed: int = 0,
    owner: str | None = None,
) -> StudyConfig:
    """Create study ``name``: ``n_items`` mutated items, unassisted vs assisted by the practice key.

    Give ``raters`` (user names) or ``open_slots`` (participants claim slots as they arrive).
    The owner, if given, is registered with the store role "owner". Returns the config. A
    study of that name already stored is left as it is (every participant's notebook can run
    this cell), and the config it was created from returned.
    """
    if name in store.study_names():
        return StudyConfig.from_study(store.study(name))
    config = StudyConfig(
        name=name,
        seed=seed,
        raters=tuple(raters),
        open_slots=open_slots,
        overlap=overlap,
        conditions=(
            ConditionConfig(name="unassisted", kind="unassisted"),
            ConditionConfig(name="assisted", kind="assisted", assistant=PRACTICE_ASSISTANT),
        ),
        description="Practice: do answer-key critiques (a quarter of them wrong) help you find bugs?",
    )
    items = generate_items(source, n_items, seed)
    critiques = practice_critiques(items, wrong_rate=wrong_rate, seed=seed)
    store.add_items(items)
    store.add_critiques(critiques)
    by_item = {c.item_id: c.id for c in critiques}
    study = config.as_study()
    table = [_with_critique(a, by_item, study) for a in assign(config, [it.id for it in items])]
    if owner is not None:
        store.add_rater(owner, role="owner")
    for r in raters:
        store.add_rater(r)
    try:
        store.create_study(name, config, table, seed=seed, code_version=code_version(), owner=owner)
    except Conflict:
        # Another participant's notebook created it a moment ago: use theirs (same seed, same table).
        return StudyConfig.from_study(store.study(name))
    return config


def _with_critique(a: Assignment, by_item: dict[str, str], study: Study) -> Assignment:
    return dataclasses.replace(a, critique_id=by_item[a.item_id]) if study.is_assisted(a.condition) else a
