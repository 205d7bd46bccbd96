"""Which changed lines drive a reward model's score: occlusion per line, and a faithfulness check.

Occlusion asks the model itself: the reward of the program with one changed line deleted,
minus the reward of the whole program. A line whose deletion raises the reward is one the
model holds against the change (it "lowers the reward"); the lines with the largest rise are
what the ``rm`` assistant comments on. Faithfulness: deleting the top-attributed line should
move the reward more than deleting a random changed line; :func:`faithfulness` measures it, for
occlusion and for integrated gradients (:mod:`.gradients`) against occlusion's measured effects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from oversight_ext.diffs import DiffError, apply_diff, changed_lines

__all__ = ["LineAttribution", "added_lines", "faithfulness", "occlusion", "program_after", "reward_text"]

#: texts -> rewards (a trained model's scoring rule: :func:`.model.score_texts` or an implicit reward).
Score = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class LineAttribution:
    """``line`` (1-based, in the program after the change), its text, and ``delta`` = reward without it - reward with it."""

    line: int
    text: str
    delta: float


def reward_text(code: str, *, text_format: str, spec: str = "", diff: str = "") -> str:
    """What a reward model trained with ``text_format`` reads, for a program ``code`` (occluded or not).

    Diff formats read the diff; occluding a line of the program drops that ``+`` line from it.
    """
    body = diff if text_format.endswith("diff") else code
    return f"{spec.strip()}\n\n{body}" if text_format.startswith("spec+") else body


def _drop_added_line(diff: str, line_text: str) -> str:
    out, dropped = [], False
    for ln in diff.splitlines(keepends=True):
        if not dropped and ln.startswith("+") and not ln.startswith("+++") and ln[1:].rstrip("\n") == line_text:
            dropped = True
            continue
        out.append(ln)
    return "".join(out)


def program_after(before: str | None, after: str | None, diff: str, path: str = "") -> str:
    """The program after the change: ``after`` itself, or ``before`` with the diff applied."""
    if after is not None:
        return after
    if before is None:
        raise ValueError("a line attribution needs the program after the change: give after, or before and the diff")
    try:
        return apply_diff(before, diff, path or None)
    except DiffError as exc:
        raise ValueError(f"the diff does not apply to before ({exc}): give after") from None


def added_lines(after: str, diff: str) -> list[int]:
    """The non-blank lines of ``after`` the diff adds (1-based, ascending): what attributions rank."""
    added = sorted(set().union(*changed_lines(diff).values())) if diff else []
    lines = after.splitlines()
    return [n for n in added if 1 <= n <= len(lines) and lines[n - 1].strip()]


def occlusion(
    score: Score, *, before: str | None, after: str | None, diff: str, path: str = "", text_format: str = "after", spec: str = ""
) -> list[LineAttribution]:
    """Each line the diff adds, with the reward change its deletion causes, largest rise first."""
    after = program_after(before, after, diff, path)
    added = added_lines(after, diff)
    if not added:
        return []
    lines = after.splitlines(keepends=True)
    texts = [reward_text(after, text_format=text_format, spec=spec, diff=diff)]
    for n in added:
        occluded = "".join(lines[: n - 1] + lines[n:])
        texts.append(reward_text(occluded, text_format=text_format, spec=spec, diff=_drop_added_line(diff, lines[n - 1].rstrip("\n"))))
    r = np.asarray(score(texts), dtype=float)
    out = [LineAttribution(n, lines[n - 1].rstrip("\n"), float(r[k + 1] - r[0])) for k, n in enumerate(added)]
    return sorted(out, key=lambda a: -a.delta)


def faithfulness(
    attributions: Sequence[Sequence[LineAttribution]],
    *,
    measured: Sequence[Sequence[LineAttribution]] | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """How much more deleting the top-attributed line moves the reward than deleting a random changed line.

    Per item with at least two attributed lines, the line with the largest |delta| is the top
    one. Without ``measured`` the deltas themselves are the deletion effects (occlusion, where
    this holds by construction); with ``measured`` (occlusion attributions of the same items, in
    the same order) the ranking comes from ``attributions`` (e.g. integrated gradients) and the
    effects from ``measured``: |effect| of the top line against |effect| of a line drawn at
    random among the others. Returns both means, the share of items where the top line moved
    the reward more, and the number of items.
    """
    if measured is not None and len(measured) != len(attributions):
        raise ValueError(f"measured has {len(measured)} items and attributions {len(attributions)}: give one occlusion per item")
    rng = np.random.default_rng(seed)
    top, rand = [], []
    for k, attr in enumerate(attributions):
        effect = {a.line: abs(a.delta) for a in (measured[k] if measured is not None else attr)}
        ranked = [a for a in attr if a.line in effect]
        if len(ranked) < 2:
            continue
        best = max(range(len(ranked)), key=lambda i: abs(ranked[i].delta))
        others = [i for i in range(len(ranked)) if i != best]
        top.append(effect[ranked[best].line])
        rand.append(effect[ranked[int(rng.choice(others))].line])
    if not top:
        raise ValueError("no item has two or more changed lines to compare: give items whose diffs add several lines")
    t, r = np.array(top), np.array(rand)
    return {"top_mean": float(t.mean()), "random_mean": float(r.mean()), "top_wins": float((t > r).mean()), "n": len(t)}
