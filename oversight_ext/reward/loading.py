"""One loader for any folder ``oversight train-rm`` wrote: a texts-to-rewards scorer and what it reads.

The heat strip (:mod:`.heatstrip`) and the ``rm`` assistant (:mod:`.critic`) both turn a saved
model into a scorer; the folder's metadata says which kind it is: a classifier head, or a
language-model reward (implicit or likelihood), which has no head for gradients.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LoadedReward", "ModelFolderError", "load_reward"]


class ModelFolderError(ValueError):
    """The reward-model folder is missing or holds no finished model."""


@dataclass(frozen=True)
class LoadedReward:
    """``score`` maps texts to rewards; ``text_format`` is what the model was trained to read. ``head``:
    (model, tokenizer, max_length) of a classifier-head model (integrated gradients need it), None for an LM reward."""

    score: Callable[[list[str]], np.ndarray]
    text_format: str
    kind: str
    head: tuple[Any, Any, int] | None


def load_reward(folder: str) -> LoadedReward:
    """The scorer of a saved reward model, by the kind its metadata names."""
    from .implicit import LM_REWARDS, load_implicit_reward_model
    from .model import MARKER, load_reward_model, score_texts

    marker = Path(folder) / MARKER
    if not marker.is_file():
        raise ModelFolderError(
            f"reward model folder {folder!r} holds no finished reward model ({MARKER} missing): train one with "
            "`oversight train-rm --out FOLDER`"
        )
    cfg = json.loads(marker.read_text()).get("config", {})
    kind = str(cfg.get("reward", "head"))
    if kind in LM_REWARDS:
        lm, _ = load_implicit_reward_model(folder)
        return LoadedReward(lm.score, str(cfg.get("text_format", "after")), kind, None)
    model, tok, _ = load_reward_model(folder)
    max_length = int(cfg.get("max_length", 512))

    def score(texts: list[str]) -> np.ndarray:
        return score_texts(model, tok, texts, max_length=max_length)

    return LoadedReward(score, str(cfg.get("text_format", "spec+diff")), kind, (model, tok, max_length))
