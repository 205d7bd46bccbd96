"""The store against a real SQLite file and a real PostgreSQL: round trips, append-only
judgments, idempotent resubmission, clear refusals, and concurrent writers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from oversight_ext.records import Assignment, Comment, Critique, Item, Judgment, LineFlag, RecordError
from oversight_ext.store import Conflict, Store, UnknownRecord, resolve_url
from oversight_ext.store.schema import metadata

DIFF = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def item(i: int | str, **kw: object) -> Item:
    return Item(id=f"i{i}", diff=DIFF, path="x.py", before="x = 1\n", after="x = 2\n", label="buggy", bug_lines=(1,), **kw)  # type: ignore[arg-type]


def study(store: Store, n_items: int = 3, raters: tuple[str, ...] = ("alice", "bob")) -> list[Assignment]:
    store.add_items([item(i) for i in range(n_items)])
    asg = [
        Assignment(id=f"{r}-{i}", study="s", rater=r, item_id=f"i{i}", condition="unassisted", position=i)
        for r in raters
        for i in range(n_items)
    ]
    store.create_study("s", {"conditions": ["unassisted"]}, asg, seed=7, code_version="test")
    return asg


def judgment(sid: str, asg: str = "alice-0", rater: str = "alice", **kw: object) -> Judgment:
    base: dict[str, object] = dict(submission_id=sid, assignment_id=asg, rater=rater, verdict="buggy", confidence=0.8, time_on_task_s=12.5)
    base.update(kw)
    return Judgment(**base)  # type: ignore[arg-type]


def test_migrations_match_the_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OVERSIGHT_DB", raising=False)
    assert resolve_url(None) == "sqlite:///oversight.db"
    assert resolve_url("x/y.db") == "sqlite:///x/y.db"
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("OVERSIGHT_DB", "sqlite:///env.db")
    assert resolve_url(None) == "sqlite:///env.db"


def test_sqlite_uses_wal(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_items_conflicts(store: Store) -> None:
    assert store.add_items([item(1)]) == (1, 0)
    assert store.add_items([item(1)]) == (0, 1)
    changed = item(1, spec="new statement")
    with pytest.raises(Conflict, match="different content"):
        store.add_items([changed, item(2)])
    assert store.count("items") == 1  # the batch stored nothing
    assert store.add_items([changed], replace=True) == (1, 0)
    assert store.get_item("i1").spec == "new statement"
    with pytest.raises(UnknownRecord, match="no item with id 'nope'"):
        store.get_item("nope")


def test_judgments_are_append_only(store: Store) -> None:
    study(store)
    first, created = store.submit(judgment("j1", flags=[LineFlag("x.py", 1, "wrong constant")]))
    assert created and first.study == "s" and first.item_id == "i0" and first.condition == "unassisted"
    assert first.received_at is not None
    again, created = store.submit(judgment("j1", verdict="correct"))  # a retry: the stored row wins
    assert not created and again.verdict == "buggy"
    _fix, created = store.submit(judgment("j2", verdict="correct", supersedes="j1"))
    assert created
    assert [j.submission_id for j in store.judgments()] == ["j2"]
    assert [j.submission_id for j in store.judgments(current=False)] == ["j1", "j2"]
    frame = store.judgments_frame(current=False)
    assert frame.height == 2 and frame["flags"][0][0]["comment"] == "wrong constant"
    with pytest.raises(Conflict, match="has judgments; it cannot be replaced"):
        store.add_items([item(0, spec="changed gold")], replace=True)


def test_judgment_refusals_keep_stored_rows(store: Store) -> None:
    study(store)
    store.submit(judgment("ok"))
    with pytest.raises(UnknownRecord, match="unknown assignment 'ghost'"):
        store.submit(judgment("j", asg="ghost"))
    with pytest.raises(RecordError, match="belongs to another rater"):
        store.submit(judgment("j", asg="bob-0"))
    with pytest.raises(RecordError, match="same assignment"):
        store.submit(judgment("j", asg="alice-1", supersedes="ok"))
    with pytest.raises(RecordError, match="five levels"):
        store.submit(Judgment.from_dict({**judgment("j").to_dict(), "confidence": 7}))
    assert [j.submission_id for j in store.judgments()] == ["ok"]


def test_studies_and_critiques(store: Store) -> None:
    asg = study(store)
    with pytest.raises(Conflict, match="already exists"):
        store.create_study("s", {}, [], seed=1, code_version="t")
    with pytest.raises(UnknownRecord, match="unknown item 'i99'"):
        store.create_study("t", {}, [Assignment(id="z", study="t", rater="r", item_id="i99", condition="c")], seed=1, code_version="t")
    assert store.study_names() == ["s"]
    assert store.study("s")["seed"] == 7
    assert store.assignments_frame("s").height == len(asg)
    crit = Critique(
        id="c1",
        item_id="i0",
        assistant="lint",
        spec_hash="abc",
        comments=(Comment(id="k", path="x.py", start_line=1, end_line=1, text="x is 2"),),
    )
    assert store.add_critiques([crit]) == 1
    assert store.add_critiques([crit]) == 0
    assert store.find_critique("i0", "abc") == crit
    assert store.find_critique("i0", "other") is None
    with pytest.raises(UnknownRecord, match="unknown item"):
        store.add_critiques([Critique(id="c2", item_id="nope", assistant="lint")])
    store.add_rater("sim-1", kind="simulated")
    with pytest.raises(Conflict, match="cannot change between human and simulated"):
        store.add_rater("sim-1", kind="human")


WORKER = textwrap.dedent(
    """
    import sys
    from oversight_ext.records import Judgment
    from oversight_ext.store import Store
    url, rater, proc = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = Store(url)
    created = 0
    for k in range(200):
        slot = (k * 7 + proc) % 160  # 160 distinct submissions, 40 resubmitted, order differs by process
        j = Judgment(submission_id=f"{rater}-{slot}", assignment_id=f"{rater}-{slot}", rater=rater,
                     verdict="buggy", confidence=0.6, time_on_task_s=1.0)
        created += store.submit(j)[1]
    print(created)
    """
)


@pytest.mark.slow
def test_concurrent_writers_store_exactly_the_distinct_submissions(db_url: str) -> None:
    raters = [f"r{i}" for i in range(4)]
    store = Store(db_url)
    study(store, n_items=160, raters=tuple(raters))
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, db_url, raters[p % 4], str(p)], stdout=subprocess.PIPE, text=True)
        for p in range(8)  # two processes per rater race on the same submission ids
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(int(o) for o in outs) == 4 * 160
    assert store.count("judgments") == 4 * 160
    with store.engine.connect() as conn:
        distinct = conn.execute(sa.text("SELECT count(DISTINCT submission_id) FROM judgments")).scalar_one()
    assert distinct == 4 * 160


@pytest.mark.postgres
def test_submit_survives_a_dropped_connection(pg_url: str) -> None:
    store = Store(pg_url)
    study(store)
    store.submit(judgment("before"))
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()"
        ).scalar_one()
    admin.dispose()
    assert killed >= 1
    _, created = store.submit(judgment("after", asg="alice-1"))
    assert created
    assert [j.submission_id for j in store.judgments()] == ["before", "after"]


def test_study_state(store: Store) -> None:
    study(store)
    assert store.get_state("s", "reveal", False) is False
    store.set_state("s", "reveal", True, by="owner")
    store.set_state("s", "reveal", {"at": 3}, by="owner")
    assert store.get_state("s", "reveal") == {"at": 3}
    with pytest.raises(UnknownRecord, match="no study named 'nope'"):
        store.set_state("nope", "reveal", True)
