"""Server-side time on task: the server records when it first sent each assignment and when
the judgment arrived; the analysis trusts that window and flags browser times it contradicts."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import sqlalchemy as sa
from test_server import payload, seed

from oversight_ext.analysis import study_frame
from oversight_ext.review import ReviewService
from oversight_ext.store import Store
from oversight_ext.store import schema as tables


def test_first_sent_is_kept_and_the_frame_trusts_the_server(store: Store) -> None:
    ids: dict[str, Any] = seed(store)  # bob's unassisted judgment was stored without a view
    svc = ReviewService(store, prefetch=False)
    before = dt.datetime.now(dt.timezone.utc)
    svc.view("alice", ids["alone"].id)
    first = store.first_sent("s1")[ids["alone"].id]
    time.sleep(1.2)
    svc.view("alice", ids["alone"].id)  # reopening does not restart the clock
    assert store.first_sent("s1") == {ids["alone"].id: first} and before <= first <= dt.datetime.now(dt.timezone.utc)
    # The browser claims 31.5 s on an item the server sent about a second ago.
    svc.submit("alice", payload(ids["alone"].id, started_at=None, submitted_at=None))
    # ... and a judgment of an assignment the server never sent (a hand-made POST).
    svc.submit("alice", payload(ids["helped"].id, flags=[], started_at=None, submitted_at=None))
    frame = study_frame(store, "s1")
    rows = {r["assignment_id"]: r for r in frame.iter_rows(named=True)}
    alone, helped, bob = rows[ids["alone"].id], rows[ids["helped"].id], rows[ids["bob_alone"].id]
    assert alone["client_time_s"] == 31.5 and alone["time_flag"] == "longer_than_sent"
    assert 1.2 <= alone["time_on_task_s"] < 31.5
    with store.engine.connect() as conn:
        received = conn.execute(sa.select(tables.judgments.c.received_at).where(tables.judgments.c.rater == "alice")).scalars().all()
    assert len(received) == 2
    assert helped["time_flag"] == "never_sent" and helped["time_on_task_s"] is None and helped["client_time_s"] == 31.5
    assert bob["time_flag"] == "never_sent" and bob["time_on_task_s"] is None and bob["client_time_s"] == 12.0


def test_a_study_the_server_never_sent_keeps_browser_times_unflagged(store: Store) -> None:
    # Older databases and judgments stored directly (simulations): nothing to compare against.
    ids = seed(store)
    frame = study_frame(store, "s1")
    assert frame["time_flag"].to_list() == [None] and frame["time_on_task_s"].to_list() == [12.0]
    assert store.first_sent("s1") == {} and ids["bob_alone"].id in frame["assignment_id"].to_list()
