"""Parsed diffs for the item view: cached, parsed once, and parsed ahead of the rater.

Parsing a 100,000-line diff with :func:`oversight_ext.diffs.parse_diff` takes seconds on a
busy 2-core machine. The cache keeps recent parses (a rater reloads, resubmits, goes back);
concurrent requests for the same diff wait for one parse; and ``prefetch`` parses the item a
rater will open next in a background thread while they review the current one.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from oversight_ext.diffs import DiffError, DiffFile, parse_diff
from oversight_ext.records import Item

__all__ = ["DiffCache", "files_view"]

log = logging.getLogger(__name__)

FilesView = list[dict[str, Any]]


def files_view(files: list[DiffFile]) -> FilesView:
    """The item view's ``files``: lines travel as [kind, old, new, text] to keep the JSON small."""
    return [
        {
            "old_path": f.old_path,
            "new_path": f.new_path,
            "status": f.status,
            "binary": f.binary,
            "added": f.added,
            "removed": f.removed,
            "hunks": [
                {
                    "header": h.header,
                    "old_start": h.old_start,
                    "old_len": h.old_len,
                    "new_start": h.new_start,
                    "new_len": h.new_len,
                    "lines": [[ln.kind, ln.old, ln.new, ln.text] for ln in h.lines],
                }
                for h in f.hunks
            ],
        }
        for f in files
    ]


class DiffCache:
    """The ``size`` most recently used parsed diffs, keyed by item id and diff text."""

    def __init__(self, size: int = 32, *, prefetch: bool = True) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"DiffCache(size={size!r}): give the number of parsed diffs to keep, >= 1")
        self.size = size
        self._done: OrderedDict[tuple[str, int], FilesView] = OrderedDict()
        # The JSON text of a cached parse, made on first use: encoding a 100k-line view again
        # for every request costs more than the rest of the request together.
        self._json: dict[tuple[str, int], str] = {}
        self._parsing: dict[tuple[str, int], Future[FilesView]] = {}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oversight-prefetch") if prefetch else None

    def files(self, item: Item) -> FilesView:
        """The parsed diff of ``item`` (``[]`` for a diff the parser refuses: the UI shows the raw text)."""
        key = (item.id, hash(item.diff))
        with self._lock:
            cached = self._done.get(key)
            if cached is not None:
                self._done.move_to_end(key)
                return cached
            pending = self._parsing.get(key)
            if pending is None:
                mine: Future[FilesView] = Future()
                self._parsing[key] = mine
        if pending is not None:
            return pending.result()
        try:
            try:
                parsed = files_view(parse_diff(item.diff))
            except DiffError:
                parsed = []
        except BaseException as exc:
            with self._lock:
                self._parsing.pop(key, None)
            mine.set_exception(exc)
            raise
        with self._lock:
            self._done[key] = parsed
            self._parsing.pop(key, None)
            while len(self._done) > self.size:
                gone, _ = self._done.popitem(last=False)
                self._json.pop(gone, None)
        mine.set_result(parsed)
        return parsed

    def encoded(self, item: Item) -> str:
        """:meth:`files` as JSON text, encoded once while the parse stays cached."""
        key = (item.id, hash(item.diff))
        with self._lock:
            text = self._json.get(key)
        if text is not None:
            return text
        text = json.dumps(self.files(item))
        with self._lock:
            if key in self._done:
                self._json[key] = text
        return text

    def __contains__(self, item: Item) -> bool:
        """Whether ``item``'s diff is parsed and cached."""
        with self._lock:
            return (item.id, hash(item.diff)) in self._done

    def wait(self) -> None:
        """Block until every prefetch asked for so far has finished."""
        if self._worker is not None:
            self._worker.submit(lambda: None).result()

    def prefetch(self, load: Callable[[], Item]) -> Future[None] | None:
        """Parse the item ``load()`` returns in the background; None when prefetching is off."""
        if self._worker is None:
            return None

        def parse() -> None:
            try:
                self.encoded(load())  # parsed and encoded: the view then only splices the text in
            except Exception:  # only a guess at what comes next; the real request reports errors
                log.debug("prefetching a diff failed", exc_info=True)

        return self._worker.submit(parse)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
