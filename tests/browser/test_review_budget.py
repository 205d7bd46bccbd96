"""Judging under limits in a real Chromium against a real ``jupyter lab``: "cannot judge" with a
reason is stored (no verdict) and the queue shows it as its own status; under an audit budget the
hunks start sealed, opening one costs an audit (the header counts down), at zero the rest cannot
be opened, and the opens reach the store as ``audit`` attention events; search reports the
matches inside sealed hunks by count and hunk header only, and opening one makes them hits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import Lab, add_study, open_lab, open_study, start_lab

from oversight_ext.attention import audited_hunks
from oversight_ext.diffs import make_diff, parse_diff
from oversight_ext.records import Item
from oversight_ext.store import Store

pytestmark = pytest.mark.browser

N_HUNKS = 5


def item(item_id: str) -> Item:
    before = "".join(f"def f{k}(x):\n    return x + {k}\n" + "".join(f"# pad {k}.{p}\n" for p in range(10)) for k in range(N_HUNKS))
    after = before.replace("    return x + ", "    return x - ")
    return Item(id=item_id, diff=make_diff(before, after, "big.py"), path="big.py", task=f"Review {item_id}.", label="buggy")


@pytest.fixture(scope="module")
def lab(lab_root: Path, lab_store: Store) -> Iterator[Lab]:
    items = [item("cj-a"), item("cj-b"), item("au-a"), item("se-a")]
    assert all(len(parse_diff(it.diff)[0].hunks) == N_HUNKS for it in items)
    lab_store.add_items(items)
    add_study(lab_store, "cj", [("cj-a", "unassisted", None), ("cj-b", "unassisted", None)])
    add_study(lab_store, "au", [("au-a", "unassisted", None)], audit_budget_hunks=2)
    add_study(lab_store, "se", [("se-a", "unassisted", None)], audit_budget_hunks=2)
    yield from start_lab(lab_root, lab_store)


def test_cannot_judge_is_stored_with_its_reason_and_listed_as_its_own_status(browser: Any, lab: Lab, lab_store: Store) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "cj")
    panel.locator(".ov-cannot").click()
    box = panel.locator(".ov-cannot-box")
    box.locator("select.ov-cannot-reason").select_option("other")
    box.locator(".ov-cannot-send").click()
    # "Other" needs a note: nothing is sent without one.
    assert "Say why" in box.locator(".ov-cannot-problem").inner_text()
    assert lab_store.judgments(study="cj", current=False, cannot_judge=True) == []
    box.locator(".ov-cannot-note").fill("generated code I cannot follow")
    box.locator(".ov-cannot-send").click()
    panel.locator('.ov-status[data-state="saved"]').wait_for(timeout=30000)
    (stored,) = lab_store.judgments(study="cj", current=False, cannot_judge=True)
    assert stored.verdict is None and stored.confidence is None and stored.item_id == "cj-a"
    assert stored.cannot_judge is not None and (stored.cannot_judge.reason, stored.cannot_judge.note) == (
        "other",
        "generated code I cannot follow",
    )
    assert lab_store.judgments(study="cj") == []  # verdict readers never see it
    panel.locator(".ov-queue-toggle").click()
    first = panel.locator('.ov-queue-item[data-assignment="cj-0"]')
    first.wait_for()
    assert first.get_attribute("data-status") == "cannot_judge" and "cannot judge" in first.inner_text()
    assert panel.locator('.ov-queue-item[data-assignment="cj-1"]').get_attribute("data-status") == "open"
    page.context.close()


def test_an_audit_budget_seals_hunks_and_counts_the_opens(browser: Any, lab: Lab, lab_store: Store) -> None:
    page = open_lab(browser, lab)
    panel = open_study(page, "au")
    counter = panel.locator(".ov-audits")
    assert counter.inner_text() == "2 of 2 audits left"
    sealed = panel.locator(".ov-sealed")
    sealed.first.wait_for()
    # Each hunk shows its header and its first changed line only.
    assert panel.locator('.ov-sealed[data-hunk="0"]').count() == 1
    assert panel.locator(".ov-line").count() == panel.locator(".ov-hunk").count()
    panel.locator('.ov-sealed[data-hunk="0"] .ov-audit-open').click()
    assert counter.inner_text() == "1 of 2 audits left"
    assert panel.locator('.ov-sealed[data-hunk="0"]').count() == 0
    panel.locator('.ov-sealed[data-hunk="1"] .ov-audit-open').click()
    assert counter.inner_text() == "0 of 2 audits left"
    # At zero the rest cannot be opened, and say so.
    rest = panel.locator('.ov-sealed[data-hunk="2"]')
    assert rest.locator(".ov-audit-open").count() == 0
    assert "No audits left" in rest.locator(".ov-audit-none").inner_text()
    panel.locator('[data-verdict="buggy"]').click()
    panel.locator('[data-confidence="0.75"]').click()
    panel.locator(".ov-submit").click()
    panel.locator('.ov-status[data-state="saved"]').wait_for(timeout=30000)
    (stored,) = lab_store.judgments(study="au")
    assert audited_hunks(stored.attention) == {(0, 0), (0, 1)}
    page.context.close()


def test_search_counts_matches_in_sealed_hunks_without_showing_them(browser: Any, lab: Lab, lab_store: Store) -> None:
    query = "pad 3."
    files = parse_diff(item("se-a").diff)
    per_hunk = {h: sum(query in ln.text for ln in hunk.lines) for h, hunk in enumerate(files[0].hunks)}
    per_hunk = {h: n for h, n in per_hunk.items() if n}
    assert len(per_hunk) >= 2  # the pad lines of function 3 show up in two hunks' context
    page = open_lab(browser, lab)
    bodies: list[str] = []

    def keep(resp: Any) -> None:
        if "/oversight/api/" in resp.url:
            with contextlib.suppress(Exception):
                bodies.append(resp.text())

    page.on("response", keep)
    panel = open_study(page, "se")
    panel.locator(".ov-sealed").first.wait_for()
    panel.locator(".ov-search").fill(query)
    panel.locator(".ov-search").press("Enter")
    summary = panel.locator(".ov-sealed-hits")
    summary.wait_for()
    n = sum(per_hunk.values())
    assert summary.inner_text() == f"{n} matches in {len(per_hunk)} sealed hunks"
    assert panel.locator(".ov-search-count").inner_text() == "no open match"
    # No line of a sealed hunk beyond its first change is on the page; the sealed rows count their matches.
    assert query not in panel.locator(".ov-scroll").inner_text().replace("search match", "")
    first = min(per_hunk)
    badge = panel.locator(f'.ov-sealed[data-hunk="{first}"] .ov-sealed-matches')
    assert badge.inner_text() == f"{per_hunk[first]} search match{'es' if per_hunk[first] > 1 else ''} inside"
    # The list: the sealed hunks in diff order, by header, with their counts.
    summary.click()
    entries = panel.locator(".ov-sealed-hit")
    assert [int(entries.nth(k).get_attribute("data-hunk")) for k in range(entries.count())] == sorted(per_hunk)
    head = files[0].hunks[first]
    assert f"@@ -{head.old_start},{head.old_len} +{head.new_start},{head.new_len} @@" in entries.first.inner_text()
    assert query not in panel.locator(".ov-sealed-hit-list").inner_text()
    # Going there costs nothing; opening the hunk costs one audit and makes its matches hits.
    entries.first.click()
    assert panel.locator(".ov-audits").inner_text() == "2 of 2 audits left"
    panel.locator(f'.ov-sealed[data-hunk="{first}"] .ov-audit-open').click()
    assert panel.locator(".ov-audits").inner_text() == "1 of 2 audits left"
    assert panel.locator(".ov-search-count").inner_text() == f"1 of {per_hunk[first]}"
    assert query in panel.locator(".ov-hit-current").inner_text()
    rest = n - per_hunk[first]
    assert (
        summary.inner_text()
        == f"{rest} match{'es' if rest > 1 else ''} in {len(per_hunk) - 1} sealed hunk{'s' if len(per_hunk) > 2 else ''}"
    )
    # An unassisted condition: no triage on screen, and no suspicion data crossed the network.
    assert panel.locator(".ov-next-suspicious").count() == 0
    assert bodies and not any("hunk_scores" in b or "suspicion" in b for b in bodies)
    panel.locator('[data-verdict="correct"]').click()
    panel.locator('[data-confidence="0.75"]').click()
    panel.locator(".ov-submit").click()
    panel.locator('.ov-status[data-state="saved"]').wait_for(timeout=30000)
    (stored,) = lab_store.judgments(study="se")
    assert audited_hunks(stored.attention) == {(0, first)}
    page.context.close()
