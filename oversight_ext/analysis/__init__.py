"""Analysis of rater studies: polars frames in, polars frames out; altair charts; reports.

``study_frame(store, study)`` gives one row per current judgment joined with gold, design
and critique facts; every other function reads that frame (or any frame with the columns it
names) and returns a frame. ``report(store, study, out_path)`` writes one offline HTML file.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Loaded on first use (PEP 562): altair and vl-convert take seconds to import, and the CLI
# and the server import this package without needing them.
_WHERE = {
    "agreement": "agreement",
    "pairwise_kappa": "agreement",
    "condition_means": "effects",
    "effect": "effects",
    "mcnemar": "effects",
    "order_effects": "effects",
    "FRAME_COLUMNS": "frames",
    "study_frame": "frames",
    "accuracy": "metrics",
    "calibration": "metrics",
    "calibration_error": "metrics",
    "dispositions": "metrics",
    "outcomes": "metrics",
    "over_reliance": "metrics",
    "sandwich": "metrics",
    "summary": "metrics",
    "MixedConfig": "mixed",
    "fit_mixed": "mixed",
    "AnalysisConfig": "config",
    "Analysis": "reporting",
    "analyze": "reporting",
    "report": "reporting",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = import_module(f".{_WHERE[name]}", __name__)
    # Bind every name the module provides at once.
    for other, where in _WHERE.items():
        if where == _WHERE[name]:
            globals()[other] = getattr(module, other)
    return globals()[name]


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
