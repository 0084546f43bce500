"""Persistence: `SQLiteStore` (embedded, the default) and `PostgresStore` (several app servers).

Both keep cases as data other tools can query: a row per case, per case role, per history
entry, and personal data in a table of its own. Every save names the version it was based
on; a stale save raises `ConcurrentUpdate` and writes nothing::

    store = SQLiteStore("cases.db", engine)
    case = engine.start("lzn", actor=scp, store=store)          # created in the store
    case = engine.fire(store.load(case.id), "passend_bevonden", actor=coord, store=store)

`load` reads the case row, not the history (read when first needed), so it costs the same at
any length of history; `history(id, after=, limit=)` and `find(..., limit=, after=)` page.
`remember`/`recall`/`forget_keys` keep idempotency keys (a request digest and the resulting
version per case and key), inside the caller's `transaction` when there is one. `destroy`
removes a case (or only its personal data) when its retention ends and logs what it removed
(`destructions`); `pages(store)` lists every case a page at a time. `mark_synced` and
`sync_state` keep what a sync to another system (the ZGW zaak sync) sent of each case, so that
a sync run again sends only what is new.
"""

from __future__ import annotations

from .base import (
    CaseExists,
    CaseNotFound,
    CaseRef,
    Cipher,
    ConcurrentUpdate,
    Destruction,
    RecordedSignal,
    Store,
    StoreError,
    StoreUnavailable,
    SyncMark,
    UnstorableValue,
    pages,
)
from .opening import open_store
from .postgres import PostgresStore
from .sqlite import SQLiteStore

__all__ = ["CaseExists", "CaseNotFound", "CaseRef", "Cipher", "ConcurrentUpdate",
           "Destruction", "PostgresStore", "RecordedSignal", "SQLiteStore", "Store", "StoreError",
           "StoreUnavailable", "SyncMark", "UnstorableValue", "open_store", "pages"]

