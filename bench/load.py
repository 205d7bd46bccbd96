"""Submit latency under load: many raters through the real review API on PostgreSQL.

    python bench/load.py            # 50 raters x 200 submissions, with a server kill and dropped connections
    python bench/load.py --quick    # 10 raters x 20, no faults
    python bench/load.py --no-faults

Prints p50 / p99 submit latency of the HTTP path (Jupyter server, review service, store)
beside the baseline measured in the same run on the same database: the same number of
judgments handed straight to ``Store.submit`` from as many threads as raters (no HTTP, no
service checks). The ratio is what the API layer costs per submission.
"""

from __future__ import annotations

import argparse
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import sqlalchemy as sa
from figures import save

from oversight_ext.records import Judgment
from oversight_ext.store import Store
from oversight_ext.testing.classserver import ClassServer
from oversight_ext.testing.loadgen import LoadConfig, run_load
from oversight_ext.testing.throwaway import ThrowawayPostgres
from oversight_ext.workshop.practice import practice_study


def drop_connections(url: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    engine.dispose()


def direct(store: Store, study: str, raters: list[str]) -> list[float]:
    """Latency of Store.submit for every assignment of ``raters``, one thread per rater."""

    def one_rater(rater: str) -> list[float]:
        out = []
        for a in store.assignments(study, rater=rater):
            j = Judgment(
                submission_id=str(uuid.uuid4()), assignment_id=a.id, rater=rater, verdict="buggy", confidence=0.8, time_on_task_s=10.0
            )
            start = time.perf_counter()
            store.submit(j)
            out.append(time.perf_counter() - start)
        return out

    with ThreadPoolExecutor(len(raters)) as pool:
        return [t for ts in pool.map(one_rater, raters) for t in ts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 raters x 20 submissions, no faults")
    parser.add_argument("--raters", type=int, default=50, help="concurrent raters (even number)")
    parser.add_argument("--per-rater", type=int, default=200, help="submissions per rater")
    parser.add_argument("--no-faults", action="store_true", help="no server kill, no dropped connections")
    parser.add_argument(
        "--start-timeout", type=float, default=180.0, help="seconds to wait for the Jupyter server to answer (a loaded machine is slow)"
    )
    args = parser.parse_args()
    n_raters, per = (10, 20) if args.quick else (args.raters, args.per_rater)
    faults_on = not (args.quick or args.no_faults)
    with ThrowawayPostgres() as pg:
        url = pg.create_database("bench_load")
        store = Store(url)
        raters = [f"rater-{i:03d}" for i in range(n_raters)]
        baseline = [f"direct-{i:03d}" for i in range(n_raters)]
        for name, who in (("http", raters), ("direct", baseline)):
            practice_study(store, name, raters=who, n_items=per, overlap=n_raters // 2, source="email", seed=1)
        base = np.asarray(direct(store, "direct", baseline)) * 1000
        with ClassServer(url, raters, lab=False, start_timeout=args.start_timeout) as server:
            faults = [(0.3, server.restart), (0.6, lambda: drop_connections(url))] if faults_on else []
            queues = {r: [a.id for a in store.assignments("http", rater=r)] for r in raters}
            result = run_load(server.url, server.tokens, queues, faults=faults, config=LoadConfig(seed=1), progress=True)
        store.engine.dispose()
        stored = len(store.judgments(study="http"))
        store.close()
    s = result.summary()
    p50, p99 = float(np.percentile(base, 50)), float(np.percentile(base, 99))
    print(f"load: {n_raters} raters x {per} submissions, faults {'on (kill+restart, dropped connections)' if faults_on else 'off'}")
    lost, duplicated = max(s["submitted"] - stored, 0), max(stored - s["submitted"], 0)
    server_errors = sum(n for kind, n in s["failures"].items() if kind.startswith("http 5"))
    print(f"  {lost} lost, {duplicated} duplicated, {server_errors} server errors (HTTP 5xx)")
    print(f"  stored {stored} of {s['submitted']}; {s['retries']} retries {s['failures']}; {s['elapsed_s']} s, {s['per_s']} judgments/s")
    print(f"  HTTP submit (API + store)     p50 {s['p50_ms']:8.1f} ms   p99 {s['p99_ms']:8.1f} ms")
    print(f"  baseline Store.submit direct  p50 {p50:8.1f} ms   p99 {p99:8.1f} ms")
    print(f"  ratio HTTP / direct           p50 {s['p50_ms'] / p50:8.1f} x    p99 {s['p99_ms'] / p99:8.1f} x")
    if args.quick:
        print("(--quick: results/load.json left as it was)")
        return
    row = {
        "case": f"{n_raters} raters x {per} submissions through the HTTP API, "
        + ("a server kill and dropped database connections" if faults_on else "no faults"),
        "figure": f"{lost} lost, {duplicated} duplicated, {server_errors} server errors; p99 {s['p99_ms']:.1f} ms",
        "baseline": f"direct Store.submit: p99 {p99:.1f} ms",
        "ratio": f"p99 {s['p99_ms'] / p99:.1f}x",
    }
    print(f"wrote {save('load', command='python bench/load.py', page='store', rows=[row])}")


if __name__ == "__main__":
    main()
