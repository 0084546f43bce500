"""`SQLiteStore`: the embedded default, one file, no server, WAL mode."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ..engine import Engine
from .base import Cipher, StoreError, StoreUnavailable
from .connections import ThreadConnections
from .rows import CaseCodec, HistoryRow, from_utc_text, utc_text
from .sql import SQLStore, Statements

#: The schema this code writes; `_MIGRATIONS[n]` brings version n to n + 1.
SCHEMA_VERSION = 5
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
    # history.warnings: JSON list of the warnings that held; cases.progress: JSON of the
    # pending agreements and open tasks (no SQL comment: SQLite appends a column's text to
    # the table's definition, where a comment would swallow the ')')
    """
    ALTER TABLE history ADD COLUMN warnings TEXT;
    ALTER TABLE cases ADD COLUMN progress TEXT
    """,
    # cases.signals: JSON list of [signal, due time as written] of the case's signal entries,
    # so that a case loads without reading its history (filled from the history here);
    # idempotency_keys: per case, a key, the digest of its request and the version it led to
    """
    ALTER TABLE cases ADD COLUMN signals TEXT NOT NULL DEFAULT '[]';
    UPDATE cases SET signals = (
        SELECT json_group_array(json_array(event, json_extract(data, '$.due_at')))
        FROM (SELECT event, data FROM history
              WHERE history.case_id = cases.id AND kind = 'signal' ORDER BY seq))
    WHERE id IN (SELECT case_id FROM history WHERE kind = 'signal');
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        case_id         TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        request         TEXT NOT NULL,    -- digest of the request the key came with
        version         INTEGER NOT NULL, -- the case version that request led to
        remembered_at   TEXT NOT NULL,    -- UTC, fixed width: sorts as time does
        PRIMARY KEY (case_id, idempotency_key)
    );
    CREATE INDEX IF NOT EXISTS idempotency_keys_remembered_at ON idempotency_keys (remembered_at);
    ALTER TABLE history ADD COLUMN delivered_at TEXT;
    UPDATE history SET delivered_at = at WHERE kind = 'signal';
    CREATE INDEX IF NOT EXISTS history_undelivered ON history (at)
        WHERE kind = 'signal' AND delivered_at IS NULL
    """,
    # destructions: the retention log, one row per case (or its personal data) destroyed,
    # without personal data; dates as ISO text, times UTC fixed width
    """
    CREATE TABLE IF NOT EXISTS destructions (
        seq               INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id           TEXT NOT NULL,
        workflow_id       TEXT NOT NULL,
        workflow_version  INTEGER NOT NULL,
        result            TEXT NOT NULL,
        closed_at         TEXT NOT NULL,
        archiefactiedatum TEXT NOT NULL,
        scope             TEXT NOT NULL CHECK (scope IN ('case', 'personal_data')),
        destroyed_at      TEXT NOT NULL,
        actor             TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS destructions_case ON destructions (case_id)
    """,
    # sync_marks: what a sync to another system (the ZGW zaak sync) sent of each case, per
    # item, so that a sync run again sends only what is new; no personal data
    """
    CREATE TABLE IF NOT EXISTS sync_marks (
        case_id   TEXT NOT NULL,
        target    TEXT NOT NULL,
        item      TEXT NOT NULL,
        reference TEXT NOT NULL,
        digest    TEXT NOT NULL,
        synced_at TEXT NOT NULL,
        PRIMARY KEY (case_id, target, item)
    )
    """,
]

_CASE_COLUMNS = ("id, workflow_id, workflow_version, state, version, facts, timers, "
                 "next_due_at, progress, signals")
_HISTORY_COLUMNS = ("seq, at, actor, role, kind, event, from_state, to_state, data, "
                    "workflow_version, explanation, dossier, warnings")
_REF_COLUMNS = "id, workflow_id, workflow_version, state, version, next_due_at"

#: The query behind `SQLiteStore.due` (a range scan of the partial index on next_due_at).
DUE_SQL = (f"SELECT {_REF_COLUMNS} FROM cases WHERE next_due_at IS NOT NULL "
           "AND next_due_at <= ? ORDER BY next_due_at")


class SQLiteStore(SQLStore):
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
        a failed step writes nothing even when the caller catches its error. SQLite's errors
        come out as `StoreError`s."""
        slot = self._connections.slot()
        conn = slot.conn
        if slot.depth:
            with _translated(self.path):
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
                    if statement.strip() and not _column_exists(conn, statement):
                        conn.execute(statement)
            if row is None:
                conn.execute("INSERT INTO zorgflow_schema (version) VALUES (?)",
                             (SCHEMA_VERSION,))
            elif current < SCHEMA_VERSION:
                conn.execute("UPDATE zorgflow_schema SET version = ?", (SCHEMA_VERSION,))

    # -- the dialect -----------------------------------------------------------------------
    _duplicate = sqlite3.IntegrityError
    _statements = Statements(
        mark="?", tables="",
        insert_case=f"INSERT INTO cases ({_CASE_COLUMNS}, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, datetime('now'))",
        update_case="UPDATE cases SET workflow_version = ?, state = ?, version = ?, facts = ?, "
                    "timers = ?, next_due_at = ?, progress = ?, "
                    "signals = COALESCE(?, signals), updated_at = datetime('now') "
                    "WHERE id = ? AND version = ?",
        select_case=f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ?",
        upsert_role="INSERT INTO case_roles (case_id, role, actor_id) VALUES (?, ?, ?) "
                    "ON CONFLICT (case_id, role) DO UPDATE SET actor_id = excluded.actor_id",
        insert_history=f"INSERT INTO history (case_id, {_HISTORY_COLUMNS}) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        insert_personal="INSERT INTO personal_data (case_id, seq, name, value, secret) "
                        "VALUES (?, ?, ?, ?, ?)",
        due=DUE_SQL, ref_columns=_REF_COLUMNS, history_columns=_HISTORY_COLUMNS,
        personal_columns="seq, name, value, secret",
        id_order="id",
        insert_key="INSERT INTO idempotency_keys (case_id, idempotency_key, request, version, "
                   "remembered_at) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (case_id, idempotency_key) DO NOTHING",
    )

    def _time_value(self, moment: datetime) -> str:
        return utc_text(moment)

    def _time_read(self, value: Any) -> datetime:
        return from_utc_text(value)

    def _history_values(self, h: HistoryRow) -> tuple[Any, ...]:
        return (h.seq, h.at.isoformat(), h.actor, h.role, h.kind, h.event, h.from_state,
                h.to_state, h.data, h.workflow_version, h.explanation, h.dossier, h.warnings)

    def _history_read(self, r: tuple[Any, ...]) -> HistoryRow:
        return HistoryRow(r[0], datetime.fromisoformat(r[1]), *r[2:])


_ADD_COLUMN = re.compile(r"\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)", re.IGNORECASE)


def _column_exists(conn: sqlite3.Connection, statement: str) -> bool:
    """Whether ``statement`` adds a column the table has already (SQLite has no ``ADD COLUMN
    IF NOT EXISTS``): such a statement is skipped, so that a database whose schema version
    was set back by hand still migrates."""
    found = _ADD_COLUMN.match(statement)
    if found is None:
        return False
    table, column = found.groups()
    return any(row[1] == column for row in conn.execute(f"PRAGMA table_info({table})"))


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    """SQLite's errors as `StoreError`s: its operational errors (busy past the timeout, disk
    full, I/O) as `StoreUnavailable` (the step was not done; try again), any other as a
    `StoreError`. SQLite's messages name tables and columns, never the values bound."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise StoreUnavailable(f"the case store {path} could not do the step ({_reason(exc)}); "
                               "nothing was written, try again") from None
    except sqlite3.Error as exc:
        raise StoreError(f"the case store {path} refused the step ({type(exc).__name__}: "
                         f"{_reason(exc)}); nothing was written") from None


def _reason(exc: sqlite3.Error) -> str:
    """The first line of SQLite's message."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
