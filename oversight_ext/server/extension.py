"""The server extension's configuration, rater identity and loading.

``OversightExtension`` is a traitlets ``Configurable``: set its options in
``jupyter_server_config.py`` (``c.OversightExtension.db = ...``) or on the command line
(``--OversightExtension.db=...``).
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from traitlets import Unicode, default
from traitlets.config import LoggingConfigurable

from oversight_ext.store import Store

from .handlers import routes
from .owner import owner_routes
from .service import ReviewService

__all__ = ["OversightExtension", "load_extension", "os_user"]

#: Identity providers that come with Jupyter Server: with token login they name each
#: browser with a random "anonymous" user, which is no rater identity at all.
_STOCK_PROVIDERS = {
    "jupyter_server.auth.identity.IdentityProvider",
    "jupyter_server.auth.identity.PasswordIdentityProvider",
    "jupyter_server.auth.identity.LegacyIdentityProvider",
}


def os_user() -> str:
    """The operating-system user name, the rater of a personal (non-hub) server."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return os.environ.get("USER") or os.environ.get("USERNAME") or f"uid-{os.getuid()}"


def _qualname(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


class OversightExtension(LoggingConfigurable):
    """Options of the oversight review API."""

    db = Unicode(
        help="Store the API reads and writes: a SQLAlchemy URL or a SQLite path. Default: $OVERSIGHT_DB, else ./oversight.db.",
    ).tag(config=True)

    local_rater = Unicode(
        help=(
            "Rater id of requests on a personal server whose IdentityProvider is Jupyter's own (token or password login "
            "names users at random). Default: the OS user name. Set '' to use the IdentityProvider's user name as it is. "
            "Ignored under JupyterHub, where the hub user is always the rater."
        ),
    ).tag(config=True)

    @default("db")
    def _db_default(self) -> str:
        return os.environ.get("OVERSIGHT_DB", "")

    @default("local_rater")
    def _local_rater_default(self) -> str:
        return os_user()

    def rater_for(self, user: Any, identity_provider: Any) -> str:
        """The rater id of an authenticated request's user."""
        provider = _qualname(identity_provider)
        if provider.startswith("jupyterhub."):
            return str(user.username)
        hub_user = os.environ.get("JUPYTERHUB_USER")
        if hub_user:
            # A hub-spawned server answers only its hub user, whatever the provider calls them.
            return hub_user
        if provider in _STOCK_PROVIDERS and self.local_rater:
            return self.local_rater
        return str(user.username)

    def open_store(self) -> Store:
        return Store(self.db or None)


def load_extension(serverapp: Any) -> None:
    """Open the store and register the API handlers on a running ``ServerApp``."""
    ext = OversightExtension(parent=serverapp)
    store = ext.open_store()
    web_app = serverapp.web_app
    web_app.settings["oversight_extension"] = ext
    web_app.settings["oversight_service"] = ReviewService(store)
    web_app.add_handlers(".*$", routes(web_app.settings["base_url"]))
    web_app.add_handlers(".*$", owner_routes(web_app.settings["base_url"]))
    serverapp.log.info("oversight_ext: review API at %soversight/api on %r", web_app.settings["base_url"], store)
