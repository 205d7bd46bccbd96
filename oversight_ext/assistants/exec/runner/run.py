"""The run: limits, the guard, loading both versions under coverage, then each phase, one JSON line per result."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import signal
import sys
import time

from .canon import CaseTimeout, _alarm, canon, short, timed
from .cases import install, load, platform_prelude, pure_python, run_case
from .differential import differential
from .drive import drive
from .generate import generated_inputs
from .guard import guard, limit
from .runstate import RUN, emit
from .script import run_stdin, trace_divergence


def error_line(exc: BaseException, path: str) -> int | None:
    """The line of the version's own file an error names: a syntax error's, else the innermost
    traceback frame in that file (None when the error arose elsewhere)."""
    if isinstance(exc, SyntaxError) and exc.lineno and os.path.realpath(exc.filename or path) == os.path.realpath(path):
        return int(exc.lineno)
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if os.path.realpath(tb.tb_frame.f_code.co_filename) == os.path.realpath(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def start(payload_path: str) -> None:
    """Read the payload, keep a copy of stdout for results and send fd 1 to /dev/null (stray
    prints of the code under test must not mix with results), note the run's folder."""
    with open(payload_path) as fh:
        RUN.payload = json.load(fh)
    RUN.out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    RUN.root = os.path.realpath(os.getcwd())


def main(payload_path: str) -> None:
    start(payload_path)
    limit()
    import warnings

    # a warning prints on its first run only (the registry remembers it): the second version
    # would print less, which is no behaviour change
    warnings.simplefilter("ignore")
    import coverage

    inputs = generated_inputs()
    signal.signal(signal.SIGALRM, _alarm)
    files = {v: os.path.join(RUN.root, f) for v, f in RUN.payload["versions"].items()}
    cov = coverage.Coverage(data_file=None, include=list(files.values()), branch=False)
    context = None
    if RUN.payload.get("context"):
        root = (RUN.payload.get("harness") or {}).get("root")
        if root and root not in sys.path:
            sys.path.append(root)  # a module of the user's own (found on the reviewer's path), not the standard library
        try:
            context = pure_python(RUN.payload["context"]) if RUN.payload.get("harness") else None
            context = context or importlib.import_module(RUN.payload["context"])
        except BaseException as exc:
            emit(context=RUN.payload["context"], error=f"{type(exc).__name__}: {short(exc)[:200]}")
    prelude = platform_prelude() if RUN.payload.get("prelude") else None
    sys.addaudithook(guard)
    cov.start()
    if RUN.payload.get("stdin"):  # a script: run whole on input texts, compared on what it prints
        codes, ran, differs = run_stdin(cov, files)
        cov.stop()
        trace_divergence(codes, files, ran, differs, RUN.payload["stdin"].get("line_map") or {})
        emit_coverage(cov, files)
        return
    mods = {}
    for ver, path in files.items():
        cov.switch_context(f"{ver}:load")
        try:
            mods[ver] = load(path, f"version_{ver}", context, RUN.payload.get("harness"), prelude, RUN.payload.get("package"))
            emit(version=ver, case="load", ok=True)
        except BaseException as exc:
            emit(version=ver, case="load", ok=False, error=f"{type(exc).__name__}: {short(exc)[:300]}", line=error_line(exc, path))
    harness = RUN.payload.get("harness")
    for ver, mod in mods.items():
        install(context, harness, ver)
        group, shared = None, None
        for case in RUN.payload["cases"]:
            cov.switch_context(f"{ver}:{case['id']}")
            if case.get("group") is not None:
                # a module docstring's examples: in order, in one namespace of the real module
                if case["group"] != group:
                    group, shared = case["group"], dict(vars(context)) if context is not None else dict(vars(mod))
                    if context is not None:  # `textwrap.wrap(...)` in textwrap's own docs
                        top = context.__name__.split(".")[0]
                        shared[top] = sys.modules.get(top, context)
                        shared[context.__name__.rsplit(".", 1)[-1]] = context
                glb = shared
            else:
                glb = dict(vars(mod))
                if RUN.payload.get("entry") in glb:
                    glb["candidate"] = glb[RUN.payload["entry"]]
                if context is not None:  # `module.func(...)` in an example must reach this version's func
                    glb[RUN.payload["context"].rsplit(".", 1)[-1]] = context if harness else mod
            ok, got, err = run_case(glb, case)
            emit(version=ver, case=case["id"], ok=ok, got=got, error=err)
    func = (RUN.payload.get("generate") or {}).get("func") or ""
    deadline = time.monotonic() + RUN.payload["generate_budget_s"]
    for k, (args, kwargs) in enumerate(inputs):
        if time.monotonic() > deadline:
            break
        shown = short(args)[:-1] + "".join(f", {k}={short(v)}" for k, v in kwargs.items()) + "]"

        def once(ver, args=args, kwargs=kwargs, shown=shown):
            install(context, harness, ver)
            fn = getattr(mods[ver], func, None)
            owner = (RUN.payload.get("generate") or {}).get("owner")
            if owner:  # a method of a platform class: called on a fresh instance, as the judge does
                try:
                    fn = getattr(getattr(mods[ver], owner)(), func, None)
                except BaseException:
                    fn = None
            if fn is None:
                return None
            a, kw = copy.deepcopy(args), copy.deepcopy(kwargs)
            try:
                value, key = timed(lambda fn=fn, a=a, kw=kw: (v := fn(*a, **kw), json.dumps(canon(v), default=repr)))
                return {"args": shown, "value": short(value), "key": key}
            except CaseTimeout:
                return {"args": shown, "error": "timeout"}
            except BaseException as exc:
                return {"args": shown, "error": type(exc).__name__}

        differential(cov, f"g{k}", list(mods), once)
    if harness and context is not None and len(RUN.members) == len(mods) == 2:
        drive(cov, context, harness, list(mods))
    cov.stop()
    emit_coverage(cov, files)


def emit_coverage(cov, files):
    """The lines each case ran, per version, then the end-of-run mark."""
    data = cov.get_data()
    for ver, path in files.items():
        by_line = data.contexts_by_lineno(path)
        per_ctx: dict[str, list[int]] = {}
        for line, ctxs in by_line.items():
            for c in ctxs:
                per_ctx.setdefault(c, []).append(line)
        emit(coverage=ver, contexts=per_ctx)
    emit(done=True)
