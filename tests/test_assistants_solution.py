"""LeetCode-style ``class Solution`` items: the task's examples name a method, and the platform
calls it on an instance with typing, collections, heapq, bisect... imported for it. exec runs
the examples that way (stating it in the critique) instead of failing to load on ``List``."""

from __future__ import annotations

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.evaluation import score_critiques
from oversight_ext.assistants.exec.examples import example_cases, solution_methods
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.diffs import make_diff
from oversight_ext.records import Item

TASK = """Given an array of integers nums and an integer target, return the indices of the two
numbers such that they add up to target, the smaller index first.

Example 1:
Input: nums = [2,7,11,15], target = 9
Output: [0,1]

Example 2:
Input: nums = [3,2,4], target = 6
Output: [1,2]

Example 3:
Input: nums = [3,3], target = 6
Output: [0,1]
"""
# as submitted to the platform: no import of List, Optional or defaultdict (the judge provides them)
TWO_SUM = """class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen: Dict[int, int] = defaultdict(int)
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i
        return []
"""
TWO_SUM_BUG = TWO_SUM.replace("return [seen[target - x], i]", "return [i, seen[target - x]]")


def pair_items() -> tuple[Item, Item]:
    def item(before: str, after: str, direction: str) -> Item:
        buggy = direction == "introduce_bug"
        return Item(
            id=f"two-sum:{direction}",
            diff=make_diff(before, after, "solution.py"),
            path="solution.py",
            before=before,
            after=after,
            spec=TASK,
            task="two-sum",
            language="python3",  # as the platform writes it
            label="buggy" if buggy else "correct",
            direction=direction,
            bug_lines=(6,) if buggy else (),
            pair_id="two-sum",
        )

    return item(TWO_SUM, TWO_SUM_BUG, "introduce_bug"), item(TWO_SUM_BUG, TWO_SUM, "fix_bug")


def test_examples_that_name_a_method_become_calls_on_an_instance() -> None:
    assert solution_methods(TWO_SUM) == ["twoSum"]
    cases = example_cases(TASK, TWO_SUM)
    assert [(c.source, c.want) for c in cases] == [
        ("Solution().twoSum([2, 7, 11, 15], 9)", "[0, 1]"),
        ("Solution().twoSum([3, 2, 4], 6)", "[1, 2]"),
        ("Solution().twoSum([3, 3], 6)", "[0, 1]"),
    ]
    # a top-level function of the same name is called as before
    assert example_cases(TASK, "def twoSum(nums, target):\n    return []\n")[0].source == "twoSum([2, 7, 11, 15], 9)"


def test_exec_catches_the_bug_and_not_the_fix_with_the_implicit_imports() -> None:
    bug, fix = pair_items()
    critic = load_assistant("exec")
    crits = [critique_item(critic, bug), critique_item(critic, fix)]
    rows = score_critiques([bug, fix], crits).rows(named=True)
    assert crits[0].verdict == "buggy" and rows[0]["caught"], crits[0].summary
    assert crits[0].summary.startswith("Buggy: fails")  # an example failed, not a load error
    assert not rows[1]["flagged"] and crits[1].verdict == "correct", crits[1].summary
    for c in crits:
        assert "fails to load" not in c.summary and "NameError" not in c.summary
        assert "class Solution" in c.summary and "from typing import *" in c.summary and "from heapq import *" in c.summary


def test_a_plain_module_gets_no_implicit_imports() -> None:
    before = "def size(xs):\n    return len(xs)\n"
    after = "def size(xs: List[int]):\n    return len(xs)\n"
    item = Item(
        id="plain",
        diff=make_diff(before, after, "m.py"),
        path="m.py",
        before=before,
        after=after,
        language="python",
        label="buggy",
        bug_lines=(1,),
    )
    c = critique_item(load_assistant("exec"), item)
    assert c.verdict == "buggy" and c.summary.startswith("Buggy: fails to load") and "class Solution" not in c.summary
    assert "NameError" in c.comments[0].text and "List" in c.comments[0].text


# a platform solution with no examples anywhere: exec makes up inputs from the signature and
# calls the method on a fresh Solution() for each
MAX_GAP = """class Solution:
    def maxGap(self, nums: List[int]) -> int:
        nums = sorted(nums)
        best = 0
        for i in range(1, len(nums)):
            best = max(best, nums[i] - nums[i - 1])
        return best
"""
MAX_GAP_BUG = MAX_GAP.replace("range(1, len(nums))", "range(1, len(nums) + 1)")  # line 5: IndexError


def test_a_method_without_examples_gets_generated_inputs_and_its_crash_is_caught() -> None:
    def item(before: str, after: str, direction: str) -> Item:
        return Item(
            id=f"gap:{direction}",
            diff=make_diff(before, after, "solution.py"),
            path="solution.py",
            before=before,
            after=after,
            spec="Return the largest difference between neighbours of the sorted numbers.",
            language="python3",
            label="buggy" if direction == "introduce_bug" else "correct",
            direction=direction,
            bug_lines=(5,) if direction == "introduce_bug" else (),
            pair_id="gap",
        )

    bug, fix = item(MAX_GAP, MAX_GAP_BUG, "introduce_bug"), item(MAX_GAP_BUG, MAX_GAP, "fix_bug")
    critic = load_assistant("exec")
    crits = [critique_item(critic, bug), critique_item(critic, fix)]
    assert crits[0].verdict == "buggy" and "IndexError" in crits[0].comments[0].text, crits[0].summary
    assert " 0 differential input(s)" not in crits[0].summary
    rows = score_critiques([bug, fix], crits).rows(named=True)
    assert rows[0]["caught"] and not rows[1]["flagged"], crits[1].summary
