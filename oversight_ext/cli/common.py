"""Options and helpers shared by the command modules."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from oversight_ext.store import Store


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=None,
        help="database: a SQLAlchemy URL (sqlite:///x.db, postgresql://user@host/db) or a SQLite path "
        "(default: $OVERSIGHT_DB, else ./oversight.db)",
    )


def open_store(args: argparse.Namespace) -> Store:
    return Store(args.db)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def keep_items(args: argparse.Namespace, items: list[Any]) -> str:
    """Store generated ``items`` (unless ``--no-store``) and write them to ``--out`` when given;
    the phrase the command's summary line ends with."""
    from oversight_ext.items import write_jsonl

    stored = ""
    if not args.no_store:
        with open_store(args) as store:
            added, unchanged = store.add_items(items)
        stored = f"; stored {added} new, {unchanged} unchanged"
    if args.out:
        write_jsonl(items, args.out)
    return stored
