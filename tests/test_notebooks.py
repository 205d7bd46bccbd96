"""Every notebook under notebooks/ executes top to bottom on the CPU (as CI runs them).

Each runs in its own folder with a fresh kernel and ``OVERSIGHT_DB`` pointing at a temporary
SQLite file, so notebooks never touch a user's store. Cells that need ../shared/data skip
themselves with a message when it is absent (the notebooks' job, checked here by running).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

# Executes whole notebooks in a real kernel: left out of the fast loop (scripts/test --fast).
pytestmark = pytest.mark.notebook

ROOT = Path(__file__).resolve().parents[1]
# Notebooks whose own test always executes them and checks their results (never skipped) are
# not run a second time here.
OWN_TEST = {"assisted-vs-unassisted.ipynb": "tests/test_study_notebook.py", "reward-models.ipynb": "tests/test_reward_notebook.py"}
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.name not in OWN_TEST)


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT / "notebooks")) for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERSIGHT_DB", f"sqlite:///{tmp_path / 'notebook.db'}")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "2"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
