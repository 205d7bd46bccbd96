"""The instructor dashboard panel in a real JupyterLab and Chromium: charts appear, reveal works."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import RATER, Lab, open_lab, screenshot, start_lab

from oversight_ext.store import Store
from oversight_ext.workshop import is_revealed, mix_in_simulated
from oversight_ext.workshop.practice import practice_study

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(lab_root: Path, lab_store: Store) -> Iterator[Lab]:
    practice_study(lab_store, "klass", open_slots=6, n_items=6, owner=RATER, seed=1)
    mix_in_simulated(lab_store, "klass", 4, by=RATER, seed=2)
    yield from start_lab(lab_root, lab_store)


def test_dashboard_shows_charts_and_reveals(lab: Lab, browser: Any, lab_store: Store) -> None:
    page = open_lab(browser, lab)
    page.wait_for_selector('.lm-TabBar-tab[data-id="oversight-studies"]', timeout=60000)  # the extension is up
    # A reset workspace may still be settling (the shell re-lays itself out once the workspace is
    # cleared), which can swallow the first shortcut: press it again until the palette shows.
    palette = page.locator(".lm-CommandPalette-input")
    for _attempt in range(5):
        page.click("#jp-main-dock-panel")
        page.keyboard.press("Control+Shift+C")
        with contextlib.suppress(Exception):
            palette.wait_for(state="visible", timeout=5000)
        if palette.is_visible():
            break
    palette.fill("Open Instructor Dashboard")
    page.locator(".lm-CommandPalette-item.lm-mod-active", has_text="Open Instructor Dashboard").wait_for(state="attached")
    try:
        palette.press("Enter")  # runs the active (first matching) command, as a keyboard user would
        page.locator(".jp-Dialog input").wait_for(timeout=10000)
    except Exception:
        screenshot(page, "dashboard-palette-failed")
        raise
    page.locator(".jp-Dialog input").fill("klass")
    page.keyboard.press("Enter")
    panel = page.locator(".jp-OversightDashboard")
    panel.wait_for(timeout=30000)
    for name in ("participants", "accuracy", "sandwich", "most_missed"):
        img = panel.locator(f"img.ov-dash-{name}")
        try:
            img.wait_for(timeout=60000)
        except Exception:
            screenshot(page, "dashboard-failed")
            raise AssertionError(f"no {name} chart; the panel says: {panel.inner_text()[:500]}") from None
        assert page.evaluate("(el) => el.naturalWidth", img.element_handle()) > 50  # the SVG decoded and drew
    assert "+ 4 simulated" in panel.locator(".ov-dash-summary").inner_text()
    assert not is_revealed(lab_store, "klass")
    panel.locator(".ov-dash-reveal").click()
    page.wait_for_function("() => document.querySelector('.ov-dash-reveal').textContent.startsWith('Hide')")
    assert is_revealed(lab_store, "klass")
    screenshot(page, "dashboard")
