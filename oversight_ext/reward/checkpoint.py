"""Resumable training checkpoints in ``<out>.work/checkpoint.pt``, replaced atomically.

A checkpoint holds the model, optimiser and schedule state plus the step, and a signature
of the run's configuration and data size, so a resume never silently continues a different
run. Under FSDP the full (unsharded) state is gathered first; every process must call in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["full_state", "read", "restore_optimizer", "save"]

NAME = "checkpoint.pt"


def read(work: Path | None, signature: str, rows: int, device: torch.device) -> dict[str, Any] | None:
    """The checkpoint in ``work`` if there is one; raises if it belongs to another run."""
    if work is None or not (work / NAME).is_file():
        return None
    ck = torch.load(work / NAME, map_location=device, weights_only=False)
    if ck["signature"] != signature or ck["rows"] != rows:
        raise ValueError(f"{work} holds a checkpoint of a different run (other options or data): delete that folder or set resume=False")
    return ck


def full_state(wrapped: Any, opt: Any = None) -> Any:
    """The unsharded state of an FSDP model (a collective), keys as the plain model's; with ``opt`` also its optimiser state."""
    from torch.distributed.fsdp import FullStateDictConfig, StateDictType
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

    with FSDP.state_dict_type(wrapped, StateDictType.FULL_STATE_DICT, FullStateDictConfig(offload_to_cpu=True, rank0_only=True)):
        state = {k.removeprefix("model."): v for k, v in wrapped.state_dict().items()}
        return state if opt is None else (state, FSDP.optim_state_dict(wrapped, opt))


def restore_optimizer(ck: dict[str, Any], wrapped: Any, opt: Any, sched: Any, *, fsdp: bool) -> int:
    """Load optimiser and schedule state; returns the step to continue from."""
    optim = ck["optim"]
    if fsdp:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

        optim = FSDP.optim_state_dict_to_load(wrapped, opt, optim)
    opt.load_state_dict(optim)
    sched.load_state_dict(ck["sched"])
    return int(ck["step"])


def save(
    work: Path, wrapped: Any, model: Any, opt: Any, sched: Any, step: int, signature: str, rows: int, *, rank: int, fsdp: bool
) -> None:
    if fsdp:
        state, optim = full_state(wrapped, opt)
    else:
        state, optim = model.state_dict(), opt.state_dict()
    if rank == 0:
        tmp = work / f"{NAME}.tmp-{os.getpid()}"
        torch.save({"model": state, "optim": optim, "sched": sched.state_dict(), "step": step, "signature": signature, "rows": rows}, tmp)
        os.replace(tmp, work / NAME)
