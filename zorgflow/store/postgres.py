"""`PostgresStore`: the same store on PostgreSQL, for several app servers and timer workers.

Needs psycopg 3 (``pip install "zorgflow[postgres]"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..engine import Engine
from ..errors import MissingDependency
from .base import Cipher, StoreError, StoreUnavailable
from .connections import Slot, ThreadConnections
from .rows import CaseCodec, HistoryRow
from .sql import SQLStore, Statements

if TYPE_CHECKING:
    import psycopg


def _psycopg() -> Any:
    """psycopg 3, imported when it is first needed (an optional dependency)."""
    try:
        import psycopg
        import psycopg.errors
        import psycopg.pq
    except ImportError:  # pragma: no cover - depends on the installation
        raise MissingDependency("PostgresStore needs psycopg 3: "
                                "pip install 'zorgflow[postgres]'") from None
    return psycopg

#: The schema this code writes; `_MIGRATIONS[n]` brings version n to n + 1.
SCHEMA_VERSION = 5
_MIGRATIONS = [
    """
    CREATE TABLE {s}.cases (
        id               text PRIMARY KEY,
        workflow_id      text NOT NULL,
        workflow_version integer NOT NULL,
        state            text NOT NULL,
        version          integer NOT NULL CHECK (version >= 1),
        facts            jsonb NOT NULL,
        timers           jsonb NOT NULL,
        next_due_at      timestamptz,
        updated_at       timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX cases_next_due_at ON {s}.cases (next_due_at) WHERE next_due_at IS NOT NULL;
    CREATE INDEX cases_workflow_state ON {s}.cases (workflow_id, state);
    CREATE TABLE {s}.case_roles (
        case_id  text NOT NULL REFERENCES {s}.cases (id) ON DELETE CASCADE,
        role     text NOT NULL,
        actor_id text NOT NULL,
        PRIMARY KEY (case_id, role)
    );
    CREATE INDEX case_roles_actor ON {s}.case_roles (actor_id);
    CREATE TABLE {s}.history (
        case_id          text NOT NULL REFERENCES {s}.cases (id) ON DELETE CASCADE,
        seq              integer NOT NULL CHECK (seq >= 1),
        at               timestamptz NOT NULL,
        at_offset        integer NOT NULL,
        actor            text NOT NULL,
        role             text,
        kind             text NOT NULL,
        event            text NOT NULL,
        from_state       text,
        to_state         text NOT NULL,
        data             jsonb NOT NULL,
        workflow_version integer NOT NULL,
        explanation      jsonb,
        dossier          jsonb,
        PRIMARY KEY (case_id, seq)
    );
    CREATE TABLE {s}.personal_data (
        case_id text NOT NULL REFERENCES {s}.cases (id) ON DELETE CASCADE,
        seq     integer NOT NULL,
        name    text NOT NULL,
        value   jsonb,
        secret  bytea,
        PRIMARY KEY (case_id, seq, name),
        CHECK ((value IS NULL) <> (secret IS NULL))
    );
    COMMENT ON COLUMN {s}.history.at_offset IS
        'UTC offset in seconds the time was recorded in, so it reads back exactly';
    COMMENT ON COLUMN {s}.personal_data.seq IS '0: the current facts, n: history entry n';
    """,
    """
    ALTER TABLE {s}.history ADD COLUMN warnings jsonb;
    ALTER TABLE {s}.cases ADD COLUMN progress jsonb;
    COMMENT ON COLUMN {s}.cases.progress IS 'pending agreements and open tasks';
    COMMENT ON COLUMN {s}.history.warnings IS 'the labels of the warnings that held at the step';
    """,
    """
    ALTER TABLE {s}.cases ADD COLUMN signals jsonb NOT NULL DEFAULT '[]';
    UPDATE {s}.cases AS c SET signals = recorded.keys
    FROM (SELECT case_id, jsonb_agg(jsonb_build_array(event, data -> 'due_at') ORDER BY seq)
                 AS keys
          FROM {s}.history WHERE kind = 'signal' GROUP BY case_id) AS recorded
    WHERE c.id = recorded.case_id;
    COMMENT ON COLUMN {s}.cases.signals IS
        '[signal, due time] of every signal entry, so a case loads without its history';
    CREATE INDEX cases_id_by_code_point ON {s}.cases (id COLLATE "C");
    CREATE TABLE {s}.idempotency_keys (
        case_id         text NOT NULL,
        idempotency_key text NOT NULL,
        request         text NOT NULL,
        version         integer NOT NULL,
        remembered_at   timestamptz NOT NULL,
        PRIMARY KEY (case_id, idempotency_key)
    );
    CREATE INDEX idempotency_keys_remembered_at ON {s}.idempotency_keys (remembered_at);
    COMMENT ON COLUMN {s}.idempotency_keys.request IS
        'digest of the request the key came with';
    COMMENT ON COLUMN {s}.idempotency_keys.version IS 'the case version that request led to';
    ALTER TABLE {s}.history ADD COLUMN IF NOT EXISTS delivered_at timestamptz;
    UPDATE {s}.history SET delivered_at = at WHERE kind = 'signal';
    CREATE INDEX IF NOT EXISTS history_undelivered ON {s}.history (at)
        WHERE kind = 'signal' AND delivered_at IS NULL;
    COMMENT ON COLUMN {s}.history.delivered_at IS
        'for a signal entry: when a timer worker handed it to its callback';
    """,
    """
    CREATE TABLE IF NOT EXISTS {s}.destructions (
        seq               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        case_id           text NOT NULL,
        workflow_id       text NOT NULL,
        workflow_version  integer NOT NULL,
        result            text NOT NULL,
        closed_at         timestamptz NOT NULL,
        archiefactiedatum text NOT NULL,
        scope             text NOT NULL CHECK (scope IN ('case', 'personal_data')),
        destroyed_at      timestamptz NOT NULL,
        actor             text NOT NULL
    );
    CREATE INDEX IF NOT EXISTS destructions_case ON {s}.destructions (case_id);
    COMMENT ON TABLE {s}.destructions IS
        'the retention log: what was destroyed and why it was due; no personal data';
    COMMENT ON COLUMN {s}.destructions.archiefactiedatum IS 'ISO date (YYYY-MM-DD)';
    """,
    """
    CREATE TABLE IF NOT EXISTS {s}.sync_marks (
        case_id   text NOT NULL,
        target    text NOT NULL,
        item      text NOT NULL,
        reference text NOT NULL,
        digest    text NOT NULL,
        synced_at timestamptz NOT NULL,
        PRIMARY KEY (case_id, target, item)
    );
    COMMENT ON TABLE {s}.sync_marks IS
        'what a sync to another system (the ZGW zaak sync) sent of each case; no personal data';
    """,
]

_CASE_COLUMNS = ("id, workflow_id, workflow_version, state, version, facts::text, "
                 "timers::text, next_due_at, progress::text, signals::text")
_REF_COLUMNS = "id, workflow_id, workflow_version, state, version, next_due_at"
_HISTORY_COLUMNS = ("seq, at, at_offset, actor, role, kind, event, from_state, to_state, "
                    "data::text, workflow_version, explanation::text, dossier::text, "
                    "warnings::text")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresStore(SQLStore):
    """Cases in PostgreSQL: the same semantics as `SQLiteStore`, safe with many processes.

    ``PostgresStore("postgresql://user:pw@host/db", engine)`` creates (or migrates) its tables
    in the PostgreSQL schema ``schema`` (default ``zorgflow``); facts, history data and
    explanations are JSONB. Inside `transaction`, `load` locks the case's row until the
    transaction ends, and `due` hands out cases with ``FOR UPDATE SKIP LOCKED``, so several
    workers sweeping timers never take the same case.
    """

    locks_rows = True

    def __init__(self, dsn: str, engine: Engine, *, schema: str = "zorgflow",
                 cipher: Cipher | None = None, connect_timeout: int = 10) -> None:
        if not _IDENTIFIER.fullmatch(schema) or schema.startswith("pg_"):
            raise ValueError("schema must be a lower-case SQL identifier not starting with "
                             f"'pg_', not {schema!r}")
        self._pg = _psycopg()
        self._duplicate = self._pg.errors.UniqueViolation
        self._dsn = dsn
        self.schema = schema
        self._codec = CaseCodec(engine, cipher)
        self._statements = self._dialect()
        self._connect_timeout = connect_timeout
        self._connections = ThreadConnections(self._connect)
        self._migrate()

    def __repr__(self) -> str:  # never the DSN: it may hold a password
        return f"PostgresStore(schema={self.schema!r})"

    # -- connections and transactions ------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return self._pg.connect(self._dsn, autocommit=True,  # type: ignore[no-any-return]
                                    connect_timeout=self._connect_timeout)
        except self._pg.Error as exc:
            raise StoreUnavailable("cannot connect to the PostgreSQL case store: "
                                   f"{type(exc).__name__}: {str(exc).strip()}") from None

    def _slot(self) -> Slot[psycopg.Connection[Any]]:
        slot = self._connections.slot()
        if slot.conn.closed and not slot.depth:  # the server went away: connect again
            slot = self._connections.replace()
        return slot

    @contextmanager
    def _step(self, write: bool) -> Iterator[psycopg.Cursor[Any]]:
        """One atomic step: its own transaction, or a savepoint inside `transaction`, so that
        a failed step writes nothing and leaves the transaction usable. psycopg's errors come
        out as `StoreError`s."""
        slot = self._slot()
        conn = slot.conn
        if slot.depth:
            with _translated(), conn.transaction():  # a savepoint
                yield conn.cursor()
            return
        slot.depth = 1
        try:
            with _translated(), conn.transaction():
                cur = conn.cursor()
                if not write:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield cur
        finally:
            slot.depth = 0

    @contextmanager
    def transaction(self) -> Iterator[PostgresStore]:
        """Group calls into one atomic step; `load` and `due` inside it lock the rows they
        return until it ends. A call that fails inside it writes nothing, even when its error
        is caught; an error that leaves the block undoes the whole transaction."""
        slot = self._slot()
        if slot.depth:
            raise StoreError("a transaction is already open in this thread")
        conn = slot.conn
        slot.depth, slot.locking = 1, True
        try:
            with _translated(), conn.transaction():
                yield self
                if conn.info.transaction_status == self._pg.pq.TransactionStatus.INERROR:
                    raise StoreError("a statement failed inside the transaction and its error "
                                     "was caught; the transaction was undone, nothing written")
        finally:
            slot.depth, slot.locking = 0, False

    def close(self) -> None:
        """Close every connection the store opened in this process."""
        self._connections.close_all()

    def _sql(self, text: str) -> str:
        return text.replace("{s}", f'"{self.schema}"')

    def _migrate(self) -> None:
        with self._step(write=False) as cur:
            # Up to date already: no lock and no DDL, so a role with data rights only can open it.
            found = cur.execute("SELECT to_regclass(%s)",
                                (f'"{self.schema}".schema_version',)).fetchone()
            if found and found[0] is not None:
                row = cur.execute(self._sql("SELECT version FROM {s}.schema_version")).fetchone()
                if row is not None and row[0] == SCHEMA_VERSION:
                    return
        with self._step(write=True) as cur:
            # One migrating process at a time; the others wait, then find the work done.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"zorgflow.{self.schema}",))
            cur.execute(self._sql("CREATE SCHEMA IF NOT EXISTS {s}"))
            cur.execute(self._sql("CREATE TABLE IF NOT EXISTS {s}.schema_version "
                                  "(version integer NOT NULL)"))
            row = cur.execute(self._sql("SELECT version FROM {s}.schema_version")).fetchone()
            current = row[0] if row else 0
            if current > SCHEMA_VERSION:
                raise StoreError(f"PostgreSQL schema {self.schema} has store schema version "
                                 f"{current}; this zorgflow reads up to version "
                                 f"{SCHEMA_VERSION}: upgrade zorgflow")
            for script in _MIGRATIONS[current:]:
                cur.execute(self._sql(script))
            if row is None:
                cur.execute(self._sql("INSERT INTO {s}.schema_version VALUES (%s)"),
                            (SCHEMA_VERSION,))
            elif current < SCHEMA_VERSION:
                cur.execute(self._sql("UPDATE {s}.schema_version SET version = %s"),
                            (SCHEMA_VERSION,))

    # -- the dialect -----------------------------------------------------------------------
    def _dialect(self) -> Statements:
        sql = self._sql
        return Statements(
            mark="%s", tables=sql("{s}."),
            insert_case=sql("INSERT INTO {s}.cases (id, workflow_id, workflow_version, state, "
                            "version, facts, timers, next_due_at, progress, signals) "
                            "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s::jsonb, "
                            "%s::jsonb)"),
            update_case=sql("UPDATE {s}.cases SET workflow_version = %s, state = %s, "
                            "version = %s, facts = %s::jsonb, timers = %s::jsonb, "
                            "next_due_at = %s, progress = %s::jsonb, "
                            "signals = COALESCE(%s::jsonb, signals), updated_at = now() "
                            "WHERE id = %s AND version = %s"),
            select_case=sql(f"SELECT {_CASE_COLUMNS} FROM {{s}}.cases WHERE id = %s"),
            upsert_role=sql("INSERT INTO {s}.case_roles (case_id, role, actor_id) "
                            "VALUES (%s, %s, %s) ON CONFLICT (case_id, role) "
                            "DO UPDATE SET actor_id = excluded.actor_id"),
            insert_history=sql("INSERT INTO {s}.history (case_id, seq, at, at_offset, actor, "
                               "role, kind, event, from_state, to_state, data, "
                               "workflow_version, explanation, dossier, warnings) VALUES "
                               "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, "
                               "%s::jsonb, %s::jsonb, %s::jsonb)"),
            insert_personal=sql("INSERT INTO {s}.personal_data (case_id, seq, name, value, "
                                "secret) VALUES (%s, %s, %s, %s::jsonb, %s)"),
            due=sql(f"SELECT {_REF_COLUMNS} FROM {{s}}.cases WHERE next_due_at IS NOT NULL "
                    "AND next_due_at <= %s ORDER BY next_due_at"),
            ref_columns=_REF_COLUMNS, history_columns=_HISTORY_COLUMNS,
            personal_columns="seq, name, value::text, secret",
            id_order='id COLLATE "C"',
            insert_key=sql("INSERT INTO {s}.idempotency_keys (case_id, idempotency_key, "
                           "request, version, remembered_at) VALUES (%s, %s, %s, %s, %s) "
                           "ON CONFLICT (case_id, idempotency_key) DO NOTHING"),
        )

    def _isolated(self, cursor: Any) -> AbstractContextManager[Any]:
        return cursor.connection.transaction()  # type: ignore[no-any-return]

    def _locking(self) -> bool:
        slot = self._connections.current()
        return slot is not None and slot.locking

    def _history_values(self, h: HistoryRow) -> tuple[Any, ...]:
        return (h.seq, h.at, _offset(h.at), h.actor, h.role, h.kind, h.event, h.from_state,
                h.to_state, h.data, h.workflow_version, h.explanation, h.dossier, h.warnings)

    def _history_read(self, r: tuple[Any, ...]) -> HistoryRow:
        return _history_row(r)


@contextmanager
def _translated() -> Iterator[None]:
    """psycopg's errors as `StoreError`s: the server's operational errors (gone, restarted, a
    deadlock, a serialisation failure) and a closed connection as `StoreUnavailable` (the
    step was not done; try again), any other (a program limit too) as a `StoreError`. Never
    with the server's DETAIL or CONTEXT lines, nor a data exception's message: they may quote
    the data."""
    pg = _psycopg()
    try:
        yield
    except pg.errors.ProgramLimitExceeded as exc:  # an OperationalError, but trying won't help
        raise StoreError(f"the PostgreSQL case store refused the step ({_reason(exc)}); "
                         "nothing was written") from None
    except (pg.OperationalError, pg.InterfaceError) as exc:
        raise StoreUnavailable("the PostgreSQL case store could not do the step "
                               f"({_reason(exc)}); nothing was written, try again") from None
    except pg.Error as exc:
        raise StoreError(f"the PostgreSQL case store refused the step ({_reason(exc)}); "
                         "nothing was written") from None


def _reason(exc: Exception) -> str:
    """What went wrong, without data: the error's class and SQLSTATE and, for the classes of
    error whose first message line names tables, columns, constraints and resources but never
    a value (`_PLAIN_CLASSES`), that line. Never the DETAIL, CONTEXT or HINT lines, nor the
    message of a data exception (class 22) or a function's own error: they may quote data."""
    code = getattr(exc, "sqlstate", None)
    if code is None:  # raised by psycopg itself, before or after the server
        return type(exc).__name__
    primary = getattr(getattr(exc, "diag", None), "message_primary", None)
    shown = f": {primary}" if primary and code[:2] in _PLAIN_CLASSES else ""
    return f"{type(exc).__name__}, SQLSTATE {code}{shown}"


#: SQLSTATE classes whose primary message shows no data: connection, integrity constraint,
#: transaction state, authorisation, rollback (deadlock, serialisation), syntax or access
#: rule, resources, limits, object state, operator intervention, system.
_PLAIN_CLASSES = frozenset({"08", "23", "25", "28", "40", "42", "53", "54", "55", "57", "58"})


def _offset(moment: datetime) -> int:
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _history_row(r: tuple[Any, ...]) -> HistoryRow:
    at = r[1].astimezone(UTC if not r[2] else timezone(timedelta(seconds=r[2])))
    return HistoryRow(r[0], at, *r[3:])
