"""Where benchmarks leave their figures: ``results/<name>.json``, one file per benchmark.

A full run (not ``--quick``) calls :func:`save` with its rows; ``scripts/results_pages.py``
turns the files into the tables of ``docs/results/*.md`` and the README's benchmark lines, and
``tests/test_results_pages.py`` fails while a page is older than its file.

Each row is what one line of a table says, as text: ``case`` (what was measured), ``figure``
(ours), ``baseline`` (the named baseline, measured in the same run) and ``ratio``. The row
named by ``headline`` is the README's line for the benchmark.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
ROW_KEYS = ("case", "figure", "baseline", "ratio")


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def save(
    name: str,
    *,
    command: str,
    page: str,
    rows: Sequence[dict[str, str]],
    headline: int = 0,
    conditions: str = "",
    notes: Sequence[str] = (),
) -> Path:
    """Write ``results/<name>.json`` with this run's rows; returns the path."""
    bad = [r for r in rows if set(r) != set(ROW_KEYS) or not all(isinstance(r[k], str) for k in ROW_KEYS)]
    if not rows or bad:
        raise ValueError(f"rows = {bad or rows!r} is invalid: give at least one row with text cells {ROW_KEYS}")
    if not 0 <= headline < len(rows):
        raise ValueError(f"headline = {headline} is invalid: give the index of one of the {len(rows)} rows")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    record: dict[str, Any] = {
        "benchmark": name,
        "command": command,
        "page": page,
        "measured": f"{dt.date.today().isoformat()}, commit {_commit()}, {os.cpu_count()} CPUs ({platform.machine()}), load average {load:.1f}",
        "conditions": conditions,
        "headline": headline,
        "rows": [dict(r) for r in rows],
        "notes": list(notes),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
