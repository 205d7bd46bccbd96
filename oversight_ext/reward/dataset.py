"""A reward dataset with its provenance, built from a study, an items file or a preference file.

:class:`RewardDataset` holds the training frame (pairwise or pointwise, :mod:`.data`'s
schemas), the items behind it (so mutation pairs and critiques can be made; none for a
preference file) and a ``provenance`` dict saying where every label came from (study and
conditions with the aggregation, or a file's absolute path), which the trainer saves beside
the model. The CLI, the notebooks and the benchmarks build datasets through these functions
only, so a notebook run and ``oversight train-rm`` train on the same rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from oversight_ext.records import Critique, Item

from .config import RewardTrainingConfig
from .data import augment_with_mutations, critiques_for, pairs_from_items, pointwise_from_items, read_preferences, split_by_pair

__all__ = ["RewardDataset", "from_items", "from_items_file", "from_preferences", "from_study", "is_preference_file", "load_dataset"]

#: Called with (number of items, assistant name) before the items are critiqued (it takes a while).
OnCritique = Callable[[int, str], None]


@dataclass(frozen=True)
class RewardDataset:
    """Rows to train or score on, the items they were made from, and where their labels came from."""

    frame: pl.DataFrame
    provenance: dict[str, Any]
    items: Mapping[str, Item] | None = None
    labels: pl.DataFrame | None = field(default=None, repr=False)
    critiques: Mapping[str, Critique] | None = field(default=None, repr=False)

    @property
    def height(self) -> int:
        return self.frame.height

    def split(self, eval_fraction: float, seed: int) -> tuple[RewardDataset, RewardDataset]:
        """(train, held-out) by whole ``pair_id`` groups (:func:`.data.split_by_pair`)."""
        train, held = split_by_pair(self.frame, eval_fraction, seed)
        return replace(self, frame=train), replace(self, frame=held)

    def augmented(self, config: RewardTrainingConfig, *, seed: int) -> RewardDataset:
        """With ``config.mutation_pairs`` synthetic pairs per pair (training splits only)."""
        return replace(self, frame=augment_with_mutations(self.frame, self.items, config, seed=seed))


def is_preference_file(path: str | os.PathLike[str]) -> bool:
    """A parquet file, or JSONL whose first row has ``chosen`` and ``rejected`` (else an items file)."""
    p = Path(path)
    if p.suffix == ".parquet":
        return True
    with open(p, encoding="utf-8") as fh:
        first = fh.readline()
    try:
        return {"chosen", "rejected"} <= set(json.loads(first))
    except (json.JSONDecodeError, TypeError):
        return False


def _limit(items: Sequence[Item], limit: int, paired: bool) -> list[Item]:
    """The items of the first ``limit`` pair_ids in sorted order (all with 0); ``paired``: only
    items with a pair_id count, as only they make pairs."""
    if not limit:
        return list(items)
    keep = set(sorted({it.pair_id or it.id for it in items if it.pair_id or not paired})[:limit])
    return [it for it in items if (it.pair_id or it.id) in keep]


def _first_pair_ids(frame: pl.DataFrame, limit: int) -> pl.DataFrame:
    if not limit:
        return frame
    keep = sorted(set(frame["pair_id"].to_list()))[:limit]
    return frame.filter(pl.col("pair_id").is_in(keep))


def _critiques(
    items: Sequence[Item], config: RewardTrainingConfig, store: Any, on_critique: OnCritique | None
) -> dict[str, Critique] | None:
    if not config.critique:
        return None
    if on_critique is not None:
        on_critique(len(items), config.critique)
    try:
        return critiques_for(items, config.critique, store=store, progress=True)
    except ValueError as exc:
        raise ValueError(f"critique = {config.critique!r}: {exc}") from None


def from_items(
    items: Sequence[Item],
    config: RewardTrainingConfig | None = None,
    *,
    labels: pl.DataFrame | None = None,
    critiques: Mapping[str, Critique] | None = None,
    provenance: dict[str, Any] | None = None,
    limit: int = 0,
    max_pairs_per_group: int = 0,
) -> RewardDataset:
    """Pairs (or pointwise rows, by ``config.objective``) of ``items`` labelled by gold or ``labels``.

    ``max_pairs_per_group`` (0: all) samples the pairs of large pair_id groups (:func:`.data.pairs_from_items`).
    """
    cfg = config or RewardTrainingConfig()
    if cfg.objective == "pairwise":
        frame = pairs_from_items(
            items, labels=labels, text_format=cfg.text_format, seed=cfg.seed, critiques=critiques, max_pairs_per_group=max_pairs_per_group
        )
    else:
        frame = pointwise_from_items(items, labels=labels, text_format=cfg.text_format, critiques=critiques)
    prov = {"labels": "gold" if labels is None else "judgments", "critique": cfg.critique or None, **(provenance or {})}
    return RewardDataset(_first_pair_ids(frame, limit), prov, {it.id: it for it in items}, labels, critiques)


def from_items_file(
    path: str | os.PathLike[str],
    config: RewardTrainingConfig | None = None,
    *,
    language: str | None = None,
    limit: int = 0,
    on_critique: OnCritique | None = None,
) -> RewardDataset:
    """Gold pairs of an items ``.jsonl`` (correct over buggy within each pair_id)."""
    from oversight_ext.items import load_jsonl

    cfg = config or RewardTrainingConfig()
    items = _limit([it for it in load_jsonl(path) if language is None or it.language == language], limit, paired=True)
    crit = _critiques(items, cfg, None, on_critique)
    prov = {"file": os.path.abspath(path), "kind": "items", "language": language, "limit": limit or None}
    return from_items(items, cfg, critiques=crit, provenance=prov, limit=limit)


def from_preferences(path: str | os.PathLike[str], config: RewardTrainingConfig | None = None, *, limit: int = 0) -> RewardDataset:
    """A chosen/rejected file (JSONL or parquet); it has no items, so no critiques or mutation pairs."""
    cfg = config or RewardTrainingConfig()
    if cfg.critique:
        raise ValueError(
            f"critique = {cfg.critique!r} needs items to critique, and {os.fspath(path)} is a preference file of texts: "
            "train from an items file or a study, or set critique = ''"
        )
    frame = _first_pair_ids(read_preferences(path), limit)
    return RewardDataset(frame, {"file": os.path.abspath(path), "kind": "preferences", "labels": "file", "limit": limit or None})


def from_study(
    store: Any,
    study: str,
    config: RewardTrainingConfig | None = None,
    *,
    conditions: Sequence[str] | None = None,
    limit: int = 0,
    on_critique: OnCritique | None = None,
) -> RewardDataset:
    """Rows from a study's judgments, aggregated across raters (:func:`.labels.judgment_labels`)."""
    from .labels import judgment_labels

    cfg = config or RewardTrainingConfig()
    store.study(study)  # an unknown study stops here with the store's own message
    lab = judgment_labels(
        store, study, method=cfg.aggregation, conditions=conditions,
        condition_weights=cfg.condition_weights, reliability_weighting=cfg.reliability_weighting,
    )  # fmt: skip
    items = _limit(list(store.iter_items(ids=lab["item_id"].to_list())), limit, cfg.objective == "pairwise")
    crit = _critiques(items, cfg, store, on_critique)
    prov = {
        "study": study,
        "conditions": ",".join(conditions) if conditions else None,
        "aggregation": cfg.aggregation,
        "condition_weights": dict(cfg.condition_weights),
        "reliability_weighting": cfg.reliability_weighting,
        "judged_items": lab.height,
    }
    return from_items(items, cfg, labels=lab, critiques=crit, provenance=prov, limit=limit)


def load_dataset(
    source: str | os.PathLike[str],
    config: RewardTrainingConfig | None = None,
    *,
    db: str | None = None,
    language: str | None = None,
    conditions: Sequence[str] | None = None,
    limit: int = 0,
    on_critique: OnCritique | None = None,
) -> RewardDataset:
    """The dataset ``source`` names: a preference file, an items file, or else a study in the store at ``db``."""
    src = Path(source)
    if src.is_file():
        if is_preference_file(src):
            return from_preferences(src, config, limit=limit)
        return from_items_file(src, config, language=language, limit=limit, on_critique=on_critique)
    from oversight_ext.store import Store

    with Store(db) as store:
        return from_study(store, os.fspath(source), config, conditions=conditions, limit=limit, on_critique=on_critique)
