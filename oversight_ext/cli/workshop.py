"""``oversight workshop``: the instructor's commands (practice study, simulated classmates, reveal, dashboard)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_db, open_store, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "workshop",
        help="run a class: practice study, dashboard, reveal",
        description="Instructor commands for a workshop or a rater study.",
    )
    wsub = p.add_subparsers(dest="workshop_command", metavar="ACTION", required=True)

    c = wsub.add_parser("practice", help="create a practice study of mutated code with answer-key critiques (some wrong)")
    c.add_argument("name", help="study name")
    c.add_argument("--owner", required=True, help="the instructor's user name (gets the store role 'owner')")
    c.add_argument("--slots", type=int, default=30, help="open places participants claim as they arrive (default 30)")
    c.add_argument("--items", type=int, default=40, help="items (default 40)")
    c.add_argument("--overlap", type=int, default=4, help="raters per item and condition (default 4)")
    c.add_argument("--seed", type=int, default=0, help="seed of items, critiques and design (default 0)")
    add_db(c)
    c.set_defaults(func=practice)

    s = wsub.add_parser("simulate", help="fill free places with simulated classmates (marked as simulated)")
    s.add_argument("name", help="study name")
    s.add_argument("--raters", type=int, required=True, help="simulated raters in all (sim-001 ...)")
    s.add_argument("--by", required=True, help="your user name (must own the study)")
    s.add_argument("--seed", type=int, default=0, help="seed of the simulation (default 0)")
    add_db(s)
    s.set_defaults(func=simulate)

    r = wsub.add_parser("reveal", help="show participants their own results against gold (or --hide them again)")
    r.add_argument("name", help="study name")
    r.add_argument("--by", required=True, help="your user name (must own the study)")
    r.add_argument("--hide", action="store_true", help="hide results again")
    add_db(r)
    r.set_defaults(func=reveal)

    d = wsub.add_parser("dashboard", help="write the dashboard charts to an HTML file (or print its figures as JSON)")
    d.add_argument("name", help="study name")
    d.add_argument("--out", type=Path, default=None, help="HTML file to write; without it the figures are printed as JSON")
    d.add_argument("--no-simulated", action="store_true", help="leave simulated raters out")
    add_db(d)
    d.set_defaults(func=dashboard)


def practice(args: argparse.Namespace) -> int:
    from oversight_ext.workshop.practice import practice_study

    with open_store(args) as store:
        config = practice_study(
            store, args.name, open_slots=args.slots, n_items=args.items, overlap=args.overlap, owner=args.owner, seed=args.seed
        )
        print(f"study {config.name!r}: {len(store.assignments(config.name))} assignments for {config.n_raters} places")
    return 0


def simulate(args: argparse.Namespace) -> int:
    from oversight_ext.workshop import mix_in_simulated

    with open_store(args) as store:  # a non-owner's PermissionError is one line, exit 2 (cli.main)
        created = mix_in_simulated(store, args.name, args.raters, by=args.by, seed=args.seed, progress=True)
    print(f"{created} simulated judgments stored")
    return 0


def reveal(args: argparse.Namespace) -> int:
    from oversight_ext.workshop import set_reveal

    with open_store(args) as store:
        shown = set_reveal(store, args.name, not args.hide, by=args.by)
    print(f"results of {args.name!r} are {'revealed' if shown else 'hidden'}")
    return 0


def dashboard(args: argparse.Namespace) -> int:
    from oversight_ext.workshop import dashboard as charts
    from oversight_ext.workshop import dashboard_data

    with open_store(args) as store:
        if args.out is None:
            data = dashboard_data(store, args.name, include_simulated=not args.no_simulated)
            print_json({k: v for k, v in data.items() if k != "charts"})
            return 0
        charts(store, args.name, include_simulated=not args.no_simulated).save(str(args.out))
    print(f"wrote {args.out}")
    return 0
