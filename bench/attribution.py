"""Line attributions of a trained reward model on real programs: are they faithful, and do they find the bug?

A reward model (``--backbone``, default the tiny BERT built from a config) is trained on the
HumanEvalFix-Python pairs of half the tasks (program text, correct over buggy). On the buggy
programs of the other half, every non-blank line is attributed by occlusion (the reward with
the line deleted) and by integrated gradients (``captum``, completeness within 2%), and
compared with a random line:

- faithfulness: deleting the line a method ranks first moves the reward by how much, against
  deleting a random other line (the measured occlusion effect is the yardstick for both);
- bug finding: how often the line a method ranks as lowering the reward most is a gold bug
  line, against a random line (the chance rate).

    python bench/attribution.py --quick     # 40 training pairs, 15 programs: a few minutes
    python bench/attribution.py             # every task: writes results/attribution.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
DATA = ROOT.parent / "shared" / "data" / "humanevalfix.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="40 training pairs, 15 held-out programs; writes no results file")
    ap.add_argument("--backbone", default="tiny", help="reward-model backbone (tiny, minilm, smollm2 or a model folder)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import polars as pl

    from oversight_ext.diffs import make_diff
    from oversight_ext.items import load_jsonl
    from oversight_ext.reward.attribution import faithfulness, occlusion
    from oversight_ext.reward.config import RewardTrainingConfig
    from oversight_ext.reward.data import pairs_from_items
    from oversight_ext.reward.gradients import integrated_gradients
    from oversight_ext.reward.model import load_reward_model, score_texts
    from oversight_ext.reward.train import train_reward_model

    if not DATA.is_file():
        raise SystemExit(f"error: {DATA} is missing: this benchmark reads HumanEvalFix from ../shared/data")
    items = [it for it in load_jsonl(DATA) if it.language == "python"]
    tasks = sorted({it.pair_id for it in items})
    order = np.random.default_rng(args.seed).permutation(len(tasks))
    train_ids = {tasks[i] for i in order[: len(tasks) // 2]}
    held = [it for it in items if it.pair_id not in train_ids and it.label == "buggy" and it.after and it.bug_lines]
    pairs = pairs_from_items(items, text_format="after").filter(pl.col("pair_id").is_in(sorted(train_ids)))
    if args.quick:
        pairs, held = pairs.head(40), held[:15]
    config = RewardTrainingConfig(text_format="after", learning_rate=1e-3 if args.backbone == "tiny" else 5e-5, batch_size=8,
                                  epochs=3, warmup_ratio=0.0, seed=args.seed)  # fmt: skip
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rm"
        train_reward_model(pairs, config, backbone=args.backbone, out_dir=out, progress=False)
        model, tok, _ = load_reward_model(out)
    trained_s = time.perf_counter() - t0

    def score(texts: list[str]) -> np.ndarray:
        return score_texts(model, tok, texts, max_length=512)

    occ, ig, errs = [], [], []
    hits = {"occlusion": 0, "integrated gradients": 0, "random line": 0.0}
    t0 = time.perf_counter()
    for it in held:
        assert it.after is not None
        whole = make_diff("", it.after, it.path or "x.py")  # every line of the program is a candidate
        o = occlusion(score, before=None, after=it.after, diff=whole, text_format="after")
        g, err = integrated_gradients(model, tok, before=None, after=it.after, diff=whole, text_format="after", max_length=512)
        occ.append(o)
        ig.append(g)
        errs.append(err)
        gold = set(it.bug_lines)
        hits["occlusion"] += bool(o) and o[0].line in gold
        hits["integrated gradients"] += bool(g) and g[0].line in gold
        hits["random line"] += len(gold & {a.line for a in o}) / max(len(o), 1)
    attributed_s = time.perf_counter() - t0
    f_occ = faithfulness(occ, seed=args.seed)
    f_ig = faithfulness(ig, measured=occ, seed=args.seed)
    n = len(held)
    print(
        f"trained on {len(pairs)} pairs ({args.backbone}) in {trained_s:.0f} s; attributed {n} held-out buggy programs in {attributed_s:.0f} s"
    )
    print(f"integrated gradients: completeness error median {np.median(errs):.3f}, max {max(errs):.3f} (relative; asked <= 0.02)")
    print("deleting the top-ranked line moves the reward by (mean |change|), against a random other line:")
    for name, f in (("occlusion", f_occ), ("integrated gradients", f_ig)):
        ratio = f["top_mean"] / f["random_mean"] if f["random_mean"] else float("inf")
        print(f"  {name:22s} {f['top_mean']:.4f} vs {f['random_mean']:.4f}  ({ratio:.1f}x; top wins on {f['top_wins']:.0%} of {f['n']})")
    print("the top-ranked line is a gold bug line:")
    for name, k in hits.items():
        print(f"  {name:22s} {k / n:.3f}")
    if args.quick:
        return
    from figures import save

    ig_ratio = f_ig["top_mean"] / f_ig["random_mean"] if f_ig["random_mean"] else float("inf")
    save(
        "attribution",
        command=f"python bench/attribution.py --backbone {args.backbone} --seed {args.seed}",
        page="reward",
        conditions=f"{args.backbone} reward model trained on {len(pairs)} HumanEvalFix-Python pairs (half the tasks, seed {args.seed}); "
        f"{n} buggy programs of the other half; every non-blank line attributed",
        rows=[
            {
                "case": "integrated gradients: |reward change| on deleting the top-ranked line",
                "figure": f"{f_ig['top_mean']:.4f} (top wins {f_ig['top_wins']:.0%})",
                "baseline": f"a random other line: {f_ig['random_mean']:.4f}",
                "ratio": f"{ig_ratio:.1f}x",
            },
            {
                "case": "occlusion: the same (true by construction; the yardstick)",
                "figure": f"{f_occ['top_mean']:.4f}",
                "baseline": f"a random other line: {f_occ['random_mean']:.4f}",
                "ratio": f"{f_occ['top_mean'] / max(f_occ['random_mean'], 1e-12):.1f}x",
            },
            {
                "case": "integrated gradients: top-ranked line is a gold bug line",
                "figure": f"{hits['integrated gradients'] / n:.3f}",
                "baseline": f"random line {hits['random line'] / n:.3f}; occlusion {hits['occlusion'] / n:.3f}",
                "ratio": f"{hits['integrated gradients'] / max(hits['random line'], 1e-12):.1f}x",
            },
        ],
        notes=[f"Integrated-gradients completeness error (relative): median {np.median(errs):.3f}, max {max(errs):.3f}."],
    )


if __name__ == "__main__":
    main()
