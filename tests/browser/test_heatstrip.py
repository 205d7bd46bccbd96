"""The reward-model heat strip in a real JupyterLab and Chromium: opened from the instructor dashboard,
it colours each added line of an item's diff by a tiny trained model's attribution, with a legend and
a tooltip carrying the value; for a study the user does not own it shows the server's refusal and no strip."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import RATER, Lab, open_lab, screenshot, start_lab

from oversight_ext.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the heat-strip fixtures and tiny pairs
from test_reward_heatstrip import ADDED, heat_study, tiny_reward_model

pytestmark = pytest.mark.browser


class HeatLab(Lab):
    model = ""

    def env(self) -> dict[str, str]:
        return {**super().env(), "OVERSIGHT_REWARD_MODEL": self.model}


@pytest.fixture(scope="module")
def lab(lab_root: Path, lab_store: Store) -> Iterator[Lab]:
    HeatLab.model = str(tiny_reward_model(lab_root / "rm"))
    heat_study(lab_store, "heat", RATER, ["bob"])  # the browser's user owns this study
    heat_study(lab_store, "notmine", "prof", [RATER])  # ... and only rates this one
    yield from start_lab(lab_root, lab_store, HeatLab)


def run_command(page: Any, label: str) -> None:
    """Run a command from the palette, as a keyboard user would; a settling workspace may swallow the
    shortcut or close the palette again, so open it and type until the command is the active match."""
    palette = page.locator(".lm-CommandPalette-input")
    active = page.locator(".lm-CommandPalette-item.lm-mod-active", has_text=label)
    for _attempt in range(10):
        page.click("#jp-main-dock-panel")
        page.keyboard.press("Control+Shift+C")
        with contextlib.suppress(Exception):
            palette.fill(label, timeout=3000)
            active.wait_for(state="attached", timeout=3000)
            palette.press("Enter", timeout=3000)
            return
        page.wait_for_timeout(1000)
    screenshot(page, "heatstrip-palette-failed")
    raise AssertionError(f"the command palette did not run {label!r}")


def test_heat_strip_from_the_dashboard_colours_added_lines(lab: Lab, browser: Any) -> None:
    page = open_lab(browser, lab)
    page.wait_for_selector('.lm-TabBar-tab[data-id="oversight-studies"]', timeout=60000)
    run_command(page, "Open Instructor Dashboard")
    page.locator(".jp-Dialog input").fill("heat")
    page.keyboard.press("Enter")
    page.locator(".jp-OversightDashboard").wait_for(timeout=30000)
    page.locator(".ov-heat-open").first.click(timeout=30000)
    view = page.locator(".jp-OversightHeatStrip")
    view.locator(".ov-heat-item").fill("heat-mean")
    view.locator(".ov-heat-item").press("Enter")
    cells = view.locator(".ov-heat-scored")
    try:
        cells.nth(len(ADDED) - 1).wait_for(timeout=120000)
    except Exception:
        screenshot(page, "heatstrip-failed")
        raise AssertionError(f"no heat strip; the view says: {view.inner_text()[:500]}") from None
    assert cells.count() == len(ADDED)
    expected = lab.api("GET", "/oversight/api/studies/heat/items/heat-mean/attribution")  # cached by now: what the view got
    shown = [(int(cells.nth(k).get_attribute("data-line")), float(cells.nth(k).get_attribute("data-delta"))) for k in range(len(ADDED))]
    assert shown == [(a["line"], pytest.approx(a["delta"])) for a in expected["lines"]]
    top = max(expected["lines"], key=lambda a: abs(a["delta"]))
    cell = view.locator(f'.ov-heat-scored[data-line="{top["line"]}"]')
    assert cell.get_attribute("title").startswith(f"line {top['line']}: deleting it changes the reward by")
    colour = page.evaluate("(el) => getComputedStyle(el).backgroundColor", cell.element_handle())
    assert colour.startswith("rgba(214, 39, 40" if top["delta"] > 0 else "rgba(31, 119, 180"), colour
    # The line with the largest effect is drawn strongest.
    alphas = [float(page.evaluate("(el) => getComputedStyle(el).backgroundColor", cells.nth(k).element_handle()).split(",")[-1][:-1])
              for k in range(len(ADDED))]  # fmt: skip
    assert max(alphas) == alphas[[a["line"] for a in expected["lines"]].index(top["line"])]
    legend = view.locator(".ov-heat-legend").inner_text()
    assert "lowers the reward" in legend and "raises the reward" in legend
    assert view.locator(".ov-heat-del").count() == 1 and view.locator(".ov-heat-add").count() == len(ADDED)
    screenshot(page, "heatstrip")


def test_heat_strip_of_a_study_not_owned_shows_the_refusal(lab: Lab, browser: Any) -> None:
    page = open_lab(browser, lab)
    page.wait_for_selector('.lm-TabBar-tab[data-id="oversight-studies"]', timeout=60000)
    run_command(page, "Reward-Model Attributions")
    page.locator(".jp-Dialog input").fill("notmine")
    page.keyboard.press("Enter")
    view = page.locator(".jp-OversightHeatStrip")
    view.locator(".ov-heat-item").fill("heat-mean")
    view.locator(".ov-heat-item").press("Enter")
    view.locator(".ov-error", has_text="only its owner").wait_for(timeout=30000)
    assert view.locator(".ov-heat-scored").count() == 0 and view.locator(".ov-heat-row").count() == 0
