"""`SQLiteStore`: the embedded default, one file, no server, WAL mode."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ..engine import Case, Engine, HistoryEntry
from .base import (
    CaseExists,
    CaseNotFound,
    CaseRef,
    Cipher,
    ConcurrentUpdate,
    StoreError,
    StoreUnavailable,
)
from .connections import ThreadConnections
from .rows import (
    CURRENT_FACTS,
    CaseCodec,
    CaseRow,
    HistoryRow,
    PersonalRow,
    find_filter,
    from_utc_text,
    utc_text,
)

#: The schema this code writes; `_MIGRATIONS[n]` brings version n to n + 1.
SCHEMA_VERSION = 1
_MIGRATIONS = [
    """
    CREATE TABLE cases (
        id               TEXT PRIMARY KEY,
        workflow_id      TEXT NOT NULL,
        workflow_version INTEGER NOT NULL,
        state            TEXT NOT NULL,
        version          INTEGER NOT NULL CHECK (version >= 1),
        facts            TEXT NOT NULL,   -- JSON object, without personal data
        timers           TEXT NOT NULL,   -- JSON object: signal -> ISO time it (re)started
        next_due_at      TEXT,            -- UTC, fixed width: sorts as time does
        updated_at       TEXT NOT NULL
    );
    CREATE INDEX cases_next_due_at ON cases (next_due_at) WHERE next_due_at IS NOT NULL;
    CREATE INDEX cases_workflow_state ON cases (workflow_id, state);
    CREATE TABLE case_roles (
        case_id  TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        role     TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        PRIMARY KEY (case_id, role)
    );
    CREATE INDEX case_roles_actor ON case_roles (actor_id);
    CREATE TABLE history (
        case_id          TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        seq              INTEGER NOT NULL CHECK (seq >= 1),
        at               TEXT NOT NULL,   -- ISO time with the offset it was recorded in
        actor            TEXT NOT NULL,
        role             TEXT,
        kind             TEXT NOT NULL,
        event            TEXT NOT NULL,
        from_state       TEXT,
        to_state         TEXT NOT NULL,
        data             TEXT NOT NULL,   -- JSON object, without personal data
        workflow_version INTEGER NOT NULL,
        explanation      TEXT,            -- JSON list of lines, for guarded events
        dossier          TEXT,            -- JSON object, the anonymous dossier sent on
        PRIMARY KEY (case_id, seq)
    );
    CREATE TABLE personal_data (
        case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        seq     INTEGER NOT NULL,         -- 0: the current facts, n: history entry n
        name    TEXT NOT NULL,
        value   TEXT,                     -- JSON, when stored without a cipher
        secret  BLOB,                     -- the cipher's token of that JSON
        PRIMARY KEY (case_id, seq, name),
        CHECK ((value IS NULL) <> (secret IS NULL))
    );
    """,
]

_CASE_COLUMNS = ("id, workflow_id, workflow_version, state, version, facts, timers, "
                 "next_due_at")
_HISTORY_COLUMNS = ("seq, at, actor, role, kind, event, from_state, to_state, data, "
                    "workflow_version, explanation, dossier")


class SQLiteStore:
    """Cases in one SQLite file: the embedded default, with no set-up.

    ``SQLiteStore("cases.db", engine)`` creates the file and its tables if needed. The engine
    tells the store which facts are personal data and when each case's next timer falls due.
    Personal data goes to its own table (``personal_data``), encrypted when a ``cipher`` is
    given. ``durability="full"`` (the default) makes every commit survive a power cut;
    ``"normal"`` survives a crash of the program but may lose the last commits on a power cut.

    One store may be shared by threads (each thread gets its own connection) and many
    processes may open the same file: writes are serialised by SQLite, and a stale save raises
    `ConcurrentUpdate`.
    """

    def __init__(self, path: str | Path, engine: Engine, *, cipher: Cipher | None = None,
                 durability: Literal["full", "normal"] = "full", timeout: float = 30.0) -> None:
        if durability not in ("full", "normal"):
            raise ValueError(f"durability must be 'full' or 'normal', not {durability!r}")
        if str(path) == ":memory:" or str(path).startswith("file:"):
            raise ValueError("SQLiteStore needs the path of a database file (each thread "
                             "opens its own connection, so ':memory:' would give each its own "
                             "empty database)")
        self.path = Path(path)
        self._codec = CaseCodec(engine, cipher)
        self._durability = durability
        self._timeout = timeout
        self._connections = ThreadConnections(self._connect)
        self._migrate()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- connections and transactions ------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the case store {self.path}: {exc}") from None
        try:
            # Switching to WAL does not wait for the busy timeout: retry while another
            # process holds the new file.
            deadline = time.monotonic() + self._timeout
            while True:
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            conn.execute(f"PRAGMA synchronous={self._durability.upper()}")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            conn.close()
            raise StoreUnavailable(f"cannot open the case store {self.path}: {exc}") from None
        return conn

    @contextmanager
    def _step(self, write: bool) -> Iterator[sqlite3.Connection]:
        """One atomic step: its own transaction, or a savepoint inside `transaction`, so that
        a failed step writes nothing even when the caller catches its error."""
        slot = self._connections.slot()
        conn = slot.conn
        if slot.depth:
            conn.execute("SAVEPOINT zorgflow_step")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK TO zorgflow_step")
                conn.execute("RELEASE zorgflow_step")
                raise
            conn.execute("RELEASE zorgflow_step")
            return
        slot.depth = 1
        try:
            with _translated(self.path):
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                    conn.execute("COMMIT")
                finally:
                    if conn.in_transaction:
                        conn.rollback()
        finally:
            slot.depth = 0

    @contextmanager
    def transaction(self) -> Iterator[SQLiteStore]:
        """Group calls into one atomic step. It takes SQLite's write lock (for the whole
        database) at once, so nothing another process saves can come between a `load` and a
        `save` inside it; keep it short. A call that fails inside it writes nothing, even when
        its error is caught; an error that leaves the block undoes the whole transaction."""
        slot = self._connections.current()
        if slot is not None and slot.depth:
            raise StoreError("a transaction is already open in this thread")
        with self._step(write=True):
            yield self

    def close(self) -> None:
        """Close every connection the store opened in this process."""
        self._connections.close_all()

    def _migrate(self) -> None:
        with self._step(write=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS zorgflow_schema (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM zorgflow_schema").fetchone()
            current = row[0] if row else 0
            if current > SCHEMA_VERSION:
                raise StoreError(f"{self.path} has store schema version {current}; this "
                                 f"zorgflow reads up to version {SCHEMA_VERSION}: upgrade "
                                 "zorgflow")
            for script in _MIGRATIONS[current:]:
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if row is None:
                conn.execute("INSERT INTO zorgflow_schema (version) VALUES (?)",
                             (SCHEMA_VERSION,))
            elif current < SCHEMA_VERSION:
                conn.execute("UPDATE zorgflow_schema SET version = ?", (SCHEMA_VERSION,))

    # -- the Store protocol ----------------------------------------------------------------
    def create(self, case: Case) -> None:
        """Store a new case with its whole history; `CaseExists` if the id is taken."""
        write = self._codec.write(case, 0)
        row, history, personal = write.row, write.history, write.personal
        with self._step(write=True) as conn:
            try:
                conn.execute(f"INSERT INTO cases ({_CASE_COLUMNS}, updated_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, datetime('now'))", _case_values(row))
            except sqlite3.IntegrityError:
                raise CaseExists(f"a case with id {case.id} is already stored") from None
            self._write_rest(conn, case, history, personal)

    def save(self, case: Case, expected_version: int) -> None:
        """Write the case's new history entries and its new state, facts, roles and timers.

        Raises `ConcurrentUpdate` (writing nothing) when the stored version is not
        ``expected_version``, `CaseNotFound` when the case was never created."""
        write = self._codec.write(case, expected_version)
        row, history, personal = write.row, write.history, write.personal
        with self._step(write=True) as conn:
            updated = conn.execute(
                "UPDATE cases SET workflow_version = ?, state = ?, version = ?, facts = ?, "
                "timers = ?, next_due_at = ?, updated_at = datetime('now') "
                "WHERE id = ? AND version = ?",
                (row.workflow_version, row.state, row.version, row.facts, row.timers,
                 _due_text(row.next_due_at), row.id, expected_version)).rowcount
            if updated != 1:
                found = conn.execute("SELECT version FROM cases WHERE id = ?",
                                     (case.id,)).fetchone()
                if found is None:
                    raise CaseNotFound(f"no case {case.id} is stored: create it first")
                raise ConcurrentUpdate(case.id, expected_version, found[0])
            if write.facts_changed:
                conn.execute("DELETE FROM personal_data WHERE case_id = ? AND seq = ?",
                             (case.id, CURRENT_FACTS))
            self._write_rest(conn, case, history, personal)

    def load(self, case_id: str) -> Case:
        """The stored case; `CaseNotFound` if there is none."""
        with self._step(write=False) as conn:
            found = conn.execute(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ?",
                                 (case_id,)).fetchone()
            if found is None:
                raise CaseNotFound(f"no case {case_id} is stored")
            roles = dict(conn.execute("SELECT role, actor_id FROM case_roles WHERE case_id = ?",
                                      (case_id,)).fetchall())
            history = self._history_rows(conn, case_id)
            personal = [PersonalRow(*r) for r in conn.execute(
                "SELECT seq, name, value, secret FROM personal_data WHERE case_id = ?",
                (case_id,))]
        row = CaseRow(found[0], found[1], found[2], found[3], found[4], found[5], found[6],
                      _due_time(found[7]))
        return self._codec.build(row, roles, history, personal)

    def history(self, case_id: str) -> list[HistoryEntry]:
        """The case's history, oldest first, with its personal data."""
        return list(self.load(case_id).history)

    def find(self, *, workflow_id: str | None = None, state: str | None = None,
             role_holder: str | None = None) -> list[CaseRef]:
        """Cases matching every criterion given, by id."""
        where, params = find_filter(workflow_id, state, role_holder, mark="?",
                                    roles_table="case_roles")
        with self._step(write=False) as conn:
            return [_ref(r) for r in conn.execute(
                f"SELECT {_REF_COLUMNS} FROM cases{where} ORDER BY id", params)]

    def due(self, before: datetime, *, limit: int | None = None) -> list[CaseRef]:
        """Cases whose next unrecorded timer signal is due at or before ``before``, soonest
        first: an index range scan, however many cases are stored. Inside `transaction`, no
        other process can sweep the same cases until it ends."""
        sql = DUE_SQL
        params: list[Any] = [utc_text(_aware(before))]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._step(write=False) as conn:
            return [_ref(r) for r in conn.execute(sql, params)]

    # -- helpers ---------------------------------------------------------------------------
    def _write_rest(self, conn: sqlite3.Connection, case: Case, history: list[HistoryRow],
                    personal: list[PersonalRow]) -> None:
        try:
            conn.executemany(
                f"INSERT INTO history (case_id, {_HISTORY_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(case.id, h.seq, h.at.isoformat(), h.actor, h.role, h.kind, h.event,
                  h.from_state, h.to_state, h.data, h.workflow_version, h.explanation,
                  h.dossier) for h in history])
        except sqlite3.IntegrityError:
            raise StoreError(f"case {case.id}: history entries {history[0].seq}.. are stored "
                             "already; was the case saved with a wrong expected_version?"
                             ) from None
        if case.case_roles:  # the engine assigns case roles, it never takes them away
            conn.executemany(
                "INSERT INTO case_roles (case_id, role, actor_id) VALUES (?, ?, ?) "
                "ON CONFLICT (case_id, role) DO UPDATE SET actor_id = excluded.actor_id",
                [(case.id, role, actor) for role, actor in case.case_roles.items()])
        if personal:
            conn.executemany(
                "INSERT INTO personal_data (case_id, seq, name, value, secret) "
                "VALUES (?, ?, ?, ?, ?)",
                [(case.id, p.seq, p.name, p.value, p.secret) for p in personal])

    @staticmethod
    def _history_rows(conn: sqlite3.Connection, case_id: str) -> list[HistoryRow]:
        return [HistoryRow(r[0], datetime.fromisoformat(r[1]), *r[2:]) for r in conn.execute(
            f"SELECT {_HISTORY_COLUMNS} FROM history WHERE case_id = ? ORDER BY seq",
            (case_id,))]


_REF_COLUMNS = "id, workflow_id, workflow_version, state, version, next_due_at"


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    """SQLite's own operational errors (busy past the timeout, disk full, I/O) as
    `StoreUnavailable`: the step was not done."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise StoreUnavailable(f"the case store {path} could not do the step ({exc}); nothing "
                               "was written, try again") from None


#: The query behind `SQLiteStore.due` (a range scan of the partial index on next_due_at).
DUE_SQL = (f"SELECT {_REF_COLUMNS} FROM cases WHERE next_due_at IS NOT NULL "
           "AND next_due_at <= ? ORDER BY next_due_at")


def _ref(r: tuple[Any, ...]) -> CaseRef:
    return CaseRef(r[0], r[1], r[2], r[3], r[4], _due_time(r[5]))


def _case_values(row: CaseRow) -> tuple[Any, ...]:
    return (row.id, row.workflow_id, row.workflow_version, row.state, row.version, row.facts,
            row.timers, _due_text(row.next_due_at))


def _due_text(moment: datetime | None) -> str | None:
    return None if moment is None else utc_text(moment)


def _due_time(text: str | None) -> datetime | None:
    return None if text is None else from_utc_text(text)


def _aware(moment: datetime) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise StoreError("due() needs an aware datetime (with a time zone), e.g. "
                         "datetime.now(ZoneInfo('Europe/Amsterdam'))")
    return moment
