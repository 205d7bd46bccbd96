"""What a critic's figures need beside them: the program shape of each item and the trivial
baselines, so that a catch rate is never read without what a critic that reads nothing gets.

- :func:`shape_of`: the kind of program an item changes (``function``, ``stdin script``,
  ``class``, ``package module``, ``module``), read from the code after the change. Catch and
  false alarms differ by shape (a script that reads standard input crashes the same way in
  both versions when no input is given), so they are reported per shape.
- :func:`baseline_frame`: the scores of the two critics that read nothing but the diff, flag
  the first changed line and flag every changed line, in the frame :func:`.score_critiques`
  makes. A critic whose catch does not beat them, at a lower false-alarm rate, adds nothing.
- :func:`ran_no_input`: whether the critique says no case or input ran the changed lines (the
  exec backends write it in the summary); such a verdict rests on nothing executed.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import polars as pl

from oversight_ext.records import Comment, Critique, Item

from .protocol import diff_changed_lines

__all__ = ["BASELINES", "SHAPES", "baseline_frame", "ran_no_input", "shape_of"]

SHAPES = ("function", "stdin script", "class", "package module", "module", "not python", "does not parse")
BASELINES = ("first changed line", "every changed line")
#: What exec writes in a summary when no example, generated input or test ran the changed lines.
_NO_INPUT = "no case or input ran the changed lines"


def ran_no_input(critique: Critique) -> bool:
    """Whether the critique says that nothing it ran reached the changed lines."""
    return _NO_INPUT in critique.summary


def _code_after(item: Item) -> str:
    if item.after is not None:
        return item.after
    # without the whole file, the lines the diff shows of the new side
    return "\n".join(ln[1:] for ln in item.diff.splitlines() if ln[:1] in (" ", "+") and not ln.startswith("+++"))


def shape_of(item: Item) -> str:
    """The program shape the item changes (one of :data:`SHAPES`)."""
    if item.language.lower() != "python":
        return "not python"
    try:
        tree = ast.parse(_code_after(item))
    except (SyntaxError, ValueError):
        return "does not parse"
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attrs = {f"{n.value.id}.{n.attr}" for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    if "input" in names or "sys.stdin" in attrs or any(a.startswith("sys.stdin") for a in attrs):
        return "stdin script"
    if any(isinstance(n, ast.ImportFrom) and n.level > 0 for n in ast.walk(tree)):
        return "package module"
    top = tree.body
    if any(isinstance(n, ast.ClassDef) for n in top) and not any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) for n in top):
        return "class"
    defs = [n for n in top if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    other = [n for n in top if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom)]
    # a docstring or a few constants beside the functions still make a function item
    if defs and len(defs) <= 3 and len(other) <= 2 and not any(isinstance(n, ast.ClassDef) for n in defs):
        return "function"
    return "module"


def _changed_new_lines(item: Item) -> list[int]:
    """1-based lines of the new side of the main file that the diff adds (or, for a pure
    deletion, the line after it)."""
    changed = diff_changed_lines(item.view())
    return sorted(i + 1 for i in changed[1]) if changed else []


def baseline_frame(items: Sequence[Item], which: str, *, tolerance: int = 1) -> pl.DataFrame:
    """The per-item scores of a baseline critic (one of :data:`BASELINES`) that flags the first
    changed line, or every changed line, of each item, at the same +-``tolerance`` lines."""
    from .evaluation import score_critiques

    if which not in BASELINES:
        raise ValueError(f"baseline = {which!r} is invalid: give one of {', '.join(BASELINES)}")
    crits = []
    for it in items:
        lines = _changed_new_lines(it)
        if which == "first changed line":
            lines = lines[:1]
        comments = tuple(Comment(id=f"{it.id}:{n}", path=it.path, start_line=n, end_line=n, text=f"{which} (baseline)") for n in lines)
        crits.append(Critique(id=f"baseline:{which}:{it.id}", item_id=it.id, assistant=which, comments=comments, latency_s=0.0))
    return score_critiques(items, crits)
