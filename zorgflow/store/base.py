"""What every store offers (`Store`), what it reports (`CaseRef`) and how it fails (the
store errors of `zorgflow.errors`, re-exported here)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from ..engine import Case, CaseWriter, HistoryEntry
from ..errors import (
    CaseExists,
    CaseNotFound,
    ConcurrentUpdate,
    StoreError,
    StoreUnavailable,
    UnstorableValue,
)


@dataclass(frozen=True, slots=True)
class CaseRef:
    """A stored case as `find` and `due` list it, without its facts and history."""

    id: str
    workflow_id: str
    workflow_version: int
    state: str
    version: int
    next_due_at: datetime | None


class Cipher(Protocol):
    """Encrypts personal data at rest; ``cryptography.fernet.Fernet(key)`` fits as it is."""

    def encrypt(self, data: bytes) -> bytes:
        """A token for ``data``."""
        ...

    def decrypt(self, token: bytes) -> bytes:
        """The data of ``token``; raises when the token was made with another key."""
        ...


@runtime_checkable
class Store(CaseWriter, Protocol):
    """Cases and their history, kept safe across restarts and app servers.

    Every save names the version it was based on (``expected_version``, the ``case.version``
    that was loaded); a save based on an older version raises `ConcurrentUpdate` and writes
    nothing. ``transaction()`` groups several calls into one atomic step and, where the back
    end can, locks what it loads so that no other transaction changes it meanwhile.

    Every back end refuses the same things, the same way, before it touches the database:

    - a value it cannot keep — a NaN or infinite float, text with a NUL character or a lone
      surrogate, an id that is not text — raises `UnstorableValue` (a `StoreError` and a
      `ValueError`) naming the fact or field, never the value;
    - an argument of the wrong kind (``load(123)``, ``find(state=["a"])``, ``due(now,
      limit="10")``) raises `TypeError`; a negative ``limit`` or ``expected_version`` raises
      `ValueError`.

    A database error never escapes as the driver's own: it is a `StoreError`
    (`StoreUnavailable` when the step may be tried again) whose message shows no data.
    """

    def create(self, case: Case) -> None:
        """Store a new case (raises `CaseExists` if its id is taken)."""

    def load(self, case_id: str) -> Case:
        """The stored case (raises `CaseNotFound`; `TypeError` if ``case_id`` is not a str)."""

    def save(self, case: Case, expected_version: int) -> None:
        """Write ``case``, which was made from version ``expected_version`` of it."""

    def history(self, case_id: str) -> list[HistoryEntry]:
        """The case's history, oldest first (raises `CaseNotFound`)."""

    def find(self, *, workflow_id: str | None = None, state: str | None = None,
             role_holder: str | None = None) -> list[CaseRef]:
        """Cases that match every criterion given (``role_holder``: holds a case role); each
        is a str or None (not a criterion)."""

    def due(self, before: datetime, *, limit: int | None = None) -> list[CaseRef]:
        """Cases with a timer signal due at or before ``before`` (an aware datetime, else a
        `StoreError`) that is not recorded yet, soonest first; at most ``limit`` of them (an
        int of 0 or more; None: no limit)."""

    def transaction(self) -> AbstractContextManager[Store]:
        """A context in which every call is one atomic step; it commits on success."""

    def close(self) -> None:
        """Release the store's connections."""


__all__ = ["CaseExists", "CaseNotFound", "CaseRef", "Cipher", "ConcurrentUpdate", "Store",
           "StoreError", "StoreUnavailable", "UnstorableValue"]
