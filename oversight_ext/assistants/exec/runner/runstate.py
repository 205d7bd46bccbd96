"""The state of the one run this process makes: its payload, where results go, its folder, and
the changed definition of each version. Filled by :func:`.run.start`; nothing happens on import."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class Run:
    #: The critic's plan of the run (versions, cases, inputs, limits): payload.json.
    payload: dict[str, Any] = field(default_factory=dict)
    #: Where result lines go: a copy of the original stdout (the code under test prints to /dev/null).
    out: TextIO | None = None
    #: The run's own folder (real path): the only place the code may write.
    root: str = ""
    #: version module name -> the changed function or method object of that version
    members: dict[str, Any] = field(default_factory=dict)


RUN = Run()


def emit(**rec: Any) -> None:
    """Write one result as a JSON line, flushed at once (whatever survives a kill is kept)."""
    assert RUN.out is not None, "emit() before start(): the run has no output yet"
    RUN.out.write(json.dumps(rec, default=repr) + "\n")
    RUN.out.flush()
