"""Batches for variable-length sequences: length grouping, padding-free packing, collation.

Real code pairs vary in length several-fold, so a batch padded to its longest member
wastes much of its compute. Grouped batching sorts a window of randomly drawn examples by
length before cutting it into batches (and then shuffles the batch order), so each batch
holds similar lengths. Packing goes further where the attention kernel allows it: all the
sequences of a batch go into one row with position ids restarting at each sequence, and
nothing is padded at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Batch", "collate", "plan_batches"]


def plan_batches(
    unit_len: np.ndarray, unit_size: np.ndarray, micro: int, mode: str, window: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Cut units (a pair, an item, or a K-way group kept whole) into batches of about ``micro`` examples.

    ``mode``: ``grouped`` (length-sorted windows of ``window`` batches), ``packed`` or
    ``random`` (shuffled order). Returns unit indices per batch, in training order.
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
    """Model inputs for one micro-batch; ``ends`` (packed only) are the last-token positions."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor | None
    position_ids: torch.Tensor | None
    ends: torch.Tensor | None
    tokens: int
    padded: int

    def to(self, device: torch.device) -> Batch:
        def mv(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        return Batch(mv(self.input_ids), mv(self.attention_mask), mv(self.position_ids), mv(self.ends), self.tokens, self.padded)  # type: ignore[arg-type]


def collate(seqs: list[list[int]], pad_id: int, *, packed: bool, multiple: int = 0) -> Batch:
    """Padded rows (right padding, rounded up to ``multiple``) or one packed row."""
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
    return Batch(torch.from_numpy(ids), torch.from_numpy(mask.astype(np.int64)), None, None, total, len(seqs) * width)
