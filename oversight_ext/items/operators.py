"""Edits of one Python function: bug-introducing mutations and semantics-preserving rewrites.

Every operator looks at a parsed snippet (:class:`Snippet`) and returns candidate
:class:`Change` objects. A change rewrites only the text of the nodes it touches (the rest of
the snippet stays byte-identical, so a diff shows the real one-line change) and also builds
the syntax tree the new text must parse to. :meth:`Change.apply` re-parses the new text and
rejects the change unless the trees agree, which catches precedence slips and any splice
that would not mean what the operator intended.
"""

from __future__ import annotations

import ast
import builtins
import copy
import keyword
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["MUTATIONS", "REWRITES", "Change", "Snippet", "append_loop", "simple_assignment"]

#: A text edit: (first line, byte column, last line, byte column, replacement); 1-based lines.
Edit = tuple[int, int, int, int, str]


class Snippet:
    """A self-contained piece of source holding one function, with lookup tables for operators."""

    def __init__(self, text: str, func_name: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.tree = ast.parse(text)
        self.func = next(n for n in self.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == func_name)
        self.index = {id(n): i for i, n in enumerate(ast.walk(self.tree))}
        self.parent = {id(c): p for p in ast.walk(self.tree) for c in ast.iter_child_nodes(p)}
        skip = {id(n) for a in _annotations(self.func) for n in ast.walk(a)}
        body = self.func.body[1:] if ast.get_docstring(self.func) is not None else self.func.body
        self.nodes: list[Any] = [n for stmt in body for n in ast.walk(stmt) if id(n) not in skip]
        self.words = set(re.findall(r"[A-Za-z_]\w*", text))
        self.bound = _bound_names(self.tree)
        args = self.func.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, *[a for a in (args.vararg, args.kwarg) if a]]
        self.params = [a.arg for a in params]
        # A comprehension's loop variable is out of scope in the rest of the function.
        in_comp = {id(t) for c in self.nodes if isinstance(c, ast.comprehension) for t in ast.walk(c.target)}
        stored = [n.id for n in self.nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and id(n) not in in_comp]
        self.locals = sorted((set(self.params) | set(stored)) - {"self", "cls"})

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def offset(self, line: int, col: int) -> int:
        """Character offset of a (1-based line, UTF-8 byte column) position, as the ast gives them."""
        start = sum(len(ln) + 1 for ln in self.lines[: line - 1])
        return start + len(self.lines[line - 1].encode()[:col].decode())

    def line_end(self, line: int) -> int:
        return len(self.lines[line - 1].encode())

    def owns_lines(self, stmt: Any) -> bool:
        """Whether ``stmt`` alone fills its lines (nothing before it; nothing after but a comment)."""
        before = self.lines[stmt.lineno - 1].encode()[: stmt.col_offset]
        after = self.lines[stmt.end_lineno - 1].encode()[stmt.end_col_offset :].decode()
        return not before.strip() and (not after.strip() or after.strip().startswith("#"))

    def fresh(self, candidates: list[str]) -> str | None:
        """The first candidate that names no variable, function, class or import of the snippet
        (attribute and keyword-argument names do not clash), and is not a keyword or builtin."""
        for name in candidates:
            if name.isidentifier() and name not in self.bound and not keyword.iskeyword(name) and not hasattr(builtins, name):
                return name
        return None


@dataclass(frozen=True)
class Change:
    """One candidate edit: text edits plus the tree transform that must match them."""

    operator: str
    snippet: Snippet
    edits: tuple[Edit, ...]
    transform: Callable[[list[Any]], None]
    description: str
    #: The same change described in reverse, for the fix that undoes it.
    undo: str = ""
    #: Edits to try when ``edits`` do not parse as intended (e.g. ``ast.unparse`` of the node).
    fallback: tuple[Edit, ...] = ()

    def apply(self) -> str | None:
        """The edited text, or None when it would not parse to the intended tree."""
        s = self.snippet
        expected = copy.deepcopy(s.tree)
        self.transform(list(ast.walk(expected)))
        want = ast.dump(expected)
        if want == ast.dump(s.tree):
            return None  # a no-op: e.g. doubling a constant that is already infinite
        for edits in (self.edits, self.fallback):
            text = s.text
            for start, end, new in sorted(((s.offset(a, b), s.offset(c, d), new) for a, b, c, d, new in edits), reverse=True):
                text = text[:start] + new + text[end:]
            try:
                if edits and text != s.text and ast.dump(ast.parse(text)) == want:
                    return text
            except SyntaxError:
                continue
        return None


def _bound_names(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.arg):
            out.add(n.arg)
        elif isinstance(n, ast.alias):
            out.add((n.asname or n.name).split(".")[0])
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            out.update(n.names)
        else:
            out.update(v for v in (getattr(n, "name", None), getattr(n, "rest", None)) if isinstance(v, str))
    return out


def _annotations(func: ast.AST) -> list[ast.AST]:
    out: list[ast.AST] = []
    for n in ast.walk(func):
        if isinstance(n, ast.arg) and n.annotation:
            out.append(n.annotation)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.returns:
            out.append(n.returns)
        elif isinstance(n, ast.AnnAssign):
            out.append(n.annotation)
    return out


def _replace_in(parent: ast.AST, old: ast.AST, new: ast.AST | list[ast.AST]) -> None:
    for name, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, name, new)
            return
        if isinstance(value, list) and any(v is old for v in value):
            i = next(i for i, v in enumerate(value) if v is old)
            value[i : i + 1] = new if isinstance(new, list) else [new]
            return
    raise LookupError("node not found in its parent")


def _edit(node: Any, text: str) -> Edit:
    """An edit replacing exactly the text of ``node``."""
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, text)


def _one_line(n: Any) -> bool:
    return getattr(n, "lineno", None) is not None and n.lineno == n.end_lineno


def substitute(op: str, s: Snippet, node: Any, make: Callable[[Any], ast.AST], text: str | None = None) -> Change:
    """Replace one single-line node by ``make(node)``.

    ``text`` is the new node written by splicing the original text (quotes, spacing and
    parentheses kept); ``ast.unparse`` of the new node is the fallback when it is not given
    or does not parse as intended.
    """
    i, parent_i = s.index[id(node)], s.index[id(s.parent[id(node)])]
    unparsed = ast.unparse(make(copy.deepcopy(node)))
    new_text = text if text is not None else unparsed

    def transform(nodes: list[Any]) -> None:
        _replace_in(nodes[parent_i], nodes[i], make(nodes[i]))

    old, line = s.segment(node), node.lineno
    return Change(
        op,
        s,
        (_edit(node, new_text),),
        transform,
        f"`{old}` was changed to `{new_text}` on line {line}",
        f"`{new_text}` on line {line} is `{old}` again",
        (_edit(node, unparsed),) if text is not None else (),
    )


def _between(s: Snippet, node: Any, a: Any, b: Any, old: str, new: str) -> str:
    """The text of single-line ``node`` with token ``old`` between its parts ``a`` and ``b`` replaced."""
    line = s.lines[node.lineno - 1].encode()
    gap = line[a.end_col_offset : b.col_offset].decode()
    return (
        line[node.col_offset : a.end_col_offset] + gap.replace(old, new, 1).encode() + line[b.col_offset : node.end_col_offset]
    ).decode()


def _swapped(s: Snippet, node: Any, a: Any, b: Any) -> str:
    """The text of single-line ``node`` with its parts ``a`` and ``b`` (a before b) exchanged."""
    line = s.lines[node.lineno - 1].encode()
    parts = (line[node.col_offset : a.col_offset], line[b.col_offset : b.end_col_offset], line[a.end_col_offset : b.col_offset])
    return b"".join((*parts, line[a.col_offset : a.end_col_offset], line[b.end_col_offset : node.end_col_offset])).decode()


def _not_text(s: Snippet, t: Any) -> str:
    """``not t`` written from t's own text, parenthesised where ``not`` would bind tighter."""
    if isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not):
        return s.segment(t.operand)
    if isinstance(t, ast.Constant) and isinstance(t.value, bool):
        return str(not t.value)
    loose = isinstance(t, (ast.BoolOp, ast.IfExp, ast.NamedExpr, ast.Lambda))
    return f"not ({s.segment(t)})" if loose else f"not {s.segment(t)}"


# --------------------------------------------------------------------------- mutations (bugs)

_FLIP_CMP: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}  # fmt: skip
_SWAP_OP: dict[type, type] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd,
    ast.LShift: ast.RShift, ast.RShift: ast.LShift, ast.FloorDiv: ast.Mod, ast.Mod: ast.FloorDiv,
}  # fmt: skip
_TOKEN: dict[type, str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not",
    ast.In: "in", ast.NotIn: "not in", ast.Add: "+", ast.Sub: "-", ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<",
    ast.RShift: ">>", ast.FloorDiv: "//", ast.Mod: "%", ast.And: "and", ast.Or: "or",
}  # fmt: skip
#: Calls whose arguments commute, where a swap would be a no-op in effect.
_COMMUTATIVE = {"max", "min", "print", "set", "frozenset", "sum", "any", "all"}


def _is_int(n: ast.AST) -> bool:
    return isinstance(n, ast.Constant) and type(n.value) is int


def _off_by_one_context(s: Snippet, n: ast.AST) -> bool:
    p = s.parent.get(id(n))
    if isinstance(p, ast.UnaryOp):
        return False
    if isinstance(p, ast.Call) and isinstance(p.func, ast.Name) and p.func.id in ("range", "enumerate") and n in p.args:
        return True
    return isinstance(p, (ast.Subscript, ast.Slice, ast.Compare)) or (isinstance(p, ast.BinOp) and isinstance(p.op, (ast.Add, ast.Sub)))


def _shift(delta: int) -> Callable[[Any], ast.AST]:
    return lambda c: ast.Constant(c.value + delta)


def _const(value: Any) -> Callable[[Any], ast.AST]:
    return lambda c: ast.Constant(value)


def _name(name: str) -> Callable[[Any], ast.AST]:
    return lambda c: ast.Name(name, ast.Load())


def off_by_one(s: Snippet) -> list[Change]:
    out = []
    for n in s.nodes:
        if _is_int(n) and _one_line(n) and _off_by_one_context(s, n):
            for delta in (1, -1):
                if n.value + delta >= 0:
                    out.append(substitute("off_by_one", s, n, _shift(delta)))
    return out


def flipped_comparison(s: Snippet) -> list[Change]:
    out = []
    for n in s.nodes:
        if isinstance(n, ast.Compare) and _one_line(n):
            for k, op in enumerate(n.ops):
                if type(op) in _FLIP_CMP:

                    def make(c: Any, k: int = k) -> ast.AST:
                        c.ops[k] = _FLIP_CMP[type(c.ops[k])]()
                        return c

                    parts = [n.left, *n.comparators]
                    text = _between(s, n, parts[k], parts[k + 1], _TOKEN[type(op)], _TOKEN[_FLIP_CMP[type(op)]])
                    out.append(substitute("flipped_comparison", s, n, make, text))
    return out


def wrong_variable(s: Snippet) -> list[Change]:
    first_use: dict[str, int] = {}
    for n in s.nodes:
        if isinstance(n, ast.Name) and n.id in s.locals:
            first_use.setdefault(n.id, n.lineno)
    for p in s.params:
        first_use[p] = s.func.lineno
    out = []
    for n in s.nodes:
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in s.locals:
            # The likeliest slip is a name already in play near the use: prefer the closest two.
            others = sorted((abs(first_use.get(o, 0) - n.lineno), o) for o in s.locals if o != n.id and first_use.get(o, 10**9) < n.lineno)
            for _, alt in others[:2]:
                out.append(substitute("wrong_variable", s, n, _name(alt)))
    return out


def dropped_condition(s: Snippet) -> list[Change]:
    out = []
    for n in s.nodes:
        if isinstance(n, ast.BoolOp) and _one_line(n):
            for k in range(len(n.values)):

                def make(c: Any, k: int = k) -> ast.AST:
                    rest = [v for j, v in enumerate(c.values) if j != k]
                    return rest[0] if len(rest) == 1 else ast.BoolOp(c.op, rest)

                text = f" {_TOKEN[type(n.op)]} ".join(s.segment(v) for j, v in enumerate(n.values) if j != k)
                out.append(substitute("dropped_condition", s, n, make, text))
        elif isinstance(n, ast.If):
            guard = _dropped_guard(s, n)
            if guard is not None:
                out.append(guard)
    return out


def _dropped_guard(s: Snippet, n: ast.If) -> Change | None:
    """``if cond:`` removed from above its one simple statement, which then always runs."""
    body = n.body[0]
    if n.orelse or len(n.body) != 1 or not isinstance(body, (ast.Assign, ast.AugAssign, ast.Expr)) or body.lineno == n.lineno:
        return None
    head = s.lines[n.lineno - 1]
    if not (_one_line(n.test) and head.lstrip().startswith("if ") and s.owns_lines(body) and body.lineno == n.lineno + 1):
        return None
    cut = len(s.lines[body.lineno - 1]) - len(s.lines[body.lineno - 1].lstrip()) - (len(head) - len(head.lstrip()))
    last = body.end_lineno or body.lineno
    lines = s.lines[body.lineno - 1 : last]
    if cut <= 0 or any(ln.strip() and not ln[:cut].isspace() for ln in lines):
        return None  # a continuation line less indented than the statement (e.g. inside a string)
    i, parent_i = s.index[id(n)], s.index[id(s.parent[id(n)])]

    def transform(nodes: list[Any]) -> None:
        _replace_in(nodes[parent_i], nodes[i], nodes[i].body[0])

    edit: Edit = (n.lineno, 0, last, s.line_end(last), "\n".join(ln[cut:] for ln in lines))
    line = f"`{s.lines[body.lineno - 1].strip()}`"
    return Change(
        "dropped_condition",
        s,
        (edit,),
        transform,
        f"the guard `{head.strip()}` above {line} was removed",
        f"{line} is guarded by `{head.strip()}` again",
    )


def swapped_arguments(s: Snippet) -> list[Change]:
    out = []
    for n in s.nodes:
        if not (isinstance(n, ast.Call) and _one_line(n) and len(n.args) >= 2):
            continue
        if any(isinstance(a, ast.Starred) for a in n.args) or (isinstance(n.func, ast.Name) and n.func.id in _COMMUTATIVE):
            continue
        for k in range(len(n.args) - 1):
            if ast.dump(n.args[k]) != ast.dump(n.args[k + 1]):

                def make(c: Any, k: int = k) -> ast.AST:
                    c.args[k], c.args[k + 1] = c.args[k + 1], c.args[k]
                    return c

                out.append(substitute("swapped_arguments", s, n, make, _swapped(s, n, n.args[k], n.args[k + 1])))
    return out


def wrong_constant(s: Snippet) -> list[Change]:
    out = []
    for n in s.nodes:
        if not (isinstance(n, ast.Constant) and _one_line(n)) or isinstance(s.parent.get(id(n)), (ast.JoinedStr, ast.FormattedValue)):
            continue
        v: Any = n.value
        if isinstance(v, bool):
            new: Any = not v
        # An int is always finite (math.isfinite would overflow on one beyond float range, e.g. 1 << 2000).
        elif (type(v) is int or (type(v) is float and math.isfinite(v))) and not _off_by_one_context(s, n):
            new = type(v)(1) if v == 0 else (type(v)(0) if v == 1 else v * 2)
        else:
            continue
        out.append(substitute("wrong_constant", s, n, _const(new)))
    return out


def wrong_operator(s: Snippet) -> list[Change]:
    out = []
    for n in s.nodes:
        if not (isinstance(n, (ast.BinOp, ast.AugAssign)) and _one_line(n) and type(n.op) in _SWAP_OP):
            continue
        operands = [n.left, n.right] if isinstance(n, ast.BinOp) else [n.value]
        if any(
            isinstance(o, (ast.JoinedStr, ast.List, ast.Tuple)) or (isinstance(o, ast.Constant) and isinstance(o.value, str))
            for o in operands
        ):
            continue  # concatenation or %-formatting: a swapped operator would only raise TypeError

        def make(c: Any) -> ast.AST:
            c.op = _SWAP_OP[type(c.op)]()
            return c

        old, new = _TOKEN[type(n.op)], _TOKEN[_SWAP_OP[type(n.op)]]
        if isinstance(n, ast.BinOp):
            text = _between(s, n, n.left, n.right, old, new)
        else:
            text = _between(s, n, n.target, n.value, old + "=", new + "=")
        out.append(substitute("wrong_operator", s, n, make, text))
    return out


def _negate(c: Any) -> ast.AST:
    if isinstance(c, ast.UnaryOp) and isinstance(c.op, ast.Not):
        return c.operand
    if isinstance(c, ast.Constant) and isinstance(c.value, bool):
        return ast.Constant(not c.value)
    return ast.UnaryOp(ast.Not(), c)


def return_value_change(s: Snippet) -> list[Change]:
    out = []
    for n in s.nodes:
        if isinstance(n, ast.Return) and n.value is not None and _one_line(n.value):
            v: Any = n.value
            if isinstance(v, (ast.Compare, ast.BoolOp)) or (isinstance(v, ast.UnaryOp) and isinstance(v.op, ast.Not)):
                out.append(substitute("return_value_change", s, v, _negate, _not_text(s, v)))
            elif _is_int(v):
                out.append(substitute("return_value_change", s, v, _shift(1)))
    return out


def negated_condition(s: Snippet) -> list[Change]:
    tests = [n.test for n in s.nodes if isinstance(n, (ast.If, ast.While, ast.IfExp))]
    return [substitute("negated_condition", s, t, _negate, _not_text(s, t)) for t in tests if _one_line(t)]


MUTATIONS: dict[str, Callable[[Snippet], list[Change]]] = {
    f.__name__: f
    for f in (
        off_by_one,
        flipped_comparison,
        wrong_variable,
        dropped_condition,
        swapped_arguments,
        wrong_constant,
        wrong_operator,
        return_value_change,
        negated_condition,
    )
}


# --------------------------------------------------------------------------- rewrites (no change in behaviour)

_INVERSE_CMP: dict[type, type] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_SYNONYMS = {
    "result": "out", "res": "result", "ret": "result", "rv": "result", "out": "result", "i": "idx", "j": "jdx",
    "k": "key", "n": "count", "s": "text", "x": "value", "v": "value", "val": "value", "value": "val", "item": "entry",
    "items": "entries", "key": "name", "name": "label", "line": "row", "lines": "rows", "data": "payload", "buf": "buffer",
    "tmp": "temp", "obj": "target", "node": "current", "path": "filepath", "msg": "message", "c": "char", "ch": "char",
    "m": "match", "match": "found", "parts": "pieces", "start": "begin", "end": "stop", "pos": "offset", "size": "length",
}  # fmt: skip
_PURE_NODES = (
    ast.Name, ast.Constant, ast.Attribute, ast.Subscript, ast.Slice, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare,
    ast.Tuple, ast.List, ast.Dict, ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.Call,
)  # fmt: skip
#: Calls that cannot observe or cause side effects another simple assignment could interact with.
_PURE_CALLS = {"len", "int", "float", "str", "bool", "abs", "isinstance", "ord", "chr", "repr", "round"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _bodies(s: Snippet, *, same_scope: bool = False) -> list[tuple[ast.AST, str]]:
    """Every statement list inside the function, as (owner node, field name)."""
    out: list[tuple[ast.AST, str]] = []

    def visit(owner: ast.AST, field: str) -> None:
        out.append((owner, field))
        for st in getattr(owner, field):
            if same_scope and isinstance(st, _SCOPES):
                continue
            for sub in ("body", "orelse", "finalbody"):
                value = getattr(st, sub, None)
                if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                    visit(st, sub)
            for h in [*getattr(st, "handlers", []), *getattr(st, "cases", [])]:
                visit(h, "body")

    visit(s.func, "body")
    return out


def rename_local(s: Snippet) -> list[Change]:
    if s.words & {"locals", "vars", "eval", "exec"}:
        return []  # the function may look its locals up by name
    banned = set(s.params)
    for n in ast.walk(s.func):
        if isinstance(n, ast.arg):
            banned.add(n.arg)
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            banned.update(n.names)
        elif isinstance(n, ast.alias):
            banned.add((n.asname or n.name).split(".")[0])
        elif isinstance(n, _SCOPES) and n is not s.func:
            banned.add(n.name)
        elif isinstance(n, ast.comprehension):
            banned.update(t.id for t in ast.walk(n.target) if isinstance(t, ast.Name))
        else:
            banned.update(v for v in (getattr(n, "name", None), getattr(n, "rest", None)) if isinstance(v, str))
    out = []
    for name in s.locals:
        new = s.fresh([c for c in (_SYNONYMS.get(name), f"{name}_value", f"new_{name}") if c])
        if name in banned or name.startswith("__") or new is None:
            continue
        uses = [n for st in s.func.body for n in ast.walk(st) if isinstance(n, ast.Name) and n.id == name]
        idx = [s.index[id(n)] for n in uses]

        def transform(nodes: list[Any], idx: list[int] = idx, new: str = new) -> None:
            for i in idx:
                nodes[i].id = new

        edits = tuple(_edit(n, new) for n in uses)
        out.append(Change("rename_local", s, edits, transform, f"the local `{name}` was renamed to `{new}` throughout"))
    return out


def append_loop(init: ast.stmt, loop: ast.stmt) -> tuple[str, ast.expr, ast.expr | None] | None:
    """(list name, appended expression, filter) when ``init; loop`` is ``x = []; for ...: x.append(e)``."""
    if not (isinstance(init, ast.Assign) and len(init.targets) == 1 and isinstance(init.targets[0], ast.Name)):
        return None
    if not (
        isinstance(init.value, ast.List) and not init.value.elts and isinstance(loop, ast.For) and not loop.orelse and len(loop.body) == 1
    ):
        return None
    stmt, cond = loop.body[0], None
    if isinstance(stmt, ast.If) and not stmt.orelse and len(stmt.body) == 1:
        cond, stmt = stmt.test, stmt.body[0]
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "append"):
        return None
    name = init.targets[0].id
    if not (isinstance(call.func.value, ast.Name) and call.func.value.id == name and len(call.args) == 1 and not call.keywords):
        return None
    return name, call.args[0], cond


def _comprehension(name: str, loop: ast.For, elt: ast.expr, cond: ast.expr | None) -> ast.Assign:
    comp = ast.ListComp(elt, [ast.comprehension(loop.target, loop.iter, [cond] if cond else [], 0)])
    return ast.Assign([ast.Name(name, ast.Store())], comp, type_comment=None, lineno=loop.lineno)


def loop_to_comprehension(s: Snippet) -> list[Change]:
    out = []
    for owner, field in _bodies(s):
        body = getattr(owner, field)
        for k in range(len(body) - 1):
            init, loop = body[k], body[k + 1]
            found = append_loop(init, loop)
            if found is None or not s.owns_lines(init) or "#" in "\n".join(s.lines[init.lineno - 1 : loop.end_lineno]):
                continue
            name, elt, cond = found
            inner = [n for p in (loop.target, loop.iter, elt, cond) if p is not None for n in ast.walk(p)]
            if any(isinstance(n, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda, ast.Starred)) for n in inner):
                continue
            if any(isinstance(n, ast.Name) and n.id == name for n in inner):
                continue
            if not all(isinstance(n, (ast.Name, ast.Tuple, ast.expr_context)) for n in ast.walk(loop.target)):
                continue
            # A comprehension does not leak its loop variable: the loop's must be unused elsewhere.
            targets = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
            inside = {id(n) for n in ast.walk(loop)}
            if any(isinstance(n, ast.Name) and n.id in targets and id(n) not in inside for n in ast.walk(s.func)):
                continue
            text = ast.unparse(_comprehension(name, loop, elt, cond))
            if init.col_offset + len(text) > 120:
                continue
            oi = s.index[id(owner)]

            def transform(nodes: list[Any], oi: int = oi, field: str = field, k: int = k) -> None:
                lst = getattr(nodes[oi], field)
                name, elt, cond = append_loop(lst[k], lst[k + 1]) or ("", lst[k], None)
                lst[k : k + 2] = [_comprehension(name, lst[k + 1], elt, cond)]

            edit: Edit = (init.lineno, init.col_offset, loop.end_lineno, loop.end_col_offset, text)
            out.append(Change("loop_to_comprehension", s, (edit,), transform, f"the loop building `{name}` became a list comprehension"))
    return out


def simple_assignment(st: ast.stmt) -> tuple[str, set[str]] | None:
    """(name, names read) when ``st`` is ``name = <expression without side effects>``."""
    if not (isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name)):
        return None
    for n in ast.walk(st.value):
        if not isinstance(n, _PURE_NODES) or (isinstance(n, ast.Call) and not (isinstance(n.func, ast.Name) and n.func.id in _PURE_CALLS)):
            return None
    return st.targets[0].id, {n.id for n in ast.walk(st.value) if isinstance(n, ast.Name)}


def reorder_statements(s: Snippet) -> list[Change]:
    out = []
    for owner, field in _bodies(s):
        body = getattr(owner, field)
        for k in range(len(body) - 1):
            a, b = body[k], body[k + 1]
            pa, pb = simple_assignment(a), simple_assignment(b)
            if pa is None or pb is None or pa[0] == pb[0] or pa[0] in pb[1] or pb[0] in pa[1]:
                continue
            if b.lineno != a.end_lineno + 1 or not (s.owns_lines(a) and s.owns_lines(b)):
                continue
            new = "\n".join(s.lines[b.lineno - 1 : b.end_lineno] + s.lines[a.lineno - 1 : a.end_lineno])
            oi = s.index[id(owner)]

            def transform(nodes: list[Any], oi: int = oi, field: str = field, k: int = k) -> None:
                lst = getattr(nodes[oi], field)
                lst[k], lst[k + 1] = lst[k + 1], lst[k]

            edit = (a.lineno, 0, b.end_lineno, s.line_end(b.end_lineno), new)
            out.append(
                Change(
                    "reorder_statements", s, (edit,), transform, f"the independent assignments to `{pa[0]}` and `{pb[0]}` swapped places"
                )
            )
    return out


def _extractable(s: Snippet, c: Any) -> bool:
    if not (isinstance(c, ast.Constant) and _one_line(c)) or isinstance(
        s.parent.get(id(c)), (ast.JoinedStr, ast.FormattedValue, ast.MatchValue)
    ):
        return False
    v = c.value
    if isinstance(v, str):
        return 0 < len(v) <= 40 and "\n" not in s.segment(c) and not s.segment(c).startswith(("u", "U"))
    return type(v) is float or (type(v) is int and v not in (0, 1))


def _constant_names(s: Snippet, c: Any) -> list[str]:
    """Plausible names for a local holding constant ``c``, from where it is used."""
    parent = s.parent.get(id(c))
    names = [parent.arg, f"{parent.arg}_value"] if isinstance(parent, ast.keyword) and parent.arg else []
    if isinstance(c.value, str):
        base = re.sub(r"\W+", "_", c.value.lower()).strip("_")
        if base.isidentifier() and len(base) <= 20:
            names.append(f"{base}_key" if isinstance(parent, ast.Subscript) else f"{base}_text")
        return [*names, "marker", "token", "sep", "literal"]
    if isinstance(parent, (ast.Subscript, ast.Slice)):
        return [*names, "index", "offset", "position"]
    if isinstance(parent, ast.Compare):
        return [*names, "threshold", "bound", "cutoff"]
    return [*names, "factor", "scale"] if isinstance(c.value, float) else [*names, "limit", "width", "step", "size", "amount"]


def extract_constant(s: Snippet) -> list[Change]:
    out = []
    for owner, field in _bodies(s, same_scope=True):
        for st in getattr(owner, field):
            if not isinstance(st, (ast.Assign, ast.AugAssign, ast.Return, ast.Expr)) or not s.owns_lines(st):
                continue
            if isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant):
                continue  # a docstring or a bare literal
            nodes: list[Any] = list(ast.walk(st))
            for c in nodes:
                if not _extractable(s, c):
                    continue
                name = s.fresh(_constant_names(s, c))
                if name is None:
                    continue
                line = s.lines[st.lineno - 1]
                indent = line[: len(line) - len(line.lstrip())]
                value = c.value
                ci, pi, si, oi = s.index[id(c)], s.index[id(s.parent[id(c)])], s.index[id(st)], s.index[id(owner)]

                def transform(
                    nodes: list[Any],
                    ci: int = ci,
                    pi: int = pi,
                    si: int = si,
                    oi: int = oi,
                    name: str = name,
                    value: Any = value,
                    field: str = field,
                ) -> None:
                    _replace_in(nodes[pi], nodes[ci], ast.Name(name, ast.Load()))
                    lst = getattr(nodes[oi], field)
                    j = next(j for j, x in enumerate(lst) if x is nodes[si])
                    lst.insert(j, ast.Assign([ast.Name(name, ast.Store())], ast.Constant(value), type_comment=None))

                edits = ((st.lineno, 0, st.lineno, 0, f"{indent}{name} = {s.segment(c)}\n"), _edit(c, name))
                out.append(Change("extract_constant", s, edits, transform, f"the constant {s.segment(c)} moved into a local `{name}`"))
    return out


def _inverted_test(s: Snippet, t: ast.expr) -> tuple[Callable[[Any], ast.AST], str] | None:
    """How to invert an ``if`` test exactly (no NaN caveats), and the inverted test's text."""
    if isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not):
        return (lambda c: c.operand), s.segment(t.operand)
    if isinstance(t, ast.Compare) and len(t.ops) == 1 and type(t.ops[0]) in _INVERSE_CMP:

        def invert(c: Any) -> ast.AST:
            c.ops = [_INVERSE_CMP[type(c.ops[0])]()]
            return c

        old = type(t.ops[0])
        return invert, _between(s, t, t.left, t.comparators[0], _TOKEN[old], _TOKEN[_INVERSE_CMP[old]])
    if isinstance(t, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
        return (lambda c: ast.UnaryOp(ast.Not(), c)), f"not {s.segment(t)}"
    return None


def swap_if_else(s: Snippet) -> list[Change]:
    out = []
    n: Any
    for n in s.nodes:
        if not (isinstance(n, ast.If) and n.orelse and _one_line(n.test) and n.test.lineno == n.lineno and n.body[0].lineno > n.lineno):
            continue
        head = s.lines[n.lineno - 1]
        indent = head[: len(head) - len(head.lstrip())]
        if not head.lstrip().startswith("if ") or head.encode()[n.test.end_col_offset :].decode().strip() != ":":
            continue
        if isinstance(n.orelse[0], ast.If) and s.lines[n.orelse[0].lineno - 1].lstrip().startswith("elif"):
            continue
        body_end = n.body[-1].end_lineno or n.lineno
        marks = [i for i in range(body_end + 1, n.orelse[0].lineno) if s.lines[i - 1].rstrip() == indent + "else:"]
        inverted = _inverted_test(s, n.test)
        if len(marks) != 1 or inverted is None:
            continue
        make, test = inverted
        e: int = marks[0]
        last = n.orelse[-1].end_lineno or n.lineno
        new = "\n".join([f"{indent}if {test}:", *s.lines[e:last], f"{indent}else:", *s.lines[n.lineno : e - 1]])
        i = s.index[id(n)]

        def transform(nodes: list[Any], i: int = i, make: Callable[[Any], ast.AST] = make) -> None:
            node = nodes[i]
            node.test = make(node.test)
            node.body, node.orelse = node.orelse, node.body

        edit = (n.lineno, 0, last, s.line_end(last), new)
        out.append(
            Change("swap_if_else", s, (edit,), transform, f"the branches of the `if` on line {n.lineno} swapped under the inverted test")
        )
    return out


REWRITES: dict[str, Callable[[Snippet], list[Change]]] = {
    f.__name__: f for f in (rename_local, loop_to_comprehension, reorder_statements, extract_constant, swap_if_else)
}
