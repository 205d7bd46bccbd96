"""Scripts that read standard input and write standard output: what to feed them.

A competitive-programming script has no function to call: it reads its input when it runs and
prints its answer. Loaded as a module it stops at the first ``input()`` with ``EOFError`` in both
versions, which says nothing about the change. exec instead runs the whole script on inputs, in
the same sandbox, and compares what the versions print:

- :func:`reads_stdin`: whether the code is such a script;
- :func:`sample_io`: the sample inputs (and outputs, where given) of the task statement, the
  blocks after ``Input`` / ``Sample Input`` / ``Example`` headings;
- :func:`read_sites`: how the script parses each line it reads (``int(input())``,
  ``map(int, input().split())`` into two names, ``input().split()``, ``sys.stdin.read()``), so the
  sandbox can make up inputs of that form when the statement has no samples (it asks the line's
  form at the moment the script reads it, so loops over ``n`` lines get ``n`` lines);
- :func:`line_map`: which line of the old code each line of the new one stands for, so the
  sandbox can find where the two runs on one input first diverge.
"""

from __future__ import annotations

import ast
import difflib
import re

from .trees import parsed

__all__ = ["line_map", "read_sites", "reads_stdin", "sample_io"]

#: A heading of a sample block: "Input", "Sample Input 2", "Example input:", "Output", ... alone on its line.
_HEAD = re.compile(r"^\s*(?:sample|example)?\s*(input|output)s?\s*(?:#?\d+)?\s*:?\s*$", re.IGNORECASE)
#: Lines that end a sample block without starting another (a note, the next section).
_END = re.compile(r"^\s*(note|notes|explanation|constraints?|examples?|samples?|sample\s+tests?)\b.*$", re.IGNORECASE)


def _attrs(tree: ast.AST) -> set[str]:
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute):
            parts = [n.attr]
            v = n.value
            while isinstance(v, ast.Attribute):
                parts.append(v.attr)
                v = v.value
            if isinstance(v, ast.Name):
                out.add(".".join([v.id, *reversed(parts)]))
    return out


def reads_stdin(code: str | None) -> bool:
    """Whether ``code`` reads standard input when it runs (``input()``, ``sys.stdin``, ``open(0)``)
    at the top level or from a function the top level calls, i.e. it is a script, not a library."""
    tree = parsed(code or "")
    if tree is None:
        return False
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    uses = "input" in calls or any(a == "sys.stdin" or a.startswith(("sys.stdin.", "stdin.")) for a in _attrs(tree))
    uses = uses or any(_is_read(n) for n in ast.walk(tree))  # open(0).read()
    if not uses:
        return False
    # a library function that happens to call input() is not a script: something must run at import
    top = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))]
    return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in top)


_SECTION = re.compile(r"^\s*(examples?|samples?|sample\s+tests?)\s*(?:#?\d+)?\s*:?\s*$", re.IGNORECASE)
_WORD = re.compile(r"^[A-Za-z][a-z]+[,.:;]?$")


def _prose(line: str) -> bool:
    """Whether a block's first line reads as a sentence (the format's description), not data."""
    words = sum(1 for t in line.split() if _WORD.match(t))
    return words >= 4 and line.rstrip().endswith((".", ":"))


def _blocks(text: str) -> list[tuple[str, str, bool]]:
    """(``input`` or ``output``, block text, whether it is a sample) in the order the headings
    appear: a sample when its heading says so (``Sample Input``) or it sits in an ``Examples``
    section; a plain ``Input`` heading may also head the statement's description of the format."""
    lines = text.splitlines()
    out: list[tuple[str, str, bool]] = []
    i, in_examples = 0, False
    while i < len(lines):
        if _SECTION.match(lines[i]):
            in_examples = True
            i += 1
            continue
        m = _HEAD.match(lines[i])
        if not m:
            i += 1
            continue
        kind, body = m.group(1).lower(), []
        sample = in_examples or bool(re.match(r"\s*(sample|example)", lines[i], re.IGNORECASE))
        i += 1
        while i < len(lines) and not _HEAD.match(lines[i]) and not _END.match(lines[i]):
            body.append(lines[i])
            i += 1
        # a blank line may separate the heading from the block; trailing blank lines end it
        while body and not body[0].strip():
            body.pop(0)
        while body and not body[-1].strip():
            body.pop()
        if body and "\n\n\n" not in "\n".join(body):
            out.append((kind, "\n".join(ln.strip() for ln in body) + "\n", sample))
    return out


def sample_io(task: str | None) -> list[tuple[str, str | None]]:
    """The task statement's sample inputs, each with the output that follows it (None when the
    statement gives none). Only blocks under a heading of their own: ``Input: nums = [1]`` on one
    line is a function's example, not a script's input. Where some blocks are marked as samples,
    only those count; else blocks that read as prose (the format's description) are left out."""
    blocks = _blocks(task or "")
    if any(sample for _, _, sample in blocks):
        blocks = [b for b in blocks if b[2]]
    else:
        blocks = [b for b in blocks if not _prose(b[1].splitlines()[0])]
    pairs: list[tuple[str, str | None]] = []
    for kind, block, _ in blocks:
        if kind == "input":
            pairs.append((block, None))
        elif pairs and pairs[-1][1] is None:
            pairs[-1] = (pairs[-1][0], block)
    return list(dict.fromkeys(pairs))


def _is_read(node: ast.AST) -> str | None:
    """``"line"`` for a call that reads one line (``input()``, ``sys.stdin.readline()``), ``"all"``
    for one that reads everything (``sys.stdin.read()``, ``readlines()``, ``open(0).read()``)."""
    if not isinstance(node, ast.Call):
        return None
    f = node.func
    if isinstance(f, ast.Name) and f.id == "input":
        return "line"
    if isinstance(f, ast.Attribute):
        owner = ast.unparse(f.value)
        if owner.endswith(("stdin", "stdin.buffer")) or owner in ("open(0)",):
            return "line" if f.attr == "readline" else "all" if f.attr in ("read", "readlines") else None
    return None


def read_sites(code: str) -> dict[int, list[object]]:
    """Line -> ``[form, count]`` of each read of standard input in ``code``: the form a line
    read there must have (``int``, ``float``, ``ints``, ``floats``, ``words``, ``text``, ``all``)
    and, for a split line unpacked into names (``a, b = map(int, ...)``), how many values."""
    tree = parsed(code)
    if tree is None:
        return {}
    parent: dict[ast.AST, ast.AST] = {}
    for n in ast.walk(tree):
        for c in ast.iter_child_nodes(n):
            parent[c] = n
    sites: dict[int, list[object]] = {}
    for n in ast.walk(tree):
        what = _is_read(n)
        if what is None or not isinstance(n, ast.Call):
            continue
        if what == "all":
            sites[n.lineno] = ["all", None]
            continue
        node: ast.AST = n
        form, split = "text", False
        # climb through .strip() / .split() / map(int, ...) / int(...) / list(...)
        while node in parent:
            up = parent[node]
            if isinstance(up, ast.Attribute) and up.attr in ("strip", "rstrip", "lstrip", "split", "decode"):
                split = split or up.attr == "split"
                node = parent.get(up, up)
                if not isinstance(node, ast.Call):
                    break
                continue
            if isinstance(up, ast.Call) and isinstance(up.func, ast.Name):
                name = up.func.id
                if name in ("int", "float") and node in up.args:
                    form = name + ("s" if split else "")
                elif name == "map" and len(up.args) == 2 and up.args[1] is node:
                    conv = ast.unparse(up.args[0])
                    form = "ints" if conv == "int" else "floats" if conv == "float" else "words"
                elif name in ("list", "tuple", "sorted", "set") and split:
                    form = form if form != "text" else "words"
                else:
                    break
                node = up
                continue
            break
        if split and form == "text":
            form = "words"
        count = None
        target = parent.get(node)
        if isinstance(target, ast.Assign) and len(target.targets) == 1 and isinstance(target.targets[0], (ast.Tuple, ast.List)):
            elts = target.targets[0].elts
            if not any(isinstance(e, ast.Starred) for e in elts):
                count = len(elts)
        sites[n.lineno] = [form, count]
    return sites


def line_map(before: str, after: str) -> dict[int, int]:
    """1-based line of ``after`` -> the line of ``before`` it stands for: unchanged lines, and the
    lines of a replaced block paired in order (``n ^= 1`` in place of ``n &= 1``). Lines the change
    adds with nothing in their place are left out."""
    a, b = before.splitlines(), after.splitlines()
    out: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("equal", "replace"):
            for k in range(min(i2 - i1, j2 - j1)):
                out[j1 + k + 1] = i1 + k + 1
    return out
