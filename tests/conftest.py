"""Shared fixtures: real SQLite files, a real throwaway PostgreSQL cluster, the shared data.

Where a real part is missing (PostgreSQL binaries, Chromium, ../shared/data) the tests that
need it skip with a message on a developer's machine. With ``OVERSIGHT_REQUIRE_ALL=1`` (set
by ``.ci/run``) a missing PostgreSQL or Chromium fails the run instead: CI must exercise them.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest
import sqlalchemy as sa

from oversight_ext.store import Store
from oversight_ext.testing.throwaway import ThrowawayPostgres, free_port, pg_bindir  # noqa: F401  (free_port: for fixtures)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
REQUIRE_ALL = os.environ.get("OVERSIGHT_REQUIRE_ALL") == "1"


@pytest.fixture(scope="session", autouse=True)
def _diff_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Stored diff parses of every server a test starts go to a temporary folder, never to
    the user's ``~/.cache`` (tests that check the default set and clear the variable themselves)."""
    before = os.environ.get("OVERSIGHT_DIFF_CACHE")
    os.environ["OVERSIGHT_DIFF_CACHE"] = str(tmp_path_factory.mktemp("diffcache"))
    yield
    if before is None:
        os.environ.pop("OVERSIGHT_DIFF_CACHE", None)
    else:
        os.environ["OVERSIGHT_DIFF_CACHE"] = before


def missing(what: str) -> None:
    """Skip (locally) or fail (CI) because a real part the test needs is absent."""
    if REQUIRE_ALL:
        pytest.fail(f"{what} (OVERSIGHT_REQUIRE_ALL=1: CI must run this test)", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project; tests that read it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent: the public evaluation data is not on this machine")
    return SHARED_DATA


class PostgresCluster(ThrowawayPostgres):
    """The package's throwaway cluster; a missing PostgreSQL skips (locally) or fails (CI)."""

    def __init__(self) -> None:
        if pg_bindir() is None:
            missing("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
        super().__init__()


class ExternalPostgres:
    """A PostgreSQL server someone else runs; each test still gets its own database."""

    def __init__(self, url: str) -> None:
        self.base = sa.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))

    def url(self, dbname: str = "postgres") -> str:
        return self.base.set(database=dbname).render_as_string(hide_password=False)

    def create_database(self, name: str) -> str:
        engine = sa.create_engine(self.url(self.base.database or "postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return self.url(name)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A running PostgreSQL: ``$OVERSIGHT_TEST_PG_URL`` (a server URL) if set, else a throwaway cluster."""
    external = os.environ.get("OVERSIGHT_TEST_PG_URL")
    if external:
        yield ExternalPostgres(external)  # type: ignore[misc]
        return
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


_db_counter = iter(range(10**6))


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return pg_cluster.create_database(f"t{os.getpid()}_{next(_db_counter)}_{int(time.time() * 1000) % 10**6}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'oversight.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against a real SQLite file and a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'oversight.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    s = Store(sqlite_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium binary; missing() when it is not installed."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        missing("Chromium not found: apt-get install -y chromium")
    return str(path)


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _text_of(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(str(out.data.get("text/plain", "")))
        elif out.output_type == "error":
            parts.append("Traceback " + out.ename + ": " + out.evalue)
    return "".join(parts)


@pytest.fixture
def text_of() -> Callable[[nbformat.NotebookNode], str]:
    """What an executed notebook cell showed: streams, plain-text results, and errors."""
    return _text_of


@pytest.fixture
def shared_data_or_none() -> Path | None:
    """``../shared/data`` when present, else ``None`` (for tests that check both cases)."""
    return SHARED_DATA if SHARED_DATA.is_dir() else None
