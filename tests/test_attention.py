"""The attention record: stored append-only with the judgment on both databases, checked at
submit, made by simulated raters, and read by the analysis (share seen, time per hunk, and
"never looked" against "looked and missed")."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from test_server import payload, seed

from oversight_ext.analysis.attention import LOOKED_AND_MISSED, NEVER_LOOKED, attention_frame, attention_report, flaw_lines
from oversight_ext.attention import AttentionError, check_attention, lines_seen, seconds_by_hunk
from oversight_ext.diffs import make_diff, parse_diff
from oversight_ext.records import Assignment, Item, Judgment
from oversight_ext.review import ReviewService
from oversight_ext.review.errors import BadRequest
from oversight_ext.store import Store
from oversight_ext.study import SimulatedRaterConfig, StudyConfig, create_study, simulate

RECORD = {
    "spans": [[0, 2500, 0, 0, 0, 3], [2500, 3100, 0, 0, 1, 3]],
    "events": [[2600, "expand", 0, 0], [2900, "search", 0, 0]],
    "truncated": False,
}


def test_spans_give_the_lines_seen_and_the_time_each_hunk_was_on_screen() -> None:
    record = {"spans": [[0, 1000, 0, 0, 0, 9], [500, 2000, 0, 0, 5, 12], [3000, 3500, 0, 0, 0, 0], [0, 400, 1, 2, 3, 4]], "events": []}
    assert lines_seen(record) == {(0, 0): set(range(13)), (1, 2): {3, 4}}
    # 0-2000 ms (two overlapping spans count once) plus 3000-3500 ms.
    assert seconds_by_hunk(record) == {(0, 0): 2.5, (1, 2): 0.4}
    assert lines_seen(None) == {} and seconds_by_hunk(None) == {}


def test_check_attention_names_what_is_wrong() -> None:
    check_attention(RECORD, [[4]], elapsed_ms=5000)
    for record, words in (
        ({"spans": [[0, 9000, 0, 0, 0, 3]], "events": []}, "after the submit"),
        ({"spans": [[0, 10, 0, 1, 0, 3]], "events": []}, "hunk 1 of file 0"),
        ({"spans": [[0, 10, 0, 0, 0, 4]], "events": []}, "lines 0..3"),
        ({"spans": [[10, 0, 0, 0, 0, 3]], "events": []}, "before it starts"),
        ({"spans": [], "events": [[1, "expand", 2, 0]]}, "names file 2"),
    ):
        with pytest.raises(AttentionError, match=words):
            check_attention(record, [[4]], elapsed_ms=5000)


def test_the_store_keeps_the_record_exactly_and_append_only(store: Store) -> None:
    store.add_items(
        [Item(id="i0", diff="--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n", path="x.py", label="buggy", bug_lines=(1,))]
    )
    store.create_study(
        "s",
        {"conditions": ["unassisted"]},
        [Assignment(id="a0", study="s", rater="alice", item_id="i0", condition="unassisted", position=0)],
        seed=1,
        code_version="test",
    )
    first = Judgment(
        submission_id="j1", assignment_id="a0", rater="alice", verdict="buggy", confidence=0.8, time_on_task_s=3, attention=RECORD
    )
    assert store.submit(first)[1]
    second = {**RECORD, "spans": [*RECORD["spans"], [3100, 4000, 0, 0, 0, 1]]}
    store.submit(
        Judgment(
            submission_id="j2",
            assignment_id="a0",
            rater="alice",
            verdict="correct",
            confidence=0.8,
            time_on_task_s=4,
            supersedes="j1",
            attention=second,
        )
    )
    store.submit(
        Judgment(
            submission_id="j3", assignment_id="a0", rater="alice", verdict="correct", confidence=0.8, time_on_task_s=4, supersedes="j2"
        )
    )
    got = {j.submission_id: j.attention for j in store.judgments(current=False)}
    assert got == {"j1": RECORD, "j2": second, "j3": None}
    # A retry of a stored submission changes nothing, even with another record.
    again, created = store.submit(
        Judgment(
            submission_id="j1",
            assignment_id="a0",
            rater="alice",
            verdict="buggy",
            confidence=0.8,
            time_on_task_s=3,
            attention={"spans": [], "events": []},
        )
    )
    assert not created and again.attention == RECORD
    frame = store.judgments_frame(current=False)
    assert frame["attention"].null_count() == 1 and frame["attention"].len() == 3


def test_the_service_stores_a_record_from_the_client_and_refuses_a_bad_one(sqlite_url: str) -> None:
    with Store(sqlite_url) as s:
        ids = seed(s)
        svc = ReviewService(s, prefetch=False)
        view, created = svc.submit("alice", payload(ids["alone"].id, attention=RECORD))
        assert created and view["attention"] == RECORD
        assert svc.view("alice", ids["alone"].id)["judgment"]["attention"] == RECORD
        assert s.judgments(assignment_id=ids["alone"].id)[0].attention == RECORD
        with pytest.raises(BadRequest, match="hunk 1 of file 0") as err:
            svc.submit("alice", payload(ids["helped"].id, attention={"spans": [[0, 10, 0, 1, 0, 0]], "events": []}))
        assert err.value.field == "attention"


def long_item(i: int, n_funcs: int) -> Item:
    """A change to ``n_funcs`` functions (one hunk each), the last one with the bug (odd ``i``: none)."""
    before = "".join(f"def f{k}(x):\n    y = x + {k}\n    return y\n\n\n\n\n\n\n" for k in range(n_funcs))
    after = before.replace("    return y\n", "    return (y)\n")
    buggy = i % 2 == 0
    last = f"    y = x + {n_funcs - 1}\n"
    if buggy:
        after = after.replace(last, last.replace("+", "-"))
    bug_line = after.splitlines().index(last.replace("+", "-").rstrip("\n")) + 1 if buggy else None
    return Item(
        id=f"len{n_funcs}-{i:02d}",
        diff=make_diff(before, after, f"m{i}.py"),
        path=f"m{i}.py",
        before=before,
        after=after,
        label="buggy" if buggy else "correct",
        bug_lines=(bug_line,) if bug_line else (),
    )


def test_simulated_raters_record_attention_and_the_report_splits_misses(store: Store) -> None:
    # Long diffs (60 hunks, about 600 lines) with the flaw in the last hunk cannot be read in the
    # 30 s limit at 4 lines a second; short ones (2 hunks) can be read whole.
    items = [long_item(i, 60) for i in range(4)] + [long_item(i, 2) for i in range(4, 8)]
    store.add_items(items)
    config = {"name": "att", "seed": 5, "open_slots": 8, "conditions": [{"name": "u"}, {"name": "w"}], "time_limit_s": 30}
    create_study(store, StudyConfig.from_dict(config))
    assert simulate(store, "att", 8, seed=3, config=SimulatedRaterConfig(skill_mean=0.5)) > 0
    by_id = {it.id: it for it in items}
    for j in store.judgments(study="att"):
        assert j.attention is not None and j.attention["spans"]
        sizes = [[len(h.lines) for h in f.hunks] for f in parse_diff(by_id[j.item_id].diff)]
        check_attention(j.attention, sizes, (j.submitted_at - j.started_at).total_seconds() * 1000)  # type: ignore[operator]
    frame = attention_frame(store, "att")
    assert frame["recorded"].all() and len(frame) == len(store.judgments(study="att"))
    long_rows = frame.filter(pl.col("item_id").str.starts_with("len60"))
    short_rows = frame.filter(pl.col("item_id").str.starts_with("len2-"))
    assert long_rows["share_seen"].max() < 0.5 and short_rows["share_seen"].min() == 1.0
    misses = frame.filter(pl.col("missed"))
    assert set(misses.filter(pl.col("item_id").str.starts_with("len60"))["flaw_seen"]) == {NEVER_LOOKED}
    assert set(misses.filter(pl.col("item_id").str.starts_with("len2-"))["flaw_seen"]) == {LOOKED_AND_MISSED}
    report = attention_report(frame)
    assert report["condition"].to_list() == ["u", "w"]
    assert report["n"].sum() == len(frame) and (report["seconds_per_hunk"] > 0).all()
    assert (
        report["never_looked"].sum() + report["looked_and_missed"].sum() + report["outside_diff"].sum()
        == report["missed"].sum()
        == len(misses)
    )
    assert report["never_looked"].sum() > 0 and report["looked_and_missed"].sum() > 0
    # QC judgments never count, as in every estimate: marking one row QC takes it out of the report
    marked = frame.with_columns(pl.Series("is_qc", [True] + [False] * (len(frame) - 1)))
    assert attention_report(marked)["n"].sum() == len(frame) - 1


def test_flaw_lines_are_the_gold_lines_in_the_diff() -> None:
    it = long_item(0, 3)
    files = parse_diff(it.diff)
    places = flaw_lines(it, files)
    assert len(places) == 1
    fi, hi, li = next(iter(places))
    assert files[fi].hunks[hi].lines[li].new == it.bug_lines[0]


def test_the_attention_command_prints_the_report(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from oversight_ext.cli import main

    with Store(sqlite_url) as store:
        store.add_items([long_item(i, 60) for i in range(4)])
        create_study(
            store, StudyConfig.from_dict({"name": "att", "seed": 5, "open_slots": 2, "conditions": [{"name": "u"}], "time_limit_s": 30})
        )
        simulate(store, "att", 2, seed=3)
    assert main(["attention", "att", "--db", sqlite_url, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["condition"] for r in rows] == ["u"] and rows[0]["n"] == rows[0]["recorded"] > 0 and 0 < rows[0]["share_seen"] < 0.5
    assert main(["attention", "att", "--db", sqlite_url, "--by", "nope"]) != 0
    assert "'nope' is not a column" in capsys.readouterr().err


def test_the_html_report_carries_the_attention_table(store: Store, tmp_path: Path) -> None:
    from oversight_ext.analysis.reporting import report

    store.add_items([long_item(i, 60) for i in range(2)] + [long_item(i, 2) for i in range(2, 4)])
    config = {"name": "att-report", "seed": 1, "open_slots": 4, "conditions": [{"name": "u"}, {"name": "w"}], "time_limit_s": 30}
    create_study(store, StudyConfig.from_dict(config))
    assert simulate(store, "att-report", 4, seed=2, config=SimulatedRaterConfig(skill_mean=0.5)) > 0
    page = report(store, "att-report", tmp_path / "r.html").read_text()
    assert "<h3>attention</h3>" in page
    table = page.split("<h3>attention</h3>", 1)[1].split("</table>", 1)[0]
    for column in ("share_seen", "seconds_per_hunk", "never_looked", "looked_and_missed"):
        assert column in table
