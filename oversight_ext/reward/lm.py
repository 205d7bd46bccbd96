"""Causal language models as reward models: sequence log-likelihoods, the implicit (DPO) reward, loading.

A causal LM already rates code: a buggy change is often less likely under it than the fix.
Two rules read that:

* zero-shot likelihood ratio: score a text by its log-likelihood under the untrained LM, so a
  pair is ranked by log p(chosen) - log p(rejected) (the baseline every comparison carries);
* implicit reward (Rafailov et al. 2023): after preference training of the LM itself,
  r(x) = beta * (log p_tuned(x) - log p_ref(x)), the reference being the frozen starting model,
  so training starts from what the LM knows and moves only where the preferences say.

Log-likelihoods are summed over the text's tokens after the first (EOS appended, as the
classifier head reads it), in length-sorted batches.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .batching import Batch
from .model import _prepare_tokenizer, backbone_source, score_in_length_order

__all__ = [
    "LogLikelihood", "cached_gguf_folder", "frozen_states", "implicit_rewards", "likelihood_pairwise_accuracy", "load_causal_lm",
    "only_layers", "pair_frozen_states", "pair_logprobs", "sequence_logprobs", "shared_prefix", "trained_from",
]  # fmt: skip


def cache_dir() -> Path:
    """Where converted weights are kept: ``$OVERSIGHT_CACHE`` or ``~/.cache/oversight_ext``."""
    return Path(os.environ.get("OVERSIGHT_CACHE") or Path.home() / ".cache" / "oversight_ext")


def cached_gguf_folder(folder: str, gguf_file: str) -> str:
    """A plain fp32 transformers folder made once from a GGUF file (de-quantising takes 20-30 s;
    the folder reloads in well under a second with the same logits)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = cache_dir() / f"{Path(gguf_file).stem}-fp32"
    if (out / "config.json").is_file() and (out / "model.safetensors").is_file():
        return str(out)
    from safetensors.torch import save_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file)
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = model.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    cfg.save_pretrained(tmp)
    tied = bool(getattr(cfg, "tie_word_embeddings", False))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if not (tied and k.startswith("lm_head"))}
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    tok.save_pretrained(tmp)
    if out.exists():  # another process finished first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.rename(out)
    return str(out)


def load_causal_lm(
    name: str,
    *,
    seed: int = 0,
    device: str = "cpu",
    attn_implementation: str = "sdpa",
    quantization: str = "none",
    dtype: torch.dtype | None = None,
) -> tuple[Any, Any]:
    """(causal LM, tokenizer) for a backbone name: ``tiny-llama`` / ``tiny-gpt2`` (built from a config),
    ``smollm2`` (its GGUF converted once to a cached fp32 folder), a ``.gguf`` file, or any
    Llama/Qwen-style model folder. The weights load in ``dtype``; by default bf16 on a CUDA device and
    fp32 on the CPU (for scoring: a trainer names fp32 for weights it updates). With ``quantization``
    4bit/8bit they load quantised by bitsandbytes on either (QLoRA)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, LlamaConfig

    from .lora import backbone_quantization

    src = backbone_source(name)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    quantized = backbone_quantization(name, src, quantization, device)
    if src["kind"] == "tiny":
        if src["arch"] == "bert":
            raise ValueError(f"backbone = {name!r} is an encoder with no language-model head: use tiny-llama or tiny-gpt2")
        from oversight_ext.weights import minilm_path

        tok = _prepare_tokenizer(AutoTokenizer.from_pretrained(minilm_path()))
        common = {"vocab_size": len(tok), "pad_token_id": tok.pad_token_id, "eos_token_id": tok.eos_token_id}
        if src["arch"] == "llama":
            cfg: Any = LlamaConfig(
                hidden_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, intermediate_size=128,
                max_position_embeddings=2048, **common,
            )  # fmt: skip
        else:
            cfg = GPT2Config(n_embd=64, n_layer=2, n_head=2, n_positions=1024, **common)
        torch.manual_seed(seed)
        return AutoModelForCausalLM.from_config(cfg).to(device=device, dtype=dtype or torch.float32), tok
    path = cached_gguf_folder(src["path"], src["gguf_file"]) if src["kind"] == "gguf" else src["path"]
    tok = _prepare_tokenizer(AutoTokenizer.from_pretrained(path))
    if dtype is None:
        dtype = torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=attn_implementation, **quantized)
    except (ValueError, KeyError) as exc:
        raise ValueError(
            f"backbone = {name!r} cannot load as a causal language model ({exc}): give a decoder (Llama, Qwen, GPT-2, ...) folder"
        ) from None
    model.config.pad_token_id = tok.pad_token_id
    return (model if quantized else model.to(device)), tok


#: Decoders whose logits are a plain linear map of the last hidden state (no soft-capping or
#: logit scale), so the head may be applied to the scored positions only.
PLAIN_HEAD = ("llama", "mistral", "qwen2", "qwen3", "gpt2", "starcoder2")


def _body_and_head(model: Any) -> tuple[Any, Any] | None:
    """(decoder body, output head) of a causal LM, through a peft wrapper; None where the logits are not plain."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(base.config, "model_type", "") not in PLAIN_HEAD:
        return None
    body, head = getattr(base, base.base_model_prefix, None), base.get_output_embeddings()
    return None if body is None or head is None else (body, head)


def trained_from(model: Any) -> int | None:
    """The lowest decoder layer holding a trainable parameter, when every trainable parameter sits in the decoder
    layers of a Llama-style body (``layers`` and a final ``norm``) and the layers below are all frozen; else None."""
    parts = _body_and_head(model)
    if parts is None or not isinstance(getattr(parts[0], "layers", None), torch.nn.ModuleList) or not hasattr(parts[0], "norm"):
        return None
    found = []
    for name, p in model.named_parameters():
        if p.requires_grad:
            m = re.search(r"\blayers\.(\d+)\.", name)
            if m is None:
                return None
            found.append(int(m.group(1)))
    return min(found) if found and min(found) > 0 else None


@contextlib.contextmanager
def only_layers(body: Any, layers: slice, *, final_norm: bool = True) -> Iterator[None]:
    """Run a Llama-style body through ``layers`` of its decoder layers only (and without its final norm)."""
    kept, norm = body.layers, body.norm
    body.layers = torch.nn.ModuleList(list(kept)[layers])
    if not final_norm:
        body.norm = torch.nn.Identity()
    try:
        yield
    finally:
        body.layers, body.norm = kept, norm


def frozen_states(model: Any, b: Batch, upto: int) -> torch.Tensor:
    """Hidden states of shared-prefix rows entering decoder layer ``upto`` (the layers below it frozen), without autograd."""
    parts = _body_and_head(model)
    assert parts is not None and b.input_ids is not None
    with torch.no_grad(), only_layers(parts[0], slice(0, upto), final_norm=False):
        out = parts[0](input_ids=b.input_ids, attention_mask=b.attention_mask, position_ids=b.position_ids, use_cache=False)
    return out.last_hidden_state  # type: ignore[no-any-return]


class LogLikelihood(torch.nn.Module):
    """Summed log-probability of each sequence of a :class:`~oversight_ext.reward.batching.Batch`: the
    tokens after the first, or from ``Batch.starts`` on.

    The vocabulary projection and its log-softmax (a sixth of SmolLM2-135M's multiply-adds and
    most of its memory traffic) are computed at the scored positions only.
    """

    def __init__(self, model: Any, first_layer: int = 0) -> None:
        super().__init__()
        self.model = model
        #: With ``Batch.embeds``: the decoder layer those hidden states enter (see :func:`frozen_states`).
        self.first_layer = first_layer

    def forward(self, b: Batch) -> torch.Tensor:
        if b.parts is not None:
            return torch.cat([self(p) for p in b.parts])[b.order]
        if b.ends is not None:
            raise ValueError(
                "the implicit reward reads padded batches: set batching = 'bucketed' (packed rows are for the classifier head)"
            )
        ids, mask = b.input_ids, b.attention_mask
        assert ids is not None and mask is not None  # a padded batch has both
        if b.scored is not None:
            return self._shared(b, ids, mask)
        scored = mask[:, 1:].bool()
        if b.starts is not None:
            scored &= torch.arange(1, ids.shape[1], device=ids.device)[None, :] >= b.starts[:, None]
        rows, cols = scored.nonzero(as_tuple=True)  # position cols predicts token cols + 1
        parts = _body_and_head(self.model)
        if parts is None:
            logits = self.model(input_ids=ids, attention_mask=mask, use_cache=False).logits[rows, cols].float()
        else:
            hidden = parts[0](input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
            logits = parts[1](hidden[rows, cols]).float()
        logp = logits.gather(1, ids[rows, cols + 1].unsqueeze(1)).squeeze(1) - torch.logsumexp(logits, dim=-1)
        return torch.zeros(ids.shape[0], dtype=logp.dtype, device=ids.device).index_add(0, rows, logp)

    def _shared(self, b: Batch, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Shared-prefix rows (:func:`~oversight_ext.reward.batching.collate_shared`): chosen texts' sums, then rejected ones'."""
        assert b.scored is not None and b.position_ids is not None
        rows, cols, toks, outs = b.scored
        width = ids.shape[1]
        # The prefix's last output predicts the first token of both rests: each position's scores are computed once.
        where, inverse = torch.unique(rows * width + cols, return_inverse=True)
        parts = _body_and_head(self.model)
        if b.embeds is not None:
            if parts is None or not self.first_layer:
                raise ValueError("Batch.embeds needs a Llama-style decoder and the layer they enter (LogLikelihood.first_layer)")
            with only_layers(parts[0], slice(self.first_layer, None)):
                hidden = parts[0](
                    inputs_embeds=b.embeds, attention_mask=mask, position_ids=b.position_ids, use_cache=False
                ).last_hidden_state
            logits = parts[1](hidden[where // width, where % width]).float()
        elif parts is None:
            out = self.model(input_ids=ids, attention_mask=mask, position_ids=b.position_ids, use_cache=False).logits
            logits = out[where // width, where % width].float()
        else:
            hidden = parts[0](input_ids=ids, attention_mask=mask, position_ids=b.position_ids, use_cache=False).last_hidden_state
            logits = parts[1](hidden[where // width, where % width]).float()
        logp = logits[inverse, toks] - torch.logsumexp(logits, dim=-1)[inverse]
        return torch.zeros(2 * ids.shape[0], dtype=logp.dtype, device=ids.device).index_add(0, outs, logp)


def shared_prefix(a: list[int], b: list[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = min(len(a), len(b))
    diff = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(diff[0]) if diff.size else n


def pair_logprobs(
    model: Any,
    tok: Any,
    chosen: list[str],
    rejected: list[str],
    *,
    batch_size: int = 16,
    max_length: int | None = None,
    share_prefix: bool = True,
    frozen: tuple[int, list[torch.Tensor]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(log p(chosen), log p(rejected)) over the tokens after each pair's shared prefix, float64.

    The shared prefix has the same log-probability in both texts (same tokens, same context), so
    lc - lr equals the full log-likelihood difference while the head reads only what differs.
    Pairs go in batches of similar length (both texts of a pair in one forward pass), without
    autograd, the model in eval mode. ``share_prefix``: each pair in one row, its shared prefix run
    once (:func:`~oversight_ext.reward.batching.collate_shared`); off, the two texts in separate rows.
    ``frozen``: (layer, per-pair states from :func:`pair_frozen_states` for these pairs): the layers below
    ``layer`` are not run again (they must be the same weights, e.g. frozen under LoRA on the layers above).
    """
    from .batching import collate, collate_shared
    from .model import context_length, encode

    if len(chosen) != len(rejected):
        raise ValueError(f"chosen and rejected have {len(chosen)} and {len(rejected)} texts: give one rejected text per chosen one")
    if not chosen:
        return np.zeros(0), np.zeros(0)
    limit = min(max_length or context_length(model), context_length(model))
    ci, _ = encode(tok, chosen, limit)
    ri, _ = encode(tok, rejected, limit)
    starts = np.array([shared_prefix(c, r) for c, r in zip(ci, ri, strict=True)])
    order = np.argsort([max(len(c), len(r)) for c, r in zip(ci, ri, strict=True)], kind="stable")
    lc, lr = np.zeros(len(ci)), np.zeros(len(ci))
    if frozen is not None and (not share_prefix or len(frozen[1]) != len(ci)):
        raise ValueError(f"frozen states: give one per pair ({len(ci)} pairs, {len(frozen[1])} states) with share_prefix on")
    scorer, was, device = LogLikelihood(model, first_layer=frozen[0] if frozen else 0), model.training, next(model.parameters()).device
    model.eval()
    try:
        with torch.inference_mode():
            for at in range(0, len(order), max(batch_size // 2, 1)):
                idx = order[at : at + max(batch_size // 2, 1)]
                c, r = [ci[i] for i in idx], [ri[i] for i in idx]
                if share_prefix:
                    embeds = None if frozen is None else [frozen[1][i] for i in idx]
                    b = collate_shared(c, r, starts[idx], tok.pad_token_id, embeds=embeds)
                else:
                    b = collate(c + r, tok.pad_token_id, packed=False, starts=np.tile(starts[idx], 2))
                out = scorer(b.to(device)).double().cpu().numpy()
                lc[idx], lr[idx] = out[: len(idx)], out[len(idx) :]
    finally:
        model.train(was)
    return lc, lr


def pair_frozen_states(
    model: Any, tok: Any, chosen: list[str], rejected: list[str], upto: int, *, batch_size: int = 16, max_length: int | None = None
) -> list[torch.Tensor]:
    """Per pair, the hidden states of its shared-prefix row entering decoder layer ``upto`` (for ``pair_logprobs(frozen=...)``)."""
    from .batching import collate_shared
    from .model import context_length, encode

    limit = min(max_length or context_length(model), context_length(model))
    ci, _ = encode(tok, chosen, limit)
    ri, _ = encode(tok, rejected, limit)
    starts = np.array([shared_prefix(c, r) for c, r in zip(ci, ri, strict=True)])
    lens = np.array([len(c) + len(r) for c, r in zip(ci, ri, strict=True)]) - np.minimum(
        starts, [min(len(c), len(r)) for c, r in zip(ci, ri, strict=True)]
    )
    order, out = np.argsort(lens, kind="stable"), [torch.empty(0)] * len(ci)
    was, device = model.training, next(model.parameters()).device
    model.eval()
    try:
        for at in range(0, len(order), max(batch_size // 2, 1)):
            idx = order[at : at + max(batch_size // 2, 1)]
            b = collate_shared([ci[i] for i in idx], [ri[i] for i in idx], starts[idx], tok.pad_token_id)
            states = frozen_states(model, b.to(device), upto)
            for k, i in enumerate(idx):
                out[i] = states[k, : lens[i]].clone()
    finally:
        model.train(was)
    return out


def sequence_logprobs(
    model: Any, tok: Any, texts: list[str], *, batch_size: int = 16, max_length: int | None = None, progress: bool = False
) -> np.ndarray:
    """log p(text) under a causal LM for each text (EOS appended), float64."""
    from .batching import collate

    scorer = LogLikelihood(model)

    def logprobs(batch: list[list[int]], device: Any) -> np.ndarray:
        return scorer(collate(batch, tok.pad_token_id, packed=False).to(device)).double().cpu().numpy()

    return score_in_length_order(
        model, tok, texts, logprobs, batch_size=batch_size, max_length=max_length, progress=progress, desc="log-likelihood"
    )


def implicit_rewards(
    model: Any, reference: np.ndarray | Any, tok: Any, texts: list[str], *, beta: float, batch_size: int = 16, max_length: int | None = None
) -> np.ndarray:
    """beta * (log p_model(x) - log p_ref(x)); ``reference`` is the frozen model or its log-likelihoods of ``texts``."""
    ref = (
        reference
        if isinstance(reference, np.ndarray)
        else sequence_logprobs(reference, tok, texts, batch_size=batch_size, max_length=max_length)
    )
    return beta * (sequence_logprobs(model, tok, texts, batch_size=batch_size, max_length=max_length) - ref)


def likelihood_pairwise_accuracy(
    model: Any, tok: Any, pairs: Any, *, max_length: int | None = None, batch_size: int = 16
) -> dict[str, Any]:
    """The zero-shot baseline: share of untied pairs whose chosen text the (untrained) LM finds
    more likely, log p(chosen) > log p(rejected), with a 95 % Wilson interval and the per-pair margins."""
    import polars as pl

    from .evaluate import _wilson

    hard = pairs.filter(~pl.col("tie")) if "tie" in pairs.columns else pairs
    if hard.height == 0:
        raise ValueError("the evaluation pairs are empty (or all ties): give pairs whose labels differ")
    lc, lr = pair_logprobs(model, tok, hard["chosen"].to_list(), hard["rejected"].to_list(), max_length=max_length, batch_size=batch_size)
    k = int((lc > lr).sum())
    lo, hi = _wilson(k, hard.height)
    return {"accuracy": k / hard.height, "n": hard.height, "ci_low": lo, "ci_high": hi, "margin": lc - lr}
