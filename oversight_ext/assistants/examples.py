"""Finding runnable cases in what a rater sees: the task statement's examples, the code's doctests.

Examples come in many shapes: doctests (``>>> f(1)`` / ``2``), one-liners such as
``f(1) == 2``, ``f(1) => 2``, ``f(1) ➞ 2`` or ``f(1) -> 1 + 1 = 2``, and ``Input: ... /
Output: ...`` pairs. Each becomes a :class:`Case`: source to run and the output it should
print. :func:`input_shapes` describes the example arguments' types so the sandbox can
generate more inputs like them (with hypothesis). :func:`assertion_cases` splits a hidden test file
(used only when the rater is also given the tests) into one case per assertion.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

__all__ = ["Case", "assertion_cases", "entry_function", "example_cases", "function_names", "input_shapes"]

_SEP = re.compile(r"^\s*(==>|=>|➞|->|→|==|should\s+return|returns?|is|=|:)\s*(.+)$", re.IGNORECASE)
_LITERALS = {"true": "True", "false": "False", "null": "None", "none": "None"}


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    want: str | None = None
    kind: str = "example"  # "example" | "test"

    def payload(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "want": self.want}


def function_names(code: str | None) -> list[str]:
    """Top-level function names of ``code`` (empty when it does not parse)."""
    try:
        tree = ast.parse(code or "")
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


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
    names = set(function_names(code))
    cases: list[Case] = []
    seen: set[tuple[str, str | None]] = set()

    def add(source: str, want: str | None) -> None:
        key = (re.sub(r"\s+", "", source), None if want is None else re.sub(r"\s+", "", want))
        if key not in seen:
            seen.add(key)
            cases.append(Case(f"ex{len(cases) + 1}", source, want))

    for text in (spec, code or ""):
        try:
            parsed = ast.parse(code or "") if text is code else None
        except SyntaxError:
            parsed = None
        if parsed is None:
            docs = [text]
        else:
            kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            docs = [ast.get_docstring(n) or "" for n in ast.walk(parsed) if isinstance(n, kinds)]
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


def entry_function(cases: list[Case], code: str | None) -> str | None:
    """The function the examples exercise most, else the code's last top-level function."""
    names = function_names(code)
    calls: Counter[str] = Counter()
    for c in cases:
        for m in re.finditer(r"([A-Za-z_]\w*)\s*\(", c.source):
            if m.group(1) in names:
                calls[m.group(1)] += 1
                break
    if calls:
        return calls.most_common(1)[0][0]
    return names[-1] if names else None


def _shape(values: list[Any]) -> dict[str, Any] | None:
    kinds = {type(v) for v in values}
    if len(kinds) > 1:
        if kinds <= {int, float}:
            return _shape([float(v) for v in values])
        opts = [_shape([v for v in values if type(v) is k]) for k in kinds]
        return {"t": "one_of", "options": opts} if all(opts) else None
    k = next(iter(kinds))
    if k is bool:
        return {"t": "bool"}
    if k is int:
        lo, hi = min(values), max(values)
        return {"t": "int", "min": 0 if lo >= 0 else 2 * lo, "max": max(hi, 10)}
    if k is float:
        lo, hi = min(values), max(values)
        return {"t": "float", "min": min(lo, 0.0), "max": max(hi, 10.0)}
    if k is str:
        alphabet = "".join(sorted(set("".join(values)))) or "ab"
        return {"t": "str", "alphabet": alphabet[:80], "max_size": max(len(v) for v in values) + 3}
    if k is type(None):
        return {"t": "none"}
    if k in (list, set):
        inner = [x for v in values for x in v]
        item = _shape(inner) if inner else {"t": "int", "min": 0, "max": 10}
        return {"t": "list", "item": item, "max_size": max(max(len(v) for v in values) + 2, 5)} if item else None
    if k is tuple and len({len(v) for v in values}) == 1:
        items = [_shape([v[i] for v in values]) for i in range(len(values[0]))]
        return {"t": "tuple", "items": items} if all(items) else None
    if k is dict:
        keys = [x for v in values for x in v]
        vals = [x for v in values for x in v.values()]
        ks, vs = (_shape(keys), _shape(vals)) if keys else (None, None)
        return {"t": "dict", "key": ks, "value": vs, "max_size": 6} if ks and vs else None
    return None


def input_shapes(cases: list[Case], entry: str | None) -> dict[str, Any] | None:
    """Type descriptions of the literal arguments the examples pass to ``entry``.

    Returns ``{"args": [shape, ...], "kwargs": {name: shape}}`` for the most common call
    signature (``f(x)`` and ``module.f(x)`` both count), or None when no call has literal arguments.
    """
    if entry is None:
        return None
    calls: list[tuple[list[Any], dict[str, Any]]] = []
    for c in cases:
        try:
            node = ast.parse(c.source, mode="eval").body
        except SyntaxError:
            continue
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else None
        if name != entry or any(k.arg is None for k in node.keywords):
            continue
        try:
            calls.append(([ast.literal_eval(a) for a in node.args], {str(k.arg): ast.literal_eval(k.value) for k in node.keywords}))
        except (ValueError, SyntaxError, TypeError):
            continue
    if not calls:
        return None
    # defaulted arguments vary the signature: generate for the most common one
    sig = Counter((len(a), tuple(sorted(k))) for a, k in calls).most_common(1)[0][0]
    calls = [(a, k) for a, k in calls if (len(a), tuple(sorted(k))) == sig]
    args = [_shape([a[i] for a, _ in calls]) for i in range(sig[0])]
    kwargs = {name: _shape([k[name] for _, k in calls]) for name in sig[1]}
    if not all(args) or not all(kwargs.values()):
        return None
    out = {"args": args, "kwargs": kwargs}
    json.dumps(out)  # must travel to the sandbox as JSON
    return out


_INT_NAMES = re.compile(
    r"^(n|m|k|i|j|x|y|num|number|count|size|width|height|length|len|index|idx|start|end|stop|step|depth|level|limit)(_|\d|$)"
)
_STR_NAMES = re.compile(r"(text|string|^s$|^s\d|name|prefix|suffix|word|line|char|sep|path|pattern|fmt|msg|key)")
_LIST_NAMES = re.compile(r"(s$|list|seq|items|values|arr|array|lines|chunks|words|nums|numbers)")
_ANNOTATIONS: dict[str, dict[str, Any]] = {"int": {"t": "int", "min": -5, "max": 20}, "float": {"t": "float", "min": -5.0, "max": 20.0}, "bool": {"t": "bool"},
                "str": {"t": "str", "alphabet": "ab c-\n", "max_size": 8}}  # fmt: skip
_FALLBACK: dict[str, Any] = {
    "t": "one_of",
    "options": [_ANNOTATIONS["int"], _ANNOTATIONS["str"], {"t": "list", "item": _ANNOTATIONS["int"], "max_size": 5}],
}


def _guess(arg: ast.arg) -> dict[str, Any]:
    ann = ast.unparse(arg.annotation) if arg.annotation is not None else ""
    inner = re.fullmatch(r"(?:list|List|Sequence|Iterable)\[(\w+)\]", ann)
    if ann in _ANNOTATIONS:
        return _ANNOTATIONS[ann]
    if inner and inner.group(1) in _ANNOTATIONS:
        return {"t": "list", "item": _ANNOTATIONS[inner.group(1)], "max_size": 6}
    name = arg.arg.lower()
    if _INT_NAMES.search(name):
        return _ANNOTATIONS["int"]
    if _STR_NAMES.search(name):
        return _ANNOTATIONS["str"]
    if _LIST_NAMES.search(name):
        return {"t": "list", "item": {"t": "one_of", "options": [_ANNOTATIONS["int"], _ANNOTATIONS["str"]]}, "max_size": 6}
    return _FALLBACK


def signature_shapes(code: str | None, entry: str | None) -> dict[str, Any] | None:
    """Input shapes for a module-level function with no examples: from annotations, else names.

    Only the required parameters get values (defaults stay); methods (``self``/``cls``) get none.
    """
    try:
        tree = ast.parse(code or "")
    except SyntaxError:
        return None
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry), None)
    if fn is None:
        return None
    pos = [*fn.args.posonlyargs, *fn.args.args]
    if pos and pos[0].arg in ("self", "cls"):
        return None
    required = pos[: len(pos) - len(fn.args.defaults)]
    if not required or len(required) > 4:
        return None
    return {"args": [_guess(a) for a in required], "kwargs": {}}


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
