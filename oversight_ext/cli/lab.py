"""``oversight lab``: JupyterLab with a demo study ready (built by the review-UI work)."""

from __future__ import annotations

import argparse

from .common import add_db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lab",
        help="start JupyterLab with a demo study",
        description="Prepare a demo study on the store from the package's demo items and start JupyterLab with the review extension.",
    )
    add_db(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from . import CLIError

    raise CLIError("`oversight lab` is not available in this build yet")
