"""``oversight study ...`` and ``oversight simulate`` as a user runs them: real subprocesses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_study_creation import make_items

from oversight_ext.cli import main
from oversight_ext.items import write_jsonl

OVERSIGHT = str(Path(sys.executable).with_name("oversight"))

STUDY = """
name = "cli"
seed = 3
open_slots = 4
qc_rate = 0.1

[items]
source = "toy"

[[conditions]]
name = "unassisted"

[[conditions]]
name = "again"
"""


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """The installed ``oversight`` script in a subprocess, as a user runs it."""
    proc = subprocess.run([OVERSIGHT, *args], capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The same command line in-process (subprocess start-up costs seconds on 2 cores)."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_create_status_export_simulate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "o.db")
    write_jsonl(make_items(12), tmp_path / "items.jsonl")
    assert call(capsys, "items", "import", str(tmp_path / "items.jsonl"), "--db", db)[0] == 0
    (tmp_path / "study.toml").write_text(STUDY)
    out = run("study", "create", str(tmp_path / "study.toml"), "--db", db, "--quiet").stdout
    assert "created study 'cli'" in out and "seed 3" in out and "4 raters (open slots)" in out
    code, out, _ = call(capsys, "simulate", "cli", "--raters", "3", "--seed", "1", "--db", db, "--quiet")
    assert code == 0 and "stored" in out and "simulated judgments" in out
    code, _, err = call(capsys, "study", "create", str(tmp_path / "study.toml"), "--db", db, "--quiet")
    assert code == 2 and "already exists" in err
    code, status, _ = call(capsys, "study", "status", "cli", "--db", db)
    assert code == 0 and "within-subject" in status and "unassisted" in status and "judged" in status
    assert "open enrolment: 3 of 4 slots claimed" in status
    prereg = tmp_path / "prereg.md"
    assert call(capsys, "study", "export", "cli", "--out", str(prereg), "--db", db, "--power-base", "0.6", "--power-sims", "100")[0] == 0
    text = prereg.read_text()
    assert "# Preregistration: cli" in text and "## Power analysis" in text and "| 4 | 11 | 1 | within |" in text
    assert call(capsys, "study", "list", "--db", db)[1].split() == ["cli"]
    assert "sam holds" in call(capsys, "study", "enroll", "cli", "sam", "--db", db)[1]
    code, _, err = call(capsys, "study", "enroll", "cli", "tom", "--db", db)
    assert code == 2 and "open slots are taken" in err


def test_bad_study_files_are_refused_with_a_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "o.db")
    write_jsonl(make_items(4), tmp_path / "items.jsonl")
    assert call(capsys, "items", "import", str(tmp_path / "items.jsonl"), "--db", db)[0] == 0
    cases = {
        'seed = "3"': "seed must be an integer",
        "overlap = 3": "lower overlap or add raters",
        'assistant = "no-such-critic"\nkind = "assisted"': "no-such-critic",
    }
    for change, message in cases.items():
        text = STUDY.replace("seed = 3", change if "seed" in change else "seed = 3")
        if change.startswith("overlap"):
            text = text.replace("open_slots = 4", "open_slots = 4\noverlap = 3")
        if change.startswith("assistant"):
            text = text.replace('name = "again"', 'name = "again"\n' + change)
        (tmp_path / "bad.toml").write_text(text)
        code, _, err = call(capsys, "study", "create", str(tmp_path / "bad.toml"), "--db", db)
        assert code == 2 and message in err, err
    (tmp_path / "none.toml").write_text(STUDY.replace('source = "toy"', 'source = "absent"'))
    code, _, err = call(capsys, "study", "create", str(tmp_path / "none.toml"), "--db", db)
    assert code == 2 and "no items" in err


def test_power_command_prints_the_smallest_size(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--effect", "0.2", "--raters", "10", "--items", "20", "--sims", "200", "--search", "items"]
    code, out, _ = call(capsys, "study", "power", *args)
    assert code == 0 and "smallest items reaching power 0.8:" in out
    code, _, err = call(capsys, "study", "power", "--base", "0.99", "--effect", "0.1")
    assert code == 2 and "strictly between 0 and 1" in err
