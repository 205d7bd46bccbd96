"""The review API against a real in-process Jupyter server (pytest-jupyter's ``jp_fetch``).

Two raters, alice and bob, share a study: each has one unassisted and one assisted
assignment. Every test reads the raw response bodies, since what matters is what reaches the
browser, not what a front end chooses to show.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import tornado.httpclient
from jupyter_server.auth.identity import IdentityProvider, User
from traitlets.config import Config

from oversight_ext.records import Comment, Critique, Item, Judgment
from oversight_ext.review import Forbidden, ReviewService
from oversight_ext.review.diffcache import hunk_lines
from oversight_ext.server import OversightExtension
from oversight_ext.store import Store
from oversight_ext.study import ConditionConfig, StudyConfig
from oversight_ext.study.design import assign

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TOKENS = {"alice-secret": "alice", "bob-secret": "bob"}
ALONE, HELPED = "condAlpha", "condBeta"  # names that must never reach a rater
GOLD = "GOLD-EXPLANATION-off-by-one"
PLANTED_TEXT = "PLANTED-claim-about-line-2"
BOB_COMMENT = "BOB-PRIVATE-NOTE"
DIFF = """--- a/calc.py
+++ b/calc.py
@@ -1,3 +1,3 @@
 def total(xs):
-    return sum(xs)
+    return sum(xs[1:])
 # end
"""


class TokenUsers(IdentityProvider):
    """One token per person, as a hub or an SSO proxy gives each user their own identity."""

    def get_user(self, handler: Any) -> User | None:
        auth = handler.request.headers.get("Authorization", "")
        name = TOKENS.get(auth.removeprefix("token ").strip())
        if not name:
            return None
        handler._token_authenticated = True  # an explicit token is XSRF-safe, as in Jupyter's own provider
        return User(username=name)


def _items() -> list[Item]:
    return [
        Item(id=f"it{i}", diff=DIFF, task=f"Task {i}: sum a list", path="calc.py", label="buggy", bug_lines=(2,), explanation=GOLD)
        for i in (1, 2)
    ]


def _critique(item_id: str) -> Critique:
    comments = (
        Comment(id="c1", path="calc.py", start_line=2, end_line=2, text="Slicing drops the first element."),
        Comment(id="c2", path="calc.py", start_line=1, end_line=1, text=PLANTED_TEXT, severity="minor", planted=True),
    )
    return Critique(id=f"crit-{item_id}", item_id=item_id, assistant="demo-replay", comments=comments, verdict="buggy", planted=True)


def seed(store: Store) -> dict[str, Any]:
    """A two-rater, two-condition study; bob has already judged his unassisted item."""
    config = StudyConfig(
        name="s1",
        conditions=(ConditionConfig(name=ALONE), ConditionConfig(name=HELPED, kind="assisted", assistant="demo-replay")),
        seed=3,
        raters=("alice", "bob"),
    )
    store.add_items(_items())
    store.add_critiques([_critique("it1"), _critique("it2")])
    table = [a if a.condition == ALONE else _with_critique(a) for a in assign(config, ["it1", "it2"])]
    store.create_study("s1", config.to_dict(), table, seed=3, code_version="test")
    for r in ("alice", "bob"):
        store.add_rater(r)
    by = {(a.rater, a.condition): a for a in table}
    bob_alone = by[("bob", ALONE)]
    store.submit(
        Judgment(
            submission_id="bob-sub-1",
            assignment_id=bob_alone.id,
            rater="bob",
            verdict="buggy",
            confidence=0.8,
            time_on_task_s=12.0,
            comment=BOB_COMMENT,
        )
    )
    return {"alone": by[("alice", ALONE)], "helped": by[("alice", HELPED)], "bob_alone": bob_alone, "bob_helped": by[("bob", HELPED)]}


def _with_critique(a: Any) -> Any:
    import dataclasses

    return dataclasses.replace(a, critique_id=f"crit-{a.item_id}")


@pytest.fixture
def api_db(request: pytest.FixtureRequest, sqlite_url: str) -> dict[str, Any]:
    """The seeded study on SQLite, or on PostgreSQL where a test asks for it (indirect param)."""
    url = str(request.getfixturevalue("pg_url")) if getattr(request, "param", "sqlite") == "postgres" else sqlite_url
    with Store(url) as s:
        ids = seed(s)
    return {"url": url, **ids}


@pytest.fixture
def jp_server_config(api_db: dict[str, Any]) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"oversight_ext": True}, "identity_provider_class": TokenUsers},
            "OversightExtension": {"db": api_db["url"]},
        }
    )


def as_user(name: str) -> dict[str, str]:
    return {"Authorization": "token " + {v: k for k, v in TOKENS.items()}[name]}


async def call(jp_fetch: Any, *parts: str, user: str = "alice", body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    kwargs: dict[str, Any] = {"method": "GET"}
    if body is not None:
        kwargs = {"method": "POST", "body": body if isinstance(body, str) else json.dumps(body)}
    try:
        resp = await jp_fetch("oversight", "api", *parts, headers=headers if headers is not None else as_user(user), **kwargs)
    except tornado.httpclient.HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, exc.response.body.decode()
    return resp.code, resp.body.decode()


def payload(assignment_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "submission_id": str(uuid.uuid4()),
        "assignment_id": assignment_id,
        "verdict": "buggy",
        "confidence": 0.65,
        "time_on_task_s": 31.5,
        "flags": [{"path": "calc.py", "line": 2, "side": "new", "comment": "drops xs[0]"}],
        "dispositions": [],
        "likert": None,
        "comment": "",
        "supersedes": None,
        "started_at": "2026-01-01T10:00:00Z",
        "submitted_at": "2026-01-01T10:00:31Z",
    }
    return {**body, **overrides}


def routes(ids: dict[str, Any]) -> list[tuple[tuple[str, ...], Any]]:
    a = ids["alone"].id
    return [
        (("me",), None),
        (("studies", "s1", "queue"), None),
        (("studies", "s1", "next"), None),
        (("assignments", a), None),
        (("judgments",), payload(a)),
    ]


async def test_every_route_refuses_requests_without_a_token(jp_fetch: Any, api_db: dict[str, Any]) -> None:
    for parts, body in routes(api_db):
        for headers in ({"Authorization": ""}, {"Authorization": "token wrong"}):
            code, text = await call(jp_fetch, *parts, body=body, headers=headers)
            assert code in (401, 403), (parts, code)
            assert "calc.py" not in text and "s1" not in text
    with Store(api_db["url"]) as s:
        assert [j.rater for j in s.judgments()] == ["bob"]


async def test_rater_is_the_identity_providers_user(jp_fetch: Any, api_db: dict[str, Any]) -> None:
    for name in ("alice", "bob"):
        code, text = await call(jp_fetch, "me", user=name)
        me = json.loads(text)
        assert code == 200 and me["rater"] == name and me["role"] == "rater"
        assert me["studies"] == [{"name": "s1", "done": int(name == "bob"), "total": 2}]
    # A client-chosen rater is refused, not obeyed.
    code, text = await call(jp_fetch, "judgments", user="alice", body=payload(api_db["bob_helped"].id, rater="bob"))
    assert code == 400 and json.loads(text)["field"] == "rater"


async def test_raw_0_sends_the_diff_once_parsed_and_a_bad_raw_is_a_400(jp_fetch: Any, api_db: dict[str, Any]) -> None:
    aid = api_db["alone"].id
    full = json.loads((await jp_fetch("oversight", "api", "assignments", aid, headers=as_user("alice"))).body)
    resp = await jp_fetch("oversight", "api", "assignments", aid, params={"raw": "0"}, headers=as_user("alice"))
    lean = json.loads(resp.body)
    assert full["item"]["diff"] == DIFF and lean["item"]["diff"] == ""
    assert lean["files"] == full["files"] and lean["files"][0]["hunks"]
    assert {k: v for k, v in lean["item"].items() if k != "diff"} == {k: v for k, v in full["item"].items() if k != "diff"}
    with pytest.raises(tornado.httpclient.HTTPClientError) as bad:
        await jp_fetch("oversight", "api", "assignments", aid, params={"raw": "no"}, headers=as_user("alice"))
    assert bad.value.code == 400 and "raw" in bad.value.response.body.decode()  # type: ignore[union-attr]


async def test_unassisted_view_carries_no_critique(jp_fetch: Any, api_db: dict[str, Any]) -> None:
    code, text = await call(jp_fetch, "assignments", api_db["alone"].id)
    view = json.loads(text)
    assert code == 200 and view["critique"] is None and view["assignment"]["condition_kind"] == "unassisted"
    for secret in ("crit-", "Slicing drops", PLANTED_TEXT, '"comments"'):
        assert secret not in text
    assert list(hunk_lines(view["files"][0]["hunks"][0]))[1] == ("del", 2, None, "    return sum(xs)")
    assert view["item"] == {
        "id": view["item"]["id"],
        "spec": "",
        "language": "python",
        "task": view["item"]["task"],
        "path": "calc.py",
        "diff": DIFF,
    }

    code, text = await call(jp_fetch, "assignments", api_db["helped"].id)
    view = json.loads(text)
    assert code == 200 and view["assignment"]["condition_kind"] == "assisted"
    assert [c["id"] for c in view["critique"]["comments"]] == ["c1", "c2"]
    assert set(view["critique"]) == {"id", "verdict", "confidence", "summary", "comments"}


async def test_no_route_leaks_gold_conditions_planted_flags_or_other_raters(jp_fetch: Any, api_db: dict[str, Any]) -> None:
    forbidden = (GOLD, ALONE, HELPED, '"planted"', '"label"', '"bug_lines"', '"explanation"', BOB_COMMENT, "bob-sub-1")
    bob_ids = (api_db["bob_alone"].id, api_db["bob_helped"].id)
    seen = []
    for parts, body in routes(api_db):
        code, text = await call(jp_fetch, *parts, body=body)
        assert code in (200, 201), (parts, text)
        seen.append(text)
    for bid in bob_ids:
        code, text = await call(jp_fetch, "assignments", bid)
        assert code == 403
        seen.append(text)
        code, text = await call(jp_fetch, "judgments", body=payload(bid))
        assert code == 403
        seen.append(text)
    # Reusing bob's submission id on alice's own assignment must not hand back bob's row.
    code, text = await call(jp_fetch, "judgments", body=payload(api_db["helped"].id, submission_id="bob-sub-1"))
    assert code == 409 and json.loads(text)["field"] == "submission_id"
    seen.append(text)
    for text in seen:
        for secret in forbidden:
            assert secret not in text, (secret, text[:300])
        for bid in bob_ids:
            assert bid not in text or "not in your queue" in text
    queue = json.loads(seen[1])
    assert {a["id"] for a in queue["assignments"]} == {api_db["alone"].id, api_db["helped"].id}


@pytest.mark.parametrize("api_db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_submit_is_idempotent_and_a_double_click_stores_one_row(jp_fetch: Any, api_db: dict[str, Any]) -> None:
    body = payload(api_db["helped"].id, dispositions=[{"comment_id": "c1", "action": "keep", "reason": "valid", "edited_text": None}])
    code, text = await call(jp_fetch, "judgments", body=body)
    first = json.loads(text)
    assert code == 201 and first["created"] is True
    assert first["judgment"]["rater"] == "alice" and "condition" not in first["judgment"]
    code, text = await call(jp_fetch, "judgments", body=body)
    assert code == 200 and json.loads(text) == {"created": False, "judgment": first["judgment"]}

    double = payload(api_db["alone"].id)
    answers = await asyncio.gather(*(call(jp_fetch, "judgments", body=double) for _ in range(4)))
    assert sorted(c for c, _ in answers) == [200, 200, 200, 201]
    with Store(api_db["url"]) as s:
        mine = s.judgments(rater="alice")
        assert sorted(j.submission_id for j in mine) == sorted([body["submission_id"], double["submission_id"]])
        stored = next(j for j in mine if j.submission_id == body["submission_id"])
        assert stored.condition == HELPED and stored.received_at is not None and stored.time_on_task_s == 31.5
        assert stored.dispositions[0].comment_id == "c1" and stored.flags[0].line == 2
    code, text = await call(jp_fetch, "studies", "s1", "next")
    assert json.loads(text) == {"assignment_id": None}
    code, text = await call(jp_fetch, "assignments", api_db["helped"].id)
    assert json.loads(text)["judgment"]["submission_id"] == body["submission_id"]


async def test_a_correction_supersedes_the_current_judgment(jp_fetch: Any, api_db: dict[str, Any]) -> None:
    first = payload(api_db["alone"].id)
    await call(jp_fetch, "judgments", body=first)
    code, text = await call(jp_fetch, "judgments", body=payload(api_db["alone"].id, verdict="correct", supersedes="nonsense"))
    assert code == 400 and json.loads(text)["field"] == "supersedes"
    code, text = await call(jp_fetch, "judgments", body=payload(api_db["alone"].id, verdict="correct"))
    assert code == 201 and json.loads(text)["judgment"]["supersedes"] == first["submission_id"]
    with Store(api_db["url"]) as s:
        assert [j.verdict for j in s.judgments(rater="alice")] == ["correct"]
        assert len(s.judgments(rater="alice", current=False)) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"verdict": None}, "verdict"),
        ({"verdict": "maybe"}, "verdict"),
        ({"confidence": 0.5}, "confidence"),
        ({"time_on_task_s": -1}, "time_on_task_s"),
        ({"flags": [{"path": "calc.py", "line": 0}]}, "flags"),
        ({"flags": [{"path": "other.py", "line": 1}]}, "flags"),
        ({"dispositions": [{"comment_id": "c1", "action": "keep"}]}, "dispositions"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"study": "s1"}, "study"),
        ({"simulated": True}, "simulated"),
    ],
)
async def test_invalid_judgments_are_refused_naming_the_field(
    jp_fetch: Any, api_db: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    # The unassisted assignment: dispositions of critique comments it never showed are refused too.
    code, text = await call(jp_fetch, "judgments", body=payload(api_db["alone"].id, **change))
    answer = json.loads(text)
    assert code == 400 and answer["field"] == field, answer
    assert answer["error"]
    with Store(api_db["url"]) as s:
        assert s.judgments(rater="alice") == []


async def test_a_binary_study_refuses_a_below_chance_confidence_and_sends_its_levels(jp_fetch: Any, api_db: dict[str, Any]) -> None:
    code, text = await call(jp_fetch, "assignments", api_db["alone"].id)
    assert code == 200 and json.loads(text)["assignment"]["confidence_levels"] == [0.55, 0.65, 0.75, 0.85, 0.95]
    code, text = await call(jp_fetch, "judgments", body=payload(api_db["alone"].id, confidence=0.25))
    answer = json.loads(text)
    assert code == 400 and answer["field"] == "confidence", answer
    assert "0.25" in answer["error"] and "[0.55, 0.65, 0.75, 0.85, 0.95]" in answer["error"], answer
    with Store(api_db["url"]) as s:
        assert s.judgments(rater="alice") == []


async def test_unknown_and_foreign_assignments(jp_fetch: Any, api_db: dict[str, Any]) -> None:
    assert (await call(jp_fetch, "assignments", "s1:nobody:00000"))[0] == 404
    assert (await call(jp_fetch, "judgments", body=payload("s1:nobody:00000")))[0] == 404
    assert (await call(jp_fetch, "studies", "no-such-study", "queue"))[0] == 404
    assert (await call(jp_fetch, "assignments", api_db["bob_helped"].id))[0] == 403
    assert (await call(jp_fetch, "judgments", body="{not json"))[0] == 400
    assert (await call(jp_fetch, "judgments", body=[1, 2]))[0] == 400


class TestStockIdentity:
    """Jupyter's own token login: the rater is OversightExtension.local_rater; POSTs need XSRF."""

    @pytest.fixture
    def jp_server_config(self, api_db: dict[str, Any]) -> Config:
        return Config(
            {
                "ServerApp": {"jpserver_extensions": {"oversight_ext": True}},
                "IdentityProvider": {"token": "stock-token"},
                "OversightExtension": {"db": api_db["url"], "local_rater": "alice"},
            }
        )

    async def test_cookie_posts_need_the_xsrf_token(self, jp_fetch: Any, api_db: dict[str, Any]) -> None:
        resp = await jp_fetch("oversight", "api", "me", headers={"Authorization": "token stock-token"})
        assert json.loads(resp.body)["rater"] == "alice"
        login = "; ".join(c.split(";", 1)[0] for c in resp.headers.get_list("Set-Cookie"))
        assert login, "token login should set a login cookie"
        cookie_only = {"Authorization": "", "Cookie": login}
        code, _ = await call(jp_fetch, "me", headers=cookie_only)
        assert code == 200
        body = payload(api_db["alone"].id)
        code, text = await call(jp_fetch, "judgments", body=body, headers=cookie_only)
        assert code == 403 and "calc.py" not in text
        xsrf = "0123456789abcdef"
        with_xsrf = {"Authorization": "", "Cookie": f"{login}; _xsrf={xsrf}", "X-XSRFToken": xsrf}
        code, text = await call(jp_fetch, "judgments", body=body, headers=with_xsrf)
        assert code == 201, text
        with Store(api_db["url"]) as s:
            assert [j.submission_id for j in s.judgments(rater="alice")] == [body["submission_id"]]


def test_rater_identity_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    ext = OversightExtension(local_rater="carol")
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    anon = User(username="3f2a9c")
    assert ext.rater_for(anon, IdentityProvider()) == "carol"
    assert ext.rater_for(User(username="dave"), TokenUsers()) == "dave"
    assert OversightExtension(local_rater="").rater_for(anon, IdentityProvider()) == "3f2a9c"
    # Under a hub the hub user is the rater, whatever local_rater says.
    monkeypatch.setenv("JUPYTERHUB_USER", "erin")
    assert ext.rater_for(anon, IdentityProvider()) == "erin"
    hub_provider = type("JupyterHubIdentityProvider", (IdentityProvider,), {"__module__": "jupyterhub.singleuser.extension"})
    assert ext.rater_for(User(username="frank"), hub_provider()) == "frank"


def test_open_enrolment_hands_a_newcomer_a_free_slot(store: Store) -> None:
    store.add_items(_items())
    config = StudyConfig(name="open1", conditions=(ConditionConfig(name=ALONE),), seed=1, open_slots=1)
    store.create_study("open1", config.to_dict(), assign(config, ["it1", "it2"]), seed=1, code_version="test")
    svc = ReviewService(store, prefetch=False)
    assert {"name": "open1", "done": 0, "total": 2} in svc.me("carol")["studies"]
    queue = svc.queue("carol", "open1")
    assert queue["total"] == 2 and all(a["id"].startswith("open1:") for a in queue["assignments"])
    assert svc.queue("carol", "open1") == queue, "a second visit keeps the same slot"
    assert svc.next("carol", "open1")["assignment_id"] == queue["assignments"][0]["id"]
    with pytest.raises(Forbidden, match="full"):
        svc.queue("dan", "open1")
    assert all(s["name"] != "open1" for s in svc.me("dan")["studies"]), "a full study is not offered"
