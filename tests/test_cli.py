"""The `oversight` command: every command has --help; the Foundation acceptance commands work."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from oversight_ext.cli import build_parser, main
from oversight_ext.store import Store


def oversight(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oversight_ext.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def all_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += all_commands(sub, (*prefix, name))
    return out


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = all_commands(build_parser())
    assert ("items", "import") in commands and ("items", "mutate") in commands and ("db", "upgrade") in commands and ("lab",) in commands
    for cmd in commands:
        with pytest.raises(SystemExit) as done:
            main([*cmd, "--help"])
        assert done.value.code == 0
        assert "usage: oversight" in capsys.readouterr().out


@pytest.mark.shared_data
@pytest.mark.slow
def test_import_then_list_humanevalfix(shared_data: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    done = oversight("items", "import", str(shared_data / "humanevalfix.jsonl"), "--db", db)
    assert done.returncode == 0, done.stderr
    assert "imported 1968 item(s)" in done.stdout
    listed = oversight("items", "list", "--db", db, "--json")
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)
    assert len(records) == 1968
    buggy = [r for r in records if r["label"] == "buggy"]
    assert len(buggy) == 984 and all(r["bug_lines"] for r in buggy)


def test_mutate_stores_items_with_gold(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    done = oversight("items", "mutate", "--source", "json", "--n", "50", "--seed", "1", "--db", db)
    assert done.returncode == 0, done.stderr
    items = list(Store(db).iter_items())
    assert len(items) == 50
    buggy = [it for it in items if it.label == "buggy"]
    assert buggy and all(it.bug_lines for it in buggy)
    assert len(buggy) == 25


@pytest.mark.slow
def test_mutate_bug_fix_pairs_to_a_file_only(tmp_path: Path) -> None:
    db, out = tmp_path / "m.db", tmp_path / "pairs.jsonl"
    done = oversight(
        "items", "mutate", "--source", "json", "--n", "20", "--rewrite-share", "0", "--no-store", "--out", str(out), "--db", str(db)
    )
    assert done.returncode == 0, done.stderr
    assert "stored" not in done.stdout and not db.exists()
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(r["direction"] for r in rows) == ["fix_bug"] * 10 + ["introduce_bug"] * 10
    bad = oversight("items", "mutate", "--source", "json", "--n", "4", "--rewrite-share", "1.5", "--db", str(db))
    assert bad.returncode != 0 and "--rewrite-share 1.5" in bad.stderr and not db.exists()
    alone = oversight("items", "mutate", "--source", "json", "--n", "4", "--no-store", "--db", str(db))
    assert alone.returncode != 0 and "--out" in alone.stderr


@pytest.mark.slow
def test_demo_items_command(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    first = oversight("items", "demo", "--db", db)
    again = oversight("items", "demo", "--db", db)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    n = Store(db).count("items")
    assert n >= 12
    assert f"stored {n} new, 0 unchanged" in first.stdout and f"stored 0 new, {n} unchanged" in again.stdout


@pytest.mark.slow
def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "unified_diff": "nope"}\n')
    done = oversight("items", "import", str(bad), "--db", f"sqlite:///{tmp_path / 'e.db'}")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "line 1" in done.stderr and "nothing was imported" in done.stderr
    done = oversight("items", "list", "--db", str(tmp_path / "no" / "such" / "dir.db"))
    assert done.returncode == 2 and "does not exist" in done.stderr
