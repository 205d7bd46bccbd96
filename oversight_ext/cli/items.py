"""``oversight items``: import, generate and list items."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oversight_ext.records import Item, to_frame

from .common import add_db, add_diff_cache_dir, keep_items, open_store, parse_ahead, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "items", help="import, generate and list items", description="Items are the diffs raters judge, with their gold truth."
    )
    isub = p.add_subparsers(dest="items_command", metavar="ACTION", required=True)

    imp = isub.add_parser(
        "import",
        help="import items from JSONL or a diff file",
        description="Import items from a JSONL file in the shared code-pair schema (id, unified_diff, before, after, label, "
        "bug_lines, spec, ...) or from a .diff/.patch file. All or nothing: a file with a bad line imports nothing.",
    )
    imp.add_argument(
        "file", type=Path, help="a .jsonl file, a JSON array of items (what `items list --json` writes), or a .diff/.patch file (one item)"
    )
    imp.add_argument("--replace", action="store_true", help="overwrite stored items with the same id and different content")
    imp.add_argument("--max-diff-mb", type=float, default=10.0, help="refuse diffs larger than this many MiB (default 10)")
    imp.add_argument("--spec", default="", help="task statement, for a diff file")
    imp.add_argument("--id", dest="item_id", default=None, help="item id, for a diff file (default: the file name)")
    add_db(imp)
    add_diff_cache_dir(imp)
    imp.set_defaults(func=import_items)

    mut = isub.add_parser(
        "mutate",
        help="generate items by mutating real Python code",
        description="Generate N items from real Python source: half buggy (a seeded mutation with its gold line), "
        "half correct controls (semantics-preserving edits and real fixes). Deterministic per seed.",
    )
    mut.add_argument("--source", required=True, help="a .py file, a folder of them, or an importable module (e.g. json)")
    mut.add_argument("--n", type=int, default=50, help="number of items (default 50)")
    mut.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    mut.add_argument("--out", type=Path, default=None, help="also write the items to this JSONL file")
    mut.add_argument(
        "--rewrite-share",
        type=float,
        default=0.5,
        help="share of correct controls that are behaviour-preserving rewrites; the rest are real fixes, the reverse "
        "of the pair's bug (default 0.5; 0 gives bug/fix pairs like HumanEvalFix's, e.g. to pretrain a reward model)",
    )
    mut.add_argument("--no-store", action="store_true", help="only write --out; do not add the items to the store")
    add_db(mut)
    add_diff_cache_dir(mut)
    mut.set_defaults(func=mutate_items)

    demo = isub.add_parser(
        "demo",
        help="store the shipped demo items",
        description="Store the package's own demo set: a dozen-odd hand-written diffs (multi-file and long ones included) with gold.",
    )
    add_db(demo)
    demo.set_defaults(func=demo_items)

    from .sabotage import register_items

    register_items(isub)

    ls = isub.add_parser("list", help="list stored items", description="List stored items (gold included: this is the researcher's view).")
    ls.add_argument("--source", default=None, help="only items from this source")
    ls.add_argument("--language", default=None, help="only items in this language")
    ls.add_argument("--json", action="store_true", help="print JSON records (with gold) instead of a table")
    add_db(ls)
    ls.set_defaults(func=list_items)


def import_items(args: argparse.Namespace) -> int:
    from oversight_ext.items import load_diff, load_jsonl

    limit = int(args.max_diff_mb * 2**20)
    if args.file.suffix in (".diff", ".patch"):
        items = [load_diff(args.file, item_id=args.item_id, spec=args.spec, max_diff_bytes=limit)]
    else:
        items = load_jsonl(args.file, max_diff_bytes=limit)
    with open_store(args) as store:
        added, unchanged = store.add_items(items, replace=args.replace)
        parse_ahead(store, items, args.diff_cache_dir)
    print(f"imported {added} item(s), {unchanged} already stored unchanged, from {args.file}")
    return 0


def mutate_items(args: argparse.Namespace) -> int:
    from oversight_ext.items import generate_items
    from oversight_ext.items.mutate import MutationConfig

    from . import CLIError

    if args.n < 1:
        raise CLIError(f"--n {args.n}: give a positive number of items")
    if args.no_store and not args.out:
        raise CLIError("--no-store keeps the items nowhere: give --out FILE.jsonl as well")
    if not 0.0 <= args.rewrite_share <= 1.0:
        raise CLIError(f"--rewrite-share {args.rewrite_share}: give a share between 0 and 1")
    config = MutationConfig(rewrite_share=args.rewrite_share)
    items = generate_items(args.source, args.n, args.seed, progress=sys.stderr.isatty(), config=config)
    stored = keep_items(args, items)
    buggy = sum(1 for it in items if it.label == "buggy")
    print(f"generated {len(items)} item(s) from {args.source} (seed {args.seed}): {buggy} buggy, {len(items) - buggy} correct{stored}")
    return 0


def demo_items(args: argparse.Namespace) -> int:
    from oversight_ext.items import demo_items as load

    items = load()
    with open_store(args) as store:
        added, unchanged = store.add_items(items)
    print(f"demo set: {len(items)} item(s), stored {added} new, {unchanged} unchanged")
    return 0


def list_items(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        items = list(store.iter_items(source=args.source, language=args.language))
    if args.json:
        print_json([it.to_dict() for it in items])
        return 0
    frame = to_frame(items, Item).select("id", "source", "language", "label", "bug_lines", "task")
    with __import__("polars").Config(tbl_rows=50, fmt_str_lengths=60):
        print(frame)
    print(f"{len(items)} item(s)")
    return 0
