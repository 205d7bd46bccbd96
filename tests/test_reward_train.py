"""The reward trainer on tiny config-built models: real steps, saving, resuming, bad input."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from oversight_ext.reward import RewardTrainingConfig
from oversight_ext.reward.batching import collate, collate_buckets, plan_batches, split_by_length
from oversight_ext.reward.data import PAIR_SCHEMA, POINT_SCHEMA
from oversight_ext.reward.model import MARKER, load_backbone, load_reward_model, score_texts
from oversight_ext.reward.train import auto_batching, train_reward_model

WORDS = ["alpha", "beta", "gamma", "delta", "return", "value", "list", "index", "loop", "count", "total", "result"]


def synthetic_pairs(n: int, seed: int = 0) -> pl.DataFrame:
    """Learnable pairs of varied length: the chosen text says 'correct', the rejected 'wrong'."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        filler = " ".join(rng.choice(WORDS, size=int(rng.integers(3, 60))))
        rows.append(
            {"chosen": f"{filler} correct", "rejected": f"{filler} wrong", "margin": 0.0, "tie": False, "weight": 1.0,
             "pair_id": f"p{i}", "group_id": f"p{i}", "chosen_id": f"c{i}", "rejected_id": f"r{i}"}
        )  # fmt: skip
    return pl.DataFrame(rows, schema=PAIR_SCHEMA)


FAST = RewardTrainingConfig(learning_rate=2e-3, batch_size=8, max_steps=30, warmup_ratio=0.0, log_every=5, seed=0)


@pytest.mark.slow
def test_training_changes_parameters_lowers_loss_and_round_trips(tmp_path: Path) -> None:
    data = synthetic_pairs(96)
    model, tok = load_backbone("tiny", seed=0)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    out = tmp_path / "rm"
    res = train_reward_model(data, FAST, model=model, tokenizer=tok, out_dir=out, progress=False)
    assert res.steps == 30 and all(np.isfinite(res.losses))
    assert np.mean(res.losses[-5:]) < np.mean(res.losses[:5]) - 0.1, res.losses
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert len(changed) > len(before) // 2
    texts = data["chosen"].to_list()[:10] + data["rejected"].to_list()[:10]
    r0 = score_texts(res.model, res.tokenizer, texts)
    assert (r0[:10] > r0[10:]).mean() >= 0.9
    # The saved folder reloads through this package and through plain transformers alike.
    m2, t2, meta = load_reward_model(out)
    assert np.array_equal(r0, score_texts(m2, t2, texts))
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    m3, t3 = AutoModelForSequenceClassification.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    enc = t3(texts[0] + t3.eos_token, return_tensors="pt")
    assert m3(**enc).logits[0, 0].item() == pytest.approx(r0[0], abs=1e-5)
    assert meta["steps"] == 30 and meta["config"]["learning_rate"] == FAST.learning_rate
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [5, 10, 15, 20, 25, 30]
    assert not out.with_name("rm.work").exists()


@pytest.mark.slow
def test_pointwise_objective_learns_labels() -> None:
    pairs = synthetic_pairs(48)
    pts = pl.DataFrame(
        {"text": pairs["chosen"].to_list() + pairs["rejected"].to_list(), "label": [1.0] * 48 + [0.0] * 48,
         "weight": [1.0] * 96, "item_id": [f"i{i}" for i in range(96)], "pair_id": [f"p{i % 48}" for i in range(96)]},
        schema=POINT_SCHEMA,
    )  # fmt: skip
    # Shuffled batches (the default) need more steps here than length-grouped ones, which put each
    # pair's two texts in one batch: 30 steps leave the loss at log 2, 80 fit the labels.
    res = train_reward_model(pts, FAST.replace(objective="pointwise", max_steps=80), progress=False)
    r = score_texts(res.model, res.tokenizer, pts["text"].to_list())
    assert ((r > 0) == (pts["label"].to_numpy() > 0.5)).mean() >= 0.9


def test_max_seconds_stops_after_the_step_that_passes_it_and_says_so(tmp_path: Path) -> None:
    """A time budget (a lent GPU's minutes) ends training early; the result and the saved metadata count the steps that ran."""
    import time

    from oversight_ext.reward.train import RewardTrainer

    class Slow(RewardTrainer):
        def training_step(self, step: int) -> tuple[float, float]:
            out = super().training_step(step)
            time.sleep(0.4)
            return out

    out = tmp_path / "rm"
    with pytest.warns(UserWarning, match=r"stopped at step \d+ of 30: max_seconds = 1.0 passed"):
        res = train_reward_model(synthetic_pairs(32), FAST.replace(max_seconds=1.0), out_dir=out, progress=False, trainer=Slow)
    assert 1 <= res.steps <= 3 and len(res.losses) == res.steps
    meta = json.loads((out / MARKER).read_text())
    assert meta["steps"] == res.steps and meta["planned_steps"] == 30
    # Without a budget the same run takes every step.
    assert train_reward_model(synthetic_pairs(32), FAST.replace(max_steps=4), progress=False).steps == 4
    for bad in (-1.0, True, float("nan")):
        with pytest.raises(ValueError, match=r"max_seconds = .* is invalid: give a time budget in seconds >= 0"):
            FAST.replace(max_seconds=bad)


@pytest.mark.slow
def test_checkpoint_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    data = synthetic_pairs(64)
    cfg = FAST.replace(max_steps=6, checkpoint_every=3, warmup_ratio=0.0)
    ref = train_reward_model(data, cfg, out_dir=tmp_path / "ref", progress=False)
    # Simulate a crash after step 3: run to the checkpoint, then copy the work folder aside.
    out = tmp_path / "rm"
    import oversight_ext.reward.checkpoint as ckpt

    calls = {"n": 0}
    real = ckpt.save

    def crash_after_checkpoint(*a: object, **kw: object) -> None:
        real(*a, **kw)  # type: ignore[arg-type]
        calls["n"] += 1
        raise KeyboardInterrupt

    ckpt.save = crash_after_checkpoint  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            train_reward_model(data, cfg, out_dir=out, progress=False)
    finally:
        ckpt.save = real
    assert calls["n"] == 1 and (tmp_path / "rm.work" / "checkpoint.pt").is_file() and not out.exists()
    resumed = train_reward_model(data, cfg, out_dir=out, progress=False)
    assert resumed.steps == 3
    texts = data["rejected"].to_list()[:8]
    assert np.allclose(score_texts(ref.model, ref.tokenizer, texts), score_texts(resumed.model, resumed.tokenizer, texts), atol=1e-5)
    assert (out / MARKER).is_file()


def test_grouped_batching_pads_less_than_random() -> None:
    rng = np.random.default_rng(0)
    lens = rng.integers(20, 600, size=400)
    sizes = np.ones(400, dtype=int)

    def waste(mode: str) -> float:
        plan = plan_batches(lens, sizes, 16, mode, 32, np.random.default_rng(1))
        assert sorted(np.concatenate(plan).tolist()) == list(range(400))  # every unit exactly once
        return 1 - lens.sum() / sum(len(b) * lens[b].max() for b in plan)

    assert waste("grouped") < 0.05 < 0.3 < waste("random")


def test_auto_batching_pads_one_pass_on_a_gpu_and_buckets_on_the_cpu() -> None:
    # A GPU is launch-bound on small models: extra forward passes cost more than padding (see auto_batching).
    assert auto_batching("cuda", "sdpa", "llama") == "random"
    assert auto_batching("cuda", "flash_attention_2", "llama") == "packed"
    assert auto_batching("cuda", "flash_attention_2", "bert") == "random"
    assert auto_batching("cpu", "sdpa", "llama") == "bucketed"
    assert auto_batching("cpu", "flash_attention_2", "llama") == "bucketed"
    # random and bucketed draw the same shuffled batches, so the choice changes the cost, never the gradient steps.
    lens, sizes = np.arange(10, 50), np.ones(40, dtype=np.int64)
    a = plan_batches(lens, sizes, 8, "random", 64, np.random.default_rng(3))
    b = plan_batches(lens, sizes, 8, "bucketed", 64, np.random.default_rng(3))
    assert [x.tolist() for x in a] == [x.tolist() for x in b]


def test_split_by_length_covers_every_sequence_once_with_less_padding() -> None:
    lens = np.random.default_rng(0).integers(5, 500, size=40)
    for overhead in (0, 64, 10**9):
        runs = split_by_length(lens, overhead)
        assert sorted(np.concatenate(runs).tolist()) == list(range(40))
        # Runs are contiguous in longest-first order: every member of a run is no longer than the previous run's shortest.
        assert all(lens[a].min() >= lens[b].max() for a, b in itertools.pairwise(runs))
    assert len(split_by_length(lens, 10**9)) == 1
    assert len(split_by_length(lens, 0)) == len(set(lens.tolist()))
    padded = sum(len(r) * lens[r].max() for r in split_by_length(lens, 64))
    assert lens.sum() <= padded < 0.75 * len(lens) * lens.max()


def test_bucketed_batch_gives_the_rewards_and_gradients_of_one_padded_batch() -> None:
    from oversight_ext.reward.train import _Scorer

    model, tok = load_backbone("tiny", seed=0)
    model.eval()  # no dropout; gradients still flow
    texts = [" ".join(WORDS[: 1 + (7 * i) % len(WORDS)] * (1 + i % 4)) for i in range(12)]
    seqs = [tok(t + tok.eos_token)["input_ids"] for t in texts]
    scorer = _Scorer(model)

    def rewards_and_grads(batch: object) -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad()
        r = scorer(batch)
        (r * torch.arange(1.0, len(seqs) + 1)).sum().backward()  # weights differ per sequence: order matters
        return r.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    whole = collate(seqs, tok.pad_token_id, packed=False)
    bucketed = collate_buckets(seqs, tok.pad_token_id, overhead=0)
    assert bucketed.parts is not None and len(bucketed.parts) > 2 and bucketed.padded < whole.padded
    r1, g1 = rewards_and_grads(whole)
    r2, g2 = rewards_and_grads(bucketed)
    assert torch.allclose(r1, r2, atol=1e-5), (r1, r2)
    assert len(g1) == len(g2) and all(torch.allclose(a, b, atol=1e-5) for a, b in zip(g1, g2))


@pytest.mark.slow
def test_bucketed_training_follows_random_batching_step_for_step() -> None:
    data = synthetic_pairs(48)
    cfg = FAST.replace(max_steps=6)
    a = train_reward_model(data, cfg.replace(batching="random"), backbone="tiny", progress=False)
    b = train_reward_model(data, cfg.replace(batching="bucketed"), backbone="tiny", progress=False)
    assert len(a.losses) == len(b.losses) == 6
    assert np.allclose(a.losses, b.losses, rtol=0, atol=1e-5), (a.losses, b.losses)
    assert b.padded_tokens < a.padded_tokens  # the same steps, computed with less padding


def test_packed_rows_score_like_padded_rows() -> None:
    model, tok = load_backbone("tiny-llama", seed=0, attn_implementation="sdpa")
    model.eval()
    seqs = [tok(t + tok.eos_token)["input_ids"] for t in ("short one", "a much longer text with many more words in it", "mid length text")]
    from oversight_ext.reward.train import _Scorer

    scorer = _Scorer(model)
    with torch.no_grad():
        padded = scorer(collate(seqs, tok.pad_token_id, packed=False))
        packed = scorer(collate(seqs, tok.pad_token_id, packed=True))
    assert torch.allclose(padded, packed, atol=1e-4), (padded, packed)


def test_bad_input_stops_with_a_fix(tmp_path: Path) -> None:
    data = synthetic_pairs(8)
    with pytest.raises(ValueError, match="empty"):
        train_reward_model(data.head(0), FAST, progress=False)
    with pytest.raises(ValueError, match="tie"):
        train_reward_model(data.with_columns(pl.lit(True).alias("tie")), FAST.replace(ties="half"), progress=False)
    pts = pl.DataFrame({"text": ["a", "b"], "label": [1.0, 1.0], "weight": [1.0, 1.0], "item_id": ["a", "b"], "pair_id": ["a", "b"]})
    with pytest.raises(ValueError, match="identical"):
        train_reward_model(pts, FAST.replace(objective="pointwise"), progress=False)
    with pytest.raises(ValueError, match="does not exist"):
        train_reward_model(data, FAST, backbone=str(tmp_path / "nope"), progress=False)
    nohead = tmp_path / "vit"
    nohead.mkdir()
    (nohead / "config.json").write_text(json.dumps({"model_type": "vit"}))
    with pytest.raises(ValueError, match="classification head"):
        load_backbone(str(nohead))
    with pytest.raises(ValueError, match="longer than max_length"):
        train_reward_model(data, FAST.replace(max_length=8, overlong="refuse"), progress=False)
    with pytest.warns(UserWarning, match=r"\d+ sequences were longer than 8"):
        train_reward_model(data, FAST.replace(max_length=8, max_steps=1), progress=False)
    with pytest.raises(ValueError, match="learning_rate"):
        RewardTrainingConfig(learning_rate=5)
    nan = data.with_columns(pl.lit(float("nan")).alias("margin"))
    with pytest.raises(ValueError, match="loss is nan"):
        train_reward_model(nan, FAST, out_dir=tmp_path / "nan", progress=False)
    assert not (tmp_path / "nan").exists()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a reward model folder"):
        train_reward_model(data, FAST, out_dir=tmp_path / "taken", progress=False)
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_config_from_toml(tmp_path: Path) -> None:
    p = tmp_path / "rm.toml"
    p.write_text("[reward]\nlearning_rate = 1e-4\nbatch_size = 4\ncondition_weights = { assisted = 0.5 }\n")
    cfg = RewardTrainingConfig.from_toml(p)
    assert cfg.learning_rate == 1e-4 and cfg.condition_weights == {"assisted": 0.5}
    assert all(RewardTrainingConfig.help().values())
    p.write_text("lerning_rate = 1\n")
    with pytest.raises(ValueError, match="no option 'lerning_rate'"):
        RewardTrainingConfig.from_toml(p)


@pytest.mark.slow
def test_ddp_under_torchrun_matches_the_same_entry_point(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_reward_train import synthetic_pairs, FAST\n"
        "from oversight_ext.reward.train import train_reward_model\n"
        f"r = train_reward_model(synthetic_pairs(64), FAST.replace(max_steps=4), out_dir={str(tmp_path / 'ddp')!r}, progress=False)\n"
        "sys.stdout.write(f'steps {r.steps} examples {r.examples}\\n')  # one write: the two ranks share the pipe\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("steps 4 examples 32") == 2
    m, t, _ = load_reward_model(tmp_path / "ddp")
    assert np.isfinite(score_texts(m, t, ["x correct"])).all()


@pytest.mark.slow
def test_same_batches_as_trl_give_the_same_losses_and_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The controlled check behind the benchmark: with TRL's batches in TRL's order, this trainer's
    update (loss, schedule, clipping, AdamW) must reproduce RewardTrainer's losses and weights."""
    pytest.importorskip("trl")
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    import oversight_ext.reward.train as train_mod

    data = synthetic_pairs(24, seed=3)
    trl_losses: list[float] = []

    class InOrder(RewardTrainer):
        def _get_train_sampler(self, *args: object, **kwargs: object) -> torch.utils.data.Sampler:
            return torch.utils.data.SequentialSampler(self.train_dataset)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # type: ignore[no-untyped-def]
            out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            trl_losses.append(float((out[0] if isinstance(out, tuple) else out).item()))
            return out

    model, tok = load_backbone("tiny", seed=0)
    args = RewardConfig(
        output_dir=str(tmp_path / "trl"), per_device_train_batch_size=8, num_train_epochs=1, learning_rate=2e-3,
        lr_scheduler_type="linear", warmup_steps=0, max_grad_norm=1.0, weight_decay=0.0, save_strategy="no", report_to=[],
        max_length=512, disable_dropout=True, seed=0, use_cpu=True, bf16=False, logging_steps=1000,
    )  # fmt: skip
    ds = Dataset.from_dict({"chosen": data["chosen"].to_list(), "rejected": data["rejected"].to_list()})
    trainer = InOrder(model=model, args=args, processing_class=tok, train_dataset=ds)
    trainer.train()

    def in_order(unit_len: np.ndarray, unit_size: np.ndarray, micro: int, *_: object) -> list[np.ndarray]:
        return [np.arange(i, min(i + micro, len(unit_len))) for i in range(0, len(unit_len), micro)]

    monkeypatch.setattr(train_mod, "plan_batches", in_order)
    ours_model, ours_tok = load_backbone("tiny", seed=0)
    cfg = RewardTrainingConfig(learning_rate=2e-3, batch_size=8, epochs=1, warmup_ratio=0.0, seed=0, batching="random")
    res = train_reward_model(data, cfg, model=ours_model, tokenizer=ours_tok, progress=False)
    assert len(trl_losses) == len(res.losses) == 3
    assert np.allclose(trl_losses, res.losses, rtol=0, atol=1e-6), (trl_losses, res.losses)
    theirs, init = trainer.model.state_dict(), load_backbone("tiny", seed=0)[0].state_dict()
    for name, value in res.model.state_dict().items():
        assert torch.allclose(value, theirs[name], atol=1e-6), name
    # Both runs trained (the head moved), so the match is of two updates, not of two untouched inits.
    assert not torch.allclose(res.model.state_dict()["classifier.weight"], init["classifier.weight"], atol=1e-4)
