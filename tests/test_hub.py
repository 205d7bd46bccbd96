"""A real JupyterHub (deploy/jupyterhub_config.py) over a throwaway PostgreSQL, on 127.0.0.1.

Two hub users log in through the hub's login form, their single-user servers start with the
review API, and both submit their whole queues at the same time through
``/user/<name>/oversight/api/judgments`` (cookie login, XSRF token, as a browser does). Every
judgment must land in the one PostgreSQL under the right identity, and every route called as
one user with the other's ids (or at the other's server) must be refused.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from oversight_ext.store import Store
from oversight_ext.testing.throwaway import free_port
from oversight_ext.workshop.practice import practice_study
from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "workshop-" + uuid.uuid4().hex[:8]


class HubUser:
    """One person with a browser-like cookie jar."""

    def __init__(self, base: str, name: str) -> None:
        self.name = name
        self.http = httpx.Client(base_url=base, follow_redirects=True, timeout=120)

    def login(self) -> None:
        self.http.get("/hub/login")
        xsrf = self.http.cookies.get("_xsrf", path="/hub/")
        r = self.http.post("/hub/login", data={"username": self.name, "password": PASSWORD, "_xsrf": xsrf})
        assert r.status_code == 200, r.text[:300]  # lands on the spawn-pending page: the server is starting

    def wait_for_server(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.http.get(f"/hub/api/users/{self.name}").json()
            server = info["servers"].get("", {})
            if server.get("ready"):
                break
            assert info["pending"] or server, f"{self.name}'s server stopped while starting: {info}"
            time.sleep(0.5)
        else:
            raise TimeoutError(f"{self.name}'s server did not start within {timeout}s")
        # Any page of the server (not its API) runs the OAuth handshake that sets its cookies.
        self.http.get(f"/user/{self.name}/files/.oauth-handshake")

    def api(self, method: str, path: str, body: Any = None, *, server: str | None = None) -> httpx.Response:
        prefix = f"/user/{server or self.name}"
        xsrf = self.http.cookies.get("_xsrf", path=f"{prefix}/") or ""
        return self.http.request(method, f"{prefix}/oversight/api{path}", json=body, headers={"X-XSRFToken": xsrf}, follow_redirects=False)


@contextlib.contextmanager
def running_hub(url: str, tmp_path: Path, settings: dict[str, str]) -> Iterator[tuple[str, Path, Path]]:
    """A JupyterHub of deploy/jupyterhub_config.py over the store at ``url``, on free ports.

    The URL reaches the hub only through a 0600 file, as in a deployment; ``settings`` adds or
    overrides ``OVERSIGHT_*`` variables. Yields the base URL, the URL file and the hub's log, and
    stops the hub (which stops the users' servers and the proxy) on exit.
    """
    url_file = tmp_path / "db-url"
    url_file.write_text(url + "\n")
    url_file.chmod(0o600)
    port = free_port()
    env = {
        **os.environ,
        "OVERSIGHT_DB_FILE": str(url_file),
        "OVERSIGHT_HUB_DIR": str(tmp_path / "hub"),
        "OVERSIGHT_HUB_AUTH": "dummy",
        "OVERSIGHT_HUB_PASSWORD": PASSWORD,
        "OVERSIGHT_OWNERS": "prof",
        "OVERSIGHT_HUB_PORT": str(port),
        "OVERSIGHT_HUB_API_PORT": str(free_port()),
        "OVERSIGHT_PROXY_API_PORT": str(free_port()),
        "OVERSIGHT_SERVICE_PORT": str(free_port()),
        "OVERSIGHT_LAB": "0",
        **settings,
    }
    for name in ("OVERSIGHT_DB", "JUPYTERHUB_USER"):  # the URL must come from the 0600 file
        env.pop(name, None)
    if "OVERSIGHT_HUB_USERS" not in settings:
        env.pop("OVERSIGHT_HUB_USERS", None)
    log = tmp_path / "hub.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["jupyterhub", "-f", str(ROOT / "deploy" / "jupyterhub_config.py")], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"jupyterhub exited: {log.read_text()[-2000:]}"
            try:
                if httpx.get(f"{base}/hub/api", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"jupyterhub did not answer: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield base, url_file, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def hub(pg_cluster: Any, tmp_path: Path) -> Iterator[tuple[str, Store]]:
    if shutil.which("configurable-http-proxy") is None:
        missing("configurable-http-proxy not found: pip install configurable-http-proxy (or npm install -g configurable-http-proxy)")
    url = pg_cluster.create_database(f"hub_{uuid.uuid4().hex[:8]}")
    store = Store(url)
    practice_study(store, "class", raters=["alice", "bob"], n_items=6, owner="prof", seed=2)
    try:
        with running_hub(url, tmp_path, {"OVERSIGHT_HUB_USERS": "alice,bob,prof"}) as (base, _, _):
            yield base, store
    finally:
        store.close()


def _judge_queue(user: HubUser, study: str) -> list[str]:
    ids = [a["id"] for a in user.api("GET", f"/studies/{study}/queue").json()["assignments"]]
    sent = []
    for i, aid in enumerate(ids):
        sid = str(uuid.uuid4())
        body = {
            "submission_id": sid,
            "assignment_id": aid,
            "verdict": "buggy" if i % 2 else "correct",
            "confidence": 0.65,
            "time_on_task_s": 20.0,
        }
        r = user.api("POST", "/judgments", body)
        assert r.status_code == 201, r.text
        assert r.json()["judgment"]["rater"] == user.name
        sent.append(sid)
    return sent


@pytest.mark.slow
@pytest.mark.postgres
def test_two_hub_users_review_into_one_postgres(hub: tuple[str, Store]) -> None:
    base, store = hub
    alice, bob = HubUser(base, "alice"), HubUser(base, "bob")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda u: (u.login(), u.wait_for_server()), (alice, bob)))
        assert alice.api("GET", "/me").json()["rater"] == "alice"
        assert bob.api("GET", "/me").json()["rater"] == "bob"
        sent_a, sent_b = pool.map(lambda u: _judge_queue(u, "class"), (alice, bob))

    stored = {j.submission_id: j for j in store.judgments(study="class")}
    assert set(sent_a) | set(sent_b) == set(stored)
    assert {stored[s].rater for s in sent_a} == {"alice"} and {stored[s].rater for s in sent_b} == {"bob"}
    assert len(sent_a) == len(store.assignments("class", rater="alice")) and len(sent_b) == len(store.assignments("class", rater="bob"))
    assert store.rater("prof")["role"] == "owner"  # type: ignore[index]

    # Alice, with her own login, asking for Bob's data by id or at Bob's server.
    bob_ids = [a.id for a in store.assignments("class", rater="bob")]
    for aid in bob_ids:
        assert alice.api("GET", f"/assignments/{aid}").status_code == 403
        fake = {"submission_id": str(uuid.uuid4()), "assignment_id": aid, "verdict": "buggy", "confidence": 0.65, "time_on_task_s": 1.0}
        assert alice.api("POST", "/judgments", fake).status_code == 403
    resent = alice.api(
        "POST", "/judgments", {**fake, "submission_id": sent_b[0], "assignment_id": store.assignments("class", rater="alice")[0].id}
    )
    assert resent.status_code == 409 and sent_b[0] in stored  # bob's id is taken, bob's row is not shown
    assert "bob" not in alice.api("GET", "/studies/class/queue").text
    for path in ("/studies/class/dashboard", "/studies/class/export", "/studies/class/my-results"):
        assert alice.api("GET", path).status_code == 403
    assert alice.api("POST", "/studies/class/reveal", {"reveal": True}).status_code == 403
    for path in ("/me", "/studies/class/queue", f"/assignments/{bob_ids[0]}"):
        r = alice.api("GET", path, server="bob")
        assert r.status_code in (302, 403) and "bob" not in r.text.replace("/user/bob", "")
    assert len(store.judgments(study="class")) == len(stored)  # none of the refused requests stored anything
