"""Jupyter server extension: the authenticated review API under ``/oversight/api``.

This package is the web adapter only (tornado handlers, the extension's options, the
workshop's token identity provider); what a rater may see and submit is
:mod:`oversight_ext.review`, who the rater is :mod:`oversight_ext.identity`.

Enable it with ``jupyter server extension enable oversight_ext`` (a ``pip install`` does it
through ``jupyter-config/server-config/oversight_ext.json``). Configure it through
:class:`OversightExtension` (``--OversightExtension.db=URL``; default ``$OVERSIGHT_DB``).
"""

from __future__ import annotations

from typing import Any

from .extension import OversightExtension, load_extension

__all__ = ["OversightExtension"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "oversight_ext.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    load_extension(serverapp)
