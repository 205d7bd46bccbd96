"""``oversight eval-monitors``: how well the sabotage monitors rank flawed hunks and items."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

KEYS: tuple[str, ...] = ("flawed", "clean", "mean_changed_lines", "item_auc", "hunk_auc", "catch@1%", "catch@2%", "catch@5%")
KEYS += ("hunk_catch@2%", "flagged", "false_alarms", "witness_found", "seconds_per_10k_lines", "max_seconds")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval-monitors",
        help="measure the sabotage monitors on labelled items",
        description="Score every hunk of each item with the monitors and report, per family and size: ROC AUC over items "
        "and hunks, catch at audit budgets (0.5-20%% of clean items audited), hunk catch within an item, flag rate, false "
        "alarms on clean controls, backdoor witnesses found, and seconds per 10,000 changed lines.",
    )
    p.add_argument("--items", type=Path, required=True, help="a JSONL file of items made by `oversight items sabotage`")
    p.add_argument(
        "--variant",
        action="append",
        choices=["monitors", "ensemble", "bandit", "random"],
        help="what scores the hunks (repeatable; default: monitors, bandit and random)",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    p.set_defaults(func=eval_monitors)


def eval_monitors(args: argparse.Namespace) -> int:
    from oversight_ext.assistants.monitors.measure import evaluate
    from oversight_ext.items import load_jsonl

    from . import CLIError

    items = load_jsonl(args.items)
    if not any(it.label == "buggy" for it in items) or not any(it.label == "correct" for it in items):
        raise CLIError(f"--items {args.items}: need flawed (label buggy) and clean (label correct) items with gold")
    results = {v: evaluate(items, v) for v in args.variant or ["monitors", "bandit", "random"]}
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if v < 100 else f"{v:.0f}"
    return str(v)


def table(results: dict[str, dict[str, dict[str, object]]]) -> str:
    """One row per (group, variant): the figures named in KEYS."""
    head = ["group", "variant", *KEYS]
    rows = [head]
    groups = sorted({g for r in results.values() for g in r})
    for g in groups:
        for v, r in results.items():
            if g in r:
                rows.append([g, v, *(_fmt(r[g].get(k)) for k in KEYS)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
