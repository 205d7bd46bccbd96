"""A "cannot judge" answer is its own outcome wherever answers are counted: the attention report
(neither a miss nor a verdict), ``study_status`` and ``oversight study status`` (judged / cannot
judge / open), and the line ``oversight lab`` prints."""

from __future__ import annotations

import uuid
from pathlib import Path

import polars as pl
import pytest
from test_attention import long_item

from oversight_ext.analysis.attention import attention_frame, attention_report
from oversight_ext.identity import os_user
from oversight_ext.review import ReviewService
from oversight_ext.store import Store
from oversight_ext.study import StudyConfig, create_study, simulate, study_status
from oversight_ext.study.simulate import SimulatedRaterConfig

CONFIG = {"name": "cj", "seed": 5, "open_slots": 6, "conditions": [{"name": "u"}, {"name": "w"}], "time_limit_s": 30}


def skipping_study(store: Store) -> None:
    store.add_items([long_item(i, 20) for i in range(8)])
    create_study(store, StudyConfig.from_dict(CONFIG))
    simulate(store, "cj", 6, seed=3, config=SimulatedRaterConfig(cannot_judge_rate=0.4, skill_mean=0.5))


def test_the_attention_report_counts_cannot_judge_apart_from_misses(sqlite_store: Store) -> None:
    skipping_study(sqlite_store)
    answers = sqlite_store.judgments(study="cj", cannot_judge=True)
    skipped = {j.submission_id for j in answers if j.is_cannot_judge}
    assert skipped and len(skipped) < len(answers)
    frame = attention_frame(sqlite_store, "cj")
    assert len(frame) == len(answers) and set(frame.filter(pl.col("cannot_judge"))["submission_id"]) == skipped
    # never a miss, and no flaw verdict to explain; but where the rater looked is still read
    rows = frame.filter(pl.col("cannot_judge"))
    assert not rows["missed"].any() and rows["flaw_seen"].is_null().all() and rows["share_seen"].is_not_null().all()
    verdicts = frame.filter(~pl.col("cannot_judge"))
    report = attention_report(frame)
    assert report["cannot_judge"].sum() == len(skipped) and report["judged"].sum() == len(verdicts)
    assert (report["n"] == report["judged"] + report["cannot_judge"]).all()
    assert report["missed"].sum() == verdicts["missed"].sum()
    assert report["never_looked"].sum() + report["looked_and_missed"].sum() + report["outside_diff"].sum() == report["missed"].sum()


def test_study_status_splits_judged_cannot_judge_and_open(sqlite_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    from oversight_ext.cli import main

    skipping_study(sqlite_store)
    status = study_status(sqlite_store, "cj")
    answers = sqlite_store.judgments(study="cj", cannot_judge=True)
    n_skip = sum(j.is_cannot_judge for j in answers)
    assert status["cannot_judge"].sum() == n_skip > 0
    assert status["judged"].sum() == len(answers) - n_skip == status["simulated"].sum() + status["human"].sum()
    assert (status["judged"] + status["cannot_judge"] + status["open"] == status["assignments"]).all()
    assert status["open"].sum() == len(sqlite_store.assignments("cj")) - len(answers)
    assert main(["study", "status", "cj", "--db", str(sqlite_store.url)]) == 0
    out = capsys.readouterr().out
    assert f"judged {len(answers) - n_skip} of {len(sqlite_store.assignments('cj'))} assignments, cannot judge {n_skip}, open" in out


def test_oversight_lab_counts_a_cannot_judge_answer_as_reviewed_but_not_judged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from oversight_ext.cli import main

    db = str(tmp_path / "lab.db")
    argv = ["lab", "--db", db, "--prepare-only", "--no-browser", "--simulated", "1"]
    assert main(argv) == 0
    me = os_user()
    assert f"0 of 14 items reviewed by {me} (0 judged, 0 cannot judge, 14 open)" in capsys.readouterr().out
    with Store(db) as store:
        first, second = store.assignments("demo", rater=me)[:2]
        svc = ReviewService(store, prefetch=False)
        common = {"time_on_task_s": 5.0, "started_at": "2026-01-01T10:00:00Z", "submitted_at": "2026-01-01T10:00:05Z"}
        svc.submit(me, {"submission_id": str(uuid.uuid4()), "assignment_id": first.id, "verdict": "buggy", "confidence": 0.75, **common})
        svc.submit(me, {"submission_id": str(uuid.uuid4()), "assignment_id": second.id, "cannot_judge": {"reason": "too_large"}, **common})
    assert main(argv) == 0
    assert f"2 of 14 items reviewed by {me} (1 judged, 1 cannot judge, 12 open)" in capsys.readouterr().out
