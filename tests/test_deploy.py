"""Deployment details a class relies on: the instructor's token is one stable rater, a class
server leaves no tokens behind, and the harness finds runuser without /usr/sbin on PATH."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from oversight_ext.identity import os_user
from oversight_ext.store import Store
from oversight_ext.testing.classserver import ClassServer
from oversight_ext.testing.throwaway import runuser


def me(server: ClassServer, token: str) -> dict[str, object]:
    req = urllib.request.Request(f"{server.url}/oversight/api/me", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_class_server_names_its_own_token_stably_and_removes_its_folder(sqlite_url: str) -> None:
    Store(sqlite_url).close()  # migrated before the server opens it
    server = ClassServer(sqlite_url, ["ann"], lab=False, start_timeout=240).start()
    folder = server.dir
    try:
        assert (folder / "class-tokens.json").stat().st_mode & 0o077 == 0
        raters = {me(server, server.admin_token)["rater"] for _ in range(3)}
        assert raters == {os_user()}, "the server's own token is one rater, not a new random one per request"
        assert me(server, server.tokens["ann"])["rater"] == "ann"
    finally:
        server.stop()
    assert not folder.exists(), "the participants' tokens must not outlive the class server"


def test_runuser_is_found_off_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if not any(Path(d, "runuser").exists() for d in ("/usr/sbin", "/sbin", "/usr/bin", "/bin")):
        pytest.skip("this machine has no runuser (util-linux)")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("runuser") is None
    found = runuser()
    assert Path(found).name == "runuser" and os.access(found, os.X_OK)
