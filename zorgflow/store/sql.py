"""`SQLStore`: the `Store` protocol once, over any SQL database; `SQLiteStore` and
`PostgresStore` supply their connections, transactions, schema and dialect."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..engine import Case, HistoryEntry
from .base import CaseExists, CaseNotFound, CaseRef, ConcurrentUpdate, StoreError
from .rows import (
    CURRENT_FACTS,
    CaseCodec,
    CaseRow,
    HistoryRow,
    PersonalRow,
    find_filter,
    text_argument,
)

#: The largest LIMIT both databases take (a signed 64-bit integer); more is no limit.
_MAX_LIMIT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Statements:
    """One dialect's SQL for the store's steps. Parameters come in the order the comments
    give; ``mark`` is the placeholder and ``tables`` what goes before a table name."""

    mark: str
    tables: str
    #: id, workflow_id, workflow_version, state, version, facts, timers, next_due_at, progress
    insert_case: str
    #: workflow_version, state, version, facts, timers, next_due_at, progress, id,
    #: expected version
    update_case: str
    #: id -> the columns of `CaseRow`
    select_case: str
    #: case_id, role, actor_id (insert or replace the holder)
    upsert_role: str
    #: case_id, then what `SQLStore._history_values` gives
    insert_history: str
    #: case_id, seq, name, value, secret
    insert_personal: str
    #: `due` without its limit: before -> the columns of `CaseRef`
    due: str
    #: the columns of `CaseRef`, for `find`
    ref_columns: str
    #: the columns a history row is read from, in `HistoryRow` order but for the time
    history_columns: str
    #: the personal_data columns seq, name, value (as JSON text), secret
    personal_columns: str


class SQLStore:
    """The `Store` protocol on a SQL database.

    A subclass opens connections, runs steps (`_step`: a transaction of its own, or a
    savepoint inside `transaction`, turning its driver's errors into `StoreError`s) and says
    how its dialect writes times and statements. Arguments and values are checked here and in
    `CaseCodec`, before any SQL runs, so every back end refuses the same things alike.
    """

    _codec: CaseCodec
    _statements: Statements
    #: what the driver raises for a duplicate primary key
    _duplicate: type[Exception]

    # -- what a dialect supplies -----------------------------------------------------------
    def _step(self, write: bool) -> AbstractContextManager[Any]:
        """One atomic step; yields something with ``execute`` and ``executemany`` that
        return a cursor (``rowcount``, ``fetchone``, iteration)."""
        raise NotImplementedError

    def _isolated(self, cursor: Any) -> AbstractContextManager[Any]:
        """Around a statement that may fail on a duplicate key, so the failure leaves the
        surrounding transaction usable (PostgreSQL needs a savepoint; SQLite does not)."""
        return nullcontext()

    def _locking(self) -> bool:
        """Whether `load` and `due` should lock the rows they read (inside `transaction`)."""
        return False

    def _time_value(self, moment: datetime) -> Any:
        """A time as the database stores ``next_due_at``."""
        return moment

    def _time_read(self, value: Any) -> datetime:
        return value  # type: ignore[no-any-return]

    def _history_values(self, h: HistoryRow) -> tuple[Any, ...]:
        """A history row's values after the case id, in ``insert_history`` order."""
        raise NotImplementedError

    def _history_read(self, r: tuple[Any, ...]) -> HistoryRow:
        raise NotImplementedError

    # -- the Store protocol ----------------------------------------------------------------
    def create(self, case: Case) -> None:
        """Store a new case with its whole history; `CaseExists` if the id is taken,
        `UnstorableValue` (writing nothing) if it holds a value no store can keep."""
        write = self._codec.write(case, 0)
        row = write.row
        with self._step(write=True) as cur:
            try:
                with self._isolated(cur):
                    cur.execute(self._statements.insert_case, (
                        row.id, row.workflow_id, row.workflow_version, row.state, row.version,
                        row.facts, row.timers, self._due_value(row.next_due_at),
                        row.progress))
            except self._duplicate:
                raise CaseExists(f"a case with id {case.id} is already stored") from None
            self._write_rest(cur, case, write.history, write.personal)

    def save(self, case: Case, expected_version: int) -> None:
        """Write the case's new history entries and its new state, facts, roles and timers.

        Raises `ConcurrentUpdate` (writing nothing) when the stored version is not
        ``expected_version``, `CaseNotFound` when the case was never created, and
        `UnstorableValue` (writing nothing) when the case holds a value no store can keep.
        ``expected_version`` is an int of 0 or more (else `TypeError`, `ValueError`)."""
        write = self._codec.write(case, expected_version)
        row, sql = write.row, self._statements
        with self._step(write=True) as cur:
            updated = cur.execute(sql.update_case, (
                row.workflow_version, row.state, row.version, row.facts, row.timers,
                self._due_value(row.next_due_at), row.progress, row.id,
                expected_version)).rowcount
            if updated != 1:
                found = cur.execute(f"SELECT version FROM {sql.tables}cases WHERE id = "
                                    f"{sql.mark}", (case.id,)).fetchone()
                if found is None:
                    raise CaseNotFound(f"no case {case.id} is stored: create it first")
                raise ConcurrentUpdate(case.id, expected_version, found[0])
            if write.facts_changed:
                cur.execute(f"DELETE FROM {sql.tables}personal_data WHERE case_id = {sql.mark} "
                            f"AND seq = {sql.mark}", (case.id, CURRENT_FACTS))
            self._write_rest(cur, case, write.history, write.personal)

    def load(self, case_id: str) -> Case:
        """The stored case; `CaseNotFound` if there is none. Inside `transaction`, a store
        that locks rows keeps the case locked against other transactions until it ends.
        `TypeError` if ``case_id`` is not a str."""
        text_argument(case_id, "case_id")
        sql = self._statements
        lock = " FOR UPDATE" if self._locking() else ""
        with self._step(write=False) as cur:
            found = cur.execute(sql.select_case + lock, (case_id,)).fetchone()
            if found is None:
                raise CaseNotFound(f"no case {case_id} is stored")
            roles = dict(cur.execute(f"SELECT role, actor_id FROM {sql.tables}case_roles "
                                     f"WHERE case_id = {sql.mark}", (case_id,)).fetchall())
            history = [self._history_read(r) for r in cur.execute(
                f"SELECT {sql.history_columns} FROM {sql.tables}history "
                f"WHERE case_id = {sql.mark} ORDER BY seq", (case_id,))]
            personal = [PersonalRow(r[0], r[1], r[2], r[3]) for r in cur.execute(
                f"SELECT {sql.personal_columns} FROM {sql.tables}personal_data "
                f"WHERE case_id = {sql.mark}", (case_id,))]
        row = CaseRow(found[0], found[1], found[2], found[3], found[4], found[5], found[6],
                      self._due_read(found[7]), found[8])
        return self._codec.build(row, roles, history, personal)

    def history(self, case_id: str) -> list[HistoryEntry]:
        """The case's history, oldest first, with its personal data."""
        return list(self.load(case_id).history)

    def find(self, *, workflow_id: str | None = None, state: str | None = None,
             role_holder: str | None = None) -> list[CaseRef]:
        """Cases matching every criterion given, by id. Each criterion is a str or None (not a
        criterion); anything else is a `TypeError`."""
        for name, value in (("workflow_id", workflow_id), ("state", state),
                            ("role_holder", role_holder)):
            text_argument(value, name, optional=True)
        sql = self._statements
        where, params = find_filter(workflow_id, state, role_holder, mark=sql.mark,
                                    roles_table=f"{sql.tables}case_roles")
        with self._step(write=False) as cur:
            return [self._ref(r) for r in cur.execute(
                f"SELECT {sql.ref_columns} FROM {sql.tables}cases{where} ORDER BY id", params)]

    def due(self, before: datetime, *, limit: int | None = None) -> list[CaseRef]:
        """Cases whose next unrecorded timer signal is due at or before ``before``, soonest
        first: an index range scan, however many cases are stored. Inside `transaction`, no
        other worker sweeping timers gets the same cases until it ends.

        ``before`` must be an aware datetime (else `StoreError`). ``limit`` is the most cases
        to return: an int of 0 or more (a bool or another type is a `TypeError`, a negative
        number a `ValueError`); None, the default, means no limit."""
        if (not isinstance(before, datetime) or before.tzinfo is None
                or before.utcoffset() is None):
            raise StoreError("due() needs an aware datetime (with a time zone), e.g. "
                             "datetime.now(ZoneInfo('Europe/Amsterdam'))")
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise TypeError(f"limit must be an int or None (no limit), not "
                                f"{type(limit).__name__}")
            if limit < 0:
                raise ValueError("limit must be 0 or more, or None for no limit")
        sql = self._statements
        query = sql.due
        try:
            bound = self._time_value(before)
        except OverflowError:  # in UTC before the year 1 or after 9999: clamp to that end
            edge = datetime.min if before.year == 1 else datetime.max
            bound = self._time_value(edge.replace(tzinfo=UTC))
        params: list[Any] = [bound]
        if limit is not None:
            query += f" LIMIT {sql.mark}"
            params.append(min(limit, _MAX_LIMIT))
        if self._locking():
            query += " FOR UPDATE SKIP LOCKED"
        with self._step(write=False) as cur:
            return [self._ref(r) for r in cur.execute(query, params)]

    # -- shared steps ----------------------------------------------------------------------
    def _write_rest(self, cur: Any, case: Case, history: list[HistoryRow],
                    personal: list[PersonalRow]) -> None:
        sql = self._statements
        try:
            with self._isolated(cur):
                cur.executemany(sql.insert_history, [(case.id, *self._history_values(h))
                                                     for h in history])
        except self._duplicate:
            raise StoreError(f"case {case.id}: history entries {history[0].seq}.. are stored "
                             "already; was the case saved with a wrong expected_version?"
                             ) from None
        if case.case_roles:  # the engine assigns case roles, it never takes them away
            cur.executemany(sql.upsert_role, [(case.id, role, actor)
                                              for role, actor in case.case_roles.items()])
        if personal:
            cur.executemany(sql.insert_personal, [(case.id, p.seq, p.name, p.value, p.secret)
                                                  for p in personal])

    def _ref(self, r: tuple[Any, ...]) -> CaseRef:
        return CaseRef(r[0], r[1], r[2], r[3], r[4], self._due_read(r[5]))

    def _due_value(self, moment: datetime | None) -> Any:
        return None if moment is None else self._time_value(moment)

    def _due_read(self, value: Any) -> datetime | None:
        return None if value is None else self._time_read(value)

