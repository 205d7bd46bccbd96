"""Judgment submissions per second and p50/p99 latency for 1, 8 and 50 concurrent writers,
on a SQLite file and on a throwaway PostgreSQL, beside a raw-driver baseline.

Each writer is a separate process submitting judgments through ``Store.submit`` (validation,
assignment lookup, idempotent append). The baseline, run in the same process layout right
after, is one bare ``INSERT`` per submission through the DB driver with no checks: the ratio
says what the store's guarantees cost. Target: p99 < 50 ms at 50 writers.

    python bench/store.py            # 1, 8, 50 writers x 100 submissions
    python bench/store.py --quick    # 1, 8 writers x 30 submissions
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from oversight_ext.records import Assignment, Item, Judgment
from oversight_ext.store import Store
from oversight_ext.store.throwaway import ThrowawayPostgres

DIFF = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def prepare(url: str, writers: int, per_writer: int, tag: str) -> None:
    store = Store(url)
    store.add_items([Item(id=f"i{k}", diff=DIFF, path="x.py") for k in range(per_writer)])
    asg = [
        Assignment(id=f"{tag}-w{w}-{k}", study=tag, rater=f"w{w}", item_id=f"i{k}", condition="unassisted", position=k)
        for w in range(writers)
        for k in range(per_writer)
    ]
    store.create_study(tag, {}, asg, seed=0, code_version="bench")
    store.close()


def store_writer(url: str, w: int, per_writer: int, tag: str, barrier: mp.synchronize.Barrier, out: mp.Queue) -> None:
    store = Store(url, migrate=False)
    lat = []
    barrier.wait()
    for k in range(per_writer):
        j = Judgment(
            submission_id=f"{tag}-w{w}-{k}",
            assignment_id=f"{tag}-w{w}-{k}",
            rater=f"w{w}",
            verdict="buggy",
            confidence=0.6,
            time_on_task_s=9.0,
        )
        t = time.perf_counter()
        store.submit(j)
        lat.append(time.perf_counter() - t)
    out.put(lat)


def raw_writer(url: str, w: int, per_writer: int, tag: str, barrier: mp.synchronize.Barrier, out: mp.Queue) -> None:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], timeout=60, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=60000")
        sql, ph = "INSERT INTO raw (sid, payload) VALUES (?, ?)", None
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)  # type: ignore[assignment]
        sql, ph = "INSERT INTO raw (sid, payload) VALUES (%s, %s)", None
    del ph
    lat = []
    barrier.wait()
    for k in range(per_writer):
        t = time.perf_counter()
        conn.execute(sql, (f"{tag}-w{w}-{k}", "buggy"))
        lat.append(time.perf_counter() - t)
    out.put(lat)


def run(target, url: str, writers: int, per_writer: int, tag: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(writers + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, w, per_writer, tag, barrier, out)) for w in range(writers)]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    lat = np.concatenate([out.get(timeout=900) for _ in procs])
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    return {"per_s": lat.size / wall, "p50_ms": 1e3 * float(np.percentile(lat, 50)), "p99_ms": 1e3 * float(np.percentile(lat, 99))}


def make_raw_table(url: str) -> None:
    import sqlalchemy as sa

    engine = Store(url).engine
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS raw (sid VARCHAR(128) PRIMARY KEY, payload VARCHAR(16))")
    engine.dispose()
    del sa


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer writers and submissions")
    ap.add_argument("--writers", type=int, nargs="*", default=None, help="writer counts (default 1 8 50)")
    ap.add_argument("--per-writer", type=int, default=None, help="submissions per writer (default 100; 30 with --quick)")
    args = ap.parse_args()
    writer_counts = args.writers or ([1, 8] if args.quick else [1, 8, 50])
    per = args.per_writer or (30 if args.quick else 100)

    tmp = Path(tempfile.mkdtemp(prefix="oversight-bench-"))
    pg = ThrowawayPostgres().start()
    try:
        print(
            f"{'backend':<10} {'writers':>7} | {'store/s':>9} {'p50 ms':>8} {'p99 ms':>8} | {'raw/s':>9} {'p50 ms':>8} {'p99 ms':>8} | p99 ratio"
        )
        for backend in ("sqlite", "postgres"):
            for n in writer_counts:
                tag = f"b{n}"
                url = f"sqlite:///{tmp / f'{backend}-{n}.db'}" if backend == "sqlite" else pg.create_database(f"bench_{n}")
                prepare(url, n, per, tag)
                make_raw_table(url)
                s = run(store_writer, url, n, per, tag)
                r = run(raw_writer, url, n, per, tag)
                flag = "" if n < 50 else ("  (target p99 < 50 ms: met)" if s["p99_ms"] < 50 else "  (target p99 < 50 ms: MISSED)")
                print(
                    f"{backend:<10} {n:>7} | {s['per_s']:>9.0f} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} | "
                    f"{r['per_s']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} | {s['p99_ms'] / r['p99_ms']:>6.1f}x{flag}"
                )
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
