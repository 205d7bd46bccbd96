"""The hunks of a diff as monitors see them: where each is, what it adds, what it removes.

A monitor gives every hunk a suspicion score in [0, 1]; :class:`HunkView` is what it scores.
``fragments`` are the runs of consecutive added lines, dedented, that parse as Python on their
own (an added helper, an inserted ``if``), with the new-file line of their first line, so an AST
check or an analyser can look at exactly what the change introduces.
"""

from __future__ import annotations

import ast
import keyword
import re
import textwrap
from dataclasses import dataclass, field

from oversight_ext.diffs import parse_diff

__all__ = ["Fragment", "HunkView", "canonical", "hunks_of", "is_test_path", "shape", "string_values"]

_STARTS = re.compile(r"(def |class |async def |@|if |for |while |with |try:|return |import |from )")
_TEST_PATH = re.compile(r"(^|/)(test_[^/]*\.py|[^/]*_test\.py|conftest\.py|tests?/[^/]*\.py)$")


def is_test_path(path: str) -> bool:
    return bool(_TEST_PATH.search(path))


@dataclass(frozen=True)
class Fragment:
    """Consecutive added lines that parse on their own: ``tree`` of ``text``, first line ``line`` (new file)."""

    line: int
    text: str
    tree: ast.Module


@dataclass
class HunkView:
    index: int
    path: str
    start: int  # first new-file line of the hunk
    end: int  # last new-file line of the hunk
    added: list[tuple[int, str]] = field(default_factory=list)  # (new line, text)
    removed: list[str] = field(default_factory=list)
    removed_at: list[tuple[int, str]] = field(default_factory=list)  # (old line, text)
    body: list[tuple[str, str]] = field(default_factory=list)  # ("context" | "add" | "del", text), in order
    _fragments: list[Fragment] | None = None
    _removed_fragments: list[Fragment] | None = None
    _removed_canonical: str | None = None

    @property
    def size(self) -> int:
        return len(self.added) + len(self.removed)

    @property
    def added_text(self) -> str:
        return "\n".join(t for _, t in self.added)

    def fragments(self) -> list[Fragment]:
        """The parseable runs of added lines (computed once)."""
        if self._fragments is None:
            self._fragments = _fragments_of(self.added)
        return self._fragments

    def removed_fragments(self) -> list[Fragment]:
        """The parseable runs of removed lines, with old-file line numbers: the code before the
        change, which a check runs on too so that only what the change introduces counts."""
        if self._removed_fragments is None:
            self._removed_fragments = _fragments_of(self.removed_at)
        return self._removed_fragments

    def sides(self, start: int = 0, stop: int | None = None) -> tuple[str, str, list[int], list[int]]:
        """The hunk's text before and after the change (its context lines with the removed, or
        the added, ones) and the 0-based lines of each that the change touches; ``start`` and
        ``stop`` cut a window of the hunk's lines (:attr:`body`) first."""
        old: list[str] = []
        new: list[str] = []
        old_at: list[int] = []
        new_at: list[int] = []
        for kind, text in self.body[start:stop]:
            if kind != "add":
                old_at += [len(old)] if kind == "del" else []
                old.append(text)
            if kind != "del":
                new_at += [len(new)] if kind == "add" else []
                new.append(text)
        return "\n".join(old) + "\n", "\n".join(new) + "\n", old_at, new_at

    def is_moved(self, line_text: str) -> bool:
        """Whether ``line_text`` (an added line) only moved or was re-wrapped: its tokens, with each
        string literal in one canonical spelling, are among the removed lines'. A formatter's
        work (re-indenting, re-wrapping, ``'x'`` to ``"x"``, a trailing comma) is no new code."""
        # a formatter that splits a call or signature one argument a line adds a trailing comma
        squeezed = canonical(line_text).removesuffix(",")
        if not squeezed:
            return False
        if self._removed_canonical is None:
            self._removed_canonical = canonical("".join(self.removed))
        return squeezed in self._removed_canonical


#: A one-line string literal with an optional prefix (not f-strings: their braces hold code).
_STRING = re.compile(r"""(?<![\w'"])([rRbBuU]{0,2})('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""")
_ONE = r"""(?<![\w'"])[rRbBuU]{0,2}(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
#: Adjacent string literals (``"a, " "b"``), which Python joins into one: a formatter joins a
#: reason string split over two lines into one literal, the same value in one spelling.
_JOINED = re.compile(rf"{_ONE}(?:\s*{_ONE})+")


def _literal(m: re.Match[str]) -> str:
    try:
        return repr(ast.literal_eval(m.group(0)))
    except (SyntaxError, ValueError):
        return m.group(0)


def _joined(m: re.Match[str]) -> str:
    try:  # in brackets: the literals may stand on lines of their own
        return repr(ast.literal_eval(f"({m.group(0)})"))
    except (SyntaxError, ValueError, TypeError):
        return m.group(0)  # bytes beside str, say: not Python, left as written


def canonical(text: str) -> str:
    """``text`` with every one-line string literal (adjacent ones joined, as Python joins them)
    spelled as Python's repr of its value and all whitespace removed: two spellings of the same
    tokens compare equal."""
    return re.sub(r"\s+", "", _STRING.sub(_literal, _JOINED.sub(_joined, text)))


def _names(code: str) -> str:
    return re.sub(r"\b[A-Za-z_]\w*\b", lambda m: m.group(0) if keyword.iskeyword(m.group(0)) else "N", code)


def shape(text: str) -> str:
    """``text`` as :func:`canonical` spells it, with every name (not keywords, not inside string
    literals) replaced by ``N``: code that only renamed its variables has the same shape."""
    out, pos = [], 0
    for m in _STRING.finditer(text):
        out += [_names(text[pos : m.start()]), _literal(m)]
        pos = m.end()
    return re.sub(r"\s+", "", "".join([*out, _names(text[pos:])]))


def string_values(text: str) -> set[str]:
    """Python's repr of the value of each one-line string literal in ``text`` (f-strings aside)."""
    return {_literal(m) for m in _STRING.finditer(text)}


def _fragments_of(lines: list[tuple[int, str]]) -> list[Fragment]:
    out: list[Fragment] = []
    run: list[tuple[int, str]] = []
    for ln, text in [*lines, (-1, "")]:
        if run and ln == run[-1][0] + 1:
            run.append((ln, text))
            continue
        if run:
            out += _parse_run(run)
        run = [(ln, text)] if ln > 0 else []
    return out


def _parse_run(run: list[tuple[int, str]], depth: int = 0) -> list[Fragment]:
    """The run as one fragment if it parses; else the blocks it splits into at statements that
    start at its outermost indentation (a new helper next to re-wrapped lines), each that parses."""
    while run and not run[0][1].strip():
        run = run[1:]
    if not run:
        return []
    text = textwrap.dedent("\n".join(t for _, t in run))
    try:
        return [Fragment(run[0][0], text, ast.parse(text))]
    except (SyntaxError, ValueError):
        pass
    if depth:
        return []
    indents = [len(t) - len(t.lstrip()) for _, t in run if t.strip()]
    outer = min(indents)
    cuts = [k for k, (_, t) in enumerate(run) if k and len(t) - len(t.lstrip()) == outer and _STARTS.match(t.strip())]
    out: list[Fragment] = []
    for a, b in zip([0, *cuts], [*cuts, len(run)], strict=True):
        out += _parse_run(run[a:b], depth + 1)
    return out


def hunks_of(diff: str) -> list[HunkView]:
    """Every hunk of ``diff``, in the diff's order (the order of ``Critique.hunk_scores``)."""
    out: list[HunkView] = []
    for f in parse_diff(diff):
        for h in f.hunks:
            view = HunkView(len(out), f.path, h.new_start, max(h.new_start, h.new_start + h.new_len - 1))
            for ln in h.lines:
                if ln.kind in ("context", "add", "del"):
                    view.body.append((ln.kind, ln.text))
                if ln.kind == "add" and ln.new is not None:
                    view.added.append((ln.new, ln.text))
                elif ln.kind == "del":
                    view.removed.append(ln.text)
                    if ln.old is not None:
                        view.removed_at.append((ln.old, ln.text))
            out.append(view)
    return out
