""" "Cannot judge" with a reason: stored append-only in the assignment's chain of revisions (it may
replace a verdict, and a verdict may replace it), left out of every verdict reader, shown as its
own status in the queue, refused naming the field when malformed (service, REST, SQLite and
PostgreSQL), and never used by simulated raters unless configured."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_server import (  # noqa: F401  (api_db, jp_server_config: fixtures jp_fetch uses)
    api_db,
    call,
    jp_server_config,
    payload,
    seed,
)

from oversight_ext.records import CannotJudge, Judgment, RecordError
from oversight_ext.review import ReviewService
from oversight_ext.review.errors import BadRequest
from oversight_ext.store import Store

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def cannot(assignment_id: str, reason: str = "too_large", note: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A cannot-judge payload: no verdict, no confidence."""
    body = payload(assignment_id, cannot_judge={"reason": reason, **({} if note is None else {"note": note})}, **overrides)
    for name in ("verdict", "confidence"):
        if name not in overrides:
            del body[name]
    return body


def test_cannot_judge_takes_its_place_in_the_chain_of_revisions(db_url: str) -> None:
    with Store(db_url) as s:
        ids = seed(s)
        svc = ReviewService(s, prefetch=False)
        alone = ids["alone"].id
        first = cannot(alone, "other", "I do not read this language")
        view, created = svc.submit("alice", first)
        assert created and view["cannot_judge"] == {"reason": "other", "note": "I do not read this language"}
        assert view["verdict"] is None and view["confidence"] is None
        # Verdict readers never see it; asked for, it is the assignment's current record.
        assert s.judgments(rater="alice") == []
        (stored,) = s.judgments(rater="alice", cannot_judge=True)
        assert stored.cannot_judge == CannotJudge("other", "I do not read this language") and stored.condition == ids["alone"].condition
        queue = svc.queue("alice", "s1")
        rows = {r["id"]: r for r in queue["assignments"]}
        assert rows[alone]["status"] == "cannot_judge" and rows[alone]["done"] is True
        assert rows[ids["helped"].id]["status"] == "open" and queue["done"] == 1
        assert svc.next("alice", "s1") == {"assignment_id": ids["helped"].id}
        assert svc.view("alice", alone)["judgment"]["submission_id"] == first["submission_id"]

        # A verdict replaces it (supersedes defaults to it) ...
        verdict, _ = svc.submit("alice", payload(alone, verdict="correct"))
        assert verdict["supersedes"] == first["submission_id"]
        assert [j.verdict for j in s.judgments(rater="alice")] == ["correct"]
        assert {r["id"]: r["status"] for r in svc.queue("alice", "s1")["assignments"]}[alone] == "judged"
        # ... and a second cannot-judge replaces the verdict: no current verdict is left.
        again, _ = svc.submit("alice", cannot(alone, "broken"))
        assert again["supersedes"] == verdict["submission_id"]
        assert s.judgments(rater="alice") == []
        assert [j.cannot_judge.reason for j in s.judgments(rater="alice", cannot_judge=True) if j.cannot_judge] == ["broken"]
        assert len(s.judgments(rater="alice", current=False, cannot_judge=True)) == 3
        frame = s.judgments_frame(study="s1", cannot_judge=True)
        assert frame.filter(frame["verdict"].is_null())["cannot_judge"].to_list() == [{"reason": "broken", "note": ""}]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (lambda a: cannot(a, "bored"), "cannot_judge", "outside_expertise"),
        (lambda a: cannot(a, "other"), "cannot_judge", "note"),
        (lambda a: cannot(a, "other", "   "), "cannot_judge", "note"),
        (lambda a: cannot(a, verdict="buggy"), "verdict", "no verdict"),
        (lambda a: cannot(a, confidence=0.65), "confidence", "no verdict"),
        (lambda a: cannot(a, likert=4), "likert", "null"),
        (lambda a: cannot(a, note="x" * 2001), "cannot_judge", "too long"),
        (lambda a: {k: v for k, v in payload(a).items() if k != "verdict"}, "verdict", "cannot_judge"),
    ],
)
def test_a_malformed_cannot_judge_is_refused_naming_the_field(sqlite_url: str, body: Any, field: str, words: str) -> None:
    with Store(sqlite_url) as s:
        ids = seed(s)
        svc = ReviewService(s, prefetch=False)
        with pytest.raises(BadRequest) as err:
            svc.submit("alice", body(ids["alone"].id))
        assert err.value.field == field and words in str(err.value), str(err.value)
        assert s.judgments(rater="alice", current=False, cannot_judge=True) == []


def test_the_record_refuses_a_verdict_beside_a_reason() -> None:
    base = {"submission_id": "x", "assignment_id": "a", "rater": "r", "time_on_task_s": 1.0}
    with pytest.raises(RecordError, match="verdict"):
        Judgment(**base, verdict="buggy", confidence=None, cannot_judge=CannotJudge("broken"))
    with pytest.raises(RecordError, match="verdict"):
        Judgment(**base, verdict=None, confidence=None)
    with pytest.raises(RecordError, match="note"):
        CannotJudge("other")
    assert Judgment(**base, verdict=None, confidence=None, cannot_judge={"reason": "broken"}).is_cannot_judge  # type: ignore[arg-type]


@pytest.mark.parametrize("api_db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_rest_stores_a_cannot_judge_and_answers_a_bad_one_with_a_400(jp_fetch: Any, api_db: dict[str, Any]) -> None:  # noqa: F811
    alone = api_db["alone"].id
    code, text = await call(jp_fetch, "judgments", body=cannot(alone, "nope"))
    assert code == 400 and json.loads(text)["field"] == "cannot_judge", text
    good = cannot(alone, "outside_expertise")
    code, text = await call(jp_fetch, "judgments", body=good)
    assert code == 201 and json.loads(text)["judgment"]["cannot_judge"] == {"reason": "outside_expertise", "note": ""}
    code, text = await call(jp_fetch, "studies", "s1", "queue")
    status = {r["id"]: r["status"] for r in json.loads(text)["assignments"]}
    assert status[alone] == "cannot_judge"
    code, text = await call(jp_fetch, "assignments", alone)
    assert json.loads(text)["judgment"]["cannot_judge"]["reason"] == "outside_expertise"
    with Store(api_db["url"]) as s:
        assert s.judgments(rater="alice") == []
        assert [j.submission_id for j in s.judgments(rater="alice", cannot_judge=True)] == [good["submission_id"]]


def test_migration_0006_keeps_judgments_stored_before_it(db_url: str) -> None:
    """A database at 0005 with a verdict upgrades to 0006: the verdict reads back unchanged, and a
    cannot-judge record can then replace it (SQLite copies the table to relax the columns)."""
    import datetime as dt

    import sqlalchemy as sa

    from oversight_ext.store import db

    engine = db.make_engine(db.resolve_url(db_url))
    db.upgrade(engine, "0005")
    old = Store(db_url, migrate=False)
    ids = _seed_without_judgments(old)
    now = dt.datetime(2026, 1, 1, 10, tzinfo=dt.timezone.utc)
    row = {
        "submission_id": "before-0006",
        "assignment_id": ids["alone"].id,
        "rater": "alice",
        "study": "s1",
        "item_id": ids["alone"].item_id,
        "condition": ids["alone"].condition,
        "verdict": "buggy",
        "confidence": 0.65,
        "time_on_task_s": 3.0,
        "likert": None,
        "comment": "",
        "flags": [],
        "dispositions": [],
        "supersedes": None,
        "simulated": False,
        "started_at": now,
        "submitted_at": now,
        "received_at": now,
    }
    cols = ", ".join(row)
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"INSERT INTO judgments ({cols}) VALUES ({', '.join(':' + c for c in row)})").bindparams(
                sa.bindparam("flags", type_=sa.JSON), sa.bindparam("dispositions", type_=sa.JSON)
            ),
            row,
        )
    old.close()
    engine.dispose()
    with Store(db_url) as s:
        (kept,) = s.judgments(rater="alice")
        assert (kept.submission_id, kept.verdict, kept.confidence, kept.cannot_judge) == ("before-0006", "buggy", 0.65, None)
        svc = ReviewService(s, prefetch=False)
        replaced, _ = svc.submit("alice", cannot(ids["alone"].id, "broken"))
        assert replaced["supersedes"] == "before-0006" and s.judgments(rater="alice") == []


def _seed_without_judgments(store: Store) -> dict[str, Any]:
    """test_server's study, less bob's judgment (its insert needs the newest schema)."""
    original = store.submit
    store.submit = lambda j: (j, True)  # type: ignore[method-assign,assignment,return-value]
    try:
        return seed(store)
    finally:
        store.submit = original  # type: ignore[method-assign]
