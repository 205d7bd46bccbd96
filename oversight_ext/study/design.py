"""The assignment table: who judges which item under which condition, in what order.

:func:`assign` is a pure function of the config, the item ids and the seed, so the same
inputs always give the identical table. The construction:

1. Items are dealt to raters in blocks (a cyclic design): each item takes the next
   ``conditions x overlap`` raters (within-subject) or the next ``overlap`` raters of each
   condition's group (between-subject) in a seeded rater order. A block never holds a rater
   twice, so nobody sees an item twice, and every rater's load is within one of the others'.
2. Within-subject, the block's places are coloured with conditions, ``overlap`` of each, and
   the colouring is made *equitable* per rater (each condition equally often within one) by
   de Werra's alternating-circuit recolouring, which keeps every item's counts exact.
3. Each rater's queue follows one row of a Williams (balanced Latin) square, so each
   condition comes first equally often and each ordered pair of neighbours is balanced.
   Listed raters are placed in a seeded random order; open-enrolment slots in blocked random
   order, so any prefix of slots people have claimed is balanced too.
4. Gold QC items are placed at seeded random positions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from oversight_ext.records import Assignment

from .config import StudyConfig

__all__ = ["assign", "latin_square", "qc_count"]


def latin_square(n: int) -> list[list[int]]:
    """Rows of a Williams design: a Latin square balanced for first-order carry-over.

    For even ``n`` one ``n x n`` square suffices; for odd ``n`` it and its mirror image
    (``2n`` rows) are needed for every ordered pair of neighbours to occur equally often.
    """
    if n < 1:
        raise ValueError(f"latin_square(n={n}): give at least one condition")
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(c + r) % n for c in first] for r in range(n)]
    if n % 2 == 1 and n > 1:
        rows += [row[::-1] for row in rows]
    return rows


def qc_count(n_main: int, qc_rate: float) -> int:
    """QC items for a queue of ``n_main`` study items so that they make up ``qc_rate`` of it."""
    if qc_rate <= 0 or n_main == 0:
        return 0
    return max(1, round(n_main * qc_rate / (1 - qc_rate)))


def _blocked_order(n: int, block: int, rng: np.random.Generator) -> list[int]:
    """Rank -> slot for open enrolment: blocked randomisation, as in clinical trials.

    People claim slots in arrival order, so a study that never fills must still be balanced:
    every block of ``block`` consecutive slots holds each Latin-square row (within-subject) or
    condition (between-subject) once, in a random order.
    """
    order = [0] * n
    for start in range(0, n, block):
        size = min(block, n - start)
        for offset, rank in enumerate(rng.permutation(size)):
            order[start + int(rank)] = start + offset
    return order


def _deal(n_items: int, raters: Sequence[int], per_item: int) -> list[list[int]]:
    """Item -> ``per_item`` distinct raters, dealt round-robin so loads differ by at most one."""
    n = len(raters)
    return [[raters[(i * per_item + j) % n] for j in range(per_item)] for i in range(n_items)]


def _euler_circuits(n_vertices: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    """Edge-id circuits covering every edge once (Hierholzer); every degree must be even."""
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_vertices)]
    for eid, (u, v) in enumerate(edges):
        adj[u].append((eid, v))
        adj[v].append((eid, u))
    used = [False] * len(edges)
    ptr = [0] * n_vertices
    circuits = []
    for start in range(n_vertices):
        stack: list[tuple[int, int]] = [(start, -1)]
        circuit: list[int] = []
        while stack:
            v, via = stack[-1]
            while ptr[v] < len(adj[v]) and used[adj[v][ptr[v]][0]]:
                ptr[v] += 1
            if ptr[v] == len(adj[v]):
                stack.pop()
                if via >= 0:
                    circuit.append(via)
            else:
                eid, w = adj[v][ptr[v]]
                used[eid] = True
                stack.append((w, eid))
        if circuit:
            circuits.append(circuit)
    return circuits


def _equitable(blocks: list[list[int]], n_raters: int, n_colors: int) -> list[list[int]]:
    """Colour each block's places so every item has ``len/n_colors`` of each colour and every
    rater's colour counts differ by at most one (de Werra 1971: always possible, bipartite)."""
    colors = [[j % n_colors for j in range(len(b))] for b in blocks]
    n_items = len(blocks)
    while True:
        counts = np.zeros((n_raters, n_colors), dtype=np.int64)
        for b, cs in zip(blocks, colors):
            for r, c in zip(b, cs):
                counts[r, c] += 1
        spread = counts.max(axis=1) - counts.min(axis=1)
        worst = int(spread.argmax())
        if spread[worst] <= 1:
            return colors
        a, b_ = int(counts[worst].argmax()), int(counts[worst].argmin())
        # Recolour the a/b subgraph along Euler circuits, alternating a, b. Odd-degree
        # vertices get an edge to a dummy on the other side so every degree is even and the
        # graph stays bipartite (closed trails have even length, so alternation is exact).
        d_rater, d_item = n_raters + n_items, n_raters + n_items + 1
        edges: list[tuple[int, int]] = []
        where: list[tuple[int, int]] = []
        degree = np.zeros(n_raters + n_items + 2, dtype=np.int64)
        for i, (blk, cs) in enumerate(zip(blocks, colors)):
            for j, (r, c) in enumerate(zip(blk, cs)):
                if c in (a, b_):
                    edges.append((r, n_raters + i))
                    where.append((i, j))
                    degree[r] += 1
                    degree[n_raters + i] += 1
        real = len(edges)
        for v in np.flatnonzero(degree[: n_raters + n_items] % 2):
            edges.append((int(v), d_item if v < n_raters else d_rater))
        if sum(1 for u, v in edges[real:] if v == d_item) % 2:
            edges.append((d_rater, d_item))
        for circuit in _euler_circuits(n_raters + n_items + 2, edges):
            for pos, eid in enumerate(circuit):
                if eid < real:
                    i, j = where[eid]
                    colors[i][j] = a if pos % 2 == 0 else b_


def _order(pool: dict[int, list[int]], row: list[int], blocked: bool) -> list[tuple[int, int]]:
    """A rater's (item, condition) queue following Latin-square ``row``."""
    if blocked:
        return [(item, c) for c in row for item in pool.get(c, [])]
    queues = {c: list(pool.get(c, [])) for c in row}
    out: list[tuple[int, int]] = []
    while any(queues.values()):
        for c in row:
            if queues[c]:
                out.append((queues[c].pop(0), c))
    return out


def assign(config: StudyConfig, item_ids: Sequence[str], *, qc_item_ids: Sequence[str] = ()) -> list[Assignment]:
    """The frozen assignment table of ``config`` over ``item_ids`` (critique ids not yet set).

    QC items (``qc_item_ids``, disjoint from ``item_ids``) are added to each queue at
    ``config.qc_rate`` under ``config.qc_condition_name``.
    """
    if not item_ids:
        raise ValueError(f"assign(item_ids=[]): study {config.name!r} has no items; widen the item selector or import items")
    if len(set(item_ids)) != len(item_ids) or set(item_ids) & set(qc_item_ids):
        raise ValueError("assign(item_ids, qc_item_ids): give each item once, and QC items apart from the study items")
    rng = np.random.default_rng(config.seed)
    rater_ids = config.rater_ids()
    n_r, n_c, k = len(rater_ids), len(config.conditions), config.overlap
    items = [int(i) for i in rng.permutation(len(item_ids))]
    squares = latin_square(n_c)
    if config.raters:
        raters = [int(r) for r in rng.permutation(n_r)]
    else:
        raters = _blocked_order(n_r, len(squares) if config.design == "within" else n_c, rng)
    pools: list[dict[int, list[int]]] = [{} for _ in range(n_r)]
    if config.design == "within":
        blocks = _deal(len(items), raters, n_c * k)
        colors = _equitable(blocks, n_r, n_c)
        for item, blk, cs in zip(items, blocks, colors):
            for r, c in zip(blk, cs):
                pools[r].setdefault(c, []).append(item)
    else:
        for c in range(n_c):
            group = raters[c::n_c]
            for item, blk in zip(items, _deal(len(items), group, k)):
                for r in blk:
                    pools[r].setdefault(c, []).append(item)
    qc_cond = config.condition_names.index(config.qc_condition_name)
    table: list[Assignment] = []
    for rank, r in enumerate(raters):
        for c in pools[r]:
            pools[r][c] = [pools[r][c][i] for i in rng.permutation(len(pools[r][c]))]
        if config.design == "within":
            queue = _order(pools[r], squares[rank % len(squares)], config.order == "blocked")
        else:
            only = next(iter(pools[r]), rank % n_c)
            queue = _order(pools[r], [only], blocked=True)
        entries: list[tuple[str, int, bool]] = [(item_ids[i], c, False) for i, c in queue]
        n_qc = min(qc_count(len(entries), config.qc_rate), len(qc_item_ids))
        if n_qc:
            cond = qc_cond if config.design == "within" else (queue[0][1] if queue else qc_cond)
            chosen = [qc_item_ids[i] for i in rng.choice(len(qc_item_ids), size=n_qc, replace=False)]
            for qc_item, at in zip(chosen, sorted(rng.choice(len(entries) + n_qc, size=n_qc, replace=False))):
                entries.insert(int(at), (qc_item, cond, True))
        rater = rater_ids[r]
        for pos, (item_id, c, is_qc) in enumerate(entries):
            cond_cfg = config.conditions[c]
            table.append(
                Assignment(
                    id=f"{config.name}:{rater}:{pos:05d}",
                    study=config.name,
                    rater=rater,
                    item_id=item_id,
                    condition=cond_cfg.name,
                    position=pos,
                    time_limit_s=float(config.time_limit_s) if config.time_limit_s is not None else None,
                    is_qc=is_qc,
                    display=cond_cfg.display,
                )
            )
    table.sort(key=lambda a: (a.rater, a.position))
    return table
