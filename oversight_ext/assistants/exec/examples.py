"""Finding runnable cases in what a rater sees: the task statement's examples, the code's doctests.

Examples come in many shapes: doctests (``>>> f(1)`` / ``2``), one-liners such as
``f(1) == 2``, ``f(1) => 2``, ``f(1) ➞ 2`` or ``f(1) -> 1 + 1 = 2``, and ``Input: ... /
Output: ...`` pairs. Each becomes a :class:`Case`: source to run and the output it should
print (:mod:`.inputs` describes their arguments so the sandbox can generate more like them).
:func:`assertion_cases` splits a hidden test file (used only when the rater is also given the
tests) into one case per assertion.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .trees import parsed

__all__ = ["Case", "assertion_cases", "entry_function", "example_cases", "function_names", "solution_methods"]

_SEP = re.compile(r"^\s*(==>|=>|➞|->|→|==|should\s+return|returns?|is|=|:)\s*(.+)$", re.IGNORECASE)
_LITERALS = {"true": "True", "false": "False", "null": "None", "none": "None"}


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    want: str | None = None
    kind: str = "example"  # "example" | "test"
    #: Cases of one group run in order in one namespace (a docstring's examples build on each other).
    group: str | None = None

    def payload(self) -> dict[str, Any]:
        out = {"id": self.id, "source": self.source, "want": self.want}
        if self.group is not None:
            out["group"] = self.group
        return out


def function_names(code: str | None) -> list[str]:
    """Top-level function names of ``code`` (empty when it does not parse)."""
    tree = parsed(code or "")
    if tree is None:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def solution_methods(code: str | None) -> list[str]:
    """Public methods of a top-level ``class Solution`` (the LeetCode shape: examples name a
    method, and the platform calls it on an instance); empty when there is none."""
    tree = parsed(code or "")
    if tree is None:
        return []
    for n in tree.body:
        if isinstance(n, ast.ClassDef) and n.name == "Solution":
            return [m.name for m in n.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and not m.name.startswith("_")]
    return []


def _literal(text: str) -> Any:
    text = re.sub(r"\s+#.*$", "", text.strip()).rstrip(".;,")
    text = _LITERALS.get(text.lower(), text)
    return ast.literal_eval(text)


def _call_prefix(line: str, names: set[str]) -> tuple[str, str, str] | None:
    """(name, call text, rest of line) when ``line`` starts with a call of a known function."""
    m = re.match(r"\s*(?:[-*•]\s*)?([A-Za-z_]\w*)\s*\(", line)
    if not m or m.group(1) not in names:
        return None
    depth, i = 0, m.end() - 1
    for i in range(m.end() - 1, len(line)):
        if line[i] in "([{":
            depth += 1
        elif line[i] in ")]}":
            depth -= 1
            if depth == 0:
                break
    if depth != 0:
        return None
    call = line[m.start(1) : i + 1]
    try:
        ast.parse(call, mode="eval")
    except SyntaxError:
        return None
    return m.group(1), call, line[i + 1 :]


def _one_liners(text: str, names: set[str]) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        if ">>>" in line:
            continue
        found = _call_prefix(line, names)
        if not found:
            continue
        _, call, rest = found
        m = _SEP.match(rest)
        if not m:
            continue
        value = m.group(2)
        if "=" in value and not re.search(r"[=!<>]=", value):
            value = value.rsplit("=", 1)[1]  # "-> 19 - 5 - 6 = 8": the result follows the last '='
        try:
            out.append((call, repr(_literal(value))))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return out


def _input_output(text: str, entry: str | None) -> list[tuple[str, str]]:
    if entry is None:
        return []
    out = []
    pattern = r"Input\s*:\s*(.+?)\s*\n\s*Output\s*:\s*(.+)"
    for m in re.finditer(pattern, text, re.IGNORECASE):
        args = m.group(1).strip()
        parts = re.split(r",\s*(?=[A-Za-z_]\w*\s*=)", args)
        try:
            if all(re.match(r"[A-Za-z_]\w*\s*=", p) for p in parts):
                values = [_literal(p.split("=", 1)[1]) for p in parts]
            else:
                values = [_literal(args)]
            want = _literal(m.group(2))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        out.append((f"{entry}({', '.join(map(repr, values))})", repr(want)))
    return out


def example_cases(spec: str, code: str | None) -> list[Case]:
    """Runnable examples from the task statement and the code's own docstrings, deduplicated."""
    functions = set(function_names(code))
    methods = set(solution_methods(code)) - functions
    names = functions | methods
    cases: list[Case] = []
    seen: set[tuple[str, str | None]] = set()

    def add(source: str, want: str | None) -> None:
        called = re.match(r"\s*([A-Za-z_]\w*)\s*\(", source)
        if called and called.group(1) in methods:
            source = "Solution()." + source.lstrip()  # an example naming a method: a call on an instance
        key = (re.sub(r"\s+", "", source), None if want is None else re.sub(r"\s+", "", want))
        if key not in seen:
            seen.add(key)
            cases.append(Case(f"ex{len(cases) + 1}", source, want))

    for text in (spec, code or ""):
        tree = parsed(code or "") if text is code else None
        if tree is None:
            docs = [text]
        else:
            kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            docs = [ast.get_docstring(n) or "" for n in ast.walk(tree) if isinstance(n, kinds)]
        for doc in docs:
            if not isinstance(doc, str) or not doc:
                continue
            try:
                examples = _doctests(doc)
            except ValueError:
                examples = []
            for src, want in examples:
                add(src, want)
            for src, want in _one_liners(doc, names):
                add(src, want)
            for src, want in _input_output(doc, entry_function(cases, code)):
                add(src, want)
    return cases


def _doctests(text: str) -> list[tuple[str, str | None]]:
    import doctest

    out = []
    for ex in doctest.DocTestParser().get_examples(text):
        out.append((ex.source.rstrip("\n"), ex.want if ex.want else None))
    return out


def entry_function(cases: list[Case], code: str | None, changed: list[int] | None = None) -> str | None:
    """The function the examples exercise most; else the top-level function holding the first
    of the ``changed`` lines (in a whole module, the change is what to drive); else the code's
    last top-level function (or, without any, the last public method of its ``class Solution``)."""
    names = function_names(code) or solution_methods(code)
    calls: Counter[str] = Counter()
    for c in cases:
        for m in re.finditer(r"([A-Za-z_]\w*)\s*\(", c.source):
            if m.group(1) in names:
                calls[m.group(1)] += 1
                break
    if calls:
        return calls.most_common(1)[0][0]
    tree = parsed(code or "") if changed else None
    if tree is not None and changed:
        holder = next(
            (
                n.name
                for n in tree.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                and min([n.lineno] + [d.lineno for d in n.decorator_list]) <= min(changed) <= (n.end_lineno or n.lineno)
            ),
            None,
        )
        if holder is not None:
            return holder
    return names[-1] if names else None


_SKIP_IMPORT = re.compile(r"python_programs|correct_python_programs|load_testdata|pytest")


def assertion_cases(tests: str, entry: str | None) -> list[Case]:
    """One case per assertion of a test file (``check(candidate)`` style or QuixBugs JSON cases)."""
    cases: list[Case] = []
    for m in re.finditer(r"^(\[.*\])\s*$", tests, re.MULTILINE):
        try:
            pair = json.loads(m.group(1))
        except json.JSONDecodeError:
            continue
        if entry and isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], list):
            cases.append(Case(f"t{len(cases) + 1}", f"{entry}(*{pair[0]!r})", repr(pair[1]), "test"))
    if cases:
        return cases
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return []
    setup: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and _SKIP_IMPORT.search(ast.unparse(node)):
            continue
        if isinstance(node, ast.If) and "pytest" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.FunctionDef) and (node.name == "check" or node.name.startswith("test")):
            if node.decorator_list:
                continue
            local: list[str] = []
            for st in node.body:
                if isinstance(st, ast.Assert):
                    cases.append(Case(f"t{len(cases) + 1}", "\n".join([*setup, *local, ast.unparse(st)]), None, "test"))
                else:
                    local.append(ast.unparse(st))
            if not any(isinstance(st, ast.Assert) for st in node.body):
                cases.append(Case(f"t{len(cases) + 1}", "\n".join([*setup, *local]), None, "test"))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "check":
            continue
        else:
            setup.append(ast.unparse(node))
    return cases
