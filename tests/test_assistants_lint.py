"""The lint backend's batched pylint: one process for many files, the same findings as one each."""

from __future__ import annotations

import pytest

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.backends.lint import run_pylint, run_pylint_many
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.diffs import make_diff
from oversight_ext.records import Item

CODES = [
    "import os\n\n\ndef f(x):\n    return y\n",
    "def g(a, b):\n    if a == b:\n        return a\n    return a\n",
    "def g(a, b):\n    if a == b:\n        return a\n    return a\n",  # the same text twice: no cross-file duplicate-code finding
]


def key(claims):  # type: ignore[no-untyped-def]
    return sorted((c.start_line, c.end_line, c.text) for c in claims)


@pytest.mark.slow
def test_batch_gives_each_file_its_own_findings() -> None:
    many = run_pylint_many(CODES)
    assert [key(c) for c in many] == [key(run_pylint(code)) for code in CODES]
    assert any("undefined-variable" in c.text for c in many[0]) and any("unused-import" in c.text for c in many[0])
    assert not any("duplicate-code" in c.text for cs in many for c in cs)
    assert run_pylint_many([]) == []


def test_prepare_fills_the_cache_and_latency_carries_the_batch_share() -> None:
    items = [
        Item(id=f"i{k}", diff=make_diff("pass\n", code, "m.py"), path="m.py", before="pass\n", after=code)
        for k, code in enumerate(CODES[:2])
    ]
    critic = load_assistant("pylint")
    critic.prepare(items)  # type: ignore[attr-defined]
    assert len(critic._pylint_cache) == 2  # type: ignore[attr-defined]
    c = critique_item(critic, items[0])
    assert c.status == "ok" and c.verdict == "buggy" and any("undefined-variable" in m.text for m in c.comments)
    assert c.latency_s >= critic._pylint_cache[next(iter(critic._pylint_cache))][1] > 0  # type: ignore[attr-defined]
