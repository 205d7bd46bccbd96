"""All monitors on one diff, and their combination into one suspicion per hunk.

``combine="max"`` takes each hunk's strongest signal; ``combine="ensemble"`` a logistic model
of the three signals whose weights were fitted on development items (:func:`fit_weights`) and
frozen in ``ensemble.json`` next to this module.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .hunks import HunkView
from .probe import probe_scores
from .security import security_scores
from .tamper import tamper_scores

__all__ = ["MONITORS", "fit_weights", "frozen_weights", "monitor_scores"]

MONITORS: tuple[str, ...] = ("security", "tamper", "probe")
WEIGHTS = Path(__file__).with_name("ensemble.json")


def monitor_scores(
    diff: str,
    hunks: list[HunkView],
    *,
    path: str = "",
    before: str | None = None,
    after: str | None = None,
    repo: dict[str, str] | None = None,
    monitors: tuple[str, ...] = MONITORS,
    combine: str = "max",
    run: bool = True,
    bandit: bool = True,
    sinks: bool = True,
    semgrep: bool = True,
) -> tuple[list[float], dict[str, Any]]:
    """Each hunk's combined score, and ``{"parts": {monitor: scores}, "findings": [...], "witnesses": [...]}``."""
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
    extra["parts"] = parts
    if combine == "max":
        return [max((p[i] for p in parts.values()), default=0.0) for i in range(len(hunks))], extra
    if combine == "ensemble":
        w = frozen_weights()
        return [_logistic(w, [parts.get(m, [0.0] * len(hunks))[i] for m in MONITORS]) for i in range(len(hunks))], extra
    raise ValueError(f"combine={combine!r} is unknown; use 'max' or 'ensemble'")


def _logistic(w: dict[str, Any], x: list[float]) -> float:
    z = w["bias"] + sum(a * b for a, b in zip(w["weights"], x, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def fit_weights(features: list[list[float]], labels: list[int], *, l2: float = 0.01, steps: int = 3000) -> dict[str, Any]:
    """Logistic-regression weights of the three monitor signals (gradient descent, L2, class-balanced)."""
    x = np.asarray(features, dtype=float)
    y = np.asarray(labels, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(MONITORS) or len(set(labels)) < 2:
        raise ValueError(f"features: give rows of {len(MONITORS)} scores ({', '.join(MONITORS)}) and labels of both classes")
    pos = max(y.sum(), 1.0)
    sample = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * max(len(y) - pos, 1.0)))
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = sample * (p - y)
        w -= 0.5 * (x.T @ g / len(y) + l2 * w)
        b -= 0.5 * float(g.mean())
    return {"monitors": list(MONITORS), "weights": [round(float(v), 4) for v in w], "bias": round(b, 4)}


def frozen_weights() -> dict[str, Any]:
    if not WEIGHTS.exists():
        raise FileNotFoundError(f"{WEIGHTS} is missing: fit it with `python bench/monitors.py --fit` on development items")
    data: dict[str, Any] = json.loads(WEIGHTS.read_text())
    return data
