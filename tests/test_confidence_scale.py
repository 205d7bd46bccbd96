"""The confidence scale fits the verdict: a binary study offers 55-95%, declared in the study,
sent with each assignment and enforced on submit; studies stored before scales were declared
keep the five likelihood levels (25-100%), and their judgments load and are analysed on them.
Calibration (ECE, the reliability diagram's bins) follows the study's levels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from oversight_ext.analysis import calibration, calibration_error, summary
from oversight_ext.analysis.frames import study_frame
from oversight_ext.records import Assignment, Item, Judgment, RecordError
from oversight_ext.review.errors import BadRequest
from oversight_ext.review.service import ReviewService
from oversight_ext.store import Store
from oversight_ext.study import ConditionConfig, StudyConfig, StudyConfigError
from oversight_ext.study.simulate import draw_raters, judge
from oversight_ext.study_record import Study
from oversight_ext.submission import BINARY_LEVELS, LIKELIHOOD_LEVELS, SubmissionError, check_submission, scale_of

DIFF = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def total(xs):\n-    return sum(xs)\n+    return sum(xs[1:])\n"


def config(**kw: Any) -> StudyConfig:
    return StudyConfig(name=kw.pop("name", "s"), conditions=(ConditionConfig(name="alone"),), seed=1, raters=("ann",), **kw)


# ---------------------------------------------------------------- the study declares its scale


def test_a_binary_study_offers_levels_from_chance_to_certainty() -> None:
    cfg = config()
    assert cfg.confidence_levels == BINARY_LEVELS == (0.55, 0.65, 0.75, 0.85, 0.95)
    assert all(0.5 < c < 1 for c in cfg.confidence_levels)
    # One bin per level, equal width, spanning 50-100%: each level is its bin's centre.
    assert [round(c - 0.05, 6) for c in BINARY_LEVELS] == [0.5, 0.6, 0.7, 0.8, 0.9]
    assert config(verdict_scale="likert").confidence_levels == LIKELIHOOD_LEVELS
    again = StudyConfig.from_dict(cfg.to_dict())
    assert again == cfg and cfg.to_dict()["confidence_levels"] == list(BINARY_LEVELS)
    assert Study.from_config(cfg).confidence_levels == BINARY_LEVELS


@pytest.mark.parametrize(
    ("levels", "words"),
    [
        (list(LIKELIHOOD_LEVELS), "below chance"),
        ([0.5, 0.7, 0.9], "known scales"),
        ("0.55", "list of levels"),
    ],
)
def test_a_binary_study_refuses_levels_below_chance_or_unknown(levels: Any, words: str) -> None:
    with pytest.raises(StudyConfigError) as caught:
        config(confidence_levels=levels)
    assert caught.value.key == "confidence_levels" and words in str(caught.value)


def test_a_stored_config_without_levels_keeps_the_old_scale() -> None:
    stored = config().to_dict()
    del stored["confidence_levels"]  # as every study stored before scales were declared
    assert Study.from_config(stored).confidence_levels == LIKELIHOOD_LEVELS


# ---------------------------------------------------------------- records and the schema


def test_records_take_a_level_of_either_scale_and_the_schema_names_the_field() -> None:
    base = dict(submission_id="x", assignment_id="a", rater="r", verdict="buggy", time_on_task_s=1.0)
    for c in (*BINARY_LEVELS, *LIKELIHOOD_LEVELS):
        assert Judgment(confidence=c, **base).confidence == c  # type: ignore[arg-type]
    with pytest.raises(RecordError, match="binary"):
        Judgment(confidence=0.5, **base)  # type: ignore[arg-type]
    payload = {"submission_id": "x", "assignment_id": "a", "verdict": "buggy", "confidence": 0.25, "time_on_task_s": 1.0}
    check_submission(payload)  # the schema's default: the likelihood levels
    with pytest.raises(SubmissionError) as caught:
        check_submission(payload, levels=BINARY_LEVELS)
    assert caught.value.field == "confidence" and "0.55" in str(caught.value)


def test_scale_of_tells_the_scale_from_the_values_and_refuses_a_mix() -> None:
    assert scale_of([0.55, 0.95]) == BINARY_LEVELS and scale_of([0.42, 1.0]) == LIKELIHOOD_LEVELS
    with pytest.raises(ValueError, match="separately"):
        scale_of([0.25, 0.55])


# ---------------------------------------------------------------- the service: sent and enforced


def _study(store: Store, name: str, stored: dict[str, Any]) -> Assignment:
    a = Assignment(id=f"{name}:ann:00000", study=name, rater="ann", item_id="it1", condition="alone")
    store.create_study(name, stored, [a], seed=1, code_version="test")
    return a


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[tuple[ReviewService, dict[str, Assignment]]]:
    with Store(f"sqlite:///{tmp_path / 'scale.db'}") as store:
        store.add_items([Item(id="it1", diff=DIFF, path="calc.py", label="buggy", bug_lines=(1,))])
        store.add_rater("ann")
        old = config(name="old").to_dict()
        del old["confidence_levels"]
        made = {"new": _study(store, "new", config(name="new").to_dict()), "old": _study(store, "old", old)}
        yield ReviewService(store, prefetch=False), made


def _payload(a: Assignment, confidence: float) -> dict[str, Any]:
    return {
        "submission_id": f"{a.study}-{confidence}",
        "assignment_id": a.id,
        "verdict": "buggy",
        "confidence": confidence,
        "time_on_task_s": 9.0,
    }


def test_the_assignment_carries_the_study_levels(svc: tuple[ReviewService, dict[str, Assignment]]) -> None:
    service, made = svc
    assert service.view("ann", made["new"].id)["assignment"]["confidence_levels"] == list(BINARY_LEVELS)
    assert service.view("ann", made["old"].id)["assignment"]["confidence_levels"] == list(LIKELIHOOD_LEVELS)


def test_a_below_chance_level_on_a_new_binary_study_is_refused(svc: tuple[ReviewService, dict[str, Assignment]]) -> None:
    service, made = svc
    with pytest.raises(BadRequest) as caught:
        service.submit("ann", _payload(made["new"], 0.25))
    assert caught.value.field == "confidence"
    assert "0.25" in str(caught.value) and str(list(BINARY_LEVELS)) in str(caught.value)
    view, created = service.submit("ann", _payload(made["new"], 0.85))
    assert created and view["confidence"] == 0.85


def test_an_old_study_keeps_its_levels_and_its_judgments_analyse_on_them(svc: tuple[ReviewService, dict[str, Assignment]]) -> None:
    service, made = svc
    with pytest.raises(BadRequest) as caught:
        service.submit("ann", _payload(made["old"], 0.55))
    assert caught.value.field == "confidence" and str(list(LIKELIHOOD_LEVELS)) in str(caught.value)
    assert service.submit("ann", _payload(made["old"], 0.42))[1]
    frame = study_frame(service.store, "old")
    assert frame["confidence"].to_list() == [0.42]
    bins = calibration(frame)
    assert bins["level"].to_list() == [0.42] and bins["bin"].to_list() == [1]
    assert summary(frame)["brier_score"].item() == pytest.approx((0.42 - 1) ** 2)


# ---------------------------------------------------------------- calibration bins follow the levels


def _frame(confidences: list[float], correct: list[bool]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "condition": ["c"] * len(confidences),
            "rater": [f"r{i}" for i in range(len(confidences))],
            "item_id": [f"i{i}" for i in range(len(confidences))],
            "label": ["buggy"] * len(confidences),
            "verdict": ["buggy" if ok else "correct" for ok in correct],
            "confidence": confidences,
        }
    )


def test_calibration_bins_one_per_declared_level() -> None:
    f = _frame([0.55, 0.55, 0.75, 0.95, 0.95, 0.95], [True, False, True, True, True, False])
    bins = calibration(f)
    assert bins["level"].to_list() == [0.55, 0.75, 0.95] and bins["bin"].to_list() == [0, 2, 4]
    assert bins["n"].to_list() == [2, 1, 3] and bins["accuracy"].to_list() == pytest.approx([0.5, 1.0, 2 / 3])
    ece = (2 * abs(0.5 - 0.55) + 1 * abs(1 - 0.75) + 3 * abs(2 / 3 - 0.95)) / 6
    assert calibration_error(f)["calibration_error"].item() == pytest.approx(ece)
    # The same values read on the old scale's bins would merge 0.55 and 0.75 (both nearest 0.6).
    old = calibration(f, levels=LIKELIHOOD_LEVELS)
    assert old["level"].to_list() == [0.6, 0.8, 1.0] and old["n"].to_list() == [2, 1, 3]
    # Values on no single known scale (two studies pooled): one bin per stated value, with a warning.
    with pytest.warns(UserWarning, match="one scale"):
        mixed = calibration(_frame([0.25, 0.55], [True, True]))
    assert mixed["level"].to_list() == [0.25, 0.55] and mixed["n"].to_list() == [1, 1]


def test_simulated_judgments_use_the_study_levels() -> None:
    item = Item(id="it1", diff=DIFF, path="calc.py", label="buggy", bug_lines=(1,))
    a = Assignment(id="s:ann:00000", study="s", rater="ann", item_id="it1", condition="alone")
    rater = draw_raters(1, seed=3)[0]
    got = {judge(rater, item, a, None, np.random.default_rng(k), levels=BINARY_LEVELS).confidence for k in range(40)}
    assert got <= set(BINARY_LEVELS) and len(got) > 1


def test_the_config_of_a_study_stored_without_levels_keeps_the_old_levels(svc: tuple[ReviewService, dict[str, Assignment]]) -> None:
    """StudyConfig.from_study (what enrolment, the status table and the workshop read) of a
    study stored the old way gives its old levels, not the binary default of a new study."""
    from oversight_ext.study.creation import load_config

    service, _ = svc
    assert "confidence_levels" not in service.store.study("old").config
    old = StudyConfig.from_study(service.store.study("old"))
    assert old.verdict_scale == "binary" and old.confidence_levels == LIKELIHOOD_LEVELS == (0.25, 0.42, 0.6, 0.8, 1.0)
    assert load_config(service.store, "old").confidence_levels == LIKELIHOOD_LEVELS
    assert old.as_study().confidence_levels == LIKELIHOOD_LEVELS
    assert StudyConfig.from_study(service.store.study("new")).confidence_levels == BINARY_LEVELS
