"""The attention record in a real Chromium against a real ``jupyter lab``: a scripted session
(scroll to hunk 40, stay 3 s, expand context, submit) is stored and read back exactly, and it
says what the session did. A flag stretched over lines with Shift+click, with a severity and a
category, is stored as such."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import Lab, add_study, open_lab, open_study, start_lab

from oversight_ext.analysis.attention import attention_frame
from oversight_ext.attention import lines_seen, seconds_by_hunk
from oversight_ext.diffs import make_diff, parse_diff
from oversight_ext.records import Item
from oversight_ext.store import Store

pytestmark = pytest.mark.browser

N_HUNKS = 50


def many_hunks() -> Item:
    """One file of 50 functions, each changed in one line, 20 unchanged lines apart: 50 hunks,
    each with 8 lines of context either side (the view folds all but 3 of them)."""
    before = "".join(
        f"def f{k}(x):\n    y = x + {k}\n    return y\n" + "".join(f"# pad {k}.{p}\n" for p in range(20)) for k in range(N_HUNKS)
    )
    after = before.replace("    return y\n", "    return (y)\n")
    return Item(
        id="att-many", diff=make_diff(before, after, "many.py", context=8), path="many.py", task="Review fifty changes.", label="correct"
    )


@pytest.fixture(scope="module")
def lab(lab_root: Path, lab_store: Store) -> Iterator[Lab]:
    item = many_hunks()
    assert len(parse_diff(item.diff)[0].hunks) == N_HUNKS
    lab_store.add_items([item])
    add_study(lab_store, "attention", [("att-many", "unassisted", None)])
    add_study(lab_store, "ranges", [("att-many", "unassisted", None)])
    yield from start_lab(lab_root, lab_store)


# Jump near hunk 40 (the rows are of one height), step until its header is rendered, then
# put it at the top: a few neighbouring hunks pass the screen, not the forty before it.
SCROLL_TO_HUNK = """async (el) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  el.scrollTop = el.scrollHeight * 40 / 50;
  for (let i = 0; i < 100; i++) {
    await frame();
    const head = el.querySelector('.ov-hunk[data-file="0"][data-hunk="40"]');
    if (head) {
      el.scrollTop = parseFloat(head.style.top);
      await frame();
      return el.scrollTop;
    }
    const shown = [...el.querySelectorAll('.ov-hunk')].map(h => Number(h.dataset.hunk));
    el.scrollTop += shown.length && Math.min(...shown) > 40 ? -300 : 300;
  }
  return -1;
}"""

# The fold key of the first fold row below hunk 40's header (rows are absolutely placed, so
# their order in the DOM is not their order on screen).
FIRST_FOLD = """(el) => {
  const head = el.querySelector('.ov-hunk[data-hunk="40"]');
  const row = Number(head.dataset.row);
  const folds = [...el.querySelectorAll('.ov-foldrow')].filter(f => Number(f.dataset.row) > row);
  folds.sort((a, b) => Number(a.dataset.row) - Number(b.dataset.row));
  return folds[0].querySelector('.ov-fold').dataset.fold;
}"""


def test_a_scripted_session_is_stored_and_read_back_exactly(browser: Any, lab: Lab, lab_store: Store) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "attention")
    scroll = panel.locator(".ov-scroll")
    assert scroll.evaluate(SCROLL_TO_HUNK) > 0
    page.wait_for_timeout(3000)
    # Expand the fold at the top of hunk 40 (the first fold on screen).
    key = scroll.evaluate(FIRST_FOLD)
    panel.locator(f'.ov-fold[data-fold="{key}"]').click()
    panel.locator(f'.ov-fold[data-fold="{key}"]').wait_for(state="detached")
    page.wait_for_timeout(1000)
    panel.locator('[data-verdict="correct"]').click()
    panel.locator('[data-confidence="0.85"]').click()
    with page.expect_request(lambda r: r.method == "POST" and "/oversight/api/judgments" in r.url) as posted:
        panel.locator(".ov-submit").click()
    panel.locator('.ov-status[data-state="saved"]').wait_for()
    record = json.loads(posted.value.post_data or "{}")["attention"]
    stored = lab_store.judgments(study="attention")
    assert len(stored) == 1 and stored[0].attention == record  # stored exactly as sent
    view = lab.api("GET", "/oversight/api/assignments/attention-0")
    assert view["judgment"]["attention"] == record  # and read back exactly
    # What the record says: hunk 40 was on screen at least the 3 s, the expansion is there,
    # the lines it unfolded were seen after it, and most hunks were never on screen.
    seconds = seconds_by_hunk(record)
    assert seconds[(0, 40)] >= 3.0
    events = [e for e in record["events"] if e[1] == "expand"]
    assert [(e[2], e[3]) for e in events] == [(0, 40)]
    hidden_before = set(range(5))  # the top fold of hunk 40: its first 5 of 8 context lines
    after = {li for t0, t1, f, h, a, b in record["spans"] if (f, h) == (0, 40) and t1 > events[0][0] for li in range(a, b + 1)}
    assert hidden_before <= after
    seen = lines_seen(record)
    assert len(seen) < N_HUNKS // 2 and (0, 0) in seen and (0, 40) in seen
    frame = attention_frame(lab_store, "attention")
    assert 0 < frame["share_seen"][0] < 0.6
    page.context.close()


def test_a_flag_over_a_line_range_with_severity_and_category_is_stored(browser: Any, lab: Lab, lab_store: Store) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "ranges")
    panel.locator('.ov-line .ov-ln[data-side="new"][data-line="2"]').first.click()
    panel.locator('.ov-line .ov-ln[data-side="new"][data-line="5"]').first.click(modifiers=["Shift"])
    flag = panel.locator(".ov-flag")
    flag.locator(".ov-where").filter(has_text="many.py lines 2–5").wait_for()
    assert flag.count() == 1
    flag.locator("select.ov-flag-severity").select_option("major")
    flag.locator("select.ov-flag-category").select_option("security")
    flag.locator("textarea").fill("the return changes the result")
    panel.locator('[data-verdict="buggy"]').click()
    panel.locator('[data-confidence="0.85"]').click()
    panel.locator(".ov-submit").click()
    panel.locator('.ov-status[data-state="saved"]').wait_for()
    (stored,) = lab_store.judgments(study="ranges")
    assert [(f.path, f.line, f.end_line, f.severity, f.category, f.comment) for f in stored.flags] == [
        ("many.py", 2, 5, "major", "security", "the return changes the result")
    ]
    assert flag.locator("select.ov-flag-severity").is_disabled()
    page.context.close()
