"""A libcst codemod for the volume family: local variables renamed, behaviour unchanged.

Two renames that linters ask for and codemods carry out: a local variable that shadows a
builtin gets a trailing underscore (``list`` -> ``list_``, flake8-builtins A001), and a
camelCase local becomes snake_case (``newNode`` -> ``new_node``, pep8-naming N806). libcst's
scope analysis finds every assignment and every read of the name in the function and in the
functions nested in it, so all of them change together.

A rename is left out where it could change what the code does: parameters (callers may pass
them by keyword), names declared ``global`` or ``nonlocal``, names bound by an import or a
``def``/``class``, names read in the scope that also resolve elsewhere, and every local of a
function that reads its own frame or names as text (``locals()``, ``vars()``, ``eval``,
``exec``, ``sys._getframe``, an f-string ``{x=}``). A new name already used anywhere in the
module is not taken.
"""

from __future__ import annotations

import ast
import builtins
import re
from typing import cast

import libcst as cst
from libcst.metadata import Assignment, FunctionScope, MetadataWrapper, PositionProvider, ScopeProvider

__all__ = ["TOOL", "rename_locals"]

TOOL = "libcst codemod: locals shadowing builtins get a trailing _, camelCase locals become snake_case"

_BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("_"))
_CAMEL = re.compile(r"[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+")
_INTROSPECTS = re.compile(r"\b(locals|vars|eval|exec|_getframe|globals)\s*\(|\bnonlocal\b|\bglobal\b|=\s*[!:}]")


def _new_name(name: str) -> str | None:
    if name in _BUILTINS:
        return f"{name}_"
    if _CAMEL.fullmatch(name):
        return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name)
    return None


class _Rename(cst.CSTTransformer):
    def __init__(self, names: dict[cst.Name, str]) -> None:
        super().__init__()
        self.names = names

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        new = self.names.get(original_node)
        return updated_node if new is None else updated_node.with_changes(value=new)


def _outer_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Module-level functions and methods of module-level classes, in source order."""
    out = []
    for st in tree.body:
        for node in st.body if isinstance(st, ast.ClassDef) else [st]:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append(node)
    return out


def _candidate(f: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether ``f`` assigns a name the codemod would rename (a quick look with ``ast``: libcst's
    scope analysis costs far more, so it only runs on the functions where this says yes)."""
    return any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and _new_name(n.id) for n in ast.walk(f))


def rename_locals(text: str) -> tuple[str, int]:
    """``text`` with its eligible locals renamed, and how many names were renamed. Each function
    that has a candidate is analysed on its own (its scope is all a local's rename touches)."""
    lines = text.splitlines(keepends=True)
    words = set(re.findall(r"\w+", text))
    renamed = 0
    for f in reversed(_outer_functions(ast.parse(text))):
        if not _candidate(f) or f.end_lineno is None:
            continue
        first, last = f.lineno - 1, f.end_lineno
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        if not all(not ln.strip() or ln.startswith(indent) for ln in lines[first:last]):
            continue  # a multi-line string that leaves the indentation: leave the function
        snippet = "".join(ln[len(indent) :] if ln.strip() else ln for ln in lines[first:last])
        new, k = _rename_in(snippet, words)
        if k:
            lines[first:last] = [indent + ln if ln.strip() else ln for ln in new.splitlines(keepends=True)]
            renamed += k
    return "".join(lines), renamed


def _rename_in(text: str, words: set[str]) -> tuple[str, int]:
    """The renames in the functions of ``text`` (one function's source), avoiding ``words``."""
    try:
        wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
    except cst.ParserSyntaxError:
        return text, 0
    scopes = wrapper.resolve(ScopeProvider)
    where = wrapper.resolve(PositionProvider)
    names: dict[cst.Name, str] = {}
    renamed = 0
    functions = {s for s in scopes.values() if isinstance(s, FunctionScope)}
    for scope in sorted(functions, key=lambda s: (where[s.node].start.line, where[s.node].start.column)):
        if _INTROSPECTS.search(wrapper.module.code_for_node(scope.node)):
            continue
        for name in sorted({a.name for a in scope.assignments}):
            new = _new_name(name)
            if new is None or new in words:
                continue
            binds = [a for a in scope.assignments[name] if isinstance(a, Assignment) and isinstance(a.node, cst.Name)]
            if len(binds) != len(scope.assignments[name]):
                continue  # a parameter, an import, a def or class: not a plain local
            reads = {r for a in binds for r in a.references}
            if any(set(r.referents) - set(binds) for r in reads):
                continue  # a read that may also see another binding
            if any(not isinstance(r.node, cst.Name) for r in reads):
                continue  # read through a string annotation or similar: leave it
            for a in binds:
                names[cast(cst.Name, a.node)] = new
            for r in reads:
                names[cast(cst.Name, r.node)] = new
            words.add(new)
            renamed += 1
    if not names:
        return text, 0
    return wrapper.module.visit(_Rename(names)).code, renamed
