"""50 raters x 200 submissions through the real review API on PostgreSQL, through faults.

The Jupyter server is killed (SIGKILL) and restarted, and every database connection is
dropped (``pg_terminate_backend``) twice, while the raters submit. The clients' offline
queues retry with the same submission ids; afterwards the database must hold each
submission exactly once: 0 lost, 0 duplicated. The counts are printed (``pytest -s``).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from oversight_ext.store import Store
from oversight_ext.testing.classserver import ClassServer
from oversight_ext.testing.loadgen import LoadConfig, run_load
from oversight_ext.workshop.practice import practice_study

N_RATERS = 50
#: CI runs the full 200; a developer may shorten a local run.
PER_RATER = int(os.environ.get("OVERSIGHT_LOAD_PER_RATER", "200"))


def drop_connections(url: str) -> int:
    """Terminate every other session on the database; returns how many were dropped."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            sql = "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            return int(conn.exec_driver_sql(sql).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_no_judgment_lost_or_duplicated_through_faults(pg_cluster: Any) -> None:
    url = pg_cluster.create_database(f"load_{uuid.uuid4().hex[:8]}")
    store = Store(url)
    raters = [f"rater-{i:02d}" for i in range(N_RATERS)]
    # Within-subject, 2 conditions: each rater gets n_items x 2 x overlap / raters assignments.
    practice_study(store, "load", raters=raters, n_items=PER_RATER, overlap=N_RATERS // 2, source="email", seed=4)
    queues = {r: [a.id for a in store.assignments("load", rater=r)] for r in raters}
    assert all(len(q) == PER_RATER for q in queues.values())

    server = ClassServer(url, raters, lab=False).start()
    dropped: list[int] = []
    faults = [
        (0.30, server.restart),  # SIGKILL mid-stream, then a fresh server on the same port
        (0.55, lambda: dropped.append(drop_connections(url))),
        (0.80, lambda: dropped.append(drop_connections(url))),
    ]
    try:
        result = run_load(server.url, server.tokens, queues, faults=faults, config=LoadConfig(seed=4))
    finally:
        server.stop()

    j = sa.table("judgments", sa.column("submission_id"), sa.column("assignment_id"), sa.column("rater"), sa.column("study"))
    store.engine.dispose()  # its pooled connections were dropped with everyone else's
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(j.c.submission_id, j.c.assignment_id, j.c.rater).where(j.c.study == "load")).all()
    store.close()
    stored = {r.submission_id: (r.rater, r.assignment_id) for r in rows}
    lost = set(result.submitted) - set(stored)
    per_assignment: dict[str, int] = {}
    for r in rows:
        per_assignment[r.assignment_id] = per_assignment.get(r.assignment_id, 0) + 1
    duplicated = sum(n - 1 for n in per_assignment.values() if n > 1)
    wrong_identity = [s for s, who in result.submitted.items() if s in stored and stored[s] != who]
    print(
        f"\nload+faults: {len(result.submitted)} submitted, {len(rows)} stored, {len(lost)} lost, {duplicated} duplicated; "
        f"{result.created} created + {result.resent} acknowledged as already stored; {result.retries} retries "
        f"{result.failures}; connections dropped {dropped}; p50 {result.percentile_ms(50):.0f} ms, "
        f"p99 {result.percentile_ms(99):.0f} ms, {result.elapsed_s:.0f} s"
    )
    assert len(result.submitted) == N_RATERS * PER_RATER
    assert not result.unacknowledged
    assert not lost and duplicated == 0 and not wrong_identity
    assert len(rows) == N_RATERS * PER_RATER
    assert result.retries > 0 and dropped and dropped[0] > 0  # the faults really happened
