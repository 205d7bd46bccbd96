"""Recognise a change that is a standard behaviour-preserving refactoring of Python code.

:func:`recognise_refactoring` puts the code before and after a change through the same
normalisations, each the inverse of a refactoring from the standard catalogue, and reports the
one after which the two versions have the same syntax tree (or the ones, joined with "+", when
it takes several applied in turn):

- **inline constant**: a local assigned a literal once and never rebound is replaced by the
  literal (undoes *extract constant*);
- **loop to comprehension**: ``x = []`` followed by ``for t in it: [if c:] x.append(e)`` becomes
  ``x = [e for t in it if c]``;
- **invert if**: ``if not c: A else: B`` (or ``!=``, ``is not``, ``not in``) becomes
  ``if c: B else: A``;
- **slide statements**: adjacent assignments of side-effect-free values to different names,
  neither reading the other's, are put in one canonical order;
- **rename local**: the function's local variables (not its parameters, globals or nonlocals)
  are renamed by order of first appearance.

The loop and assignment patterns are defined once, in :mod:`oversight_ext.items.operators`
(:func:`~oversight_ext.items.operators.append_loop`, :func:`~oversight_ext.items.operators.simple_assignment`),
which the mutation generator's rewrites also use.

The ``exec`` backend uses it where execution has nothing to say (no input ran the changed lines):
a recognised refactoring is reported as behaviour-preserving rather than left unverified.
Equal trees after normalisation is a syntactic argument, not a proof under every dynamic
feature of Python (a function that reads its locals by name through ``locals()`` or ``eval``
is never normalised by renaming).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable

from oversight_ext.items.operators import append_loop, simple_assignment

__all__ = ["NORMALISATIONS", "recognise_refactoring"]

_INVERSE = {ast.NotEq: ast.Eq, ast.IsNot: ast.Is, ast.NotIn: ast.In}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _own_nodes(func: ast.AST) -> list[ast.AST]:
    """The nodes of ``func``'s body, not descending into nested functions, lambdas or classes."""
    out: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(func))
    while todo:
        n = todo.pop()
        out.append(n)
        if not isinstance(n, _SCOPES):
            todo.extend(ast.iter_child_nodes(n))
    return out


def _bodies(func: ast.AST) -> list[list[ast.stmt]]:
    """Every statement list of ``func``'s own code."""
    return [
        value
        for n in [func, *_own_nodes(func)]
        if not isinstance(n, _SCOPES) or n is func
        for field in ("body", "orelse", "finalbody")
        if isinstance(value := getattr(n, field, None), list) and value and isinstance(value[0], ast.stmt)
    ]


def _stored(func: ast.AST) -> dict[str, int]:
    """How many times each name is bound in ``func``'s own code."""
    count: dict[str, int] = {}
    for n in _own_nodes(func):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            count[n.id] = count.get(n.id, 0) + 1
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            count[n.name] = count.get(n.name, 0) + 1
    return count


def _declared(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Parameters, globals and nonlocals: names a rename would change the meaning of."""
    a = func.args
    names = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]}
    for n in _own_nodes(func):
        if isinstance(n, (ast.Global, ast.Nonlocal)):
            names.update(n.names)
    return names


def _dynamic(func: ast.AST) -> bool:
    """Whether the function may look its locals up by name."""
    return any(isinstance(n, ast.Name) and n.id in {"locals", "vars", "eval", "exec"} for n in ast.walk(func))


def inline_constants(tree: ast.Module) -> None:
    for func in _functions(tree):
        stored = _stored(func)
        for body in _bodies(func):
            for st in list(body):
                if not (isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name)):
                    continue
                name = st.targets[0].id
                if not isinstance(st.value, ast.Constant) or stored.get(name) != 1 or name in _declared(func) or _dynamic(func):
                    continue
                for n in _own_nodes(func):
                    for field, value in ast.iter_fields(n):
                        if isinstance(value, ast.Name) and value.id == name and isinstance(value.ctx, ast.Load):
                            setattr(n, field, ast.Constant(st.value.value))
                        elif isinstance(value, list):
                            value[:] = [
                                ast.Constant(st.value.value)
                                if isinstance(v, ast.Name) and v.id == name and isinstance(v.ctx, ast.Load)
                                else v
                                for v in value
                            ]
                body.remove(st)


def loops_to_comprehensions(tree: ast.Module) -> None:
    for func in _functions(tree):
        for body in _bodies(func):
            k = 0
            while k < len(body) - 1:
                init, loop = body[k], body[k + 1]
                found = append_loop(init, loop)
                if found is not None:
                    name, elt, cond = found
                    assert isinstance(loop, ast.For)
                    comp = ast.ListComp(elt, [ast.comprehension(loop.target, loop.iter, [cond] if cond else [], 0)])
                    target = ast.copy_location(ast.Name(name, ast.Store()), init.targets[0])  # type: ignore[attr-defined]
                    body[k : k + 2] = [ast.copy_location(ast.Assign([target], comp), init)]
                k += 1


def invert_ifs(tree: ast.Module) -> None:
    for n in ast.walk(tree):
        if not (isinstance(n, ast.If) and n.orelse):
            continue
        t = n.test
        if isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not):
            n.test = t.operand
        elif isinstance(t, ast.Compare) and len(t.ops) == 1 and type(t.ops[0]) in _INVERSE:
            t.ops = [_INVERSE[type(t.ops[0])]()]
        else:
            continue
        n.body, n.orelse = n.orelse, n.body


def slide_statements(tree: ast.Module) -> None:
    for func in _functions(tree):
        for body in _bodies(func):
            changed = True
            while changed:  # bubble sort of adjacent independent assignments by their text
                changed = False
                for k in range(len(body) - 1):
                    a, b = simple_assignment(body[k]), simple_assignment(body[k + 1])
                    if a is None or b is None or a[0] == b[0] or a[0] in b[1] or b[0] in a[1]:
                        continue
                    if ast.dump(body[k]) > ast.dump(body[k + 1]):
                        body[k], body[k + 1] = body[k + 1], body[k]
                        changed = True


def rename_locals(tree: ast.Module) -> None:
    for func in _functions(tree):
        if _dynamic(func):
            continue
        declared = _declared(func)
        nested = {n.name for n in _own_nodes(func) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        inner = {n.id for s in _own_nodes(func) if isinstance(s, _SCOPES) for n in ast.walk(s) if isinstance(n, ast.Name)}
        local = set(_stored(func)) - declared - nested - inner  # names nested scopes close over keep theirs
        order: dict[str, str] = {}
        for n in sorted((n for n in _own_nodes(func) if isinstance(n, ast.Name)), key=lambda n: (n.lineno, n.col_offset)):
            if n.id in local:
                n.id = order.setdefault(n.id, f"_local{len(order)}")


#: The normalisations, in the order they are applied, each named by the refactoring it undoes.
NORMALISATIONS: list[tuple[str, Callable[[ast.Module], None]]] = [
    ("extract constant", inline_constants),
    ("loop to comprehension", loops_to_comprehensions),
    ("invert if", invert_ifs),
    ("slide statements", slide_statements),
    ("rename local", rename_locals),
]


def _strip(tree: ast.Module) -> str:
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def recognise_refactoring(before: str, after: str) -> str | None:
    """The refactoring that turns ``before`` into ``after`` (a name from :data:`NORMALISATIONS`),
    or None when the two differ in behaviour-relevant ways, do not parse, or are the same text."""
    if before == after:
        return None
    try:
        trees = [ast.parse(before), ast.parse(after)]
    except (SyntaxError, ValueError):
        return None
    if _strip(trees[0]) == _strip(trees[1]):
        return "layout"  # the same tree: only formatting or comments changed
    for name, _ in NORMALISATIONS:  # one refactoring
        if _equal_after(trees, [name]):
            return name
    names = [name for name, _ in NORMALISATIONS]
    if not _equal_after(trees, names):
        return None
    needed = list(names)  # several: keep only those the equality needs
    for name in names:
        if _equal_after(trees, [n for n in needed if n != name]):
            needed.remove(name)
    return " + ".join(needed)


def _equal_after(trees: list[ast.Module], names: list[str]) -> bool:
    """Whether the two trees are equal once the named normalisations are applied in turn."""
    trees = [copy.deepcopy(t) for t in trees]
    for name, normalise in NORMALISATIONS:
        if name in names:
            for t in trees:
                normalise(t)
    return _strip(trees[0]) == _strip(trees[1])
