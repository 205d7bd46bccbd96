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

COMMAND_MODULES = [
    "oversight_ext.cli.items",
    "oversight_ext.cli.db",
    "oversight_ext.cli.lab",
    "oversight_ext.cli.critics",
    "oversight_ext.cli.monitors",
    "oversight_ext.cli.study",
    "oversight_ext.cli.report",
    "oversight_ext.cli.reward",
    "oversight_ext.cli.workshop",
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
    from oversight_ext.store import StoreError

    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, StoreError, FileNotFoundError, PermissionError) as exc:
        # The library's errors (RecordError, DiffError, ItemImportError, config errors are
        # ValueErrors) say what to fix: show the message, not a traceback, unless -v.
        if args.verbose:
            raise
        print(f"oversight {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
