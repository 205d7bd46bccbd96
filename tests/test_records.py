"""Records validate themselves with errors that name the field, the value and the fix."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from oversight_ext.records import (
    CONFIDENCE_LEVELS,
    Comment,
    Critique,
    Disposition,
    Item,
    Judgment,
    LineFlag,
    RecordError,
    frame_schema,
    to_frame,
)

DIFF = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def judgment(**kw: object) -> Judgment:
    base: dict[str, object] = dict(submission_id="s", assignment_id="a", rater="r", verdict="buggy", confidence=0.6, time_on_task_s=3.0)
    base.update(kw)
    return Judgment(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"confidence": 0.5}, "confidence", "five levels"),
        ({"confidence": 1.5}, "confidence", "five levels"),
        ({"verdict": "maybe"}, "verdict", "'buggy', 'correct'"),
        ({"time_on_task_s": -1.0}, "time_on_task_s", "between"),
        ({"likert": 9}, "likert", "1 to 7"),
        ({"submission_id": ""}, "submission_id", "non-empty"),
        ({"supersedes": "s"}, "supersedes", "itself"),
        ({"submitted_at": dt.datetime(2026, 1, 1)}, "submitted_at", "timezone-aware"),
    ],
)
def test_judgment_errors_name_field_value_and_fix(kwargs: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(RecordError) as err:
        judgment(**kwargs)
    assert err.value.field == field
    assert f"Judgment.{field}" in str(err.value)
    assert words in str(err.value)


def test_confidence_levels_accepted() -> None:
    for c in CONFIDENCE_LEVELS:
        assert judgment(confidence=c).confidence == c


def test_item_gold_checks() -> None:
    with pytest.raises(RecordError, match="correct item has no bug lines"):
        Item(id="i", diff=DIFF, label="correct", bug_lines=(1,))
    with pytest.raises(RecordError, match="past the end"):
        Item(id="i", diff=DIFF, after="x = 2\n", label="buggy", bug_lines=(5,))
    with pytest.raises(RecordError, match="1-based"):
        Item(id="i", diff=DIFF, bug_lines=(0,))
    it = Item(id="i", diff=DIFF, after="x = 2\n", label="buggy", bug_lines=[1], tests="assert x == 1")  # type: ignore[arg-type]
    assert it.bug_lines == (1,)
    view = it.rater_view()
    assert not set(view) & set(Item.GOLD_FIELDS)


def test_comment_and_disposition_rules() -> None:
    with pytest.raises(RecordError, match="end_line"):
        Comment(id="c", path="x.py", start_line=5, end_line=4, text="t")
    with pytest.raises(RecordError, match="edited text"):
        Disposition(comment_id="c", action="edit")
    with pytest.raises(RecordError, match="at most one disposition"):
        judgment(dispositions=[Disposition("c", "keep"), Disposition("c", "reject", "wrong")])
    c = Comment(id="c", path="x.py", start_line=3, end_line=4, text="off by one", planted=True)
    assert c.covers(5, tolerance=1) and not c.covers(6, tolerance=1)
    assert "planted" not in c.rater_view()


def test_round_trip_through_dicts() -> None:
    crit = Critique(
        id="k",
        item_id="i",
        assistant="exec",
        comments=(Comment(id="c1", path="x.py", start_line=1, end_line=1, text="bug", planted=True),),
        verdict="buggy",
        confidence=0.9,
        planted=True,
    )
    assert Critique.from_dict(crit.to_dict()) == crit
    assert "planted" not in str(crit.rater_view())
    planted = Critique(id="planted:abc123:item-7", item_id="item-7", assistant="planted", planted=True)
    assert "planted" not in str(planted.rater_view()) and planted.rater_view()["id"] != planted.id
    j = judgment(flags=[LineFlag("x.py", 1, "here")], dispositions=[Disposition("c1", "reject", "wrong")])
    assert Judgment.from_dict(j.to_dict()) == j


def test_from_dict_reports_unknown_and_missing_fields() -> None:
    with pytest.raises(RecordError, match="unknown field"):
        Judgment.from_dict({**judgment().to_dict(), "gold": "x"})
    d = judgment().to_dict()
    del d["verdict"]
    with pytest.raises(RecordError, match="required field is missing"):
        Judgment.from_dict(d)
    with pytest.raises(RecordError, match="ISO 8601"):
        Judgment.from_dict({**judgment().to_dict(), "submitted_at": "yesterday"})


def test_frames_follow_the_records() -> None:
    j = judgment(flags=[LineFlag("x.py", 2, "c")])
    frame = to_frame([j], Judgment)
    assert frame.schema == pl.Schema(frame_schema(Judgment))
    assert frame["flags"][0][0]["line"] == 2
    assert to_frame([], Judgment).columns == list(frame_schema(Judgment))
