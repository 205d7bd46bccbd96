"""Catch per gold flaw with a "buggy" verdict, the line-only figure beside it, flag
precision with an interval, and the warning for between-subject designs that cannot balance."""

from __future__ import annotations

import polars as pl
import pytest

from oversight_ext.analysis import summary
from oversight_ext.study import StudyConfig
from oversight_ext.study.config import UnbalancedDesignWarning


def flag(line: int) -> dict:
    return {"path": "m.py", "line": line, "comment": "", "side": "new"}


def test_catch_counts_flaws_and_needs_a_buggy_verdict() -> None:
    # One item with two flaws (line 5; lines 20-21), one without bugs.
    rows = [
        ("ann", "it0", "buggy", [5, 20, 21], "buggy", [flag(5)]),  # one flaw of two
        ("bob", "it0", "buggy", [5, 20, 21], "correct", [flag(21)]),  # marks a line, calls it correct: not caught
        ("cat", "it0", "buggy", [5, 20, 21], "buggy", [flag(4), flag(22), flag(40)]),  # both flaws, one stray flag
        ("dan", "it1", "correct", [], "buggy", [flag(3)]),
    ]
    f = pl.DataFrame(
        [
            {"rater": r, "item_id": i, "condition": "c", "label": lab, "bug_lines": bl, "verdict": v, "flags": fl, "gold_path": "m.py"}
            for r, i, lab, bl, v, fl in rows
        ]
    )
    s = summary(f).row(0, named=True)
    assert s["catch_rate"] == 3 / 6  # flaws caught (1 + 0 + 2) over flaws judged (2 + 2 + 2)
    assert s["line_catch_rate"] == 1.0  # every buggy judgment flagged some gold line
    assert s["flag_precision"] == 4 / 6
    assert 0 <= s["flag_precision_low"] < 4 / 6 < s["flag_precision_high"] <= 1


def test_a_between_subject_design_that_cannot_balance_warns_with_the_balanced_sizes() -> None:
    base = {"name": "b", "seed": 1, "design": "between", "conditions": [{"name": "u"}, {"name": "h", "kind": "assisted", "assistant": "x"}]}
    with pytest.warns(UnbalancedDesignWarning, match="use 6 or 8 raters"):
        StudyConfig.from_dict({**base, "open_slots": 7})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        StudyConfig.from_dict({**base, "open_slots": 8})
