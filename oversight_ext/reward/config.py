"""`RewardTrainingConfig`: the one set of training options the CLI, notebooks and benchmarks share.

Each field carries its help text in ``metadata["help"]`` so the CLI can show it and a TOML
file can be checked against it. A bad value raises a ``ValueError`` that names the field,
the value and what to write instead.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from typing import Any

from oversight_ext.options import check_fields, option

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["RewardTrainingConfig"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "objective": ("pairwise", "pointwise"),
    "text_format": ("spec+diff", "diff", "spec+after", "after"),
    "overlong": ("truncate", "refuse"),
    "batching": ("auto", "bucketed", "grouped", "packed", "random"),
    "precision": ("auto", "fp32", "bf16"),
    "attn_implementation": ("auto", "sdpa", "eager", "flash_attention_2"),
    "ties": ("drop", "half"),
    "distributed": ("ddp", "fsdp"),
    "reward": ("head", "implicit", "likelihood"),
    "compile": ("auto", "on", "off"),
    "quantization": ("none", "4bit", "8bit"),
}


@dataclass
class RewardTrainingConfig:
    """Options for training one reward model. Load from TOML with :meth:`from_toml`."""

    objective: str = option("pairwise: Bradley-Terry on (chosen, rejected, margin); pointwise: BCE on each item's label", "pairwise")
    reward: str = option(
        "head: a one-output classification head reads the last token; implicit: the causal LM itself is tuned and the "
        "reward is beta * (log p_tuned(text) - log p_start(text)) (DPO), so training starts from what the LM knows "
        "(needs a decoder backbone and objective = 'pairwise'); likelihood: the same without the reference, reward "
        "beta * log p_tuned(text), so the untrained model ranks pairs exactly as the zero-shot likelihood ratio does",
        "head",
    )
    beta: float = option("implicit / likelihood reward: the scale beta of the log-likelihood (ratio) (DPO's KL strength)", 0.1)
    lora_r: int = option("LoRA rank through peft (0: train every weight); the head, if any, is trained in full", 0)
    lora_alpha: int = option("LoRA scaling alpha (the update is scaled by alpha / r)", 16)
    lora_dropout: float = option("dropout on the LoRA branch", 0.0)
    lora_target_modules: list = option(
        "module names LoRA adapts, e.g. ['q_proj', 'v_proj']; empty: every linear layer but the head", default_factory=list
    )
    quantization: str = option(
        "QLoRA: load the backbone's weights quantised by bitsandbytes and train LoRA adapters on top: 4bit (NF4, double "
        "quantisation; bf16 compute on a GPU, fp32 on the CPU), 8bit (LLM.int8), or none; needs lora_r > 0, a backbone "
        "folder, and bitsandbytes >= 0.46.1 (pip install 'oversight_ext[qlora]'), which runs on a CUDA GPU or the CPU",
        "none",
    )
    compile: str = option("torch.compile the scoring module: auto (on a CUDA GPU only, where it pays), on, off", "auto")
    text_format: str = option("what the model reads of an item: spec+diff (what a rater sees), diff, spec+after, after", "spec+diff")
    max_length: int = option("longest sequence in tokens (capped by the backbone's context)", 512)
    overlong: str = option("sequences longer than max_length: truncate (warns with a count) or refuse (stop with an error)", "truncate")
    learning_rate: float = option("AdamW peak learning rate", 5e-5)
    weight_decay: float = option("AdamW weight decay", 0.0)
    warmup_ratio: float = option("fraction of steps with a linear warm-up, then linear decay to zero", 0.05)
    max_grad_norm: float = option("gradient clipping norm (0 disables)", 1.0)
    batch_size: int = option("pairs (pairwise) or items (pointwise) per optimiser step, summed over accumulation and devices", 16)
    grad_accum: int = option("micro-batches accumulated per optimiser step; batch_size must divide by it (and the world size)", 1)
    epochs: float = option("passes over the training set (fractions allowed)", 1.0)
    max_steps: int = option("stop after this many optimiser steps (0: run the epochs)", 0)
    max_seconds: float = option(
        "stop after the optimiser step that passes this many seconds of training (0: no limit); the model, its metadata and "
        "the result say how many steps ran, e.g. to fit a lent GPU's time",
        0.0,
    )
    use_margin: bool = option("subtract the pair's margin inside the Bradley-Terry sigmoid (TRL's convention)", True)
    center_rewards_coefficient: float = option(
        "weight of the reward-centring penalty mean((r_c + r_r)^2), 0 disables (Eisenstein et al. 2023)", 0.0
    )
    ties: str = option("tied pairs: drop them, or half: push both rewards together with the loss -(log s(d) + log s(-d))/2", "drop")
    batching: str = option(
        "bucketed: shuffled batches like TRL's, each computed as length-sorted sub-batches (same gradient, little padding); "
        "grouped: batches of similar lengths (least padding, but changes which examples share a batch); packed: padding-free "
        "rows with position ids (decoder backbones); random: plain shuffled batches like TRL; "
        "auto: on a GPU, packed with flash attention, else one padded pass per batch (random); on the CPU, bucketed",
        "auto",
    )
    share_prefix: bool = option(
        "implicit / likelihood reward: put each pair in one row, the tokens its texts share once and then each text's rest "
        "(a mask keeps the rests apart), so the shared prefix runs once per step instead of twice; the same log-likelihoods "
        "and gradients as scoring the texts apart. Off: chosen and rejected texts in separate padded rows",
        True,
    )
    cache_frozen_layers: bool = option(
        "implicit / likelihood reward with share_prefix, LoRA on the top decoder layers only (Llama-style backbones): run "
        "the frozen layers below them once per pair before training and start every step from their output; the same "
        "log-likelihoods and gradients, a step runs the trained layers only",
        True,
    )
    bucket_overhead: int = option(
        "bucketed batching: an extra forward pass is worth this many padded tokens (higher: fewer, wider sub-batches)", 64
    )
    group_window: int = option("batches per length-sorting window in grouped batching (larger: less padding, less randomness)", 64)
    pad_to_multiple_of: int = option("pad batch lengths to a multiple of this (8 helps tensor cores; 0: auto, 8 on GPU)", 0)
    precision: str = option(
        "fp32, or bf16 autocast (updated weights stay fp32; under LoRA the frozen backbone loads in bf16); "
        "auto uses bf16 on a GPU that supports it, fp32 on the CPU",
        "auto",
    )
    attn_implementation: str = option("attention kernel: auto (flash_attention_2 when installed on GPU, else sdpa), sdpa, eager", "auto")
    disable_dropout: bool = option("turn dropout off, as TRL's RewardTrainer does by default", True)
    critique: str = option(
        "name of an assistant (e.g. 'exec') whose critique of each item is put before the item's text, as an assisted "
        "rater sees it: a reward model that reads the critique; '' reads the item alone",
        "",
    )
    mutation_pairs: int = option(
        "per training pair, add up to this many synthetic pairs made by planting a mutation-operator bug in the chosen "
        "item's code (Python items only; needs items, not a preference file; held-out pairs are never augmented)",
        0,
    )
    seed: int = option("seed for the split, the shuffling and the head's initialisation", 0)
    eval_fraction: float = option("fraction of pair_ids held out for evaluation (0: no held-out set)", 0.2)
    eval_batch_size: int = option("sequences per forward pass when scoring", 32)
    checkpoint_every: int = option("save a resumable checkpoint every N optimiser steps (0: only at the end)", 0)
    resume: bool = option("continue from the newest checkpoint in <out>.work when one exists", True)
    log_every: int = option("write a metrics line every N optimiser steps", 10)
    num_threads: int = option("torch CPU threads (0: torch's default)", 0)
    distributed: str = option("under torchrun/accelerate with several processes: ddp, or fsdp to shard large backbones", "ddp")
    condition_weights: dict = option(
        "per-label weight by study condition name or kind, e.g. {assisted = 0.5}; missing: 1", default_factory=dict
    )
    aggregation: str = option("how labels from several raters of one item combine: majority, confidence, dawid_skene", "dawid_skene")
    reliability_weighting: bool = option("weight each rater's labels by their accuracy on gold QC items", True)

    def __post_init__(self) -> None:
        for name, choices in {**_CHOICES, "aggregation": ("majority", "confidence", "dawid_skene")}.items():
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(f"RewardTrainingConfig.{name} = {value!r} is invalid: use one of {', '.join(map(repr, choices))}")
        if self.reward != "head" and self.objective != "pairwise":
            raise ValueError(
                f"RewardTrainingConfig.reward = {self.reward!r} needs objective = 'pairwise': a language-model reward is learnt "
                "from preferences; set objective = 'pairwise' or reward = 'head'"
            )
        if self.quantization != "none" and not self.lora_r:
            raise ValueError(
                f"RewardTrainingConfig.quantization = {self.quantization!r} needs lora_r > 0: quantised weights are frozen and only "
                "LoRA adapters train; set lora_r (e.g. 16) or quantization = 'none'"
            )
        if not (isinstance(self.beta, (int, float)) and self.beta > 0):
            raise ValueError(f"RewardTrainingConfig.beta = {self.beta!r} is invalid: give a positive number, e.g. 0.1")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"RewardTrainingConfig.lora_dropout = {self.lora_dropout!r} is invalid: give a fraction in [0, 1)")
        if not isinstance(self.lora_target_modules, list) or not all(isinstance(m, str) for m in self.lora_target_modules):
            raise ValueError(
                f"RewardTrainingConfig.lora_target_modules = {self.lora_target_modules!r} is invalid: give a list of module names, "
                "e.g. ['q_proj', 'v_proj'], or [] for every linear layer"
            )
        check_fields(self, ("max_length", "batch_size", "grad_accum", "group_window", "eval_batch_size", "log_every"), "count")
        check_fields(self, ("max_steps", "checkpoint_every", "num_threads", "pad_to_multiple_of", "seed", "bucket_overhead",
                            "mutation_pairs", "lora_r", "lora_alpha"), "whole")  # fmt: skip
        check_fields(self, ("max_seconds",), "nonnegative", fix="give a time budget in seconds >= 0 (0: no limit)")
        if not (isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate < 1):
            raise ValueError(f"RewardTrainingConfig.learning_rate = {self.learning_rate!r} is invalid: give a number in (0, 1), e.g. 5e-5")
        if not 0 <= self.eval_fraction < 1:
            raise ValueError(f"RewardTrainingConfig.eval_fraction = {self.eval_fraction!r} is invalid: give a fraction in [0, 1)")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"RewardTrainingConfig.warmup_ratio = {self.warmup_ratio!r} is invalid: give a fraction in [0, 1)")
        if self.epochs <= 0:
            raise ValueError(f"RewardTrainingConfig.epochs = {self.epochs!r} is invalid: give a positive number of passes")
        if self.batch_size % self.grad_accum:
            raise ValueError(
                f"RewardTrainingConfig.grad_accum = {self.grad_accum} is invalid: batch_size ({self.batch_size}) must divide by it"
            )
        if not isinstance(self.critique, str):
            raise ValueError(f"RewardTrainingConfig.critique = {self.critique!r} is invalid: give an assistant name such as 'exec', or ''")
        if self.critique and self.mutation_pairs:
            raise ValueError(
                f"RewardTrainingConfig.critique = {self.critique!r} and mutation_pairs = {self.mutation_pairs} cannot be combined: "
                "pairs with planted bugs have no critique; set mutation_pairs = 0 or critique = ''"
            )
        if not isinstance(self.condition_weights, dict) or any(
            not isinstance(v, (int, float)) or v < 0 for v in self.condition_weights.values()
        ):
            raise ValueError(
                f"RewardTrainingConfig.condition_weights = {self.condition_weights!r} is invalid: "
                "give a table of condition name or kind to a weight >= 0"
            )

    @classmethod
    def help(cls) -> dict[str, str]:
        """Field name -> help text."""
        return {f.name: f.metadata["help"] for f in dataclasses.fields(cls)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RewardTrainingConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"RewardTrainingConfig has no option {unknown[0]!r}: known options are {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> RewardTrainingConfig:
        """Read a TOML file; options may sit at the top level or under a ``[reward]`` table."""
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ValueError(f"config = {os.fspath(path)!r} does not exist: give the path of a TOML file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"config = {os.fspath(path)!r} is not valid TOML ({exc}): fix the file") from None
        return cls.from_dict(data.get("reward", data))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> RewardTrainingConfig:
        return dataclasses.replace(self, **changes)
