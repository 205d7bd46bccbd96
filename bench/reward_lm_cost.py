"""What scoring and training a language-model reward costs on the CPU, before and after the
shared-prefix rule.

Two ways to compute the same pairwise figures on the same HumanEvalFix-Python pairs (the first
``--pairs`` pairs of bench/reward_lm.py's training split), SmolLM2-135M with LoRA rank 8:

* previous rule (the baseline): each text's log-likelihood over all its tokens, the vocabulary
  projection and a full log-softmax at every position, chosen and rejected texts scored in
  separate passes, and the implicit reward's reference (adapters off) scored again at every
  evaluation;
* this rule: both texts of a pair in one pass, the head and log-softmax only at the tokens after
  the pair's shared prefix (whose terms cancel in any pairwise difference), no autograd when
  scoring, and the reference's margin reused from the zero-shot baseline run on the same pairs.

Both give the same margins (checked, printed as the largest difference). Rows: evaluation of the
implicit reward on the pairs (tuned model and reference), and one training step (forward and
backward of ``--batch`` pairs), each the median of ``--repeats`` timings.

    python bench/reward_lm_cost.py                 # about 2 minutes on 2 quiet cores
    python bench/reward_lm_cost.py --backbone tiny-llama --pairs 4 --repeats 1   # the plumbing, in seconds
    python bench/reward_lm_cost.py --save          # also results/reward-lm-cost.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))


def whole_sequence_logprobs(model: Any, seqs: list[list[int]], pad: int, *, grad: bool) -> torch.Tensor:
    """The previous rule: every position's full-vocabulary log-softmax, summed over tokens after the first."""
    from oversight_ext.reward.batching import collate

    b = collate(seqs, pad, packed=False)
    ids, mask = b.input_ids, b.attention_mask
    assert ids is not None and mask is not None
    with torch.enable_grad() if grad else torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits[:, :-1].float()
        logp = torch.gather(F.log_softmax(logits, dim=-1), 2, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        return (logp * mask[:, 1:].to(logp.dtype)).sum(-1)


def timed(fn: Any, repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        print(f"  {fn.__name__}: {times[-1]:.2f} s", flush=True)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbone", default="smollm2")
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=2, help="pairs in the training step")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=384)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save", action="store_true")
    args = ap.parse_args()

    import reward_lm

    from oversight_ext.reward import RewardTrainingConfig
    from oversight_ext.reward.batching import collate
    from oversight_ext.reward.lm import LogLikelihood, load_causal_lm, pair_logprobs, shared_prefix
    from oversight_ext.reward.lora import with_lora
    from oversight_ext.reward.model import encode

    torch.set_num_threads(args.threads)
    split = argparse.Namespace(data="humanevalfix.jsonl", max_pairs_per_group=0, train_pairs=48, dev_pairs=24, eval_pairs=64)
    train, _, _ = reward_lm.splits(split)
    pairs = train.head(args.pairs)
    chosen, rejected = pairs["chosen"].to_list(), pairs["rejected"].to_list()
    model, tok = load_causal_lm(args.backbone)
    model = with_lora(model, RewardTrainingConfig(lora_r=8, lora_alpha=16))
    # A trained adapter (B non-zero), so the tuned model and its reference differ as after training.
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 1e-3, generator=torch.Generator().manual_seed(0))
    model.eval()
    pad = tok.pad_token_id
    ci, _ = encode(tok, chosen, args.max_length)
    ri, _ = encode(tok, rejected, args.max_length)
    tokens = sum(map(len, ci)) + sum(map(len, ri))
    scored = sum(max(len(c), len(r)) - shared_prefix(c, r) for c, r in zip(ci, ri, strict=True))

    def before_eval() -> np.ndarray:
        def margin() -> np.ndarray:
            # As the previous sequence_logprobs did: each list in length-sorted batches of 16.
            lc = torch.cat([whole_sequence_logprobs(model, ci[k : k + 16], pad, grad=False) for k in range(0, len(ci), 16)])
            lr = torch.cat([whole_sequence_logprobs(model, ri[k : k + 16], pad, grad=False) for k in range(0, len(ri), 16)])
            return (lc - lr).double().numpy()

        tuned = margin()
        with model.disable_adapter():
            return tuned - margin()

    zero_shot: dict[str, np.ndarray] = {}

    def after_eval() -> np.ndarray:
        if "margin" not in zero_shot:  # the zero-shot baseline's run, once; later evaluations reuse its margins
            with model.disable_adapter():
                rc, rr = pair_logprobs(model, tok, chosen, rejected, max_length=args.max_length)
            zero_shot["margin"] = rc - rr
        lc, lr = pair_logprobs(model, tok, chosen, rejected, max_length=args.max_length)
        return (lc - lr) - zero_shot["margin"]

    # The first evaluation of the new rule pays for the zero-shot margins; it is the baseline's own run.
    t_zero0 = time.perf_counter()
    after_eval()
    t_zero = time.perf_counter() - t_zero0
    t_before_eval, d_before = timed(before_eval, args.repeats)
    t_after_eval, d_after = timed(after_eval, args.repeats)
    agree = float(np.abs(d_before - d_after).max())

    model.train()
    rows = list(range(min(args.batch, len(ci))))
    starts = np.array([shared_prefix(ci[i], ri[i]) for i in rows])
    scorer = LogLikelihood(model)

    def before_step() -> float:
        lp = whole_sequence_logprobs(model, [ci[i] for i in rows] + [ri[i] for i in rows], pad, grad=True)
        lc, lr = lp.chunk(2)
        loss = -F.logsigmoid(0.1 * (lc - lr)).mean()
        loss.backward()
        model.zero_grad(set_to_none=True)
        return loss.item()

    def after_step() -> float:
        b = collate([ci[i] for i in rows] + [ri[i] for i in rows], pad, packed=False, starts=np.tile(starts, 2))
        lc, lr = scorer(b).float().chunk(2)
        loss = -F.logsigmoid(0.1 * (lc - lr)).mean()
        loss.backward()
        model.zero_grad(set_to_none=True)
        return loss.item()

    t_before_step, loss_before = timed(before_step, args.repeats)
    t_after_step, loss_after = timed(after_step, args.repeats)

    share = scored / max(tokens / 2, 1)
    print(
        f"{args.backbone}, {len(ci)} HumanEvalFix-Python pairs, {tokens} tokens; {share:.0%} of a pair's tokens lie after its shared prefix"
    )
    print(
        f"evaluation of the implicit reward: {t_after_eval:.2f} s (previous rule {t_before_eval:.2f} s): {t_before_eval / t_after_eval:.2f}x"
    )
    print(f"  zero-shot margins, once per pair set (the baseline's own run): {t_zero:.2f} s; largest margin difference {agree:.2e}")
    print(
        f"training step of {len(rows)} pairs: {t_after_step:.2f} s (previous rule {t_before_step:.2f} s): {t_before_step / t_after_step:.2f}x"
    )
    print(f"  loss {loss_after:.6f} (previous rule {loss_before:.6f})")
    if args.save:
        from figures import save

        rows_out = [
            {
                "case": f"{args.backbone}, implicit reward scored on {len(ci)} HumanEvalFix-Python pairs (tuned model; reference margins reused from the zero-shot run), LoRA r8",
                "figure": f"{t_after_eval:.2f} s",
                "baseline": f"previous rule (whole sequences, tuned model and reference): {t_before_eval:.2f} s",
                "ratio": f"{t_before_eval / t_after_eval:.2f}x",
            },
            {
                "case": f"{args.backbone}, one training step of {len(rows)} pairs (forward and backward), LoRA r8",
                "figure": f"{t_after_step:.2f} s",
                "baseline": f"previous rule (whole sequences): {t_before_step:.2f} s",
                "ratio": f"{t_before_step / t_after_step:.2f}x",
            },
        ]
        print(
            save(
                "reward-lm-cost",
                command="python bench/reward_lm_cost.py --save",
                page="reward",
                rows=rows_out,
                headline=0,
                conditions=(
                    f"{args.threads} threads, max_length {args.max_length}, median of {args.repeats}; {share:.0%} of a pair's tokens lie after "
                    f"its shared prefix; largest margin difference between the rules {agree:.1e}; the zero-shot margins the "
                    f"evaluation reuses took {t_zero:.2f} s once"
                ),
            )
        )


if __name__ == "__main__":
    main()
