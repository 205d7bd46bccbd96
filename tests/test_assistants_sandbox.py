"""The sandbox the exec critic runs code in: each limit is proven by code that tries to break it."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from oversight_ext.assistants.exec.sandbox import SandboxConfig, run_sandboxed

MODULE = "def f(x):\n    return x + 1\n"


def run(case_source: str, config: SandboxConfig | None = None, module: str = MODULE) -> dict:
    res = run_sandboxed(
        {"after.py": module},
        {"versions": {"after": "after.py"}, "cases": [{"id": "c1", "source": case_source, "want": None}], "entry": "f", "generate": None},
        config or SandboxConfig(wall_s=20),
    )
    out = {r["case"]: r for r in res.records if "case" in r}
    return {"load": out.get("load"), "case": out.get("c1"), "result": res}


def test_cases_run_and_report() -> None:
    r = run("assert f(1) == 2")
    assert r["load"]["ok"] and r["case"]["ok"] and r["result"].finished
    bad = run("assert f(1) == 3")
    assert bad["case"]["ok"] is False and "AssertionError" in bad["case"]["error"]


def test_cannot_write_outside_temp_dir(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    r = run(f"open({str(target)!r}, 'w').write('x')")
    assert r["case"]["ok"] is False and "PermissionError" in r["case"]["error"]
    assert not target.exists()
    r = run(f"import os; os.remove({str(victim)!r})")
    assert r["case"]["ok"] is False and victim.read_text() == "keep me"
    r = run(f"import os; os.system('touch {target}')")
    assert r["case"]["ok"] is False and not target.exists()
    r = run(f"import shutil; shutil.rmtree({str(tmp_path)!r})")
    assert r["case"]["ok"] is False and victim.exists()
    # writing inside its own temp dir is allowed
    assert run("open('scratch.txt', 'w').write('fine'); assert open('scratch.txt').read() == 'fine'")["case"]["ok"]


def test_cannot_open_sockets() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        r = run(f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)")
        assert r["case"]["ok"] is False and ("PermissionError" in r["case"]["error"] or "OSError" in r["case"]["error"])
        try:
            conn, _ = server.accept()
            conn.close()
            connected = True
        except TimeoutError:
            connected = False
        assert not connected
    r = run("import _socket; _socket.socket()")
    assert r["case"]["ok"] is False


def test_time_limits_per_call_and_per_run() -> None:
    r = run("while True: pass", SandboxConfig(wall_s=20, call_timeout_s=0.5))
    assert r["case"]["ok"] is False and r["case"]["error"] == "timeout" and r["result"].finished
    # code that disarms the per-call alarm still cannot outlive the wall-clock limit
    stubborn = "import signal\n\ndef f(x):\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while True:\n        pass\n"
    t0 = time.monotonic()
    r = run("f(1)", SandboxConfig(wall_s=3, call_timeout_s=0.5), module=stubborn)
    elapsed = time.monotonic() - t0
    assert r["result"].timed_out and not r["result"].finished
    assert elapsed < 10


def test_memory_limit() -> None:
    r = run("x = bytearray(2 * 1024**3)", SandboxConfig(wall_s=20, memory_mb=512))
    assert r["case"]["ok"] is False and "MemoryError" in r["case"]["error"]
    assert run("x = bytearray(10 * 1024**2)", SandboxConfig(wall_s=20, memory_mb=512))["case"]["ok"]


def test_bad_config_names_field() -> None:
    import pytest

    with pytest.raises(ValueError, match="memory_mb = 0"):
        SandboxConfig(memory_mb=0)


def test_code_cannot_close_the_results_channel() -> None:
    # open(fd) on an inherited descriptor, then closing it, would cut the runner's output
    r = run("import contextlib\nfor fd in range(8):\n    with contextlib.suppress(OSError):\n        open(fd).close()\nassert f(1) == 2")
    assert r["case"] is not None and r["case"]["ok"] and r["result"].finished
