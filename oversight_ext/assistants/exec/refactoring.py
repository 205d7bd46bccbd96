"""Recognise a change that is a behaviour-preserving refactoring of Python code.

:func:`recognise_refactoring` puts the code before and after a change through the same normal
forms (:mod:`.normalise`), each undoing one kind of behaviour-preserving change, and reports the
one after which the two versions have the same syntax tree (or the ones, joined with "+", when
it takes several applied in turn). The catalogue (:data:`NORMALISATIONS`) comes from what
preserves behaviour in Python, not from any generator of test items: extract constant or
variable (and their inverses), constant folding, string formatting spelled another way,
arguments equal to their defaults, loop to comprehension (lists, sets, dicts, nested loops),
if inversion, guard clauses, sliding independent statements, renaming locals; and "layout" when
only formatting or comments changed.

The ``exec`` backend uses it where execution has nothing to say (no input ran the changed lines):
a recognised refactoring is reported as behaviour-preserving rather than left unverified.
Equal trees after normalisation is a syntactic argument, not a proof under every dynamic
feature of Python (a function that reads its locals by name through ``locals()`` or ``eval``
is never normalised by renaming or inlining).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from .normalise import (
    builtin_defaults,
    fold_constants,
    format_strings,
    guard_clauses,
    inline_literals,
    inline_variables,
    invert_ifs,
    loops_to_comprehensions,
    rename_locals,
    slide_statements,
)
from .trees import parsed

__all__ = ["NORMALISATIONS", "recognise_refactoring"]

#: The normal forms, in the order they are applied, each named by the refactoring it undoes.
NORMALISATIONS: list[tuple[str, Callable[[ast.Module], None]]] = [
    ("extract constant", inline_literals),
    ("fold constants", fold_constants),
    ("string formatting", format_strings),
    ("default arguments", builtin_defaults),
    ("loop to comprehension", loops_to_comprehensions),
    ("invert if", invert_ifs),
    ("guard clause", guard_clauses),
    ("slide statements", slide_statements),
    ("rename local", rename_locals),
    ("extract variable", inline_variables),
]


def _strip(tree: ast.AST) -> str:
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def recognise_refactoring(before: str, after: str) -> str | None:
    """The refactoring that turns ``before`` into ``after`` (names from :data:`NORMALISATIONS`),
    or None when the two differ in behaviour-relevant ways, do not parse, or are the same text."""
    if before == after:
        return None
    pair = parsed(before), parsed(after)
    if pair[0] is None or pair[1] is None:
        return None
    trees = [pair[0], pair[1]]
    differing = _differing(before, after, trees)
    if differing == [] or (differing is None and _strip(trees[0]) == _strip(trees[1])):
        return "layout"  # the same tree: only formatting or comments changed
    pairs = differing or [(before, after)]
    names = [name for name, _ in NORMALISATIONS]
    # one refactoring: the names that match the first pair are the only candidates for the rest
    for name in [n for n in names if _pair_equal_after(pairs[0], [n])]:
        if _equal_after(pairs[1:], [name]):
            return name
    if not _equal_after(pairs, names):
        return None
    needed = list(names)  # several: keep only those the equality needs
    for name in names:
        if _equal_after(pairs, [n for n in needed if n != name]):
            needed.remove(name)
    return " + ".join(needed)


def _segments(source: str, tree: ast.Module) -> list[str] | None:
    """The source text of each module-level statement (decorators included), or None when two
    statements share a line (``a = 1; b = 2``), which lines cannot split."""
    lines = source.splitlines(keepends=True)
    out, end = [], 0
    for st in tree.body:
        start = min([st.lineno] + [d.lineno for d in getattr(st, "decorator_list", ())])
        if start <= end or st.end_lineno is None:
            return None
        out.append("".join(lines[start - 1 : st.end_lineno]))
        end = st.end_lineno
    return out


def _differing(before: str, after: str, trees: list[ast.Module]) -> list[tuple[str, str]] | None:
    """The texts of the module-level statements that differ between the two versions, as
    (before's, after's) pairs matched by position.

    The normal forms rewrite inside one function, one statement or one expression; the one that
    can add module-level statements is *guard clause*, on a module-level ``if`` with an ``else``.
    Without such an ``if``, two modules with as many statements are equal after the normal forms
    exactly when each pair of statements at the same position is; pairs with the same tree
    already are, and leaving them out makes the cost follow the size of the change rather than
    of the file. None when that does not hold or the statements cannot be cut out of the text
    (the caller then uses the whole texts)."""
    if len(trees[0].body) != len(trees[1].body) or any(isinstance(st, ast.If) and st.orelse for t in trees for st in t.body):
        return None
    cut = [_segments(before, trees[0]), _segments(after, trees[1])]
    if cut[0] is None or cut[1] is None:
        return None
    # the same text is the same tree; only statements whose text differs are compared as trees
    keep = [
        k for k, (a, b) in enumerate(zip(trees[0].body, trees[1].body, strict=True)) if cut[0][k] != cut[1][k] and _strip(a) != _strip(b)
    ]
    return [(cut[0][k], cut[1][k]) for k in keep]


def _equal_after(pairs: list[tuple[str, str]], names: list[str]) -> bool:
    """Whether each pair of codes has equal trees once the named normalisations are applied in
    turn (stops at the first pair that does not: most changes are told apart on their first)."""
    return all(_pair_equal_after(pair, names) for pair in pairs)


def _pair_equal_after(sources: tuple[str, str], names: list[str]) -> bool:
    # a fresh parse per pass: the normal forms rewrite trees in place, and parsing (C) costs a
    # fraction of deep-copying the tree (Python)
    trees = [ast.parse(src) for src in sources]
    for name, normalise in NORMALISATIONS:
        if name in names:
            for t in trees:
                try:
                    normalise(t)
                    ast.fix_missing_locations(t)  # nodes a normal form made take their parent's place in the order
                except (RecursionError, ValueError, SyntaxError):
                    return False
    return _strip(trees[0]) == _strip(trees[1])
