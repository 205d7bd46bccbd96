"""The "ranked" display: a monitor's suspicion ranking of the hunks, and nothing else of its critique."""

from __future__ import annotations

import json

import pytest

from oversight_ext.diffs import make_diff
from oversight_ext.records import Assignment, Comment, Critique, Item, RecordError
from oversight_ext.review import ReviewService
from oversight_ext.store import Store
from oversight_ext.study import ConditionConfig, StudyConfig, StudyConfigError
from oversight_ext.study_record import StudyCondition

BEFORE = "".join(f"a{i} = {i}\n" for i in range(40))
AFTER = BEFORE.replace("a3 = 3", "a3 = 4").replace("a30 = 30", "a30 = 31")


def test_a_ranked_view_carries_the_scores_but_no_comment_verdict_or_summary(sqlite_store: Store) -> None:
    store = sqlite_store
    store.add_items(
        [Item(id=f"t{k}", diff=make_diff(BEFORE, AFTER, "m.py"), path="m.py", label="buggy", bug_lines=(31,)) for k in range(2)]
    )
    comment = Comment(id="c1", path="m.py", start_line=31, end_line=31, text="secret-looking change here")
    store.add_critiques(
        [
            Critique(id=f"k{k}", item_id=f"t{k}", assistant="monitor", verdict="buggy", confidence=0.93, summary="1 of 2 hunks flagged",
                     comments=(comment,), hunk_scores=(0.2113, 0.8731))
            for k in range(2)
        ]
    )  # fmt: skip
    config = StudyConfig(
        name="rk",
        conditions=(
            ConditionConfig(name="ranked", kind="assisted", assistant="x", display="ranked"),
            ConditionConfig(name="critique", kind="assisted", assistant="x"),
        ),
        seed=1,
        raters=("alice", "bob"),
    )
    table = [
        Assignment(id="rk:0", study="rk", rater="alice", item_id="t0", condition="ranked", position=0, critique_id="k0", display="ranked"),
        Assignment(id="rk:1", study="rk", rater="alice", item_id="t1", condition="critique", position=1, critique_id="k1"),
    ]
    store.create_study("rk", config, table, seed=1, code_version="test")
    assert store.get_assignment("rk:0").display == "ranked"
    assert store.study("rk").conditions[0].display == "ranked"
    svc = ReviewService(store, prefetch=False)
    ranked, full = svc.view("alice", "rk:0"), svc.view("alice", "rk:1")
    assert ranked["assignment"]["display"] == "ranked"
    assert ranked["critique"]["hunk_scores"] == [0.2113, 0.8731]
    assert ranked["critique"]["comments"] == [] and ranked["critique"]["verdict"] is None
    assert ranked["critique"]["confidence"] is None and ranked["critique"]["summary"] == ""
    text = json.dumps(ranked)
    assert "secret-looking" not in text and "0.93" not in text and "flagged" not in text
    assert full["critique"]["comments"][0]["text"] == "secret-looking change here" and full["critique"]["verdict"] == "buggy"
    # comments were not shown, so none can be disposed of
    payload = {
        "assignment_id": "rk:0",
        "submission_id": "s-1",
        "verdict": "buggy",
        "confidence": 0.75,
        "time_on_task_s": 12.0,
        "dispositions": [{"comment_id": ranked["critique"]["id"], "action": "keep"}],
    }
    with pytest.raises(Exception, match="dispositions name comment"):
        svc.submit("alice", payload)


def test_ranked_is_a_known_display_and_a_wrong_one_is_named() -> None:
    assert ConditionConfig(name="r", kind="assisted", assistant="monitor", display="ranked").display == "ranked"
    with pytest.raises(StudyConfigError, match=r"conditions\['r'\]\.display = 'ranking' is invalid: use 'evidence', 'verdict' or 'ranked'"):
        ConditionConfig(name="r", kind="assisted", assistant="monitor", display="ranking")  # type: ignore[arg-type]
    with pytest.raises(RecordError, match="display"):
        Assignment(id="a", study="s", rater="r", item_id="i", condition="c", display="ranking")  # type: ignore[arg-type]
    assert StudyCondition.from_stored({"name": "r", "kind": "assisted", "assistant": "m", "display": "ranked"}).display == "ranked"
    assert StudyCondition.from_stored({"name": "r", "kind": "assisted", "assistant": "m", "display": "odd"}).display == "evidence"
