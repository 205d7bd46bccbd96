"""Evaluation: accuracy with intervals, calibration, the rater ceiling, label sources, PGR, and the CLI."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from test_reward_data import _study
from test_reward_train import FAST, synthetic_pairs

from oversight_ext.reward import evaluate as ev
from oversight_ext.store import Store


def test_calibration_table_and_ece() -> None:
    # A model always 90 % sure and right 90 % of the time is calibrated; always sure and right 60 % is not.
    rng = np.random.default_rng(0)
    outcome = (rng.random(2000) < 0.9).astype(float)
    good = ev.expected_calibration_error(ev.calibration(np.full(2000, 0.9), outcome))
    bad = ev.expected_calibration_error(ev.calibration(np.full(2000, 0.99), (rng.random(2000) < 0.6).astype(float)))
    assert good < 0.03 < 0.3 < bad
    # Pair form (all outcomes 1) folds in the mirrored probabilities, so over-confidence shows.
    table = ev.calibration(np.array([0.99, 0.99, 0.01]), np.ones(3))
    assert table["n"].sum() == 6 and ev.expected_calibration_error(table) > 0.3


def test_pgr_and_seed_summary() -> None:
    assert ev.pgr(0.6, 0.7, 0.8) == pytest.approx(0.5)
    assert math.isnan(ev.pgr(0.7, 0.8, 0.7))
    frame = pl.DataFrame({"source": ["a", "a", "a", "b"], "accuracy": [0.6, 0.7, 0.8, 0.5]})
    s = ev.summarize_over_seeds(frame).sort("source")
    a = s.row(0, named=True)
    assert a["mean"] == pytest.approx(0.7) and a["ci_low"] < 0.6 and a["ci_high"] > 0.8 and a["seeds"] == 3
    assert math.isnan(s.row(1, named=True)["ci_low"])


@pytest.mark.slow
def test_accuracy_of_a_trained_model_and_weak_to_strong() -> None:
    from oversight_ext.reward.train import train_reward_model

    pairs = synthetic_pairs(120, seed=1)
    train, held = pairs.head(90), pairs.tail(30)
    res = train_reward_model(train, FAST, progress=False)
    acc = ev.pairwise_accuracy(res.model, res.tokenizer, held)
    assert acc["n"] == 30 and acc["accuracy"] >= 0.9 and acc["ci_low"] < acc["accuracy"] <= acc["ci_high"]
    w2s = ev.weak_to_strong(pairs, FAST.replace(max_steps=15), weak="tiny", strong="tiny-llama")
    assert set(w2s) == {"weak", "weak_to_strong", "strong_ceiling", "weak_label_accuracy", "pgr"}
    assert all(0 <= w2s[k] <= 1 for k in ("weak", "weak_to_strong", "strong_ceiling", "weak_label_accuracy"))


@pytest.mark.slow
def test_agreement_ceiling_and_label_source_comparison(sqlite_store: Store) -> None:
    _study(sqlite_store)
    ceil = ev.agreement_ceiling(sqlite_store, "s")
    # The two raters agree on the 6 assisted items and disagree on the 6 unassisted ones (QC included).
    assert ceil["agreement"] == pytest.approx(0.5) and ceil["rater_pairs"] == 12
    assert ceil["rater_accuracy"] == pytest.approx(0.75)
    cfg = FAST.replace(max_steps=3, eval_fraction=0.3)
    out = ev.compare_label_sources(sqlite_store, "s", cfg, seeds=(0, 1))
    assert out.height == 6 and set(out["source"]) == {"unassisted", "assisted", "pooled"}
    assert out["accuracy"].is_between(0, 1).all() and (out["n_eval"] > 0).all()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "oversight_ext.cli", *args], capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
def test_cli_train_and_eval_on_shared_pairs(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "rm"
    src = str(shared_data / "quixbugs.jsonl")
    p = _cli(
        "train-rm",
        "--from",
        src,
        "--language",
        "python",
        "--backbone",
        "tiny",
        "--out",
        str(out),
        "--set",
        "max_steps=3",
        "--set",
        "batch_size=4",
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert "held-out pairwise accuracy:" in p.stdout and (out / "config.json").is_file()
    e = _cli("eval-rm", str(out), "--items", src, "--language", "python", "--json")
    assert e.returncode == 0, e.stderr[-2000:]
    assert '"metric": "pairwise_accuracy"' in e.stdout and '"n": 40' in e.stdout
    bad = _cli("train-rm", "--from", src, "--backbone", str(tmp_path / "missing"), "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "does not exist" in bad.stderr and not (tmp_path / "x").exists()
    nomodel = _cli("eval-rm", str(tmp_path), "--items", src)
    assert nomodel.returncode == 2 and "train-rm" in nomodel.stderr


@pytest.mark.slow
def test_cli_trains_from_a_study_in_the_store(sqlite_url: str, tmp_path: Path) -> None:
    with Store(sqlite_url) as store:
        _study(store)
    out = tmp_path / "rm"
    p = _cli(
        "train-rm",
        "--from",
        "s",
        "--db",
        sqlite_url,
        "--backbone",
        "tiny",
        "--out",
        str(out),
        "--conditions",
        "assisted",
        "--set",
        "max_steps=2",
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert "trained on" in p.stdout and (out / "oversight_reward.json").is_file()
    missing = _cli("train-rm", "--from", "no-such-study", "--db", sqlite_url, "--backbone", "tiny", "--out", str(tmp_path / "x"))
    assert missing.returncode == 2 and "no study named" in missing.stderr


@pytest.mark.slow
def test_cross_validation_scores_every_pair_once_with_a_model_that_never_saw_it() -> None:
    pairs = synthetic_pairs(60, seed=2)
    seen: list[int] = []
    cv = ev.cross_validate(pairs, FAST.replace(max_steps=15), folds=3, on_fold=lambda k, row: seen.append(k))
    assert seen == [0, 1, 2] and cv["n"] == 60 and cv["folds"].height == 3
    assert sorted(cv["scores"]["pair_id"].to_list()) == sorted(pairs["pair_id"].to_list())
    for k, (train, _held) in enumerate(ev.fold_splits(pairs, 3, FAST.seed)):
        scored_here = set(cv["scores"].filter(pl.col("fold") == k)["pair_id"])
        assert not scored_here & set(train["pair_id"])
    # The synthetic preference is learnable: pooled accuracy well above chance, interval excluding 0.5.
    assert cv["accuracy"] >= 0.85 and 0.5 < cv["ci_low"] < cv["accuracy"] and cv["ci_high"] >= cv["accuracy"] - 1e-9


@pytest.mark.slow
def test_cli_cross_validates_with_folds(shared_data: Path, tmp_path: Path) -> None:
    src = str(shared_data / "quixbugs.jsonl")
    p = _cli("train-rm", "--from", src, "--language", "python", "--backbone", "tiny", "--folds", "2", "--set", "max_steps=2")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "fold 2/2" in p.stdout and "2-fold cross-validated pairwise accuracy" in p.stdout and "on 40 held-out pairs" in p.stdout
    bad = _cli("train-rm", "--from", src, "--backbone", "tiny", "--folds", "1")
    assert bad.returncode == 2 and "--folds 1 is invalid" in bad.stderr
    no_out = _cli("train-rm", "--from", src, "--backbone", "tiny")
    assert no_out.returncode == 2 and "--out is required" in no_out.stderr and not (tmp_path / "x").exists()


@pytest.mark.slow
def test_cross_validation_augments_training_folds_only() -> None:
    from test_reward_data import _CODE

    from oversight_ext.records import Item
    from oversight_ext.reward import data

    items = []
    for p in range(6):
        code = _CODE.replace("circle", f"circle {p}")
        items.append(
            Item(id=f"c{p}", diff=f"--- a/c.py\n+++ b/c.py\n@@ -1 +1 @@\n-x\n+{p}\n", after=code, pair_id=f"p{p}", label="correct")
        )
        items.append(Item(id=f"b{p}", diff=f"--- a/c.py\n+++ b/c.py\n@@ -1 +1 @@\n-{p}\n+x\n", after=code, pair_id=f"p{p}", label="buggy"))
    pairs = data.pairs_from_items(items, text_format="diff")
    cfg = FAST.replace(max_steps=2, mutation_pairs=3, text_format="diff")
    cv = ev.cross_validate(pairs, cfg, folds=3, items={it.id: it for it in items})
    # Held out: the 6 real pairs, each once; trained on: 4 real pairs plus 3 planted per pair.
    assert cv["n"] == 6 and sorted(cv["scores"]["pair_id"]) == [f"p{p}" for p in range(6)]
    assert cv["folds"]["train_pairs"].to_list() == [16, 16, 16]
    with pytest.raises(ValueError, match="mutation_pairs needs the items"):
        ev.cross_validate(pairs, cfg, folds=3)


@pytest.mark.slow
def test_a_reward_model_reads_the_critique_when_the_code_cannot_tell() -> None:
    from oversight_ext.records import Critique, Item
    from oversight_ext.reward import data
    from oversight_ext.reward.train import train_reward_model

    # Both sides of every pair show the same diff: only the critique separates them.
    items, crit = [], {}
    for p in range(40):
        diff = f"--- a/f.py\n+++ b/f.py\n@@ -1 +1 @@\n-return {p}\n+return {p + 1}\n"
        for side, label in (("c", "correct"), ("b", "buggy")):
            items.append(Item(id=f"{side}{p}", diff=diff, pair_id=f"p{p}", label=label))
            summary = "Looks correct: passes its examples." if label == "correct" else "Buggy: fails an example."
            crit[f"{side}{p}"] = Critique(id=f"k{side}{p}", item_id=f"{side}{p}", assistant="exec", verdict=label, summary=summary)
    train_items, test_items = items[:60], items[60:]
    plain = data.pairs_from_items(train_items, text_format="diff")
    assert (plain["chosen"] == plain["rejected"]).all()
    res = train_reward_model(
        data.pairs_from_items(train_items, text_format="diff", critiques=crit), FAST.replace(max_steps=40), progress=False
    )
    assert ev.gold_accuracy(res.model, res.tokenizer, test_items, "diff", crit)["accuracy"] >= 0.9
    # Scored without the critique, both sides read the same: no pair is ranked right.
    assert ev.gold_accuracy(res.model, res.tokenizer, test_items, "diff")["accuracy"] == 0.0


@pytest.mark.slow
def test_cli_trains_and_evaluates_a_model_that_reads_critiques(shared_data: Path, tmp_path: Path) -> None:
    src, out = str(shared_data / "quixbugs.jsonl"), tmp_path / "rm"
    common = ("--language", "python", "--backbone", "tiny", "--limit", "4", "--set", "max_steps=2", "--set", "critique=lint")
    p = _cli("train-rm", "--from", src, "--out", str(out), *common)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "critiquing 8 items with 'lint'" in p.stderr and "trained on" in p.stdout
    e = _cli("eval-rm", str(out), "--items", src, "--language", "python", "--json")
    assert e.returncode == 0, e.stderr[-2000:]
    assert "critiquing 80 items with 'lint'" in e.stderr and json.loads(e.stdout)["metric"] == "pairwise_accuracy"
    prefs = tmp_path / "prefs.jsonl"
    prefs.write_text('{"chosen": "a", "rejected": "b"}\n')
    bad = _cli("train-rm", "--from", str(prefs), "--out", str(tmp_path / "x"), "--backbone", "tiny", "--set", "critique=lint")
    assert bad.returncode == 2 and "needs items to critique" in bad.stderr and not (tmp_path / "x").exists()
    unknown = _cli("train-rm", "--from", src, "--out", str(tmp_path / "y"), *common[:-1], "critique=nope")
    assert unknown.returncode == 2 and "critique = 'nope': assistant 'nope' not found" in unknown.stderr
