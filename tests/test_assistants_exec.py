"""The exec critic: examples, differential runs, generated inputs, fault localisation."""

from __future__ import annotations

import pytest

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.exec.critic import ochiai
from oversight_ext.assistants.exec.examples import assertion_cases, entry_function, example_cases
from oversight_ext.assistants.exec.inputs import input_shapes
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.diffs import changed_lines, make_diff
from oversight_ext.records import Item

GOOD = '''def running_max(xs):
    """Largest value seen so far, at each position.

    >>> running_max([1, 3, 2, 5])
    [1, 3, 3, 5]
    """
    out = []
    best = None
    for x in xs:
        if best is None or x > best:
            best = x
        out.append(best)
    return out
'''
BAD = GOOD.replace("x > best", "x < best")
SPEC = "Largest value seen so far, at each position.\n>>> running_max([1, 3, 2, 5])\n[1, 3, 3, 5]"


def item(before: str, after: str, *, label: str, spec: str = SPEC, tests: str | None = None, item_id: str = "x") -> Item:
    changed = [n for n, (a, b) in enumerate(zip(before.splitlines(), after.splitlines()), 1) if a != b]
    return Item(
        id=item_id,
        diff=make_diff(before, after, "m.py"),
        spec=spec,
        path="m.py",
        before=before,
        after=after,
        label=label,  # type: ignore[arg-type]
        bug_lines=tuple(changed) if label == "buggy" else (),
        tests=tests,
    )


@pytest.fixture(scope="module")
def exec_critic():  # type: ignore[no-untyped-def]
    return load_assistant("exec", max_examples=20)


def test_buggy_change_is_caught_on_the_changed_line(exec_critic) -> None:  # type: ignore[no-untyped-def]
    c = critique_item(exec_critic, item(GOOD, BAD, label="buggy"))
    assert c.status == "ok" and c.verdict == "buggy" and c.confidence and c.confidence >= 0.8
    assert c.comments[0].start_line == 10
    assert "running_max([1, 3, 2, 5])" in c.comments[0].text and "Ochiai" in c.comments[0].text


def test_fix_is_judged_correct_without_comments(exec_critic) -> None:  # type: ignore[no-untyped-def]
    c = critique_item(exec_critic, item(BAD, GOOD, label="correct"))
    assert c.status == "ok" and c.verdict == "correct" and c.comments == ()
    same = critique_item(exec_critic, item(GOOD, GOOD.replace("out = []", "out = list()"), label="correct"))
    assert same.verdict == "correct" and same.comments == ()


def test_new_crash_on_generated_inputs_is_reported(exec_critic) -> None:  # type: ignore[no-untyped-def]
    # The example still passes; inputs hypothesis generates like it (including []) expose the crash.
    crashy = GOOD.replace("    out = []\n", "    out = []\n    first = xs[0]\n")
    c = critique_item(exec_critic, item(GOOD, crashy, label="buggy"))
    assert c.verdict == "buggy" and c.comments and c.comments[0].start_line == 8
    assert "IndexError" in c.comments[0].text


def test_unarbitrated_behaviour_change_obeys_verbosity() -> None:
    # the example agrees on both versions; generated inputs like [0, 1] tell them apart
    spec = "Largest value seen so far, at each position.\nrunning_max([1, 5]) == [1, 5]"
    it = item(GOOD, GOOD.replace("x > best", "x >= best + 2"), label="buggy", spec=spec)
    quiet = critique_item(load_assistant("exec", max_examples=30, verbosity=0.5), it)
    loud = critique_item(load_assistant("exec", max_examples=30, verbosity=1.0), it)
    assert loud.comments and "Behaviour changed" in loud.comments[0].text and loud.verdict == "buggy"
    assert quiet.comments == () and quiet.verdict is None


def test_hidden_tests_only_with_tests() -> None:
    tests = "def check(candidate):\n    assert candidate([]) == []\n    assert candidate([2, 1]) == [2, 2]\n\ncheck(running_max)\n"
    wrong_tail = GOOD.replace("    return out\n", "    return out if len(xs) != 2 else xs\n")
    it = item(GOOD, wrong_tail, label="buggy", spec="Largest value seen so far.", tests=tests)
    plain = critique_item(load_assistant("exec", max_examples=0), it)
    upper = critique_item(load_assistant("exec", max_examples=0, with_tests=True), it)
    assert plain.verdict != "buggy" and plain.comments == ()
    assert upper.verdict == "buggy" and upper.comments[0].start_line == 13


def test_non_python_and_broken_code() -> None:
    java = Item(id="j", diff=make_diff("a\n", "b\n", "A.java"), language="java", before="a\n", after="b\n", path="A.java")
    c = critique_item(load_assistant("exec"), java)
    assert c.status == "failed" and "Python only" in (c.reason or "")
    broken = critique_item(load_assistant("exec"), item(GOOD, GOOD.replace("if best is None", "if best is None ((("), label="buggy"))
    assert broken.verdict == "buggy" and "does not even load" in broken.comments[0].text


def test_example_formats_are_parsed() -> None:
    code = "def f(a, b=0):\n    return a\n\ndef g(s):\n    return s\n"
    spec = """Examples:
    f(1, 2) == 1
    f([3], 4) ➞ [3]
    f(2, 5) -> 7 - 5 = 2
    f("x", 1) => 'x'
    - f(9, 9) should return 9
Input: s = "ab"
Output: "ab"
"""
    cases = example_cases(spec, code)
    got = {(c.source, c.want) for c in cases}
    assert ("f(1, 2)", "1") in got and ("f([3], 4)", "[3]") in got and ("f(2, 5)", "2") in got
    assert ("f('x', 1)", "'x'") in {(c.source.replace('"', "'"), c.want) for c in cases} and ("f(9, 9)", "9") in got
    assert entry_function(cases, code) == "f"
    assert any(c.source == "f('ab')" for c in example_cases("Input: s = 'ab'\nOutput: 'ab'", "def f(s):\n    return s\n"))
    shapes = input_shapes(
        [c for c in cases if c.source.startswith("f(") and "[" not in c.source and "'" not in c.source and '"' not in c.source], "f"
    )
    assert shapes == {"args": [{"t": "int", "min": 0, "max": 10}, {"t": "int", "min": 0, "max": 10}], "kwargs": {}}
    kw = input_shapes(example_cases(">>> m.f('ab', b=3)\n'ab'", code), "f")
    assert kw == {"args": [{"t": "str", "alphabet": "ab", "max_size": 5}], "kwargs": {"b": {"t": "int", "min": 0, "max": 10}}}


def test_quixbugs_style_tests_and_ochiai() -> None:
    tests = "import pytest\nfrom load_testdata import x\n# json_testcases/f.json\n[[1, 2], 3]\n[[0, 0], 0]\n"
    cases = assertion_cases(tests, "f")
    assert [(c.source, c.want) for c in cases] == [("f(*[1, 2])", "3"), ("f(*[0, 0])", "0")]
    cover = {"a": {1, 2}, "b": {1, 3}, "c": {1, 2}}
    s = ochiai(cover, {"a", "c"}, {"b"})
    assert s[2] == pytest.approx(1.0) and s[1] == pytest.approx(2 / (2 * 3) ** 0.5) and 3 not in s


@pytest.mark.shared_data
@pytest.mark.slow
def test_exec_on_real_items(shared_data) -> None:  # type: ignore[no-untyped-def]
    from oversight_ext.items import load_jsonl

    items = [i for i in load_jsonl(shared_data / "quixbugs.jsonl") if i.language == "python" and i.task in ("bitcount", "gcd")]
    critic = load_assistant("exec", max_examples=10)
    crits = {i.id: critique_item(critic, i) for i in items}
    assert len(items) == 4
    for it in items:
        c = crits[it.id]
        assert c.status in ("ok", "partial"), c.reason
        if it.label == "correct":
            assert not c.comments


SERIAL_MODULE = '''_made = [0]


def label(text, serial=False):
    """Upper-case text, trimmed; with ``serial``, numbered in the order labels are made."""
    out = text.strip().upper()
    if serial:
        _made[0] += 1
        return f"{_made[0]}:{out}"
    return out
'''


def module_item(tmp_path, monkeypatch, name: str, module: str, func: str, old: str, new: str, label: str) -> Item:  # type: ignore[no-untyped-def]
    """An item changing ``func`` of a module written to ``tmp_path`` (importable, as the harness needs)."""
    (tmp_path / f"{name}.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    start = module.index(f"def {func}(")
    end = module.find("\n\n\n", start)
    before = module[start : end + 1 if end >= 0 else len(module)]
    assert old in before
    after = before.replace(old, new)
    diff = make_diff(before, after, f"{name}.py")
    return Item(
        id=f"{name}-{label}",
        diff=diff,
        task=f"{name}.{func}",
        spec=f"`{func}`, a function from `{name}.py`.",
        path=f"{name}.py",
        before=before,
        after=after,
        label=label,  # type: ignore[arg-type]
        bug_lines=tuple(sorted(changed_lines(diff)[f"{name}.py"])) if label == "buggy" else (),
    )


def test_output_the_old_code_does_not_reproduce_is_no_behaviour_change(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # label(..., serial=True) numbers its output from a counter the module keeps: each run of
    # the same input differs, so it must not count as a behaviour change of a rewrite
    critic = load_assistant("exec", verbosity=1.0)
    same = module_item(
        tmp_path, monkeypatch, "s4_serial_mod", SERIAL_MODULE, "label", "text.strip().upper()", "text.upper().strip()", "correct"
    )
    c = critique_item(critic, same)
    assert c.comments == () and c.verdict != "buggy", c.summary
    assert "left out: the code before the change gives different results" in (c.summary or "")
    # a real change still shows on the inputs that are reproducible (serial=False)
    bug = module_item(tmp_path, monkeypatch, "s4_serial_mod", SERIAL_MODULE, "label", "text.strip().upper()", "text.upper()", "buggy")
    c = critique_item(critic, bug)
    assert c.verdict == "buggy" and c.comments and "Behaviour changed" in c.comments[0].text, c.summary
    assert c.comments[0].start_line == 3
    # a change seen only on the numbered labels: the old code's runs differ in the number alone,
    # the versions in more (the separator), so the comparison masks the numbers and reports it
    sep = module_item(tmp_path, monkeypatch, "s4_serial_mod", SERIAL_MODULE, "label", 'f"{_made[0]}:{out}"', 'f"{_made[0]}-{out}"', "buggy")
    c = critique_item(critic, sep)
    assert c.verdict == "buggy" and c.comments and c.comments[0].start_line == 6, c.summary


def test_verdicts_come_from_the_named_rule_table() -> None:
    from oversight_ext.assistants.exec.verdicts import ORDER, RULES

    assert len(ORDER) == len(RULES) and all(0 < (r.confidence or 0.5) <= 1 for r in RULES.values())
    assert {r.verdict for r in RULES.values()} == {"buggy", "correct", None}
    broken = critique_item(load_assistant("exec"), item(GOOD, GOOD.replace("if best is None", "if best is None ((("), label="buggy"))
    rule = RULES["fails to load"]
    assert (broken.verdict, broken.confidence, broken.comments[0].severity) == (rule.verdict, rule.confidence, rule.severity)


def test_a_load_failure_both_versions_share_is_no_evidence() -> None:
    # a module that needs a package this machine lacks fails to load before and after alike
    before = "import not_installed_anywhere_pkg\n\n\ndef twice(n):\n    return n * 2\n"
    after = before.replace("n * 2", "n * 3")
    c = critique_item(load_assistant("exec"), item(before, after, label="buggy"))
    assert c.verdict is None and c.comments == () and "fails to load before and after" in c.summary
    # a stdin script no longer stops at input() on load: it runs whole, as a script (test_assistants_stdin.py)
    script = critique_item(
        load_assistant("exec"), item("n = int(input())\nprint(n * 2)\n", "n = int(input())\nprint(n * 3)\n", label="buggy")
    )
    assert "fails to load" not in script.summary and "run as a script on standard input" in script.summary


def test_a_load_failure_is_claimed_on_the_line_the_error_names() -> None:
    before = "import math\n\n\ndef area(r):\n    return math.pi * r * r\n\n\nUNIT = area(1)\n"
    after = "import math\n\n\ndef area(r):\n    return maths.pi * r * r\n\n\nUNIT = area(1)\n"
    c = critique_item(load_assistant("exec"), item(before, after, label="buggy"))
    assert c.verdict == "buggy" and "NameError" in c.comments[0].text
    assert c.comments[0].start_line == 5  # the traceback's line in the new code (the changed line here)
    moved = "import math\n\n\ndef area(r):\n    return math.pi * r * r\n\n\nUNIT = area(1) + OFFSET\n"
    c2 = critique_item(
        load_assistant("exec"),
        item(before, moved.replace("    return math.pi * r * r", "    return math.pi * r * r  # same"), label="buggy"),
    )
    assert c2.verdict == "buggy" and c2.comments[0].start_line == 8


TOKENS = '''class Token:
    def __init__(self, n):
        self.n = n


def wrap(n):
    """Wrap a count in a token.

    >>> wrap(2).n
    2
    """
    if n < 0:
        return None
    return Token(n)


def token_type(n):
    return Token if n >= 0 else None
'''


def test_values_naming_their_module_are_the_same_in_both_versions(exec_critic) -> None:  # type: ignore[no-untyped-def]
    # Each version runs as its own module, so a class or a plain object returned by the code shows
    # 'version_before' or 'version_after' in its repr; a pure rewrite read as "behaviour changed" before.
    rewrite = TOKENS.replace(
        "    if n < 0:\n        return None\n    return Token(n)\n", "    return None if n < 0 else Token(n)\n"
    ).replace("return Token if n >= 0 else None", "if n >= 0:\n        return Token\n    return None")
    c = critique_item(exec_critic, item(TOKENS, rewrite, label="correct", spec="Tokens."))
    assert c.verdict == "correct" and c.comments == (), c.summary
    bug = TOKENS.replace("    if n < 0:\n        return None", "    if n < 1:\n        return None")
    c = critique_item(exec_critic, item(TOKENS, bug, label="buggy", spec="Tokens."))
    assert c.verdict != "correct" and "Behaviour changed on 1 input" in c.summary, c.summary
