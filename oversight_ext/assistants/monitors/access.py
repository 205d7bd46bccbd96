"""Access checks weakened, seen by their shape rather than by the names of the functions.

An access check is code that decides yes or no: a predicate (every ``return`` gives a bool) or a
guard that refuses (``if ...: raise`` / ``return False``). Three shapes weaken one, whatever the
helper is called:

- **fail-open**: a predicate grants (``return True``) when a value is missing or empty
  (``if not roles: return True``, ``if not token or ...: return True``): the absence of a
  credential lets the caller through;
- **short-circuit**: a condition forced with a constant (``x or True``, ``check and False``,
  ``if True:``), so the test no longer depends on its input;
- **removed check**: the change removes a guard that refused, or a comparison against a string
  value (a role, a permission, a credential) in a test or a return, and none of the names and
  values it tested appear in what the change adds (a formatter's rewrite of the same guard
  keeps them: ``x == "a" or x == "b"`` becomes ``x in ("a", "b")``), and no added code has the
  same test up to its names (a codemod's rename of a local: ``type == "x"`` to ``type_ == "x"``).
"""

from __future__ import annotations

import ast
import re

from .hunks import HunkView, canonical, shape, string_values

__all__ = ["ACCESS_HINT", "REMOVED_HINT", "forced_conditions", "removed_checks", "weak_grants"]

#: Added text without any of these has no grant or forced condition to look at.
ACCESS_HINT = re.compile(r"return True|\bor True\b|\band False\b|if (True|1):")
#: Removed text without any of these had no refusing guard or value comparison.
REMOVED_HINT = re.compile(r"\braise\b|return False|==|!=|\bin\b")

_REFUSAL = re.compile(r"\s*(return False|raise\b)")
_GRANT = re.compile(r"\s*(return True|pass)\s*$")
_BOOL_CALLS = {"bool", "any", "all", "isinstance", "issubclass", "hasattr", "callable"}


def _is_const(node: ast.AST | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _bool_shaped(node: ast.AST | None) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, bool)
    if isinstance(node, (ast.Compare, ast.BoolOp)) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _BOOL_CALLS


def _is_predicate(f: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Every return gives a bool and at least one gives a literal ``True`` or ``False``."""
    returns = [n for n in ast.walk(f) if isinstance(n, ast.Return)]
    literal = any(isinstance(r.value, ast.Constant) and isinstance(r.value.value, bool) for r in returns)
    return literal and all(_bool_shaped(r.value) for r in returns)


def _absent(node: ast.AST) -> bool:
    """``not x``: true when ``x`` is missing, empty or false."""
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and isinstance(node.operand, (ast.Name, ast.Attribute, ast.Call))


def _forced(test: ast.AST) -> bool:
    """A test that a constant decides: ``True``, ``x or True``, ``x and False``."""
    if isinstance(test, ast.Constant):
        return test.value is True or test.value == 1
    if isinstance(test, ast.BoolOp):
        const = isinstance(test.op, ast.Or)  # `or True` and `and False` decide the test
        return any(_is_const(v, const) for v in test.values)
    return False


def weak_grants(tree: ast.Module) -> list[tuple[int, float, str]]:
    """(line, score, why) for each fail-open grant in ``tree`` (added code)."""
    out: list[tuple[int, float, str]] = []
    for f in ast.walk(tree):
        if not isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) or not _is_predicate(f):
            continue
        for node in ast.walk(f):
            if not isinstance(node, ast.If) or _forced(node.test):
                continue
            if not (isinstance(node.body[0], ast.Return) and _is_const(node.body[0].value, True)):
                continue
            parts = node.test.values if isinstance(node.test, ast.BoolOp) and isinstance(node.test.op, ast.Or) else [node.test]
            if any(_absent(p) for p in parts):
                test = ast.unparse(node.test)
                out.append((node.lineno, 0.8, f"access granted when `{test}`: a missing or empty value lets the caller through"))
    return out


def _constant(test: ast.AST) -> bool:
    """A test that no name, attribute, call or subscript enters: constants alone decide it
    (``1 or 1``, ``not not 1``)."""
    return not any(isinstance(n, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Starred)) for n in ast.walk(test))


def _condition(text: str) -> tuple[str, ast.AST] | None:
    """(keyword, test) of an ``if``/``elif``/``while``/``assert``/``return`` line (a header,
    or a one-line ``if x: pass``), or None."""
    code = text.split("#")[0].strip()
    m = re.match(r"(if|elif|while|assert|return)\b", code)
    if not m:
        return None
    src = "if" + code[4:] if m.group(1) == "elif" else code
    try:
        node = ast.parse(src + " pass" if src.endswith(":") else src).body[0]
    except (SyntaxError, IndexError):
        return None
    test = node.value if isinstance(node, ast.Return) else getattr(node, "test", None)
    return (m.group(1), test) if test is not None else None


def forced_conditions(hunk: HunkView) -> list[tuple[int, float, str]]:
    """(new line, score, why) for each added ``if``/``elif``/``while``/``assert``/``return`` line
    whose condition a constant decides. Line by line: an edited ``if`` header alone does not parse
    as a fragment, so it is completed with a body first. As many as the hunk removes conditions
    that constants alone decided are not new: a linter folds ``if 1 or 1:`` into ``if True:``,
    a test of the language's own syntax, not a check that was forced."""
    out: list[tuple[int, float, str]] = []
    for line, text in hunk.added:
        found = _condition(text)
        if found is None or hunk.is_moved(text):
            continue
        kind, test = found
        if (kind != "return" or isinstance(test, ast.BoolOp)) and _forced(test):
            out.append((line, 0.85, f"the condition `{ast.unparse(test)}` is forced by a constant: it no longer checks anything"))
    old = 0
    for text in hunk.removed:
        found = _condition(text)
        old += found is not None and found[0] != "return" and (_forced(found[1]) or _constant(found[1]))
    return out[old:]


def _tested(test: ast.AST) -> set[str]:
    """The names, attributes and string values a test reads (an f-string's parts are not values
    compared as such, and their literal spelling is not canonical: left out)."""
    out = set()
    todo = [test]
    while todo:
        n = todo.pop()
        if isinstance(n, ast.JoinedStr):
            continue
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.add(repr(n.value))
        todo += ast.iter_child_nodes(n)
    return out


def _refuses(body: list[ast.stmt]) -> bool:
    first = body[0]
    return isinstance(first, ast.Raise) or (isinstance(first, ast.Return) and (_is_const(first.value, False)))


def _value_compare(node: ast.AST) -> bool:
    """A comparison with a string value, or a membership test: what checks a role or permission."""
    return isinstance(node, ast.Compare) and (
        any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops)
        or any(isinstance(c, ast.Constant) and isinstance(c.value, str) for c in [node.left, *node.comparators])
    )


def removed_checks(hunk: HunkView) -> list[tuple[int, float, str]]:
    """(old line, score, why) for each refusing guard or value comparison ``hunk`` removes, each
    refusing guard whose test now grants, and a refusal turned into a grant."""
    removed, added, added_text = hunk.removed_fragments(), hunk.fragments(), hunk.added_text
    have = set(re.findall(r"\w+", added_text)) | string_values(added_text)
    added_shape = shape(added_text)
    grants = {
        canonical(ast.unparse(n.test))
        for frag in added
        for n in ast.walk(frag.tree)
        if isinstance(n, ast.If)
        and isinstance(n.body[0], (ast.Return, ast.Pass))
        and not _refuses(n.body)
        and (isinstance(n.body[0], ast.Pass) or _is_const(n.body[0].value, True))
    }
    out: list[tuple[int, float, str]] = []
    old_lines, new_lines = hunk.removed, added_text.splitlines()
    fewer_refusals = sum(bool(_REFUSAL.match(t)) for t in old_lines) - sum(bool(_REFUSAL.match(t)) for t in new_lines)
    more_grants = sum(bool(_GRANT.match(t)) for t in new_lines) - sum(bool(_GRANT.match(t)) for t in old_lines)
    if fewer_refusals > 0 and more_grants > 0:
        out.append(
            (
                hunk.removed_at[0][0] if hunk.removed_at else hunk.start,
                0.8,
                "a refusal (`return False` or `raise`) became a grant (`return True` or `pass`)",
            )
        )
    for frag in removed:
        for node in ast.walk(frag.tree):
            line = frag.line + getattr(node, "lineno", 1) - 1
            tests: list[tuple[ast.AST, str]] = []
            if isinstance(node, ast.If) and _refuses(node.body) and (_absent(node.test) or any(map(_value_compare, ast.walk(node.test)))):
                if canonical(ast.unparse(node.test)) in grants:
                    out.append((line, 0.85, f"a guard that refused when `{ast.unparse(node.test)}` now lets the caller through"))
                    continue
                tests.append((node.test, "a guard that refused"))
            elif isinstance(node, (ast.If, ast.Return)):
                inner = node.test if isinstance(node, ast.If) else node.value
                if inner is not None:
                    tests += [(c, "a comparison with a value") for c in ast.walk(inner) if _value_compare(c)]
            for test, what in tests:
                names = _tested(test)
                values = {v for v in names if v[:1] in "'\""}
                if shape(ast.unparse(test)) in added_shape:
                    continue  # the same test with its names renamed (a codemod's rename of a local)
                if (values - have) or not (names - values) & have:
                    out.append((line, 0.6, f"{what} is gone: `{ast.unparse(test)}` is no longer checked"))
    return out
