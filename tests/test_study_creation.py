"""Creating studies in a real store: selection, frozen table with seed and code version,
open enrolment, critiques for assisted conditions, refusals that write nothing."""

from __future__ import annotations

import pytest

from oversight_ext import __version__
from oversight_ext.diffs import make_diff
from oversight_ext.records import Item
from oversight_ext.store import Conflict, Store
from oversight_ext.study import StudyConfig, StudyConfigError, create_study, enroll, select_items, study_status
from oversight_ext.study.config import ItemSelector


def make_items(n: int, source: str = "toy", start: int = 0) -> list[Item]:
    out = []
    for i in range(start, start + n):
        before = f"def f{i}(x):\n    y = x + {i}\n    return y\n"
        buggy = i % 2 == 0
        after = before.replace("x +", "x -") if buggy else before.replace("    return y\n", "    return (y)\n")
        out.append(
            Item(
                id=f"{source}-{i:03d}",
                diff=make_diff(before, after, f"f{i}.py"),
                path=f"f{i}.py",
                before=before,
                after=after,
                source=source,
                label="buggy" if buggy else "correct",
                bug_lines=(2,) if buggy else (),
            )
        )
    return out


def config(**kw: object) -> StudyConfig:
    d: dict[str, object] = {
        "name": "s1",
        "seed": 5,
        "open_slots": 6,
        "conditions": [{"name": "u"}, {"name": "w"}],
        "items": {"source": "toy"},
    }
    d.update(kw)
    return StudyConfig.from_dict(d)


def test_create_freezes_table_with_seed_and_code_version(store: Store) -> None:
    store.add_items(make_items(12) + make_items(4, source="other"))
    cfg = config(qc_rate=0.1)
    table = create_study(store, cfg, owner="prof")
    record = store.study("s1")
    assert record["seed"] == 5 and record["owner"] == "prof"
    assert record["code_version"].startswith(__version__)
    assert record["config"] == cfg.to_dict()
    assert StudyConfig.from_dict(record["config"]) == cfg
    stored = store.assignments("s1")
    assert sorted(stored, key=lambda a: a.id) == sorted(table, key=lambda a: a.id)
    assert {a.item_id.split("-")[0] for a in stored} == {"toy"}
    assert any(a.is_qc for a in stored) and not {a.item_id for a in stored if a.is_qc} & {a.item_id for a in stored if not a.is_qc}
    # The same config over the same items gives the identical table in a fresh store.
    with pytest.raises(Conflict, match="already exists"):
        create_study(store, cfg)
    assert len(store.assignments("s1")) == len(table)


def test_qc_items_keep_a_balanced_study_balanced(sqlite_store: Store) -> None:
    sqlite_store.add_items(make_items(20))
    table = create_study(sqlite_store, config(qc_rate=0.1, items={"source": "toy", "label_balance": True}))
    labels = {it.id: it.label for it in sqlite_store.iter_items()}
    study_items = {a.item_id for a in table if not a.is_qc}
    qc_items = {a.item_id for a in table if a.is_qc}
    assert len(qc_items) == 2 and sorted(labels[i] for i in qc_items) == ["buggy", "correct"]
    assert sum(labels[i] == "buggy" for i in study_items) == sum(labels[i] == "correct" for i in study_items) == 9


def test_same_seed_same_table_across_stores(tmp_path) -> None:
    tables = []
    for k, order in enumerate([make_items(10), list(reversed(make_items(10)))]):
        with Store(f"sqlite:///{tmp_path / f'{k}.db'}") as s:
            s.add_items(order)
            tables.append(create_study(s, config(items={"source": "toy", "limit": 6})))
    assert tables[0] == tables[1]


def test_selector_filters_balances_and_samples(store: Store) -> None:
    store.add_items(make_items(20) + make_items(3, source="other"))
    balanced = select_items(store, ItemSelector(source="toy", label_balance=True, limit=8), seed=1)
    assert len(balanced) == 8 and sum(it.label == "buggy" for it in balanced) == 4
    assert balanced == select_items(store, ItemSelector(source="toy", label_balance=True, limit=8), seed=1)
    assert balanced != select_items(store, ItemSelector(source="toy", label_balance=True, limit=8), seed=2)
    picked = select_items(store, ItemSelector(ids=("toy-001", "other-000")), seed=0)
    assert [it.id for it in picked] == ["other-000", "toy-001"]
    with pytest.raises(StudyConfigError, match="not stored"):
        select_items(store, ItemSelector(ids=("nope",)), seed=0)


def test_condition_with_no_items_is_refused_and_nothing_is_written(store: Store) -> None:
    store.add_items(make_items(4))
    with pytest.raises(StudyConfigError, match="every condition has no items; import items"):
        create_study(store, config(items={"source": "absent"}))
    assert store.study_names() == [] and store.count("assignments") == 0


def test_unknown_assistant_is_refused(store: Store) -> None:
    store.add_items(make_items(4))
    cfg = config(conditions=[{"name": "u"}, {"name": "a", "kind": "assisted", "assistant": "no-such-critic"}])
    with pytest.raises(StudyConfigError, match="no-such-critic"):
        create_study(store, cfg)
    assert store.study_names() == []


def test_open_enrolment_hands_out_slots_in_order(store: Store) -> None:
    store.add_items(make_items(9))
    table = create_study(store, config())
    slot1 = sorted(a.id for a in table if a.rater == "slot:001")
    alice = enroll(store, "s1", "alice")
    assert sorted(a.id for a in alice) == slot1 and {a.rater for a in alice} == {"alice"}
    assert enroll(store, "s1", "alice") == alice  # idempotent
    bob = enroll(store, "s1", "bob")
    assert {a.id.split(":")[2] for a in bob} == {"002"}
    for k in range(4):
        enroll(store, "s1", f"p{k}")
    with pytest.raises(Conflict, match="all 6 open slots are taken"):
        enroll(store, "s1", "late")
    with pytest.raises(ValueError, match="not starting with 'slot:'"):
        enroll(store, "s1", "slot:009")
    status = study_status(store, "s1")
    assert status["raters"].to_list() == [6, 6] and status["judged"].to_list() == [0, 0]


def test_listed_raters_cannot_enroll_strangers(store: Store) -> None:
    store.add_items(make_items(6))
    create_study(store, config(open_slots=0, raters=["ann", "ben"]))
    assert {a.rater for a in enroll(store, "s1", "ann")} == {"ann"}
    with pytest.raises(ValueError, match="fixed rater list"):
        enroll(store, "s1", "eve")


def test_assisted_conditions_reference_stored_critiques(store: Store) -> None:
    from oversight_ext.assistants import list_assistants

    assert "lint" in list_assistants() and "planted" in list_assistants()
    store.add_items(make_items(8))
    cfg = config(
        conditions=[
            {"name": "u"},
            {"name": "lint", "kind": "assisted", "assistant": "lint"},
            {"name": "wrong", "kind": "assisted", "assistant": "lint", "planted_rate": 1.0},
        ],
        drop_failed_critiques=False,
    )
    table = create_study(store, cfg)
    for a in table:
        if a.condition == "u":
            assert a.critique_id is None
        else:
            critique = store.get_critique(str(a.critique_id))
            assert critique.item_id == a.item_id
    planted = {store.get_critique(str(a.critique_id)).planted for a in table if a.condition == "wrong"}
    plain = {store.get_critique(str(a.critique_id)).planted for a in table if a.condition == "lint"}
    assert planted == {True} and plain == {False}


def test_concurrent_enrolment_gives_distinct_slots(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store.add_items(make_items(9))
    create_study(store, config())
    with ThreadPoolExecutor(max_workers=6) as pool:
        queues = list(pool.map(lambda k: enroll(store, "s1", f"person{k}"), range(6)))
    slots = [{a.id.split(":")[2] for a in q} for q in queues]
    assert all(len(s) == 1 for s in slots)
    assert sorted(s.pop() for s in slots) == [f"{i:03d}" for i in range(1, 7)]
    assert not [a for a in store.assignments("s1") if a.rater.startswith("slot:")]


def test_condition_whose_critic_fails_on_every_item_is_refused(store: Store, tmp_path) -> None:
    store.add_items(make_items(4))
    empty = tmp_path / "none.jsonl"
    empty.write_text('{"item_id": "elsewhere", "verdict": "buggy", "comments": []}\n')
    replay = {"name": "r", "kind": "assisted", "assistant": "replay", "overrides": {"name": "empty-replay", "file": str(empty)}}
    with pytest.raises(StudyConfigError, match=r"conditions\['r'\].*this condition has no items: its critic failed on all 4 items"):
        create_study(store, config(conditions=[{"name": "u"}, replay]))
    assert store.study_names() == [] and store.count("assignments") == 0


def test_one_person_enrolling_twice_at_once_holds_one_slot(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store.add_items(make_items(9))
    create_study(store, config())
    with ThreadPoolExecutor(max_workers=4) as pool:
        queues = list(pool.map(lambda _: enroll(store, "s1", "twin"), range(4)))
    held = store.assignments("s1", rater="twin")
    assert len({a.id.split(":")[2] for a in held}) == 1
    assert all({a.id for a in q} <= {a.id for a in held} for q in queues)
    free = {a.rater for a in store.assignments("s1") if a.rater.startswith("slot:")}
    assert len(free) == 5


def test_a_second_slot_won_in_a_race_is_handed_back(sqlite_store: Store) -> None:

    from oversight_ext.store import schema

    sqlite_store.add_items(make_items(9))
    create_study(sqlite_store, config())
    first = enroll(sqlite_store, "s1", "twin")
    # What two simultaneous claims can leave behind: the same person holding slot 003 too.
    a = schema.assignments
    with sqlite_store.engine.begin() as conn:
        conn.execute(a.update().where(a.c.rater == "slot:003").values(rater="twin"))
    assert enroll(sqlite_store, "s1", "twin") == first
    assert len(sqlite_store.assignments("s1", rater="slot:003")) > 0
