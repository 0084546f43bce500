"""Persistence: `SQLiteStore` (embedded, the default) and `PostgresStore` (several app servers).

Both keep cases as data other tools can query: a row per case, per case role, per history
entry, and personal data in a table of its own. Every save names the version it was based
on; a stale save raises `ConcurrentUpdate` and writes nothing::

    store = SQLiteStore("cases.db", engine)
    case = engine.start("lzn", actor=scp, store=store)          # created in the store
    case = engine.fire(store.load(case.id), "passend_bevonden", actor=coord, store=store)
"""

from __future__ import annotations

from .base import (
    CaseExists,
    CaseNotFound,
    CaseRef,
    Cipher,
    ConcurrentUpdate,
    Store,
    StoreError,
    StoreUnavailable,
    UnstorableValue,
)
from .postgres import PostgresStore
from .sqlite import SQLiteStore

__all__ = ["CaseExists", "CaseNotFound", "CaseRef", "Cipher", "ConcurrentUpdate",
           "PostgresStore", "SQLiteStore", "Store", "StoreError", "StoreUnavailable",
           "UnstorableValue"]

