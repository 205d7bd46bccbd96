"""Nothing hidden in the review panel: long lines, word diff, gutters, sticky file header, the
file list with "viewed" marks, search in the virtualised diff and step-wise context, in a real
Chromium against a real ``jupyter lab``.

Visibility is checked the way a rater would see it: the element's box lies inside the diff's
viewport, it is the topmost element at its own centre, and its cell clips nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import Lab, add_study, open_lab, open_study, start_lab

from oversight_ext.records import Comment, Critique, Item
from oversight_ext.store import Store

pytestmark = pytest.mark.browser

# An `and` -> `or` change at column 170 of a 230-column line: before wrapping existed, both
# sides ended in "…" long before it and looked identical.
PREFIX = "    ok = " + " and ".join(f"check_{i:02d}(request)" for i in range(9))
LONG_OLD = f"{PREFIX[:165]:<165} and ready(request) and allowed(user) and not banned(user)  # access rule"
LONG_NEW = LONG_OLD.replace(" and ready(", " or ready(", 1)
COL = LONG_OLD.index(" and ready(") + 1


def long_diff() -> str:
    ctx = [f"line_{i} = {i}" for i in range(1, 5)]
    return (
        "--- a/auth/rules.py\n+++ b/auth/rules.py\n@@ -120001,9 +120001,9 @@\n"
        + "".join(f" {c}\n" for c in ctx)
        + f"-{LONG_OLD}\n+{LONG_NEW}\n"
        + "".join(f" {c}\n" for c in ctx)
    )


MANY_FILES = 1234


def files_diff() -> str:
    """Two files; the second has a 60-line unchanged run with a rare word deep inside it."""
    one = "".join(f"+alpha_{i} = {i}\n" for i in range(1, 301))
    ctx = [f"beta_{i} = {i}" for i in range(1, 61)]
    ctx[10] = "needle_in_fold = 42"
    old = [*ctx, "x = 0"]
    new = [*ctx, "x = 1"]
    body = "".join(f" {a}\n" if a == b else f"-{a}\n+{b}\n" for a, b in zip(old, new))
    return f"--- /dev/null\n+++ b/pkg/one.py\n@@ -0,0 +1,300 @@\n{one}--- a/pkg/two.py\n+++ b/pkg/two.py\n@@ -1,61 +1,61 @@\n{body}"


@pytest.fixture(scope="module")
def lab(lab_root: Path, lab_store: Store) -> Iterator[Lab]:
    s = lab_store
    assert COL >= 165 and LONG_OLD != LONG_NEW and len(LONG_OLD) > 220
    s.add_items(
        [
            Item(id="sc-long", diff=long_diff(), path="auth/rules.py", task="Review the access rule."),
            Item(id="sc-files", diff=files_diff(), path="pkg/one.py", task="Review two files."),
        ]
    )
    add_study(s, "long", [("sc-long", "unassisted", None)])
    s.add_items([Item(id="sc-lock", diff=long_diff(), path="auth/rules.py", task="Review the rule, then submit.")])
    claim = Comment(id="c1", path="auth/rules.py", start_line=120005, end_line=120005, text="`or` lets unready requests through.")
    s.add_critiques([Critique(id="k-lock", item_id="sc-lock", assistant="demo-replay", verdict="buggy", confidence=0.9, comments=(claim,))])
    add_study(s, "lock", [("sc-lock", "critic", "k-lock")])
    s.add_items([Item(id=f"sc-rev{k}", diff=long_diff(), path="auth/rules.py", task=f"Review rule {k}.") for k in (1, 2)])
    crit = Comment(
        id="c1", path="auth/rules.py", start_line=120005, end_line=120005, text="This lets requests through.", severity="critical"
    )
    s.add_critiques([Critique(id="k-rev", item_id="sc-rev1", assistant="demo-replay", verdict="buggy", confidence=0.9, comments=(crit,))])
    add_study(s, "revise", [("sc-rev1", "critic", "k-rev"), ("sc-rev2", "unassisted", None)])
    add_study(s, "files", [("sc-files", "unassisted", None)])
    many = "".join(f"--- a/m/f{k}.py\n+++ b/m/f{k}.py\n@@ -1 +1 @@\n-v = {k}\n+v = {k + 1}\n" for k in range(MANY_FILES))
    s.add_items([Item(id="sc-many", diff=many, path="m/f0.py", task="Review many files.")])
    add_study(s, "many", [("sc-many", "unassisted", None)])
    s.add_items([Item(id="sc-manyc", diff=many, path="m/f0.py", task="Review many files with comments.")])
    notes = tuple(
        Comment(id=cid, path=path, start_line=line, end_line=line, text=f"Claim {cid}.")
        for cid, path, line in (("c-first", "m/f0.py", 1), ("c-last", f"m/f{MANY_FILES - 1}.py", 1), ("c-away", "m/f5.py", 99))
    )
    s.add_critiques([Critique(id="k-manyc", item_id="sc-manyc", assistant="demo-replay", verdict="buggy", confidence=0.9, comments=notes)])
    add_study(s, "manyc", [("sc-manyc", "critic", "k-manyc")])
    yield from start_lab(lab_root, s)


SEEN = """(el) => {
  const box = el.getBoundingClientRect();
  const view = el.closest('.ov-scroll').getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const top = document.elementFromPoint(x, y);
  const cell = el.closest('.ov-code');
  return {
    inside: box.width > 0 && box.left >= view.left && box.right <= view.right && box.top >= view.top && box.bottom <= view.bottom,
    topmost: top === el || el.contains(top),
    clipped: cell.scrollHeight > cell.clientHeight + 1 || cell.scrollWidth > cell.clientWidth + 1,
  };
}"""


def assert_seen(loc: Any, text: str) -> None:
    loc.wait_for()
    assert loc.inner_text() == text
    loc.scroll_into_view_if_needed()
    got = loc.evaluate(SEEN)
    assert got == {"inside": True, "topmost": True, "clipped": False}, (text, got)


def test_a_bug_at_column_170_is_visible_in_both_views_wrapped_and_scrolled(browser: Any, lab: Lab) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "long")
    scroll = panel.locator(".ov-scroll")
    # Wrapped (the default), unified: the changed word of each side is marked and on screen.
    assert panel.locator(".ov-wrap-toggle").get_attribute("aria-pressed") == "true"
    assert_seen(panel.locator(".ov-line.ov-del .ov-wd-del"), "and")
    assert_seen(panel.locator(".ov-line.ov-add .ov-wd-add"), "or")
    assert panel.locator(".ov-line.ov-del .ov-code").inner_text() == LONG_OLD
    assert scroll.evaluate("el => el.scrollWidth <= el.clientWidth"), "wrapped lines must not need sideways scrolling"
    # Six-digit line numbers fit their gutter.
    ln = panel.locator('.ov-ln[data-side="new"][data-line="120009"]')
    assert ln.evaluate("el => el.scrollWidth <= el.clientWidth")
    # Side by side.
    panel.locator('[data-mode="split"]').click()
    assert_seen(panel.locator(".ov-pair .ov-left .ov-wd-del"), "and")
    assert_seen(panel.locator(".ov-pair .ov-right .ov-wd-add"), "or")
    # One row per line, scrolled sideways: the content is wider than the view, and reachable.
    panel.locator(".ov-wrap-toggle").click()
    assert panel.locator(".ov-wrap-toggle").get_attribute("aria-pressed") == "false"
    assert scroll.evaluate("el => el.scrollWidth > el.clientWidth")
    for mode in ("split", "unified"):
        panel.locator(f'[data-mode="{mode}"]').click()
        for sel, text in ((".ov-del .ov-wd-del", "and"), (".ov-add .ov-wd-add", "or")):
            word = panel.locator(f".ov-scroll {sel}").first
            word.evaluate("el => el.scrollIntoView({block: 'center', inline: 'center'})")
            assert_seen(word, text)
    assert scroll.evaluate("el => el.scrollLeft > 0")
    page.context.close()


def test_file_list_viewed_marks_sticky_header_search_and_stepwise_context(browser: Any, lab: Lab) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "files")
    files = panel.locator(".ov-files .ov-file")
    assert files.all_inner_texts() == ["pkg/one.py +300 −0", "pkg/two.py +1 −1"]
    assert panel.locator(".ov-files-head").inner_text() == "2 files · 0 viewed"
    # Deep inside the first file, its header stays pinned at the top.
    scroll = panel.locator(".ov-scroll")
    scroll.evaluate("el => { el.scrollTop = 2000; }")
    sticky = panel.locator(".ov-sticky")
    sticky.locator(".ov-path").filter(has_text="pkg/one.py").wait_for()
    assert sticky.is_visible()
    # Marking it viewed collapses it to its header and counts it.
    panel.locator(".ov-file-entry").first.locator("input").check()
    panel.locator(".ov-files-head").filter(has_text="2 files · 1 viewed").wait_for()
    assert "alpha_5 = 5" not in scroll.inner_text()
    assert "beta_60 = 60" in scroll.inner_text()
    assert panel.locator('.ov-filehead[data-file="0"] .ov-collapse').first.get_attribute("aria-expanded") == "false"
    panel.locator('.ov-filehead[data-file="0"] .ov-collapse').first.click()
    panel.locator('.ov-ln[data-side="new"][data-line="1"]').first.wait_for()
    # Search reaches a line inside a fold: the fold opens at the hit, which is marked.
    search = panel.locator(".ov-search")
    search.fill("NEEDLE_in")
    panel.locator(".ov-search-count").filter(has_text="1 of 1").wait_for()
    hit = panel.locator(".ov-hit-current")
    hit.wait_for()
    assert hit.inner_text() == "needle_in"
    assert hit.evaluate(SEEN)["inside"]
    search.fill("")
    search.press("Enter")
    # Step-wise context: 20 more lines above the change, then the rest.
    panel.locator(".ov-files .ov-file").nth(1).click()
    up = panel.locator(".ov-fold-up").first
    up.wait_for()
    assert panel.locator('.ov-ln[data-side="new"][data-line="40"]').count() == 0
    up.click()
    panel.locator('.ov-ln[data-side="new"][data-line="40"]').wait_for()
    assert panel.locator('.ov-ln[data-side="new"][data-line="30"]').count() == 0
    page.context.close()


def test_a_contradiction_is_confirmed_and_a_revision_from_the_queue_supersedes_the_judgment(
    browser: Any, lab: Lab, lab_store: Store
) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "revise")
    panel.locator('.ov-comment[data-comment-id="c1"] [data-action="keep"]').click()
    panel.locator('[data-verdict="correct"]').click()
    panel.locator('[data-confidence="0.65"]').click()
    # Kept a critical "bug" comment, chose "correct": asked first; going back stores nothing.
    panel.locator(".ov-submit").click()
    confirm = panel.locator(".ov-confirm")
    confirm.wait_for()
    assert "serious bug" in confirm.inner_text()
    confirm.locator(".ov-confirm-no").click()
    assert confirm.is_hidden()
    page.wait_for_timeout(500)
    assert lab_store.judgments(study="revise", current=False) == []
    panel.locator(".ov-submit").click()
    confirm.locator(".ov-confirm-yes").click()
    panel.locator('.ov-status[data-state="saved"]').wait_for()
    first = lab_store.judgments(study="revise", current=False)
    assert [(j.assignment_id, j.verdict) for j in first] == [("revise-0", "correct")]
    # The second item, then the queue is done: the queue list still opens the first.
    panel.locator(".ov-next").click()
    panel.locator(".ov-task-text").filter(has_text="rule 2").wait_for()
    panel.locator('[data-verdict="buggy"]').click()
    panel.locator('[data-confidence="0.85"]').click()
    panel.locator(".ov-submit").click()
    panel.locator('.ov-status[data-state="saved"]').wait_for()
    panel.locator(".ov-next").click()
    panel.locator(".ov-empty").filter(has_text="queue is done").wait_for()
    panel.locator(".ov-queue-toggle").click()
    items = panel.locator(".ov-queue-item")
    items.first.wait_for()
    assert items.all_inner_texts() == ["Item 1 · submitted", "Item 2 · submitted"]
    items.first.click()
    panel.locator(".ov-task-text").filter(has_text="rule 1").wait_for()
    submit = panel.locator(".ov-submit")
    assert submit.inner_text() == "Submit revision"
    assert panel.locator('[data-verdict="correct"]').get_attribute("aria-pressed") == "true"
    panel.locator('[data-verdict="buggy"]').click()
    submit.click()
    panel.locator('.ov-status[data-state="saved"]').filter(has_text="Saved").wait_for()
    rows = [j for j in lab_store.judgments(study="revise", current=False) if j.assignment_id == "revise-0"]
    assert [j.verdict for j in rows] == ["correct", "buggy"]
    assert rows[1].supersedes == rows[0].submission_id
    current = [j for j in lab_store.judgments(study="revise") if j.assignment_id == "revise-0"]
    assert [(j.verdict, j.submission_id) for j in current] == [("buggy", rows[1].submission_id)]
    page.context.close()


def test_comment_actions_lock_with_the_form_after_submit(browser: Any, lab: Lab) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "lock")
    card = panel.locator('.ov-comment[data-comment-id="c1"]')
    card.locator('[data-action="keep"]').click()
    panel.locator('.ov-line .ov-ln[data-side="new"][data-line="120006"]').click()
    panel.locator(".ov-flag textarea").fill("see the rule")
    panel.locator('[data-verdict="buggy"]').click()
    panel.locator('[data-confidence="0.85"]').click()
    panel.locator(".ov-submit").click()
    panel.locator('.ov-status[data-state="saved"]').wait_for()
    for action in ("keep", "edit", "reject"):
        assert card.locator(f'[data-action="{action}"]').is_disabled(), action
    assert card.locator("select.ov-reason").is_disabled()
    assert panel.locator(".ov-flag-remove").is_disabled()
    assert panel.locator(".ov-flag textarea").evaluate("el => el.readOnly")
    page.context.close()


def test_a_diff_of_many_files_lists_the_first_ones_at_once_and_every_one_soon(browser: Any, lab: Lab) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "many")
    panel.locator(".ov-line").first.wait_for()
    assert panel.locator(".ov-files-head").inner_text() == f"{MANY_FILES} files · 0 viewed"
    entries = panel.locator(".ov-file-entry")
    assert entries.count() >= 200
    page.wait_for_function(f"document.querySelectorAll('.jp-OversightReview:not(.lm-mod-hidden) .ov-file-entry').length === {MANY_FILES}")
    assert entries.count() == MANY_FILES
    # The last entry, built in a later slice, still goes to its file.
    entries.last.locator(".ov-file").click()
    panel.locator(f'.ov-filehead:has-text("m/f{MANY_FILES - 1}.py")').first.wait_for()
    page.context.close()


def test_rows_built_after_the_first_paint_are_there_when_the_rater_goes_to_them(browser: Any, lab: Lab) -> None:
    """The first screens' rows paint first and the rest follow; a jump to a comment deep in the
    diff, or a scroll to its end, finds its rows, and only true orphans sit in the orphans row."""
    page = open_lab(browser, lab)
    panel = open_study(page, "manyc")
    panel.locator(".ov-line").first.wait_for()
    orphans = panel.locator(".ov-orphans .ov-comment")
    assert [orphans.nth(i).get_attribute("data-comment-id") for i in range(orphans.count())] == ["c-away"]
    # A few hundred files down at once (past the rows built before the first paint, if the idle
    # build has not got there): file headers fill the screen, no placeholder.
    scroll = panel.locator(".ov-scroll")
    scroll.evaluate("el => { el.scrollTop = 40000; }")
    page.wait_for_function(
        "() => { const el = document.querySelector('.jp-OversightReview:not(.lm-mod-hidden) .ov-scroll');"
        " const v = el.getBoundingClientRect();"
        " const heads = [...el.querySelectorAll('.ov-filehead')].filter(h => { const b = h.getBoundingClientRect(); return b.top >= v.top && b.bottom <= v.bottom; });"
        " const rest = [...el.querySelectorAll('.ov-rest')].some(r => { const b = r.getBoundingClientRect(); return b.bottom > v.top && b.top < v.bottom; });"
        " return heads.length >= 3 && !rest && heads.every(h => Number(h.dataset.file) > 300); }"
    )
    scroll.evaluate("el => { el.scrollTop = 0; }")
    # At once, whether or not the idle build has finished: the comment on the last file.
    panel.locator(".ov-next-comment").click()
    panel.locator(".ov-next-comment").click()
    card = panel.locator('.ov-comment[data-comment-id="c-last"]')
    card.wait_for()
    assert card.evaluate(
        "el => { const b = el.getBoundingClientRect(), v = el.closest('.ov-scroll').getBoundingClientRect();"
        " return b.top >= v.top && b.bottom <= v.bottom; }"
    )
    # The end of the diff: the last file's rows, and nothing left standing in for them.
    scroll.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    panel.locator(f'.ov-filehead:has-text("m/f{MANY_FILES - 1}.py")').first.wait_for()
    assert panel.locator(".ov-rest").count() == 0
    assert [orphans.nth(i).get_attribute("data-comment-id") for i in range(orphans.count())] in (["c-away"], [])
    scroll.evaluate("el => { el.scrollTop = 0; }")
    panel.locator(".ov-orphans").wait_for()
    assert [orphans.nth(i).get_attribute("data-comment-id") for i in range(orphans.count())] == ["c-away"]
    page.context.close()
