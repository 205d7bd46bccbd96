"""LoRA adapters through ``peft``: which layers adapt, and the merged export.

Large code models (0.5-7B) do not fit full fine-tuning on one GPU, and a reward model needs
only a low-rank change. ``lora_r`` > 0 wraps the backbone: LoRA on every linear layer (or the
``lora_target_modules`` given), with a classification head, if any, trained in full (peft's
``modules_to_save``). The saved folder is a plain peft adapter (``adapter_config.json``,
``adapter_model.safetensors``) that ``PeftModel.from_pretrained`` loads onto the base model,
plus ``merged/``: the adapters folded into the weights, which plain transformers loads alone.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_lora", "merged_copy", "with_lora"]


def is_lora(model: Any) -> bool:
    return hasattr(model, "peft_config")


def with_lora(model: Any, cfg: Any) -> Any:
    """``model`` with LoRA adapters of rank ``cfg.lora_r`` (a ``peft.PeftModel``)."""
    try:
        from peft import LoraConfig, TaskType, get_peft_model
    except ImportError:
        raise ValueError("lora_r > 0 needs the package peft: pip install peft (or set lora_r = 0)") from None
    causal = type(model).__name__.endswith(("ForCausalLM", "LMHeadModel"))
    task = TaskType.CAUSAL_LM if causal else TaskType.SEQ_CLS
    targets: Any = list(cfg.lora_target_modules) or "all-linear"
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout, target_modules=targets, task_type=task)
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise ValueError(
            f"lora_target_modules = {cfg.lora_target_modules!r} does not fit this backbone ({exc}): name its linear layers"
        ) from None


def merged_copy(model: Any) -> Any:
    """A plain transformers model with the adapters folded in (the trained model itself is left as it is)."""
    import copy

    return copy.deepcopy(model).merge_and_unload()
