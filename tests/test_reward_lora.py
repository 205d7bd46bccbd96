"""LoRA reward adapters beyond this package: QLoRA's option (its config round trip and its CPU error),
QLoRA's full-precision merged export, and a saved adapter loaded the way TRL loads reward models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_reward_train import FAST, synthetic_pairs

from oversight_ext.reward import RewardTrainingConfig
from oversight_ext.reward.lora import QuantizationError, merged_copy, merged_onto, quantization_kwargs
from oversight_ext.reward.model import load_backbone, load_reward_model, score_texts
from oversight_ext.reward.train import train_reward_model

NO_CUDA = not torch.cuda.is_available()


def test_quantization_option_round_trips_and_needs_lora(tmp_path: Path) -> None:
    cfg = RewardTrainingConfig(quantization="4bit", lora_r=16, lora_alpha=32)
    assert RewardTrainingConfig.from_dict(cfg.to_dict()) == cfg
    toml = tmp_path / "rm.toml"
    toml.write_text('[reward]\nquantization = "8bit"\nlora_r = 8\n')
    assert RewardTrainingConfig.from_toml(toml).quantization == "8bit"
    assert "bitsandbytes" in RewardTrainingConfig.help()["quantization"]
    with pytest.raises(ValueError, match=r"quantization = '4bit' needs lora_r > 0.*set lora_r"):
        RewardTrainingConfig(quantization="4bit")
    with pytest.raises(ValueError, match=r"quantization = '3bit' is invalid: use one of 'none', '4bit', '8bit'"):
        RewardTrainingConfig(quantization="3bit", lora_r=8)
    assert quantization_kwargs("none", "cpu") == {}


@pytest.mark.skipif(not NO_CUDA, reason="the CPU's error: this machine has CUDA")
@pytest.mark.parametrize("reward", ["head", "implicit"])
def test_quantization_on_the_cpu_names_the_option_and_the_fix(reward: str) -> None:
    cfg = FAST.replace(quantization="4bit", lora_r=4, reward=reward)
    with pytest.raises(QuantizationError, match=r"quantization = '4bit' needs a CUDA GPU.*set quantization = 'none'") as info:
        train_reward_model(synthetic_pairs(8), cfg, backbone="tiny-llama", progress=False)
    assert isinstance(info.value, ValueError)
    with pytest.raises(QuantizationError, match="quantization = '8bit' needs a CUDA GPU"):
        load_backbone("minilm", quantization="8bit")


@pytest.mark.slow
def test_qlora_merged_export_folds_adapters_into_a_fresh_full_precision_base() -> None:
    data = synthetic_pairs(32)
    res = train_reward_model(
        data, FAST.replace(lora_r=4, lora_alpha=8, max_steps=10, learning_rate=5e-3), backbone="tiny-llama", progress=False
    )
    texts = data["chosen"].to_list()[:4] + data["rejected"].to_list()[:4]
    own = score_texts(res.model, res.tokenizer, texts)
    fresh, _ = load_backbone("tiny-llama", seed=0)
    merged = merged_onto(fresh, res.model).eval()
    assert type(merged).__name__ == "LlamaForSequenceClassification"
    assert np.allclose(score_texts(merged, res.tokenizer, texts), own, atol=1e-5)
    assert np.allclose(score_texts(merged_copy(res.model).eval(), res.tokenizer, texts), own, atol=1e-5)


@pytest.mark.slow
def test_saved_lora_reward_adapter_loads_through_trl_and_peft_with_our_rewards(tmp_path: Path) -> None:
    """TRL's GRPO and RLOO trainers load a reward model given as a folder with
    ``AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1)`` (trl/trainer/grpo_trainer.py);
    on a folder holding a peft adapter, transformers loads the base named in adapter_config.json
    and puts the adapter on it. Both that and the explicit ``PeftModel.from_pretrained`` give our rewards."""
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    base_dir = tmp_path / "base"
    model, tok = load_backbone("tiny-llama", seed=0)
    model.save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    data = synthetic_pairs(48)
    cfg = FAST.replace(lora_r=4, lora_alpha=8, learning_rate=5e-3, max_steps=20)
    out = tmp_path / "rm"
    res = train_reward_model(data, cfg, backbone=str(base_dir), out_dir=out, progress=False)
    texts = data["chosen"].to_list()[:5] + data["rejected"].to_list()[:5]
    ours = score_texts(res.model, res.tokenizer, texts)
    assert (ours[:5] > ours[5:]).mean() >= 0.8, ours
    m, t, _ = load_reward_model(out)
    assert np.allclose(score_texts(m, t, texts), ours, atol=1e-5)

    via_trl = AutoModelForSequenceClassification.from_pretrained(str(out), num_labels=1).eval()
    assert np.allclose(score_texts(via_trl, tok, texts), ours, atol=1e-5)
    via_peft = PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(base_dir, num_labels=1), out).eval()
    assert np.allclose(score_texts(via_peft, tok, texts), ours, atol=1e-5)
    # A base without the trained head would score differently: the adapter carries the head.
    bare = AutoModelForSequenceClassification.from_pretrained(base_dir, num_labels=1).eval()
    assert not np.allclose(score_texts(bare, tok, texts), ours, atol=1e-3)
