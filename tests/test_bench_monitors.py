"""bench/monitors.py's guard on the shipped ensemble: ``--fit`` never replaces calibrated weights."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import monitors as bench

from oversight_ext.assistants.monitors.combined import WEIGHTS


def _main(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setattr(sys, "argv", ["monitors.py", *argv])
    return bench.main()


def test_fit_refuses_to_replace_calibrated_weights_before_measuring_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = json.loads(WEIGHTS.read_text())
    assert "calibration" in shipped  # the file --fit used to overwrite
    calibrated = tmp_path / "ensemble.json"
    calibrated.write_text(WEIGHTS.read_text())
    monkeypatch.setattr(bench, "WEIGHTS", calibrated)
    made: list[str] = []
    monkeypatch.setattr(bench, "make", lambda which, *a, **k: made.append(which) or [])
    for argv in (["--fit", "--set", "dev"], ["--fit", "--out", str(calibrated)]):
        with pytest.raises(SystemExit) as stop:
            _main(monkeypatch, *argv)
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "--fit would replace the calibrated ensemble" in err and "--calibrate --set dev" in err and "--out FILE" in err, err
    assert made == [] and calibrated.read_text() == WEIGHTS.read_text()  # refused before any item was made, file untouched
    with pytest.raises(SystemExit):
        _main(monkeypatch, "--out", str(tmp_path / "w.json"))  # --out without --fit says what it is for
    assert "give --fit" in capsys.readouterr().err


def test_fit_may_write_elsewhere_or_replace_uncalibrated_weights(tmp_path: Path) -> None:
    assert bench.fit_refusal(tmp_path / "new.json") is None
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"monitors": ["security"], "weights": [1.0], "bias": 0.0}))
    assert bench.fit_refusal(plain) is None
    plain.write_text(json.dumps({"monitors": ["security"], "weights": [1.0], "bias": 0.0, "calibration": {"a": 1.0, "b": 0.0}}))
    assert "--calibrate" in (bench.fit_refusal(plain) or "")
    plain.write_text("{not json")
    assert "--out FILE" in (bench.fit_refusal(plain) or "")
