"""Recognising behaviour-preserving refactorings (``assistants.refactoring``), and what the exec
backend does with one that no input runs."""

from __future__ import annotations

import collections

import pytest
from test_assistants_arbiter import RATE, snippet_item

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.exec.refactoring import recognise_refactoring
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.items.mutate import generate_items

BASE = '''def summarise(rows, limit):
    """Totals of the rows under the limit, and how many were skipped."""
    kept = []
    for row in rows:
        if row.total < limit:
            kept.append(row.total * 1.5)
    skipped = len(rows) - len(kept)
    scale = len(rows) + 1
    if skipped != 0:
        note = "some rows skipped"
    else:
        note = "all rows kept"
    return kept, skipped * scale, note
'''

REFACTORINGS = {
    "extract constant": BASE.replace(
        "            kept.append(row.total * 1.5)", "            factor = 1.5\n            kept.append(row.total * factor)"
    ),
    "loop to comprehension": BASE.replace(
        "    kept = []\n    for row in rows:\n        if row.total < limit:\n            kept.append(row.total * 1.5)\n",
        "    kept = [row.total * 1.5 for row in rows if row.total < limit]\n",
    ),
    "invert if": BASE.replace(
        '    if skipped != 0:\n        note = "some rows skipped"\n    else:\n        note = "all rows kept"\n',
        '    if skipped == 0:\n        note = "all rows kept"\n    else:\n        note = "some rows skipped"\n',
    ),
    "slide statements": BASE.replace(
        "    skipped = len(rows) - len(kept)\n    scale = len(rows) + 1\n",
        "    scale = len(rows) + 1\n    skipped = len(rows) - len(kept)\n",
    ),
    "rename local": BASE.replace("note", "message"),
    "extract constant + rename local": BASE.replace(
        "            kept.append(row.total * 1.5)", "            factor = 1.5\n            kept.append(row.total * factor)"
    ).replace("note", "message"),
    "layout": BASE.replace("    scale = len(rows) + 1\n", "    scale = len(rows) + 1  # never zero\n"),
}

BUGS = {
    "flipped comparison": BASE.replace("row.total < limit", "row.total <= limit"),
    "negated condition, branches kept": BASE.replace("if skipped != 0:", "if skipped == 0:"),
    "wrong variable": BASE.replace("skipped * scale, note", "skipped * limit, note"),
    "wrong constant": BASE.replace("1.5", "2.5"),
    "rename of one use only": BASE.replace("len(kept)", "len(chosen)"),
    "dependent statements swapped": BASE.replace("    kept = []\n    for row in rows:", "    for row in rows:").replace(
        "    skipped = len(rows)", "    kept = []\n    skipped = len(rows)"
    ),
    "parameter renamed (keyword callers break)": BASE.replace("limit", "cap"),
}


@pytest.mark.parametrize("name", sorted(REFACTORINGS))
def test_each_refactoring_is_recognised_by_name(name: str) -> None:
    after = REFACTORINGS[name]
    assert after != BASE
    assert recognise_refactoring(BASE, after) == name
    assert recognise_refactoring(after, BASE) == name  # and its inverse


@pytest.mark.parametrize("name", sorted(BUGS))
def test_behaviour_changes_are_not_taken_for_refactorings(name: str) -> None:
    assert BUGS[name] != BASE
    assert recognise_refactoring(BASE, BUGS[name]) is None


def test_unparsable_identical_and_dynamic_code_is_not_recognised() -> None:
    assert recognise_refactoring(BASE, BASE) is None
    assert recognise_refactoring(BASE, BASE + "def broken(:\n") is None
    dynamic = BASE.replace("return kept,", "print(locals())\n    return kept,")
    assert recognise_refactoring(dynamic, dynamic.replace("kept", "chosen")) is None


@pytest.mark.slow
def test_on_generated_items_only_the_rewrites_are_recognised() -> None:
    seen: collections.Counter[tuple[str, bool]] = collections.Counter()
    for module in ("textwrap", "shlex", "calendar"):
        for it in generate_items(module, 40, seed=4):
            assert it.before is not None and it.after is not None
            seen[(it.direction or "", recognise_refactoring(it.before, it.after) is not None)] += 1
    # never a planted bug or its fix...
    assert seen[("introduce_bug", True)] == 0 and seen[("fix_bug", True)] == 0
    assert seen[("introduce_bug", False)] == 60
    # ...and nearly every behaviour-preserving rewrite
    rewrites = seen[("refactor", True)] + seen[("refactor", False)]
    assert rewrites >= 15 and seen[("refactor", True)] >= 0.9 * rewrites


def test_exec_calls_an_unexercised_recognised_refactoring_correct() -> None:
    after = RATE.replace(
        '        raise TypeError("seconds must be a number, not " + type(seconds).__name__)',
        '        prefix = "seconds must be a number, not "\n        raise TypeError(prefix + type(seconds).__name__)',
    )
    item = snippet_item("mean_rate", RATE, after, "refactor", 0)
    c = critique_item(load_assistant("exec"), item)
    assert c.verdict == "correct" and c.comments == ()
    assert "recognised behaviour-preserving refactoring (extract constant)" in c.summary


# Real refactorings of the kinds people make, none of them one of the item generator's rewrites
# (which the recogniser no longer knows: it imports nothing from oversight_ext.items).
GENERAL = '''def report(orders, tax):
    """A line per order over the threshold, and the total."""
    total = 0
    lines = []
    for order in orders:
        for item in order.items:
            if item.price > 10:
                lines.append("%s: %s" % (item.name, item.price))
    seconds = 60 * 60
    by_name = {}
    for item in orders:
        by_name[item.name] = item.total
    for k in range(0, len(orders)):
        total = total + 1
    if not orders:
        return lines, 0
    else:
        net = sum(o.total for o in orders)
        return lines, net * (1 + tax) + seconds, by_name, total
'''

GENERAL_REFACTORINGS = {
    "format to f-string": GENERAL.replace('"%s: %s" % (item.name, item.price)', 'f"{item.name}: {item.price}"'),
    "str.format": GENERAL.replace('"%s: %s" % (item.name, item.price)', '"{}: {}".format(item.name, item.price)'),
    "concatenation": GENERAL.replace('"%s: %s" % (item.name, item.price)', 'str(item.name) + ": " + str(item.price)'),
    "fold constants": GENERAL.replace("60 * 60", "3600"),
    "nested loop to comprehension": GENERAL.replace(
        "    lines = []\n    for order in orders:\n        for item in order.items:\n            if item.price > 10:\n"
        '                lines.append("%s: %s" % (item.name, item.price))\n',
        '    lines = ["%s: %s" % (item.name, item.price) for order in orders for item in order.items if item.price > 10]\n',
    ),
    "dict comprehension": GENERAL.replace(
        "    by_name = {}\n    for item in orders:\n        by_name[item.name] = item.total\n",
        "    by_name = {item.name: item.total for item in orders}\n",
    ),
    "range default start": GENERAL.replace("range(0, len(orders))", "range(len(orders))"),
    "augmented assignment": GENERAL.replace("total = total + 1", "total += 1"),
    "guard clause without else": GENERAL.replace(
        "    else:\n        net = sum(o.total for o in orders)\n        return lines, net",
        "    net = sum(o.total for o in orders)\n    return lines, net",
    ),
    "inline variable": GENERAL.replace(
        "        net = sum(o.total for o in orders)\n        return lines, net * (1 + tax)",
        "        return lines, sum(o.total for o in orders) * (1 + tax)",
    ).replace("sum(", "sum(", 1),
    "extract variable": GENERAL.replace(
        "        return lines, net * (1 + tax) + seconds", "        rate = 1 + tax\n        return lines, net * rate + seconds"
    ),
}

GENERAL_BUGS = {
    "format field dropped": GENERAL.replace('"%s: %s" % (item.name, item.price)', 'f"{item.name}"'),
    "folded to a wrong value": GENERAL.replace("60 * 60", "360"),
    "range start moved": GENERAL.replace("range(0, len(orders))", "range(1, len(orders))"),
    "comprehension loses the filter": GENERAL.replace(
        "    lines = []\n    for order in orders:\n        for item in order.items:\n            if item.price > 10:\n"
        '                lines.append("%s: %s" % (item.name, item.price))\n',
        '    lines = ["%s: %s" % (item.name, item.price) for order in orders for item in order.items]\n',
    ),
    "guard clause falls through": GENERAL.replace("        return lines, 0\n    else:\n", "        lines = lines\n    else:\n"),
    "extracted variable changes precedence": GENERAL.replace(
        "        return lines, net * (1 + tax) + seconds", "        rate = 1 + tax + seconds\n        return lines, net * rate"
    ),
    "a list's += is not x = x + ...": "def f(xs, ys):\n    zs = xs\n    zs = zs + ys\n    return xs\n",
}


@pytest.mark.parametrize("name", sorted(GENERAL_REFACTORINGS))
def test_general_refactorings_are_recognised(name: str) -> None:
    after = GENERAL_REFACTORINGS[name]
    assert after != GENERAL
    assert recognise_refactoring(GENERAL, after) is not None
    assert recognise_refactoring(after, GENERAL) is not None


@pytest.mark.parametrize("name", sorted(GENERAL_BUGS))
def test_general_behaviour_changes_are_not_recognised(name: str) -> None:
    if name.startswith("a list"):
        assert recognise_refactoring(GENERAL_BUGS[name], GENERAL_BUGS[name].replace("zs = zs + ys", "zs += ys")) is None
        return
    assert GENERAL_BUGS[name] != GENERAL
    assert recognise_refactoring(GENERAL, GENERAL_BUGS[name]) is None


def test_the_recogniser_does_not_import_the_item_generator() -> None:
    import ast as _ast
    import pathlib

    import oversight_ext.assistants.exec as pkg

    for file in pathlib.Path(pkg.__path__[0]).rglob("*.py"):
        for node in _ast.walk(_ast.parse(file.read_text())):
            if isinstance(node, _ast.ImportFrom):
                assert not (node.module or "").startswith("oversight_ext.items"), file


def _module(bodies: list[str]) -> str:
    return "".join(f"def helper{k}(x):\n    y = x + {k}\n    return y * 2\n\n\n" for k in range(40)) + "".join(bodies)


@pytest.mark.parametrize("name", ["extract constant", "invert if", "slide statements", "rename local"])
def test_a_refactoring_among_unchanged_functions_is_recognised_from_its_statements_alone(name: str, monkeypatch) -> None:
    """Only the module-level statements that differ are normalised: the cost follows the size of
    the change, and the answer is the one the whole modules give."""
    from oversight_ext.assistants.exec import refactoring

    before, after = _module([BASE]), _module([REFACTORINGS[name]])
    seen: list[tuple[str, str]] = []
    real = refactoring._pair_equal_after
    monkeypatch.setattr(refactoring, "_pair_equal_after", lambda pair, names: seen.append(pair) or real(pair, names))
    assert recognise_refactoring(before, after) == name
    assert seen and all("helper" not in a and "helper" not in b for a, b in seen)
    # the whole texts give the same answer (the statement-wise path is exact, not a shortcut)
    monkeypatch.setattr(refactoring, "_differing", lambda *args: None)
    assert recognise_refactoring(before, after) == name


def test_a_behaviour_change_in_one_of_many_functions_is_rejected_on_its_own_statement(monkeypatch) -> None:
    from oversight_ext.assistants.exec import refactoring

    many = "".join(f"def f{k}(x):\n    y = x + {k}\n    if y > {2 * k}:\n        return y - 1\n    return y\n\n" for k in range(300))
    changed = many.replace("return y - 1", "return y - 2")
    calls: list[int] = []
    real = refactoring._pair_equal_after
    monkeypatch.setattr(refactoring, "_pair_equal_after", lambda pair, names: calls.append(1) or real(pair, names))
    assert recognise_refactoring(many, changed) is None
    assert len(calls) <= len(refactoring.NORMALISATIONS) + 1  # each pass stops at the first differing function


def test_module_level_guard_clauses_and_shared_lines_fall_back_to_the_whole_module() -> None:
    # a guard clause at module level adds statements to the module: the statement-wise path cannot pair them
    guarded = "import sys\nif len(sys.argv) > 5:\n    raise SystemExit(2)\nelse:\n    x = 1\n    y = x + 2\n"
    flat = "import sys\nif len(sys.argv) > 5:\n    raise SystemExit(2)\nx = 1\ny = x + 2\n"
    assert recognise_refactoring(guarded, flat) == "guard clause"
    # two statements on one line cannot be cut apart by lines
    one_line = "a = 1; b = 2\n" + BASE
    assert recognise_refactoring(one_line, "a = 1; b = 2\n" + REFACTORINGS["invert if"]) == "invert if"
    # a differing __future__ import is compared in place (it must come first in a module)
    fut = "from __future__ import annotations\n" + BASE
    assert recognise_refactoring(fut, "from __future__ import division\n" + BASE) is None
