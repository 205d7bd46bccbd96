"""The reward-model trainer: Bradley-Terry with margin (or pointwise BCE) on variable-length text.

One entry point for one CPU, one GPU or many: under ``torchrun`` / ``accelerate launch``
(``WORLD_SIZE`` > 1) each process takes its share of the batches and the model is wrapped in
DDP, or FSDP with ``distributed="fsdp"``. Speed on real data comes from bucketed, length-grouped
or packed batches (:mod:`oversight_ext.reward.batching`), tokenising once up front, and bf16 with
SDPA / flash attention on a GPU. Checkpoints go to ``<out>.work``; the final model is written
atomically by :func:`oversight_ext.reward.model.save_reward_model`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import checkpoint
from .batching import Batch, collate, collate_buckets, plan_batches
from .config import RewardTrainingConfig
from .data import check_trainable
from .model import check_out_dir, context_length, encode, load_backbone, save_reward_model

__all__ = ["TrainResult", "train_reward_model"]

# Decoders whose attention honours restarting position ids in one row (padding-free packing).
PACKABLE = ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "phi3", "olmo2", "granite", "smollm3")


@dataclass
class TrainResult:
    """What a run did: the trained model, its speed and its loss curve."""

    model: Any
    tokenizer: Any
    steps: int
    examples: int
    seconds: float
    tokens: int
    padded_tokens: int
    truncated: int
    losses: list[float] = field(default_factory=list)
    out_dir: Path | None = None

    @property
    def examples_per_s(self) -> float:
        return self.examples / max(self.seconds, 1e-9)

    @property
    def padding_fraction(self) -> float:
        return 1 - self.tokens / max(self.padded_tokens, 1)


class _Scorer(torch.nn.Module):
    """Rewards of a batch of sequences; one module so DDP/FSDP see every forward."""

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


def _dist() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return world, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))


def _wrap(scorer: _Scorer, cfg: RewardTrainingConfig, world: int, device: torch.device, bf16: bool) -> torch.nn.Module:
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


def _loss(r: torch.Tensor, ex: dict[str, torch.Tensor], cfg: RewardTrainingConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, accuracy) of one micro-batch."""
    w = ex["weight"]
    if cfg.objective == "pointwise":
        loss = (F.binary_cross_entropy_with_logits(r, ex["label"], reduction="none") * w).mean()
        return loss, ((r > 0).float() == (ex["label"] > 0.5).float()).float().mean()
    rc, rr = r.chunk(2)
    d = rc - rr
    tie = ex["tie"]
    bt = -F.logsigmoid(d - ex["margin"])
    tied = -(F.logsigmoid(d) + F.logsigmoid(-d)) / 2
    loss = (torch.where(tie, tied, bt) * w).mean()
    if cfg.center_rewards_coefficient:
        loss = loss + cfg.center_rewards_coefficient * ((rc + rr) ** 2).mean()
    hard = ~tie
    acc = (d[hard] > 0).float().mean() if bool(hard.any()) else torch.tensor(float("nan"))
    return loss, acc


def train_reward_model(
    train: pl.DataFrame,
    config: RewardTrainingConfig | None = None,
    *,
    backbone: str = "tiny",
    out_dir: str | os.PathLike[str] | None = None,
    model: Any = None,
    tokenizer: Any = None,
    progress: bool = True,
    meta: dict[str, Any] | None = None,
) -> TrainResult:
    """Train a reward model on a pairwise or pointwise frame (:mod:`oversight_ext.reward.data`).

    With ``out_dir`` the model is saved there (atomically) and checkpoints plus the metrics
    log go to ``<out_dir>.work`` while training runs.
    """
    cfg = config or RewardTrainingConfig()
    if cfg.objective == "pairwise" and cfg.ties == "drop" and "tie" in train.columns:
        train = train.filter(~pl.col("tie"))
    check_trainable(train, cfg.objective)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        check_out_dir(out)
    world, rank, local = _dist()
    device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    if model is None:
        model, tokenizer = load_backbone(backbone, seed=cfg.seed, attn_implementation=cfg.attn_implementation, device=device.type)
    if cfg.disable_dropout:
        for m in model.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
    model.to(device).train()
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported())
    attn = getattr(model.config, "_attn_implementation", "")
    batching = cfg.batching
    if batching == "auto":
        batching = "packed" if device.type == "cuda" and attn.startswith("flash") and model.config.model_type in PACKABLE else "bucketed"
    if batching == "packed" and model.config.model_type not in PACKABLE:
        raise ValueError(
            f"batching = 'packed' needs a decoder backbone ({', '.join(PACKABLE)}); got {model.config.model_type!r}: use 'bucketed'"
        )

    # Tokenise once; every epoch then only gathers ids.
    limit = min(cfg.max_length, context_length(model))
    if cfg.objective == "pairwise":
        ch, cut1 = encode(tokenizer, train["chosen"].to_list(), limit, overlong=cfg.overlong)
        rj, cut2 = encode(tokenizer, train["rejected"].to_list(), limit, overlong=cfg.overlong)
        truncated = cut1 + cut2
        lens = np.maximum([len(x) for x in ch], [len(x) for x in rj])
        groups = train["group_id"].to_list() if "group_id" in train.columns else list(range(train.height))
    else:
        ch, truncated = encode(tokenizer, train["text"].to_list(), limit, overlong=cfg.overlong)
        rj, lens, groups = [], np.array([len(x) for x in ch]), list(range(train.height))
    if truncated:
        warnings.warn(
            f"{truncated} sequences were longer than {limit} tokens and were truncated; raise max_length or set overlong='refuse'",
            stacklevel=2,
        )
    units: dict[Any, list[int]] = {}
    for i, g in enumerate(groups):
        units.setdefault(g, []).append(i)
    unit_rows = list(units.values())
    unit_len = np.array([int(lens[r].max()) for r in unit_rows])
    unit_size = np.array([len(r) for r in unit_rows])
    cols: dict[str, torch.Tensor] = {
        k: torch.tensor(train[k].to_numpy(), dtype=torch.float32) for k in ("weight", "margin", "label") if k in train.columns
    }
    if not cfg.use_margin and "margin" in cols:
        cols["margin"] = torch.zeros_like(cols["margin"])
    if "tie" in train.columns:
        cols["tie"] = torch.tensor(train["tie"].to_numpy())
    if "weight" not in cols:
        cols["weight"] = torch.ones(train.height)

    micro = max(cfg.batch_size // (cfg.grad_accum * world), 1)
    per_epoch = len(plan_batches(unit_len, unit_size, micro, batching, cfg.group_window, np.random.default_rng(cfg.seed)))
    steps_per_epoch = max(per_epoch // (cfg.grad_accum * world), 1)
    total = cfg.max_steps or max(math.ceil(cfg.epochs * steps_per_epoch), 1)
    plans: dict[int, list[np.ndarray]] = {}

    def micro_batch(k: int) -> list[int]:
        # Batch k of the whole run, the same on every process and after a resume.
        epoch, idx = divmod(k, steps_per_epoch * cfg.grad_accum * world)
        if epoch not in plans:
            plans.clear()
            plans[epoch] = plan_batches(unit_len, unit_size, micro, batching, cfg.group_window, np.random.default_rng([cfg.seed, epoch]))
        # A set smaller than one step of micro-batches wraps around rather than running dry.
        return [r for u in plans[epoch][idx % len(plans[epoch])] for r in unit_rows[u]]

    work = out.with_name(out.name + ".work") if out is not None else None
    signature = json.dumps({k: v for k, v in cfg.to_dict().items() if k not in ("resume", "log_every", "checkpoint_every")}, sort_keys=True)
    ck = checkpoint.read(work, signature, train.height, device) if cfg.resume else None
    if ck is not None:
        model.load_state_dict(ck["model"])  # before wrapping, so FSDP shards the restored weights
    wrapped = _wrap(_Scorer(model), cfg, world, device, bf16)
    decay = [p for n, p in wrapped.named_parameters() if p.requires_grad and p.ndim > 1]
    rest = [p for n, p in wrapped.named_parameters() if p.requires_grad and p.ndim <= 1]
    param_groups: list[dict[str, Any]] = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    try:
        # The fused kernel updates all parameters in one pass (CPU and GPU); the update is the same AdamW.
        opt = torch.optim.AdamW(param_groups, lr=cfg.learning_rate, fused=world == 1 or cfg.distributed == "ddp")
    except (RuntimeError, TypeError):
        opt = torch.optim.AdamW(param_groups, lr=cfg.learning_rate)
    warm = int(cfg.warmup_ratio * total)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / max(warm, 1), max(total - s, 0) / max(total - warm, 1)))

    start = 0
    fsdp = world > 1 and cfg.distributed == "fsdp"
    if ck is not None:
        start = checkpoint.restore_optimizer(ck, wrapped, opt, sched, fsdp=fsdp)
    if work is not None and rank == 0:
        work.mkdir(parents=True, exist_ok=True)
    log = open(work / "metrics.jsonl", "a") if work is not None and rank == 0 else None  # noqa: SIM115
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    pad = tokenizer.pad_token_id
    multiple = cfg.pad_to_multiple_of or (8 if device.type == "cuda" else 0)
    losses: list[float] = []
    seen = tokens = padded = 0
    t0 = time.perf_counter()
    bar = tqdm(total=total, initial=start, desc="train reward model", disable=not progress or rank != 0)
    try:
        for step in range(start, total):
            step_loss = step_acc = 0.0
            for m in range(cfg.grad_accum):
                rows = micro_batch((step * cfg.grad_accum + m) * world + rank)
                seqs = [ch[i] for i in rows] + [rj[i] for i in rows] if cfg.objective == "pairwise" else [ch[i] for i in rows]
                if batching == "bucketed":
                    b = collate_buckets(seqs, pad, overhead=cfg.bucket_overhead, multiple=multiple).to(device)
                else:
                    b = collate(seqs, pad, packed=batching == "packed", multiple=multiple).to(device)
                ex = {k: v[rows].to(device) for k, v in cols.items()}
                sync = m == cfg.grad_accum - 1 or world == 1 or not hasattr(wrapped, "no_sync")
                with contextlib.nullcontext() if sync else wrapped.no_sync(), autocast:  # type: ignore[operator]
                    loss, acc = _loss(wrapped(b).float(), ex, cfg)
                if not torch.isfinite(loss):
                    raise ValueError(
                        f"the training loss is {loss.item()} at step {step + 1}: lower learning_rate (now {cfg.learning_rate}), "
                        "check the margins for NaN or infinite values, or use precision='fp32'. Nothing was saved"
                    )
                (loss / cfg.grad_accum).backward()
                step_loss += loss.item() / cfg.grad_accum
                step_acc += float(acc) / cfg.grad_accum
                seen += len(rows) * world
                tokens += b.tokens
                padded += b.padded
            if cfg.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(wrapped.parameters(), cfg.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(step_loss)
            bar.update(1)
            bar.set_postfix(loss=f"{step_loss:.4f}")
            if log is not None and ((step + 1) % cfg.log_every == 0 or step + 1 == total):
                el = time.perf_counter() - t0
                rec = {"step": step + 1, "loss": step_loss, "accuracy": step_acc, "lr": sched.get_last_lr()[0], "examples_per_s": seen / el,
                       "padding_fraction": 1 - tokens / max(padded, 1), "elapsed_s": el}  # fmt: skip
                log.write(json.dumps(rec) + "\n")
                log.flush()
            if work is not None and cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0 and step + 1 < total:
                checkpoint.save(work, wrapped, model, opt, sched, step + 1, signature, train.height, rank=rank, fsdp=fsdp)
    finally:
        bar.close()
        if log is not None:
            log.close()
    seconds = time.perf_counter() - t0
    model.eval()
    full = checkpoint.full_state(wrapped) if fsdp and out is not None else None
    if out is not None and rank == 0:
        info = {
            "config": cfg.to_dict(),
            "backbone": backbone,
            "steps": total,
            "train_rows": train.height,
            "final_loss": losses[-1] if losses else None,
        }
        save_reward_model(
            model,
            tokenizer,
            out,
            {**info, **(meta or {})},
            extra_files={"metrics.jsonl": work / "metrics.jsonl"} if work else None,
            state_dict=full,
        )
        shutil.rmtree(work, ignore_errors=True)  # type: ignore[arg-type]
    if world > 1:
        torch.distributed.barrier()
    return TrainResult(model, tokenizer, total - start, seen, seconds, tokens, padded, truncated, losses, out)
