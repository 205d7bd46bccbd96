"""The ``rm`` backend: a trained reward model as a critic, commenting on the lines that lower its reward.

params:
  top        how many lines to comment on at most (default 2)
  min_delta  a line is commented on only when deleting it raises the reward by more than this (default 0.0)
  method     "occlusion" (default: one scoring per changed line) or "integrated_gradients" (one
             path of ``steps`` gradient evaluations for all lines; classifier-head models only)
  steps      interpolation steps of integrated gradients (default 32)

``model`` names a folder written by ``oversight train-rm`` (classifier head or implicit reward).
Each changed line is occluded in turn (:func:`oversight_ext.reward.attribution.occlusion`);
the lines whose deletion raises the reward most get a comment saying by how much. The verdict
is "buggy" when some line does, else "correct"; the confidence grows with the largest rise.
The critic reads what a rater sees (the view), never gold.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from oversight_ext.assistants.protocol import BaseCritic, Claim, Draft
from oversight_ext.assistants.spec import AssistantConfig
from oversight_ext.records import ItemView

__all__ = ["RewardModelCritic"]


class RewardModelCritic(BaseCritic):
    """Occlusion attributions of a reward model as review comments."""

    def __init__(self, config: AssistantConfig) -> None:
        super().__init__(config.name, config.spec_hash, model=config.model, verbosity=config.verbosity)
        if not config.model:
            raise ValueError(f"rm assistant {config.name!r}: model is empty: give the folder of a model trained by `oversight train-rm`")
        self.top = int(config.params.get("top", 2))
        self.min_delta = float(config.params.get("min_delta", 0.0))
        if self.top < 1:
            raise ValueError(f"rm assistant {config.name!r}: params.top = {self.top} is invalid: give 1 or more")
        self.method = str(config.params.get("method", "occlusion"))
        if self.method not in ("occlusion", "integrated_gradients"):
            raise ValueError(
                f"rm assistant {config.name!r}: params.method = {self.method!r} is unknown: give 'occlusion' or 'integrated_gradients'"
            )
        self.steps = int(config.params.get("steps", 32))
        self.path = config.model
        self._scorer: Any = None
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, str]:
        with self._lock:
            if self._scorer is None:
                from oversight_ext.reward.loading import load_reward

                loaded = load_reward(self.path)
                if loaded.head is None and self.method != "occlusion":
                    raise ValueError(
                        f"rm assistant {self.name!r}: {self.path} is a language-model ({loaded.kind}) reward, which has no "
                        "classifier head for integrated gradients: set params.method = 'occlusion'"
                    )
                self._model = loaded.head
                self._scorer = (loaded.score, loaded.text_format)
            return self._scorer

    def _attributions(self, view: ItemView) -> list[Any]:
        from oversight_ext.reward.attribution import occlusion

        score, text_format = self._load()
        if self.method == "occlusion":
            return occlusion(
                score, before=view.before, after=view.after, diff=view.diff, path=view.path, text_format=text_format, spec=view.spec
            )
        from oversight_ext.reward.gradients import integrated_gradients

        model, tok, max_length = self._model
        attr, _ = integrated_gradients(
            model, tok, before=view.before, after=view.after, diff=view.diff, path=view.path, text_format=text_format,
            spec=view.spec, steps=self.steps, max_length=max_length,
        )  # fmt: skip
        return attr

    def _why(self, a: Any) -> str:
        shown = a.text.strip()[:80]
        if self.method == "occlusion":
            return f"the reward model scores the change {a.delta:.3f} higher without this line: it reads `{shown}` as the problem"
        return (
            f"this line's tokens lower the reward model's score by {a.delta:.3f} (integrated gradients): it reads `{shown}` as the problem"
        )

    def review(self, view: ItemView) -> Draft:
        attr = self._attributions(view)
        worst = [a for a in attr if a.delta > self.min_delta][: self.top]
        claims = [
            Claim(
                start_line=a.line,
                end_line=a.line,
                text=self._why(a),
                severity="major",
                category="bug",
                score=1 / (1 + math.exp(-a.delta)),
            )
            for a in worst
        ]
        if not attr:
            return Draft(verdict=None, summary="The change adds no line the reward model could weigh.", model=self.model)
        top = max(a.delta for a in attr)
        if claims:
            summary = f"The reward model rates {len(claims)} added line(s) as lowering its score; the strongest by {top:.3f}."
            return Draft(claims=claims, verdict="buggy", confidence=1 / (1 + math.exp(-top)), summary=summary, model=self.model)
        how = "change on deletion" if self.method == "occlusion" else "integrated-gradients attribution"
        summary = f"No added line lowers the reward model's score (the largest {how} is {top:.3f})."
        return Draft(verdict="correct", confidence=1 / (1 + math.exp(top)), summary=summary, model=self.model)
