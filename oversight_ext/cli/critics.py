"""``oversight critique`` (critique stored items into the store's cache), ``oversight eval-critics``
and ``oversight assistants list``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from .common import add_db, open_store, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "critique",
        help="critique stored items with an assistant (cached in the store)",
        description="Critique the store's items with an assistant; critiques are cached by (item, spec hash).",
    )
    add_db(p)
    p.add_argument("--assistant", required=True, help="assistant name (see `oversight assistants list`) or a .toml spec path")
    p.add_argument("--source", default=None, help="only items from this source (as stored)")
    p.add_argument("--language", default=None, help="only items in this language")
    p.add_argument("--workers", type=int, default=2, help="critiques run in parallel (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=critique)

    e = sub.add_parser(
        "eval-critics",
        help="score critics against gold: catch rate, false alarms, precision, with intervals",
        description="Run critics on items with gold labels and report catch rate at the gold line (+-1), false-alarm rate on "
        "correct items, comment precision, hallucinated-line rate and mean latency, each with a bootstrap interval. "
        "The headline never uses the items' tests; --with-tests adds an upper bound that does, labelled as such.",
    )
    e.add_argument(
        "--items", help="items with gold (the shared-data schema): JSONL, or a JSON array such as `oversight items list --json` writes"
    )
    e.add_argument("--assistant", action="append", default=[], help="assistant to evaluate; repeat for several")
    e.add_argument("--language", default="python", help="only items in this language (default python; 'all' for every one)")
    e.add_argument("--limit", type=int, default=None, help="only the first N items (after the language filter)")
    e.add_argument("--with-tests", action="store_true", help="also report the upper bound with the items' hidden tests")
    e.add_argument("--json", action="store_true", help="print JSON (one object; a list when several assistants)")
    e.add_argument("--chart", default=None, help="write the catch / false-alarm trade-off chart across verbosity (.html, .png, .svg)")
    e.add_argument("--verbosities", default="0,0.25,0.5,0.75,1", help="verbosity settings for --chart (comma-separated)")
    e.add_argument("--workers", type=int, default=2, help="critiques run in parallel (default 2)")
    e.add_argument("--boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    e.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    e.add_argument("--list", action="store_true", help="list the known assistants and exit")
    e.add_argument("--quiet", action="store_true", help="no progress bars")
    e.set_defaults(func=eval_critics)

    a = sub.add_parser(
        "assistants",
        help="the assistant specs that load by name",
        description="Assistant specs are TOML files: shipped with the package, or in the folders of $OVERSIGHT_ASSISTANTS.",
    )
    asub = a.add_subparsers(dest="assistants_command", metavar="ACTION", required=True)
    al = asub.add_parser("list", help="list every assistant name with its backend, description and spec file")
    al.add_argument("--json", action="store_true", help="print a JSON array")
    al.set_defaults(func=assistants_list)


def critique(args: argparse.Namespace) -> int:
    from oversight_ext.assistants import critique_items, load_assistant

    from . import CLIError

    try:
        critic = load_assistant(args.assistant)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    with open_store(args) as store:
        items = list(store.iter_items(source=args.source, language=args.language))
        if not items:
            raise CLIError("no stored items match: import some with `oversight items import FILE` or change --source/--language")
        before = store.count("critiques")
        out = critique_items(items, critic, store=store, max_workers=args.workers, progress=not args.quiet)
        added = store.count("critiques") - before
    failed = [c for c in out if c.status == "failed"]
    print(
        f"{critic.name}: {len(out)} item(s), {added} new critique(s) stored, {len(out) - added - len(failed)} from cache, {len(failed)} failed"
    )
    for c in failed[:5]:
        print(f"  failed {c.item_id}: {c.reason}", file=sys.stderr)
    return 1 if failed and len(failed) == len(out) else 0


def assistants_list(args: argparse.Namespace) -> int:
    from oversight_ext.assistants import list_assistants
    from oversight_ext.assistants.spec import load_config

    rows = []
    for name in list_assistants():
        try:
            cfg = load_config(name)
            rows.append({"name": name, "backend": cfg.backend, "description": cfg.description, "spec": cfg.path})
        except ValueError as exc:  # a broken spec of the user's: list it with what is wrong
            rows.append({"name": name, "backend": "?", "description": f"invalid spec: {exc}", "spec": ""})
    if args.json:
        print_json(rows)
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['backend']:<9} {r['description']}")
    return 0


def _fmt(m: dict[str, Any]) -> str:
    def f(x: float) -> str:
        return "  n/a" if x != x else f"{x:.3f}"

    return f"{f(m['estimate'])} [{f(m['ci_low'])}, {f(m['ci_high'])}]"


def eval_critics(args: argparse.Namespace) -> int:
    from oversight_ext.assistants import critique_items, list_assistants, load_assistant
    from oversight_ext.assistants.evaluation import (
        METRICS,
        breakdown,
        by_group,
        score_critiques,
        summarise,
        sweep_verbosity,
        tradeoff_chart,
        tradeoff_frame,
    )
    from oversight_ext.assistants.shapes import BASELINES, baseline_frame
    from oversight_ext.items import load_jsonl

    from . import CLIError

    if args.list:
        print("\n".join(list_assistants()))
        return 0
    if not args.items or not args.assistant:
        raise CLIError("give --items FILE.jsonl and at least one --assistant NAME (or --list)")
    items = load_jsonl(Path(args.items))
    if args.language != "all":
        items = [it for it in items if it.language.lower() == args.language.lower()]
    items = [it for it in items if it.label is not None][: args.limit]
    if not items:
        raise CLIError(f"{args.items}: no items with gold labels in language {args.language!r}; check --language")
    results = []
    import polars as pl

    # what critics that read only the diff get on these items: beside every critic's figures
    baselines = {}
    for which in BASELINES:
        base = baseline_frame(items, which)
        baselines[which] = {
            **summarise(base, n_boot=args.boot, seed=args.seed),
            "by_shape": by_group(base, "shape"),
            "by_bug_type": by_group(base, "bug_type"),
        }

    frames = []
    for name in args.assistant:
        try:
            critic = load_assistant(name)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        crits = critique_items(items, critic, max_workers=args.workers, progress=not args.quiet)
        res: dict[str, Any] = {"assistant": critic.name, "spec_hash": critic.spec_hash, "items": str(args.items)}
        scored = score_critiques(items, crits)
        res.update(summarise(scored, n_boot=args.boot, seed=args.seed))
        res["by_shape"] = by_group(scored, "shape")
        res["by_bug_type"] = by_group(scored, "bug_type")
        res["baselines"] = baselines
        by_control = breakdown(scored, n_boot=args.boot, seed=args.seed)
        if set(by_control) - {"other"}:  # controls of known sources (mutation items): report each apart
            res["by_control"] = by_control
        if args.with_tests:
            upper = load_assistant(name, with_tests=True)
            ucrits = critique_items(items, upper, max_workers=args.workers, progress=not args.quiet)
            res["upper_bound_with_tests"] = {
                "label": "UPPER BOUND: the critic also ran the items' hidden tests (raters would need them too)",
                **summarise(score_critiques(items, ucrits), n_boot=args.boot, seed=args.seed),
            }
        if args.chart:
            verbosities = [float(v) for v in args.verbosities.split(",") if v.strip()]
            try:
                swept = sweep_verbosity(critic, items, verbosities, progress=not args.quiet)
            except ValueError as exc:
                raise CLIError(str(exc)) from None
            frames.append(tradeoff_frame(items, swept, assistant=critic.name))
        results.append(res)
    if args.chart and frames:
        chart = tradeoff_chart(pl.concat(frames))
        chart.save(args.chart)
    if args.json:
        print_json(_clean(results[0] if len(results) == 1 else results))
        return 0
    for res in results:
        print(f"{res['assistant']}  ({res['n_buggy']} buggy, {res['n_correct']} correct items; failed {res['failed_rate']:.3f})")
        for f in res.get("failures", []):
            print(f"  failed x{f['n']}: {f['reason']}")
        for k in METRICS:
            print(f"  {k:<18} {_fmt(res[k])}")
        for source, sub in res.get("by_control", {}).items():
            what = {"rewrite": "behaviour-preserving rewrites", "fix": "reversed bugs (real fixes)"}.get(source, "other controls")
            print(
                f"  controls from {what} ({sub['n_correct']}): false alarms {_fmt(sub['false_alarm_rate'])}"
                f"; catch on all {sub['n_buggy']} buggy {_fmt(sub['catch_rate'])}"
            )
        print(f"  ran no input on {res['ran_no_input_rate']:.3f} of the items (the critique says no case or input ran the changed lines)")
        _print_groups(res, baselines)
        if "upper_bound_with_tests" in res:
            ub = res["upper_bound_with_tests"]
            print(f"  {ub['label']}")
            for k in METRICS:
                print(f"    {k:<16} {_fmt(ub[k])}")
    if args.chart:
        print(f"chart: {args.chart}")
    return 0


def _print_groups(res: dict[str, Any], baselines: dict[str, dict[str, Any]]) -> None:
    """Catch / false alarms per shape and per bug type, each beside the two baselines."""

    def f(x: float) -> str:
        return " n/a" if x != x else f"{x:.2f}"

    names = ["critic", *baselines]
    print("  catch / false alarms (ran no input) beside the baselines: " + " | ".join(names))
    for key, title in (("by_shape", "shape"), ("by_bug_type", "bug type")):
        for value, g in res[key].items():
            cells = [f"{f(g['catch_rate'])} / {f(g['false_alarm_rate'])} ({f(g['ran_no_input_rate'])})"]
            for b in baselines.values():
                bg = b[key].get(value)
                cells.append(f"{f(bg['catch_rate'])} / {f(bg['false_alarm_rate'])}" if bg else "-")
            print(f"    {title} {value!r} ({g['n_buggy']} buggy, {g['n_correct']} correct): " + " | ".join(cells))
    overall = [f"{f(res['catch_rate']['estimate'])} / {f(res['false_alarm_rate']['estimate'])}"]
    overall += [f"{f(b['catch_rate']['estimate'])} / {f(b['false_alarm_rate']['estimate'])}" for b in baselines.values()]
    print("    all items: " + " | ".join(overall))


def _clean(obj: Any) -> Any:
    """NaN is not JSON: write null."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


__all__ = ["assistants_list", "critique", "eval_critics", "json", "register"]
