"""Running a changed function or method among the module it comes from, through that module's API.

An item may show one function or method cut from a real module (the mutation generator makes
such items; so does any patch to library code). Called on its own with guessed arguments, a
method cannot run at all and a helper rarely meets the inputs it was written for. When the
task statement names an importable module and the changed definition in it
(``textwrap.TextWrapper._split``), :func:`plan_harness` reads that module's source, the
surrounding code a rater can open, and plans *drivers*: the changed function itself, the
module's public functions, and the public methods of its classes (instances built from their
constructors' signatures). Each driver gets input shapes from parameter names, annotations and
default values, and seeds from the literal arguments of the module's own calls and docstring
examples; how each body uses a parameter (:mod:`.usage`: ``.decode()`` means bytes, ``.split()``
text), the short literals of the module's code (the changed definition's first) spliced into
generated text, the prefixes and suffixes its ``startswith``/``endswith`` tests look for, and a
few values for ``*args`` make more of those inputs reach the changed lines. The module's
docstring examples also become cases: they state what its API returns.

The sandboxed runner installs each version of the changed definition into the real module or
class, keeps the drivers that reach it (probing up to two dozen inputs each; a decorated
definition such as an ``lru_cache`` one is recognised through ``__wrapped__``), and runs them on both versions with the same inputs.
The module's own copy of the definition (which may be the gold) is never called, so neither
version is ever compared with it.
"""

from __future__ import annotations

import ast
import doctest
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .examples import Case
from .inputs import _guess
from .usage import affixes, code_tokens, param_hints, refine, with_tokens

__all__ = ["Harness", "plan_harness"]

#: Most drivers planned per item (the changed definition and its class come first).
MAX_DRIVERS = 30
#: Dunder methods worth calling as drivers (others are protocol plumbing or dangerous to call).
_DUNDERS = {
    "__str__", "__repr__", "__format__", "__eq__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__bool__",
    "__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__", "__pow__", "__divmod__", "__neg__",
    "__pos__", "__abs__", "__trunc__", "__floor__", "__ceil__", "__round__", "__int__", "__float__", "__len__",
    "__contains__", "__getitem__", "__iter__", "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__call__",
    "__copy__", "__reduce__",
}  # fmt: skip
_NUMBERS = ({"t": "int", "min": -5, "max": 20}, {"t": "float", "min": -2.0, "max": 2.0})
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[.,;:!?]?")


@dataclass(frozen=True)
class Harness:
    """What the runner needs: where the changed definition lives and how to reach it."""

    module: str
    owner: str | None  # the class of a method, None for a module-level function
    name: str
    drivers: list[dict[str, Any]]
    doc_cases: list[Case]
    root: str = ""  # the folder the module imports from (the runner appends it to its path, for a user's own module)

    def payload(self) -> dict[str, Any]:
        return {"module": self.module, "owner": self.owner, "name": self.name, "drivers": self.drivers, "root": self.root}


def _target(task: str, entry: str) -> tuple[str, str | None, Path] | None:
    """(module, owner class or None, source path) when ``task`` names ``module[.Class].entry``."""
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", task):
        return None
    parts = task.split(".")
    if parts[-1] != entry:
        return None
    for k in (len(parts) - 1, len(parts) - 2):
        if k < 1:
            continue
        module = ".".join(parts[:k])
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            continue
        origin = getattr(spec, "origin", None) if spec is not None else None
        if not (isinstance(origin, str) and origin.endswith(".py") and Path(origin).is_file()):
            continue
        owner = parts[k] if k == len(parts) - 2 else None
        return module, owner, Path(origin)
    return None


def _params(
    fn: ast.FunctionDef | ast.AsyncFunctionDef, method: bool
) -> tuple[list[ast.arg], list[tuple[ast.arg, ast.expr]], list[str]] | None:
    """Required and defaulted parameters (without ``self``) and the positional names in order."""
    pos = [*fn.args.posonlyargs, *fn.args.args]
    if method and pos:
        pos = pos[1:]
    defaults = list(fn.args.defaults)
    n_req = len(pos) - len(defaults)
    if n_req < 0:  # self had a default: odd, skip
        return None
    required = pos[:n_req]
    optional = list(zip(pos[n_req:], defaults[len(defaults) - len(pos[n_req:]) :]))
    for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults):
        if d is None:
            return None  # a required keyword-only argument: rare, and positional calls cannot give it
        optional.append((a, d))
    if len(required) > 5:
        return None
    return required, optional, [a.arg for a in pos]


def _default_shape(default: ast.expr, words: list[str]) -> dict[str, Any] | None:
    try:
        value = ast.literal_eval(default)
    except (ValueError, SyntaxError, TypeError):
        return None
    if isinstance(value, bool):
        return {"t": "bool"}
    if isinstance(value, int):
        return {"t": "int", "min": min(-2, value), "max": max(12, 2 * value)}
    if isinstance(value, float):
        return {"t": "float", "min": min(-2.0, value), "max": max(12.0, 2 * value)}
    if isinstance(value, str):
        return _text_shape(words, [value] if value else [])
    return None  # None and other objects: left at their default unless the module's calls show values


def _text_shape(words: list[str], seen: list[str]) -> dict[str, Any]:
    alphabet = "".join(sorted(set("".join(seen)) | set("ab c-\n\t."))) or "ab"
    return {"t": "str", "alphabet": alphabet[:80], "max_size": max([12, *(len(s) + 3 for s in seen)]), "words": words}


def _with_words(shape: dict[str, Any], words: list[str]) -> dict[str, Any]:
    if shape.get("t") == "str":
        return {**shape, "max_size": max(shape.get("max_size", 8), 12), "words": words}
    if shape.get("t") == "one_of":
        return {**shape, "options": [_with_words(s, words) for s in shape["options"]]}
    if shape.get("t") == "list":
        return {**shape, "item": _with_words(shape["item"], words)}
    return shape


def _pick(values: list[Any]) -> dict[str, Any] | None:
    """A shape choosing among values seen passed to a parameter of this name (JSON-safe ones)."""
    keep = []
    for v in values:
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            continue
        if v is not None and v not in keep:
            keep.append(v)
    return {"t": "pick", "values": keep[:12]} if keep else None


class _Planner:
    """Input shapes for a module's functions and methods, informed by the module's own calls."""

    def __init__(
        self, tree: ast.Module, docs: list[tuple[str, list[tuple[str, str | None]]]], words: list[str], extra: list[ast.Module]
    ) -> None:
        self.words = words
        self.tokens, self.byte_tokens = code_tokens(tree)
        self.defs: dict[str, list[str]] = {}  # callable name -> positional parameter names
        for node in (n for t in [tree, *extra] for n in ast.walk(t)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found = _params(node, bool(node.args.args) and node.args.args[0].arg in ("self", "cls"))
                if found is not None:
                    self.defs.setdefault(node.name, found[2])
            elif isinstance(node, ast.ClassDef):
                init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name in ("__init__", "__new__")), None)
                found = _params(init, True) if init is not None else None
                if found is not None:
                    self.defs.setdefault(node.name, found[2])
        trees: list[ast.AST] = [tree, *extra]
        for _, exs in docs:
            for src, _want in exs:
                try:
                    trees.append(ast.parse(src))
                except SyntaxError:
                    continue
        self.calls: dict[str, list[list[Any]]] = {}
        for t in trees:
            for name, seeds in _literal_calls(t, set(self.defs)).items():
                self.calls.setdefault(name, []).extend(x for x in seeds if x not in self.calls[name])
        self.by_param: dict[str, list[Any]] = {}
        for name, seeds in self.calls.items():
            for args, kwargs in seeds:
                for pname, v in [*zip(self.defs.get(name, []), args), *kwargs.items()]:
                    self.by_param.setdefault(pname, []).append(v)

    def arg(self, a: ast.arg, owner: str | None, kinds: set[str] | None = None, affix: list[list[str]] | None = None) -> dict[str, Any]:
        shape = _with_words(_guess(a), self.words)
        if len(a.arg) == 1 and a.annotation is None and shape.get("t") != "one_of":
            # a one-letter name says little (``s`` is a string in one module, saturation in another)
            shape = {"t": "one_of", "options": [shape, _NUMBERS[0], _NUMBERS[1]]}
        if a.annotation is None:  # how the body uses it: bytes for ``.decode()``, text for ``.split()``
            shape = refine(shape, kinds or set(), self.tokens, self.byte_tokens, affix, a.arg)
        if owner is not None and shape.get("t") == "one_of" and not a.annotation:
            # an untyped argument of a method is often another instance of its class (``other``)
            shape = {**shape, "options": [*shape["options"], {"t": "new", "cls": owner}]}
        seen = _pick(self.by_param.get(a.arg, []))
        return {"t": "one_of", "options": [seen, seen, shape]} if seen else shape

    def signature(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, method: bool, owner: str | None, name: str) -> dict[str, Any] | None:
        found = _params(fn, method)
        if found is None:
            return None
        required, optional, names = found
        hints, wraps = param_hints(fn), affixes(fn)
        opt = {}
        for a, d in optional:
            if a.arg.startswith("_"):
                continue  # private by convention: callers leave it alone
            shape = _default_shape(d, self.words) or _pick(self.by_param.get(a.arg, []))
            if shape is None and isinstance(d, ast.Constant) and d.value is None:
                # ``file=None``: now and then what the body uses it as (an in-memory file for ``.write``)
                used = refine({"t": "none"}, hints.get(a.arg, set()), self.tokens, self.byte_tokens, None, a.arg)
                shape = used if used != {"t": "none"} else None
            if shape is not None:
                opt[a.arg] = with_tokens(shape, self.tokens)
        seeds = [s for s in self.calls.get(name, []) if len(s[0]) <= len(names) and set(s[1]) <= {a.arg for a, _ in optional}]
        seeds = [s for s in seeds if len(s[0]) >= len(required)]
        sig = {
            "args": [self.arg(a, owner, hints.get(a.arg), wraps.get(a.arg)) for a in required],
            "names": names,
            "opt": opt,
            "seeds": seeds[:10],
        }
        star = fn.args.vararg
        if star is not None and not star.arg.startswith("_"):
            # ``*attrs``: the runner passes zero to three more positional values of this shape
            sig["varargs"] = self.arg(ast.arg(arg=star.arg.rstrip("s") or star.arg), owner, hints.get(star.arg))
        return sig


def _literal_calls(tree: ast.AST, names: set[str]) -> dict[str, list[list[Any]]]:
    """Literal arguments of calls to ``names`` in ``tree``: name -> [[args, kwargs], ...]."""
    out: dict[str, list[list[Any]]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name not in names or any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
            continue
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {str(k.arg): ast.literal_eval(k.value) for k in node.keywords}
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        try:  # the seeds travel as JSON: keep only values that survive the trip unchanged
            if json.loads(json.dumps([args, kwargs])) != [args, kwargs]:
                continue
        except (TypeError, ValueError, RecursionError):
            continue
        seeds = out.setdefault(name, [])
        if [args, kwargs] not in seeds and len(seeds) < 12:
            seeds.append([args, kwargs])
    return out


def _doc_examples(tree: ast.Module) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """(docstring owner, [(source, want)]) for every docstring with examples in the module."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        doc = ast.get_docstring(node)
        if not doc or ">>>" not in doc:
            continue
        try:
            ex = doctest.DocTestParser().get_examples(doc)
        except ValueError:
            continue
        if ex:
            out.append((getattr(node, "name", "<module>"), [(e.source.rstrip("\n"), e.want or None) for e in ex]))
    return out


def _package(module: str) -> tuple[str, ast.Module] | None:
    """(name, parsed ``__init__``) of the package holding submodule ``module``, if it has one."""
    if "." not in module:
        return None
    name = module.rsplit(".", 1)[0]
    try:
        spec = importlib.util.find_spec(name)
        origin = getattr(spec, "origin", None) if spec is not None else None
        if not (isinstance(origin, str) and origin.endswith("__init__.py")):
            return None
        return name, ast.parse(Path(origin).read_text(encoding="utf-8"))
    except (ImportError, ValueError, OSError, UnicodeDecodeError, SyntaxError):
        return None


def _key(source: str, want: str | None) -> tuple[str, str | None]:
    return re.sub(r"\s+", "", source), None if want is None else re.sub(r"\s+", "", want)


def plan_harness(task: str | None, entry: str | None, known: list[Case] | None = None) -> Harness | None:
    """Drivers and docstring cases for ``entry`` of the module ``task`` names; None when it names none."""
    if not task or not entry:
        return None
    found = _target(task.strip(), entry)
    if found is None:
        return None
    module, owner, path = found
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if owner is not None and (owner not in classes or not any(getattr(n, "name", None) == entry for n in classes[owner].body)):
        return None
    if owner is None and entry not in functions:
        return None
    docs = _doc_examples(tree)
    text = " ".join(ast.get_docstring(n) or "" for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef)))
    package = _package(module)  # a submodule's package: its API and docs also call into the submodule
    extra = [package[1]] if package else []
    pdocs = _doc_examples(package[1]) if package else []
    planner = _Planner(tree, docs + pdocs, list(dict.fromkeys(_WORD.findall(text)))[:80], extra)

    def ctor(cls: ast.ClassDef) -> dict[str, Any] | None:
        init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name in ("__init__", "__new__")), None)
        if init is None:
            return {"args": [], "names": [], "opt": {}, "seeds": []}
        return planner.signature(init, True, None, cls.name)

    drivers: list[dict[str, Any]] = []

    def add(kind: str, name: str, fn: ast.FunctionDef | ast.AsyncFunctionDef | None, cls: ast.ClassDef | None) -> None:
        if isinstance(fn, ast.AsyncFunctionDef) or len(drivers) >= MAX_DRIVERS:
            return
        decorators = {ast.unparse(d) for d in fn.decorator_list} if fn is not None else set()
        if any(d.endswith((".setter", ".deleter")) for d in decorators):
            return
        method = cls is not None and "staticmethod" not in decorators
        sig = (
            {"args": [], "names": [], "opt": {}, "seeds": []}
            if fn is None
            else planner.signature(fn, method, cls.name if cls else None, name)
        )
        if sig is None:
            return
        d: dict[str, Any] = {"kind": kind, "name": name, **sig, "property": "property" in decorators}
        if cls is not None:
            c = ctor(cls)
            if c is None:
                return
            d["cls"], d["ctor"] = cls.name, c
        drivers.append(d)

    def methods(cls: ast.ClassDef) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        return [
            n
            for n in cls.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and (not n.name.startswith("_") or n.name in _DUNDERS)
        ]

    changed = functions[entry] if owner is None else next(n for n in classes[owner].body if getattr(n, "name", None) == entry)
    planner.tokens, planner.byte_tokens = code_tokens(tree, first=changed)  # the changed code's own markers first
    if owner is None:
        add("function", entry, functions[entry], None)
    else:
        cls = classes[owner]
        target = next(n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == entry)
        if entry in ("__init__", "__new__"):
            add("method", "", None, cls)  # construct only: the instance's state is the result
        elif not entry.startswith("__") or entry in _DUNDERS:
            add("method", entry, target, cls)
        for m in methods(cls):
            if m.name != entry:
                add("method", m.name, m, cls)
    for name, fn in functions.items():
        if not name.startswith("_") and name != entry:
            add("function", name, fn, None)
    for name, cls in classes.items():
        if name != owner and not name.startswith("_"):
            for m in methods(cls)[:6]:
                add("method", m.name, m, cls)
    if package:
        for node in package[1].body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                before = len(drivers)
                add("function", node.name, node, None)
                if len(drivers) > before:
                    drivers[-1]["module"] = package[0]
    known_keys = {_key(c.source, c.want) for c in known or []}
    cases: list[Case] = []
    for g, (_, exs) in enumerate(docs):
        if all(_key(src, want) in known_keys for src, want in exs):
            continue  # the task statement's own examples, already run
        # a docstring's examples run in order in one namespace, as doctest runs them
        cases += [Case(f"md{len(cases) + i + 1}", src, want, group=f"doc{g}") for i, (src, want) in enumerate(exs)]
    depth = module.count(".") + (path.name == "__init__.py")
    root = str(path.resolve().parents[depth]) if depth < len(path.resolve().parents) else ""
    return Harness(module, owner, entry, drivers, cases[:120], root)
