"""One parse of a version's code, shared by the readers that only look at its syntax tree.

Recognising a program's shape, its entry points, its examples, how it reads standard input and
whether a change is a refactoring each read the same code's tree. Parsing a 50,000-line module
takes a good part of a second, and a critique used to parse each version a dozen times;
:func:`parsed` keeps the last few trees. The trees are shared: a reader must never change one
(the normal forms in :mod:`.normalise`, which rewrite trees, parse their own copy).
"""

from __future__ import annotations

import ast
import functools

__all__ = ["parsed"]


@functools.lru_cache(maxsize=16)
def parsed(code: str) -> ast.Module | None:
    """The syntax tree of ``code``, or None when it does not parse (syntax error, null byte)."""
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None
