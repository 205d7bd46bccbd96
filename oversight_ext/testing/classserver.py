"""A hub-less workshop server: one ``jupyter server`` process, one token per participant.

``ClassServer`` writes the participants' tokens to a 0600 file, starts ``jupyter server``
with the oversight extension and :class:`oversight_ext.server.identity.ClassTokenIdentityProvider`, and can be
stopped, killed (as a crash would) and restarted on the same port, which is how the load
test and ``bench/load.py`` exercise recovery. The database URL reaches the server through
its environment (``OVERSIGHT_DB``), never through the command line others can read in ``ps``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from .throwaway import free_port

__all__ = ["ClassServer"]


class ClassServer:
    """``jupyter server`` on 127.0.0.1 for ``users``; ``tokens[user]`` authenticates each."""

    def __init__(
        self,
        db_url: str,
        users: Sequence[str],
        *,
        port: int | None = None,
        workdir: str | Path | None = None,
        lab: bool = True,
        start_timeout: float = 60.0,
    ) -> None:
        if not users:
            raise ValueError("ClassServer(users=[]): give at least one participant's user name")
        self.db_url = db_url
        # lab=False serves the review API alone: it starts several times faster (tests, benchmarks).
        self.lab = lab
        self.port = port or free_port()
        self.start_timeout = start_timeout
        # A folder of our own (it holds the participants' tokens) is removed by stop().
        self._own_dir = workdir is None
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="oversight-class-"))
        self.tokens = {u: secrets.token_urlsafe(24) for u in users}
        self.admin_token = secrets.token_urlsafe(24)
        self.tokens_file = self.dir / "class-tokens.json"
        self._write_tokens()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "server.log"

    def _write_tokens(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.tokens_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({t: u for u, t in self.tokens.items()}, f)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--ServerApp.root_dir={self.dir}",
            "--ServerApp.identity_provider_class=oversight_ext.server.identity.ClassTokenIdentityProvider",
            f"--ClassTokenIdentityProvider.tokens_file={self.tokens_file}",
            f"--ServerApp.jpserver_extensions={self._extensions()!r}",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ]

    def _extensions(self) -> dict[str, bool]:
        if self.lab:
            return {"oversight_ext": True}
        off = ("jupyterlab", "jupyter_lsp", "jupyter_server_terminals", "notebook_shim", "notebook")
        return {"oversight_ext": True, **dict.fromkeys(off, False)}

    def start(self, timeout: float | None = None) -> ClassServer:
        """Start the server and wait until its API answers (``timeout``: default ``start_timeout``)."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        timeout = self.start_timeout if timeout is None else timeout
        if not self.tokens_file.exists():  # started again after stop() removed the folder
            self._write_tokens()
        env = {**os.environ, "OVERSIGHT_DB": self.db_url, "JUPYTER_TOKEN": self.admin_token}
        env.pop("JUPYTERHUB_USER", None)  # a hub variable would make every request that user
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps writing to it
        self.proc = subprocess.Popen(self._command(), cwd=self.dir, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        token = next(iter(self.tokens.values()))
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited with {self.proc.returncode}; see {self.log_path}")
            req = urllib.request.Request(f"{self.url}/oversight/api/me", headers={"Authorization": f"token {token}"})
            try:
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        tail = self.log_tail()
        self.stop()
        raise TimeoutError(
            f"jupyter server on port {self.port} did not answer within {timeout:g} s (raise start_timeout on a loaded machine); "
            f"its log ends:\n{tail}"
        )

    def log_tail(self, n: int = 3000) -> str:
        """The last ``n`` characters of the server's log ('' once stop() removed it)."""
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def kill(self) -> None:
        """End the server abruptly (SIGKILL), as a crash or an out-of-memory kill would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop the server and remove the folder it made (tokens, log); restart() keeps it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self) -> ClassServer:
        self.kill()
        return self.start()

    def __enter__(self) -> ClassServer:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
