"""Persistence of every record: SQLite by default, PostgreSQL for many raters."""

from .db import StoreError, resolve_url
from .store import Conflict, Store, UnknownRecord

__all__ = ["Conflict", "Store", "StoreError", "UnknownRecord", "resolve_url"]
