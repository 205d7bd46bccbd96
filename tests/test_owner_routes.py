"""Security of the review and owner routes over a real Jupyter server and a real PostgreSQL.

Two raters (ann, ben) and an owner (prof) each hold their own token
(:class:`~oversight_ext.server.identity.ClassTokenIdentityProvider`). Every route is called
as ann with ben's ids; owner routes are called by raters; the database password is checked
never to appear in an answer or on the server's command line.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from oversight_ext.store import Store
from oversight_ext.testing.classserver import ClassServer
from oversight_ext.workshop.practice import practice_study

PASSWORD = "s3cret-" + uuid.uuid4().hex[:8]


class Client:
    def __init__(self, server: ClassServer, user: str) -> None:
        self.base, self.token = server.url, server.tokens[user]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, str]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, method=method, data=data, headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                text = r.read().decode()
                return r.status, json.loads(text), text
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                return e.code, json.loads(text), text
            except ValueError:
                return e.code, None, text


@pytest.fixture(scope="module")
def server(pg_cluster: Any) -> Iterator[tuple[ClassServer, Store]]:
    admin = pg_cluster.create_database(f"owner_routes_{uuid.uuid4().hex[:8]}")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE oversight LOGIN PASSWORD '{PASSWORD}'")
        conn.exec_driver_sql(f'GRANT ALL ON DATABASE "{sa.make_url(admin).database}" TO oversight')
        conn.exec_driver_sql("GRANT ALL ON SCHEMA public TO oversight")
    engine.dispose()
    url = sa.make_url(admin).set(username="oversight", password=PASSWORD).render_as_string(hide_password=False)
    store = Store(url)
    practice_study(store, "class", raters=["ann", "ben"], n_items=4, owner="prof", seed=1)
    srv = ClassServer(url, ["ann", "ben", "prof"], lab=False).start()
    try:
        yield srv, store
    finally:
        srv.stop()
        store.close()


def _payload(assignment_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "submission_id": str(uuid.uuid4()),
        "assignment_id": assignment_id,
        "verdict": "buggy",
        "confidence": 0.85,
        "time_on_task_s": 12.0,
        **extra,
    }


def test_every_route_refuses_another_raters_data(server: tuple[ClassServer, Store]) -> None:
    srv, store = server
    ann, ben = Client(srv, "ann"), Client(srv, "ben")
    ben_ids = [a.id for a in store.assignments("class", rater="ben")]
    ann_ids = [a.id for a in store.assignments("class", rater="ann")]
    status, body, _ = ben.call("POST", "/oversight/api/judgments", _payload(ben_ids[0], comment="ben-private-note"))
    assert status == 201 and body["judgment"]["rater"] == "ben"
    ben_submission = body["judgment"]["submission_id"]

    for aid in ben_ids:
        status, body, text = ann.call("GET", f"/oversight/api/assignments/{aid}")
        assert status == 403 and "ben-private-note" not in text
        status, _, _ = ann.call("POST", "/oversight/api/judgments", _payload(aid))
        assert status == 403
    # Reusing ben's submission id on ann's own assignment is refused without showing ben's row.
    status, body, text = ann.call("POST", "/oversight/api/judgments", {**_payload(ann_ids[0]), "submission_id": ben_submission})
    assert status == 409 and "ben-private-note" not in text
    # A client cannot choose whose judgment it is.
    status, body, _ = ann.call("POST", "/oversight/api/judgments", {**_payload(ann_ids[0]), "rater": "ben"})
    assert status == 400 and body["field"] == "rater"
    status, body, _ = ann.call("GET", "/oversight/api/studies/class/queue")
    assert status == 200 and {a["id"] for a in body["assignments"]} == set(ann_ids)
    status, body, _ = ann.call("GET", "/oversight/api/studies/class/next")
    assert body["assignment_id"] in ann_ids
    status, body, _ = ann.call("GET", "/oversight/api/me")
    assert body["rater"] == "ann"
    status, body, _ = ann.call("GET", "/oversight/api/assignments/class:does-not-exist")
    assert status == 404
    # Nobody's view of their own item carries gold or the condition's name.
    for aid in ann_ids:
        status, body, text = ann.call("GET", f"/oversight/api/assignments/{aid}")
        assert status == 200 and "bug_lines" not in text and '"label"' not in text and "planted" not in text
        assert '"condition"' not in text


def test_owner_routes_refuse_raters(server: tuple[ClassServer, Store]) -> None:
    srv, _ = server
    ann, prof = Client(srv, "ann"), Client(srv, "prof")
    for method, path, body in [
        ("GET", "/oversight/api/studies/class/dashboard", None),
        ("POST", "/oversight/api/studies/class/reveal", {"reveal": True}),
        ("GET", "/oversight/api/studies/class/export", None),
    ]:
        status, answer, text = ann.call(method, path, body)
        assert status == 403, (path, status, text)
        assert "judgments" not in answer
    # No route creates a study or changes its conditions, for anyone: that is the owner's CLI.
    for who in (ann, prof):
        assert who.call("POST", "/oversight/api/studies", {"name": "x"})[0] in (404, 405)
        assert who.call("POST", "/oversight/api/studies/class", {"conditions": []})[0] in (404, 405)
    status, body, _ = prof.call("GET", "/oversight/api/studies/class/dashboard")
    assert status == 200 and body["study"] == "class" and "charts" in body
    status, body, _ = prof.call("GET", "/oversight/api/studies/class/export")
    assert status == 200 and {j["rater"] for j in body["judgments"]} <= {"ann", "ben"}
    assert prof.call("GET", "/oversight/api/studies/nope/dashboard")[0] == 404
    assert prof.call("POST", "/oversight/api/studies/class/reveal", {"reveal": "yes"})[0] == 400


def test_my_results_only_after_reveal_and_only_mine(server: tuple[ClassServer, Store]) -> None:
    srv, store = server
    ann, ben, prof = Client(srv, "ann"), Client(srv, "ben"), Client(srv, "prof")
    aid = store.assignments("class", rater="ann")[0].id
    assert ann.call("POST", "/oversight/api/judgments", _payload(aid))[0] in (200, 201)
    status, body, _ = ann.call("GET", "/oversight/api/studies/class/my-results")
    assert status == 403 and "not revealed" in body["error"]
    assert prof.call("POST", "/oversight/api/studies/class/reveal", {"reveal": True})[1]["revealed"] is True
    try:
        status, body, _ = ann.call("GET", "/oversight/api/studies/class/my-results")
        assert status == 200 and body["rater"] == "ann" and body["n"] >= 1
        assert {r["item_id"] for r in body["results"]} <= {a.item_id for a in store.assignments("class", rater="ann")}
        status, body, _ = ben.call("GET", "/oversight/api/studies/class/my-results")
        assert body["rater"] == "ben"
        ann_items = {a.item_id for a in store.assignments("class", rater="ann")} - {
            a.item_id for a in store.assignments("class", rater="ben")
        }
        assert not ({r["item_id"] for r in body["results"]} & ann_items)
    finally:
        prof.call("POST", "/oversight/api/studies/class/reveal", {"reveal": False})


@pytest.mark.slow
def test_database_credentials_never_reach_a_client(server: tuple[ClassServer, Store]) -> None:
    srv, _ = server
    texts = []
    for user in ("ann", "prof"):
        c = Client(srv, user)
        for path in (
            "/oversight/api/me",
            "/oversight/api/studies/class/dashboard",
            "/oversight/api/studies/class/export",
            "/api/config/oversight",
        ):
            texts.append(c.call("GET", path)[2])
    assert all(PASSWORD not in t for t in texts)
    cmdline = Path(f"/proc/{srv.proc.pid}/cmdline").read_bytes().decode()  # type: ignore[union-attr]
    assert PASSWORD not in cmdline and "postgresql" not in cmdline
