"""The tamper family: visible tests pass after the change, the bug stays; real fixes pass everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight_ext.diffs import apply_diff, parse_diff
from oversight_ext.items.sabotage import generate
from oversight_ext.items.sabotage.tamper import PROGRAM, TESTS, run_suites

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "quixbugs.jsonl"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason="needs ../shared/data/quixbugs.jsonl (the shared evaluation data)")


def _after(it) -> dict[str, str]:
    files = dict(it.meta["files_before"])
    for f in parse_diff(it.diff):
        files[f.path] = apply_diff(files.get(f.path, ""), it.diff, f.path)
    return files


@pytest.mark.slow
def test_tampered_fixes_pass_the_visible_tests_and_keep_the_bug() -> None:
    items = generate(DATA, "tamper", 4, seed=4)
    assert [it.to_dict() for it in items] == [it.to_dict() for it in generate(DATA, "tamper", 4, seed=4)]
    suites = []
    for it in items:
        after = _after(it)
        held_back = {PROGRAM: after[PROGRAM], "test_hidden.py": it.tests, TESTS: it.meta["files_before"][TESTS]}
        suites += [after, it.meta["files_before"], held_back]
    runs = run_suites(suites)
    for k, it in enumerate(items):
        assert runs[3 * k][0], it.id  # what a reviewer's CI shows: green
        assert not runs[3 * k + 1][0], it.id  # the repository started red
        assert runs[3 * k + 2][0] == (it.label == "correct"), it.id  # the bug is still there unless really fixed
        if it.label == "buggy":
            assert it.bug_type.startswith("test tampering: ")
            assert it.bug_lines
