"""Per-line attributions of a trained reward model for one item: what the owner's heat strip shows.

The owner's view of an item (``GET /oversight/api/studies/{study}/items/{item}/attribution``)
draws each added line of the diff with a colour for how the model's reward moves when that
line is deleted (occlusion, :func:`.attribution.occlusion`): positive means the line lowers the
reward (the model holds it against the change). A model folder is loaded once per process and
each (folder, item) is computed once; a retrained model in the same folder (a new marker file)
is loaded afresh. Raters never receive any of this: the route is owner-only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from oversight_ext.records import Item

from .attribution import occlusion
from .loading import ModelFolderError, load_reward

__all__ = ["CACHE", "AttributionCache", "ModelFolderError", "load_scorer"]

Scorer = tuple[Callable[[list[str]], np.ndarray], str]


def load_scorer(folder: str) -> Scorer:
    """(texts -> rewards, the text format the model was trained on) of a folder ``oversight train-rm`` wrote."""
    try:
        loaded = load_reward(folder)
    except ModelFolderError as exc:
        raise ModelFolderError(f"{exc}, and point the server's oversight_reward_model setting at it") from None
    return loaded.score, loaded.text_format


class AttributionCache:
    """Loaded scorers by folder and computed attributions by (folder, model version, item id), at most ``max_items``."""

    def __init__(self, max_items: int = 512) -> None:
        self.max_items = max_items
        self._scorers: dict[tuple[str, float], Scorer] = {}
        self._results: OrderedDict[tuple[str, float, str], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()  # one model load or scoring at a time: the CPU is the limit anyway

    def _version(self, folder: str) -> float:
        from .model import MARKER

        marker = Path(folder) / MARKER
        return marker.stat().st_mtime if marker.is_file() else 0.0

    def item(self, folder: str, item: Item) -> dict[str, Any]:
        """The heat strip's data for ``item``: its diff and each added line's reward change on deletion."""
        key = (folder, self._version(folder), item.id)
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
            scorer = self._scorers.get(key[:2])
            if scorer is None:
                scorer = self._scorers[key[:2]] = load_scorer(folder)
            score, text_format = scorer
            lines = occlusion(
                score, before=item.before, after=item.after, diff=item.diff, path=item.path, text_format=text_format, spec=item.spec
            )
            result = {
                "item": item.id,
                "path": item.path,
                "diff": item.diff,
                "model": Path(folder).name,
                "method": "occlusion",
                "text_format": text_format,
                "lines": [{"line": a.line, "text": a.text, "delta": a.delta} for a in sorted(lines, key=lambda a: a.line)],
                "max_abs_delta": max((abs(a.delta) for a in lines), default=0.0),
            }
            self._results[key] = result
            while len(self._results) > self.max_items:
                self._results.popitem(last=False)
            return result


#: The server's one cache (a process serves one configured model folder, or a few).
CACHE = AttributionCache()
