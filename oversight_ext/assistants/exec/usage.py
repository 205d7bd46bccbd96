"""What a module's code says about the inputs its functions expect, for the harness's drivers.

A parameter's name and annotation often say little (``s``, ``c``, ``data``); how the body uses
it says more. :func:`param_hints` reads one function and tags each parameter with the kinds its
uses imply: ``.decode()`` or a comparison with a bytes literal means bytes, ``.split()`` or a
comparison with a string literal means text, indexing and ``len()`` a sequence, ``.keys()`` a
mapping. :func:`code_tokens` collects the short string and bytes literals of the module's code
(not its docstrings): the separators, markers and keywords its parsers look for (``'&'``,
``'<!--'``, ``'%'``, ``b'='``), which random text almost never contains. The runner splices
them into generated text so that the branches that test for them are reached.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from typing import Any

__all__ = ["affixes", "code_tokens", "param_hints", "refine", "with_tokens"]

#: At most this many literal tokens travel with a text shape.
MAX_TOKENS = 40
_TEXT_METHODS = {
    "split", "rsplit", "strip", "lstrip", "rstrip", "startswith", "endswith", "replace", "find", "rfind", "index",
    "partition", "rpartition", "splitlines", "lower", "upper", "isdigit", "isalpha", "isspace", "count", "expandtabs",
}  # fmt: skip
_STR_ONLY = {"encode", "format", "casefold", "isidentifier", "isdecimal", "isnumeric", "format_map"}
_BYTES_ONLY = {"decode", "hex"}
_MAP_METHODS = {"keys", "items", "values", "get", "setdefault"}
_LIST_METHODS = {"append", "extend", "insert", "pop", "sort"}
_FILE_METHODS = {"read", "readline", "readlines", "readinto", "write", "writelines", "seek", "tell", "flush", "fileno"}
#: Names that usually hold an open file (``csv.writer(f)``, ``gzip.GzipFile(fileobj=...)``).
_FILE_NAMES = re.compile(r"^(f|fp|fh|fo|fd?obj|file|fileobj|stream|csvfile|infile|outfile|instream|outstream|buf|buffer)$")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                ids.add(id(first.value))
    return ids


def code_tokens(tree: ast.AST, first: ast.AST | None = None) -> tuple[list[str], list[str]]:
    """(text literals, bytes literals as latin-1 text) of the code, short ones, most used first.

    Those of ``first`` (the changed definition) come before the rest; the entries of large
    literal tables (``{0x80: '\u20ac', ...}``) are data, not markers a parser looks for, and are skipped.
    """
    if first is not None:
        head, head_raw = code_tokens(first)
        rest, rest_raw = code_tokens(tree)
        return list(dict.fromkeys(head + rest))[:MAX_TOKENS], list(dict.fromkeys(head_raw + rest_raw))[:MAX_TOKENS]
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        elts: list[ast.expr | None] | None = [*node.keys, *node.values] if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if isinstance(node, (ast.Dict, ast.List, ast.Tuple, ast.Set)) and elts is not None and len(elts) > 8:
            skip |= {id(e) for e in elts}
    text: Counter[str] = Counter()
    raw: Counter[str] = Counter()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in skip:
            continue
        v = node.value
        if isinstance(v, str) and 0 < len(v) <= 12 and "\x00" not in v:
            text[v] += 1
        elif isinstance(v, bytes) and 0 < len(v) <= 12:
            raw[v.decode("latin-1")] += 1
    return [t for t, _ in text.most_common(MAX_TOKENS)], [t for t, _ in raw.most_common(MAX_TOKENS)]


def _literal_kind(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bytes):
            return "bytes"
        if isinstance(v, str):
            return "str"
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return "number"
    return None


def param_hints(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, set[str]]:
    """Parameter name -> the kinds of value its uses in ``fn`` imply (bytes, str, seq, map, number)."""
    names = {a.arg for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]}
    if fn.args.vararg is not None:
        names.add(fn.args.vararg.arg)
    hints: dict[str, set[str]] = {}
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(fn):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node

    def tag(name: str, kind: str | None) -> None:
        if kind is not None:
            hints.setdefault(name, set()).add(kind)

    for node in ast.walk(fn):
        if not (isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load)):
            continue
        p = parents.get(id(node))
        if isinstance(p, ast.Attribute) and p.value is node:
            attr = p.attr
            if attr in _BYTES_ONLY:
                tag(node.id, "bytes")
            elif attr in _STR_ONLY:
                tag(node.id, "str")
            elif attr in _TEXT_METHODS:
                call = parents.get(id(p))
                kinds = {_literal_kind(a) for a in getattr(call, "args", [])} - {None, "number"}
                tag(node.id, next(iter(kinds)) if len(kinds) == 1 else "str")
            elif attr in _MAP_METHODS:
                tag(node.id, "map")
            elif attr in _LIST_METHODS:
                tag(node.id, "seq")
            elif attr in _FILE_METHODS:
                tag(node.id, "file")
        elif isinstance(p, ast.Compare):
            for other in [p.left, *p.comparators]:
                if other is not node:
                    tag(node.id, _literal_kind(other))
        elif isinstance(p, ast.BinOp):
            other = p.right if p.left is node else p.left
            kind = _literal_kind(other)
            if not (kind == "str" and isinstance(p.op, ast.Mod) and p.right is node):  # '%s' % x says nothing of x
                tag(node.id, kind)
        elif (isinstance(p, ast.Subscript) and p.value is node) or (isinstance(p, (ast.For, ast.comprehension)) and p.iter is node):
            tag(node.id, "seq")
        elif isinstance(p, ast.Call) and isinstance(p.func, ast.Name) and node in p.args:
            tag(node.id, {"len": "seq", "bytes": "bytes", "memoryview": "bytes", "ord": "str", "int": None}.get(p.func.id))
            if p.func.id in ("range", "chr", "abs", "divmod", "round"):
                tag(node.id, "number")
    if any(isinstance(n, ast.Constant) and isinstance(n.value, bytes) for n in ast.walk(fn)):
        for name in names:  # a body that works on bytes literals may well take bytes in any parameter
            tag(name, "bytes?")
    return hints


def affixes(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, list[list[str]]]:
    """Parameter name -> [prefix, suffix] pairs its ``.startswith``/``.endswith`` tests look for.

    ``s.startswith('<') and s.endswith('>')`` asks for text wrapped in both, which splicing
    tokens at random rarely makes; the runner wraps some generated text in these pairs.
    """
    pre: dict[str, list[str]] = {}
    suf: dict[str, list[str]] = {}
    for node in ast.walk(fn):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)):
            continue
        if node.func.attr not in ("startswith", "endswith") or not node.args:
            continue
        arg = node.args[0]
        found = [e.value for e in (arg.elts if isinstance(arg, ast.Tuple) else [arg]) if isinstance(e, ast.Constant)]
        side = pre if node.func.attr == "startswith" else suf
        for v in found:
            if isinstance(v, str):
                side.setdefault(node.func.value.id, []).append(v)
    out = {}
    for name in set(pre) | set(suf):
        pairs = [[p, q] for p in pre.get(name, [""]) for q in suf.get(name, [""])]
        out[name] = [list(x) for x in dict.fromkeys(tuple(x) for x in pairs)][:12]
    return out


def _bytes_shape(tokens: list[str]) -> dict[str, Any]:
    return {"t": "bytes", "alphabet": "ab c-\n\t.09=", "max_size": 16, "tokens": tokens}


def refine(
    shape: dict[str, Any],
    kinds: set[str],
    tokens: list[str],
    byte_tokens: list[str],
    affix: list[list[str]] | None = None,
    name: str = "",
) -> dict[str, Any]:
    """``shape`` (guessed from a parameter's name) adjusted by how the body uses the parameter.

    Bytes evidence adds a bytes option (a text guess would only raise ``TypeError`` in both
    versions); text evidence adds a text option where the name guessed none; every text shape
    gets the module's literal tokens.
    """
    shape = with_tokens(shape, tokens, affix)
    options = list(shape["options"]) if shape.get("t") == "one_of" else [shape]
    has = {s.get("t") for s in options}
    if "bytes" in kinds and "bytes" not in has:
        b = _bytes_shape(byte_tokens)
        # strong evidence: mostly bytes, keeping the guess for functions that take both
        options = [b, b, *options] if "str" in kinds else [b]
    elif "bytes?" in kinds and "bytes" not in has and ({"str", "list"} & has or "seq" in kinds):
        options.append(_bytes_shape(byte_tokens))
    if "str" in kinds and "str" not in has and "bytes" not in kinds:
        options.append({"t": "str", "alphabet": "ab c-\n\t.", "max_size": 12, "tokens": tokens, "affix": affix or []})
    if "file" in kinds or _FILE_NAMES.match(name):  # an in-memory file holding generated text or bytes
        options.append({"t": "file", "bytes": "bytes" in kinds or "bytes?" in kinds, "tokens": tokens, "byte_tokens": byte_tokens})
    if "map" in kinds and "dict" not in has:
        options.append(
            {"t": "dict", "key": {"t": "str", "alphabet": "abc", "max_size": 3}, "value": {"t": "int", "min": 0, "max": 9}, "max_size": 4}
        )
    return options[0] if len(options) == 1 else {"t": "one_of", "options": options}


def with_tokens(shape: dict[str, Any], tokens: list[str], affix: list[list[str]] | None = None) -> dict[str, Any]:
    """``shape`` with the module's literal tokens (and the parameter's affixes) on every text shape inside it."""
    if not tokens and not affix:
        return shape
    t = shape.get("t")
    if t == "str":
        return {**shape, "tokens": tokens, "affix": affix or []}
    if t == "one_of":
        return {**shape, "options": [with_tokens(s, tokens, affix) for s in shape["options"]]}
    if t == "list":
        return {**shape, "item": with_tokens(shape["item"], tokens)}
    return shape
