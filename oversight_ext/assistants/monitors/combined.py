"""All monitors on one diff, and their combination into one suspicion per hunk.

``combine="max"`` takes each hunk's strongest signal; ``combine="ensemble"`` a logistic model
of the signals whose weights were fitted on development items (:func:`fit_weights`) and frozen
in ``ensemble.json`` next to this module (it names the monitors it was fitted on, and those run).
The weights are fitted class-balanced (a few flawed hunks among thousands), so their raw output
ranks but is no probability; :func:`fit_calibrated` adds Platt scaling fitted on cross-fitted
scores (each item scored by weights fitted without its pair), so the frozen ensemble's score
reads as the chance that a hunk holds the flaw and can flag at 0.5.

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

__all__ = [
    "DEFAULT",
    "MONITORS",
    "cross_fit",
    "ensemble_score",
    "fit_calibrated",
    "fit_platt",
    "fit_weights",
    "frozen_weights",
    "monitor_scores",
    "reliability",
]

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
    cal = w.get("calibration")
    if cal:
        z = cal["a"] * z + cal["b"]
    return 0.5 * (1.0 + math.tanh(0.5 * z))  # the logistic function, without overflow


def fit_platt(z: list[float], labels: list[int], *, steps: int = 50) -> tuple[float, float]:
    """Platt scaling: ``a``, ``b`` of P(flawed) = sigmoid(a z + b), by Newton's method on the log
    loss with Platt's smoothed targets (unweighted: the base rate of flawed hunks is kept)."""
    x = np.asarray(z, dtype=float)
    y = np.asarray(labels, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(set(labels)) < 2:
        raise ValueError("z and labels: give one score and one label (0 or 1) per hunk, with labels of both classes")
    pos, neg = y.sum(), len(y) - y.sum()
    t = np.where(y == 1, (pos + 1) / (pos + 2), 1 / (neg + 2))

    def loss(a: float, b: float) -> float:  # the log loss on the smoothed targets, without overflow
        v = a * x + b
        return float((t * np.logaddexp(0.0, -v) + (1 - t) * np.logaddexp(0.0, v)).sum())

    a, b = 1.0, float(np.log((pos + 1) / (neg + 1)))
    now = loss(a, b)
    for _ in range(steps):
        p = 0.5 * (1.0 + np.tanh(0.5 * (a * x + b)))
        g = np.array([((p - t) * x).sum(), (p - t).sum()])
        r = p * (1 - p) + 1e-12
        h = np.array([[(r * x * x).sum(), (r * x).sum()], [(r * x).sum(), r.sum()]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        scale = 1.0
        while scale > 1e-6 and loss(a - scale * float(step[0]), b - scale * float(step[1])) > now:
            scale /= 2  # Newton's step halved until the loss falls (a convex loss: it does)
        a, b = a - scale * float(step[0]), b - scale * float(step[1])
        new = loss(a, b)
        if now - new < 1e-10:
            break
        now = new
    return a, b


def _folds(keys: list[str], folds: int) -> list[int]:
    """A fold per row: the distinct ``keys`` (an item pair) dealt round-robin in a seeded shuffle."""
    distinct = sorted(set(keys))
    order = np.random.default_rng(0).permutation(len(distinct))
    fold = {distinct[j]: k % folds for k, j in enumerate(order)}
    return [fold[k] for k in keys]


def cross_fit(
    features: list[list[float]], labels: list[int], keys: list[str], *, monitors: tuple[str, ...] = MONITORS, folds: int = 5
) -> list[float]:
    """Each row's raw ensemble score (the logit) from weights fitted on the other folds: rows of
    the same key (the hunks of an item and of its clean control) share a fold."""
    if not len(features) == len(labels) == len(keys):
        raise ValueError("features, labels and keys: give one of each per hunk")
    fold = _folds(keys, folds)
    x = np.asarray(features, dtype=float)
    z = np.zeros(len(labels))
    for k in range(folds):
        train = [i for i, f in enumerate(fold) if f != k]
        test = [i for i, f in enumerate(fold) if f == k]
        if not test:
            continue
        w = fit_weights([features[i] for i in train], [labels[i] for i in train], monitors=monitors)
        z[test] = x[test] @ np.asarray(w["weights"]) + w["bias"]
    return [float(v) for v in z]


def fit_calibrated(
    features: list[list[float]], labels: list[int], keys: list[str], *, monitors: tuple[str, ...] = MONITORS, folds: int = 5
) -> dict[str, Any]:
    """:func:`fit_weights` on every row, with Platt scaling fitted on :func:`cross_fit`'s scores
    (so the calibration is not fitted on scores of weights that saw the same items)."""
    a, b = fit_platt(cross_fit(features, labels, keys, monitors=monitors, folds=folds), labels)
    w = fit_weights(features, labels, monitors=monitors)
    w["calibration"] = {"method": "platt", "a": round(a, 4), "b": round(b, 4), "cross_fit_folds": folds}
    return w


def reliability(probs: list[float], labels: list[int], *, bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    """Expected calibration error (equal-width bins, weighted by count) and each non-empty bin's
    range, count, mean score and share of flawed hunks."""
    p = np.asarray(probs, dtype=float)
    y = np.asarray(labels, dtype=float)
    if p.shape != y.shape or not len(p):
        raise ValueError("probs and labels: give one score in [0, 1] and one label per hunk")
    edges = np.linspace(0.0, 1.0, bins + 1)
    at = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    out, ece = [], 0.0
    for k in range(bins):
        m = at == k
        if not m.any():
            continue
        mean, rate = float(p[m].mean()), float(y[m].mean())
        ece += m.sum() / len(p) * abs(mean - rate)
        out.append(
            {
                "lo": round(float(edges[k]), 2),
                "hi": round(float(edges[k + 1]), 2),
                "n": int(m.sum()),
                "mean": round(mean, 4),
                "rate": round(rate, 4),
            }
        )
    return float(ece), out


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
