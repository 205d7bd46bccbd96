"""The JupyterLab review panel in a real Chromium against a real ``jupyter lab``.

One lab server and one prepared SQLite store serve the module. Each test opens its own
study from the sidebar, acts as a rater would, and reads the store to check what was
recorded. Blinding is checked on the network responses, not on what happens to be visible.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import RATER, Lab, add_study, open_lab, open_study, screenshot, start_lab

from oversight_ext.records import Comment, Critique, Item
from oversight_ext.store import Store
from oversight_ext.submission import BINARY_LEVELS

pytestmark = pytest.mark.browser

MEAN_DIFF = '''--- a/calc/mean.py
+++ b/calc/mean.py
@@ -1,6 +1,6 @@
 def mean(xs):
     """Average of xs."""
-    total = 0
+    total = 1
     for x in xs:
         total += x
-    return total / len(xs)
+    return total / (len(xs) - 1)
'''

C1 = "Starting the sum at 1 adds one to every total."
C2 = "Dividing by len(xs) - 1 is the sample correction, wrong for a mean."
BLIND_TEXT = ("BLIND-SECRET-CLAIM", "BLIND-SECRET-SUMMARY", "BLIND-GOLD-EXPLANATION")

XSS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1;alert(1)">',
    '<svg onload="window.__xss=1"></svg>',
    '<a href="javascript:window.__xss=1">click me</a>',
    "![x](javascript:window.__xss=1)",
    '![img](x" onerror="window.__xss=1)',
    '</textarea><img src=x onerror="window.__xss=1">',
    '"><iframe src="javascript:window.__xss=1"></iframe>',
    '<style>*{display:none}</style><b onmouseover="window.__xss=1">hover</b>',
]
HIDE_TAB = """() => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
  document.dispatchEvent(new Event('visibilitychange'));
}"""
SHOW_TAB = """() => {
  delete document.visibilityState;
  document.dispatchEvent(new Event('visibilitychange'));
}"""
XSS_PATH = "calc/x<img src=x onerror=alert(1)>.py"


BIG = 20000


def big_diff() -> str:
    """A new 20,000-line file, then a small change amid 40 unchanged lines (a fold)."""
    added = "".join(f"+value_{i} = {i}\n" for i in range(1, BIG + 1))
    ctx = [f"line_{i} = {i}" for i in range(1, 41)]
    old = [*ctx[:20], "x = 0", *ctx[20:]]
    new = [*ctx[:20], "x = 1", *ctx[20:]]
    body = "".join(f" {a}\n" if a == b else f"-{a}\n+{b}\n" for a, b in zip(old, new))
    return f"--- /dev/null\n+++ b/big/gen.py\n@@ -0,0 +1,{BIG} @@\n{added}--- a/calc/ctx.py\n+++ b/calc/ctx.py\n@@ -1,41 +1,41 @@\n{body}"


def mean_item(item_id: str, **extra: Any) -> Item:
    return Item(
        id=item_id,
        diff=MEAN_DIFF,
        path="calc/mean.py",
        task="Make mean() return the arithmetic mean of a non-empty list.",
        label="buggy",
        bug_lines=(3, 6),
        explanation="total starts at 1 and the divisor is off by one",
        **extra,
    )


def critique(cid: str, item_id: str, texts: tuple[str, str], path: str = "calc/mean.py", summary: str = "Two bugs.") -> Critique:
    return Critique(
        id=cid,
        item_id=item_id,
        assistant="demo-replay",
        verdict="buggy",
        confidence=0.8,
        summary=summary,
        comments=(
            Comment(id="c1", path=path, start_line=3, end_line=3, text=texts[0]),
            Comment(id="c2", path=path, start_line=6, end_line=6, text=texts[1], severity="minor"),
        ),
    )


@pytest.fixture(scope="module")
def lab(lab_root: Path, lab_store: Store) -> Iterator[Lab]:
    s = lab_store
    xss_diff = f"--- a/{XSS_PATH}\n+++ b/{XSS_PATH}\n@@ -1,1 +1,{len(XSS)} @@\n-old = 1\n" + "\n".join(f"+{p}" for p in XSS) + "\n"
    items = [mean_item(i) for i in ("ui-main", "ui-faith", "ui-restart", "ui-timed")]
    items.append(
        mean_item("ui-blind", meta={"note": "gold"}, bug_type="off-by-one")
        if False
        else Item(
            id="ui-blind",
            diff=MEAN_DIFF,
            path="calc/mean.py",
            task="Review mean().",
            label="buggy",
            bug_lines=(3,),
            explanation=BLIND_TEXT[2],
        )
    )
    items.append(Item(id="ui-xss", diff=xss_diff, path=XSS_PATH, task="\n".join(XSS), spec=" ".join(XSS), label="correct"))
    s.add_items(items)
    s.add_critiques(
        [
            critique("k-main", "ui-main", (C1, C2)),
            critique("k-blind", "ui-blind", (BLIND_TEXT[0], BLIND_TEXT[0] + " again"), summary=BLIND_TEXT[1]),
            critique("k-xss", "ui-xss", (XSS[1], XSS[6]), path=XSS_PATH, summary=" ".join(XSS)),
        ]
    )
    add_study(s, "main", [("ui-main", "critic", "k-main")])
    add_study(s, "faith", [("ui-faith", "critic", "k-main")])
    add_study(s, "restart", [("ui-restart", "unassisted", None)])
    add_study(s, "xss", [("ui-xss", "critic", "k-xss")])
    s.add_items([Item(id="ui-big", diff=big_diff(), path="big/gen.py", task="Review a large generated file.")])
    add_study(s, "big", [("ui-big", "unassisted", None)])
    add_study(s, "timed", [("ui-timed", "unassisted", None)], time_limit_s=2.0, verdict_scale="likert")
    # bob sees the critique of ui-blind; alice reviews the same item unassisted.
    add_study(s, "blind", [("ui-blind", "unassisted", None)])
    add_study(s, "blind-bob", [("ui-blind", "critic", "k-blind")], rater="bob")
    yield from start_lab(lab_root, lab_store)


def choose(panel: Any, verdict: str, confidence: float) -> None:
    panel.locator(f'[data-verdict="{verdict}"]').click()
    panel.locator(f'[data-confidence="{confidence:g}"]').click()


def flag_line(panel: Any, line: int, text: str) -> None:
    panel.locator(f'.ov-line .ov-ln[data-side="new"][data-line="{line}"]').click()
    box = panel.locator(".ov-flag textarea").last
    box.fill(text)


def wait_saved(panel: Any, timeout: float = 30000) -> None:
    panel.locator('.ov-status[data-state="saved"]').wait_for(timeout=timeout)


def test_review_with_critique_stores_the_judgment_field_by_field(browser: Any, lab: Lab, lab_store: Store) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "main")
    opened = time.monotonic()
    assert panel.locator(".ov-task-text").inner_text() == "Make mean() return the arithmetic mean of a non-empty list."
    screenshot(page, "review-panel-light")
    c1 = panel.locator('.ov-comment[data-comment-id="c1"]')
    c2 = panel.locator('.ov-comment[data-comment-id="c2"]')
    assert C1 in c1.inner_text() and C2 in c2.inner_text()
    # j jumps to the first comment and marks it active.
    panel.locator(".ov-scroll").focus()
    page.keyboard.press("j")
    assert "ov-active" in (c1.get_attribute("class") or "")
    c1.locator('[data-action="keep"]').click()
    c2.locator('[data-action="reject"]').click()
    c2.locator("select.ov-reason").select_option("wrong")
    flag_line(panel, 5, "No guard for an empty list here.")
    choose(panel, "buggy", 0.85)
    panel.locator(".ov-overall").fill("Two off-by-one errors.")
    page.wait_for_timeout(1200)  # let the active-time clock tick
    # Three seconds in a hidden tab do not count as time on task.
    page.evaluate(HIDE_TAB)
    page.wait_for_timeout(3000)
    page.evaluate(SHOW_TAB)
    panel.locator(".ov-submit").click()
    wall = time.monotonic() - opened
    wait_saved(panel)
    assert panel.locator(".ov-submit").is_disabled()

    rows = lab_store.judgments(study="main", current=False)
    assert len(rows) == 1
    j = rows[0]
    assert uuid.UUID(j.submission_id).version == 4
    assert (j.rater, j.assignment_id, j.item_id, j.study, j.condition) == (RATER, "main-0", "ui-main", "main", "critic")
    assert (j.verdict, j.confidence, j.likert, j.comment, j.supersedes) == ("buggy", 0.85, None, "Two off-by-one errors.", None)
    assert [(f.path, f.line, f.side, f.comment) for f in j.flags] == [("calc/mean.py", 5, "new", "No guard for an empty list here.")]
    assert sorted((d.comment_id, d.action, d.reason, d.edited_text) for d in j.dispositions) == [
        ("c1", "keep", "valid", None),
        ("c2", "reject", "wrong", None),
    ]
    assert 1.0 <= j.time_on_task_s <= wall - 2.5, (j.time_on_task_s, wall)
    assert j.started_at is not None and j.received_at is not None
    assert j.started_at <= j.submitted_at <= j.received_at
    assert not j.simulated

    # The sidebar reflects the stored judgment.
    page.locator(".ov-refresh").click()
    page.locator('.ov-study-card[data-study="main"] .ov-study-count').filter(has_text="1 / 1 done").wait_for()
    page.context.close()


def test_screenshots_light_and_dark(browser: Any, lab: Lab) -> None:
    lab.set_theme("JupyterLab Dark")
    try:
        page = open_lab(browser, lab)
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
        panel = open_study(page, "faith")
        panel.locator('.ov-comment[data-comment-id="c1"]').wait_for()
        path = screenshot(page, "review-panel-dark")
        assert path.stat().st_size > 10000
        bg = page.evaluate("getComputedStyle(document.querySelector('.ov-review')).backgroundColor")
        channels = [int(x) for x in re.findall(r"\d+", bg)[:3]]
        assert max(channels) < 100, f"the review view ignores the dark theme (background {bg})"
        page.context.close()
    finally:
        lab.set_theme("JupyterLab Light")


def test_unassisted_condition_never_sends_the_critique(browser: Any, lab: Lab) -> None:
    page = open_lab(browser, lab)
    bodies: list[str] = []

    def record(resp: Any) -> None:
        if "/oversight/api/" in resp.url:
            with contextlib.suppress(Exception):  # a response without a body (e.g. a redirect)
                bodies.append(resp.text())

    page.on("response", record)
    panel = open_study(page, "blind")
    page.wait_for_timeout(500)
    assert bodies, "no API response was recorded"
    views = [b for b in bodies if '"assignment"' in b]
    assert views and all('"critique": null' in b for b in views)
    for body in bodies:
        for secret in (*BLIND_TEXT, "k-blind", '"label"', '"explanation"', '"planted"', "blind-bob"):
            assert secret not in body, f"{secret!r} reached the browser in {body[:200]}"
    assert panel.locator(".ov-comment, .ov-critique").count() == 0
    page.context.close()


def test_xss_payloads_stay_inert_text(browser: Any, lab: Lab) -> None:
    page = open_lab(browser, lab)
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    panel = open_study(page, "xss")
    panel.locator('.ov-comment[data-comment-id="c2"]').wait_for()
    # Exercise the controls that put text into form fields, and both diff views.
    panel.locator('.ov-comment[data-comment-id="c2"] [data-action="edit"]').click()
    flag_line(panel, 2, XSS[6])
    panel.locator('[data-mode="split"]').click()
    panel.locator(".ov-pair").first.wait_for()
    panel.locator('[data-mode="unified"]').click()
    page.mouse.move(300, 400)
    page.wait_for_timeout(500)

    assert dialogs == []
    assert page.evaluate("window.__xss") is None
    injected = page.evaluate(
        """() => {
          const root = document.querySelector('.ov-review');
          return {
            scripts: root.querySelectorAll('script, iframe, svg, style, img, b, a').length,
            handlers: [...root.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
          };
        }"""
    )
    assert injected == {"scripts": 0, "handlers": 0}
    assert panel.locator(".ov-task-text").inner_text() == "\n".join(XSS)
    assert XSS_PATH in panel.locator(".ov-filehead .ov-path").inner_text()
    assert panel.locator('.ov-comment[data-comment-id="c2"] textarea').input_value() == XSS[6]
    code = panel.locator(".ov-line.ov-add .ov-code").all_inner_texts()
    assert code == XSS
    page.context.close()


def test_reload_keeps_the_draft_and_a_double_click_stores_one_row(browser: Any, lab: Lab, lab_store: Store) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "faith")
    panel.locator('.ov-comment[data-comment-id="c2"] [data-action="reject"]').click()
    panel.locator('.ov-comment[data-comment-id="c2"] select.ov-reason').select_option("nitpick")
    flag_line(panel, 3, "why start at one?")
    choose(panel, "correct", 0.55)
    page.wait_for_timeout(1200)
    page.reload()
    # The layout restorer reopens the review panel by itself.
    panel = page.locator(".jp-OversightReview:visible .ov-review")
    panel.locator(".ov-task-text").wait_for(timeout=60000)
    assert panel.locator('[data-verdict="correct"]').get_attribute("aria-pressed") == "true"
    assert panel.locator('[data-confidence="0.55"]').get_attribute("aria-pressed") == "true"
    assert panel.locator(".ov-flag textarea").input_value() == "why start at one?"
    c2 = panel.locator('.ov-comment[data-comment-id="c2"]')
    assert c2.locator('[data-action="reject"]').get_attribute("aria-pressed") == "true"
    assert c2.locator("select.ov-reason").input_value() == "nitpick"
    assert "Draft restored" in panel.locator(".ov-status").inner_text()

    panel.locator(".ov-submit").dblclick()
    wait_saved(panel)
    rows = lab_store.judgments(study="faith", current=False)
    assert len(rows) == 1
    j = rows[0]
    assert (j.verdict, j.confidence) == ("correct", 0.55)
    assert [(f.line, f.comment) for f in j.flags] == [(3, "why start at one?")]
    assert [(d.comment_id, d.action, d.reason) for d in j.dispositions] == [("c2", "reject", "nitpick")]
    assert j.time_on_task_s >= 1.0
    page.context.close()


def test_offline_queue_delivers_after_a_server_restart(browser: Any, lab: Lab, lab_store: Store) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "restart")
    choose(panel, "buggy", BINARY_LEVELS[-1])
    flag_line(panel, 6, "divisor")
    lab.stop()
    # JupyterLab may cover the page with a connection-lost dialog: click the button itself.
    panel.locator(".ov-submit").dispatch_event("click")
    panel.locator('.ov-status[data-state="queued"]').wait_for(timeout=30000)
    queued = page.evaluate("JSON.parse(localStorage.getItem('oversight-ext:outbox') || '[]').length")
    assert queued == 1
    assert lab_store.judgments(study="restart", current=False) == []
    lab.start()
    wait_saved(panel, timeout=90000)
    rows = lab_store.judgments(study="restart", current=False)
    assert [(j.verdict, j.confidence, [f.line for f in j.flags]) for j in rows] == [("buggy", 0.95, [6])]
    assert page.evaluate("JSON.parse(localStorage.getItem('oversight-ext:outbox') || '[]').length") == 0
    page.context.close()


def test_time_limit_counts_down_and_auto_submits_a_likert_judgment(browser: Any, lab: Lab, lab_store: Store) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "timed")
    assert "left" in panel.locator(".ov-countdown").inner_text()
    assert panel.locator("[data-likert]").count() == 7
    panel.locator('.ov-status[data-state="error"]').filter(has_text="Time is up").wait_for(timeout=20000)
    assert panel.locator(".ov-countdown").inner_text() == "⏱ 0:00 left"
    # Once time is up, the judgment goes out as soon as it is complete: no submit click.
    panel.locator('[data-likert="6"]').click()
    panel.locator('[data-confidence="0.6"]').click()
    wait_saved(panel)
    rows = lab_store.judgments(study="timed", current=False)
    assert [(j.verdict, j.likert, j.confidence) for j in rows] == [("buggy", 6, 0.6)]
    assert rows[0].time_on_task_s >= 2.0
    page.context.close()


def test_a_large_multi_file_diff_is_virtualised_with_file_list_folds_and_split_view(browser: Any, lab: Lab) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "big")
    scroll = panel.locator(".ov-scroll")
    rows = panel.locator(".ov-scroll [data-row]")
    assert 0 < rows.count() < 200, "the diff is not virtualised"
    scroll.evaluate("el => { el.scrollTop = el.scrollHeight / 2; }")
    panel.locator('.ov-ln[data-side="new"][data-line="10000"]').wait_for()
    assert rows.count() < 200
    # The file list jumps to the second file, whose unchanged run is folded.
    files = panel.locator(".ov-files .ov-file")
    assert files.all_inner_texts() == [f"big/gen.py +{BIG} −0", "calc/ctx.py +1 −1"]
    files.nth(1).click()
    fold = panel.locator(".ov-fold").first
    fold.wait_for()
    assert panel.locator('.ov-ln[data-side="new"][data-line="10"]').count() == 0
    fold.click()
    panel.locator('.ov-ln[data-side="new"][data-line="10"]').wait_for()
    panel.locator('[data-mode="split"]').click()
    panel.locator(".ov-pair .ov-code.ov-del").filter(has_text="x = 0").wait_for()
    pair = panel.locator(".ov-pair").filter(has_text="x = 0")
    assert pair.locator(".ov-right").inner_text() == "x = 1"
    assert rows.count() < 200
    page.context.close()
