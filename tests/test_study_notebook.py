"""The study notebook runs top to bottom in a real kernel (as CI runs it) and shows its results."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

# Executes whole notebooks in a real kernel: left out of the fast loop (scripts/test --fast).
pytestmark = pytest.mark.notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "assisted-vs-unassisted.ipynb"


@pytest.mark.slow
def test_notebook_creates_simulates_analyses_and_reports(text_of: Callable[[nbformat.NotebookNode], str]) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    out = "\n".join(text_of(c) for c in nb.cells if c.cell_type == "code")
    assert "Traceback" not in out
    assert re.search(r"smallest number of items with 80% power: \d+", out)
    assert re.search(r"\d+ assignments frozen", out)
    judged = re.search(r"(\d+) simulated judgments stored", out)
    assert judged and int(judged.group(1)) > 100
    report = re.search(r"(\S+report\.html) (\d+) KiB", out)
    assert report and Path(report.group(1)).is_file() and int(report.group(2)) > 10
    charts = [o for c in nb.cells for o in c.get("outputs", []) if "alt." in str(getattr(o, "data", {}).get("text/plain", ""))]
    assert len(charts) >= 3
    assert "critic" in out and "planted" in out and "unassisted" in out
