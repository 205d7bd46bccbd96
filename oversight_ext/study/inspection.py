"""Simulated raters with limited attention, for studies with an audit budget (issue 18 item 4).

In a study that sets ``audit_budget_hunks`` a rater may open at most that many hunks of an item
in depth. The simulated rater goes down the hunks in the order its screen suggests: the diff's
order when nothing ranks them, the monitor's suspicion ranking when the condition shows it
(display "ranked", or "evidence" with a monitor's ``hunk_scores``). At each hunk it spends
``glance_s`` deciding, and opens it with probability

    p = inspect_first * rank_decay ** rank * time_left_share ** time_weight

raised to ``1 - (1 - p) (1 - pointer_pull)`` when a critique comment on screen points at the
hunk; those hunks also come first in the order (a rater reads the comments on screen first). Opening costs ``inspect_s`` plus the hunk's lines at ``read_lines_per_s``. It stops
when the budget is spent, its time (drawn as for every simulated rater, capped by the study's
time limit) runs out, or the list ends.

The flaw is found only when its hunk was opened, then with the rater's probability of being
right (skill against the item's difficulty); otherwise the verdict follows the rater's prior
(``prior_buggy``: mostly "looks fine"). The critique's verdict does not move this rater (unlike
the rater of :mod:`.simulate` without a budget, who may adopt it): assistance acts only through
where the rater looks. The attention record holds exactly the opened hunks (spans, and one
``audit`` event per hunk opened), so a miss outside them reads "never looked" in :mod:`oversight_ext.analysis.attention`.
Every parameter lives in :class:`~oversight_ext.study.simulate.SimulatedRaterConfig`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from oversight_ext.attention import MAX_EVENTS, MAX_SPANS
from oversight_ext.diffs import DiffFile
from oversight_ext.records import Assignment, Critique, Disposition, Item, Judgment, LineFlag

if TYPE_CHECKING:
    from .simulate import RaterParams, SimulatedRaterConfig

__all__ = ["audit_judge", "hunk_order", "pointed_hunks", "simulated_judgment"]

Hunk = tuple[int, int]  # (file index, hunk index in the file)


def _hunks(files: Sequence[DiffFile]) -> list[Hunk]:
    return [(fi, hj) for fi, f in enumerate(files) for hj in range(len(f.hunks))]


def shown_scores(critique: Critique | None, assignment: Assignment, n_hunks: int) -> tuple[float, ...] | None:
    """The monitor's per-hunk scores the rater has on screen, by the review service's rule: only
    under display "evidence" or "ranked", and only when there is one score per hunk."""
    if critique is None or critique.status == "failed" or assignment.display not in ("evidence", "ranked"):
        return None
    if not critique.hunk_scores or len(critique.hunk_scores) != n_hunks:
        return None
    return critique.hunk_scores


def hunk_order(files: Sequence[DiffFile], scores: Sequence[float] | None) -> list[Hunk]:
    """The order the rater goes down the hunks: by suspicion (highest first, ties in diff
    order) when a ranking is on screen, else the diff's order."""
    hunks = _hunks(files)
    if scores is None:
        return hunks
    return [hunks[k] for k in sorted(range(len(hunks)), key=lambda k: (-scores[k], k))]


def _hunk_lines(f: DiffFile, hj: int, side: str) -> list[int]:
    return [n for ln in f.hunks[hj].lines if (n := (ln.new if side == "new" else ln.old)) is not None]


def _in_file(path: str, f: DiffFile, n_files: int) -> bool:
    return not path or n_files == 1 or path in (f.path, f.new_path, f.old_path)


def pointed_hunks(files: Sequence[DiffFile], critique: Critique | None, assignment: Assignment) -> dict[Hunk, list[int]]:
    """Hunks a critique comment on screen points at (display "evidence" only), with the indices
    of the comments on each."""
    out: dict[Hunk, list[int]] = {}
    if critique is None or critique.status == "failed" or assignment.display != "evidence":
        return out
    for ci, c in enumerate(critique.comments):
        for fi, f in enumerate(files):
            if not _in_file(c.path, f, len(files)):
                continue
            for hj in range(len(f.hunks)):
                if any(c.start_line <= n <= c.end_line for n in _hunk_lines(f, hj, c.side)):
                    out.setdefault((fi, hj), []).append(ci)
    return out


def flaw_hunks(item: Item, files: Sequence[DiffFile]) -> set[Hunk]:
    """Hunks of the item's file holding a gold flaw line (new side)."""
    gold = set(item.bug_lines)
    return {
        (fi, hj)
        for fi, f in enumerate(files)
        if _in_file(item.path, f, len(files))
        for hj in range(len(f.hunks))
        if gold & set(_hunk_lines(f, hj, "new"))
    }


def audit_judge(
    params: RaterParams,
    item: Item,
    assignment: Assignment,
    critique: Critique | None,
    rng: np.random.Generator,
    files: Sequence[DiffFile],
    *,
    budget: int,
    time_s: float,
    p_own: float,
    config: SimulatedRaterConfig,
    seed: int,
    likert: bool,
    started_at: dt.datetime,
    levels: Sequence[float],
) -> Judgment:
    """One judgment of a rater who may open at most ``budget`` hunks in ``time_s`` seconds (see
    the module docstring); ``p_own``: its probability of seeing a flaw it looks at."""
    cfg = config
    pointed = pointed_hunks(files, critique, assignment)
    ranked = hunk_order(files, shown_scores(critique, assignment, len(_hunks(files))))
    # The comments on screen are where a rater looks first (as in simulate.reading).
    order = [h for h in ranked if h in pointed] + [h for h in ranked if h not in pointed]
    opened: list[tuple[Hunk, float, float]] = []  # (hunk, start s, end s)
    used = 0.0
    for rank, hunk in enumerate(order):
        if len(opened) >= budget or used >= time_s:
            break
        used += cfg.glance_s
        left = max(0.0, 1.0 - used / time_s)
        p = cfg.inspect_first * cfg.rank_decay**rank * left**cfg.time_weight
        if hunk in pointed:
            p = 1.0 - (1.0 - p) * (1.0 - cfg.pointer_pull)
        if rng.random() < p and used < time_s:
            n_lines = len(files[hunk[0]].hunks[hunk[1]].lines)
            end = min(time_s, used + cfg.inspect_s + n_lines / cfg.read_lines_per_s)
            opened.append((hunk, used, end))
            used = end
    seen = {h for h, _, _ in opened}
    gold = item.label
    flaw = flaw_hunks(item, files) if gold == "buggy" else set()
    found = bool(flaw & seen) and rng.random() < p_own
    path = item.path or (files[0].path if files else "")
    flags: list[LineFlag] = []
    if found:
        verdict, belief = "buggy", p_own
        line = int(item.bug_lines[0]) + int(rng.choice([0, 0, 0, 0, 0, 0, 0, 1, -1, 2]))
        flags.append(LineFlag(path, max(1, line), "bug here"))
    elif rng.random() < cfg.prior_buggy:
        verdict, belief = "buggy", 0.6
        places = [(f, n) for (fi, hj), _, _ in opened for f in (files[fi],) for n in _hunk_lines(f, hj, "new")]
        if places:
            f, n = places[int(rng.integers(len(places)))]
            flags.append(LineFlag(f.path, n, "looks wrong"))
        elif path:
            flags.append(LineFlag(path, 1, "looks wrong"))
    else:
        total = max(1, len(order))
        verdict, belief = "correct", 0.55 + 0.4 * len(seen) / total
    belief += cfg.overconfidence + cfg.confidence_noise * float(rng.standard_normal())
    dispositions: list[Disposition] = []
    if critique is not None:
        for hunk, comment_ids in pointed.items():
            if hunk not in seen:
                continue  # a comment on a hunk never opened gets no decision
            for ci in comment_ids:
                c = critique.comments[ci]
                right = found and any(c.covers(b, 2) for b in item.bug_lines)
                dispositions.append(Disposition(c.id, "keep", "valid") if right else Disposition(c.id, "reject", "wrong"))
    time_on_task = max(1.0, min(time_s, used))
    attention = _record(files, opened, time_on_task, cfg.screen_lines)
    conf = min(levels, key=lambda c: abs(c - belief))
    return simulated_judgment(
        assignment, params.id, verdict, conf, levels, round(time_on_task, 3), flags, dispositions, likert, seed, started_at, attention
    )


def simulated_judgment(
    assignment: Assignment,
    rater: str,
    verdict: str,
    conf: float,
    levels: Sequence[float],
    time_s: float,
    flags: Sequence[LineFlag],
    dispositions: Sequence[Disposition],
    likert: bool,
    seed: int,
    started_at: dt.datetime,
    attention: dict[str, Any] | None,
) -> Judgment:
    """The judgment a simulated rater submits: its id derives from the seed and assignment (so a
    rerun stores nothing new), a Likert answer from the verdict and how sure the rater is."""
    strength = 1 + round(2 * (conf - min(levels)) / (max(levels) - min(levels)))
    digest = hashlib.sha256(f"{seed}:{assignment.id}".encode()).hexdigest()[:32]
    return Judgment(
        submission_id=f"sim-{digest}",
        assignment_id=assignment.id,
        rater=rater,
        verdict=verdict,  # type: ignore[arg-type]
        confidence=conf,
        time_on_task_s=round(time_s, 3),
        flags=tuple(flags),
        dispositions=tuple(dispositions),
        likert=(4 + strength if verdict == "buggy" else 4 - strength) if likert else None,
        simulated=True,
        started_at=started_at,
        submitted_at=started_at + dt.timedelta(seconds=time_s),
        attention=attention,
    )


def _record(files: Sequence[DiffFile], opened: list[tuple[Hunk, float, float]], time_s: float, screen: int) -> dict[str, Any]:
    """Spans of exactly the opened hunks, each inspection's time split over its screens, and an
    ``audit`` event when each is opened, as the panel records them: the server's budget check and
    the attention report then read simulated and real records alike."""
    spans: list[list[int]] = []
    events: list[list[Any]] = []
    limit = math.floor(time_s * 1000)
    for (fi, hj), start, end in opened:
        if len(events) < MAX_EVENTS:
            events.append([min(limit, round(1000 * start)), "audit", fi, hj])
        n = len(files[fi].hunks[hj].lines)
        screens = list(range(0, n, screen))
        step = (end - start) / max(1, len(screens))
        for k, a in enumerate(screens):
            if len(spans) >= MAX_SPANS:
                break
            t0 = min(limit, round(1000 * (start + k * step)))
            t1 = min(limit, max(t0, round(1000 * (start + (k + 1) * step))))
            spans.append([t0, t1, fi, hj, a, min(n, a + screen) - 1])
    return {"spans": spans, "events": events}
