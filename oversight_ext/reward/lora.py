"""LoRA adapters through ``peft``: which layers adapt, and the merged export.

Large code models (0.5-7B) do not fit full fine-tuning on one GPU, and a reward model needs
only a low-rank change. ``lora_r`` > 0 wraps the backbone: LoRA on every linear layer (or the
``lora_target_modules`` given), with a classification head, if any, trained in full (peft's
``modules_to_save``). The saved folder is a plain peft adapter (``adapter_config.json``,
``adapter_model.safetensors``) that ``PeftModel.from_pretrained`` loads onto the base model,
plus ``merged/``: the adapters folded into the weights, which plain transformers loads alone.

QLoRA (``quantization`` = ``4bit`` or ``8bit``): the frozen backbone loads quantised by
bitsandbytes, which needs CUDA, and only the adapters (and head) train in full precision. Its
merged export folds the adapters into a fresh full-precision copy of the backbone, not into the
quantised weights, so ``merged/`` loads anywhere, the CPU included.
"""

from __future__ import annotations

from typing import Any

__all__ = ["QuantizationError", "is_lora", "merged_copy", "merged_onto", "prepare_quantized", "quantization_kwargs", "with_lora"]


class QuantizationError(ValueError):
    """``quantization`` cannot be honoured here (no CUDA, no bitsandbytes, or a backbone built from a config)."""


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


def quantization_kwargs(quantization: str, device: str) -> dict[str, Any]:
    """``from_pretrained`` keyword arguments that load a backbone quantised for QLoRA; ``{}`` for ``'none'``."""
    if quantization == "none":
        return {}
    if not device.startswith("cuda"):
        raise QuantizationError(
            f"quantization = {quantization!r} needs a CUDA GPU (bitsandbytes' quantised kernels), and this run is on {device!r}: "
            "set quantization = 'none' (plain LoRA through lora_r trains on the CPU), or run on a machine with a GPU"
        )
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise QuantizationError(
            f"quantization = {quantization!r} needs the package bitsandbytes: pip install 'bitsandbytes>=0.43' "
            "(or set quantization = 'none')"
        )
    import torch
    from transformers import BitsAndBytesConfig

    if quantization == "4bit":
        compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        bnb = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute
        )
    else:
        bnb = BitsAndBytesConfig(load_in_8bit=True)
    return {"quantization_config": bnb, "device_map": {"": device}}


def prepare_quantized(model: Any) -> Any:
    """peft's preparation of a quantised backbone for training (norms in fp32, input gradients on)."""
    from peft import prepare_model_for_kbit_training

    # Gradient checkpointing stays off: reward-model batches here are small and it costs a second forward pass.
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)


def merged_onto(base: Any, trained: Any) -> Any:
    """The adapters (and saved head) of the peft model ``trained`` folded into ``base``, a full-precision
    copy of the backbone ``trained`` started from: the merged export of a QLoRA run."""
    import copy

    from peft import get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict

    fresh = get_peft_model(base, copy.deepcopy(trained.peft_config["default"]))
    state = {k: v.detach().float().cpu() for k, v in get_peft_model_state_dict(trained).items()}
    set_peft_model_state_dict(fresh, state)
    return fresh.merge_and_unload()
