"""`SQLStore`: the `Store` protocol once, over any SQL database; `SQLiteStore` and
`PostgresStore` supply their connections, transactions, schema and dialect."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ..engine import Case, HistoryEntry
from .base import (
    CaseExists,
    CaseNotFound,
    CaseRef,
    ConcurrentUpdate,
    Destruction,
    RecordedSignal,
    StoreError,
    SyncMark,
)
from .rows import (
    CURRENT_FACTS,
    CaseCodec,
    CaseRow,
    HistoryRow,
    PersonalRow,
    count_argument,
    entry_dict,
    find_filter,
    key_argument,
    limit_argument,
    moment_argument,
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
    #: id, workflow_id, workflow_version, state, version, facts, timers, next_due_at, progress,
    #: signals
    insert_case: str
    #: workflow_version, state, version, facts, timers, next_due_at, progress, signals (None:
    #: keep the stored ones), id, expected version
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
    #: the case id as `find` orders and pages cases (the same on every back end: by code point)
    id_order: str
    #: case_id, key, request, version, remembered_at; does nothing when the key is there
    insert_key: str


class SQLStore:
    """The `Store` protocol on a SQL database.

    A subclass opens connections, runs steps (`_step`: a transaction of its own, or a
    savepoint inside `transaction`, turning its driver's errors into `StoreError`s) and says
    how its dialect writes times and statements. Arguments and values are checked here and in
    `CaseCodec`, before any SQL runs, so every back end refuses the same things alike.
    """

    #: whether a transaction locks only the rows it reads (PostgreSQL), rather than the whole
    #: database (SQLite): a timer worker then holds its transaction while callbacks run
    locks_rows = False
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
                        row.progress, row.signals))
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
                self._due_value(row.next_due_at), row.progress, row.signals, row.id,
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
        `TypeError` if ``case_id`` is not a str.

        Reads the case's row, roles and current personal facts, not its history: what the
        engine needs of the history (how many entries, which timer signals are recorded) is
        in the case row, so a load costs the same at 10 entries as at 10,000. The history is
        read the first time something needs it (``case.history``, ``case.to_dict()``, a save
        based on an older version): in this thread's open `transaction` if there is one, else
        in a short read of its own. It reads the entries of the version loaded, never newer
        ones, and raises a `StoreError` if they are no longer stored (the case was destroyed
        meanwhile); after `close` it opens a connection again to read them."""
        text_argument(case_id, "case_id")
        sql = self._statements
        lock = " FOR UPDATE" if self._locking() else ""
        with self._step(write=False) as cur:
            found = cur.execute(sql.select_case + lock, (case_id,)).fetchone()
            if found is None:
                raise CaseNotFound(f"no case {case_id} is stored")
            roles = dict(cur.execute(f"SELECT role, actor_id FROM {sql.tables}case_roles "
                                     f"WHERE case_id = {sql.mark}", (case_id,)).fetchall())
            current = [PersonalRow(r[0], r[1], r[2], r[3]) for r in cur.execute(
                f"SELECT {sql.personal_columns} FROM {sql.tables}personal_data "
                f"WHERE case_id = {sql.mark} AND seq = {sql.mark}", (case_id, CURRENT_FACTS))]
        row = CaseRow(found[0], found[1], found[2], found[3], found[4], found[5], found[6],
                      self._due_read(found[7]), found[8], found[9])
        version = row.version
        return self._codec.build(row, roles, current,
                                 lambda: self._entries_of(case_id, version))

    def history(self, case_id: str, *, after: int = 0,
                limit: int | None = None) -> list[HistoryEntry]:
        """The case's history entries with a sequence number above ``after``, oldest first,
        at most ``limit`` of them, with their personal data; `CaseNotFound` if there is no
        such case. The next page starts after the last ``seq`` of this one.

        ``case_id`` is a str; ``after`` an int of 0 or more (0, the default: from the first
        entry); ``limit`` an int of 0 or more, or None (the default: no limit). A value of
        the wrong kind is a `TypeError`, a negative number a `ValueError`."""
        text_argument(case_id, "case_id")
        count_argument(after, "after", 0, "the seq of the last entry already read, or 0")
        limit = limit_argument(limit)
        sql = self._statements
        with self._step(write=False) as cur:
            found = cur.execute(f"SELECT version FROM {sql.tables}cases WHERE id = "
                                f"{sql.mark}", (case_id,)).fetchone()
            if found is None:
                raise CaseNotFound(f"no case {case_id} is stored")
            if after >= found[0] or limit == 0:
                return []
            rows, personal = self._history_rows(cur, case_id, after, None, limit)
        return [HistoryEntry.from_dict(e) for e in self._codec.entries(case_id, rows, personal)]

    def find(self, *, workflow_id: str | None = None, state: str | None = None,
             role_holder: str | None = None, limit: int | None = None,
             after: str | None = None) -> list[CaseRef]:
        """Cases matching every criterion given, ordered by id (by code point, on every back
        end). Each criterion is a str or None (not a criterion); anything else is a
        `TypeError`.

        Pages: at most ``limit`` cases (an int of 0 or more, else `TypeError`/`ValueError`;
        None: no limit), only those whose id sorts after ``after`` (a str: the last id of
        the previous page; None: from the first)."""
        for name, value in (("workflow_id", workflow_id), ("state", state),
                            ("role_holder", role_holder), ("after", after)):
            text_argument(value, name, optional=True)
        limit = limit_argument(limit)
        sql = self._statements
        where, params = find_filter(workflow_id, state, role_holder, mark=sql.mark,
                                    roles_table=f"{sql.tables}case_roles", after=after,
                                    id_column=sql.id_order)
        query = f"SELECT {sql.ref_columns} FROM {sql.tables}cases{where} ORDER BY {sql.id_order}"
        all_params: list[Any] = list(params)
        if limit is not None:
            query += f" LIMIT {sql.mark}"
            all_params.append(min(limit, _MAX_LIMIT))
        with self._step(write=False) as cur:
            return [self._ref(r) for r in cur.execute(query, all_params)]

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
        limit = limit_argument(limit)
        sql = self._statements
        query = sql.due
        params: list[Any] = [self._bound(before)]
        if limit is not None:
            query += f" LIMIT {sql.mark}"
            params.append(min(limit, _MAX_LIMIT))
        if self._locking():
            query += " FOR UPDATE SKIP LOCKED"
        with self._step(write=False) as cur:
            return [self._ref(r) for r in cur.execute(query, params)]

    # -- idempotency keys ------------------------------------------------------------------
    def remember(self, case_id: str, key: str, request: str, version: int,
                 at: datetime) -> None:
        """Keep idempotency key ``key`` of case ``case_id``: the digest of the request it came
        with (``request``) and the case version that request led to (``version``), as
        remembered at ``at`` (for `forget_keys`). Never the case itself. The case need not be
        stored (yet).

        Inside `transaction` it is part of the transaction: it commits, or is undone, with
        the save it belongs to. Remembering the same key with the same request and version
        again does nothing; with another request or version it raises a `StoreError` and
        writes nothing (a concurrent request with the same key got there first: `recall` it).

        ``case_id`` and ``key`` are text of at most 500 characters, ``request`` text (else
        `TypeError`; text no store keeps, or a longer id, is `UnstorableValue`), ``version``
        an int of 1 or more (`TypeError`, `ValueError`) and ``at`` an aware datetime
        (`TypeError`; naive: `ValueError`)."""
        key_argument(case_id, "case_id")
        key_argument(key, "key")
        text_argument(request, "request")
        count_argument(version, "version", 1, "the case version the request led to")
        moment_argument(at, "at")
        try:
            moment = self._time_value(at)
        except OverflowError:
            raise ValueError("at falls before the year 1 or after 9999 in UTC") from None
        sql = self._statements
        with self._step(write=True) as cur:
            added = cur.execute(sql.insert_key, (case_id, key, request, version,
                                                 moment)).rowcount
            if added == 1:
                return
            found = cur.execute(
                f"SELECT request, version FROM {sql.tables}idempotency_keys WHERE case_id = "
                f"{sql.mark} AND idempotency_key = {sql.mark}", (case_id, key)).fetchone()
            if found is None or (found[0], found[1]) != (request, version):
                raise StoreError(f"case {case_id}: this idempotency key is remembered already, "
                                 "for another request or version (a request with the same key "
                                 "came in at the same time); nothing was written")

    def recall(self, case_id: str, key: str) -> tuple[str, int] | None:
        """The request digest and the case version remembered for idempotency key ``key`` of
        case ``case_id`` (see `remember`), or None. Both are str (else `TypeError`)."""
        text_argument(case_id, "case_id")
        text_argument(key, "key")
        sql = self._statements
        with self._step(write=False) as cur:
            found = cur.execute(
                f"SELECT request, version FROM {sql.tables}idempotency_keys WHERE case_id = "
                f"{sql.mark} AND idempotency_key = {sql.mark}", (case_id, key)).fetchone()
        return None if found is None else (found[0], found[1])

    def forget_keys(self, before: datetime) -> int:
        """Retention: forget every idempotency key remembered before ``before`` (an aware
        datetime: else `TypeError`, naive `ValueError`); how many were forgotten. A request
        repeated with a forgotten key is done again."""
        moment_argument(before, "before")
        sql = self._statements
        with self._step(write=True) as cur:
            gone = cur.execute(f"DELETE FROM {sql.tables}idempotency_keys WHERE remembered_at "
                               f"< {sql.mark}", (self._bound(before),)).rowcount
        return int(gone)

    # -- retention -------------------------------------------------------------------------
    def destroy(self, record: Destruction) -> None:
        """Remove what ``record.scope`` says of case ``record.case_id`` and log ``record``, in
        one step: ``case`` deletes the case row, its roles, history, personal data,
        idempotency keys and sync marks; ``personal_data`` deletes its personal data only (the
        current facts' and the history's), so the case stays, without them. `CaseNotFound` (writing
        nothing) when there is no such case; a `TypeError`/`ValueError` for a record that is
        not a `Destruction` or holds something of the wrong kind."""
        values = _destruction_values(record)
        sql = self._statements
        with self._step(write=True) as cur:
            if record.scope == "case":
                gone = cur.execute(f"DELETE FROM {sql.tables}cases WHERE id = {sql.mark}",
                                   (record.case_id,)).rowcount
                if gone != 1:
                    raise CaseNotFound(f"no case {record.case_id} is stored")
                for table in ("history", "case_roles", "personal_data", "idempotency_keys",
                              "sync_marks"):
                    cur.execute(f"DELETE FROM {sql.tables}{table} WHERE case_id = {sql.mark}",
                                (record.case_id,))
            else:
                found = cur.execute(f"SELECT 1 FROM {sql.tables}cases WHERE id = {sql.mark}",
                                    (record.case_id,)).fetchone()
                if found is None:
                    raise CaseNotFound(f"no case {record.case_id} is stored")
                cur.execute(f"DELETE FROM {sql.tables}personal_data WHERE case_id = "
                            f"{sql.mark}", (record.case_id,))
            marks = ", ".join([sql.mark] * len(values))
            cur.execute(f"INSERT INTO {sql.tables}destructions (case_id, workflow_id, "
                        "workflow_version, result, closed_at, archiefactiedatum, scope, "
                        f"destroyed_at, actor) VALUES ({marks})",
                        (*values[:4], self._time_value(record.closed_at), values[5],
                         values[6], self._time_value(record.destroyed_at), values[8]))

    def destructions(self, *, after: int = 0, limit: int | None = None) -> list[Destruction]:
        """The destruction log, oldest first: rows with ``seq`` above ``after`` (an int of 0
        or more), at most ``limit`` (an int of 0 or more, or None: no limit)."""
        count_argument(after, "after", 0, "the seq of the last row already read, or 0")
        limit = limit_argument(limit)
        sql = self._statements
        query = (f"SELECT seq, case_id, workflow_id, workflow_version, result, closed_at, "
                 f"archiefactiedatum, scope, destroyed_at, actor FROM {sql.tables}destructions "
                 f"WHERE seq > {sql.mark} ORDER BY seq")
        params: list[Any] = [after]
        if limit is not None:
            query += f" LIMIT {sql.mark}"
            params.append(min(limit, _MAX_LIMIT))
        with self._step(write=False) as cur:
            rows = cur.execute(query, params).fetchall()
        return [Destruction(r[1], r[2], r[3], r[4], self._time_read(r[5]),
                            date.fromisoformat(r[6]), r[7], self._time_read(r[8]), r[9],
                            seq=r[0]) for r in rows]

    # -- what a sync to another system sent --------------------------------------------------
    def sync_state(self, case_id: str, target: str) -> dict[str, SyncMark]:
        """What was synced of case ``case_id`` to ``target`` (`mark_synced`), by item; empty
        when nothing was. Both are str (else `TypeError`)."""
        text_argument(case_id, "case_id")
        text_argument(target, "target")
        sql = self._statements
        with self._step(write=False) as cur:
            rows = cur.execute(
                f"SELECT item, reference, digest, synced_at FROM {sql.tables}sync_marks "
                f"WHERE case_id = {sql.mark} AND target = {sql.mark}",
                (case_id, target)).fetchall()
        return {r[0]: SyncMark(r[0], r[1], r[2], self._time_read(r[3])) for r in rows}

    def mark_synced(self, case_id: str, target: str, item: str, reference: str, *,
                    digest: str = "", at: datetime) -> None:
        """Note that ``item`` of case ``case_id`` was sent to ``target`` (a name for the other
        system, such as its base URL), which keeps it at ``reference``; ``digest`` is what was
        sent, as the sync compares it. Marking an item again replaces its mark. Inside
        `transaction` it commits, or is undone, with it.

        ``case_id``, ``target`` and ``item`` are text of at most 500 characters, ``reference``
        and ``digest`` text (else `TypeError`; text no store keeps is `UnstorableValue`), ``at``
        an aware datetime (`TypeError`; naive: `ValueError`). Never give personal data: the
        marks are kept as they are, unencrypted."""
        key_argument(case_id, "case_id")
        key_argument(target, "target")
        key_argument(item, "item")
        text_argument(reference, "reference")
        text_argument(digest, "digest")
        moment_argument(at, "at")
        sql = self._statements
        with self._step(write=True) as cur:
            cur.execute(
                f"INSERT INTO {sql.tables}sync_marks (case_id, target, item, reference, digest, "
                f"synced_at) VALUES ({sql.mark}, {sql.mark}, {sql.mark}, {sql.mark}, "
                f"{sql.mark}, {sql.mark}) ON CONFLICT (case_id, target, item) DO UPDATE SET "
                "reference = excluded.reference, digest = excluded.digest, "
                "synced_at = excluded.synced_at",
                (case_id, target, item, reference, digest, self._bound(at)))

    # -- delivery of recorded signals to a timer worker's callback ---------------------------
    def undelivered(self, *, limit: int = 100) -> list[RecordedSignal]:
        """Signal entries not handed to a timer worker's callback yet (`mark_delivered`),
        oldest first, at most ``limit`` (an int of 1 or more). Inside `transaction`,
        PostgreSQL locks them until it ends and skips those another worker holds."""
        if limit_argument(limit) == 0:
            raise ValueError("limit must be 1 or more")
        sql = self._statements
        # the entries themselves in the same query (a signal's data holds no personal values)
        columns = ", ".join(f"h.{column.strip()}" for column in sql.history_columns.split(","))
        query = (f"SELECT h.case_id, c.workflow_id, {columns} FROM {sql.tables}history h "
                 f"JOIN {sql.tables}cases c ON c.id = h.case_id "
                 "WHERE h.kind = 'signal' AND h.delivered_at IS NULL "
                 f"ORDER BY h.at, h.case_id, h.seq LIMIT {sql.mark}")
        if self._locking():
            query += " FOR UPDATE OF h SKIP LOCKED"
        with self._step(write=False) as cur:
            found = cur.execute(query, (min(limit, _MAX_LIMIT),)).fetchall()
        result = []
        for case_id, workflow_id, *columns_read in found:
            entry = HistoryEntry.from_dict(entry_dict(self._history_read(tuple(columns_read)),
                                                      None))
            result.append(RecordedSignal(case_id, workflow_id, entry.event,
                                         datetime.fromisoformat(entry.data["due_at"]),
                                         entry.at, entry.seq))
        return result

    def mark_delivered(self, case_id: str, seq: int, at: datetime) -> None:
        """Note that signal entry ``seq`` of case ``case_id`` was handed to a callback at
        ``at`` (an aware datetime); `undelivered` lists it no more. Marking it again, or an
        entry that is not a signal, changes nothing."""
        text_argument(case_id, "case_id")
        count_argument(seq, "seq", 1, "the history entry's seq")
        moment_argument(at, "at")
        sql = self._statements
        with self._step(write=True) as cur:
            cur.execute(f"UPDATE {sql.tables}history SET delivered_at = {sql.mark} "
                        f"WHERE case_id = {sql.mark} AND seq = {sql.mark} AND kind = 'signal' "
                        "AND delivered_at IS NULL", (self._bound(at), case_id, seq))

    # -- shared steps ----------------------------------------------------------------------
    def _entries_of(self, case_id: str, version: int) -> list[dict[str, Any]]:
        """The ``version`` first history entries of the case, in `HistoryEntry.to_dict` form:
        what a loaded case reads when its history is first needed."""
        with self._step(write=False) as cur:
            rows, personal = self._history_rows(cur, case_id, 0, version, None)
        if len(rows) != version:
            raise StoreError(f"case {case_id}: the store no longer holds the {version} history "
                             f"entries of the version loaded (it holds {len(rows)} of them); "
                             "was the case destroyed meanwhile?")
        return self._codec.entries(case_id, rows, personal)

    def _history_rows(self, cur: Any, case_id: str, after: int, upto: int | None,
                      limit: int | None) -> tuple[list[HistoryRow], list[PersonalRow]]:
        """The history rows of the case with ``after`` < seq (<= ``upto``), at most ``limit``,
        and the personal values of those entries."""
        sql = self._statements
        query = (f"SELECT {sql.history_columns} FROM {sql.tables}history "
                 f"WHERE case_id = {sql.mark} AND seq > {sql.mark}")
        params: list[Any] = [case_id, after]
        if upto is not None:
            query += f" AND seq <= {sql.mark}"
            params.append(upto)
        query += " ORDER BY seq"
        if limit is not None:
            query += f" LIMIT {sql.mark}"
            params.append(min(limit, _MAX_LIMIT))
        rows = [self._history_read(r) for r in cur.execute(query, params)]
        if not rows:
            return rows, []
        personal = [PersonalRow(r[0], r[1], r[2], r[3]) for r in cur.execute(
            f"SELECT {sql.personal_columns} FROM {sql.tables}personal_data "
            f"WHERE case_id = {sql.mark} AND seq > {sql.mark} AND seq <= {sql.mark}",
            (case_id, after, rows[-1].seq))]
        return rows, personal

    def _bound(self, moment: datetime) -> Any:
        """``moment`` as the database compares times, clamped to the year 1 or 9999 when it
        falls outside the calendar in UTC."""
        try:
            return self._time_value(moment)
        except OverflowError:  # in UTC before the year 1 or after 9999: clamp to that end
            edge = datetime.min if moment.year == 1 else datetime.max
            return self._time_value(edge.replace(tzinfo=UTC))

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
        if any(h.kind == "migrate" for h in history):
            # a migration may rename or drop case roles: the case's roles replace the stored
            cur.execute(f"DELETE FROM {sql.tables}case_roles WHERE case_id = {sql.mark}",
                        (case.id,))
        if case.case_roles:  # a step assigns case roles; only a migration takes them away
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



def _destruction_values(record: Any) -> tuple[Any, ...]:
    """The values of a destruction log row, checked before any SQL runs."""
    if not isinstance(record, Destruction):
        raise TypeError(f"record must be a zorgflow.store.Destruction, not "
                        f"{type(record).__name__}")
    key_argument(record.case_id, "record.case_id")
    key_argument(record.workflow_id, "record.workflow_id")
    text_argument(record.result, "record.result")
    key_argument(record.actor, "record.actor")
    count_argument(record.workflow_version, "record.workflow_version", 1,
                   "the workflow version the case ran on")
    moment_argument(record.closed_at, "record.closed_at")
    moment_argument(record.destroyed_at, "record.destroyed_at")
    if not isinstance(record.archiefactiedatum, date) or isinstance(record.archiefactiedatum,
                                                                     datetime):
        raise TypeError("record.archiefactiedatum must be a date, not "
                        f"{type(record.archiefactiedatum).__name__}")
    if record.scope not in ("case", "personal_data"):
        raise ValueError(f"record.scope must be 'case' or 'personal_data', not "
                         f"{record.scope!r}")
    return (record.case_id, record.workflow_id, record.workflow_version, record.result,
            record.closed_at, record.archiefactiedatum.isoformat(), record.scope,
            record.destroyed_at, record.actor)
