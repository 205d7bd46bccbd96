"""Regenerate the results tables of docs/results/*.md and README.md from results/*.json.

    python scripts/results_pages.py           # rewrite the tables in place
    python scripts/results_pages.py --check   # exit 1 naming every page whose tables are stale

A page marks each generated table with a pair of comments, and only the text between them is
rewritten:

    <!-- results: store -->            every row of results/store.json
    <!-- /results -->
    <!-- results: headlines -->        (README) one line per benchmark: its headline row
    <!-- /results -->

Benchmarks write results/<name>.json through bench/figures.py (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

BLOCK = re.compile(r"(<!-- results: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /results -->)", re.S)
ROW_KEYS = ("case", "figure", "baseline", "ratio")


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def load(root: Path) -> dict[str, dict[str, Any]]:
    results = {}
    for path in sorted((root / "results").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        missing = [k for k in ("benchmark", "command", "page", "rows", "headline", "measured") if k not in data]
        if missing or data.get("benchmark") != path.stem:
            raise SystemExit(f"error: {path}: needs keys {missing} and benchmark = {path.stem!r}; write it with bench/figures.py")
        for row in data["rows"]:
            if set(row) != set(ROW_KEYS):
                raise SystemExit(f"error: {path}: row {row} must have exactly the keys {ROW_KEYS}")
        results[path.stem] = data
    return results


def table(data: dict[str, Any]) -> str:
    lines = ["| case | figure | baseline (same run) | ratio |", "|---|---|---|---|"]
    lines += [f"| {cell(r['case'])} | {cell(r['figure'])} | {cell(r['baseline'])} | {cell(r['ratio'])} |" for r in data["rows"]]
    lines.append("")
    lines.append(f"`{data['command']}`; measured {data['measured']}." + (f" {data['conditions']}." if data.get("conditions") else ""))
    lines += [f"\n{note}" for note in data.get("notes", [])]
    return "\n".join(lines) + "\n"


def headlines(results: dict[str, dict[str, Any]]) -> str:
    lines = ["| benchmark | figure | baseline (same run) | ratio | command | more |", "|---|---|---|---|---|---|"]
    for data in results.values():
        r = data["rows"][data["headline"]]
        page = f"[{data['page']}](docs/results/{data['page']}.md)"
        lines.append(
            f"| {cell(r['case'])} | {cell(r['figure'])} | {cell(r['baseline'])} | {cell(r['ratio'])} | `{data['command']}` | {page} |"
        )
    return "\n".join(lines) + "\n"


def render(text: str, results: dict[str, dict[str, Any]], where: Path) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group("name")
        if name == "headlines":
            body = headlines(results)
        elif name in results:
            body = table(results[name])
        else:
            raise SystemExit(f"error: {where} asks for results {name!r}, but results/{name}.json does not exist")
        return match.group(1) + body + match.group(4)

    return BLOCK.sub(one, text)


def pages(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs" / "results").glob("*.md"))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a page's tables are not those of results/*.json")
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="the repository (default: this one)")
    args = ap.parse_args(argv)
    results = load(args.root)
    shown = set()
    stale = []
    for page in pages(args.root):
        text = page.read_text(encoding="utf-8")
        shown |= {m.group("name") for m in BLOCK.finditer(text)}
        new = render(text, results, page)
        if new != text:
            stale.append(page)
            if not args.check:
                page.write_text(new, encoding="utf-8")
    unshown = sorted(set(results) - shown)
    if unshown:
        print(f"error: results {unshown} appear on no page; add <!-- results: NAME --> to docs/results/*.md", file=sys.stderr)
        return 1
    if args.check and stale:
        names = ", ".join(str(p.relative_to(args.root)) for p in stale)
        print(f"error: {names} not current with results/*.json; run python scripts/results_pages.py", file=sys.stderr)
        return 1
    for page in [] if args.check else stale:
        print(f"rewrote {page.relative_to(args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
