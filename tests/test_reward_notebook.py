"""The reward-models notebook runs top to bottom in a real kernel, as CI runs it, and shows its results."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

# Executes whole notebooks in a real kernel: left out of the fast loop (scripts/test --fast).
pytestmark = pytest.mark.notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "reward-models.ipynb"


@pytest.mark.slow
def test_notebook_trains_compares_and_plots(text_of: Callable[[nbformat.NotebookNode], str], shared_data_or_none: Path | None) -> None:
    """Runs whether or not ../shared/data is present (tests/test_notebooks.py leaves this notebook
    to this test): the simulated-study part always, the real-code part when the data is there."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    out = "\n".join(text_of(c) for c in nb.cells if c.cell_type == "code")
    assert "Traceback" not in out
    judged = re.search(r"(\d+) simulated judgments stored", out)
    assert judged and int(judged.group(1)) > 50
    assert re.search(r"inter-rater agreement 0\.\d+ over \d+ rater pairs", out)
    assert "unassisted" in out and "pooled" in out
    charts = [o for c in nb.cells for o in c.get("outputs", []) if "alt." in str(getattr(o, "data", {}).get("text/plain", ""))]
    if shared_data_or_none is not None:
        acc = re.search(r"held-out pairwise accuracy (\d\.\d+) .* on (\d+) pairs", out)
        assert acc and 0 <= float(acc.group(1)) <= 1 and int(acc.group(2)) >= 10
        assert len(charts) == 2
    else:
        assert "../shared/data is absent: skipping the real-code section" in out
        assert len(charts) == 1
