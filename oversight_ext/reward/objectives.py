"""What the trainer computes per batch: the scoring module, its distributed wrapper, and the losses.

:class:`Scorer` turns a batch of token sequences into one reward each (a classification
head's output at the last token); it is one module so DDP/FSDP see every forward.
:func:`preference_loss` is Bradley-Terry with margin and tie handling (TRL's RewardTrainer
loss for untied pairs), :func:`pointwise_loss` weighted BCE on soft labels.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F

from .batching import Batch
from .config import RewardTrainingConfig

__all__ = ["Scorer", "distributed_env", "pointwise_loss", "preference_loss", "reward_model_loss", "use_compile", "wrap_for_world"]


class Scorer(torch.nn.Module):
    """Rewards of a batch of sequences from a sequence-classification model."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, b: Batch) -> torch.Tensor:
        if b.parts is not None:
            return torch.cat([self(p) for p in b.parts])[b.order]
        if b.ends is None:
            return self.model(input_ids=b.input_ids, attention_mask=b.attention_mask, use_cache=False).logits[:, 0]
        # Packed: the backbone reads one row; the head scores each sequence's last token.
        hidden = self.model.base_model(input_ids=b.input_ids, position_ids=b.position_ids, use_cache=False).last_hidden_state
        return self.model.score(hidden[0, b.ends]).squeeze(-1)


def distributed_env() -> tuple[int, int, int]:
    """(world size, rank, local rank), starting the process group under torchrun / accelerate."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return world, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))


def wrap_for_world(scorer: torch.nn.Module, cfg: RewardTrainingConfig, world: int, device: torch.device, bf16: bool) -> torch.nn.Module:
    """The scorer itself on one process; DDP, or FSDP with ``distributed="fsdp"``, on several."""
    if world == 1:
        return scorer
    if cfg.distributed == "fsdp":
        from torch.distributed.fsdp import FullyShardedDataParallel, MixedPrecision
        from torch.distributed.fsdp.wrap import size_based_auto_wrap_policy

        mp = MixedPrecision(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if bf16 else None
        return FullyShardedDataParallel(
            scorer, auto_wrap_policy=size_based_auto_wrap_policy, mixed_precision=mp, use_orig_params=True,
            device_id=device if device.type == "cuda" else None,
        )  # fmt: skip
    return torch.nn.parallel.DistributedDataParallel(scorer, device_ids=[device.index] if device.type == "cuda" else None)


def use_compile(cfg: RewardTrainingConfig, device: torch.device) -> bool:
    """Whether to ``torch.compile`` the scorer: ``auto`` compiles on CUDA only, where fused kernels repay the
    compile time; on the CPU, with batches of ever-changing length, it costs more than it saves."""
    return cfg.compile == "on" or (cfg.compile == "auto" and device.type == "cuda")


def preference_loss(d: torch.Tensor, ex: dict[str, torch.Tensor], center: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, accuracy) of reward differences ``d`` = r(chosen) - r(rejected).

    Untied pairs: -log sigmoid(d - margin); tied pairs: -(log s(d) + log s(-d)) / 2, which pushes
    both rewards together. ``center`` adds a reward-centring penalty already weighted.
    """
    tie = ex["tie"]
    bt = -F.logsigmoid(d - ex["margin"])
    tied = -(F.logsigmoid(d) + F.logsigmoid(-d)) / 2
    loss = (torch.where(tie, tied, bt) * ex["weight"]).mean()
    if center is not None:
        loss = loss + center
    hard = ~tie
    acc = (d[hard] > 0).float().mean() if bool(hard.any()) else torch.tensor(float("nan"))
    return loss, acc


def pointwise_loss(r: torch.Tensor, ex: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, accuracy): weighted BCE of rewards as logits against P(correct) labels."""
    loss = (F.binary_cross_entropy_with_logits(r, ex["label"], reduction="none") * ex["weight"]).mean()
    return loss, ((r > 0).float() == (ex["label"] > 0.5).float()).float().mean()


def reward_model_loss(r: torch.Tensor, ex: dict[str, torch.Tensor], cfg: RewardTrainingConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, accuracy) of one micro-batch of rewards: chosen rows first, then rejected (pairwise)."""
    if cfg.objective == "pointwise":
        return pointwise_loss(r, ex)
    rc, rr = r.chunk(2)
    center = cfg.center_rewards_coefficient * ((rc + rr) ** 2).mean() if cfg.center_rewards_coefficient else None
    return preference_loss(rc - rr, ex, center)
