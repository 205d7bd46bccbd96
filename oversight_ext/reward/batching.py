"""Batches for variable-length sequences: length grouping, padding-free packing, collation.

Real code pairs vary in length several-fold, so a batch padded to its longest member
wastes much of its compute. Grouped batching sorts a window of randomly drawn examples by
length before cutting it into batches (and then shuffles the batch order), so each batch
holds similar lengths. That changes which examples share a batch, and so the optimisation
itself. Bucketed batching keeps plain shuffled batches (the same gradient steps as TRL's
shuffled batches) and only changes how each batch is computed: its sequences, sorted by length,
are cut into a few sub-batches, each padded to its own longest member, and scored in separate
forward passes that feed one loss. A sequence's reward does not depend on what else is in its
forward pass, so the gradient is that of the whole batch. Packing goes further where the
attention kernel allows it: all the sequences of a batch go into one row with position ids
restarting at each sequence, and nothing is padded at all.

Shared-prefix rows (:func:`collate_shared`, log-likelihood rewards only) hold a whole pair in
one row: the tokens the chosen and the rejected text share, once, then the chosen text's rest,
then the rejected text's rest, with an attention mask that lets each rest see the prefix and
itself but not the other rest, and position ids that restart each rest where the prefix ends.
Every token then has the context it has in its own text, so the log-probabilities are those of
the two texts scored apart (and so are the gradients: the prefix's activations, computed once,
receive both texts' gradient), while the prefix is run once instead of twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Batch", "collate", "collate_buckets", "collate_shared", "collate_shared_buckets", "plan_batches", "split_by_length"]


def plan_batches(
    unit_len: np.ndarray, unit_size: np.ndarray, micro: int, mode: str, window: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Cut units (a pair, an item, or a K-way group kept whole) into batches of about ``micro`` examples.

    ``mode``: ``grouped`` (length-sorted windows of ``window`` batches), ``packed``,
    ``bucketed`` or ``random`` (shuffled order). Returns unit indices per batch, in training order.
    """
    perm = rng.permutation(len(unit_len))
    if mode == "grouped":
        span = max(micro * window, micro)
        chunks = [perm[i : i + span] for i in range(0, len(perm), span)]
        perm = np.concatenate([c[np.argsort(-unit_len[c], kind="stable")] for c in chunks]) if chunks else perm
    batches, cur, filled = [], [], 0
    for u in perm:
        cur.append(u)
        filled += int(unit_size[u])
        if filled >= micro:
            batches.append(np.array(cur))
            cur, filled = [], 0
    if cur:
        batches.append(np.array(cur))
    if mode == "grouped":
        # Sorted windows would feed long batches first, then short: shuffle the order back.
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


@dataclass
class Batch:
    """Model inputs for one micro-batch.

    ``ends`` (packed only) are the last-token positions. A bucketed batch has no tensors of its
    own: ``parts`` are its sub-batches and ``order[k]`` is where sequence ``k``'s reward lies
    in the concatenation of the parts' rewards. ``starts`` (padded rows, log-likelihood rules
    only): the first token position of each row that counts; the tokens before it are a prefix
    shared with the row's pair partner, whose log-probabilities cancel in any pairwise difference.
    ``scored`` (shared-prefix rows, :func:`collate_shared`): a (4, K) table of what to score, one
    column per scored token: its row, the column whose output predicts it, the token id, and which
    sequence's log-likelihood it adds to (pair ``i`` of ``B``: ``i`` its chosen text, ``B + i`` its
    rejected one); ``attention_mask`` is then (rows, 1, width, width), True where a query may read a key.
    ``embeds`` (shared-prefix rows only): each position's hidden state entering the first trained decoder
    layer, kept from a pass of the frozen layers below it, so a step runs the trained layers only.
    """

    input_ids: torch.Tensor | None
    attention_mask: torch.Tensor | None
    position_ids: torch.Tensor | None
    ends: torch.Tensor | None
    tokens: int
    padded: int
    parts: list[Batch] | None = None
    order: torch.Tensor | None = None
    starts: torch.Tensor | None = None
    scored: torch.Tensor | None = None
    embeds: torch.Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        def mv(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        parts = None if self.parts is None else [p.to(device) for p in self.parts]
        return Batch(
            mv(self.input_ids), mv(self.attention_mask), mv(self.position_ids), mv(self.ends), self.tokens, self.padded,
            parts, mv(self.order), mv(self.starts), mv(self.scored), mv(self.embeds),
        )  # fmt: skip


def split_by_length(lens: np.ndarray, overhead: int) -> list[np.ndarray]:
    """Indices of ``lens`` cut into sub-batches that minimise padded tokens plus ``overhead`` per sub-batch.

    Sequences are sorted longest first and cut into contiguous runs; a run costs its size times
    its longest length, plus ``overhead`` tokens' worth for the extra forward pass. Exact
    (dynamic programming over the cut points). ``overhead=0`` gives one sub-batch per distinct
    length; a huge ``overhead`` gives the whole batch as one.
    """
    order = np.argsort(-np.asarray(lens), kind="stable")
    ls = np.asarray(lens, dtype=np.float64)[order]
    n = len(ls)
    best = np.zeros(n + 1)
    cut = np.zeros(n + 1, dtype=np.int64)
    for j in range(1, n + 1):
        # A run i..j-1 is padded to ls[i], its first (longest) member.
        cost = best[:j] + (j - np.arange(j)) * ls[:j] + overhead
        cut[j] = int(np.argmin(cost))
        best[j] = cost[cut[j]]
    runs, j = [], n
    while j > 0:
        runs.append(order[cut[j] : j])
        j = int(cut[j])
    return runs[::-1]


def collate(seqs: list[list[int]], pad_id: int, *, packed: bool, multiple: int = 0, starts: np.ndarray | None = None) -> Batch:
    """Padded rows (right padding, rounded up to ``multiple``) or one packed row; ``starts``: see :class:`Batch`."""
    lens = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    total = int(lens.sum())
    if packed:
        flat = np.fromiter((t for s in seqs for t in s), dtype=np.int64, count=total)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        pos = np.arange(total) - np.repeat(starts, lens)
        ends = np.cumsum(lens) - 1
        return Batch(torch.from_numpy(flat)[None], None, torch.from_numpy(pos)[None], torch.from_numpy(ends), total, total)
    width = int(lens.max())
    if multiple:
        width = -(-width // multiple) * multiple
    ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
    mask = np.arange(width)[None, :] < lens[:, None]
    ids[mask] = np.fromiter((t for s in seqs for t in s), dtype=np.int64, count=total)
    first = None if starts is None else torch.from_numpy(np.asarray(starts, dtype=np.int64))
    return Batch(torch.from_numpy(ids), torch.from_numpy(mask.astype(np.int64)), None, None, total, len(seqs) * width, starts=first)


def collate_buckets(seqs: list[list[int]], pad_id: int, *, overhead: int, multiple: int = 0, starts: np.ndarray | None = None) -> Batch:
    """One batch as length-sorted padded sub-batches (see :func:`split_by_length`)."""
    runs = split_by_length(np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs)), overhead)
    parts = [
        collate([seqs[i] for i in run], pad_id, packed=False, multiple=multiple, starts=None if starts is None else starts[run])
        for run in runs
    ]
    order = np.empty(len(seqs), dtype=np.int64)
    order[np.concatenate(runs)] = np.arange(len(seqs))
    return Batch(None, None, None, None, sum(p.tokens for p in parts), sum(p.padded for p in parts), parts, torch.from_numpy(order))


def _add(
    rows: list[np.ndarray],
    cols: list[np.ndarray],
    toks: list[np.ndarray],
    outs: list[np.ndarray],
    row: int,
    col: np.ndarray,
    tok: np.ndarray,
    out: int,
) -> None:
    rows.append(np.full(len(col), row, dtype=np.int64))
    cols.append(np.asarray(col, dtype=np.int64))
    toks.append(tok)
    outs.append(np.full(len(col), out, dtype=np.int64))


def collate_shared(
    chosen: list[list[int]],
    rejected: list[list[int]],
    starts: np.ndarray,
    pad_id: int,
    *,
    multiple: int = 0,
    embeds: list[torch.Tensor] | None = None,
) -> Batch:
    """One row per pair: the shared prefix once, then each text's rest (see the module note and :class:`Batch`).

    ``starts[i]``: how many leading tokens pair ``i``'s texts share (at most the shorter's length).
    Scored are the tokens from ``max(starts[i], 1)`` on in each text, as a padded batch with
    ``starts`` scores them; the prefix's last output predicts the first token of both rests.
    ``embeds``: per pair, its row's hidden states (row length, hidden size) to start from (see :class:`Batch`).
    """
    n = len(chosen)
    if len(rejected) != n or len(starts) != n:
        raise ValueError(
            f"collate_shared got {n} chosen, {len(rejected)} rejected texts and {len(starts)} starts: give one of each per pair"
        )
    p = np.minimum(np.asarray(starts, dtype=np.int64), [min(len(c), len(r)) for c, r in zip(chosen, rejected, strict=True)])
    lc = np.array([len(c) for c in chosen], dtype=np.int64)
    lr = np.array([len(r) for r in rejected], dtype=np.int64)
    row_len = lc + lr - p
    width = int(row_len.max())
    if multiple:
        width = -(-width // multiple) * multiple
    ids = np.full((n, width), pad_id, dtype=np.int64)
    pos = np.zeros((n, width), dtype=np.int64)
    seg = np.full((n, width), 3, dtype=np.int64)  # 0 prefix, 1 chosen's rest, 2 rejected's rest, 3 padding
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    toks: list[np.ndarray] = []
    outs: list[np.ndarray] = []
    for i in range(n):
        c, r, pi, ci = chosen[i], rejected[i], int(p[i]), int(lc[i])
        ids[i, :ci] = c
        ids[i, ci : ci + len(r) - pi] = r[pi:]
        pos[i, :ci] = np.arange(ci)
        pos[i, ci : ci + len(r) - pi] = np.arange(pi, len(r))
        seg[i, :pi], seg[i, pi:ci], seg[i, ci : ci + len(r) - pi] = 0, 1, 2
        first = max(pi, 1)
        # Chosen token t (t >= first) is predicted by column t - 1.
        t = np.arange(first, ci)
        _add(rows, cols, toks, outs, i, t - 1, np.asarray(c, dtype=np.int64)[t], i)
        # Rejected token t sits in column ci + t - pi; its predictor is column t - 1 inside the prefix, else one to its left.
        t = np.arange(first, len(r))
        col = np.where(t - 1 < pi, t - 1, ci + t - 1 - pi)
        _add(rows, cols, toks, outs, i, col, np.asarray(r, dtype=np.int64)[t], n + i)
    q = np.arange(width)
    causal = q[None, :, None] >= q[None, None, :]
    same = (seg[:, :, None] == seg[:, None, :]) | (seg[:, None, :] == 0)
    mask = causal & same & (seg[:, :, None] != 3) | np.eye(width, dtype=bool)[None]  # padding reads itself only (no empty rows)
    table = np.stack([np.concatenate(x) if x else np.zeros(0, dtype=np.int64) for x in (rows, cols, toks, outs)]).astype(np.int64)
    states = None
    if embeds is not None:
        bad = [i for i, e in enumerate(embeds) if e.shape[0] != row_len[i]]
        if len(embeds) != n or bad:
            raise ValueError(f"collate_shared: embeds must hold one (row length, hidden) tensor per pair; pairs {bad} do not fit")
        states = embeds[0].new_zeros((n, width, embeds[0].shape[-1]))
        for i, e in enumerate(embeds):
            states[i, : e.shape[0]] = e
    return Batch(
        torch.from_numpy(ids), torch.from_numpy(mask[:, None]), torch.from_numpy(pos), None, int(row_len.sum()), n * width,
        scored=torch.from_numpy(table), embeds=states,
    )  # fmt: skip


def collate_shared_buckets(
    chosen: list[list[int]],
    rejected: list[list[int]],
    starts: np.ndarray,
    pad_id: int,
    *,
    overhead: int,
    multiple: int = 0,
    embeds: list[torch.Tensor] | None = None,
) -> Batch:
    """Shared-prefix rows cut into length-sorted sub-batches (:func:`split_by_length` on the row lengths); the
    result's log-likelihoods come out chosen texts first, then rejected, as from one :func:`collate_shared` batch."""
    n = len(chosen)
    p = np.minimum(np.asarray(starts, dtype=np.int64), [min(len(c), len(r)) for c, r in zip(chosen, rejected, strict=True)])
    row_len = np.array([len(c) + len(r) for c, r in zip(chosen, rejected, strict=True)], dtype=np.int64) - p
    runs = split_by_length(row_len, overhead)
    parts = [
        collate_shared(
            [chosen[i] for i in run], [rejected[i] for i in run], p[run], pad_id, multiple=multiple,
            embeds=None if embeds is None else [embeds[i] for i in run],
        )
        for run in runs
    ]  # fmt: skip
    order = np.empty(2 * n, dtype=np.int64)
    at = 0
    for run in runs:  # a part's outputs: its chosen texts, then its rejected ones
        order[run] = at + np.arange(len(run))
        order[n + run] = at + len(run) + np.arange(len(run))
        at += 2 * len(run)
    return Batch(None, None, None, None, sum(b.tokens for b in parts), sum(b.padded for b in parts), parts, torch.from_numpy(order))
