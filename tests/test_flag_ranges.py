"""Flags over a line range, with a severity and a category: accepted, stored and echoed back
as sent; a range the diff lacks or that ends before it starts is refused naming ``flags``."""

from __future__ import annotations

import pytest
from test_server import payload, seed

from oversight_ext.records import LineFlag, RecordError
from oversight_ext.review import ReviewService
from oversight_ext.review.errors import BadRequest
from oversight_ext.store import Store


def test_a_range_flag_with_severity_and_category_is_stored_as_sent(sqlite_url: str) -> None:
    flag = {
        "path": "calc.py",
        "line": 1,
        "end_line": 3,
        "side": "new",
        "comment": "the sum drops xs[0]",
        "severity": "major",
        "category": "bug",
    }
    with Store(sqlite_url) as s:
        ids = seed(s)
        svc = ReviewService(s, prefetch=False)
        view, created = svc.submit("alice", payload(ids["alone"].id, flags=[flag]))
        assert created and view["flags"] == [flag]
        stored = s.judgments(assignment_id=ids["alone"].id)[0].flags
        assert stored == (LineFlag("calc.py", 1, "the sum drops xs[0]", "new", end_line=3, severity="major", category="bug"),)
        assert stored[0].last_line == 3
        frame = s.judgments_frame(rater="alice")
        assert frame["flags"][0][0]["end_line"] == 3 and frame["flags"][0][0]["severity"] == "major"
        with pytest.raises(BadRequest, match=r"line 4 is not in calc\.py") as err:
            svc.submit("alice", payload(ids["helped"].id, flags=[{**flag, "end_line": 4}]))
        assert err.value.field == "flags"


def test_a_flag_record_refuses_a_range_that_ends_before_it_starts_and_unknown_severities() -> None:
    with pytest.raises(RecordError, match="end_line"):
        LineFlag("a.py", 5, end_line=4)
    with pytest.raises(RecordError, match="severity"):
        LineFlag("a.py", 5, severity="urgent")  # type: ignore[arg-type]
    assert LineFlag("a.py", 5).last_line == 5
