"""The server extension's configuration, rater identity and loading.

``OversightExtension`` is a traitlets ``Configurable``: set its options in
``jupyter_server_config.py`` (``c.OversightExtension.db = ...``) or on the command line
(``--OversightExtension.db=...``).
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import Bool, Unicode, default
from traitlets.config import Config, LoggingConfigurable

from oversight_ext.identity import hub_user, os_user, request_rater
from oversight_ext.review.diffcache import default_directory
from oversight_ext.review.service import ReviewService
from oversight_ext.store import Store

from .forward import forward_routes
from .handlers import routes
from .owner import owner_routes

__all__ = ["CONFIG_FILES", "OversightExtension", "diff_cache_dir", "jupyter_config", "load_extension"]

#: The Jupyter config files (``.py`` and ``.json``) a server reads from each directory of
#: ``jupyter --paths`` (config), in the order it merges them, a later one winning: the base file,
#: the server's own, then those of the extension apps it links (JupyterLab, Notebook).
CONFIG_FILES = ("jupyter_config", "jupyter_server_config", "jupyter_lab_config", "jupyter_notebook_config")


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

    service_url = Unicode(
        help=(
            "URL of the hub's oversight service (deploy/jupyterhub_config.py sets $OVERSIGHT_SERVICE_URL). When set, this "
            "server opens no store: it forwards the review API to the service with its hub token. Default: $OVERSIGHT_SERVICE_URL."
        ),
    ).tag(config=True)

    prefetch = Bool(
        True,
        help=(
            "Parse the diff of the item a rater will open next in the background (when the sidebar loads and after each "
            "view). Off only to measure a first view that beats the parse (bench/render.py)."
        ),
    ).tag(config=True)

    diff_cache_dir = Unicode(
        help=(
            "Directory keeping each parsed diff as the item view's JSON, by content hash, so the first view after a restart "
            "reads it instead of parsing (at most 2 GB, the least recently used pruned). '' keeps parses in memory only. "
            "Default: $OVERSIGHT_DIFF_CACHE, else $XDG_CACHE_HOME/oversight_ext/diffs (~/.cache/oversight_ext/diffs)."
        ),
    ).tag(config=True)

    @default("diff_cache_dir")
    def _diff_cache_dir_default(self) -> str:
        return default_directory()

    @default("service_url")
    def _service_url_default(self) -> str:
        return os.environ.get("OVERSIGHT_SERVICE_URL", "")

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


def jupyter_config(paths: list[str] | None = None) -> Config:
    """The configuration a Jupyter server started here would read from its config files:
    :data:`CONFIG_FILES` in each of ``paths`` (default: the config directories of ``jupyter
    --paths``, ``$JUPYTER_CONFIG_DIR`` first, which wins), loaded by traitlets as the server loads
    them. A file that fails to load is logged and skipped, as the server does."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Application

    loader = Application()
    for name in CONFIG_FILES:
        loader.load_config_file(name, path=jupyter_config_path() if paths is None else paths)
    return loader.config


def diff_cache_dir(option: str | None = None) -> str:
    """The directory of stored parses a server started here would use, for a command that parses
    ahead of it: ``option`` when given, else the Jupyter config's
    ``OversightExtension.diff_cache_dir``, else ``$OVERSIGHT_DIFF_CACHE``, else the XDG cache
    (the server's own order: a config value overrides the default, which reads the environment).
    ``''`` keeps parses in memory only: nothing is parsed ahead."""
    if option is not None:
        return option
    return OversightExtension(config=jupyter_config()).diff_cache_dir


def load_extension(serverapp: Any) -> None:
    """Register the API handlers on a running ``ServerApp``: over the store, or forwarded to the hub service."""
    ext = OversightExtension(parent=serverapp)
    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    if ext.service_url:
        token, owner = os.environ.get("JUPYTERHUB_API_TOKEN", ""), hub_user()
        if not token or not owner:
            raise RuntimeError(
                "oversight_ext: service_url is set but this server was not spawned by JupyterHub "
                "($JUPYTERHUB_API_TOKEN / $JUPYTERHUB_USER missing); unset OVERSIGHT_SERVICE_URL to use a local store"
            )
        web_app.add_handlers(".*$", forward_routes(base_url, ext.service_url, token, owner))
        serverapp.log.info("oversight_ext: review API at %soversight/api, forwarded to %s", base_url, ext.service_url)
        return
    store = ext.open_store()
    web_app.settings["oversight_extension"] = ext
    web_app.settings["oversight_service"] = ReviewService(store, prefetch=ext.prefetch, diff_cache_dir=ext.diff_cache_dir or None)
    web_app.add_handlers(".*$", routes(base_url))
    web_app.add_handlers(".*$", owner_routes(base_url))
    serverapp.log.info("oversight_ext: review API at %soversight/api on %r", base_url, store)
