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
