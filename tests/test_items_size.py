"""Oversized diffs are refused before any parsing, in constant memory (issue: a 60 MB diff was
parsed twice, 132 s and 736 MB, before its size was checked)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from oversight_ext.diffs import make_diff
from oversight_ext.items import ItemImportError, load_diff, load_jsonl

HUNK = "@@ -1,1 +1,1 @@\n-x = 1\n+x = 2\n"


def write_big_diff(path: Path, mib: int) -> None:
    """A well-formed diff of about ``mib`` MiB, written a chunk at a time."""
    block = "".join(f"@@ -{i},1 +{i},1 @@\n-x{i} = 1\n+x{i} = 2\n" for i in range(1, 20_000))
    with path.open("w") as fh:
        fh.write("--- a/big.py\n+++ b/big.py\n")
        while fh.tell() < mib * 2**20:
            fh.write(block)


def peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        with pytest.raises(ItemImportError) as info:
            fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    peak_mib.last_error = str(info.value)  # type: ignore[attr-defined]
    return peak / 2**20


def test_a_60_mib_diff_file_is_refused_by_its_size_on_disk(tmp_path: Path) -> None:
    big = tmp_path / "big.diff"
    write_big_diff(big, 60)
    assert peak_mib(lambda: load_diff(big)) < 1.0
    assert "MiB, over the 10 MiB limit" in peak_mib.last_error  # type: ignore[attr-defined]
    small = tmp_path / "small.diff"
    small.write_text(make_diff("x = 1\n", "x = 2\n", "m.py"))
    assert load_diff(small).path == "m.py"


def test_a_jsonl_line_holding_a_60_mib_diff_is_skipped_in_chunks(tmp_path: Path) -> None:
    big = tmp_path / "big.diff"
    write_big_diff(big, 60)
    good = {"id": "ok", "unified_diff": make_diff("x = 1\n", "x = 2\n", "m.py"), "label": "buggy"}
    path = tmp_path / "items.jsonl"
    with path.open("w") as fh:
        fh.write(json.dumps(good) + "\n")
        fh.write('{"id": "huge", "unified_diff": "')
        with big.open() as src:
            while chunk := src.read(2**20):
                fh.write(json.dumps(chunk)[1:-1])
        fh.write('"}\n')
    assert peak_mib(lambda: load_jsonl(path)) < 4.0
    assert (
        "line 2: the record is" in peak_mib.last_error
        and "over the 10 MiB limit of a diff even with its two programs (31 MiB" in peak_mib.last_error
    )  # type: ignore[attr-defined]
    # Under a record's limit but over the diff's: refused by the diff's size, before it is parsed.
    mid = {"id": "mid", "unified_diff": "--- a/m.py\n+++ b/m.py\n" + HUNK * (2 * 2**20 // len(HUNK))}
    path.write_text(json.dumps(good) + "\n" + json.dumps(mid) + "\n")
    with pytest.raises(ItemImportError, match=r"line 2 \(id 'mid'\): the diff is 2\.0 MiB, over the 1 MiB limit"):
        load_jsonl(path, max_diff_bytes=2**20)
    path.write_text(json.dumps(good) + "\n")
    assert [it.id for it in load_jsonl(path)] == ["ok"]
