"""semgrep with the monitor's own rules, on what a diff introduces (where semgrep is installed).

semgrep is not a dependency of the project (its install changes some forty packages of an
environment, among them ``jsonschema`` and ``click``): the monitor uses it when the executable
is on ``PATH`` or named by ``OVERSIGHT_SEMGREP``, and goes without it otherwise. It runs offline
on the local rules in ``semgrep_rules.yml`` (no registry), with metrics and the version check
off: with the version check on, each run waits about 100 s for a network that is not there.

As with bandit, the hunks' added fragments and removed fragments go to one semgrep process; a
finding of a rule the removed code already had, or on a line that only moved, counts for a fifth.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from .hunks import HunkView

__all__ = ["RULES", "semgrep_executable", "semgrep_findings"]

RULES = Path(__file__).with_name("semgrep_rules.yml")
_SEVERITY = {"ERROR": 0.9, "WARNING": 0.6, "INFO": 0.3}


def semgrep_executable() -> str | None:
    """The semgrep to run: ``OVERSIGHT_SEMGREP``, else ``semgrep`` on ``PATH``, else None."""
    named = os.environ.get("OVERSIGHT_SEMGREP")
    if named:
        if not Path(named).is_file():
            raise ValueError(f"OVERSIGHT_SEMGREP={named!r} is not a file: name the semgrep executable, or unset it")
        return named
    return shutil.which("semgrep")


def semgrep_findings(hunks: list[HunkView], risky: re.Pattern[str], *, timeout_s: float = 300.0) -> dict[int, list[tuple[int, float, str]]]:
    """(new line, score, why) of semgrep's findings on the added code, by hunk index; empty
    without semgrep. ``risky`` picks the hunks worth a look, as for bandit."""
    exe = semgrep_executable()
    out: dict[int, list[tuple[int, float, str]]] = {}
    if exe is None:
        return out
    with tempfile.TemporaryDirectory(prefix="oversight-semgrep-") as tmp:
        where = {}
        for h in hunks:
            if not risky.search(h.added_text):
                continue
            for side, frags in (("h", h.fragments()), ("r", h.removed_fragments())):
                for k, frag in enumerate(frags):
                    name = f"{side}{h.index}_{k}.py"
                    Path(tmp, name).write_text(frag.text)
                    where[name] = (h, frag)
        if not where:
            return out
        env = {**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
        cmd = [exe, "scan", "--metrics=off", "--disable-version-check", "--config", str(RULES), "--json", "--quiet", "."]
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout_s)
    try:
        results = json.loads(proc.stdout or "{}").get("results", [])
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"semgrep gave no JSON (exit {proc.returncode}): {proc.stderr.strip()[:300]}") from exc
    before: dict[int, Counter[str]] = {}
    rule = {id(r): str(r["check_id"]).rsplit(".", 1)[-1] for r in results}
    for r in results:
        name = Path(r["path"]).name
        if name.startswith("r"):
            before.setdefault(where[name][0].index, Counter())[rule[id(r)]] += 1
    for r in sorted(results, key=lambda r: -_SEVERITY.get(r["extra"]["severity"], 0.3)):
        name = Path(r["path"]).name
        if name.startswith("r"):
            continue  # the code before the change
        h, frag = where[name]
        line = frag.line + int(r["start"]["line"]) - 1
        score = _SEVERITY.get(r["extra"]["severity"], 0.3)
        old = before.get(h.index, Counter())
        if old[rule[id(r)]] > 0:
            old[rule[id(r)]] -= 1  # the removed code had this finding: it is not new
            score *= 0.2
        elif h.is_moved(dict(h.added).get(line, "")):
            score *= 0.2
        out.setdefault(h.index, []).append((line, score, f"semgrep {rule[id(r)]}: {r['extra']['message']}"))
    return out
