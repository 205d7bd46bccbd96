"""``oversight report NAME --out report.html``, ``oversight analyze NAME --json`` and ``oversight attention NAME``."""

from __future__ import annotations

import argparse
import dataclasses

from .common import add_db, open_store, print_json


def _add_options(p: argparse.ArgumentParser) -> None:
    from oversight_ext.analysis.config import AnalysisConfig

    add_db(p)
    p.add_argument("name", help="the study's name")
    for f in dataclasses.fields(AnalysisConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in (bool, "bool"):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=f.metadata["help"])
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            choices = f.metadata.get("choices")
            p.add_argument(flag, type=kind, default=f.default, choices=choices, help=f"{f.metadata['help']} (default: {f.default})")


def _config(args: argparse.Namespace) -> object:
    from oversight_ext.analysis.config import AnalysisConfig

    return AnalysisConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(AnalysisConfig)})


def register(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser(
        "report", help="write a study's HTML report", description="Analyse a study and write one self-contained HTML report."
    )
    _add_options(rep)
    rep.add_argument("--out", default=None, help="output file (default: NAME-report.html)")
    rep.set_defaults(func=run_report)
    ana = sub.add_parser("analyze", help="analyse a study", description="Analyse a study; print the tables and notes.")
    _add_options(ana)
    ana.add_argument("--json", action="store_true", help="print JSON (tables as lists of rows, and notes)")
    ana.set_defaults(func=run_analyze)
    att = sub.add_parser(
        "attention",
        help="where a study's raters looked",
        description="Per condition: the share of each diff on screen, seconds per hunk, and whether missed flaws were ever on screen.",
    )
    add_db(att)
    att.add_argument("name", help="the study's name")
    att.add_argument("--by", default="condition", help="comma-separated columns to group by (default: condition)")
    att.add_argument("--json", action="store_true", help="print the table as a list of rows")
    att.set_defaults(func=run_attention)


def run_report(args: argparse.Namespace) -> int:
    from oversight_ext.analysis import report

    with open_store(args) as store:
        path = report(store, args.name, args.out or f"{args.name}-report.html", _config(args))  # type: ignore[arg-type]
    print(f"wrote {path}")
    return 0


def run_analyze(args: argparse.Namespace) -> int:
    from oversight_ext.analysis import analyze, study_frame
    from oversight_ext.analysis.reporting import study_plan

    with open_store(args) as store:
        plan = study_plan(store.study(args.name))
        result = analyze(study_frame(store, args.name), _config(args), plan=plan)  # type: ignore[arg-type]
    if args.json:
        print_json(result.to_dict())
        return 0
    for name, table in result.tables.items():
        print(f"== {name}")
        print(table)
    for warning in result.warnings:
        print(f"warning: {warning}")
    for note in result.notes:
        print(f"note: {note}")
    return 0


def run_attention(args: argparse.Namespace) -> int:
    from oversight_ext.analysis.attention import attention_frame, attention_report

    with open_store(args) as store:
        frame = attention_frame(store, args.name)
    by = [c.strip() for c in args.by.split(",") if c.strip()]
    unknown = [c for c in by if c not in frame.columns]
    if unknown:
        raise ValueError(f"--by {args.by!r}: {unknown[0]!r} is not a column; use some of {frame.columns}")
    table = attention_report(frame, by)
    if args.json:
        print_json(table.to_dicts())
    else:
        print(table)
    return 0
