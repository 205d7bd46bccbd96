"""Per-participant tokens for a workshop served by one Jupyter server, without a hub.

Jupyter's own token login gives every browser the same random "anonymous" user, which is no
rater identity. ``ClassTokenIdentityProvider`` maps each participant's token to their user
name, so the review API (which trusts the identity layer, never the request body) records
judgments under the right rater. Tokens come from a JSON file ``{"token": "user", ...}``
readable by the server's user only (mode 0600), or from configuration. Under JupyterHub use
the hub's own identity instead (see ``deploy/``).

    jupyter lab --ServerApp.identity_provider_class=oversight_ext.server.identity.ClassTokenIdentityProvider \\
        --ClassTokenIdentityProvider.tokens_file=class-tokens.json
"""

from __future__ import annotations

import hmac
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User
from traitlets import Dict, Unicode, default

from oversight_ext.identity import os_user, read_tokens

__all__ = ["ClassTokenIdentityProvider"]


class ClassTokenIdentityProvider(IdentityProvider):  # type: ignore[misc]
    """Identity by participant token (``Authorization: token T`` or ``?token=T``)."""

    tokens_file = Unicode("", help="JSON file {token: user name}, mode 0600. Read once at start.").tag(config=True)
    user_tokens = Dict(key_trait=Unicode(), value_trait=Unicode(), help="{token: user name}; added to those of tokens_file.").tag(
        config=True
    )

    server_token_user = Unicode(
        help=(
            "Rater id of requests made with the server's own token (the instructor's). Jupyter would name each such "
            "request at random; default: the OS user running the server. Set '' to keep Jupyter's random names."
        ),
    ).tag(config=True)

    @default("server_token_user")
    def _server_token_user_default(self) -> str:
        return os_user()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._users: dict[str, str] = dict(read_tokens(self.tokens_file)) if self.tokens_file else {}
        self._users.update(self.user_tokens)

    @property
    def auth_enabled(self) -> bool:
        return True

    async def get_user_token(self, handler: Any) -> Any:
        token = self.get_token(handler)
        if token:
            # compare_digest with every token: the answer time says nothing about which is close.
            found = None
            for known, name in self._users.items():
                if hmac.compare_digest(known.encode(), token.encode()):
                    found = name
            if found is not None:
                return User(username=found, name=found, display_name=found)
        user = await super().get_user_token(handler)  # the server's own token, or None
        if user is not None and self.server_token_user:
            # One stable rater for the server's token: Jupyter names each of its requests anew.
            name = self.server_token_user
            return User(username=name, name=name, display_name=name)
        return user
