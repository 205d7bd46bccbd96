"""Many simulated raters submitting through the real review API, each with an offline queue.

Each rater behaves like the front end: a judgment first goes into the rater's offline queue
with a fresh ``submission_id``, and the queue is drained in order; a request that fails (the
server is down, the database dropped the connection, a timeout) is retried with the *same*
id after a short back-off, so the server stores it once whatever happened to the earlier
try. ``run_load`` drives all raters at once on one asyncio loop (threads of 50 processes
would cost far more than the server on a 2-core machine) and calls the caller's fault
injections when a given share of the submissions has been acknowledged.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
from tqdm.auto import tqdm

from oversight_ext.options import check_fields, option
from oversight_ext.submission import BINARY_LEVELS

__all__ = ["LoadConfig", "LoadResult", "run_load"]


@dataclass(frozen=True)
class LoadConfig:
    """How hard and how patiently the simulated raters submit."""

    request_timeout_s: float = option("seconds before a submission try is abandoned and retried", 30.0)
    backoff_s: float = option("first wait after a failed try; doubles up to max_backoff_s", 0.1)
    max_backoff_s: float = option("longest wait between tries", 2.0)
    give_up_s: float = option("a rater whose queue makes no progress this long stops (the run then reports it)", 300.0)
    seed: int = option("seed of the verdicts and confidences the raters choose", 0)
    confidence_levels: tuple[float, ...] = option("the study's confidence levels, which the raters choose from", BINARY_LEVELS)

    def __post_init__(self) -> None:
        check_fields(
            self, ("request_timeout_s", "backoff_s", "max_backoff_s", "give_up_s"), "positive", fix="give a positive number of seconds"
        )


@dataclass
class LoadResult:
    """What happened: per-submission outcome and latency, and the client-side counts."""

    submitted: dict[str, tuple[str, str]] = field(default_factory=dict)  # submission_id -> (rater, assignment_id)
    acknowledged: set[str] = field(default_factory=set)
    created: int = 0  # answers 201: stored by this try
    resent: int = 0  # answers 200: an earlier try had stored it
    retries: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # kind of failed try -> count
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def unacknowledged(self) -> set[str]:
        return set(self.submitted) - self.acknowledged

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(np.asarray(self.latencies_s) * 1000, q)) if self.latencies_s else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "submitted": len(self.submitted),
            "acknowledged": len(self.acknowledged),
            "created": self.created,
            "resent": self.resent,
            "retries": self.retries,
            "failures": dict(self.failures),
            "p50_ms": round(self.percentile_ms(50), 1),
            "p99_ms": round(self.percentile_ms(99), 1),
            "elapsed_s": round(self.elapsed_s, 1),
            "per_s": round(len(self.acknowledged) / self.elapsed_s, 1) if self.elapsed_s else 0.0,
        }


async def _rater(
    client: httpx.AsyncClient,
    rater: str,
    assignments: Sequence[str],
    result: LoadResult,
    config: LoadConfig,
    rng: np.random.Generator,
    tick: Callable[[], None],
) -> None:
    # The offline queue: every judgment is queued first, then delivered in order.
    queue: deque[dict[str, Any]] = deque()
    for aid in assignments:
        sid = str(uuid.UUID(bytes=rng.bytes(16), version=4))
        payload: dict[str, Any] = {
            "submission_id": sid,
            "assignment_id": aid,
            "verdict": "buggy" if rng.random() < 0.5 else "correct",
            "confidence": float(rng.choice(config.confidence_levels)),
            "time_on_task_s": float(rng.uniform(5, 120)),
        }
        result.submitted[sid] = (rater, aid)
        queue.append(payload)
    backoff, stalled_since = config.backoff_s, time.monotonic()
    while queue:
        payload = queue[0]
        start = time.perf_counter()
        try:
            r = await client.post("/oversight/api/judgments", json=payload)
            kind = None if r.status_code in (200, 201) else f"http {r.status_code}"
        except httpx.HTTPError as exc:
            kind = type(exc).__name__
        if kind is None:
            result.latencies_s.append(time.perf_counter() - start)
            result.acknowledged.add(payload["submission_id"])
            if r.status_code == 201:
                result.created += 1
            else:
                result.resent += 1
            queue.popleft()
            backoff, stalled_since = config.backoff_s, time.monotonic()
            tick()
            continue
        result.failures[kind] = result.failures.get(kind, 0) + 1
        if kind.startswith("http 4"):
            # A refusal (not a fault) will not change on retry: the run reports it as lost.
            queue.popleft()
            continue
        if time.monotonic() - stalled_since > config.give_up_s:
            return
        result.retries += 1
        await asyncio.sleep(backoff * (0.5 + rng.random()))
        backoff = min(backoff * 2, config.max_backoff_s)


async def _run(
    base_url: str,
    tokens: Mapping[str, str],
    queues: Mapping[str, Sequence[str]],
    config: LoadConfig,
    faults: Sequence[tuple[float, Callable[[], Any]]],
    progress: bool,
) -> LoadResult:
    result = LoadResult()
    total = sum(len(q) for q in queues.values())
    pending = sorted(faults, key=lambda f: f[0])
    fault_tasks: list[asyncio.Future[Any]] = []
    loop = asyncio.get_running_loop()
    bar = tqdm(total=total, desc="submitting", unit="judgment", disable=not progress)

    def tick() -> None:
        bar.update(1)
        while pending and len(result.acknowledged) >= pending[0][0] * total:
            _, fault = pending.pop(0)
            # Faults block (a server restart takes seconds): run them beside the raters.
            fault_tasks.append(loop.run_in_executor(None, fault))

    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    clients = {
        r: httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"token {tokens[r]}"}, timeout=config.request_timeout_s, limits=limits
        )
        for r in queues
    }
    start = time.perf_counter()
    try:
        await asyncio.gather(
            *(
                _rater(clients[r], r, q, result, config, np.random.default_rng([config.seed, i]), tick)
                for i, (r, q) in enumerate(queues.items())
            )
        )
        result.elapsed_s = time.perf_counter() - start
        await asyncio.gather(*fault_tasks)
    finally:
        bar.close()
        await asyncio.gather(*(c.aclose() for c in clients.values()))
    return result


def run_load(
    base_url: str,
    tokens: Mapping[str, str],
    queues: Mapping[str, Sequence[str]],
    *,
    config: LoadConfig | None = None,
    faults: Sequence[tuple[float, Callable[[], Any]]] = (),
    progress: bool = False,
) -> LoadResult:
    """Every rater in ``queues`` submits a judgment of each of their assignment ids, concurrently.

    ``tokens[rater]`` authenticates the rater (``Authorization: token ...``). Each
    ``(share, fn)`` in ``faults`` runs ``fn()`` in a worker thread once ``share`` (0 to 1) of
    all submissions have been acknowledged.
    """
    missing = sorted(set(queues) - set(tokens))
    if missing:
        raise ValueError(f"run_load(tokens=...): no token for rater {missing[0]!r}; give one token per rater in queues")
    for share, _ in faults:
        if not 0 <= share <= 1:
            raise ValueError(f"run_load(faults=...): share {share!r} must lie between 0 and 1 (a fraction of all submissions)")
    return asyncio.run(_run(base_url, tokens, queues, config or LoadConfig(), faults, progress))
