"""Database URLs, engines and migrations, the same for SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

DEFAULT_DB = "oversight.db"
ENV_VAR = "OVERSIGHT_DB"
MIGRATIONS = Path(__file__).with_name("migrations")


class StoreError(RuntimeError):
    """The store cannot do what was asked; the message says why and what to change."""


def resolve_url(db: str | os.PathLike[str] | None = None) -> str:
    """A SQLAlchemy URL from ``--db``, else ``$OVERSIGHT_DB``, else ``./oversight.db``.

    A value without ``://`` is a path to a SQLite file. ``postgresql://`` URLs use psycopg 3.
    """
    value = str(db) if db is not None else os.environ.get(ENV_VAR) or DEFAULT_DB
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser()}"
    if value.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


def make_engine(url: str, *, autocommit: bool = False) -> sa.Engine:
    """An engine for ``url``; SQLite files get WAL mode, foreign keys and a busy timeout.

    ``autocommit=True`` gives an engine whose connections stay in autocommit mode, for
    single-statement writes: no BEGIN/COMMIT round trips, and no isolation level set and reset
    on every checkout (what ``execution_options(isolation_level=...)`` costs per use).
    """
    parsed = sa.make_url(url)
    level = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreError(f"cannot open SQLite database {database!r}: folder {str(parent)!r} does not exist; create it first")
        engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **level)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # The autocommit engine carries Store.submit, which is idempotent and retries on a dropped
        # connection, so it spares itself the pre-ping (a round trip per checkout). Everything
        # else (reads, multi-statement transactions) pings first, so a restarted server or
        # dropped connections cost one failed ping, not an error.
        if autocommit:
            return sa.create_engine(url, pool_size=5, max_overflow=60, **level)
        return sa.create_engine(url, pool_size=10, max_overflow=60, pool_pre_ping=True)
    raise StoreError(f"unsupported database URL {url!r}: use a SQLite path/URL or postgresql://user@host:port/db")


def _alembic_config(connection: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None  # the package always ships at least one migration
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``. Safe to call from many processes at once."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Serialise concurrent upgrades (many raters' servers starting at once).
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(726354)"))
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        if MigrationContext.configure(conn).get_current_revision() == head_revision() and revision == "head":
            return
        command.upgrade(_alembic_config(conn), revision)
