"""SmolLM2-135M loaded fp32, 4-bit (NF4) and 8-bit (LLM.int8) through bitsandbytes on the CPU: resident weight
memory and the zero-shot per-token likelihood accuracy, the starting point of a QLoRA run.

The GGUF weights de-quantise once to the cached fp32 folder ``smollm2`` always loads from
(``oversight_ext.reward.lm.cached_gguf_folder``); bitsandbytes then quantises that folder's weights
as they load (``load_causal_lm(..., quantization=...)``), as a QLoRA run does. Each variant is
scored by the per-token rule of bench/reward_likelihood.py (log-likelihood after each pair's
shared prefix, divided by the tokens scored) on the same pairs, and compared pair by pair with
fp32 (the baseline, same run). Forward passes dequantise the weights and compute in fp32
(bitsandbytes' CPU repacking held off, as training holds it: the figure is the quantisation's,
the same on every CPU).

Memory per variant, each in a fresh process: ``get_memory_footprint()`` (bytes of the model's
tensors) and the rise of the process's resident memory over its start, after scoring (every
weight touched; Linux, freed heap memory handed back first).

Development pairs (HumanEvalFix's 24 development pairs and the mutation pairs from
bench/reward_likelihood.py's DEV_MODULES) first; the held-out sets once, after:

    python bench/reward_quantized.py --stage dev --limit 12 --json rq-dev.json               # 5-10 min on 2 cores
    python bench/reward_quantized.py --stage held --limit 12 --dev-json rq-dev.json --save   # held-out once: results/reward-quantized.json
    python bench/reward_quantized.py --stage dev --limit 2                                    # checks the script

``--limit N`` scores the first N pairs of each set (24 HumanEvalFix and 96 mutation development pairs in all;
8-bit scoring on the CPU is slow, about 4x fp32's time).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

VARIANTS = ("none", "4bit", "8bit")
LABEL = {"none": "fp32", "4bit": "4-bit NF4", "8bit": "8-bit LLM.int8"}
SETS = {"dev": ("hef_dev", "mut_dev"), "held": ("hef_held", "mut_held")}
SET_LABEL = {"hef_dev": "HumanEvalFix development", "mut_dev": "mutation development", "hef_held": "HumanEvalFix held-out",
             "mut_held": "mutation held-out (unused modules)"}  # fmt: skip


def load_measured(backbone: str, quantization: str) -> tuple[Any, Any, dict[str, Any]]:
    """The causal LM loaded with ``quantization`` on the CPU, its load time and tensor bytes, repacking held off."""
    from oversight_ext.reward.lm import load_causal_lm
    from oversight_ext.reward.lora import hold_cpu_repacking

    t0 = time.perf_counter()
    model, tok = load_causal_lm(backbone, device="cpu", quantization=quantization)
    mem: dict[str, Any] = {"load_s": time.perf_counter() - t0, "tensor_mib": model.get_memory_footprint() / 2**20}
    hold_cpu_repacking(model)
    model.eval()
    return model, tok, mem


def resident_kib() -> dict[str, int] | None:
    """This process's resident memory (KiB): all, anonymous (heap: what the process holds) and file-backed (mapped
    files, such as the safetensors weights, which the kernel may drop), after handing freed heap memory back (Linux)."""
    import ctypes

    from reward_gpu import _status_kib

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        return {k: _status_kib(f) for k, f in (("all", "VmRSS"), ("anon", "RssAnon"), ("file", "RssFile"))}
    except (OSError, AttributeError, ValueError):
        return None


def variant(args: argparse.Namespace) -> dict[str, Any]:
    """One variant in this (fresh) process: memory, then the per-token rule on each set of the stage."""
    import torch
    from reward_likelihood import logprobs, rule, sets, token_counts

    torch.set_num_threads(args.threads)
    frames = sets(args)
    names = SETS[args.stage]
    if args.limit:
        frames = {n: frames[n].head(args.limit) for n in names}
    before = resident_kib()
    model, tok, row = load_measured(args.backbone, args.variant)
    loaded = resident_kib()
    t0 = time.perf_counter()
    row["sets"] = {}
    for name in names:
        d = rule(logprobs(model, tok, frames[name], args.max_length), token_counts(model, tok, frames[name], args.max_length))
        row["sets"][name] = {"margin": [float(x) for x in d]}
    row["score_s"] = time.perf_counter() - t0
    after = resident_kib()
    if before is not None and loaded is not None and after is not None:
        # As loaded (mmapped fp32 pages count once touched), and after scoring every set (every weight touched).
        row["resident_loaded_mib"] = (loaded["all"] - before["all"]) / 1024
        row["resident_mib"] = (after["all"] - before["all"]) / 1024
        row["resident_anon_mib"] = (after["anon"] - before["anon"]) / 1024
        row["resident_file_mib"] = (after["file"] - before["file"]) / 1024
    return row


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every variant in its own process (clean resident-memory figures), compared pair by pair with fp32."""
    import subprocess
    import tempfile

    import numpy as np
    from reward_likelihood import paired, sets

    out: dict[str, Any] = {"stage": args.stage, "backbone": args.backbone, "max_length": args.max_length, "variants": {}}
    with tempfile.TemporaryDirectory() as tmp:
        pairs_dir = args.pairs_dir or str(Path(tmp) / "pairs")
        args.pairs_dir = pairs_dir
        sets(args)  # written once; every child reads the same pairs
        base: dict[str, Any] = {}
        for q in VARIANTS:
            dest = Path(tmp) / f"{q}.json"
            cmd = [sys.executable, __file__, "--stage", args.stage, "--variant", q, "--json", str(dest), "--pairs-dir", pairs_dir,
                   "--backbone", args.backbone, "--max-length", str(args.max_length), "--limit", str(args.limit),
                   "--threads", str(args.threads), "--mutation-dev-pairs", str(args.mutation_dev_pairs),
                   "--mutation-held-pairs", str(args.mutation_held_pairs)]  # fmt: skip
            subprocess.run(cmd, check=True)
            row = json.loads(dest.read_text())
            print(
                f"{LABEL[q]:15s} tensors {row['tensor_mib']:6.1f} MiB, resident {row.get('resident_mib', float('nan')):6.1f} MiB after "
                f"scoring (anonymous {row.get('resident_anon_mib', float('nan')):6.1f}, file-backed {row.get('resident_file_mib', float('nan')):6.1f}; "
                f"{row.get('resident_loaded_mib', float('nan')):6.1f} as loaded), loaded in {row['load_s']:.1f} s, "
                f"scored in {row['score_s']:.0f} s",
                flush=True,
            )
            for name, cell in row["sets"].items():
                d = np.array(cell.pop("margin"))
                right = d > 0
                cell["accuracy"] = accuracy_of(right)
                if q == "none":
                    base[name] = (right, d)
                else:
                    cell["minus_fp32"] = paired(base[name][0], right)
                    cell["flipped"] = int((right != base[name][0]).sum())
                    cell["margin_corr"] = float(np.corrcoef(d, base[name][1])[0, 1]) if len(d) > 2 else float("nan")
                extra = (
                    ""
                    if q == "none"
                    else f"   {cell['flipped']} pairs ranked otherwise than fp32, margin correlation {cell['margin_corr']:.4f}"
                )
                print(f"  {name:9s} n={cell['accuracy']['n']:3d}  per-token accuracy {fig(cell['accuracy'])}{extra}", flush=True)
            out["variants"][q] = row
    return out


def accuracy_of(right: Any) -> dict[str, Any]:
    from oversight_ext.reward.evaluate import _wilson

    lo, hi = _wilson(int(right.sum()), len(right))
    return {"accuracy": float(right.mean()), "n": len(right), "ci_low": lo, "ci_high": hi}


def fig(acc: dict[str, Any]) -> str:
    return f"{acc['accuracy']:.3f} [{acc['ci_low']:.3f}, {acc['ci_high']:.3f}]"


def save_results(dev: dict[str, Any], held: dict[str, Any], command: str) -> Path:
    """results/reward-quantized.json: per variant, memory and held-out accuracy beside development, against fp32."""
    from figures import save

    rows = []
    fp32 = held["variants"]["none"]
    for q in ("4bit", "8bit"):
        h, d = held["variants"][q], dev["variants"][q]
        rows.append({
            "case": f"SmolLM2-135M {LABEL[q]} on the CPU, weights in memory: tensor bytes; the process's resident rise after scoring "
                    "(anonymous + file-backed), own process",
            "figure": f"{h['tensor_mib']:.0f} MiB; {h['resident_mib']:.0f} MiB ({h['resident_anon_mib']:.0f} + {h['resident_file_mib']:.0f})",
            "baseline": f"fp32 {fp32['tensor_mib']:.0f} MiB; {fp32['resident_mib']:.0f} MiB ({fp32['resident_anon_mib']:.0f} + "
                        f"{fp32['resident_file_mib']:.0f})",
            "ratio": f"{h['tensor_mib'] / fp32['tensor_mib']:.2f}x; {h['resident_mib'] / fp32['resident_mib']:.2f}x",
        })  # fmt: skip
        for name, dev_name in zip(SETS["held"], SETS["dev"], strict=True):
            c, b, dc = h["sets"][name], fp32["sets"][name], d["sets"][dev_name]
            m = c["minus_fp32"]
            rows.append({
                "case": f"{LABEL[q]}, {SET_LABEL[name]}, {c['accuracy']['n']} pairs: zero-shot per-token likelihood accuracy "
                        f"(development: {SET_LABEL[dev_name]}, {dc['accuracy']['n']} pairs, {fig(dc['accuracy'])})",
                "figure": fig(c["accuracy"]),
                "baseline": f"fp32 {fig(b['accuracy'])}",
                "ratio": f"{m['difference']:+.3f} [{m['ci_low']:+.3f}, {m['ci_high']:+.3f}] paired; {c['flipped']} pairs ranked otherwise "
                         f"(development {dc['minus_fp32']['difference']:+.3f}, {dc['flipped']} ranked otherwise)",
            })  # fmt: skip
    return save(
        "reward-quantized",
        command=command,
        page="reward",
        rows=rows,
        conditions=f"SmolLM2-135M-Instruct (the offline GGUF de-quantised to fp32, then quantised by bitsandbytes as it loads) on the CPU, "
        f"max_length {held['max_length']}, no training; scoring {sum(v['score_s'] for v in held['variants'].values()):.0f} s held-out, "
        f"{sum(v['score_s'] for v in dev['variants'].values()):.0f} s development",
        notes=[
            "Development pairs were scored first (--stage dev); the held-out pairs once, after, with nothing chosen in between.",
            "Forward passes dequantise the weights and compute in fp32 (bitsandbytes' AVX512-BF16 repacking held off, as the trainer "
            "holds it), so the difference from fp32 is the weights' quantisation alone.",
            "Embeddings (tied to the output head) stay fp32 in both quantised variants: 28M of the 135M parameters.",
            "Resident memory is not smaller quantised: the fp32 checkpoint transformers reads stays mapped (the file-backed part, "
            "clean pages the kernel may drop under pressure, about the same in all three), and the quantised layers add their own "
            "tensors and dequantisation buffers to the heap (the anonymous part). The saving is in the tensors a process must hold.",
            "Development memory figures: "
            + "; ".join(
                f"{LABEL[q]} {dev['variants'][q]['tensor_mib']:.0f} MiB tensors, {dev['variants'][q]['resident_mib']:.0f} MiB resident"
                for q in VARIANTS
            ),
        ],
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=("dev", "held"), required=True)
    ap.add_argument("--backbone", default="smollm2", help="a causal LM name or folder (default the offline SmolLM2-135M)")
    ap.add_argument("--dev-json", default=None, help="--stage held: the --json file of the development run")
    ap.add_argument("--pairs-dir", default=None, help="read the pair sets from this folder (bench/reward_likelihood.py --stage pairs)")
    ap.add_argument("--mutation-pairs", type=int, default=48, help=argparse.SUPPRESS)
    ap.add_argument("--mutation-dev-pairs", type=int, default=96, help="mutation pairs in the development set")
    ap.add_argument("--mutation-held-pairs", type=int, default=120, help="mutation pairs in the held-out set")
    ap.add_argument("--max-length", type=int, default=384)
    ap.add_argument("--limit", type=int, default=0, help="score only the first N pairs of each set (a check of the script; saves nothing)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--save", action="store_true", help="--stage held: write results/reward-quantized.json")
    ap.add_argument("--variant", choices=VARIANTS, default=None, help=argparse.SUPPRESS)  # one child process's variant
    args = ap.parse_args()
    if args.variant:
        Path(args.json).write_text(json.dumps(variant(args)))
        return 0
    if args.stage == "held" and not args.dev_json:
        print(
            "--stage held needs --dev-json FILE, the --json of the --stage dev run (development figures sit beside held-out)",
            file=sys.stderr,
        )
        return 2
    if args.save and args.stage != "held":
        print("--save goes with --stage held: results hold held-out figures beside development ones", file=sys.stderr)
        return 2
    if args.limit < 0:
        print(f"--limit {args.limit} is invalid: give how many pairs of each set to score, or 0 for all", file=sys.stderr)
        return 2
    dev = json.loads(Path(args.dev_json).read_text()) if args.dev_json else None
    if dev is not None and (dev.get("stage") != "dev" or dev.get("limit") != args.limit):
        print(
            f"--dev-json {args.dev_json} is not a --stage dev run with --limit {args.limit}: run --stage dev --json FILE with the same "
            "--limit first",
            file=sys.stderr,
        )
        return 2
    t0 = time.perf_counter()
    out = run(args)
    out["limit"] = args.limit
    out["seconds"] = time.perf_counter() - t0
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    if args.save and dev is not None:
        path = save_results(dev, out, f"python bench/reward_quantized.py --stage dev --limit {args.limit} --json rq-dev.json && "
                            f"python bench/reward_quantized.py --stage held --limit {args.limit} --dev-json rq-dev.json --save")  # fmt: skip
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
