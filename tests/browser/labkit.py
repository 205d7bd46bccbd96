"""Browser-test helpers: a prepared SQLite store, a real ``jupyter lab`` subprocess serving
the extension, and page helpers for Debian's Chromium driven by Playwright.

One lab server serves a whole test module (starting one costs 10-20 s on 2 cores). The
store is prepared before the server starts, the way an owner would: items, critiques via
``store.add_critiques`` and studies via ``store.create_study``. Tests read the store
directly to check what the UI recorded.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from oversight_ext.records import Assignment
from oversight_ext.store import Store

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` (unlike `python -m pytest`) leaves the repo root off sys.path
    sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM_ARGS, free_port, missing  # noqa: E402

__all__ = ["CHROMIUM_ARGS", "RATER", "Lab", "add_study", "missing", "open_lab", "open_study", "screenshot", "start_lab"]

RATER = "alice"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


def server_extension_module() -> str:
    """The module that declares the oversight server extension."""
    for name in ("oversight_ext", "oversight_ext.server"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(mod, "_jupyter_server_extension_points"):
            return name
    missing("the oversight server extension (_jupyter_server_extension_points) is not installed")
    raise AssertionError("unreachable")


def labextension_built() -> None:
    if not (ROOT / "oversight_ext" / "labextension" / "package.json").exists():
        missing("the labextension is not built: run `pip install -e .` (or `jlpm build`)")


def diff_of(path: str, old: list[str], new: list[str]) -> str:
    """A one-hunk unified diff replacing ``old`` with ``new`` at line 1 of ``path``."""
    body = [f"-{x}" for x in old] + [f"+{x}" for x in new]
    return f"--- a/{path}\n+++ b/{path}\n@@ -1,{len(old)} +1,{len(new)} @@\n" + "\n".join(body) + "\n"


def study_config(name: str, conditions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """``StudyConfig.to_dict()`` of a study with these conditions (the form the server reads)."""
    from oversight_ext.study.config import StudyConfig

    return StudyConfig.from_dict({"name": name, "conditions": conditions, "seed": 0, **extra}).to_dict()


ASSISTED = {"name": "critic", "kind": "assisted", "assistant": "demo-replay", "display": "evidence"}
UNASSISTED = {"name": "unassisted", "kind": "unassisted"}


def add_study(store: Store, name: str, rows: list[tuple[str, str, str | None]], *, rater: str = RATER, **extra: Any) -> list[Assignment]:
    """A study whose assignments for ``rater`` are ``rows`` of (item id, condition name, critique id)."""
    conditions = [ASSISTED, UNASSISTED]
    asg = [
        Assignment(id=f"{name}-{k}", study=name, rater=rater, item_id=item, condition=cond, position=k, critique_id=crit)
        for k, (item, cond, crit) in enumerate(rows)
    ]
    config = study_config(name, conditions, raters=sorted({rater, RATER, "bob"}), **extra)
    store.create_study(name, config, asg, seed=0, code_version="browser-test")
    return asg


class Lab:
    """A real ``jupyter lab`` subprocess on 127.0.0.1 with a random token and port."""

    def __init__(self, root: Path, db_url: str) -> None:
        self.root = root
        self.db_url = db_url
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.config_dir = root / "jupyter-config"
        self.runtime_dir = root / "jupyter-runtime"
        self.notebooks = root / "notebooks"
        for d in (self.config_dir / "labconfig", self.runtime_dir, self.notebooks):
            d.mkdir(parents=True, exist_ok=True)
        page_config = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
        (self.config_dir / "labconfig" / "page_config.json").write_text(json.dumps(page_config))
        # Serve this checkout's build, not whichever copy `pip install` put in the environment:
        # JupyterLab takes the first extension of a name it finds, extra paths first.
        self.labextensions = root / "labextensions"
        self.labextensions.mkdir(exist_ok=True)
        link = self.labextensions / "oversight-ext"
        if not link.exists():
            link.symlink_to(ROOT / "oversight_ext" / "labextension", target_is_directory=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "lab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            OVERSIGHT_DB=self.db_url,
            JUPYTER_CONFIG_DIR=str(self.config_dir),
            JUPYTER_RUNTIME_DIR=str(self.runtime_dir),
            # The lab's stored parses stay with the lab, not in the user's cache.
            OVERSIGHT_DIFF_CACHE=str(self.root / "diffcache"),
        )
        return env

    def command(self) -> list[str]:
        """The server's command line (a subclass may serve another front end, e.g. Notebook 7)."""
        ext = server_extension_module()
        return [
            sys.executable,
            "-m",
            "jupyterlab",
            "--allow-root",
            "--no-browser",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={self.notebooks}",
            f"--IdentityProvider.token={self.token}",
            # Jupyter's token login names browsers at random; the extension then rates as this user.
            f"--OversightExtension.local_rater={RATER}",
            f"--ServerApp.jpserver_extensions={ext}=True",
            "--LabApp.news_url=",
            f"--LabApp.extra_labextensions_path={self.labextensions}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command(), cwd=self.notebooks, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                req = urllib.request.Request(f"{self.url}/api/status", headers={"Authorization": f"token {self.token}"})
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"jupyter lab did not answer within 90 s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """A token-authenticated request to the server (JSON in, JSON out)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"token {self.token}", "Content-Type": "application/json"}
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def set_theme(self, theme: str) -> None:
        raw = json.dumps({"theme": theme})
        self.api("PUT", "/lab/api/settings/@jupyterlab/apputils-extension:themes", {"raw": raw})


def open_lab(browser: Any, lab: Lab, path: str = "/lab") -> Any:
    """A fresh browser page on a fresh workspace, logged in with the token, the shell ready."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30000)
    # `reset`: a fresh workspace, so panels a test before left open are not restored (their
    # requests would mix into this test's network record).
    page.goto(f"{lab.url}{path}?reset&token={lab.token}")
    page.wait_for_selector("#jp-main-dock-panel", timeout=60000)
    return page


def open_study(page: Any, study: str) -> Any:
    """Open the studies sidebar, press the study's start/continue button, and wait for the item."""
    start = page.locator(f'.ov-study-card[data-study="{study}"] .ov-start')
    # The workspace may restore the sidebar open while the page settles: a click on its tab
    # then closes it, so look again until the study's button is on screen.
    for _attempt in range(5):
        if start.is_visible():
            break
        if not page.locator("#oversight-studies").is_visible():
            page.click('.lm-TabBar-tab[data-id="oversight-studies"]')
        with contextlib.suppress(Exception):
            start.wait_for(timeout=3000)
    start.click()
    panel = page.locator(".jp-OversightReview:visible .ov-review")
    panel.locator(".ov-task-text").wait_for()
    return panel


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def start_lab(lab_root: Path, lab_store: Store, server: type[Lab] = Lab) -> Iterator[Lab]:
    labextension_built()
    lab = server(lab_root, lab_store.url if isinstance(lab_store.url, str) else str(lab_store.url))
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()
