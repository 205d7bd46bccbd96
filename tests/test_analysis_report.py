"""The report end to end: a study created and simulated with the studies API, analysed, and
written as one offline HTML file by ``oversight report``; thin data gives notes, not errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from test_study_creation import make_items

from oversight_ext.analysis import AnalysisConfig, analyze, report, study_frame
from oversight_ext.analysis.frames import empty_frame
from oversight_ext.cli import main
from oversight_ext.records import Assignment
from oversight_ext.store import Store
from oversight_ext.study import StudyConfig, create_study, simulate

OVERSIGHT = str(Path(sys.executable).with_name("oversight"))


def offline(page: str) -> None:
    """Nothing in the page is fetched: no scripts, no external sources or stylesheets."""
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "@import" not in page


@pytest.mark.slow
def test_report_of_a_simulated_study_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    with Store(db) as store:
        store.add_items(make_items(24))
        config = {
            "name": "pilot",
            "seed": 1,
            "open_slots": 12,
            "overlap": 2,
            "qc_rate": 0.1,
            "items": {"source": "toy"},
            "conditions": [
                {"name": "unassisted"},
                {"name": "lint", "kind": "assisted", "assistant": "lint"},
                {"name": "wrong", "kind": "assisted", "assistant": "lint", "planted_rate": 0.5},
            ],
        }
        create_study(store, StudyConfig.from_dict(config))
        assert simulate(store, "pilot", 12, 1) > 100
        result = analyze(study_frame(store, "pilot"), AnalysisConfig(n_boot=200))
    expected = {"summary", "accuracy", "calibration", "agreement", "effects", "sandwich", "mixed_model", "over_reliance", "raters"}
    assert expected <= set(result.tables), result.notes
    assert set(result.tables["effects"]["treatment"]) == {"lint", "wrong"}
    assert result.tables["raters"]["rater_kind"].to_list() == ["simulated"]
    assert result.tables["sandwich"]["judge"].to_list()[0] == "unassisted human"

    out = tmp_path / "report.html"
    proc = subprocess.run(
        [OVERSIGHT, "report", "pilot", "--db", db, "--out", str(out), "--n-boot", "200"], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    offline(page)
    assert page.count("<svg") == 4 and "Sandwiching" in page and "planted_rate" in page and "human + critic (lint)" in page
    assert main(["analyze", "pilot", "--db", db, "--json", "--n-boot", "50", "--no-mixed-model"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "mixed_model" not in data["tables"] and data["tables"]["accuracy"][0]["condition"] == "lint"
    assert main(["report", "nope", "--db", db]) == 2
    assert "no study named 'nope'" in capsys.readouterr().err


def test_thin_data_gives_notes_not_errors(sqlite_store: Store, tmp_path: Path) -> None:
    assert analyze(empty_frame()).notes == ["no judgments yet: nothing to analyse"]
    one = pl.DataFrame(
        {"rater": ["ann"] * 4, "item_id": ["a", "b", "c", "d"], "condition": ["u", "u", "h", "h"], "verdict": ["buggy", "correct"] * 2}
    ).with_columns(pl.lit(None, pl.Utf8).alias("label"), pl.lit(0.6).alias("confidence"), pl.Series("position", [0, 1, 2, 3]))
    result = analyze(one, AnalysisConfig(n_boot=20))
    text = " ".join(result.notes)
    assert "no judged item has a gold label" in text and "one rater" in text and "mixed_model: not computed" in text
    assert "agreement" in result.tables  # computed, and it says why alpha is missing
    with pytest.raises(ValueError, match="raters='robots'"):
        analyze(one, AnalysisConfig(raters="robots"))

    sqlite_store.add_items(make_items(2))
    sqlite_store.create_study(
        "quiet", {}, [Assignment(id="q0", study="quiet", rater="ann", item_id="toy-000", condition="u")], seed=0, code_version="t"
    )
    page = report(sqlite_store, "quiet", tmp_path / "quiet.html").read_text()
    offline(page)
    assert "no judgments yet" in page and "<svg" not in page
    with pytest.raises(ValueError, match="is a directory"):
        report(sqlite_store, "quiet", tmp_path)
