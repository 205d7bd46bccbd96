"""Owner-only REST routes: the live dashboard, the reveal switch, the export; and a rater's own results.

- GET  ``/oversight/api/studies/{study}/dashboard``  aggregates and chart specs (owners only)
- POST ``/oversight/api/studies/{study}/reveal``     ``{"reveal": bool}`` (owners only)
- GET  ``/oversight/api/studies/{study}/my-results`` the caller's own judgments against gold,
  only after the owner revealed them (403 before)
- GET  ``/oversight/api/studies/{study}/export``     every judgment of the study (owners only)

The caller is always the identity layer's rater (:class:`~.handlers.OversightHandler`); an
owner is the study's named owner or a rater with the store role "owner"
(:func:`oversight_ext.workshop.reveal.is_owner`). Everyone else gets 403.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_server.utils import url_path_join
from tornado import web

from oversight_ext.records import Study
from oversight_ext.store import Store, UnknownRecord

from .handlers import OversightHandler
from .service import BadRequest, Forbidden, NotFound, ServiceError

__all__ = ["OwnerService", "owner_routes"]


class OwnerService:
    """What owners (and, after reveal, raters about themselves) may ask of a study."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _study(self, study: str) -> Study:
        try:
            return self.store.study(study)
        except UnknownRecord:
            raise NotFound(f"no study {study!r}; see your studies at /oversight/api/me") from None

    def _owner(self, user: str, study: str, action: str) -> Study:
        from oversight_ext.workshop.reveal import OwnerRequired, require_owner

        info = self._study(study)
        try:
            require_owner(self.store, study, user, action)
        except OwnerRequired as exc:
            raise Forbidden(str(exc)) from None
        return info

    def dashboard(self, user: str, study: str, include_simulated: bool = True, svg: bool = False) -> dict[str, Any]:
        from oversight_ext.workshop.dashboard import dashboard_data
        from oversight_ext.workshop.reveal import is_revealed

        self._owner(user, study, "see the dashboard")
        return {
            **dashboard_data(self.store, study, include_simulated=include_simulated, svg=svg),
            "revealed": is_revealed(self.store, study),
        }

    def reveal(self, user: str, study: str, payload: Any) -> dict[str, Any]:
        from oversight_ext.workshop.reveal import set_reveal

        self._owner(user, study, "reveal results")
        if not isinstance(payload, dict) or not isinstance(payload.get("reveal"), bool):
            raise BadRequest('send {"reveal": true} to show participants their results, or {"reveal": false} to hide them', field="reveal")
        return {"study": study, "revealed": set_reveal(self.store, study, payload["reveal"], by=user)}

    def my_results(self, user: str, study: str) -> dict[str, Any]:
        from oversight_ext.workshop.reveal import is_revealed, my_results

        self._study(study)
        if not is_revealed(self.store, study):
            raise Forbidden(f"results of study {study!r} are not revealed yet; the study's owner reveals them after the class has rated")
        rows = my_results(self.store, study, user)
        correct = rows.filter(rows["correct"].is_not_null())["correct"]
        return {
            "study": study,
            "rater": user,
            "n": rows.height,
            "n_correct": int(correct.sum()) if correct.len() else 0,
            "results": rows.to_dicts(),
        }

    def export(self, user: str, study: str) -> dict[str, Any]:
        info = self._owner(user, study, "export the data")
        judgments = self.store.judgments(study=study, current=False)
        return {
            "study": study,
            "config": info.config,
            "seed": info.seed,
            "code_version": info.code_version,
            "assignments": [a.to_dict() for a in self.store.assignments(study)],
            "judgments": [j.to_dict() for j in judgments],
        }


class _OwnerHandler(OversightHandler):
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
            self.set_status(exc.status)
            self.finish(json.dumps({"error": str(exc), "field": exc.field}))
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


def owner_routes(base_url: str) -> list[tuple[str, type[OversightHandler]]]:
    """The owner routes under the server's ``base_url``."""
    studies = url_path_join(base_url, "oversight", "api", "studies", "([^/]+)")
    return [
        (url_path_join(studies, "dashboard"), DashboardHandler),
        (url_path_join(studies, "reveal"), RevealHandler),
        (url_path_join(studies, "my-results"), MyResultsHandler),
        (url_path_join(studies, "export"), ExportHandler),
    ]
