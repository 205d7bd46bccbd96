"""The exec harness reaches changed code that random, name-typed inputs never executed.

Each end-to-end case below is a mutation the harness missed before this module's features (on
the development set: seed 7 of fnmatch, html, operator, email.utils, ...): a helper behind
``functools.lru_cache``, a constructor's ``*attrs``, a parser branch that needs its marker in
the text, a ``startswith``/``endswith`` pair.
"""

from __future__ import annotations

import ast

import pytest
from test_assistants_exec import module_item

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.evaluation import score_critiques
from oversight_ext.assistants.exec.harness import plan_harness
from oversight_ext.assistants.exec.usage import affixes, code_tokens, param_hints, refine
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.items.mutate import generate_items
from oversight_ext.records import Item

SNIPPET = '''
def f(data, text, rows, table, n, other):
    """Docstring '&never;' is not a token."""
    head = data.decode("ascii")
    if text.startswith("<") and text.endswith(">"):
        return text.split(",")
    for r in rows:
        pass
    return table.get(n + 1), other, len(rows), data == b"="

CODES = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e", 6: "f", 7: "g", 8: "h", 9: "i"}
'''


def fn() -> ast.FunctionDef:
    node = ast.parse(SNIPPET).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def test_uses_in_the_body_type_the_parameters() -> None:
    hints = param_hints(fn())
    assert "bytes" in hints["data"] and "str" not in hints["data"]  # .decode() and == b"="
    # the body works on a bytes literal, so any parameter may be bytes ("bytes?"): a weak hint
    assert all("bytes?" in h for h in hints.values())
    hints = {k: v - {"bytes?"} for k, v in hints.items()}
    assert hints["text"] == {"str"}  # .startswith('<'), .split(',')
    assert hints["rows"] == {"seq"} and hints["table"] == {"map"} and hints["n"] == {"number"}
    assert hints["other"] == set()  # returned as is: nothing known
    # a name-guessed text shape becomes bytes when the body treats the parameter as bytes
    guess = {"t": "str", "alphabet": "ab", "max_size": 8}
    assert refine(guess, hints["data"], [], ["="])["t"] == "bytes"
    assert refine(guess, hints["text"], ["<"], [])["tokens"] == ["<"]
    weak = refine(guess, {"bytes?"}, [], ["="])  # a weak hint adds bytes beside the text guess
    assert [o["t"] for o in weak["options"]] == ["str", "bytes"]
    assert affixes(fn())["text"] == [["<", ">"]]


def test_tokens_come_from_code_not_docstrings_or_tables_changed_code_first() -> None:
    tree = ast.parse(SNIPPET)
    text, raw = code_tokens(tree)
    assert {"<", ">", ",", "ascii"} <= set(text) and "a" not in text  # "a".."i" are a lookup table's data
    assert not any("never" in t for t in text) and raw == ["="]
    other = ast.parse("def g():\n    return '%2F'\n")
    assert code_tokens(tree, first=other.body[0])[0][0] == "%2F"


def test_plans_carry_bytes_affixes_and_varargs() -> None:
    q = plan_harness("quopri.needsquoting", "needsquoting")
    assert q is not None and q.drivers[0]["args"][0]["t"] == "bytes"  # c <= b'~': bytes, not a one-letter guess
    e = plan_harness("email.utils.unquote", "unquote")
    shape = e.drivers[0]["args"][0] if e is not None else {}
    assert any(["<", ">"] in o.get("affix", []) for o in shape.get("options", [shape]) if o["t"] == "str")
    o = plan_harness("operator.attrgetter.__init__", "__init__")
    assert o is not None and "varargs" in o.drivers[0]["ctor"]  # attrgetter('a', 'b') has more than one attribute
    w = plan_harness("csv.DictWriter._dict_to_list", "_dict_to_list")
    f = w.drivers[0]["ctor"]["args"][0] if w is not None else {}
    assert "file" in [o["t"] for o in f.get("options", [f])]  # DictWriter(f, ...) writes to an in-memory file


def pair(source: str, task: str) -> tuple[Item, Item]:
    items = generate_items(source, 6, seed=7)
    bug = next(it for it in items if it.task == task and it.label == "buggy")
    return bug, next(it for it in items if it.pair_id == bug.pair_id and it.id != bug.id)


@pytest.fixture(scope="module")
def critic():  # type: ignore[no-untyped-def]
    return load_assistant("exec")


@pytest.mark.parametrize(
    ("source", "task", "line"),
    [
        ("fnmatch", "fnmatch._compile_pattern", 7),  # behind lru_cache: reached through __wrapped__
        ("operator", "operator.attrgetter.__init__", 13),  # only attrgetter('a', 'b') runs the changed branch
        ("html", "html.parser.HTMLParser.parse_html_declaration", 5),  # feed() text must hold '<!'
    ],
)
def test_changes_the_old_harness_missed_are_caught(critic, source: str, task: str, line: int) -> None:  # type: ignore[no-untyped-def]
    bug, control = pair(source, task)
    assert line in bug.bug_lines
    crits = [critique_item(critic, bug), critique_item(critic, control)]
    rows = score_critiques([bug, control], crits).rows(named=True)
    assert rows[0]["caught"] and crits[0].verdict == "buggy", crits[0].summary
    assert not rows[1]["flagged"], crits[1].summary


def test_text_wrapped_in_what_startswith_and_endswith_test_reaches_the_branch(critic) -> None:  # type: ignore[no-untyped-def]
    # email.utils.unquote: `str[1:-1]` became `str[0:-1]` for text in '<...>'
    bug, _ = pair("email.utils", "email.utils.unquote")
    draft = critic.review(bug.view())
    assert draft.summary.startswith("Behaviour changed"), draft.summary
    assert "unquote('<" in draft.claims[0].text


ORDERS_MODULE = '''class _Order:
    __slots__ = ("qty", "price")

    def __init__(self, qty, price):
        self.qty, self.price = qty, price


def _parse(text):
    return [_Order(int(q), int(p)) for q, p in (part.split("x") for part in text.split(",") if part)]


def count_billable(text):
    """How many orders of ``text`` (quantity x price, comma-separated) cost anything.

    >>> count_billable("3x5,12x7,0x9")
    2
    """
    return sum(1 for order in _parse(text) if _line(order) > 0)


def _line(order):
    if order.qty > 10:
        return order.qty * order.price * 9 // 10
    return order.qty * order.price
'''


def orders_item(tmp_path, monkeypatch, new: str, label: str) -> Item:  # type: ignore[no-untyped-def]
    # a private helper of a module written to a temp dir: only count_billable reaches it, with
    # _Order objects that _parse builds, and its output only says whether each line costs anything
    return module_item(tmp_path, monkeypatch, "s4_orders_mod", ORDERS_MODULE, "_line", "order.qty * order.price * 9 // 10", new, label)


def test_a_private_helper_is_called_on_the_arguments_its_module_passes_it(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bug = orders_item(tmp_path, monkeypatch, "order.qty * order.price * 8 // 10", "buggy")
    loud = load_assistant("exec", verbosity=1.0)
    c = critique_item(loud, bug)
    assert c.verdict == "buggy" and c.comments and c.comments[0].start_line == 3, c.summary
    text = c.comments[0].text
    assert "Behaviour changed" in text and "s4_orders_mod._line(" in text and "as `s4_orders_mod.count_billable(" in text
    # without the recorded arguments nothing reaches the changed line with an _Order: no finding
    blind = critique_item(load_assistant("exec", verbosity=1.0, harness_record=False), bug)
    assert blind.comments == () and blind.verdict != "buggy", blind.summary
    # a rewrite that keeps the behaviour is not flagged on the same recorded arguments
    same = orders_item(tmp_path, monkeypatch, "(order.qty * order.price * 9) // 10", "correct")
    c = critique_item(loud, same)
    assert c.comments == () and c.verdict != "buggy", c.summary


PRINT_MODULE = '''import sys


def show(names, out=None):
    """Write the names, one a line, to ``out`` (default: standard output); returns how many."""
    if out is None:
        out = sys.stdout
    for name in names:
        out.write(name.strip().title() + "\\n")
    return len(names)
'''


def test_what_a_function_prints_or_writes_to_a_given_file_is_compared(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # the change ignores `out` and always prints: the result (a count) is the same, so only an
    # in-memory file passed as `out` (None by default) and the captured standard output differ
    old, new = "    if out is None:\n        out = sys.stdout\n", "    out = sys.stdout\n"
    bug = module_item(tmp_path, monkeypatch, "s4_print_mod", PRINT_MODULE, "show", old, new, "buggy")
    assert bug.bug_lines == (3,)
    c = critique_item(load_assistant("exec", verbosity=1.0), bug)
    assert c.verdict == "buggy" and c.comments and c.comments[0].start_line == 3, c.summary
    assert "Behaviour changed" in c.comments[0].text and "prints" in c.comments[0].text, c.comments[0].text
