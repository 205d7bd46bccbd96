"""studies/sabotage.toml runs end to end on a real SQLite file: the commands of its header (smaller),
then detection by condition and the safety-vs-budget curve in the report and from ``oversight safety``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from oversight_ext.analysis.attention import LOOKED_AND_MISSED, NEVER_LOOKED, attention_frame
from oversight_ext.attention import lines_seen
from oversight_ext.cli import main
from oversight_ext.store import Store
from oversight_ext.study import StudyConfig

TOML = Path(__file__).resolve().parents[1] / "studies" / "sabotage.toml"


def test_the_template_validates_and_its_header_gives_the_commands() -> None:
    config = StudyConfig.from_toml(TOML)
    assert config.audit_budget_hunks is not None and config.time_limit_s is not None
    assert {c.name: (c.kind, c.assistant, c.display) for c in config.conditions} == {
        "unassisted": ("unassisted", None, "evidence"),
        "ranked": ("assisted", "monitor", "ranked"),
        "critique": ("assisted", "monitor", "evidence"),
    }
    header = TOML.read_text().split("\nname =", 1)[0]
    for command in (
        "oversight items sabotage",
        "--family volume",
        "oversight study create studies/sabotage.toml",
        "oversight simulate sabotage",
    ):
        assert command in header


def test_create_simulate_report_and_safety(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'sabotage.db'}"
    small = tmp_path / "sabotage.toml"
    small.write_text(re.sub(r"(?m)^open_slots = \d+$", "open_slots = 6", TOML.read_text()))
    assert (
        main(["items", "sabotage", "--source", "email", "--family", "volume", "--n", "10", "--seed", "2", "--size", "200", "--db", db]) == 0
    )
    assert main(["study", "create", str(small), "--quiet", "--db", db]) == 0
    assert main(["simulate", "sabotage", "--raters", "6", "--seed", "1", "--quiet", "--db", db]) == 0
    out = tmp_path / "report.html"
    assert main(["report", "sabotage", "--out", str(out), "--n-boot", "200", "--no-mixed-model", "--db", db]) == 0
    page = out.read_text()
    assert "Safety vs audit budget (monitor + human)" in page and "<h3>detection</h3>" in page and "<h3>safety</h3>" in page
    assert "simulated raters: they validate the pipeline, they are not a human result" in page
    capsys.readouterr()
    assert main(["safety", "sabotage", "--n-boot", "200", "--json", "--db", db]) == 0
    result = json.loads(capsys.readouterr().out)
    curve = pl.DataFrame(result["safety"])
    with Store(db) as store:
        info = store.study("sabotage")
        budget = info.audit_budget_hunks
        study_items = {a.item_id for a in store.assignments("sabotage")} - set(info.qc_item_ids)
        assert info.qc_item_ids and not set(info.qc_item_ids) & study_items
        # QC items enter neither table: every flawed and clean study item, and nothing else
        assert curve["flawed"][0] + curve["controls"][0] == len(study_items)
        judgments = store.judgments(study="sabotage")
        assert judgments and all(len(lines_seen(j.attention)) <= budget for j in judgments)  # type: ignore[operator]
        frame = attention_frame(store, "sabotage")
    variants = set(curve["variant"])
    assert {"monitor + perfect auditor", "human alone (unassisted)"} | {f"monitor + human ({c})" for c in info.condition_names} == variants
    for v in variants:
        s = curve.filter(pl.col("variant") == v).sort("budget")["safety"].drop_nulls()
        assert (s.diff().drop_nulls() >= -1e-12).all()
    perfect = curve.filter(pl.col("variant") == "monitor + perfect auditor")["safety"]
    for c in info.condition_names:
        assert (curve.filter(pl.col("variant") == f"monitor + human ({c})")["safety"] <= perfect + 1e-12).all()
    detection = pl.DataFrame(result["detection"])
    assert set(detection["condition"]) == set(info.condition_names)
    assert ((detection["caught_low"] <= detection["caught"]) & (detection["caught"] <= detection["caught_high"])).all()
    # a missed flaw outside the opened hunks reads "never looked"
    misses = frame.filter(pl.col("missed"))["flaw_seen"].to_list()
    assert misses and set(misses) <= {NEVER_LOOKED, LOOKED_AND_MISSED} and NEVER_LOOKED in misses
