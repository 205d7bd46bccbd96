"""Unified diffs: parse (multi-file, renames, binary markers), apply, make, and map lines.

Parsing uses the maintained ``unidiff`` parser; this module turns its objects into plain
data the rest of the package (critics, the review UI, gold checks) can use. Plain unified diffs
(``---``/``+++`` and ``@@`` hunks only, what ``make_diff`` and ``diff -u`` write) take a one-pass
path with the same answer, three times faster on huge diffs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import unidiff

__all__ = [
    "CompactFile",
    "CompactHunk",
    "DiffError",
    "DiffFile",
    "DiffLine",
    "Hunk",
    "apply_diff",
    "changed_lines",
    "make_diff",
    "parse_compact",
    "parse_diff",
]


class DiffError(ValueError):
    """A diff cannot be parsed or applied; the message says where and how to fix it."""


class DiffLine(NamedTuple):
    # A tuple, not a dataclass: a 100,000-line diff makes 100,000 of these, and a frozen
    # dataclass's __init__ costs twice as much. It also serialises to JSON as a list.
    kind: str  # "context" | "add" | "del" | "meta" ("\\ No newline at end of file")
    text: str
    old: int | None  # 1-based line in the old file, None for added lines
    new: int | None  # 1-based line in the new file, None for deleted lines


@dataclass(frozen=True, slots=True)
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    header: str
    lines: tuple[DiffLine, ...]


@dataclass(frozen=True, slots=True)
class DiffFile:
    old_path: str
    new_path: str
    status: str  # "modified" | "added" | "deleted" | "renamed"
    binary: bool
    hunks: tuple[Hunk, ...] = field(default=())

    @property
    def path(self) -> str:
        """The path a reviewer knows the file by: the new one, or the old one if deleted."""
        return self.old_path if self.status == "deleted" else self.new_path

    @property
    def added(self) -> int:
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "add")

    @property
    def removed(self) -> int:
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "del")


_KINDS = {"+": "add", "-": "del", " ": "context"}  # unidiff line types; "\\" is "meta"


def _strip_prefix(path: str | None) -> str:
    if not path or path == "/dev/null":
        return ""
    return path[2:] if path.startswith(("a/", "b/")) else path


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@[ ]?(.*)")
_FILE = re.compile(r"^(?:---|\+\+\+) ([^\t\n]+)")
_new = tuple.__new__


class CompactHunk(NamedTuple):
    """A hunk with its lines as one kind character each (" " context, "+" added, "-" deleted,
    "\\" meta) and their texts; the line numbers follow from the starts."""

    old_start: int
    old_len: int
    new_start: int
    new_len: int
    header: str
    kinds: str
    texts: list[str]


class CompactFile(NamedTuple):
    old_path: str
    new_path: str
    status: str
    binary: bool
    hunks: list[CompactHunk]


_EMPTY_CONTEXT = str.maketrans({"\n": " ", "\r": " "})


def _plain_compact(lines: list[str]) -> list[CompactFile] | None:
    """The files of a plain unified diff (``---``/``+++`` headers and ``@@`` hunks, nothing
    else) in compact form, without an object per line; None for anything else (git's extended
    headers, binary markers, text between files, a hunk shorter or longer than its header says),
    which goes to unidiff.

    A hunk's body is found from the first characters of the lines alone (one string for the
    whole diff): it ends where both of the header's counts are used up, then any "\\ No newline"
    lines. The span grows by the larger count still missing (each line pays at most one of
    each), so it never passes that point, and a count that goes negative is a hunk longer than
    its header (None). A 100,000-line diff parses in about a third of the time of a loop over
    its lines; the answer is unidiff's (tests compare them on every shared diff)."""
    firsts = "".join([ln[0] for ln in lines])  # splitlines never yields an empty line
    files: list[CompactFile] = []
    k, n = 0, len(lines)
    while k < n:
        if k + 1 >= n or not lines[k].startswith("--- ") or not lines[k + 1].startswith("+++ "):
            return None
        src, dst = _FILE.match(lines[k]), _FILE.match(lines[k + 1])
        if src is None or dst is None:
            return None
        if src.group(1).startswith('"') or dst.group(1).startswith('"'):
            return None  # quoted names: unidiff's rules
        old_path, new_path = _strip_prefix(src.group(1)), _strip_prefix(dst.group(1))
        k += 2
        hunks: list[CompactHunk] = []
        while k < n and lines[k].startswith("@@"):
            m = _HUNK.match(lines[k])
            if m is None:
                return None
            o0, ol, n0, nl = int(m[1]), int(m[2] or 1), int(m[3]), int(m[4] or 1)
            k += 1
            e = k
            while True:
                seg = firsts[k:e]
                # An empty line ("\n", or "\r\n" in a CRLF diff) is a context line whose space an editor stripped.
                ctx = seg.count(" ") + seg.count("\n") + seg.count("\r")
                left_old = ol - ctx - seg.count("-")
                left_new = nl - ctx - seg.count("+")
                if left_old < 0 or left_new < 0:
                    return None
                if left_old == 0 and left_new == 0:
                    break
                if e >= n:
                    return None
                e = min(n, e + max(left_old, left_new))
            while e < n and firsts[e] == "\\":
                e += 1
            seg = firsts[k:e]
            if len(seg) != ctx + seg.count("-") + seg.count("+") + seg.count("\\"):
                return None  # a line that starts with none of the four
            body = lines[k:e]
            texts = [ln[1:-1] if ln[-1] == "\n" else ln[1:] for ln in body]
            if "\r" in seg or "\n" in seg:
                for i, ln in enumerate(body):
                    if ln[0] == "\r" and ln != "\r\n":
                        return None  # a bare carriage return ends the line: not a context line
                    if ln[0] in "\r\n":
                        texts[i] = ln[:-1]  # the whole line is its text ("" or "\r")
            hunks.append(CompactHunk(o0, ol, n0, nl, m[5], seg.translate(_EMPTY_CONTEXT), texts))
            k = e
        if not hunks:
            return None
        one = hunks[0] if len(hunks) == 1 else None
        if not old_path or (one is not None and one.old_start == 0 and one.old_len == 0):
            status = "added"
        elif not new_path or (one is not None and one.new_start == 0 and one.new_len == 0):
            status = "deleted"
        else:
            status = "renamed" if old_path != new_path else "modified"
        files.append(CompactFile(old_path or new_path, new_path or old_path, status, False, hunks))
    return files or None


def _plain(lines: list[str]) -> list[DiffFile] | None:
    """:func:`_plain_compact` with numbered line tuples (None where it gives None)."""
    compact = _plain_compact(lines)
    if compact is None:
        return None
    return [DiffFile(f.old_path, f.new_path, f.status, f.binary, tuple(_hunk(h) for h in f.hunks)) for f in compact]


def _hunk(h: CompactHunk) -> Hunk:
    body: list[DiffLine] = []
    add = body.append
    old, new = h.old_start, h.new_start
    # Tuples built with tuple.__new__ (a C call; the NamedTuple's own __new__ is a Python function).
    for c, text in zip(h.kinds, h.texts, strict=True):
        if c == " ":
            add(_new(DiffLine, ("context", text, old, new)))
            old += 1
            new += 1
        elif c == "-":
            add(_new(DiffLine, ("del", text, old, None)))
            old += 1
        elif c == "+":
            add(_new(DiffLine, ("add", text, None, new)))
            new += 1
        else:
            add(_new(DiffLine, ("meta", text, None, None)))
    return Hunk(h.old_start, h.old_len, h.new_start, h.new_len, h.header, tuple(body))


def parse_compact(text: str) -> list[CompactFile]:
    """:func:`parse_diff` in compact form (one kind character and one text per line, no line
    numbers: they follow from the hunk starts), for a diff's display: a plain unified diff
    goes from the lines to this form without an object per line."""
    if not isinstance(text, str):
        raise DiffError(f"a diff must be text, got {type(text).__name__}")
    fast = _plain_compact(text.splitlines(keepends=True))
    if fast is not None:
        return fast
    codes = {"context": " ", "add": "+", "del": "-", "meta": "\\"}
    return [
        CompactFile(
            f.old_path,
            f.new_path,
            f.status,
            f.binary,
            [
                CompactHunk(
                    h.old_start,
                    h.old_len,
                    h.new_start,
                    h.new_len,
                    h.header,
                    "".join(codes[ln.kind] for ln in h.lines),
                    [ln.text for ln in h.lines],
                )
                for h in f.hunks
            ],
        )
        for f in parse_diff(text)
    ]


def parse_diff(text: str) -> list[DiffFile]:
    """Parse a unified diff (git or plain) into files, hunks and numbered lines.

    Raises :class:`DiffError` for text that holds no diff or a malformed hunk.
    """
    if not isinstance(text, str):
        raise DiffError(f"a diff must be text, got {type(text).__name__}")
    fast = _plain(text.splitlines(keepends=True))
    if fast is not None:
        return fast
    try:
        patch = unidiff.PatchSet(text.splitlines(keepends=True))
    except unidiff.UnidiffParseError as exc:
        raise DiffError(f"malformed unified diff: {exc}; regenerate it with `git diff` or `diff -u`") from None
    if not len(patch):
        raise DiffError("no file changes found: a unified diff needs '--- a/FILE' / '+++ b/FILE' headers and '@@' hunks")
    files = []
    for pf in patch:
        old_path, new_path = _strip_prefix(pf.source_file), _strip_prefix(pf.target_file)
        if pf.is_added_file:
            status = "added"
        elif pf.is_removed_file:
            status = "deleted"
        elif pf.is_rename or (old_path and new_path and old_path != new_path):
            status = "renamed"
        else:
            status = "modified"
        if not old_path:
            old_path = new_path
        if not new_path:
            new_path = old_path
        hunks = []
        for h in pf:
            lines = [
                DiffLine(
                    _KINDS.get(ln.line_type, "meta"),
                    ln.value[:-1] if ln.value.endswith("\n") else ln.value,
                    ln.source_line_no,
                    ln.target_line_no,
                )
                for ln in h
            ]
            hunks.append(Hunk(h.source_start, h.source_length, h.target_start, h.target_length, h.section_header or "", tuple(lines)))
        files.append(DiffFile(old_path, new_path, status, bool(pf.is_binary_file), tuple(hunks)))
    return files


def changed_lines(text: str, side: str = "new") -> dict[str, set[int]]:
    """Lines each file's diff adds (``side='new'``) or removes (``side='old'``), by path."""
    kind = "add" if side == "new" else "del"
    out: dict[str, set[int]] = {}
    for f in parse_diff(text):
        lines = out.setdefault(f.path, set())
        for h in f.hunks:
            for ln in h.lines:
                if ln.kind == kind:
                    lines.add(ln.new if side == "new" else ln.old)  # type: ignore[arg-type]
    return out


def apply_diff(before: str, diff: str, path: str | None = None) -> str:
    """Apply the single-file ``diff`` (or its file ``path``) to ``before`` and return the result.

    Context and removed lines must match ``before`` exactly; otherwise :class:`DiffError`
    names the first line that does not.
    """
    files = parse_diff(diff)
    if path is not None:
        files = [f for f in files if path in (f.new_path, f.old_path)]
    if len(files) != 1:
        raise DiffError(f"apply_diff needs exactly one file's diff, found {len(files)}; pass path= to pick one")
    f = files[0]
    if f.binary:
        raise DiffError(f"{f.path}: binary diffs cannot be applied as text")
    old = before.splitlines(keepends=True)
    out: list[str] = []
    pos = 0  # index into old
    for h in f.hunks:
        start = max(h.old_start - 1, 0) if h.old_len else h.old_start
        if start < pos or start > len(old):
            raise DiffError(f"{f.path}: hunk {h.header or ''} @@ -{h.old_start} starts outside the file ({len(old)} lines)")
        out.extend(old[pos:start])
        pos = start
        last_new: int | None = None
        for ln in h.lines:
            if ln.kind == "meta":  # "\ No newline at end of file" applies to the line before
                if last_new is not None and out and out[-1].endswith("\n"):
                    out[-1] = out[-1][:-1]
                continue
            if ln.kind in ("context", "del"):
                actual = old[pos].rstrip("\r\n") if pos < len(old) else None
                if actual != ln.text:
                    raise DiffError(
                        f"{f.path}: the diff does not apply: line {pos + 1} of the original is {actual!r}, the diff expects {ln.text!r}"
                    )
                if ln.kind == "context":
                    out.append(old[pos] if old[pos].endswith("\n") else old[pos] + "\n")
                    last_new = len(out) - 1
                else:
                    last_new = None
                pos += 1
            else:
                out.append(ln.text + "\n")
                last_new = len(out) - 1
    out.extend(old[pos:])
    return "".join(out)


def make_diff(before: str, after: str, path: str, *, context: int = 3) -> str:
    """A ``git diff``-style unified diff of one file (``a/path`` -> ``b/path``)."""
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(a, b, f"a/{path}", f"b/{path}", n=context):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)
