"""Recognising behaviour-preserving refactorings (``assistants.refactoring``), and what the exec
backend does with one that no input runs."""

from __future__ import annotations

import collections

import pytest
from test_assistants_arbiter import RATE, snippet_item

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.exec.refactoring import recognise_refactoring
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.items.mutate import generate_items

BASE = '''def summarise(rows, limit):
    """Totals of the rows under the limit, and how many were skipped."""
    kept = []
    for row in rows:
        if row.total < limit:
            kept.append(row.total * 1.5)
    skipped = len(rows) - len(kept)
    scale = len(rows) + 1
    if skipped != 0:
        note = "some rows skipped"
    else:
        note = "all rows kept"
    return kept, skipped * scale, note
'''

REFACTORINGS = {
    "extract constant": BASE.replace(
        "            kept.append(row.total * 1.5)", "            factor = 1.5\n            kept.append(row.total * factor)"
    ),
    "loop to comprehension": BASE.replace(
        "    kept = []\n    for row in rows:\n        if row.total < limit:\n            kept.append(row.total * 1.5)\n",
        "    kept = [row.total * 1.5 for row in rows if row.total < limit]\n",
    ),
    "invert if": BASE.replace(
        '    if skipped != 0:\n        note = "some rows skipped"\n    else:\n        note = "all rows kept"\n',
        '    if skipped == 0:\n        note = "all rows kept"\n    else:\n        note = "some rows skipped"\n',
    ),
    "slide statements": BASE.replace(
        "    skipped = len(rows) - len(kept)\n    scale = len(rows) + 1\n",
        "    scale = len(rows) + 1\n    skipped = len(rows) - len(kept)\n",
    ),
    "rename local": BASE.replace("note", "message"),
    "extract constant + rename local": BASE.replace(
        "            kept.append(row.total * 1.5)", "            factor = 1.5\n            kept.append(row.total * factor)"
    ).replace("note", "message"),
    "layout": BASE.replace("    scale = len(rows) + 1\n", "    scale = len(rows) + 1  # never zero\n"),
}

BUGS = {
    "flipped comparison": BASE.replace("row.total < limit", "row.total <= limit"),
    "negated condition, branches kept": BASE.replace("if skipped != 0:", "if skipped == 0:"),
    "wrong variable": BASE.replace("skipped * scale, note", "skipped * limit, note"),
    "wrong constant": BASE.replace("1.5", "2.5"),
    "rename of one use only": BASE.replace("len(kept)", "len(chosen)"),
    "dependent statements swapped": BASE.replace("    kept = []\n    for row in rows:", "    for row in rows:").replace(
        "    skipped = len(rows)", "    kept = []\n    skipped = len(rows)"
    ),
    "parameter renamed (keyword callers break)": BASE.replace("limit", "cap"),
}


@pytest.mark.parametrize("name", sorted(REFACTORINGS))
def test_each_refactoring_is_recognised_by_name(name: str) -> None:
    after = REFACTORINGS[name]
    assert after != BASE
    assert recognise_refactoring(BASE, after) == name
    assert recognise_refactoring(after, BASE) == name  # and its inverse


@pytest.mark.parametrize("name", sorted(BUGS))
def test_behaviour_changes_are_not_taken_for_refactorings(name: str) -> None:
    assert BUGS[name] != BASE
    assert recognise_refactoring(BASE, BUGS[name]) is None


def test_unparsable_identical_and_dynamic_code_is_not_recognised() -> None:
    assert recognise_refactoring(BASE, BASE) is None
    assert recognise_refactoring(BASE, BASE + "def broken(:\n") is None
    dynamic = BASE.replace("return kept,", "print(locals())\n    return kept,")
    assert recognise_refactoring(dynamic, dynamic.replace("kept", "chosen")) is None


def test_on_generated_items_only_the_rewrites_are_recognised() -> None:
    seen: collections.Counter[tuple[str, bool]] = collections.Counter()
    for module in ("textwrap", "shlex", "calendar"):
        for it in generate_items(module, 40, seed=4):
            assert it.before is not None and it.after is not None
            seen[(it.direction or "", recognise_refactoring(it.before, it.after) is not None)] += 1
    # never a planted bug or its fix...
    assert seen[("introduce_bug", True)] == 0 and seen[("fix_bug", True)] == 0
    assert seen[("introduce_bug", False)] == 60
    # ...and nearly every behaviour-preserving rewrite
    rewrites = seen[("refactor", True)] + seen[("refactor", False)]
    assert rewrites >= 15 and seen[("refactor", True)] >= 0.9 * rewrites


def test_exec_calls_an_unexercised_recognised_refactoring_correct() -> None:
    after = RATE.replace(
        '        raise TypeError("seconds must be a number, not " + type(seconds).__name__)',
        '        prefix = "seconds must be a number, not "\n        raise TypeError(prefix + type(seconds).__name__)',
    )
    item = snippet_item("mean_rate", RATE, after, "refactor", 0)
    c = critique_item(load_assistant("exec"), item)
    assert c.verdict == "correct" and c.comments == ()
    assert "recognised behaviour-preserving refactoring (extract constant)" in c.summary
