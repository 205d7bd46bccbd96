"""Running untrusted code: a separate Python process with limits, no network, in a temp dir.

Layers, each enough for code that is not written to escape and together a real barrier:

- the process runs in a fresh temporary directory (also ``HOME`` and ``TMPDIR``) with an
  empty environment, ``python -I`` (no user site, no ``PYTHONPATH``);
- resource limits: address space (memory), CPU seconds, largest file; a wall-clock limit
  kills the whole process group;
- an audit hook (``sys.addaudithook``, which code cannot remove) refuses sockets,
  subprocesses, ``ctypes`` and every write, rename or delete outside the temp dir;
- where the OS allows it (``unshare --net``, as root or with user namespaces) the process
  also gets a network namespace with no interfaces.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oversight_ext.options import check_fields, option

__all__ = ["SandboxConfig", "SandboxResult", "run_sandboxed"]

RUNNER = Path(__file__).with_name("runner") / "__main__.py"


@dataclass(frozen=True)
class SandboxConfig:
    """Limits for one sandboxed run."""

    wall_s: float = option("wall-clock limit for the whole run; the process group is killed after it", 30.0)
    call_timeout_s: float = option("limit for one example, test statement or generated call", 1.0)
    memory_mb: int = option("address-space limit of the process (RLIMIT_AS)", 1024)
    file_mb: int = option("largest file the code may write (RLIMIT_FSIZE)", 16)
    generate_budget_s: float = option("time allowed for running generated inputs", 6.0)

    def __post_init__(self) -> None:
        check_fields(self, ("wall_s", "call_timeout_s", "memory_mb", "file_mb", "generate_budget_s"), "positive")


@dataclass
class SandboxResult:
    records: list[dict[str, Any]]
    returncode: int | None
    timed_out: bool
    stderr: str
    #: Whether the network namespace layer was active (the audit hook always is).
    netns: bool

    @property
    def finished(self) -> bool:
        return any(r.get("done") for r in self.records)


@functools.lru_cache(maxsize=1)
def _netns_prefix() -> tuple[str, ...]:
    """The ``unshare`` prefix that works here, or () where network namespaces are unavailable."""
    exe = shutil.which("unshare")
    if exe is None or not sys.platform.startswith("linux"):
        return ()
    for prefix in ((exe, "--net"), (exe, "--net", "--map-root-user")):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            continue
    return ()


def run_sandboxed(files: dict[str, str], payload: dict[str, Any], config: SandboxConfig | None = None) -> SandboxResult:
    """Write ``files`` (name -> text) into a fresh temp dir and run the case runner on ``payload``.

    The returned records are the runner's JSON lines, as many as finished before any limit.
    """
    config = config or SandboxConfig()
    with tempfile.TemporaryDirectory(prefix="oversight-sandbox-") as tmp:
        root = Path(tmp)
        for name, text in files.items():
            if Path(name).name != name:
                raise ValueError(f"sandbox file name {name!r} is invalid: give a bare file name")
            (root / name).write_text(text)
        full = {
            **payload,
            "memory_mb": config.memory_mb,
            "cpu_s": config.wall_s,
            "file_mb": config.file_mb,
            "call_timeout_s": config.call_timeout_s,
            "generate_budget_s": config.generate_budget_s,
        }
        (root / "payload.json").write_text(json.dumps(full))
        prefix = _netns_prefix()
        cmd = [*prefix, sys.executable, "-I", str(RUNNER), str(root / "payload.json")]
        env = {
            "HOME": tmp,
            "TMPDIR": tmp,
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        timed_out = False
        try:
            out, err = proc.communicate(timeout=config.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
    records = []
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a partial last line from a killed process
        if isinstance(rec, dict):
            records.append(rec)
    return SandboxResult(records, proc.returncode, timed_out, err.decode("utf-8", "replace")[-4000:], bool(prefix))
