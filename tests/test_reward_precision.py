"""Weights the optimiser updates stay fp32 under bf16 compute; frozen ones may be bf16.

transformers 5 loads a checkpoint in the dtype it was saved in, and released code models are saved
in bf16. Adam's steps (about the learning rate) are below a bf16 weight's resolution (about 1.2e-4
near 0.02), so a backbone trained in bf16 at 1e-5 barely moves. These tests run the GPU's dtype
layout on the CPU: bf16 autocast, a bf16 frozen backbone under LoRA, fp32 adapters and head."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_reward_train import FAST, synthetic_pairs

from oversight_ext.reward.implicit import ImplicitReward, ImplicitRewardTrainer, load_implicit_reward_model
from oversight_ext.reward.lm import load_causal_lm
from oversight_ext.reward.model import load_backbone, load_reward_model, score_texts
from oversight_ext.reward.precision import fp32_master_weights, settle_dtypes, uses_bf16, weight_dtype
from oversight_ext.reward.train import RewardTrainer, train_reward_model

pytestmark = pytest.mark.slow  # trains tiny language models: a few seconds a test on 2 cores

KINDS = {"head": (load_backbone, RewardTrainer), "implicit": (load_causal_lm, ImplicitRewardTrainer)}
LAYER = "layers.0.mlp.up_proj.weight"


def saved_backbone(folder: Path, kind: str, dtype: torch.dtype) -> Path:
    model, tok = KINDS[kind][0]("tiny-llama", seed=0)
    model.to(dtype).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def layer_weight(model: torch.nn.Module) -> torch.Tensor:
    (w,) = [p for n, p in model.named_parameters() if n.endswith(LAYER) and "lora_" not in n]
    return w.detach().float().clone()


@pytest.mark.parametrize("kind", list(KINDS))
def test_full_training_from_a_bf16_checkpoint_updates_fp32_weights(tmp_path: Path, kind: str) -> None:
    folder = saved_backbone(tmp_path / "base", kind, torch.bfloat16)
    start = layer_weight(KINDS[kind][0](str(folder))[0])
    cfg = FAST.replace(precision="bf16", learning_rate=1e-5, max_steps=3, reward="implicit" if kind == "implicit" else "head")
    res = train_reward_model(synthetic_pairs(24), cfg, backbone=str(folder), progress=False, trainer=KINDS[kind][1])
    assert {p.dtype for p in res.model.parameters()} == {torch.float32}
    # In bf16, about 1 % of this layer's entries moved at lr 1e-5; as fp32 master weights, nearly all do.
    moved = (layer_weight(res.model) != start).float().mean().item()
    assert moved > 0.9, moved


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_bf16_model_handed_to_the_trainer_is_trained_in_fp32(kind: str) -> None:
    model, tok = KINDS[kind][0]("tiny-llama", seed=0)
    model.to(torch.bfloat16)
    start = layer_weight(model)
    cfg = FAST.replace(learning_rate=1e-5, max_steps=2, reward="implicit" if kind == "implicit" else "head")
    res = train_reward_model(synthetic_pairs(16), cfg, model=model, tokenizer=tok, progress=False, trainer=KINDS[kind][1])
    assert {p.dtype for p in res.model.parameters()} == {torch.float32}  # fp32 compute: every weight fp32
    assert (layer_weight(res.model) != start).float().mean().item() > 0.9


@pytest.mark.parametrize("kind", list(KINDS))
def test_lora_under_bf16_keeps_a_bf16_backbone_trains_fp32_adapters_and_round_trips(tmp_path: Path, kind: str) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    folder = saved_backbone(tmp_path / "base", kind, torch.float32)
    data = synthetic_pairs(32)
    cfg = FAST.replace(
        precision="bf16", lora_r=4, lora_alpha=8, learning_rate=5e-3, max_steps=12, reward="likelihood" if kind == "implicit" else "head"
    )
    seen: dict[str, set[torch.dtype]] = {}

    class Watching(KINDS[kind][1]):  # type: ignore[misc, valid-type]
        def training_step(self, step: int) -> tuple[float, float]:
            for p in self.model.parameters():
                seen.setdefault("trained" if p.requires_grad else "frozen", set()).add(p.dtype)
            return super().training_step(step)

    res = train_reward_model(data, cfg, backbone=str(folder), out_dir=tmp_path / "rm", progress=False, trainer=Watching)
    assert seen == {"frozen": {torch.bfloat16}, "trained": {torch.float32}}
    assert all(np.isfinite(res.losses)) and np.mean(res.losses[-3:]) < np.mean(res.losses[:3]), res.losses
    texts = data["chosen"].to_list()[:4] + data["rejected"].to_list()[:4]
    if kind == "head":
        ours = score_texts(res.model, res.tokenizer, texts)  # scores outside autocast: the head is back in bf16
        base = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=torch.bfloat16)
        via_peft = PeftModel.from_pretrained(base, tmp_path / "rm").eval()
        assert np.array_equal(score_texts(via_peft, res.tokenizer, texts), ours)
        merged, tok, _ = load_reward_model(tmp_path / "rm")
        got = score_texts(merged, tok, texts)
    else:
        ours = ImplicitReward(res.model, None, res.tokenizer, cfg.beta, relative=False).score(texts)
        base = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16)
        via_peft = PeftModel.from_pretrained(base, tmp_path / "rm").eval()
        assert np.array_equal(ImplicitReward(via_peft, None, res.tokenizer, cfg.beta, relative=False).score(texts), ours)
        scorer, _ = load_implicit_reward_model(tmp_path / "rm")
        got = scorer.score(texts)
    # The merged export folds fp32 adapters into bf16 weights: equal to bf16 rounding, not bit for bit.
    assert np.allclose(got, ours, rtol=0.02, atol=0.02 * np.abs(ours).max()), (got, ours)


def test_a_saved_lora_implicit_reward_loads_exactly_and_a_full_one_reads_its_reference_in_its_dtype(tmp_path: Path) -> None:
    """A LoRA run's implicit reward loads as its adapters on the backbone (the reference: adapters off),
    giving the trainer's rewards exactly; merged/ in bf16 rounds weights by about a short run's change.
    A fully tuned model reads its reference in its own dtype."""
    folder = saved_backbone(tmp_path / "base", "implicit", torch.float32)
    data = synthetic_pairs(32)
    texts = data["chosen"].to_list()[:8] + data["rejected"].to_list()[:8]
    cfg = FAST.replace(precision="bf16", reward="implicit", lora_r=4, lora_alpha=8, learning_rate=3e-4, max_steps=8, beta=0.5)
    res = train_reward_model(data, cfg, backbone=str(folder), out_dir=tmp_path / "lora", progress=False, trainer=ImplicitRewardTrainer)
    own = ImplicitReward(res.model, None, res.tokenizer, 0.5).score(texts)
    scorer, _ = load_implicit_reward_model(tmp_path / "lora")
    assert scorer.reference is None and hasattr(scorer.model, "disable_adapter")
    assert np.array_equal(scorer.score(texts), own)
    merged, tok = load_causal_lm(str(tmp_path / "lora" / "merged"))  # what the loader read before
    with res.model.disable_adapter():
        rounded = ImplicitReward(merged, res.model, tok, 0.5).score(texts)
    assert np.abs(rounded - own).max() > 1e-3 * np.abs(own).max()

    bf16 = saved_backbone(tmp_path / "bf16", "implicit", torch.bfloat16)
    full = FAST.replace(reward="implicit", learning_rate=1e-9, max_steps=2)  # too small a step to move a bf16 weight
    train_reward_model(data, full, backbone=str(bf16), out_dir=tmp_path / "full", progress=False, trainer=ImplicitRewardTrainer)
    # As a GPU run before fp32 master weights saved it: the tuned model in bf16, equal to its backbone.
    tuned, _ = load_causal_lm(str(tmp_path / "full"))
    tuned.to(torch.bfloat16).save_pretrained(tmp_path / "full")
    scorer, _ = load_implicit_reward_model(tmp_path / "full")
    assert next(scorer.reference.parameters()).dtype == torch.bfloat16 == next(scorer.model.parameters()).dtype
    assert np.abs(scorer.score(texts)).max() == 0.0  # an fp32 reference would add the dtypes' rounding difference


def test_weight_dtype_keeps_trained_weights_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    gpu, cpu = torch.device("cuda"), torch.device("cpu")
    assert uses_bf16(FAST, gpu) and not uses_bf16(FAST, cpu) and uses_bf16(FAST.replace(precision="bf16"), cpu)
    assert weight_dtype(FAST, gpu) == torch.float32  # every weight trains: fp32 masters, bf16 autocast
    assert weight_dtype(FAST.replace(lora_r=8), gpu) == torch.bfloat16  # frozen under LoRA: bf16
    assert weight_dtype(FAST.replace(lora_r=8, precision="fp32"), gpu) == torch.float32
    assert weight_dtype(FAST.replace(lora_r=8), cpu) == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert weight_dtype(FAST.replace(lora_r=8), gpu) == torch.float32


def test_master_weights_and_settling_leave_fp32_and_quantised_weights_alone() -> None:
    lin = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 1)).to(torch.bfloat16)
    lin[0].requires_grad_(False)
    assert fp32_master_weights(lin, frozen_too=False) == 2  # the second layer's weight and bias
    assert lin[0].weight.dtype == torch.bfloat16 and lin[1].weight.dtype == torch.float32
    assert settle_dtypes(lin) == 2 and lin[1].weight.dtype == torch.bfloat16
    assert fp32_master_weights(lin, frozen_too=True) == 4 and settle_dtypes(lin) == 0
    codes = torch.nn.Parameter(torch.zeros(4, dtype=torch.uint8), requires_grad=False)
    holder = torch.nn.Module()
    holder.register_parameter("codes", codes)
    assert fp32_master_weights(holder, frozen_too=True) == 0 and holder.codes.dtype == torch.uint8
