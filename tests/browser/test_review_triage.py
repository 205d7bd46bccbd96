"""Suspicion triage in a real Chromium against a real ``jupyter lab``: an unassisted rater's
browser receives no hunk scores at all (every API response is checked) and shows no minimap;
an assisted rater sees the minimap, the ranked hunks, and "next suspicious hunk" goes to them
in order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import Lab, add_study, open_lab, open_study, start_lab

from oversight_ext.diffs import make_diff, parse_diff
from oversight_ext.records import Critique, Item
from oversight_ext.store import Store

pytestmark = pytest.mark.browser

N_HUNKS = 30
# Distinct values, so a leak shows up as text in a response: hunk 22 is the most suspicious, then hunk 7.
SCORES = tuple(0.9713 if k == 22 else 0.8627 if k == 7 else round(0.0131 + 0.0011 * k, 4) for k in range(N_HUNKS))


def item(item_id: str) -> Item:
    before = "".join(f"def f{k}(x):\n    return x + {k}\n" + "".join(f"# pad {k}.{p}\n" for p in range(12)) for k in range(N_HUNKS))
    after = before.replace("    return x + ", "    return x - ")
    return Item(id=item_id, diff=make_diff(before, after, "big.py"), path="big.py", task=f"Review {item_id}.")


@pytest.fixture(scope="module")
def lab(lab_root: Path, lab_store: Store) -> Iterator[Lab]:
    items = [item("tri-a"), item("tri-b")]
    assert all(len(parse_diff(it.diff)[0].hunks) == N_HUNKS for it in items)
    lab_store.add_items(items)
    # Both items have a monitor's critique stored; only the assisted assignment may show it.
    lab_store.add_critiques(
        [Critique(id=f"m-{it.id}", item_id=it.id, assistant="monitor", verdict="buggy", confidence=0.7, hunk_scores=SCORES) for it in items]
    )
    add_study(lab_store, "tri-alone", [("tri-a", "unassisted", None)])
    add_study(lab_store, "tri-help", [("tri-b", "critic", "m-tri-b")])
    yield from start_lab(lab_root, lab_store)


def api_texts(responses: list[Any]) -> list[str]:
    return [r.text() for r in responses if "/oversight/api/" in r.url]


def test_an_unassisted_rater_receives_no_suspicion_data(browser: Any, lab: Lab) -> None:
    page = open_lab(browser, lab)
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r))
    panel = open_study(page, "tri-alone")
    panel.locator('.ov-hunk[data-hunk="0"]').wait_for()
    page.wait_for_timeout(500)
    texts = api_texts(responses)
    assert any('"files"' in t for t in texts)  # the item view itself was among them
    for text in texts:
        assert "hunk_scores" not in text and "0.9713" not in text and "0.8627" not in text, text[:300]
    assert panel.locator(".ov-minimap").count() == 0
    assert panel.locator(".ov-next-suspicious").count() == 0 and panel.locator(".ov-ranked-toggle").count() == 0
    page.context.close()


HEAD_ON_SCREEN = """(el, hunk) => {
  const head = el.querySelector(`.ov-hunk[data-file="0"][data-hunk="${hunk}"]`);
  if (!head) return false;
  const box = head.getBoundingClientRect(), view = el.getBoundingClientRect();
  return box.top >= view.top && box.bottom <= view.bottom;
}"""


def test_an_assisted_rater_sees_the_minimap_and_goes_to_the_most_suspicious_hunks(browser: Any, lab: Lab) -> None:
    page = open_lab(browser, lab)
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r))
    panel = open_study(page, "tri-help")
    minimap = panel.locator(".ov-minimap")
    minimap.wait_for()
    assert any("0.9713" in t for t in api_texts(responses))
    box = minimap.bounding_box()
    assert box is not None and box["height"] > 200 and box["width"] >= 10
    # The band of the most suspicious hunk is painted red on the canvas, about 22/30 of the way down.
    red = minimap.evaluate(
        """(m) => { const c = m.querySelector('canvas'); const g = c.getContext('2d');
        const y = Math.floor(c.height * 22.5 / 30); const p = g.getImageData(Math.floor(c.width / 2), y, 1, 1).data;
        const q = g.getImageData(Math.floor(c.width / 2), Math.floor(c.height * 2.5 / 30), 1, 1).data;
        return {hot: [p[0], p[1], p[2]], cool: [q[0], q[1], q[2]]}; }"""
    )
    assert red["hot"][0] > 150 and red["hot"][1] < 80, red  # red
    assert red["cool"][1] > 180, red  # pale
    scroll = panel.locator(".ov-scroll")
    panel.locator(".ov-next-suspicious").click()
    page.wait_for_function('([el, h]) => !!el.querySelector(`.ov-hunk[data-hunk="${h}"]`)', arg=[scroll.element_handle(), 22])
    assert scroll.evaluate(HEAD_ON_SCREEN, 22)
    panel.locator(".ov-next-suspicious").click()
    page.wait_for_function('([el, h]) => !!el.querySelector(`.ov-hunk[data-hunk="${h}"]`)', arg=[scroll.element_handle(), 7])
    assert scroll.evaluate(HEAD_ON_SCREEN, 7)
    # The ranked list: the most suspicious first; a click goes there.
    panel.locator(".ov-ranked-toggle").click()
    ranked = panel.locator(".ov-ranked-item")
    ranked.first.wait_for()
    assert [ranked.nth(i).get_attribute("data-hunk") for i in range(3)] == ["22", "7", "29"]
    assert ranked.first.inner_text().startswith("97%")
    ranked.nth(2).click()
    page.wait_for_function('([el, h]) => !!el.querySelector(`.ov-hunk[data-hunk="${h}"]`)', arg=[scroll.element_handle(), 29])
    assert scroll.evaluate(HEAD_ON_SCREEN, 29)
    page.context.close()
