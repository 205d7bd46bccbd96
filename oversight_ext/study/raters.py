"""The population simulated raters are drawn from, and the raters drawn.

:class:`SimulatedRaterConfig` holds every parameter of the rater models in :mod:`.simulate`
and :mod:`.inspection`; :func:`draw_raters` draws each rater's traits from it, as a function of
the seed and the rater's number only, so adding raters never changes the earlier ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from oversight_ext.options import check_fields, option

__all__ = ["RaterParams", "SimulatedRaterConfig", "draw_raters"]


@dataclass(frozen=True)
class SimulatedRaterConfig:
    """The population simulated raters are drawn from."""

    skill_mean: float = option("mean accuracy without assistance (probability of the right verdict)", 0.7)
    skill_sd: float = option("spread of skill between raters", 0.08)
    item_sd: float = option("spread of item difficulty, logit scale", 0.6)
    trust_mean: float = option("mean probability of following a critique that is right", 0.7)
    trust_sd: float = option("spread of trust between raters", 0.1)
    misled_mean: float = option("mean probability of following a critique that is wrong", 0.35)
    misled_sd: float = option("spread of the misled rate between raters", 0.1)
    speed_median_s: float = option("median seconds per item, across raters", 90.0)
    speed_sd: float = option("spread of raters' median time, log scale", 0.3)
    time_sd: float = option("spread of one rater's times, log scale", 0.4)
    assisted_time_factor: float = option("time with a critique on screen relative to without", 0.85)
    confidence_noise: float = option("noise on the rater's belief before snapping to a confidence level", 0.08)
    overconfidence: float = option("added to every belief (0: calibrated on average)", 0.0)
    read_lines_per_s: float = option("diff lines read per second, for the attention record", 4.0)
    screen_lines: int = option("diff lines on screen at once, for the attention record", 40)
    cannot_judge_rate: float = option(
        "probability of answering 'cannot judge' (too large for the time) instead of a verdict the rater's own reading gets wrong; "
        "0: simulated raters never use it",
        0.0,
    )
    # Limited attention: used only in studies with an audit budget (see .inspection).
    inspect_first: float = option("audit budget: probability of opening the first hunk in the rater's order, with all time left", 0.9)
    rank_decay: float = option("audit budget: each step down the order multiplies the chance of opening a hunk by this", 0.85)
    time_weight: float = option("audit budget: the chance of opening a hunk is multiplied by (share of time left) ** this", 1.0)
    pointer_pull: float = option("audit budget: probability of opening a hunk a critique comment points at, whatever its rank", 0.8)
    prior_buggy: float = option("audit budget: probability of calling an item buggy when the opened hunks showed no flaw", 0.1)
    glance_s: float = option("audit budget: seconds to look at a hunk's place in the order and decide whether to open it", 2.0)
    inspect_s: float = option("audit budget: seconds to open a hunk in depth, before reading its lines at read_lines_per_s", 15.0)

    def __post_init__(self) -> None:
        check_fields(
            self,
            ("skill_mean", "trust_mean", "misled_mean", "inspect_first", "rank_decay", "pointer_pull", "prior_buggy", "cannot_judge_rate"),
            "probability",
        )
        check_fields(self, ("skill_sd", "item_sd", "trust_sd", "misled_sd", "speed_sd", "time_sd", "confidence_noise"), "spread")
        check_fields(self, ("time_weight", "glance_s", "inspect_s"), "nonnegative")
        if self.speed_median_s <= 0 or self.assisted_time_factor <= 0:
            raise ValueError("SimulatedRaterConfig: speed_median_s and assisted_time_factor must be > 0")
        if (
            self.read_lines_per_s <= 0
            or isinstance(self.screen_lines, bool)
            or not isinstance(self.screen_lines, int)
            or self.screen_lines < 1
        ):
            raise ValueError(
                f"SimulatedRaterConfig: read_lines_per_s = {self.read_lines_per_s!r} and screen_lines = {self.screen_lines!r} "
                "are invalid: give a reading speed > 0 and a whole number of lines >= 1"
            )


@dataclass(frozen=True)
class RaterParams:
    """One simulated rater's traits (stored as the rater's ``params``)."""

    id: str
    skill: float
    trust: float
    misled: float
    speed_s: float


def _clip(x: float, lo: float = 0.01, hi: float = 0.99) -> float:
    return float(min(hi, max(lo, x)))


def draw_raters(n: int, seed: int, config: SimulatedRaterConfig | None = None) -> list[RaterParams]:
    """``n`` raters ``sim-001``... drawn from ``config``; rater i's traits depend only on (seed, i)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"draw_raters(n={n!r}): give a whole number of raters >= 1")
    cfg = config or SimulatedRaterConfig()
    out = []
    for i in range(1, n + 1):
        rng = np.random.default_rng([seed, i, 11])
        z = rng.standard_normal(4)
        out.append(
            RaterParams(
                id=f"sim-{i:03d}",
                skill=_clip(cfg.skill_mean + cfg.skill_sd * z[0], 0.5, 0.99),
                trust=_clip(cfg.trust_mean + cfg.trust_sd * z[1], 0.0, 1.0),
                misled=_clip(cfg.misled_mean + cfg.misled_sd * z[2], 0.0, 1.0),
                speed_s=float(cfg.speed_median_s * math.exp(cfg.speed_sd * z[3])),
            )
        )
    return out
