"""The likelihood reward: a trained reward model whose untrained score IS the zero-shot likelihood ratio.

r(x) = beta * log p_tuned(x) (``RewardTrainingConfig.reward = "likelihood"``), LoRA on the causal
LM, Bradley-Terry on r(chosen) - r(rejected). Before any step it ranks pairs exactly as the
zero-shot baseline does; training moves it from there. Code alone (the program or function after
the change), SmolLM2-135M.

Training pairs: HumanEvalFix-Python's 48 training pairs (bench/reward_lm.py's split, seed 0) plus
bug/fix pairs planted by ``oversight_ext.items.mutate`` in functions of standard-library modules
(TRAIN_MODULES). Development pairs: HumanEvalFix's 24 development pairs and mutation pairs from
DEV_MODULES. Held-out pairs: HumanEvalFix's 64 held-out pairs (the same as bench/reward_lm.py) and
mutation pairs from HELD_MODULES. The three module lists share no module.

Two stages, so the held-out pairs are scored only with settings chosen on development pairs:

    python bench/reward_likelihood.py --stage dev --out /tmp/rm-lik   # trains, prints development figures (5 min quiet)
    python bench/reward_likelihood.py --stage held --model /tmp/rm-lik --save   # the held-out run, once

``--stage held`` scores the saved model and the zero-shot baseline (the same LM with its
adapters off) on the held-out and development pairs in one run (4 min quiet); the defaults
are the settings chosen on the development pairs (docs/results/reward.md); ``--save`` writes
results/reward-likelihood.json. ``--backbone tiny-llama --mutation-pairs 8 --steps 2`` runs the
plumbing in seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

TRAIN_MODULES = ("textwrap", "fractions", "statistics", "calendar", "difflib", "shlex", "ipaddress", "heapq", "csv", "configparser")
DEV_MODULES = ("fnmatch", "glob", "pprint", "gettext", "base64")
HELD_MODULES = ("inspect", "tokenize", "locale", "shutil", "posixpath", "string", "bisect", "colorsys")


def mutation_pairs(modules: tuple[str, ...], n_pairs: int, seed: int) -> Any:
    """Up to ``n_pairs`` bug/fix pairs (function after the change, correct over buggy) planted in ``modules``, spread evenly."""
    import numpy as np
    import polars as pl

    from oversight_ext.items import generate_items
    from oversight_ext.items.mutate import MutationConfig
    from oversight_ext.reward import RewardTrainingConfig, dataset

    cfg = MutationConfig(rewrite_share=0.0, max_lines=30)
    items = []
    per = -(-n_pairs // len(modules)) + 2
    for k, mod in enumerate(modules):
        n = 2 * per
        while n >= 2:
            try:
                items += generate_items(mod, n, seed + k, config=cfg)
                break
            except ValueError:  # a small module: ask for fewer
                n //= 2
    frame = dataset.from_items(items, RewardTrainingConfig(text_format="after")).frame.filter(~pl.col("tie"))
    frame = frame.filter(pl.col("chosen") != pl.col("rejected"))
    ids = np.random.default_rng(seed).permutation(sorted(set(frame["pair_id"].to_list()))).tolist()[:n_pairs]
    return frame.filter(pl.col("pair_id").is_in(ids))


def sets(args: argparse.Namespace) -> dict[str, Any]:
    import polars as pl
    import reward_lm

    split = argparse.Namespace(data="humanevalfix.jsonl", max_pairs_per_group=0, train_pairs=48, dev_pairs=24, eval_pairs=64)
    hef_train, hef_dev, hef_held = reward_lm.splits(split)
    out = {"hef_train": hef_train, "hef_dev": hef_dev, "hef_held": hef_held}
    if args.stage == "dev":
        out["mut_train"] = mutation_pairs(TRAIN_MODULES, args.mutation_pairs, seed=0)
    out["mut_dev"] = mutation_pairs(DEV_MODULES, args.mutation_eval_pairs, seed=1)
    if args.stage == "held":
        out["mut_held"] = mutation_pairs(HELD_MODULES, args.mutation_eval_pairs, seed=2)
    cols = hef_train.columns
    out = {k: v.select(cols) for k, v in out.items()}
    if args.stage == "dev":
        out["train"] = pl.concat([out["hef_train"], out["mut_train"]])
    return out


def figure(acc: dict[str, Any]) -> str:
    return f"{acc['accuracy']:.3f} [{acc['ci_low']:.3f}, {acc['ci_high']:.3f}]"


def score(model: Any, tok: Any, frames: dict[str, Any], names: list[str], beta: float, max_length: int) -> dict[str, Any]:
    """Zero-shot (adapters off) and likelihood-reward accuracy on each named pair set."""
    from oversight_ext.reward.implicit import ImplicitReward
    from oversight_ext.reward.lm import likelihood_pairwise_accuracy

    rm = ImplicitReward(model, None, tok, beta, max_length, relative=False)
    out: dict[str, Any] = {}
    for name in names:
        with model.disable_adapter():
            zero = likelihood_pairwise_accuracy(model, tok, frames[name], max_length=max_length)
        tuned = rm.pairwise_accuracy(frames[name])
        out[name] = {
            "zero-shot": {k: v for k, v in zero.items() if k != "margin"},
            "likelihood": {k: v for k, v in tuned.items() if k != "margin"},
        }
        print(f"{name:9s} n={tuned['n']:3d}  zero-shot {figure(zero)}   likelihood reward {figure(tuned)}", flush=True)
    return out


def top_layers(model_name: str, k: int) -> list[str]:
    """LoRA target names for the linear layers of the top ``k`` decoder layers (peft matches name suffixes)."""
    from transformers import AutoConfig

    from oversight_ext.reward.lm import cached_gguf_folder
    from oversight_ext.reward.model import backbone_source

    src = backbone_source(model_name)
    n = int(AutoConfig.from_pretrained(cached_gguf_folder(src["path"], src["gguf_file"])).num_hidden_layers) if src["kind"] == "gguf" else 2
    linear = (
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.o_proj",
        "mlp.gate_proj",
        "mlp.up_proj",
        "mlp.down_proj",
    )
    return [f"layers.{i}.{m}" for i in range(max(n - k, 0), n) for m in linear]


def save_results(run: dict[str, Any]) -> Path:
    from figures import save

    rows = []
    labels = {"hef_held": "HumanEvalFix-Python held-out", "mut_held": "mutation pairs from held-out modules"}
    dev_of = {"hef_held": "hef_dev", "mut_held": "mut_dev"}
    for name, label in labels.items():
        r, d = run["scores"][name], run["scores"][dev_of[name]]
        z, t = r["zero-shot"], r["likelihood"]
        rows.append(
            {
                "case": f"{run['backbone']}, likelihood reward, LoRA: {label}, {t['n']} pairs (development {d['likelihood']['n']}: "
                f"{figure(d['likelihood'])}, zero-shot {figure(d['zero-shot'])})",
                "figure": figure(t),
                "baseline": f"zero-shot likelihood ratio: {figure(z)}",
                "ratio": f"{t['accuracy'] / z['accuracy']:.2f}x",
            }
        )
    return save(
        "reward-likelihood",
        command="python bench/reward_likelihood.py --stage held --model DIR --save",
        page="reward",
        rows=rows,
        headline=0,
        conditions=run["conditions"],
        notes=run.get("notes", []),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=("dev", "held"), required=True)
    ap.add_argument("--backbone", default="smollm2")
    ap.add_argument("--out", default=None, help="--stage dev: save the trained model here")
    ap.add_argument("--model", default=None, help="--stage held: the folder --stage dev saved")
    ap.add_argument("--mutation-pairs", type=int, default=48, help="mutation training pairs (besides HumanEvalFix's 48)")
    ap.add_argument("--mutation-eval-pairs", type=int, default=24, help="mutation pairs in each of the development and held-out sets")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--lora-layers", type=int, default=10, help="LoRA on the top K decoder layers only (0: every layer)")
    ap.add_argument("--max-length", type=int, default=384)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torch

    from oversight_ext.reward import RewardTrainingConfig
    from oversight_ext.reward.implicit import load_implicit_reward_model
    from oversight_ext.reward.train import train_reward_model

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    frames = sets(args)
    print(", ".join(f"{k} {v.height}" for k, v in frames.items()) + " pairs", flush=True)
    if args.stage == "dev":
        targets = top_layers(args.backbone, args.lora_layers) if args.lora_layers else []
        cfg = RewardTrainingConfig(
            reward="likelihood", text_format="after", max_length=args.max_length, batch_size=args.batch, max_steps=args.steps,
            warmup_ratio=0.1, lora_r=8, lora_alpha=16, lora_target_modules=targets, learning_rate=args.lr, beta=args.beta, seed=0,
        )  # fmt: skip
        composition = {"humanevalfix": frames["hef_train"].height, "mutation": frames["mut_train"].height}
        res = train_reward_model(
            frames["train"], cfg, backbone=args.backbone, out_dir=args.out, progress=False, meta={"train_pairs": composition}
        )
        t_train = time.perf_counter() - t0
        print(
            f"trained {res.steps} steps on {frames['train'].height} pairs in {t_train:.0f} s; loss {res.losses[0]:.3f} -> {res.losses[-1]:.3f}"
        )
        model, tok, beta = res.model, res.tokenizer, cfg.beta
        names = ["hef_dev", "mut_dev"]
    else:
        if not args.model:
            raise SystemExit("--stage held needs --model DIR (the folder --stage dev saved)")
        scorer, meta = load_implicit_reward_model(args.model)
        from peft import PeftModel

        from oversight_ext.reward.lm import load_causal_lm

        # The adapters onto the base: the zero-shot baseline is the same model with them switched off.
        base, tok = load_causal_lm(str(meta["backbone"]))
        model = PeftModel.from_pretrained(base, args.model).eval()
        beta, cfg_d = scorer.beta, meta["config"]
        names = ["hef_dev", "mut_dev", "hef_held", "mut_held"]
    run_scores = score(model, tok, frames, names, beta, args.max_length)
    seconds = time.perf_counter() - t0
    print(f"{seconds:.0f} s in all")
    if args.stage == "held":
        run = {
            "backbone": args.backbone,
            "scores": run_scores,
            "conditions": (
                f"code alone; trained on {meta['train_rows']} pairs ({json.dumps(meta.get('train_pairs'))}) "
                f"(settings {json.dumps({k: cfg_d[k] for k in ('max_steps', 'batch_size', 'learning_rate', 'beta', 'lora_r')})}, "
                f"LoRA targets {len(cfg_d.get('lora_target_modules') or []) or 'all linear'}), chosen on development pairs only; "
                f"mutation modules: training {', '.join(TRAIN_MODULES)}; development {', '.join(DEV_MODULES)}; "
                f"held-out {', '.join(HELD_MODULES)}"
            ),
            "seconds": seconds,
        }
        if args.json:
            Path(args.json).write_text(json.dumps(run, indent=2))
        if args.save:
            print(save_results(run))
    elif args.json:
        Path(args.json).write_text(json.dumps({"scores": run_scores, "seconds": seconds, "args": vars(args)}, indent=2))


if __name__ == "__main__":
    main()
