"""The study frame from a real store (SQLite and PostgreSQL) and the metrics read from it, on a
hand-built study whose every number is known."""

from __future__ import annotations

import polars as pl
import pytest

from oversight_ext.analysis import dispositions, over_reliance, study_frame, summary
from oversight_ext.analysis.frames import FRAME_COLUMNS
from oversight_ext.diffs import make_diff
from oversight_ext.records import Assignment, Comment, Critique, Item, Judgment
from oversight_ext.store import Store, UnknownRecord


def item(n: int, buggy: bool) -> Item:
    before = "".join(f"x{k} = {k}\n" for k in range(10))
    after = before.replace("x4 = 4", "x4 = 5") if buggy else before.replace("x9 = 9", "x9 = 9  # fine")
    return Item(
        id=f"it{n}",
        diff=make_diff(before, after, "m.py"),
        path="m.py",
        before=before,
        after=after,
        label="buggy" if buggy else "correct",
        bug_lines=(5,) if buggy else (),
    )


def build(store: Store, *, qc: bool = True) -> None:
    """Two raters, two conditions, three buggy items (gold line 5) and one correct item;
    bob's it2 is a QC item unless ``qc=False``."""
    store.add_items([item(0, True), item(1, True), item(2, True), item(3, False)])
    honest = Comment(id="c1", path="m.py", start_line=5, end_line=5, text="off by one")
    wrong = Comment(id="c2", path="m.py", start_line=9, end_line=9, text="this is wrong", planted=True)
    store.add_critiques(
        [
            Critique(id="k0", item_id="it0", assistant="t", comments=(honest,), verdict="buggy"),
            Critique(id="k3", item_id="it3", assistant="t", comments=(wrong,), verdict="buggy", planted=True),
        ]
    )
    config = {"conditions": [{"name": "plain", "kind": "unassisted"}, {"name": "help", "kind": "assisted", "assistant": "t"}]}
    table = [
        Assignment(id="a0", study="s", rater="ann", item_id="it0", condition="help", position=0, critique_id="k0"),
        Assignment(id="a1", study="s", rater="ann", item_id="it1", condition="plain", position=1),
        Assignment(id="a2", study="s", rater="ann", item_id="it3", condition="help", position=2, critique_id="k3"),
        Assignment(id="a3", study="s", rater="bob", item_id="it2", condition="plain", position=0, is_qc=qc),
        Assignment(id="a4", study="s", rater="bob", item_id="it3", condition="plain", position=1),
    ]
    store.create_study("s", config, table, seed=1, code_version="test")
    store.add_rater("ann")
    store.add_rater("bob")
    judgments = [
        # ann: catches it0 at line 6 (within 1 of 5), keeps the honest comment.
        Judgment(
            submission_id="j0",
            assignment_id="a0",
            rater="ann",
            verdict="buggy",
            confidence=0.8,
            time_on_task_s=30,
            flags=({"path": "m.py", "line": 6}, {"path": "m.py", "line": 1}),
            dispositions=({"comment_id": "c1", "action": "keep"},),
        ),
        # ann: first says correct on it1, then corrects herself (the first row is superseded).
        Judgment(submission_id="j1", assignment_id="a1", rater="ann", verdict="correct", confidence=0.6, time_on_task_s=10),
        Judgment(
            submission_id="j1b",
            assignment_id="a1",
            rater="ann",
            verdict="buggy",
            confidence=0.6,
            time_on_task_s=50,
            flags=({"path": "m.py", "line": 8},),
            supersedes="j1",
        ),
        # ann follows the wrong critique on the correct item and keeps its planted comment.
        Judgment(
            submission_id="j2",
            assignment_id="a2",
            rater="ann",
            verdict="buggy",
            confidence=1.0,
            time_on_task_s=20,
            dispositions=({"comment_id": "c2", "action": "edit", "edited_text": "wrong?"},),
        ),
        Judgment(
            submission_id="j3",
            assignment_id="a3",
            rater="bob",
            verdict="buggy",
            confidence=0.8,
            time_on_task_s=40,
            flags=({"path": "m.py", "line": 5},),
        ),
        Judgment(submission_id="j4", assignment_id="a4", rater="bob", verdict="correct", confidence=0.42, time_on_task_s=60),
    ]
    for j in judgments:
        store.submit(j)


def test_study_frame_joins_current_judgments_with_gold_design_and_critiques(store: Store) -> None:
    build(store)
    f = study_frame(store, "s")
    assert dict(f.schema) == FRAME_COLUMNS
    assert f.height == 5 and "j1" not in f["submission_id"].to_list()
    row = f.filter(pl.col("submission_id") == "j0").row(0, named=True)
    assert row["condition_kind"] == "assisted" and row["label"] == "buggy" and row["bug_lines"] == [5]
    assert row["critique_verdict"] == "buggy" and row["critique_planted"] is False and row["critique_comments"][0]["id"] == "c1"
    assert row["rater_kind"] == "human" and row["correct"] is True and row["position"] == 0
    assert f.filter(pl.col("submission_id") == "j3")["is_qc"].to_list() == [True]
    assert f.filter(pl.col("condition") == "plain")["critique_id"].null_count() == 3


def test_metrics_on_the_known_study(store: Store) -> None:
    build(store, qc=False)  # it2 as a study item: the figures below count bob's j3 (as a QC item no estimate would)
    s = summary(study_frame(store, "s")).to_dicts()
    help_, plain = (r for r in sorted(s, key=lambda r: r["condition"]))
    # help: j0 (buggy item, right, flag at 6 catches line 5; flag at 1 misses), j2 (correct item called buggy).
    assert help_["accuracy"] == 0.5 and help_["catch_rate"] == 1.0 and help_["flag_precision"] == 0.5
    assert help_["false_alarm_rate"] == 1.0 and help_["agree_with_wrong_critique"] == 1.0
    # plain: j1b (right, flag at 8 misses), j3 (right, flag at 5), j4 (correct item, right).
    assert plain["accuracy"] == 1.0 and plain["catch_rate"] == 0.5 and plain["flag_precision"] == 0.5
    assert plain["false_alarm_rate"] == 0.0 and plain["n_raters"] == 2 and plain["median_time_s"] == 50
    d = dispositions(study_frame(store, "s")).to_dicts()
    assert {(r["planted"], r["action"], r["n"]) for r in d} == {(False, "keep", 1), (True, "edit", 1)}
    o = over_reliance(study_frame(store, "s")).filter(pl.col("condition") == "help").row(0, named=True)
    assert o["planted_claims"] == 1 and o["acceptance_rate"] == 1.0 and o["agreement_with_wrong_verdict"] == 1.0


def test_metrics_leave_out_the_qc_judgment(store: Store) -> None:
    build(store)
    plain = summary(study_frame(store, "s")).filter(pl.col("condition") == "plain").row(0, named=True)
    # j3 (bob's QC item it2, caught with a flag at line 5) is out: j1b and j4 remain.
    assert plain["n"] == 2 and plain["catch_rate"] == 0.0 and plain["flag_precision"] == 0.0 and plain["n_raters"] == 2


def test_a_study_without_judgments_gives_an_empty_frame_and_unknown_studies_are_named(store: Store) -> None:
    store.add_items([item(0, True)])
    store.create_study(
        "empty", {}, [Assignment(id="e0", study="empty", rater="ann", item_id="it0", condition="u")], seed=0, code_version="t"
    )
    f = study_frame(store, "empty")
    assert f.height == 0 and dict(f.schema) == FRAME_COLUMNS
    with pytest.raises(UnknownRecord, match="no study named 'nope'"):
        study_frame(store, "nope")
