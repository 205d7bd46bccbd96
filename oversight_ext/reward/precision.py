"""Which dtype the weights of a reward-model run live in.

Compute may be bf16 (``precision``: autocast), but a weight that the optimiser updates is kept
in fp32. An Adam step is about ``learning_rate`` in size, and a bf16 weight near 0.02 moves in
steps of about 1.2e-4, so at the learning rates reward models train with (1e-5 to 3e-4) most
updates to a bf16 weight round to nothing. Frozen weights (the backbone under LoRA) carry no
updates and may stay bf16, which halves their memory.

transformers 5 loads a checkpoint in the dtype it was saved in, and most released code models
are saved in bf16; so the trainer names the dtype when it loads, and casts any trainable weight
of a model handed to it (LoRA adapters, a classification head, a whole backbone) up to fp32.
"""

from __future__ import annotations

from typing import Any

import torch

from .config import RewardTrainingConfig

__all__ = ["fp32_master_weights", "settle_dtypes", "uses_bf16", "weight_dtype"]


def uses_bf16(cfg: RewardTrainingConfig, device: torch.device) -> bool:
    """Whether compute runs under bf16 autocast: ``precision = 'bf16'``, or ``'auto'`` on a GPU that supports it."""
    if cfg.precision == "bf16":
        return True
    return cfg.precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported()


def weight_dtype(cfg: RewardTrainingConfig, device: torch.device) -> torch.dtype:
    """The dtype to load the backbone in: bf16 only when its weights are frozen (LoRA) and compute is bf16."""
    return torch.bfloat16 if cfg.lora_r > 0 and uses_bf16(cfg, device) else torch.float32


def fp32_master_weights(model: Any, *, frozen_too: bool) -> int:
    """Cast every trainable floating-point weight of ``model`` that is not fp32 to fp32 (and the frozen
    ones as well with ``frozen_too``); quantised weights are left alone. Returns how many were cast."""
    cast = 0
    for p in model.parameters():
        if p.dtype in (torch.bfloat16, torch.float16) and (p.requires_grad or frozen_too):
            p.data = p.data.float()
            cast += 1
    return cast


def settle_dtypes(model: Any) -> int:
    """After training: cast trained weights outside LoRA layers (a classification head) back to the dtype of the
    frozen backbone, so the model scores outside autocast, as the same model reloaded from its folder does.
    LoRA adapters stay fp32 (peft casts their inputs). Returns how many weights were cast."""
    frozen = {p.dtype for p in model.parameters() if not p.requires_grad and p.is_floating_point()}
    if len(frozen) != 1 or (target := frozen.pop()) == torch.float32:
        return 0
    cast = 0
    for name, p in model.named_parameters():
        if p.requires_grad and p.dtype != target and "lora_" not in name:
            p.data = p.data.to(target)
            cast += 1
    return cast
