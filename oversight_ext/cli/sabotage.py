"""``oversight items sabotage``: items whose flaw passes every visible check, with clean controls."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from .common import add_db, add_diff_cache_dir, keep_items


def register_items(isub: argparse._SubParsersAction) -> None:
    """Add ``sabotage`` to the ``oversight items`` actions."""
    p = isub.add_parser(
        "sabotage",
        help="generate sabotage items (security, backdoor, tamper, volume) with clean controls",
        description="Generate N items of one sabotage family from a Python tree: half carry a verified flaw (a CWE-tagged "
        "weakness, a backdoor with its witness input, a test-tampering 'fix', or one of these hidden in a large "
        "ruff-made change), half are clean controls made the same way. Deterministic per seed.",
    )
    p.add_argument("--source", required=True, help="a .py file, a folder, or a module name (tamper: a code-pair JSONL with tests)")
    p.add_argument("--family", required=True, choices=["security", "backdoor", "tamper", "volume"], help="which kind of flaw")
    p.add_argument("--n", type=int, default=20, help="number of items, flawed and controls together (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--size", type=int, default=1000, help="volume: changed lines of the large change (default 1000)")
    p.add_argument("--flaw", default="security", choices=["security", "backdoor", "tamper"], help="volume: the flaw hidden in it")
    p.add_argument("--pairs", default=None, help="volume with --flaw tamper: the code-pair JSONL with tests the tamper comes from")
    p.add_argument("--out", type=Path, default=None, help="also write the items to this JSONL file")
    p.add_argument("--no-store", action="store_true", help="only write --out; do not add the items to the store")
    add_db(p)
    add_diff_cache_dir(p)
    p.set_defaults(func=sabotage_items)


def sabotage_items(args: argparse.Namespace) -> int:
    from oversight_ext.items.sabotage import generate

    from . import CLIError

    if args.no_store and not args.out:
        raise CLIError("--no-store keeps the items nowhere: give --out FILE.jsonl as well")
    items = generate(args.source, args.family, args.n, args.seed, size=args.size, flaw=args.flaw, pairs=args.pairs)
    stored = keep_items(args, items)
    kinds = Counter(it.meta.get("cwe") or it.meta.get("kind") or args.family for it in items if it.label == "buggy")
    flawed = sum(kinds.values())
    shown = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    print(
        f"generated {len(items)} {args.family} item(s) from {args.source} (seed {args.seed}): {flawed} flawed ({shown}), {len(items) - flawed} clean{stored}"
    )
    return 0
