"""The review UI in Jupyter Notebook 7, whose shell has no JupyterLab ``ILabShell``.

A real ``jupyter notebook`` (Notebook 7) serving this checkout's labextension, and Chromium:
the plugin must activate (before it stopped with "No provider for: ILabShell"), its
commands must be registered, and opening a study must show the review panel with the item,
in which a judgment is submitted and stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import RATER, Lab, add_study, missing, start_lab

from oversight_ext.records import Item
from oversight_ext.store import Store
from oversight_ext.submission import BINARY_LEVELS

pytestmark = pytest.mark.browser

DIFF = "--- a/ops.py\n+++ b/ops.py\n@@ -1,2 +1,2 @@\n def double(x):\n-    return x * 2\n+    return x + 2\n"


class NotebookServer(Lab):
    """``labkit.Lab``'s server, started as ``jupyter notebook`` (Notebook 7) instead of ``jupyter lab``."""

    def command(self) -> list[str]:
        lab = super().command()
        assert lab[1:3] == ["-m", "jupyterlab"], lab
        # JupyterLab's server extension is loaded beside Notebook's and serves /lab/extensions/
        # for both: keep its settings (this checkout's build first) and give Notebook the same.
        notebook = [a.replace("--LabApp.", "--JupyterNotebookApp.") for a in lab[3:] if a.startswith("--LabApp.extra_labextensions_path")]
        return [lab[0], "-m", "notebook", *lab[3:], *notebook, "--JupyterNotebookApp.expose_app_in_browser=True"]


@pytest.fixture(scope="module")
def notebook(lab_root: Path, lab_store: Store) -> Iterator[Lab]:
    try:
        import notebook as nb

        if int(nb.__version__.split(".")[0]) < 7:
            missing(f"notebook {nb.__version__} is installed; this test needs Notebook 7: pip install 'notebook>=7'")
    except ImportError:
        missing("Jupyter Notebook 7 is not installed: pip install 'notebook>=7'")
    lab_store.add_items([Item(id="nb7-item", diff=DIFF, path="ops.py", task="Review double() in Notebook 7.", label="buggy")])
    add_study(lab_store, "nb7", [("nb7-item", "unassisted", None)])
    yield from start_lab(lab_root, lab_store, NotebookServer)


def test_notebook7_opens_a_study_and_stores_a_judgment(browser: Any, notebook: Lab, lab_store: Store) -> None:
    assert isinstance(notebook, NotebookServer)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{notebook.url}/tree?token={notebook.token}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands.hasCommand('oversight:open-review')", timeout=60000)
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    assert not [e for e in errors if "oversight" in e.lower() or "ILabShell" in e], errors
    page.evaluate("() => window.jupyterapp.commands.execute('oversight:open-review', {study: 'nb7'})")
    panel = page.locator(".jp-OversightReview .ov-review")
    panel.locator(".ov-task-text").filter(has_text="Review double() in Notebook 7.").wait_for()
    assert panel.locator(".ov-line").count() >= 3  # the diff is drawn
    panel.locator('[data-verdict="buggy"]').click()
    panel.locator(f'[data-confidence="{BINARY_LEVELS[-1]:g}"]').click()
    panel.locator(".ov-submit").click()
    panel.locator('.ov-status[data-state="saved"]').wait_for()
    rows = lab_store.judgments(study="nb7")
    assert [(j.rater, j.item_id, j.verdict) for j in rows] == [(RATER, "nb7-item", "buggy")]
    context.close()
