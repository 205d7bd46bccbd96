"""The typed study the store returns: one rule for a condition's kind, read alike by the review
service, the analysis frame and reward labels; older, partial stored configs still load."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from oversight_ext.analysis import study_frame
from oversight_ext.diffs import make_diff
from oversight_ext.records import Assignment, Critique, Item, Judgment, Study, StudyCondition
from oversight_ext.review.service import ReviewService
from oversight_ext.reward.labels import votes
from oversight_ext.store import Store
from oversight_ext.store import schema as tables
from oversight_ext.study import ConditionConfig, StudyConfig


def config() -> StudyConfig:
    return StudyConfig(
        name="typed",
        conditions=(
            ConditionConfig(name="alone"),
            ConditionConfig(name="helped", kind="assisted", assistant="demo-replay", display="verdict", planted_rate=0.25),
        ),
        seed=5,
        raters=("ann", "ben"),
        qc_rate=0.1,
        time_limit_s=300,
        audit_budget_hunks=4,
        verdict_scale="likert",
    )


def test_a_study_config_becomes_the_record_with_every_derived_fact() -> None:
    study = config().as_study()
    assert isinstance(study, Study) and study.name == "typed" and study.seed == 5
    assert study.condition_names == ["alone", "helped"]
    assert study.condition("helped") == StudyCondition(
        name="helped", kind="assisted", assistant="demo-replay", planted_rate=0.25, display="verdict"
    )
    assert study.condition("nope") is None
    assert [study.condition_kind(n) for n in ("alone", "helped")] == ["unassisted", "assisted"]
    assert study.is_assisted("helped") and not study.is_assisted("alone")
    assert study.assistant_of("helped") == "demo-replay" and study.assistant_of("alone") is None
    assert study.control_condition == "alone" and study.treatment_conditions == ["helped"]
    assert study.qc_condition_name == config().qc_condition_name == "alone"
    assert (study.verdict_scale, study.time_limit_s, study.n_raters, study.is_open) == ("likert", 300, 2, False)
    a = Assignment(id="x", study="typed", rater="ann", item_id="i", condition="helped")
    assert study.time_limit_of(a) == 300 and study.audit_budget_hunks == 4
    assert study.time_limit_of(Assignment(id="y", study="typed", rater="ann", item_id="i", condition="alone", time_limit_s=20)) == 20
    assert StudyConfig.from_study(study) == config()


def test_the_one_rule_for_conditions_a_partial_config_describes_differently() -> None:
    # Stored by hand or by older versions: no kind, an assistant without kind, plain strings.
    legacy = {"conditions": [{"name": "plain"}, {"name": "critic", "assistant": "t"}, "bare"], "open_slots": 3}
    study = Study.from_config(legacy, name="old")
    assert study.condition_kinds() == {"plain": "unassisted", "critic": "assisted"}
    # A condition the config does not describe: the frozen table (does it show a critique?) decides.
    assert study.condition_kind("bare") == "unassisted"
    assert study.condition_kind("bare", shows_critique=True) == "assisted"
    assert study.condition_kind("critic", shows_critique=False) == "assisted"  # described: the config wins
    assert study.is_open and study.n_raters == 3 and study.verdict_scale == "binary" and study.time_limit_s is None
    empty = Study.from_config({}, name="e")
    assert empty.conditions == () and empty.control_condition is None and empty.qc_condition_name is None


def _item(n: int) -> Item:
    before = "a = 1\nb = 2\n"
    after = before.replace("b = 2", f"b = {n + 3}")
    return Item(id=f"t{n}", diff=make_diff(before, after, "m.py"), path="m.py", before=before, after=after, label="buggy", bug_lines=(2,))


def test_service_frame_and_labels_agree_on_a_legacy_study(store: Store) -> None:
    """A kind-less condition naming an assistant, and one the config does not describe: all
    three readers used to differ here (unassisted / assisted / unknown)."""
    store.add_items([_item(n) for n in range(4)])
    store.add_critiques([Critique(id=f"k{n}", item_id=f"t{n}", assistant="t", verdict="buggy") for n in range(4)])
    legacy = {"conditions": [{"name": "plain"}, {"name": "critic", "assistant": "t"}]}
    table = [
        Assignment(id="a0", study="old", rater="ann", item_id="t0", condition="plain", position=0),
        Assignment(id="a1", study="old", rater="ann", item_id="t1", condition="critic", position=1, critique_id="k1"),
        Assignment(id="a2", study="old", rater="ann", item_id="t2", condition="ghost", position=2, critique_id="k2"),
        Assignment(id="a3", study="old", rater="ann", item_id="t3", condition="ghost2", position=3, is_qc=True),
    ]
    store.create_study("old", legacy, table, seed=1, code_version="t")
    store.add_rater("ann")
    for a in table:
        store.submit(
            Judgment(submission_id=f"s-{a.id}", assignment_id=a.id, rater="ann", verdict="buggy", confidence=0.8, time_on_task_s=10)
        )
    study = store.study("old")
    assert isinstance(study, Study) and study.qc_item_ids == frozenset({"t3"}) and study.is_qc("t3") and not study.is_qc("t0")
    assert study["config"] == legacy and study["seed"] == 1  # the stored row's form still reads
    expected = {"a0": "unassisted", "a1": "assisted", "a2": "assisted", "a3": "unassisted"}
    service = ReviewService(store, prefetch=False)
    seen = {a.id: service.view("ann", a.id)["assignment"]["condition_kind"] for a in table}
    frame = study_frame(store, "old")
    framed = dict(zip(frame["assignment_id"], frame["condition_kind"], strict=True))
    labelled = votes(store, "old", include_qc=True, reliability_weighting=False)
    by_item = dict(zip(labelled["item_id"], labelled["kind"], strict=True))
    assert seen == framed == expected
    assert {a.id: by_item[a.item_id] for a in table} == expected


def test_a_database_row_written_before_the_record_still_loads(sqlite_store: Store) -> None:
    sqlite_store.add_items([_item(0)])
    old_row = {"name": "s", "conditions": [{"name": "u", "kind": "unassisted"}], "seed": 3, "qc_condition": None, "time_limit_s": None}
    with sqlite_store.engine.begin() as conn:
        conn.execute(
            tables.studies.insert().values(
                name="s", config=old_row, seed=3, code_version="0.1", owner="prof", created_at=dt.datetime(2025, 1, 2, 3, 4)
            )
        )
    study = sqlite_store.study("s")
    assert study.owner == "prof" and study.created_at == dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    assert study.condition_kinds() == {"u": "unassisted"} and study.qc_item_ids == frozenset()
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(sa.select(tables.studies.c.config)).scalar_one() == old_row  # reading changes nothing
