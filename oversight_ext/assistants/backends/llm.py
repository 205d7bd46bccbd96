"""What the language-model backends (``hf``, ``openai``) share: the prompt and a lenient parser.

The model sees what a rater sees: the task statement, the diff, and the new code with line
numbers; never the gold label or the tests. It is asked for JSON; replies are parsed
leniently (code fences, surrounding prose, single quotes, trailing commas, a reply cut off
mid-object) and anything that yields neither a verdict nor a line is a parse error.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
from typing import Any

from oversight_ext.records import ItemView

from ..protocol import Claim, Draft, item_sources

__all__ = ["DEFAULT_PROMPT", "ReplyError", "parse_reply", "render_prompt"]

DEFAULT_PROMPT = """You review a code change for bugs. Judge the NEW code against the task.

Task:
{spec}

Diff ({path}):
{diff}

New code with line numbers:
{code}

Reply with JSON only, in this form:
{{"verdict": "buggy" or "correct", "confidence": 0.0-1.0, "summary": "one sentence",
 "comments": [{{"line": <line number in the new code>, "severity": "minor|major|critical", "text": "what is wrong"}}]}}
Give no comments if the change is correct."""

_SEVERITIES = ("info", "minor", "major", "critical")


class ReplyError(ValueError):
    """A model reply that holds no usable critique."""


def numbered(code: str) -> str:
    return "\n".join(f"{n:4d} | {line}" for n, line in enumerate(code.splitlines(), 1))


def render_prompt(template: str, item: ItemView, *, max_chars: int = 24000) -> str:
    """The prompt for one item; long diffs and code are cut to ``max_chars`` each."""
    _, after = item_sources(item)
    fields = {
        "path": item.path or "the file",
        "language": item.language,
        "task": item.task,
        "spec": item.spec or item.task or "(no task statement)",
        "diff": item.diff[:max_chars],
        "code": numbered(after)[:max_chars] if after is not None else "(not available)",
    }
    try:
        return (template or DEFAULT_PROMPT).format(**fields)
    except (KeyError, IndexError) as exc:
        raise ValueError(
            f"prompt template field {exc} is unknown: use only {{path}} {{language}} {{task}} {{spec}} {{diff}} {{code}}, "
            "and double literal braces ({{ }})"
        ) from None


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    fixed = re.sub(r",\s*([}\]])", r"\1", text)
    fixed = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", fixed)))
    try:
        return ast.literal_eval(fixed)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _objects(reply: str) -> Any:
    text = re.sub(r"```(?:json)?", "", reply)
    start = text.find("{")
    if start < 0:
        return None
    end = text.rfind("}")
    while end > start:
        obj = _loads(text[start : end + 1])
        if obj is not None:
            return obj
        end = text.rfind("}", start, end)
    return None


def _salvage(reply: str) -> dict[str, Any]:
    """Fields from a reply that is not valid JSON (e.g. cut off by the token limit)."""
    out: dict[str, Any] = {}
    m = re.search(r'"?verdict"?\s*:\s*"?(buggy|correct)', reply, re.IGNORECASE)
    if m:
        out["verdict"] = m.group(1).lower()
    m = re.search(r'"?confidence"?\s*:\s*([0-9.]+)', reply)
    if m:
        with contextlib.suppress(ValueError):
            out["confidence"] = float(m.group(1))
    comments = []
    for m in re.finditer(r'"?line"?\s*:\s*(\d+)(?:[^{}]*?"?text"?\s*:\s*"([^"]*)")?', reply):
        comments.append({"line": int(m.group(1)), "text": m.group(2) or "The model points at this line."})
    if comments:
        out["comments"] = comments
    return out


def parse_reply(reply: str, *, model: str = "") -> Draft:
    """A draft critique from a model's reply; :class:`ReplyError` when nothing usable is in it."""
    if not isinstance(reply, str) or not reply.strip():
        raise ReplyError("the model returned an empty reply")
    obj = _objects(reply)
    if not isinstance(obj, dict):
        obj = _salvage(reply)
        if not obj:
            raise ReplyError(f"the model reply is not JSON and holds no verdict or line: {reply[:200]!r}")
    bad = 0
    claims = []
    raw = obj.get("comments") or []
    if isinstance(obj.get("line"), (int, str)):  # the one-line form {"line": N, "reason": ...}
        raw = [{"line": obj["line"], "text": obj.get("reason") or obj.get("text")}, *raw]
    for c in raw if isinstance(raw, list) else []:
        if not isinstance(c, dict):
            bad += 1
            continue
        try:
            start = int(c.get("line") or c.get("start_line") or 0)
            end = int(c.get("end_line") or start)
        except (TypeError, ValueError):
            bad += 1
            continue
        if start < 1 or end < start:
            bad += 1
            continue
        sev = str(c.get("severity") or "major").lower()
        text = str(c.get("text") or c.get("comment") or c.get("reason") or "The model flags this line.")
        claims.append(Claim(start, text, end, severity=sev if sev in _SEVERITIES else "major", category="bug", score=0.6))
    verdict = str(obj.get("verdict") or "").lower() or None
    if verdict not in ("buggy", "correct"):
        verdict = "buggy" if claims else None
    try:
        conf = float(obj["confidence"]) if obj.get("confidence") is not None else None
    except (TypeError, ValueError):
        conf = None
    if conf is not None and not 0.0 <= conf <= 1.0:
        conf = conf / 100 if 1 < conf <= 100 else None
    if not claims and verdict is None:
        raise ReplyError(f"the model reply holds neither a verdict nor a line: {reply[:200]!r}")
    summary = str(obj.get("summary") or "")[:1000]
    return Draft(claims=claims, verdict=verdict, confidence=conf, summary=summary, model=model, hallucinated=bad)
