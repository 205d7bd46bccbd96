"""Scripts that read standard input: each version runs whole, as ``__main__``, on the same input
text, and what it prints is compared; then the first diverging runs are traced line by line.

Phases (the payload's ``stdin`` part, made by :mod:`..stdin`):

1. *load*: compile each version (a syntax error is a load failure; nothing runs at load);
2. *samples*: the task statement's sample inputs; with an expected output the run passes when
   its output has the same tokens (numbers within 1e-6), without one it is a differential input;
3. *generated*: inputs made up while the old version reads them (:class:`Oracle`: each line in
   the form its read site parses, ``n`` lines when the script loops ``n`` times), then both
   versions run on the recorded text, as differential inputs;
4. *divergence*: for the first inputs on which the versions differ, both run again under a line
   tracer; the first step at which the new run reaches a line other than the one the old run
   reaches (through the line map), or holds other values, names the new line that made the
   difference (the line before that step; a line the change added, the line itself).
"""

from __future__ import annotations

import builtins
import contextlib
import io
import random
import reprlib
import sys
import threading
import time
import types

from .canon import _ADDRESS, CaseTimeout, short, timed
from .differential import differential
from .runstate import RUN, emit

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlist = _REPR.maxdict = _REPR.maxset = _REPR.maxtuple = 12


def _tokens_match(want, got):
    a, b = want.split(), got.split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if abs(fx - fy) > 1e-6 * max(1.0, abs(fx)):
            return False
    return True


class _Bytes:
    """``sys.stdin.buffer`` of an :class:`Oracle`: the same lines as bytes."""

    def __init__(self, text):
        self._text = text

    def readline(self, *a):
        return self._text.readline().encode()

    def read(self, *a):
        return self._text.read().encode()

    def readlines(self, *a):
        return [ln.encode() for ln in self._text.readlines()]

    def __iter__(self):
        return iter(self.readlines())


class Oracle(io.TextIOBase):
    """A standard input that makes each line up when the script reads it, in the form the read
    site parses (``sites``: line -> [form, count]), and records what it gave."""

    def __init__(self, sites, rng, path, cap=30):
        self.sites, self.rng, self.path, self.cap = sites, rng, path, cap
        self.lines: list[str] = []
        self.last_int = None
        self.buffer = _Bytes(self)
        self.done = False

    def readable(self):
        return True

    def _site(self):
        f: types.FrameType | None = sys._getframe(1)
        while f is not None and f.f_code.co_filename != self.path:
            f = f.f_back
        return self.sites.get(str(f.f_lineno), ["text", None]) if f is not None else ["text", None]

    def _count(self, count):
        if count:
            return count
        if isinstance(self.last_int, int) and 1 <= self.last_int <= 8:
            return self.last_int
        return self.rng.randint(1, 5)

    def _make(self, form, count):
        r = self.rng
        if form in ("int", "float"):
            v = r.choice([1, 2, 3, 4, 5, 6, 0, 7, 10, 2, 3])
            self.last_int = v
            return str(v) if form == "int" else f"{v}.5" if r.random() < 0.3 else str(v)
        if form in ("ints", "floats"):
            vals = [r.randint(0, 9) if r.random() < 0.9 else r.randint(-5, 20) for _ in range(self._count(count))]
            self.last_int = vals[0] if count and count > 1 else self.last_int
            return " ".join(str(v) if form == "ints" else f"{v}.{r.randint(0, 9)}" for v in vals)
        if form == "words":
            return " ".join("".join(r.choice("ab") for _ in range(r.randint(1, 4))) for _ in range(self._count(count)))
        if r.random() < 0.3:
            return str(r.randint(0, 99))
        return "".join(r.choice("abc") for _ in range(r.randint(1, 6)))

    def readline(self, size=-1):
        if self.done or len(self.lines) >= self.cap:
            return ""
        form, count = self._site()
        if form == "all":
            return self.read()
        line = self._make(form, count) + "\n"
        self.lines.append(line)
        return line

    def read(self, size=-1):
        if self.done:
            return ""
        k = self.rng.randint(1, 5)
        block = f"{k}\n" + " ".join(str(self.rng.randint(0, 9)) for _ in range(k)) + "\n"
        self.lines.append(block)
        self.done = True
        return block

    def readlines(self, hint=-1):
        out = []
        while line := self.readline():
            out.append(line)
        return out

    def __iter__(self):
        return iter(self.readline, "")

    def text(self):
        return "".join(self.lines)


def _globals(path, stdin):
    """A fresh ``__main__`` namespace whose ``open(0)`` (a contest idiom for all of stdin) is ``stdin``."""
    real_open = builtins.open

    def open_(file, *args, **kwargs):
        return stdin if file == 0 else real_open(file, *args, **kwargs)

    space = dict(vars(builtins), open=open_)
    return {"__name__": "__main__", "__builtins__": space, "__file__": path}


def _join_threads(before):
    """Wait (within the call's time limit) for threads the script started: contest scripts run
    ``main`` in a thread with a bigger stack and print from it."""
    for t in threading.enumerate():
        if t not in before and t is not threading.current_thread():
            t.join()


def _exec_and_join(code, glb, threads):
    exec(code, glb)
    _join_threads(threads)


def _run(code, path, stdin):
    """Run ``code`` as ``__main__`` with ``stdin``; returns (stdout text, error type or None)."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    saved = sys.stdin, sys.stdout, sys.argv
    sys.stdin, sys.stdout, sys.argv = stdin, out, [path]
    glb = _globals(path, stdin)
    err = None
    threads = set(threading.enumerate())
    try:
        timed(lambda: _exec_and_join(code, glb, threads))
    except SystemExit as exc:
        err = None if exc.code in (None, 0) else f"SystemExit({exc.code!r})"
    except CaseTimeout:
        err = "timeout"
    except BaseException as exc:
        err = type(exc).__name__
    finally:
        sys.stdin, sys.stdout, sys.argv = saved
    with contextlib.suppress(BaseException):  # a script that closed its stdout
        out.flush()
    return raw.getvalue().decode("utf-8", "replace"), err


def _stdin(text):
    return io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8")


def _record(text, got, err):
    rec = {"args": short(text), "value": short(got[-300:]), "key": " ".join(got.split())}
    if err:
        rec["error"] = err
    return rec


def _trace(code, path, text, cap=20000):
    """The line steps of one run: (line, function, values of its names and how much it printed)."""
    steps: list[tuple[int, str, int, int]] = []
    raw = io.BytesIO()

    def local(frame, event, arg):
        if event == "line" and len(steps) < cap:
            # values by their short text without addresses (an iterator's repr holds one)
            names = tuple(
                (k, _ADDRESS.sub("", _REPR.repr(v)))
                for k, v in frame.f_locals.items()
                if not k.startswith(("__", "."))
                and not isinstance(v, (types.ModuleType, types.FunctionType, type, types.BuiltinFunctionType))
            )
            steps.append((frame.f_lineno, frame.f_code.co_name, hash(names), raw.tell()))
        return local

    def glob(frame, event, arg):
        return local if frame.f_code.co_filename == path else None

    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    saved = sys.stdin, sys.stdout
    stdin = _stdin(text)
    sys.stdin, sys.stdout = stdin, out
    try:
        sys.settrace(glob)
        timed(lambda: exec(code, _globals(path, stdin)))
    except BaseException:
        pass
    finally:
        sys.settrace(None)
        sys.stdin, sys.stdout = saved
    return steps


def first_divergence(new, old, lmap):
    """The new line that made the runs differ: see the module doc. None when they never do."""
    kept = set(lmap.values())
    for i in range(min(len(new), len(old))):
        (nl, nf, ns, np), (ol, of, os_, op) = new[i], old[i]
        mapped = lmap.get(str(nl))
        if mapped is None or (mapped != ol and ol not in kept):
            return nl  # the new run reaches a line the change added, or the old one a line it removed
        if mapped != ol or nf != of or ns != os_ or np != op:
            return new[i - 1][0] if i else nl
    if len(new) != len(old) and min(len(new), len(old)):
        return new[min(len(new), len(old)) - 1][0]
    return None


def run_stdin(cov, files):
    """Phases 1-3 for a script (see the module doc); ``files``: version -> path. Returns the
    compiled versions, the input text of each case run and the cases the versions differ on."""
    spec = RUN.payload["stdin"]
    budget = RUN.payload["generate_budget_s"]
    started = time.monotonic()
    codes = {}
    for ver, path in files.items():
        cov.switch_context(f"{ver}:load")
        try:
            with open(path) as fh:
                codes[ver] = compile(fh.read(), path, "exec")
            emit(version=ver, case="load", ok=True)
        except BaseException as exc:
            line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
            emit(version=ver, case="load", ok=False, error=f"{type(exc).__name__}: {short(exc)[:300]}", line=line)
    versions = list(codes)
    ran: dict[str, str] = {}  # case id -> input text, for the divergence phase
    differs: list[str] = []
    for s in spec["samples"]:
        if s.get("want") is None:
            continue
        results = {}
        for ver in versions:
            cov.switch_context(f"{ver}:{s['id']}")
            got, err = _run(codes[ver], files[ver], _stdin(s["input"]))
            ok = err is None and _tokens_match(s["want"], got)
            results[ver] = (ok, got)
            emit(version=ver, case=s["id"], ok=ok, got=got[-300:], error=err)
        ran[s["id"]] = s["input"]
        if len(results) == 2 and len({g for _, g in results.values()}) == 2:
            differs.append(s["id"])
    texts = [(s["id"], s["input"]) for s in spec["samples"] if s.get("want") is None]
    if "before" in codes and "after" in codes:
        seen = {t for _, t in texts}
        for k in range(spec.get("generated", 0)):
            if time.monotonic() - started > budget:
                break
            oracle = Oracle(spec["sites"], random.Random(f"{spec.get('seed', 0)}:{k}"), files["before"])
            cov.switch_context("before:oracle")
            _run(codes["before"], files["before"], oracle)
            text = oracle.text()
            if text and text not in seen:
                seen.add(text)
                texts.append((f"g{k}", text))
    for case, text in texts:
        if time.monotonic() - started > 2 * budget:
            break

        def once(ver, text=text):
            return _record(text, *_run(codes[ver], files[ver], _stdin(text)))

        recs = differential(cov, case, versions, once)
        ran[case] = text
        if len(recs) == 2 and not any(r.get("unstable") for r in recs.values()):
            a, b = recs.values()
            if (a.get("key"), a.get("error")) != (b.get("key"), b.get("error")):
                differs.append(case)
    return codes, ran, differs


def trace_divergence(codes, files, ran, differs, lmap, most=3):
    """Emit where the versions first diverge on the first ``most`` inputs they differ on."""
    if "before" not in codes or "after" not in codes:
        return
    for case in differs[:most]:
        new = _trace(codes["after"], files["after"], ran[case])
        old = _trace(codes["before"], files["before"], ran[case])
        line = first_divergence(new, old, lmap)
        if line is not None:
            emit(diverge=case, line=line)
