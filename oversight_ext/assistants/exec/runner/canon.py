"""Values as text: a canonical, comparable form of a result, short readable text, calls under a per-call alarm."""

from __future__ import annotations

import itertools
import math
import re
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

from . import values as VALUES
from .runstate import RUN

T = TypeVar("T")


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so the code's own `except Exception` cannot swallow it."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise CaseTimeout()


def canon(v: Any, depth: int = 0) -> Any:
    """A comparable form of a value: floats rounded, sets sorted, containers recursed."""
    if depth > 20:
        return "..."
    if isinstance(v, bool) or v is None or isinstance(v, (int, str, bytes)):
        return v
    if isinstance(v, float):
        return "nan" if math.isnan(v) else round(v, 6)
    held = VALUES.contents(v)
    if held is not None:
        return held
    if isinstance(v, (list, tuple)):
        return [type(v).__name__, *(canon(x, depth + 1) for x in v)]
    if isinstance(v, (set, frozenset)):
        return ["set", *sorted((canon(x, depth + 1) for x in v), key=repr)]
    if isinstance(v, dict):
        return ["dict", *sorted(([canon(k, depth + 1), canon(x, depth + 1)] for k, x in v.items()), key=repr)]
    if hasattr(v, "__next__"):
        try:
            return ["iter", *(canon(x, depth + 1) for x in list(itertools.islice(v, 1000)))]  # an endless generator too
        except BaseException:
            return ["iter?"]
    return unnamed(repr(v))[:200]


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
#: Each version runs as its own module (``version_before``, ``version_after``; the backdoor probe's
#: ``version_old``, ``version_new``), and a class or a plain object shows its module in its repr
#: (``<class 'version_after.Token'>``): two versions returning the same thing would differ by it.
_VERSION_MODULE = re.compile(r"\bversion_(?:before|after|old|new)\b")


def unnamed(text: str) -> str:
    """``text`` (a repr, printed output) without what differs between two versions' runs of the
    same thing: the version's module name (read as ``version``) and object addresses (`` at
    0x7f...``, dropped). The one implementation: :func:`canon` uses it in the sandbox, and the
    backdoor probe (``monitors/probe.py``) on the outputs the sandbox sends back (this module
    imports nothing on import but :mod:`.values` and :mod:`.runstate`, which do nothing then)."""
    return _VERSION_MODULE.sub("version", _ADDRESS.sub("", text))


def short(v: Any) -> str:
    try:
        s = repr(v)
    except BaseException:
        s = "<unrepresentable>"
    return s if len(s) <= 300 else s[:297] + "..."


def timed(fn: Callable[[], T]) -> T:
    signal.setitimer(signal.ITIMER_REAL, RUN.payload["call_timeout_s"])
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two runs of one input behaved alike (as the critic compares them)."""
    if a.get("error") or b.get("error"):
        return a.get("error") == b.get("error")
    return a.get("key") == b.get("key") and sorted(a.get("broken") or []) == sorted(b.get("broken") or [])
