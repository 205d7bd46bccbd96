"""Intervals for proportions and their differences that stay inside [0, 1] (and [-1, 1]).

A Wald interval ``p +/- z se`` leaves [0, 1] on small or lopsided samples (the demo's
accuracy once read [0.636, 1.078]) and collapses to zero width when every judgment agrees.
Here a proportion gets Wilson's score interval (Wilson 1927) on its *effective* sample size
``n_eff = p (1 - p) / var``, where ``var`` is the two-way cluster variance: the design
effect of correlated judgments enters, and the interval keeps Wilson's shape near 0 and 1
(Korn and Graubard 1998 use the same device for survey proportions). A difference of two
proportions gets the MOVER interval (method of variance estimates recovery, Newcombe 1998
for independent arms, Zou and Donner 2008 with a correlation): each arm's Wilson limits
give the distances, and the correlation between the arms' estimates (raters and items
shared across conditions in a within-subject design) comes from the same cluster variances.
"""

from __future__ import annotations

import numpy as np

__all__ = ["effective_n", "mover_difference", "wilson"]


def effective_n(p: np.ndarray, var: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``p (1 - p) / var``; the plain count where that is undefined (no variation, or a zero
    variance estimate), so a constant outcome still gets Wilson's interval on ``n``."""
    p, var, n = (np.asarray(a, dtype=np.float64) for a in (p, var, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = p * (1 - p) / var
    usable = (var > 0) & (p > 0) & (p < 1) & np.isfinite(out)
    return np.where(usable, out, n)


def wilson(p: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's score interval for a proportion ``p`` on ``n`` (effective) observations."""
    p, n = np.asarray(p, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def mover_difference(
    p1: np.ndarray,
    lo1: np.ndarray,
    hi1: np.ndarray,
    p0: np.ndarray,
    lo0: np.ndarray,
    hi0: np.ndarray,
    corr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for ``p1 - p0`` from each proportion's interval and the correlation of the
    two estimates (0 for independent arms: Newcombe's hybrid score interval)."""
    r = np.clip(np.nan_to_num(np.asarray(corr, dtype=np.float64)), -1.0, 1.0)
    d = p1 - p0
    a, b = p1 - lo1, hi0 - p0  # distances on the lower side
    c, e = hi1 - p1, p0 - lo0  # and on the upper side
    low = d - np.sqrt(np.maximum(a * a + b * b - 2 * r * a * b, 0.0))
    high = d + np.sqrt(np.maximum(c * c + e * e - 2 * r * c * e, 0.0))
    return np.clip(low, -1.0, 1.0), np.clip(high, -1.0, 1.0)
