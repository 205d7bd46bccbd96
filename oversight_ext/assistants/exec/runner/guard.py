"""Resource limits and the audit hook that refuses sockets, subprocesses, native code and writes outside the run's folder."""

from __future__ import annotations

import os
import resource
from typing import Any

from .runstate import RUN


def limit() -> None:
    mb = RUN.payload["memory_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mb, mb))
    cpu = int(RUN.payload["cpu_s"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    fsize = RUN.payload["file_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))


_BLOCKED: tuple[str, ...] = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty")


_PATH_EVENTS = {
    "os.remove": 0, "os.rename": 0, "os.mkdir": 0, "os.rmdir": 0, "os.chmod": 0, "os.chown": 0, "os.link": 0,
    "os.symlink": 0, "os.truncate": 0, "os.utime": 0, "os.replace": 0, "shutil.rmtree": 0, "shutil.copyfile": 1,
    "shutil.move": 1, "os.chdir": 0, "os.removexattr": 0, "os.setxattr": 0,
}  # fmt: skip


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _inside(path: Any) -> bool:
    if isinstance(path, int):
        return True  # an already-open descriptor: its opening was checked
    try:
        p = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return p == RUN.root or p.startswith(RUN.root + os.sep) or p == os.devnull


def guard(event: str, args: tuple[Any, ...]) -> None:
    if event.startswith(_BLOCKED):
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int) and path in (0, 1, 2, RUN.out.fileno() if RUN.out is not None else 1):
            # open(3) on the results channel would close it when the file object goes
            raise PermissionError(f"sandbox: opening descriptor {path} is not allowed")
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(flags & _WRITE_FLAGS)
        if writing and path is not None and not _inside(path):
            raise PermissionError(f"sandbox: writing {path!r} outside the working directory is not allowed")
    elif event in _PATH_EVENTS:
        for a in args[:2]:
            if isinstance(a, (str, bytes, os.PathLike)) and not _inside(a):
                raise PermissionError(f"sandbox: {event} on {a!r} outside the working directory is not allowed")
