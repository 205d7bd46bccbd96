"""Values rebuilt in the module under test (instances from recorded constructors), calls into it, and what a call shows."""

from __future__ import annotations

import copy
import sys
from types import ModuleType
from typing import Any

from .canon import short

#: One planned driver (a function or a method and how to build its instance), from the payload.
Driver = dict[str, Any]
#: One input of a driver: constructor arguments, constructor keywords, call arguments, call keywords.
Input = tuple[list[Any], dict[str, Any], list[Any], dict[str, Any]]


class _New:
    """An instance of a module class, built at call time under the version being run."""

    def __init__(self, cls: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        self.cls, self.args, self.kwargs = cls, args, kwargs

    def __repr__(self) -> str:
        return f"{self.cls}({_shown(self.args, self.kwargs)})"


def _shown(args: list[Any], kwargs: dict[str, Any]) -> str:
    return ", ".join([short(a) for a in args] + [f"{k}={short(v)}" for k, v in kwargs.items()])


def real(v: Any, context: ModuleType) -> Any:
    if isinstance(v, _New):
        return getattr(context, v.cls)(*real(v.args, context), **real(v.kwargs, context))
    if isinstance(v, list):
        return [real(x, context) for x in v]
    if isinstance(v, tuple):
        return tuple(real(x, context) for x in v)
    if isinstance(v, dict):
        return {k: real(x, context) for k, x in v.items()}
    return v


def state(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    if hasattr(obj, "__dict__"):
        return dict(vars(obj))
    slots = [s for c in type(obj).__mro__ for s in getattr(c, "__slots__", ()) if isinstance(s, str)]
    return {s: getattr(obj, s, None) for s in slots}


def call(context: ModuleType, d: Driver, inp: Input) -> tuple[Any, Any, list[str]]:
    """(value, instance, broken properties) of one driver call."""
    ctor_args, ctor_kw, args, kw = copy.deepcopy(inp)
    if d.get("cls"):
        given = dict(zip((d.get("ctor") or {}).get("names", []), ctor_args)) | ctor_kw
        inst = getattr(context, d["cls"])(*real(ctor_args, context), **real(ctor_kw, context))
        broken = stored_arguments(inst, given)
        if not d["name"]:
            return None, inst, broken
        member = getattr(inst, d["name"])
        if d.get("property"):
            return member, inst, broken
        return member(*real(args, context), **real(kw, context)), inst, broken
    home = sys.modules.get(d.get("module") or "", context)  # a package's function (json.loads for json.decoder)
    return getattr(home, d["name"])(*real(args, context), **real(kw, context)), None, []


def stored_arguments(inst: Any, given: dict[str, Any]) -> list[str]:
    """Constructor arguments kept under their own name (``self.width = width``) must keep their value."""
    held = getattr(inst, "__dict__", None)
    if not isinstance(held, dict):
        return []
    broken = []
    for name, value in given.items():
        if name not in held or isinstance(value, _New):
            continue
        try:
            same = bool(held[name] == value) and type(held[name]) is type(value)
        except Exception:
            continue
        if not same:
            broken.append(f"self.{name} == {short(value)[:40]}")
    return broken


def describe(context: ModuleType, d: Driver, inp: Input) -> str:
    ctor_args, ctor_kw, args, kw = inp
    mod = context.__name__
    if d.get("cls"):
        head = f"{mod}.{d['cls']}({_shown(ctor_args, ctor_kw)})"
        if not d["name"]:
            return head
        return f"{head}.{d['name']}" + ("" if d.get("property") else f"({_shown(args, kw)})")
    return f"{d.get('module') or mod}.{d['name']}({_shown(args, kw)})"


def deliberate(exc: BaseException, files: set[str]) -> bool:
    """Whether the changed definition itself raised ``exc`` with a ``raise`` statement."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None or last.tb_frame.f_code.co_filename not in files:
        return False
    try:
        with open(last.tb_frame.f_code.co_filename) as fh:
            line = fh.read().split("\n")[last.tb_lineno - 1]
    except (OSError, IndexError):
        return False
    return line.strip().startswith("raise")
