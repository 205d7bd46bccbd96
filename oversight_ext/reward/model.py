"""Reward-model backbones: loading, encoding, scoring and atomic saving.

A reward model is any ``AutoModelForSequenceClassification`` with one output. Texts are
scored the way TRL's RewardTrainer scores them: the EOS token (``[SEP]`` for BERT-style
tokenisers, which have none) is appended to every text, and the model reads the last
non-pad token (decoders) or its own pooled head (encoders). Scoring any other way loses
most of the accuracy a model trained by either trainer has.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from oversight_ext.weights import minilm_path, smollm2_gguf

__all__ = [
    "MARKER",
    "backbone_source",
    "encode",
    "load_backbone",
    "load_reward_model",
    "save_reward_model",
    "score_texts",
]

#: Written last into a saved model folder; a folder without it is not a finished model.
MARKER = "oversight_reward.json"
TINY = ("tiny", "tiny-bert", "tiny-llama", "tiny-gpt2")


def backbone_source(name: str) -> dict[str, Any]:
    """Where a backbone name points: ``{"kind": "tiny"|"path"|"gguf", ...}``; raises if it cannot load."""
    if name in TINY:
        return {"kind": "tiny", "arch": "bert" if name in ("tiny", "tiny-bert") else name.split("-", 1)[1]}
    if name == "minilm":
        return {"kind": "path", "path": minilm_path()}
    if name == "smollm2":
        folder, fname = smollm2_gguf()
        return {"kind": "gguf", "path": folder, "gguf_file": fname}
    p = Path(name)
    if not p.exists():
        raise ValueError(f"backbone = {name!r} does not exist: give a model folder, or one of minilm, smollm2, {', '.join(TINY)}")
    if p.is_file() and p.suffix == ".gguf":
        return {"kind": "gguf", "path": str(p.parent), "gguf_file": p.name}
    if not (p / "config.json").is_file():
        raise ValueError(f"backbone = {name!r} has no config.json: give a folder written by save_pretrained (a transformers model)")
    return {"kind": "path", "path": str(p)}


def _tiny(arch: str, tokenizer: Any, seed: int) -> torch.nn.Module:
    from transformers import AutoModelForSequenceClassification, BertConfig, GPT2Config, LlamaConfig

    common = {"vocab_size": len(tokenizer), "num_labels": 1, "pad_token_id": tokenizer.pad_token_id}
    if arch == "bert":
        cfg: Any = BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128, **common)
    elif arch == "llama":
        cfg = LlamaConfig(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, intermediate_size=128,
            max_position_embeddings=2048, eos_token_id=tokenizer.eos_token_id, **common,
        )  # fmt: skip
    else:
        cfg = GPT2Config(n_embd=64, n_layer=2, n_head=2, n_positions=1024, eos_token_id=tokenizer.eos_token_id, **common)
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(cfg)


def _attn(choice: str, device: str) -> str:
    if choice != "auto":
        return choice
    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _prepare_tokenizer(tok: Any) -> Any:
    # TRL appends the EOS token and pads with the pad (else EOS) token; BERT tokenisers have
    # no EOS, so [SEP] stands in, and saving the tokeniser keeps that choice for TRL too.
    if tok.eos_token is None and tok.sep_token is not None:
        tok.eos_token = tok.sep_token
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def _check_head(name: str, path: str, extra: dict[str, Any]) -> None:
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING

    try:
        cfg = AutoConfig.from_pretrained(path, **extra)
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"backbone = {name!r}: its config cannot be read ({exc}); give a transformers model folder") from None
    if type(cfg) not in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING:
        raise ValueError(
            f"backbone = {name!r} is a {cfg.model_type!r} model, which has no sequence-classification head; give a model type "
            "AutoModelForSequenceClassification supports (BERT, GPT-2, Llama, Qwen, ...)"
        )


def load_backbone(
    name: str,
    *,
    seed: int = 0,
    attn_implementation: str = "auto",
    device: str = "cpu",
    quantization: str = "none",
    dtype: torch.dtype | None = None,
) -> tuple[Any, Any]:
    """(model, tokenizer) for a backbone name or folder, with a one-output classification head;
    ``quantization`` 4bit/8bit loads its weights quantised by bitsandbytes (QLoRA) onto ``device``, a CUDA GPU or the CPU.
    ``dtype`` is the weights' dtype (None: the dtype the checkpoint was saved in, fp32 for a tiny model)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .lora import backbone_quantization

    src = backbone_source(name)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    quantized = backbone_quantization(name, src, quantization, device)
    if src["kind"] == "tiny":
        tok = _prepare_tokenizer(AutoTokenizer.from_pretrained(minilm_path()))
        model: Any = _tiny(src["arch"], tok, seed)
        if dtype is not None:
            model = model.to(dtype)
    else:
        if src["kind"] == "gguf":
            # De-quantised once into a cached fp32 folder that reloads in under a second.
            from .lm import cached_gguf_folder

            src = {"kind": "path", "path": cached_gguf_folder(src["path"], src["gguf_file"])}
        extra: dict[str, Any] = {}
        _check_head(name, src["path"], extra)
        try:
            tok = _prepare_tokenizer(AutoTokenizer.from_pretrained(src["path"], **extra))
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"backbone = {name!r} has no usable tokenizer ({exc}); save one beside the model with tokenizer.save_pretrained"
            ) from None
        torch.manual_seed(seed)
        kw: dict[str, Any] = {"num_labels": 1, "ignore_mismatched_sizes": True, **extra, **quantized}
        if dtype is not None:
            kw["dtype"] = dtype
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    model = AutoModelForSequenceClassification.from_pretrained(
                        src["path"], attn_implementation=_attn(attn_implementation, device), **kw
                    )
                except (ValueError, ImportError) as exc:
                    if "attn" not in str(exc).lower() and "attention" not in str(exc).lower():
                        raise
                    model = AutoModelForSequenceClassification.from_pretrained(src["path"], **kw)
        except (ValueError, KeyError) as exc:
            raise ValueError(
                f"backbone = {name!r} cannot take a sequence-classification head ({exc}); give a model type that "
                "AutoModelForSequenceClassification supports (BERT, GPT-2, Llama, Qwen, ...)"
            ) from None
    model.config.pad_token_id = tok.pad_token_id
    if getattr(model.config, "num_labels", 1) != 1:
        raise ValueError(f"backbone = {name!r} has a {model.config.num_labels}-way head: a reward model needs num_labels=1")
    return model, tok


def context_length(model: Any) -> int:
    cfg = model.config
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        v = getattr(cfg, attr, None)
        if isinstance(v, int) and v > 0:
            return v
    return 1 << 30


def encode(tok: Any, texts: list[str], max_length: int, *, overlong: str = "truncate") -> tuple[list[list[int]], int]:
    """Token ids with EOS appended (as TRL does); returns (ids, number truncated).

    A sequence over ``max_length`` keeps its head and its final EOS token, since the reward
    is read there; with ``overlong="refuse"`` it stops with an error instead.
    """
    eos = tok.eos_token or ""
    batch = tok([t if t.endswith(eos) else t + eos for t in texts], verbose=False)["input_ids"]
    out, cut = [], 0
    for ids in batch:
        if len(ids) > max_length:
            if overlong == "refuse":
                raise ValueError(
                    f"a text is {len(ids)} tokens, longer than max_length={max_length}: raise max_length (up to the "
                    "backbone's context), shorten the inputs (text_format='diff'), or set overlong='truncate'"
                )
            ids = [*ids[: max_length - 1], ids[-1]]
            cut += 1
        out.append(ids)
    return out, cut


def score_in_length_order(
    model: Any,
    tok: Any,
    texts: list[str],
    score_batch: Any,
    *,
    batch_size: int,
    max_length: int | None = None,
    progress: bool = False,
    desc: str = "scoring",
) -> np.ndarray:
    """One float64 per text from ``score_batch(token_id_lists, device)``, called on length-sorted
    batches (EOS appended, cut to the model's context) with the model in eval mode; the model's
    training mode is restored afterwards. The shared loop of every per-text scorer."""
    if not texts:
        return np.zeros(0)
    limit = min(max_length or context_length(model), context_length(model))
    ids, _ = encode(tok, texts, limit)
    order = np.argsort([len(x) for x in ids], kind="stable")
    out = np.zeros(len(ids))
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            for start in tqdm(range(0, len(order), batch_size), disable=not progress, desc=desc):
                idx = order[start : start + batch_size]
                out[idx] = np.asarray(score_batch([ids[i] for i in idx], device), dtype=np.float64)
    finally:
        model.train(was_training)
    return out


def score_texts(
    model: Any, tok: Any, texts: list[str], *, batch_size: int = 32, max_length: int | None = None, progress: bool = False
) -> np.ndarray:
    """Rewards of ``texts`` (float64), scored in length-sorted batches, EOS appended."""
    pad = tok.pad_token_id

    def head_scores(batch: list[list[int]], device: Any) -> np.ndarray:
        width = max(len(x) for x in batch)
        inp = torch.full((len(batch), width), pad, dtype=torch.long)
        att = torch.zeros((len(batch), width), dtype=torch.long)
        for r, x in enumerate(batch):
            inp[r, : len(x)] = torch.tensor(x)
            att[r, : len(x)] = 1
        logits = model(input_ids=inp.to(device), attention_mask=att.to(device)).logits
        return logits[:, 0].float().cpu().numpy()

    return score_in_length_order(model, tok, texts, head_scores, batch_size=batch_size, max_length=max_length, progress=progress)


def save_reward_model(
    model: Any,
    tok: Any,
    out_dir: str | os.PathLike[str],
    meta: dict[str, Any],
    *,
    extra_files: dict[str, Path] | None = None,
    state_dict: dict[str, Any] | None = None,
    merged: bool = False,
    merged_model: Any = None,
) -> Path:
    """Save with ``save_pretrained`` into a temporary folder, then rename it into place.

    A crash leaves at most a hidden ``.<name>.tmp-*`` folder, never a complete-looking model.
    An existing reward-model folder is replaced; any other non-empty folder is refused.
    ``state_dict`` overrides the model's own (FSDP gathers the full one first). A LoRA model
    saves its adapters; with ``merged`` also ``merged/``, the adapters folded into the weights
    (``merged_model`` when given: a QLoRA run's adapters folded into full-precision weights).
    """
    out = Path(out_dir)
    check_out_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model = getattr(model, "module", model)
    try:
        model.save_pretrained(tmp, state_dict=state_dict)
    except Exception:
        # GGUF-loaded models refuse save_pretrained; their de-quantised weights save as plain safetensors.
        from safetensors.torch import save_file

        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        cfg = model.config
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config
        cfg.save_pretrained(tmp)
        full = state_dict if state_dict is not None else model.state_dict()
        state = {k: v.detach().contiguous().cpu() for k, v in full.items() if not k.startswith("lm_head")}
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    tok.save_pretrained(tmp)
    if merged:
        from .lora import merged_copy

        (merged_model if merged_model is not None else merged_copy(model)).save_pretrained(tmp / "merged")
        tok.save_pretrained(tmp / "merged")
    for name, src in (extra_files or {}).items():
        if Path(src).is_file():
            shutil.copyfile(src, tmp / name)
    (tmp / MARKER).write_text(json.dumps(meta, indent=2, default=str))
    make_readable(tmp)
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out


def make_readable(folder: Path) -> None:
    """Give every file in ``folder`` the mode a new file gets here (0666 less the umask): safetensors
    writes weights as 0600, which other users of a shared model folder then cannot read."""
    mask = os.umask(0)
    os.umask(mask)
    for f in folder.iterdir():
        if f.is_file():
            f.chmod(0o666 & ~mask)


def check_out_dir(out: Path) -> None:
    """Refuse to overwrite a folder that is neither empty nor a reward model saved here."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise ValueError(f"out = {str(out)!r} exists and is not a reward model folder: give a new or empty folder")


def load_reward_model(path: str | os.PathLike[str], *, device: str = "cpu") -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer, meta) of a folder :func:`save_reward_model` wrote; plain transformers loads it too."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    p = Path(path)
    if not (p / MARKER).is_file():
        raise ValueError(f"model folder {str(p)!r} holds no finished reward model ({MARKER} missing): train one with `oversight train-rm`")
    meta = json.loads((p / MARKER).read_text())
    if meta.get("config", {}).get("reward") in ("implicit", "likelihood"):
        raise ValueError(
            f"model folder {str(p)!r} holds a language-model (implicit or likelihood) reward: load it with reward.implicit.load_implicit_reward_model"
        )
    if (p / "adapter_config.json").is_file():
        p = p / "merged"  # the LoRA adapters folded into the weights
    tok = _prepare_tokenizer(AutoTokenizer.from_pretrained(p))
    model = AutoModelForSequenceClassification.from_pretrained(p).to(device)
    model.eval()
    return model, tok, meta
