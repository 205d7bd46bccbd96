"""The review API as a JupyterHub-managed service: the one process that holds the store.

Under JupyterHub the raters' single-user servers (and so their kernels and terminals) never
see the database URL. The hub starts this process with the URL in its environment, as its
own OS user; it serves the same review API as the server extension, at
``/services/<name>/oversight/api/...``, and takes the rater from the hub's identity of each
request: a hub API token (``Authorization: token ...``; what the raters' servers forward, see
:mod:`.forward`) or the service's own OAuth cookie (a browser that logged in to the hub).
A token that belongs to a service, not a user, is refused: only people are raters.

Started by the hub (``deploy/jupyterhub_config.py``):

    c.JupyterHub.services = [{"name": "oversight", "url": "http://127.0.0.1:8765",
                              "command": [sys.executable, "-m", "oversight_ext.server.hub_service"],
                              "environment": {"OVERSIGHT_DB": DB_URL}}]

Everything else it needs (its API token, prefix, OAuth client) JupyterHub sets in its
environment (``JUPYTERHUB_*``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from oversight_ext.review.diffcache import default_directory
from oversight_ext.review.service import ReviewService
from oversight_ext.store import Store

from .handlers import routes
from .owner import owner_routes

__all__ = ["ServiceHandler", "main", "make_app"]


class ServiceHandler(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]
    """The hub service's base for the review routes: the rater is the hub user of the request."""

    def prepare(self) -> None:
        # API routes answer 403 rather than redirect to the hub's login: callers are servers and scripts.
        if self.current_user is None:
            raise web.HTTPError(403, "log in to JupyterHub, or send a hub API token (Authorization: token ...)")

    def get_current_user(self) -> dict[str, Any] | None:
        model = super().get_current_user()
        if model is None or model.get("kind", "user") != "user":
            return None  # a service's token names no rater
        return dict(model)

    @property
    def service(self) -> ReviewService:
        return self.settings["oversight_service"]

    @property
    def rater(self) -> str:
        return str(self.current_user["name"])  # type: ignore[index]

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else self._reason
        self.finish(json.dumps({"error": message, "field": None}))


class LoginHandler(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]
    """``GET /services/<name>/``: a browser's way in (the hub's OAuth), answering who is logged in."""

    @web.authenticated
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"rater": self.current_user["name"]}))  # type: ignore[index]


def make_app(store: Store, prefix: str, hub_auth: HubOAuth | None = None) -> web.Application:
    """The service's tornado application over ``store``, its routes under ``prefix``."""
    auth = hub_auth or HubOAuth(cache_max_age=60)
    settings: dict[str, Any] = {
        "oversight_service": ReviewService(store, diff_cache_dir=default_directory()),
        "cookie_secret": os.urandom(32),
    }

    def bound(base: type) -> type:
        return type(base.__name__, (base,), {"_hub_auth": auth})

    handlers: list[tuple[str, Any]] = [
        (prefix, bound(LoginHandler)),
        (url_path_join(prefix, "oauth_callback"), bound(HubOAuthCallbackHandler)),
        *routes(prefix, bound(ServiceHandler)),
        *owner_routes(prefix, bound(ServiceHandler)),
    ]
    return web.Application(handlers, **settings)


def main() -> None:
    """Serve the store named by ``$OVERSIGHT_DB`` where the hub says (``$JUPYTERHUB_SERVICE_URL``)."""
    url = os.environ.get("OVERSIGHT_DB", "").strip()
    if not url:
        raise SystemExit("oversight hub service: OVERSIGHT_DB is not set; give the store's URL in the service's environment")
    where = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8765"))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/oversight/")
    store = Store(url)
    app = make_app(store, prefix)

    async def serve() -> None:
        app.listen(where.port or 80, where.hostname or "127.0.0.1", xheaders=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(serve())
    finally:
        app.settings["oversight_service"].close()


if __name__ == "__main__":
    main()
