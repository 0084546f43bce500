"""What every store offers (`Store`), what it reports (`CaseRef`) and how it fails (the
store errors of `zorgflow.errors`, re-exported here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

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


@dataclass(frozen=True, slots=True)
class RecordedSignal:
    """A timer signal recorded in a case's history (once): what `Store.undelivered` hands a
    timer worker, and what `zorgflow.service.CaseService.record_due` reports."""

    case_id: str
    workflow_id: str
    signal: str
    due_at: datetime
    recorded_at: datetime
    #: the history entry's position (``seq``) in the case
    seq: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 text."""
        return {"case_id": self.case_id, "workflow_id": self.workflow_id,
                "signal": self.signal, "due_at": self.due_at.isoformat(),
                "recorded_at": self.recorded_at.isoformat(), "seq": self.seq}


@dataclass(frozen=True, slots=True)
class Destruction:
    """One row of a store's destruction log: what `Store.destroy` removed, and why it was
    due. No personal data: the case id, its workflow, its result and dates."""

    case_id: str
    workflow_id: str
    workflow_version: int
    #: the case's result (a ZGW ResultaatType's omschrijving), or its final state
    result: str
    #: when the case was closed (the start of the archiving term: the brondatum)
    closed_at: datetime
    #: the day from which the case was to be destroyed
    archiefactiedatum: date
    #: ``case``: the case, its history and its personal data; ``personal_data``: only that
    scope: Literal["case", "personal_data"]
    destroyed_at: datetime
    #: who had it destroyed (an actor id)
    actor: str
    #: the log's own number, in the order of destruction (0 before it is logged)
    seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates and times as ISO 8601 text."""
        return {"seq": self.seq, "case_id": self.case_id, "workflow_id": self.workflow_id,
                "workflow_version": self.workflow_version, "result": self.result,
                "closed_at": self.closed_at.isoformat(),
                "archiefactiedatum": self.archiefactiedatum.isoformat(), "scope": self.scope,
                "destroyed_at": self.destroyed_at.isoformat(), "actor": self.actor}


@dataclass(frozen=True, slots=True)
class SyncMark:
    """What a sync to another system (a ``target``, such as a ZGW Zaken API) sent for one
    item of a case, as `Store.sync_state` gives it back: kept so that a sync run again sends
    only what is new. No personal data."""

    #: what was sent, named by the sync (``zaak``, ``status:7``, ``rol:casusregisseur:…``)
    item: str
    #: where the target keeps it (the URL of the resource it made)
    reference: str
    #: what was sent, as the sync compares it (a value, a digest; "" when nothing to compare)
    digest: str
    synced_at: datetime


def pages(store: Store, *, workflow_id: str | None = None, size: int = 500
          ) -> Iterator[list[CaseRef]]:
    """Every stored case (of ``workflow_id``, if given) as `Store.find` lists them, by id, a
    page of at most ``size`` at a time: for work over a whole store (a migration, retention,
    a sync) without holding every reference at once. Cases stored meanwhile behind the last
    page read are listed too."""
    after: str | None = None
    while True:
        refs = store.find(workflow_id=workflow_id, limit=size, after=after)
        if not refs:
            return
        yield refs
        if len(refs) < size:
            return
        after = refs[-1].id


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
        """The stored case (raises `CaseNotFound`; `TypeError` if ``case_id`` is not a str).

        The history is not read: ``case.version`` and the timer signals already recorded
        come with the case's row, so loading costs the same however long the history is. The
        history is read from the store the first time it is needed (``case.history``,
        ``case.to_dict()``): in the thread's open `transaction`, else in a short read of its
        own, and only the entries of the version loaded."""

    def save(self, case: Case, expected_version: int) -> None:
        """Write ``case``, which was made from version ``expected_version`` of it: only the
        history entries after that version, and the case's new state, facts, roles and
        timers."""

    def history(self, case_id: str, *, after: int = 0,
                limit: int | None = None) -> list[HistoryEntry]:
        """The case's history entries with ``seq`` above ``after``, oldest first, at most
        ``limit`` of them (raises `CaseNotFound`). ``after`` is an int of 0 or more (0: from
        the first entry; the next page starts after the last ``seq`` of this one), ``limit``
        an int of 0 or more or None (no limit)."""

    def find(self, *, workflow_id: str | None = None, state: str | None = None,
             role_holder: str | None = None, limit: int | None = None,
             after: str | None = None) -> list[CaseRef]:
        """Cases that match every criterion given (``role_holder``: holds a case role), by id
        (by code point, on every back end); each criterion is a str or None (not a
        criterion). At most ``limit`` (an int of 0 or more; None: no limit) cases, whose id
        sorts after ``after`` (the last id of the previous page; None: from the first)."""

    def due(self, before: datetime, *, limit: int | None = None) -> list[CaseRef]:
        """Cases with a timer signal due at or before ``before`` (an aware datetime, else a
        `StoreError`) that is not recorded yet, soonest first; at most ``limit`` of them (an
        int of 0 or more; None: no limit)."""

    def remember(self, case_id: str, key: str, request: str, version: int,
                 at: datetime) -> None:
        """Keep idempotency key ``key`` of case ``case_id`` with the digest of its request
        (``request``) and the case version it led to (``version``), remembered at ``at`` (an
        aware datetime); never the case. Inside `transaction` it commits or is undone with the
        save it belongs to. The same key again with the same request and version does
        nothing; with another request or version it is a `StoreError`, writing nothing."""

    def recall(self, case_id: str, key: str) -> tuple[str, int] | None:
        """The (request digest, case version) remembered for ``key`` of case ``case_id``, or
        None when the key is not (or no longer) remembered."""

    def forget_keys(self, before: datetime) -> int:
        """Forget the idempotency keys remembered before ``before`` (an aware datetime); the
        number forgotten."""

    def undelivered(self, *, limit: int = 100) -> list[RecordedSignal]:
        """Signal entries no timer worker has handed to its callback yet (see
        `mark_delivered`), oldest first, at most ``limit``. Inside `transaction`, PostgreSQL
        locks them (``FOR UPDATE SKIP LOCKED``), so workers do not hand out the same one."""

    def mark_delivered(self, case_id: str, seq: int, at: datetime) -> None:
        """Note that the signal entry ``seq`` of case ``case_id`` was handed to a callback
        (at ``at``, an aware datetime); `undelivered` no longer lists it."""

    def destroy(self, record: Destruction) -> None:
        """Retention: in one atomic step, remove what ``record.scope`` says of case
        ``record.case_id`` — the case with its history, roles, personal data, idempotency
        keys and sync marks (``case``), or only its personal data, current and in its history
        (``personal_data``) — and add ``record`` to the destruction log. `CaseNotFound`
        (writing nothing) when there is no such case."""

    def destructions(self, *, after: int = 0, limit: int | None = None) -> list[Destruction]:
        """The destruction log, oldest first: the rows with ``seq`` above ``after``, at most
        ``limit`` of them."""

    def sync_state(self, case_id: str, target: str) -> dict[str, SyncMark]:
        """What was synced of case ``case_id`` to ``target`` (see `mark_synced`), by item;
        empty when nothing was (or the case is not stored)."""

    def mark_synced(self, case_id: str, target: str, item: str, reference: str, *,
                    digest: str = "", at: datetime) -> None:
        """Note that ``item`` of case ``case_id`` was sent to ``target``, which keeps it at
        ``reference``, as ``digest`` says, at ``at`` (an aware datetime); marking the item
        again replaces the mark. `destroy` (scope ``case``) removes the case's marks."""

    def transaction(self) -> AbstractContextManager[Store]:
        """A context in which every call is one atomic step; it commits on success."""

    def close(self) -> None:
        """Release the store's connections."""


__all__ = ["CaseExists", "CaseNotFound", "CaseRef", "Cipher", "ConcurrentUpdate",
           "Destruction", "RecordedSignal", "Store", "StoreError", "StoreUnavailable",
           "SyncMark", "UnstorableValue", "pages"]
