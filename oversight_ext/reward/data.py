"""Reward-model datasets as polars frames in TRL's column names.

Two shapes, one schema each:

* pairwise (:data:`PAIR_SCHEMA`): ``chosen``, ``rejected``, ``margin`` as TRL names them, plus
  ``tie``, ``weight``, ``pair_id`` (what held-out splits group by), ``group_id`` (a K-way
  ranking whose pairs stay in one batch, as in InstructGPT) and the two item ids;
* pointwise (:data:`POINT_SCHEMA`): ``text`` and ``label`` (the probability the item is
  correct, 0..1, so aggregated soft labels fit), ``weight``, ``item_id``, ``pair_id``.

Labels come from gold (items), from rater judgments (:mod:`oversight_ext.reward.labels`) or
from any preference file in the ``chosen`` / ``rejected`` / ``margin`` convention.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from oversight_ext.records import Critique, Item

__all__ = [
    "PAIR_SCHEMA",
    "POINT_SCHEMA",
    "augment_with_mutations",
    "check_trainable",
    "critique_text",
    "critiques_for",
    "export",
    "fold_splits",
    "item_text",
    "mutation_pairs",
    "pairs_from_items",
    "pairs_from_rankings",
    "pointwise_from_items",
    "read_preferences",
    "split_by_pair",
]

PAIR_SCHEMA: dict[str, pl.DataType] = {
    "chosen": pl.Utf8(),
    "rejected": pl.Utf8(),
    "margin": pl.Float64(),
    "tie": pl.Boolean(),
    "weight": pl.Float64(),
    "pair_id": pl.Utf8(),
    "group_id": pl.Utf8(),
    "chosen_id": pl.Utf8(),
    "rejected_id": pl.Utf8(),
}
POINT_SCHEMA: dict[str, pl.DataType] = {
    "text": pl.Utf8(),
    "label": pl.Float64(),
    "weight": pl.Float64(),
    "item_id": pl.Utf8(),
    "pair_id": pl.Utf8(),
}


def critique_text(critique: Critique | None) -> str:
    """A critique as a reward model reads it: the verdict, its confidence, the summary and each
    comment's lines and claim, as the assisted rater was shown them (planted or not)."""
    if critique is None:
        return "Critique: none (no critique of this item)."
    if critique.status == "failed":
        return f"Critique: none (the critic failed: {critique.reason or 'no reason given'})."
    conf = f", confidence {critique.confidence:.2f}" if critique.confidence is not None else ""
    head = f"Critique: verdict {critique.verdict or 'none'}{conf}. {critique.summary.strip()}".rstrip()
    lines = [head]
    for c in critique.comments:
        where = f"line {c.start_line}" if c.start_line == c.end_line else f"lines {c.start_line}-{c.end_line}"
        lines.append(f"- {where} ({c.side}, {c.severity} {c.category}): {c.text.strip()}")
    return "\n".join(lines)


def item_text(item: Item, text_format: str = "spec+diff", critique: str | None = None) -> str:
    """What the reward model reads of an item; ``spec+diff`` is what a rater is shown.

    ``critique`` (as :func:`critique_text` renders one) comes first, so truncation to the
    model's context cuts code rather than the critique.
    """
    code = item.diff if text_format.endswith("diff") else (item.after if item.after is not None else item.diff)
    if text_format.startswith("spec+"):
        text = f"{item.spec.strip()}\n\n{code}"
    elif text_format in ("diff", "after"):
        text = code
    else:
        raise ValueError(f"text_format = {text_format!r} is invalid: use 'spec+diff', 'diff', 'spec+after' or 'after'")
    return text if critique is None else f"{critique}\n\n{text}"


def critiques_for(items: Sequence[Item], assistant: str, *, store: Any = None, progress: bool = False) -> dict[str, Critique]:
    """Each item's critique by the assistant named ``assistant`` (e.g. ``"exec"``), by item id.

    With a ``store`` holding the items, critiques already made with the same spec are reused
    (the ones a study's assisted raters saw) and new ones are kept. An item whose critique
    failed keeps it: the text then says the critic failed, as the rater's view would.
    """
    from oversight_ext.assistants import load_assistant
    from oversight_ext.assistants.batch import critique_items

    critic = load_assistant(assistant)
    return {c.item_id: c for c in critique_items(items, critic, store=store, max_workers=2, progress=progress)}


def _critique_of(critiques: Mapping[str, Critique] | None, item_id: str) -> str | None:
    """The rendered critique of an item when critiques are in use (an item without one says so)."""
    return None if critiques is None else critique_text(critiques.get(item_id))


def _gold(items: Iterable[Item]) -> pl.DataFrame:
    rows = [{"item_id": it.id, "label": 1.0 if it.label == "correct" else 0.0, "weight": 1.0} for it in items if it.label is not None]
    return pl.DataFrame(rows, schema={"item_id": pl.Utf8, "label": pl.Float64, "weight": pl.Float64})


def pairs_from_items(
    items: Sequence[Item],
    *,
    labels: pl.DataFrame | None = None,
    text_format: str = "spec+diff",
    max_pairs_per_group: int = 0,
    tie_tolerance: float = 0.05,
    seed: int = 0,
    critiques: Mapping[str, Critique] | None = None,
) -> pl.DataFrame:
    """Preference pairs within each ``pair_id``: every higher-labelled item over every lower one.

    ``labels`` (columns ``item_id``, ``label`` = P(correct), ``weight``) replaces gold, e.g.
    aggregated judgments. A pair_id with K items is a K-way group: its pairs share
    ``group_id``. Items whose labels differ by less than ``tie_tolerance`` form a tie.
    ``max_pairs_per_group`` (0: all) samples pairs of big groups with a seeded generator.
    ``critiques`` (item id -> Critique) puts each item's critique in its text (:func:`item_text`).
    """
    lab = _gold(items) if labels is None else labels
    by_id = {r["item_id"]: (r["label"], r["weight"]) for r in lab.iter_rows(named=True)}
    groups: dict[str, list[Item]] = {}
    for it in items:
        if it.pair_id and it.id in by_id:
            groups.setdefault(it.pair_id, []).append(it)
    rng = np.random.default_rng(seed)
    rows = []
    for pid, members in groups.items():
        combos = list(itertools.combinations(members, 2))
        if max_pairs_per_group and len(combos) > max_pairs_per_group:
            combos = [combos[i] for i in sorted(rng.choice(len(combos), max_pairs_per_group, replace=False))]
        for a, b in combos:
            (la, wa), (lb, wb) = by_id[a.id], by_id[b.id]
            if lb > la:
                a, b, la, lb = b, a, lb, la
            rows.append(
                {
                    "chosen": item_text(a, text_format, _critique_of(critiques, a.id)),
                    "rejected": item_text(b, text_format, _critique_of(critiques, b.id)),
                    "margin": 0.0,
                    "tie": bool(la - lb < tie_tolerance),
                    "weight": float(min(wa, wb)),
                    "pair_id": pid,
                    "group_id": pid,
                    "chosen_id": a.id,
                    "rejected_id": b.id,
                }
            )
    return pl.DataFrame(rows, schema=PAIR_SCHEMA)


def mutation_pairs(
    pairs: pl.DataFrame, items: Mapping[str, Item], per_pair: int, *, text_format: str = "spec+diff", seed: int = 0
) -> pl.DataFrame:
    """Synthetic training pairs made from the chosen side of ``pairs`` by planting bugs in it.

    For each non-tied pair whose chosen item (looked up in ``items`` by ``chosen_id``) is Python
    code that parses, up to ``per_pair`` bugs are planted in that code with the mutation
    operators (:func:`oversight_ext.items.mutate.plant_bugs`). Each gives one pair shaped like a
    HumanEvalFix pair: chosen is the diff that removes the bug (mutant -> code), rejected the
    diff that plants it (code -> mutant), both with the chosen item's task statement. The rows
    keep their source's ``pair_id``, so a split by pair_id never separates them from it, and
    get their own ``group_id``. Apply this to a training split only: synthetic pairs are not
    gold and must not be scored as held-out pairs.
    """
    from oversight_ext.diffs import make_diff
    from oversight_ext.items.mutate import plant_bugs

    if isinstance(per_pair, bool) or not isinstance(per_pair, int) or per_pair < 0:
        raise ValueError(f"per_pair = {per_pair!r} is invalid: give a non-negative integer (0 adds nothing)")
    rng = np.random.default_rng(seed)
    rows = []
    for row in pairs.iter_rows(named=True) if per_pair else ():
        src = items.get(row.get("chosen_id") or "")
        if row.get("tie") or src is None or src.language != "python" or not src.after:
            continue
        path = src.path or "code.py"
        for j, (_, mutant) in enumerate(plant_bugs(src.after, per_pair, rng)):
            fix = dataclasses.replace(
                src, id=f"{src.id}~mut{j}", diff=make_diff(mutant, src.after, path), before=mutant, direction="fix_bug"
            )
            bug = dataclasses.replace(
                fix, id=f"{src.id}~mut{j}~bug", diff=make_diff(src.after, mutant, path), before=src.after, after=mutant,
                direction="introduce_bug", label="buggy",
            )  # fmt: skip
            rows.append(
                {
                    "chosen": item_text(fix, text_format),
                    "rejected": item_text(bug, text_format),
                    "margin": 0.0,
                    "tie": False,
                    "weight": float(row.get("weight", 1.0)),
                    "pair_id": row["pair_id"],
                    "group_id": f"{row['group_id'] or row['pair_id']}~mut{j}",
                    "chosen_id": fix.id,
                    "rejected_id": bug.id,
                }
            )
    return pl.DataFrame(rows, schema=PAIR_SCHEMA)


def augment_with_mutations(train: pl.DataFrame, items: Mapping[str, Item] | None, config: Any, *, seed: int) -> pl.DataFrame:
    """``train`` plus ``config.mutation_pairs`` (a :class:`RewardTrainingConfig`) synthetic pairs per pair (see :func:`mutation_pairs`)."""
    if not config.mutation_pairs:
        return train
    if items is None:
        raise ValueError(
            "mutation_pairs needs the items behind the pairs (an items file or a study), not a preference file: "
            "set mutation_pairs = 0 or train from items"
        )
    extra = mutation_pairs(train, items, config.mutation_pairs, text_format=config.text_format, seed=seed)
    return pl.concat([train, extra], how="diagonal_relaxed") if extra.height else train


def pointwise_from_items(
    items: Sequence[Item],
    *,
    labels: pl.DataFrame | None = None,
    text_format: str = "spec+diff",
    critiques: Mapping[str, Critique] | None = None,
) -> pl.DataFrame:
    """One row per labelled item: ``label`` is gold (1 correct, 0 buggy) or the given P(correct)."""
    lab = _gold(items) if labels is None else labels
    by_id = {r["item_id"]: (r["label"], r["weight"]) for r in lab.iter_rows(named=True)}
    rows = [
        {
            "text": item_text(it, text_format, _critique_of(critiques, it.id)),
            "label": by_id[it.id][0],
            "weight": by_id[it.id][1],
            "item_id": it.id,
            "pair_id": it.pair_id or it.id,
        }
        for it in items
        if it.id in by_id
    ]
    return pl.DataFrame(rows, schema=POINT_SCHEMA)


def pairs_from_rankings(rankings: pl.DataFrame) -> pl.DataFrame:
    """Pairs from K-way rankings: columns ``group_id``, ``text``, ``rank`` (1 = best), optional ``item_id``.

    All K(K-1)/2 pairs of a group share its ``group_id`` and each weighs 1/(K(K-1)/2), so a
    group counts once however large it is (InstructGPT); equal ranks become ties.
    """
    need = {"group_id", "text", "rank"}
    if not need <= set(rankings.columns):
        raise ValueError(f"rankings has columns {rankings.columns}: give at least {sorted(need)}")
    rows = []
    for (gid,), grp in rankings.group_by(["group_id"], maintain_order=True):
        recs = grp.sort("rank").to_dicts()
        combos = list(itertools.combinations(recs, 2))
        for a, b in combos:
            rows.append(
                {
                    "chosen": a["text"],
                    "rejected": b["text"],
                    "margin": 0.0,
                    "tie": a["rank"] == b["rank"],
                    "weight": 1.0 / len(combos),
                    "pair_id": str(gid),
                    "group_id": str(gid),
                    "chosen_id": str(a.get("item_id") or f"{gid}:{a['rank']}"),
                    "rejected_id": str(b.get("item_id") or f"{gid}:{b['rank']}"),
                }
            )
    return pl.DataFrame(rows, schema=PAIR_SCHEMA)


#: Optional columns of a preference file and the JSON types each accepts (None: null, the default).
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "prompt": (str,),
    "margin": (int, float),
    "tie": (bool,),
    "weight": (int, float),
    "pair_id": (str,),
    "group_id": (str,),
    "chosen_id": (str,),
    "rejected_id": (str,),
}


def _checked_row(row: Any, where: str) -> dict[str, Any]:
    """``row`` of a preference file, or a ValueError saying at ``where`` (file and line) what is wrong."""
    if not isinstance(row, dict):
        raise ValueError(f"{where} is a JSON {type(row).__name__}, not an object: write each row as {{'chosen': ..., 'rejected': ...}}")
    for name in ("chosen", "rejected"):
        value = row.get(name)
        if not isinstance(value, str):
            got = "missing" if name not in row else "null" if value is None else f"not text ({type(value).__name__} {value!r:.40})"
            raise ValueError(f"{where}: {name!r} is {got}; every row needs 'chosen' and 'rejected' texts")
    for name, types in _OPTIONAL.items():
        value = row.get(name)
        if value is not None and (not isinstance(value, types) or (bool not in types and isinstance(value, bool))):
            want = " or ".join(t.__name__ for t in types)
            raise ValueError(f"{where}: {name!r} = {value!r} is not a {want}; give a {want} or leave the field out")
    return row


def _preference_rows(p: Path) -> list[dict[str, Any]]:
    """The checked rows of a JSONL or parquet preference file; a bad row stops it, naming file and line."""
    if p.suffix == ".parquet":
        return [_checked_row(row, f"preference file {os.fspath(p)!r} row {i}") for i, row in enumerate(pl.read_parquet(p).to_dicts(), 1)]
    rows = []
    with open(p, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"preference file {os.fspath(p)!r} line {lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where} is not JSON ({exc.msg} at column {exc.colno}): fix or remove the line") from None
            rows.append(_checked_row(row, where))
    return rows


def read_preferences(path: str | os.PathLike[str]) -> pl.DataFrame:
    """A preference file (JSONL or parquet) with ``chosen``, ``rejected`` and optional ``margin``.

    A row's ``prompt`` (TRL's explicit-prompt format) is kept: the texts scored are prompt +
    response, and rows of one prompt share a ``pair_id`` (unless the file gives one), so a
    split never puts one prompt on both sides. Every bad row is a ValueError naming the file
    and the line (parquet: the row).
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"preference file {os.fspath(path)!r} does not exist: give a .jsonl or .parquet file")
    rows = _preference_rows(p)
    if not rows:
        raise ValueError(f"preference file {os.fspath(path)!r} has no rows: each row needs 'chosen' and 'rejected' texts")
    out = []
    for i, row in enumerate(rows):
        prompt = row.get("prompt")
        default_pair = f"{p.stem}:{i}" if prompt is None else f"{p.stem}:prompt-{hashlib.sha256(prompt.encode()).hexdigest()[:16]}"
        pair_id = row.get("pair_id") or default_pair
        out.append(
            {
                "chosen": (prompt or "") + row["chosen"],
                "rejected": (prompt or "") + row["rejected"],
                "margin": float(row.get("margin") or 0.0),
                "tie": bool(row.get("tie") or False),
                "weight": 1.0 if row.get("weight") is None else float(row["weight"]),
                "pair_id": pair_id,
                "group_id": row.get("group_id") or pair_id,
                "chosen_id": row.get("chosen_id") or f"{p.stem}:{i}:chosen",
                "rejected_id": row.get("rejected_id") or f"{p.stem}:{i}:rejected",
            }
        )
    return pl.DataFrame(out, schema=PAIR_SCHEMA)


def export(frame: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a dataset as parquet (``.parquet``) or JSONL (``.jsonl``) in TRL's column names."""
    p = Path(path)
    if p.suffix == ".parquet":
        frame.write_parquet(p)
    elif p.suffix in (".jsonl", ".json"):
        frame.write_ndjson(p)
    else:
        raise ValueError(f"export path {os.fspath(path)!r} has an unknown suffix: end it in .parquet or .jsonl")
    return p


def split_by_pair(frame: pl.DataFrame, eval_fraction: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(train, held-out): whole ``pair_id`` groups go to one side, so no task leaks across."""
    ids = sorted(set(frame["pair_id"].to_list()))
    rng = np.random.default_rng(seed)
    n_eval = round(len(ids) * eval_fraction)
    if eval_fraction > 0 and len(ids) >= 2:
        n_eval = min(max(n_eval, 1), len(ids) - 1)
    held = set(rng.permutation(ids)[:n_eval].tolist()) if n_eval else set()
    mask = frame["pair_id"].is_in(list(held))
    return frame.filter(~mask), frame.filter(mask)


def fold_splits(frame: pl.DataFrame, folds: int, seed: int) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    """K-fold cross-validation by ``pair_id``: ``folds`` (train, held-out) splits in which every
    pair_id is held out exactly once and never sits on both sides of one split."""
    ids = sorted(set(frame["pair_id"].to_list()))
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds = {folds!r} is invalid: give an integer >= 2 (5 is usual)")
    if folds > len(ids):
        raise ValueError(f"folds = {folds} is more than the {len(ids)} pair_ids in the data: give at most {len(ids)} folds")
    order = np.random.default_rng(seed).permutation(ids)
    out = []
    for k in range(folds):
        held = order[k::folds].tolist()
        mask = frame["pair_id"].is_in(held)
        out.append((frame.filter(~mask), frame.filter(mask)))
    return out


def check_trainable(frame: pl.DataFrame, objective: str, *, what: str = "training set") -> None:
    """Stop early, saying what to change, on a dataset that cannot train a reward model."""
    if frame.height == 0:
        raise ValueError(
            f"the {what} is empty: give items with a pair_id and both a correct and a buggy member, "
            "judgments of a study, or a preference file with chosen/rejected rows"
        )
    if objective == "pairwise":
        if "chosen" not in frame.columns:
            raise ValueError(
                f"the {what} has columns {frame.columns}: a pairwise objective needs chosen/rejected (set objective='pointwise')"
            )
        if bool(frame["tie"].all()):
            raise ValueError(
                f"every pair in the {what} is a tie (all labels identical): no preference to learn; add items both sides disagree on"
            )
        if bool((frame["chosen"] == frame["rejected"]).all()):
            raise ValueError(f"every pair in the {what} has chosen == rejected: the texts must differ")
    else:
        if "label" not in frame.columns:
            raise ValueError(f"the {what} has columns {frame.columns}: a pointwise objective needs text/label (set objective='pairwise')")
        if frame["label"].n_unique() < 2:
            raise ValueError(
                f"all labels in the {what} are identical ({frame['label'][0]}): a reward model needs both correct and buggy examples"
            )
