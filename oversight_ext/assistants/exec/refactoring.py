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


def _strip(tree: ast.Module) -> str:
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def recognise_refactoring(before: str, after: str) -> str | None:
    """The refactoring that turns ``before`` into ``after`` (names from :data:`NORMALISATIONS`),
    or None when the two differ in behaviour-relevant ways, do not parse, or are the same text."""
    if before == after:
        return None
    try:
        trees = [ast.parse(before), ast.parse(after)]
    except (SyntaxError, ValueError):
        return None
    if _strip(trees[0]) == _strip(trees[1]):
        return "layout"  # the same tree: only formatting or comments changed
    sources = [before, after]
    for name, _ in NORMALISATIONS:  # one refactoring
        if _equal_after(sources, [name]):
            return name
    names = [name for name, _ in NORMALISATIONS]
    if not _equal_after(sources, names):
        return None
    needed = list(names)  # several: keep only those the equality needs
    for name in names:
        if _equal_after(sources, [n for n in needed if n != name]):
            needed.remove(name)
    return " + ".join(needed)


def _equal_after(sources: list[str], names: list[str]) -> bool:
    """Whether the two codes' trees are equal once the named normalisations are applied in turn."""
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
