"""A throwaway PostgreSQL cluster for tests, benchmarks and local trials.

``initdb`` + ``pg_ctl`` on a temporary directory, listening on 127.0.0.1 and a free port,
trust authentication (or, given a ``password``, SCRAM passwords for every connection, as a
deployment has), no fsync. As root the server runs as the ``postgres`` user (PostgreSQL
refuses to run as root). Starts in about a second.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import sqlalchemy as sa

from oversight_ext.store.db import StoreError

__all__ = ["ThrowawayPostgres", "free_port", "pg_bindir"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out = ""
    candidates = [Path(out)] if out else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    return None


def runuser() -> str:
    """Path of ``runuser`` (root runs PostgreSQL as the postgres user), also where /usr/sbin is off PATH."""
    found = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if found is None:
        raise StoreError("`runuser` (util-linux) not found on PATH or in /usr/sbin: install util-linux, or run as a non-root user")
    return found


class ThrowawayPostgres:
    """Start with :meth:`start` (or ``with``); :meth:`stop` removes every file it made."""

    def __init__(self, max_connections: int = 300, password: str | None = None) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise StoreError("PostgreSQL server binaries (initdb, pg_ctl) not found; install them (Debian: apt-get install postgresql)")
        self.bindir = bindir
        self.max_connections = max_connections
        self.password = password
        self.dir = Path(tempfile.mkdtemp(prefix="oversight-pg-"))
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *cmd: str) -> None:
        full = [runuser(), "-u", "postgres", "--", *cmd] if self.as_root else list(cmd)
        done = subprocess.run(full, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise StoreError(f"{Path(cmd[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> ThrowawayPostgres:
        data = str(self.dir / "data")
        auth = ["-A", "trust"]
        if self.password is not None:
            pwfile = self.dir / "pwfile"
            pwfile.write_text(self.password + "\n")
            pwfile.chmod(0o600)
            if self.as_root:
                shutil.chown(pwfile, "postgres", "postgres")
            auth = ["-A", "scram-sha-256", f"--pwfile={pwfile}"]
        try:
            self._run(str(self.bindir / "initdb"), "-D", data, *auth, "-U", "postgres", "--no-sync", "-E", "UTF8")
        finally:
            (self.dir / "pwfile").unlink(missing_ok=True)
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c max_connections={self.max_connections}"
        self._run(str(self.bindir / "pg_ctl"), "-D", data, "-o", opts, "-l", str(self.dir / "log"), "-w", "start")
        return self

    def stop(self) -> None:
        try:
            if (self.dir / "data" / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        user = "postgres" if self.password is None else f"postgres:{quote(self.password, safe='')}"
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its URL."""
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        return self.url(name)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
