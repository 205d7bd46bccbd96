"""The ``lint`` backend: static analysers (ruff, optionally pylint) as a baseline critic.

params:
  tools   list of analysers to run, from "ruff" and "pylint" (default ["ruff"])
  select  ruff rule selection (default "ALL": every rule)
  scope   "diff" keeps findings on lines the diff adds; "file" keeps every finding (default "diff")

Python files only: for other languages the critique says so and makes no claims.

pylint starts slowly (seconds per process, mostly loading its checkers), so
:meth:`LintCritic.prepare` analyses a whole batch of items in one pylint process (one folder
per file, the cross-file ``duplicate-code`` check off, so each file's findings are what a run on
that file alone gives) and :meth:`LintCritic.review` then reads them from memory. Each critique's
latency includes its share of the batch run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from oversight_ext.diffs import DiffError, changed_lines
from oversight_ext.records import Critique, Gold, ItemView

from ..protocol import BaseCritic, Claim, Draft, item_sources
from ..spec import AssistantConfig

__all__ = ["LintCritic", "run_pylint", "run_pylint_many", "run_ruff"]

_TOOLS = ("ruff", "pylint")


def _binary(name: str) -> str:
    found = Path(sys.executable).parent / name
    if found.exists():
        return str(found)
    which = shutil.which(name)
    if which is None:
        raise FileNotFoundError(f"{name} is not installed: pip install {name}")
    return which


def run_ruff(code: str, *, select: str = "ALL", timeout_s: float = 60.0) -> list[Claim]:
    """Ruff's findings on ``code`` as claims (one per finding)."""
    with tempfile.TemporaryDirectory(prefix="oversight-lint-") as tmp:
        file = Path(tmp) / "code.py"
        file.write_text(code)
        proc = subprocess.run(
            [_binary("ruff"), "check", "--no-cache", "--isolated", "--select", select, "--output-format", "json", "--exit-zero", str(file)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=tmp,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"ruff failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")
    claims = []
    for f in json.loads(proc.stdout or "[]"):
        start = int(f["location"]["row"])
        end = int((f.get("end_location") or f["location"])["row"])
        code_ = f.get("code") or "syntax"
        severe = code_ == "syntax" or code_.startswith(("F", "E9", "B", "PLE"))
        claims.append(_claim(start, end, f"ruff {code_}: {f['message']}", severe))
    return claims


def _claim(start: int, end: int, text: str, severe: bool) -> Claim:
    """One analyser finding as a claim: errors are major, style findings minor and low-scored."""
    return Claim(
        start_line=start,
        end_line=max(end, start),
        text=text,
        severity="major" if severe else "minor",
        category="lint",
        score=0.6 if severe else 0.3,
    )


def _pylint_claim(f: dict) -> Claim:
    start = int(f.get("line") or 1)
    text = f"pylint {f.get('symbol')} ({f.get('message-id')}): {f.get('message')}"
    return _claim(start, int(f.get("endLine") or start), text, f.get("type") in ("error", "fatal"))


def run_pylint(code: str, *, timeout_s: float = 60.0) -> list[Claim]:
    """Pylint's findings on ``code`` as claims."""
    return run_pylint_many([code], timeout_s=timeout_s)[0]


def run_pylint_many(codes: list[str], *, timeout_s: float = 60.0) -> list[list[Claim]]:
    """Pylint's findings on each of ``codes``, from one pylint process.

    Each text is analysed as ``code.py`` in a folder of its own, and the one check that compares
    files with each other (``duplicate-code``) is off, so the findings on each text are those a
    run on that file alone gives. ``timeout_s`` is per text.
    """
    if not codes:
        return []
    with tempfile.TemporaryDirectory(prefix="oversight-lint-") as tmp:
        files = []
        for i, code in enumerate(codes):
            folder = Path(tmp) / f"f{i}"
            folder.mkdir()
            (folder / "code.py").write_text(code)
            files.append(f"f{i}/code.py")
        proc = subprocess.run(
            [sys.executable, "-m", "pylint", "--output-format=json", "--score=n", "--persistent=n", "--disable=duplicate-code", *files],
            capture_output=True,
            text=True,
            timeout=timeout_s * max(1, len(codes) // 4),
            cwd=tmp,
        )
    if proc.returncode & 32 or (proc.returncode and not proc.stdout.strip()):  # 32: pylint usage error
        raise RuntimeError(f"pylint failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")
    out: list[list[Claim]] = [[] for _ in codes]
    for f in json.loads(proc.stdout or "[]"):
        top = Path(str(f.get("path", ""))).parts[0] if f.get("path") else ""
        if not re.fullmatch(r"f\d+", top):
            raise RuntimeError(f"pylint reported a finding for an unknown file: {f.get('path')!r}")
        out[int(top[1:])].append(_pylint_claim(f))
    return out


def _key(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class LintCritic(BaseCritic):
    """Static analysis of the changed file; claims on lines the diff adds (``scope='diff'``)."""

    def __init__(self, config: AssistantConfig) -> None:
        super().__init__(config.name, config.spec_hash, model="ruff", verbosity=config.verbosity)
        tools = config.params.get("tools", ["ruff"])
        bad = [t for t in tools if t not in _TOOLS]
        if bad or not tools:
            raise ValueError(f"lint assistant {config.name!r}: params.tools = {tools!r} is invalid: choose from {list(_TOOLS)}")
        scope = config.params.get("scope", "diff")
        if scope not in ("diff", "file"):
            raise ValueError(f"lint assistant {config.name!r}: params.scope = {scope!r} is invalid: use 'diff' or 'file'")
        self.tools, self.scope = list(tools), scope
        self.select = str(config.params.get("select", "ALL"))
        self.timeout_s = config.timeout_s
        self.model = "+".join(self.tools)
        self._pylint_cache: dict[str, tuple[list[Claim], float]] = {}
        self._lock = threading.Lock()

    def prepare(self, items: Iterable[ItemView], *, chunk: int = 100) -> None:
        """Run pylint once per ``chunk`` items ahead of :meth:`critique` (a no-op without pylint).

        The findings wait in memory, keyed by the code's hash; each later critique of one of
        these items adds its share of the batch's wall time to its latency.
        """
        if "pylint" not in self.tools:
            return
        codes: list[str] = []
        for item in items:
            if item.language.lower() != "python":
                continue
            _, after = item_sources(item)
            if after is not None and _key(after) not in self._pylint_cache and after not in codes:
                codes.append(after)
        for k in range(0, len(codes), chunk):
            part = codes[k : k + chunk]
            t0 = time.perf_counter()
            found = run_pylint_many(part, timeout_s=self.timeout_s)
            share = (time.perf_counter() - t0) / len(part)
            with self._lock:
                for code, claims in zip(part, found):
                    self._pylint_cache[_key(code)] = (claims, share)

    def _pylint(self, code: str) -> tuple[list[Claim], float]:
        with self._lock:
            hit = self._pylint_cache.get(_key(code))
        if hit is not None:
            return [dataclasses.replace(c) for c in hit[0]], hit[1]
        return run_pylint(code, timeout_s=self.timeout_s), 0.0

    def critique(self, item: ItemView, *, gold: Gold | None = None) -> Critique:
        c = super().critique(item)
        _, after = item_sources(item) if item.language.lower() == "python" else (None, None)
        with self._lock:
            hit = self._pylint_cache.get(_key(after)) if after is not None and "pylint" in self.tools else None
        return dataclasses.replace(c, latency_s=c.latency_s + hit[1]) if hit is not None else c

    def review(self, item: ItemView) -> Draft:
        if item.language.lower() != "python":
            return Draft(status="failed", reason=f"the lint backend analyses Python only; this item is {item.language!r}")
        _, after = item_sources(item)
        if after is None:
            return Draft(status="failed", reason="the item has no code after the change and its diff cannot be applied")
        claims: list[Claim] = []
        if "ruff" in self.tools:
            claims += run_ruff(after, select=self.select, timeout_s=self.timeout_s)
        if "pylint" in self.tools:
            claims += self._pylint(after)[0]
        if self.scope == "diff":
            try:
                added = set().union(*changed_lines(item.diff, "new").values())
            except DiffError:
                added = set()
            claims = [c for c in claims if any(ln in added for ln in range(c.start_line, (c.end_line or c.start_line) + 1))]
        n = len(claims)
        return Draft(
            claims=claims,
            verdict="buggy" if n else "correct",
            verdict_from_claims=bool(n),
            confidence=0.6 if n else 0.5,
            summary=f"{self.model}: {n} finding(s)" + (" on changed lines" if self.scope == "diff" else ""),
        )
