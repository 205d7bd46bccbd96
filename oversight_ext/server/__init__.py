"""Jupyter server extension: the authenticated review API under ``/oversight/api``.

Enable it with ``jupyter server extension enable oversight_ext`` (a ``pip install`` does it
through ``jupyter-config/server-config/oversight_ext.json``). Configure it through
:class:`OversightExtension` (``--OversightExtension.db=URL``; default ``$OVERSIGHT_DB``).
"""

from __future__ import annotations

from typing import Any

from .extension import OversightExtension, load_extension
from .service import BadRequest, Conflict, Forbidden, NotFound, ReviewService, ServiceError

__all__ = [
    "BadRequest",
    "Conflict",
    "Forbidden",
    "NotFound",
    "OversightExtension",
    "ReviewService",
    "ServiceError",
]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "oversight_ext.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    load_extension(serverapp)
