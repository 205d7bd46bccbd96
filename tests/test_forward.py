"""A hub-spawned server's review API, forwarded to the hub's oversight service (server/forward.py).

A real in-process Jupyter server (pytest-jupyter) configured as JupyterHub configures one
(``$OVERSIGHT_SERVICE_URL``, ``$JUPYTERHUB_USER``, ``$JUPYTERHUB_API_TOKEN``, no database),
and a real tornado HTTP server standing in for the service that records what reaches it.
The whole hub is exercised by tests/test_hub.py and tests/test_hub_isolation.py; this checks
the forwarding rules fast: the owner's requests go on with the hub token, anyone else's and
oversized bodies stop at the server, and a service that is down is a 502 that says so.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import tornado.httpclient
from jupyter_server.auth.identity import IdentityProvider, User
from tornado import httpserver, web
from traitlets.config import Config

from oversight_ext.server.handlers import MAX_BODY_BYTES
from oversight_ext.testing.throwaway import free_port

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TOKENS = {"alice-browser": "alice", "mallory-browser": "mallory"}
HUB_TOKEN = "hub-token-of-alices-server"


class TokenUsers(IdentityProvider):
    """The hub's login, reduced to one token per person."""

    def get_user(self, handler: Any) -> User | None:
        name = TOKENS.get(handler.request.headers.get("Authorization", "").removeprefix("token ").strip())
        if not name:
            return None
        handler._token_authenticated = True
        return User(username=name)


class StubService(web.RequestHandler):
    """Records each request and answers as the service would (201 for a POST)."""

    def initialize(self, seen: list[dict[str, Any]]) -> None:
        self.seen = seen

    def _record(self) -> None:
        self.seen.append(
            {
                "method": self.request.method,
                "uri": self.request.uri,
                "auth": self.request.headers.get("Authorization"),
                "body": self.request.body,
            }
        )

    def get(self, path: str) -> None:
        self._record()
        self.finish({"rater": "alice", "path": path})

    def post(self, path: str) -> None:
        self._record()
        self.set_status(201)
        self.finish({"created": True})


@pytest.fixture
def service_port() -> int:
    return free_port()


@pytest.fixture
def jp_server_config(service_port: int, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("OVERSIGHT_SERVICE_URL", f"http://127.0.0.1:{service_port}/services/oversight/")
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", HUB_TOKEN)
    monkeypatch.delenv("OVERSIGHT_DB", raising=False)
    return Config({"ServerApp": {"jpserver_extensions": {"oversight_ext": True}, "identity_provider_class": TokenUsers}})


async def call(jp_fetch: Any, *parts: str, user: str, body: bytes | None = None, **params: str) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": "token " + {v: k for k, v in TOKENS.items()}[user]}
    kwargs: dict[str, Any] = {"method": "GET"} if body is None else {"method": "POST", "body": body}
    try:
        resp = await jp_fetch("oversight", "api", *parts, headers=headers, params=params, **kwargs)
    except tornado.httpclient.HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, json.loads(exc.response.body)
    return resp.code, json.loads(resp.body)


async def test_owner_requests_go_to_the_service_with_the_hub_token_and_nothing_else_does(
    jp_fetch: Any, jp_serverapp: Any, service_port: int
) -> None:
    assert "oversight_service" not in jp_serverapp.web_app.settings  # no store was opened
    seen: list[dict[str, Any]] = []
    stub = httpserver.HTTPServer(web.Application([(r"/services/oversight/oversight/api/(.*)", StubService, {"seen": seen})]))
    stub.listen(service_port, "127.0.0.1")
    try:
        code, body = await call(jp_fetch, "studies", "s1", "queue", user="alice", v="2")
        assert (code, body) == (200, {"rater": "alice", "path": "studies/s1/queue"})
        assert seen[-1]["uri"] == "/services/oversight/oversight/api/studies/s1/queue?v=2" and seen[-1]["auth"] == f"token {HUB_TOKEN}"
        judgment = json.dumps({"submission_id": "x", "assignment_id": "s1:alice:00000"}).encode()
        assert await call(jp_fetch, "judgments", user="alice", body=judgment) == (201, {"created": True})
        assert seen[-1]["method"] == "POST" and seen[-1]["body"] == judgment

        before = len(seen)
        code, body = await call(jp_fetch, "me", user="mallory")
        assert code == 403 and "alice only" in body["error"]
        code, body = await call(jp_fetch, "judgments", user="alice", body=b"{" + b" " * MAX_BODY_BYTES + b"}")
        assert code == 413 and "at most" in body["error"]
        assert len(seen) == before  # neither reached the service
    finally:
        stub.stop()
    code, body = await call(jp_fetch, "me", user="alice")
    assert code == 502 and "not answering" in body["error"] and str(service_port) in body["error"]
