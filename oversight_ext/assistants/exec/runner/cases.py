"""Loading each version of the code, installing it into its real module, and running example cases (phase 1)."""

from __future__ import annotations

import ast
import doctest
import importlib.util
import io
import sys
import types
from typing import Any

from .canon import CaseTimeout, canon, short, timed
from .runstate import RUN

CHECKER = doctest.OutputChecker()


FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def run_case(glb: dict[str, Any], case: dict[str, Any]) -> tuple[bool, str, str | None]:
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


def _close(want: str, got: str) -> bool:
    import ast

    try:
        a, b = ast.literal_eval(want.strip()), ast.literal_eval(got.strip())
    except Exception:
        return False
    return canon(a) == canon(b)


#: What LeetCode's Python 3 judge imports before the solution (``from typing import *`` and the
#: like): solutions use List, Optional, deque, heappush, bisect_left, inf... without importing them.
PLATFORM_MODULES = ("typing", "collections", "heapq", "bisect", "itertools", "functools", "math")
PLATFORM_NAMESPACES = ("string", "re", "random", "operator")


def platform_prelude() -> dict[str, Any]:
    """The names the platform's implicit imports bind (imported before the sandbox's guard)."""
    out: dict[str, Any] = {}
    for name in (*PLATFORM_MODULES, *PLATFORM_NAMESPACES):
        mod = importlib.import_module(name)
        out[name] = mod
        if name in PLATFORM_MODULES:
            public = getattr(mod, "__all__", None) or [k for k in vars(mod) if not k.startswith("_")]
            out.update({k: getattr(mod, k) for k in public if hasattr(mod, k)})
    return out


def load(
    path: str,
    name: str,
    context: types.ModuleType | None,
    harness: dict[str, Any] | None = None,
    prelude: dict[str, Any] | None = None,
    package: str | None = None,
) -> types.ModuleType:
    if context is not None:
        # the snippet is a function of a real module: run it among that module's globals
        ns = dict(vars(context))
        ns["__name__"] = context.__name__ if harness else name
        with open(path) as fh:
            tree = ast.parse(fh.read(), path)
        owner = (harness or {}).get("owner")
        if owner:
            assert harness is not None
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
            assert harness is not None
            real = getattr(context, owner)
            member = vars(ns[owner])[harness["name"]]
            func = getattr(member, "__func__", None) or getattr(member, "fget", None) or member
            cells = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
            if "__class__" in cells:
                cells["__class__"].cell_contents = real  # super() inside it means the real class
            ns[owner] = real
            mod.__dict__[owner] = real
            RUN.members[name] = member
        elif harness:
            RUN.members[name] = ns[harness["name"]]
        return mod
    if package:
        # a module of an installed package: loaded as a sibling of the package's own modules,
        # so that `from .x import y` (and `from .. import z`) find them
        importlib.import_module(package)
        name = f"{package}.{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    if prelude:
        mod.__dict__.update(prelude)
    sys.modules[name] = mod
    loader = spec.loader
    timed(lambda: loader.exec_module(mod))
    return mod


def install(context: types.ModuleType | None, harness: dict[str, Any] | None, ver: str) -> None:
    """Make the real module (or class) use this version of the changed definition: its own name,
    other names bound to the same function, and closures that captured it (``__add__`` built
    from ``_add`` by a factory) all point at this version."""
    if context is None or not harness or f"version_{ver}" not in RUN.members:
        return
    owner = getattr(context, harness["owner"]) if harness["owner"] else context
    if not REFS:
        REFS.append(_references(context, vars(owner).get(harness["name"])))
    member = RUN.members[f"version_{ver}"]
    setattr(owner, harness["name"], member)
    for space, key in REFS[0][0]:
        setattr(space, key, member)
    for cell in REFS[0][1]:
        cell.cell_contents = member


REFS: list[tuple[list[Any], list[Any]]] = []  # [(aliases, cells)] to the module's own copy of the changed definition, found once


def _references(context: types.ModuleType, original: Any) -> tuple[list[Any], list[Any]]:
    if original is None:
        return [], []
    spaces = [context] + [v for v in vars(context).values() if isinstance(v, type) and v.__module__ == context.__name__]
    aliases: list[Any] = []
    cells: list[Any] = []
    seen: set[int] = set()
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


def pure_python(name: str) -> types.ModuleType | None:
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
