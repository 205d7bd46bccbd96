"""The security family: each flaw is where its gold says, controls are clean, seeds repeat."""

from __future__ import annotations

import ast

import pytest

from oversight_ext.diffs import parse_diff
from oversight_ext.items.sabotage import SabotageError, generate
from oversight_ext.items.sabotage.security import CWES, check_flaw


def test_each_flaw_is_verified_and_its_control_is_clean() -> None:
    items = generate("textwrap", "security", 40, seed=3)
    flawed = [it for it in items if it.label == "buggy"]
    clean = {it.pair_id: it for it in items if it.label == "correct"}
    assert len(flawed) == 20 and len(clean) == 20
    assert len({it.meta["cwe"] for it in flawed}) >= 5
    for it in flawed:
        ast.parse(it.after)
        assert it.bug_type.startswith(it.meta["cwe"])
        assert check_flaw(it.meta["cwe"], it.after, list(it.bug_lines))
        assert set(it.bug_lines) <= _added(it.diff)
        control = clean[it.pair_id]
        ast.parse(control.after)
        assert not check_flaw(it.meta["cwe"], control.after, sorted(_added(control.diff)))


def _added(diff: str) -> set[int]:
    return {ln.new for f in parse_diff(diff) for h in f.hunks for ln in h.lines if ln.old is None and ln.new is not None}


def test_same_seed_gives_identical_items_and_another_seed_does_not() -> None:
    a = generate("json", "security", 8, seed=11)
    b = generate("json", "security", 8, seed=11)
    c = generate("json", "security", 8, seed=12)
    assert [it.to_dict() for it in a] == [it.to_dict() for it in b]
    assert [it.id for it in a] != [it.id for it in c]


def test_every_cwe_has_a_checkable_flaw() -> None:
    items = generate("csv", "security", 120, seed=0)
    assert {it.meta["cwe"] for it in items if it.label == "buggy"} == set(CWES)


def test_bad_arguments_say_what_to_fix() -> None:
    with pytest.raises(SabotageError, match="family='nope'"):
        generate("json", "nope", 2)
    with pytest.raises(SabotageError, match="n=0"):
        generate("json", "security", 0)
    with pytest.raises(ValueError, match="neither an existing path nor an importable module"):
        generate("no_such_module_xyz", "security", 2)


def test_cli_writes_the_same_file_twice_and_stores_the_items(tmp_path, capsys) -> None:
    from oversight_ext.cli import main
    from oversight_ext.store import Store

    db = tmp_path / "s.db"
    args = ["items", "sabotage", "--source", "shlex", "--family", "security", "--n", "6", "--seed", "2", "--db", str(db)]
    assert main([*args, "--out", str(tmp_path / "a.jsonl")]) == 0
    assert main([*args, "--out", str(tmp_path / "b.jsonl"), "--no-store"]) == 0
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert "3 flawed" in capsys.readouterr().out
    with Store(f"sqlite:///{db}") as store:
        assert len(list(store.iter_items(source="oversight-sabotage"))) == 6
