"""Normal forms of Python syntax trees, each undoing one kind of behaviour-preserving change.

Each function rewrites a module's tree in place so that two programs that differ only by that
kind of change get the same tree. They are designed from what preserves behaviour in Python
(which rewrites leave every observable result, exception and side effect as it was), not from
any particular generator of changes: where a rewrite is safe only for some values (``x = x +
y`` and ``x += y`` differ for lists), the normal form applies only where it is safe for every
value (a numeric literal ``y``).

:mod:`.refactoring` names them and applies them to both versions of a change.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_INVERSE = {ast.NotEq: ast.Eq, ast.IsNot: ast.Is, ast.NotIn: ast.In}
#: Calls that neither observe nor cause side effects another statement could interact with.
_PURE_CALLS = {
    "len",
    "int",
    "float",
    "str",
    "bool",
    "abs",
    "isinstance",
    "ord",
    "chr",
    "repr",
    "round",
    "min",
    "max",
    "tuple",
    "sum",
    "any",
    "all",
    "sorted",
}
_PURE = (
    ast.Name, ast.Constant, ast.Attribute, ast.Subscript, ast.Slice, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare,
    ast.Tuple, ast.List, ast.Dict, ast.IfExp, ast.JoinedStr, ast.FormattedValue, ast.GeneratorExp, ast.ListComp,
    ast.comprehension, ast.expr_context, ast.operator,
    ast.unaryop, ast.boolop, ast.cmpop, ast.Call,
)  # fmt: skip
_FOLD: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod, ast.LShift: operator.lshift, ast.BitOr: operator.or_, ast.BitAnd: operator.and_,
    ast.BitXor: operator.xor, ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert,
}  # fmt: skip


# ----------------------------------------------------------------------------- scopes


def functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def own_nodes(func: ast.AST) -> list[ast.AST]:
    """The nodes of ``func``'s body, not descending into nested functions, lambdas or classes."""
    out: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(func))
    while todo:
        n = todo.pop()
        out.append(n)
        if not isinstance(n, _SCOPES):
            todo.extend(ast.iter_child_nodes(n))
    return out


def bodies(func: ast.AST) -> list[list[ast.stmt]]:
    """Every statement list of ``func``'s own code."""
    return [
        value
        for n in [func, *own_nodes(func)]
        if not isinstance(n, _SCOPES) or n is func
        for field in ("body", "orelse", "finalbody")
        if isinstance(value := getattr(n, field, None), list) and value and isinstance(value[0], ast.stmt)
    ]


def stored(func: ast.AST) -> dict[str, int]:
    """How many times each name is bound in ``func``'s own code."""
    count: dict[str, int] = {}
    for n in own_nodes(func):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            count[n.id] = count.get(n.id, 0) + 1
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            count[n.name] = count.get(n.name, 0) + 1
    return count


def declared(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Parameters, globals and nonlocals: names a rename would change the meaning of."""
    a = func.args
    names = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]}
    for n in own_nodes(func):
        if isinstance(n, (ast.Global, ast.Nonlocal)):
            names.update(n.names)
    return names


def dynamic(func: ast.AST) -> bool:
    """Whether the function may look its locals up by name."""
    return any(isinstance(n, ast.Name) and n.id in {"locals", "vars", "eval", "exec"} for n in ast.walk(func))


def pure(expr: ast.AST) -> bool:
    """Whether evaluating ``expr`` can neither cause a side effect nor observe another statement's."""
    return all(
        isinstance(n, _PURE) and not (isinstance(n, ast.Call) and not (isinstance(n.func, ast.Name) and n.func.id in _PURE_CALLS))
        for n in ast.walk(expr)
    )


def reads(expr: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}


def _loads(func: ast.AST, name: str) -> list[tuple[ast.AST, str, int | None]]:
    """Where ``name`` is read in ``func``'s own code: (parent, field, index in a list field)."""
    out: list[tuple[ast.AST, str, int | None]] = []
    for n in own_nodes(func):
        for field, value in ast.iter_fields(n):
            if isinstance(value, ast.Name) and value.id == name and isinstance(value.ctx, ast.Load):
                out.append((n, field, None))
            elif isinstance(value, list):
                out += [
                    (n, field, i) for i, v in enumerate(value) if isinstance(v, ast.Name) and v.id == name and isinstance(v.ctx, ast.Load)
                ]
    return out


def _put(parent: ast.AST, field: str, index: int | None, new: ast.AST) -> None:
    if index is None:
        setattr(parent, field, new)
    else:
        getattr(parent, field)[index] = new


# ----------------------------------------------------------------------------- normal forms


def inline_literals(tree: ast.Module) -> None:
    """A local bound once to a literal is replaced by the literal (undoes *extract constant*)."""
    for func in functions(tree):
        if dynamic(func):
            continue
        count, params = stored(func), declared(func)
        for body in bodies(func):
            for st in list(body):
                name = _single_target(st)
                if name is None or count.get(name) != 1 or name in params or not isinstance(st.value, ast.Constant):  # type: ignore[attr-defined]
                    continue
                for parent, field, index in _loads(func, name):
                    _put(parent, field, index, ast.copy_location(ast.Constant(st.value.value), st))  # type: ignore[attr-defined]
                body.remove(st)


def inline_variables(tree: ast.Module) -> None:
    """A local bound once to a side-effect-free expression and read once, in a later statement
    of the same block where that statement always evaluates it (not in a nested block, loop or
    scope), is replaced by the expression, provided no name the expression reads is rebound
    (undoes *extract variable*; *inline variable* is its inverse)."""
    for func in functions(tree):
        if dynamic(func):
            continue
        count, params = stored(func), declared(func)
        for body in bodies(func):
            for st in list(body):
                name = _single_target(st)
                if name is None or count.get(name) != 1 or name in params:
                    continue
                value = st.value  # type: ignore[attr-defined]
                if isinstance(value, (ast.Constant, ast.List, ast.Dict)) or not pure(value):
                    continue
                if any(count.get(r, 0) > (0 if r in params else 1) for r in reads(value)):
                    continue
                uses = _loads(func, name)
                later = body[body.index(st) + 1 :]
                heads = {id(n) for later_st in later for h in _headers(later_st) for n in ast.walk(h)}
                if len(uses) != 1 or not any(id(getattr(p, f) if i is None else getattr(p, f)[i]) in heads for p, f, i in uses):
                    continue
                parent, field, index = uses[0]
                _put(parent, field, index, ast.copy_location(_clone(value), st))
                body.remove(st)


def _single_target(st: ast.stmt) -> str | None:
    if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
        return st.targets[0].id
    return None


def _headers(st: ast.stmt) -> list[ast.AST]:
    """The parts of a statement that run every time it does (a compound statement's header)."""
    if isinstance(st, (ast.If, ast.While)):
        return [st.test]
    if isinstance(st, (ast.For, ast.AsyncFor)):
        return [st.iter]
    if isinstance(st, (ast.With, ast.AsyncWith)):
        return [i.context_expr for i in st.items]
    if isinstance(st, (ast.Try, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return []
    return [st]


def _clone(node: ast.expr) -> ast.expr:
    out = ast.parse(ast.unparse(node), mode="eval").body
    return out


def fold_constants(tree: ast.Module) -> None:
    """Arithmetic on numeric literals is replaced by its value (``60 * 60`` -> ``3600``), as are
    concatenations of string literals; results too large to be a readable constant are left."""

    class Folder(ast.NodeTransformer):
        def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
            self.generic_visit(node)
            op = _FOLD.get(type(node.op))
            if op and isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant):
                return _folded(node, op, node.left.value, node.right.value)
            return node

        def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
            self.generic_visit(node)
            op = _FOLD.get(type(node.op))
            if op and isinstance(node.operand, ast.Constant):
                return _folded(node, op, node.operand.value)
            return node

    Folder().visit(tree)


def _folded(node: ast.expr, op: Callable[..., Any], *values: Any) -> ast.expr:
    if not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in values) or len({type(v) for v in values}) > 1:
        return node
    try:
        value = op(*values)
    except (ArithmeticError, TypeError, ValueError):
        return node
    if isinstance(value, (int, str)) and len(repr(value)) <= 40:
        return ast.copy_location(ast.Constant(value), node)
    return node


def format_strings(tree: ast.Module) -> None:
    """``"a{}b".format(x)``, ``"a%sb" % x`` and ``"a" + str(x) + "b"`` become ``f"a{x}b"``
    (only where the forms agree for every value: plain ``{}``/``%s`` fields, no format spec)."""

    class Formats(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.AST:
            self.generic_visit(node)
            f = node.func
            if (
                isinstance(f, ast.Attribute)
                and f.attr == "format"
                and isinstance(f.value, ast.Constant)
                and isinstance(f.value.value, str)
                and not node.keywords
                and not any(isinstance(a, ast.Starred) for a in node.args)
            ):
                parts = f.value.value.replace("{{", "\0").replace("}}", "\1").split("{}")
                if len(parts) == len(node.args) + 1 and not any("{" in p or "}" in p for p in parts):
                    return _joined(node, [p.replace("\0", "{").replace("\1", "}") for p in parts], node.args)
            return node

        def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
            self.generic_visit(node)
            if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
                args = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
                text = node.left.value.replace("%%", "\0")
                parts = text.split("%s")
                if isinstance(node.right, ast.Tuple) and len(parts) == len(args) + 1 and not any("%" in p for p in parts):
                    return _joined(node, [p.replace("\0", "%") for p in parts], args)
            if isinstance(node.op, ast.Add):
                pieces = _concat(node)
                if pieces is not None:
                    return _normal_joined(node, pieces)
            return node

    Formats().visit(tree)
    for n in ast.walk(tree):  # f"a" "b" pieces merged, so each spelling ends the same
        if isinstance(n, ast.JoinedStr):
            n.values = _merge(n.values)


def _concat(node: ast.expr) -> list[ast.expr] | None:
    """The pieces of ``"a" + str(x) + f"..."``, when it is a concatenation of strings for sure."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _concat(node.left), _concat(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, ast.JoinedStr):
        return list(node.values)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "str"
        and len(node.args) == 1
        and not node.keywords
    ):
        return [ast.FormattedValue(node.args[0], -1, None)]
    return None


def _normal_joined(node: ast.expr, pieces: list[ast.expr]) -> ast.expr:
    if not any(isinstance(p, ast.FormattedValue) for p in pieces):
        return node  # plain literals: fold_constants' business
    return ast.copy_location(ast.JoinedStr(_merge(pieces)), node)


def _joined(node: ast.expr, texts: list[str], args: list[ast.expr]) -> ast.expr:
    values: list[ast.expr] = []
    for k, text in enumerate(texts):
        if text:
            values.append(ast.Constant(text))
        if k < len(args):
            values.append(ast.FormattedValue(args[k], -1, None))
    return ast.copy_location(ast.JoinedStr(_merge(values)), node)


def _merge(values: list[ast.expr]) -> list[ast.expr]:
    out: list[ast.expr] = []
    for v in values:
        last = out[-1] if out else None
        if isinstance(v, ast.Constant) and isinstance(last, ast.Constant) and isinstance(v.value, str) and isinstance(last.value, str):
            out[-1] = ast.Constant(last.value + v.value)
        elif not (isinstance(v, ast.Constant) and v.value == ""):
            out.append(v)
    return out


def builtin_defaults(tree: ast.Module) -> None:
    """Arguments equal to their defaults go: ``range(0, n)``/``range(a, b, 1)`` -> ``range(n)``/
    ``range(a, b)``, ``x[0:n]`` -> ``x[:n]``, ``x[a:len(x)]`` -> ``x[a:]``; ``list()``, ``dict()``,
    ``x += 1`` spelled ``x = x + 1`` (numeric literal only: for lists the two differ)."""
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "range" and not n.keywords:
            if len(n.args) == 3 and _is(n.args[2], 1):
                n.args = n.args[:2]
            if len(n.args) == 2 and _is(n.args[0], 0):
                n.args = n.args[1:]
        elif isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Slice):
            s = n.slice
            if s.lower is not None and _is(s.lower, 0):
                s.lower = None
            if s.step is not None and _is(s.step, 1):
                s.step = None
            up = s.upper
            is_len = isinstance(up, ast.Call) and isinstance(up.func, ast.Name) and up.func.id == "len" and len(up.args) == 1
            if is_len and ast.dump(up.args[0]) == ast.dump(n.value):  # type: ignore[union-attr]
                s.upper = None
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if isinstance(value, list):
                value[:] = [_augmented(v) if isinstance(v, ast.stmt) else v for v in value]
            elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and not value.args and not value.keywords:
                empty = {"list": ast.List([], ast.Load()), "dict": ast.Dict([], []), "tuple": ast.Tuple([], ast.Load())}
                if value.func.id in empty:
                    setattr(parent, field, ast.copy_location(empty[value.func.id], value))


def _is(node: ast.expr, value: int) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value == value


def _augmented(st: ast.stmt) -> ast.stmt:
    if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and isinstance(st.value, ast.BinOp):
        v = st.value
        same = isinstance(v.left, ast.Name) and v.left.id == st.targets[0].id
        if same and isinstance(v.right, ast.Constant) and isinstance(v.right.value, (int, float)) and not isinstance(v.right.value, bool):
            assert isinstance(v.left, ast.Name)
            return ast.copy_location(ast.AugAssign(ast.Name(v.left.id, ast.Store()), v.op, v.right), st)
    return st


def loops_to_comprehensions(tree: ast.Module) -> None:
    """``x = []`` (``set()``, ``{}``) followed by a loop nest of ``for``s and ``if``s (no
    ``else``) whose only statement is ``x.append(e)`` (``x.add(e)``, ``x[k] = v``) becomes the
    comprehension ``x = [e for ... if ...]`` (undoes *replace comprehension with loop*)."""
    for func in functions(tree):
        for body in bodies(func):
            k = 0
            while k < len(body) - 1:
                comp = _comprehension(body[k], body[k + 1])
                if comp is not None:
                    body[k : k + 2] = [ast.copy_location(comp, body[k])]
                k += 1


def _comprehension(init: ast.stmt, loop: ast.stmt) -> ast.Assign | None:
    name = _single_target(init)
    if name is None or not isinstance(loop, ast.For):
        return None
    value = init.value  # type: ignore[attr-defined]
    kind = (
        "list"
        if isinstance(value, ast.List) and not value.elts
        else "dict"
        if isinstance(value, ast.Dict) and not value.keys
        else "set"
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "set" and not value.args
        else None
    )
    if kind is None:
        return None
    gens: list[ast.comprehension] = []
    st: ast.stmt = loop
    while True:
        if isinstance(st, ast.For) and not st.orelse and len(st.body) == 1:
            gens.append(ast.comprehension(st.target, st.iter, [], 0))
        elif isinstance(st, ast.If) and not st.orelse and len(st.body) == 1 and gens:
            gens[-1].ifs.append(st.test)
        else:
            break
        st = st.body[0]
    if not gens or name in reads(ast.Module([loop], [])) - {name} or _uses_outside(loop, name, st):
        return None
    target = ast.Name(name, ast.Store())
    if kind in ("list", "set") and isinstance(st, ast.Expr) and isinstance(call := st.value, ast.Call):
        f = call.func
        want = "append" if kind == "list" else "add"
        mine = isinstance(f, ast.Attribute) and f.attr == want and isinstance(f.value, ast.Name) and f.value.id == name
        if mine and len(call.args) == 1 and not call.keywords and name not in reads(call.args[0]):
            node: ast.expr = ast.ListComp(call.args[0], gens) if kind == "list" else ast.SetComp(call.args[0], gens)
            return ast.Assign([target], node, lineno=init.lineno)
    sub = st.targets[0] if kind == "dict" and isinstance(st, ast.Assign) and len(st.targets) == 1 else None
    mine = isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name) and sub.value.id == name
    if mine and isinstance(sub, ast.Subscript) and isinstance(st, ast.Assign) and name not in reads(sub.slice) | reads(st.value):
        return ast.Assign([target], ast.DictComp(sub.slice, st.value, gens), lineno=init.lineno)
    return None


def _uses_outside(loop: ast.For, name: str, inner: ast.stmt) -> bool:
    """Whether the loop nest reads ``name`` anywhere but in its innermost statement's target."""
    inner_ids = {id(n) for n in ast.walk(inner)}
    return any(isinstance(n, ast.Name) and n.id == name and id(n) not in inner_ids for n in ast.walk(loop))


def invert_ifs(tree: ast.Module) -> None:
    """``if not c: A else: B`` (or ``!=``, ``is not``, ``not in``) becomes ``if c: B else: A``
    (undoes *invert if*; only exact inverses: ``not a < b`` is not ``a >= b`` for NaN)."""
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


def guard_clauses(tree: ast.Module) -> None:
    """``if c: ...; return x`` ``else: B`` becomes ``if c: ...; return x`` then ``B``: an ``else``
    after a branch that always leaves (return, raise, continue, break) is no branch at all
    (undoes *replace nested conditional with guard clauses* and its inverse)."""
    for n in list(ast.walk(tree)):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(n, field, None)
            if not (isinstance(body, list) and body and isinstance(body[0], ast.stmt)):
                continue
            k = 0
            while k < len(body):
                st = body[k]
                if isinstance(st, ast.If) and st.orelse and _leaves(st.body):
                    rest, st.orelse = st.orelse, []
                    body[k + 1 : k + 1] = rest
                k += 1


def _leaves(body: list[ast.stmt]) -> bool:
    last = body[-1]
    if isinstance(last, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
        return True
    return isinstance(last, ast.If) and bool(last.orelse) and _leaves(last.body) and _leaves(last.orelse)


def slide_statements(tree: ast.Module) -> None:
    """Adjacent statements that bind different names to side-effect-free values, neither
    reading what the other binds, are put in one canonical order (undoes *slide statements*)."""
    for func in functions(tree):
        for body in bodies(func):
            changed = True
            while changed:  # bubble sort of adjacent independent assignments by their text
                changed = False
                for k in range(len(body) - 1):
                    a, b = _binding(body[k]), _binding(body[k + 1])
                    if a is None or b is None or a[0] & b[0] or a[0] & b[1] or b[0] & a[1]:
                        continue
                    if ast.dump(body[k]) > ast.dump(body[k + 1]):
                        body[k], body[k + 1] = body[k + 1], body[k]
                        changed = True


def _binding(st: ast.stmt) -> tuple[set[str], set[str]] | None:
    """(names bound, names read) of ``names = <pure value>`` (tuple targets too), else None."""
    if isinstance(st, ast.Assign) and len(st.targets) == 1 and pure(st.value):
        t = st.targets[0]
        elts = t.elts if isinstance(t, ast.Tuple) else [t]
        if all(isinstance(e, ast.Name) for e in elts):
            return {e.id for e in elts}, reads(st.value)  # type: ignore[attr-defined]
    return None


def rename_locals(tree: ast.Module) -> None:
    """A function's local variables (not its parameters, globals, nonlocals or names nested
    scopes close over) are renamed by order of first appearance (undoes *rename variable*)."""
    for func in functions(tree):
        if dynamic(func):
            continue
        params = declared(func)
        nested = {n.name for n in own_nodes(func) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        inner = {n.id for s in own_nodes(func) if isinstance(s, _SCOPES) for n in ast.walk(s) if isinstance(n, ast.Name)}
        local = set(stored(func)) - params - nested - inner
        order: dict[str, str] = {}
        for n in sorted((n for n in own_nodes(func) if isinstance(n, ast.Name)), key=lambda n: (n.lineno, n.col_offset)):
            if n.id in local:
                n.id = order.setdefault(n.id, f"_local{len(order)}")
