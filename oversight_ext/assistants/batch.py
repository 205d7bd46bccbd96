"""Critiquing many items: bounded parallelism, a progress bar, and the store as a cache."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from oversight_ext.records import Critique, Item

from .protocol import Critic, critique_item

if TYPE_CHECKING:
    from oversight_ext.store import Store

__all__ = ["critique_items"]

_FLUSH_EVERY = 50


def critique_items(
    items: Iterable[Item],
    critic: Critic,
    *,
    store: Store | None = None,
    max_workers: int = 4,
    progress: bool = True,
) -> list[Critique]:
    """Critique every item with ``critic``, in the items' order.

    With a ``store``, a critique already stored for (item id, ``critic.spec_hash``) is reused,
    and new ones are stored as they finish (so an interrupted batch keeps its work). Failed
    critiques are returned but not stored, so a later run tries those items again. The items
    must already be in the store. The critic is given each item's view (what a rater sees);
    gold only if it is a backend that uses gold (:func:`~.protocol.critique_item`).
    """
    batch = list(items)
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers = {max_workers!r} is invalid: give a positive integer (1 runs items one at a time)")
    if not isinstance(critic, Critic):
        raise ValueError(f"critic = {critic!r} is not a Critic: load one with load_assistant(NAME)")
    out: list[Critique | None] = [None] * len(batch)
    todo: list[int] = []
    for i, item in enumerate(batch):
        cached = store.find_critique(item.id, critic.spec_hash) if store is not None else None
        if cached is not None:
            out[i] = cached
        else:
            todo.append(i)
    pending: list[Critique] = []

    def flush() -> None:
        if store is not None and pending:
            store.add_critiques(pending)
        pending.clear()

    bar = tqdm(total=len(batch), initial=len(batch) - len(todo), desc=f"critique [{critic.name}]", disable=not progress, unit="item")
    try:
        if max_workers == 1 or len(todo) <= 1:
            for i in todo:
                out[i] = c = critique_item(critic, batch[i])
                _collect(c, pending, flush)
                bar.update()
        else:
            with ThreadPoolExecutor(max_workers=max_workers) as pool:
                futures = {pool.submit(critique_item, critic, batch[i]): i for i in todo}
                for fut in as_completed(futures):
                    out[futures[fut]] = c = fut.result()
                    _collect(c, pending, flush)
                    bar.update()
        flush()
    finally:
        bar.close()
    return [c for c in out if c is not None]


def _collect(c: Critique, pending: list[Critique], flush: object) -> None:
    if c.status != "failed":
        pending.append(c)
    if len(pending) >= _FLUSH_EVERY:
        flush()  # type: ignore[operator]
