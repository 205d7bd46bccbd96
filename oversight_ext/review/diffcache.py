"""Parsed diffs for the item view: cached, parsed once, and parsed ahead of the rater.

Parsing a 100,000-line diff with :func:`oversight_ext.diffs.parse_diff` makes a few hundred
thousand small objects; with the collector running the parse took three times as long as
without it (each full collection walks the whole heap of a JupyterLab server), so the parse
runs with collection paused (:func:`paused_gc`). The cache keeps recent parses (a rater
reloads, resubmits, goes back); concurrent requests for the same diff wait for one parse;
``prefetch`` parses the item a rater will open next in a background thread while they review
the current one; and with a ``directory`` each parse is also kept on disk as the view's JSON
text, under the SHA-256 of the diff text and :func:`parser_version` (a hash of the parser's and
the view builder's source), so the first view after a server restart reads it instead of
parsing again (content-addressed: an edited item is a new file, and a changed parser a new
version, never a stale answer). Importing items schedules the parse of their large diffs into
that directory in a background process (:func:`schedule_parses`), so a new item's first view
is warm too.

The view's wire format (:func:`files_view`) keeps a 100,000-line diff to a few strings per
hunk: ``kinds`` (one character per line: " " context, "+" added, "-" deleted, "\\" meta) and
``text`` (the lines without their prefix, joined by newlines; a line never holds one). Line
numbers follow from the hunk's starts and the kinds (:func:`hunk_lines`). An object per line
made the JSON twice the size and its encoding and decoding most of a cold first view.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from oversight_ext.diffs import CompactFile, DiffError, DiffFile, parse_compact
from oversight_ext.records import Item

__all__ = [
    "DiffCache",
    "default_directory",
    "diff_view",
    "files_view",
    "hunk_lines",
    "parser_version",
    "paused_gc",
    "schedule_parses",
    "store_parses",
]

log = logging.getLogger(__name__)

FilesView = list[dict[str, Any]]

#: Stored parses kept on disk at most (the oldest used go first); a 100k-line diff is about 3 MB.
DISK_BYTES = 2 * 1024**3
#: Diffs at least this long (characters, about 2,500 lines) are parsed into the stored parses
#: when imported; a shorter one parses in milliseconds on its first view.
IMPORT_PARSE_CHARS = 100_000
#: The line kinds of the parser and their one-character codes in the wire format.
KIND_CODES = {"context": " ", "add": "+", "del": "-", "meta": "\\"}
_CODE_KINDS = {code: kind for kind, code in KIND_CODES.items()}


def parser_version(sources: Iterable[str | os.PathLike[str]] | None = None) -> str:
    """12 hex digits of the SHA-256 of the code that makes a stored parse: the parser
    (:mod:`oversight_ext.diffs`), this module (the wire format), and unidiff's version (the
    parser's fallback). Any edit to them is a new version, so a stored parse of older code is
    never read; no manual version bump to forget."""
    import unidiff

    from oversight_ext import diffs

    paths = list(sources) if sources is not None else [diffs.__file__, __file__]
    h = hashlib.sha256(f"unidiff {getattr(unidiff, 'VERSION', '')}".encode())
    for path in paths:
        h.update(b"\0")
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:12]


#: The version of this process's parser (see :func:`parser_version`).
VERSION = parser_version()


def default_directory() -> str:
    """Where a server keeps stored parses: ``$OVERSIGHT_DIFF_CACHE`` ("" for nowhere), else
    ``oversight_ext/diffs`` under ``$XDG_CACHE_HOME`` (default ``~/.cache``)."""
    if "OVERSIGHT_DIFF_CACHE" in os.environ:
        return os.environ["OVERSIGHT_DIFF_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "oversight_ext" / "diffs")


_gc_lock = threading.Lock()
_gc_pauses = 0  # blocks inside paused_gc now
_gc_was_enabled = True  # whether collection was on when the first of them began


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a block makes many small acyclic objects (a
    parse): reference counting frees them as usual; only the heap walks are skipped. Nested and
    concurrent pauses are counted, and collection resumes after the last one if it was on."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def files_view(files: list[DiffFile] | list[CompactFile]) -> FilesView:
    """The item view's ``files``, each hunk's lines as two strings (see the module docstring),
    from :func:`~oversight_ext.diffs.parse_compact` (or :func:`~oversight_ext.diffs.parse_diff`)."""
    out: FilesView = []
    for f in files:
        hunks = []
        added = removed = 0
        for h in f.hunks:
            if isinstance(h, tuple):  # CompactHunk
                kinds, text = h.kinds, "\n".join(h.texts)
            else:
                kinds = "".join([KIND_CODES[ln[0]] for ln in h.lines])
                text = "\n".join([ln[1] for ln in h.lines])
            added += kinds.count("+")
            removed += kinds.count("-")
            hunks.append(
                {
                    "header": h.header,
                    "old_start": h.old_start,
                    "old_len": h.old_len,
                    "new_start": h.new_start,
                    "new_len": h.new_len,
                    "kinds": kinds,
                    "text": text,
                }
            )
        out.append(
            {
                "old_path": f.old_path,
                "new_path": f.new_path,
                "status": f.status,
                "binary": f.binary,
                "added": added,
                "removed": removed,
                "hunks": hunks,
            }
        )
    return out


def diff_view(diff: str) -> FilesView:
    """:func:`files_view` of ``diff`` (``[]`` for a diff the parser refuses: the UI shows the raw text)."""
    try:
        return files_view(parse_compact(diff))
    except DiffError:
        return []


def hunk_lines(hunk: dict[str, Any]) -> Iterator[tuple[str, int | None, int | None, str]]:
    """The lines of a hunk of :func:`files_view`: (kind, old line, new line, text), numbered
    from the hunk's starts as the parser numbers them (meta lines have neither number)."""
    kinds: str = hunk["kinds"]
    if not kinds:
        return
    old, new = hunk["old_start"], hunk["new_start"]
    for code, text in zip(kinds, hunk["text"].split("\n"), strict=True):
        if code == " ":
            yield "context", old, new, text
            old += 1
            new += 1
        elif code == "+":
            yield "add", None, new, text
            new += 1
        elif code == "-":
            yield "del", old, None, text
            old += 1
        else:
            yield _CODE_KINDS[code], None, None, text


class DiffCache:
    """The ``size`` most recently used parsed diffs, keyed by item id and diff text; with a
    ``directory``, every parse also stored there by content hash and ``version`` (the parser's,
    :data:`VERSION` unless given), at most ``disk_bytes`` of them."""

    def __init__(
        self,
        size: int = 32,
        *,
        prefetch: bool = True,
        directory: str | os.PathLike[str] | None = None,
        disk_bytes: int = DISK_BYTES,
        version: str = VERSION,
    ) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"DiffCache(size={size!r}): give the number of parsed diffs to keep, >= 1")
        if isinstance(disk_bytes, bool) or not isinstance(disk_bytes, int) or disk_bytes < 0:
            raise ValueError(f"DiffCache(disk_bytes={disk_bytes!r}): give the most bytes of stored parses to keep, >= 0")
        self.size = size
        self.directory = None if directory is None or str(directory) == "" else Path(directory)
        self.disk_bytes = disk_bytes
        self.version = version
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
        text: str | None = None
        try:
            stored = self._read(item.diff)
            with paused_gc():
                if stored is not None:
                    parsed, text = json.loads(stored), stored
                else:
                    parsed = diff_view(item.diff)
            if stored is None and self.directory is not None:
                text = json.dumps(parsed)
                self._write(item.diff, text)
        except BaseException as exc:
            with self._lock:
                self._parsing.pop(key, None)
            mine.set_exception(exc)
            raise
        with self._lock:
            self._done[key] = parsed
            if text is not None:
                self._json[key] = text
            self._parsing.pop(key, None)
            while len(self._done) > self.size:
                gone, _ = self._done.popitem(last=False)
                self._json.pop(gone, None)
        mine.set_result(parsed)
        return parsed

    # ------------------------------------------------------------------ on disk

    def path_of(self, diff: str) -> Path | None:
        """Where the parse of ``diff`` is stored (None without a directory)."""
        if self.directory is None:
            return None
        digest = hashlib.sha256(diff.encode("utf-8", "surrogatepass")).hexdigest()
        return self.directory / f"{digest}.p{self.version}.json"

    def _read(self, diff: str) -> str | None:
        path = self.path_of(diff)
        if path is None:
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError:  # an unreadable cache is only slower: parse instead
            log.warning("cannot read the stored parse %s; parsing the diff instead", path, exc_info=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: the last to be pruned
        return text

    def _write(self, diff: str, text: str) -> None:
        """Store ``text`` atomically (a reader sees the whole file or none), then prune the oldest."""
        path = self.path_of(diff)
        if path is None:
            return
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".parse-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, path)
            tmp = None
            self._prune()
        except OSError:
            log.warning("cannot store the parse in %s; it stays in memory only", path.parent, exc_info=True)
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def _prune(self) -> None:
        assert self.directory is not None
        files = []
        for p in self.directory.glob("*.json"):  # older versions' files too: they are never read
            with contextlib.suppress(OSError):  # another server may prune the same directory
                st = p.stat()
                files.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in files)
        for _, size, p in sorted(files):
            if total <= self.disk_bytes:
                break
            with contextlib.suppress(OSError):
                p.unlink()
                total -= size

    def store(self, item: Item) -> bool:
        """Parse ``item``'s diff into the directory unless it is stored there already (the
        memory cache is left alone: this is for items a rater may open later); whether it parsed."""
        path = self.path_of(item.diff)
        if path is None or path.exists():
            return False
        with paused_gc():
            text = json.dumps(diff_view(item.diff))
        self._write(item.diff, text)
        return True

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


def store_parses(items: Iterable[Item], directory: str | os.PathLike[str]) -> int:
    """Parse the diffs of ``items`` of at least :data:`IMPORT_PARSE_CHARS` characters into
    ``directory`` (those not stored yet); how many were parsed."""
    cache = DiffCache(1, prefetch=False, directory=directory)
    return sum(cache.store(item) for item in items if len(item.diff) >= IMPORT_PARSE_CHARS)


def schedule_parses(db_url: str, items: Iterable[Item], directory: str | os.PathLike[str] | None = None) -> subprocess.Popen[bytes] | None:
    """After an import: parse the large diffs among ``items`` into the stored parses
    (``directory``, default :func:`default_directory`) in a background process that outlives the
    command, reading the items from the store at ``db_url``. None when there is nothing to
    parse (no large diff, no directory, an in-memory store the process could not open)."""
    target = default_directory() if directory is None else str(directory)
    ids = [item.id for item in items if len(item.diff) >= IMPORT_PARSE_CHARS]
    if not ids or not target or ":memory:" in db_url or db_url.rstrip("/") == "sqlite:":
        return None
    # The URL and ids go through stdin: a URL can hold a password, and a process's arguments are public.
    child = subprocess.Popen(
        [sys.executable, "-m", "oversight_ext.review.diffcache"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert child.stdin is not None
    child.stdin.write(json.dumps({"db": db_url, "items": ids, "directory": target}).encode())
    child.stdin.close()
    return child


def _main() -> int:
    """The process :func:`schedule_parses` starts: ``{"db", "items", "directory"}`` on stdin."""
    from oversight_ext.store import Store

    job = json.load(sys.stdin)
    with Store(job["db"], migrate=False) as store:
        items = [store.get_item(item_id) for item_id in job["items"]]
    store_parses(items, job["directory"])
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
