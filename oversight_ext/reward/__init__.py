"""Reward models trained on the labels this tool collects, keeping track of where each label came from.

``dataset`` builds a reward dataset with its provenance from a study, an items file or a
preference file (what the CLI, the notebooks and the benchmarks train on); ``data`` makes the
pairwise / pointwise frames (TRL column names) it holds; ``labels`` aggregates judgments across raters; ``model`` loads, scores and
saves backbones; ``train`` is the trainer (stages a subclass can replace), ``objectives`` its losses; ``evaluate`` measures held-out accuracy,
calibration, the inter-rater ceiling, label-source comparisons and weak-to-strong PGR.
torch and transformers load only when a function needs them.
"""

from __future__ import annotations

from typing import Any

from .config import RewardTrainingConfig
from .data import (
    check_trainable,
    export,
    item_text,
    pairs_from_items,
    pairs_from_rankings,
    pointwise_from_items,
    read_preferences,
    split_by_pair,
)
from .dataset import RewardDataset, load_dataset

__all__ = [
    "RewardDataset",
    "RewardTrainer",
    "RewardTrainingConfig",
    "check_trainable",
    "export",
    "item_text",
    "load_dataset",
    "load_reward_model",
    "pairs_from_items",
    "pairs_from_rankings",
    "pointwise_from_items",
    "read_preferences",
    "score_texts",
    "split_by_pair",
    "train_reward_model",
]

_LAZY = {
    "train_reward_model": "train",
    "RewardTrainer": "train",
    "TrainResult": "train",
    "load_reward_model": "model",
    "load_backbone": "model",
    "score_texts": "model",
    "save_reward_model": "model",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
