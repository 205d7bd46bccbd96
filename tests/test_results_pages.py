"""The results pages are made from results/*.json and are current; bench/README.md covers every script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "results_pages.py"
sys.path.insert(0, str(ROOT / "bench"))

from figures import save  # noqa: E402  (bench/figures.py, the benchmarks' writer)


def pages(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root), *args], capture_output=True, text=True, timeout=60)


def copy_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name in ("results", "docs"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "README.md", root / "README.md")
    return root


def test_pages_are_current_with_results() -> None:
    done = pages(ROOT, "--check")
    assert done.returncode == 0, done.stderr


def test_a_changed_result_makes_the_pages_stale_until_regenerated(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    path = root / "results" / "store.json"
    data = json.loads(path.read_text())
    data["rows"][data["headline"]]["figure"] = "p99 999.9 ms"
    path.write_text(json.dumps(data))
    stale = pages(root, "--check")
    assert stale.returncode == 1 and "README.md" in stale.stderr and "docs/results/store.md" in stale.stderr
    assert pages(root).returncode == 0
    assert pages(root, "--check").returncode == 0
    assert "p99 999.9 ms" in (root / "README.md").read_text() and "p99 999.9 ms" in (root / "docs/results/store.md").read_text()


def test_a_result_on_no_page_and_a_page_without_its_result_fail(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    shutil.copy(root / "results" / "render.json", root / "results" / "orphan.json")
    data = json.loads((root / "results" / "orphan.json").read_text())
    (root / "results" / "orphan.json").write_text(json.dumps({**data, "benchmark": "orphan"}))
    done = pages(root, "--check")
    assert done.returncode == 1 and "orphan" in done.stderr
    (root / "results" / "orphan.json").unlink()
    (root / "results" / "render.json").unlink()
    done = pages(root, "--check")
    assert done.returncode != 0 and "render" in done.stderr


def test_bench_results_save_writes_what_the_pages_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import figures

    monkeypatch.setattr(figures, "RESULTS", tmp_path / "results")
    row = {"case": "one writer", "figure": "p99 2.0 ms", "baseline": "raw INSERT: p99 1.0 ms", "ratio": "2.0x"}
    path = save("store", command="python bench/store.py", page="store", rows=[row])
    data = json.loads(path.read_text())
    assert data["rows"] == [row] and data["headline"] == 0 and "commit" in data["measured"]
    with pytest.raises(ValueError, match="rows"):
        save("store", command="x", page="store", rows=[{"case": "a"}])
    with pytest.raises(ValueError, match="headline"):
        save("store", command="x", page="store", rows=[row], headline=3)


def test_bench_readme_describes_every_script_and_results_name_pages() -> None:
    readme = (ROOT / "bench" / "README.md").read_text()
    scripts = [p.name for p in (ROOT / "bench").glob("*.py") if p.name != "figures.py"]
    assert scripts and all(f"`{name}`" in readme for name in scripts), scripts
    for path in (ROOT / "results").glob("*.json"):
        data = json.loads(path.read_text())
        assert (ROOT / "docs" / "results" / f"{data['page']}.md").exists(), path
        assert f"{path.name}" in readme or path.stem in readme, path
