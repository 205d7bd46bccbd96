"""Under JupyterHub a rater cannot reach the store, gold or another rater's judgments.

A real hub (deploy/jupyterhub_config.py) over a real PostgreSQL that, as in a deployment,
asks every connection for a password; two raters who are real system users, each server
spawned as its own user (LocalProcessSpawner); the store held by the hub's oversight service
alone. Both raters review through their servers (forwarded to the service); then, in a real
kernel on one rater's server, a probe (tests/hub_probe.py) tries what a curious rater would:
the environment, every process and file it can read, PostgreSQL without the password, and
the service API with the server's own hub token. Nothing may give the password, gold or the
other rater's data, and no probe may store anything.

Needs root (to add the two system users, removed afterwards), ``useradd`` and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import websocket

from oversight_ext.store import Store
from oversight_ext.testing.throwaway import ThrowawayPostgres, pg_bindir
from oversight_ext.workshop.practice import practice_study
from tests.conftest import missing
from tests.test_hub import HubUser, _judge_queue, running_hub

ROOT = Path(__file__).resolve().parents[1]
PROBE = (Path(__file__).parent / "hub_probe.py").read_text()


def _sbin(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        missing(f"{name} not found: the isolation test adds two system users (apt-get install passwd)")
    return str(found)


@pytest.fixture
def system_users() -> Iterator[tuple[list[str], Path]]:
    """Two fresh system users with homes under a folder only they (and root) can enter."""
    if os.geteuid() != 0:
        missing("the hub isolation test must run as root: it spawns each rater's server as its own system user")
    useradd, userdel = _sbin("useradd"), _sbin("userdel")
    tag = secrets.token_hex(3)
    names = [f"ovr{tag}a", f"ovr{tag}b"]
    homes = Path(tempfile.mkdtemp(prefix="oversight-homes-"))
    homes.chmod(0o711)
    made = []
    try:
        for name in names:
            home = homes / name
            subprocess.run([useradd, "-M", "-d", str(home), "-s", "/bin/sh", "-U", name], check=True, capture_output=True)
            made.append(name)
            home.mkdir(mode=0o700)
            shutil.chown(home, name, name)
        yield names, homes
    finally:
        for name in made:
            subprocess.run([userdel, name], capture_output=True)
        shutil.rmtree(homes, ignore_errors=True)


def _server_python(user: str, folder: Path) -> str:
    """A Python ``user`` can run with this environment's packages: this one, or a bridge venv in ``folder``.

    Where this interpreter lives in a folder other users cannot enter (pyenv under /root), a
    venv of the system's Python of the same version reads this environment's site-packages.
    """
    runuser = _sbin("runuser")

    def runs(python: str) -> bool:
        check = [runuser, "-u", user, "--", python, "-c", "import jupyterhub.singleuser, oversight_ext, ipykernel"]
        return subprocess.run(check, capture_output=True, env={**os.environ, "HOME": str(folder)}).returncode == 0

    if runs(sys.executable):
        return sys.executable
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if system is None:
        missing(f"{sys.executable} cannot be run by other users and no system {version} exists to bridge it")
    venv = folder / "server-venv"
    subprocess.run([str(system), "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    site_packages = next(p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix))
    bridge = venv / "lib" / version / "site-packages" / "oversight_bridge.pth"
    bridge.write_text(f"import site; site.addsitedir({site_packages!r})\n")
    subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)  # -R leaves the symlinked interpreter alone
    python = str(venv / "bin" / "python")
    if not runs(python):
        missing(f"neither {sys.executable} nor a bridge venv of {system} runs for another user")
    return python


@pytest.fixture
def isolated_hub(system_users: tuple[list[str], Path], tmp_path: Path) -> Iterator[dict[str, Any]]:
    if shutil.which("configurable-http-proxy") is None:
        missing("configurable-http-proxy not found: pip install configurable-http-proxy")
    if pg_bindir() is None:
        missing("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    (alice, bob), homes = system_users
    server_python = _server_python(alice, homes)
    db_password = secrets.token_urlsafe(18)
    pg = ThrowawayPostgres(password=db_password).start()
    store = None
    try:
        url = pg.create_database("hub")
        store = Store(url)
        practice_study(store, "class", raters=[alice, bob], n_items=6, owner="prof", seed=2)
        settings = {"OVERSIGHT_HUB_SPAWNER": "local", "OVERSIGHT_SERVER_PYTHON": server_python}
        with running_hub(url, tmp_path, settings) as (base, url_file, log):
            yield {
                "base": base,
                "store": store,
                "raters": (alice, bob),
                "secret": db_password,
                "pg_port": pg.port,
                "watch": {"db-url file": str(url_file), "hub state": str(tmp_path / "hub"), "bob's home": str(homes / bob)},
                "log": log,
            }
    finally:
        if store is not None:
            store.close()
        pg.stop()


def _pids(match: dict[str, str]) -> dict[str, int]:
    """Root's view: the pid of the first process whose environment holds each ``KEY=value``."""
    found: dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            env = proc.joinpath("environ").read_bytes().decode("utf-8", "replace").split("\0")
            cmd = proc.joinpath("cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        for label, needle in match.items():
            if label not in found and (needle in env or needle in cmd):
                found[label] = int(proc.name)
    return found


def _run_in_kernel(base: str, user: HubUser, code: str, timeout: float = 240) -> str:
    """Start a kernel on ``user``'s server with their own hub token and return what ``code`` printed."""
    hub_xsrf = user.http.cookies.get("_xsrf", path="/hub/") or ""
    r = user.http.post(f"/hub/api/users/{user.name}/tokens", json={"note": "probe"}, headers={"X-XSRFToken": hub_xsrf})
    assert r.status_code == 201, r.text
    auth = {"Authorization": f"token {r.json()['token']}"}
    prefix = f"/user/{user.name}"
    r = httpx.post(f"{base}{prefix}/api/kernels", json={"name": "python3"}, headers=auth, timeout=120)
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    ws = websocket.create_connection(
        f"{base.replace('http', 'ws', 1)}{prefix}/api/kernels/{kernel}/channels",
        header=[f"{k}: {v}" for k, v in auth.items()],
        suppress_origin=True,
        timeout=timeout,
    )
    msg_id = uuid.uuid4().hex
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "username": user.name,
                    "session": uuid.uuid4().hex,
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False},
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    out: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                raise AssertionError("the probe failed in the kernel:\n" + "\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(out)
        raise TimeoutError(f"the probe did not finish within {timeout}s")
    finally:
        ws.close()
        httpx.delete(f"{base}{prefix}/api/kernels/{kernel}", headers=auth, timeout=60)


@pytest.mark.slow
@pytest.mark.postgres
def test_rater_kernel_reaches_no_store_gold_or_other_rater(isolated_hub: dict[str, Any]) -> None:
    base, store = isolated_hub["base"], isolated_hub["store"]
    alice_name, bob_name = isolated_hub["raters"]
    alice, bob = HubUser(base, alice_name), HubUser(base, bob_name)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda u: (u.login(), u.wait_for_server()), (alice, bob)))
        # The review works: both whole queues go through the servers to the service.
        sent_a, sent_b = pool.map(lambda u: _judge_queue(u, "class"), (alice, bob))
    stored = {j.submission_id: j.rater for j in store.judgments(study="class")}
    assert stored == {**dict.fromkeys(sent_a, alice_name), **dict.fromkeys(sent_b, bob_name)}

    pids = _pids({"service": "oversight_ext.server.hub_service", "bob's server": f"JUPYTERHUB_USER={bob_name}"})
    assert set(pids) == {"service", "bob's server"}, pids
    items = {a.item_id for a in store.assignments("class")}
    gold = sorted(items | {e for e in (store.get_item(i).explanation for i in items) if e})
    secret = isolated_hub["secret"]
    probe = {
        "secret": [secret[: len(secret) // 2], secret[len(secret) // 2 :]],
        "pg_port": isolated_hub["pg_port"],
        "watch": isolated_hub["watch"],
        "pids": pids,
        "study": "class",
        "other_assignment": store.assignments("class", rater=bob_name)[0].id,
        "gold": gold,
    }
    printed = _run_in_kernel(base, alice, f"PROBE = {json.dumps(probe)}\n{PROBE}")
    found = json.loads(printed.strip().splitlines()[-1])
    print(
        f"rater probe: {found['readable_envs']} process environments and {found['files_read']} files readable, "
        f"password found in {len(found['secret_in_proc']) + len(found['secret_in_files'])}; PostgreSQL: {found['pg']}; "
        f"service as the rater: own views {found['own_views']}, others {sorted(found['other'].values())}"
    )

    assert found["uid"] != 0 and found["user"] == alice_name == found["hub_user"]
    # Environment: no database URL or password, only the service's address.
    assert not found["env_has_secret"] and not found["env_has_db_url"], found["env_keys"]
    assert "OVERSIGHT_DB" not in found["env_keys"] and "OVERSIGHT_SERVICE_URL" in found["env_keys"]
    # Processes: the service's and bob's server's environments are closed; nothing readable holds the password.
    assert found["pids_unreadable"] == {"service": True, "bob's server": True}
    assert found["readable_envs"] > 0 and found["hub_users_seen"] == [alice_name]
    assert found["secret_in_proc"] == []
    # Files: the URL file, the hub's state and bob's home are closed; no readable file holds the password or gold.
    assert all(found["files_blocked"].values()), found["files_blocked"]
    assert found["files_read"] > 0 and found["secret_in_files"] == []
    # Network: PostgreSQL refuses every connection without the password.
    assert found["pg"] and all(r != "connected" for r in found["pg"]), found["pg"]
    # The service with the server's own token: alice's view, without gold; nothing of bob's or the owner's.
    assert found["me"] == [200, alice_name]
    assert found["own_views"] and set(found["own_views"]) == {200} and found["gold_in_views"] == []
    assert found["other"] == {
        f"/assignments/{probe['other_assignment']}": 403,
        "/studies/class/export": 403,
        "/studies/class/dashboard": 403,
        "/studies/class/my-results": 403,  # not revealed yet
    }
    # The probe stored nothing.
    assert {j.submission_id for j in store.judgments(study="class")} == set(stored)
