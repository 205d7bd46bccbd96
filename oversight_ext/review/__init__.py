"""Reviewing: what one rater may see and submit, the diff cache, and the notebook widget.

- :mod:`.service`: :class:`ReviewService`, the blinding rules over the store (queues, item
  views, judgment submission), called by the REST adapter (:mod:`oversight_ext.server`) and
  by the widget alike;
- :mod:`.diffcache`: parsed diffs, cached and parsed ahead of the rater;
- :mod:`.owner`: what a study's owner may ask (dashboard, reveal, export);
- :mod:`.widget`: the review view as a notebook widget.

Nothing here imports a web framework. The package itself is callable, so the notebook form
``from oversight_ext import review; review("study")`` opens the widget (see :func:`.widget.review`).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .service import BadRequest, Conflict, Forbidden, NotFound, ReviewService, ServiceError

__all__ = ["BadRequest", "Conflict", "Forbidden", "NotFound", "ReviewService", "ServiceError"]


class _CallablePackage(types.ModuleType):
    # ``oversight_ext.review`` is both this package and, in notebooks, the call that opens the
    # widget: once any submodule is imported Python binds the package to that name, so the
    # package itself answers the call. The widget (anywidget, ipywidgets) loads on first use.
    def __call__(self, study: str, **kwargs: Any) -> Any:
        from .widget import review

        return review(study, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
