"""Causal-LM reward models on tiny config-built LMs and the offline SmolLM2: the implicit (DPO) reward,
LoRA adapters with save/load round trips in plain transformers + peft, zero-shot likelihood scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_reward_train import FAST, synthetic_pairs

from oversight_ext.reward import RewardTrainingConfig, dataset
from oversight_ext.reward.implicit import ImplicitReward, load_implicit_reward_model
from oversight_ext.reward.lm import likelihood_pairwise_accuracy, load_causal_lm, sequence_logprobs
from oversight_ext.reward.model import load_backbone, load_reward_model, score_texts
from oversight_ext.reward.objectives import use_compile
from oversight_ext.reward.train import train_reward_model

pytestmark = pytest.mark.slow  # trains language models: 3-60 s a test on 2 cores


def test_implicit_reward_trains_the_lm_and_round_trips(tmp_path: Path) -> None:
    ds = dataset.RewardDataset(synthetic_pairs(64), {"file": "synthetic"})
    train, held = ds.split(0.25, seed=0)
    cfg = FAST.replace(reward="implicit", beta=0.5, max_steps=25)
    model, tok = load_causal_lm("tiny-llama", seed=0)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    res = train_reward_model(
        train, cfg, backbone="tiny-llama", model=model, tokenizer=tok, eval_data=held, out_dir=tmp_path / "rm", progress=False
    )
    assert all(np.isfinite(res.losses)) and np.mean(res.losses[-5:]) < np.mean(res.losses[:5]) - 0.1, res.losses
    assert sum(not torch.equal(v, before[k]) for k, v in model.state_dict().items()) > len(before) // 2
    assert res.eval is not None and res.eval["accuracy"] >= 0.8 and res.eval["n"] == held.height
    # Reloaded: the tuned LM from the folder, the reference rebuilt from the backbone name and seed.
    scorer, meta = load_implicit_reward_model(tmp_path / "rm")
    assert meta["config"]["reward"] == "implicit" and meta["source"] == {"file": "synthetic"}
    texts = held.frame["chosen"].to_list()[:4] + held.frame["rejected"].to_list()[:4]
    reference, _ = load_causal_lm("tiny-llama", seed=0)
    direct = ImplicitReward(res.model, reference, res.tokenizer, 0.5).score(texts)
    assert np.allclose(scorer.score(texts), direct, atol=1e-5)
    assert (direct[:4] > direct[4:]).mean() >= 0.75
    with pytest.raises(ValueError, match="implicit"):
        load_reward_model(tmp_path / "rm")
    with pytest.raises(ValueError, match="objective = 'pairwise'"):
        RewardTrainingConfig(reward="implicit", objective="pointwise")


def test_lora_head_trains_adapters_only_and_loads_in_plain_transformers_and_peft(tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    data = synthetic_pairs(48)
    cfg = FAST.replace(lora_r=4, lora_alpha=8, learning_rate=5e-3)
    res = train_reward_model(data, cfg, backbone="tiny-llama", out_dir=tmp_path / "rm", progress=False)
    assert all(np.isfinite(res.losses)) and np.mean(res.losses[-5:]) < np.mean(res.losses[:5])
    base_init = load_backbone("tiny-llama", seed=0)[0].state_dict()
    trained = {k.replace("base_model.model.", "").replace(".base_layer", ""): v for k, v in res.model.state_dict().items()}
    # The base weights stay as they were; LoRA matrices and the score head moved.
    assert torch.equal(trained["model.layers.0.self_attn.q_proj.weight"], base_init["model.layers.0.self_attn.q_proj.weight"])
    lora_b = [v for k, v in res.model.state_dict().items() if "lora_B" in k]
    assert lora_b and any(float(v.abs().sum()) > 0 for v in lora_b)
    out = tmp_path / "rm"
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    texts = data["chosen"].to_list()[:5] + data["rejected"].to_list()[:5]
    r0 = score_texts(res.model, res.tokenizer, texts)
    assert (r0[:5] > r0[5:]).mean() >= 0.8
    # Plain transformers + peft: the adapters onto the same base model.
    base, tok = load_backbone("tiny-llama", seed=0)
    peft_model = PeftModel.from_pretrained(base, out).eval()
    assert np.allclose(score_texts(peft_model, tok, texts), r0, atol=1e-5)
    # The merged export: plain transformers alone, and this package's loader.
    merged = AutoModelForSequenceClassification.from_pretrained(out / "merged").eval()
    assert np.allclose(score_texts(merged, tok, texts), r0, atol=1e-5)
    m2, t2, _ = load_reward_model(out)
    assert np.allclose(score_texts(m2, t2, texts), r0, atol=1e-5)
    with pytest.raises(ValueError, match="lora_target_modules"):
        train_reward_model(data, cfg.replace(lora_target_modules=["no_such_proj"]), backbone="tiny-llama", progress=False)


def test_lora_implicit_reward_uses_the_base_as_reference(tmp_path: Path) -> None:
    data = synthetic_pairs(32)
    cfg = FAST.replace(reward="implicit", lora_r=4, beta=0.5, max_steps=15, learning_rate=5e-3)
    res = train_reward_model(data, cfg, backbone="tiny-llama", out_dir=tmp_path / "rm", progress=False)
    assert all(np.isfinite(res.losses)) and res.losses[-1] < res.losses[0]
    texts = data["chosen"].to_list()[:4] + data["rejected"].to_list()[:4]
    own = ImplicitReward(res.model, None, res.tokenizer, 0.5).score(texts)  # reference: adapters switched off
    scorer, _ = load_implicit_reward_model(tmp_path / "rm")
    assert np.allclose(scorer.score(texts), own, atol=1e-4) and np.abs(own).max() > 0


def test_device_choices_compile_on_cuda_only() -> None:
    cfg = RewardTrainingConfig()
    assert not use_compile(cfg, torch.device("cpu")) and use_compile(cfg, torch.device("cuda", 0))
    assert use_compile(cfg.replace(compile="on"), torch.device("cpu")) and not use_compile(cfg.replace(compile="off"), torch.device("cuda"))
    with pytest.raises(ValueError, match="compile"):
        RewardTrainingConfig(compile="maybe")
    with pytest.raises(ValueError, match="lora_target_modules"):
        RewardTrainingConfig(lora_target_modules="q_proj")  # type: ignore[arg-type]


@pytest.mark.slow
def test_smollm2_reads_code_zero_shot_and_trains_a_few_implicit_steps() -> None:
    """The offline SmolLM2, converted once to a cached fp32 folder: it prefers real code to the same
    code with its tokens shuffled, and a few LoRA implicit-reward steps move the adapters."""
    model, tok = load_causal_lm("smollm2")
    code = [
        "def add(a, b):\n    return a + b\n",
        "def is_even(n):\n    return n % 2 == 0\n",
        "for i in range(10):\n    print(i)\n",
        "def first(xs):\n    return xs[0] if xs else None\n",
    ]
    rng = np.random.default_rng(0)
    shuffled = [" ".join(rng.permutation(c.split())) for c in code]
    import polars as pl

    from oversight_ext.reward.data import PAIR_SCHEMA

    pairs = pl.DataFrame(
        [{"chosen": c, "rejected": s, "margin": 0.0, "tie": False, "weight": 1.0, "pair_id": f"p{i}", "group_id": f"p{i}",
          "chosen_id": f"c{i}", "rejected_id": f"r{i}"} for i, (c, s) in enumerate(zip(code, shuffled))],
        schema=PAIR_SCHEMA,
    )  # fmt: skip
    zs = likelihood_pairwise_accuracy(model, tok, pairs)
    assert zs["accuracy"] == 1.0 and np.all(np.isfinite(zs["margin"]))
    lp0 = sequence_logprobs(model, tok, code[:1])
    cfg = RewardTrainingConfig(reward="implicit", lora_r=4, learning_rate=1e-3, batch_size=2, max_steps=2, warmup_ratio=0.0)
    res = train_reward_model(pairs, cfg, backbone="smollm2", model=model, tokenizer=tok, progress=False)
    assert len(res.losses) == 2 and all(np.isfinite(res.losses))
    assert any(float(v.abs().sum()) > 0 for k, v in res.model.state_dict().items() if "lora_B" in k)
    with res.model.disable_adapter():
        assert np.allclose(sequence_logprobs(res.model, tok, code[:1]), lp0, atol=1e-3)


def test_cli_trains_and_evaluates_an_implicit_reward_with_lora(shared_data: Path, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    src, out = str(shared_data / "quixbugs.jsonl"), tmp_path / "rm"
    common = ["--language", "python", "--backbone", "tiny-llama", "--limit", "8", "--set", "text_format=after"]
    sets = ["--set", "reward=implicit", "--set", "lora_r=4", "--set", "max_steps=2", "--set", "batch_size=4"]
    cli = [sys.executable, "-m", "oversight_ext.cli"]
    p = subprocess.run(
        [*cli, "train-rm", "--from", src, "--out", str(out), *common, *sets], capture_output=True, text=True, env=env, timeout=900
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert (
        "held-out pairwise accuracy:" in p.stdout and (out / "adapter_config.json").is_file() and (out / "merged" / "config.json").is_file()
    )
    e = subprocess.run(
        [*cli, "eval-rm", str(out), "--items", src, "--language", "python", "--json"], capture_output=True, text=True, env=env, timeout=900
    )
    assert e.returncode == 0, e.stderr[-2000:]
    acc = json.loads(e.stdout)
    assert acc["metric"] == "pairwise_accuracy" and acc["n"] == 40 and 0 <= acc["accuracy"] <= 1
