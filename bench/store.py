"""Judgment submissions per second and p50/p99 latency for 1, 8 and 50 concurrent writers,
on a SQLite file and on a throwaway PostgreSQL, beside a raw-driver baseline.

Each writer is a separate process submitting judgments through ``Store.submit`` (validation,
assignment lookup, idempotent append). The baseline, run in the same process layout right
after, is one bare ``INSERT`` per submission through the DB driver with no checks: the ratio
says what the store's guarantees cost. Target: p99 < 50 ms at 50 writers.

Every writer opens its connection before the clock starts (the store's writers make one
unrecorded warm-up submission, which also compiles the statement), so both sides are measured
in their steady state. Two loads, both printed:

* ``paced``: every writer submits on a fixed schedule (``--rate`` per second each, start
  offsets spread at random) and latency is measured from the moment a submission was due,
  so a writer that falls behind counts its queueing (no coordinated omission). 50 writers at
  5/s is 250 submissions a second, far above any rater (one judgment per diff, minutes each).
  This is the load the p99 target is judged on.
* ``saturated``: every writer submits back to back with no pause. This gives the store's
  throughput. Its latency mostly measures the machine: with 50 busy processes on 2 cores, a
  submission that is preempted waits for the others' time slices, so p99 grows with the
  CPU a submission needs even when the database is idle (compare the raw driver's p99).

    python bench/store.py            # 1, 8, 50 writers x 100 submissions, both loads
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
from figures import save

from oversight_ext.records import Assignment, Item, Judgment
from oversight_ext.store import Store
from oversight_ext.testing.throwaway import ThrowawayPostgres

DIFF = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def prepare(url: str, writers: int, per_writer: int, tag: str) -> None:
    store = Store(url)
    store.add_items([Item(id=f"i{k}", diff=DIFF, path="x.py") for k in range(-1, per_writer)])
    # One extra assignment per writer (k = -1) takes the unrecorded warm-up submission.
    asg = [
        Assignment(id=f"{tag}-w{w}-{k}", study=tag, rater=f"w{w}", item_id=f"i{k}", condition="unassisted", position=k + 1)
        for w in range(writers)
        for k in range(-1, per_writer)
    ]
    store.create_study(tag, {}, asg, seed=0, code_version="bench")
    store.close()


def schedule(w: int, per_writer: int, rate: float) -> np.ndarray:
    """Due times (seconds after the start) of one writer's submissions; empty when saturated."""
    if not rate:
        return np.zeros(0)
    offset = np.random.default_rng(w).uniform(0, 1 / rate)
    return offset + np.arange(per_writer) / rate


def pace(start: float, due: np.ndarray, k: int) -> float:
    """Sleep until submission ``k`` is due; return the time latency is measured from."""
    if due.size == 0:
        return time.perf_counter()
    when = start + due[k]
    delay = when - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    return when


def store_writer(url: str, w: int, per_writer: int, tag: str, rate: float, barrier: mp.synchronize.Barrier, out: mp.Queue) -> None:
    store = Store(url, migrate=False)
    lat = []
    due = schedule(w, per_writer, rate)
    for k in range(-1, per_writer):
        if k == 0:
            barrier.wait()
            start = time.perf_counter()
        j = Judgment(
            submission_id=f"{tag}-w{w}-{k}",
            assignment_id=f"{tag}-w{w}-{k}",
            rater=f"w{w}",
            verdict="buggy",
            confidence=0.6,
            time_on_task_s=9.0,
        )
        if k < 0:  # warm-up: opens the connection and compiles the statement, off the clock
            store.submit(j)
            continue
        t = pace(start, due, k)
        store.submit(j)
        lat.append(time.perf_counter() - t)
    out.put(lat)


def raw_writer(url: str, w: int, per_writer: int, tag: str, rate: float, barrier: mp.synchronize.Barrier, out: mp.Queue) -> None:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], timeout=60, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=60000")
        conn.execute("PRAGMA synchronous=NORMAL")  # the store's durability setting
        sql, ph = "INSERT INTO raw (sid, payload) VALUES (?, ?)", None
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)  # type: ignore[assignment]
        sql, ph = "INSERT INTO raw (sid, payload) VALUES (%s, %s)", None
    del ph
    lat = []
    due = schedule(w, per_writer, rate)
    barrier.wait()
    start = time.perf_counter()
    for k in range(per_writer):
        t = pace(start, due, k)
        conn.execute(sql, (f"{tag}-w{w}-{k}", "buggy"))
        lat.append(time.perf_counter() - t)
    out.put(lat)


def run(target, url: str, writers: int, per_writer: int, tag: str, rate: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(writers + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, w, per_writer, tag, rate, barrier, out)) for w in range(writers)]
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
    ap.add_argument("--rate", type=float, default=5.0, help="submissions per second per writer under the paced load (default 5)")
    ap.add_argument("--load", choices=["paced", "saturated", "both"], default="both", help="which load to run (default both)")
    args = ap.parse_args()
    if args.rate <= 0:
        ap.error(f"--rate must be positive, got {args.rate}")
    writer_counts = args.writers or ([1, 8] if args.quick else [1, 8, 50])
    per = args.per_writer or (30 if args.quick else 100)
    loads = {"paced": args.rate, "saturated": 0.0}
    if args.load != "both":
        loads = {args.load: loads[args.load]}

    tmp = Path(tempfile.mkdtemp(prefix="oversight-bench-"))
    pg = ThrowawayPostgres().start()
    rows: list[dict[str, str]] = []
    try:
        print(f"paced: {args.rate:g} submissions/s per writer, latency from the due time; saturated: back to back")
        print(
            f"{'backend':<10} {'load':<9} {'writers':>7} | {'store/s':>9} {'p50 ms':>8} {'p99 ms':>8} | "
            f"{'raw/s':>9} {'p50 ms':>8} {'p99 ms':>8} | p99 ratio"
        )
        for backend in ("sqlite", "postgres"):
            for load, rate in loads.items():
                for n in writer_counts:
                    tag = f"{load[0]}{n}"
                    url = f"sqlite:///{tmp / f'{backend}-{tag}.db'}" if backend == "sqlite" else pg.create_database(f"bench_{tag}")
                    prepare(url, n, per, tag)
                    make_raw_table(url)
                    s = run(store_writer, url, n, per, tag, rate)
                    r = run(raw_writer, url, n, per, tag, rate)
                    flag = ""
                    if n >= 50 and load == "paced":
                        flag = "  (target p99 < 50 ms: " + ("met)" if s["p99_ms"] < 50 else "MISSED)")
                    print(
                        f"{backend:<10} {load:<9} {n:>7} | {s['per_s']:>9.0f} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} | "
                        f"{r['per_s']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} | {s['p99_ms'] / r['p99_ms']:>6.1f}x{flag}",
                        flush=True,
                    )
                    rows.append(
                        {
                            "case": f"{backend}, {load}, {n} writers",
                            "figure": f"{s['per_s']:,.0f}/s, p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms",
                            "baseline": f"raw INSERT: {r['per_s']:,.0f}/s, p99 {r['p99_ms']:.1f} ms",
                            "ratio": f"p99 {s['p99_ms'] / r['p99_ms']:.1f}x",
                        }
                    )
    finally:
        pg.stop()
    if args.quick:
        print("(--quick: results/store.json left as it was)")
        return
    biggest = [i for i, row in enumerate(rows) if row["case"].startswith("sqlite, paced")]
    path = save(
        "store",
        command="python bench/store.py",
        page="store",
        rows=rows,
        headline=biggest[-1] if biggest else 0,
        conditions=f"paced: {args.rate:g} submissions/s per writer, latency from the due time; saturated: back to back; "
        f"{per} submissions per writer",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
