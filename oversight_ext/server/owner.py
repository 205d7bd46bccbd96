"""Owner-only REST routes over :class:`oversight_ext.review.owner.OwnerService`.

- GET  ``/oversight/api/studies/{study}/dashboard``  aggregates and chart specs (owners only)
- POST ``/oversight/api/studies/{study}/reveal``     ``{"reveal": bool}`` (owners only)
- GET  ``/oversight/api/studies/{study}/my-results`` the caller's own judgments against gold,
  only after the owner revealed them (403 before)
- GET  ``/oversight/api/studies/{study}/export``     every judgment of the study (owners only)
- GET  ``/oversight/api/studies/{study}/items/{item}/attribution``  the per-line attributions of the
  server's reward model (the tornado setting ``oversight_reward_model`` or ``$OVERSIGHT_REWARD_MODEL``)
  for one item (owners only; computed in a worker thread, cached)

The caller is always the identity layer's rater (:class:`~.handlers.OversightHandler`); an
owner is the study's named owner or a rater with the store role "owner"
(:func:`oversight_ext.workshop.reveal.is_owner`). Everyone else gets 403.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from jupyter_server.utils import url_path_join
from tornado import web

from oversight_ext.review.owner import OwnerService
from oversight_ext.review.service import ServiceError

from .handlers import OversightHandler, ReviewRoute, concrete

__all__ = ["owner_routes"]


class _OwnerHandler(ReviewRoute):
    @property
    def owner_service(self) -> OwnerService:
        # Built on the review service's store: one engine (one pool) per server.
        svc = self.settings.get("oversight_owner_service")
        if svc is None:
            svc = self.settings["oversight_owner_service"] = OwnerService(self.service.store)
        return svc

    async def reply(self, fn: Any, *args: Any) -> None:
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, fn, *args)
        except ServiceError as exc:
            self.refuse(exc)
            return
        self.finish(json.dumps(result, default=str))


class DashboardHandler(_OwnerHandler):
    @web.authenticated
    async def get(self, study: str) -> None:
        simulated = self.get_query_argument("simulated", "true").lower() not in ("0", "false", "no")
        svg = self.get_query_argument("format", "") == "svg"
        await self.reply(self.owner_service.dashboard, self.rater, study, simulated, svg)


class RevealHandler(_OwnerHandler):
    @web.authenticated
    async def post(self, study: str) -> None:
        try:
            payload = json.loads(self.request.body or b"null")
        except ValueError:
            payload = None
        await self.reply(self.owner_service.reveal, self.rater, study, payload)


class MyResultsHandler(_OwnerHandler):
    @web.authenticated
    async def get(self, study: str) -> None:
        await self.reply(self.owner_service.my_results, self.rater, study)


class ExportHandler(_OwnerHandler):
    @web.authenticated
    async def get(self, study: str) -> None:
        await self.reply(self.owner_service.export, self.rater, study)


class AttributionHandler(_OwnerHandler):
    @web.authenticated
    async def get(self, study: str, item: str) -> None:
        folder = self.settings.get("oversight_reward_model") or os.environ.get("OVERSIGHT_REWARD_MODEL", "")
        await self.reply(self.owner_service.attribution, self.rater, study, item, folder)


def owner_routes(base_url: str, base: type = OversightHandler) -> list[tuple[str, type]]:
    """The owner routes under ``base_url``, served by handlers built on ``base``."""
    studies = url_path_join(base_url, "oversight", "api", "studies", "([^/]+)")
    return [
        (url_path_join(studies, "dashboard"), concrete(DashboardHandler, base)),
        (url_path_join(studies, "reveal"), concrete(RevealHandler, base)),
        (url_path_join(studies, "my-results"), concrete(MyResultsHandler, base)),
        (url_path_join(studies, "export"), concrete(ExportHandler, base)),
        (url_path_join(studies, "items", "([^/]+)", "attribution"), concrete(AttributionHandler, base)),
    ]
