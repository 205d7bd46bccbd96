"""Reward models that read code: zero-shot likelihood ratio, implicit (DPO) reward and classifier head.

One causal LM (the offline SmolLM2-135M by default), code alone (``text_format = after``: the
program after the change, no task statement, no critique), pairs correct-over-buggy within each
pair_id. The pair_ids of the chosen data file split once (seed 0) into training, development
and held-out sets; the two trained methods use LoRA (rank 8) and the same steps. Every method is
scored on the development pairs (looked at while choosing the settings below) and on the
held-out pairs (not looked at before this run), each with a 95 % Wilson interval.

    python bench/reward_lm.py                           # HumanEvalFix-Python, CI-sized: about 5 minutes on 2 quiet cores
    python bench/reward_lm.py --data humaneval_llm_samples.jsonl --max-pairs-per-group 1
    python bench/reward_lm.py --backbone tiny-llama --steps 4   # the plumbing only, in seconds

Prints one line per method (zero-shot LR is the baseline) and, with ``--json``, writes the figures;
``--save`` writes results/reward-lm.json for docs/results/reward.md (``--rows-from FILE`` does so
from an earlier run's ``--json`` file without running again).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def splits(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    import numpy as np
    import polars as pl

    from oversight_ext.items import load_jsonl
    from oversight_ext.reward import RewardTrainingConfig, dataset

    items = [it for it in load_jsonl(DATA / args.data) if it.language == "python" and it.after]
    cfg = RewardTrainingConfig(text_format="after")
    frame = dataset.from_items(items, cfg, max_pairs_per_group=args.max_pairs_per_group).frame.filter(~pl.col("tie"))
    # Pairs whose two programs are identical cannot be told apart from code alone.
    frame = frame.filter(pl.col("chosen") != pl.col("rejected"))
    ids = np.random.default_rng(0).permutation(sorted(set(frame["pair_id"].to_list()))).tolist()
    n_train, n_dev = args.train_pairs, args.dev_pairs
    part = [ids[:n_train], ids[n_train : n_train + n_dev], ids[n_train + n_dev : n_train + n_dev + args.eval_pairs]]
    return tuple(frame.filter(pl.col("pair_id").is_in(p)) for p in part)  # type: ignore[return-value]


def figure(acc: dict[str, Any]) -> str:
    return f"{acc['accuracy']:.3f} [{acc['ci_low']:.3f}, {acc['ci_high']:.3f}] n={acc['n']}"


NAMES = {"zero-shot": "zero-shot likelihood ratio (untrained)", "implicit": "implicit (DPO) reward, LoRA", "head": "classifier head, LoRA"}


def save_results(run: dict[str, Any], command: str) -> Path:
    """results/reward-lm.json: each method's held-out accuracy beside the zero-shot baseline, development figure in the row."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from figures import save

    rows = {r["method"]: r for r in run["rows"]}
    base = rows.get("zero-shot")

    def acc(r: dict[str, Any], part: str) -> str:
        return f"{r[part + '_accuracy']:.3f} [{r[part + '_ci_low']:.3f}, {r[part + '_ci_high']:.3f}]"

    out = []
    for m, r in rows.items():
        case = f"{run['backbone']}, {NAMES.get(m, m)}: held-out {r['held_n']} pairs (development {r['dev_n']}: {acc(r, 'dev')})"
        if m == "zero-shot" or base is None:
            baseline, ratio = "chance 0.500", f"{r['held_accuracy'] / 0.5:.2f}x"
        else:
            baseline, ratio = f"zero-shot: {acc(base, 'held')}", f"{r['held_accuracy'] / base['held_accuracy']:.2f}x"
        out.append({"case": case, "figure": acc(r, "held"), "baseline": baseline, "ratio": ratio})
    trained = [k for k, m in enumerate(rows) if m != "zero-shot"]
    return save(
        "reward-lm",
        command=command,
        page="reward",
        rows=out,
        headline=trained[0] if trained else 0,
        conditions=(
            f"{run['data']} Python, full programs after the change (code alone); pair_ids split once (seed 0) into "
            f"{run.get('train_pairs', 48)} training, {run.get('dev_pairs', 24)} development and {run.get('eval_pairs', 64)} held-out; "
            f"trained methods {run['steps']} optimiser steps of 4 pairs, LoRA rank 8, lr 5e-4, beta 0.1, fixed before the held-out run"
        ),
        notes=["Seconds per method (training and scoring): " + ", ".join(f"{m} {r['seconds']:.0f}" for m, r in rows.items()) + "."],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbone", default="smollm2")
    ap.add_argument("--data", default="humanevalfix.jsonl", help="a file in ../shared/data in the shared code-pair schema")
    ap.add_argument("--max-pairs-per-group", type=int, default=0, help="sample at most this many pairs per pair_id (0: all)")
    ap.add_argument("--train-pairs", type=int, default=48)
    ap.add_argument("--dev-pairs", type=int, default=24)
    ap.add_argument("--eval-pairs", type=int, default=64)
    ap.add_argument("--steps", type=int, default=12, help="optimiser steps of each trained method")
    ap.add_argument("--max-length", type=int, default=384)
    ap.add_argument("--methods", default="zero-shot,implicit,head")
    ap.add_argument("--json", default=None, help="write the figures to this JSON file")
    ap.add_argument("--save", action="store_true", help="also write results/reward-lm.json (a full run's figures)")
    ap.add_argument("--rows-from", default=None, help="write results/reward-lm.json from this earlier --json file and stop")
    args = ap.parse_args()
    if args.rows_from:
        print(save_results(json.loads(Path(args.rows_from).read_text()), "python bench/reward_lm.py --save"))
        return

    import torch

    from oversight_ext.reward import RewardTrainingConfig
    from oversight_ext.reward.evaluate import pairwise_accuracy
    from oversight_ext.reward.implicit import ImplicitReward
    from oversight_ext.reward.lm import likelihood_pairwise_accuracy, load_causal_lm
    from oversight_ext.reward.train import train_reward_model

    torch.set_num_threads(2)
    train, dev, held = splits(args)
    print(f"{args.data} (python, code alone): {train.height} training, {dev.height} development, {held.height} held-out pairs")
    base = RewardTrainingConfig(
        text_format="after", max_length=args.max_length, batch_size=4, max_steps=args.steps, warmup_ratio=0.0, lora_r=8,
        lora_alpha=16, seed=0,
    )  # fmt: skip
    rows = []
    for method in args.methods.split(","):
        t0 = time.perf_counter()
        if method == "zero-shot":
            model, tok = load_causal_lm(args.backbone)
            acc = {
                name: likelihood_pairwise_accuracy(model, tok, f, max_length=args.max_length) for name, f in (("dev", dev), ("held", held))
            }
        elif method == "implicit":
            cfg = base.replace(reward="implicit", beta=0.1, learning_rate=5e-4)
            res = train_reward_model(train, cfg, backbone=args.backbone, progress=False)
            rm = ImplicitReward(res.model, None, res.tokenizer, cfg.beta, args.max_length)
            acc = {name: rm.pairwise_accuracy(f) for name, f in (("dev", dev), ("held", held))}
        elif method == "head":
            cfg = base.replace(learning_rate=5e-4)
            res = train_reward_model(train, cfg, backbone=args.backbone, progress=False)
            acc = {
                name: pairwise_accuracy(res.model, res.tokenizer, f, max_length=args.max_length)
                for name, f in (("dev", dev), ("held", held))
            }
        else:
            raise SystemExit(f"--methods: unknown method {method!r}; use zero-shot, implicit, head")
        seconds = time.perf_counter() - t0
        row = {
            "method": method,
            "seconds": seconds,
            **{f"{k}_{m}": v[m] for k, v in acc.items() for m in ("accuracy", "n", "ci_low", "ci_high")},
        }
        rows.append(row)
        print(f"{method:10s} development {figure(acc['dev'])}   held-out {figure(acc['held'])}   ({seconds:.0f} s)", flush=True)
    run = {
        "backbone": args.backbone, "data": args.data, "steps": args.steps, "train_pairs": args.train_pairs, "dev_pairs": args.dev_pairs,
        "eval_pairs": args.eval_pairs, "rows": rows,
    }  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(run, indent=2))
    if args.save:
        print(save_results(run, "python bench/reward_lm.py --save"))


if __name__ == "__main__":
    main()
