"""Benchmark: every offline critic on HumanEvalFix-Python, QuixBugs-Python and mutation-made items.

    python bench/critics.py            # full run (about 25 minutes on 2 busy cores)
    python bench/critics.py --quick    # first 20 pairs per dataset, a few minutes

Mutation items come from several standard-library modules (``--mutation-source``, equal shares,
``--mutation-seed``); the catch rate per source of ``exec`` and ``exec-lm`` (exec with a code-LM
naturalness arbiter for behaviour changes nothing else decides) is printed under their rows.
``--critics exec,exec-lm --datasets mutation`` runs a subset, e.g. on held-out seeds and modules
or on code written after the LM's training data (``--mutation-source oversight_ext``). pylint analyses
each dataset in one process (``LintCritic.prepare``): the findings per file are those of a run
on that file alone, and each critique's latency carries its share of the batch.

ruff (every rule, whole file) and pylint run in the same process as baselines; each critic's
catch rate is printed with its ratio to ruff's. The headline figures never use the items'
tests; ``exec-tests`` (which runs them) is an upper bound and labelled as one. The last part
times critics on one 5,000-line diff. Needs ../shared/data (skipped with a message if absent).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from oversight_ext.assistants import critique_items, load_assistant  # noqa: E402
from oversight_ext.assistants.evaluation import score_critiques, summarise  # noqa: E402
from oversight_ext.assistants.protocol import critique_item  # noqa: E402
from oversight_ext.diffs import make_diff  # noqa: E402
from oversight_ext.records import Item  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
HEADLINE = ["exec", "exec-lm", "ensemble", "lint"]
#: critics whose catch rate per mutation source is printed, and whose target line is printed
EXEC = ["exec", "exec-lm"]
BASELINES = ["ruff-all", "pylint"]
UPPER = ["exec-tests"]


def load(name: str, pairs: int | None) -> list[Item]:
    from oversight_ext.items import load_jsonl

    items = [it for it in load_jsonl(DATA / name) if it.language == "python" and it.label]
    if pairs:
        keep = list(dict.fromkeys(it.pair_id or it.id for it in items))[:pairs]
        items = [it for it in items if (it.pair_id or it.id) in keep]
    return items


def mutation_items(n: int, sources: list[str], seed: int) -> list[Item]:
    """``n`` items in equal shares from each source (whole pairs, so each share is even)."""
    from oversight_ext.items.mutate import generate_items

    share = max(2, 2 * (n // (2 * len(sources))))
    return [it for src in sources for it in generate_items(src, share, seed=seed)]


def module_of(item: Item, sources: list[str]) -> str:
    """Which ``--mutation-source`` an item came from (a module name, or a folder or file path)."""
    task = item.task or ""
    for src in sources:
        name = Path(src.rstrip("/")).name.removesuffix(".py") if "/" in src or src.endswith(".py") else src
        if task == name or task.startswith(name + ".") or task.split(".")[0] == name.split(".")[0]:
            return src
    return "?"


def fmt(m: dict) -> str:
    e, lo, hi = m["estimate"], m["ci_low"], m["ci_high"]
    return "  n/a            " if e != e else f"{e:5.2f} [{lo:4.2f},{hi:4.2f}]"


def big_item(lines: int = 5000) -> Item:
    funcs, n = [], 0
    while n < lines:
        k = len(funcs)
        funcs.append(f"def f{k}(x):\n    y = x + {k}\n    if y > {k * 2}:\n    " + "    return y - 1\n    return y\n\n")
        n += 6
    before = "".join(funcs)
    after = before.replace("return y - 1", "return y - 2")
    return Item(id="big", diff=make_diff(before, after, "big.py"), path="big.py", before=before, after=after, spec="Big module.")


#: The issue's figure for exec on the 5,000-line diff before the linear-cost change (38.8 s,
#: quiet machine) and the targets.
BASELINE_5K_S = 38.8
TARGETS_S = {5000: 5.0, 50000: 60.0}


def sizes(critics: list[str], lines: list[int], save: bool = False) -> int:
    """Time each critic on diffs of each size on its own; print seconds, seconds per 1,000 lines
    and the growth against the smallest size (1.0 = linear); with ``save``, write
    results/critics-sizes.json."""
    print(f"critic timing by diff size (baseline: exec {BASELINE_5K_S} s on 5,000 lines before the linear-cost change)")
    rows: list[dict[str, str]] = []
    load = [os.getloadavg()[0]]
    for name in critics:
        critic = load_assistant(name)
        first: tuple[int, float] | None = None
        for n in lines:
            big = big_item(n)
            t0 = time.perf_counter()
            c = critique_item(critic, big)
            dt = time.perf_counter() - t0
            first = first or (n, dt)
            growth = (dt / first[1]) / (n / first[0]) if first[1] > 0 else float("nan")
            target = TARGETS_S.get(n)
            verdict = "" if target is None else f"  target < {target:.0f} s: {'MET' if dt < target else 'MISSED'}"
            ratio = f"  ratio to baseline {dt / BASELINE_5K_S:.3f}" if n == 5000 and name == "exec" else ""
            print(
                f"  {name:<9} {n:>6} lines {dt:7.2f} s  {1000 * dt / n:6.3f} s per 1k lines  growth vs {first[0]} lines {growth:5.2f}"
                f"  status={c.status}{verdict}{ratio}",
                flush=True,
            )
            load.append(os.getloadavg()[0])
            rows.append(
                {
                    "case": f"`{name}`, one critique of a {n:,}-line diff ({n // 6:,} changed lines){verdict.replace('  target', '; target')}",
                    "figure": f"{dt:.2f} s ({1000 * dt / n:.3f} s per 1,000 lines)",
                    "baseline": f"`exec` before the linear-cost change: {BASELINE_5K_S} s on 5,000 lines"
                    if name == "exec"
                    else f"growth against {first[0]:,} lines",
                    "ratio": f"{dt / BASELINE_5K_S:.3f}x" if name == "exec" and n == 5000 else f"growth {growth:.2f} (1.00 = linear)",
                }
            )
    if save:
        from figures import save as save_figures

        save_figures(
            "critics-sizes",
            command=f"python bench/critics.py --sizes {','.join(map(str, lines))} --critics {','.join(critics)} --save-sizes",
            page="critics",
            rows=rows,
            headline=next((k for k, r in enumerate(rows) if r["case"].startswith("`exec`, one critique of a 5,000")), 0),
            conditions=f"load average during the run {min(load):.1f}-{max(load):.1f}; each critique timed alone, in process, after the critic loaded",
            notes=["The diff: one changed line in each six-line function of a generated module (bench/critics.py big_item)."],
        )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 pairs per dataset, 20 mutation items, 5 LM items")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--boot", type=int, default=300)
    ap.add_argument(
        "--mutation-source",
        default="textwrap,json,heapq,statistics",
        help="comma-separated modules or folders the mutation generator draws from, in equal shares",
    )
    ap.add_argument("--mutation-seed", type=int, default=3, help="seed of the mutation generator")
    ap.add_argument("--mutation-items", type=int, default=None, help="mutation items in all (default 80; 20 with --quick)")
    ap.add_argument("--critics", default="", help="comma-separated critic names to run (default: all of them); e.g. exec,exec-lm")
    ap.add_argument(
        "--datasets",
        default="humanevalfix,quixbugs,mutation",
        help="comma-separated subset of humanevalfix, quixbugs, mutation (default: all three)",
    )
    ap.add_argument("--no-big", action="store_true", help="skip the 5,000-line diff timing")
    ap.add_argument(
        "--sizes",
        default="",
        help="only time critics on diffs of these many lines (comma-separated, e.g. 1000,5000,50000) and print the growth",
    )
    ap.add_argument("--save-sizes", action="store_true", help="with --sizes: write results/critics-sizes.json")
    ap.add_argument(
        "--lm-items", type=int, default=None, help="items per dataset for the SmolLM2 critic (default 5: slow on CPU; 0 = skip)"
    )
    args = ap.parse_args()
    if args.sizes:
        names = [c.strip() for c in (args.critics or "exec,lint,ruff-all").split(",") if c.strip()]
        return sizes(names, [int(x) for x in args.sizes.split(",") if x.strip()], save=args.save_sizes)
    pairs = 20 if args.quick else None
    # SmolLM2 takes 15-30 s an item on 2 busy cores and finds nothing: a few items show the plumbing
    lm_items = args.lm_items if args.lm_items is not None else 5
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    started = time.perf_counter()

    wanted = {d.strip() for d in args.datasets.split(",") if d.strip()}
    if wanted - {"humanevalfix", "quixbugs", "mutation"}:
        ap.error(f"--datasets {args.datasets!r}: use a comma-separated subset of humanevalfix, quixbugs, mutation")
    everyone = BASELINES + HEADLINE + UPPER + ["smollm2"]
    chosen = [c.strip() for c in args.critics.split(",") if c.strip()] or everyone
    if set(chosen) - set(everyone):
        ap.error(f"--critics {args.critics!r}: unknown {sorted(set(chosen) - set(everyone))}; choose from {everyone}")
    datasets: dict[str, list[Item]] = {}
    if DATA.is_dir():
        if "humanevalfix" in wanted:
            datasets["HumanEvalFix-Python"] = load("humanevalfix.jsonl", pairs)
        if "quixbugs" in wanted:
            datasets["QuixBugs-Python"] = load("quixbugs.jsonl", pairs)
    elif wanted & {"humanevalfix", "quixbugs"}:
        print(f"{DATA} is absent: skipping HumanEvalFix and QuixBugs (only mutation items are measured)")
    sources = [s.strip() for s in args.mutation_source.split(",") if s.strip()]
    n_mut = args.mutation_items if args.mutation_items is not None else 20 if args.quick else 80
    try:
        if "mutation" in wanted:
            datasets[f"mutation(seed {args.mutation_seed})"] = mutation_items(n_mut, sources, args.mutation_seed)
    except ValueError as exc:
        print(f"mutation items skipped: {exc}")

    print(
        f"{'dataset':<22} {'critic':<26} {'n':>4}  {'catch [95% CI]':<17} {'false alarm':<17} {'precision':<17} {'halluc':>6} {'lat s':>6} {'catch/ruff':>10} {'wall s':>7}"
    )
    for ds, items in datasets.items():
        rows: dict[str, dict] = {}
        by_item: dict[str, dict] = {}
        names = BASELINES + HEADLINE + (UPPER if "mutation" not in ds else []) + (["smollm2"] if lm_items else [])
        for name in [n for n in names if n in chosen]:
            subset = items[:lm_items] if name == "smollm2" else items
            critic = load_assistant(name)
            t0 = time.perf_counter()
            prepare = getattr(critic, "prepare", None)
            if prepare is not None:  # batch work ahead of the per-item critiques (pylint)
                prepare(subset)
            crits = critique_items(subset, critic, max_workers=1 if name == "smollm2" else args.workers, progress=False)
            wall = time.perf_counter() - t0
            s = summarise(score_critiques(subset, crits), n_boot=args.boot)
            s["wall_s"] = wall
            rows[name] = s
            if name in EXEC:
                by_item[name] = {c.item_id: c for c in crits}
            label = {"exec-tests": "exec-tests (UPPER BOUND)", "ruff-all": "ruff-all (baseline)", "pylint": "pylint (baseline)"}.get(
                name, name
            )
            if name == "smollm2":
                label = f"smollm2 (first {len(subset)})"
            ruff = rows.get("ruff-all", {}).get("catch_rate", {}).get("estimate", float("nan"))
            ratio = s["catch_rate"]["estimate"] / ruff if ruff and ruff == ruff else float("inf")
            print(
                f"{ds:<22} {label:<26} {s['n_items']:>4}  {fmt(s['catch_rate'])} {fmt(s['false_alarm_rate'])} {fmt(s['precision'])}"
                f" {s['hallucinated_rate']['estimate']:6.2f} {s['mean_latency_s']['estimate']:6.2f} {ratio:10.2f} {wall:7.0f}",
                flush=True,
            )
        for name in [n for n in EXEC if n in rows]:
            if ds.startswith("mutation") and len(sources) > 1:
                per = []
                for module in sources:
                    part = [it for it in items if module_of(it, sources) == module]
                    got = by_item[name]
                    if part:
                        m = summarise(score_critiques(part, [got[it.id] for it in part if it.id in got]), n_boot=args.boot)
                        per.append(
                            f"{module} {m['catch_rate']['estimate']:.2f} / {m['false_alarm_rate']['estimate']:.2f} (n={m['n_items']})"
                        )
                print(f"{'':<22} {name} per source, catch / false alarm: " + "; ".join(per))
            ex = rows[name]
            ok = ex["catch_rate"]["estimate"] >= 0.5 and ex["false_alarm_rate"]["estimate"] <= 0.10
            print(f"{ds:<22} target ({name}, no tests): catch >= 0.50 and false alarms <= 0.10: {'MET' if ok else 'MISSED'}")

    if args.no_big:
        print(f"\nwhole benchmark: {time.perf_counter() - started:.0f} s")
        return 0
    print("\n5,000-line diff (one item; target < 5 s per critic):")
    big = big_item()
    print(f"  diff: {big.diff.count(chr(10))} lines, file: {big.after.count(chr(10)) if big.after else 0} lines")
    for name in [n for n in ["ruff-all", "lint", "exec", "exec-lm", "ensemble"] if n in chosen]:
        critic = load_assistant(name)
        t0 = time.perf_counter()
        c = critique_item(critic, big)
        dt = time.perf_counter() - t0
        print(f"  {name:<10} {dt:6.2f} s  status={c.status} comments={len(c.comments)}  {'OK' if dt < 5 else 'SLOW'}")
    print(f"\nwhole benchmark: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
