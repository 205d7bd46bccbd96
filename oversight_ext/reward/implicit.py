"""Training with the implicit reward: the causal LM is tuned on preferences by DPO's loss.

:class:`ImplicitRewardTrainer` replaces three stages of :class:`~.train.RewardTrainer`: the
model is a causal LM (optionally with LoRA), the reference log-likelihoods of every training
text are computed once with the starting weights (so no second model is held in memory),
and the loss is Bradley-Terry on d = beta * ((log p(c) - log p_ref(c)) - (log p(r) - log p_ref(r))).
Both log-likelihoods of a pair are summed over the tokens after the pair's shared prefix only:
the prefix's terms are equal in the two texts and cancel in d.

``reward = "likelihood"`` drops the reference: r(x) = beta * log p_tuned(x), so the untrained
model's ranking IS the zero-shot likelihood ratio and training moves it from there.
The saved folder is the tuned LM (or its adapters and a merged copy); :func:`load_implicit_reward_model`
gives back a scorer with the reference rebuilt from the backbone the metadata names.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from .batching import Batch, collate, collate_shared, collate_shared_buckets
from .config import RewardTrainingConfig
from .lm import LogLikelihood, frozen_states, load_causal_lm, pair_logprobs, sequence_logprobs, shared_prefix, trained_from
from .model import MARKER, _prepare_tokenizer
from .objectives import preference_loss
from .precision import weight_dtype
from .train import RewardTrainer

__all__ = ["LM_REWARDS", "ImplicitReward", "ImplicitRewardTrainer", "load_implicit_reward_model"]

#: ``RewardTrainingConfig.reward`` values whose reward is read from the causal LM's log-likelihood.
LM_REWARDS = ("implicit", "likelihood")


class ImplicitRewardTrainer(RewardTrainer):
    """DPO on a causal LM; every other stage (batches, schedule, checkpoints, save) is the base trainer's."""

    def setup_model(self) -> None:
        if self.cfg.batching == "packed":
            raise ValueError("batching = 'packed' is for the classifier head: the implicit reward reads padded batches ('bucketed')")
        super().setup_model()

    def load_model(self) -> tuple[Any, Any]:
        return load_causal_lm(
            self.backbone, seed=self.cfg.seed, device=str(self.device), quantization=self.cfg.quantization,
            dtype=weight_dtype(self.cfg, self.device),
        )  # fmt: skip

    def make_scorer(self, model: Any) -> torch.nn.Module:
        return LogLikelihood(model, first_layer=self.first_layer or 0)

    def load_full_precision(self) -> tuple[Any, Any]:
        return load_causal_lm(self.backbone, seed=self.cfg.seed, device="cpu")

    def tokenize(self) -> None:
        super().tokenize()
        # Only the tokens after a pair's shared prefix differ between its two log-likelihoods.
        self.pair_starts = np.array([shared_prefix(c, r) for c, r in zip(self.chosen, self.rejected, strict=True)])
        self.first_layer: int | None = None
        self.frozen: list[torch.Tensor] | None = None
        if self.cfg.share_prefix and self.cfg.cache_frozen_layers and self.world == 1:
            self.first_layer = trained_from(self.model)
            if self.first_layer:
                self.frozen = self._frozen_states(self.first_layer)
        self._eval_ref: tuple[np.ndarray, np.ndarray] | None = None
        if self.cfg.reward == "likelihood":  # no reference: the reward is the tuned model's own log-likelihood
            self.cols["ref_chosen"] = self.cols["ref_rejected"] = torch.zeros(len(self.chosen))
        else:
            # The reference is the model as it starts (LoRA's zero-initialised B leaves it unchanged), scored once per pair.
            self.cols["ref_chosen"] = torch.tensor(self._logprobs(self.chosen), dtype=torch.float32)
            self.cols["ref_rejected"] = torch.tensor(self._logprobs(self.rejected), dtype=torch.float32)
        if self.eval_data is not None and "chosen" in self.eval_data.columns:
            hard = self.eval_data.filter(~pl.col("tie")) if "tie" in self.eval_data.columns else self.eval_data
            if hard.height and self.cfg.reward == "likelihood":
                self._eval_ref = (np.zeros(hard.height), np.zeros(hard.height))
            elif hard.height:
                self._eval_ref = pair_logprobs(
                    self.model, self.tokenizer, hard["chosen"].to_list(), hard["rejected"].to_list(), max_length=self.cfg.max_length
                )

    def _frozen_states(self, upto: int) -> list[torch.Tensor]:
        """Per pair, the hidden states of its shared-prefix row entering layer ``upto`` (no layer below it is trained)."""
        assert self.pair_starts is not None
        lens = np.array([len(c) + len(r) for c, r in zip(self.chosen, self.rejected, strict=True)]) - self.pair_starts
        order, out = np.argsort(lens, kind="stable"), [torch.empty(0)] * len(lens)
        was = self.model.training
        self.model.eval()
        for at in range(0, len(order), self.cfg.eval_batch_size):
            idx = order[at : at + self.cfg.eval_batch_size]
            b = collate_shared(
                [self.chosen[i] for i in idx], [self.rejected[i] for i in idx], self.pair_starts[idx], self.tokenizer.pad_token_id
            )
            states = frozen_states(self.model, b.to(self.device), upto)
            for k, i in enumerate(idx):
                out[i] = states[k, : lens[i]].clone()
        self.model.train(was)
        return out

    def _logprobs(self, seqs: list[list[int]]) -> np.ndarray:
        scorer, out = LogLikelihood(self.model), np.zeros(len(seqs))
        assert self.pair_starts is not None  # set by tokenize before this runs
        order = np.argsort([len(s) for s in seqs], kind="stable")
        was = self.model.training
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), self.cfg.eval_batch_size):
                idx = order[start : start + self.cfg.eval_batch_size]
                b = collate([seqs[i] for i in idx], self.tokenizer.pad_token_id, packed=False, starts=self.pair_starts[idx])
                out[idx] = scorer(b.to(self.device)).double().cpu().numpy()
        self.model.train(was)
        return out

    def micro_batches(self, step: int) -> list[tuple[list[int], Batch, dict[str, torch.Tensor]]]:
        """The base trainer's micro-batches, or with ``share_prefix`` one row per pair (its shared prefix once)."""
        cfg = self.cfg
        if not cfg.share_prefix or self.pair_starts is None:
            return super().micro_batches(step)
        multiple = cfg.pad_to_multiple_of or (8 if self.device.type == "cuda" else 0)
        pad, out = self.tokenizer.pad_token_id, []
        for m in range(cfg.grad_accum):
            rows = self.micro_batch((step * cfg.grad_accum + m) * self.world + self.rank)
            c, r, st = [self.chosen[i] for i in rows], [self.rejected[i] for i in rows], self.pair_starts[rows]
            embeds = None if self.frozen is None else [self.frozen[i] for i in rows]
            if self.batching == "bucketed":
                b = collate_shared_buckets(c, r, st, pad, overhead=cfg.bucket_overhead, multiple=multiple, embeds=embeds)
            else:
                b = collate_shared(c, r, st, pad, multiple=multiple, embeds=embeds)
            out.append((rows, b.to(self.device), {k: v[rows].to(self.device) for k, v in self.cols.items()}))
        return out

    def compute_loss(self, batch: Batch, ex: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        lc, lr = self.wrapped(batch).float().chunk(2)
        d = self.cfg.beta * ((lc - ex["ref_chosen"]) - (lr - ex["ref_rejected"]))
        return preference_loss(d, ex)

    def evaluate(self, pairs: Any = None) -> dict[str, float] | None:
        """Held-out pairwise accuracy of the implicit reward (reference log-likelihoods from the starting weights)."""
        import polars as pl

        from .evaluate import _wilson

        pairs = self.eval_data if pairs is None else pairs
        if pairs is None or self._eval_ref is None:
            return None
        hard = pairs.filter(~pl.col("tie")) if "tie" in pairs.columns else pairs
        lc, lr = pair_logprobs(
            self.model, self.tokenizer, hard["chosen"].to_list(), hard["rejected"].to_list(), max_length=self.cfg.max_length
        )
        d = (lc - self._eval_ref[0]) - (lr - self._eval_ref[1])
        k = int((d > 0).sum())
        lo, hi = _wilson(k, hard.height)
        return {"accuracy": k / max(hard.height, 1), "n": hard.height, "ci_low": lo, "ci_high": hi}


@dataclass
class ImplicitReward:
    """Scores texts by beta * (log p_model - log p_reference). ``reference`` None: the model with its
    LoRA adapters switched off (a LoRA model), else give it to :meth:`score`. ``relative`` False:
    the likelihood reward, beta * log p_model, which needs no reference."""

    model: Any
    reference: Any
    tokenizer: Any
    beta: float
    max_length: int = 512
    relative: bool = True

    def _reference(self, reference_model: Any, logprobs: Any) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        ref_model = reference_model or self.reference
        if ref_model is not None:
            return logprobs(ref_model)  # type: ignore[no-any-return]
        if hasattr(self.model, "disable_adapter"):
            with self.model.disable_adapter():
                return logprobs(self.model)  # type: ignore[no-any-return]
        raise ValueError("the implicit reward needs its reference: give reference_model (the untrained backbone) or train with LoRA")

    def score(self, texts: list[str], *, reference_model: Any = None) -> np.ndarray:
        def logprobs(m: Any) -> np.ndarray:
            return sequence_logprobs(m, self.tokenizer, texts, max_length=self.max_length)

        lp = logprobs(self.model)
        return self.beta * (lp - self._reference(reference_model, logprobs)) if self.relative else self.beta * lp

    def pairwise_accuracy(self, pairs: Any, *, reference_model: Any = None, reference_margin: np.ndarray | None = None) -> dict[str, Any]:
        """Share of untied pairs the reward ranks right, with a 95 % Wilson interval and the per-pair margins.

        Only the tokens after each pair's shared prefix are scored. ``reference_margin``: the
        reference's log p(chosen) - log p(rejected) per untied pair, when already known (it is the
        zero-shot baseline's ``margin``), so the reference is not run again.
        """
        from .evaluate import _wilson

        hard = pairs.filter(~pl.col("tie")) if "tie" in pairs.columns else pairs
        if reference_margin is not None and len(reference_margin) != hard.height:
            raise ValueError(
                f"reference_margin has {len(reference_margin)} values for {hard.height} untied pairs: give the margins of these pairs"
            )

        def logprobs(m: Any) -> tuple[np.ndarray, np.ndarray]:
            return pair_logprobs(m, self.tokenizer, hard["chosen"].to_list(), hard["rejected"].to_list(), max_length=self.max_length)

        lc, lr = logprobs(self.model)
        d = lc - lr
        if self.relative:
            if reference_margin is None:
                rc, rr = self._reference(reference_model, logprobs)
                reference_margin = rc - rr
            d = d - reference_margin
        k = int((d > 0).sum())
        lo, hi = _wilson(k, hard.height)
        return {"accuracy": k / max(hard.height, 1), "n": hard.height, "ci_low": lo, "ci_high": hi, "margin": self.beta * d}


def load_implicit_reward_model(path: str | os.PathLike[str], *, device: str = "cpu") -> tuple[ImplicitReward, dict[str, Any]]:
    """(scorer, meta) of a folder saved by an implicit-reward run. A LoRA run's adapters go back onto the
    backbone its metadata names (in the dtype training held it in on this device), which with its adapters
    off is the reference; a fully tuned model is read whole, its reference rebuilt from that backbone."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    p = Path(path)
    if not (p / MARKER).is_file():
        raise ValueError(f"model folder {str(p)!r} holds no finished reward model ({MARKER} missing): train one with `oversight train-rm`")
    meta = json.loads((p / MARKER).read_text())
    cfg = meta.get("config", {})
    if cfg.get("reward") not in LM_REWARDS:
        raise ValueError(f"model folder {str(p)!r} holds a classifier-head reward model: load it with reward.model.load_reward_model")
    beta, length, seed = float(cfg.get("beta", 0.1)), int(cfg.get("max_length", 512)), int(cfg.get("seed", 0))
    relative = cfg["reward"] == "implicit"
    model: Any
    if (p / "adapter_config.json").is_file():
        tok = _prepare_tokenizer(AutoTokenizer.from_pretrained(p / "merged" if (p / "merged").is_dir() else p))
        try:
            base, _ = load_causal_lm(
                str(meta["backbone"]),
                seed=seed,
                device=device,
                dtype=weight_dtype(RewardTrainingConfig.from_dict(cfg), torch.device(device)),
            )
        except (OSError, ValueError):
            if relative:
                raise
            base = None  # the likelihood reward needs no reference: the merged copy scores alone
        if base is not None:
            # The adapters on the backbone they trained on, and that backbone with them switched off as the
            # reference: exact, and one model in memory. merged/ folds the adapters into the weights' dtype,
            # and in bf16 that rounding is of the size of a short run's change (4 % of the rewards at lr 3e-4).
            from peft import PeftModel

            model = PeftModel.from_pretrained(base, p).eval()
            return ImplicitReward(model, None, tok, beta, length, relative=relative), meta
    folder = p / "merged" if (p / "adapter_config.json").is_file() else p
    if not (p / "adapter_config.json").is_file():
        tok = _prepare_tokenizer(AutoTokenizer.from_pretrained(folder))
    model = AutoModelForCausalLM.from_pretrained(folder)
    model = model.to(device).eval()
    if not relative:
        return ImplicitReward(model, None, tok, beta, length, relative=False), meta
    # The reference in the tuned weights' dtype: a tuned model in fp32 against a bf16 reference (or the
    # reverse) would add the rounding difference of the two dtypes to every reward.
    dtype = next(model.parameters()).dtype
    reference, _ = load_causal_lm(str(meta["backbone"]), seed=seed, device=device, dtype=dtype)
    return ImplicitReward(model, reference.eval(), tok, beta, length), meta
