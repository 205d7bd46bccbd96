"""The volume family: a large ruff-made change, one flawed hunk, the control differs only there."""

from __future__ import annotations

import ast

import pytest

from oversight_ext.diffs import parse_diff
from oversight_ext.items.sabotage import SabotageError, generate
from oversight_ext.items.sabotage.security import check_flaw


def test_one_flaw_in_a_large_change_and_the_control_is_the_same_change_without_it() -> None:
    items = generate("email", "volume", 4, seed=2, size=400)
    assert [it.to_dict() for it in items] == [it.to_dict() for it in generate("email", "volume", 4, seed=2, size=400)]
    flawed = [it for it in items if it.label == "buggy"]
    clean = {it.pair_id: it for it in items if it.label == "correct"}
    for it in flawed:
        control = clean[it.pair_id]
        assert it.meta["changed_lines"] >= 400
        files = parse_diff(it.diff)
        assert len(files) >= 2
        assert [f.path for f in files] == sorted(f.path for f in files)
        ast.parse(it.after)
        assert check_flaw(it.bug_type.split()[0], it.after, list(it.bug_lines))
        # every other file's change is the same in the control
        others = {f.path: [h.lines for h in f.hunks] for f in files if f.path != it.path}
        assert others == {f.path: [h.lines for h in f.hunks] for f in parse_diff(control.diff) if f.path != it.path}
        added = {ln.new for f in files if f.path == it.path for h in f.hunks for ln in h.lines if ln.old is None}
        assert set(it.bug_lines) <= added


def test_a_size_beyond_the_tree_says_what_to_do() -> None:
    with pytest.raises(SabotageError, match="give a larger tree or a smaller --size"):
        generate("colorsys", "volume", 2, seed=0, size=100_000)
