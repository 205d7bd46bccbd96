"""Suspicion triage data reaches only the raters whose condition shows the assistant's
evidence: the item view carries ``critique.hunk_scores`` there and nowhere else."""

from __future__ import annotations

import json

from oversight_ext.diffs import make_diff
from oversight_ext.records import Assignment, Critique, Item
from oversight_ext.review import ReviewService
from oversight_ext.store import Store
from oversight_ext.study import ConditionConfig, StudyConfig

BEFORE = "".join(f"a{i} = {i}\n" for i in range(40))
AFTER = BEFORE.replace("a3 = 3", "a3 = 4").replace("a30 = 30", "a30 = 31")


def setup(store: Store, scores: tuple[float, ...] = (0.2113, 0.8731)) -> None:
    items = [Item(id=f"t{k}", diff=make_diff(BEFORE, AFTER, "m.py"), path="m.py", label="buggy", bug_lines=(31,)) for k in range(4)]
    store.add_items(items)
    store.add_critiques([Critique(id=f"k{k}", item_id=f"t{k}", assistant="monitor", verdict="buggy", hunk_scores=scores) for k in range(4)])
    config = StudyConfig(
        name="tri",
        conditions=(
            ConditionConfig(name="alone"),
            ConditionConfig(name="evidence", kind="assisted", assistant="x"),
            ConditionConfig(name="verdict", kind="assisted", assistant="x", display="verdict"),
        ),
        seed=1,
        raters=("alice", "bob", "carol"),
    )
    rows = [("t0", "alone", None, "evidence"), ("t1", "evidence", "k1", "evidence"), ("t2", "verdict", "k2", "verdict")]
    table = [
        Assignment(id=f"tri:{k}", study="tri", rater="alice", item_id=it, condition=c, position=k, critique_id=crit, display=disp)  # type: ignore[arg-type]
        for k, (it, c, crit, disp) in enumerate(rows)
    ]
    store.create_study("tri", config, table, seed=1, code_version="test")


def test_only_an_evidence_view_carries_hunk_scores(store: Store) -> None:
    setup(store)
    svc = ReviewService(store, prefetch=False)
    views = {a: svc.view("alice", a) for a in ("tri:0", "tri:1", "tri:2")}
    assert len(views["tri:1"]["files"][0]["hunks"]) == 2
    assert views["tri:1"]["critique"]["hunk_scores"] == [0.2113, 0.8731]
    assert views["tri:0"]["critique"] is None
    assert "hunk_scores" not in views["tri:2"]["critique"]
    for a in ("tri:0", "tri:2"):
        text = json.dumps(views[a]) + json.dumps(svc.queue("alice", "tri")) + json.dumps(svc.me("alice"))
        assert "hunk_scores" not in text and "0.8731" not in text and "0.2113" not in text


def test_scores_that_do_not_match_the_hunks_shown_are_left_out(store: Store) -> None:
    setup(store, scores=(0.2, 0.9, 0.4))
    view = ReviewService(store, prefetch=False).view("alice", "tri:1")
    assert view["critique"] is not None and "hunk_scores" not in view["critique"]
