"""Config dataclass fields that carry their help text, so the CLI, notebooks and docs share it."""

from __future__ import annotations

from dataclasses import field
from typing import Any

__all__ = ["option"]


def option(help_text: str, default: Any) -> Any:
    """A dataclass field with ``default`` and ``metadata={"help": help_text}``."""
    return field(default=default, metadata={"help": help_text})
