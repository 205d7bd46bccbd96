"""Every item export reads back: ``items list --json`` (a JSON array), ``items mutate --out`` and
``items sabotage --out`` (JSONL) go into ``items import`` and ``eval-critics --items`` unchanged."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oversight_ext.items import ItemImportError, load_jsonl
from oversight_ext.store import Store


def oversight(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oversight_ext.cli", *args], capture_output=True, text=True, timeout=600)


def test_list_json_round_trips_through_import_and_eval_critics(tmp_path: Path) -> None:
    first, second = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    assert oversight("items", "demo", "--db", first).returncode == 0
    listed = oversight("items", "list", "--json", "--db", first)
    assert listed.returncode == 0, listed.stderr
    exported = tmp_path / "items.json"
    exported.write_text(listed.stdout)
    assert listed.stdout.lstrip().startswith("[")  # the array form, not JSONL

    done = oversight("items", "import", str(exported), "--db", second)
    assert done.returncode == 0, done.stderr
    original = {it.id: it for it in Store(first).iter_items()}
    again = {it.id: it for it in Store(second).iter_items()}
    assert len(original) >= 12 and again == original
    assert f"imported {len(original)} item(s)" in done.stdout

    # the same export straight into the evaluation (lint is fast and needs no model)
    ev = oversight("eval-critics", "--items", str(exported), "--assistant", "lint", "--json", "--quiet", "--boot", "20")
    assert ev.returncode == 0, ev.stderr
    res = json.loads(ev.stdout)
    labelled = [it for it in original.values() if it.label is not None and it.language == "python"]
    assert res["n_buggy"] + res["n_correct"] == len(labelled)


def test_jsonl_exports_round_trip(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    mutated, sabotaged = tmp_path / "m.jsonl", tmp_path / "s.jsonl"
    done = oversight("items", "mutate", "--source", "json", "--n", "6", "--seed", "3", "--out", str(mutated), "--no-store")
    assert done.returncode == 0, done.stderr
    done = oversight("items", "sabotage", "--source", "json", "--family", "security", "--n", "4", "--out", str(sabotaged), "--no-store")
    assert done.returncode == 0, done.stderr
    for path in (mutated, sabotaged):
        done = oversight("items", "import", str(path), "--db", db)
        assert done.returncode == 0, done.stderr
    stored = {it.id: it for it in Store(db).iter_items()}
    written = {it.id: it for path in (mutated, sabotaged) for it in load_jsonl(path)}
    assert stored == written and len(stored) == 10
    ev = oversight("eval-critics", "--items", str(mutated), "--assistant", "lint", "--json", "--quiet", "--boot", "20")
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["n_buggy"] + json.loads(ev.stdout)["n_correct"] == 6


def test_array_problems_name_the_record(tmp_path: Path) -> None:
    good = {"id": "a", "unified_diff": "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n", "language": "python"}
    cases = {
        "dup": ([good, good], "record 2: id 'a' repeats record 1"),
        "not-object": ([good, 3], "record 2: a JSON int, not an object"),
        "bad-diff": ([{**good, "unified_diff": "nope"}], "record 1 (id 'a')"),
    }
    for name, (records, expected) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(records, indent=2))
        with pytest.raises(ItemImportError, match=re.escape(expected)):
            load_jsonl(path)
    broken = tmp_path / "broken.json"
    broken.write_text("[{" + '"id": "a"')
    with pytest.raises(ItemImportError, match=r"not valid JSON.*JSON array of objects or JSONL"):
        load_jsonl(broken)
    assert [it.id for it in load_jsonl(_write(tmp_path / "one.json", json.dumps([good])))] == ["a"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
