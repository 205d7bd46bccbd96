"""The notebook widget (``oversight_ext.review(study)``) in a real Chromium and kernel.

The same ReviewView as the panel, talking to the kernel through anywidget: a judgment made in
a notebook cell lands in the store field by field, and a draft survives a kernel restart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import RATER, Lab, add_study, screenshot, start_lab

from oversight_ext.records import Comment, Critique, Item
from oversight_ext.store import Store

pytestmark = pytest.mark.browser

DIFF = "--- a/stack.py\n+++ b/stack.py\n@@ -1,4 +1,4 @@\n def pop(items):\n-    return items.pop()\n+    return items.pop(0)\n \n # end\n"

NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "review-cell",
            "metadata": {},
            "outputs": [],
            "source": ["import oversight_ext\n", f'oversight_ext.review("wstudy", rater="{RATER}")'],
        }
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


LONG_TASK = "Fix `pop()` so that it **removes the last** element.\n\n- keep the signature\n- <b>no</b> new imports"
LONG_CLAIM = " ".join(["pop(0) removes the first element, so the stack behaves as a queue: every caller that"] * 6) + " END-OF-CLAIM"


def notebook(study: str) -> dict[str, Any]:
    cell = {**NOTEBOOK["cells"][0], "source": ["import oversight_ext\n", f'oversight_ext.review("{study}", rater="{RATER}")']}  # type: ignore[index]
    return {**NOTEBOOK, "cells": [cell]}


@pytest.fixture(scope="module")
def lab(lab_root: Path, lab_store: Store) -> Iterator[Lab]:
    items = [Item(id=f"w{k}", diff=DIFF, path="stack.py", task=f"pop() must remove the last element ({k}).", label="buggy") for k in (1, 2)]
    lab_store.add_items(items)
    lab_store.add_critiques(
        [
            Critique(
                id=f"kw{k}",
                item_id=f"w{k}",
                assistant="demo-replay",
                verdict="buggy",
                confidence=0.6,
                comments=(Comment(id="c1", path="stack.py", start_line=2, end_line=2, text="pop(0) removes the first element."),),
            )
            for k in (1, 2)
        ]
    )
    add_study(lab_store, "wstudy", [("w1", "critic", "kw1"), ("w2", "unassisted", None)])
    lab_store.add_items([Item(id="wl", diff=DIFF, path="stack.py", task=LONG_TASK, label="buggy")])
    lab_store.add_critiques(
        [
            Critique(
                id="kwl",
                item_id="wl",
                assistant="demo-replay",
                verdict="buggy",
                confidence=0.8,
                comments=(Comment(id="c1", path="stack.py", start_line=2, end_line=2, text=LONG_CLAIM, severity="critical"),),
            )
        ]
    )
    add_study(lab_store, "wlong", [("wl", "critic", "kwl")])
    yield from start_lab(lab_root, lab_store)


def wait_idle(page: Any) -> None:
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=90000)


def wait_saved(w: Any) -> None:
    try:
        w.locator('.ov-status[data-state="saved"]').wait_for()
    except Exception:
        raise AssertionError(f"not saved; the widget says {w.locator('.ov-status').all_inner_texts()!r}") from None


def run_cell(page: Any) -> Any:
    """Run the review cell and return the widget; a kernel that is still connecting may drop a first request."""
    widget = page.locator(".jp-OutputArea-output .ov-review")
    for _attempt in range(3):
        page.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
        page.keyboard.press("Control+Enter")
        try:
            widget.locator(".ov-task-text").wait_for(timeout=30000)
            return widget
        except Exception:
            continue
    screenshot(page, "widget-failure")
    outputs = page.locator(".jp-OutputArea").all_inner_texts()
    raise AssertionError(f"the review widget did not render; cell outputs: {outputs}")


def test_notebook_widget_records_a_judgment_and_keeps_a_draft_across_a_kernel_restart(browser: Any, lab: Lab, lab_store: Store) -> None:
    (lab.notebooks / "review.ipynb").write_text(json.dumps(NOTEBOOK))
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30000)
    page.goto(f"{lab.url}/lab/tree/review.ipynb?token={lab.token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60000)
    wait_idle(page)

    w = run_cell(page)
    assert w.locator(".ov-task-text").inner_text() == "pop() must remove the last element (1)."
    w.locator('.ov-comment[data-comment-id="c1"] [data-action="keep"]').click()
    w.locator('.ov-line .ov-ln[data-side="new"][data-line="2"]').click()
    w.locator(".ov-flag textarea").fill("pops the wrong end")
    w.locator('[data-verdict="buggy"]').click()
    w.locator('[data-confidence="0.65"]').click()
    w.locator(".ov-submit").click()
    wait_saved(w)
    rows = lab_store.judgments(study="wstudy", current=False)
    assert len(rows) == 1
    j = rows[0]
    assert (j.rater, j.assignment_id, j.verdict, j.confidence, j.condition) == (RATER, "wstudy-0", "buggy", 0.65, "critic")
    assert [(f.path, f.line, f.side, f.comment) for f in j.flags] == [("stack.py", 2, "new", "pops the wrong end")]
    assert [(d.comment_id, d.action, d.reason) for d in j.dispositions] == [("c1", "keep", "valid")]
    assert j.time_on_task_s >= 0 and j.received_at is not None

    # The next item is unassisted: no critique reaches the widget either.
    w.locator(".ov-next").click()
    w.locator(".ov-task-text").filter(has_text="(2)").wait_for()
    assert w.locator(".ov-comment, .ov-critique").count() == 0
    w.locator('[data-verdict="correct"]').click()
    w.locator('[data-confidence="0.55"]').click()
    w.locator('.ov-line .ov-ln[data-side="new"][data-line="2"]').click()
    w.locator(".ov-flag textarea").fill("kept across restarts")

    # Restart the kernel: the widget's model dies with it; the draft lives in the browser.
    page.locator(".jp-Notebook").click()
    page.keyboard.press("Escape")
    page.keyboard.press("0")
    page.keyboard.press("0")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    wait_idle(page)
    w = run_cell(page)
    w.locator(".ov-task-text").filter(has_text="(2)").wait_for()
    assert w.locator('[data-verdict="correct"]').get_attribute("aria-pressed") == "true"
    assert w.locator(".ov-flag textarea").input_value() == "kept across restarts"
    w.locator(".ov-submit").click()
    wait_saved(w)
    second = [j for j in lab_store.judgments(study="wstudy", current=False) if j.assignment_id == "wstudy-1"]
    assert [(j.verdict, j.confidence, [f.comment for f in j.flags], j.dispositions) for j in second] == [
        ("correct", 0.55, ["kept across restarts"], ())
    ]
    context.close()


def test_notebook_widget_fits_the_window_renders_markdown_and_shows_a_whole_comment_card(browser: Any, lab: Lab) -> None:
    (lab.notebooks / "long.ipynb").write_text(json.dumps(notebook("wlong")))
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30000)
    # `reset`: the workspace would also restore the notebook of the test before.
    page.goto(f"{lab.url}/lab/tree/long.ipynb?reset&token={lab.token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60000)
    wait_idle(page)
    w = run_cell(page)
    # The task statement is Markdown, rendered safely: code and bold are elements, HTML is text.
    task = w.locator(".ov-task-text")
    assert task.locator("code").inner_text() == "pop()"
    assert task.locator("strong").inner_text() == "removes the last"
    assert task.locator("li").all_inner_texts() == ["keep the signature", "<b>no</b> new imports"]
    assert task.locator("b").count() == 0
    # The diff gets most of the window, not a dozen lines.
    assert w.locator(".ov-scroll").evaluate("el => el.clientHeight") >= 400
    # The whole comment card is on its row: the claim's last word shows, nothing scrolls inside.
    card = w.locator('.ov-comment[data-comment-id="c1"]')
    card.scroll_into_view_if_needed()
    fit = card.evaluate(
        """el => {
      const claim = el.querySelector('.ov-claim');
      const c = claim.getBoundingClientRect(), r = el.getBoundingClientRect();
      return { claim: claim.scrollHeight <= claim.clientHeight + 1, card: el.scrollHeight <= el.clientHeight + 1,
               inside: c.bottom <= r.bottom + 1 && c.height > 0 };
    }"""
    )
    assert fit == {"claim": True, "card": True, "inside": True}, fit
    assert card.locator(".ov-claim").inner_text().endswith("END-OF-CLAIM")
    screenshot(page, "widget-comment-card")
    # Once saved, the kernel re-sends the item with the judgment: the widget offers a revision,
    # so keep / edit / reject are live again and show the stored choice.
    card.locator('[data-action="keep"]').click()
    w.locator('[data-verdict="buggy"]').click()
    w.locator('[data-confidence="0.85"]').click()
    w.locator(".ov-submit").click()
    wait_saved(w)
    w.locator(".ov-submit").filter(has_text="Submit revision").wait_for()
    keep = w.locator('.ov-comment[data-comment-id="c1"] [data-action="keep"]')
    assert keep.get_attribute("aria-pressed") == "true" and keep.is_enabled()
    context.close()
