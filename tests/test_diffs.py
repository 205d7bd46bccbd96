"""Unified diffs: multi-file, renames, added/deleted, binary markers, no newline at end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight_ext.diffs import DiffError, apply_diff, changed_lines, make_diff, parse_diff

MULTI = """\
diff --git a/pkg/old_name.py b/pkg/new_name.py
similarity index 90%
rename from pkg/old_name.py
rename to pkg/new_name.py
--- a/pkg/old_name.py
+++ b/pkg/new_name.py
@@ -1,3 +1,3 @@
 def f(x):
-    return x + 1
+    return x - 1
 # end
diff --git a/pkg/added.py b/pkg/added.py
new file mode 100644
--- /dev/null
+++ b/pkg/added.py
@@ -0,0 +1,2 @@
+A = 1
+B = 2
diff --git a/pkg/gone.py b/pkg/gone.py
deleted file mode 100644
--- a/pkg/gone.py
+++ /dev/null
@@ -1 +0,0 @@
-print("bye")
diff --git a/logo.png b/logo.png
index 1111111..2222222 100644
Binary files a/logo.png and b/logo.png differ
diff --git a/tail.txt b/tail.txt
--- a/tail.txt
+++ b/tail.txt
@@ -1,2 +1,2 @@
 one
-two
\\ No newline at end of file
+three
\\ No newline at end of file
"""


def test_multi_file_diff_parses_every_kind_of_change() -> None:
    files = {f.path: f for f in parse_diff(MULTI)}
    assert files["pkg/new_name.py"].status == "renamed"
    assert files["pkg/new_name.py"].old_path == "pkg/old_name.py"
    assert files["pkg/added.py"].status == "added" and files["pkg/added.py"].added == 2
    assert files["pkg/gone.py"].status == "deleted" and files["pkg/gone.py"].removed == 1
    assert files["logo.png"].binary and not files["logo.png"].hunks
    assert [ln.kind for ln in files["tail.txt"].hunks[0].lines] == ["context", "del", "meta", "add", "meta"]
    assert changed_lines(MULTI)["pkg/new_name.py"] == {2}
    assert changed_lines(MULTI, side="old")["pkg/gone.py"] == {1}


def test_apply_handles_missing_final_newline() -> None:
    assert apply_diff("one\ntwo", MULTI, path="tail.txt") == "one\nthree"
    assert apply_diff("", MULTI, path="pkg/added.py") == "A = 1\nB = 2\n"


def test_apply_rejects_a_diff_that_does_not_fit() -> None:
    with pytest.raises(DiffError, match="does not apply: line 2"):
        apply_diff("def f(x):\n    return x * 2\n# end\n", MULTI, path="pkg/new_name.py")
    with pytest.raises(DiffError, match="exactly one file"):
        apply_diff("", MULTI)


def test_garbage_is_not_a_diff() -> None:
    with pytest.raises(DiffError, match="no file changes"):
        parse_diff("hello world\n")
    with pytest.raises(DiffError, match="malformed"):
        parse_diff("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n x\n")


def test_make_then_apply_round_trips() -> None:
    before = "a\nb\nc\nd\n"
    after = "a\nB\nc\nd\ne"
    diff = make_diff(before, after, "f.txt")
    assert apply_diff(before, diff) == after
    assert changed_lines(diff)["f.txt"] == {2, 5}


def test_shared_data_diffs_apply_exactly(shared_data: Path) -> None:
    n = 0
    for name in ("quixbugs.jsonl", "humanevalfix.jsonl"):
        for line in (shared_data / name).open():
            rec = json.loads(line)
            assert apply_diff(rec["before"], rec["unified_diff"]) == rec["after"], rec["id"]
            n += 1
    assert n == 2128


PLAIN_CASES = [
    make_diff("a\nb\nc", "a\nB\nc", "x.py"),
    make_diff("", "new\n", "n.py"),
    make_diff("old\n", "", "o.py"),
    "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n\n",  # an empty context line, as editors leave them
    "--- a/x\r\n+++ b/x\r\n@@ -1 +1 @@ sec\r\n-a\r\n+b\r\n",
    "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1,2 @@\n+x\n+y\n",
    "--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n",
    "--- a/p.py\t2020-01-01\n+++ b/q.py\t2020-01-02\n@@ -1,2 +1,2 @@ def f():\n-x\n+y\n z\n\\ No newline at end of file\n",
    "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n--- a/y\n+++ b/y\n@@ -3 +3,2 @@\n-q\n+r\n+s\n",
]


def _by_unidiff(text: str, monkeypatch: pytest.MonkeyPatch) -> list | tuple:
    from oversight_ext import diffs

    with monkeypatch.context() as m:
        m.setattr(diffs, "_plain", lambda lines: None)
        try:
            return parse_diff(text)
        except DiffError as exc:
            return ("error", str(exc))


@pytest.mark.parametrize("text", PLAIN_CASES)
def test_the_one_pass_parser_gives_unidiffs_answer(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from oversight_ext import diffs

    fast = diffs._plain(text.splitlines(keepends=True))
    assert fast is not None and fast == _by_unidiff(text, monkeypatch)


def test_the_one_pass_parser_leaves_what_it_does_not_know_to_unidiff(monkeypatch: pytest.MonkeyPatch) -> None:
    from oversight_ext import diffs

    git = "diff --git a/x b/y\nsimilarity index 90%\nrename from x\nrename to y\n--- a/x\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n"
    short = "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n"  # fewer lines than its header says
    long = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n+c\n"  # more
    for text in (git, short, long, "just words\n"):
        assert diffs._plain(text.splitlines(keepends=True)) is None
    assert parse_diff(git)[0].status == "renamed"
    for bad in (short, "just words\n"):
        with pytest.raises(DiffError):
            parse_diff(bad)
    assert parse_diff(long) == _by_unidiff(long, monkeypatch)


def test_the_one_pass_parser_agrees_with_unidiff_on_every_shared_diff(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from oversight_ext import diffs

    for name in ("humanevalfix.jsonl", "quixbugs.jsonl"):
        for line in (shared_data / name).open():
            text = json.loads(line)["unified_diff"]
            fast = diffs._plain(text.splitlines(keepends=True))
            assert fast is not None and fast == _by_unidiff(text, monkeypatch), text[:200]


def _numbered(files: list) -> list:
    """Compact files (or parse_diff's) as plain lists of (kind, old, new, text) per hunk."""
    from oversight_ext.review.diffcache import files_view, hunk_lines

    return [(f["old_path"], f["new_path"], f["status"], [list(hunk_lines(h)) for h in f["hunks"]]) for f in files_view(files)]


def test_the_compact_parse_is_the_full_parse_on_every_shared_diff_and_the_edge_cases(shared_data: Path) -> None:
    from oversight_ext import diffs

    texts = [
        *PLAIN_CASES,
        "--- a/x\r\n+++ b/x\r\n@@ -1,3 +1,3 @@\r\n a\r\n\r\n-b\r\n+c\r\n",
        "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n b\n-c\n+d\x0cz\n",
    ]
    for name in ("humanevalfix.jsonl", "quixbugs.jsonl"):
        texts += [json.loads(line)["unified_diff"] for line in (shared_data / name).open()]
    taken = 0
    for text in texts:
        lines = text.splitlines(keepends=True)
        taken += diffs._plain_compact(lines) is not None
        assert _numbered(diffs.parse_compact(text)) == _numbered(diffs.parse_diff(text)), text[:200]
    assert taken >= len(texts) - 2  # the form feed (a line break to splitlines) goes to unidiff
    # What the one-pass parser declines, the compact one declines too (then unidiff answers both).
    for text in ("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n", "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n+c\n"):
        assert diffs._plain_compact(text.splitlines(keepends=True)) is None
