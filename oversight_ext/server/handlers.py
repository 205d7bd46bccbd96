"""REST handlers under ``/oversight/api``: authenticate, parse, call the service, write JSON.

- GET  ``me``                          the rater, their role, their studies with progress
- GET  ``studies/{study}/queue``       the rater's assignments, each done or not
- GET  ``studies/{study}/next``        the first assignment without a judgment (or null)
- GET  ``assignments/{id}``            the item view (see :meth:`ReviewService.view`)
- POST ``judgments``                   201 stored, 200 already stored, 400/403/404/409 refused

Every handler is a Jupyter ``APIHandler`` behind ``@tornado.web.authenticated``, so a request
without the server's token or login cookie is refused, and a cookie-authenticated POST without
Jupyter's XSRF token is refused before it reaches the service. Store calls block, so they run
in a worker thread and a slow database never stalls the server's event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from oversight_ext.review.service import ReviewService, ServiceError

__all__ = ["routes"]


class OversightHandler(APIHandler):
    """Common ground: the injected service, the rater's identity and error answers."""

    @property
    def service(self) -> ReviewService:
        return self.settings["oversight_service"]

    @property
    def rater(self) -> str:
        # The identity layer decides who the rater is; nothing in the request can change it.
        return self.settings["oversight_extension"].rater_for(self.current_user, self.identity_provider)

    async def answer(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` off the event loop and write its result (or its refusal) as JSON."""
        try:
            # Encoding runs in the worker too: a 100k-line item view is about 10 MB of JSON.
            text = await asyncio.get_running_loop().run_in_executor(None, lambda: json.dumps(fn(*args)))
        except ServiceError as exc:
            self.refuse(exc)
            return
        self.finish(text)

    def refuse(self, exc: ServiceError) -> None:
        self.set_status(exc.status)
        self.finish(json.dumps({"error": str(exc), "field": exc.field}))


class MeHandler(OversightHandler):
    @web.authenticated
    async def get(self) -> None:
        await self.answer(self.service.me, self.rater)


class QueueHandler(OversightHandler):
    @web.authenticated
    async def get(self, study: str) -> None:
        await self.answer(self.service.queue, self.rater, study)


class NextHandler(OversightHandler):
    @web.authenticated
    async def get(self, study: str) -> None:
        await self.answer(self.service.next, self.rater, study)


class AssignmentHandler(OversightHandler):
    @web.authenticated
    async def get(self, assignment_id: str) -> None:
        await self.answer(self.service.view, self.rater, assignment_id)


class JudgmentsHandler(OversightHandler):
    @web.authenticated
    async def post(self) -> None:
        try:
            payload = json.loads(self.request.body or b"null")
        except ValueError as exc:
            self.set_status(400)
            self.finish(json.dumps({"error": f"the body is not JSON ({exc}); send the judgment as a JSON object", "field": None}))
            return
        rater = self.rater
        try:
            result, created = await asyncio.get_running_loop().run_in_executor(None, self.service.submit, rater, payload)
        except ServiceError as exc:
            self.refuse(exc)
            return
        self.set_status(201 if created else 200)
        self.finish(json.dumps({"created": created, "judgment": result}))


def routes(base_url: str) -> list[tuple[str, type[OversightHandler]]]:
    """The URL patterns of the API under the server's ``base_url``."""
    api = url_path_join(base_url, "oversight", "api")
    return [
        (url_path_join(api, "me"), MeHandler),
        (url_path_join(api, "studies", "([^/]+)", "queue"), QueueHandler),
        (url_path_join(api, "studies", "([^/]+)", "next"), NextHandler),
        (url_path_join(api, "assignments", "([^/]+)"), AssignmentHandler),
        (url_path_join(api, "judgments"), JudgmentsHandler),
    ]
