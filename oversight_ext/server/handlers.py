"""REST handlers under ``/oversight/api``: authenticate, parse, call the service, write JSON.

- GET  ``me``                          the rater, their role, their studies with progress
- GET  ``studies/{study}/queue``       the rater's assignments, each done or not
- GET  ``studies/{study}/next``        the first assignment without a judgment (or null)
- GET  ``assignments/{id}``            the item view (see :meth:`ReviewService.view`)
- POST ``judgments``                   201 stored, 200 already stored, 400/403/404/409 refused,
                                        413 when the body exceeds :data:`MAX_BODY_BYTES`

Every handler is a Jupyter ``APIHandler`` behind ``@tornado.web.authenticated``, so a request
without the server's token or login cookie is refused, and a cookie-authenticated POST without
Jupyter's XSRF token is refused before it reaches the service. Store calls block, so they run
in a worker thread and a slow database never stalls the server's event loop. A judgment's
body is read as a stream and refused past :data:`MAX_BODY_BYTES` without being kept, so an
oversized POST costs the server constant memory.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from oversight_ext.review.service import BadRequest, ReviewService, ServiceError, TooLarge

__all__ = ["MAX_BODY_BYTES", "OversightHandler", "ReviewRoute", "concrete", "routes"]

#: The largest judgment body accepted: the schema's field limits allow about 100 kB of text, and an
#: attention record is at most 192 kB (oversight_ext.attention.MAX_BYTES); anything much larger is
#: not a judgment a person made.
MAX_BODY_BYTES = 512 * 1024


if TYPE_CHECKING:
    _Handler = web.RequestHandler
else:
    _Handler = object  # a mixin at run time: the concrete base comes second (see :func:`concrete`)


class ReviewRoute(_Handler):
    """What every review route does, on any tornado handler base that supplies two things:
    ``service`` (the :class:`ReviewService`) and ``rater`` (the identity layer's rater id).

    Jupyter Server's :class:`OversightHandler` and the hub service's handler
    (:mod:`.hub_service`) are such bases, so both speak the same API from the same code.
    """

    service: ReviewService
    rater: str

    async def answer(self, fn: Callable[..., Any], *args: Any, encoded: bool = False) -> None:
        """Run ``fn(*args)`` off the event loop and write its result (or its refusal) as JSON;
        ``encoded``: ``fn`` returns the JSON text itself."""
        try:
            # Encoding runs in the worker too: a 100k-line item view is about 6 MB of JSON.
            text = await asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args) if encoded else json.dumps(fn(*args)))
        except ServiceError as exc:
            self.refuse(exc)
            return
        self.finish(text)

    def refuse(self, exc: ServiceError) -> None:
        self.set_status(exc.status)
        self.finish(json.dumps({"error": str(exc), "field": exc.field}))


class OversightHandler(APIHandler):
    """Jupyter Server's base: the injected service and the rater from the server's identity provider."""

    @property
    def service(self) -> ReviewService:
        return self.settings["oversight_service"]

    @property
    def rater(self) -> str:
        # The identity layer decides who the rater is; nothing in the request can change it.
        return self.settings["oversight_extension"].rater_for(self.current_user, self.identity_provider)


class MeHandler(ReviewRoute):
    @web.authenticated
    async def get(self) -> None:
        await self.answer(self.service.me, self.rater)


class QueueHandler(ReviewRoute):
    @web.authenticated
    async def get(self, study: str) -> None:
        await self.answer(self.service.queue, self.rater, study)


class NextHandler(ReviewRoute):
    @web.authenticated
    async def get(self, study: str) -> None:
        await self.answer(self.service.next, self.rater, study)


class AssignmentHandler(ReviewRoute):
    @web.authenticated
    async def get(self, assignment_id: str) -> None:
        # ?raw=0: the parsed diff only (the review panel's request; the text would travel twice).
        raw = self.get_query_argument("raw", "1")
        if raw not in ("0", "1"):
            self.refuse(BadRequest(f"raw = {raw!r} is invalid: give raw=0 (parsed diff only) or raw=1 (also the diff text)", field="raw"))
            return
        await self.answer(lambda: self.service.view_json(self.rater, assignment_id, raw_diff=raw == "1"), encoded=True)


class JudgmentsHandler(ReviewRoute):
    # What @web.stream_request_body sets (it takes only RequestHandler subclasses, not mixins).
    _stream_request_body = True
    _body: bytearray
    _received: int

    async def prepare(self) -> None:
        self._body, self._received = bytearray(), 0
        pending = super().prepare()  # Jupyter Server's is a coroutine, tornado's plain one returns None
        if pending is not None:
            await pending

    def data_received(self, chunk: bytes) -> None:
        # Keep at most MAX_BODY_BYTES + 1: enough to know the body is too large, never more.
        self._received += len(chunk)
        room = MAX_BODY_BYTES + 1 - len(self._body)
        if room > 0:
            self._body += chunk[:room]

    @web.authenticated
    async def post(self) -> None:
        if self._received > MAX_BODY_BYTES:
            self.refuse(
                TooLarge(f"the body is {self._received:,} bytes; a judgment is at most {MAX_BODY_BYTES:,} bytes: shorten the comments")
            )
            return
        try:
            payload = json.loads(bytes(self._body) or b"null")
        except (ValueError, RecursionError) as exc:
            # RecursionError: JSON nested thousands deep. ValueError includes bad UTF-8 and huge numbers.
            why = "nested too deep" if isinstance(exc, RecursionError) else str(exc)[:200]
            self.refuse(BadRequest(f"the body is not a JSON judgment ({why}); send the judgment as a JSON object"))
            return
        rater = self.rater
        try:
            result, created = await asyncio.get_running_loop().run_in_executor(None, self.service.submit, rater, payload)
        except ServiceError as exc:
            self.refuse(exc)
            return
        self.set_status(201 if created else 200)
        self.finish(json.dumps({"created": created, "judgment": result}))


def concrete(route: type, base: type) -> type:
    """``route`` on ``base``: e.g. ``MeHandler`` on Jupyter Server's or the hub service's handler."""
    return type(route.__name__, (route, base), {"__module__": base.__module__})


def routes(base_url: str, base: type = OversightHandler) -> list[tuple[str, type]]:
    """The URL patterns of the API under ``base_url``, served by handlers built on ``base``."""
    api = url_path_join(base_url, "oversight", "api")
    return [
        (url_path_join(api, "me"), concrete(MeHandler, base)),
        (url_path_join(api, "studies", "([^/]+)", "queue"), concrete(QueueHandler, base)),
        (url_path_join(api, "studies", "([^/]+)", "next"), concrete(NextHandler, base)),
        (url_path_join(api, "assignments", "([^/]+)"), concrete(AssignmentHandler, base)),
        (url_path_join(api, "judgments"), concrete(JudgmentsHandler, base)),
    ]
