"""The preregistration export: the frozen design, its hash, seed and code version."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from test_study_creation import make_items

from oversight_ext.store import Store
from oversight_ext.study import StudyConfig, create_study, enroll
from oversight_ext.study.power import PowerConfig, estimate_power
from oversight_ext.study.prereg import export_prereg, table_hash


def test_prereg_documents_the_frozen_design(sqlite_store: Store, tmp_path: Path) -> None:
    sqlite_store.add_items(make_items(10))
    config = StudyConfig.from_dict(
        {
            "name": "pre",
            "description": "Does help help?",
            "seed": 11,
            "open_slots": 4,
            "qc_rate": 0.1,
            "time_limit_s": 300,
            "conditions": [{"name": "plain"}, {"name": "other"}],
        }
    )
    table = create_study(sqlite_store, config)
    power = estimate_power(PowerConfig(n_raters=4, n_items=9, n_sims=50))
    out = tmp_path / "prereg.md"
    text = export_prereg(sqlite_store, "pre", out, power=power)
    assert out.read_text() == text
    record = sqlite_store.study("pre")
    for needle in (
        "# Preregistration: pre",
        "Does help help?",
        f"seed `{record['seed']}`",
        record["code_version"],
        table_hash(table),
        "| plain | unassisted |",
        "Within-subject",
        "open enrolment: 4 slots",
        "plain -> other; other -> plain",
        "300 s",
        "two-way cluster bootstrap",
        "## Power analysis",
        "## Appendix: the assignment table",
        "(slot:001)",
    ):
        assert needle in text, needle
    assert text.count("\n| pre:slot:") == len(table)
    # Claiming slots does not change the design's hash; changing the design does.
    enroll(sqlite_store, "pre", "alice")
    after = export_prereg(sqlite_store, "pre", appendix=False)
    assert table_hash(table) in after and "Appendix" not in after
    moved = [dataclasses.replace(table[0], position=99), *table[1:]]
    assert table_hash(moved) != table_hash(table)
