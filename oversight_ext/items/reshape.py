"""The same bug in other program shapes: a function item as a script that reads standard input,
or as a method of a LeetCode-style ``class Solution``, with the same gold.

Benchmarks of code critics are mostly functions with doctests; real code under review also
comes as contest scripts (read the input, print the answer) and platform classes. These
generators turn a function item (QuixBugs, HumanEvalFix, ...) whose task statement has
doctest examples into those shapes, so a critic's figures can be compared across shapes on the
same bugs:

- :func:`as_stdin_script`: the function unchanged, then top-level lines that read its arguments
  the way contest scripts do (``int(input())``, a list as its length and then its items on one
  line, ``input().split()``), call it and print the result. The statement gets an ``Input`` /
  ``Output`` description and, with ``with_samples``, the examples as ``Sample Input`` /
  ``Sample Output`` blocks. The bug lines do not move.
- :func:`as_solution_class`: the function as a method of ``class Solution`` (recursive calls
  through ``self``), the statement's examples as ``Example k: Input: a = 1, b = [2] / Output: 3``
  (or none), the language written ``python3`` as the platform does. Lines from the function on
  move down by one.

An item whose examples are not literal calls of its function gets None (nothing to convert).

- :func:`package_module_items`: whole modules of an installed package that import their
  siblings relatively (``from ._re import ...``), each with a bug planted in one top-level
  function (:func:`~oversight_ext.items.mutate.plant_bugs`) and its fix as the correct control;
  the path names the package (``tomllib/_parser.py``) so a critic can load the module beside it.
"""

from __future__ import annotations

import ast
import doctest
import hashlib
import re
from dataclasses import replace
from typing import Any, Literal

from oversight_ext.diffs import changed_lines, make_diff
from oversight_ext.records import Item

__all__ = ["as_solution_class", "as_stdin_script", "examples_of", "package_module_items"]


def _entry(code: str, spec: str) -> ast.FunctionDef | None:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    called = set(re.findall(r">>>\s*([A-Za-z_]\w*)\s*\(", spec))
    named = [f for f in funcs if f.name in called]
    return named[-1] if named else None


def examples_of(item: Item) -> tuple[str, list[str], list[tuple[list[Any], Any]]] | None:
    """(function name, parameter names, [(argument values, result)]) of the statement's doctest
    examples that call the item's function with literal arguments and a literal result."""
    code, spec = item.before or "", item.spec or ""
    fn = _entry(code, spec)
    if fn is None or fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs:
        return None
    params = [a.arg for a in [*fn.args.posonlyargs, *fn.args.args]]
    out = []
    for ex in doctest.DocTestParser().get_examples(spec):
        try:
            call = ast.parse(ex.source.strip(), mode="eval").body
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == fn.name) or call.keywords:
                continue
            args = [ast.literal_eval(a) for a in call.args]
            want = ast.literal_eval(ex.want.strip())
        except (SyntaxError, ValueError, TypeError):
            continue
        if len(args) == len(params):
            out.append((args, want))
    return (fn.name, params, out) if out else None


def _form(values: list[Any]) -> str:
    """How a contest script would read an argument with these example values."""
    if all(type(v) is int for v in values):
        return "int"
    if all(type(v) in (int, float) for v in values):
        return "float"
    if all(isinstance(v, str) and "\n" not in v and v == v.strip() for v in values):
        return "str"
    if all(isinstance(v, list) for v in values):
        items = [x for v in values for x in v]
        if all(type(x) is int for x in items):
            return "ints"
        if all(type(x) in (int, float) for x in items):
            return "floats"
        if all(isinstance(x, str) and x and not any(c.isspace() for c in x) for x in items):
            return "words"
    return "literal"


def _reads(name: str, form: str) -> list[str]:
    var = f"arg_{name}"
    return {
        "int": [f"{var} = int(input())"],
        "float": [f"{var} = float(input())"],
        "str": [f"{var} = input()"],
        "ints": [f"n_{name} = int(input())", f"{var} = list(map(int, input().split()))"],
        "floats": [f"n_{name} = int(input())", f"{var} = list(map(float, input().split()))"],
        "words": [f"n_{name} = int(input())", f"{var} = input().split()"],
        "literal": [f"{var} = ast.literal_eval(input())"],
    }[form]


def _lines(value: Any, form: str) -> list[str]:
    if form in ("ints", "floats", "words"):
        return [str(len(value)), " ".join(str(x) for x in value)]
    if form == "literal":
        return [repr(value)]
    return [str(value)]


def _statement(spec: str) -> str:
    """The statement without its examples (everything from the first ``>>>`` or "example")."""
    cut = re.search(r"^.*(>>>|\bexamples?\b|\bfor example\b).*$", spec, re.IGNORECASE | re.MULTILINE)
    return (spec[: cut.start()] if cut else spec).strip()


def _without_doctests(code: str) -> str:
    """``code`` with its doctest examples blanked out, line for line (the bug lines stay put)."""
    out, blank = [], False
    for ln in code.splitlines():
        stripped = ln.strip()
        if stripped.startswith(">>>") or stripped.startswith("..."):
            blank = True
        elif not stripped or '"""' in stripped or "'''" in stripped:
            blank = False
        out.append("" if blank else ln)
    return "\n".join(out) + "\n"


def _same_gold(item: Item, before: str, after: str, shift: int, at: int, **extra: Any) -> Item:
    def moved(lines: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(ln + shift if ln >= at else ln for ln in lines)

    return replace(
        item,
        id=f"{item.id}:{extra.pop('shape')}",
        pair_id=f"{item.pair_id}:{extra.pop('pair_shape')}" if item.pair_id else None,
        before=before,
        after=after,
        diff=make_diff(before, after, item.path or "main.py"),
        bug_lines=moved(item.bug_lines),
        bug_lines_before=moved(item.bug_lines_before),
        **extra,
    )


def as_stdin_script(item: Item, *, with_samples: bool = True) -> Item | None:
    """The item as a script that reads its arguments from standard input (see the module doc)."""
    found = examples_of(item)
    if found is None or item.before is None or item.after is None:
        return None
    name, params, examples = found
    forms = [_form([args[i] for args, _ in examples]) for i in range(len(params))]
    reads = [ln for p, f in zip(params, forms) for ln in _reads(p, f)]
    call = f"print({name}({', '.join(f'arg_{p}' for p in params)}))"
    tail = "\n\n" + ("import ast\n" if "literal" in forms else "") + "\n".join([*reads, call]) + "\n"
    before, after = item.before.rstrip("\n") + "\n" + tail, item.after.rstrip("\n") + "\n" + tail
    what = ", ".join(
        f"`{p}` ({'its length, then its items on one line' if f in ('ints', 'floats', 'words') else 'a Python literal' if f == 'literal' else 'one line'})"
        for p, f in zip(params, forms)
    )
    task = f"{_statement(item.spec or '')}\n\nInput\nThe arguments of {name}, in order: {what}.\n\nOutput\nPrint what {name} returns.\n"
    if with_samples:
        for k, (args, want) in enumerate(examples, 1):
            text = "\n".join(ln for a, f in zip(args, forms) for ln in _lines(a, f))
            task += f"\nSample Input {k}\n{text}\n\nSample Output {k}\n{want}\n"
    shape = "stdin" if with_samples else "stdin-nosamples"
    return _same_gold(item, before, after, 0, 1, shape=shape, pair_shape=shape, spec=task)


def _as_method(code: str, name: str) -> str | None:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if fn is None:
        return None
    lines = code.splitlines()
    first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)]) - 1
    body = lines[first : fn.end_lineno]
    call = re.compile(rf"(?<![\w.]){re.escape(name)}\(")
    doc = fn.body[0] if isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant) else None
    out = []
    for i, ln in enumerate(body):
        if i + first == fn.lineno - 1:
            ln = re.sub(rf"def {re.escape(name)}\(\s*", f"def {name}(self, ", ln, count=1).replace("(self, )", "(self)")
        elif doc is None or not doc.lineno - 1 <= i + first <= (doc.end_lineno or doc.lineno) - 1:
            ln = call.sub(f"self.{name}(", ln)  # a recursive call; the docstring's examples stay as written
        out.append(("    " + ln) if ln.strip() else ln)
    return "\n".join([*lines[:first], "class Solution:", *out, *lines[fn.end_lineno :]]) + "\n"


def as_solution_class(item: Item, *, with_examples: bool = True) -> Item | None:
    """The item as a method of a LeetCode-style ``class Solution`` (see the module doc)."""
    found = examples_of(item)
    if found is None or item.before is None or item.after is None:
        return None
    name, params, examples = found
    fn = _entry(item.before, item.spec or "")
    before, after = _as_method(item.before, name), _as_method(item.after, name)
    if fn is None or before is None or after is None:
        return None
    at = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
    task = _statement(item.spec or "")
    if with_examples:
        for k, (args, want) in enumerate(examples, 1):
            shown = ", ".join(f"{p} = {a!r}" for p, a in zip(params, args))
            task += f"\n\nExample {k}:\nInput: {shown}\nOutput: {want!r}"
    if not with_examples:  # as a platform's solution: no examples in the code either
        before, after = _without_doctests(before), _without_doctests(after)
    shape = "solution" if with_examples else "solution-noexamples"
    return _same_gold(item, before, after, 1, at, shape=shape, pair_shape=shape, spec=task + "\n", language="python3")


def _imports_siblings(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(n, ast.ImportFrom) and n.level > 0 for n in ast.walk(tree))


def _enclosing_doc(code: str, line: int) -> tuple[str, str]:
    """(name, docstring) of the top-level function of ``code`` holding ``line``."""
    for st in ast.parse(code).body:
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)) and st.lineno <= line <= (st.end_lineno or st.lineno):
            return st.name, ast.get_docstring(st) or ""
    return "", ""


def package_module_items(package: str, n: int, seed: int) -> list[Item]:
    """``n`` items (whole pairs: a planted bug and its fix) in whole modules of ``package`` that
    import their siblings relatively. Deterministic per seed; ValueError when ``package`` is not
    an installed package with such modules or cannot give ``n`` distinct items."""
    import numpy as np

    from oversight_ext.items.mutate import find_sources, plant_bugs

    files = [f for f in find_sources(package) if _imports_siblings(f.path.read_text(encoding="utf-8"))]
    if not files:
        raise ValueError(f"package={package!r} has no module that imports a sibling relatively; name a package such as 'tomllib'")
    rng = np.random.default_rng(seed)
    items: list[Item] = []
    seen: set[str] = set()
    for _ in range(20 * n):
        if len(items) >= n:
            break
        f = files[int(rng.integers(len(files)))]
        code = f.path.read_text(encoding="utf-8")
        found = plant_bugs(code, 1, rng)
        if not found or found[0][1] in seen:
            continue
        change, mutated = found[0]
        seen.add(mutated)
        pair_id = "pkg-pair-" + hashlib.sha256(f"{f.rel}\0{mutated}".encode()).hexdigest()[:16]
        bug = tuple(sorted(changed_lines(make_diff(code, mutated, f.rel))[f.rel]))
        name, doc = _enclosing_doc(mutated, bug[0] if bug else 1)
        common: dict[str, Any] = {
            "language": "python",
            "source": "package-module",
            "task": f"{f.module}.{name}",
            "path": f.rel,
            "pair_id": pair_id,
            "spec": doc,
            "bug_type": change.operator,
            "licence": None,
            "provenance": {"module": f.module, "path": f.rel, "function": name},
            "meta": {"generator": "oversight_ext.items.reshape.package_module_items", "edit": change.operator},
        }
        versions: tuple[tuple[str, str, Literal["buggy", "correct"], str], ...] = (
            (code, mutated, "buggy", "introduce_bug"),
            (mutated, code, "correct", "fix_bug"),
        )
        for before, after, label, direction in versions:
            diff = make_diff(before, after, f.rel)
            items.append(
                Item(
                    id=f"{pair_id}:{label}",
                    diff=diff,
                    before=before,
                    after=after,
                    label=label,
                    direction=direction,
                    bug_lines=bug if label == "buggy" else (),
                    bug_lines_before=tuple(sorted(changed_lines(diff, "old")[f.rel])) if label == "correct" else (),
                    explanation=f"Planted bug ({change.operator}): {change.description}."
                    if label == "buggy"
                    else f"The fix: {change.undo}.",
                    **common,
                )
            )
    if len(items) < n:
        raise ValueError(f"package={package!r} gave {len(items)} distinct items of the {n} asked; ask for fewer")
    return items[:n]
