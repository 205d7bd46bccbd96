"""bench/reward_likelihood.py's parts that a GPU run depends on: pair sets written as JSON lines read
back unchanged (and refused when they do not match the run), the paired comparison, the per-token
rule and trainer, and the sweep end to end on a tiny config-built LM."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import torch
import torch.nn.functional as F
from test_reward_train import synthetic_pairs

from oversight_ext.reward.batching import collate
from oversight_ext.reward.lm import load_causal_lm
from oversight_ext.reward.model import encode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import reward_likelihood as rl


def _args(**kw: object) -> argparse.Namespace:
    base = {"mutation_pairs": 8, "mutation_dev_pairs": 6, "mutation_held_pairs": 7, "steps": 2, "batch": 4, "lr": 3e-3, "beta": 0.1}
    base.update({"lora_layers": 1, "max_length": 64, "pairs_dir": None, "gguf": None, "backbone": "tiny-llama"})
    base.update(kw)
    return argparse.Namespace(**base)


def _frames(args: argparse.Namespace) -> dict[str, pl.DataFrame]:
    sizes = {"hef_train": 8, "hef_dev": 5, "hef_held": 6, "mut_dev": args.mutation_dev_pairs, "mut_held": args.mutation_held_pairs}
    sizes[f"mut_train_{args.mutation_pairs}"] = args.mutation_pairs
    return {k: synthetic_pairs(n, seed=i).select(list(rl.COLUMNS)) for i, (k, n) in enumerate(sizes.items())}


def test_pair_sets_round_trip_through_the_folder(tmp_path: Path) -> None:
    args = _args()
    frames = _frames(args)
    frames["hef_dev"] = frames["hef_dev"].with_columns(pl.lit('quote " and\nnewline \u00e9').alias("chosen"))
    rl.write_pairs(tmp_path, args, frames)
    back = rl.read_pairs(tmp_path, args, [args.mutation_pairs])
    for name, frame in frames.items():
        assert back[name].equals(frame), name
    # sets() reads the folder rather than generating (which would need ../shared/data).
    got = rl.sets(_args(pairs_dir=str(tmp_path)))
    assert got["train"].height == 8 + args.mutation_pairs and got["mut_train"].equals(frames["mut_train_8"])


def test_a_folder_for_other_counts_or_missing_sets_is_refused(tmp_path: Path) -> None:
    args = _args()
    rl.write_pairs(tmp_path, args, _frames(args))
    with pytest.raises(SystemExit, match="mutation_held_pairs: asked 9, folder 7"):
        rl.read_pairs(tmp_path, _args(mutation_held_pairs=9), [8])
    with pytest.raises(SystemExit, match="has no mut_train_16"):
        rl.read_pairs(tmp_path, args, [8, 16])
    (tmp_path / "mut_dev.jsonl").write_text((tmp_path / "mut_dev.jsonl").read_text().split("\n", 1)[1])
    with pytest.raises(SystemExit, match=r"mut_dev\.jsonl has 5 pairs, the manifest says 6"):
        rl.read_pairs(tmp_path, args, [8])


def test_paired_comparison_counts_discordant_pairs() -> None:
    zero = np.array([True] * 10 + [False] * 5 + [True] * 2)
    tuned = np.array([True] * 10 + [True] * 5 + [False] * 2)
    c = rl.paired(zero, tuned)
    assert (c["both_right"], c["trained_only"], c["zero_shot_only"]) == (10, 5, 2)
    assert c["difference"] == pytest.approx(3 / 17)
    assert c["mcnemar_p"] == pytest.approx(2 * (1 + 7 + 21) / 2**7)  # exact binomial, 2 of 7 discordant
    assert c["ci_low"] < c["difference"] < c["ci_high"]
    same = rl.paired(zero, zero)
    assert same["mcnemar_p"] == 1.0 and same["ci_low"] == same["ci_high"] == 0.0


def test_a_grid_entry_with_an_unknown_setting_is_refused() -> None:
    with pytest.raises(SystemExit, match="unknown setting learning_rate"):
        rl.settings(_args(), {"learning_rate": 1e-4})


def _mean_logprob_after(model: torch.nn.Module, ids: list[int], start: int, pad: int) -> float:
    """Mean log p of the tokens from ``start`` on (at least the second), from the full logits."""
    b = collate([ids], pad, packed=False)
    assert b.input_ids is not None
    with torch.no_grad():
        logp = F.log_softmax(model(input_ids=b.input_ids).logits[0, :-1].float(), -1)
    per = logp.gather(1, b.input_ids[0, 1:, None]).squeeze(1).double().numpy()
    return float(per[max(start, 1) - 1 :].mean())


@pytest.mark.slow
def test_per_token_margins_are_mean_log_likelihoods_after_the_shared_prefix() -> None:
    model, tok = load_causal_lm("tiny-llama", seed=2)
    model.eval()
    frame = synthetic_pairs(5)
    counts = rl.token_counts(model, tok, frame, 64)
    d = rl.margins(model, tok, frame, 64, counts)
    ci, _ = encode(tok, frame["chosen"].to_list(), 64)
    ri, _ = encode(tok, frame["rejected"].to_list(), 64)
    for k, (c, r) in enumerate(zip(ci, ri, strict=True)):
        start = next(i for i in range(min(len(c), len(r))) if c[i] != r[i])
        want = _mean_logprob_after(model, c, start, tok.pad_token_id) - _mean_logprob_after(model, r, start, tok.pad_token_id)
        assert d[k] == pytest.approx(want, abs=1e-4)
    assert not np.allclose(d, rl.margins(model, tok, frame, 64, None), atol=1e-3)  # the sum rule differs


@pytest.mark.slow
def test_sweep_trains_each_setting_picks_on_development_and_scores_held_out_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = _args()
    frames = _frames(args)
    frames["train"] = pl.concat([frames["hef_train"], frames["mut_train_8"]])
    # The first setting barely moves the adapters (zero-initialised B), so it must rank as zero-shot does.
    grid = [{"lr": 1e-9}, {"steps": 12, "per_token": True, "beta": 3.0}, {"steps": 12, "lr": 1e-2, "lora_layers": 0}]
    run = rl.sweep(_args(), frames, grid, "cpu", tmp_path / "sweep.partial.json")
    # What a run cut short leaves: every setting's development figures so far, without the held-out ones.
    partial = json.loads((tmp_path / "sweep.partial.json").read_text())
    assert partial["partial"] and len(partial["trials"]) == 3 and "held" not in partial
    assert [t["dev_right"] for t in partial["trials"]] == [t["dev_right"] for t in run["trials"]]
    rights = [t["dev_right"] for t in run["trials"]]
    assert len(rights) == 3 and run["chosen"] == rights.index(max(rights))
    assert [t["settings"]["per_token"] for t in run["trials"]] == [False, True, False]
    assert set(run["held"]) == {"0", str(run["chosen"])}
    for scores in run["held"].values():
        for name, n in (("hef_held", 6), ("mut_held", 7)):
            s = scores[name]
            assert s["trained"]["n"] == s["zero-shot"]["n"] == n
            assert s["paired"]["difference"] == pytest.approx(s["trained"]["accuracy"] - s["zero-shot"]["accuracy"])
        for name in ("hef_held", "mut_held"):  # each also against the untrained per-token rule, pair by pair
            c, t, z = scores[name]["paired_per_token"], scores[name]["trained"], run["held_zero_shot_per_token"][name]
            assert c["difference"] == pytest.approx(t["accuracy"] - z["accuracy"])
    assert set(run["step0"]) == {"train_8", "hef_dev", "mut_dev"}
    assert run["step0"]["hef_dev"]["per_token"]["share_right"] == pytest.approx(
        run["development_zero_shot"]["per_token"]["hef_dev"]["accuracy"]
    )
    assert all(len(t["loss_curve"]) == t["settings"]["steps"] for t in run["trials"])
    zero_dev = run["development_zero_shot"]["sum"]
    assert [run["trials"][0]["dev"][n]["accuracy"] for n in zero_dev] == [zero_dev[n]["accuracy"] for n in zero_dev]
    for name in ("hef_held", "mut_held"):
        assert run["held"]["0"][name]["paired"]["trained_only"] == run["held"]["0"][name]["paired"]["zero_shot_only"] == 0
    # Its JSON makes the results file: held-out rows of the chosen setting, and of the default when another was chosen.
    import figures

    monkeypatch.setattr(figures, "RESULTS", tmp_path)
    saved = json.loads(rl.save_sweep(json.loads(json.dumps(run))).read_text())
    assert len(saved["rows"]) == (2 if run["chosen"] == 0 else 4)
    assert "chosen on development pairs" in saved["rows"][0]["case"] and f"[{run['chosen']}]" in saved["rows"][0]["case"]


def test_zero_shot_stage_compares_the_two_rules_pair_by_pair() -> None:
    args = _args()
    frames = _frames(args)
    run = rl.zero_shot_rules(args, frames, "cpu")
    model, tok = load_causal_lm("tiny-llama", device="cpu")
    model.eval()
    for name in rl.EVAL_SETS:
        got = run["sets"][name]
        # Recomputed independently from the two per-pair log-likelihoods: the rules differ only by the token counts.
        lc, lr = rl.logprobs(model, tok, frames[name], args.max_length)
        nc, nr = rl.token_counts(model, tok, frames[name], args.max_length)
        assert got["summed"]["accuracy"] == pytest.approx(float(np.mean(lc - lr > 0)))
        assert got["per_token"]["accuracy"] == pytest.approx(float(np.mean(lc / nc - lr / nr > 0)))
        d = got["per_token_minus_summed"]
        assert d["difference"] == pytest.approx(got["per_token"]["accuracy"] - got["summed"]["accuracy"])
        assert d["ci_low"] <= d["difference"] <= d["ci_high"]
        assert d["both_right"] + d["zero_shot_only"] == round(got["summed"]["accuracy"] * got["summed"]["n"])


def test_margin_profile_reads_where_training_starts() -> None:
    d = np.array([-1.0, 0.5, 2.0, 3.0])
    p = rl.margin_profile(d)
    assert p["n"] == 4 and p["share_right"] == 0.75
    assert p["bt_loss"]["1.0"] == pytest.approx(float(np.mean(np.log1p(np.exp(-d)))))
    assert p["gradient_weight"]["3.0"] == pytest.approx(float(np.mean(1 / (1 + np.exp(3 * d)))))
    assert p["quantiles_10_25_50_75_90"][2] == pytest.approx(1.25)
    assert "0.75 of 4 right" in rl.describe_profile(p)


@pytest.mark.slow
def test_speed_stage_computes_the_same_steps_three_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = _args()
    frames = _frames(args)
    frames["train"] = pl.concat([frames["hef_train"], frames["mut_train_8"]])
    run = rl.step_speed(args, frames, "cpu", rounds=1)
    assert set(run["ratio"]) == set(rl.SPEED_MODES) and run["ratio"]["plain"] == 1.0
    assert all(len(run[m]) == 1 and run[m][0] > 0 for m in rl.SPEED_MODES)
    # The same loss before any update; after it AdamW's first steps (g / |g|) magnify rounding a little on a random tiny LM.
    assert all(abs(run["loss"][m][0] - run["loss"]["plain"][0]) < 1e-5 for m in rl.SPEED_MODES)
    assert max(run["max_loss_difference"].values()) < 2e-2
    assert run["tokens"]["shared"] < run["tokens"]["plain"]
    import figures

    monkeypatch.setattr(figures, "RESULTS", tmp_path)
    saved = json.loads(rl.save_speed(json.loads(json.dumps(run))).read_text())
    assert len(saved["rows"]) == 2 and saved["page"] == "reward" and "frozen" in saved["rows"][saved["headline"]]["case"]


@pytest.mark.parametrize("per_token", [False, True])
def test_five_fold_scores_every_pair_once_by_a_model_that_never_trained_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_token: bool
) -> None:
    args = _args(lr=1e-9, per_token=per_token)
    # Synthetic sets number their pairs alike; real ones never share a pair_id across sets.
    frames = {k: f.with_columns(pl.format("{}:{}", pl.lit(k), pl.col("pair_id")).alias("pair_id")) for k, f in _frames(args).items()}
    frames["mut_train"] = frames["mut_train_8"]
    seen: list[set[str]] = []
    from oversight_ext.reward import train as train_mod

    original = train_mod.train_reward_model

    def spy(train: pl.DataFrame, *a: object, **kw: object) -> object:
        seen.append(set(train["pair_id"].to_list()))
        return original(train, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(train_mod, "train_reward_model", spy)
    run = rl.five_fold(args, frames, "cpu", folds=3)
    hef = pl.concat([frames["hef_train"], frames["hef_dev"], frames["hef_held"]])
    assert run["pairs"] == hef.height == sum(f["held_pairs"] for f in run["per_fold"]) and len(seen) == 3
    # No fold's model trained on the HumanEvalFix pairs it scored: each trains on the others plus the mutation pairs.
    assert all(f["train_pairs"] == hef.height - f["held_pairs"] + frames["mut_train"].height for f in run["per_fold"])
    hef_ids = set(hef["pair_id"].to_list())
    held_sets = [hef_ids - s for s in seen]
    assert [len(h) for h in held_sets] == [f["held_pairs"] for f in run["per_fold"]] and set().union(*held_sets) == hef_ids
    pooled = run["pooled"]
    assert pooled["fixed_held_out"]["trained"]["n"] == frames["hef_held"].height
    # An lr of 1e-9 leaves the zero-initialised adapters as they are: the trained rule ranks as its untrained rule does.
    same = pooled["all"]["trained_against_per_token" if per_token else "trained_against_summed"]
    assert same["trained_only"] == same["zero_shot_only"] == 0
    assert pooled["all"]["trained"]["accuracy"] == pooled["all"]["per_token" if per_token else "summed"]["accuracy"]
    import figures

    monkeypatch.setattr(figures, "RESULTS", tmp_path)
    saved = json.loads(rl.save_folds(json.loads(json.dumps(run))).read_text())
    assert len(saved["rows"]) == 2 and "3-fold by pair_id" in saved["rows"][0]["case"] and saved["page"] == "reward"


@pytest.mark.parametrize(
    ("script", "argv", "message"),
    [
        ("reward.py", ["--from-code", "--folds", "1"], "--folds 1 is invalid: give 2 or more"),
        ("reward_gpu.py", ["--cpu-check", "--budget-s", "0"], "--budget-s 0.0 is invalid: give the seconds of training per row"),
        ("reward_gpu.py", ["--cpu-check", "--warm-steps", "-1"], "--warm-steps -1 is invalid"),
        ("reward_gpu.py", ["--cpu-check", "--trainers", "trl,ours"], "ours is not a trainer here: use trl and/or oversight"),
        ("reward_quantized.py", ["--stage", "held"], "--stage held needs --dev-json FILE"),
        ("reward_quantized.py", ["--stage", "dev", "--save"], "--save goes with --stage held"),
        ("reward_quantized.py", ["--stage", "dev", "--limit", "-1"], "--limit -1 is invalid: give how many pairs"),
    ],
)
def test_reward_benches_refuse_bad_arguments_before_loading_anything(script: str, argv: list[str], message: str) -> None:
    import subprocess

    bench = Path(__file__).resolve().parents[1] / "bench" / script
    proc = subprocess.run([sys.executable, str(bench), *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and message in proc.stderr + proc.stdout, proc.stderr[-2000:]


def test_reward_quantized_results_put_held_out_beside_development_against_fp32(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/reward_quantized.py's results file from two synthetic runs: memory rows and one row per quantised variant
    and held-out set, each with its development figure and the paired difference from fp32."""
    import figures
    import reward_quantized as rq

    from oversight_ext.reward.evaluate import _wilson

    def acc(k: int, n: int) -> dict[str, Any]:
        lo, hi = _wilson(k, n)
        return {"accuracy": k / n, "n": n, "ci_low": lo, "ci_high": hi}

    def stage(names: tuple[str, ...], right: int) -> dict[str, Any]:
        variants = {}
        for q, mib in (("none", 512.0), ("4bit", 160.0), ("8bit", 208.0)):
            cells = {n: {"accuracy": acc(right if q != "4bit" else right - 1, 10)} for n in names}
            if q != "none":
                for c in cells.values():
                    c["minus_fp32"] = {"difference": -0.1 if q == "4bit" else 0.0, "ci_low": -0.3, "ci_high": 0.1}
                    c["flipped"] = 1 if q == "4bit" else 0
            variants[q] = {"tensor_mib": mib, "resident_mib": mib + 512, "resident_anon_mib": mib, "resident_file_mib": mib,
                           "score_s": 1.0, "sets": cells}  # fmt: skip
        return {"max_length": 384, "variants": variants}

    monkeypatch.setattr(figures, "RESULTS", tmp_path)
    saved = json.loads(rq.save_results(stage(rq.SETS["dev"], 8), stage(rq.SETS["held"], 9), "cmd").read_text())
    assert saved["page"] == "reward" and len(saved["rows"]) == 6
    memory, hef = saved["rows"][0], saved["rows"][1]
    assert memory["figure"].startswith("160 MiB; 672 MiB") and memory["ratio"] == "0.31x; 0.66x"
    assert "HumanEvalFix held-out, 10 pairs" in hef["case"] and "(development: HumanEvalFix development, 10 pairs, 0.700" in hef["case"]
    assert hef["figure"].startswith("0.800") and hef["baseline"].startswith("fp32 0.900") and "1 pairs ranked otherwise" in hef["ratio"]
