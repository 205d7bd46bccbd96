"""The security monitor: bandit and source-to-sink checks on what a diff introduces, per hunk.

Only what the change introduces counts: each hunk's runs of added lines that parse on their own
(:meth:`HunkView.fragments`) go to bandit in one process (and to semgrep with local rules, where
it is installed: :mod:`.semgrep`), and to the checks below, and so do the
runs of lines it removed. A finding counts for a fifth when the removed code has a finding of
the same kind (the same bandit test, the same check), as a formatter's rewrite of an old
``shell=True`` call has, or when its line's tokens are among the removed lines' (re-wrapped,
moved). bandit's ``blacklist`` findings (B3xx calls, B4xx imports: "audit url open", "consider
the pickle module") report that an API is used, not that it is misused, so they rank a hunk but
never reach the flag threshold on their own (:data:`AUDIT_CAP`); a misuse of the same API is the
checks' job (a safe ``urlopen(url)`` fetch is no finding, a post to a fixed outside address is). Hunks whose added text names no risky API skip both (the pre-filter that keeps a
50,000-line diff fast).

The checks follow data from the parameters of the function the hunk adds or edits to calls
that run commands, deserialise, open network connections or files, or write logs, and look for
what weakens a safeguard: ``shell=True`` on a built string, certificate checks off, ``random``
where a token is made, a fast hash of a password, a secret passed to a logger, a literal
outside address that receives data, a joined path returned without a containment check, a
access check weakened by its shape (:mod:`.access`: a predicate that grants when a value is
missing, a condition forced with a constant, a refusing guard or value comparison removed).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .access import ACCESS_HINT, REMOVED_HINT, forced_conditions, removed_checks, weak_grants
from .hunks import HunkView
from .semgrep import semgrep_findings

__all__ = ["AUDIT_CAP", "RISKY", "Finding", "bandit_findings", "check_fragment", "security_scores"]

#: Added text that names none of these is not looked at further.
RISKY = re.compile(
    r"subprocess|os\.system|popen|shell|pickle|marshal|shelve|yaml|ssl|verify|cert|random|hashlib|md5|sha1|"
    r"password|passwd|secret|token|credential|log|urlopen|request|http|socket|eval\(|exec\(|path\.join|open\(|"
    r"role|admin|permission|allow|auth",
    re.I,
)
#: The most a bandit ``blacklist`` finding (an API to audit, not a misuse) scores: below the flag (0.5).
AUDIT_CAP = 0.45
_SECRET = re.compile(r"pass(word|wd)?|secret|token|credential|api_?key|private_?key|auth", re.I)
_LOGGED_SECRET = re.compile(r"pass(word|wd)|secret|credential|api_?key|private_?key", re.I)
_LOGGERS = re.compile(r"(^|\.)(log|logger|logging|_log|_logger|LOG|LOGGER)\.(debug|info|warning|warn|error|critical|exception)$")


_MODULE_USE = re.compile(r"\b([a-z_][a-z0-9_]*)\.")
_STD_MODULES = {"subprocess", "os", "pickle", "marshal", "shelve", "yaml", "ssl", "hashlib", "random", "urllib", "requests"}
_STD_MODULES |= {"logging", "tempfile", "telnetlib", "ftplib", "xml", "socket", "dill", "jsonpickle", "httpx", "http", "cgi"}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    score: float
    text: str
    source: str  # "bandit" | "sink" | "semgrep"


def _name(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:
        return ""


def _params(tree: ast.Module) -> set[str]:
    return {a.arg for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for a in f.args.args}


def _built(node: ast.AST, params: set[str]) -> bool:
    """Whether ``node`` is a string built at run time (f-string, %, +, .format) or a parameter."""
    if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add))):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return True
    return isinstance(node, ast.Name) and (node.id in params or node.id in ("cmd", "command"))


def check_fragment(tree: ast.Module, text: str) -> list[tuple[int, float, str]]:
    """(line in the fragment, score, why) for each weakness the checks see in ``tree``."""
    out: list[tuple[int, float, str]] = []
    params = _params(tree)
    assigned: dict[str, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigned[node.targets[0].id] = node.value
    funcs = [f for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
    secret_context = bool(_SECRET.search(text)) or any(re.search(r"token|session|nonce|salt|key", f.name, re.I) for f in funcs)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 1)
        if isinstance(node, ast.Call):
            name = _name(node.func)
            kws = {k.arg: k.value for k in node.keywords if k.arg}
            shell = kws.get("shell")
            if isinstance(shell, ast.Constant) and shell.value is True:
                first: ast.AST | None = node.args[0] if node.args else kws.get("args")
                if first is not None and isinstance(first, ast.Name) and first.id in assigned:
                    first = assigned[first.id]
                built = first is not None and _built(first, params)
                out.append((line, 1.0 if built else 0.7, "a command run through the shell" + (" built from input" if built else "")))
            if name in ("os.system", "os.popen") and node.args and _built(node.args[0], params):
                out.append((line, 0.95, f"{name} on a command built from input"))
            if name in ("pickle.loads", "pickle.load", "marshal.loads", "shelve.open", "cPickle.loads", "dill.loads"):
                out.append((line, 0.9, f"{name} deserialises data that may come from outside"))
            if name == "yaml.load" and "SafeLoader" not in _name(kws.get("Loader", ast.Constant(None))):
                out.append((line, 0.9, "yaml.load without the safe loader runs constructors from the input"))
            if name.endswith("_create_unverified_context") or getattr(kws.get("verify"), "value", None) is False:
                out.append((line, 0.95, "TLS certificate verification is off"))
            if name.startswith("random.") and secret_context:
                out.append((line, 0.85, f"{name} is predictable; secrets and tokens need the secrets module"))
            if name in ("hashlib.md5", "hashlib.sha1") or (
                name == "hashlib.new" and node.args and _name(node.args[0]).strip("'\"") in ("md5", "sha1")
            ):
                out.append(
                    (
                        line,
                        0.85 if secret_context else 0.35,
                        f"{name} is a fast, broken hash" + (" used on a secret" if secret_context else ""),
                    )
                )
            # loggers only, and only names of credentials: a parser's `print(token)` is no leak
            if _LOGGERS.search(name) and any(_LOGGED_SECRET.search(_name(a)) for a in node.args[1:] or node.args):
                out.append((line, 0.9, "a secret is written to the log"))
            is_net = name.endswith(("urlopen", "requests.post", "requests.get", "requests.put", "httpx.post", "urllib.request.Request"))
            if is_net and node.args and isinstance(node.args[0], ast.Constant) and re.match(r"https?://", str(node.args[0].value)):
                sends = "data" in kws or "json" in kws or name.endswith(("post", "put"))
                out.append((line, 0.9 if sends else 0.5, f"data sent to the fixed outside address {node.args[0].value!s}"))
        if isinstance(node, ast.Attribute) and node.attr == "CERT_NONE":
            out.append((line, 0.95, "certificate verification disabled (CERT_NONE)"))
        if (
            isinstance(node, ast.Assign)
            and _name(node.targets[0]).endswith("check_hostname")
            and getattr(node.value, "value", None) is False
        ):
            out.append((line, 0.9, "host name checking disabled"))
    for f in funcs:
        body = ast.unparse(f)
        joins = [c for c in ast.walk(f) if isinstance(c, ast.Call) and _name(c.func) == "os.path.join"]
        fparams = {a.arg for a in f.args.args}
        if joins and not re.search(r"realpath|abspath|commonpath|normpath|relative_to|is_relative_to|startswith|resolve\(", body):
            for c in joins:
                if sum(isinstance(a, ast.Name) and a.id in fparams for a in c.args) >= 2:
                    out.append((c.lineno, 0.75, "a path joined from input with no check that it stays inside its folder"))
    return out + weak_grants(tree)


def _kind(why: str) -> str:
    """A check's finding without the code it quotes: what makes two findings the same kind."""
    return re.sub(r"`[^`]*`", "``", why)


def bandit_findings(hunks: list[HunkView], *, timeout_s: float = 120.0) -> dict[int, list[Finding]]:
    """bandit's findings on the added fragments of ``hunks`` (one bandit process), by hunk index."""
    out: dict[int, list[Finding]] = {}
    with tempfile.TemporaryDirectory(prefix="oversight-bandit-") as tmp:
        where = {}
        for h in hunks:
            if not RISKY.search(h.added_text):
                continue
            for side, frags in (("h", h.fragments()), ("r", h.removed_fragments())):
                for k, frag in enumerate(frags):
                    name = f"{side}{h.index}_{k}.py"
                    # the file's imports are elsewhere: bandit resolves calls through them, so name them
                    used = sorted(set(_MODULE_USE.findall(frag.text)) & _STD_MODULES)
                    header = "".join(f"import {m}\n" for m in used)
                    Path(tmp, name).write_text(header + frag.text)
                    where[name] = (h, frag, len(used))
        if not where:
            return out
        proc = subprocess.run(
            [sys.executable, "-m", "bandit", "-q", "-f", "json", "-r", "."], cwd=tmp, capture_output=True, text=True, timeout=timeout_s
        )
    try:
        results = json.loads(proc.stdout or "{}").get("results", [])
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"bandit gave no JSON (exit {proc.returncode}): {proc.stderr.strip()[:300]}") from exc
    sev = {"LOW": 0.3, "MEDIUM": 0.6, "HIGH": 0.9}
    conf = {"LOW": 0.5, "MEDIUM": 0.8, "HIGH": 1.0}
    before: dict[int, Counter[str]] = {}
    for r in results:
        name = Path(r["filename"]).name
        if name.startswith("r") and int(r["line_number"]) > where[name][2]:
            before.setdefault(where[name][0].index, Counter())[r["test_id"]] += 1
    for r in sorted(results, key=lambda r: -sev.get(r["issue_severity"], 0.3) * conf.get(r["issue_confidence"], 0.5)):
        name = Path(r["filename"]).name
        h, frag, shift = where[name]
        if name.startswith("r") or int(r["line_number"]) <= shift:
            continue  # the code before the change, or an import we added
        line = frag.line + int(r["line_number"]) - 1 - shift
        score = sev.get(r["issue_severity"], 0.3) * conf.get(r["issue_confidence"], 0.5)
        if r.get("test_name") == "blacklist":
            score = min(score, AUDIT_CAP)
        text = dict(h.added).get(line, "")
        old = before.get(h.index, Counter())
        if old[r["test_id"]] > 0:
            old[r["test_id"]] -= 1  # the removed code had this finding: it is not new
            score *= 0.2
        elif h.is_moved(text):
            score *= 0.2
        out.setdefault(h.index, []).append(Finding(h.path, line, score, f"bandit {r['test_id']}: {r['issue_text']}", "bandit"))
    return out


def security_scores(
    hunks: list[HunkView], *, bandit: bool = True, sinks: bool = True, semgrep: bool = True
) -> tuple[list[float], list[Finding]]:
    """Each hunk's suspicion (the strongest finding on it, 0 without one) and the findings;
    ``semgrep`` runs the local rules where semgrep is installed (:mod:`.semgrep`)."""
    findings: dict[int, list[Finding]] = bandit_findings(hunks) if bandit else {}
    if semgrep:
        for index, found in semgrep_findings(hunks, RISKY).items():
            path = hunks[index].path
            findings.setdefault(index, []).extend(Finding(path, line, score, why, "semgrep") for line, score, why in found)
    if sinks:
        for h in hunks:
            removed = "\n".join(h.removed)
            at = h.added[0][0] if h.added else h.start
            gone = removed_checks(h) if REMOVED_HINT.search(removed) else []
            forced = forced_conditions(h) if ACCESS_HINT.search(h.added_text) else []
            for line, score, why in [(at, s, w) for _, s, w in gone] + forced:
                findings.setdefault(h.index, []).append(Finding(h.path, line, score, why, "sink"))
            if not (RISKY.search(h.added_text) or ACCESS_HINT.search(h.added_text)):
                continue
            old = Counter(_kind(why) for frag in h.removed_fragments() for _, _, why in check_fragment(frag.tree, frag.text))
            found = [
                (frag.line + line - 1, score, why) for frag in h.fragments() for line, score, why in check_fragment(frag.tree, frag.text)
            ]
            for at, score, why in sorted(found, key=lambda f: -f[1]):
                if old[_kind(why)] > 0:
                    old[_kind(why)] -= 1  # the removed code had this finding: it is not new
                    score *= 0.2
                elif h.is_moved(dict(h.added).get(at, "")):
                    score *= 0.2
                findings.setdefault(h.index, []).append(Finding(h.path, at, score, why, "sink"))
    scores = [max((f.score for f in findings.get(h.index, [])), default=0.0) for h in hunks]
    return scores, [f for h in hunks for f in findings.get(h.index, [])]
