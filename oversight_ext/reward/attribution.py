"""Which changed lines drive a reward model's score: occlusion per line, and a faithfulness check.

Occlusion asks the model itself: the reward of the program with one changed line deleted,
minus the reward of the whole program. A line whose deletion raises the reward is one the
model holds against the change (it "lowers the reward"); the lines with the largest rise are
what the ``rm`` assistant comments on. Faithfulness: deleting the top-attributed line should
move the reward more than deleting a random changed line; :func:`faithfulness` measures it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from oversight_ext.diffs import DiffError, apply_diff, changed_lines

__all__ = ["LineAttribution", "faithfulness", "occlusion", "reward_text"]

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


def occlusion(
    score: Score, *, before: str | None, after: str | None, diff: str, path: str = "", text_format: str = "after", spec: str = ""
) -> list[LineAttribution]:
    """Each line the diff adds, with the reward change its deletion causes, largest rise first."""
    if after is None:
        if before is None:
            raise ValueError("occlusion needs the program after the change: give after, or before and the diff")
        try:
            after = apply_diff(before, diff, path or None)
        except DiffError as exc:
            raise ValueError(f"the diff does not apply to before ({exc}): give after") from None
    added = sorted(set().union(*changed_lines(diff).values())) if diff else []
    lines = after.splitlines(keepends=True)
    added = [n for n in added if 1 <= n <= len(lines) and lines[n - 1].strip()]
    if not added:
        return []
    texts = [reward_text(after, text_format=text_format, spec=spec, diff=diff)]
    for n in added:
        occluded = "".join(lines[: n - 1] + lines[n:])
        texts.append(reward_text(occluded, text_format=text_format, spec=spec, diff=_drop_added_line(diff, lines[n - 1].rstrip("\n"))))
    r = np.asarray(score(texts), dtype=float)
    out = [LineAttribution(n, lines[n - 1].rstrip("\n"), float(r[k + 1] - r[0])) for k, n in enumerate(added)]
    return sorted(out, key=lambda a: -a.delta)


def faithfulness(attributions: Sequence[Sequence[LineAttribution]], *, seed: int = 0) -> dict[str, float]:
    """How much more the top-attributed line moves the reward than a random changed line does.

    For occlusion attributions this holds by construction (the delta is the deletion effect);
    the check is informative for attributions computed another way (e.g. gradients) whose
    ``delta`` fields were then replaced by measured deletion effects.

    Per item with at least two attributed lines: |delta| of the line with the largest |delta|
    against |delta| of a line drawn at random among the others. Returns the mean of each, the
    share of items where the top line moved the reward more, and the number of items.
    """
    rng = np.random.default_rng(seed)
    top, rand = [], []
    for attr in attributions:
        if len(attr) < 2:
            continue
        mags = np.array([abs(a.delta) for a in attr])
        k = int(np.argmax(mags))
        others = [i for i in range(len(attr)) if i != k]
        top.append(mags[k])
        rand.append(mags[int(rng.choice(others))])
    if not top:
        raise ValueError("no item has two or more changed lines to compare: give items whose diffs add several lines")
    t, r = np.array(top), np.array(rand)
    return {"top_mean": float(t.mean()), "random_mean": float(r.mean()), "top_wins": float((t > r).mean()), "n": len(t)}
