"""Driving a module through its own API: its public functions and methods called on both versions (phase 3)."""

from __future__ import annotations

import functools
import json
import os
import random
import sys
import time
from types import CodeType, FrameType, ModuleType
from typing import TYPE_CHECKING, Any

from . import values as VALUES
from .canon import CaseTimeout, canon, short, timed
from .cases import install
from .differential import differential
from .generate import CTORS, draw
from .laws import laws_phase
from .objects import Driver, Input, call, deliberate, describe, state
from .record import direct, printing, record_calls
from .runstate import RUN, emit

if TYPE_CHECKING:
    from coverage import Coverage


def _direct_on(context: ModuleType, harness: dict[str, Any], rec: Any, files: set[str], ver: str) -> dict[str, Any]:
    return direct(context, harness, ver, rec, files)


def drive(cov: Coverage, context: ModuleType, harness: dict[str, Any], versions: list[str]) -> None:
    """Run the module's drivers that reach the changed definition on both versions, same inputs."""
    drivers: list[Driver] = harness["drivers"]
    for d in drivers:
        if d.get("cls") and d.get("ctor") is not None:
            CTORS.setdefault(d["cls"], d["ctor"])
    files = {os.path.join(RUN.root, f) for f in RUN.payload["versions"].values()}
    deadline = time.monotonic() + RUN.payload.get("harness_budget_s", 8.0)
    per_driver = RUN.payload.get("harness_inputs", 40)
    inputs: list[list[Input]] = []
    for i, d in enumerate(drivers):
        rnd = random.Random(f"{RUN.payload.get('seed', 0)}:{i}:{d['name']}")
        ctor = d.get("ctor") or {"args": [], "opt": {}}
        found: list[Input] = [([], {}, a, kw) for a, kw in d.get("seeds", [])] if not d.get("cls") else []
        seen = {repr(x) for x in found}
        for _ in range(per_driver * 3):
            if len(found) >= per_driver:
                break
            ca, ck = draw(ctor, rnd)
            a, kw = draw(d, rnd)
            x = (ca, ck, a, kw)
            if repr(x) not in seen:
                seen.add(repr(x))
                found.append(x)
        inputs.append(found)
    # which drivers reach the changed definition (probed on the code before the change)
    codes: set[CodeType] = set()
    for m in RUN.members.values():
        for f in (getattr(m, "__func__", None), getattr(m, "fget", None), m, getattr(m, "__wrapped__", None)):
            code = getattr(f, "__code__", None)
            if code is not None:
                codes.add(code)
    hit = [False]

    def profiler(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code in codes:
            hit[0] = True

    install(context, harness, versions[0])
    reach: list[int] = []
    probe_until = time.monotonic() + RUN.payload.get("harness_budget_s", 8.0) / 3
    for i, d in enumerate(drivers):
        for j, inp in enumerate(inputs[i][: VALUES.PROBES]):
            if time.monotonic() > (deadline if j < 4 else probe_until):
                break
            hit[0] = False
            sys.setprofile(profiler)
            try:
                timed(functools.partial(call, context, d, inp))
            except BaseException:
                pass
            finally:
                sys.setprofile(None)
            if hit[0]:
                reach.append(i)
                inputs[i].insert(0, inputs[i].pop(j))  # an input known to reach runs first
                break
    emit(harness="reach", drivers=[describe(context, drivers[i], ([], {}, [], {})) for i in reach])
    recorded: list[Any] = []
    if RUN.payload.get("harness_record", True):
        own = [i for i in reach if drivers[i]["name"] == harness["name"] and drivers[i].get("cls") == harness["owner"]]
        cov.switch_context(f"{versions[0]}:record")
        until = min(deadline, time.monotonic() + RUN.payload.get("harness_budget_s", 8.0) / 5)
        recorded = record_calls(context, harness, drivers, inputs, [i for i in reach if i not in own], codes, versions[0], until)
        emit(harness="recorded", n=len(recorded))
    if harness["owner"]:
        laws_phase(cov, context, harness, versions, time.monotonic() + RUN.payload.get("harness_budget_s", 8.0) / 4)
    slow: dict[int, int] = {}
    for k in range(per_driver):
        if k < len(recorded) and slow.get(-1, 0) < 2 and time.monotonic() <= deadline:
            recs = differential(cov, f"gr{k}", versions, functools.partial(_direct_on, context, harness, recorded[k], files))
            slow[-1] = slow.get(-1, 0) + sum(r.get("error") == "timeout" for r in recs.values())
        for i in reach:
            if k >= len(inputs[i]) or slow.get(i, 0) >= 2 or time.monotonic() > deadline:
                continue
            d, inp = drivers[i], inputs[i][k]
            shown = describe(context, d, inp)

            def once(ver: str, d: Driver = d, inp: Input = inp, shown: str = shown) -> dict[str, Any]:
                install(context, harness, ver)
                t0 = time.monotonic()
                try:

                    def keyed() -> tuple[Any, list[str], str, str]:
                        (value, inst, broken), printed = printing(lambda: call(context, d, inp))
                        return value, broken, printed, json.dumps([canon(value), canon(state(inst)), printed], default=repr)

                    value, broken, printed, key = timed(keyed)
                    return {"call": shown, "args": shown, "value": short(value), "key": key, "s": time.monotonic() - t0, "broken": broken,
                            "printed": printed[-300:]}  # fmt: skip
                except CaseTimeout:
                    return {"call": shown, "args": shown, "error": "timeout", "s": time.monotonic() - t0}
                except BaseException as exc:
                    return {"call": shown, "args": shown, "error": type(exc).__name__, "deliberate": deliberate(exc, files),
                            "s": time.monotonic() - t0}  # fmt: skip

            recs = differential(cov, f"gh{i}_{k}", versions, once)
            slow[i] = slow.get(i, 0) + sum(r.get("error") == "timeout" for r in recs.values())
