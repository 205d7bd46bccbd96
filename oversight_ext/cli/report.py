"""``oversight report NAME --out report.html``, ``oversight analyze NAME --json``, ``oversight attention NAME``
and ``oversight safety NAME``."""

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
    saf = sub.add_parser(
        "safety",
        help="detection by condition and monitor + human safety at audit budgets",
        description="Per condition: flawed items caught and false alarms on clean controls; then the share of flawed items "
        "a monitor sends to audit (threshold set on the clean controls) and the raters catch, at each audit budget, beside "
        "the monitor with a perfect auditor and the human alone. Intervals: bootstrap over items.",
    )
    add_db(saf)
    saf.add_argument("name", help="the study's name")
    saf.add_argument("--budgets", default="0.01,0.02,0.05,0.1,0.2", help="comma-separated shares of items audited (default 1%%-20%%)")
    saf.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples over items (default 2000)")
    saf.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    saf.add_argument("--raters", default="auto", choices=["auto", "human", "simulated", "all"], help="whose judgments (default auto)")
    saf.add_argument("--json", action="store_true", help="print the tables as lists of rows, and the notes")
    saf.set_defaults(func=run_safety)


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


def run_safety(args: argparse.Namespace) -> int:
    import polars as pl

    from oversight_ext.analysis.safety import study_safety

    try:
        budgets = [float(b) for b in args.budgets.split(",") if b.strip()]
    except ValueError:
        raise ValueError(f"--budgets {args.budgets!r} is invalid: give comma-separated shares such as 0.01,0.02,0.05") from None
    with open_store(args) as store:
        result = study_safety(store, args.name, budgets=budgets, n_boot=args.n_boot, seed=args.seed, raters=args.raters)
    if args.json:
        print_json(result.to_dict())
        return 0
    with pl.Config(
        tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True, tbl_width_chars=160, float_precision=3
    ):
        print("== detection by condition (caught: flawed items; false_alarm: clean controls)")
        print(result.detection)
        print("== safety at each audit budget")
        print(result.curve)
    for note in result.notes:
        print(f"note: {note}")
    return 0
