"""``oversight study`` (create, status, export, power, enroll, list) and ``oversight simulate``."""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from . import CLIError
from .common import add_db, open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("study", help="define, size and export studies", description="Randomised assisted-vs-unassisted rater studies.")
    ssub = p.add_subparsers(dest="study_command", metavar="ACTION", required=True)

    c = ssub.add_parser(
        "create",
        help="create a study from a TOML file and freeze its assignments",
        description="Select items, critique them for assisted conditions, and freeze the assignment table with its seed and code version.",
    )
    c.add_argument("file", type=Path, help="study definition (see studies/*.toml)")
    c.add_argument("--owner", default=None, help="the study's owner (a rater id)")
    c.add_argument("--quiet", action="store_true", help="no progress bars")
    add_db(c)
    c.set_defaults(func=create)

    s = ssub.add_parser(
        "status", help="progress of a study per condition", description="Assignments, enrolled raters and judgments per condition."
    )
    s.add_argument("name", help="study name")
    add_db(s)
    s.set_defaults(func=status)

    e = ssub.add_parser("export", help="write the frozen design as a preregistration", description="Export the frozen design as Markdown.")
    e.add_argument("name", help="study name")
    e.add_argument("--out", type=Path, required=True, help="Markdown file to write (e.g. prereg.md)")
    e.add_argument("--no-table", action="store_true", help="leave out the full assignment table")
    e.add_argument("--power-base", type=float, default=None, help="add a power analysis at this expected unassisted accuracy")
    e.add_argument("--power-effect", type=float, default=0.10, help="expected gain in accuracy for the power analysis (default 0.10)")
    e.add_argument("--power-sims", type=int, default=500, help="simulated studies for the power analysis (default 500)")
    add_db(e)
    e.set_defaults(func=export)

    w = ssub.add_parser(
        "power",
        help="power by simulation, or the smallest study that reaches a target",
        description="Simulate studies with rater and item random effects and test the accuracy difference "
        "(two-way cluster-robust). With --search, find the fewest raters or items that reach --target power.",
    )
    w.add_argument("--base", type=float, default=0.65, help="expected accuracy without assistance (default 0.65)")
    w.add_argument("--effect", type=float, default=0.10, help="expected gain in accuracy (default 0.10)")
    w.add_argument("--raters", type=int, default=20, help="raters (default 20)")
    w.add_argument("--items", type=int, default=40, help="items (default 40)")
    w.add_argument("--overlap", type=int, default=1, help="raters per item and condition (default 1)")
    w.add_argument("--design", choices=["within", "between"], default="within", help="design (default within)")
    w.add_argument("--rater-sd", type=float, default=0.5, help="spread of rater skill, logit scale (default 0.5)")
    w.add_argument("--item-sd", type=float, default=0.8, help="spread of item difficulty, logit scale (default 0.8)")
    w.add_argument("--sims", type=int, default=500, help="simulated studies per size (default 500)")
    w.add_argument("--test", choices=["cluster_z", "bootstrap"], default="cluster_z", help="test (default cluster_z)")
    w.add_argument("--search", choices=["raters", "items"], default=None, help="search the smallest number of raters or items")
    w.add_argument("--target", type=float, default=0.8, help="target power for --search (default 0.8)")
    w.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    w.set_defaults(func=power)

    n = ssub.add_parser("enroll", help="give a rater the next free slot of an open study", description="Open enrolment.")
    n.add_argument("name", help="study name")
    n.add_argument("rater", help="rater id (user name)")
    add_db(n)
    n.set_defaults(func=enroll)

    ls = ssub.add_parser("list", help="list studies", description="List stored studies.")
    add_db(ls)
    ls.set_defaults(func=list_studies)

    m = sub.add_parser(
        "simulate",
        help="run simulated raters through a study",
        description="Enrol N simulated raters (sim-001...) in an open study and store their judgments (simulated=True). "
        "Deterministic per seed.",
    )
    m.add_argument("name", help="study name")
    m.add_argument("--raters", type=int, required=True, help="number of simulated raters")
    m.add_argument("--seed", type=int, required=True, help="seed")
    m.add_argument("--quiet", action="store_true", help="no progress bar")
    add_db(m)
    m.set_defaults(func=simulate)


def _table(frame: pl.DataFrame) -> None:
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True, tbl_width_chars=160):
        print(frame)


def create(args: argparse.Namespace) -> int:
    from oversight_ext.study import StudyConfig, create_study

    try:
        config = StudyConfig.from_toml(args.file)
        with open_store(args) as store:
            table = create_study(store, config, owner=args.owner, progress=not args.quiet)
            record = store.study(config.name)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    items = len({a.item_id for a in table if not a.is_qc})
    qc = len({a.item_id for a in table if a.is_qc})
    print(
        f"created study {config.name!r}: {len(table)} assignments, {config.n_raters} raters"
        f"{' (open slots)' if not config.raters else ''}, {items} items (+{qc} QC), "
        f"seed {record.seed}, code {record.code_version}"
    )
    return 0


def status(args: argparse.Namespace) -> int:
    from oversight_ext.study import study_status
    from oversight_ext.study.config import SLOT_PREFIX

    with open_store(args) as store:
        config = store.study(args.name)
        frame = study_status(store, args.name)
    print(f"study {args.name!r}: {config.design}-subject, overlap {config.overlap}, seed {config.seed}, code {config.code_version}")
    done, total = int(frame["judged"].sum()), int(frame["assignments"].sum())
    print(f"judged {done} of {total} assignments, cannot judge {int(frame['cannot_judge'].sum())}, open {int(frame['open'].sum())}")
    if config.open_slots:
        with open_store(args) as store:
            holders = {a.rater for a in store.assignments(args.name)}
        free = sum(1 for r in holders if r.startswith(SLOT_PREFIX))
        print(f"open enrolment: {config.open_slots - free} of {config.open_slots} slots claimed")
    _table(frame)
    return 0


def export(args: argparse.Namespace) -> int:
    from oversight_ext.study.power import PowerConfig, estimate_power
    from oversight_ext.study.prereg import export_prereg

    with open_store(args) as store:
        power = None
        if args.power_base is not None:
            n_items = len({a.item_id for a in store.assignments(args.name) if not a.is_qc})
            try:
                config = PowerConfig.for_study(
                    store.study(args.name), n_items, base_accuracy=args.power_base, effect=args.power_effect, n_sims=args.power_sims
                )
            except ValueError as exc:
                raise CLIError(str(exc)) from None
            power = estimate_power(config)
        export_prereg(store, args.name, args.out, appendix=not args.no_table, power=power)
    print(f"wrote {args.out}")
    return 0


def power(args: argparse.Namespace) -> int:
    from oversight_ext.study.power import PowerConfig, estimate_power, search_power

    try:
        config = PowerConfig(
            base_accuracy=args.base,
            effect=args.effect,
            n_raters=args.raters,
            n_items=args.items,
            overlap=args.overlap,
            design=args.design,
            rater_sd=args.rater_sd,
            item_sd=args.item_sd,
            n_sims=args.sims,
            test=args.test,
            seed=args.seed,
        )
        if args.search is None:
            _table(estimate_power(config, progress=True))
            return 0
        best, frame = search_power(config, vary="n_raters" if args.search == "raters" else "n_items", target=args.target, progress=True)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    _table(frame)
    if best is None:
        print(f"no study up to the search limit reaches power {args.target}")
        return 1
    print(f"smallest {args.search} reaching power {args.target}: {best}")
    return 0


def enroll(args: argparse.Namespace) -> int:
    from oversight_ext.study import enroll as enroll_rater

    try:
        with open_store(args) as store:
            queue = enroll_rater(store, args.name, args.rater)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    print(f"{args.rater} holds {len(queue)} assignments in {args.name!r}")
    return 0


def list_studies(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        for name in store.study_names():
            print(name)
    return 0


def simulate(args: argparse.Namespace) -> int:
    from oversight_ext.study import simulate as run

    try:
        with open_store(args) as store:
            created = run(store, args.name, args.raters, args.seed, progress=not args.quiet)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    print(f"stored {created} simulated judgments in {args.name!r} ({args.raters} raters, seed {args.seed})")
    return 0
