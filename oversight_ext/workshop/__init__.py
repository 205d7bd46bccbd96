"""Workshops and many raters: the instructor dashboard, the reveal switch, simulated classmates.

``dashboard(store, study)`` returns the altair charts the JupyterLab dashboard panel shows;
``set_reveal`` lets each participant see their own results against gold after the class has
rated (``my_results``); ``mix_in_simulated`` fills a small class with clearly marked
simulated raters. A hub-less workshop server gives each participant their own token and
rater identity with :class:`oversight_ext.server.identity.ClassTokenIdentityProvider`.
"""

from __future__ import annotations

from .classroom import SIMULATED_KEY, mix_in_simulated, simulated_count
from .dashboard import (
    accuracy_chart,
    condition_accuracy,
    dashboard,
    dashboard_data,
    misleading_critiques,
    misled_chart,
    missed_chart,
    most_missed,
    participants,
    participants_chart,
    sandwich,
    sandwich_chart,
)
from .reveal import REVEAL_KEY, OwnerRequired, is_owner, is_revealed, my_results, require_owner, set_reveal

__all__ = [
    "REVEAL_KEY",
    "SIMULATED_KEY",
    "OwnerRequired",
    "accuracy_chart",
    "condition_accuracy",
    "dashboard",
    "dashboard_data",
    "is_owner",
    "is_revealed",
    "misleading_critiques",
    "misled_chart",
    "missed_chart",
    "mix_in_simulated",
    "most_missed",
    "my_results",
    "participants",
    "participants_chart",
    "require_owner",
    "sandwich",
    "sandwich_chart",
    "set_reveal",
    "simulated_count",
]
