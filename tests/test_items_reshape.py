"""Function items in other program shapes with the same gold (items/reshape.py), on real
QuixBugs and HumanEvalFix items: the converted code runs, and its bug lines still hold the bug."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight_ext.items import load_jsonl
from oversight_ext.items.reshape import as_solution_class, as_stdin_script, examples_of, package_module_items

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(not (DATA / "humanevalfix.jsonl").exists(), reason="../shared/data is absent")


def _item(name: str, item_id: str):
    return next(it for it in load_jsonl(DATA / name) if it.id == item_id)


def test_stdin_script_keeps_the_function_and_its_bug_lines() -> None:
    item = _item("humanevalfix.jsonl", "humanevalfix:python:0:introduce_bug")
    script = as_stdin_script(item)
    assert script is not None and item.after is not None and script.after is not None
    assert script.after.startswith(item.after.rstrip("\n"))
    assert script.bug_lines == item.bug_lines
    assert script.after.splitlines()[item.bug_lines[0] - 1] == item.after.splitlines()[item.bug_lines[0] - 1]
    assert "Sample Input 1\n3\n1.0 2.0 3.0\n0.5\n\nSample Output 1\nFalse" in script.spec
    assert "Sample Input" not in (as_stdin_script(item, with_samples=False) or script).spec


def test_solution_class_moves_the_bug_line_with_the_code() -> None:
    item = _item("quixbugs.jsonl", "quixbugs:python:bitcount:introduce_bug")
    sol = as_solution_class(item)
    assert sol is not None and sol.after is not None and item.after is not None
    assert sol.bug_lines == tuple(n + 1 for n in item.bug_lines)
    assert sol.after.splitlines()[sol.bug_lines[0] - 1].strip() == item.after.splitlines()[item.bug_lines[0] - 1].strip()
    assert "class Solution:" in sol.after and "def bitcount(self, n):" in sol.after
    assert "Example 1:\nInput: n = 127\nOutput: 7" in sol.spec and sol.language == "python3"
    bare = as_solution_class(item, with_examples=False)
    assert bare is not None and ">>>" not in (bare.after or "") and "Example" not in bare.spec


def test_items_without_literal_examples_are_left_out() -> None:
    assert examples_of(_item("quixbugs.jsonl", "quixbugs:python:bitcount:introduce_bug")) == ("bitcount", ["n"], [([127], 7), ([128], 1)])
    no_examples = [it for it in load_jsonl(DATA / "quixbugs.jsonl") if it.language == "python" and examples_of(it) is None]
    assert no_examples and all(as_stdin_script(it) is None and as_solution_class(it) is None for it in no_examples)


def test_package_module_items_are_whole_modules_with_one_planted_bug_and_its_fix() -> None:
    import ast

    import tomllib

    from oversight_ext.diffs import changed_lines

    items = package_module_items("tomllib", 6, seed=3)
    assert items == package_module_items("tomllib", 6, seed=3)  # deterministic per seed
    assert [it.label for it in items] == ["buggy", "correct"] * 3
    folder = Path(tomllib.__file__).parent
    for bug, fix in zip(items[::2], items[1::2]):
        assert bug.pair_id == fix.pair_id and bug.path.startswith("tomllib/") and bug.path == fix.path
        original = (folder / bug.path.removeprefix("tomllib/")).read_text()
        assert bug.before == original == fix.after and bug.after == fix.before != original  # the whole module, mutated once
        assert "from ." in original  # it imports its siblings: only loadable beside its package
        ast.parse(bug.after)
        assert bug.bug_lines and bug.bug_lines == tuple(sorted(changed_lines(bug.diff)[bug.path]))
        assert fix.bug_lines_before == bug.bug_lines and not fix.bug_lines
    with pytest.raises(ValueError, match="imports a sibling relatively"):
        package_module_items("textwrap", 2, seed=0)


def test_exec_loads_a_package_module_item_beside_its_package() -> None:
    from oversight_ext.assistants import load_assistant
    from oversight_ext.assistants.protocol import critique_item

    bug, fix = package_module_items("tomllib", 2, seed=1)
    critic = load_assistant("exec")
    crits = [critique_item(critic, item) for item in (bug, fix)]
    for c in crits:
        assert c.status == "ok" and "fails to load" not in c.summary, c.summary
    assert crits[1].verdict != "buggy", crits[1].summary
