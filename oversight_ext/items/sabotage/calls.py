"""Calling functions of several versions of one module in a separate process, and comparing results.

:func:`call_versions` writes each version as a file, loads it as a module in a ``python -I``
process (:func:`~.common.run_python`), evaluates call expressions such as ``wrap('hello', 3)``
in each, and returns every result as text: ``repr`` of the value, or ``!ExceptionName``. A
result whose ``repr`` changes between two calls (an address, the clock) is marked ``?``, so it
never counts as a difference. It also counts each version's failing doctest examples of named
functions, so a change can be shown to keep a module's own examples passing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .common import run_python

__all__ = ["call_versions"]

_RUNNER = r"""
import doctest, importlib.util, io, json, signal, sys, warnings
warnings.simplefilter("ignore")
job = json.load(open("job.json"))

class Late(BaseException):
    pass

def alarm(signum, frame):
    raise Late()

signal.signal(signal.SIGALRM, alarm)

def timed(fn, limit):
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)

def shown(fn):
    try:
        return repr(timed(fn, job["call_s"]))[:2000]
    except Late:
        return "!timeout"
    except BaseException as exc:
        return "!" + type(exc).__name__

out = {"calls": {}, "doctests": {}, "load": {}}
for ver, path in job["versions"].items():
    spec = importlib.util.spec_from_file_location(f"version_{ver}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    stdout = sys.stdout
    sys.stdout = io.StringIO()
    try:
        timed(lambda: spec.loader.exec_module(mod), 10)
        out["load"][ver] = "ok"
    except BaseException as exc:
        out["load"][ver] = type(exc).__name__
        sys.stdout = stdout
        continue
    results = []
    for call in job["calls"]:
        ns = dict(vars(mod))
        first = shown(lambda: eval(call, ns))
        again = shown(lambda: eval(call, dict(vars(mod))))
        results.append(first if first == again else "?")
    out["calls"][ver] = results
    fails = {}
    for name in job["doctests"]:
        runner = doctest.DocTestRunner(verbose=False, optionflags=doctest.ELLIPSIS)
        func = getattr(mod, name, None)
        for test in doctest.DocTestFinder(recurse=False).find(func, name, globs=dict(vars(mod))) if func else []:
            try:
                timed(lambda: runner.run(test, out=lambda s: None), 10)
            except Late:
                pass
        fails[name] = [runner.failures, runner.tries]
    out["doctests"][ver] = fails
    sys.stdout = stdout
print(json.dumps(out))
"""


def call_versions(
    versions: dict[str, str],
    calls: list[str],
    *,
    doctests: Sequence[str] = (),
    call_s: float = 0.5,
    wall_s: float = 60.0,
) -> dict[str, Any]:
    """Results of ``calls`` (expressions) in each version (name -> module text).

    Returns ``{"calls": {ver: [text, ...]}, "doctests": {ver: {func: [failed, tried]}}, "load": {ver: "ok"|error}}``;
    an empty dict when the process died (memory, wall clock).
    """
    files = {f"v_{k}.py": text for k, text in versions.items()}
    job = {"versions": {k: f"v_{k}.py" for k in versions}, "calls": calls, "doctests": list(doctests), "call_s": call_s}
    files["job.json"] = json.dumps(job)
    files["runner.py"] = _RUNNER
    res = run_python(files, ["runner.py"], wall_s=wall_s)
    if res.timed_out or res.returncode != 0:
        return {}
    try:
        parsed: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {}
    return parsed
