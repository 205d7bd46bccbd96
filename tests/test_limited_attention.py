"""Simulated raters with an audit budget: they open few hunks, in the order their screen suggests,
and find a flaw only in a hunk they opened (oversight_ext.study.inspection)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from oversight_ext.attention import check_attention, lines_seen
from oversight_ext.diffs import make_diff, parse_diff
from oversight_ext.records import Assignment, Comment, Critique, Item, Judgment
from oversight_ext.study import RaterParams, SimulatedRaterConfig, judge
from oversight_ext.study.inspection import flaw_hunks, hunk_order

BEFORE = "".join(f"v{i} = {i}\n" for i in range(300))
# one change every 10 lines: 30 hunks; the flaw (line 251) is in hunk 25 of the diff's order
AFTER = "".join(f"v{i} = {i + 1 if i % 10 == 0 else i}\n" if i != 250 else "v250 = eval(input())\n" for i in range(300))
ITEM = Item(id="long", diff=make_diff(BEFORE, AFTER, "m.py"), path="m.py", label="buggy", bug_lines=(251,))
CLEAN = Item(id="clean", diff=make_diff(BEFORE, AFTER.replace("eval(input())", "251"), "m.py"), path="m.py", label="correct")
FILES = parse_diff(ITEM.diff)
N_HUNKS = len(FILES[0].hunks)
RATER = RaterParams(id="sim-001", skill=0.8, trust=0.7, misled=0.3, speed_s=300.0)
CFG = SimulatedRaterConfig(item_sd=0.0, time_sd=0.0)


def scores(top: int) -> tuple[float, ...]:
    return tuple(0.9 if k == top else 0.1 for k in range(N_HUNKS))


def run(condition: str, display: str, critique: Critique | None, n: int = 200, item: Item = ITEM, **kw: object) -> list[Judgment]:
    out, limit = [], kw.pop("limit", 300.0)
    for k in range(n):
        a = Assignment(
            id=f"s:{condition}:{k}", study="s", rater="sim-001", item_id=item.id, condition=condition, position=k,
            critique_id=None if critique is None else critique.id, time_limit_s=limit, display=display,  # type: ignore[arg-type]
        )  # fmt: skip
        rng = np.random.default_rng([7, k])
        out.append(judge(RATER, item, a, critique, rng, config=kw.get("config", CFG), seed=7, audit_budget=3))  # type: ignore[arg-type]
    return out


def caught(judgments: list[Judgment]) -> float:
    return float(np.mean([j.verdict == "buggy" and any(abs(f.line - 251) <= 2 for f in j.flags) for j in judgments]))


def opened(j: Judgment) -> set[tuple[int, int]]:
    return set(lines_seen(j.attention))


def test_the_setup_puts_the_flaw_late_in_the_diff() -> None:
    assert N_HUNKS == 30 and flaw_hunks(ITEM, FILES) == {(0, 25)}
    assert hunk_order(FILES, None)[:3] == [(0, 0), (0, 1), (0, 2)]
    assert hunk_order(FILES, scores(25))[:3] == [(0, 25), (0, 0), (0, 1)]


def test_a_ranking_that_puts_the_flaw_first_raises_the_catch_rate() -> None:
    alone = run("u", "evidence", None)
    ranked = run("r", "ranked", Critique(id="k", item_id="long", assistant="monitor", hunk_scores=scores(25)))
    # ignoring the ranking (diff order) would give the ranked raters the unassisted rate
    assert caught(alone) < 0.05
    assert caught(ranked) > 0.5
    assert all(len(opened(j)) <= 3 for j in alone + ranked)
    # a ranking that puts the flaw last helps no one
    misled = run("r", "ranked", Critique(id="k2", item_id="long", assistant="monitor", hunk_scores=scores(0)))
    assert caught(misled) < 0.05


def test_a_comment_on_the_flaw_pulls_attention_without_a_ranking() -> None:
    comment = Comment(id="c1", path="m.py", start_line=251, end_line=251, text="eval of input")
    pointed = run("c", "evidence", Critique(id="k3", item_id="long", assistant="monitor", comments=(comment,)))
    assert caught(pointed) > 0.5
    kept = [d for j in pointed for d in j.dispositions if d.action == "keep"]
    assert kept and all(d.comment_id == "c1" for d in kept)
    # the same comment under display "verdict" is not on screen: no pull
    hidden = run("v", "verdict", Critique(id="k4", item_id="long", assistant="monitor", comments=(comment,)))
    assert caught(hidden) < 0.05


def test_the_record_is_exactly_the_opened_hunks_and_misses_were_never_looked_at() -> None:
    judgments = run("r", "ranked", Critique(id="k", item_id="long", assistant="monitor", hunk_scores=scores(25)), n=60)
    sizes = [[len(h.lines) for h in f.hunks] for f in FILES]
    for j in judgments:
        check_attention(j.attention or {}, sizes, j.time_on_task_s * 1000)
        seen = lines_seen(j.attention)
        # every opened hunk is seen whole: a rater opens a hunk in depth or not at all
        assert all(lines == set(range(sizes[f][h])) for (f, h), lines in seen.items())
        if any(abs(f.line - 251) <= 2 for f in j.flags):
            assert (0, 25) in seen
        if j.verdict == "correct":
            assert j.flags == ()
    assert any((0, 25) not in opened(j) for j in judgments) and any(j.verdict == "correct" and (0, 25) in opened(j) for j in judgments)


def test_less_time_opens_fewer_hunks_and_the_prior_decides_the_rest() -> None:
    third = tuple(0.95 if k in (3, 4) else s for k, s in enumerate(scores(25)))  # the flaw ranked third
    ranked = Critique(id="k", item_id="long", assistant="monitor", hunk_scores=third)
    roomy = run("r", "ranked", ranked, n=100)
    rushed = run("r", "ranked", ranked, n=100, limit=30.0)
    assert np.mean([len(opened(j)) for j in rushed]) < np.mean([len(opened(j)) for j in roomy])
    assert caught(rushed) < caught(roomy)
    clean = run("u", "evidence", None, n=200, item=CLEAN)
    alarms = np.mean([j.verdict == "buggy" for j in clean])
    assert 0.03 < alarms < 0.2  # prior_buggy = 0.1
    never = run("u", "evidence", None, n=100, item=CLEAN, config=SimulatedRaterConfig(prior_buggy=0.0, item_sd=0.0))
    assert all(j.verdict == "correct" for j in never)


def test_deterministic_per_seed_and_bad_parameters_are_named() -> None:
    ranked = Critique(id="k", item_id="long", assistant="monitor", hunk_scores=scores(25))
    assert [j.to_dict() for j in run("r", "ranked", ranked, n=5)] == [j.to_dict() for j in run("r", "ranked", ranked, n=5)]
    with pytest.raises(ValueError, match=r"SimulatedRaterConfig.rank_decay = 1.5 is invalid: give a probability"):
        SimulatedRaterConfig(rank_decay=1.5)
    with pytest.raises(ValueError, match=r"SimulatedRaterConfig.inspect_s = -1.0 is invalid: give a finite number >= 0"):
        SimulatedRaterConfig(inspect_s=-1.0)
    a = Assignment(id="s:x:0", study="s", rater="sim-001", item_id="long", condition="u")
    with pytest.raises(ValueError, match=r"judge\(audit_budget=0\): give a whole number of hunks >= 1"):
        judge(RATER, ITEM, a, None, np.random.default_rng(0), audit_budget=0, started_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
