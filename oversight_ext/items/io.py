"""Reading and writing items: JSONL in the shared code-pair schema, and plain diff files.

Every item is checked before anything is stored: its diff must parse, hold no binary
changes, stay under a size limit, and, when the full programs are given, turn ``before``
into ``after`` exactly. Import is all-or-nothing: a file with one bad line stores nothing.

Sizes are checked before any work: a diff file by its size on disk, a JSONL line while it
is read (in chunks, never held whole when too large), a record's diff before it is parsed.
So refusing a 60 MB diff costs a ``stat`` or one pass over the bytes, in constant memory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from oversight_ext.diffs import DiffError, apply_diff, parse_diff
from oversight_ext.records import Item, RecordError

__all__ = ["MAX_DIFF_BYTES", "ItemImportError", "check_item", "load_diff", "load_jsonl", "write_jsonl"]

#: Largest diff accepted by default (10 MiB): bigger ones are not reviewable by a person.
MAX_DIFF_BYTES = 10 * 1024 * 1024
#: A JSONL record holds the diff and up to two whole programs (``before``, ``after``): one
#: line may be this many times the diff limit (plus 1 MiB for the other fields).
_LINE_FACTOR = 3
_CHUNK = 1 << 20

# Fields of the shared code-pair schema that map onto Item fields under another name.
_RENAMED = {"unified_diff": "diff"}
_ITEM_FIELDS = set(Item.__dataclass_fields__)


class ItemImportError(ValueError):
    """One or more input records cannot become items; the message lists where and why."""

    def __init__(self, source: str, problems: list[str]) -> None:
        shown = problems[:10]
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        super().__init__(f"{source}: {len(problems)} problem(s), nothing was imported:\n  " + "\n  ".join(shown) + more)
        self.problems = problems


def _check_size(size: int, max_diff_bytes: int) -> None:
    if size > max_diff_bytes:
        raise DiffError(
            f"the diff is {size / 2**20:.1f} MiB, over the {max_diff_bytes / 2**20:.0f} MiB limit; "
            "split it into smaller items or raise the limit (--max-diff-mb)"
        )


def _text_size(text: str) -> int:
    # UTF-8 size without building the encoded copy: ASCII text (most diffs) is one byte a character.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def check_item(item: Item, *, max_diff_bytes: int = MAX_DIFF_BYTES) -> None:
    """Raise :class:`DiffError` if the item's diff cannot be reviewed or does not match its code."""
    _check_size(_text_size(item.diff), max_diff_bytes)
    files = parse_diff(item.diff)
    binary = [f.path for f in files if f.binary]
    if binary:
        raise DiffError(f"binary change to {binary[0]!r} cannot be reviewed as text; remove binary files from the diff")
    if item.before is not None and item.after is not None:
        single = [f for f in files if f.path == item.path] if item.path else files
        if len(single) == 1:
            applied = apply_diff(item.before, item.diff, path=single[0].path if len(files) > 1 else None)
            if applied != item.after:
                raise DiffError("the diff applied to `before` does not give `after`; regenerate the diff from the two programs")


def _item_from_record(rec: dict[str, Any]) -> Item:
    data: dict[str, Any] = {}
    meta: dict[str, Any] = dict(rec.get("meta") or {})
    for key, value in rec.items():
        key = _RENAMED.get(key, key)
        if key == "meta":
            continue
        if key in _ITEM_FIELDS:
            data[key] = value
        else:
            meta[key] = value
    data["meta"] = meta
    if data.get("provenance") is None:
        data["provenance"] = {}
    for key in ("bug_lines", "bug_lines_before"):
        if data.get(key) is None:
            data[key] = []
    for key in ("spec", "task", "language", "source"):
        if key in data and data[key] is None:  # datasets write null for "none given"
            data[key] = ""
    if "diff" not in data:
        raise RecordError("Item", "diff", None, "give the change as `unified_diff` (or `diff`): a unified diff text")
    if not data.get("path"):
        try:
            data["path"] = parse_diff(data["diff"])[0].path
        except DiffError:
            data["path"] = ""
    return Item.from_dict(data)


def _oversized_lines(path: Path, limit: int) -> dict[int, int]:
    """Line number -> size of each line over ``limit`` bytes: one pass over 1 MiB chunks."""
    over: dict[int, int] = {}
    number, size = 1, 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            start = 0
            while (end := chunk.find(b"\n", start)) != -1:
                size += end - start + 1
                if size > limit:
                    over[number] = size
                number, size, start = number + 1, 0, end + 1
            size += len(chunk) - start
    if size > limit:
        over[number] = size
    return over


def _lines(path: Path, limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, the line or None when it is over ``limit`` bytes, its size). An oversized
    line is skipped in 1 MiB chunks and never held, so refusing it takes constant memory."""
    over = _oversized_lines(path, limit)
    with path.open("rb") as fh:
        number = 0
        while True:
            number += 1
            if number not in over:
                raw = fh.readline()
                if not raw:
                    return
                yield number, raw, len(raw)
                continue
            while (part := fh.readline(_CHUNK)) and not part.endswith(b"\n"):
                pass
            yield number, None, over[number]


def load_jsonl(path: str | os.PathLike[str], *, max_diff_bytes: int = MAX_DIFF_BYTES) -> list[Item]:
    """Items from a file in the shared code-pair schema (``../shared/data/README.md``): JSONL
    (one object a line) or one JSON array of objects (what ``oversight items list --json``
    writes); which one is told by the file's first non-blank character.

    Unknown fields are kept in ``Item.meta``. Raises :class:`ItemImportError` listing every
    bad record (line or array position, what is wrong, how to fix it) and returns nothing in
    that case.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {str(p)!r}")
    items: list[Item] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    records = _array_records(p, max_diff_bytes) if _is_array(p) else _jsonl_records(p, max_diff_bytes)
    for where, rec in records:
        if isinstance(rec, str):  # what was wrong with the record
            problems.append(f"{where}: {rec}")
            continue
        try:
            diff = rec.get("unified_diff", rec.get("diff"))
            if isinstance(diff, str):
                _check_size(_text_size(diff), max_diff_bytes)  # before the diff is parsed for its path
            item = _item_from_record(rec)
            check_item(item, max_diff_bytes=max_diff_bytes)
        except (RecordError, DiffError) as exc:
            problems.append(f"{where} (id {rec.get('id')!r}): {exc}")
            continue
        if item.id in seen:
            problems.append(f"{where}: id {item.id!r} repeats {seen[item.id]}; ids must be unique")
            continue
        seen[item.id] = where
        items.append(item)
    if problems:
        raise ItemImportError(str(p), problems)
    if not items:
        raise ItemImportError(str(p), ["the file holds no records; give one JSON object per line, or a JSON array of objects"])
    return items


def _is_array(path: Path) -> bool:
    """Whether the file's first non-blank character opens a JSON array."""
    with path.open("rb") as fh:
        while chunk := fh.read(4096):
            head = chunk.lstrip()
            if head:
                return head.startswith(b"[")
    return False


def _array_records(path: Path, max_diff_bytes: int) -> Iterator[tuple[str, dict[str, Any] | str]]:
    """("record N", the object or what is wrong with it) for each element of a JSON array file.
    The array is parsed whole (an export of the store); the per-record diff limit still holds."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        yield "file", f"invalid UTF-8 at byte {exc.start}; re-encode the file as UTF-8"
        return
    except json.JSONDecodeError as exc:
        yield "file", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; give a JSON array of objects or JSONL"
        return
    if not isinstance(data, list):
        yield "file", f"a JSON {type(data).__name__}, not an array; give a JSON array of objects or JSONL"
        return
    for number, rec in enumerate(data, start=1):
        if not isinstance(rec, dict):
            yield f"record {number}", f"a JSON {type(rec).__name__}, not an object; each element must be one JSON object"
        else:
            yield f"record {number}", rec


def _jsonl_records(path: Path, max_diff_bytes: int) -> Iterator[tuple[str, dict[str, Any] | str]]:
    """("line N", the object or what is wrong with it) for each non-blank line of a JSONL file."""
    line_limit = _LINE_FACTOR * max_diff_bytes + _CHUNK
    for number, raw, size in _lines(path, line_limit):
        where = f"line {number}"
        if raw is None:
            yield (
                where,
                f"the record is {size / 2**20:.1f} MiB, over the {max_diff_bytes / 2**20:.0f} MiB limit of a diff "
                f"even with its two programs ({line_limit / 2**20:.0f} MiB in all); split the change into smaller items "
                "or raise the limit (--max-diff-mb)",
            )
            continue
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield where, f"invalid UTF-8 at byte {exc.start}; re-encode the file as UTF-8"
            continue
        try:
            rec = json.loads(text)
        except json.JSONDecodeError as exc:
            hint = " (the line looks truncated)" if not text.rstrip().endswith("}") else ""
            yield where, f"not valid JSON{hint}: {exc.msg} at column {exc.colno}; each line must be one JSON object"
            continue
        if not isinstance(rec, dict):
            yield where, f"a JSON {type(rec).__name__}, not an object; each line must be one JSON object"
            continue
        yield where, rec


def load_diff(
    path: str | os.PathLike[str],
    *,
    item_id: str | None = None,
    spec: str = "",
    language: str = "",
    label: str | None = None,
    max_diff_bytes: int = MAX_DIFF_BYTES,
) -> Item:
    """One item from a ``.diff`` / ``.patch`` file (any number of files in it)."""
    p = Path(path)
    try:
        _check_size(p.stat().st_size, max_diff_bytes)  # before reading: the size on disk is the diff's
    except DiffError as exc:
        raise ItemImportError(str(p), [str(exc)]) from None
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ItemImportError(str(p), [f"invalid UTF-8 at byte {exc.start}; re-encode the diff as UTF-8"]) from None
    try:
        first = parse_diff(text)[0].path
        item = Item(
            id=item_id or p.stem,
            diff=text,
            spec=spec,
            language=language or _language_of(first),
            source="diff-file",
            path=first,
            label=label,  # type: ignore[arg-type]
            provenance={"file": str(p)},
        )
        check_item(item, max_diff_bytes=max_diff_bytes)
    except (RecordError, DiffError) as exc:
        raise ItemImportError(str(p), [str(exc)]) from None
    return item


_EXTENSIONS = {".py": "python", ".js": "js", ".ts": "ts", ".java": "java", ".go": "go", ".cpp": "cpp", ".cc": "cpp", ".rs": "rust"}


def _language_of(path: str) -> str:
    return _EXTENSIONS.get(Path(path).suffix, "text")


def write_jsonl(items: Iterable[Item], path: str | os.PathLike[str]) -> int:
    """Write items as JSONL (the shared schema: ``diff`` is written as ``unified_diff``)."""
    n = 0
    with Path(path).open("w", encoding="utf-8") as fh:
        for it in items:
            d = it.to_dict()
            d["unified_diff"] = d.pop("diff")
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
            n += 1
    return n
