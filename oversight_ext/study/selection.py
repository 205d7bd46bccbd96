"""Choosing a study's items from the store: filters, label balance, a seeded sample, QC items."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from oversight_ext.records import Item
from oversight_ext.store import Store

from .config import ItemSelector, StudyConfig, StudyConfigError

__all__ = ["select_items", "split_qc"]


def _describe(selector: ItemSelector) -> str:
    given = {k: v for k, v in vars(selector).items() if v not in (None, (), False)}
    return ", ".join(f"{k}={v!r}" for k, v in given.items()) or "no filters"


def select_items(store: Store, selector: ItemSelector, seed: int) -> list[Item]:
    """The stored items ``selector`` picks, sorted by id. Deterministic for a seed.

    With ``limit`` (and ``label_balance``) a seeded sample is drawn, so the same seed over the
    same store picks the same items whatever order they were imported in.
    """
    ids: Sequence[str] | None = list(selector.ids) if selector.ids else None
    pool = sorted(store.iter_items(source=selector.source, language=selector.language, ids=ids), key=lambda it: it.id)
    if selector.ids:
        missing = sorted(set(selector.ids) - {it.id for it in pool})
        if missing:
            fix = "these ids are not stored (or fail the other filters); import them or remove them"
            raise StudyConfigError("items.ids", missing[:5], fix)
    if selector.require_gold:
        pool = [it for it in pool if it.label is not None]
    if not pool:
        total = store.count("items")
        raise StudyConfigError(
            "items",
            _describe(selector),
            f"the selector matches none of the {total} stored items, so every condition has no items; "
            "import items (`oversight items import`) or widen the selector",
        )
    rng = np.random.default_rng([seed, 1])
    if selector.label_balance:
        by_label = {lab: [it for it in pool if it.label == lab] for lab in ("buggy", "correct")}
        n = min(len(v) for v in by_label.values())
        if selector.limit is not None:
            n = min(n, selector.limit // 2)
        if n == 0:
            counts = {lab: len(v) for lab, v in by_label.items()}
            raise StudyConfigError("items.label_balance", True, f"the selected items have labels {counts}; balance needs some of each")
        chosen = [v[i] for v in by_label.values() for i in sorted(rng.choice(len(v), size=n, replace=False))]
    elif selector.limit is not None and selector.limit < len(pool):
        chosen = [pool[i] for i in sorted(rng.choice(len(pool), size=selector.limit, replace=False))]
    else:
        chosen = pool
    return sorted(chosen, key=lambda it: it.id)


def split_qc(config: StudyConfig, items: Sequence[Item]) -> tuple[list[Item], list[Item]]:
    """Set aside gold items for quality control: (study items, QC items), both sorted by id.

    Every rater sees QC items from one shared pool, so attentive raters can be compared on
    the same items; the pool is as large as the longest queue needs.
    """
    from .design import qc_count

    if config.qc_rate <= 0:
        return list(items), []
    gold = [it for it in items if it.label is not None]
    per_rater = -(-len(items) * len(config.conditions) * config.overlap // config.n_raters)
    if config.design == "between":
        per_rater = -(-len(items) * config.overlap // max(1, config.n_raters // len(config.conditions)))
    n_qc = qc_count(per_rater, config.qc_rate)
    if len(gold) < n_qc + 1 or len(items) - n_qc < 1:
        raise StudyConfigError(
            "qc_rate",
            config.qc_rate,
            f"QC needs {n_qc} gold items set aside but only {len(gold)} of {len(items)} items have gold; lower qc_rate or add items",
        )
    rng = np.random.default_rng([config.seed, 2])
    if config.items.label_balance:
        # Take QC items in buggy/correct pairs so the study items stay balanced.
        half = -(-n_qc // 2)
        by_label = [[it for it in gold if it.label == lab] for lab in ("buggy", "correct")]
        if min(len(v) for v in by_label) <= half:
            raise StudyConfigError("qc_rate", config.qc_rate, f"QC needs {half} items of each label set aside; lower qc_rate or add items")
        qc_ids = {v[i].id for v in by_label for i in rng.choice(len(v), size=half, replace=False)}
    else:
        qc_ids = {gold[i].id for i in rng.choice(len(gold), size=n_qc, replace=False)}
    return [it for it in items if it.id not in qc_ids], [it for it in items if it.id in qc_ids]
