"""The naturalness monitor: hunks whose new lines are less likely under a code LM than what they replace.

Buggy code tends to be unnatural (the ``exec`` backend's arbiter, :mod:`..exec.naturalness`,
rests on the same finding): a hunk's text after the change (its context lines with the added
ones) and before it (with the removed ones) are scored by that arbiter, each changed line given
the hunk's lines before it, and the per-token log-probability after minus before is the drop.
A hunk's score is ``d / (1 + d)`` for a drop of ``d`` nats per token (0 when the new lines are
as likely or more): a drop of one nat per token scores 0.5.

A forward pass of SmolLM2-135M on the CPU costs about as much as the other monitors on a few
hundred hunks, so a 50,000-line diff cannot have every hunk scored in the 60 s the issue allows.
Only hunks a cheap pre-filter selects are scored: those with added lines that are new code (not
a line whose tokens the removed lines hold: a formatter's re-wrap) and that are not only
comments, at most ``limit`` of them per diff, the ones the other monitors score highest first,
then those with the most new lines. The others score 0. Of each, the LM reads a window of
:data:`WINDOW` lines from just before its first new line.

The model loads once per process (the arbiter's cache, shared with the ``exec`` and ``hf``
backends), on the first scored hunk; without the ``lm`` extra :func:`require_lm` names it.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from oversight_ext.weights import SMOLLM2_INSTALL, MissingWeightsError

from .hunks import HunkView

__all__ = ["LIMIT", "naturalness_scores", "require_lm", "selected"]

#: The most hunks of one diff scored by the LM: two forward passes each, several seconds a hunk
#: on 2 cores shared with other jobs (11 s a hunk for 30-line windows at load 7), so a 50,000-line
#: diff cannot have its ~1,000 hunks of new code read in 60 s.
LIMIT = 6
#: Readings of the default arbiter by (before, after): the bench scores the same development
#: items twice (to fit the ensemble, then to measure it), and the LM is the slow part.
_SEEN: dict[tuple[str, str], float | None] = {}
_DEFAULT: list[Any] = []


def require_lm(model: str = "smollm2") -> None:
    """Raise :class:`MissingWeightsError` naming the ``lm`` extra when the LM cannot be loaded."""
    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingWeightsError(f"the naturalness monitor needs {', '.join(missing)} (the `lm` extra), not installed: {SMOLLM2_INSTALL}")
    if model == "smollm2":
        from oversight_ext.weights import smollm2_gguf

        smollm2_gguf()  # names the same command when the weights' package is missing


#: The most lines of one hunk the LM reads (a window from just before its first new line): the
#: cost of a pass grows with its length, and a formatter's hunks run to hundreds of lines.
WINDOW = 12


def _is_new(h: HunkView, text: str) -> bool:
    return bool(text.strip()) and not text.strip().startswith("#") and not h.is_moved(text)


def _new_lines(h: HunkView) -> int:
    return sum(1 for _, t in h.added if _is_new(h, t))


def _window(h: HunkView) -> tuple[int, int]:
    first = next((k for k, (kind, t) in enumerate(h.body) if kind == "add" and _is_new(h, t)), 0)
    start = max(0, first - 3)
    return start, start + WINDOW


def selected(hunks: list[HunkView], others: list[list[float]] | None = None, *, limit: int = LIMIT) -> list[int]:
    """Indices of the hunks the LM scores: new code, the other monitors' strongest first, at most ``limit``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit={limit!r} is invalid: give a whole number of hunks >= 0")
    fresh = {h.index: _new_lines(h) for h in hunks}
    top = [max((o[h.index] for o in others or []), default=0.0) for h in hunks]
    pool = [h.index for h in hunks if fresh[h.index]]
    pool.sort(key=lambda i: (-top[i], -fresh[i], i))
    return sorted(pool[:limit])


def naturalness_scores(
    hunks: list[HunkView],
    others: list[list[float]] | None = None,
    *,
    limit: int = LIMIT,
    arbiter: Any = None,
) -> tuple[list[float], list[tuple[int, float, str]]]:
    """Each hunk's score (0 for hunks not selected) and (hunk, score, why) for those that dropped.

    ``others``: the other monitors' scores per hunk (they order the selection); ``arbiter``: a
    :class:`~oversight_ext.assistants.exec.naturalness.NaturalnessArbiter` (default SmolLM2 on
    the CPU, 32 tokens of context within the hunk)."""
    chosen = selected(hunks, others, limit=limit)
    scores = [0.0] * len(hunks)
    notes: list[tuple[int, float, str]] = []
    if not chosen:
        return scores, notes
    cache = arbiter is None
    if arbiter is None:
        if not _DEFAULT:
            require_lm()
            from ..exec.naturalness import NaturalnessArbiter

            _DEFAULT.append(NaturalnessArbiter("smollm2", device="cpu", context_tokens=32))
        arbiter = _DEFAULT[0]
    for i in chosen:
        before, after, old, new = hunks[i].sides(*_window(hunks[i]))
        if cache and (before, after) in _SEEN:
            delta = _SEEN[(before, after)]
        else:
            # a pure insertion or deletion has nothing on one side: the arbiter's own diff picks
            # the line next to it to stand in
            nat = arbiter.score(before, after, changed=(old, new) if old and new else None)
            delta = None if nat is None else nat.delta
            if cache:
                _SEEN[(before, after)] = delta
        if delta is None:
            continue
        drop = max(0.0, -delta)
        scores[i] = drop / (1.0 + drop)
        if drop > 0:
            notes.append((i, scores[i], f"the new lines are less natural to a code LM ({drop:.2f} nats per token less likely)"))
    return scores, notes
