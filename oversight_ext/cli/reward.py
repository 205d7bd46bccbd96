"""``oversight train-rm`` and ``oversight eval-rm``: reward models from a study's judgments or a file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oversight_ext.reward.dataset import RewardDataset

from oversight_ext.reward.config import RewardTrainingConfig

from .common import add_db


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(
        "train-rm",
        help="train a reward model",
        description="Train a reward model on a study's judgments (labels aggregated across raters), on gold pairs of an "
        "items file (shared code-pair schema: pairs within pair_id, correct over buggy), or on a chosen/rejected "
        "preference file. Holds out pair_ids, prints held-out pairwise accuracy, saves with save_pretrained.",
    )
    t.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="STUDY|FILE",
        help="a study name in the store, an items .jsonl, or a preference .jsonl/.parquet",
    )
    t.add_argument(
        "--backbone",
        default="minilm",
        help="model folder, .gguf file, or minilm | smollm2 | tiny | tiny-llama | tiny-gpt2 (default: minilm)",
    )
    t.add_argument("--out", default=None, help="folder for the trained model (written atomically); required unless --folds is given")
    t.add_argument("--config", default=None, help="TOML file of RewardTrainingConfig options (top level or [reward])")
    t.add_argument("--language", default=None, help="keep only items in this language (items files), e.g. python")
    t.add_argument(
        "--conditions", default=None, help="comma-separated condition names or kinds whose judgments to use (studies; default: all)"
    )
    t.add_argument("--limit", type=int, default=0, help="use at most this many pair_ids (0: all), for quick runs")
    t.add_argument(
        "--folds",
        type=int,
        default=0,
        help="K-fold cross-validation by pair_id (e.g. 5): every pair is held out once and the pooled accuracy is "
        "printed with its interval; with --out a final model is then trained on all pairs and saved (0: one split)",
    )
    t.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override one config option (JSON value), e.g. --set epochs=2"
    )
    add_db(t)
    t.set_defaults(func=train_rm)
    e = sub.add_parser(
        "eval-rm", help="evaluate a reward model on gold", description="Score a saved reward model on the gold pairs of an items file."
    )
    e.add_argument("model", metavar="DIR", help="a folder written by train-rm")
    e.add_argument("--items", required=True, help="items .jsonl with gold labels and pair_ids")
    e.add_argument("--language", default=None, help="keep only items in this language")
    e.add_argument("--json", action="store_true", help="print the figures as JSON")
    e.set_defaults(func=eval_rm)


def _config(args: argparse.Namespace) -> RewardTrainingConfig:
    from oversight_ext.cli import CLIError

    cfg = RewardTrainingConfig.from_toml(args.config) if args.config else RewardTrainingConfig()
    changes = {}
    for kv in args.set:
        key, sep, value = kv.partition("=")
        if not sep:
            raise CLIError(f"--set {kv!r} is not KEY=VALUE: write e.g. --set epochs=2")
        try:
            changes[key] = json.loads(value)
        except json.JSONDecodeError:
            changes[key] = value
    try:
        return RewardTrainingConfig.from_dict({**cfg.to_dict(), **changes})
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _announce(n: int, assistant: str) -> None:
    # On stderr, beside the progress bar, so that ``eval-rm --json`` prints JSON alone.
    print(f"critiquing {n} items with {assistant!r} (the reward model reads each item's critique)", file=sys.stderr, flush=True)


def train_rm(args: argparse.Namespace) -> int:
    from oversight_ext.cli import CLIError

    # Argument mistakes stop here, before torch and the data load.
    if args.folds and args.folds < 2:
        raise CLIError(f"--folds {args.folds} is invalid: give 2 or more (5 is usual), or leave it out for one held-out split")
    if not args.folds and not args.out:
        raise CLIError("--out is required: give a folder for the trained model (or --folds K to cross-validate only)")
    cfg = _config(args)

    from oversight_ext.reward.dataset import load_dataset
    from oversight_ext.reward.train import train_reward_model

    try:
        ds = load_dataset(
            args.source, cfg, db=args.db, language=args.language, limit=args.limit, on_critique=_announce,
            conditions=args.conditions.split(",") if args.conditions else None,
        )  # fmt: skip
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if args.folds:
        return _cross_validate(ds, cfg, args)
    train, held = ds.split(cfg.eval_fraction, cfg.seed)
    try:
        aug = train.augmented(cfg, seed=cfg.seed)
        if aug.height > train.height:
            print(f"added {aug.height - train.height} synthetic pairs with planted bugs to the training split")
        # The trainer's evaluation stage scores the held-out pairs by the model's own rule (head or implicit reward).
        res = train_reward_model(
            aug.frame, cfg, backbone=args.backbone, out_dir=args.out, meta={"source": ds.provenance}, eval_data=held.frame
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    speed = f"{res.examples_per_s:.2f} examples/s, padding {res.padding_fraction:.1%}"
    print(f"trained on {aug.height} rows in {res.seconds:.1f} s ({speed}); saved to {args.out}")
    if res.eval is not None:
        acc = res.eval
        ece = f"; ECE {acc['ece']:.3f}" if "ece" in acc else ""
        print(
            f"held-out pairwise accuracy: {acc['accuracy']:.3f} on {acc['n']} pairs "
            f"(95% CI {acc['ci_low']:.3f}-{acc['ci_high']:.3f}; chance 0.500{ece})"
        )
    return 0


def _cross_validate(ds: RewardDataset, cfg: RewardTrainingConfig, args: argparse.Namespace) -> int:
    import time

    from oversight_ext.cli import CLIError
    from oversight_ext.reward.evaluate import cross_validate
    from oversight_ext.reward.train import train_reward_model

    if cfg.objective != "pairwise":
        raise CLIError("--folds measures pairwise accuracy: use it with objective = 'pairwise'")
    t0 = time.perf_counter()

    def report(k: int, row: dict) -> None:
        print(
            f"fold {k + 1}/{args.folds}: trained on {row['train_pairs']} pairs ({row['examples_per_s']:.2f} pairs/s), "
            f"held-out accuracy {row['accuracy']:.3f} on {row['eval_pairs']} pairs",
            flush=True,
        )

    try:
        cv = cross_validate(ds.frame, cfg, folds=args.folds, backbone=args.backbone, on_fold=report, items=ds.items)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    minutes = (time.perf_counter() - t0) / 60
    print(
        f"{args.folds}-fold cross-validated pairwise accuracy: {cv['accuracy']:.3f} on {cv['n']} held-out pairs, each held out "
        f"once (95% CI {cv['ci_low']:.3f}-{cv['ci_high']:.3f}; chance 0.500; ECE {cv['ece']:.3f}); {minutes:.1f} minutes"
    )
    if args.out:
        try:
            res = train_reward_model(
                ds.augmented(cfg, seed=cfg.seed).frame, cfg, backbone=args.backbone, out_dir=args.out,
                meta={"source": ds.provenance, "cross_validation": {
                    "folds": args.folds, "accuracy": cv["accuracy"], "n": cv["n"], "ci": [cv["ci_low"], cv["ci_high"]]}},
            )  # fmt: skip
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        print(f"final model trained on all {ds.height} pairs in {res.seconds:.1f} s; saved to {args.out}")
    return 0


def _is_implicit(folder: str) -> bool:
    """Whether a saved model is an implicit (language-model) reward, from its metadata."""
    from pathlib import Path

    from oversight_ext.reward.model import MARKER

    marker = Path(folder) / MARKER
    return marker.is_file() and json.loads(marker.read_text()).get("config", {}).get("reward") in ("implicit", "likelihood")


def eval_rm(args: argparse.Namespace) -> int:
    from oversight_ext.cli import CLIError
    from oversight_ext.reward.dataset import from_items_file
    from oversight_ext.reward.evaluate import gold_accuracy
    from oversight_ext.reward.model import load_reward_model

    try:
        if _is_implicit(args.model):
            from oversight_ext.reward.implicit import load_implicit_reward_model

            scorer, meta = load_implicit_reward_model(args.model)
        else:
            model, tok, meta = load_reward_model(args.model)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    saved = RewardTrainingConfig.from_dict({**RewardTrainingConfig().to_dict(), **meta.get("config", {})})
    try:
        ds = from_items_file(args.items, saved.replace(objective="pairwise"), language=args.language, on_critique=_announce)
        if saved.reward != "head":
            found = scorer.pairwise_accuracy(ds.frame)
            acc = {"metric": "pairwise_accuracy", **{k: v for k, v in found.items() if k != "margin"}}
        else:
            acc = gold_accuracy(model, tok, list((ds.items or {}).values()), saved.text_format, ds.critiques)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        print(json.dumps(acc))
    elif acc["metric"] == "pairwise_accuracy":
        ci = f"95% CI {acc['ci_low']:.3f}-{acc['ci_high']:.3f}" + (f"; ECE {acc['ece']:.3f}" if "ece" in acc else "")
        print(f"pairwise accuracy {acc['accuracy']:.3f} on {acc['n']} gold pairs ({ci})")
    else:
        print(f"AUC {acc['accuracy']:.3f} on {acc['n']} gold items")
    return 0
