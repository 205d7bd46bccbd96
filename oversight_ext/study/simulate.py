"""Simulated raters: for workshops, demos and validating the statistics.

A simulated rater has a skill (accuracy without help), a speed (seconds per item), a trust
(probability of following a critique that is right) and a misled rate (probability of
following one that is wrong). They are registered as ``kind="simulated"`` and every judgment
they make has ``simulated=True``, so analysis never mixes them silently with people.

A simulated rater reads the item's gold label and bug lines: it is not a browser client, and
gold is the only way to make "skill" mean "is right with probability p". Nothing a simulated
rater does is ever shown to a person.

Simulated raters never answer "cannot judge" unless ``cannot_judge_rate`` is set: then a rater
whose own reading of a gold item is wrong answers it with that probability (the skipping of hard
items the analysis's worst-case line guards against).

The model, per judgment: the rater's own verdict is right with probability
``sigmoid(logit(skill) - difficulty)`` (item difficulty is shared by all raters). With a
critique on screen, the rater adopts its verdict with probability ``trust`` when it is
right and ``misled`` when it is wrong, else keeps their own. Flags land near the gold line
with probability ``skill``; comments the rater keeps become flags too. Confidence is the
rater's belief of being right, with noise, snapped to the study's confidence levels.

In a study with an audit budget (``audit_budget_hunks``) the rater is the limited-attention one
of :mod:`.inspection` instead: it opens at most that many hunks, chosen down the order its screen
suggests, and finds a flaw only in a hunk it opened.

Each judgment carries the attention record a browser would send (:func:`reading`): the
rater reads the critique's hunks first, and the flaw's hunk when they found it, then the
diff in order at a fixed pace until their time runs out, so on a diff longer than their
time allows, some misses are of lines never on screen.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import zlib
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from oversight_ext.attention import MAX_SPANS
from oversight_ext.diffs import DiffError, DiffFile, parse_diff
from oversight_ext.records import CONFIDENCE_LEVELS, Assignment, CannotJudge, Critique, Disposition, Item, Judgment, LineFlag
from oversight_ext.store import Store

from .config import SLOT_PREFIX
from .creation import enroll
from .inspection import audit_judge, simulated_judgment
from .raters import RaterParams, SimulatedRaterConfig, draw_raters

__all__ = ["RaterParams", "SimulatedRaterConfig", "draw_raters", "judge", "reading", "simulate"]


def _difficulty(item_id: str, seed: int, sd: float) -> float:
    return sd * float(np.random.default_rng([seed, zlib.crc32(item_id.encode()), 13]).standard_normal())


def _confidence(belief: float, levels: Sequence[float]) -> float:
    return min(levels, key=lambda c: abs(c - belief))


@functools.lru_cache(maxsize=4096)
def _visible_lines(diff: str, item_path: str) -> tuple[str, tuple[int, ...]]:
    """The path and the new-side line numbers a rater sees in the diff (parsed once per item)."""
    files = parse_diff(diff)
    path = item_path or (files[0].path if files else "")
    for f in files:
        if f.path == path or not item_path:
            lines = tuple(ln.new for h in f.hunks for ln in h.lines if ln.new is not None)
            if lines:
                return f.path, lines
    return path, (1,)


def judge(
    params: RaterParams,
    item: Item,
    assignment: Assignment,
    critique: Critique | None,
    rng: np.random.Generator,
    *,
    config: SimulatedRaterConfig | None = None,
    seed: int = 0,
    likert: bool = False,
    started_at: dt.datetime | None = None,
    levels: Sequence[float] = CONFIDENCE_LEVELS,
    audit_budget: int | None = None,
) -> Judgment:
    """One simulated judgment of ``item`` under ``assignment`` (reads gold: see module doc);
    ``levels``: the study's confidence levels, the belief is snapped to; ``audit_budget``: the
    study's hunks per item, which switches to the limited-attention rater of :mod:`.inspection`."""
    cfg = config or SimulatedRaterConfig()
    gold = item.label
    p_own = 1 / (1 + math.exp(-(math.log(params.skill / (1 - params.skill)) - _difficulty(item.id, seed, cfg.item_sd))))
    if audit_budget is not None:
        if isinstance(audit_budget, bool) or not isinstance(audit_budget, int) or audit_budget < 1:
            raise ValueError(f"judge(audit_budget={audit_budget!r}): give a whole number of hunks >= 1, or None for no budget")
        available = params.speed_s * math.exp(cfg.time_sd * float(rng.standard_normal()))
        if assignment.time_limit_s is not None:
            available = min(available, assignment.time_limit_s)
        start = started_at or dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        return audit_judge(
            params,
            item,
            assignment,
            critique,
            rng,
            _parsed(item.diff),
            budget=audit_budget,
            time_s=available,
            p_own=p_own,
            config=cfg,
            seed=seed,
            likert=likert,
            started_at=start,
            levels=levels,
        )
    if gold is None:
        own = "buggy" if rng.random() < 0.5 else "correct"
    else:
        own = gold if rng.random() < p_own else ("correct" if gold == "buggy" else "buggy")
    verdict, belief = own, p_own
    shown = critique if critique is not None and critique.status != "failed" else None
    if shown is not None and shown.verdict is not None:
        right = gold is not None and shown.verdict == gold
        if rng.random() < (params.trust if right else params.misled):
            verdict = shown.verdict
            belief = 0.5 * (p_own + (shown.confidence if shown.confidence is not None else params.trust))
    belief += cfg.overconfidence + cfg.confidence_noise * float(rng.standard_normal())

    path, visible = _visible_lines(item.diff, item.path)
    found = False  # the rater flagged the gold flaw from their own reading
    flags: list[LineFlag] = []
    dispositions: list[Disposition] = []
    if shown is not None and assignment.display == "evidence":
        for c in shown.comments:
            right = gold == "buggy" and not c.planted and any(c.covers(b, 2) for b in item.bug_lines)
            if rng.random() < (params.trust if right else params.misled):
                dispositions.append(Disposition(c.id, "keep", "valid"))
                if verdict == "buggy":
                    flags.append(LineFlag(c.path or path, c.start_line, "as the critique says", c.side))
            elif right and rng.random() < 0.5:
                dispositions.append(Disposition(c.id, "edit", "valid", f"{c.text} (narrowed)"))
            else:
                dispositions.append(Disposition(c.id, "reject", "wrong" if not right else "nitpick"))
    if verdict == "buggy" and not flags:
        if gold == "buggy" and item.bug_lines and rng.random() < params.skill:
            found = True
            line = int(item.bug_lines[0]) + int(rng.choice([0, 0, 0, 0, 0, 0, 0, 1, -1, 2]))
            flags.append(LineFlag(path, max(1, line), "bug here"))
        else:
            flags.append(LineFlag(path, int(rng.choice(visible)), "looks wrong"))

    time_s = params.speed_s * math.exp(cfg.time_sd * float(rng.standard_normal()))
    if shown is not None:
        time_s *= cfg.assisted_time_factor
    if assignment.time_limit_s is not None:
        time_s = min(time_s, assignment.time_limit_s)
    conf = _confidence(belief, levels)
    start = started_at or dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    first: list[tuple[str, str, int, int]] = []  # (path, side, from, to): what the rater reads before the rest
    if shown is not None and assignment.display == "evidence":
        first += [(c.path or path, c.side, c.start_line, c.end_line) for c in shown.comments]
    if found:
        first.append((path, "new", min(item.bug_lines), max(item.bug_lines)))  # the rater found it, so saw it
    attention = reading(_parsed(item.diff), time_s, first, cfg)
    digest = hashlib.sha256(f"{seed}:{assignment.id}".encode()).hexdigest()[:32]
    # Drawn last and only when configured, so a study simulated without it keeps every other draw.
    if cfg.cannot_judge_rate > 0 and gold is not None and own != gold and rng.random() < cfg.cannot_judge_rate:
        return Judgment(
            submission_id=f"sim-{digest}",
            assignment_id=assignment.id,
            rater=params.id,
            verdict=None,
            confidence=None,
            time_on_task_s=round(time_s, 3),
            dispositions=tuple(dispositions),
            simulated=True,
            started_at=start,
            submitted_at=start + dt.timedelta(seconds=time_s),
            attention=attention,
            cannot_judge=CannotJudge("too_large", "simulated: the rater's own reading was wrong"),
        )
    return simulated_judgment(assignment, params.id, verdict, conf, levels, time_s, flags, dispositions, likert, seed, start, attention)


@functools.lru_cache(maxsize=256)
def _parsed(diff: str) -> tuple[DiffFile, ...]:
    try:
        return tuple(parse_diff(diff))
    except DiffError:
        return ()


def reading(
    files: Sequence[DiffFile], time_s: float, first: Sequence[tuple[str, str, int, int]], config: SimulatedRaterConfig | None = None
) -> dict[str, Any]:
    """The attention record of a rater who reads ``config.screen_lines`` lines at a time at
    ``config.read_lines_per_s``: first the hunks holding the ``first`` ranges (path, side, from,
    to: the critique's comments, a flaw they found), then every hunk in diff order, until
    ``time_s`` runs out. Deterministic: the record is a function of the diff and the time."""
    cfg = config or SimulatedRaterConfig()
    order: list[tuple[int, int]] = []
    for p, side, lo, hi in first:
        for fi, f in enumerate(files):
            if p not in (f.path, f.new_path, f.old_path) and len(files) > 1:
                continue
            for hj, h in enumerate(f.hunks):
                nums = [ln.new if side == "new" else ln.old for ln in h.lines]
                if any(n is not None and lo <= n <= hi for n in nums) and (fi, hj) not in order:
                    order.append((fi, hj))
    order += [(fi, hj) for fi, f in enumerate(files) for hj in range(len(f.hunks)) if (fi, hj) not in order]
    spans: list[list[int]] = []
    budget_ms, t = int(time_s * 1000), 0
    for fi, hj in order:
        n = len(files[fi].hunks[hj].lines)
        for a in range(0, n, cfg.screen_lines):
            if t >= budget_ms or len(spans) >= MAX_SPANS:
                break
            b = min(n, a + cfg.screen_lines) - 1
            t1 = min(budget_ms, t + max(1000, round(1000 * (b - a + 1) / cfg.read_lines_per_s)))
            spans.append([t, t1, fi, hj, a, b])
            t = t1
    return {"spans": spans, "events": []}


def simulate(
    store: Store,
    study: str,
    n_raters: int,
    seed: int,
    *,
    config: SimulatedRaterConfig | None = None,
    progress: bool = False,
) -> int:
    """Enrol ``n_raters`` simulated raters (``sim-001``...) in ``study`` and judge their queues.

    Returns the number of judgments stored. Deterministic per seed, and idempotent: running
    it again stores nothing new (submission ids derive from the seed and assignment).
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"simulate(seed={seed!r}): the seed must be an integer")
    cfg = config or SimulatedRaterConfig()
    study_cfg = store.study(study)
    created_at = study_cfg.created_at
    if created_at is None:  # a store always records it; a hand-built record may not
        raise ValueError(f"simulate(study={study!r}): the stored study has no created_at; recreate it with create_study")
    raters = draw_raters(n_raters, seed, cfg)
    free = study_cfg.n_raters
    if study_cfg.raters:
        missing = [r.id for r in raters if r.id not in study_cfg.raters]
        if missing:
            raise ValueError(
                f"simulate(n_raters={n_raters}): study {study!r} lists its raters and {missing[0]!r} is not among them; "
                "simulate on a study with open_slots, or list sim-001... as its raters"
            )
    else:
        holders = {a.rater for a in store.assignments(study)}
        unclaimed = sum(1 for r in holders if r.startswith(SLOT_PREFIX))
        needed = sum(1 for r in raters if r.id not in holders)
        if needed > unclaimed:
            raise ValueError(
                f"simulate(n_raters={n_raters}): study {study!r} has {free} open slots and {unclaimed} are free; "
                f"simulate at most {unclaimed + n_raters - needed} raters"
            )
    items: dict[str, Item] = {}
    critiques: dict[str, Critique] = {}
    created = 0
    for params in tqdm(raters, desc=f"simulating {study}", unit="rater", disable=not progress):
        store.add_rater(params.id, kind="simulated", params={**asdict(params), "seed": seed, "model": asdict(cfg)})
        queue = enroll(store, study, params.id)
        missing_items = sorted({a.item_id for a in queue} - set(items))
        if missing_items:
            items.update({it.id: it for it in store.iter_items(ids=missing_items)})
        clock = created_at + dt.timedelta(hours=int(params.id[4:]))
        for a in queue:
            critique = None
            if a.critique_id is not None:
                if a.critique_id not in critiques:
                    critiques[a.critique_id] = store.get_critique(a.critique_id)
                critique = critiques[a.critique_id]
            rng = np.random.default_rng([seed, int(params.id[4:]), a.position, 17])
            likert = study_cfg.verdict_scale == "likert"
            j = judge(
                params,
                items[a.item_id],
                a,
                critique,
                rng,
                config=cfg,
                seed=seed,
                likert=likert,
                started_at=clock,
                levels=study_cfg.confidence_levels,
                audit_budget=study_cfg.audit_budget_hunks,
            )
            clock = j.submitted_at + dt.timedelta(seconds=5)
            created += int(store.submit(j)[1])
    return created
