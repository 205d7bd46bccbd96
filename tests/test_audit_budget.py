"""The audit budget at the server: a judgment whose attention record opened more hunks in depth
than the study allows is refused (4xx naming ``attention``), counting the rater's earlier records
of the same assignment, so a revision gets no fresh budget; reopening a hunk is free."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from oversight_ext.attention import audited_hunks
from oversight_ext.diffs import make_diff
from oversight_ext.records import Assignment, Item
from oversight_ext.review import ReviewService
from oversight_ext.review.errors import BadRequest
from oversight_ext.store import Store
from oversight_ext.study import StudyConfig

N_HUNKS = 4


def item() -> Item:
    before = "".join(f"def f{k}(x):\n    return x + {k}\n" + "".join(f"# pad {k}.{p}\n" for p in range(8)) for k in range(N_HUNKS))
    return Item(id="big", diff=make_diff(before, before.replace("return x +", "return x -"), "big.py"), path="big.py", label="buggy")


def seed(store: Store, budget: int | None) -> str:
    store.add_items([item()])
    config = StudyConfig.from_dict(
        {"name": "aud", "seed": 0, "conditions": [{"name": "alone"}], "raters": ["ada"], "audit_budget_hunks": budget}
    )
    a = Assignment(id="aud:ada:0", study="aud", rater="ada", item_id="big", condition="alone", position=0)
    store.create_study("aud", config.to_dict(), [a], seed=0, code_version="test")
    store.add_rater("ada")
    return a.id


def body(assignment: str, audits: list[tuple[int, int]], **extra: Any) -> dict[str, Any]:
    events = [[100 * (k + 1), "audit", f, h] for k, (f, h) in enumerate(audits)]
    return {
        "submission_id": str(uuid.uuid4()),
        "assignment_id": assignment,
        "verdict": "buggy",
        "confidence": 0.75,
        "time_on_task_s": 10.0,
        "started_at": "2026-01-01T10:00:00Z",
        "submitted_at": "2026-01-01T10:00:10Z",
        "attention": {"spans": [], "events": events},
        **extra,
    }


def test_the_view_sends_the_budget_and_the_server_refuses_more_audits(db_url: str) -> None:
    with Store(db_url) as s:
        a = seed(s, 2)
        svc = ReviewService(s, prefetch=False)
        view = svc.view("ada", a)
        assert view["assignment"]["audit_budget_hunks"] == 2 and len(view["files"][0]["hunks"]) == N_HUNKS
        with pytest.raises(BadRequest, match="audit budget is 2") as err:
            svc.submit("ada", body(a, [(0, 0), (0, 1), (0, 3)]))
        assert err.value.field == "attention"
        assert s.judgments(current=False, cannot_judge=True) == []
        # The same hunk twice is one audit (reopening is free).
        first, _ = svc.submit("ada", body(a, [(0, 0), (0, 1), (0, 1)]))
        assert audited_hunks(first["attention"]) == {(0, 0), (0, 1)}
        # A revision may reopen those, but not open a third: the budget is the item's.
        svc.submit("ada", body(a, [(0, 1)], verdict="correct"))
        with pytest.raises(BadRequest, match="1 more in earlier records") as err:
            svc.submit("ada", body(a, [(0, 0), (0, 2)]))
        assert err.value.field == "attention"
        # A cannot-judge answer is held to the same budget.
        with pytest.raises(BadRequest, match="audit budget"):
            svc.submit("ada", {**body(a, [(0, 3)]), "verdict": None, "confidence": None, "cannot_judge": {"reason": "too_large"}})


def test_without_a_budget_audit_events_are_not_counted(sqlite_url: str) -> None:
    with Store(sqlite_url) as s:
        a = seed(s, None)
        svc = ReviewService(s, prefetch=False)
        assert svc.view("ada", a)["assignment"]["audit_budget_hunks"] is None
        stored, created = svc.submit("ada", body(a, [(0, h) for h in range(N_HUNKS)]))
        assert created and len(audited_hunks(stored["attention"])) == N_HUNKS


def test_simulated_records_carry_an_audit_per_opened_hunk_and_meet_the_same_check(sqlite_url: str) -> None:
    """A simulated rater's record says what it opened the way the panel does (one ``audit`` event
    per hunk opened), so the server's budget check reads it as it reads a real one."""
    import datetime as dt

    import numpy as np

    from oversight_ext.attention import lines_seen
    from oversight_ext.study import RaterParams, SimulatedRaterConfig, judge

    rater = RaterParams(id="sim-001", skill=0.8, trust=0.7, misled=0.3, speed_s=600.0)
    config = SimulatedRaterConfig(item_sd=0.0, time_sd=0.0, inspect_first=1.0, rank_decay=1.0, time_weight=0.0)
    start = dt.datetime(2026, 1, 1, 10, tzinfo=dt.timezone.utc)
    with Store(sqlite_url) as s:
        a_id = seed(s, 2)
        a = s.assignments("aud")[0]
        svc = ReviewService(s, prefetch=False)
        for budget, allowed in ((2, True), (N_HUNKS, False)):
            sim = judge(rater, item(), a, None, np.random.default_rng(budget), config=config, audit_budget=budget, started_at=start,
                        levels=s.study("aud").confidence_levels)  # fmt: skip
            opened = audited_hunks(sim.attention)
            assert opened == set(lines_seen(sim.attention)) and len(opened) == budget  # inspect_first=1: every hunk it may
            events = (sim.attention or {})["events"]
            assert [e[1] for e in events] == ["audit"] * budget and all(0 <= e[0] <= sim.time_on_task_s * 1000 for e in events)
            sent = body(a_id, [], attention=sim.attention, verdict=sim.verdict, confidence=sim.confidence,
                        time_on_task_s=sim.time_on_task_s, started_at=start.isoformat(),
                        submitted_at=sim.submitted_at.isoformat())  # fmt: skip
            if allowed:
                stored, created = svc.submit("ada", sent)
                assert created and audited_hunks(stored["attention"]) == opened
            else:  # opened all four hunks: over the study's budget of two, refused like a real record
                with pytest.raises(BadRequest, match="audit budget is 2"):
                    svc.submit("ada", sent)
