"""Store round trips against a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

from oversight_ext.records import Assignment, Item, Judgment
from oversight_ext.store import Store


def test_smoke(store: Store) -> None:
    it = Item(id="a", diff="--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-x=1\n+x=2\n", after="x=2\n", label="buggy", bug_lines=(1,))
    assert store.add_items([it]) == (1, 0)
    store.create_study("s", {}, [Assignment(id="a1", study="s", rater="r", item_id="a", condition="unassisted")], seed=1, code_version="t")
    j = Judgment(submission_id="x", assignment_id="a1", rater="r", verdict="buggy", confidence=0.6, time_on_task_s=1.0)
    assert store.submit(j)[1] is True
    assert store.submit(j)[1] is False
    assert store.count("judgments") == 1
