"""The ``openai`` backend: any OpenAI-compatible chat endpoint (vLLM, Ollama, a hosted API).

Spec fields: ``model``, ``base_url`` (else ``$OPENAI_BASE_URL``), ``api_key_env`` (the name of
the variable holding the key; servers that need none get "EMPTY"), ``prompt``, ``temperature``,
``top_p``, ``max_tokens``, ``timeout_s``. params: ``max_retries`` (3: the client retries
connection errors, timeouts, 429 and 5xx with exponential backoff, honouring Retry-After),
``requests_per_minute`` (0 = unlimited: a client-side rate limit shared by all threads),
``reask`` (1: ask again once when the reply is not usable JSON), ``system`` (system message).
"""

from __future__ import annotations

import os
import threading
import time

from oversight_ext.records import ItemView

from ..protocol import BaseCritic, Draft
from ..spec import AssistantConfig
from .llm import ReplyError, parse_reply, render_prompt

__all__ = ["ChatCritic", "RateLimiter"]


class RateLimiter:
    """At most ``per_minute`` calls a minute across threads (evenly spaced)."""

    def __init__(self, per_minute: float) -> None:
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        time.sleep(max(0.0, start - now))


class ChatCritic(BaseCritic):
    def __init__(self, config: AssistantConfig) -> None:
        import openai

        super().__init__(config.name, config.spec_hash, model=config.model, verbosity=config.verbosity)
        if not config.model:
            raise ValueError(f"openai assistant {config.name!r}: model is empty: name the served model (model = '...')")
        base_url = config.base_url or os.environ.get("OPENAI_BASE_URL", "")
        if not base_url:
            raise ValueError(
                f"openai assistant {config.name!r}: base_url is empty and $OPENAI_BASE_URL is unset: "
                "set base_url = 'http://HOST:PORT/v1' in the spec"
            )
        key = os.environ.get(config.api_key_env or "OPENAI_API_KEY") or "EMPTY"
        p = config.params
        self.config = config
        self.reask = int(p.get("reask", 1))
        self.system = str(p.get("system", "You are a careful code reviewer. You answer with JSON only."))
        self.limiter = RateLimiter(float(p.get("requests_per_minute", 0)))
        self.client = openai.OpenAI(base_url=base_url, api_key=key, timeout=config.timeout_s, max_retries=int(p.get("max_retries", 3)))
        self.template = config.prompt_text()

    def ask(self, prompt: str) -> str:
        self.limiter.wait()
        resp = self.client.chat.completions.create(
            model=self.config.model,
            messages=[{"role": "system", "content": self.system}, {"role": "user", "content": prompt}],
            temperature=self.config.temperature,
            top_p=self.config.top_p,
            max_tokens=self.config.max_tokens,
            seed=self.config.seed,
        )
        if not resp.choices:
            raise ReplyError("the server returned no choices")
        return resp.choices[0].message.content or ""

    def review(self, item: ItemView) -> Draft:
        prompt = render_prompt(self.template, item)
        last: ReplyError | None = None
        for _ in range(1 + max(self.reask, 0)):
            reply = self.ask(prompt)
            try:
                draft = parse_reply(reply, model=self.config.model)
            except ReplyError as exc:
                last = exc
                continue
            if last is not None:
                draft.summary = (draft.summary + " (asked twice: the first reply was not usable)").strip()
            return draft
        assert last is not None
        return Draft(status="failed", reason=str(last), model=self.config.model)
