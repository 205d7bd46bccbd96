"""All monitors on one diff, and their combination into one suspicion per hunk.

``combine="max"`` takes each hunk's strongest signal; ``combine="ensemble"`` a logistic model
of the signals whose weights were fitted on development items (:func:`fit_weights`) and frozen
in ``ensemble.json`` next to this module (it names the monitors it was fitted on, and those run).

The default monitors are the three that need no model (:data:`DEFAULT`); ``naturalness`` (a code
LM's reading of each selected hunk, :mod:`.naturalness`) needs the ``lm`` extra and runs last,
since the others' scores choose which hunks it reads.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .hunks import HunkView
from .naturalness import naturalness_scores
from .probe import probe_scores
from .security import security_scores
from .tamper import tamper_scores

__all__ = ["DEFAULT", "MONITORS", "ensemble_score", "fit_weights", "frozen_weights", "monitor_scores"]

#: Every monitor, in the order of the ensemble's features.
MONITORS: tuple[str, ...] = ("security", "tamper", "probe", "naturalness")
#: The monitors that run unless others are asked for (no model to load).
DEFAULT: tuple[str, ...] = ("security", "tamper", "probe")
WEIGHTS = Path(__file__).with_name("ensemble.json")


def monitor_scores(
    diff: str,
    hunks: list[HunkView],
    *,
    path: str = "",
    before: str | None = None,
    after: str | None = None,
    repo: dict[str, str] | None = None,
    monitors: tuple[str, ...] | None = None,
    combine: str = "max",
    run: bool = True,
    bandit: bool = True,
    sinks: bool = True,
    semgrep: bool = True,
) -> tuple[list[float], dict[str, Any]]:
    """Each hunk's combined score, and ``{"parts": {monitor: scores}, "findings": [...], "witnesses": [...]}``.

    ``monitors``: which run (default :data:`DEFAULT`, or with ``combine="ensemble"`` the ones the
    frozen weights were fitted on)."""
    if combine not in ("max", "ensemble"):
        raise ValueError(f"combine={combine!r} is unknown; use 'max' or 'ensemble'")
    w = frozen_weights() if combine == "ensemble" else None
    if monitors is None:
        monitors = tuple(w["monitors"]) if w is not None else DEFAULT
    if w is not None and set(w["monitors"]) - set(monitors):
        raise ValueError(f"monitors={list(monitors)!r}: the ensemble was fitted on {w['monitors']}; run all of them or combine='max'")
    bad = [m for m in monitors if m not in MONITORS]
    if bad:
        raise ValueError(f"monitors={list(monitors)!r}: {bad[0]!r} is unknown; use some of {list(MONITORS)}")
    parts: dict[str, list[float]] = {}
    extra: dict[str, Any] = {"findings": [], "witnesses": [], "notes": []}
    if "security" in monitors:
        parts["security"], extra["findings"] = security_scores(hunks, bandit=bandit, sinks=sinks, semgrep=semgrep)
    if "tamper" in monitors:
        parts["tamper"], extra["notes"] = tamper_scores(hunks, diff, repo if run else None)
    if "probe" in monitors:
        parts["probe"], extra["witnesses"] = probe_scores(hunks, path, before, after, run=run)
    if "naturalness" in monitors:
        parts["naturalness"], natural = naturalness_scores(hunks, list(parts.values()))
        extra["notes"] = [*extra["notes"], *natural]
    extra["parts"] = parts
    if w is not None:
        return [_logistic(w, [parts[m][i] for m in w["monitors"]]) for i in range(len(hunks))], extra
    return [max((p[i] for p in parts.values()), default=0.0) for i in range(len(hunks))], extra


def ensemble_score(weights: dict[str, Any], features: list[float]) -> float:
    """The logistic ensemble's score of one hunk: ``features`` in the order of ``weights["monitors"]``."""
    return _logistic(weights, features)


def _logistic(w: dict[str, Any], x: list[float]) -> float:
    z = w["bias"] + sum(a * b for a, b in zip(w["weights"], x, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def fit_weights(
    features: list[list[float]],
    labels: list[int],
    *,
    monitors: tuple[str, ...] = MONITORS,
    l2: float = 0.01,
    steps: int = 3000,
) -> dict[str, Any]:
    """Logistic-regression weights of the ``monitors``' signals (gradient descent, L2, class-balanced)."""
    x = np.asarray(features, dtype=float)
    y = np.asarray(labels, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(monitors) or len(set(labels)) < 2:
        raise ValueError(f"features: give rows of {len(monitors)} scores ({', '.join(monitors)}) and labels of both classes")
    pos = max(y.sum(), 1.0)
    sample = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * max(len(y) - pos, 1.0)))
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = sample * (p - y)
        w -= 0.5 * (x.T @ g / len(y) + l2 * w)
        b -= 0.5 * float(g.mean())
    return {"monitors": list(monitors), "weights": [round(float(v), 4) for v in w], "bias": round(b, 4)}


def frozen_weights() -> dict[str, Any]:
    if not WEIGHTS.exists():
        raise FileNotFoundError(f"{WEIGHTS} is missing: fit it with `python bench/monitors.py --fit` on development items")
    data: dict[str, Any] = json.loads(WEIGHTS.read_text())
    return data
