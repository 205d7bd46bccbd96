"""Runs inside the sandbox process (``python -I _runner.py PAYLOAD``); never imported by the package.

It sets its own resource limits, installs an audit hook that refuses sockets, subprocesses,
native code loading and any write outside the working (temporary) directory, loads each
version of the code under line coverage, runs every case with a per-call alarm, and writes
one JSON line per result to the original stdout (so whatever survives a kill is kept).
"""

import ast
import copy
import doctest
import importlib.util
import io
import itertools
import json
import math
import os
import random
import re
import resource
import signal
import sys
import time
import types
from typing import Any

with open(sys.argv[1]) as _fh:
    PAYLOAD = json.load(_fh)
OUT = os.fdopen(os.dup(1), "w")
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints of the code under test must not mix with results
ROOT = os.path.realpath(os.getcwd())
_spec = importlib.util.spec_from_file_location("_values", os.path.join(os.path.dirname(os.path.abspath(__file__)), "values.py"))
assert _spec is not None and _spec.loader is not None
VALUES = importlib.util.module_from_spec(_spec)  # text from the module's tokens, bytes, *args (see _values.py)
_spec.loader.exec_module(VALUES)


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
        if isinstance(path, int) and path in (0, 1, 2, OUT.fileno()):
            # open(3) on the results channel would close it when the file object goes
            raise PermissionError(f"sandbox: opening descriptor {path} is not allowed")
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
    return _ADDRESS.sub("", repr(v))[:200]


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


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


def load(path, name, context, harness=None):
    if context is not None:
        # the snippet is a function of a real module: run it among that module's globals
        ns = dict(vars(context))
        ns["__name__"] = context.__name__ if harness else name
        with open(path) as fh:
            tree = ast.parse(fh.read(), path)
        owner = (harness or {}).get("owner")
        if owner:
            # a method: compile it inside a class of its owner's name (private-name mangling and
            # super() work as in the module), keeping its line numbers
            at = next(
                i for i, n in enumerate(tree.body) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == harness["name"]
            )
            cls = ast.ClassDef(name=owner, bases=[], keywords=[], body=[tree.body[at]], decorator_list=[])
            tree.body[at] = ast.copy_location(cls, tree.body[at])
            ast.fix_missing_locations(tree)
        code = compile(tree, path, "exec")
        timed(lambda: exec(code, ns))
        mod = types.ModuleType(name)
        mod.__dict__.update(ns)
        if owner:
            real = getattr(context, owner)
            member = vars(ns[owner])[harness["name"]]
            func = getattr(member, "__func__", None) or getattr(member, "fget", None) or member
            cells = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
            if "__class__" in cells:
                cells["__class__"].cell_contents = real  # super() inside it means the real class
            ns[owner] = real
            mod.__dict__[owner] = real
            MEMBERS[name] = member
        elif harness:
            MEMBERS[name] = ns[harness["name"]]
        return mod
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    timed(lambda: spec.loader.exec_module(mod))
    return mod


MEMBERS: dict[str, Any] = {}  # version module name -> the changed function or method object of that version


def install(context, harness, ver):
    """Make the real module (or class) use this version of the changed definition: its own name,
    other names bound to the same function, and closures that captured it (``__add__`` built
    from ``_add`` by a factory) all point at this version."""
    if context is None or not harness or f"version_{ver}" not in MEMBERS:
        return
    owner = getattr(context, harness["owner"]) if harness["owner"] else context
    if not REFS:
        REFS.append(_references(context, vars(owner).get(harness["name"])))
    member = MEMBERS[f"version_{ver}"]
    setattr(owner, harness["name"], member)
    for space, key in REFS[0][0]:
        setattr(space, key, member)
    for cell in REFS[0][1]:
        cell.cell_contents = member


REFS: list[tuple[list[Any], list[Any]]] = []  # [(aliases, cells)] to the module's own copy of the changed definition, found once


def _references(context, original):
    if original is None:
        return [], []
    spaces = [context] + [v for v in vars(context).values() if isinstance(v, type) and v.__module__ == context.__name__]
    aliases, cells, seen = [], [], set()
    for space in spaces:
        for key, value in list(vars(space).items()):
            if value is original and not (space is context and key == getattr(original, "__name__", None)):
                aliases.append((space, key))
            for fn in (value, getattr(value, "__func__", None), getattr(value, "fget", None)):
                for cell in getattr(fn, "__closure__", None) or ():
                    try:
                        held = cell.cell_contents
                    except ValueError:
                        continue
                    if held is original and id(cell) not in seen:
                        seen.add(id(cell))
                        cells.append(cell)
    return aliases, cells


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


class _New:
    """An instance of a module class, built at call time under the version being run."""

    def __init__(self, cls, args, kwargs):
        self.cls, self.args, self.kwargs = cls, args, kwargs

    def __repr__(self):
        return f"{self.cls}({_shown(self.args, self.kwargs)})"


def _shown(args, kwargs):
    return ", ".join([short(a) for a in args] + [f"{k}={short(v)}" for k, v in kwargs.items()])


def sample(shape, rnd, depth=0):
    """A value of ``shape`` (the JSON shapes of inputs.py, plus words for text and module instances)."""
    t = shape.get("t")
    edge = rnd.random() < 0.2
    if t == "int":
        lo, hi = shape["min"], shape["max"]
        if edge:
            return rnd.choice([lo, 0, 1, hi])
        return rnd.randint(max(lo, 0), min(hi, 10)) if rnd.random() < 0.5 and lo <= 10 and hi >= 0 else rnd.randint(lo, hi)
    if t == "float":
        lo, hi = shape["min"], shape["max"]
        if edge:
            return rnd.choice([0.0, 0.5, -1.5, hi]) if rnd.random() < 0.8 else rnd.choice(VALUES.SPECIAL_FLOATS)
        return round(rnd.uniform(lo, hi), rnd.choice([0, 1, 3]))
    if t == "bool":
        return rnd.random() < 0.5
    if t == "none":
        return None
    if t == "bytes":
        return VALUES.raw(shape, rnd)
    if t == "file":
        return VALUES.stream(shape, rnd)
    if t == "str":
        if edge:
            return rnd.choice(["", " ", "\n", "a"])
        spliced = VALUES.text(shape, rnd)
        if spliced is not None:
            return spliced
        words = shape.get("words") or []
        if words and rnd.random() < 0.6:
            seps = [" ", " ", " ", "  ", "\n", "\t", ", ", ". ", "-", "\n\n"]
            n = rnd.randint(1, 14)
            return "".join(rnd.choice(words) + rnd.choice(seps) for _ in range(n)).rstrip(" ") if n else ""
        alphabet = shape.get("alphabet") or "ab"
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, shape["max_size"])))
    if depth > 3:
        return None
    if t == "list":
        item = shape["item"]
        while item.get("t") == "one_of":  # one kind of element per list, as real lists mostly are
            item = rnd.choice(item["options"])
        return [sample(item, rnd, depth + 1) for _ in range(rnd.randint(0, shape["max_size"]))]
    if t == "tuple":
        return tuple(sample(s, rnd, depth + 1) for s in shape["items"])
    if t == "dict":
        return {
            _hashable(sample(shape["key"], rnd, depth + 1)): sample(shape["value"], rnd, depth + 1)
            for _ in range(rnd.randint(0, shape["max_size"]))
        }
    if t == "one_of":
        return sample(rnd.choice(shape["options"]), rnd, depth)
    if t == "pick":
        return copy.deepcopy(rnd.choice(shape["values"]))
    if t == "new":
        return (
            _New(shape["cls"], [], {})
            if CTORS.get(shape["cls"]) is None
            else _New(shape["cls"], *draw(CTORS[shape["cls"]], rnd, depth + 1))
        )
    return shape.get("value")


def _hashable(v):
    try:
        hash(v)
        return v
    except TypeError:
        return repr(v)


CTORS: dict[str, Any] = {}


def draw(sig, rnd, depth=0):
    """Arguments for a signature: now and then a call the module itself makes, else generated."""
    seeds = sig.get("seeds") or []
    if seeds and rnd.random() < 0.4:
        args, kwargs = copy.deepcopy(rnd.choice(seeds))
        return args, kwargs
    args = [sample(s, rnd, depth) for s in sig["args"]] + VALUES.extra_args(sig, rnd, sample, depth)
    kwargs = {k: sample(s, rnd, depth) for k, s in sig["opt"].items() if rnd.random() < 0.5}
    return args, kwargs


def real(v, context):
    if isinstance(v, _New):
        return getattr(context, v.cls)(*real(v.args, context), **real(v.kwargs, context))
    if isinstance(v, list):
        return [real(x, context) for x in v]
    if isinstance(v, tuple):
        return tuple(real(x, context) for x in v)
    if isinstance(v, dict):
        return {k: real(x, context) for k, x in v.items()}
    return v


def state(obj):
    if obj is None:
        return None
    if hasattr(obj, "__dict__"):
        return dict(vars(obj))
    slots = [s for c in type(obj).__mro__ for s in getattr(c, "__slots__", ()) if isinstance(s, str)]
    return {s: getattr(obj, s, None) for s in slots}


def call(context, d, inp):
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


def stored_arguments(inst, given):
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


def describe(context, d, inp):
    ctor_args, ctor_kw, args, kw = inp
    mod = context.__name__
    if d.get("cls"):
        head = f"{mod}.{d['cls']}({_shown(ctor_args, ctor_kw)})"
        if not d["name"]:
            return head
        return f"{head}.{d['name']}" + ("" if d.get("property") else f"({_shown(args, kw)})")
    return f"{d.get('module') or mod}.{d['name']}({_shown(args, kw)})"


def deliberate(exc, files):
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


#: Laws of Python's data model that hold for any sensible class: (name, check(x, y)). A check
#: that raises does not apply (the class lacks the operation); one that returns False is broken.
LAWS = [
    ("x == x", lambda x, y: x == x),
    ("copy.copy(x) == x", lambda x, y: copy.copy(x) == x),
    ("copy.deepcopy(x) == x", lambda x, y: copy.deepcopy(x) == x),
    ("hash(x) == hash(copy.copy(x))", lambda x, y: hash(x) == hash(copy.copy(x))),
    ("x == y implies hash(x) == hash(y)", lambda x, y: not (x == y) or hash(x) == hash(y)),  # noqa: SIM201 (== is the law, not !=)
    ("x == int(x) implies hash(x) == hash(int(x))", lambda x, y: not (x == int(x)) or hash(x) == hash(int(x))),  # noqa: SIM201
    ("x == float(x) implies hash(x) == hash(float(x))", lambda x, y: not (x == float(x)) or hash(x) == hash(float(x))),  # noqa: SIM201
    ("(x == y) == (y == x)", lambda x, y: (x == y) == (y == x)),
    ("(x < y) == (y > x)", lambda x, y: (x < y) == (y > x)),
    ("(x <= y) == (x < y or x == y)", lambda x, y: (x <= y) == (x < y or x == y)),
    ("(x >= y) == (y <= x)", lambda x, y: (x >= y) == (y <= x)),
    ("not x < x", lambda x, y: not x < x),
    ("x + y == y + x", lambda x, y: x + y == y + x),
    ("x + y - y == x", lambda x, y: x + y - y == x),
    ("x * y == y * x", lambda x, y: x * y == y * x),
    ("x - x == 0", lambda x, y: x - x == 0),
    ("-(-x) == x", lambda x, y: -(-x) == x),  # noqa: B002 (negation twice, on purpose)
    ("+x == x", lambda x, y: +x == x),
    ("x * 1 == x", lambda x, y: x * 1 == x),
    ("x + 0 == x", lambda x, y: x + 0 == x),
    ("x / y * y == x", lambda x, y: y == 0 or x / y * y == x),
    ("(x // y) * y + x % y == x", lambda x, y: (x // y) * y + x % y == x),
    ("divmod(x, y) == (x // y, x % y)", lambda x, y: divmod(x, y) == (x // y, x % y)),
    ("abs(x) in (x, -x) and abs(x) >= 0", lambda x, y: abs(x) in (x, -x) and abs(x) >= 0),
    ("x ** 1 == x", lambda x, y: x**1 == x),
    ("x ** 2 == x * x", lambda x, y: x**2 == x * x),
    ("math.floor(x) <= x <= math.ceil(x)", lambda x, y: math.floor(x) <= x <= math.ceil(x)),
    ("math.ceil(x) - math.floor(x) in (0, 1)", lambda x, y: math.ceil(x) - math.floor(x) in (0, 1)),
    ("math.trunc(x) == int(x)", lambda x, y: math.trunc(x) == int(x)),
    ("abs(round(x) - x) <= 1/2", lambda x, y: abs(round(x) - x) <= 0.5),
    ("abs(float(x) - x) is tiny", lambda x, y: abs(float(x) - x) <= 1e-9 * max(1.0, abs(float(x)))),
    ("bool(x) == (x != 0)", lambda x, y: bool(x) == (x != 0)),
    ("type(x)(str(x)) == x", lambda x, y: type(x)(str(x)) == x),
    ("len(x) == len(list(x))", lambda x, y: len(x) == len(list(x))),
    ("all(e in x for e in x)", lambda x, y: all(e in x for e in list(x)[:50])),
]


def check_laws(context, harness, ctor_inputs, other):
    """The laws broken by instances of the changed method's class, for one pair of inputs."""
    x = getattr(context, harness["owner"])(*real(ctor_inputs[0], context), **real(ctor_inputs[1], context))
    y = (
        real(other, context)
        if not isinstance(other, tuple)
        else getattr(context, harness["owner"])(*real(other[0], context), **real(other[1], context))
    )
    broken = []
    for name, law in LAWS:
        try:
            ok = timed(lambda law=law: bool(law(x, y)))
        except CaseTimeout:
            broken.append(f"{name} (hangs)")
            continue
        except BaseException:
            continue  # the class lacks an operation the law needs, or refuses these values
        if not ok:
            broken.append(name)
    return broken


def laws_phase(cov, context, harness, versions, deadline):
    """Data-model laws over instances of the class whose method changed, on both versions."""
    sig = CTORS.get(harness["owner"])
    if sig is None:
        return
    rnd = random.Random(f"{PAYLOAD.get('seed', 0)}:laws")
    for k in range(PAYLOAD.get("harness_inputs", 40)):
        if time.monotonic() > deadline:
            break
        xa = draw(sig, rnd)
        other = draw(sig, rnd) if rnd.random() < 0.6 else rnd.choice([0, 1, 2, -3, 7])
        other_shown = _shown(*other) if isinstance(other, tuple) else repr(other)
        shown = f"x = {context.__name__}.{harness['owner']}({_shown(*xa)}), y = " + (
            f"{harness['owner']}({other_shown})" if isinstance(other, tuple) else other_shown
        )
        for ver in versions:
            install(context, harness, ver)
            cov.switch_context(f"{ver}:gl{k}")
            t0 = time.monotonic()
            try:
                broken = timed(lambda xa=xa, other=other: check_laws(context, harness, xa, other))
                emit(version=ver, case=f"gl{k}", call=shown, args=shown, value="", key="", broken=broken, s=time.monotonic() - t0)
            except CaseTimeout:
                emit(version=ver, case=f"gl{k}", call=shown, args=shown, error="timeout", s=time.monotonic() - t0)
            except BaseException as exc:
                emit(version=ver, case=f"gl{k}", call=shown, args=shown, error=type(exc).__name__, s=time.monotonic() - t0)


def drive(cov, context, harness, versions):
    """Run the module's drivers that reach the changed definition on both versions, same inputs."""
    drivers = harness["drivers"]
    for d in drivers:
        if d.get("cls") and d.get("ctor") is not None:
            CTORS.setdefault(d["cls"], d["ctor"])
    files = {os.path.join(ROOT, f) for f in PAYLOAD["versions"].values()}
    deadline = time.monotonic() + PAYLOAD.get("harness_budget_s", 8.0)
    per_driver = PAYLOAD.get("harness_inputs", 40)
    inputs = []
    for i, d in enumerate(drivers):
        rnd = random.Random(f"{PAYLOAD.get('seed', 0)}:{i}:{d['name']}")
        ctor = d.get("ctor") or {"args": [], "opt": {}}
        found: list[Any] = [([], {}, a, k) for a, k in d.get("seeds", [])] if not d.get("cls") else []
        seen = {repr(x) for x in found}
        for _ in range(per_driver * 3):
            if len(found) >= per_driver:
                break
            ca, ck = draw(ctor, rnd)
            a, k = draw(d, rnd)
            x = (ca, ck, a, k)
            if repr(x) not in seen:
                seen.add(repr(x))
                found.append(x)
        inputs.append(found)
    # which drivers reach the changed definition (probed on the code before the change)
    codes = set()
    for m in MEMBERS.values():
        for f in (getattr(m, "__func__", None), getattr(m, "fget", None), m, getattr(m, "__wrapped__", None)):
            code = getattr(f, "__code__", None)
            if code is not None:
                codes.add(code)
    hit = [False]

    def profiler(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            hit[0] = True

    install(context, harness, versions[0])
    reach = []
    probe_until = time.monotonic() + PAYLOAD.get("harness_budget_s", 8.0) / 3
    for i, d in enumerate(drivers):
        for j, inp in enumerate(inputs[i][: VALUES.PROBES]):
            if time.monotonic() > (deadline if j < 4 else probe_until):
                break
            hit[0] = False
            sys.setprofile(profiler)
            try:
                timed(lambda d=d, inp=inp: call(context, d, inp))
            except BaseException:
                pass
            finally:
                sys.setprofile(None)
            if hit[0]:
                reach.append(i)
                inputs[i].insert(0, inputs[i].pop(j))  # an input known to reach runs first
                break
    emit(harness="reach", drivers=[describe(context, drivers[i], ([], {}, [], {})) for i in reach])
    recorded = []
    if PAYLOAD.get("harness_record", True):
        own = [i for i in reach if drivers[i]["name"] == harness["name"] and drivers[i].get("cls") == harness["owner"]]
        cov.switch_context(f"{versions[0]}:record")
        until = min(deadline, time.monotonic() + PAYLOAD.get("harness_budget_s", 8.0) / 5)
        recorded = record_calls(context, harness, drivers, inputs, [i for i in reach if i not in own], codes, versions[0], until)
        emit(harness="recorded", n=len(recorded))
    if harness["owner"]:
        laws_phase(cov, context, harness, versions, time.monotonic() + PAYLOAD.get("harness_budget_s", 8.0) / 4)
    slow: dict[int, int] = {}
    for k in range(per_driver):
        if k < len(recorded) and slow.get(-1, 0) < 2 and time.monotonic() <= deadline:
            recs = differential(cov, f"gr{k}", versions, lambda ver, k=k: direct(context, harness, ver, recorded[k], files))
            slow[-1] = slow.get(-1, 0) + sum(r.get("error") == "timeout" for r in recs.values())
        for i in reach:
            if k >= len(inputs[i]) or slow.get(i, 0) >= 2 or time.monotonic() > deadline:
                continue
            d, inp = drivers[i], inputs[i][k]
            shown = describe(context, d, inp)

            def once(ver, d=d, inp=inp, shown=shown):
                install(context, harness, ver)
                t0 = time.monotonic()
                try:

                    def keyed():
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


#: Most argument tuples recorded from the drivers' calls into the changed definition, and from one driver call.
RECORD_MAX, RECORD_PER_CALL = 60, 3
_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08


def record_calls(context, harness, drivers, inputs, reach, codes, ver, until):
    """Arguments the changed definition receives while the drivers that reach it run on version
    ``ver`` (the code before the change): [(args, kwargs, the driver call that passed them)],
    deep-copied at the call, distinct. A helper meets structured values this way (objects its
    module builds, parsed records) that inputs guessed from its signature never are."""
    found: list[tuple[list[Any], dict[str, Any], str]] = []
    seen, taken = set(), [0]

    def profiler(frame, event, arg):
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
                timed(lambda d=drivers[i], inp=inputs[i][k]: call(context, d, inp))
            except BaseException:
                pass
            finally:
                sys.setprofile(None)
    return found


def _held(x):
    """A comparable form of an argument after a call: a module object by its attributes."""
    if isinstance(x, (type(None), bool, int, float, str, bytes, list, tuple, dict, set, frozenset, type)) or callable(x):
        return canon(x)
    return [type(x).__name__, canon(state(x))]


def printing(fn):
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


def _plain(x):
    """How a recorded argument reads: an object without a repr of its own by its attributes."""
    s = short(x)
    if " object at 0x" not in s:
        return s
    held = state(x) or {}
    return short(f"<{type(x).__name__} " + ", ".join(f"{k}={short(v)[:40]}" for k, v in list(held.items())[:8]) + ">")


def direct(context, harness, ver, rec, files):
    """One call of version ``ver`` of the changed definition itself, on recorded arguments: its
    result and what it did to its arguments (``self`` included)."""
    args, kw, origin = rec
    install(context, harness, ver)
    member = MEMBERS[f"version_{ver}"]
    fn = getattr(member, "__func__", None) or getattr(member, "fget", None) or member
    qual = ".".join(x for x in (context.__name__, harness["owner"], harness["name"]) if x)
    shown = f"{qual}({', '.join([_plain(x) for x in args] + [f'{n}={_plain(x)}' for n, x in kw.items()])})"
    shown = (shown if len(shown) <= 150 else shown[:147] + "...") + f", as `{origin[:100]}` calls it"
    a, k = copy.deepcopy((args, kw))
    t0 = time.monotonic()
    try:

        def keyed():
            value, printed = printing(lambda: fn(*a, **k))
            held = [[_held(x) for x in a], {n: _held(x) for n, x in k.items()}]
            return value, printed, json.dumps([canon(value), held, printed], default=repr)

        value, printed, key = timed(keyed)
        return {"call": shown, "args": shown, "value": short(value), "key": key, "s": time.monotonic() - t0, "printed": printed[-300:]}
    except CaseTimeout:
        return {"call": shown, "args": shown, "error": "timeout", "s": time.monotonic() - t0}
    except BaseException as exc:
        return {"call": shown, "args": shown, "error": type(exc).__name__, "deliberate": deliberate(exc, files), "s": time.monotonic() - t0}


def _same(a, b):
    """Whether two runs of one input behaved alike (as the critic compares them)."""
    if a.get("error") or b.get("error"):
        return a.get("error") == b.get("error")
    return a.get("key") == b.get("key") and sorted(a.get("broken") or []) == sorted(b.get("broken") or [])


_DIGITS = re.compile(r"\d+")


def differential(cov, case, versions, once):
    """Run one input on every version (``once(ver)`` gives its record, None to skip) and emit
    the records. When the versions disagree, the first (the code before the change) runs the
    input again: if it disagrees with itself (``id()`` in the output, a global counter, the
    clock), the input cannot tell the versions apart and both records say ``unstable``, unless
    the runs differ only in numbers and the versions differ in more than numbers. Only
    disagreeing inputs run a third time, so the guard costs little."""
    recs = {}
    for ver in versions:
        cov.switch_context(f"{ver}:{case}")
        r = once(ver)
        if r is not None:
            recs[ver] = r
    if len(recs) == 2 and len(versions) == 2 and not _same(recs[versions[0]], recs[versions[1]]):
        cov.switch_context(f"{versions[0]}:{case}")
        again = once(versions[0])
        if again is not None and not _same(again, recs[versions[0]]):
            masked = {v: {**r, "key": _DIGITS.sub("#", r["key"])} if "key" in r else r for v, r in recs.items()}
            if _same({**again, "key": _DIGITS.sub("#", again.get("key", ""))}, masked[versions[0]]) and not _same(*masked.values()):
                # only numbers vary between the old code's runs (a counter, an id()): the versions
                # still differ in the rest, so compare them with every number masked
                recs = masked
            else:
                for r in recs.values():
                    r["unstable"] = True
    for ver, r in recs.items():
        emit(version=ver, case=case, **r)
    return recs


def pure_python(name):
    """A fresh import of module ``name`` with its C accelerator (``_heapq`` for heapq, ``_json``
    for json) blocked, so that its Python definitions, the code under review, are the ones its
    API runs (as CPython's own tests do); None when it has no accelerator or will not import so."""
    top = name.split(".")[0]
    blocked = [b for b in dict.fromkeys(["_" + top, "_" + name.rsplit(".", 1)[-1]]) if importlib.util.find_spec(b) is not None]
    if not blocked:
        return None
    saved = {m: sys.modules[m] for m in list(sys.modules) if m == top or m.startswith(top + ".") or m in blocked}
    for m in saved:
        del sys.modules[m]
    for b in blocked:
        sys.modules[b] = None  # type: ignore[assignment]  # None makes the import fail, as intended
    try:
        return importlib.import_module(name)
    except Exception:
        for m in [m for m in sys.modules if m == top or m.startswith(top + ".") or m in blocked]:
            del sys.modules[m]
        sys.modules.update(saved)
        return None


def main():
    limit()
    import warnings

    # a warning prints on its first run only (the registry remembers it): the second version
    # would print less, which is no behaviour change
    warnings.simplefilter("ignore")
    import coverage

    inputs = generated_inputs()
    signal.signal(signal.SIGALRM, _alarm)
    files = {v: os.path.join(ROOT, f) for v, f in PAYLOAD["versions"].items()}
    cov = coverage.Coverage(data_file=None, include=list(files.values()), branch=False)
    context = None
    if PAYLOAD.get("context"):
        root = (PAYLOAD.get("harness") or {}).get("root")
        if root and root not in sys.path:
            sys.path.append(root)  # a module of the user's own (found on the reviewer's path), not the standard library
        try:
            context = pure_python(PAYLOAD["context"]) if PAYLOAD.get("harness") else None
            context = context or importlib.import_module(PAYLOAD["context"])
        except BaseException as exc:
            emit(context=PAYLOAD["context"], error=f"{type(exc).__name__}: {short(exc)[:200]}")
    sys.addaudithook(guard)
    cov.start()
    mods = {}
    for ver, path in files.items():
        cov.switch_context(f"{ver}:load")
        try:
            mods[ver] = load(path, f"version_{ver}", context, PAYLOAD.get("harness"))
            emit(version=ver, case="load", ok=True)
        except BaseException as exc:
            emit(version=ver, case="load", ok=False, error=f"{type(exc).__name__}: {short(exc)[:300]}")
    harness = PAYLOAD.get("harness")
    for ver, mod in mods.items():
        install(context, harness, ver)
        group, shared = None, None
        for case in PAYLOAD["cases"]:
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
                if PAYLOAD.get("entry") in glb:
                    glb["candidate"] = glb[PAYLOAD["entry"]]
                if context is not None:  # `module.func(...)` in an example must reach this version's func
                    glb[PAYLOAD["context"].rsplit(".", 1)[-1]] = context if harness else mod
            ok, got, err = run_case(glb, case)
            emit(version=ver, case=case["id"], ok=ok, got=got, error=err)
    func = (PAYLOAD.get("generate") or {}).get("func") or ""
    deadline = time.monotonic() + PAYLOAD["generate_budget_s"]
    for k, (args, kwargs) in enumerate(inputs):
        if time.monotonic() > deadline:
            break
        shown = short(args)[:-1] + "".join(f", {k}={short(v)}" for k, v in kwargs.items()) + "]"

        def once(ver, args=args, kwargs=kwargs, shown=shown):
            install(context, harness, ver)
            fn = getattr(mods[ver], func, None)
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
    if harness and context is not None and len(MEMBERS) == len(mods) == 2:
        drive(cov, context, harness, list(mods))
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
