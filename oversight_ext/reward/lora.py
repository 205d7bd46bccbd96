"""LoRA adapters through ``peft``: which layers adapt, and the merged export.

Large code models (0.5-7B) do not fit full fine-tuning on one GPU, and a reward model needs
only a low-rank change. ``lora_r`` > 0 wraps the backbone: LoRA on every linear layer (or the
``lora_target_modules`` given), with a classification head, if any, trained in full (peft's
``modules_to_save``). The saved folder is a plain peft adapter (``adapter_config.json``,
``adapter_model.safetensors``) that ``PeftModel.from_pretrained`` loads onto the base model,
plus ``merged/``: the adapters folded into the weights, which plain transformers loads alone.

QLoRA (``quantization`` = ``4bit`` or ``8bit``): the frozen backbone loads quantised by
bitsandbytes and only the adapters (and head) train in full precision. bitsandbytes runs on a
CUDA GPU and, from version 0.46.1 (the first that transformers accepts and that quantises on the
CPU), on the CPU, with fp32 compute there. Its merged export folds the adapters into a fresh
full-precision copy of the backbone, not into the quantised weights, so ``merged/`` loads
anywhere without bitsandbytes.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import itertools
from typing import Any

__all__ = [
    "MIN_BITSANDBYTES", "QuantizationError", "backbone_quantization", "bitsandbytes_version", "hold_cpu_repacking", "is_lora", "merged_copy", "merged_onto", "prepare_quantized",
    "quantization_kwargs", "release_cpu_repacking", "with_lora",
]  # fmt: skip


class QuantizationError(ValueError):
    """``quantization`` cannot be honoured here (no bitsandbytes or too old a one, a device bitsandbytes does not
    serve, or a backbone built from a config)."""


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


#: The oldest bitsandbytes that quantises on the CPU as well as on CUDA and that transformers 5 accepts
#: (0.45.5 has no CPU kernels: "Device type not supported for FP4 quantization: cpu"; 0.46.0 quantises on
#: the CPU, but transformers asks for 0.46.1).
MIN_BITSANDBYTES = (0, 46, 1)


def _release(version: str) -> tuple[int, ...]:
    """The leading numeric release of a version string: '0.50.2' -> (0, 50, 2), '0.46.1.dev0' -> (0, 46, 1)."""
    parts = []
    for piece in version.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def bitsandbytes_version() -> str | None:
    """The installed bitsandbytes' version, None when it is not installed."""
    if importlib.util.find_spec("bitsandbytes") is None:
        return None
    try:
        return importlib.metadata.version("bitsandbytes")
    except importlib.metadata.PackageNotFoundError:  # importable without metadata (a source checkout): its own word
        import bitsandbytes

        return str(getattr(bitsandbytes, "__version__", "0"))


def quantization_kwargs(quantization: str, device: str) -> dict[str, Any]:
    """``from_pretrained`` keyword arguments that load a backbone quantised for QLoRA on ``device`` (a CUDA
    GPU or the CPU); ``{}`` for ``'none'``. Raises :class:`QuantizationError` when bitsandbytes is missing or
    older than :data:`MIN_BITSANDBYTES`, or for another device."""
    if quantization == "none":
        return {}
    minimum = ".".join(map(str, MIN_BITSANDBYTES))
    fix = f"pip install 'bitsandbytes>={minimum}' (or set quantization = 'none'; plain LoRA through lora_r needs no bitsandbytes)"
    installed = bitsandbytes_version()
    if installed is None:
        raise QuantizationError(f"quantization = {quantization!r} needs the package bitsandbytes, which is not installed: {fix}")
    if _release(installed) < MIN_BITSANDBYTES:
        raise QuantizationError(
            f"quantization = {quantization!r} needs bitsandbytes >= {minimum} (the oldest transformers accepts; 0.45 and "
            f"older do not quantise on the CPU), and {installed} is installed: {fix}"
        )
    if not (device == "cpu" or device.startswith("cuda")):
        raise QuantizationError(
            f"quantization = {quantization!r} runs on a CUDA GPU or the CPU, and this run is on {device!r}: "
            "run on one of those, or set quantization = 'none'"
        )
    import torch
    from transformers import BitsAndBytesConfig

    if quantization == "4bit":
        if device == "cpu":
            compute = torch.float32  # the CPU trains in fp32 elsewhere in this package too
        else:
            compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        bnb = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute
        )
    else:
        bnb = BitsAndBytesConfig(load_in_8bit=True)
    return {"quantization_config": bnb, "device_map": {"": device}}


def backbone_quantization(name: str, source: dict[str, Any], quantization: str, device: str) -> dict[str, Any]:
    """:func:`quantization_kwargs` for loading the backbone ``name`` (whose :func:`~.model.backbone_source` is
    ``source``): refused for a backbone built from a config, which has no pretrained weights to quantise."""
    quantized = quantization_kwargs(quantization, device)
    if quantized and source["kind"] == "tiny":
        raise QuantizationError(
            f"quantization = {quantization!r} loads pretrained weights quantised, and backbone = {name!r} is built from a config: "
            "save it with save_pretrained and give its folder, or set quantization = 'none'"
        )
    return quantized


def prepare_quantized(model: Any) -> Any:
    """peft's preparation of a quantised backbone for training (norms in fp32, input gradients on), with
    bitsandbytes' CPU repacking held off (:func:`hold_cpu_repacking`) until :func:`release_cpu_repacking`."""
    from peft import prepare_model_for_kbit_training

    hold_cpu_repacking(model)
    # Gradient checkpointing stays off: reward-model batches here are small and it costs a second forward pass.
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)


#: bitsandbytes' flag on a 4-bit layer: whether an eval-mode forward may repack its weights for the AVX512-BF16 kernel.
_REPACK = "support_avx512bf16_for_cpu"
_HELD = "_oversight_repack_held"


def hold_cpu_repacking(model: Any) -> None:
    """Keep bitsandbytes from repacking 4-bit weights on the CPU while a run trains and evaluates.

    On a CPU with AVX512-BF16, bitsandbytes (0.50.2) repacks a ``Linear4bit`` layer's weights for its
    fast kernel at the first eval-mode forward without gradients, and keeps them so: the packed kernel
    has no backward, so every later training step loses the gradient through the frozen layer (LoRA
    adapters below it then learn from the residual stream alone), and the repacking rounds the block
    scales to bf16, so the quantised weights no longer equal the loaded ones. The implicit reward runs
    such a forward before training (the reference log-likelihoods). Held off, every forward dequantises
    the weights as training does.
    """
    for module in model.modules():
        if hasattr(module, _REPACK) and not hasattr(module, _HELD):
            setattr(module, _HELD, getattr(module, _REPACK))
            setattr(module, _REPACK, False)


def release_cpu_repacking(model: Any) -> None:
    """Give bitsandbytes back its own choice (after training), so the model scores as a plain reload does."""
    for module in model.modules():
        if hasattr(module, _HELD):
            setattr(module, _REPACK, getattr(module, _HELD))
            delattr(module, _HELD)


def merged_onto(base: Any, trained: Any) -> Any:
    """The adapters (and saved head) of the peft model ``trained`` folded into ``base``, a full-precision
    copy of the backbone ``trained`` started from: the merged export of a QLoRA run."""
    import copy

    from peft import get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict

    fresh = get_peft_model(base, copy.deepcopy(trained.peft_config["default"]))
    state = {k: v.detach().float().cpu() for k, v in get_peft_model_state_dict(trained).items()}
    set_peft_model_state_dict(fresh, state)
    return fresh.merge_and_unload()
