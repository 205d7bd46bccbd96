"""Analysis of rater studies: polars frames in, polars frames out; altair charts; reports.

``study_frame(store, study)`` gives one row per current judgment joined with gold, design
and critique facts; every other function reads that frame (or any frame with the columns it
names) and returns a frame. ``report(store, study, out_path)`` writes one offline HTML file.
"""

from __future__ import annotations

from .agreement import agreement, pairwise_kappa
from .effects import condition_means, effect, mcnemar, order_effects
from .frames import FRAME_COLUMNS, study_frame
from .metrics import accuracy, calibration, calibration_error, dispositions, outcomes, over_reliance, sandwich, summary
from .mixed import MixedConfig, fit_mixed
from .report import Analysis, AnalysisConfig, analyze, report

__all__ = [
    "FRAME_COLUMNS",
    "Analysis",
    "AnalysisConfig",
    "MixedConfig",
    "accuracy",
    "agreement",
    "analyze",
    "calibration",
    "calibration_error",
    "condition_means",
    "dispositions",
    "effect",
    "fit_mixed",
    "mcnemar",
    "order_effects",
    "outcomes",
    "over_reliance",
    "pairwise_kappa",
    "report",
    "sandwich",
    "study_frame",
    "summary",
]
