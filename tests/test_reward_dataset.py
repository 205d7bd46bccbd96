"""Reward datasets with provenance (study, items file, preference file) and the trainer's replaceable stages."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from test_reward_data import _study, paired_items
from test_reward_train import FAST, synthetic_pairs

from oversight_ext.diffs import make_diff
from oversight_ext.items import write_jsonl
from oversight_ext.reward import RewardTrainingConfig, dataset
from oversight_ext.reward.model import load_reward_model
from oversight_ext.reward.train import RewardTrainer, train_reward_model
from oversight_ext.store import Store


def test_items_file_and_preference_file_give_datasets_with_provenance(tmp_path: Path) -> None:
    code = "def f(xs):\n    total = 0\n    for x in xs:\n        if x > 1:\n            total += x\n    return total\n"
    items = [
        dataclasses.replace(it, language="python", after=code, diff=make_diff(it.before or "", code, "f.py"))
        if it.label == "correct"
        else dataclasses.replace(it, language="python")
        for it in paired_items(5)
    ]
    src = tmp_path / "items.jsonl"
    write_jsonl(items, src)
    ds = dataset.load_dataset(src, RewardTrainingConfig(text_format="diff"), limit=3)
    assert ds.height == 3 and sorted(set(ds.frame["pair_id"])) == ["p0", "p1", "p2"]
    assert ds.provenance == {
        "labels": "gold",
        "critique": None,
        "file": os.path.abspath(src),
        "kind": "items",
        "language": None,
        "limit": 3,
    }
    assert ds.items is not None and set(ds.items) == {it.id for it in items[:6]}
    assert all(c.startswith("--- a/f.py") for c in ds.frame["rejected"])  # text_format followed
    train, held = ds.split(0.34, seed=0)
    assert train.height + held.height == 3 and not set(train.frame["pair_id"]) & set(held.frame["pair_id"])
    assert train.provenance == ds.provenance
    # Synthetic pairs come only from an augmented training split.
    assert train.augmented(RewardTrainingConfig(mutation_pairs=2), seed=0).height > train.height

    prefs = tmp_path / "prefs.jsonl"
    prefs.write_text("".join(json.dumps({"chosen": f"good {i}", "rejected": f"bad {i}"}) + "\n" for i in range(4)))
    p = dataset.load_dataset(prefs, limit=2)
    assert p.height == 2 and p.items is None and p.provenance["kind"] == "preferences"
    with pytest.raises(ValueError, match="needs items to critique"):
        dataset.load_dataset(prefs, RewardTrainingConfig(critique="lint"))
    with pytest.raises(ValueError, match="mutation_pairs needs the items"):
        p.augmented(RewardTrainingConfig(mutation_pairs=1), seed=0)


def test_study_dataset_aggregates_judgments_by_condition(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        items, _ = _study(store)
        gold = {it.id: it.label for it in items}
        ds = dataset.from_study(store, "s", RewardTrainingConfig(aggregation="majority"), conditions=["assisted"])
        assert ds.provenance["study"] == "s" and ds.provenance["conditions"] == "assisted"
        assert ds.provenance["aggregation"] == "majority" and ds.provenance["labels"] == "judgments"
        hard = ds.frame.filter(~pl.col("tie"))
        assert hard.height >= 2 and all(gold[c] == "correct" for c in hard["chosen_id"])
        pts = dataset.from_study(store, "s", RewardTrainingConfig(objective="pointwise"))
        assert set(pts.frame.columns) == {"text", "label", "weight", "item_id", "pair_id"} and pts.labels is not None
        with pytest.raises(Exception, match="no study named"):
            dataset.from_study(store, "nope")
    # Through the one entry point the CLI uses: a name that is no file is a study in the store.
    assert dataset.load_dataset("s", db=sqlite_url, conditions=["assisted"]).height == ds.height


@pytest.mark.slow
def test_trainer_takes_a_dataset_saves_its_provenance_and_evaluates(tmp_path: Path) -> None:
    frame = synthetic_pairs(64)
    ds = dataset.RewardDataset(frame, {"file": "synthetic"})
    train, held = ds.split(0.25, seed=0)
    res = train_reward_model(train, FAST, eval_data=held, out_dir=tmp_path / "rm", progress=False)
    assert res.eval is not None and res.eval["n"] == held.height and 0 <= res.eval["ci_low"] <= res.eval["accuracy"] <= res.eval["ci_high"]
    assert res.eval["accuracy"] >= 0.8  # the synthetic pairs are learnable in 30 steps
    _, _, meta = load_reward_model(tmp_path / "rm")
    assert meta["source"] == {"file": "synthetic"} and meta["eval"]["n"] == held.height


@pytest.mark.slow
def test_a_stage_can_be_replaced_by_a_subclass() -> None:
    """A trainer whose loss only pushes rewards up: the rewards rise, and the other stages run unchanged."""
    calls: list[int] = []

    class PushUp(RewardTrainer):
        def compute_loss(self, batch, ex):  # type: ignore[no-untyped-def]
            r = self.wrapped(batch).float()
            return -r.mean(), torch.tensor(0.0)

        def training_step(self, step: int) -> tuple[float, float]:
            calls.append(step)
            return super().training_step(step)

    data = synthetic_pairs(16)
    res = train_reward_model(data, FAST.replace(max_steps=5), trainer=PushUp, progress=False)
    assert calls == [0, 1, 2, 3, 4] and all(np.isfinite(res.losses))
    assert res.losses[-1] < res.losses[0]  # -mean(reward) falls: rewards went up
