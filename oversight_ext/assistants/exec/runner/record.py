"""Arguments the changed definition receives while drivers run on the old code, replayed as direct calls of both
versions (part of phase 3)."""

from __future__ import annotations

import copy
import functools
import io
import json
import sys
import time
from collections.abc import Callable
from types import CodeType, FrameType, ModuleType
from typing import Any, TypeVar

from .canon import _ADDRESS, CaseTimeout, canon, short, timed
from .cases import install
from .objects import Driver, Input, call, deliberate, describe, state
from .runstate import RUN

#: Most argument tuples recorded from the drivers' calls into the changed definition, and from one driver call.
RECORD_MAX, RECORD_PER_CALL = 60, 3

#: One recorded call of the changed definition: (args, kwargs, the driver call that passed them).
Recorded = tuple[list[Any], dict[str, Any], str]
T = TypeVar("T")


_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08


def record_calls(
    context: ModuleType,
    harness: dict[str, Any],
    drivers: list[Driver],
    inputs: list[list[Input]],
    reach: list[int],
    codes: set[CodeType],
    ver: str,
    until: float,
) -> list[Recorded]:
    """Arguments the changed definition receives while the drivers that reach it run on version
    ``ver`` (the code before the change): [(args, kwargs, the driver call that passed them)],
    deep-copied at the call, distinct. A helper meets structured values this way (objects its
    module builds, parsed records) that inputs guessed from its signature never are."""
    found: list[Recorded] = []
    seen: set[str] = set()
    taken = [0]

    def profiler(frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or frame.f_code not in codes or taken[0] >= RECORD_PER_CALL or len(found) >= RECORD_MAX:
            return
        code, loc = frame.f_code, frame.f_locals
        n = code.co_argcount + code.co_kwonlyargcount
        try:
            args = [loc[v] for v in code.co_varnames[: code.co_argcount]]
            kw = {v: loc[v] for v in code.co_varnames[code.co_argcount : n]}
            if code.co_flags & _CO_VARARGS:
                args += list(loc[code.co_varnames[n]])
                n += 1
            if code.co_flags & _CO_VARKEYWORDS:
                kw.update(loc[code.co_varnames[n]])
            snap = copy.deepcopy((args, kw))
            key = json.dumps([[_held(x) for x in args], {n: _held(x) for n, x in kw.items()}], default=repr)
        except Exception:
            return  # an argument that cannot be copied (a lock, an open stream): not replayable
        if key not in seen:
            seen.add(key)
            taken[0] += 1
            found.append((snap[0], snap[1], origin[0]))

    origin = [""]
    install(context, harness, ver)
    for k in range(max((len(inputs[i]) for i in reach), default=0)):
        for i in reach:
            if len(found) >= RECORD_MAX or time.monotonic() > until:
                return found
            if k >= len(inputs[i]):
                continue
            origin[0], taken[0] = describe(context, drivers[i], inputs[i][k]), 0
            sys.setprofile(profiler)
            try:
                timed(functools.partial(call, context, drivers[i], inputs[i][k]))
            except BaseException:
                pass
            finally:
                sys.setprofile(None)
    return found


def _held(x: Any) -> Any:
    """A comparable form of an argument after a call: a module object by its attributes."""
    if isinstance(x, (type(None), bool, int, float, str, bytes, list, tuple, dict, set, frozenset, type)) or callable(x):
        return canon(x)
    return [type(x).__name__, canon(state(x))]


def printing(fn: Callable[[], T]) -> tuple[T, str]:
    """``fn()`` with ``sys.stdout`` and ``sys.stderr`` caught: (its value, what it printed, object
    addresses left out). Code that reports by printing (a help text, a table) differs there."""
    buf = io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = buf
    try:
        value = fn()
    finally:
        sys.stdout, sys.stderr = saved
    return value, _ADDRESS.sub("", buf.getvalue()[-4000:])


def _plain(x: Any) -> str:
    """How a recorded argument reads: an object without a repr of its own by its attributes."""
    s = short(x)
    if " object at 0x" not in s:
        return s
    held = state(x) or {}
    return short(f"<{type(x).__name__} " + ", ".join(f"{k}={short(v)[:40]}" for k, v in list(held.items())[:8]) + ">")


def direct(context: ModuleType, harness: dict[str, Any], ver: str, rec: Recorded, files: set[str]) -> dict[str, Any]:
    """One call of version ``ver`` of the changed definition itself, on recorded arguments: its
    result and what it did to its arguments (``self`` included)."""
    args, kw, origin = rec
    install(context, harness, ver)
    member = RUN.members[f"version_{ver}"]
    fn = getattr(member, "__func__", None) or getattr(member, "fget", None) or member
    qual = ".".join(x for x in (context.__name__, harness["owner"], harness["name"]) if x)
    shown = f"{qual}({', '.join([_plain(x) for x in args] + [f'{n}={_plain(x)}' for n, x in kw.items()])})"
    shown = (shown if len(shown) <= 150 else shown[:147] + "...") + f", as `{origin[:100]}` calls it"
    a, k = copy.deepcopy((args, kw))
    t0 = time.monotonic()
    try:

        def keyed() -> tuple[Any, str, str]:
            value, printed = printing(lambda: fn(*a, **k))
            held = [[_held(x) for x in a], {n: _held(x) for n, x in k.items()}]
            return value, printed, json.dumps([canon(value), held, printed], default=repr)

        value, printed, key = timed(keyed)
        return {"call": shown, "args": shown, "value": short(value), "key": key, "s": time.monotonic() - t0, "printed": printed[-300:]}
    except CaseTimeout:
        return {"call": shown, "args": shown, "error": "timeout", "s": time.monotonic() - t0}
    except BaseException as exc:
        return {"call": shown, "args": shown, "error": type(exc).__name__, "deliberate": deliberate(exc, files), "s": time.monotonic() - t0}
