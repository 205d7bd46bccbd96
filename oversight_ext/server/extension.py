"""The server extension's configuration, rater identity and loading.

``OversightExtension`` is a traitlets ``Configurable``: set its options in
``jupyter_server_config.py`` (``c.OversightExtension.db = ...``) or on the command line
(``--OversightExtension.db=...``).
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import Unicode, default
from traitlets.config import LoggingConfigurable

from oversight_ext.identity import os_user, request_rater
from oversight_ext.review.service import ReviewService
from oversight_ext.store import Store

from .handlers import routes
from .owner import owner_routes

__all__ = ["OversightExtension", "load_extension"]


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
        """The rater id of an authenticated request's user (the rule: :func:`oversight_ext.identity.request_rater`)."""
        return request_rater(str(user.username), _qualname(identity_provider), self.local_rater)

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
