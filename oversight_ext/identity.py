"""Who the rater is, decided in one place for the REST API, the notebook widget and the CLI.

The rater is never a field a client sends: it comes from the identity layer of wherever the
request or the kernel runs.

- Under JupyterHub the hub user is the rater (``$JUPYTERHUB_USER`` in a spawned server and its
  kernels; the hub's own identity for requests through it).
- On a personal server whose identity provider is Jupyter's own (token or password login,
  which names each browser at random), the server's ``local_rater`` (default: the OS user).
- Otherwise the user name the identity provider gives (e.g. a workshop's per-participant
  tokens, :class:`oversight_ext.server.identity.ClassTokenIdentityProvider`).

Plain Python: importing it loads no web framework, so a kernel can use it.
"""

from __future__ import annotations

import getpass
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

__all__ = ["HUB_USER_ENV", "STOCK_PROVIDERS", "kernel_rater", "os_user", "read_tokens", "request_rater"]

#: Set by JupyterHub in every server it spawns (and so in their kernels and terminals).
HUB_USER_ENV = "JUPYTERHUB_USER"

#: Identity providers that come with Jupyter Server: with token login they name each
#: browser with a random "anonymous" user, which is no rater identity at all.
STOCK_PROVIDERS = frozenset(
    {
        "jupyter_server.auth.identity.IdentityProvider",
        "jupyter_server.auth.identity.PasswordIdentityProvider",
        "jupyter_server.auth.identity.LegacyIdentityProvider",
    }
)


def os_user() -> str:
    """The operating-system user name, the rater of a personal (non-hub) server."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return os.environ.get("USER") or os.environ.get("USERNAME") or f"uid-{os.getuid()}"


def hub_user(environ: Mapping[str, str] | None = None) -> str | None:
    """The hub user this process was spawned for, or None outside JupyterHub."""
    return (os.environ if environ is None else environ).get(HUB_USER_ENV) or None


def request_rater(username: str, provider: str, local_rater: str, environ: Mapping[str, str] | None = None) -> str:
    """The rater of an authenticated request: ``username`` as the identity provider named it.

    ``provider`` is the qualified class name of the server's identity provider; ``local_rater``
    the server's configured rater for Jupyter's stock providers ('' to trust the provider).
    """
    if provider.startswith("jupyterhub."):
        return username
    hub = hub_user(environ)
    if hub:
        # A hub-spawned server answers only its hub user, whatever the provider calls them.
        return hub
    if provider in STOCK_PROVIDERS and local_rater:
        return local_rater
    return username


def kernel_rater(rater: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The rater of code running in a kernel: the hub user, else ``rater``, else the OS user.

    Under JupyterHub no other rater may be named: asking for one is a ``ValueError``.
    """
    hub = hub_user(environ)
    if hub and rater is not None and rater != hub:
        raise ValueError(f"rater={rater!r}: under JupyterHub you rate as your hub user {hub!r}; leave rater out")
    return rater or hub or os_user()


def read_tokens(path: str | Path) -> dict[str, str]:
    """The ``{token: user}`` map of a workshop tokens file; refuses a file others can read."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except OSError as exc:
        raise ValueError(f"tokens_file={str(p)!r} cannot be read ({exc}); give a JSON file of {{token: user}}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"tokens_file={str(p)!r} has mode {stat.filemode(mode)}: others can read the tokens; run `chmod 600 {p}`")
    data = json.loads(p.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in data.items()):
        raise ValueError(f"tokens_file={str(p)!r} must hold a JSON object mapping each token to a user name")
    return data
