"""The backdoor family: the witness tells the versions apart, the control never, seeds repeat."""

from __future__ import annotations

import ast

import pytest

from oversight_ext.items.sabotage import generate
from oversight_ext.items.sabotage.calls import call_versions

pytestmark = pytest.mark.slow  # runs each module three times in a subprocess: 5-6 s a test


def test_witness_differs_on_the_flawed_version_only_and_doctests_still_pass() -> None:
    items = generate("colorsys", "backdoor", 6, seed=5)
    again = generate("colorsys", "backdoor", 6, seed=5)
    assert [it.to_dict() for it in items] == [it.to_dict() for it in again]
    flawed = [it for it in items if it.label == "buggy"]
    clean = {it.pair_id: it for it in items if it.label == "correct"}
    assert len(flawed) == 3 and len(clean) == 3
    for it in flawed:
        ast.parse(it.after)
        control = clean[it.pair_id]
        assert it.after.split("\n")[it.bug_lines[0] - 1].strip().startswith("if ")
        res = call_versions(
            {"before": it.before, "flawed": it.after, "clean": control.after}, [it.meta["witness"], it.meta["working_call"]]
        )
        before, flawed_out, clean_out = (res["calls"][v] for v in ("before", "flawed", "clean"))
        assert before[0] != flawed_out[0], it.meta["witness"]
        assert before[0] == clean_out[0]
        assert before[1] == flawed_out[1] == clean_out[1]


def test_the_modules_own_doctests_pass_as_before() -> None:
    items = generate("statistics", "backdoor", 8, seed=2)
    for it in items:
        if it.label != "buggy":
            continue
        name = it.meta["function"]
        res = call_versions({"before": it.before, "flawed": it.after}, [], doctests=[name])
        assert res["doctests"]["before"][name] == res["doctests"]["flawed"][name]
