"""Runs inside the sandbox process (``python -I _runner.py PAYLOAD``); never imported by the package.

It sets its own resource limits, installs an audit hook that refuses sockets, subprocesses,
native code loading and any write outside the working (temporary) directory, loads each
version of the code under line coverage, runs every case with a per-call alarm, and writes
one JSON line per result to the original stdout (so whatever survives a kill is kept).
"""

import copy
import doctest
import importlib.util
import io
import json
import math
import os
import resource
import signal
import sys
import time
import types

with open(sys.argv[1]) as _fh:
    PAYLOAD = json.load(_fh)
OUT = os.fdopen(os.dup(1), "w")
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints of the code under test must not mix with results
ROOT = os.path.realpath(os.getcwd())


def emit(**rec):
    OUT.write(json.dumps(rec, default=repr) + "\n")
    OUT.flush()


def limit():
    mb = PAYLOAD["memory_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mb, mb))
    cpu = int(PAYLOAD["cpu_s"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    fsize = PAYLOAD["file_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))


_BLOCKED: tuple[str, ...] = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty")
_BLOCKED += ("ctypes.", "os.kill", "os.killpg", "pty.", "sys.addaudithook", "webbrowser.", "urllib.Request")
_PATH_EVENTS = {
    "os.remove": 0, "os.rename": 0, "os.mkdir": 0, "os.rmdir": 0, "os.chmod": 0, "os.chown": 0, "os.link": 0,
    "os.symlink": 0, "os.truncate": 0, "os.utime": 0, "os.replace": 0, "shutil.rmtree": 0, "shutil.copyfile": 1,
    "shutil.move": 1, "os.chdir": 0, "os.removexattr": 0, "os.setxattr": 0,
}  # fmt: skip
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _inside(path):
    if isinstance(path, int):
        return True  # an already-open descriptor: its opening was checked
    try:
        p = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return p == ROOT or p.startswith(ROOT + os.sep) or p == os.devnull


def guard(event, args):
    if event.startswith(_BLOCKED):
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "open":
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(flags & _WRITE_FLAGS)
        if writing and path is not None and not _inside(path):
            raise PermissionError(f"sandbox: writing {path!r} outside the working directory is not allowed")
    elif event in _PATH_EVENTS:
        for a in args[:2]:
            if isinstance(a, (str, bytes, os.PathLike)) and not _inside(a):
                raise PermissionError(f"sandbox: {event} on {a!r} outside the working directory is not allowed")


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so the code's own `except Exception` cannot swallow it."""


def _alarm(signum, frame):
    raise CaseTimeout()


def canon(v, depth=0):
    """A comparable form of a value: floats rounded, sets sorted, containers recursed."""
    if depth > 20:
        return "..."
    if isinstance(v, bool) or v is None or isinstance(v, (int, str, bytes)):
        return v
    if isinstance(v, float):
        return "nan" if math.isnan(v) else round(v, 6)
    if isinstance(v, (list, tuple)):
        return [type(v).__name__, *(canon(x, depth + 1) for x in v)]
    if isinstance(v, (set, frozenset)):
        return ["set", *sorted((canon(x, depth + 1) for x in v), key=repr)]
    if isinstance(v, dict):
        return ["dict", *sorted(([canon(k, depth + 1), canon(x, depth + 1)] for k, x in v.items()), key=repr)]
    if hasattr(v, "__next__"):
        try:
            return ["iter", *(canon(x, depth + 1) for x in list(v)[:1000])]
        except BaseException:
            return ["iter?"]
    return repr(v)[:200]


def short(v):
    try:
        s = repr(v)
    except BaseException:
        s = "<unrepresentable>"
    return s if len(s) <= 300 else s[:297] + "..."


def timed(fn):
    signal.setitimer(signal.ITIMER_REAL, PAYLOAD["call_timeout_s"])
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def run_case(glb, case):
    """Run one example or test statement; returns (passed, got, error)."""
    src, want = case["source"], case.get("want")
    buf = io.StringIO()
    old = sys.stdout
    sys.stdout = buf
    try:
        try:
            code = compile(src, "<case>", "eval")
        except SyntaxError:
            timed(lambda: exec(compile(src, "<case>", "exec"), glb))
        else:
            value = timed(lambda: eval(code, glb))
            if value is not None:
                print(repr(value))
    except CaseTimeout:
        return False, buf.getvalue()[-300:], "timeout"
    except BaseException as exc:
        err = f"{type(exc).__name__}: {short(exc)[:200]}"
        if want is not None and want.lstrip().startswith("Traceback") and want.strip().splitlines()[-1].startswith(type(exc).__name__):
            return True, buf.getvalue()[-300:], None
        return False, buf.getvalue()[-300:], err
    finally:
        sys.stdout = old
    got = buf.getvalue()
    if want is None:
        return True, got[-300:], None
    return CHECKER.check_output(want, got, FLAGS) or _close(want, got), got[-300:], None


def _close(want, got):
    import ast

    try:
        a, b = ast.literal_eval(want.strip()), ast.literal_eval(got.strip())
    except Exception:
        return False
    return canon(a) == canon(b)


def load(path, name, context):
    if context is not None:
        # the snippet is a function of a real module: run it among that module's globals
        ns = dict(vars(context))
        ns["__name__"] = name
        with open(path) as fh:
            code = compile(fh.read(), path, "exec")
        timed(lambda: exec(code, ns))
        mod = types.ModuleType(name)
        mod.__dict__.update(ns)
        return mod
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    timed(lambda: spec.loader.exec_module(mod))
    return mod


def generated_inputs():
    gen = PAYLOAD.get("generate")
    if not gen:
        return []
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    def build(shape):
        t = shape["t"]
        if t == "int":
            return st.integers(shape["min"], shape["max"])
        if t == "float":
            return st.floats(shape["min"], shape["max"], allow_nan=False, allow_infinity=False, allow_subnormal=False)
        if t == "bool":
            return st.booleans()
        if t == "none":
            return st.none()
        if t == "str":
            return st.text(alphabet=shape["alphabet"] or "ab", max_size=shape["max_size"])
        if t == "list":
            return st.lists(build(shape["item"]), max_size=shape["max_size"])
        if t == "tuple":
            return st.tuples(*[build(s) for s in shape["items"]])
        if t == "dict":
            return st.dictionaries(build(shape["key"]), build(shape["value"]), max_size=shape["max_size"])
        if t == "one_of":
            return st.one_of(*[build(s) for s in shape["options"]])
        return st.just(shape.get("value"))

    found = []
    kwargs = st.fixed_dictionaries({k: build(v) for k, v in gen.get("kwargs", {}).items()})

    @settings(max_examples=gen["max_examples"], derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.tuples(st.tuples(*[build(s) for s in gen["args"]]), kwargs))
    def collect(call):
        found.append(call)

    collect()
    seen, out = set(), []
    for args, kw in found:
        key = repr((args, kw))
        if key not in seen:
            seen.add(key)
            out.append((list(args), kw))
    return out


def main():
    limit()
    import coverage

    inputs = generated_inputs()
    signal.signal(signal.SIGALRM, _alarm)
    files = {v: os.path.join(ROOT, f) for v, f in PAYLOAD["versions"].items()}
    cov = coverage.Coverage(data_file=None, include=list(files.values()), branch=False)
    context = None
    if PAYLOAD.get("context"):
        try:
            context = importlib.import_module(PAYLOAD["context"])
        except BaseException as exc:
            emit(context=PAYLOAD["context"], error=f"{type(exc).__name__}: {short(exc)[:200]}")
    sys.addaudithook(guard)
    cov.start()
    mods = {}
    for ver, path in files.items():
        cov.switch_context(f"{ver}:load")
        try:
            mods[ver] = load(path, f"version_{ver}", context)
            emit(version=ver, case="load", ok=True)
        except BaseException as exc:
            emit(version=ver, case="load", ok=False, error=f"{type(exc).__name__}: {short(exc)[:300]}")
    for ver, mod in mods.items():
        for case in PAYLOAD["cases"]:
            cov.switch_context(f"{ver}:{case['id']}")
            glb = dict(vars(mod))
            if PAYLOAD.get("entry") in glb:
                glb["candidate"] = glb[PAYLOAD["entry"]]
            if context is not None:  # `module.func(...)` in an example must reach this version's func
                glb[PAYLOAD["context"].rsplit(".", 1)[-1]] = mod
            ok, got, err = run_case(glb, case)
            emit(version=ver, case=case["id"], ok=ok, got=got, error=err)
    func = (PAYLOAD.get("generate") or {}).get("func") or ""
    deadline = time.monotonic() + PAYLOAD["generate_budget_s"]
    for k, (args, kwargs) in enumerate(inputs):
        if time.monotonic() > deadline:
            break
        for ver, mod in mods.items():
            fn = getattr(mod, func, None)
            if fn is None:
                continue
            cov.switch_context(f"{ver}:g{k}")
            a, kw = copy.deepcopy(args), copy.deepcopy(kwargs)
            shown = short(args)[:-1] + "".join(f", {k}={short(v)}" for k, v in kw.items()) + "]"
            try:
                value = timed(lambda fn=fn, a=a, kw=kw: fn(*a, **kw))
                emit(version=ver, case=f"g{k}", args=shown, value=short(value), key=json.dumps(canon(value), default=repr))
            except CaseTimeout:
                emit(version=ver, case=f"g{k}", args=shown, error="timeout")
            except BaseException as exc:
                emit(version=ver, case=f"g{k}", args=shown, error=type(exc).__name__)
    cov.stop()
    data = cov.get_data()
    for ver, path in files.items():
        by_line = data.contexts_by_lineno(path)
        per_ctx: dict[str, list[int]] = {}
        for line, ctxs in by_line.items():
            for c in ctxs:
                per_ctx.setdefault(c, []).append(line)
        emit(coverage=ver, contexts=per_ctx)
    emit(done=True)


main()
