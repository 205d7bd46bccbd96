"""What a curious rater can do to the review API from their own browser, against a real Jupyter
server: read gold from ids (they are opaque), or send odd payloads (a catalogue of malformed
judgments: every one a 4xx naming what was wrong, none a server error, nothing stored)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import tornado.httpclient
from test_server import (  # noqa: F401  (jp_server_config: the fixture, used by jp_fetch)
    DIFF,
    GOLD,
    HELPED,
    as_user,
    call,
    jp_server_config,
    payload,
    seed,
)

from oversight_ext.records import Assignment, Comment, Critique, Item
from oversight_ext.server.handlers import MAX_BODY_BYTES
from oversight_ext.store import Store
from oversight_ext.study import ConditionConfig, StudyConfig

pytest_plugins = ["pytest_jupyter.jupyter_server"]

# The shared code-pair schema names items after their dataset and the change's direction.
LEAKY_ITEMS = ("humaneval-12_introduce_bug", "humaneval-40_fix_bug")
LEAKY_CONDITIONS = ("condGamma", "condDelta")
LEAKY_CRITIQUE = "planted:abc123:humaneval-12_introduce_bug"


def seed_leaky(store: Store) -> dict[str, Any]:
    """Study s2 for alice: a shared-schema item under each condition, the assisted one with a
    critique whose stored id names the planted critic and the item."""
    store.add_items(
        [
            Item(id=LEAKY_ITEMS[0], diff=DIFF, path="calc.py", label="buggy", bug_lines=(2,), explanation=GOLD),
            Item(id=LEAKY_ITEMS[1], diff=DIFF, path="calc.py", label="correct", explanation=GOLD),
        ]
    )
    comment = Comment(id="c1", path="calc.py", start_line=2, end_line=2, text="Looks off.")
    store.add_critiques([Critique(id=LEAKY_CRITIQUE, item_id=LEAKY_ITEMS[0], assistant="planted", comments=(comment,), verdict="buggy")])
    config = StudyConfig(
        name="s2",
        conditions=(ConditionConfig(name=LEAKY_CONDITIONS[0]), ConditionConfig(name=LEAKY_CONDITIONS[1], kind="assisted", assistant="x")),
        seed=1,
        raters=("alice", "bob"),
    )
    table = [
        Assignment(id="s2:alice:00000", study="s2", rater="alice", item_id=LEAKY_ITEMS[1], condition=LEAKY_CONDITIONS[0], position=0),
        Assignment(
            id="s2:alice:00001",
            study="s2",
            rater="alice",
            item_id=LEAKY_ITEMS[0],
            condition=LEAKY_CONDITIONS[1],
            position=1,
            critique_id=LEAKY_CRITIQUE,
        ),
    ]
    store.create_study("s2", config, table, seed=1, code_version="test")
    return {"leaky_alone": table[0], "leaky_helped": table[1]}


@pytest.fixture
def api_db(sqlite_url: str) -> dict[str, Any]:
    with Store(sqlite_url) as s:
        ids = {**seed(s), **seed_leaky(s)}
    return {"url": sqlite_url, **ids}


async def test_no_id_a_rater_receives_names_a_dataset_a_label_or_a_condition(jp_fetch: Any, api_db: dict[str, Any]) -> None:
    seen: list[str] = []
    for parts in (("me",), ("studies", "s2", "queue"), ("studies", "s2", "next")):
        code, text = await call(jp_fetch, *parts)
        assert code == 200
        seen.append(text)
    views = {}
    for key in ("leaky_alone", "leaky_helped"):
        a = api_db[key]
        code, text = await call(jp_fetch, "assignments", a.id)
        assert code == 200
        seen.append(text)
        views[key] = json.loads(text)
        body = payload(a.id, flags=[], dispositions=[])
        code, text = await call(jp_fetch, "judgments", body=body)
        assert code == 201, text
        seen.append(text)
        code, text = await call(jp_fetch, "judgments", body=body)  # a retry answers the stored row
        assert code == 200
        seen.append(text)
        code, text = await call(jp_fetch, "assignments", a.id)  # the view with the judgment in it
        seen.append(text)
    secrets_ = ("humaneval", "introduce_bug", "fix_bug", "planted", "abc123", *LEAKY_CONDITIONS, GOLD, '"label"', '"correct"')
    for text in seen:
        for secret in secrets_:
            assert secret not in text, (secret, text[:400])
    alone, helped = views["leaky_alone"], views["leaky_helped"]
    # Opaque, yet stable for the rater: the same item keeps its id, different items differ.
    assert alone["item"]["id"] != helped["item"]["id"] and all(len(v["item"]["id"]) == 25 for v in views.values())
    again = json.loads((await call(jp_fetch, "assignments", api_db["leaky_helped"].id))[1])
    assert again["item"]["id"] == helped["item"]["id"] and again["critique"]["id"] == helped["critique"]["id"]
    assert again["judgment"]["item_id"] == helped["item"]["id"]
    # Another study's raters see the same stored item under another id (no linking across studies).
    with Store(api_db["url"]) as s:
        from oversight_ext.review import ReviewService

        svc = ReviewService(s, prefetch=False)
        assert svc.public_id("s1", "item", LEAKY_ITEMS[0]) != svc.public_id("s2", "item", LEAKY_ITEMS[0])
        assert svc.public_id("s2", "item", LEAKY_ITEMS[0]) == helped["item"]["id"]


def _deep(n: int) -> str:
    return "[" * n + "]" * n


def literal(raw: str, key: str, text: str) -> str:
    """``raw`` JSON with ``key``'s value replaced by the bare token ``text`` (NaN, Infinity: not JSON proper)."""
    value = json.dumps(json.loads(raw)[key])
    assert f'"{key}": {value}' in raw
    return raw.replace(f'"{key}": {value}', f'"{key}": {text}')


def catalogue(a: str, other: str) -> list[tuple[str, Any, int, str | None]]:
    """(what, body, expected status, expected field) for ``a``, alice's unassisted assignment of
    study s1 (a binary study; its diff shows calc.py lines 1-3), and ``other``, bob's."""
    p = payload(a)
    raw = json.dumps(p)

    def with_(**change: Any) -> dict[str, Any]:
        return {**payload(a), **change}

    def flag(**change: Any) -> dict[str, Any]:
        return with_(flags=[{"path": "calc.py", "line": 2, **change}])

    def disp(**change: Any) -> dict[str, Any]:
        return with_(dispositions=[{"comment_id": "c1", "action": "keep", **change}])

    big = MAX_BODY_BYTES + 1000
    return [
        # the body as a whole
        ("not JSON", "{not json", 400, None),
        ("invalid UTF-8", b'{"comment": "\xff\xfe"}', 400, None),
        ("JSON nested 5,000 deep in a field", raw[:-1] + f', "comment": {_deep(5000)}}}', 400, None),
        ("JSON nested 100,000 deep", _deep(100_000), 400, None),
        ("a 20 MB comment", json.dumps(with_(comment="x" * 20_000_000)), 413, None),
        ("a body just over the limit", json.dumps(with_(comment="x" * big)), 413, None),
        ("an array", "[1, 2]", 400, None),
        ("a string", '"judgment"', 400, None),
        ("a number", "7", 400, None),
        ("null", "null", 400, None),
        ("an empty body", "", 400, None),
        ("a 5,000-digit number", raw[:-1] + ', "likert": ' + "9" * 5000 + "}", 400, None),
        # text that cannot be stored
        ("a comment over 20,000 characters", with_(comment="y" * 20_001), 400, "comment"),
        ("a lone surrogate in the comment", raw[:-1] + ', "comment": "ok \\ud800 no"}', 400, "comment"),
        ("a NUL in the comment", with_(comment="a\x00b"), 400, "comment"),
        ("a lone surrogate in a flag comment", with_(flags=[{"path": "calc.py", "line": 2, "comment": "\udc00"}]), 400, "flags"),
        ("a lone surrogate in a flag path", with_(flags=[{"path": "calc\ud801.py", "line": 2}]), 400, "flags"),
        ("a lone surrogate as a key", raw[:-1] + ', "\\udfff": 1}', 400, None),
        ("a lone surrogate in submission_id", with_(submission_id="\ud83d"), 400, "submission_id"),
        ("a lone surrogate in supersedes", with_(supersedes="\udead"), 400, "supersedes"),
        ("a NUL in the verdict", with_(verdict="buggy\x00"), 400, "verdict"),
        ("a lone surrogate in edited_text", disp(action="edit", edited_text="\ud800"), 400, "dispositions"),
        # ids
        ("submission_id of 129 characters", with_(submission_id="s" * 129), 400, "submission_id"),
        ("an empty submission_id", with_(submission_id=""), 400, "submission_id"),
        ("assignment_id of 10,000 characters", with_(assignment_id="a" * 10_000), 400, "assignment_id"),
        ("assignment_id a number", with_(assignment_id=7), 400, "assignment_id"),
        ("an unknown assignment", with_(assignment_id="s1:nobody:00000"), 404, None),
        ("another rater's assignment", with_(assignment_id=other), 403, None),
        ("missing submission_id", {k: v for k, v in p.items() if k != "submission_id"}, 400, "submission_id"),
        ("missing assignment_id", {k: v for k, v in p.items() if k != "assignment_id"}, 400, "assignment_id"),
        # the verdict and its scales
        ("verdict 'maybe'", with_(verdict="maybe"), 400, "verdict"),
        ("verdict null", with_(verdict=None), 400, "verdict"),
        ("confidence between levels", with_(confidence=0.5), 400, "confidence"),
        ("confidence a string", with_(confidence="0.8"), 400, "confidence"),
        ("confidence NaN", literal(raw, "confidence", "NaN"), 400, "confidence"),
        ("a Likert rating in a binary study", with_(likert=5), 400, "likert"),
        ("Likert 9", with_(likert=9), 400, "likert"),
        ("Likert a string", with_(likert="7"), 400, "likert"),
        # time on task and timestamps
        ("negative time on task", with_(time_on_task_s=-1), 400, "time_on_task_s"),
        ("infinite time on task", literal(raw, "time_on_task_s", "Infinity"), 400, "time_on_task_s"),
        ("a billion seconds on task", with_(time_on_task_s=1e9), 400, "time_on_task_s"),
        ("time on task a string", with_(time_on_task_s="fast"), 400, "time_on_task_s"),
        ("an hour on task between stamps 31 s apart", with_(time_on_task_s=3600), 400, "time_on_task_s"),
        ("submitted in 2099", with_(submitted_at="2099-01-01T00:00:00Z", started_at=None), 400, "submitted_at"),
        ("submitted in 1970", with_(submitted_at="1970-01-01T00:00:00Z", started_at=None), 400, "submitted_at"),
        ("started after submitted", with_(started_at="2026-01-01T10:05:00Z"), 400, "started_at"),
        ("started 'yesterday'", with_(started_at="yesterday"), 400, "started_at"),
        ("started on the 45th of the 13th month", with_(started_at="2026-13-45T10:00:00Z"), 400, "started_at"),
        ("a 1,000-character timestamp", with_(submitted_at="2" * 1000), 400, "submitted_at"),
        # flags
        ("flags a number", with_(flags=5), 400, "flags"),
        ("flags of strings", with_(flags=["calc.py:2"]), 400, "flags"),
        ("a flag on line 0", flag(line=0), 400, "flags"),
        ("a flag on line 10^9", flag(line=10**9), 400, "flags"),
        ("a flag past the diff's last new line", flag(line=4), 400, "flags"),
        ("a flag past the diff's last old line", flag(line=99, side="old"), 400, "flags"),
        ("a flag on side 'middle'", flag(side="middle"), 400, "flags"),
        ("a flag on a file not in the diff", flag(path="other.py"), 400, "flags"),
        ("a flag with an extra key", flag(severity="high"), 400, "flags"),
        ("a flag range past the diff's last new line", flag(end_line=9), 400, "flags"),
        ("a flag range that ends before it starts", flag(line=3, end_line=2), 400, "flags"),
        ("a flag severity 'urgent'", flag(severity="urgent"), 400, "flags"),
        ("a flag category of 65 characters", flag(category="c" * 65), 400, "flags"),
        ("a flag with a key the schema lacks", flag(colour="red"), 400, "flags"),
        ("501 flags", with_(flags=[{"path": "calc.py", "line": 2}] * 501), 400, "flags"),
        ("flags nested 50 deep", raw[:-1] + f', "flags": {_deep(50)}}}', 400, "flags"),
        # dispositions
        ("a disposition of a comment the unassisted item never showed", disp(), 400, "dispositions"),
        ("dispositions an object", with_(dispositions={"c1": "keep"}), 400, "dispositions"),
        ("a disposition 'destroy'", disp(action="destroy"), 400, "dispositions"),
        ("an edit without text", disp(action="edit"), 400, "dispositions"),
        # fields the server fills
        ("the client names the rater", with_(rater="bob"), 400, "rater"),
        ("the client names the study", with_(study="s2"), 400, "study"),
        ("the client names the condition", with_(condition=HELPED), 400, "condition"),
        ("the client names the item", with_(item_id="it1"), 400, "item_id"),
        ("the client sets received_at", with_(received_at="2026-01-01T10:00:31Z"), 400, "received_at"),
        ("the client marks itself simulated", with_(simulated=True), 400, "simulated"),
        ("supersedes names no judgment", with_(supersedes="nonsense"), 400, "supersedes"),
        ("the comment an object", with_(comment={"text": "hi"}), 400, "comment"),
        # the attention record (the diff has one file of one hunk with lines 0..3; 31 s between the stamps)
        ("attention a list", with_(attention=[[0, 1000, 0, 0, 0, 3]]), 400, "attention"),
        ("attention without events", with_(attention={"spans": []}), 400, "attention"),
        ("an attention span of five numbers", with_(attention={"spans": [[0, 1000, 0, 0, 0]], "events": []}), 400, "attention"),
        ("an attention span of strings", with_(attention={"spans": [["0", "1", "0", "0", "0", "3"]], "events": []}), 400, "attention"),
        ("5,001 attention spans", with_(attention={"spans": [[0, 1, 0, 0, 0, 3]] * 5001, "events": []}), 400, "attention"),
        (
            "an attention span that ends before it starts",
            with_(attention={"spans": [[900, 100, 0, 0, 0, 3]], "events": []}),
            400,
            "attention",
        ),
        (
            "an attention span in file 1 of a one-file diff",
            with_(attention={"spans": [[0, 100, 1, 0, 0, 3]], "events": []}),
            400,
            "attention",
        ),
        (
            "an attention span in hunk 3 of a one-hunk file",
            with_(attention={"spans": [[0, 100, 0, 3, 0, 3]], "events": []}),
            400,
            "attention",
        ),
        ("an attention span past the hunk's last line", with_(attention={"spans": [[0, 100, 0, 0, 2, 4]], "events": []}), 400, "attention"),
        (
            "an attention span an hour after the submit",
            with_(attention={"spans": [[0, 3_600_000, 0, 0, 0, 3]], "events": []}),
            400,
            "attention",
        ),
        ("an attention event 'scrolled'", with_(attention={"spans": [], "events": [[10, "scrolled", 0, 0]]}), 400, "attention"),
        ("an attention event in hunk 9", with_(attention={"spans": [], "events": [[10, "expand", 0, 9]]}), 400, "attention"),
        ("attention with an extra key", with_(attention={"spans": [], "events": [], "gaze": []}), 400, "attention"),
        ("an attention record of 300 kB", with_(attention={"spans": [[604_800_000] * 6] * 5000, "events": []}), 413, "attention"),
    ]


async def post(jp_fetch: Any, body: Any, user: str = "alice") -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    try:
        resp = await jp_fetch("oversight", "api", "judgments", method="POST", body=data, headers=as_user(user))
    except tornado.httpclient.HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, json.loads(exc.response.body)
    return resp.code, json.loads(resp.body)


async def test_a_catalogue_of_malformed_judgments_is_refused_and_nothing_is_stored(
    jp_fetch: Any, api_db: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cases = catalogue(api_db["alone"].id, api_db["bob_helped"].id)
    assert len(cases) >= 50 and len({c[0] for c in cases}) == len(cases)
    wrong = []
    for what, body, status, field in cases:
        code, answer = await post(jp_fetch, body)
        if code != status or (field is not None and answer.get("field") != field) or not answer.get("error"):
            wrong.append((what, code, answer.get("field"), str(answer.get("error"))[:160]))
    assert wrong == []
    with Store(api_db["url"]) as s:
        assert [j.rater for j in s.judgments(current=False)] == ["bob"]  # the seed's one judgment, nothing more
    # The same payloads, made well, are accepted: the refusals were about what was wrong.
    code, answer = await post(jp_fetch, payload(api_db["alone"].id, submission_id=str(uuid.uuid4())))
    assert code == 201, answer
    with capsys.disabled():
        print(f"\nmalformed-payload catalogue: {len(cases)} payloads, {len(cases)} refused with 4xx, 0 server errors, 0 stored")
