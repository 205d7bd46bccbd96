"""Reward-model training speed: this trainer against TRL's RewardTrainer, same backbone, same pairs.

Real, variable-length code pairs from ../shared/data/humanevalfix.jsonl (all six languages:
correct over buggy within each pair_id, held out by pair_id). Each trainer runs in its own
subprocess, one after the other, so peak memory (max RSS on the CPU, max allocated on a GPU)
is its own. Both get the same initial weights, learning rate, schedule, batch size, epochs and
EOS handling, and both are scored by the same function on the same held-out pairs: every
pair_id not trained on (several hundred), not a small sample.

With the same batches in the same order the two trainers give the same losses and weights (see
tests/test_reward_train.py), so what remains between their held-out accuracies is the
batch order each one's seed draws. One seed is one draw: ``--seeds N`` runs seeds 0..N-1 for
both and prints the mean accuracy with a 95 % interval over seeds and the paired difference.

    python bench/reward.py --quick              # tiny BERT, 256 pairs, 3 seeds: about 2 minutes on a quiet machine
    python bench/reward.py --backbone minilm    # the pretrained MiniLM, 600 pairs

Prints pairs/s, peak memory and held-out accuracy for both, and the speed ratio (target >= 2x).

``--from-code`` prints the other comparison instead: reward models that read code alone
(SmolLM2's likelihood reward with LoRA) on HumanEvalFix-Python, five-fold by pair_id, beside the
untrained LM's zero-shot likelihood ranking (summed and per token) on the same pairs, with
intervals. It is ``bench/reward_likelihood.py --stage folds``; every other argument goes to it:

    python bench/reward.py --from-code --per-token --beta 3 --steps 8 --save   # the setting development chose
    python bench/reward.py --from-code --backbone tiny-llama --steps 1         # the plumbing, in seconds
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
    import numpy as np
    import polars as pl

    from oversight_ext.items import load_jsonl
    from oversight_ext.reward.data import pairs_from_items
    from oversight_ext.reward.model import load_backbone

    pairs = pairs_from_items(load_jsonl(DATA), text_format=args.text_format)
    _, tok = load_backbone(args.backbone, seed=0)
    eos = tok.eos_token
    # TRL drops pairs longer than max_length; drop them for both so both see the same data.
    n_c = [len(x) for x in tok([t + eos for t in pairs["chosen"].to_list()], verbose=False)["input_ids"]]
    n_r = [len(x) for x in tok([t + eos for t in pairs["rejected"].to_list()], verbose=False)["input_ids"]]
    pairs = pairs.with_columns(pl.Series("n", [max(a, b) for a, b in zip(n_c, n_r)])).filter(pl.col("n") <= args.max_length)
    # A fixed split (seed 0) for every seed: the first pair_ids train, all the others are held out.
    ids = np.random.default_rng(0).permutation(sorted(set(pairs["pair_id"].to_list())))
    train_ids = set(ids[: args.pairs].tolist())
    train, held = pairs.filter(pl.col("pair_id").is_in(list(train_ids))), pairs.filter(~pl.col("pair_id").is_in(list(train_ids)))
    return train, (held.head(args.eval_pairs) if args.eval_pairs else held)


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
            t0, c0 = time.perf_counter(), time.process_time()
            trainer = RewardTrainer(
                model=model, args=cfg, processing_class=tok,
                train_dataset=Dataset.from_dict({"chosen": train["chosen"].to_list(), "rejected": train["rejected"].to_list()}),
            )  # fmt: skip
            trainer.train()
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            model = trainer.model
    else:
        from oversight_ext.reward import RewardTrainingConfig
        from oversight_ext.reward.train import train_reward_model

        cfg2 = RewardTrainingConfig(
            batch_size=args.batch_size, epochs=args.epochs, learning_rate=args.lr, warmup_ratio=0.0, max_length=args.max_length,
            seed=args.seed, batching=args.batching, num_threads=args.threads,
        )  # fmt: skip
        t0, c0 = time.perf_counter(), time.process_time()
        train_reward_model(train, cfg2, model=model, tokenizer=tok, progress=False)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    acc = pairwise_accuracy(model.float(), tok, held, max_length=args.max_length)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = int(np.ceil(args.epochs * train.height))
    return {"trainer": args.worker, "seed": args.seed, "pairs": train.height, "seconds": seconds, "pairs_per_s": n / seconds,
            "cpu_seconds": cpu, "pairs_per_cpu_s": n / cpu,
            "tokens": tokens, "peak_mib": peak, "accuracy": acc["accuracy"], "eval_pairs": acc["n"]}  # fmt: skip


def _median(values: list[float]) -> float:
    return float(sorted(values)[len(values) // 2])


def _mean_ci(values: list[float]) -> tuple[float, float, float]:
    """Mean and 95 % t-interval over seeds (the interval is nan for one seed)."""
    import numpy as np
    from scipy import stats

    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if v.size < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return m, m - half, m + half


def from_code(argv: list[str]) -> int:
    """The from-code-alone comparison: bench/reward_likelihood.py --stage folds with ``argv``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import reward_likelihood

    sys.argv = [str(Path(reward_likelihood.__file__)), "--stage", "folds", *argv]
    reward_likelihood.main()
    return 0


def main() -> int:
    if "--from-code" in sys.argv[1:]:
        return from_code([a for a in sys.argv[1:] if a != "--from-code"])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from-code", action="store_true", help="print the from-code-alone comparison instead (see above)")
    p.add_argument("--quick", action="store_true", help="tiny BERT, 256 training pairs, 1 epoch")
    p.add_argument(
        "--backbone", default=None, help="tiny | tiny-llama | minilm | smollm2 | a folder (default: tiny with --quick, else minilm)"
    )
    p.add_argument("--pairs", type=int, default=None, help="training pairs (default 256 quick, 600 full)")
    p.add_argument("--eval-pairs", type=int, default=0, help="held-out pairs to score (0: every pair_id not trained on)")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3 for tiny models, 3e-5 for pretrained)")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--text-format", default="spec+after", help="spec+after (full programs, most length variation) or spec+diff")
    p.add_argument("--batching", default="auto", help="this trainer's batching: auto | bucketed | grouped | packed | random")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="first seed (model head, batch order); seeds run from here")
    p.add_argument("--seeds", type=int, default=None, help="seeds per trainer (default 3 with --quick, else 1)")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    args.backbone = args.backbone or ("tiny" if args.quick else "minilm")
    args.pairs = args.pairs or (256 if args.quick else 600)
    args.lr = args.lr or (1e-3 if args.backbone.startswith("tiny") else 3e-5)
    args.seeds = args.seeds or (3 if args.quick else 1)
    if args.worker:
        Path(args.result).write_text(json.dumps(worker(args)))
        return 0
    if not DATA.is_file():
        print(f"{DATA} is absent: this benchmark needs the shared evaluation data", file=sys.stderr)
        return 2
    if args.seeds < 1:
        print(f"--seeds {args.seeds} is invalid: give 1 or more", file=sys.stderr)
        return 2
    runs: dict[str, list[dict]] = {"trl": [], "oversight": []}
    load0 = os.getloadavg()[0]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    base = [a for a in sys.argv[1:]]
    for i in range(args.seeds):
        seed = args.seed + i
        # Alternate the order so a change in machine load falls on both trainers alike.
        for name in ("trl", "oversight") if i % 2 == 0 else ("oversight", "trl"):
            with tempfile.NamedTemporaryFile(suffix=".json") as fh:
                cmd = [sys.executable, __file__, *base, "--seed", str(seed), "--worker", name, "--result", fh.name]
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if proc.returncode:
                    print(proc.stderr[-4000:], file=sys.stderr)
                    return proc.returncode
                runs[name].append(json.loads(Path(fh.name).read_text()))
    t, o = runs["trl"], runs["oversight"]
    print(
        f"backbone {args.backbone}, {t[0]['pairs']} training pairs x {args.epochs} epoch(s), batch {args.batch_size}, lr {args.lr}, "
        f"{args.text_format}, max_length {args.max_length}, batching {args.batching}; {t[0]['eval_pairs']} held-out pairs; "
        f"seeds {args.seed}..{args.seed + args.seeds - 1}"
    )
    print(f"{'trainer':<12}{'pairs/s':>10}{'pairs/CPU-s':>13}{'seconds':>10}{'peak MiB':>10}{'held-out acc (mean, 95% CI over seeds)':>42}")
    speeds, cpu_speeds = {}, {}
    for name, rs in runs.items():
        # Median over seeds: other processes only ever slow a run down, and the median resists one slow run.
        speeds[name] = _median([r["pairs_per_s"] for r in rs])
        cpu_speeds[name] = _median([r["pairs_per_cpu_s"] for r in rs])
        m, lo, hi = _mean_ci([r["accuracy"] for r in rs])
        ci = f"{m:.3f} ({lo:.3f}-{hi:.3f})" if args.seeds > 1 else f"{m:.3f}"
        print(
            f"{name:<12}{speeds[name]:>10.2f}{cpu_speeds[name]:>13.2f}{_median([r['seconds'] for r in rs]):>10.1f}"
            f"{max(r['peak_mib'] for r in rs):>10.0f}{ci:>42}"
        )
    ratio = speeds["oversight"] / speeds["trl"]
    cpu_ratio = cpu_speeds["oversight"] / cpu_speeds["trl"]
    d, dlo, dhi = _mean_ci([100 * (b["accuracy"] - a["accuracy"]) for a, b in zip(t, o)])
    interval = f" (95% CI {dlo:+.1f} to {dhi:+.1f}, paired by seed)" if args.seeds > 1 else " (one seed: a single draw of batch order)"
    print(f"speed ratio oversight/TRL: {ratio:.2f}x wall-clock, {cpu_ratio:.2f}x per CPU-second (target >= 2x)")
    print(f"accuracy difference {d:+.1f} points{interval} (target: within 1 point)")
    print(f"load average (1 min) before and after: {load0:.2f}, {os.getloadavg()[0]:.2f}")
    if os.getloadavg()[0] > 1.5 * max(args.threads, 1) or load0 > 1.5 * max(args.threads, 1):
        print(
            "  other processes were running: wall-clock pairs/s is unreliable; the per-CPU-second ratio counts only each "
            "trainer's own CPU time (with --threads 1 it is what wall-clock would be on a quiet machine)"
        )
    print("  per seed  " + "  ".join(f"{a['seed']}: TRL {a['accuracy']:.3f} / ours {b['accuracy']:.3f}" for a, b in zip(t, o)))
    for k, v in runs.items():
        print(f"  {k} pairs/s per seed: " + ", ".join(f"{r['pairs_per_s']:.2f}" for r in v))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"args": vars(args), "runs": runs, "ratio": ratio, "cpu_ratio": cpu_ratio, "accuracy_difference_points": d}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
