"""The exec critic on mutation-made items: methods and helpers run through their module's own API."""

from __future__ import annotations

import pytest

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.evaluation import score_critiques
from oversight_ext.assistants.exec.harness import plan_harness
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.items.mutate import generate_items
from oversight_ext.records import Item


def pair(source: str, n: int, seed: int, task: str, edit: str) -> tuple[Item, Item]:
    """The buggy item and its correct control for one mutated function (deterministic per seed)."""
    items = generate_items(source, n, seed=seed)
    bug = next(it for it in items if it.task == task and it.direction == "introduce_bug" and it.meta["edit"] == edit)
    control = next(it for it in items if it.pair_id == bug.pair_id and it.id != bug.id)
    return bug, control


@pytest.fixture(scope="module")
def critic():  # type: ignore[no-untyped-def]
    return load_assistant("exec")


def test_plan_names_the_class_and_the_module_api() -> None:
    h = plan_harness("textwrap.TextWrapper._split", "_split")
    assert h is not None and h.module == "textwrap" and h.owner == "TextWrapper"
    names = [(d.get("cls"), d["name"]) for d in h.drivers]
    assert names[0] == ("TextWrapper", "_split")  # the changed method first, then what reaches it
    assert (None, "wrap") in names and ("TextWrapper", "wrap") in names
    ctor = h.drivers[0]["ctor"]
    assert ctor["opt"]["width"] == {"t": "int", "min": -2, "max": 140} and ctor["opt"]["break_long_words"] == {"t": "bool"}
    # the module's docstring examples become cases that run in order in one namespace
    assert h.doc_cases and all(c.group for c in h.doc_cases)
    assert plan_harness("HumanEval/0", "has_close_elements") is None
    assert plan_harness("textwrap.no_such_function", "no_such_function") is None
    assert plan_harness("textwrap.TextWrapper._split", "wrap") is None  # the task must name the changed definition


@pytest.mark.slow
def test_a_constructor_mutation_is_caught_and_its_fix_is_not_flagged(critic) -> None:  # type: ignore[no-untyped-def]
    # TextWrapper.__init__: `self.max_lines = max_lines` became `self.max_lines = break_on_hyphens`.
    bug, fix = pair("textwrap", 40, 0, "textwrap.TextWrapper.__init__", "wrong_variable")
    assert "break_on_hyphens" in bug.diff and bug.bug_lines == (25,)
    crits = [critique_item(critic, bug), critique_item(critic, fix)]
    scored = score_critiques([bug, fix], crits).rows(named=True)
    assert scored[0]["caught"] and crits[0].verdict == "buggy"
    assert crits[0].comments[0].start_line == 25 and "`textwrap." in crits[0].comments[0].text  # a call of the module API
    assert not scored[1]["flagged"] and crits[1].verdict == "correct"
    # without the module harness the method cannot be called at all: the old critic saw nothing
    plain = critique_item(load_assistant("exec", harness=False), bug)
    assert plain.comments == () and "0 differential input(s)" in plain.summary


def test_a_helper_behind_a_c_accelerator_runs_as_python(critic) -> None:  # type: ignore[no-untyped-def]
    # heapq._siftdown is only reached through heapq's Python heappush, which _heapq normally replaces.
    bug, fix = pair("heapq", 30, 1, "heapq._siftdown", "off_by_one")
    c_bug, c_fix = critique_item(critic, bug), critique_item(critic, fix)
    assert c_bug.verdict == "buggy" and any(abs(m.start_line - 6) <= 1 for m in c_bug.comments)
    assert c_fix.comments == () and c_fix.verdict == "correct"


def test_data_model_laws_arbitrate_a_dunder_change(critic) -> None:  # type: ignore[no-untyped-def]
    # Fraction.__hash__ with pow's arguments swapped: equal numbers no longer hash alike.
    bug, fix = pair("fractions", 40, 0, "fractions.Fraction.__hash__", "swapped_arguments")
    c_bug, c_fix = critique_item(critic, bug), critique_item(critic, fix)
    assert c_bug.verdict == "buggy" and c_bug.comments[0].start_line == bug.bug_lines[0]
    assert "hash" in c_bug.comments[0].text
    assert c_fix.comments == ()


def test_operators_built_from_the_changed_helper_use_each_version(critic) -> None:  # type: ignore[no-untyped-def]
    # Fraction.__mul__ is made by a factory that captured _mul: the closure must see each version.
    bug, fix = pair("fractions", 40, 0, "fractions.Fraction._mul", "wrong_variable")
    c_bug, c_fix = critique_item(critic, bug), critique_item(critic, fix)
    assert c_bug.verdict == "buggy" and c_bug.comments and c_bug.comments[0].start_line == bug.bug_lines[0]
    assert c_fix.comments == ()
