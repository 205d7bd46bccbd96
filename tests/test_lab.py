"""``oversight lab``: the demo study (idempotent, through create_study) and a real JupyterLab serving it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from oversight_ext.diffs import make_diff
from oversight_ext.identity import os_user
from oversight_ext.items import demo
from oversight_ext.lab import LabConfig, lab_argv, prepare_demo
from oversight_ext.records import Comment, Critique, Item
from oversight_ext.store import Store

BEFORE = "def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n"


def demo_like() -> tuple[list[Item], list[Critique]]:
    """Four small items (two buggy, two correct) and a replayed critique of each."""
    items, critiques = [], []
    for i in range(4):
        buggy = i % 2 == 0
        after = BEFORE.replace("total += x", "total += x + 1") if buggy else BEFORE.replace("total = 0", "total = 0  # running sum")
        line = 4 if buggy else 2
        items.append(
            Item(
                id=f"demo-{i}",
                diff=make_diff(BEFORE, after, f"stats{i}.py"),
                task="mean of a list",
                path=f"stats{i}.py",
                source="test-demo",
                after=after,
                label="buggy" if buggy else "correct",
                bug_lines=(line,) if buggy else (),
            )
        )
        comment = Comment(id="c1", path=f"stats{i}.py", start_line=line, end_line=line, text=f"claim about line {line}")
        critiques.append(
            Critique(id=f"demo-replay:{i}", item_id=f"demo-{i}", assistant="demo-replay", comments=(comment,), verdict="buggy")
        )
    return items, critiques


def test_prepare_demo_is_idempotent_and_goes_through_create_study(store: Store) -> None:
    items, critiques = demo_like()
    config = LabConfig(db=store.url, rater="ada", simulated=3, port=9999)
    assert prepare_demo(store, config, items=items, critiques=critiques) == "demo"
    mine = store.assignments("demo", rater="ada")
    assert len(mine) == 4 and {a.condition for a in mine} == {"alone", "critique"}
    assert store.rater("ada")["role"] == "owner" and store.study("demo")["owner"] == "ada"
    texts = {c.text for a in mine if a.critique_id for c in store.get_critique(a.critique_id).comments}
    assert texts and texts <= {"claim about line 4", "claim about line 2"}
    judged = store.judgments(study="demo")
    assert {j.rater for j in judged} == {"sim-001", "sim-002", "sim-003"} and all(j.simulated for j in judged)
    counts = (store.count("assignments"), store.count("judgments"), store.count("critiques"))
    assert prepare_demo(store, config, items=items, critiques=critiques) == "demo"
    assert (store.count("assignments"), store.count("judgments"), store.count("critiques")) == counts
    with pytest.raises(ValueError, match="without a queue for rater 'bea'"):
        prepare_demo(store, LabConfig(db=store.url, rater="bea"), items=items, critiques=critiques)


def test_lab_config_refuses_bad_values() -> None:
    for kwargs, field in (({"port": 0}, "port"), ({"study": "a:b"}, "study"), ({"simulated": 0}, "simulated")):
        with pytest.raises(ValueError, match=f"LabConfig.{field}"):
            LabConfig(**kwargs)  # type: ignore[arg-type]
    argv = lab_argv(LabConfig(port=8123, token="t0k", open_browser=False, rater="ada"))
    assert "--port=8123" in argv and "--IdentityProvider.token=t0k" in argv and "--OversightExtension.local_rater=ada" in argv


def _get(url: str, token: str) -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@pytest.mark.slow
def test_oversight_lab_starts_jupyterlab_serving_the_study(tmp_path: Path) -> None:
    db = tmp_path / "lab.db"
    items, critiques = demo_like()
    with Store(db) as s:
        prepare_demo(s, LabConfig(db=str(db), rater=os_user()), items=items, critiques=critiques)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    env.pop("JUPYTERHUB_USER", None)
    cmd = [sys.executable, "-m", "oversight_ext.cli", "lab", "--db", str(db), "--no-browser"]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "study 'demo'" in first and f"0 of 4 items reviewed by {os_user()}" in first
        url = proc.stdout.readline().split(": ", 1)[1].strip()
        base, token = url.split("/lab?token=")
        deadline = time.monotonic() + 90
        while True:
            try:
                code, body = _get(f"{base}/oversight/api/me", token)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "jupyter lab did not start"
                time.sleep(0.5)
        assert code == 200
        me = json.loads(body)
        assert me["rater"] == os_user() and {"name": "demo", "done": 0, "total": 4} in me["studies"]
        assert _get(f"{base}/oversight/api/me", "wrong")[0] == 403
        code, page = _get(f"{base}/lab", token)
        assert code == 200 and "oversight-ext" in page
        # The news prompt that covered "Next item" is off in this lab (and only here).
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
        assert "@jupyterlab/apputils-extension:announcements" in config["disabledExtensions"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_prepare_demo_with_the_package_demo_set(sqlite_store: Store) -> None:
    config = LabConfig(db=sqlite_store.url, rater="ada")
    prepare_demo(sqlite_store, config)
    assert len(sqlite_store.assignments("demo", rater="ada")) == len(demo.demo_items())
