"""The ``ensemble`` backend: several critics as one, with a verbosity knob.

params:
  members  assistant names or spec paths (e.g. ["exec", "lint", "smollm2"])
  weights  optional {member name: weight}; a member's claim scores are multiplied by it (default 1)

Claims from different members within +-1 line of each other (same file and side) are merged
into one comment; the merged score is 1 - prod(1 - s_i), so claims several members agree on
rank higher. ``verbosity`` (0..1) then keeps claims scoring at least 1 - verbosity: low
verbosity says less and is more often right, high verbosity says more and catches more (the
CriticGPT comprehensiveness / hallucination trade-off). The verdict is "buggy" when a kept
claim remains, else the most confident member verdict.
"""

from __future__ import annotations

import hashlib
import math

from oversight_ext.records import Gold, ItemView

from ..protocol import BaseCritic, Claim, Draft
from ..spec import AssistantConfig

__all__ = ["EnsembleCritic", "merge_claims"]


def merge_claims(claims: list[tuple[str, Claim]]) -> list[Claim]:
    """Deduplicate claims on the same lines (+-1); texts are joined, scores combined."""
    groups: list[list[tuple[str, Claim]]] = []
    for member, c in sorted(claims, key=lambda mc: (mc[1].path or "", mc[1].side, mc[1].start_line)):
        for g in groups:
            head = g[0][1]
            if (head.path, head.side) == (c.path, c.side) and abs(head.start_line - c.start_line) <= 1:
                g.append((member, c))
                break
        else:
            groups.append([(member, c)])
    out = []
    for g in groups:
        best = max(g, key=lambda mc: mc[1].score)[1]
        per_member: dict[str, float] = {}
        for m, c in g:  # agreement counts across members, not repeats within one
            per_member[m] = max(per_member.get(m, 0.0), min(max(c.score, 0.0), 1.0))
        score = 1.0 - math.prod(1.0 - s for s in per_member.values())
        members = sorted({m for m, _ in g})
        texts = []
        for m, c in sorted(g, key=lambda mc: -mc[1].score):
            if c.text not in texts:
                texts.append(f"[{m}] {c.text}" if len(members) > 1 else c.text)
        order = ("info", "minor", "major", "critical")
        severity = max((c.severity for _, c in g), key=lambda s: order.index(s) if s in order else 2)
        out.append(
            Claim(
                best.start_line,
                "\n".join(texts),
                best.end_line,
                best.path,
                best.side,
                severity,
                best.category,
                any(c.planted for _, c in g),
                score,
            )
        )
    return out


class EnsembleCritic(BaseCritic):
    def __init__(self, config: AssistantConfig) -> None:
        from .. import load_assistant

        super().__init__(config.name, config.spec_hash, model="ensemble", verbosity=config.verbosity)
        names = config.params.get("members") or []
        if not isinstance(names, list) or not names:
            raise ValueError(f"ensemble assistant {config.name!r}: params.members = {names!r} is invalid: list member assistants")
        if config.name in names:
            raise ValueError(f"ensemble assistant {config.name!r} lists itself as a member; remove it")
        self.weights = {str(k): float(v) for k, v in (config.params.get("weights") or {}).items()}
        # members pass on the ensemble's with_tests flag; they never filter by their own verbosity
        extra = {"with_tests": True} if config.params.get("with_tests") else {}
        self.members = [load_assistant(n, verbosity=1.0, **extra) for n in names]
        for m in self.members:
            if not isinstance(m, BaseCritic):
                raise ValueError(f"ensemble member {m!r} is not built on BaseCritic; its claims cannot be merged")
        self.spec_hash = hashlib.sha256((config.spec_hash + "".join(m.spec_hash for m in self.members)).encode()).hexdigest()
        self.model = "+".join(m.name for m in self.members)
        # gold goes on only to the members that use it (the exec-tests upper bound, planted)
        self.uses_gold = any(isinstance(m, BaseCritic) and m.uses_gold for m in self.members)

    def review(self, item: ItemView) -> Draft:
        return self.review_gold(item, None)

    def review_gold(self, item: ItemView, gold: Gold | None) -> Draft:
        claims: list[tuple[str, Claim]] = []
        verdicts: list[tuple[float, str]] = []
        problems: list[str] = []
        for m in self.members:
            assert isinstance(m, BaseCritic)
            try:
                d = m.review_gold(item, gold) if m.uses_gold else m.review(item)
            except Exception as exc:  # one member failing must not silence the others
                problems.append(f"{m.name}: {type(exc).__name__}: {exc}"[:300])
                continue
            if d.status == "failed":
                problems.append(f"{m.name}: {d.reason}"[:300])
                continue
            w = self.weights.get(m.name, 1.0)
            for c in d.claims:
                c.score = min(c.score * w, 1.0)
                claims.append((m.name, c))
            if d.verdict in ("buggy", "correct") and not d.verdict_from_claims:  # claim-backed verdicts speak through their claims
                verdicts.append(((d.confidence or 0.5) * w, d.verdict))
        if problems and not claims and not verdicts:
            return Draft(status="failed", reason="every member failed: " + "; ".join(problems))
        merged = merge_claims(claims)
        fallback = max(verdicts)[1] if verdicts else None
        conf = max((c for c, v in verdicts if v == fallback), default=None)
        draft = Draft(
            claims=merged,
            verdict="buggy" if merged else fallback,
            confidence=conf,
            summary=f"{len(merged)} merged claim(s) from {', '.join(m.name for m in self.members)}",
            status="partial" if problems else "ok",
            reason="; ".join(problems) or None,
        )
        if merged and fallback != "buggy":
            draft.verdict_from_claims = True  # with every claim filtered out, say nothing rather than "buggy"
        return draft
