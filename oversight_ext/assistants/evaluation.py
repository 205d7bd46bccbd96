"""How good is a critic? Scores critiques against gold, with bootstrap intervals.

Per item (:func:`score_critiques`, a polars frame):

- a buggy item is *caught* when some comment lies within +-1 line of a gold bug line;
- a correct item is *falsely alarmed* when the critique flags it (any comment, or verdict buggy);
- a comment is *precise* when it lies within +-1 line of a gold bug line (comments on correct
  items never are);
- *hallucinated* comments pointed at lines that do not exist and were dropped.

:func:`summarise` turns the frame into ``catch_rate``, ``false_alarm_rate``, ``precision``,
``hallucinated_rate`` and ``mean_latency_s``, each with a percentile bootstrap interval over
item pairs (both directions of a pair resampled together). :func:`tradeoff_chart` draws catch
rate against false-alarm rate across verbosity settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import polars as pl
from tqdm.auto import tqdm

from oversight_ext.records import Critique, Item

from .protocol import BaseCritic, Critic, sweep_item
from .shapes import ran_no_input, shape_of

__all__ = [
    "METRICS",
    "breakdown",
    "by_group",
    "control_source",
    "failure_reasons",
    "score_critiques",
    "summarise",
    "sweep_verbosity",
    "tradeoff_chart",
]

METRICS = ("catch_rate", "false_alarm_rate", "precision", "hallucinated_rate", "mean_latency_s")
TOLERANCE = 1

_SCHEMA = {
    "item_id": pl.Utf8,
    "cluster": pl.Utf8,
    "label": pl.Utf8,
    "control": pl.Utf8,
    "bug_type": pl.Utf8,
    "status": pl.Utf8,
    "reason": pl.Utf8,
    "caught": pl.Boolean,
    "flagged": pl.Boolean,
    "n_comments": pl.Int64,
    "n_precise": pl.Int64,
    "hallucinated": pl.Int64,
    "latency_s": pl.Float64,
    "shape": pl.Utf8,
    "ran_no_input": pl.Boolean,
}


def control_source(item: Item) -> str | None:
    """Where a correct item (a control) comes from: "rewrite" (a behaviour-preserving rewrite
    made by a generator), "fix" (the reverse of a bug: a real fix) or "other"; None for a buggy
    item. Read from the item's direction, which the mutation generator and the shared data set."""
    if item.label != "correct":
        return None
    return {"refactor": "rewrite", "fix_bug": "fix"}.get(item.direction or "", "other")


def score_critiques(items: Sequence[Item], critiques: Sequence[Critique]) -> pl.DataFrame:
    """One row per item that has gold (label) and a critique: was it caught, falsely alarmed.
    ``control`` says where a correct item comes from (:func:`control_source`)."""
    by_item = {c.item_id: c for c in critiques}
    rows = []
    for it in items:
        c = by_item.get(it.id)
        if c is None or it.label is None:
            continue
        on_main = [m for m in c.comments if m.side == "new" and (not m.path or not it.path or m.path == it.path)]
        precise = [m for m in on_main if any(m.covers(b, TOLERANCE) for b in it.bug_lines)]
        rows.append(
            {
                "item_id": it.id,
                "cluster": it.pair_id or it.id,
                "label": it.label,
                "control": control_source(it),
                "bug_type": it.bug_type if it.label == "buggy" else None,
                "status": c.status,
                "reason": c.reason if c.status == "failed" else None,
                "caught": it.label == "buggy" and bool(precise),
                "flagged": bool(c.comments) or c.verdict == "buggy",
                "n_comments": len(c.comments),
                "n_precise": len(precise),
                "hallucinated": c.hallucinated,
                "latency_s": c.latency_s,
                "shape": shape_of(it),
                "ran_no_input": ran_no_input(c),
            }
        )
    return pl.DataFrame(rows, schema=_SCHEMA)


def _point(f: pl.DataFrame) -> dict[str, float]:
    buggy, correct = f.filter(pl.col("label") == "buggy"), f.filter(pl.col("label") == "correct")
    n_comments = int(f["n_comments"].sum())
    halluc = int(f["hallucinated"].sum())
    nan = float("nan")
    return {
        "catch_rate": float(buggy["caught"].mean()) if buggy.height else nan,  # type: ignore[arg-type]
        "false_alarm_rate": float(correct["flagged"].mean()) if correct.height else nan,  # type: ignore[arg-type]
        "precision": float(f["n_precise"].sum()) / n_comments if n_comments else nan,
        "hallucinated_rate": halluc / (halluc + n_comments) if halluc + n_comments else 0.0,
        "mean_latency_s": float(f["latency_s"].mean()) if f.height else nan,  # type: ignore[arg-type]
    }


def summarise(frame: pl.DataFrame, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, Any]:
    """Each metric with a percentile bootstrap interval (clusters = item pairs resampled whole)."""
    if n_boot < 1:
        raise ValueError(f"n_boot = {n_boot!r} is invalid: give at least 1 bootstrap resample (1000 is usual)")
    if not 0 < level < 1:
        raise ValueError(f"level = {level!r} is invalid: give a coverage between 0 and 1, e.g. 0.95")
    point = _point(frame)
    rng = np.random.default_rng(seed)
    clusters = frame["cluster"].unique(maintain_order=True).to_list()
    groups = {c: g for (c,), g in frame.group_by("cluster", maintain_order=True)}
    draws: dict[str, list[float]] = {k: [] for k in METRICS}
    if clusters:
        for _ in range(n_boot):
            pick = rng.integers(0, len(clusters), len(clusters))
            sample = pl.concat([groups[clusters[i]] for i in pick])
            for k, v in _point(sample).items():
                draws[k].append(v)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    out: dict[str, Any] = {
        "n_items": frame.height,
        "n_buggy": int((frame["label"] == "buggy").sum()),
        "n_correct": int((frame["label"] == "correct").sum()),
        "failed_rate": float((frame["status"] == "failed").mean()) if frame.height else float("nan"),  # type: ignore[arg-type]
        "failures": failure_reasons(frame),
        "ran_no_input_rate": float(frame["ran_no_input"].mean()) if frame.height else float("nan"),  # type: ignore[arg-type]
    }
    for k in METRICS:
        vals = np.array([v for v in draws[k] if v == v])
        lo, hi = (float(np.quantile(vals, lo_q)), float(np.quantile(vals, hi_q))) if vals.size else (float("nan"), float("nan"))
        out[k] = {"estimate": point[k], "ci_low": lo, "ci_high": hi, "level": level}
    return out


def by_group(frame: pl.DataFrame, column: str) -> dict[str, dict[str, Any]]:
    """Point estimates per value of ``column`` (``shape``, or ``bug_type``: then buggy items
    only, as controls have no bug type): items, catch, false alarms and the share of items where
    the critic ran no input, always together."""
    if column not in frame.columns:
        raise ValueError(f"column = {column!r} is invalid: give one of {', '.join(frame.columns)}")
    out: dict[str, dict[str, Any]] = {}
    sub = frame.filter(pl.col(column).is_not_null())
    for (value,), g in sub.sort(column).group_by(column, maintain_order=True):
        p = _point(g)
        out[str(value)] = {
            "n_buggy": int((g["label"] == "buggy").sum()),
            "n_correct": int((g["label"] == "correct").sum()),
            "catch_rate": p["catch_rate"],
            "false_alarm_rate": p["false_alarm_rate"],
            "ran_no_input_rate": float(g["ran_no_input"].mean()),  # type: ignore[arg-type]
        }
    return out


def failure_reasons(frame: pl.DataFrame, *, top: int = 3) -> list[dict[str, Any]]:
    """The commonest reasons critiques failed (``reason``, ``n``), most frequent first: a rate
    without them does not say whether to fix the input or install something."""
    failed = frame.filter(pl.col("status") == "failed")
    if not failed.height:
        return []
    counts = failed.group_by("reason").len().sort(["len", "reason"], descending=[True, False]).head(top)
    return [{"reason": r or "(no reason given)", "n": int(n)} for r, n in counts.iter_rows()]


def breakdown(frame: pl.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Catch and false alarms by the source of the controls: for each source, :func:`summarise`
    of every buggy item with the controls of that source only (the false-alarm rate is that
    source's). Sources with no controls are left out."""
    buggy = frame.filter(pl.col("label") == "buggy")
    out: dict[str, dict[str, Any]] = {}
    for source in ("rewrite", "fix", "other"):
        controls = frame.filter(pl.col("control") == source)
        if controls.height:
            out[source] = summarise(pl.concat([buggy, controls]), n_boot=n_boot, seed=seed)
    return out


def sweep_verbosity(
    critic: Critic, items: Sequence[Item], verbosities: Sequence[float], *, progress: bool = True
) -> dict[float, list[Critique]]:
    """Critiques at each verbosity from one review per item (the backend runs once per item)."""
    if not isinstance(critic, BaseCritic):
        raise ValueError(f"critic {critic!r} cannot sweep verbosity: only critics built on BaseCritic expose scored claims")
    bad = [v for v in verbosities if not 0.0 <= v <= 1.0]
    if bad:
        raise ValueError(f"verbosities {bad} are invalid: give values between 0 and 1")
    out: dict[float, list[Critique]] = {v: [] for v in verbosities}
    for it in tqdm(items, desc=f"sweep [{critic.name}]", disable=not progress, unit="item"):
        for v, c in sweep_item(critic, it, list(verbosities)).items():
            out[v].append(c)
    return out


def tradeoff_frame(items: Sequence[Item], swept: dict[float, list[Critique]], *, assistant: str = "") -> pl.DataFrame:
    """Catch and false-alarm rates (with precision) per verbosity setting."""
    rows = []
    for v, crits in sorted(swept.items()):
        p = _point(score_critiques(items, crits))
        rows.append({"assistant": assistant, "verbosity": v, **p})
    return pl.DataFrame(rows)


def tradeoff_chart(frame: pl.DataFrame) -> alt.Chart:
    """Comprehensiveness (catch rate) against false alarms, one point per verbosity setting."""
    base = alt.Chart(frame).encode(
        x=alt.X("false_alarm_rate:Q", title="false-alarm rate on correct items", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("catch_rate:Q", title="catch rate at the gold line (+-1)", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("assistant:N", title="critic"),
        tooltip=["assistant", "verbosity", "catch_rate", "false_alarm_rate", "precision"],
    )
    chart: alt.Chart = (base.mark_line(point=True) + base.mark_text(dx=8, dy=-6).encode(text="verbosity:Q")).properties(
        title="Comprehensiveness vs false alarms across verbosity", width=360, height=300
    )
    return chart
