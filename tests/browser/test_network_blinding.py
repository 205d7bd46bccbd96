"""An unassisted rater's whole network traffic holds no gold, dataset name or label, ids included.

Items of the shared code-pair schema carry their dataset and the change's direction in
their ids (``humaneval-12_introduce_bug``); critiques of the planted critic name the item
too. A real ``jupyter lab`` and Chromium: the rater opens the study from the sidebar, reviews
both items unassisted and submits, while every request (URL and body), every response (URL,
headers and body, JupyterLab's own files included) and every websocket frame is recorded.
None may carry a stored id, the dataset's name, a direction, a label, a bug line list, the
explanation or the critique, which another rater sees for the same item.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import RATER, Lab, add_study, open_lab, open_study, start_lab

from oversight_ext.records import Comment, Critique, Item
from oversight_ext.store import Store
from oversight_ext.submission import BINARY_LEVELS

pytestmark = pytest.mark.browser

DIFF = """--- a/calc/clamp.py
+++ b/calc/clamp.py
@@ -1,4 +1,4 @@
 def clamp(x, lo, hi):
-    if x < lo:
+    if x <= lo:
         return lo
     return min(x, hi)
"""
ITEMS = ("humaneval-12_introduce_bug", "mbpp-40_fix_bug")
CRITIQUE = "planted:f00dfeed:humaneval-12_introduce_bug"
EXPLANATION = "NETGOLD-EXPLANATION: the comparison now includes lo."
BUG_TYPE = "netgold_boundary_flip"
CLAIM = "NETGOLD-CLAIM: x == lo now returns lo early."
#: Strings that would give the answer away; none may appear anywhere in the traffic.
SECRETS = ("humaneval", "mbpp", "introduce_bug", "fix_bug", "f00dfeed", "planted", "NETGOLD", BUG_TYPE, "net-bob")
#: JSON keys of gold: JupyterLab's own files say "label" everywhere, so these are checked in the review API's bodies.
GOLD_KEYS = ('"label"', '"bug_lines"', '"explanation"', '"bug_type"', '"direction"', '"pair_id"', '"provenance"', '"meta"')


@pytest.fixture(scope="module")
def lab(lab_root: Path, lab_store: Store) -> Iterator[Lab]:
    s = lab_store
    s.add_items(
        [
            Item(
                id=ITEMS[0],
                diff=DIFF,
                path="calc/clamp.py",
                task="Review clamp(), the first version.",
                label="buggy",
                bug_lines=(2,),
                bug_type=BUG_TYPE,
                explanation=EXPLANATION,
                pair_id="humaneval-12",
                meta={"dataset": "humaneval", "direction": "introduce_bug"},
            ),
            Item(
                id=ITEMS[1],
                diff=DIFF,
                path="calc/clamp.py",
                task="Review clamp(), the second version.",
                label="correct",
                explanation=EXPLANATION,
                pair_id="mbpp-40",
                meta={"dataset": "mbpp", "direction": "fix_bug"},
            ),
        ]
    )
    comment = Comment(id="c1", path="calc/clamp.py", start_line=2, end_line=2, text=CLAIM)
    s.add_critiques([Critique(id=CRITIQUE, item_id=ITEMS[0], assistant="planted", comments=(comment,), verdict="buggy", summary=CLAIM)])
    # alice reviews both items unassisted; bob sees the planted critique of the first.
    add_study(s, "net", [(ITEMS[0], "unassisted", None), (ITEMS[1], "unassisted", None)])
    add_study(s, "net-bob", [(ITEMS[0], "critic", CRITIQUE)], rater="bob")
    yield from start_lab(lab_root, lab_store)


class Traffic:
    """Everything that crossed the page's network: (what, url, text) records."""

    def __init__(self, page: Any) -> None:
        self.records: list[tuple[str, str, str]] = []
        page.on("request", self.request)
        page.on("response", self.response)
        page.on("websocket", self.websocket)

    def request(self, req: Any) -> None:
        self.records.append(("request", req.url, req.post_data or ""))

    def response(self, resp: Any) -> None:
        body = ""
        with contextlib.suppress(Exception):  # redirects and aborted loads have no body
            body = resp.text()
        headers = "\n".join(f"{k}: {v}" for k, v in resp.headers.items())
        self.records.append(("response", resp.url, headers + "\n\n" + body))

    def websocket(self, ws: Any) -> None:
        self.records.append(("websocket", ws.url, ""))
        ws.on("framereceived", lambda frame: self.records.append(("frame in", ws.url, str(frame))))
        ws.on("framesent", lambda frame: self.records.append(("frame out", ws.url, str(frame))))


def test_unassisted_rater_traffic_holds_no_gold_dataset_or_label(browser: Any, lab: Lab, lab_store: Store) -> None:
    page = open_lab(browser, lab)
    traffic = Traffic(page)
    page.reload()  # record the whole load of the lab, its own files included
    page.wait_for_selector("#jp-main-dock-panel", timeout=60000)
    panel = open_study(page, "net")
    for position, which in enumerate(("first", "second")):
        panel.locator(".ov-task-text").filter(has_text=f"the {which} version").wait_for()
        panel.locator('[data-verdict="buggy"]').click()
        panel.locator(f'[data-confidence="{BINARY_LEVELS[-1]:g}"]').click()
        panel.locator(".ov-submit").click()
        panel.locator('.ov-status[data-state="saved"]').wait_for(timeout=30000)
        rows = lab_store.judgments(study="net", rater=RATER)
        assert len(rows) == position + 1
        if position == 0:
            panel.locator(".ov-next").click()
    page.wait_for_timeout(1000)  # late responses (the sidebar's refresh)

    stored = {j.item_id for j in lab_store.judgments(study="net", rater=RATER)}
    assert stored == set(ITEMS)  # both items were reviewed and stored under their real ids
    api = [r for r in traffic.records if "/oversight/api/" in r[1]]
    views = [r for r in api if r[0] == "response" and '"assignment"' in r[2]]
    posts = [r for r in api if r[0] == "request" and r[1].split("?")[0].endswith("/judgments") and r[2]]
    assert len(views) >= 2 and len(posts) >= 2, [(k, u) for k, u, _ in api]
    assert all('"critique": null' in body for _, _, body in views)
    assert len(traffic.records) > 50  # the lab's own load is in the record too
    for kind, url, text in traffic.records:
        for secret in SECRETS:
            assert secret.lower() not in url.lower() and secret.lower() not in text.lower(), f"{secret!r} in {kind} {url}: {text[:300]}"
    for kind, url, text in api:
        for key in GOLD_KEYS:
            assert key not in text, f"{key} in {kind} {url}: {text[:300]}"
    print(
        f"network blinding: {len(traffic.records)} records ({len(api)} of the review API, "
        f"{sum(k.startswith('frame') for k, _, _ in traffic.records)} websocket frames), none with gold"
    )
    page.context.close()
