"""The shared-prefix log-likelihood rule and the likelihood reward on tiny config-built LMs: the rule
gives the whole-sequence margins, the likelihood reward starts at the zero-shot ranking, trains, and
round-trips through its saved folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_reward_train import FAST, synthetic_pairs

from oversight_ext.reward.batching import collate
from oversight_ext.reward.heatstrip import load_scorer
from oversight_ext.reward.implicit import ImplicitReward, load_implicit_reward_model
from oversight_ext.reward.lm import LogLikelihood, likelihood_pairwise_accuracy, load_causal_lm, pair_logprobs, shared_prefix
from oversight_ext.reward.loading import ModelFolderError, load_reward
from oversight_ext.reward.model import encode
from oversight_ext.reward.train import train_reward_model

pytestmark = pytest.mark.slow  # trains language models: a few seconds a test on 2 cores

CHOSEN = ["def f(x):\n    return x + 1\n", "def g(a, b):\n    if a > b:\n        return a\n    return b\n", "x = 1\n"]
REJECTED = ["def f(x):\n    return x - 1\n", "def g(a, b):\n    if a >= b:\n        return a\n    return b\n", "y = [1, 2]\n"]


def whole_sequence(model: torch.nn.Module, seqs: list[list[int]], pad: int) -> np.ndarray:
    """log p of each sequence from the full logits, the definition the rule must reproduce."""
    b = collate(seqs, pad, packed=False)
    with torch.no_grad():
        logits = model(input_ids=b.input_ids, attention_mask=b.attention_mask).logits[:, :-1].float()
    assert b.input_ids is not None and b.attention_mask is not None
    lp = torch.gather(F.log_softmax(logits, -1), 2, b.input_ids[:, 1:, None]).squeeze(-1) * b.attention_mask[:, 1:]
    return lp.sum(-1).double().numpy()


@pytest.mark.parametrize("backbone", ["tiny-llama", "tiny-gpt2"])
def test_shared_prefix_rule_gives_the_whole_sequence_margins(backbone: str) -> None:
    model, tok = load_causal_lm(backbone, seed=1)
    model.eval()
    ci, _ = encode(tok, CHOSEN, 64)
    ri, _ = encode(tok, REJECTED, 64)
    full_c, full_r = whole_sequence(model, ci, tok.pad_token_id), whole_sequence(model, ri, tok.pad_token_id)
    # Without starts the head-at-scored-positions path is the whole-sequence log-likelihood itself.
    with torch.no_grad():
        plain = LogLikelihood(model)(collate(ci, tok.pad_token_id, packed=False)).double().numpy()
    assert np.allclose(plain, full_c, atol=1e-4)
    lc, lr = pair_logprobs(model, tok, CHOSEN, REJECTED, max_length=64, batch_size=2)
    assert np.allclose(lc - lr, full_c - full_r, atol=1e-4)
    starts = [shared_prefix(c, r) for c, r in zip(ci, ri, strict=True)]
    assert starts[0] > 3 and starts[2] <= 1  # the third pair differs from its first token
    # Only the suffix is scored: the chosen text's own figure is not its whole log-likelihood.
    assert abs(lc[0] - full_c[0]) > 1e-3
    zero = likelihood_pairwise_accuracy(model, tok, _frame(), max_length=64)
    assert np.allclose(zero["margin"], full_c - full_r, atol=1e-4)
    with pytest.raises(ValueError, match="one rejected text per chosen"):
        pair_logprobs(model, tok, CHOSEN, REJECTED[:2])


def _frame():  # type: ignore[no-untyped-def]
    import polars as pl

    return pl.DataFrame({"chosen": CHOSEN, "rejected": REJECTED, "tie": [False] * 3})


def test_shared_prefix_counts_leading_equal_tokens() -> None:
    assert shared_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert shared_prefix([1, 2], [1, 2, 3]) == 2
    assert shared_prefix([5], [6]) == 0
    assert shared_prefix([], [1]) == 0


def test_reference_margin_reuse_matches_the_adapters_off_reference(tmp_path: Path) -> None:
    data = synthetic_pairs(24)
    cfg = FAST.replace(reward="implicit", lora_r=4, beta=0.5, max_steps=6, learning_rate=5e-3)
    res = train_reward_model(data, cfg, backbone="tiny-llama", progress=False)
    rm = ImplicitReward(res.model, None, res.tokenizer, 0.5)
    own = rm.pairwise_accuracy(data)
    with res.model.disable_adapter():
        zero = likelihood_pairwise_accuracy(res.model, res.tokenizer, data)
    reused = rm.pairwise_accuracy(data, reference_margin=zero["margin"])
    assert np.allclose(own["margin"], reused["margin"], atol=1e-4) and own["accuracy"] == reused["accuracy"]
    assert np.abs(own["margin"]).max() > 1e-3  # the adapters moved the model away from its reference
    with pytest.raises(ValueError, match="reference_margin has 3 values"):
        rm.pairwise_accuracy(data, reference_margin=np.zeros(3))


def test_likelihood_reward_starts_at_the_zero_shot_ranking_trains_and_round_trips(tmp_path: Path) -> None:
    data = synthetic_pairs(48)
    train, held = data.head(32), data.tail(16)
    model, tok = load_causal_lm("tiny-llama", seed=0)
    start = ImplicitReward(model, None, tok, 0.5, relative=False).pairwise_accuracy(held)
    zero = likelihood_pairwise_accuracy(model, tok, held)
    # Untrained, the likelihood reward's margins are beta times the zero-shot margins.
    assert np.allclose(start["margin"], 0.5 * zero["margin"], atol=1e-4) and start["accuracy"] == zero["accuracy"]
    cfg = FAST.replace(reward="likelihood", lora_r=4, beta=0.5, max_steps=20, learning_rate=5e-3)
    res = train_reward_model(
        train, cfg, backbone="tiny-llama", model=model, tokenizer=tok, eval_data=held, out_dir=tmp_path / "rm", progress=False
    )
    assert all(np.isfinite(res.losses)) and np.mean(res.losses[-5:]) < np.mean(res.losses[:5]) - 0.1, res.losses
    assert res.eval is not None and res.eval["accuracy"] > zero["accuracy"] and res.eval["n"] == held.height
    scorer, meta = load_implicit_reward_model(tmp_path / "rm")
    assert meta["config"]["reward"] == "likelihood" and scorer.relative is False and scorer.reference is None
    texts = held["chosen"].to_list()[:4] + held["rejected"].to_list()[:4]
    own = ImplicitReward(res.model, None, res.tokenizer, 0.5, relative=False).score(texts)
    assert np.allclose(scorer.score(texts), own, atol=1e-4)
    assert scorer.pairwise_accuracy(held)["accuracy"] == res.eval["accuracy"]
    # The one loader the heat strip and the rm assistant share: an LM reward, no head for gradients.
    loaded = load_reward(str(tmp_path / "rm"))
    assert loaded.kind == "likelihood" and loaded.head is None and loaded.text_format == cfg.text_format
    assert np.allclose(loaded.score(texts), own, atol=1e-4)
    score, text_format = load_scorer(str(tmp_path / "rm"))
    assert text_format == cfg.text_format and np.allclose(score(texts), own, atol=1e-4)


def test_loading_a_folder_without_a_model_names_the_folder_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match=r"holds no finished reward model .*train-rm"):
        load_reward(str(tmp_path))
    with pytest.raises(ModelFolderError, match="oversight_reward_model setting"):
        load_scorer(str(tmp_path))
