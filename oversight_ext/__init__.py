"""oversight_ext: AI-assisted human oversight in JupyterLab.

Review large code diffs with line-anchored AI critiques, record assisted and unassisted
judgments under a randomised design, measure how much the critique helps or misleads, and
train reward models from the combined labels.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from .records import Assignment, Comment, Critique, Disposition, Item, Judgment, LineFlag, RecordError

try:
    # The version is written once, in package.json; the build copies it into the package metadata.
    __version__ = metadata.version("oversight_ext")
except metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"

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
    "review",
]


def __getattr__(name: str) -> Any:
    # ``review("study")`` opens the notebook widget; the package loads when a notebook asks for it.
    if name == "review":
        import importlib

        return importlib.import_module(".review", __name__)
    raise AttributeError(f"module 'oversight_ext' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "oversight_ext.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "oversight-ext"}]
