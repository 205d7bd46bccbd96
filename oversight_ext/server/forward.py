"""The review API of a hub-spawned server, forwarded to the hub's oversight service.

Under JupyterHub the store lives only in the hub service (:mod:`.hub_service`); a rater's
server holds no database URL. Its ``/oversight/api/...`` routes stay where the front end
calls them (same paths, same cookie login and XSRF check), and each request is sent on to
the service with the server's own hub token (``$JUPYTERHUB_API_TOKEN``), which names the
server's owner: the service records the rater from that token, never from the request.

So that the token speaks only for its owner, a request by any other hub user (an admin or a
user the server is shared with) is refused here with 403: the review API of a server
answers its owner alone.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import httpclient, web

from .handlers import MAX_BODY_BYTES

__all__ = ["ForwardHandler", "forward_routes"]

#: Seconds to wait for the service: an item view of a very large diff takes a few seconds.
TIMEOUT_S = 120.0


class ForwardHandler(APIHandler):
    """Any ``/oversight/api/<path>`` request, sent on to the service as the server's owner."""

    # Judgment bodies are counted as they arrive and refused past MAX_BODY_BYTES, as in .handlers.
    _stream_request_body = True

    def initialize(self, service_url: str, hub_token: str, owner: str) -> None:
        self.service_url = service_url
        self.hub_token = hub_token
        self.owner = owner

    async def prepare(self) -> None:  # type: ignore[override]
        self._body, self._received = bytearray(), 0
        await super().prepare()

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        room = MAX_BODY_BYTES + 1 - len(self._body)
        if room > 0:
            self._body += chunk[:room]

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.finish(json.dumps(body))

    @web.authenticated
    async def get(self, path: str) -> None:
        await self._forward("GET", path, None)

    @web.authenticated
    async def post(self, path: str) -> None:
        if self._received > MAX_BODY_BYTES:
            msg = f"the body is {self._received:,} bytes; a judgment is at most {MAX_BODY_BYTES:,} bytes: shorten the comments"
            self._answer(413, {"error": msg, "field": None})
            return
        await self._forward("POST", path, bytes(self._body))

    async def _forward(self, method: str, path: str, body: bytes | None) -> None:
        user = str(self.current_user.username)
        if user != self.owner:
            self._answer(403, {"error": f"this server's review API answers {self.owner} only; open your own server", "field": None})
            return
        if ".." in path.split("/"):
            self._answer(404, {"error": f"no route {path!r}", "field": None})
            return
        # tornado decoded the path: quote it again so that it names the same route at the service.
        url = url_path_join(self.service_url, "oversight", "api", quote(path, safe="/:@"))
        if self.request.query:
            url += "?" + self.request.query
        request = httpclient.HTTPRequest(
            url,
            method=method,
            body=body,
            headers={"Authorization": f"token {self.hub_token}", "Content-Type": "application/json"},
            follow_redirects=False,
            request_timeout=TIMEOUT_S,
            connect_timeout=10,
        )
        try:
            response = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError as exc:  # refused, reset, unreachable
            self._answer(
                502, {"error": f"the oversight service at {self.service_url} is not answering ({exc}); ask the hub's admin", "field": None}
            )
            return
        if response.code == 599:  # tornado's code for a timeout or a dropped connection
            why = response.error or "no answer"
            self._answer(502, {"error": f"the oversight service at {self.service_url} did not answer ({why}); try again", "field": None})
            return
        self.set_status(response.code)
        self.finish(response.body or b"")


def forward_routes(base_url: str, service_url: str, token: str, owner: str) -> list[tuple[str, type, dict[str, str]]]:
    """The API's one pattern under ``base_url``, forwarded to ``service_url`` (the service's prefix)."""
    api = url_path_join(base_url, "oversight", "api")
    return [(url_path_join(api, "(.*)"), ForwardHandler, {"service_url": service_url, "hub_token": token, "owner": owner})]
