"""Describing a function's inputs so the sandbox can generate more of them with hypothesis.

:func:`input_shapes` reads the types and sizes of the literal arguments the examples pass;
:func:`signature_shapes` guesses from annotations and parameter names when there are no
examples. A shape is plain JSON (``{"t": "int", "min": 0, "max": 10}``, ``{"t": "list",
"item": ..., "max_size": 5}``, ...) that the sandboxed runner turns into strategies.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from typing import Any

from .examples import Case
from .trees import parsed

__all__ = ["input_shapes", "signature_shapes"]


def _shape(values: list[Any]) -> dict[str, Any] | None:
    kinds = {type(v) for v in values}
    if len(kinds) > 1:
        if kinds <= {int, float}:
            return _shape([float(v) for v in values])
        opts = [_shape([v for v in values if type(v) is k]) for k in kinds]
        return {"t": "one_of", "options": opts} if all(opts) else None
    k = next(iter(kinds))
    if k is bool:
        return {"t": "bool"}
    if k is int:
        lo, hi = min(values), max(values)
        return {"t": "int", "min": 0 if lo >= 0 else 2 * lo, "max": max(hi, 10)}
    if k is float:
        lo, hi = min(values), max(values)
        return {"t": "float", "min": min(lo, 0.0), "max": max(hi, 10.0)}
    if k is str:
        alphabet = "".join(sorted(set("".join(values)))) or "ab"
        return {"t": "str", "alphabet": alphabet[:80], "max_size": max(len(v) for v in values) + 3}
    if k is type(None):
        return {"t": "none"}
    if k in (list, set):
        inner = [x for v in values for x in v]
        item = _shape(inner) if inner else {"t": "int", "min": 0, "max": 10}
        return {"t": "list", "item": item, "max_size": max(max(len(v) for v in values) + 2, 5)} if item else None
    if k is tuple and len({len(v) for v in values}) == 1:
        items = [_shape([v[i] for v in values]) for i in range(len(values[0]))]
        return {"t": "tuple", "items": items} if all(items) else None
    if k is dict:
        keys = [x for v in values for x in v]
        vals = [x for v in values for x in v.values()]
        ks, vs = (_shape(keys), _shape(vals)) if keys else (None, None)
        return {"t": "dict", "key": ks, "value": vs, "max_size": 6} if ks and vs else None
    return None


def input_shapes(cases: list[Case], entry: str | None) -> dict[str, Any] | None:
    """Type descriptions of the literal arguments the examples pass to ``entry``.

    Returns ``{"args": [shape, ...], "kwargs": {name: shape}}`` for the most common call
    signature (``f(x)`` and ``module.f(x)`` both count), or None when no call has literal arguments.
    """
    if entry is None:
        return None
    calls: list[tuple[list[Any], dict[str, Any]]] = []
    for c in cases:
        try:
            node = ast.parse(c.source, mode="eval").body
        except SyntaxError:
            continue
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else None
        if name != entry or any(k.arg is None for k in node.keywords):
            continue
        try:
            calls.append(([ast.literal_eval(a) for a in node.args], {str(k.arg): ast.literal_eval(k.value) for k in node.keywords}))
        except (ValueError, SyntaxError, TypeError):
            continue
    if not calls:
        return None
    # defaulted arguments vary the signature: generate for the most common one
    sig = Counter((len(a), tuple(sorted(k))) for a, k in calls).most_common(1)[0][0]
    calls = [(a, k) for a, k in calls if (len(a), tuple(sorted(k))) == sig]
    args = [_shape([a[i] for a, _ in calls]) for i in range(sig[0])]
    kwargs = {name: _shape([k[name] for _, k in calls]) for name in sig[1]}
    if not all(args) or not all(kwargs.values()):
        return None
    out = {"args": args, "kwargs": kwargs}
    json.dumps(out)  # must travel to the sandbox as JSON
    return out


_INT_NAMES = re.compile(
    r"^(n|m|k|i|j|x|y|num|number|count|size|width|height|length|len|index|idx|start|end|stop|step|depth|level|limit)(_|\d|$)"
)
_STR_NAMES = re.compile(r"(text|string|^s$|^s\d|name|prefix|suffix|word|line|char|sep|path|pattern|fmt|msg|key)")
_LIST_NAMES = re.compile(r"(s$|list|seq|items|values|arr|array|lines|chunks|words|nums|numbers)")
_ANNOTATIONS: dict[str, dict[str, Any]] = {"int": {"t": "int", "min": -5, "max": 20}, "float": {"t": "float", "min": -5.0, "max": 20.0}, "bool": {"t": "bool"},
                "str": {"t": "str", "alphabet": "ab c-\n", "max_size": 8}}  # fmt: skip
_FALLBACK: dict[str, Any] = {
    "t": "one_of",
    "options": [_ANNOTATIONS["int"], _ANNOTATIONS["str"], {"t": "list", "item": _ANNOTATIONS["int"], "max_size": 5}],
}


def _guess(arg: ast.arg) -> dict[str, Any]:
    ann = ast.unparse(arg.annotation) if arg.annotation is not None else ""
    inner = re.fullmatch(r"(?:list|List|Sequence|Iterable)\[(\w+)\]", ann)
    if ann in _ANNOTATIONS:
        return _ANNOTATIONS[ann]
    if inner and inner.group(1) in _ANNOTATIONS:
        return {"t": "list", "item": _ANNOTATIONS[inner.group(1)], "max_size": 6}
    name = arg.arg.lower()
    if _INT_NAMES.search(name):
        return _ANNOTATIONS["int"]
    if _STR_NAMES.search(name):
        return _ANNOTATIONS["str"]
    if _LIST_NAMES.search(name):
        return {"t": "list", "item": {"t": "one_of", "options": [_ANNOTATIONS["int"], _ANNOTATIONS["str"]]}, "max_size": 6}
    return _FALLBACK


def signature_shapes(code: str | None, entry: str | None, owner: str | None = None) -> dict[str, Any] | None:
    """Input shapes for a module-level function with no examples (or, with ``owner``, a method of
    that top-level class, called on an instance): from annotations, else names.

    Only the required parameters get values (defaults stay); other methods (``self``/``cls``) get none.
    """
    tree = parsed(code or "")
    if tree is None:
        return None
    body = tree.body
    if owner is not None:
        cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == owner), None)
        body = cls.body if cls is not None else []
    fn = next((n for n in body if isinstance(n, ast.FunctionDef) and n.name == entry), None)
    if fn is None:
        return None
    pos = [*fn.args.posonlyargs, *fn.args.args]
    if owner is not None and pos and pos[0].arg == "self" and not fn.decorator_list:
        pos = pos[1:]
    elif pos and pos[0].arg in ("self", "cls"):
        return None
    required = pos[: len(pos) - len(fn.args.defaults)]
    if not required or len(required) > 4:
        return None
    return {"args": [_guess(a) for a in required], "kwargs": {}}
