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


def test_brier_score_equals_scikit_learn() -> None:
    import numpy as np
    from sklearn.metrics import brier_score_loss

    rng = np.random.default_rng(3)
    n = 300
    f = pl.DataFrame(
        {
            "rater": [f"r{k % 7}" for k in range(n)],
            "item_id": [f"i{k % 30}" for k in range(n)],
            "condition": ["a", "b"] * (n // 2),
            "label": ["buggy", "correct"] * (n // 2),
            "verdict": np.where(rng.random(n) < 0.5, "buggy", "correct"),
            "confidence": rng.choice([0.5, 0.6, 0.7, 0.8, 0.9, 1.0], n),
        }
    )
    got = summary(f)
    worst = 0.0
    for cond in ("a", "b"):
        g = f.filter(pl.col("condition") == cond)
        ref = brier_score_loss((g["verdict"] == g["label"]).to_numpy(), g["confidence"].to_numpy())
        worst = max(worst, abs(got.filter(pl.col("condition") == cond)["brier_score"][0] - ref))
    print(f"Brier score vs scikit-learn: max abs diff {worst:.2e}")
    assert worst < 1e-12


def test_flaw_counts_equal_a_plain_python_count_on_random_rows() -> None:
    """Runs of consecutive gold lines, counted per row: adjacent rows whose lines continue each
    other (row 1 ends at 21, row 2 starts at 22) still hold separate flaws."""
    import random

    from oversight_ext.analysis.metrics import outcomes

    rnd = random.Random(7)
    rows = []
    for k in range(400):
        lines = sorted(rnd.sample(range(1, 30), rnd.randint(0, 6)))
        flags = [flag(rnd.randint(1, 32)) for _ in range(rnd.randint(0, 3))]
        rows.append({"rater": f"r{k % 9}", "item_id": f"i{k}", "condition": "c", "label": "buggy" if lines else "correct"})
        rows[-1].update({"bug_lines": lines, "verdict": rnd.choice(["buggy", "correct"]), "flags": flags, "gold_path": "m.py"})
    rows += [
        {
            "rater": "x",
            "item_id": "a",
            "condition": "c",
            "label": "buggy",
            "bug_lines": [20, 21],
            "verdict": "buggy",
            "flags": [flag(21)],
            "gold_path": "m.py",
        },
        {
            "rater": "x",
            "item_id": "b",
            "condition": "c",
            "label": "buggy",
            "bug_lines": [22],
            "verdict": "buggy",
            "flags": [],
            "gold_path": "m.py",
        },
    ]
    got = outcomes(pl.DataFrame(rows))
    for row, out in zip(rows, got.iter_rows(named=True), strict=True):
        runs: list[list[int]] = []
        for line in row["bug_lines"]:
            if runs and line == runs[-1][-1] + 1:
                runs[-1].append(line)
            else:
                runs.append([line])
        hit = sum(any(r[0] - 1 <= f["line"] <= r[-1] + 1 for f in row["flags"]) for r in runs)
        if row["label"] == "buggy":
            assert out["n_flaws"] == len(runs), row
            assert out["flaws_caught"] == (hit if row["verdict"] == "buggy" else 0), row
    assert got["n_flaws"].to_list()[-2:] == [1, 1] and got["flaws_caught"].to_list()[-2:] == [1, 0]
