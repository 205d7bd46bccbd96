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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Batch", "collate", "collate_buckets", "plan_batches", "split_by_length"]


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

    def to(self, device: torch.device) -> Batch:
        def mv(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        parts = None if self.parts is None else [p.to(device) for p in self.parts]
        return Batch(
            mv(self.input_ids), mv(self.attention_mask), mv(self.position_ids), mv(self.ends), self.tokens, self.padded,
            parts, mv(self.order), mv(self.starts),
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
