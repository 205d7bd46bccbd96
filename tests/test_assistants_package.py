"""A module of a package, with relative imports: exec loads each version beside the installed
package's own modules, so ``from .decoder import JSONDecoder`` works for both versions. Tested on
the real ``json/__init__.py`` of this Python, with a real bug planted in ``loads``."""

from __future__ import annotations

import json
from pathlib import Path

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.exec.critic import package_of
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.diffs import make_diff
from oversight_ext.records import Item

SOURCE = Path(json.__file__).read_text()
SPEC = """Deserialize a str, bytes or bytearray holding a JSON document to a Python object.

>>> loads('[1, 2, {"a": null}]')
[1, 2, {'a': None}]
>>> loads(b'"x"')
'x'
"""


def _item(before: str, after: str, label: str, path: str = "json/__init__.py") -> Item:
    return Item(id=f"json:{label}", diff=make_diff(before, after, path), path=path, before=before, after=after, spec=SPEC, label=label)


def test_the_package_is_read_from_the_path() -> None:
    assert package_of("json/__init__.py", SOURCE) == "json"
    assert package_of("Lib/asyncio/locks.py", "from . import mixins\n") == "asyncio"
    assert package_of("json/__init__.py", "import os\n") is None  # no relative import: a plain module
    assert package_of("nowhere_pkg/mod.py", "from .x import y\n") is None


def test_a_bug_in_a_package_module_is_caught_and_a_harmless_change_is_not() -> None:
    line = next(i for i, ln in enumerate(SOURCE.splitlines(), 1) if "if isinstance(s, str):" in ln)
    buggy = SOURCE.replace("    if isinstance(s, str):", "    if not isinstance(s, str):", 1)
    critic = load_assistant("exec")
    c = critique_item(critic, _item(SOURCE, buggy, "buggy"))
    assert "fails to load" not in c.summary, c.summary  # the relative imports resolved in both versions
    assert c.verdict == "buggy" and c.comments[0].start_line == line, (c.summary, c.comments)
    harmless = SOURCE.replace("    if isinstance(s, str):", "    if isinstance(s, str):  # text", 1)
    ok = critique_item(critic, _item(SOURCE, harmless, "correct"))
    assert ok.verdict != "buggy" and not ok.comments, ok.summary
