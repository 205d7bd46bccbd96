"""Config dataclass fields that carry their help text, so the CLI, notebooks and docs share it.

Every configuration dataclass of the package declares its fields with :func:`option`; the
help text lives in ``field.metadata["help"]`` (and the allowed values, where a field has a
fixed set, in ``metadata["choices"]``), which the CLI turns into ``--help`` and config
loaders quote in their error messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["help_texts", "option"]


def option(
    help_text: str,
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    choices: Sequence[Any] | None = None,
) -> Any:
    """A dataclass field with its help text; without ``default`` or ``default_factory`` it is required."""
    if not isinstance(help_text, str) or not help_text.strip():
        raise ValueError(f"option help_text = {help_text!r} is invalid: say in words what the field sets")
    metadata: dict[str, Any] = {"help": help_text}
    if choices is not None:
        metadata["choices"] = tuple(choices)
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def help_texts(cls: type) -> dict[str, str]:
    """Each field of the config dataclass ``cls`` with its help text."""
    if not dataclasses.is_dataclass(cls):
        raise ValueError(f"help_texts cls = {cls!r} is invalid: give a config dataclass")
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}
