"""``oversight lab``: JupyterLab with a demo study ready to review."""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from .common import add_db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lab",
        help="start JupyterLab with a demo study",
        description="Prepare a demo study on the store from the package's demo items (you and a few simulated raters), "
        "then start JupyterLab with the review extension and print its URL. Running it again reuses the study.",
    )
    add_db(p)
    p.add_argument("--port", type=int, default=None, help="JupyterLab's port (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument("--study", default="demo", help="name of the demo study; a stored study of this name is reused (default: demo)")
    p.add_argument("--simulated", type=int, default=3, help="simulated raters beside you (default: 3)")
    p.add_argument("--prepare-only", action="store_true", help="prepare the study and exit without starting JupyterLab")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from oversight_ext.lab import LabConfig, lab_argv, lab_env, lab_url, prepare_demo
    from oversight_ext.store import Store

    from . import CLIError

    try:
        config = LabConfig(db=args.db, study=args.study, port=args.port, open_browser=not args.no_browser, simulated=args.simulated)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    with Store(config.db) as store:
        try:
            study = prepare_demo(store, config, progress=True)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        url = store.url
        answers = store.judgments(study=study, rater=config.rater, cannot_judge=True)
        cannot = sum(1 for j in answers if j.is_cannot_judge)
        total = len(store.assignments(study, rater=config.rater))
    shown = sa.make_url(url).render_as_string(hide_password=True)
    print(
        f"study {study!r} on {shown}: {len(answers)} of {total} items reviewed by {config.rater} "
        f"({len(answers) - cannot} judged, {cannot} cannot judge, {total - len(answers)} open)",
        flush=True,
    )
    if args.prepare_only:
        return 0
    print(f"JupyterLab with the review panel: {lab_url(config)}", flush=True)
    print("Open the Oversight sidebar, start the study, review. Stop with Ctrl-C.", flush=True)
    # The notebook widget (oversight_ext.review) in this lab's kernels opens the same store.
    with tempfile.TemporaryDirectory(prefix="oversight-lab-config-") as conf:
        env = lab_env(Path(conf), {**os.environ, "OVERSIGHT_DB": url})
        proc = subprocess.Popen(lab_argv(config), env=env)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            try:
                return proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                return 130
