"""``oversight db``: schema migrations."""

from __future__ import annotations

import argparse

from oversight_ext.store import db as dbmod

from .common import add_db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="database schema", description="Manage the store's schema (Alembic migrations).")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = dsub.add_parser("upgrade", help="migrate the schema to the newest revision", description="Create or migrate the store's tables.")
    add_db(up)
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(func=upgrade)
    cur = dsub.add_parser("current", help="print the schema revision", description="Print the store's schema revision and the newest one.")
    add_db(cur)
    cur.set_defaults(func=current)


def upgrade(args: argparse.Namespace) -> int:
    engine = dbmod.make_engine(dbmod.resolve_url(args.db))
    dbmod.upgrade(engine, args.revision)
    print(f"{engine.url.render_as_string(hide_password=True)}: at revision {dbmod.current_revision(engine)}")
    return 0


def current(args: argparse.Namespace) -> int:
    engine = dbmod.make_engine(dbmod.resolve_url(args.db))
    print(f"current: {dbmod.current_revision(engine)}  head: {dbmod.head_revision()}")
    return 0
