"""The review view as a notebook widget: ``oversight_ext.review(study)`` in a cell.

The widget is an anywidget whose ES module (``static/widget.js``) is built from the same
TypeScript as the JupyterLab panel. It talks to the store only through
:class:`~oversight_ext.review.service.ReviewService`, the path the REST API takes, so it
obeys the same blinding rules. Its state lives in the store, not in the widget: a kernel
restart and a fresh ``review(study)`` open the rater's queue where they left it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import anywidget
import sqlalchemy as sa
import traitlets

from oversight_ext.identity import kernel_rater
from oversight_ext.store import Store, StoreError

from .service import NotFound, ReviewService, ServiceError

__all__ = ["ReviewWidget", "review"]

log = logging.getLogger(__name__)

ESM_PATH = Path(__file__).resolve().parent.parent / "static" / "widget.js"

# Shown in place of the review view when the package was installed without its front end.
_MISSING_ESM = """
export function render({ el }) {
  const p = document.createElement("p");
  p.textContent = "oversight_ext: the notebook widget's front end (oversight_ext/static/widget.js) is not built. "
    + "Reinstall the package with `pip install .`, or run `jlpm build` in a source checkout, then restart the kernel.";
  el.appendChild(p);
}
"""


class ReviewWidget(anywidget.AnyWidget):
    """One rater's queue in one study. Send ``{"type": "submit", "payload": ...}`` or ``{"type": "next"}``."""

    _esm = ESM_PATH if ESM_PATH.is_file() else _MISSING_ESM
    view = traitlets.Dict(help="the item view of the current assignment, {} when the queue is done").tag(sync=True)
    progress = traitlets.Dict(help="{'done': int, 'total': int} of this rater's queue").tag(sync=True)
    status = traitlets.Unicode("ready", help="'ready', 'saved' or 'error: <why>'").tag(sync=True)

    def __init__(self, service: ReviewService, study: str, rater: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.study = study
        self.rater = rater
        self.on_msg(self._on_message)
        self.show_next()

    def show_next(self) -> None:
        """Show the first unjudged assignment of the queue (or {} when all are done)."""
        nxt = self.service.next(self.rater, self.study)["assignment_id"]
        with self.hold_sync():
            self.view = self.service.view(self.rater, nxt, raw_diff=False) if nxt else {}
            self.progress = self.service.progress(self.rater, self.study)
            self._set_status("ready")

    def submit(self, payload: Any) -> None:
        """Store a judgment; the view then shows it and ``status`` turns "saved"."""
        self.service.submit(self.rater, payload)
        with self.hold_sync():
            self.view = self.service.view(self.rater, payload["assignment_id"], raw_diff=False)
            self.progress = self.service.progress(self.rater, self.study)
            self._set_status("saved")

    def close(self) -> None:
        """Close the widget and the store connection it holds."""
        super().close()
        self.service.close()

    def _set_status(self, value: str) -> None:
        # The front end waits for a change; re-send an unchanged status so a second save registers.
        if self.status == value:
            self.send_state("status")
        else:
            self.status = value

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "submit":
                self.submit(content.get("payload"))
            elif kind == "next":
                self.show_next()
            else:
                self._set_status(f"error: unknown message {kind!r}; send type 'submit' or 'next'")
        except ServiceError as exc:
            self._set_status(f"error: {exc}")
        except (StoreError, sa.exc.SQLAlchemyError) as exc:
            log.exception("review widget: the store failed")
            self._set_status(f"error: the store failed ({type(exc).__name__}); nothing was saved, submit again")


def review(study: str, *, db: str | os.PathLike[str] | None = None, rater: str | None = None) -> ReviewWidget:
    """Review ``study`` in this notebook; ``db`` defaults to ``$OVERSIGHT_DB`` (else ./oversight.db).

    The rater is ``$JUPYTERHUB_USER`` under JupyterHub (where no other rater may be named),
    else ``rater``, else the OS user name.
    """
    try:
        rater = kernel_rater(rater)
    except ValueError as exc:
        raise ValueError(f"review({exc}") from None
    store = Store(db)
    service = ReviewService(store)
    try:
        service.queue(rater, study)
    except NotFound:
        names = store.study_names()
        store.close()
        raise ValueError(f"review(study={study!r}): no such study in {store!r}; choose one of {names}") from None
    return ReviewWidget(service, study, rater)
