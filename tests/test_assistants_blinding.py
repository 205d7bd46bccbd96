"""Blinding by type: a critic is given an ItemView (what a rater sees) and gold only by name.

A critic cannot read an item's gold by accident: the view has no such attribute (at runtime and
for the type checker), its id does not carry the item id (ids may name the direction of a
change), and only the backends that declare ``uses_gold`` receive ``gold=``.
"""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from oversight_ext.assistants import BaseCritic, Draft, critique_item, critique_items, load_assistant
from oversight_ext.records import Gold, Item, ItemView, view_id

BEFORE = "def add(a, b):\n    return a + b\n"
AFTER = "def add(a, b):\n    return a - b\n"
DIFF = "--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a + b\n+    return a - b\n"


def gold_item(item_id: str = "suite:python:7:introduce_bug") -> Item:
    return Item(
        id=item_id,
        diff=DIFF,
        path="m.py",
        before=BEFORE,
        after=AFTER,
        task="add two numbers",
        spec=">>> add(2, 3)\n5\n",
        label="buggy",
        bug_lines=(2,),
        bug_type="operator",
        explanation="subtracts instead of adding",
        tests="def check(candidate):\n    assert candidate(2, 3) == 5\n\ncheck(add)\n",
        direction="introduce_bug",
        pair_id="suite:python:7",
        provenance={"repo": "x"},
        meta={"secret": 1},
    )


class Spy(BaseCritic):
    """Records what it was given."""

    def __init__(self, *, gold: bool = False) -> None:
        super().__init__("spy", "0" * 64)
        self.uses_gold = gold
        self.seen: list[tuple[object, object]] = []

    def review(self, view: ItemView) -> Draft:
        self.seen.append((view, None))
        return Draft(verdict="correct", confidence=0.5)

    def review_gold(self, view: ItemView, gold: Gold | None) -> Draft:
        self.seen.append((view, gold))
        return Draft(verdict="correct", confidence=0.5)


def test_the_view_holds_what_a_rater_sees_and_no_gold() -> None:
    item = gold_item()
    view = item.view()
    assert (view.diff, view.path, view.before, view.after, view.task, view.spec, view.language) == (
        DIFF,
        "m.py",
        BEFORE,
        AFTER,
        "add two numbers",
        ">>> add(2, 3)\n5\n",
        "python",
    )
    names = {f.name for f in dataclasses.fields(view)}
    assert not names & {*Item.GOLD_FIELDS, "direction", "pair_id", "provenance", "meta", "source"}
    for name in (*Item.GOLD_FIELDS, "direction", "pair_id", "provenance", "meta"):
        with pytest.raises(AttributeError):
            getattr(view, name)
    # the id is opaque: the item id names the direction ("introduce_bug"), the view's does not
    assert view.id == view_id(item.id) and "introduce" not in view.id and item.id not in view.id
    assert gold_item("other").view().id != view.id
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.diff = ""  # type: ignore[misc]


def test_a_critic_refuses_a_whole_item() -> None:
    with pytest.raises(ValueError, match=r"item\.view\(\)"):
        Spy().critique(gold_item())  # type: ignore[arg-type]


def test_the_runner_gives_gold_only_to_critics_that_use_it() -> None:
    item = gold_item()
    blind, sighted = Spy(), Spy(gold=True)
    c = critique_item(blind, item)
    critique_items([item], sighted, progress=False)
    ((view, gold),) = blind.seen
    assert isinstance(view, ItemView) and gold is None
    ((view2, gold2),) = sighted.seen
    assert isinstance(view2, ItemView) and gold2 == item.gold() and gold2.tests == item.tests
    # the critique is filed under the item's real id, not the view's
    assert c.item_id == item.id and c.id.endswith(item.id)
    # gold given by name to a critic that does not use it never reaches it
    blind.critique(item.view(), gold=item.gold())
    assert blind.seen[-1][1] is None


def test_exec_tests_runs_the_tests_only_when_given_them_by_name() -> None:
    item = dataclasses.replace(gold_item(), spec="")  # no example: only the tests can show the bug
    upper = load_assistant("exec-tests", max_examples=0)
    assert upper.uses_gold  # type: ignore[attr-defined]
    blind = upper.critique(item.view())
    told = upper.critique(item.view(), gold=item.gold())
    assert "1 example/test case(s)" in told.summary and told.verdict == "buggy"
    assert "0 example/test case(s)" in blind.summary and blind.verdict != "buggy"
    assert not load_assistant("exec").uses_gold  # type: ignore[attr-defined]


@pytest.mark.slow
def test_the_type_checker_rejects_reading_gold_from_a_view(tmp_path) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy is a dev dependency")
    snippet = tmp_path / "peek.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from oversight_ext.assistants import BaseCritic, Draft
            from oversight_ext.records import ItemView

            class Peeking(BaseCritic):
                def review(self, view: ItemView) -> Draft:
                    return Draft(verdict=view.label)
            """
        )
    )
    out, _, status = api.run([str(snippet), "--no-incremental", "--follow-imports=silent", "--ignore-missing-imports"])
    assert status == 1 and '"ItemView" has no attribute "label"' in out
