"""binder/ meets repo2docker's expectations (checked with repo2docker itself, without Docker).

repo2docker picks a buildpack by asking each, in its own order, whether it ``detect()``s the
repository; we run that same loop over this checkout, then render the Dockerfile the chosen
buildpack would build (no Docker daemon needed) and check that it installs our environment
and runs our postBuild, and that ``binder/start`` opens the first workshop notebook.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

repo2docker_app = pytest.importorskip("repo2docker.app", reason="pip install jupyter-repo2docker")
yaml = pytest.importorskip("ruamel.yaml")

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


@pytest.fixture
def in_repo() -> Iterator[None]:
    # Buildpacks detect relative to the working directory, as repo2docker runs them.
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(old)


def test_repo2docker_picks_the_conda_buildpack_and_runs_post_build(in_repo: None) -> None:
    app = repo2docker_app.Repo2Docker()
    picked = next(bp for bp in (BP(base_image=app.base_image) for BP in app.buildpacks) if bp.detect())
    assert type(picked).__name__ == "CondaBuildPack"
    assert picked.binder_dir == "binder"
    assert picked.get_post_build_scripts() == ["binder/postBuild"]
    assert picked.get_start_script() == "${REPO_DIR}/binder/start"
    picked.platform = "linux/amd64"  # what mybinder.org builds for
    dockerfile = picked.render({})
    assert "binder/environment.yml" in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile
    assert picked.python_version == "3.11"


def test_binder_files_are_well_formed() -> None:
    env = yaml.YAML(typ="safe").load((BINDER / "environment.yml").read_text())
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(d.startswith("python") for d in deps) and any(d.startswith("nodejs") for d in deps)
    assert "conda-forge" in env["channels"]
    for script in ("postBuild", "start"):
        path = BINDER / script
        assert os.access(path, os.X_OK), f"binder/{script} must be executable (git update-index --chmod=+x)"
        assert path.read_text().startswith("#!/bin/bash")
        subprocess.run(["bash", "-n", str(path)], check=True)  # syntax
    post = (BINDER / "postBuild").read_text()
    assert 'pip install --no-cache-dir -e ".[ml]"' in post or "pip install" in post
    # The first workshop notebook the start script opens exists.
    target = (BINDER / "start").read_text().split("default_url=/lab/tree/", 1)[1].split()[0]
    assert (ROOT / target).is_file(), target


def test_start_script_passes_the_command_through(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(BINDER / "start"), "echo", "jupyter-server"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HOME": str(tmp_path)},
    ).stdout
    assert out.strip() == "jupyter-server --ServerApp.default_url=/lab/tree/notebooks/workshop/01_review.ipynb"
