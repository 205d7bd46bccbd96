"""Fixtures of the browser tests: the store a lab server reads, and one Chromium per module.

Helpers (the lab server, page actions) live in ``labkit.py`` beside this file.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import CHROMIUM_ARGS, RATER, missing

from oversight_ext.store import Store


@pytest.fixture(scope="module")
def lab_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="oversight-lab-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def lab_store(lab_root: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{lab_root / 'oversight.db'}")
    store.add_rater(RATER)
    yield store
    store.close()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        except Exception as exc:  # CI must fail when Chromium cannot start
            missing(f"Chromium could not start: {exc}")
        yield b
        b.close()
