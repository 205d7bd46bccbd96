"""The ``exec`` backend: run the code before and after the change, and say where it goes wrong.

For a Python item it, in one sandboxed process (see :mod:`.sandbox`):

1. runs the examples of the task statement and of the code's docstrings on both versions;
2. runs differential inputs: the examples' own arguments and inputs hypothesis generates
   in their likeness (same types, similar sizes), on both versions;
3. with ``params.with_tests = true`` (only when raters are also given the tests: an upper
   bound, reported separately) also runs the item's tests, one case per assertion;
4. decides a verdict from who fails what: the new code failing an example the old code
   passes is a bug; the old failing one the new passes is a fix; the new code crashing or
   hanging where the old returns is a bug; a behaviour change with no example to arbitrate
   is reported as a low-scored claim that the verbosity knob keeps or drops;
5. localises the fault with spectrum-based fault localisation: the Ochiai score of each line
   over the line coverage of failing vs passing runs, ranked with the lines the diff adds
   first (the change is what is under review).

When the task statement names an importable module and the changed definition in it
(``textwrap.TextWrapper._split``, as mutation-made items do), the run also goes through the
module's own API (:mod:`.harness`): each version is installed into the real module or class,
the module's public functions and methods (instances built from constructor signatures) are
called on the same inputs, harvested from the module's own calls and docstrings, and the
module's docstring examples run as cases. The arguments the changed definition receives while
those drivers run on the old code are recorded (deep copies) and replayed as direct calls of
both versions (``harness_record``): a private helper meets the structured values its module
builds for it, which guesses from its signature never are. Evidence each way: the new code crashes or hangs
where the old one returned (or the reverse, a fix), a constructor argument is no longer kept
under its own name, or a law of Python's data model (``x == y`` implies equal hashes, ``x + y - y
== x``, ...) breaks; a ``raise`` statement the change makes reachable counts half, since a
change may be about which inputs are refused. A behaviour change with no such evidence stays a
low-scored claim, because real fixes change behaviour too. An input on which the code before
the change disagrees with itself (run again whenever the versions differ: ``id()``, a global
counter or the clock in the output) is never evidence of a behaviour change.

Other languages: the backend runs nothing and returns a ``failed`` critique saying that it
executes Python only (pair it with ``lint`` or an LM backend in an ensemble).

With ``params.arbiter`` (e.g. ``"smollm2"``; the ``exec-lm`` spec) such an unarbitrated
behaviour change is put to a code language model (:mod:`.naturalness`): when the changed lines
are less likely after the change than before by at least ``arbiter_margin`` nats per token
(log-probability per token of the changed lines given the code before them, or with
``arbiter_scope = "code"`` of the whole code), the change is
reported as a likely bug (a major claim scored 0.55, below a crash's 0.7), since buggy code tends
to be unnatural and a fix tends to restore natural code. With ``arbiter_unverified_margin``
the arbiter also reads a change in which execution found no difference at all (no input ran the
changed lines, or those that did behaved the same) and that is not a recognised
behaviour-preserving refactoring (:mod:`.refactoring`): one that makes the code less natural by
at least that margin (stricter than ``arbiter_margin``, as nothing showed a difference) is
reported as a possible bug, a major claim scored 0.5. Nothing else uses the arbiter.

A change whose lines no case or input ran gets no verdict ("Unverified"): not reaching the
changed lines is no evidence that they are correct. A recognised refactoring is "correct".

params: with_tests (false), max_examples (40 generated inputs), call_timeout_s (1.0),
memory_mb (1024), wall_s (the spec's timeout_s), harness (true: run through the module's API
when the task names one), harness_budget_s (8.0), harness_inputs (100 per driver), harness_record (true), arbiter
("": none), arbiter_scope ("lines" or "code"), arbiter_margin (0.05 nats per token),
arbiter_unverified_margin (none), arbiter_context (32 tokens before the change, for "lines"),
arbiter_max_tokens (1024, for "code"), arbiter_device ("auto").
"""

from __future__ import annotations

import ast
import importlib.util
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from oversight_ext.diffs import DiffError, parse_diff
from oversight_ext.records import Critique, Gold, ItemView

from ..protocol import BaseCritic, Claim, Draft, diff_changed_lines, item_sources
from ..spec import AssistantConfig
from .examples import Case, assertion_cases, entry_function, example_cases, function_names, solution_methods
from .harness import plan_harness
from .inputs import input_shapes, signature_shapes
from .naturalness import Naturalness, changed_lines_of, naturalness_arbiter
from .refactoring import recognise_refactoring
from .runner.cases import PLATFORM_MODULES, PLATFORM_NAMESPACES
from .sandbox import SandboxConfig, SandboxResult, run_sandboxed
from .stdin import line_map, read_sites, reads_stdin, sample_io
from .trees import parsed
from .verdicts import rule

__all__ = ["ExecCritic", "Outcome", "ochiai", "package_of"]

#: The counts every exec summary ends with: "3 example/test case(s), 40 differential input(s)." and any note after them.
_COUNTS = re.compile(r"\d+ example/test case\(s\), \d+ differential input\(s\)[^\n]*$")


#: How the critique states the implicit imports a `class Solution` runs with.
PLATFORM_NOTE = ", ".join(f"from {m} import *" for m in PLATFORM_MODULES) + "; import " + ", ".join(PLATFORM_NAMESPACES)


def ochiai(cover: dict[str, set[int]], failing: set[str], passing: set[str]) -> dict[int, float]:
    """Ochiai suspiciousness of each line: ef / sqrt(F * (ef + ep))."""
    ef: dict[int, int] = defaultdict(int)
    ep: dict[int, int] = defaultdict(int)
    for case, lines in cover.items():
        for ln in lines:
            if case in failing:
                ef[ln] += 1
            elif case in passing:
                ep[ln] += 1
    total_f = len(failing)
    if not total_f:
        return {}
    return {ln: ef[ln] / math.sqrt(total_f * (ef[ln] + ep[ln])) for ln in set(ef) | set(ep) if ef[ln]}


@dataclass
class Outcome:
    """What happened when both versions ran: per-case results and coverage of the new code."""

    results: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    coverage: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    run: SandboxResult | None = None
    #: case -> the line of the new code at which its run first diverges from the old code's (scripts)
    diverge: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_run(cls, run: SandboxResult) -> Outcome:
        out = cls(run=run)
        for r in run.records:
            if "coverage" in r:
                out.coverage[r["coverage"]] = r["contexts"]
            elif "diverge" in r:
                out.diverge[r["diverge"]] = r["line"]
            elif "case" in r:
                out.results[(r["version"], r["case"])] = r
        return out

    def passed(self, version: str, case: str) -> bool | None:
        r = self.results.get((version, case))
        return None if r is None else bool(r.get("ok"))

    def loaded(self, version: str) -> bool:
        return self.passed(version, "load") is True

    def cover(self, version: str) -> dict[str, set[int]]:
        return {ctx.split(":", 1)[1]: set(lines) for ctx, lines in self.coverage.get(version, {}).items() if ":" in ctx}


def _describe(case: Case, r: dict[str, Any] | None) -> str:
    if r is None:
        return "did not finish (the run hit its time limit)"
    if r.get("error"):
        return f"raises {r['error']}" if r["error"] != "timeout" else "does not finish within the time limit"
    got = (r.get("got") or "").strip() or "nothing"
    return f"gives {got[:120]}"


def _kind(error: Any) -> str:
    """The exception type of an error text (``"NameError: name 'x' ..."`` -> ``"NameError"``)."""
    return str(error or "").split(":", 1)[0]


def package_of(path: str, code: str) -> str | None:
    """The installed package a module with relative imports belongs to, read from its path
    (``asyncio/locks.py`` or ``src/asyncio/locks.py`` -> ``asyncio``; ``json/__init__.py`` ->
    ``json``), so the sandbox can load each version beside the package's own modules. None when
    the code has no relative import or no suffix of the path names an importable package."""
    tree = parsed(code)
    if tree is None:
        return None
    if not any(isinstance(n, ast.ImportFrom) and n.level > 0 for n in ast.walk(tree)):
        return None
    parts = [p for p in PurePosixPath(path or "").with_suffix("").parts if p not in ("", "/")]
    for i in range(len(parts) - 1):
        name = ".".join(parts[i:-1])
        if not all(p.isidentifier() for p in parts[i:-1]):
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations is not None:
            return name
    return None


def module_context(item: ItemView, entry: str | None) -> str | None:
    """The importable module a function snippet comes from, when the task names it (``json.dumps``).

    The task statement is what the rater reads; the module gives the snippet the globals
    (imports, helpers, constants) it was written among.
    """
    task = (item.task or "").strip()
    if entry is None or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+", task) or task.rsplit(".", 1)[1] != entry:
        return None
    module = task.rsplit(".", 1)[0]
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return module if found is not None else None


class ExecCritic(BaseCritic):
    def __init__(self, config: AssistantConfig) -> None:
        super().__init__(config.name, config.spec_hash, model="exec", verbosity=config.verbosity)
        p = config.params
        self.with_tests = bool(p.get("with_tests", False))
        self.max_examples = int(p.get("max_examples", 40))
        self.seed = config.seed
        self.harness = bool(p.get("harness", True))
        self.harness_budget_s = float(p.get("harness_budget_s", 8.0))
        self.harness_inputs = int(p.get("harness_inputs", 100))
        self.harness_record = bool(p.get("harness_record", True))
        self.sandbox = SandboxConfig(
            wall_s=float(p.get("wall_s", config.timeout_s)),
            call_timeout_s=float(p.get("call_timeout_s", 1.0)),
            memory_mb=int(p.get("memory_mb", 1024)),
            generate_budget_s=float(p.get("generate_budget_s", min(6.0, config.timeout_s / 3))),
        )
        if self.with_tests:
            self.model = "exec+tests"
            # the labelled upper bound: the item's tests are gold, given by name (review_gold)
            self.uses_gold = True
        self.arbiter = naturalness_arbiter(p)
        self.arbiter_margin: float = self._margin(config.name, p, "arbiter_margin", 0.05) or 0.0
        self.unverified_margin = self._margin(config.name, p, "arbiter_unverified_margin", None)

    @staticmethod
    def _margin(name: str, p: dict[str, Any], key: str, default: float | None) -> float | None:
        value = p.get(key, default)
        if value is None:  # off (a spec turns it off by leaving the key out)
            return None
        try:
            margin = float(value)
        except (TypeError, ValueError):
            margin = math.nan
        if isinstance(value, bool) or not (math.isfinite(margin) and margin >= 0):
            raise ValueError(f"exec assistant {name!r}: {key} = {value!r} is invalid: give nats per token >= 0")
        return margin

    def cases(self, item: ItemView, after: str, tests: str | None = None) -> tuple[list[Case], str | None]:
        """The example cases of the task statement and docstrings, plus one case per assertion
        of ``tests`` (gold: only for the ``with_tests`` upper bound)."""
        cases = example_cases(item.spec or item.task, after)
        entry = entry_function(cases, after, self._changed_lines(item, after))
        if self.with_tests and tests:
            cases += assertion_cases(tests, entry)
        return cases, entry

    def review(self, item: ItemView) -> Draft:
        return self._review(item, None)

    def review_gold(self, item: ItemView, gold: Gold | None) -> Draft:
        return self._review(item, gold.tests if gold is not None else None)

    def _review(self, item: ItemView, tests: str | None) -> Draft:
        if item.language.lower() != "python":
            return Draft(status="failed", reason=f"the exec backend executes Python only; this item is {item.language!r}")
        before, after = item_sources(item)
        if after is None:
            return Draft(status="failed", reason="the item has no code after the change and its diff cannot be applied to `before`")
        if reads_stdin(after):
            return self._review_script(item, before, after)
        cases, entry = self.cases(item, after, tests)
        # a LeetCode-style `class Solution`: its examples are calls on an instance (made so by
        # example_cases), run with the names that platform imports implicitly; the method is
        # not a module function, so no harness, module context or generated inputs drive it
        method = entry is not None and entry in solution_methods(after) and entry not in function_names(after)
        harness = plan_harness(item.task, entry, cases) if self.harness and before is not None and not method else None
        # the harness calls the function with inputs from the module's own calls: guesses from
        # the signature alone would only add ill-typed inputs
        if method:  # inputs like the examples' (or guessed from the signature), on a fresh Solution() each
            shapes = input_shapes(cases, entry) or signature_shapes(after, entry, owner="Solution")
        else:
            shapes = input_shapes(cases, entry) or (signature_shapes(after, entry) if harness is None else None)
        files = {"after.py": after}
        versions = {"after": "after.py"}
        if before is not None:
            files["before.py"] = before
            versions = {"before": "before.py", **versions}
        payload: dict[str, Any] = {"versions": versions, "cases": [c.payload() for c in cases], "entry": entry, "generate": None}
        payload["context"] = None if method else module_context(item, entry)
        payload["prelude"] = bool(solution_methods(after))
        payload["package"] = package_of(item.path, after)
        if harness is not None:
            cases = cases + harness.doc_cases
            payload["cases"] = [c.payload() for c in cases]
            payload["context"] = harness.module
            payload["harness"] = harness.payload()
            payload.update(
                harness_budget_s=self.harness_budget_s,
                harness_inputs=self.harness_inputs,
                harness_record=self.harness_record,
                seed=self.seed,
            )
        if shapes is not None and before is not None and self.max_examples > 0:
            payload["generate"] = {"func": entry, **shapes, "max_examples": self.max_examples, "owner": "Solution" if method else None}
        out = Outcome.from_run(run_sandboxed(files, payload, self.sandbox))
        return self.judge(item, after, cases, out)

    def _review_script(self, item: ItemView, before: str | None, after: str) -> Draft:
        """A script that reads standard input: run whole on the task's sample inputs and on inputs
        made up in the form it parses them, compared on what the versions print (see :mod:`.stdin`)."""
        samples = sample_io(item.spec or item.task)
        cases = [Case(f"s{k}", text, want, kind="stdin") for k, (text, want) in enumerate(samples) if want is not None]
        runs = [{"id": c.id, "input": c.source, "want": c.want} for c in cases]
        runs += [{"id": f"gs{k}", "input": text, "want": None} for k, (text, want) in enumerate(samples) if want is None]
        files = {"after.py": after}
        versions = {"after": "after.py"}
        spec: dict[str, Any] = {"samples": runs, "generated": 0, "sites": {}, "line_map": {}, "seed": self.seed}
        if before is not None:
            files["before.py"] = before
            versions = {"before": "before.py", **versions}
            spec.update(
                generated=self.max_examples,
                sites={str(k): v for k, v in read_sites(before).items()},
                line_map={str(k): v for k, v in line_map(before, after).items()},
            )
        payload: dict[str, Any] = {"versions": versions, "cases": [], "entry": None, "generate": None, "context": None, "stdin": spec}
        out = Outcome.from_run(run_sandboxed(files, payload, self.sandbox))
        draft = self.judge(item, after, cases, out)
        if draft.claims and draft.claims[0].start_line in out.diverge.values():
            draft.claims[0].text += " Traced line by line, the run of the new code first departs from the old code's here."
        how = f"run as a script on standard input: {len(samples)} sample input(s) from the task, the rest made up in the form the script parses"
        draft.summary = draft.summary.rstrip(". ") + f"; {how}."

        return draft

    # ------------------------------------------------------------------ verdict and localisation

    def judge(self, item: ItemView, after: str, cases: list[Case], out: Outcome) -> Draft:
        run = out.run
        assert run is not None
        if not out.loaded("after"):
            r = out.results.get(("after", "load"))
            if r is None:
                return Draft(status="failed", reason=f"the sandbox produced no result (exit {run.returncode}): {run.stderr[-300:]}")
            old_load = out.results.get(("before", "load"))
            if old_load is not None and not old_load.get("ok") and _kind(old_load.get("error")) == _kind(r.get("error")):
                # the old code fails to load the same way: no evidence about the change
                rl = rule("both fail to load")
                summary = f"Inconclusive: the code fails to load before and after the change ({r.get('error') or 'unknown error'})."
                return Draft([], rl.verdict, rl.confidence, summary[:400])
            return self._load_failure(item, after, r)
        has_before = ("before", "load") in out.results and out.loaded("before")
        fail_a = [c for c in cases if out.passed("after", c.id) is False]
        fail_b = {c.id for c in cases if out.passed("before", c.id) is False} if has_before else set()
        regress = [c for c in fail_a if c.id not in fail_b]  # the change broke these
        fixed = [c for c in cases if c.id in fail_b and out.passed("after", c.id) is True]
        gen = self._generated(out) if has_before else {}
        crash_a = [k for k, (a, b) in gen.items() if self._crash(a, b)]
        crash_b = [k for k, (a, b) in gen.items() if self._crash(b, a)]
        # broken properties: a constructor argument no longer kept under its own name
        crash_a += [k for k, (a, b) in gen.items() if k not in crash_a and self._broke(a, b)]
        crash_b += [k for k, (a, b) in gen.items() if k not in crash_b and self._broke(b, a)]
        raise_a = [k for k, (a, b) in gen.items() if self._refused(a) and not b.get("error")]
        raise_b = [k for k, (a, b) in gen.items() if self._refused(b) and not a.get("error")]
        differ = [k for k, (a, b) in gen.items() if k not in crash_a and k not in crash_b and self._differ(a, b)]
        # the weight of evidence each way: crashes and broken properties count 1, a new raise
        # statement hit 0.5 (the change may be about which inputs are refused)
        weight_a, weight_b = len(crash_a) + 0.5 * len(raise_a), len(crash_b) + 0.5 * len(raise_b)
        notes = f"{len(cases)} example/test case(s), {len(gen)} differential input(s)"
        if solution_methods(after):
            notes += f"; run as LeetCode runs a class Solution: examples called on Solution(), with its implicit imports ({PLATFORM_NOTE})"
        if has_before and (unstable := self._unstable(out)):
            notes += f" ({unstable} more left out: the code before the change gives different results on two runs of them)"
        if not run.finished:
            notes += "; the run hit its limits before finishing"
        claims: list[Claim] = []
        if regress or (fail_a and not has_before):
            failing = {c.id for c in fail_a} | set(crash_a) | set(differ)
            lines = self._localise(item, after, out, failing)
            c0 = regress[0] if regress else fail_a[0]
            was = " (the code before the change passes it)" if regress else ""
            got = _describe(c0, out.results.get(("after", c0.id)))
            text = f"Fails the example `{c0.source.strip()[:160]}`: expected {(c0.want or 'no error').strip()[:80]}, {got}{was}."
            if c0.kind == "stdin":
                text = f"On the task's sample input {c0.source[:160]!r} the expected output is {(c0.want or '').strip()[:80]!r}; the new code {got}{was}."
            if len(fail_a) > 1:
                text += f" {len(fail_a)} of {len(cases)} cases fail."
            rl = rule("regression" if regress else "fails examples")
            claims += self._claims(lines, text, rl.severity, rl.score)
            return Draft(claims, rl.verdict, rl.confidence, f"Buggy: fails {len(fail_a)} case(s). {notes}.")
        if fixed and has_before:  # examples arbitrate before anything else: the change makes some pass
            rl = rule("fixes examples")
            return Draft([], rl.verdict, rl.confidence, f"Looks correct: the change fixes {len(fixed)} failing example(s). {notes}.")
        clear = crash_a and not crash_b and not raise_b
        if clear or (weight_a >= 2 and weight_a >= 3 * weight_b and not fixed):
            a, b = gen[self._shortest(gen, crash_a or raise_a)]
            lines = self._localise(item, after, out, set(crash_a) | set(raise_a) | set(differ))
            if a.get("error"):
                what = "does not finish" if a["error"] == "timeout" else "raises " + a["error"]
            else:
                what = "breaks " + "; ".join(sorted(set(a.get("broken", [])) - set(b.get("broken", []))))[:160]
            if a.get("call"):  # a call through the module's own API
                text = f"`{a['call'][:200]}`: with the new code it {what}; before the change it returned {str(b.get('value', ''))[:120]}."
            else:
                text = f"On input {a.get('args')}, the new code {what}; before the change it returned {b.get('value')}."
            if not clear:
                text += f" ({len(crash_a) + len(raise_a)} input(s) fail only with the new code, {len(crash_b) + len(raise_b)} only with the old.)"
            rl = rule("new crash" if clear else "more failures")
            claims += self._claims(lines, text, rl.severity, rl.score)
            return Draft(claims, rl.verdict, rl.confidence, f"Likely buggy: fails where the old code worked. {notes}.")
        if fixed or (crash_b and not crash_a) or (weight_b >= 2 and weight_b >= 3 * weight_a):
            rl = rule("fixes examples" if fixed else "fixes crashes")
            return Draft(
                [],
                rl.verdict,
                rl.confidence,
                f"Looks correct: the change fixes {len(fixed) + len(crash_b)} failing case(s). {notes}.",
            )
        # both versions fail the same examples: the example or its parsing is doubtful; with an
        # arbiter, a behaviour change on other inputs is still put to it
        if fail_a and (self.arbiter is None or not (differ or crash_a)):
            rl = rule("both fail examples")
            return Draft([], rl.verdict, rl.confidence, f"Inconclusive: both versions fail {len(fail_a)} example(s). {notes}.")
        if fail_a:
            notes += f"; both versions fail {len(fail_a)} example(s)"
        if differ or crash_a:
            a, b = gen[self._shortest(gen, differ or crash_a)]
            lines = self._localise(item, after, out, set(differ) | set(crash_a))
            new, old = a.get("value", a.get("error")), b.get("value", b.get("error"))
            where = f"`{a['call'][:200]}`" if a.get("call") else f"input {a.get('args')}"
            if str(new) == str(old) and a.get("printed") != b.get("printed"):
                new, old = f"{new} and prints {a.get('printed', '')[-100:]!r}", f"{old} and printed {b.get('printed', '')[-100:]!r}"
            text = f"Behaviour changed: on {where} the new code gives {str(new)[:240]}, the old gave {str(old)[:240]}."
            # a recognised refactoring that still behaves differently (state, identity, the clock)
            # is not put to the arbiter: the evidence stays a low-scored claim
            nat = None if self._refactoring(item) else self._naturalness(item)
            if nat is not None and nat.delta <= -self.arbiter_margin:
                text += (
                    f" The changed lines are also less natural than before under a code language model"
                    f" ({nat.per_token_after:.2f} vs {nat.per_token_before:.2f} nats per token): more likely a bug than a fix."
                )
                rl = rule("behaviour change, less natural")
                claims += self._claims(lines, text, rl.severity, rl.score)
                summary = f"Likely buggy: behaviour changed on {len(differ)} input(s) and the new lines read as less natural. {notes}."
                return Draft(claims, rl.verdict, rl.confidence, summary, verdict_from_claims=True)
            text += " No example says which is right: check it against the task."
            rl = rule("behaviour change")
            claims += self._claims(lines, text, rl.severity, rl.score)
            summary = f"Behaviour changed on {len(differ)} input(s). {notes}."
            return Draft(claims, rl.verdict, rl.confidence, summary, verdict_from_claims=True)
        conf = self._no_difference_confidence(bool(cases), bool(gen))
        if has_before and (changed := self._changed_lines(item, after)):
            return self._unverified(item, changed, self._exercised(changed, out), conf, notes)
        return Draft([], rule("no difference").verdict, conf, f"No failing case or behaviour change found. {notes}.")

    @staticmethod
    def _no_difference_confidence(cases: bool, inputs: bool) -> float:
        """The "no difference" rule's confidence: lower when fewer kinds of evidence ran."""
        top = rule("no difference").confidence or 0.75
        return top if cases and inputs else 0.6 if cases or inputs else 0.5

    def benign_summary(self, critique: Critique) -> tuple[str, float] | None:
        """What this critic says of a change in which it finds nothing, with the counts of cases
        and inputs from ``critique`` (a critique of the same item), e.g. for a planted critique."""
        counts = _COUNTS.search(critique.summary or "")
        if counts is None:
            return None
        return f"No failing case or behaviour change found. {counts.group(0)}", rule("no difference").confidence or 0.75

    @staticmethod
    def _changed_lines(item: ItemView, after: str) -> list[int]:
        """The lines of the new code the change touches (1-based; for a pure deletion, the line
        that took its place)."""
        before, _ = item_sources(item)
        if before is None:
            return []
        # from the diff as parsed (linear in its size); re-diffing whole files costs quadratic time
        changed = diff_changed_lines(item) or changed_lines_of(before, after)
        return [i + 1 for i in changed[1]]

    @staticmethod
    def _exercised(lines: list[int], out: Outcome) -> bool | None:
        """Whether some case or input ran one of ``lines`` of the new code (None: no coverage came back)."""
        if "after" not in out.coverage:
            return None
        ran = set().union(*(covered for case, covered in out.cover("after").items() if case != "load"))
        return bool(ran & set(lines))

    def _unverified(self, item: ItemView, lines: list[int], exercised: bool | None, conf: float, notes: str) -> Draft:
        """A change in which execution found no difference in behaviour.

        A recognised refactoring is correct. Otherwise, with an arbiter and
        ``arbiter_unverified_margin``, a change that makes the code clearly less natural is
        reported as a possible bug (scored below an arbitrated behaviour change: nothing showed
        one). Else a change no input ran gets no verdict, and one that ran stays "correct"."""
        unrun = exercised is False
        head = "Unverified: no case or input ran the changed lines" if unrun else "No failing case or behaviour change found"
        if refactoring := self._refactoring(item):
            why = "no case or input ran the changed lines, but " if unrun else ""
            rl = rule("refactoring")
            return Draft(
                [],
                rl.verdict,
                rl.confidence if unrun else conf,
                f"Looks correct: {why}the change is a recognised behaviour-preserving refactoring ({refactoring}). {notes}.",
            )
        nat = self._naturalness(item) if self.unverified_margin is not None else None
        if nat is not None and self.unverified_margin is not None and nat.delta <= -self.unverified_margin:
            tested = (
                "No case or input reached this change, so it is untested"
                if unrun
                else "The inputs that ran this change showed no difference in behaviour"
            )
            text = (
                f"{tested}; but the code after it reads as less natural under a code language model than before"
                f" ({nat.per_token_after:.2f} vs {nat.per_token_before:.2f} nats per token), as buggy code tends to,"
                f" and it is not a recognised refactoring. Check it against the task."
            )
            rl = rule("unverified, less natural")
            claims = self._claims(lines[:1], text, rl.severity, rl.score)
            summary = f"{head}; the change reads as less natural than before: possibly a bug. {notes}."
            return Draft(claims, rl.verdict, rl.confidence, summary, verdict_from_claims=True)
        if unrun:
            rl = rule("unverified")
            return Draft([], rl.verdict, rl.confidence, f"{head}, so the run says nothing about them. {notes}.")
        return Draft([], rule("no difference").verdict, conf, f"{head}. {notes}.")

    @staticmethod
    def _refactoring(item: ItemView) -> str | None:
        """The behaviour-preserving refactoring the change is, when it is a recognised one."""
        before, after = item_sources(item)
        return recognise_refactoring(before, after) if before is not None and after is not None else None

    def _naturalness(self, item: ItemView) -> Naturalness | None:
        """The arbiter's reading of the change (None without an arbiter or a ``before``)."""
        before, after = item_sources(item)
        if self.arbiter is None or before is None or after is None:
            return None
        return self.arbiter.score(before, after, changed=diff_changed_lines(item))

    def _crash(self, a: dict[str, Any], b: dict[str, Any]) -> bool:
        """Version ``a`` fails where ``b`` returned: an exception the changed code did not raise on
        purpose, or a hang where the other version was quick (not a slow machine)."""
        if not a.get("error") or b.get("error"):
            return False
        if a["error"] == "timeout":
            return float(b.get("s", 0.0)) < self.sandbox.call_timeout_s / 4
        return not self._refused(a)

    @staticmethod
    def _refused(r: dict[str, Any]) -> bool:
        """An error that may only mean the input was refused: a ``raise`` statement of the changed code."""
        return bool(r.get("deliberate"))

    @staticmethod
    def _shortest(gen: dict[str, tuple[dict[str, Any], dict[str, Any]]], keys: list[str]) -> str:
        """The failing input that is quickest to read (the shortest call or arguments)."""
        return min(keys, key=lambda k: (len(str(gen[k][0].get("call") or gen[k][0].get("args") or "")), keys.index(k)))

    @staticmethod
    def _broke(a: dict[str, Any], b: dict[str, Any]) -> bool:
        return not a.get("error") and not b.get("error") and bool(set(a.get("broken") or []) - set(b.get("broken") or []))

    @staticmethod
    def _differ(a: dict[str, Any], b: dict[str, Any]) -> bool:
        if a.get("error") or b.get("error"):
            return a.get("error") != b.get("error")  # e.g. a deliberate new ValueError: a change, not a crash
        return a.get("key") != b.get("key")

    def _generated(self, out: Outcome) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """(after, before) records of each differential input; inputs whose outcome the code
        before the change does not reproduce (``unstable``: ``id()``, a counter, the clock in
        its output) are left out, since they cannot tell the versions apart."""
        pairs = {}
        for (ver, case), r in out.results.items():
            if ver == "after" and case.startswith("g") and ("before", case) in out.results:
                b = out.results[("before", case)]
                if not (r.get("unstable") or b.get("unstable")):
                    pairs[case] = (r, b)
        return pairs

    @staticmethod
    def _unstable(out: Outcome) -> int:
        return sum(1 for (ver, case), r in out.results.items() if ver == "after" and case.startswith("g") and r.get("unstable"))

    def _load_failure(self, item: ItemView, after: str, r: dict[str, Any]) -> Draft:
        err = r.get("error") or "unknown error"
        n = after.count("\n") + 1
        named = r.get("line")  # the line of the new code the error names (the runner reads the traceback)
        if not isinstance(named, int) and "line " in err:
            try:
                named = int(err.split("line ", 1)[1].split(")")[0].split(",")[0])
            except ValueError:
                named = None
        # the claim goes on the line the error names; on the change only when the error names none
        lines = [named] if isinstance(named, int) and 1 <= named <= n else self._changed(item) or [1]
        rl = rule("fails to load")
        return Draft(
            self._claims(lines[:1], f"The new code does not even load: {err}", rl.severity, rl.score),
            rl.verdict,
            rl.confidence,
            "Buggy: fails to load.",
        )

    def _changed(self, item: ItemView) -> list[int]:
        """Lines of the new file the diff adds; for a pure deletion, the line after it."""
        try:
            files = parse_diff(item.diff)
        except DiffError:
            return []
        main = [f for f in files if f.path == item.path] or files[:1]
        added, near = [], []
        for f in main:
            for h in f.hunks:
                prev_new = None
                for ln in h.lines:
                    if ln.kind == "add" and ln.new:
                        added.append(ln.new)
                    elif ln.kind == "del" and prev_new is not None:
                        near.append(prev_new + 1)
                    if ln.new:
                        prev_new = ln.new
        return sorted(set(added)) or sorted(set(near))

    def _localise(self, item: ItemView, after: str, out: Outcome, failing: set[str]) -> list[tuple[int, float]]:
        cover = out.cover("after")
        passing = {c for c in cover if c not in failing and c != "load" and out.passed("after", c) is not False}
        scores = ochiai(cover, failing & set(cover), passing)
        changed = self._changed(item)
        # where a failing run first diverged from the old code's run of the same input (scripts)
        diverged = next((out.diverge[c] for c in sorted(failing) if c in out.diverge), None)
        if diverged is not None:
            return [(diverged, 0.0)]
        ranked = sorted(changed, key=lambda ln: -scores.get(ln, 0.0))
        if not ranked:
            ranked = sorted(scores, key=lambda ln: -scores[ln])[:1]
        top = scores.get(ranked[0], 0.0) if ranked else 0.0
        # further changed lines only when the failing runs implicate them about as much as the first
        rest = [ln for ln in ranked[1:3] if top and scores.get(ln, 0.0) >= 0.5 * top]
        return [(ln, scores.get(ln, 0.0)) for ln in ranked[:1] + rest]

    def _claims(self, lines: list[tuple[int, float]] | list[int], text: str, severity: str, score: float) -> list[Claim]:
        out = []
        for i, entry in enumerate(lines):
            ln, s = entry if isinstance(entry, tuple) else (entry, 0.0)
            where = (
                f" Fault localisation (Ochiai {s:.2f}) ranks this line {'first' if i == 0 else f'#{i + 1}'} among the changed lines."
                if s
                else ""
            )
            out.append(
                Claim(
                    ln,
                    (text + where) if i == 0 else f"Also suspicious for the same failure.{where}",
                    severity=severity,
                    score=score if i == 0 else score * 0.6,
                    category="bug",
                )
            )
        return out
