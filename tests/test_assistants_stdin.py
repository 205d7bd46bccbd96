"""Scripts that read standard input: exec runs them whole on the task's sample inputs and on
inputs made up in the form they parse, compares what the versions print, and puts the claim on
the line where the new run first departs from the old one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.evaluation import score_critiques
from oversight_ext.assistants.exec.stdin import line_map, read_sites, reads_stdin, sample_io
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.diffs import make_diff
from oversight_ext.records import Item

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

TASK = """Given n numbers, print the length of the longest run of equal neighbours.

Input
The first line holds n (1 <= n <= 100), the second n integers.

Sample Input 1
5
1 1 2 2 2

Sample Output 1
3

Sample Input 2
3
7 8 9

Sample Output 2
1
"""
# the shape of a real contest submission: top-level reads, a loop, a print
RUNS = """import sys

n = int(input())
a = list(map(int, input().split()))
best = cur = 1
for i in range(1, n):
    if a[i] == a[i - 1]:
        cur += 1
    else:
        cur = 1
    best = max(best, cur)
print(best)
"""
RUNS_BUG = RUNS.replace("        cur = 1\n    best", "        cur = 0\n    best")  # line 10


def pair(before: str, after: str, task: str, bug_line: int) -> tuple[Item, Item]:
    def item(b: str, a: str, direction: str) -> Item:
        buggy = direction == "introduce_bug"
        return Item(
            id=f"runs:{direction}",
            diff=make_diff(b, a, "runs.py"),
            path="runs.py",
            before=b,
            after=a,
            spec=task,
            task="runs",
            language="python",
            label="buggy" if buggy else "correct",
            direction=direction,
            bug_lines=(bug_line,) if buggy else (),
            pair_id="runs",
        )

    return item(before, after, "introduce_bug"), item(after, before, "fix_bug")


def test_recognises_scripts_and_reads_their_samples_and_read_sites() -> None:
    assert reads_stdin(RUNS)
    assert not reads_stdin("def ask():\n    return input()\n")  # a library function, nothing runs at import
    assert sample_io(TASK) == [("5\n1 1 2 2 2\n", "3\n"), ("3\n7 8 9\n", "1\n")]
    # a LeetCode example on one line is a function's, not a script's input
    assert sample_io("Example 1:\nInput: nums = [1,2]\nOutput: 3\n") == []
    assert read_sites(RUNS) == {3: ["int", None], 4: ["ints", None]}
    sites = read_sites("import sys\nn, m = map(int, input().split())\ns = input().strip()\ndata = sys.stdin.read().split()\n")
    assert sites == {2: ["ints", 2], 3: ["text", None], 4: ["all", None]}
    assert line_map(RUNS, RUNS_BUG)[10] == 10 and line_map("a\nb\nc\n", "a\nx\ny\nc\n") == {1: 1, 2: 2, 4: 3}


def test_samples_catch_the_bug_on_its_line_and_pass_the_fix() -> None:
    bug, fix = pair(RUNS, RUNS_BUG, TASK, 10)
    critic = load_assistant("exec")
    crits = [critique_item(critic, bug), critique_item(critic, fix)]
    assert crits[0].verdict == "buggy", crits[0].summary
    assert crits[0].comments[0].start_line == 10, crits[0].comments
    assert "first departs" in crits[0].comments[0].text
    assert "sample input" in crits[0].summary
    assert crits[1].verdict == "correct" and not crits[1].comments, crits[1].summary
    rows = score_critiques([bug, fix], crits).rows(named=True)
    assert rows[0]["caught"] and not rows[1]["flagged"]


def test_without_samples_made_up_inputs_find_a_new_crash_at_its_line() -> None:
    # the new code reads one line too many: it crashes with EOFError where the old one printed
    crash = RUNS.replace("print(best)", "extra = input()\nprint(best)")
    bug, _ = pair(RUNS, crash, "Longest run of equal neighbours.", 12)
    c = critique_item(load_assistant("exec"), bug)
    assert c.verdict == "buggy", c.summary
    assert c.comments[0].start_line == 12, c.comments
    assert "EOFError" in c.comments[0].text
    assert "0 sample input(s)" in c.summary


def test_a_script_that_fails_the_same_way_in_both_versions_is_not_buggy() -> None:
    # both versions crash on every input the same way (a typo outside the change): no evidence
    broken = RUNS.replace("print(best)", "print(bets)")
    changed = broken.replace("best = cur = 1", "best = cur = 1  # start")
    item = Item(id="s", diff=make_diff(broken, changed, "s.py"), path="s.py", before=broken, after=changed, spec="", language="python")
    c = critique_item(load_assistant("exec"), item)
    assert c.verdict != "buggy", c.summary


@pytest.mark.skipif(not (DATA / "quixbugs.jsonl").exists(), reason="../shared/data is absent")
def test_a_real_quixbugs_function_as_a_stdin_script() -> None:
    from oversight_ext.items.reshape import as_stdin_script

    rows = [json.loads(line) for line in (DATA / "quixbugs.jsonl").open()]
    raw = next(r for r in rows if r["id"] == "quixbugs:python:bitcount:introduce_bug")
    from oversight_ext.items import load_jsonl

    item = next(it for it in load_jsonl(DATA / "quixbugs.jsonl") if it.id == raw["id"])
    script = as_stdin_script(item, with_samples=True)
    assert script is not None and reads_stdin(script.after) and script.bug_lines == item.bug_lines
    c = critique_item(load_assistant("exec"), script)
    assert c.verdict == "buggy" and c.comments[0].start_line in item.bug_lines, (c.summary, c.comments)


# contest idioms: all of stdin through open(0), and main() in a thread with a bigger stack
SUM_OPEN0 = """import sys
import threading


def main():
    data = open(0).read().split()
    n = int(data[0])
    total = 0
    for x in data[1 : n + 1]:
        total += int(x)
    print(total)


threading.stack_size(1 << 24)
threading.Thread(target=main).start()
"""
SUM_TASK = "Print the sum of n numbers.\n\nExample\nInput\n3\n4 5 6\nOutput\n15\n"


def test_open0_and_a_threaded_main_run_like_any_script() -> None:
    assert reads_stdin(SUM_OPEN0) and read_sites(SUM_OPEN0) == {6: ["all", None]}
    assert sample_io(SUM_TASK) == [("3\n4 5 6\n", "15\n")]
    bug, fix = pair(SUM_OPEN0, SUM_OPEN0.replace("data[1 : n + 1]", "data[1:n]"), SUM_TASK, 9)
    critic = load_assistant("exec")
    c = critique_item(critic, bug)
    assert c.verdict == "buggy" and c.comments[0].start_line == 9, (c.summary, c.comments)
    assert critique_item(critic, fix).verdict == "correct"
