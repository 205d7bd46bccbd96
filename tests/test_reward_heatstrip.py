"""The owner-only attribution route behind the heat strip, over a real ``jupyter server`` and a SQLite file:
owners get each added line's reward change, raters get 403, bad requests 4xx, and results are cached."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oversight_ext.records import Assignment, Item
from oversight_ext.store import Store
from oversight_ext.testing.classserver import ClassServer

BEFORE = "def mean(xs):\n    return sum(xs) / len(xs)\n"
AFTER = "def mean(xs):\n    if not xs:\n        return 0.0\n    total = sum(xs)\n    return total / (len(xs) - 1)\n"
DIFF = (
    "--- a/stats.py\n+++ b/stats.py\n@@ -1,2 +1,5 @@\n def mean(xs):\n-    return sum(xs) / len(xs)\n"
    "+    if not xs:\n+        return 0.0\n+    total = sum(xs)\n+    return total / (len(xs) - 1)\n"
)
ADDED = [2, 3, 4, 5]


def heat_items() -> list[Item]:
    """Two single-file Python items with several added lines, and one multi-file item with no program after it."""
    multi = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n--- a/b.py\n+++ b/b.py\n@@ -1 +1 @@\n-y = 1\n+y = 2\n"
    return [
        Item(id="heat-mean", diff=DIFF, before=BEFORE, after=AFTER, path="stats.py", spec="Average of a list; 0.0 when empty."),
        Item(
            id="heat-max",
            diff=DIFF.replace("mean", "avg"),
            before=BEFORE.replace("mean", "avg"),
            after=AFTER.replace("mean", "avg"),
            path="stats.py",
        ),
        Item(id="heat-multi", diff=multi, path="a.py"),
    ]


def tiny_reward_model(out: Path) -> Path:
    """A tiny BERT reward model on full programs (text_format 'after'), a few steps: weights that give non-zero attributions."""
    from test_reward_train import FAST, synthetic_pairs

    from oversight_ext.reward.train import train_reward_model

    train_reward_model(synthetic_pairs(16), FAST.replace(max_steps=3, text_format="after"), backbone="tiny", out_dir=out, progress=False)
    return out


def heat_study(store: Store, name: str, owner: str, raters: list[str]) -> None:
    from oversight_ext.study.config import StudyConfig

    store.add_items(heat_items(), replace=True)
    for r in {owner, *raters}:
        store.add_rater(r)
    config = StudyConfig.from_dict(
        {"name": name, "conditions": [{"name": "unassisted", "kind": "unassisted"}], "seed": 0, "raters": sorted(raters)}
    )
    asg = [
        Assignment(id=f"{name}-{r}-{k}", study=name, rater=r, item_id=it.id, condition="unassisted", position=k)
        for r in raters
        for k, it in enumerate(heat_items())
    ]
    store.create_study(name, config, asg, seed=0, code_version="test", owner=owner)


def get(server: ClassServer, user: str, path: str) -> tuple[int, Any]:
    req = urllib.request.Request(server.url + path, headers={"Authorization": f"token {server.tokens[user]}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "null")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ClassServer, Path]]:
    root = tmp_path_factory.mktemp("heat")
    model = tiny_reward_model(root / "rm")
    url = f"sqlite:///{root / 'oversight.db'}"
    with Store(url) as store:
        heat_study(store, "heat", "prof", ["ann", "ben"])
    mp = pytest.MonkeyPatch()
    mp.setenv("OVERSIGHT_REWARD_MODEL", str(model))
    srv = ClassServer(url, ["ann", "ben", "prof"], lab=False).start()
    try:
        yield srv, model
    finally:
        srv.stop()
        mp.undo()


@pytest.mark.slow
def test_owner_gets_line_attributions_and_raters_get_403(served: tuple[ClassServer, Path]) -> None:
    srv, model = served
    route = "/oversight/api/studies/heat/items/heat-mean/attribution"
    t0 = time.perf_counter()
    status, body = get(srv, "prof", route)
    first = time.perf_counter() - t0
    assert status == 200, body
    assert body["item"] == "heat-mean" and body["diff"] == DIFF and body["method"] == "occlusion" and body["model"] == model.name
    assert [x["line"] for x in body["lines"]] == ADDED
    assert [x["text"] for x in body["lines"]] == [AFTER.splitlines()[n - 1] for n in ADDED]
    assert any(x["delta"] != 0 for x in body["lines"])
    assert body["max_abs_delta"] == pytest.approx(max(abs(x["delta"]) for x in body["lines"]))
    # Cached: the same figures again, without scoring again.
    t0 = time.perf_counter()
    status2, again = get(srv, "prof", route)
    assert status2 == 200 and again == body and time.perf_counter() - t0 < max(first, 1.0)
    for rater in ("ann", "ben"):
        status, refusal = get(srv, rater, route)
        assert status == 403 and "only its owner" in refusal["error"] and "lines" not in refusal


@pytest.mark.slow
def test_bad_attribution_requests_are_4xx(served: tuple[ClassServer, Path]) -> None:
    srv, _ = served
    status, body = get(srv, "prof", "/oversight/api/studies/heat/items/no-such-item/attribution")
    assert status == 404 and "has no item 'no-such-item'" in body["error"]
    status, body = get(srv, "prof", "/oversight/api/studies/nope/items/heat-mean/attribution")
    assert status == 404 and "no study 'nope'" in body["error"]
    status, body = get(srv, "prof", "/oversight/api/studies/heat/items/heat-multi/attribution")
    assert status == 400 and "after" in body["error"]


def test_service_refuses_without_a_model_folder_and_with_an_empty_one(tmp_path: Path) -> None:
    from oversight_ext.review.owner import OwnerService
    from oversight_ext.review.service import BadRequest, Forbidden, NotFound

    with Store(f"sqlite:///{tmp_path / 'o.db'}") as store:
        heat_study(store, "heat", "prof", ["ann"])
        svc = OwnerService(store)
        with pytest.raises(NotFound, match=r"no reward model is configured.*oversight_reward_model"):
            svc.attribution("prof", "heat", "heat-mean", "")
        with pytest.raises(BadRequest, match="holds no finished reward model"):
            svc.attribution("prof", "heat", "heat-mean", str(tmp_path))
        with pytest.raises(Forbidden):
            svc.attribution("ann", "heat", "heat-mean", str(tmp_path))
