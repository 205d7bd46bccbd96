"""The notebook widget's Python side, with only the comm faked: messages in, store rows out."""

from __future__ import annotations

import uuid
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm
from test_server import ALONE, GOLD, HELPED, PLANTED_TEXT, payload, seed

from oversight_ext import review  # the notebook entry point: the review package, callable
from oversight_ext.review.widget import ReviewWidget
from oversight_ext.store import Store


class FakeComm(BaseComm):
    """Records what the kernel would send to the browser."""

    def __init__(self, **kwargs: Any) -> None:
        self.sent: list[dict[str, Any]] = []
        super().__init__(**kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any) -> None:
        self.sent.append({"msg_type": msg_type, "data": data})


@pytest.fixture(autouse=True)
def fake_comm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda **kw: FakeComm(**kw))
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)


@pytest.fixture
def seeded(store: Store) -> dict[str, Any]:
    return {"url": store.url, **seed(store)}


def from_browser(widget: ReviewWidget, content: dict[str, Any]) -> None:
    """Deliver a custom message the way ipywidgets hands over one from the front end."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def sent_states(widget: ReviewWidget) -> list[dict[str, Any]]:
    fake = widget.comm
    assert isinstance(fake, FakeComm)
    return [m["data"]["state"] for m in fake.sent if m["data"] and m["data"].get("method") == "update"]


def test_submit_and_next_write_through_the_store(seeded: dict[str, Any]) -> None:
    w = review("s1", db=seeded["url"], rater="alice")
    first = w.view["assignment"]["id"]
    assert first == min((seeded["alone"], seeded["helped"]), key=lambda a: a.position).id
    assert w.progress == {"done": 0, "total": 2} and w.status == "ready"
    body = payload(first)
    if first == seeded["helped"].id:
        body["dispositions"] = [{"comment_id": "c2", "action": "reject", "reason": "wrong", "edited_text": None}]
    from_browser(w, {"type": "submit", "payload": body})
    assert w.status == "saved" and w.view["judgment"]["submission_id"] == body["submission_id"]
    assert w.progress == {"done": 1, "total": 2}
    from_browser(w, {"type": "submit", "payload": body})  # a double click: still one row, still "saved"
    assert w.status == "saved"
    assert sent_states(w)[-1] == {"status": "saved"}
    with Store(seeded["url"]) as s:
        rows = s.judgments(rater="alice")
        assert [(j.submission_id, j.assignment_id, j.time_on_task_s) for j in rows] == [(body["submission_id"], first, 31.5)]
    from_browser(w, {"type": "next"})
    second = w.view["assignment"]["id"]
    assert second != first and w.status == "ready"
    from_browser(w, {"type": "submit", "payload": payload(second, confidence=0.3)})
    assert w.status.startswith("error: ") and "confidence" in w.status
    from_browser(w, {"type": "submit", "payload": payload(second)})
    from_browser(w, {"type": "next"})
    assert w.view == {} and w.progress == {"done": 2, "total": 2}
    from_browser(w, {"type": "dance"})
    assert w.status.startswith("error: unknown message")


def test_widget_state_obeys_the_blinding_rules(seeded: dict[str, Any]) -> None:
    w = review("s1", db=seeded["url"], rater="alice")
    seen = []
    for _ in range(2):
        seen.append(repr(w.view))
        kind = w.view["assignment"]["condition_kind"]
        assert (w.view["critique"] is None) == (kind == "unassisted")
        from_browser(w, {"type": "submit", "payload": payload(w.view["assignment"]["id"])})
        from_browser(w, {"type": "next"})
    seen.append(repr(sent_states(w)))
    for text in seen:
        for secret in (GOLD, ALONE, HELPED, "'planted'", "bob"):
            assert secret not in text
    assert any(PLANTED_TEXT in t for t in seen[:2]), "the assisted item shows the (planted) comment's text, without its flag"


def test_a_kernel_restart_reopens_the_queue_where_it_was(seeded: dict[str, Any]) -> None:
    w = review("s1", db=seeded["url"], rater="alice")
    first = w.view["assignment"]["id"]
    from_browser(w, {"type": "submit", "payload": payload(first, submission_id=str(uuid.uuid4()))})
    w.close()  # the kernel dies; a new one runs the cell again
    again = review("s1", db=seeded["url"], rater="alice")
    assert again.view["assignment"]["id"] != first and again.progress == {"done": 1, "total": 2}
    assert again.view["judgment"] is None


def test_rater_and_study_checks(seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import oversight_ext

    assert oversight_ext.review is review
    with pytest.raises(ValueError, match="no such study"):
        review("nope", db=seeded["url"], rater="alice")
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    with pytest.raises(ValueError, match="hub user 'bob'"):
        review("s1", db=seeded["url"], rater="alice")
    w = review("s1", db=seeded["url"])
    assert w.rater == "bob" and w.view["assignment"]["id"] == seeded["bob_helped"].id
