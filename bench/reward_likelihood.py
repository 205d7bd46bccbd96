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
adapters off) on the held-out and development pairs in one run; the defaults are the settings
chosen on the development pairs (docs/results/reward.md); ``--save`` writes
results/reward-likelihood.json.

``--stage sweep`` does both in one run, for a GPU: it trains every setting of GRID (or ``--grid
JSON``) on the training pairs, each from the same loaded backbone, picks the one that ranks most
development pairs right (a tie keeps the earlier; the first is the default above), then scores the
held-out pairs once with it and with the default, each beside zero-shot on the same pairs: the
difference, its paired bootstrap 95 % interval, the discordant pairs and McNemar's exact p.
``per_token`` settings train and read the log-likelihood per scored token (the tokens after the
pair's shared prefix), a length-normalised reward.

The mutation pairs depend on the standard library's source, so another Python makes other pairs.
``--pairs-dir DIR`` reads every pair set from DIR, or, when DIR holds none, generates them and
writes them there as JSON lines (``--stage pairs`` only writes). Write it where the pairs were
developed, read it on the GPU machine:

    python bench/reward_likelihood.py --stage pairs --pairs-dir rm-pairs   # here: 5 s, under 1 MB
    python bench/reward_likelihood.py --stage sweep --pairs-dir rm-pairs --gguf SmolLM2-135M-Instruct.Q4_1.gguf --device cuda --json sweep.json

``--save`` writes results/reward-likelihood.json from the sweep (held-out rows of the chosen setting
and of the default, the paired comparisons and every development figure in its notes);
``--stage sweep --rows-from sweep.json --save`` does so here from a run's ``--json`` file.
``--gguf PATH`` takes the weights from that file (converted once to a cached folder, as ``smollm2``
is); ``--device cpu|cuda|auto`` picks where (bf16 on CUDA, fp32 on the CPU).
``--stage sweep --backbone tiny-llama --device cpu --grid '[{"steps": 2}, {"steps": 2, "per_token": true}]'``
runs the plumbing in seconds.

``--stage speed`` trains the same batches three ways, alternated in one run (each pair's texts in separate rows;
one row per pair with the shared prefix once; and that starting every step from the kept output of the frozen
layers below the LoRA layers), prints steps/s and the largest loss-curve difference, and with ``--save`` writes
results/reward-step-speed.json. ``--stage sweep --json RUN`` also writes RUN's ``.partial.json`` after every
setting (development figures only), so a sweep cut short leaves what it had.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

TRAIN_MODULES = ("textwrap", "fractions", "statistics", "calendar", "difflib", "shlex", "ipaddress", "heapq", "csv", "configparser")
DEV_MODULES = (
    "fnmatch",
    "glob",
    "pprint",
    "gettext",
    "base64",
    "netrc",
    "sched",
    "queue",
    "wave",
    "email.utils",
    "http.cookies",
    "imaplib",
)
HELD_MODULES = (
    "inspect", "tokenize", "locale", "shutil", "posixpath", "string", "bisect", "colorsys",
    "urllib.parse", "zipfile", "tarfile", "optparse", "smtplib", "ftplib", "mailbox", "uuid", "quopri", "plistlib", "datetime", "argparse",
)  # fmt: skip
#: The pair sets a pairs folder holds (``mut_train_<N>``: N mutation training pairs, one per size a run asks for).
EVAL_SETS = ("hef_dev", "mut_dev", "hef_held", "mut_held")
COLUMNS = {"chosen": "str", "rejected": "str", "margin": "float", "tie": "bool", "weight": "float", "pair_id": "str", "group_id": "str"}
#: The settings --stage sweep tries, in order (the first is the current default; a tie on development keeps the earlier one).
GRID: tuple[dict[str, Any], ...] = (
    {},
    {"lr": 1e-4},
    {"beta": 0.03},
    {"beta": 0.3},
    {"steps": 24},
    {"per_token": True, "beta": 3.0},
    {"per_token": True, "beta": 3.0, "steps": 24},
    {"mutation_pairs": 192, "steps": 20},
    {"mutation_pairs": 192, "steps": 60, "lr": 1e-4},
    {"mutation_pairs": 192, "steps": 60, "per_token": True, "beta": 3.0},
    {"lora_layers": 0, "steps": 24, "lr": 1e-4},
)


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


def generate_sets(args: argparse.Namespace, train_sizes: list[int]) -> dict[str, Any]:
    """Every pair set, made here: HumanEvalFix's three splits and the mutation sets (training sets of each size in ``train_sizes``)."""
    import reward_lm

    split = argparse.Namespace(data="humanevalfix.jsonl", max_pairs_per_group=0, train_pairs=48, dev_pairs=24, eval_pairs=64)
    hef_train, hef_dev, hef_held = reward_lm.splits(split)
    out = {"hef_train": hef_train, "hef_dev": hef_dev, "hef_held": hef_held}
    for n in sorted(set(train_sizes)):
        out[f"mut_train_{n}"] = mutation_pairs(TRAIN_MODULES, n, seed=0)
    out["mut_dev"] = mutation_pairs(DEV_MODULES, args.mutation_dev_pairs, seed=1)
    out["mut_held"] = mutation_pairs(HELD_MODULES, args.mutation_held_pairs, seed=2)
    return {k: v.select(list(COLUMNS)) for k, v in out.items()}


def manifest_of(args: argparse.Namespace, frames: dict[str, Any]) -> dict[str, Any]:
    return {
        "sets": {k: v.height for k, v in frames.items()},
        "mutation_dev_pairs": args.mutation_dev_pairs,
        "mutation_held_pairs": args.mutation_held_pairs,
        "modules": {"train": list(TRAIN_MODULES), "dev": list(DEV_MODULES), "held": list(HELD_MODULES)},
        "python": sys.version.split()[0],
        "columns": COLUMNS,
    }


def write_pairs(folder: Path, args: argparse.Namespace, frames: dict[str, Any]) -> None:
    """One JSON-lines file per pair set and manifest.json (written last: a folder without it is unfinished)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        with open(folder / f"{name}.jsonl", "w") as fh:
            for row in frame.iter_rows(named=True):
                fh.write(json.dumps(row) + "\n")
    (folder / "manifest.json").write_text(json.dumps(manifest_of(args, frames), indent=2))


def read_pairs(folder: Path, args: argparse.Namespace, train_sizes: list[int]) -> dict[str, Any]:
    """The pair sets a pairs folder holds, checked against what this run asks for."""
    import polars as pl

    manifest = json.loads((folder / "manifest.json").read_text())
    asked = {"mutation_dev_pairs": args.mutation_dev_pairs, "mutation_held_pairs": args.mutation_held_pairs}
    differ = {k: (v, manifest.get(k)) for k, v in asked.items() if manifest.get(k) != v}
    if differ:
        raise SystemExit(
            f"--pairs-dir {folder} was written for other pair counts ({', '.join(f'{k}: asked {a}, folder {b}' for k, (a, b) in differ.items())}): "
            "pass the folder's counts, or write a new folder (a --pairs-dir that does not exist yet) where the standard library is the one to use"
        )
    names = ["hef_train", *EVAL_SETS, *(f"mut_train_{n}" for n in sorted(set(train_sizes)))]
    missing = [n for n in names if n not in manifest["sets"] or not (folder / f"{n}.jsonl").is_file()]
    if missing:
        raise SystemExit(
            f"--pairs-dir {folder} has no {', '.join(missing)}: write the folder again with the same --mutation-pairs and --grid as this run"
        )
    types = {"str": pl.String, "float": pl.Float64, "bool": pl.Boolean}
    schema = {k: types[v] for k, v in manifest["columns"].items()}
    out = {}
    for name in names:
        rows = [json.loads(line) for line in (folder / f"{name}.jsonl").read_text().splitlines() if line.strip()]
        out[name] = pl.from_dicts(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
        if out[name].height != manifest["sets"][name]:
            raise SystemExit(
                f"--pairs-dir {folder}: {name}.jsonl has {out[name].height} pairs, the manifest says {manifest['sets'][name]}; write it again"
            )
    return out


def train_sizes(args: argparse.Namespace, grid: list[dict[str, Any]]) -> list[int]:
    return [args.mutation_pairs] + [int(g.get("mutation_pairs", args.mutation_pairs)) for g in grid]


def sets(args: argparse.Namespace, grid: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The pair sets: read from --pairs-dir when it holds them, else generated here (and written there, given --pairs-dir)."""
    import polars as pl

    sizes = train_sizes(args, grid or [])
    folder = Path(args.pairs_dir) if args.pairs_dir else None
    if folder is not None and (folder / "manifest.json").is_file():
        out = read_pairs(folder, args, sizes)
        print(f"pairs read from {folder} (written under Python {json.loads((folder / 'manifest.json').read_text())['python']})", flush=True)
    else:
        out = generate_sets(args, sizes)
        if folder is not None:
            write_pairs(folder, args, out)
            print(f"pairs written to {folder}", flush=True)
    out["mut_train"] = out[f"mut_train_{args.mutation_pairs}"]
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


def layer_count(backbone: str) -> int:
    """Decoder layers of a backbone, read from its config (2 for the config-built tiny ones)."""
    from transformers import AutoConfig

    from oversight_ext.reward.lm import cached_gguf_folder
    from oversight_ext.reward.model import backbone_source

    src = backbone_source(backbone)
    if src["kind"] == "tiny":
        return 2
    folder = cached_gguf_folder(src["path"], src["gguf_file"]) if src["kind"] == "gguf" else src["path"]
    return int(AutoConfig.from_pretrained(folder).num_hidden_layers)


def top_layers(n_layers: int, k: int) -> list[str]:
    """LoRA target names for the linear layers of the top ``k`` of ``n_layers`` decoder layers (peft matches name suffixes)."""
    linear = (
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.o_proj",
        "mlp.gate_proj",
        "mlp.up_proj",
        "mlp.down_proj",
    )
    return [f"layers.{i}.{m}" for i in range(max(n_layers - k, 0), n_layers) for m in linear]


def token_counts(model: Any, tok: Any, frame: Any, max_length: int) -> tuple[Any, Any]:
    """How many tokens of each text of a pair the shared-prefix rule scores (those after the prefix, EOS included)."""
    import numpy as np

    from oversight_ext.reward.lm import shared_prefix
    from oversight_ext.reward.model import context_length, encode

    limit = min(max_length, context_length(model))
    ci, _ = encode(tok, frame["chosen"].to_list(), limit)
    ri, _ = encode(tok, frame["rejected"].to_list(), limit)
    starts = np.array([max(shared_prefix(c, r), 1) for c, r in zip(ci, ri, strict=True)])
    n_c = np.maximum(np.array([len(c) for c in ci]) - starts, 1)
    n_r = np.maximum(np.array([len(r) for r in ri]) - starts, 1)
    return n_c, n_r


def logprobs(model: Any, tok: Any, frame: Any, max_length: int) -> tuple[Any, Any]:
    """(log p(chosen), log p(rejected)) per pair, over the tokens after the pair's shared prefix."""
    from oversight_ext.reward.lm import pair_logprobs

    return pair_logprobs(model, tok, frame["chosen"].to_list(), frame["rejected"].to_list(), max_length=max_length)  # type: ignore[no-any-return]


def margins(model: Any, tok: Any, frame: Any, max_length: int, counts: tuple[Any, Any] | None) -> Any:
    """log p(chosen) - log p(rejected) per pair; with ``counts``, each log-likelihood per scored token."""
    return rule(logprobs(model, tok, frame, max_length), counts)


def rule(lp: tuple[Any, Any], counts: tuple[Any, Any] | None) -> Any:
    lc, lr = lp
    return lc - lr if counts is None else lc / counts[0] - lr / counts[1]


def accuracy(d: Any) -> dict[str, Any]:
    from oversight_ext.reward.evaluate import _wilson

    right = d > 0
    lo, hi = _wilson(int(right.sum()), len(d))
    return {"accuracy": float(right.mean()), "n": len(d), "ci_low": lo, "ci_high": hi, "right": right}


def paired(zero: Any, tuned: Any, *, boot: int = 10000, seed: int = 0) -> dict[str, Any]:
    """The same pairs under both rules: discordant counts, exact McNemar p, and a paired bootstrap 95 % interval of the difference."""
    import math

    import numpy as np

    only_zero, only_tuned = int((zero & ~tuned).sum()), int((~zero & tuned).sum())
    n = only_zero + only_tuned
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(min(only_zero, only_tuned) + 1)) / 2**n) if n else 1.0
    idx = np.random.default_rng(seed).integers(0, len(zero), size=(boot, len(zero)))
    diffs = tuned[idx].mean(axis=1) - zero[idx].mean(axis=1)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {
        "difference": float(tuned.mean() - zero.mean()), "ci_low": float(lo), "ci_high": float(hi), "both_right": int((zero & tuned).sum()),
        "zero_shot_only": only_zero, "trained_only": only_tuned, "mcnemar_p": p,
    }  # fmt: skip


def margin_profile(d: Any, betas: tuple[float, ...] = (0.1, 1.0, 3.0, 10.0)) -> dict[str, Any]:
    """How the untrained margins d = r(chosen) - r(rejected) (beta 1) of a pair set lie: the share already right, quantiles,
    and the Bradley-Terry loss and mean gradient weight sigmoid(-beta d) each beta starts training from."""
    import numpy as np

    d = np.asarray(d, dtype=np.float64)
    q = np.quantile(d, [0.1, 0.25, 0.5, 0.75, 0.9]).tolist()
    return {
        "n": len(d), "share_right": float((d > 0).mean()), "quantiles_10_25_50_75_90": q,
        "bt_loss": {str(b): float(np.mean(np.logaddexp(0, -b * d))) for b in betas},
        "gradient_weight": {str(b): float(np.mean(np.exp(-np.logaddexp(0, b * d)))) for b in betas},
    }  # fmt: skip


def describe_profile(p: dict[str, Any]) -> str:
    q = p["quantiles_10_25_50_75_90"]
    return (
        f"{p['share_right']:.2f} of {p['n']} right, margin deciles 10/50/90 {q[0]:+.3f}/{q[2]:+.3f}/{q[4]:+.3f}, "
        f"BT loss at beta 0.1/3: {p['bt_loss']['0.1']:.3f}/{p['bt_loss']['3.0']:.3f}"
    )


def keeping_states(trainer: Any, cache: dict[Any, Any], key: Any) -> Any:
    """``trainer`` whose kept frozen-layer states of the training pairs are made once per (``key``, layer) and reused."""

    class Keeping(trainer):  # type: ignore[misc, valid-type]
        def _frozen_states(self, upto: int) -> Any:
            if (key, upto) not in cache:
                cache[(key, upto)] = super()._frozen_states(upto)
            return cache[(key, upto)]

    return Keeping


def per_token_trainer() -> Any:
    """The likelihood reward read per scored token, beta * (log p(c) / n_c - log p(r) / n_r), as a trainer stage."""
    import torch

    from oversight_ext.reward.implicit import ImplicitRewardTrainer
    from oversight_ext.reward.objectives import preference_loss

    class PerTokenTrainer(ImplicitRewardTrainer):
        def tokenize(self) -> None:
            super().tokenize()
            first = torch.tensor(self.pair_starts).clamp(min=1)
            self.cols["n_chosen"] = (torch.tensor([len(c) for c in self.chosen]) - first).clamp(min=1).float()
            self.cols["n_rejected"] = (torch.tensor([len(r) for r in self.rejected]) - first).clamp(min=1).float()

        def compute_loss(self, batch: Any, ex: dict[str, Any]) -> Any:
            lc, lr = self.wrapped(batch).float().chunk(2)
            return preference_loss(self.cfg.beta * (lc / ex["n_chosen"] - lr / ex["n_rejected"]), ex)

    return PerTokenTrainer


def settings(args: argparse.Namespace, override: dict[str, Any]) -> dict[str, Any]:
    base = {
        "mutation_pairs": args.mutation_pairs, "steps": args.steps, "batch": args.batch, "lr": args.lr, "beta": args.beta,
        "lora_layers": args.lora_layers, "lora_r": 8, "per_token": False,
    }  # fmt: skip
    unknown = sorted(set(override) - set(base))
    if unknown:
        raise SystemExit(f"--grid: unknown setting {', '.join(unknown)}; a grid entry may set {', '.join(base)}")
    return {**base, **override}


def short(acc: dict[str, Any]) -> str:
    return f"{acc['accuracy']:.3f} ({int(acc['right'].sum())}/{acc['n']})"


def zero_shot_rules(args: argparse.Namespace, frames: dict[str, Any], device: str) -> dict[str, Any]:
    """The untrained LM on every evaluation set, by summed and by per-token log-likelihood, compared pair by pair.

    Inference only (no training), so it runs on the CPU in minutes: it says whether the length-normalised
    rule that development pairs prefer also holds on held-out pairs, before any training is credited.
    """
    from oversight_ext.reward.lm import load_causal_lm

    t0 = time.perf_counter()
    base, tok = load_causal_lm(args.gguf or args.backbone, device=device)
    base.eval()
    out: dict[str, Any] = {"device": device, "sets": {}}
    for name in EVAL_SETS:
        counts = token_counts(base, tok, frames[name], args.max_length)
        lp = logprobs(base, tok, frames[name], args.max_length)
        summed, per_token = accuracy(rule(lp, None)), accuracy(rule(lp, counts))
        cmp = paired(summed["right"], per_token["right"])
        out["sets"][name] = {
            "summed": {k: v for k, v in summed.items() if k != "right"},
            "per_token": {k: v for k, v in per_token.items() if k != "right"},
            "per_token_minus_summed": cmp,
        }
        print(
            f"{name:9s} n={summed['n']:3d}  summed {figure(summed)}   per token {figure(per_token)}   "
            f"difference {cmp['difference']:+.3f} [{cmp['ci_low']:+.3f}, {cmp['ci_high']:+.3f}], McNemar p {cmp['mcnemar_p']:.3f}",
            flush=True,
        )
    out["seconds"] = time.perf_counter() - t0
    return out


#: --stage speed's ways of computing one step: (share_prefix, cache_frozen_layers).
SPEED_MODES = {"plain": (False, False), "shared": (True, False), "shared+frozen": (True, True)}


def step_speed(args: argparse.Namespace, frames: dict[str, Any], device: str, rounds: int = 2) -> dict[str, Any]:
    """Optimiser steps per second on the same training pairs and batches, computed three ways (SPEED_MODES): each
    pair's texts in separate rows (plain); one row per pair with the shared prefix once (``share_prefix``); and that,
    starting every step from the kept output of the frozen layers below the LoRA layers (``cache_frozen_layers``).
    The modes alternate ``rounds`` times in one run; their loss curves must agree (they compute the same thing).
    ``setup_s``: what a run spends before its first step (for the last mode, the pass through the frozen layers)."""
    import copy

    from oversight_ext.reward import RewardTrainingConfig
    from oversight_ext.reward.lm import load_causal_lm
    from oversight_ext.reward.train import train_reward_model

    backbone = args.gguf or args.backbone
    base, tok = load_causal_lm(backbone, device=device)
    targets = top_layers(int(base.config.num_hidden_layers), args.lora_layers) if args.lora_layers else []
    out: dict[str, Any] = {m: [] for m in SPEED_MODES}
    out.update({"setup_s": {m: [] for m in SPEED_MODES}, "loss": {}, "load_average": [os.getloadavg()[0]]})
    for _ in range(rounds):
        for mode, (share, frozen) in SPEED_MODES.items():
            cfg = RewardTrainingConfig(
                reward="likelihood", text_format="after", max_length=args.max_length, batch_size=args.batch, max_steps=args.steps,
                warmup_ratio=0.1, lora_r=8, lora_alpha=16, lora_target_modules=targets, learning_rate=args.lr, beta=args.beta, seed=0,
                share_prefix=share, cache_frozen_layers=frozen,
            )  # fmt: skip
            t0 = time.perf_counter()
            res = train_reward_model(frames["train"], cfg, backbone=backbone, model=copy.deepcopy(base), tokenizer=tok, progress=False)
            setup = time.perf_counter() - t0 - res.seconds
            out[mode].append(res.steps / res.seconds)
            out["setup_s"][mode].append(setup)
            out["loss"][mode] = res.losses
            out.setdefault("tokens", {})[mode] = res.padded_tokens
            print(
                f"{mode:13s} {res.steps} steps in {res.seconds:.1f} s: {res.steps / res.seconds:.3f} steps/s, {res.padded_tokens} padded "
                f"tokens, {setup:.1f} s before the first step, loss {' '.join(f'{x:.4f}' for x in res.losses)}",
                flush=True,
            )
        out["load_average"].append(os.getloadavg()[0])
    gap = {m: max(abs(a - b) for a, b in zip(out["loss"]["plain"], out["loss"][m], strict=True)) for m in SPEED_MODES}
    ratio = {m: sum(out[m]) / sum(out["plain"]) for m in SPEED_MODES}
    out.update({"ratio": ratio, "max_loss_difference": gap, "pairs": frames["train"].height, "device": device, "rounds": rounds})
    out.update({"steps": args.steps, "batch": args.batch, "lora_layers": args.lora_layers, "lr": args.lr})
    print(
        "steps/s against plain: " + ", ".join(f"{m} {r:.2f}x (largest loss difference {gap[m]:.1e})" for m, r in ratio.items())
        + f"; load average {' '.join(f'{x:.1f}' for x in out['load_average'])}"
    )  # fmt: skip
    return out


def five_fold(args: argparse.Namespace, frames: dict[str, Any], device: str, folds: int = 5) -> dict[str, Any]:
    """HumanEvalFix-Python from code alone, ``folds``-fold by pair_id: each fold's likelihood reward trains on the other
    folds plus the standard-library mutation training pairs, with the given setting (``--per-token``, ``--beta``,
    ``--steps``, ...), and scores the fold it did not see; the untrained LM scores the same pairs by summed and by
    per-token log-likelihood. Every pair is scored once by a model that never trained on it: pooled accuracy with a
    Wilson interval, and the trained rule against each zero-shot rule pair by pair (paired bootstrap, McNemar).
    The pooled figure is also given over the 64 pairs of the fixed held-out split alone (their pair_ids were not
    looked at while choosing settings; the others were, as development or training pairs)."""
    import copy

    import numpy as np
    import polars as pl

    from oversight_ext.reward import RewardTrainingConfig
    from oversight_ext.reward.data import fold_splits
    from oversight_ext.reward.implicit import ImplicitRewardTrainer
    from oversight_ext.reward.lm import load_causal_lm
    from oversight_ext.reward.train import train_reward_model

    t0 = time.perf_counter()
    backbone = args.gguf or args.backbone
    base, tok = load_causal_lm(backbone, device=device)
    base.eval()
    n_layers = int(base.config.num_hidden_layers)
    targets = top_layers(n_layers, args.lora_layers) if args.lora_layers else []
    hef = pl.concat([frames["hef_train"], frames["hef_dev"], frames["hef_held"]])
    fixed_held = set(frames["hef_held"]["pair_id"].to_list())
    ids: list[str] = []
    zs, zp, tr, per_fold = [], [], [], []
    for k, (train_hef, held) in enumerate(fold_splits(hef, folds, 0)):
        train = pl.concat([train_hef, frames["mut_train"]])
        cfg = RewardTrainingConfig(
            reward="likelihood", text_format="after", max_length=args.max_length, batch_size=args.batch, max_steps=args.steps,
            warmup_ratio=0.1, lora_r=8, lora_alpha=16, lora_target_modules=targets, learning_rate=args.lr, beta=args.beta, seed=0,
        )  # fmt: skip
        trainer = per_token_trainer() if args.per_token else ImplicitRewardTrainer
        t1 = time.perf_counter()
        res = train_reward_model(train, cfg, backbone=backbone, model=copy.deepcopy(base), tokenizer=tok, progress=False, trainer=trainer)
        counts = token_counts(base, tok, held, args.max_length)
        zero_lp = logprobs(base, tok, held, args.max_length)
        tuned = rule(logprobs(res.model, tok, held, args.max_length), counts if args.per_token else None)
        zs.append(rule(zero_lp, None))
        zp.append(rule(zero_lp, counts))
        tr.append(tuned)
        ids += held["pair_id"].to_list()
        row = {"fold": k, "train_pairs": train.height, "held_pairs": held.height, "seconds": time.perf_counter() - t1,
               "loss": [res.losses[0], res.losses[-1]], "trained": float((tuned > 0).mean()), "zero_shot_per_token": float((zp[-1] > 0).mean()),
               "zero_shot_summed": float((zs[-1] > 0).mean())}  # fmt: skip
        per_fold.append(row)
        print(
            f"fold {k + 1}/{folds}: trained on {train.height} pairs ({train_hef.height} HumanEvalFix), {res.steps} steps, loss "
            f"{res.losses[0]:.3f} -> {res.losses[-1]:.3f}, {row['seconds']:.0f} s; {held.height} unseen pairs: trained {row['trained']:.3f}, "
            f"zero-shot per token {row['zero_shot_per_token']:.3f}, summed {row['zero_shot_summed']:.3f}",
            flush=True,
        )
        del res
    arrays = {"summed": np.concatenate(zs), "per_token": np.concatenate(zp), "trained": np.concatenate(tr)}
    subset = np.array([i in fixed_held for i in ids])
    pooled: dict[str, Any] = {}
    for part, mask in (("all", np.ones(len(ids), bool)), ("fixed_held_out", subset)):
        acc = {name: accuracy(a[mask]) for name, a in arrays.items()}
        pooled[part] = {
            **acc,
            "trained_against_summed": paired(acc["summed"]["right"], acc["trained"]["right"]),
            "trained_against_per_token": paired(acc["per_token"]["right"], acc["trained"]["right"]),
        }
        c, ct = pooled[part]["trained_against_summed"], pooled[part]["trained_against_per_token"]
        print(
            f"{part:15s} trained {figure(acc['trained'])}   zero-shot summed {figure(acc['summed'])}   per token {figure(acc['per_token'])}\n"
            f"{'':15s} trained - summed {c['difference']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}] (McNemar p {c['mcnemar_p']:.3f}); "
            f"trained - per token {ct['difference']:+.3f} [{ct['ci_low']:+.3f}, {ct['ci_high']:+.3f}] (McNemar p {ct['mcnemar_p']:.3f})",
            flush=True,
        )
    setting = {"per_token": args.per_token, "beta": args.beta, "steps": args.steps, "batch": args.batch, "lr": args.lr,
               "lora_layers": args.lora_layers, "lora_r": 8, "mutation_pairs": frames["mut_train"].height}  # fmt: skip
    return plain({
        "backbone": backbone, "device": device, "folds": folds, "setting": setting, "per_fold": per_fold, "pooled": pooled,
        "pairs": len(ids), "seconds": time.perf_counter() - t0, "load_average": os.getloadavg()[0],
    })  # fmt: skip


def save_folds(run: dict[str, Any]) -> Path:
    """results/reward-folds.json from a --stage folds run: the trained rule beside both zero-shot rules, pooled over the folds."""
    from figures import save

    st = run["setting"]
    how = f"{'per-token' if st['per_token'] else 'summed'} likelihood reward, beta {st['beta']:g}, {st['steps']} LoRA steps"
    rows, differences = [], []
    for part, label in (("all", "every pair"), ("fixed_held_out", "the 64 pairs of the fixed held-out split")):
        r = run["pooled"][part]
        c, ct = r["trained_against_summed"], r["trained_against_per_token"]
        rows.append(
            {
                "case": f"{run['backbone']}, code alone, HumanEvalFix-Python {run['folds']}-fold by pair_id, {how}: {label} ({r['trained']['n']})",
                "figure": figure(r["trained"]),
                "baseline": f"zero-shot summed {figure(r['summed'])}; per token {figure(r['per_token'])}",
                "ratio": f"{r['trained']['accuracy'] / r['summed']['accuracy']:.2f}x",
            }
        )
        differences.append(
            f"{label}: trained - summed {c['difference']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}] (McNemar p {c['mcnemar_p']:.3f}), "
            f"trained - per token {ct['difference']:+.3f} [{ct['ci_low']:+.3f}, {ct['ci_high']:+.3f}] (McNemar p {ct['mcnemar_p']:.3f}), "
            "paired bootstrap 95 % intervals"
        )
    notes = [
        *differences,
        "Each fold trains on the other folds' HumanEvalFix-Python pairs plus "
        f"{st['mutation_pairs']} mutation pairs from standard-library modules (TRAIN_MODULES) and scores its own fold once.",
        "Fold by fold (trained / per-token zero-shot / summed zero-shot): "
        + "; ".join(f"{f['trained']:.3f} / {f['zero_shot_per_token']:.3f} / {f['zero_shot_summed']:.3f}" for f in run["per_fold"])
        + ".",
        f"The settings were chosen on the development pairs (docs/results/reward.md); the pairs of the fixed held-out split were not "
        f"looked at before, the others were, so the second row is the clean one. Load average at the end: {run['load_average']:.1f}.",
    ]
    return save(
        "reward-folds",
        command=f"python bench/reward.py --from-code{' --per-token' if st['per_token'] else ''} --beta {st['beta']:g} --steps {st['steps']} --save",
        page="reward",
        rows=rows,
        headline=0,
        conditions=f"{run['backbone']} on {run['device']}, LoRA r{st['lora_r']} on the top {st['lora_layers']} layers, batch {st['batch']}, lr {st['lr']:g}",
        notes=notes,
    )


def plain(x: Any) -> Any:
    """A run's record without the per-pair right/wrong arrays (JSON-ready)."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items() if k != "right"}
    return [plain(v) for v in x] if isinstance(x, list) else x


def sweep(
    args: argparse.Namespace, frames: dict[str, Any], grid: list[dict[str, Any]], device: str, partial: Path | None = None
) -> dict[str, Any]:
    """Train each grid setting on the training pairs, pick the best on development pairs, score held-out once with it.

    ``partial``: after every setting, what is known so far (development only) is written there, so a run cut short
    still leaves its development figures, loss curves and step-0 margins."""
    import copy

    import polars as pl
    import torch

    from oversight_ext.reward import RewardTrainingConfig
    from oversight_ext.reward.implicit import ImplicitRewardTrainer
    from oversight_ext.reward.lm import load_causal_lm

    t0 = time.perf_counter()
    backbone = args.gguf or args.backbone
    base, tok = load_causal_lm(backbone, device=device)
    base.eval()
    n_layers = int(base.config.num_hidden_layers)
    dtype = str(next(base.parameters()).dtype).removeprefix("torch.")
    print(f"{backbone} on {device} ({dtype}, {n_layers} layers) loaded in {time.perf_counter() - t0:.0f} s", flush=True)
    counts = {name: token_counts(base, tok, frames[name], args.max_length) for name in EVAL_SETS}
    dev_sets, held_sets = ["hef_dev", "mut_dev"], ["hef_held", "mut_held"]

    # LoRA on the top K layers leaves the layers below them as they are in the untrained model: each evaluation set
    # goes through those once (kept), and every trained model, and the untrained one, runs only the layers above.
    llama_like = hasattr(getattr(base, "model", None), "norm") and hasattr(getattr(base, "model", None), "layers")
    below: dict[tuple[str, int], Any] = {}

    def first_trained(lora_layers: int) -> int:
        return n_layers - lora_layers if llama_like and 0 < lora_layers < n_layers else 0

    def lp_of(model: Any, name: str, upto: int) -> tuple[Any, Any]:
        from oversight_ext.reward.lm import pair_frozen_states, pair_logprobs

        if not upto:
            return logprobs(model, tok, frames[name], args.max_length)
        c, r = frames[name]["chosen"].to_list(), frames[name]["rejected"].to_list()
        if (name, upto) not in below:
            below[(name, upto)] = pair_frozen_states(base, tok, c, r, upto, max_length=args.max_length)
        return pair_logprobs(model, tok, c, r, max_length=args.max_length, frozen=(upto, below[(name, upto)]))  # type: ignore[no-any-return]

    def rules(model: Any, names: list[str], per_token: bool, upto: int) -> dict[str, Any]:
        return {n: accuracy(rule(lp_of(model, n, upto), counts[n] if per_token else None)) for n in names}

    untrained: dict[str, Any] = {}
    upto0 = first_trained(args.lora_layers)

    def zero_shot(names: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The untrained LM's ranking by summed and by per-token log-likelihood (one pass for both)."""
        untrained.update({n: lp_of(base, n, upto0) for n in names})
        return {n: accuracy(rule(untrained[n], None)) for n in names}, {n: accuracy(rule(untrained[n], counts[n])) for n in names}

    zero, zero_pt = zero_shot(dev_sets)
    print("development: " + "   ".join(f"{n} zero-shot {short(zero[n])}, per token {short(zero_pt[n])}" for n in dev_sets), flush=True)
    # Where training starts: the untrained margins of the training and development pairs (LoRA's zero B makes step 0 the zero-shot model).
    start: dict[str, Any] = {}
    for size in sorted({int(settings(args, g)["mutation_pairs"]) for g in grid}):
        train = pl.concat([frames["hef_train"], frames[f"mut_train_{size}"]])
        lp = logprobs(base, tok, train, args.max_length)
        start[f"train_{size}"] = {
            "sum": margin_profile(rule(lp, None)),
            "per_token": margin_profile(rule(lp, token_counts(base, tok, train, args.max_length))),
        }
    for n in dev_sets:
        start[n] = {"sum": margin_profile(rule(untrained[n], None)), "per_token": margin_profile(rule(untrained[n], counts[n]))}
    for n, v in start.items():
        print(f"step 0, {n}: " + "; ".join(f"{k} {describe_profile(p)}" for k, p in v.items()), flush=True)
    trials: list[dict[str, Any]] = []
    kept_train: dict[Any, Any] = {}  # the training pairs' states below the LoRA layers, made by the first setting that needs them
    kept: dict[int, Any] = {}
    best = 0
    for i, override in enumerate(grid):
        st = settings(args, override)
        train = pl.concat([frames["hef_train"], frames[f"mut_train_{st['mutation_pairs']}"]])
        targets = top_layers(n_layers, st["lora_layers"]) if st["lora_layers"] else []
        cfg = RewardTrainingConfig(
            reward="likelihood", text_format="after", max_length=args.max_length, batch_size=st["batch"], max_steps=st["steps"],
            warmup_ratio=0.1, lora_r=st["lora_r"], lora_alpha=2 * st["lora_r"], lora_target_modules=targets, learning_rate=st["lr"],
            beta=st["beta"], seed=0,
        )  # fmt: skip
        from oversight_ext.reward.train import train_reward_model

        t1 = time.perf_counter()
        trainer = keeping_states(per_token_trainer() if st["per_token"] else ImplicitRewardTrainer, kept_train, st["mutation_pairs"])
        res = train_reward_model(train, cfg, backbone=backbone, model=copy.deepcopy(base), tokenizer=tok, progress=False, trainer=trainer)
        seconds = time.perf_counter() - t1
        dev = rules(res.model, dev_sets, st["per_token"], first_trained(st["lora_layers"]))
        right = sum(int(dev[n]["right"].sum()) for n in dev_sets)
        trials.append(
            {
                "settings": st,
                "train_pairs": train.height,
                "seconds": seconds,
                "loss": [res.losses[0], res.losses[-1]],
                "loss_curve": res.losses,
                "dev": dev,
                "dev_against_per_token_zero_shot": {n: paired(zero_pt[n]["right"], dev[n]["right"]) for n in dev_sets},
                "dev_right": right,
            }
        )
        print(
            f"[{i}] {json.dumps(override) if override else 'default'}: {train.height} pairs, {res.steps} steps, {seconds:.0f} s, "
            f"loss {res.losses[0]:.3f} -> {res.losses[-1]:.3f}; development " + ", ".join(f"{n} {short(dev[n])}" for n in dev_sets),
            flush=True,
        )
        if partial is not None:
            done = {"partial": True, "grid": grid[: i + 1], "trials": trials, "step0": start}
            partial.write_text(json.dumps(plain({**done, "development_zero_shot": {"sum": zero, "per_token": zero_pt}}), indent=2))
        if i == 0 or right > trials[best]["dev_right"]:
            if best in kept and best != 0:
                del kept[best]
            best = i
            kept[i] = res.model
        elif i != 0:
            del res
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    won = trials[best]
    print(
        f"chosen on development pairs: [{best}] {json.dumps(grid[best]) if grid[best] else 'default'} ({won['dev_right']} right of {sum(zero[n]['n'] for n in dev_sets)})",
        flush=True,
    )
    # The held-out pairs, once: the chosen setting and the first (the default), each beside zero-shot on the same pairs.
    held_zero, held_zero_pt = zero_shot(held_sets)
    held: dict[str, Any] = {}
    for i in sorted({best, 0}):
        scores = rules(kept[i], held_sets, trials[i]["settings"]["per_token"], first_trained(trials[i]["settings"]["lora_layers"]))
        held[str(i)] = {
            n: {
                "trained": scores[n],
                "zero-shot": held_zero[n],
                "paired": paired(held_zero[n]["right"], scores[n]["right"]),
                "paired_per_token": paired(held_zero_pt[n]["right"], scores[n]["right"]),
            }
            for n in held_sets
        }
        for n in held_sets:
            c, ct = held[str(i)][n]["paired"], held[str(i)][n]["paired_per_token"]
            print(
                f"held-out {n:8s} [{i}] against per-token zero-shot {figure(held_zero_pt[n])}: difference {ct['difference']:+.3f} "
                f"[{ct['ci_low']:+.3f}, {ct['ci_high']:+.3f}], trained-only {ct['trained_only']}, zero-shot-only {ct['zero_shot_only']}, "
                f"McNemar p {ct['mcnemar_p']:.3f}",
                flush=True,
            )
            print(
                f"held-out {n:8s} [{i}]{' chosen' if i == best else ' default'}: trained {figure(scores[n])}  zero-shot {figure(held_zero[n])}  "
                f"difference {c['difference']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}], trained-only {c['trained_only']}, "
                f"zero-shot-only {c['zero_shot_only']}, McNemar p {c['mcnemar_p']:.3f}",
                flush=True,
            )
    seconds = time.perf_counter() - t0
    print(f"{seconds:.0f} s in all (device {device})")

    import transformers

    machine = {
        "device_name": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
        "torch": torch.__version__, "transformers": transformers.__version__, "python": sys.version.split()[0],
        "load_average": os.getloadavg()[0],
    }  # fmt: skip
    return plain({
        "backbone": backbone, "machine": machine, "device": device, "dtype": dtype, "grid": grid, "chosen": best, "trials": trials,
        "development_zero_shot": {"sum": zero, "per_token": zero_pt}, "step0": start, "held": held, "held_zero_shot_per_token": held_zero_pt,
        "seconds": seconds,
        "pairs": {k: v.height for k, v in frames.items()},
        "modules": {"train": TRAIN_MODULES, "dev": DEV_MODULES, "held": HELD_MODULES},
    })  # fmt: skip


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


def save_zero_shot(run: dict[str, Any]) -> Path:
    """results/reward-zero-shot.json from a --stage zero-shot run: per-token beside summed log-likelihood, each set."""
    from figures import save

    label = {"hef_dev": "HumanEvalFix development", "mut_dev": "mutation development", "hef_held": "HumanEvalFix held-out",
             "mut_held": "mutation held-out (unused modules)"}  # fmt: skip
    rows = []
    for name in ("hef_held", "mut_held", "hef_dev", "mut_dev"):
        r = run["sets"][name]
        s, t, d = r["summed"], r["per_token"], r["per_token_minus_summed"]
        rows.append({
            "case": f"{label[name]}, {s['n']} pairs: zero-shot per-token log-likelihood",
            "figure": f"{t['accuracy']:.3f} [{t['ci_low']:.3f}, {t['ci_high']:.3f}]",
            "baseline": f"summed (the zero-shot baseline) {s['accuracy']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]",
            "ratio": f"{d['difference']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] paired; {d['trained_only']} vs {d['zero_shot_only']} "
                     f"pairs only one rule gets right, McNemar p {d['mcnemar_p']:.2f}",
        })  # fmt: skip
    return save(
        "reward-zero-shot",
        command="python bench/reward_likelihood.py --stage zero-shot --pairs-dir rm-pairs --json zs.json && "
        "python bench/reward_likelihood.py --stage zero-shot --rows-from zs.json --save",
        page="reward",
        rows=rows,
        conditions=f"SmolLM2-135M on {run['device']}, no training, {run['seconds']:.0f} s",
        notes=[
            "The per-token rule (log-likelihood after the pair's shared prefix, divided by the tokens scored) was preferred on the "
            "development sets before the held-out sets were scored; the paired interval is a bootstrap over pairs.",
        ],
    )


def save_speed(run: dict[str, Any]) -> Path:
    """results/reward-step-speed.json from a --stage speed run's JSON: each way of computing a step against plain rows."""
    from figures import save

    what = {
        "shared": "one row per pair, the shared prefix once (share_prefix)",
        "shared+frozen": "one row per pair, every step from the kept output of the frozen layers below the LoRA layers "
        "(share_prefix + cache_frozen_layers)",
    }
    plain = run["plain"]
    rows = [
        {
            "case": f"smollm2, LoRA r8 on the top {run['lora_layers']} layers, {run['batch']} pairs a step of {run['pairs']} training pairs: {text}",
            "figure": f"{sum(run[m]) / len(run[m]):.3f} steps/s ({', '.join(f'{x:.3f}' for x in run[m])}); "
            f"{run['setup_s'][m][-1]:.0f} s before the first step",
            "baseline": f"plain rows (chosen and rejected texts apart): {sum(plain) / len(plain):.3f} steps/s ({', '.join(f'{x:.3f}' for x in plain)})",
            "ratio": f"{run['ratio'][m]:.2f}x",
        }
        for m, text in what.items()
    ]
    tok = run["tokens"]
    per_round = "; ".join(f"round {k + 1}: " + ", ".join(f"{m} {run[m][k] / plain[k]:.2f}x" for m in what) for k in range(len(plain)))
    notes = [
        f"Against plain, round by round: {per_round}.",
        f"Tokens run per {run['steps']} steps: plain {tok['plain']}, shared {tok['shared']} ({tok['shared'] / tok['plain']:.2f}); the frozen "
        "layers' pass before the first step reads the training pairs once (about one evaluation pass), after which a step runs the "
        "trained layers only.",
        "Largest difference of the loss curves from plain: "
        + ", ".join(f"{m} {g:.1e}" for m, g in run["max_loss_difference"].items() if m != "plain")
        + " (the same batches, computed three ways).",
        f"Load average during the run: {' '.join(f'{x:.1f}' for x in run['load_average'])} (2 cores shared with other sessions): the "
        "ratios come from the three ways alternated in one run, the absolute rates do not carry to a quiet machine.",
    ]
    return save(
        "reward-step-speed",
        command=f"python bench/reward_likelihood.py --stage speed --pairs-dir DIR --steps {run['steps']} --json RUN; --stage speed --rows-from RUN --save",
        page="reward",
        rows=rows,
        headline=1,
        conditions=f"SmolLM2-135M on {run['device']} (float32), {run['rounds']} rounds, likelihood reward, lr {run['lr']:g}",
        notes=notes,
    )


def save_sweep(run: dict[str, Any]) -> Path:
    """results/reward-likelihood.json from a --stage sweep run's JSON: held-out rows of the chosen setting (and of the default)."""
    from figures import save

    labels = {"hef_held": ("HumanEvalFix-Python held-out", "hef_dev"), "mut_held": ("mutation pairs from held-out modules", "mut_dev")}
    chosen, trials, m = int(run["chosen"]), run["trials"], run["machine"]

    def described(i: int) -> str:
        st = trials[i]["settings"]
        rule = "per-token likelihood reward" if st["per_token"] else "likelihood reward"
        return (
            f"{rule}, LoRA (setting [{i}]: {st['mutation_pairs']} mutation + 48 HumanEvalFix training pairs, {st['steps']} steps of "
            f"{st['batch']}, lr {st['lr']:g}, beta {st['beta']:g}, top {st['lora_layers'] or 'all'} layers)"
        )

    rows, notes = [], []
    for i in [chosen] + ([0] if chosen != 0 else []):
        tag = "chosen on development pairs" if i == chosen else "the default, for comparison"
        for name, (label, dev_name) in labels.items():
            h, d = run["held"][str(i)][name], trials[i]["dev"][dev_name]
            z, t, c = h["zero-shot"], h["trained"], h["paired"]
            rows.append(
                {
                    "case": f"{run['backbone'].rsplit('/', 1)[-1]}, {described(i)}, {tag}: {label}, {t['n']} pairs (development {d['n']}: "
                    f"{figure(d)}, zero-shot {figure(run['development_zero_shot']['sum'][dev_name])})",
                    "figure": figure(t),
                    "baseline": f"zero-shot likelihood ratio: {figure(z)}",
                    "ratio": f"{t['accuracy'] / z['accuracy']:.2f}x",
                }
            )
            notes.append(
                f"[{i}] {label}, the same {t['n']} pairs: difference {c['difference']:+.3f}, paired bootstrap 95 % interval "
                f"[{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]; right for both {c['both_right']}, trained only {c['trained_only']}, "
                f"zero-shot only {c['zero_shot_only']}; McNemar exact p {c['mcnemar_p']:.3f}."
            )
    dev = "; ".join(
        f"[{i}] {json.dumps(g) if g else 'default'}: " + ", ".join(f"{n} {t['dev'][n]['accuracy']:.3f}" for n in ("hef_dev", "mut_dev"))
        for i, (g, t) in enumerate(zip(run["grid"], trials, strict=True))
    )
    zs, zt = run["development_zero_shot"]["sum"], run["development_zero_shot"]["per_token"]
    notes.append(
        f"Development, every setting (zero-shot: hef_dev {zs['hef_dev']['accuracy']:.3f}, mut_dev {zs['mut_dev']['accuracy']:.3f}; "
        f"per token {zt['hef_dev']['accuracy']:.3f}, {zt['mut_dev']['accuracy']:.3f}): {dev}. Chosen: [{chosen}], the most development "
        "pairs right (a tie keeps the earlier); the held-out pairs were scored once, after the choice."
    )
    hz = run["held_zero_shot_per_token"]
    notes.append(
        f"Zero-shot per token on the held-out pairs (untrained, not a chosen method): HumanEvalFix {figure(hz['hef_held'])}, "
        f"mutation {figure(hz['mut_held'])}."
    )
    notes.append(f"Sweep run {run['seconds']:.0f} s in all on {m['device_name']} ({run['dtype']}).")
    conditions = (
        f"code alone; run on {m['device_name']} ({run['dtype']}, torch {m['torch']}, transformers {m['transformers']}, Python "
        f"{m['python']}, load average {m['load_average']:.1f}) from pair files written by --stage pairs; mutation modules: training "
        f"{', '.join(run['modules']['train'])}; development {', '.join(run['modules']['dev'])}; held-out {', '.join(run['modules']['held'])}"
    )
    return save(
        "reward-likelihood",
        command="python bench/reward_likelihood.py --stage sweep --pairs-dir DIR --gguf FILE --json RUN; --rows-from RUN --save",
        page="reward",
        rows=rows,
        headline=0,
        conditions=conditions,
        notes=notes,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=("pairs", "dev", "held", "sweep", "zero-shot", "speed", "folds"), required=True)
    ap.add_argument("--backbone", default="smollm2")
    ap.add_argument(
        "--gguf",
        default=None,
        help="the backbone's weights from this GGUF file (e.g. SmolLM2-135M-Instruct.Q4_1.gguf); overrides --backbone",
    )
    ap.add_argument(
        "--device", choices=("auto", "cuda", "cpu"), default="auto", help="auto: CUDA when there is one (bf16 there), else the CPU (fp32)"
    )
    ap.add_argument(
        "--pairs-dir", default=None, help="read the pair sets from this folder, or (when it holds none) generate them and write them there"
    )
    ap.add_argument(
        "--grid", default=None, help="--stage sweep: a JSON list of settings to try, e.g. '[{}, {\"lr\": 1e-4}]' (default: GRID)"
    )
    ap.add_argument("--out", default=None, help="--stage dev: save the trained model here")
    ap.add_argument("--model", default=None, help="--stage held: the folder --stage dev saved")
    ap.add_argument("--mutation-pairs", type=int, default=48, help="mutation training pairs (besides HumanEvalFix's 48)")
    ap.add_argument("--mutation-dev-pairs", type=int, default=96, help="mutation pairs in the development set")
    ap.add_argument("--mutation-held-pairs", type=int, default=120, help="mutation pairs in the held-out set")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--lora-layers", type=int, default=10, help="LoRA on the top K decoder layers only (0: every layer)")
    ap.add_argument("--per-token", action="store_true", help="--stage folds: train and read the reward per scored token")
    ap.add_argument("--folds", type=int, default=5, help="--stage folds: how many folds by pair_id")
    ap.add_argument("--max-length", type=int, default=384)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument(
        "--rows-from", default=None, help="--stage sweep --save: write results/reward-likelihood.json from this sweep --json file and stop"
    )
    args = ap.parse_args()
    if args.rows_from:
        if args.stage not in ("sweep", "zero-shot", "speed", "folds") or not args.save:
            raise SystemExit(
                "--rows-from FILE goes with --stage sweep, zero-shot, speed or folds and --save (it writes the results file from that "
                "stage's --json)"
            )
        run = json.loads(Path(args.rows_from).read_text())
        print({"sweep": save_sweep, "zero-shot": save_zero_shot, "speed": save_speed, "folds": save_folds}[args.stage](run))
        return
    if args.gguf and not (Path(args.gguf).is_file() and args.gguf.endswith(".gguf")):
        raise SystemExit(f"--gguf {args.gguf}: no such .gguf file; give the path of the model's GGUF file")
    if args.stage == "folds" and args.folds < 2:
        raise SystemExit(f"--folds {args.folds} is invalid: give 2 or more (5 is usual)")
    if args.stage == "pairs" and not args.pairs_dir:
        raise SystemExit("--stage pairs writes the pair sets to --pairs-dir DIR: give the folder")
    if args.stage == "pairs" and (Path(args.pairs_dir) / "manifest.json").is_file():
        raise SystemExit(f"--pairs-dir {args.pairs_dir} already holds pair sets: give a new folder (or remove that one)")
    try:
        grid = json.loads(args.grid) if args.grid else [dict(g) for g in GRID]
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--grid is not JSON ({exc}): give a list of objects, e.g. '[{{}}, {{\"lr\": 1e-4}}]'") from None
    if not isinstance(grid, list) or not grid or not all(isinstance(g, dict) for g in grid):
        raise SystemExit("--grid: give a non-empty JSON list of objects, e.g. '[{}, {\"lr\": 1e-4}]'")
    for g in grid:
        settings(args, g)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch loads, so the trainer sees no GPU either

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device here; use --device cpu or auto")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_num_threads(args.threads)
    backbone = args.gguf or args.backbone
    t0 = time.perf_counter()
    frames = sets(args, grid if args.stage in ("pairs", "sweep") else None)
    print(", ".join(f"{k} {v.height}" for k, v in frames.items() if k not in ("train", "mut_train")) + " pairs", flush=True)
    if args.stage == "pairs":
        return
    if args.stage == "folds":
        run = five_fold(args, frames, device, args.folds)
        if args.json:
            Path(args.json).write_text(json.dumps(run, indent=2))
        if args.save:
            print(save_folds(run))
        return
    if args.stage == "speed":
        run = step_speed(args, frames, device)
        if args.json:
            Path(args.json).write_text(json.dumps(run, indent=2))
        if args.save:
            print(save_speed(run))
        return
    if args.stage in ("zero-shot", "sweep"):
        partial = Path(args.json).with_suffix(".partial.json") if args.json else None
        run = zero_shot_rules(args, frames, device) if args.stage == "zero-shot" else sweep(args, frames, grid, device, partial)
        if args.json:
            Path(args.json).write_text(json.dumps(run, indent=2))
        if args.save:
            print((save_zero_shot if args.stage == "zero-shot" else save_sweep)(run))
        return

    from oversight_ext.reward import RewardTrainingConfig
    from oversight_ext.reward.implicit import load_implicit_reward_model
    from oversight_ext.reward.train import train_reward_model

    if args.stage == "dev":
        targets = top_layers(layer_count(backbone), args.lora_layers) if args.lora_layers else []
        cfg = RewardTrainingConfig(
            reward="likelihood", text_format="after", max_length=args.max_length, batch_size=args.batch, max_steps=args.steps,
            warmup_ratio=0.1, lora_r=8, lora_alpha=16, lora_target_modules=targets, learning_rate=args.lr, beta=args.beta, seed=0,
        )  # fmt: skip
        composition = {"humanevalfix": frames["hef_train"].height, "mutation": frames["mut_train"].height}
        res = train_reward_model(
            frames["train"], cfg, backbone=backbone, out_dir=args.out, progress=False, meta={"train_pairs": composition}
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
        base, tok = load_causal_lm(args.gguf or str(meta["backbone"]), device=device)
        model = PeftModel.from_pretrained(base, args.model).to(device).eval()
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
