"""Reward-model training speed: this trainer against TRL's RewardTrainer, same backbone, same pairs.

Real, variable-length code pairs from ../shared/data/humanevalfix.jsonl (all six languages:
correct over buggy within each pair_id, held out by pair_id). Each trainer runs in its own
subprocess, one after the other, so peak memory (max RSS on the CPU, max allocated on a GPU)
is its own. Both get the same initial weights, learning rate, schedule, batch size, epochs and
EOS handling, and both are scored by the same function on the same held-out pairs.

    python bench/reward.py --quick              # tiny BERT, 256 pairs: about a minute on a quiet machine
    python bench/reward.py --backbone minilm    # the pretrained MiniLM, 600 pairs

Prints pairs/s, peak memory and held-out accuracy for both, and the speed ratio (target >= 2x).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "humanevalfix.jsonl"


def load_pairs(args: argparse.Namespace) -> tuple[Any, Any]:
    import polars as pl

    from oversight_ext.items import load_jsonl
    from oversight_ext.reward.data import pairs_from_items, split_by_pair
    from oversight_ext.reward.model import load_backbone

    pairs = pairs_from_items(load_jsonl(DATA), text_format=args.text_format)
    _, tok = load_backbone(args.backbone, seed=0)
    eos = tok.eos_token
    # TRL drops pairs longer than max_length; drop them for both so both see the same data.
    n_c = [len(x) for x in tok([t + eos for t in pairs["chosen"].to_list()], verbose=False)["input_ids"]]
    n_r = [len(x) for x in tok([t + eos for t in pairs["rejected"].to_list()], verbose=False)["input_ids"]]
    pairs = pairs.with_columns(pl.Series("n", [max(a, b) for a, b in zip(n_c, n_r)])).filter(pl.col("n") <= args.max_length)
    train, held = split_by_pair(pairs, 0.2, 0)
    return train.head(args.pairs), held.head(args.eval_pairs)


def worker(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    from oversight_ext.reward.evaluate import pairwise_accuracy
    from oversight_ext.reward.model import load_backbone

    torch.set_num_threads(args.threads)
    train, held = load_pairs(args)
    model, tok = load_backbone(args.backbone, seed=args.seed)
    cuda = torch.cuda.is_available()
    if cuda:
        model.cuda()
        torch.cuda.reset_peak_memory_stats()
    tokens = int(train["n"].sum()) * 2
    if args.worker == "trl":
        from datasets import Dataset
        from trl import RewardConfig, RewardTrainer

        with tempfile.TemporaryDirectory() as out:
            cfg = RewardConfig(
                output_dir=out, per_device_train_batch_size=args.batch_size, num_train_epochs=args.epochs, learning_rate=args.lr,
                lr_scheduler_type="linear", warmup_steps=0, max_grad_norm=1.0, weight_decay=0.0, logging_steps=10**6,
                save_strategy="no", report_to=[], max_length=args.max_length, disable_dropout=True, seed=args.seed,
                dataloader_num_workers=0, bf16=cuda, use_cpu=not cuda, center_rewards_coefficient=None,
            )  # fmt: skip
            t0 = time.perf_counter()
            trainer = RewardTrainer(
                model=model, args=cfg, processing_class=tok,
                train_dataset=Dataset.from_dict({"chosen": train["chosen"].to_list(), "rejected": train["rejected"].to_list()}),
            )  # fmt: skip
            trainer.train()
            seconds = time.perf_counter() - t0
            model = trainer.model
    else:
        from oversight_ext.reward import RewardTrainingConfig
        from oversight_ext.reward.train import train_reward_model

        cfg2 = RewardTrainingConfig(
            batch_size=args.batch_size, epochs=args.epochs, learning_rate=args.lr, warmup_ratio=0.0, max_length=args.max_length,
            seed=args.seed, batching=args.batching, num_threads=args.threads,
        )  # fmt: skip
        t0 = time.perf_counter()
        train_reward_model(train, cfg2, model=model, tokenizer=tok, progress=False)
        seconds = time.perf_counter() - t0
    acc = pairwise_accuracy(model.float(), tok, held, max_length=args.max_length)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = int(np.ceil(args.epochs * train.height))
    return {"trainer": args.worker, "pairs": train.height, "seconds": seconds, "pairs_per_s": n / seconds, "tokens": tokens,
            "peak_mib": peak, "accuracy": acc["accuracy"], "eval_pairs": acc["n"]}  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny BERT, 256 training pairs, 1 epoch")
    p.add_argument(
        "--backbone", default=None, help="tiny | tiny-llama | minilm | smollm2 | a folder (default: tiny with --quick, else minilm)"
    )
    p.add_argument("--pairs", type=int, default=None, help="training pairs (default 256 quick, 600 full)")
    p.add_argument("--eval-pairs", type=int, default=200)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3 for tiny models, 3e-5 for pretrained)")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--text-format", default="spec+after", help="spec+after (full programs, most length variation) or spec+diff")
    p.add_argument("--batching", default="auto", help="this trainer's batching: auto | grouped | packed | random")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1, help="runs per trainer, alternating order; the fastest of each is reported")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    args.backbone = args.backbone or ("tiny" if args.quick else "minilm")
    args.pairs = args.pairs or (256 if args.quick else 600)
    args.lr = args.lr or (1e-3 if args.backbone.startswith("tiny") else 3e-5)
    if args.worker:
        Path(args.result).write_text(json.dumps(worker(args)))
        return 0
    if not DATA.is_file():
        print(f"{DATA} is absent: this benchmark needs the shared evaluation data", file=sys.stderr)
        return 2
    runs: dict[str, list[dict]] = {"trl": [], "oversight": []}
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    for rep in range(args.repeats):
        # Alternate the order so a change in machine load falls on both trainers alike.
        for name in ("trl", "oversight") if rep % 2 == 0 else ("oversight", "trl"):
            with tempfile.NamedTemporaryFile(suffix=".json") as fh:
                cmd = [sys.executable, __file__, *sys.argv[1:], "--worker", name, "--result", fh.name]
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if proc.returncode:
                    print(proc.stderr[-4000:], file=sys.stderr)
                    return proc.returncode
                runs[name].append(json.loads(Path(fh.name).read_text()))
    # Best of the repeats: other processes only ever slow a run down.
    results = {k: max(v, key=lambda r: r["pairs_per_s"]) for k, v in runs.items()}
    t, o = results["trl"], results["oversight"]
    print(
        f"backbone {args.backbone}, {t['pairs']} training pairs x {args.epochs} epoch(s), batch {args.batch_size}, {args.text_format}, max_length {args.max_length}"
    )
    print(f"{'trainer':<12}{'pairs/s':>10}{'seconds':>10}{'peak MiB':>10}{'held-out acc':>14}")
    for r in (t, o):
        print(f"{r['trainer']:<12}{r['pairs_per_s']:>10.2f}{r['seconds']:>10.1f}{r['peak_mib']:>10.0f}{r['accuracy']:>14.3f}")
    ratio = o["pairs_per_s"] / t["pairs_per_s"]
    print(
        f"speed ratio oversight/TRL: {ratio:.2f}x (target >= 2x); accuracy difference {100 * (o['accuracy'] - t['accuracy']):+.1f} points on {o['eval_pairs']} pairs"
    )
    if args.repeats > 1:
        for k, v in runs.items():
            speeds = ", ".join(f"{r['pairs_per_s']:.2f}" for r in v)
            print(f"  {k} pairs/s over {args.repeats} runs: {speeds}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": runs, "ratio": ratio}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
