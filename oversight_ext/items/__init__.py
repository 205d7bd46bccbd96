"""Items to judge: import (JSONL, diff files), generation by mutation, the shipped demo set."""

from __future__ import annotations

from typing import Any

from .io import MAX_DIFF_BYTES, ItemImportError, check_item, load_diff, load_jsonl, write_jsonl

__all__ = [
    "MAX_DIFF_BYTES",
    "ItemImportError",
    "check_item",
    "demo_critiques",
    "demo_items",
    "generate_items",
    "load_diff",
    "load_jsonl",
    "write_jsonl",
]


def __getattr__(name: str) -> Any:
    # The generator imports `ast` machinery and the demo set reads package data: load on use.
    if name == "generate_items":
        from .mutate import generate_items

        return generate_items
    if name in ("demo_items", "demo_critiques"):
        from . import demo

        return getattr(demo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
