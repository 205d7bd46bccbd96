"""``oversight``: thin commands over the library.

Each feature registers its commands in its own module here (``register(subparsers)``);
adding a command means adding a module and one line to ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from oversight_ext.records import RecordError

COMMAND_MODULES = [
    "oversight_ext.cli.items",
    "oversight_ext.cli.db",
    "oversight_ext.cli.lab",
    "oversight_ext.cli.study",
]


class CLIError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oversight",
        description="AI-assisted human oversight: review code diffs with critiques, run rater studies, train reward models.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from oversight_ext.diffs import DiffError
    from oversight_ext.store import StoreError

    try:
        return int(args.func(args) or 0)
    except (CLIError, RecordError, StoreError, DiffError, FileNotFoundError) as exc:
        print(f"oversight {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
