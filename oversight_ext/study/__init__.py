"""Studies: randomised assisted-vs-unassisted designs, simulated raters, power, preregistration.

``StudyConfig`` defines a study (TOML or Python, one schema); ``create_study`` selects items,
critiques them for assisted conditions and freezes the assignment table in the store;
``enroll`` hands open-enrolment slots to newcomers; ``simulate`` runs simulated raters;
``estimate_power`` / ``search_power`` size a study by simulation; ``export_prereg`` writes the
frozen design as a preregistration document.
"""

from __future__ import annotations

from typing import Any

from .config import ConditionConfig, ItemSelector, StudyConfig, StudyConfigError
from .creation import code_version, create_study, enroll, load_config, study_status
from .design import assign, latin_square
from .selection import select_items, split_qc
from .simulate import RaterParams, SimulatedRaterConfig, draw_raters, judge, simulate

__all__ = [
    "ConditionConfig",
    "ItemSelector",
    "PowerConfig",
    "RaterParams",
    "SimulatedRaterConfig",
    "StudyConfig",
    "StudyConfigError",
    "assign",
    "code_version",
    "create_study",
    "draw_raters",
    "enroll",
    "estimate_power",
    "export_prereg",
    "judge",
    "latin_square",
    "load_config",
    "search_power",
    "select_items",
    "simulate",
    "split_qc",
    "study_status",
]


def __getattr__(name: str) -> Any:
    # Power analysis pulls in scipy's optimiser and sparse matrices: load it on use, so the
    # server (which only enrols raters) starts without it.
    if name in ("PowerConfig", "estimate_power", "search_power"):
        from . import power

        return getattr(power, name)
    if name == "export_prereg":
        from .prereg import export_prereg

        return export_prereg
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
