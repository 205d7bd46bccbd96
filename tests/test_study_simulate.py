"""Simulated raters: labelled as simulated, deterministic per seed, and behaving as parametrised."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from test_study_creation import make_items

from oversight_ext.records import Assignment, Comment, Critique, Item
from oversight_ext.store import Store
from oversight_ext.study import (
    RaterParams,
    SimulatedRaterConfig,
    StudyConfig,
    create_study,
    draw_raters,
    enroll,
    judge,
    simulate,
    study_status,
)


def open_study(store: Store, **kw: object) -> None:
    d: dict[str, object] = {"name": "sim", "seed": 2, "open_slots": 6, "conditions": [{"name": "u"}, {"name": "w"}], "time_limit_s": 60}
    d.update(kw)
    store.add_items(make_items(12))
    create_study(store, StudyConfig.from_dict(d))


def comparable(store: Store) -> list[dict[str, object]]:
    """Judgments without clock times (the simulated clock starts at the study's creation)."""
    created = store.study("sim")["created_at"]
    out = []
    for j in store.judgments(study="sim"):
        d = {k: v for k, v in j.to_dict().items() if k not in ("received_at", "started_at", "submitted_at")}
        d["offset_s"] = (j.submitted_at - created).total_seconds()
        out.append(d)
    return out


def test_simulated_raters_are_labelled_and_fill_the_table(store: Store) -> None:
    open_study(store)
    created = simulate(store, "sim", 6, seed=9)
    table = store.assignments("sim")
    assert created == len(table) == len(store.judgments(study="sim"))
    assert {a.rater for a in table} == {f"sim-{i:03d}" for i in range(1, 7)}
    raters = store.raters_frame()
    assert set(raters["kind"]) == {"simulated"}
    assert store.rater("sim-001")["params"]["seed"] == 9  # type: ignore[index]
    for j in store.judgments(study="sim"):
        assert j.simulated and j.confidence in store.study("sim").confidence_levels and j.time_on_task_s <= 60
        assert all(f.line >= 1 for f in j.flags)
        assert (j.verdict == "buggy") == bool(j.flags)
    assert simulate(store, "sim", 6, seed=9) == 0  # idempotent
    status = study_status(store, "sim")
    assert status["simulated"].sum() == created and status["human"].sum() == 0


def test_same_seed_same_judgments(tmp_path: Path) -> None:
    runs = []
    for k, seed in enumerate([4, 4, 5]):
        with Store(f"sqlite:///{tmp_path / f'{k}.db'}") as s:
            open_study(s, verdict_scale="likert")
            simulate(s, "sim", 4, seed=seed)
            runs.append(comparable(s))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert all(isinstance(j["likert"], int) and 1 <= j["likert"] <= 7 for j in runs[0])


def test_simulation_refuses_what_it_cannot_do(sqlite_store: Store) -> None:
    open_study(sqlite_store)
    with pytest.raises(ValueError, match="has 6 open slots and 6 are free; simulate at most 6"):
        simulate(sqlite_store, "sim", 7, seed=1)
    enroll(sqlite_store, "sim", "person")  # a person takes a slot: five are left for simulated raters
    with pytest.raises(ValueError, match="6 open slots and 5 are free"):
        simulate(sqlite_store, "sim", 6, seed=1)
    assert sqlite_store.judgments(study="sim") == []
    with pytest.raises(ValueError, match="must be an integer"):
        simulate(sqlite_store, "sim", 2, seed="1")  # type: ignore[arg-type]
    sqlite_store.add_items(make_items(4, source="x", start=100))
    listed = {"name": "people", "seed": 1, "raters": ["ann", "ben"], "conditions": [{"name": "u"}], "items": {"source": "x"}}
    create_study(sqlite_store, StudyConfig.from_dict(listed))
    with pytest.raises(ValueError, match="lists its raters"):
        simulate(sqlite_store, "people", 1, seed=1)
    assert sqlite_store.judgments(study="people") == []


def test_draw_raters_depends_only_on_seed_and_index() -> None:
    a, b = draw_raters(5, 3), draw_raters(8, 3)
    assert a == b[:5] and a != draw_raters(5, 4)
    assert all(0.5 <= r.skill <= 0.99 and 0 <= r.trust <= 1 and r.speed_s > 0 for r in b)
    with pytest.raises(ValueError, match="whole number"):
        draw_raters(0, 1)
    with pytest.raises(ValueError, match="skill_mean"):
        SimulatedRaterConfig(skill_mean=1.5)


ITEM = make_items(1)[0]  # buggy, gold line 2
ASSIGN = Assignment(id="s:r:0", study="s", rater="r", item_id=ITEM.id, condition="c")


def accuracy(params: RaterParams, item: Item, critique: Critique | None, n: int = 4000, **kw: object) -> float:
    cfg = SimulatedRaterConfig(item_sd=0.0)
    right = 0
    for k in range(n):
        j = judge(params, item, ASSIGN, critique, np.random.default_rng(k), config=cfg, **kw)  # type: ignore[arg-type]
        right += j.verdict == item.label
    return right / n


def critique(verdict: str, *, line: int = 2, planted: bool = False) -> Critique:
    comment = Comment(id="c1", path=ITEM.path, start_line=line, end_line=line, text="off by sign", planted=planted)
    return Critique(id=f"k-{verdict}", item_id=ITEM.id, assistant="t", comments=(comment,), verdict=verdict, confidence=0.8)  # type: ignore[arg-type]


def test_skill_trust_and_misled_rates_show_in_accuracy() -> None:
    p = RaterParams(id="sim-001", skill=0.7, trust=0.8, misled=0.4, speed_s=60.0)
    se = 3 * np.sqrt(0.25 / 4000)
    assert abs(accuracy(p, ITEM, None) - 0.7) < se
    # Right critique: followed with prob trust, else own judgment.
    assert abs(accuracy(p, ITEM, critique("buggy")) - (0.8 + 0.2 * 0.7)) < se
    # Wrong critique: followed with prob misled.
    assert abs(accuracy(p, ITEM, critique("correct")) - (0.6 * 0.7)) < se


def test_dispositions_follow_trust_and_misled() -> None:
    p = RaterParams(id="sim-001", skill=0.7, trust=0.9, misled=0.2, speed_s=60.0)
    cfg = SimulatedRaterConfig(item_sd=0.0)
    kept_right = kept_wrong = 0
    n = 2000
    for k in range(n):
        right = judge(p, ITEM, ASSIGN, critique("buggy"), np.random.default_rng(k), config=cfg)
        wrong = judge(p, ITEM, ASSIGN, critique("buggy", line=3, planted=True), np.random.default_rng(k), config=cfg)
        kept_right += right.dispositions[0].action == "keep"
        kept_wrong += wrong.dispositions[0].action == "keep"
        if wrong.dispositions[0].action == "reject":
            assert wrong.dispositions[0].reason == "wrong"
        if right.dispositions[0].action == "keep" and right.verdict == "buggy":
            assert any(f.line == 2 for f in right.flags)
    assert abs(kept_right / n - 0.9) < 0.03 and abs(kept_wrong / n - 0.2) < 0.03
    verdict_only = dataclasses.replace(ASSIGN, display="verdict")
    assert judge(p, ITEM, verdict_only, critique("buggy"), np.random.default_rng(0), config=cfg).dispositions == ()


def test_flags_land_near_the_gold_line_with_skill() -> None:
    p = RaterParams(id="sim-001", skill=0.95, trust=0.5, misled=0.5, speed_s=60.0)
    cfg = SimulatedRaterConfig(item_sd=0.0)
    flags = [judge(p, ITEM, ASSIGN, None, np.random.default_rng(k), config=cfg).flags for k in range(500)]
    lines = [f[0].line for f in flags if f]
    assert sum(abs(line - 2) <= 2 for line in lines) / len(lines) > 0.9


def test_end_to_end_the_analysis_recovers_the_simulated_effects(sqlite_store: Store, tmp_path: Path) -> None:
    """Right critiques raise accuracy and planted-wrong ones lower it, by the amounts the
    rater model implies, through the real path: critics, frozen table, store, analysis."""
    import json

    from oversight_ext.analysis import effect, study_frame

    items = make_items(30)
    sqlite_store.add_items(items)
    right = tmp_path / "right.jsonl"
    right.write_text("".join(json.dumps({"item_id": it.id, "verdict": it.label, "confidence": 0.9}) + "\n" for it in items))
    critic = {"kind": "assisted", "assistant": "replay", "overrides": {"name": "gold-replay", "file": str(right)}}
    cfg = StudyConfig.from_dict(
        {
            "name": "sim",
            "seed": 8,
            "open_slots": 18,
            "overlap": 3,
            "items": {"source": "toy"},
            "conditions": [{"name": "alone"}, {"name": "helped", **critic}, {"name": "misled", **critic, "planted_rate": 1.0}],
        }
    )
    create_study(sqlite_store, cfg)
    model = SimulatedRaterConfig(skill_mean=0.7, skill_sd=0.0, trust_mean=0.8, trust_sd=0.0, misled_mean=0.35, misled_sd=0.0, item_sd=0.0)
    simulate(sqlite_store, "sim", 18, seed=3, config=model)
    frame = study_frame(sqlite_store, "sim")
    out = {r["treatment"]: r for r in effect(frame, control="alone", n_boot=400, seed=1).iter_rows(named=True)}
    # alone: 0.7; helped: 0.8 + 0.2 x 0.7 = 0.94; misled: (1 - 0.35) x 0.7 = 0.455.
    for name, truth in (("helped", 0.94 - 0.7), ("misled", 0.455 - 0.7)):
        row = out[name]
        assert row["ci_low"] < truth < row["ci_high"], row
        assert row["p_value"] < 0.05, row
