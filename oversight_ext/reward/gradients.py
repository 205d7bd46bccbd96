"""Integrated gradients per changed line: how much each added line's tokens push a reward model's score.

Occlusion (:mod:`.attribution`) asks the model one question per line (the reward without it);
integrated gradients (Sundararajan et al., 2017, through ``captum``) answer for every line at
once from one path of ``steps`` interpolations between the text's token embeddings and a
baseline whose tokens are all padding (special tokens kept). Each token's attribution is summed
over its embedding dimensions and then over the tokens whose characters fall on a changed line.

The result uses the sign convention of occlusion: ``delta`` > 0 means the line pulls the reward
down (deleting it would raise the reward if the model were linear along the path), so the two
methods' attributions rank lines the same way and :func:`.attribution.faithfulness` can compare
a gradient ranking against measured deletion effects.

It needs a model whose input embeddings are a layer (``get_input_embeddings()``) and a fast
tokenizer (character offsets); the classifier-head reward models ``train-rm`` writes have both.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from oversight_ext.reward.attribution import LineAttribution, added_lines, program_after, reward_text
from oversight_ext.reward.model import context_length

__all__ = ["integrated_gradients", "line_spans"]

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def line_spans(text: str, *, after: str, diff: str, text_format: str, spec: str = "") -> dict[int, list[tuple[int, int]]]:
    """Character ranges of ``text`` (what the model reads, :func:`.attribution.reward_text`) that
    hold each line of the program after the change: the program's own lines for program formats,
    the ``+`` lines of the diff for diff formats (a line number may have several ranges when a
    diff touches several files)."""
    start = len(f"{spec.strip()}\n\n") if text_format.startswith("spec+") else 0
    spans: dict[int, list[tuple[int, int]]] = {}
    if not text_format.endswith("diff"):
        pos = start
        for n, ln in enumerate(after.splitlines(keepends=True), 1):
            spans.setdefault(n, []).append((pos, pos + len(ln.rstrip("\n"))))
            pos += len(ln)
        return spans
    pos, new, old_left, new_left = start, 0, 0, 0
    for ln in diff.splitlines(keepends=True):
        body = ln.rstrip("\n")
        if old_left <= 0 and new_left <= 0:
            m = _HUNK.match(body)
            if m:
                old_left = int(m.group(1) or 1)
                new, new_left = int(m.group(2)), int(m.group(3) or 1)
        elif body.startswith("+"):
            spans.setdefault(new, []).append((pos + 1, pos + len(body)))
            new, new_left = new + 1, new_left - 1
        elif body.startswith("-"):
            old_left -= 1
        elif body.startswith(" ") or body == "":
            new, new_left, old_left = new + 1, new_left - 1, old_left - 1
        pos += len(ln)
    return spans


def integrated_gradients(
    model: Any,
    tok: Any,
    *,
    before: str | None,
    after: str | None,
    diff: str,
    path: str = "",
    text_format: str = "after",
    spec: str = "",
    steps: int = 32,
    max_steps: int = 1024,
    tolerance: float = 0.02,
    max_length: int | None = None,
) -> tuple[list[LineAttribution], float]:
    """Each line the diff adds with its integrated-gradients attribution (occlusion's sign: > 0
    lowers the reward), largest first, and the path's completeness error relative to the
    reward's change along it: |sum of token attributions - (reward(text) - reward(baseline))| /
    |reward(text) - reward(baseline)|.

    A trained model's score can turn sharply along the path (a saturated attention head), and
    then a fixed number of steps misses the turn and the attributions do not add up. So the
    path starts with ``steps`` and doubles them until the relative error is at most
    ``tolerance`` or ``max_steps`` is reached; the error returned says how far it got."""
    from captum.attr import LayerIntegratedGradients

    if steps < 2 or max_steps < steps:
        raise ValueError(f"steps = {steps}, max_steps = {max_steps}: give 2 <= steps <= max_steps (32 and 1024 are usual)")
    if not getattr(tok, "is_fast", False):
        raise ValueError("integrated gradients need a fast tokenizer (character offsets): use method = 'occlusion' for this model")
    after = program_after(before, after, diff, path)
    added = added_lines(after, diff)
    if not added:
        return [], 0.0
    text = reward_text(after, text_format=text_format, spec=spec, diff=diff)
    eos = tok.eos_token or ""
    enc = tok(text if text.endswith(eos) else text + eos, return_offsets_mapping=True, verbose=False)
    ids, offsets = list(enc["input_ids"]), list(enc["offset_mapping"])
    limit = min(max_length or context_length(model), context_length(model))
    if len(ids) > limit:  # the head and the final EOS, as the scorer reads an overlong text
        ids, offsets = ids[: limit - 1] + ids[-1:], offsets[: limit - 1] + offsets[-1:]
    special = set(tok.all_special_ids) - {tok.pad_token_id}
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    inp = torch.tensor([ids])
    base = torch.tensor([[t if t in special else pad for t in ids]])
    mask = torch.ones_like(inp)
    device = next(model.parameters()).device

    def forward(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return model(input_ids=input_ids, attention_mask=attention_mask).logits[:, 0]

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            change = float(forward(inp.to(device), mask.to(device)) - forward(base.to(device), mask.to(device)))
        lig = LayerIntegratedGradients(forward, model.get_input_embeddings())
        n = steps
        while True:
            attr, gap = lig.attribute(
                inputs=inp.to(device),
                baselines=base.to(device),
                additional_forward_args=(mask.to(device),),
                n_steps=n,
                internal_batch_size=min(n, 64),
                return_convergence_delta=True,
            )
            err = float(abs(gap).max()) / max(abs(change), 1e-6)
            if err <= tolerance or n * 2 > max_steps:
                break
            n *= 2
    finally:
        model.train(was_training)
    per_token = attr.sum(-1)[0].detach().float().cpu().tolist()
    spans = line_spans(text, after=after, diff=diff, text_format=text_format, spec=spec)
    lines = after.splitlines()
    out = []
    for n in added:
        total = 0.0
        for a, b in spans.get(n, []):
            total += sum(v for v, (s, e) in zip(per_token, offsets) if e > s and s < b and e > a)
        out.append(LineAttribution(n, lines[n - 1], -total))
    return sorted(out, key=lambda x: -x.delta), err
