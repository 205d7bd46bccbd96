"""Shared-prefix rows (one row per pair: the shared tokens once, then each text's rest) give the log-likelihoods
and the gradients of scoring the two texts in separate rows, on tiny config-built LMs, with and without LoRA,
in the inference path and in the trainer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_reward_train import FAST, synthetic_pairs

from oversight_ext.reward import RewardTrainingConfig
from oversight_ext.reward.batching import collate, collate_shared, collate_shared_buckets
from oversight_ext.reward.lm import LogLikelihood, frozen_states, load_causal_lm, pair_logprobs, shared_prefix, trained_from
from oversight_ext.reward.lora import with_lora
from oversight_ext.reward.train import train_reward_model

pytestmark = pytest.mark.slow  # runs language models: a few seconds a test on 2 cores


def pairs(seed: int = 0) -> tuple[list[list[int]], list[list[int]], np.ndarray]:
    """Token pairs of every shape the rule meets: a change in the middle, at the first token, at the end,
    a text that is a prefix of the other, equal texts, and rests of very different lengths."""
    rng = np.random.default_rng(seed)
    chosen, rejected = [], []
    for k in range(9):
        base = rng.integers(5, 200, size=int(rng.integers(6, 30))).tolist()
        c, r = list(base), list(base)
        j = int(rng.integers(1, len(base) - 1))
        if k == 0:
            r[0] = r[0] % 150 + 7  # differ from the first token: nothing shared
        elif k == 1:
            r[-1] = r[-1] % 150 + 7  # differ at the last token only
        elif k == 2:
            r = [*r, 9, 10, 11, 12]  # the chosen text is a prefix of the rejected one
        elif k == 3:
            pass  # equal texts
        elif k == 4:
            r = r[:j] + rng.integers(5, 200, size=25).tolist()  # a long different rest
        else:
            r[j] = r[j] % 150 + 7
        chosen.append(c)
        rejected.append(r)
    starts = np.array([shared_prefix(c, r) for c, r in zip(chosen, rejected, strict=True)])
    return chosen, rejected, starts


def plain(scorer: LogLikelihood, c: list[list[int]], r: list[list[int]], starts: np.ndarray, pad: int) -> torch.Tensor:
    return scorer(collate(c + r, pad, packed=False, starts=np.tile(starts, 2)))


@pytest.mark.parametrize("backbone", ["tiny-llama", "tiny-gpt2"])
def test_shared_prefix_rows_give_the_separate_rows_log_likelihoods(backbone: str) -> None:
    model, tok = load_causal_lm(backbone, seed=3)
    model.eval()
    c, r, starts = pairs()
    assert starts[0] == 0 and starts[2] == len(c[2]) and starts[3] == len(c[3])
    scorer, pad = LogLikelihood(model), tok.pad_token_id
    with torch.no_grad():
        want = plain(scorer, c, r, starts, pad)
        one = scorer(collate_shared(c, r, starts, pad))
        cut = scorer(collate_shared_buckets(c, r, starts, pad, overhead=8))
        padded = scorer(collate_shared(c, r, starts, pad, multiple=16))
    assert want.shape == one.shape == (2 * len(c),)
    assert torch.allclose(one, want, atol=1e-4), (one - want).abs().max()
    assert torch.allclose(cut, want, atol=1e-4), (cut - want).abs().max()
    assert torch.allclose(padded, want, atol=1e-4)
    assert float(want[2]) == 0.0 and float(want[3]) == 0.0  # nothing after a whole-text prefix is scored
    # The rows hold fewer tokens than the two texts apart: the prefix is there once.
    b = collate_shared(c, r, starts, pad)
    assert b.tokens == sum(len(x) for x in c + r) - int(starts.sum())


def test_shared_prefix_gradients_equal_the_separate_rows_gradients_under_lora() -> None:
    model, tok = load_causal_lm("tiny-llama", seed=5)
    model = with_lora(model, RewardTrainingConfig(reward="likelihood", lora_r=4, lora_alpha=8))
    # LoRA's B starts at zero; move it so every adapter gets a gradient through both paths.
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    c, r, starts = pairs(seed=1)
    scorer, pad = LogLikelihood(model), tok.pad_token_id
    weights = torch.linspace(-1, 1, 2 * len(c))  # a loss that reads every sequence differently

    def grads(batch: object) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        out = scorer(batch)
        (out * weights).sum().backward()
        return out.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad and p.grad is not None}

    v1, g1 = grads(collate(c + r, pad, packed=False, starts=np.tile(starts, 2)))
    v2, g2 = grads(collate_shared_buckets(c, r, starts, pad, overhead=8))
    assert torch.allclose(v1, v2, atol=1e-4)
    assert g1.keys() == g2.keys() and len(g1) > 4
    for n in g1:
        assert torch.allclose(g1[n], g2[n], atol=1e-4, rtol=1e-3), (n, (g1[n] - g2[n]).abs().max())


def test_pair_logprobs_with_and_without_prefix_sharing_agree() -> None:
    model, tok = load_causal_lm("tiny-gpt2", seed=2)
    chosen = ["def f(x):\n    return x + 1\n", "x = 1\n", "def g(a):\n    return [a, a]\n"]
    rejected = ["def f(x):\n    return x - 1\n", "y = [1, 2]\n", "def g(a):\n    return [a, a, a]\n"]
    on = pair_logprobs(model, tok, chosen, rejected, max_length=64, batch_size=4)
    off = pair_logprobs(model, tok, chosen, rejected, max_length=64, batch_size=4, share_prefix=False)
    assert np.allclose(on[0], off[0], atol=1e-4) and np.allclose(on[1], off[1], atol=1e-4)


@pytest.mark.parametrize("reward", ["likelihood", "implicit"])
def test_trainer_with_shared_prefix_takes_the_same_first_step(reward: str) -> None:
    frame = synthetic_pairs(24)
    results = {}
    for share in (False, True):
        cfg = FAST.replace(max_steps=2, batch_size=8, reward=reward, lora_r=4, share_prefix=share)
        results[share] = train_reward_model(frame, cfg, backbone="tiny-llama", progress=False)
    a, b = results[False], results[True]
    assert abs(a.losses[0] - b.losses[0]) < 1e-5  # the same loss before any update
    assert b.tokens < a.tokens  # and fewer tokens run
    # After the updates both models still score alike (AdamW's first steps amplify rounding only a little).
    lc_a, lr_a = pair_logprobs(a.model, a.tokenizer, frame["chosen"].to_list()[:6], frame["rejected"].to_list()[:6], max_length=64)
    lc_b, lr_b = pair_logprobs(b.model, b.tokenizer, frame["chosen"].to_list()[:6], frame["rejected"].to_list()[:6], max_length=64)
    assert np.allclose(lc_a - lr_a, lc_b - lr_b, atol=1e-2)


def test_collate_shared_refuses_unmatched_inputs() -> None:
    with pytest.raises(ValueError, match="one of each per pair"):
        collate_shared([[1, 2]], [[1, 3], [4]], np.array([1]), 0)


TOP = [f"layers.1.{m}" for m in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.up_proj")]


def test_frozen_layer_states_give_the_full_pass_log_likelihoods_and_gradients() -> None:
    model, tok = load_causal_lm("tiny-llama", seed=4)
    model = with_lora(model, RewardTrainingConfig(reward="likelihood", lora_r=4, lora_alpha=8, lora_target_modules=TOP))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    assert trained_from(model) == 1
    c, r, starts = pairs(seed=2)
    pad, weights = tok.pad_token_id, torch.linspace(-1, 1, 2 * len(c))
    # Each pair's states from a batch of its own: what the trainer keeps does not depend on the batch it came from.
    states = [frozen_states(model, collate_shared([c[i]], [r[i]], starts[i : i + 1], pad), 1)[0] for i in range(len(c))]

    def grads(scorer: LogLikelihood, batch: object) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        out = scorer(batch)
        (out * weights).sum().backward()
        return out.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    v1, g1 = grads(LogLikelihood(model), collate(c + r, pad, packed=False, starts=np.tile(starts, 2)))
    v2, g2 = grads(LogLikelihood(model, first_layer=1), collate_shared_buckets(c, r, starts, pad, overhead=8, embeds=states))
    assert torch.allclose(v1, v2, atol=1e-4), (v1 - v2).abs().max()
    assert g1.keys() == g2.keys() and len(g1) == 2 * len(TOP)
    for n in g1:
        assert torch.allclose(g1[n], g2[n], atol=1e-4, rtol=1e-3), (n, (g1[n] - g2[n]).abs().max())
    # LoRA on every layer leaves nothing frozen to keep.
    everywhere = with_lora(load_causal_lm("tiny-llama", seed=4)[0], RewardTrainingConfig(reward="likelihood", lora_r=4))
    assert trained_from(everywhere) is None
    with pytest.raises(ValueError, match=r"one \(row length, hidden\) tensor per pair"):
        collate_shared(c[:2], r[:2], starts[:2], pad, embeds=states[:1])


def test_trainer_keeps_the_frozen_layers_states_and_takes_the_same_first_step() -> None:
    from oversight_ext.reward.implicit import ImplicitRewardTrainer

    frame = synthetic_pairs(24)
    losses, kept = {}, {}
    for cache in (False, True):
        cfg = FAST.replace(max_steps=2, batch_size=8, reward="likelihood", lora_r=4, lora_target_modules=TOP, cache_frozen_layers=cache)
        trainer = ImplicitRewardTrainer(frame, cfg, backbone="tiny-llama", progress=False)
        losses[cache] = trainer.train().losses
        kept[cache] = trainer.frozen
    assert kept[False] is None and kept[True] is not None and len(kept[True]) == 24
    assert abs(losses[False][0] - losses[True][0]) < 1e-5
    assert abs(losses[False][1] - losses[True][1]) < 1e-3


def test_pair_logprobs_from_kept_states_of_the_untrained_model_score_a_top_layer_lora_model() -> None:
    from oversight_ext.reward.lm import pair_frozen_states

    model, tok = load_causal_lm("tiny-llama", seed=6)
    chosen = ["def f(x):\n    return x + 1\n", "x = 1\n", "def g(a):\n    return [a, a]\n", "import os\nprint(os.sep)\n"]
    rejected = ["def f(x):\n    return x - 1\n", "y = [1, 2]\n", "def g(a):\n    return [a, a, a]\n", "import os\nprint(os.name)\n"]
    # Kept before any adapter exists: the layers below the LoRA layer are the same weights afterwards.
    states = pair_frozen_states(model, tok, chosen, rejected, 1, max_length=64, batch_size=2)
    model = with_lora(model, RewardTrainingConfig(reward="likelihood", lora_r=4, lora_alpha=8, lora_target_modules=TOP))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    want = pair_logprobs(model, tok, chosen, rejected, max_length=64, share_prefix=False)
    got = pair_logprobs(model, tok, chosen, rejected, max_length=64, frozen=(1, states))
    assert np.allclose(got[0], want[0], atol=1e-4) and np.allclose(got[1], want[1], atol=1e-4)
    with pytest.raises(ValueError, match="one per pair"):
        pair_logprobs(model, tok, chosen, rejected, max_length=64, frozen=(1, states[:2]))
