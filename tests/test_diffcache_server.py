"""The server's options for parsed diffs: ``prefetch`` and ``diff_cache_dir`` reach the review
service, a view stores its parse there, and their defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_server import TokenUsers, api_db, as_user  # noqa: F401  (api_db: a fixture)
from traitlets.config import Config

from oversight_ext.server import OversightExtension

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def parses(tmp_path: Path) -> Path:
    return tmp_path / "parses"


@pytest.fixture
def jp_server_config(api_db: dict[str, Any], parses: Path) -> Config:  # noqa: F811
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"oversight_ext": True}, "identity_provider_class": TokenUsers},
            "OversightExtension": {"db": api_db["url"], "prefetch": False, "diff_cache_dir": str(parses)},
        }
    )


async def test_a_view_stores_its_parse_in_the_configured_directory(
    jp_fetch: Any,
    jp_serverapp: Any,
    api_db: dict[str, Any],  # noqa: F811
    parses: Path,
) -> None:
    service = jp_serverapp.web_app.settings["oversight_service"]
    assert service.prefetch is False and service.diffs.directory == parses
    resp = await jp_fetch("oversight", "api", "assignments", api_db["alone"].id, headers=as_user("alice"))
    (stored,) = parses.glob("*.json")
    assert json.loads(stored.read_text()) == json.loads(resp.body)["files"]
    service.diffs.wait()  # prefetch off: nothing else was parsed
    assert list(parses.glob("*.json")) == [stored]


def test_the_defaults_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERSIGHT_DIFF_CACHE", str(tmp_path / "env"))
    assert OversightExtension().diff_cache_dir == str(tmp_path / "env") and OversightExtension().prefetch is True
    monkeypatch.setenv("OVERSIGHT_DIFF_CACHE", "")
    assert OversightExtension().diff_cache_dir == ""  # parses in memory only
    monkeypatch.delenv("OVERSIGHT_DIFF_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert OversightExtension().diff_cache_dir == str(tmp_path / "xdg" / "oversight_ext" / "diffs")
