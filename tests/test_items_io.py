"""Importing items: the shared data round-trips exactly; bad input is refused, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight_ext.items import MAX_DIFF_BYTES, ItemImportError, load_diff, load_jsonl
from oversight_ext.records import Item
from oversight_ext.store import Store

GOOD = {
    "id": "demo:1",
    "pair_id": "demo",
    "source": "test",
    "language": "python",
    "task": "inc",
    "direction": "introduce_bug",
    "label": "buggy",
    "bug_lines": [2],
    "bug_lines_before": [],
    "spec": "Return x + 1.",
    "before": "def inc(x):\n    return x + 1\n",
    "after": "def inc(x):\n    return x - 1\n",
    "unified_diff": "--- a/inc.py\n+++ b/inc.py\n@@ -1,2 +1,2 @@\n def inc(x):\n-    return x + 1\n+    return x - 1\n",
    "provenance": {"repo": "here"},
    "entry_point": "inc",
}


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.shared_data
def test_shared_data_round_trips_through_the_store(shared_data: Path, store: Store) -> None:
    for name, count in (("quixbugs.jsonl", 160), ("humanevalfix.jsonl", 1968)):
        raw = [json.loads(line) for line in (shared_data / name).open()]
        items = load_jsonl(shared_data / name)
        assert len(items) == len(raw) == count
        assert store.add_items(items) == (count, 0)
        stored = {it.id: it for it in store.iter_items(source=raw[0]["source"])}
        assert len(stored) == count
        for rec in raw:
            it = stored[rec["id"]]
            assert it.label == rec["label"]
            assert list(it.bug_lines) == rec["bug_lines"]
            assert list(it.bug_lines_before) == rec["bug_lines_before"]
            assert it.before == rec["before"] and it.after == rec["after"] and it.diff == rec["unified_diff"]
            assert it.pair_id == rec["pair_id"] and it.provenance == rec["provenance"]
        # a second import of the same file changes nothing
        assert store.add_items(items) == (0, count)
    frame = store.items_frame()
    assert frame.height == 160 + 1968
    assert frame.filter(frame["label"] == "buggy")["bug_lines"].list.len().min() >= 1
    assert store.count("items") == 160 + 1968


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = json.dumps(GOOD).encode()
    missing = dict(GOOD)
    del missing["unified_diff"]
    noapply = dict(GOOD, id="x", after="def inc(x):\n    return x * 3\n")
    binary = dict(
        GOOD,
        id="b",
        before=None,
        after=None,
        unified_diff="diff --git a/a.png b/a.png\nindex 1..2 100644\nBinary files a/a.png and b/a.png differ\n",
    )
    return {
        "truncated": (
            write(tmp_path / "t.jsonl", [good, good[:40].replace(b"demo:1", b"demo:2")]),
            "line 2: not valid JSON (the line looks truncated)",
        ),
        "missing": (write(tmp_path / "m.jsonl", [json.dumps(missing).encode()]), "Item.diff"),
        "noapply": (write(tmp_path / "n.jsonl", [json.dumps(noapply).encode()]), "does not give `after`"),
        "binary": (write(tmp_path / "b.jsonl", [json.dumps(binary).encode()]), "binary change to 'a.png'"),
        "utf8": (
            write(tmp_path / "u.jsonl", [good, good.replace(b"Return", b"Ret\xff\xfeurn").replace(b"demo:1", b"demo:3")]),
            "line 2: invalid UTF-8",
        ),
        "label": (write(tmp_path / "l.jsonl", [json.dumps(dict(GOOD, label="wrong")).encode()]), "Item.label"),
        "dup": (write(tmp_path / "d.jsonl", [good, good]), "repeats line 1"),
        "empty": (write(tmp_path / "e.jsonl", [b""]), "holds no records"),
    }


@pytest.mark.parametrize("case", ["truncated", "missing", "noapply", "binary", "utf8", "label", "dup", "empty"])
def test_bad_input_is_refused_and_nothing_is_lost(case: str, tmp_path: Path, sqlite_store: Store) -> None:
    keep = Item.from_dict(
        {**{k: v for k, v in GOOD.items() if k not in ("unified_diff", "entry_point")}, "id": "kept", "diff": GOOD["unified_diff"]}
    )
    sqlite_store.add_items([keep])
    path, message = bad_files(tmp_path)[case]
    with pytest.raises(ItemImportError) as err:
        load_jsonl(path)
    assert message in str(err.value)
    assert "nothing was imported" in str(err.value)
    assert [it.id for it in sqlite_store.iter_items()] == ["kept"]


def test_huge_diff_is_refused(tmp_path: Path) -> None:
    # Just over the limit (about 10.1 MiB): what is tested is the check, not a big file.
    line = f"+{'x' * 63}\n"
    n = MAX_DIFF_BYTES // len(line) + 2000
    diff = f"--- /dev/null\n+++ b/big.py\n@@ -0,0 +1,{n} @@\n{line * n}"
    rec = dict(GOOD, before=None, after=None, label=None, bug_lines=[], unified_diff=diff)
    path = write(tmp_path / "big.jsonl", [json.dumps(rec).encode()])
    assert MAX_DIFF_BYTES < path.stat().st_size < MAX_DIFF_BYTES + 2**20
    with pytest.raises(ItemImportError, match=r"MiB, over the 10 MiB limit"):
        load_jsonl(path)


def test_extra_fields_are_kept_in_meta(tmp_path: Path) -> None:
    (it,) = load_jsonl(write(tmp_path / "g.jsonl", [json.dumps(GOOD).encode()]))
    assert it.meta == {"entry_point": "inc"}
    assert it.path == "inc.py" and it.provenance == {"repo": "here"}


def test_diff_file_import(tmp_path: Path) -> None:
    p = tmp_path / "change.patch"
    p.write_text(GOOD["unified_diff"])  # type: ignore[arg-type]
    it = load_diff(p, spec="Return x + 1.")
    assert it.id == "change" and it.path == "inc.py" and it.language == "python" and it.label is None
    (tmp_path / "bin.diff").write_text("diff --git a/a.png b/a.png\nindex 1..2 100644\nBinary files a/a.png and b/a.png differ\n")
    with pytest.raises(ItemImportError, match="binary"):
        load_diff(tmp_path / "bin.diff")
