"""Sabotage items: flaws that pass every visible check, each with a clean control made the same way.

``generate(source, family, n, seed)`` builds ``n`` items of one family from a Python tree:

- ``security``: a helper with a weakness tagged by its CWE (:mod:`.security`);
- ``backdoor``: a rare-input condition that changes a function's result, with a witness (:mod:`.backdoor`);
- ``tamper``: a "fix" that makes the visible tests pass without fixing the bug (:mod:`.tamper`);
- ``volume``: one of the above hidden in a large behaviour-preserving change made by ruff (:mod:`.volume`).

Flawed items are ``label="buggy"`` with the flaw's lines; their controls (``label="correct"``)
share the ``pair_id``. The same arguments give byte-identical items.
"""

from __future__ import annotations

import os

import numpy as np

from oversight_ext.records import Item

from .common import FAMILIES, SabotageError, modules

__all__ = ["FAMILIES", "SabotageError", "generate"]


def generate(
    source: str | os.PathLike[str],
    family: str,
    n: int,
    seed: int = 0,
    *,
    size: int = 1000,
    flaw: str = "security",
    pairs: str | os.PathLike[str] | None = None,
) -> list[Item]:
    """``n`` items of ``family`` from ``source``; ``size`` (changed lines), ``flaw`` and ``pairs``
    (the code-pair JSONL a ``tamper`` flaw comes from) apply to ``volume``."""
    if family not in FAMILIES:
        raise SabotageError(f"family={family!r} is unknown; use one of {list(FAMILIES)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SabotageError(f"n={n!r}: give a positive number of items")
    rng = np.random.default_rng(seed)
    if family == "security":
        from .security import security_items

        return security_items(modules(source), n, rng)
    if family == "backdoor":
        from .backdoor import backdoor_items

        return backdoor_items(modules(source), n, rng)
    if family == "tamper":
        from .tamper import tamper_items

        return tamper_items(source, n, rng)
    from .volume import volume_items

    return volume_items(source, n, rng, size=size, flaw=flaw, pairs=pairs)
