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


def parse_ahead(store: Store, items: list[Any]) -> None:
    """Parse the large diffs among newly stored ``items`` for the review panel in a background
    process, so their first view reads a stored parse (see ``oversight_ext.review.diffcache``)."""
    from oversight_ext.review.diffcache import schedule_parses

    schedule_parses(store.url, items)


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
            parse_ahead(store, items)
        stored = f"; stored {added} new, {unchanged} unchanged"
    if args.out:
        write_jsonl(items, args.out)
    return stored
