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


def add_diff_cache_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--diff-cache-dir",
        default=None,
        metavar="DIR",
        help="where the diffs of 100,000+ characters are parsed ahead for the review panel: give the server's directory "
        "(default: the Jupyter config's c.OversightExtension.diff_cache_dir, as the server reads it from the config "
        "directories of `jupyter --paths`, else $OVERSIGHT_DIFF_CACHE, else $XDG_CACHE_HOME/oversight_ext/diffs; "
        "'' parses nothing ahead)",
    )


def open_store(args: argparse.Namespace) -> Store:
    return Store(args.db)


def parse_ahead(store: Store, items: list[Any], directory: str | None = None) -> None:
    """Parse the large diffs among newly stored ``items`` for the review panel in a background
    process, so their first view reads a stored parse (see ``oversight_ext.review.diffcache``):
    into ``directory`` (``--diff-cache-dir``), else where a server started here keeps them
    (:func:`oversight_ext.server.extension.diff_cache_dir`; its config is read only when a diff
    is large enough to parse)."""
    from oversight_ext.review.diffcache import IMPORT_PARSE_CHARS, schedule_parses

    if any(len(item.diff) >= IMPORT_PARSE_CHARS for item in items):
        from oversight_ext.server.extension import diff_cache_dir

        schedule_parses(store.url, items, diff_cache_dir(directory))


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
            parse_ahead(store, items, args.diff_cache_dir)
        stored = f"; stored {added} new, {unchanged} unchanged"
    if args.out:
        write_jsonl(items, args.out)
    return stored
