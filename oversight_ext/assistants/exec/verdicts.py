"""The exec critic's verdict rules: a named table, each rule with its verdict and confidences.

:meth:`~.critic.ExecCritic.judge` tries the rules in the order of :data:`ORDER` and the first
whose condition holds gives the verdict; the figures a reader may want to change (how sure a
verdict is, how a claim ranks under the verbosity knob, its severity) live here, not in the code
that decides. ``confidence`` is the critique's; ``score`` ranks its first claim (further lines
get 0.6 of it); None as a verdict means the run says nothing either way.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ORDER", "RULES", "Rule", "rule"]


@dataclass(frozen=True)
class Rule:
    name: str
    verdict: str | None
    confidence: float | None
    #: how the first claim ranks under the verbosity knob (0 when the rule makes no claim)
    score: float
    severity: str
    #: when the rule applies, in words (shown by ``oversight assistants`` docs and the tests)
    when: str


_TABLE = [
    Rule("fails to load", "buggy", 0.9, 0.95, "critical", "the new code does not load (syntax error, error at import)"),
    Rule("regression", "buggy", 0.9, 0.95, "critical", "an example the old code passes fails with the new code"),
    Rule("fails examples", "buggy", 0.7, 0.75, "major", "the new code fails examples and there is no old code to compare"),
    Rule("fixes examples", "correct", 0.85, 0.0, "info", "examples the old code fails pass with the new code"),
    Rule("new crash", "buggy", 0.7, 0.7, "major", "the new code crashes or hangs on inputs where the old returned, never the reverse"),
    Rule(
        "more failures",
        "buggy",
        0.6,
        0.6,
        "major",
        "inputs fail only with the new code at least 3 times as often as only with the old (a raise statement counts half)",
    ),
    Rule("fixes crashes", "correct", 0.7, 0.0, "info", "inputs crash only with the old code"),
    Rule("both fail examples", None, None, 0.0, "info", "both versions fail the same examples (the example or its parsing is doubtful)"),
    Rule(
        "behaviour change, less natural",
        "buggy",
        0.55,
        0.55,
        "major",
        "behaviour differs, no evidence says which is right, and the arbiter reads the new code as less natural",
    ),
    Rule("behaviour change", "buggy", 0.5, 0.4, "minor", "behaviour differs and no example, crash or law says which version is right"),
    Rule("refactoring", "correct", 0.7, 0.0, "info", "no difference found and the change is a recognised behaviour-preserving refactoring"),
    Rule(
        "unverified, less natural",
        "buggy",
        0.5,
        0.5,
        "major",
        "no difference found, not a refactoring, and the arbiter reads the new code as clearly less natural",
    ),
    Rule("unverified", None, None, 0.0, "info", "no case or input ran the changed lines"),
    Rule(
        "no difference",
        "correct",
        0.75,
        0.0,
        "info",
        "cases and inputs ran the change and found no difference (0.6 with only one of them, 0.5 with neither)",
    ),
]

#: Every rule by name.
RULES: dict[str, Rule] = {r.name: r for r in _TABLE}
#: The order the critic tries them in.
ORDER: tuple[str, ...] = tuple(r.name for r in _TABLE)


def rule(name: str) -> Rule:
    return RULES[name]
