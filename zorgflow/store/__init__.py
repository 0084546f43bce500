"""Persistence: `SQLiteStore` (embedded, the default) and `PostgresStore` (several app servers).

Both keep cases as data other tools can query: a row per case, per case role, per history
entry, and personal data in a table of its own. Every save names the version it was based
on; a stale save raises `ConcurrentUpdate` and writes nothing::

    store = SQLiteStore("cases.db", engine)
    case = engine.start("lzn", actor=scp, store=store)          # created in the store
    case = engine.fire(store.load(case.id), "passend_bevonden", actor=coord, store=store)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import (
    CaseExists,
    CaseNotFound,
    CaseRef,
    Cipher,
    ConcurrentUpdate,
    Store,
    StoreError,
    StoreUnavailable,
)
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .postgres import PostgresStore as PostgresStore

# PostgresStore is not in __all__: a star import must work without psycopg installed.
__all__ = ["CaseExists", "CaseNotFound", "CaseRef", "Cipher", "ConcurrentUpdate",
           "SQLiteStore", "Store", "StoreError", "StoreUnavailable"]


def __getattr__(name: str) -> object:
    if name == "PostgresStore":  # imports psycopg only when asked for
        from .postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module 'zorgflow.store' has no attribute {name!r}")
