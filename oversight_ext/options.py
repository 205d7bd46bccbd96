"""Config dataclass fields that carry their help text, so the CLI, notebooks and docs share it.

Every configuration dataclass of the package declares its fields with :func:`option`; the
help text lives in ``field.metadata["help"]`` (and the allowed values, where a field has a
fixed set, in ``metadata["choices"]``), which the CLI turns into ``--help`` and config
loaders quote in their error messages.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["check_fields", "help_texts", "option"]

# What each rule of check_fields accepts, and the fix its error message gives.
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "probability": (lambda v: 0 <= v <= 1, "give a probability between 0 and 1"),
    "spread": (lambda v: 0 <= v < math.inf, "give a spread >= 0"),
    "nonnegative": (lambda v: 0 <= v < math.inf, "give a finite number >= 0"),
    "positive": (lambda v: 0 < v < math.inf, "give a positive number"),
    "count": (lambda v: isinstance(v, int) and v >= 1, "give a whole number >= 1"),
    "whole": (lambda v: isinstance(v, int) and v >= 0, "give a whole number >= 0"),
}


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


def check_fields(obj: Any, names: Iterable[str], rule: str, *, fix: str | None = None) -> None:
    """Refuse the first field of ``obj`` among ``names`` that breaks ``rule`` (a key of ``_RULES``).

    The error names the class, the field, the value and the fix ("SandboxConfig.wall_s = -1 is
    invalid: give a positive number"); ``fix`` replaces the rule's own wording where a unit helps.
    A bool is never a number here (``True`` where a number belongs is a typo), nor is NaN.
    """
    accepts, default_fix = _RULES[rule]
    for name in names:
        v = getattr(obj, name)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v)) and accepts(v)
        if not ok:
            raise ValueError(f"{type(obj).__name__}.{name} = {v!r} is invalid: {fix or default_fix}")
