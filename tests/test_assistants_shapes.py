"""Figures a reader needs beside a critic's: the program shape of each item, the trivial
baselines (flag the first changed line; flag every changed line) and the share of items where
the critic ran no input, per shape and per bug type, in the same eval-critics run."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.evaluation import by_group, score_critiques, summarise
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.assistants.shapes import baseline_frame, shape_of
from oversight_ext.diffs import make_diff
from oversight_ext.items import load_jsonl, write_jsonl
from oversight_ext.records import Item
from tests.test_assistants_arbiter import RATE, RATE_BUG, rate_item

SCRIPT = """import sys

def main():
    n = int(input())
    xs = list(map(int, sys.stdin.readline().split()))
    print(sum(xs[:n]))

main()
"""
SOLUTION = """from typing import List

class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen = {}
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i
        return []
"""
PACKAGE = """from .utils import clean

def words(text):
    return clean(text).split()
"""
MODULE = """import os

DEFAULT = os.environ.get("HOME", "/")
CACHE = {}

def get(key):
    return CACHE.get(key, DEFAULT)

def put(key, value):
    CACHE[key] = value

def clear():
    CACHE.clear()

def size():
    return len(CACHE)
"""


def item_of(code: str, *, language: str = "python", after: str | None = None) -> Item:
    new = after if after is not None else code.replace("return", "return  ", 1)
    return Item(id="x", diff=make_diff(code, new, "x.py"), path="x.py", before=code, after=new, language=language)


def test_shapes_of_real_program_kinds() -> None:
    assert shape_of(item_of(SCRIPT, after=SCRIPT.replace("xs[:n]", "xs[: n - 1]"))) == "stdin script"
    assert shape_of(item_of(SOLUTION)) == "class"
    assert shape_of(item_of(PACKAGE)) == "package module"
    assert shape_of(item_of(MODULE)) == "module"
    assert shape_of(item_of(RATE)) == "function"
    assert shape_of(item_of(RATE, language="java")) == "not python"
    assert shape_of(item_of(RATE, after=RATE + "\ndef broken(:\n")) == "does not parse"


@pytest.fixture(scope="module")
def hefix(shared_data: Path) -> list[Item]:
    """Eight real HumanEvalFix Python items (four bug/fix pairs)."""
    items = [it for it in load_jsonl(shared_data / "humanevalfix.jsonl") if it.language == "python"][:8]
    assert len(items) == 8 and {it.label for it in items} == {"buggy", "correct"}
    return items


def _changed_after_lines(it: Item) -> list[int]:
    """1-based lines of ``after`` that differ from ``before``, found independently with difflib."""
    assert it.before is not None and it.after is not None
    sm = difflib.SequenceMatcher(None, it.before.splitlines(), it.after.splitlines(), autojunk=False)
    return [j + 1 for tag, _, _, j1, j2 in sm.get_opcodes() if tag != "equal" for j in range(j1, j2)]


def test_baselines_score_the_changed_lines_of_real_items(hefix: list[Item]) -> None:
    first, every = baseline_frame(hefix, "first changed line"), baseline_frame(hefix, "every changed line")
    for frame, pick in ((first, lambda ls: ls[:1]), (every, lambda ls: ls)):
        for row, it in zip(frame.rows(named=True), hefix, strict=True):
            lines = pick(_changed_after_lines(it))
            expect = it.label == "buggy" and any(abs(b - n) <= 1 for b in it.bug_lines for n in lines)
            assert row["caught"] == expect, it.id
            assert row["flagged"] == bool(lines)  # a baseline flags every item with an added line
        assert summarise(frame, n_boot=10)["false_alarm_rate"]["estimate"] == 1.0
    assert by_group(every, "shape") == {
        "function": {"n_buggy": 4, "n_correct": 4, "catch_rate": 1.0, "false_alarm_rate": 1.0, "ran_no_input_rate": 0.0}
    }
    with pytest.raises(ValueError, match="baseline = 'last line' is invalid"):
        baseline_frame(hefix, "last line")


def test_ran_no_input_is_read_from_the_critique() -> None:
    unrun, run = (
        rate_item(RATE, RATE_BUG, "introduce_bug"),
        rate_item(RATE, RATE.replace("events / seconds", "seconds / events"), "introduce_bug"),
    )
    run = Item(**{**run.to_dict(), "id": "rate-run", "bug_lines": (9,)})
    critic = load_assistant("exec")
    frame = score_critiques([unrun, run], [critique_item(critic, unrun), critique_item(critic, run)])
    assert frame["ran_no_input"].to_list() == [True, False]
    assert summarise(frame, n_boot=10)["ran_no_input_rate"] == 0.5
    assert by_group(frame, "shape")["function"]["ran_no_input_rate"] == 0.5


def test_eval_critics_reports_baselines_and_groups_together(hefix: list[Item], tmp_path: Path) -> None:
    path = tmp_path / "hefix.jsonl"
    write_jsonl(hefix[:4], path)
    cmd = [
        sys.executable,
        "-m",
        "oversight_ext.cli",
        "eval-critics",
        "--items",
        str(path),
        "--assistant",
        "exec",
        "--quiet",
        "--boot",
        "10",
    ]
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    assert set(res["baselines"]) == {"first changed line", "every changed line"}
    assert res["baselines"]["every changed line"]["false_alarm_rate"]["estimate"] == 1.0
    shape = res["by_shape"]["function"]
    assert {"catch_rate", "false_alarm_rate", "ran_no_input_rate"} <= set(shape) and shape["n_buggy"] == 2
    assert set(res["by_bug_type"]) == {it.bug_type for it in hefix[:4] if it.label == "buggy"}
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert text.returncode == 0, text.stderr
    assert "critic | first changed line | every changed line" in text.stdout and "shape 'function' (2 buggy, 2 correct)" in text.stdout
