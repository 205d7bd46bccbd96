"""The reward-model trainer: Bradley-Terry with margin (or pointwise BCE) on variable-length text.

:class:`RewardTrainer` runs in stages that a subclass may replace one at a time, as with
TRL's trainers: :meth:`~RewardTrainer.setup` (device, model, tokenised data, optimiser,
resume), :meth:`~RewardTrainer.micro_batches` (which rows each step reads),
:meth:`~RewardTrainer.compute_loss` and :meth:`~RewardTrainer.training_step` (one
optimiser step), :meth:`~RewardTrainer.evaluate` (held-out pairwise accuracy) and
:meth:`~RewardTrainer.save`. :func:`train_reward_model` runs them all.

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
from tqdm.auto import tqdm

from . import checkpoint
from .batching import Batch, collate, collate_buckets, plan_batches
from .config import RewardTrainingConfig
from .data import check_trainable
from .dataset import RewardDataset
from .lora import QuantizationError, merged_onto, prepare_quantized, release_cpu_repacking, with_lora
from .model import check_out_dir, context_length, encode, load_backbone, save_reward_model
from .objectives import Scorer, distributed_env, reward_model_loss, use_compile, wrap_for_world
from .precision import fp32_master_weights, settle_dtypes, uses_bf16, weight_dtype

__all__ = ["RewardTrainer", "TrainResult", "auto_batching", "train_reward_model"]

# Decoders whose attention honours restarting position ids in one row (padding-free packing).
PACKABLE = ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "phi3", "olmo2", "granite", "smollm3")
# Kept under their former names for code that imported them from here.
_Scorer = Scorer


def auto_batching(device_type: str, attn: str, model_type: str) -> str:
    """What ``batching = "auto"`` means on this device.

    On a GPU with flash attention, a decoder is packed (no padding at all). On a GPU without
    it, each micro-batch goes through in one padded forward pass (``random``: the same shuffled
    batches as ``bucketed``, so the same gradient steps): there a padded token costs little next to
    the kernel launches of one more forward pass, and a small model is launch-bound. On one H200,
    TRL's one padded pass per batch ran 60 steps of a 135M Llama in 41.5 s at 2.2% MFU, while
    ``bucketed`` (about 16 sub-batches per 64 sequences) had not finished in 110 s. On the CPU
    compute grows with tokens, so ``bucketed``'s length-sorted sub-batches pay.
    """
    if device_type != "cuda":
        return "bucketed"
    return "packed" if attn.startswith("flash") and model_type in PACKABLE else "random"


@dataclass
class TrainResult:
    """What a run did: the trained model, its speed, its loss curve and (given eval data) its held-out figures."""

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
    eval: dict[str, float] | None = None

    @property
    def examples_per_s(self) -> float:
        return self.examples / max(self.seconds, 1e-9)

    @property
    def padding_fraction(self) -> float:
        return 1 - self.tokens / max(self.padded_tokens, 1)


class RewardTrainer:
    """Trains one reward model on a pairwise or pointwise frame (:mod:`oversight_ext.reward.data`).

    Override a stage to change it: e.g. :meth:`compute_loss` for another objective,
    :meth:`make_scorer` for another way to read a reward, :meth:`micro_batches` for another
    batch order. ``eval_data`` (held-out pairs) is scored by :meth:`evaluate` after training.
    """

    def __init__(
        self,
        train: pl.DataFrame | RewardDataset,
        config: RewardTrainingConfig | None = None,
        *,
        backbone: str = "tiny",
        out_dir: str | os.PathLike[str] | None = None,
        model: Any = None,
        tokenizer: Any = None,
        progress: bool = True,
        meta: dict[str, Any] | None = None,
        eval_data: pl.DataFrame | RewardDataset | None = None,
    ) -> None:
        self.cfg = config or RewardTrainingConfig()
        if isinstance(train, RewardDataset):
            # A dataset brings its provenance, which is saved beside the model.
            meta = {"source": train.provenance, **(meta or {})}
            train = train.frame
        if isinstance(eval_data, RewardDataset):
            eval_data = eval_data.frame
        if self.cfg.objective == "pairwise" and self.cfg.ties == "drop" and "tie" in train.columns:
            train = train.filter(~pl.col("tie"))
        check_trainable(train, self.cfg.objective)
        self.train_frame = train
        self.eval_data = eval_data
        self.backbone = backbone
        self.out = Path(out_dir) if out_dir is not None else None
        if self.out is not None:
            check_out_dir(self.out)
        self.model, self.tokenizer = model, tokenizer
        self.progress = progress
        self.meta = meta or {}
        # Per pair, the first token position a log-likelihood rule scores (None: the head reads whole sequences).
        self.pair_starts: np.ndarray | None = None

    # -- setup -----------------------------------------------------------------------------------

    def setup(self) -> None:
        """Device, model, tokenised data, batch plan, optimiser and schedule, and a resumed checkpoint."""
        cfg = self.cfg
        self.world, self.rank, local = distributed_env()
        self.device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        self.setup_model()
        self.tokenize()
        self.plan()
        self.work = self.out.with_name(self.out.name + ".work") if self.out is not None else None
        drop = ("resume", "log_every", "checkpoint_every")
        self.signature = json.dumps({k: v for k, v in cfg.to_dict().items() if k not in drop}, sort_keys=True)
        ck = checkpoint.read(self.work, self.signature, self.train_frame.height, self.device) if cfg.resume else None
        if ck is not None:
            self.model.load_state_dict(ck["model"])  # before wrapping, so FSDP shards the restored weights
        scorer = self.make_scorer(self.model)
        if use_compile(cfg, self.device):
            scorer = torch.compile(scorer, dynamic=True)  # type: ignore[assignment]
        self.wrapped = wrap_for_world(scorer, cfg, self.world, self.device, self.bf16)
        self.fsdp = self.world > 1 and cfg.distributed == "fsdp"
        self.create_optimizer()
        self.start = checkpoint.restore_optimizer(ck, self.wrapped, self.opt, self.sched, fsdp=self.fsdp) if ck is not None else 0

    def setup_model(self) -> None:
        """Load the backbone (unless given), turn dropout off, move it, choose precision and batching."""
        cfg, device = self.cfg, self.device
        self.bf16 = uses_bf16(cfg, device)
        if self.model is None:
            self.model, self.tokenizer = self.load_model()
        elif cfg.quantization != "none":
            raise QuantizationError(
                f"quantization = {cfg.quantization!r} loads the backbone quantised, and a model object was passed in: "
                "give the backbone by name or folder, or set quantization = 'none'"
            )
        if cfg.disable_dropout:
            for m in self.model.modules():
                if isinstance(m, torch.nn.Dropout):
                    m.p = 0.0
        if cfg.quantization != "none":
            self.model = prepare_quantized(self.model)
        if cfg.lora_r:
            self.model = with_lora(self.model, cfg)
        # Updated weights are fp32 master copies under bf16 compute too (see .precision); without bf16, all are fp32.
        fp32_master_weights(self.model, frozen_too=not self.bf16)
        if cfg.quantization == "none":  # a quantised model was placed on its device as it loaded
            self.model.to(device)
        self.model.train()
        attn = getattr(self.model.config, "_attn_implementation", "")
        model_type = self.model.config.model_type
        batching = auto_batching(device.type, attn, model_type) if cfg.batching == "auto" else cfg.batching
        if batching == "packed" and model_type not in PACKABLE:
            raise ValueError(f"batching = 'packed' needs a decoder backbone ({', '.join(PACKABLE)}); got {model_type!r}: use 'bucketed'")
        self.batching = batching

    def load_model(self) -> tuple[Any, Any]:
        """(model, tokenizer) of ``backbone`` on this run's device, quantised when ``quantization`` says so."""
        cfg = self.cfg
        return load_backbone(
            self.backbone, seed=cfg.seed, attn_implementation=cfg.attn_implementation, device=str(self.device),
            quantization=cfg.quantization, dtype=weight_dtype(cfg, self.device),
        )  # fmt: skip

    def make_scorer(self, model: Any) -> torch.nn.Module:
        """The module that maps a :class:`~oversight_ext.reward.batching.Batch` to one reward per sequence."""
        return Scorer(model)

    def tokenize(self) -> None:
        """Tokenise once; every epoch then only gathers ids."""
        cfg, train = self.cfg, self.train_frame
        limit = min(cfg.max_length, context_length(self.model))
        if cfg.objective == "pairwise":
            self.chosen, cut1 = encode(self.tokenizer, train["chosen"].to_list(), limit, overlong=cfg.overlong)
            self.rejected, cut2 = encode(self.tokenizer, train["rejected"].to_list(), limit, overlong=cfg.overlong)
            self.truncated = cut1 + cut2
            lens = np.maximum([len(x) for x in self.chosen], [len(x) for x in self.rejected])
            groups = train["group_id"].to_list() if "group_id" in train.columns else list(range(train.height))
        else:
            self.chosen, self.truncated = encode(self.tokenizer, train["text"].to_list(), limit, overlong=cfg.overlong)
            self.rejected, lens, groups = [], np.array([len(x) for x in self.chosen]), list(range(train.height))
        if self.truncated:
            warnings.warn(
                f"{self.truncated} sequences were longer than {limit} tokens and were truncated; raise max_length or set overlong='refuse'",
                stacklevel=4,
            )
        units: dict[Any, list[int]] = {}
        for i, g in enumerate(groups):
            units.setdefault(g, []).append(i)
        self.unit_rows = list(units.values())
        self.unit_len = np.array([int(lens[r].max()) for r in self.unit_rows])
        self.unit_size = np.array([len(r) for r in self.unit_rows])
        cols: dict[str, torch.Tensor] = {
            k: torch.tensor(train[k].to_numpy(), dtype=torch.float32) for k in ("weight", "margin", "label") if k in train.columns
        }
        if not cfg.use_margin and "margin" in cols:
            cols["margin"] = torch.zeros_like(cols["margin"])
        if "tie" in train.columns:
            cols["tie"] = torch.tensor(train["tie"].to_numpy())
        if "weight" not in cols:
            cols["weight"] = torch.ones(train.height)
        self.cols = cols

    def plan(self) -> None:
        """Micro-batch size, steps per epoch and the total number of optimiser steps."""
        cfg = self.cfg
        self.micro = max(cfg.batch_size // (cfg.grad_accum * self.world), 1)
        first = plan_batches(self.unit_len, self.unit_size, self.micro, self.batching, cfg.group_window, np.random.default_rng(cfg.seed))
        self.steps_per_epoch = max(len(first) // (cfg.grad_accum * self.world), 1)
        self.total = cfg.max_steps or max(math.ceil(cfg.epochs * self.steps_per_epoch), 1)
        self._plans: dict[int, list[np.ndarray]] = {}

    def create_optimizer(self) -> None:
        """AdamW (weight decay on matrices only) and linear warm-up then linear decay."""
        cfg = self.cfg
        named = [(n, p) for n, p in self.wrapped.named_parameters() if p.requires_grad]
        groups: list[dict[str, Any]] = [
            {"params": [p for _, p in named if p.ndim > 1], "weight_decay": cfg.weight_decay},
            {"params": [p for _, p in named if p.ndim <= 1], "weight_decay": 0.0},
        ]
        try:
            # The fused kernel updates all parameters in one pass (CPU and GPU); the update is the same AdamW.
            self.opt = torch.optim.AdamW(groups, lr=cfg.learning_rate, fused=self.world == 1 or cfg.distributed == "ddp")
        except (RuntimeError, TypeError):
            self.opt = torch.optim.AdamW(groups, lr=cfg.learning_rate)
        total, warm = self.total, int(cfg.warmup_ratio * self.total)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: min((s + 1) / max(warm, 1), max(total - s, 0) / max(total - warm, 1))
        )

    # -- batches ---------------------------------------------------------------------------------

    def micro_batch(self, k: int) -> list[int]:
        """Rows of micro-batch ``k`` of the whole run, the same on every process and after a resume."""
        cfg = self.cfg
        epoch, idx = divmod(k, self.steps_per_epoch * cfg.grad_accum * self.world)
        if epoch not in self._plans:
            self._plans.clear()
            rng = np.random.default_rng([cfg.seed, epoch])
            self._plans[epoch] = plan_batches(self.unit_len, self.unit_size, self.micro, self.batching, cfg.group_window, rng)
        plan = self._plans[epoch]
        # A set smaller than one step of micro-batches wraps around rather than running dry.
        return [r for u in plan[idx % len(plan)] for r in self.unit_rows[u]]

    def micro_batches(self, step: int) -> list[tuple[list[int], Batch, dict[str, torch.Tensor]]]:
        """This process's micro-batches of optimiser step ``step``: (rows, collated batch, per-row columns)."""
        cfg, out = self.cfg, []
        multiple = cfg.pad_to_multiple_of or (8 if self.device.type == "cuda" else 0)
        pad = self.tokenizer.pad_token_id
        for m in range(cfg.grad_accum):
            rows = self.micro_batch((step * cfg.grad_accum + m) * self.world + self.rank)
            seqs = (
                [self.chosen[i] for i in rows] + [self.rejected[i] for i in rows]
                if cfg.objective == "pairwise"
                else [self.chosen[i] for i in rows]
            )
            starts = None if self.pair_starts is None else np.tile(self.pair_starts[rows], 2)
            if self.batching == "bucketed":
                b = collate_buckets(seqs, pad, overhead=cfg.bucket_overhead, multiple=multiple, starts=starts).to(self.device)
            else:
                b = collate(seqs, pad, packed=self.batching == "packed", multiple=multiple, starts=starts).to(self.device)
            out.append((rows, b, {k: v[rows].to(self.device) for k, v in self.cols.items()}))
        return out

    # -- step ------------------------------------------------------------------------------------

    def compute_loss(self, batch: Batch, ex: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, accuracy) of one micro-batch."""
        return reward_model_loss(self.wrapped(batch).float(), ex, self.cfg)

    def training_step(self, step: int) -> tuple[float, float]:
        """Forward and backward over the step's micro-batches, clip, and update; returns (loss, accuracy)."""
        cfg = self.cfg
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()
        step_loss = step_acc = 0.0
        parts = self.micro_batches(step)
        for m, (rows, b, ex) in enumerate(parts):
            sync = m == len(parts) - 1 or self.world == 1 or not hasattr(self.wrapped, "no_sync")
            with contextlib.nullcontext() if sync else self.wrapped.no_sync(), autocast:  # type: ignore[operator]
                loss, acc = self.compute_loss(b, ex)
            if not torch.isfinite(loss):
                raise ValueError(
                    f"the training loss is {loss.item()} at step {step + 1}: lower learning_rate (now {cfg.learning_rate}), "
                    "check the margins for NaN or infinite values, or use precision='fp32'. Nothing was saved"
                )
            (loss / cfg.grad_accum).backward()
            step_loss += loss.item() / cfg.grad_accum
            step_acc += float(acc) / cfg.grad_accum
            self.seen += len(rows) * self.world
            self.tokens += b.tokens
            self.padded += b.padded
        if cfg.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(self.wrapped.parameters(), cfg.max_grad_norm)
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad(set_to_none=True)
        return step_loss, step_acc

    # -- evaluation and save ---------------------------------------------------------------------

    def evaluate(self, pairs: pl.DataFrame | None = None) -> dict[str, float] | None:
        """Held-out pairwise accuracy with its interval (:func:`.evaluate.pairwise_accuracy`), or None without pairs."""
        pairs = self.eval_data if pairs is None else pairs
        if pairs is None or self.cfg.objective != "pairwise" or "tie" not in pairs.columns or not pairs.filter(~pl.col("tie")).height:
            return None
        from .evaluate import pairwise_accuracy

        return pairwise_accuracy(self.model, self.tokenizer, pairs, batch_size=self.cfg.eval_batch_size, max_length=self.cfg.max_length)

    def save(self, losses: list[float], evaluation: dict[str, float] | None) -> Path | None:
        """Write the model atomically to ``out_dir`` (rank 0) with its config and provenance; drop the work folder."""
        out, work = self.out, self.work
        full = checkpoint.full_state(self.wrapped) if self.fsdp and out is not None else None
        if out is None or self.rank != 0:
            return None
        info = {
            "config": self.cfg.to_dict(),
            "backbone": self.backbone,
            "steps": self.done,
            **({"planned_steps": self.total} if self.done < self.total else {}),
            "train_rows": self.train_frame.height,
            "final_loss": losses[-1] if losses else None,
            **({"eval": evaluation} if evaluation else {}),
        }
        save_reward_model(
            self.model,
            self.tokenizer,
            out,
            {**info, **self.meta},
            extra_files={"metrics.jsonl": work / "metrics.jsonl"} if work else None,
            state_dict=full,
            merged=self.cfg.lora_r > 0,
            merged_model=self.full_precision_merge() if self.cfg.quantization != "none" else None,
        )
        shutil.rmtree(work, ignore_errors=True)  # type: ignore[arg-type]
        return out

    def full_precision_merge(self) -> Any:
        """QLoRA's merged export: the adapters folded into a full-precision copy of the backbone on the CPU."""
        base, _ = self.load_full_precision()
        return merged_onto(base, self.model)

    def load_full_precision(self) -> tuple[Any, Any]:
        return load_backbone(self.backbone, seed=self.cfg.seed, device="cpu")

    def out_of_time(self, elapsed: float) -> bool:
        """Whether ``max_seconds`` has passed; under several processes rank 0's clock decides for all."""
        over = elapsed >= self.cfg.max_seconds
        if self.world > 1:
            flag = torch.tensor([float(over)], device=self.device)
            torch.distributed.broadcast(flag, 0)
            over = bool(flag.item())
        return over

    # -- the loop --------------------------------------------------------------------------------

    def train(self) -> TrainResult:
        """Run every stage: setup, the optimiser steps (logging, checkpoints), evaluation, save."""
        self.setup()
        cfg, total, start = self.cfg, self.total, self.start
        if self.work is not None and self.rank == 0:
            self.work.mkdir(parents=True, exist_ok=True)
        log = open(self.work / "metrics.jsonl", "a") if self.work is not None and self.rank == 0 else None  # noqa: SIM115
        losses: list[float] = []
        self.seen = self.tokens = self.padded = 0
        self.done = start
        t0 = time.perf_counter()
        bar = tqdm(total=total, initial=start, desc="train reward model", disable=not self.progress or self.rank != 0)
        try:
            for step in range(start, total):
                step_loss, step_acc = self.training_step(step)
                losses.append(step_loss)
                self.done = step + 1
                bar.update(1)
                bar.set_postfix(loss=f"{step_loss:.4f}")
                if log is not None and ((step + 1) % cfg.log_every == 0 or step + 1 == total):
                    el = time.perf_counter() - t0
                    rec = {"step": step + 1, "loss": step_loss, "accuracy": step_acc, "lr": self.sched.get_last_lr()[0],
                           "examples_per_s": self.seen / el, "padding_fraction": 1 - self.tokens / max(self.padded, 1), "elapsed_s": el}  # fmt: skip
                    log.write(json.dumps(rec) + "\n")
                    log.flush()
                if self.work is not None and cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0 and step + 1 < total:
                    checkpoint.save(
                        self.work, self.wrapped, self.model, self.opt, self.sched, step + 1, self.signature,
                        self.train_frame.height, rank=self.rank, fsdp=self.fsdp,
                    )  # fmt: skip
                if cfg.max_seconds and step + 1 < total and self.out_of_time(time.perf_counter() - t0):
                    warnings.warn(
                        f"reward training stopped at step {step + 1} of {total}: max_seconds = {cfg.max_seconds} passed", stacklevel=2
                    )
                    break
        finally:
            bar.close()
            if log is not None:
                log.close()
        seconds = time.perf_counter() - t0
        self.model.eval()
        if not self.fsdp:  # FSDP's flat parameters are gathered in their own dtype as the model saves
            settle_dtypes(self.model)
        evaluation = self.evaluate() if self.rank == 0 else None
        out = self.save(losses, evaluation)
        if cfg.quantization != "none":
            release_cpu_repacking(self.model)  # training and its evaluation are done: score as a plain reload does
        if self.world > 1:
            torch.distributed.barrier()
        return TrainResult(
            self.model, self.tokenizer, self.done - start, self.seen, seconds, self.tokens, self.padded, self.truncated, losses,
            out if out is not None else self.out, evaluation,
        )  # fmt: skip


def train_reward_model(
    train: pl.DataFrame | RewardDataset,
    config: RewardTrainingConfig | None = None,
    *,
    backbone: str = "tiny",
    out_dir: str | os.PathLike[str] | None = None,
    model: Any = None,
    tokenizer: Any = None,
    progress: bool = True,
    meta: dict[str, Any] | None = None,
    eval_data: pl.DataFrame | RewardDataset | None = None,
    trainer: type[RewardTrainer] = RewardTrainer,
) -> TrainResult:
    """Train a reward model on a pairwise or pointwise frame (:mod:`oversight_ext.reward.data`) or a
    :class:`~oversight_ext.reward.dataset.RewardDataset` (whose provenance is saved with the model).

    With ``out_dir`` the model is saved there (atomically) and checkpoints plus the metrics
    log go to ``<out_dir>.work`` while training runs. ``eval_data`` (held-out pairs) is scored
    after training and its figures kept in the result and the saved metadata. ``trainer``: a
    :class:`RewardTrainer` subclass with replaced stages.
    """
    cfg = config or RewardTrainingConfig()
    if cfg.reward != "head" and trainer is RewardTrainer:
        from .implicit import ImplicitRewardTrainer

        trainer = ImplicitRewardTrainer
    return trainer(
        train, config, backbone=backbone, out_dir=out_dir, model=model, tokenizer=tokenizer, progress=progress, meta=meta,
        eval_data=eval_data,
    ).train()  # fmt: skip
