"""The frozen design as a preregistration document (Markdown).

Everything in it comes from the store's frozen record of the study (config, seed, code
version, assignment table), never from judgments, so it reads the same before and after data
come in. The table's SHA-256 covers what the design fixed (ids, items, conditions, order,
critiques), not who claimed an open slot, so anyone can check the table was not changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from oversight_ext.records import Assignment
from oversight_ext.store import Store

from .config import SLOT_PREFIX
from .design import latin_square

__all__ = ["export_prereg", "table_hash"]


def table_hash(assignments: Sequence[Assignment]) -> str:
    """SHA-256 of the frozen table: every assignment's design fields, in id order."""
    fields = ("id", "item_id", "condition", "position", "critique_id", "time_limit_s", "is_qc", "display")
    rows = [[getattr(a, f) for f in fields] for a in sorted(assignments, key=lambda a: a.id)]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def _md_table(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *body])


def _balance(table: Sequence[Assignment], key: str) -> str:
    counts = Counter((getattr(a, key), a.condition) for a in table if not a.is_qc)
    per: dict[str, list[int]] = {}
    for (who, _), n in counts.items():
        per.setdefault(who, []).append(n)
    conds = {a.condition for a in table if not a.is_qc}
    spreads = [max(v) - (min(v) if len(v) == len(conds) else 0) for v in per.values()]
    return f"largest difference between conditions per {key.replace('_id', '')}: {max(spreads, default=0)}"


def export_prereg(
    store: Store, study: str, out_path: str | os.PathLike[str] | None = None, *, power: pl.DataFrame | None = None, appendix: bool = True
) -> str:
    """Markdown preregistration of ``study``; written to ``out_path`` too when given.

    ``power`` (a frame from :func:`power.estimate_power` or :func:`power.search_power`) adds
    the power analysis; ``appendix=False`` leaves out the full assignment table.
    """
    config = store.study(study)
    table = store.assignments(study)
    main = [a for a in table if not a.is_qc]
    item_ids = sorted({a.item_id for a in main})
    qc_ids = sorted(config.qc_item_ids)
    labels = Counter(it.label or "unlabelled" for it in store.iter_items(ids=item_ids)) if item_ids else Counter()
    control, treatments = config.control_condition, config.treatment_conditions
    conds = pl.DataFrame(
        {
            "condition": [c.name for c in config.conditions],
            "kind": [c.kind for c in config.conditions],
            "assistant": [c.assistant or "" for c in config.conditions],
            "planted_rate": [c.planted_rate for c in config.conditions],
            "display": [c.display if c.is_assisted else "" for c in config.conditions],
            "assignments": [sum(1 for a in main if a.condition == c.name) for c in config.conditions],
        }
    )
    rows = latin_square(len(config.conditions))
    names = config.condition_names
    square = "; ".join(" -> ".join(names[c] for c in row) for row in rows)
    raters = (
        f"a fixed list of {len(config.raters)} raters: {', '.join(config.raters)}"
        if config.raters
        else f"open enrolment: {config.open_slots} slots, claimed in slot order by raters as they arrive; slots are in blocked "
        "random order (each block of consecutive slots covers every Latin-square row or condition once)"
    )
    sel = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items.items() if v not in (None, (), [], False)}
    lines = [
        f"# Preregistration: {config.name}",
        "",
        f"Study `{config.name}` was frozen on {config.created_at:%Y-%m-%d %H:%M UTC} by oversight_ext `{config.code_version}` "
        f"with seed `{config.seed}`. Its assignment table ({len(table)} assignments) has SHA-256 `{table_hash(table)}` "
        "(over ids, items, conditions, positions, critiques and QC marks; `oversight study export` recomputes it).",
        "",
        "## Question",
        "",
        config.description or f"Does showing raters AI critiques ({', '.join(treatments) or 'none'}) change their accuracy against gold?",
        "",
        "## Conditions",
        "",
        _md_table(conds),
        "",
        "## Items",
        "",
        f"- Selector: {', '.join(f'{k} = {v!r}' for k, v in sel.items()) or 'all stored items'}.",
        f"- {len(item_ids)} study items ({', '.join(f'{n} {lab}' for lab, n in sorted(labels.items()))}); "
        f"{len(qc_ids)} gold quality-control items set aside.",
        "",
        "## Design",
        "",
        f"- {'Within' if config.design == 'within' else 'Between'}-subject; each item is judged under each condition by "
        f"{config.overlap} different rater(s); no rater sees an item twice.",
        f"- Raters: {raters}.",
        f"- Order: {config.order}, following the rows of a Williams Latin square: {square}.",
        f"- Balance: {_balance(table, 'rater')}; {_balance(table, 'item_id')}.",
        f"- Quality control: {config.qc_rate:.0%} of each queue are gold items shown under `{config.qc_condition_name}`.",
        f"- Time limit per item: {f'{config.time_limit_s:g} s' if config.time_limit_s else 'none'}; verdict scale: {config.verdict_scale}.",
        f"- Audit budget: {f'{config.audit_budget_hunks} hunk(s) per item opened in depth' if config.audit_budget_hunks else 'none'}.",
        "",
        "## Analysis plan",
        "",
        f"- Primary outcome: accuracy (verdict equals the gold label) on study items; control condition `{control}`.",
        f"- Primary contrast: accuracy of {', '.join(f'`{t}`' for t in treatments) or 'each condition'} minus `{control}`, "
        "with a 95% two-way cluster bootstrap interval resampling raters and items (1,000 resamples), two-sided alpha = 0.05.",
        "- Secondary: a mixed-effects logistic regression with rater and item random effects; catch rate at the gold line, "
        "precision of flagged lines, false alarms on correct items, time on task, calibration error (5 bins), dispositions of "
        "AI comments, acceptance of planted-wrong claims, agreement (Krippendorff's alpha), order effects.",
        "- Exclusions: QC items enter no estimate; each rater's QC accuracy is reported. Simulated raters "
        "(`kind = simulated`) are analysed apart from people and never pooled with them.",
    ]
    if power is not None and power.height:
        lines += ["", "## Power analysis (by simulation)", "", _md_table(power.with_columns(pl.col(pl.Float64).round(3)))]
    if appendix:
        frame = pl.DataFrame(
            {
                "id": [a.id for a in table],
                "rater": [a.rater if not a.rater.startswith(SLOT_PREFIX) else f"({a.rater})" for a in table],
                "position": [a.position for a in table],
                "item": [a.item_id for a in table],
                "condition": [a.condition for a in table],
                "qc": ["yes" if a.is_qc else "" for a in table],
                "critique": [a.critique_id or "" for a in table],
            }
        )
        lines += ["", "## Appendix: the assignment table", "", _md_table(frame)]
    text = "\n".join(lines) + "\n"
    if out_path is not None:
        Path(out_path).write_text(text, encoding="utf-8")
    return text
