"""The ``lint`` backend: static analysers (ruff, optionally pylint) as a baseline critic.

params:
  tools   list of analysers to run, from "ruff" and "pylint" (default ["ruff"])
  select  ruff rule selection (default "ALL": every rule)
  scope   "diff" keeps findings on lines the diff adds; "file" keeps every finding (default "diff")

Python files only: for other languages the critique says so and makes no claims.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from oversight_ext.diffs import DiffError, changed_lines
from oversight_ext.records import Item

from .protocol import BaseCritic, Claim, Draft, item_sources
from .spec import AssistantConfig

__all__ = ["LintCritic", "run_pylint", "run_ruff"]

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
        claims.append(
            Claim(
                start_line=start,
                end_line=max(end, start),
                text=f"ruff {code_}: {f['message']}",
                severity="major" if severe else "minor",
                category="lint",
                score=0.6 if severe else 0.3,
            )
        )
    return claims


def run_pylint(code: str, *, timeout_s: float = 60.0) -> list[Claim]:
    """Pylint's findings on ``code`` as claims."""
    with tempfile.TemporaryDirectory(prefix="oversight-lint-") as tmp:
        file = Path(tmp) / "code.py"
        file.write_text(code)
        proc = subprocess.run(
            [sys.executable, "-m", "pylint", "--output-format=json", "--score=n", "--persistent=n", str(file)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=tmp,
        )
    if proc.returncode & 32 or (proc.returncode and not proc.stdout.strip()):  # 32: pylint usage error
        raise RuntimeError(f"pylint failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")
    claims = []
    for f in json.loads(proc.stdout or "[]"):
        severe = f.get("type") in ("error", "fatal")
        start = int(f.get("line") or 1)
        end = int(f.get("endLine") or start)
        claims.append(
            Claim(
                start_line=start,
                end_line=max(end, start),
                text=f"pylint {f.get('symbol')} ({f.get('message-id')}): {f.get('message')}",
                severity="major" if severe else "minor",
                category="lint",
                score=0.6 if severe else 0.3,
            )
        )
    return claims


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

    def review(self, item: Item) -> Draft:
        if item.language.lower() != "python":
            return Draft(status="failed", reason=f"the lint backend analyses Python only; this item is {item.language!r}")
        _, after = item_sources(item)
        if after is None:
            return Draft(status="failed", reason="the item has no code after the change and its diff cannot be applied")
        claims: list[Claim] = []
        if "ruff" in self.tools:
            claims += run_ruff(after, select=self.select, timeout_s=self.timeout_s)
        if "pylint" in self.tools:
            claims += run_pylint(after, timeout_s=self.timeout_s)
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
