"""One differential input run on both versions, the old version twice to rule out unstable outputs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coverage import Coverage

from .canon import _same
from .runstate import emit

_DIGITS = re.compile(r"\d+")


def differential(cov: Coverage, case: str, versions: list[str], once: Callable[[str], dict[str, Any] | None]) -> dict[str, dict[str, Any]]:
    """Run one input on every version (``once(ver)`` gives its record, None to skip) and emit
    the records. When the versions disagree, the first (the code before the change) runs the
    input again: if it disagrees with itself (``id()`` in the output, a global counter, the
    clock), the input cannot tell the versions apart and both records say ``unstable``, unless
    the runs differ only in numbers and the versions differ in more than numbers. Only
    disagreeing inputs run a third time, so the guard costs little."""
    recs: dict[str, dict[str, Any]] = {}
    for ver in versions:
        cov.switch_context(f"{ver}:{case}")
        r = once(ver)
        if r is not None:
            recs[ver] = r
    if len(recs) == 2 and len(versions) == 2 and not _same(recs[versions[0]], recs[versions[1]]):
        cov.switch_context(f"{versions[0]}:{case}")
        again = once(versions[0])
        if again is not None and not _same(again, recs[versions[0]]):
            masked = {v: {**r, "key": _DIGITS.sub("#", r["key"])} if "key" in r else r for v, r in recs.items()}
            if _same({**again, "key": _DIGITS.sub("#", again.get("key", ""))}, masked[versions[0]]) and not _same(*masked.values()):
                # only numbers vary between the old code's runs (a counter, an id()): the versions
                # still differ in the rest, so compare them with every number masked
                recs = masked
            else:
                for r in recs.values():
                    r["unstable"] = True
    for ver, r in recs.items():
        emit(version=ver, case=case, **r)
    return recs
