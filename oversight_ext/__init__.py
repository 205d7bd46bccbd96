"""oversight_ext: AI-assisted human oversight in JupyterLab.

Review large code diffs with line-anchored AI critiques, record assisted and unassisted
judgments under a randomised design, measure how much the critique helps or misleads, and
train reward models from the combined labels.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .records import Assignment, Comment, Critique, Disposition, Item, Judgment, LineFlag, RecordError

__all__ = [
    "Assignment",
    "Comment",
    "Critique",
    "Disposition",
    "Item",
    "Judgment",
    "LineFlag",
    "RecordError",
    "__version__",
]
