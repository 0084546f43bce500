"""Stores (issue 16): a case loads without its history, history and find come in pages, and
idempotency keys are kept with the case's transaction; schema 2 migrates to 3. SQLite always,
PostgreSQL when ``ZORGFLOW_TEST_POSTGRES_DSN`` is set (the ``backend`` fixture of conftest)."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import Backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_workers import COORDINATOR_ID, REGISSEUR_ID, T0

from zorgflow import Actor, Case, CaseFormatError, Engine
from zorgflow.store import (
    CaseNotFound,
    ConcurrentUpdate,
    Store,
    StoreError,
    UnstorableValue,
)
from zorgflow.store.sqlite import SCHEMA_VERSION

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
scp = Actor("s.scp", roles={"sociaal_contactpunt"})
coord = Actor(COORDINATOR_ID, roles={"lzn_coordinator"})
regisseur = Actor(REGISSEUR_ID, roles={"ketenpartner"})
PERSONAL = {"naam": "Inwoner Testpersoon", "bsn": "999990019", "geboortedatum": "1961-04-30"}
#: a sweep late enough for the feedback timer of a case put in uitvoering at T0
SWEEP = T0 + timedelta(days=40)
FEW_EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_directory(WORKFLOWS)


def in_uitvoering(engine: Engine, store: Store, at: datetime = T0, **start: Any) -> Case:
    case = engine.start("lzn", actor=scp, at=at,
                        facts={**PERSONAL, "bovenliggende_problematiek": "schulden"},
                        store=store, **start)
    for event, data in [("passend_bevonden", None), ("geen_actief_dossier", None),
                        ("casusregisseur_benoemd", {"casusregisseur": REGISSEUR_ID,
                                                    "ketenpartner": "GGZ"})]:
        case = engine.fire(case, event, actor=coord, data=data, at=at, store=store)
    return case


def with_history(engine: Engine, store: Store, reports: int, **start: Any) -> Case:
    """A stored case in uitvoering with a recorded timer signal, a personal fact changed and
    ``reports`` feedback reports after that."""
    case = in_uitvoering(engine, store, **start)
    case = engine.record_signals(case, SWEEP, store=store)
    case = engine.set_facts(case, {"bsn": "999990020"}, actor=coord, at=SWEEP, store=store)
    for n in range(reports):
        case = engine.fire(case, "voortgang_teruggekoppeld", actor=regisseur,
                           at=SWEEP + timedelta(hours=n), store=store)
    return case


def run_sql(backend: Backend, *statements: str) -> list[tuple[Any, ...]]:
    """Run statements on the backend's database past the store (tables unqualified); the rows
    of the last one."""
    rows: list[tuple[Any, ...]] = []
    if backend.name == "sqlite":
        with sqlite3.connect(backend.path) as conn:
            for statement in statements:
                rows = conn.execute(statement).fetchall()
        conn.close()
        return rows
    import psycopg

    with psycopg.connect(backend.dsn, autocommit=True,
                         options=f"-c search_path={backend.schema}") as conn:
        for statement in statements:
            cur = conn.execute(statement)
            rows = cur.fetchall() if cur.description else []
    return rows


def dicts(entries: Any) -> list[dict[str, Any]]:
    return [e.to_dict() for e in entries]


# -- a case loads without its history ----------------------------------------------------------


def test_a_loaded_case_is_the_case_saved_and_runs_on_alike(backend: Backend,
                                                            engine: Engine) -> None:
    store = backend.open(engine)
    case = with_history(engine, store, 5)
    loaded = store.load(case.id)
    assert loaded.version == case.version
    assert loaded.to_dict() == case.to_dict()
    assert loaded == case
    at = SWEEP + timedelta(days=1)
    for step in (
        lambda c, s: engine.fire(c, "voortgang_teruggekoppeld", actor=regisseur, at=at,
                                 store=s),
        lambda c, s: engine.set_facts(c, {"adres": "Kerkstraat 1"}, actor=coord, at=at,
                                      store=s),
        lambda c, s: engine.fire(c, "stagnatie_gemeld", actor=regisseur, at=at, store=s),
        lambda c, s: engine.record_signals(c, at + timedelta(days=90), store=s),
    ):
        expected = step(case, None)
        got = step(store.load(case.id), store)
        assert got.to_dict() == expected.to_dict()
        assert store.load(case.id).to_dict() == expected.to_dict()
        assert engine.next_due(store.load(case.id)) == engine.next_due(expected)
        assert engine.timer_status(store.load(case.id)) == engine.timer_status(expected)
        case = expected
    assert dicts(store.load(case.id).history) == dicts(case.history)


def test_load_reads_no_history_row(backend: Backend, engine: Engine) -> None:
    """With its history rows gone, a case still loads, knows its version and its recorded
    signals, fires and saves; only reading the history tells that the rows are gone."""
    store = backend.open(engine)
    case = with_history(engine, store, 3)
    run_sql(backend, f"DELETE FROM history WHERE case_id = '{case.id}'")
    loaded = store.load(case.id)
    assert loaded.version == case.version and loaded.state == case.state
    assert set(loaded.facts) == set(case.facts)  # typed when an engine first uses them
    assert engine.record_signals(loaded, SWEEP + timedelta(hours=1)).version == case.version
    assert engine.next_due(loaded) == engine.next_due(case)
    moved = engine.fire(loaded, "voortgang_teruggekoppeld", actor=regisseur,
                        at=SWEEP + timedelta(days=1), store=store)
    assert store.load(case.id).version == moved.version == case.version + 1
    assert [r[0] for r in run_sql(backend, "SELECT seq FROM history WHERE case_id = "
                                           f"'{case.id}'")] == [moved.version]
    with pytest.raises(StoreError, match=r"no longer holds the \d+ history entries"):
        _ = loaded.history
    with pytest.raises(StoreError, match="no longer holds"):
        loaded.to_dict()


def test_the_history_of_a_loaded_case_is_the_stored_history(backend: Backend,
                                                             engine: Engine) -> None:
    store = backend.open(engine)
    case = with_history(engine, store, 4)
    loaded = store.load(case.id)
    assert dicts(loaded.history) == dicts(store.history(case.id)) == dicts(case.history)
    # the personal values of the entries come back with them
    assert loaded.history[0].data["bsn"] == "999990019"
    assert [e.data.get("bsn") for e in loaded.history if e.kind == "set_facts"] == ["999990020"]
    assert [e.kind for e in loaded.history].count("signal") == 1


def test_the_history_read_later_is_that_of_the_version_loaded(backend: Backend,
                                                               engine: Engine) -> None:
    store = backend.open(engine)
    case = with_history(engine, store, 2)
    first = store.load(case.id)
    engine.fire(store.load(case.id), "voortgang_teruggekoppeld", actor=regisseur,
                at=SWEEP + timedelta(days=1), store=store)
    assert len(first.history) == first.version == case.version
    assert dicts(first.history) == dicts(case.history)
    assert store.load(case.id).version == case.version + 1


def test_the_history_is_read_inside_the_transaction_or_in_a_read_of_its_own(
        backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = with_history(engine, store, 2)
    with store.transaction() as tx:
        inside = tx.load(case.id)
        assert dicts(inside.history) == dicts(case.history)  # read within the transaction
        later = tx.load(case.id)
    assert dicts(later.history) == dicts(case.history)  # read after it ended
    closed = store.load(case.id)
    store.close()
    assert dicts(closed.history) == dicts(case.history)  # the store connects again
    # A history read inside a transaction that fails is undone with it, harmlessly.
    with pytest.raises(RuntimeError), store.transaction() as tx:
        undone = tx.load(case.id)
        engine.fire(undone, "voortgang_teruggekoppeld", actor=regisseur,
                    at=SWEEP + timedelta(days=1), store=tx)
        assert len(undone.history) == case.version
        raise RuntimeError("the application fails")
    assert store.load(case.id).to_dict() == case.to_dict()


def test_a_stale_save_of_a_loaded_case_is_still_refused(backend: Backend,
                                                        engine: Engine) -> None:
    store = backend.open(engine)
    case = with_history(engine, store, 1)
    loaded = store.load(case.id)
    moved = engine.fire(loaded, "voortgang_teruggekoppeld", actor=regisseur,
                        at=SWEEP + timedelta(days=1))
    with pytest.raises(ConcurrentUpdate):
        store.save(moved, loaded.version - 1)  # needs the entries before the version loaded
    store.save(moved, loaded.version)
    assert store.load(case.id).to_dict() == moved.to_dict()


def test_a_loaded_case_copies_to_another_store_whole(backend: Backend, engine: Engine,
                                                     tmp_path: Path) -> None:
    from zorgflow.store import SQLiteStore

    store = backend.open(engine)
    case = with_history(engine, store, 2)
    other = SQLiteStore(tmp_path / "other.db", engine)
    try:
        other.create(store.load(case.id))
        assert other.load(case.id).to_dict() == case.to_dict()
        assert engine.next_due(other.load(case.id)) == engine.next_due(case)
    finally:
        other.close()


def test_a_loaded_case_reports_a_malformed_stored_history_when_read(
        backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = with_history(engine, store, 1)
    run_sql(backend, f"UPDATE history SET to_state = 'afgesloten' WHERE case_id = '{case.id}' "
                     f"AND seq = {case.version}")
    loaded = store.load(case.id)
    with pytest.raises(CaseFormatError, match="is not where the history ends"):
        _ = loaded.history


# -- history in pages --------------------------------------------------------------------------


def test_history_pages_at_their_edges(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = with_history(engine, store, 3)
    full, last = dicts(case.history), case.version
    assert dicts(store.history(case.id)) == full
    assert dicts(store.history(case.id, after=0)) == full
    assert dicts(store.history(case.id, after=0, limit=None)) == full
    assert store.history(case.id, after=last) == []
    assert store.history(case.id, after=last + 5) == []
    assert store.history(case.id, after=2**70) == []
    assert store.history(case.id, limit=0) == []
    assert dicts(store.history(case.id, limit=1)) == full[:1]
    assert dicts(store.history(case.id, after=last - 1, limit=10)) == full[-1:]
    assert dicts(store.history(case.id, limit=2**70)) == full
    assert dicts(store.history(case.id, after=2, limit=3)) == full[2:5]
    assert [e.seq for e in store.history(case.id, after=2, limit=3)] == [3, 4, 5]
    with pytest.raises(CaseNotFound):
        store.history("onbekend", limit=0)
    with pytest.raises(CaseNotFound):
        store.history("onbekend", after=3)


@FEW_EXAMPLES
@given(sizes=st.lists(st.integers(1, 6), min_size=1, max_size=12))
def test_history_pages_put_together_are_the_whole_history(backend: Backend, engine: Engine,
                                                          sizes: list[int]) -> None:
    store = _store_with_one_case(backend, engine)
    case_id = store.find()[0].id
    whole = dicts(store.history(case_id))
    pages, after = [], 0
    for size in sizes:
        page = store.history(case_id, after=after, limit=size)
        assert len(page) == min(size, len(whole) - after)
        pages += page
        after = page[-1].seq if page else after
    rest = store.history(case_id, after=after)
    assert dicts(pages + rest) == whole


def _store_with_one_case(backend: Backend, engine: Engine) -> Any:
    """The backend's store with one case of 17 entries, made once (hypothesis runs many
    examples on one backend)."""
    store = getattr(backend, "one_case", None)
    if store is None:
        store = backend.open(engine)
        with_history(engine, store, 9)
        backend.one_case = store  # type: ignore[attr-defined]
    return store


# -- find in pages -----------------------------------------------------------------------------

#: ids whose order differs between code point and many locales' collations
IDS = ["B-2", "a-1", "Z", "é", "e", "10", "9", "_x", "zz", "Ä", "a-10", "a-2", "~"]


def _stored_cases(backend: Backend, engine: Engine) -> Any:
    """The backend's store with a case of each of `IDS`, a third of them moved on, made once
    (hypothesis runs many examples on one backend)."""
    store = getattr(backend, "cases", None)
    if store is None:
        store = backend.open(engine)
        with store.transaction() as tx:
            for n, case_id in enumerate(IDS):
                case = engine.start("lzn", actor=scp, at=T0, case_id=case_id, store=tx)
                if n % 3 == 0:
                    engine.fire(case, "passend_bevonden", actor=coord, at=T0, store=tx)
        backend.cases = store  # type: ignore[attr-defined]
    return store


def test_find_orders_by_code_point_on_every_back_end(backend: Backend, engine: Engine) -> None:
    store = _stored_cases(backend, engine)
    assert [r.id for r in store.find()] == sorted(IDS)
    assert [r.id for r in store.find(limit=3)] == sorted(IDS)[:3]
    assert store.find(limit=0) == []
    assert [r.id for r in store.find(limit=2**70)] == sorted(IDS)
    assert [r.id for r in store.find(after=sorted(IDS)[-1])] == []
    assert [r.id for r in store.find(after="")] == sorted(IDS)
    assert [r.id for r in store.find(after="a")] == [i for i in sorted(IDS) if i > "a"]
    assert [r.id for r in store.find(after="nergens", limit=2)] == [
        i for i in sorted(IDS) if i > "nergens"][:2]


@FEW_EXAMPLES
@given(size=st.integers(1, 15), state=st.sampled_from([None, "aangemeld", "uitgezocht"]))
def test_find_pages_cover_every_case_once(backend: Backend, engine: Engine, size: int,
                                          state: str | None) -> None:
    store = _stored_cases(backend, engine)
    expected = [r.id for r in store.find(state=state)]
    seen: list[str] = []
    after = None
    while True:
        page = store.find(state=state, limit=size, after=after)
        assert len(page) <= size
        seen += [r.id for r in page]
        if len(page) < size:
            break
        after = page[-1].id
    assert seen == expected == sorted(expected)
    assert len(set(seen)) == len(seen)


# -- idempotency keys --------------------------------------------------------------------------


def test_a_remembered_key_is_recalled_per_case(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    assert store.recall(case.id, "req-1") is None
    store.remember(case.id, "req-1", "sha256:aaa", 5, T0)
    assert store.recall(case.id, "req-1") == ("sha256:aaa", 5)
    assert store.recall("een-andere-zaak", "req-1") is None  # keys are scoped to a case
    store.remember("een-andere-zaak", "req-1", "sha256:bbb", 2, T0)  # no such case: fine
    assert store.recall("een-andere-zaak", "req-1") == ("sha256:bbb", 2)
    assert store.recall(case.id, "req-1") == ("sha256:aaa", 5)
    store.remember(case.id, "req-1", "sha256:aaa", 5, T0 + timedelta(hours=1))  # the same
    with pytest.raises(StoreError, match="remembered already"):
        store.remember(case.id, "req-1", "sha256:ccc", 5, T0)
    with pytest.raises(StoreError, match="remembered already"):
        store.remember(case.id, "req-1", "sha256:aaa", 6, T0)
    assert store.recall(case.id, "req-1") == ("sha256:aaa", 5)
    long_key = "k" * 500
    store.remember(case.id, long_key, "é" * 10_000, 1, T0)
    assert store.recall(case.id, long_key) == ("é" * 10_000, 1)


def test_a_remembered_key_commits_or_rolls_back_with_the_save(backend: Backend,
                                                              engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        moved = engine.fire(tx.load(case.id), "voortgang_teruggekoppeld", actor=regisseur,
                            at=T0, store=tx)
        tx.remember(case.id, "req-1", "sha256:aaa", moved.version, T0)
        assert tx.recall(case.id, "req-1") == ("sha256:aaa", moved.version)
        raise RuntimeError("the application fails after the save")
    assert store.recall(case.id, "req-1") is None
    assert store.load(case.id).version == case.version
    with store.transaction() as tx:
        moved = engine.fire(tx.load(case.id), "voortgang_teruggekoppeld", actor=regisseur,
                            at=T0, store=tx)
        tx.remember(case.id, "req-1", "sha256:aaa", moved.version, T0)
    assert store.recall(case.id, "req-1") == ("sha256:aaa", case.version + 1)
    assert store.load(case.id).version == case.version + 1
    # A refused remember inside a transaction writes nothing; the transaction goes on.
    with store.transaction() as tx:
        with pytest.raises(StoreError, match="remembered already"):
            tx.remember(case.id, "req-1", "sha256:zzz", 1, T0)
        tx.remember(case.id, "req-2", "sha256:bbb", 9, T0)
    assert store.recall(case.id, "req-1") == ("sha256:aaa", case.version + 1)
    assert store.recall(case.id, "req-2") == ("sha256:bbb", 9)


def test_keys_remembered_before_a_moment_are_forgotten(backend: Backend,
                                                       engine: Engine) -> None:
    store = backend.open(engine)
    amsterdam_summer = timezone(timedelta(hours=2))
    for n in range(5):
        store.remember("zaak", f"req-{n}", "d", 1, T0 + timedelta(days=n))
    store.remember("andere", "req-0", "d", 1, T0)
    assert store.forget_keys(T0) == 0  # strictly before
    assert store.forget_keys(datetime.min.replace(tzinfo=UTC)) == 0
    # the same instant in another zone: T0 + 1 day is 11:00 at +02:00
    assert store.forget_keys((T0 + timedelta(days=1)).astimezone(amsterdam_summer)) == 2
    assert store.recall("zaak", "req-0") is None and store.recall("andere", "req-0") is None
    assert store.recall("zaak", "req-1") == ("d", 1)
    with store.transaction() as tx:
        assert tx.forget_keys(T0 + timedelta(days=3, microseconds=1)) == 3
    assert store.forget_keys(datetime.max.replace(tzinfo=UTC)) == 1
    assert store.forget_keys(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))) == 0
    assert all(store.recall("zaak", f"req-{n}") is None for n in range(5))


#: (what is called, the call, what it raises, what its message says)
WRONG_ARGUMENTS: list[tuple[str, Any, type[Exception], str]] = [
    ("history(after=str)", lambda s: s.history("x", after="1"), TypeError,
     "after must be an int"),
    ("history(after=True)", lambda s: s.history("x", after=True), TypeError,
     "after must be an int"),
    ("history(after=None)", lambda s: s.history("x", after=None), TypeError,
     "after must be an int"),
    ("history(after=-1)", lambda s: s.history("x", after=-1), ValueError,
     "after must be 0 or more"),
    ("history(limit=str)", lambda s: s.history("x", limit="2"), TypeError,
     "limit must be an int or None"),
    ("history(limit=float)", lambda s: s.history("x", limit=1.5), TypeError,
     "limit must be an int or None"),
    ("history(limit=-1)", lambda s: s.history("x", limit=-1), ValueError,
     "limit must be 0 or more"),
    ("find(limit=str)", lambda s: s.find(limit="2"), TypeError, "limit must be an int or None"),
    ("find(limit=False)", lambda s: s.find(limit=False), TypeError,
     "limit must be an int or None"),
    ("find(limit=-1)", lambda s: s.find(limit=-1), ValueError, "limit must be 0 or more"),
    ("find(after=int)", lambda s: s.find(after=3), TypeError, "after must be a str or None"),
    ("find(after=NUL)", lambda s: s.find(after="a\x00"), UnstorableValue, "after holds a NUL"),
    ("remember(case_id=int)", lambda s: s.remember(1, "k", "d", 1, T0), TypeError,
     "case_id must be a str"),
    ("remember(key=None)", lambda s: s.remember("c", None, "d", 1, T0), TypeError,
     "key must be a str"),
    ("remember(request=bytes)", lambda s: s.remember("c", "k", b"d", 1, T0), TypeError,
     "request must be a str"),
    ("remember(version=str)", lambda s: s.remember("c", "k", "d", "1", T0), TypeError,
     "version must be an int"),
    ("remember(version=True)", lambda s: s.remember("c", "k", "d", True, T0), TypeError,
     "version must be an int"),
    ("remember(version=0)", lambda s: s.remember("c", "k", "d", 0, T0), ValueError,
     "version must be 1 or more"),
    ("remember(at=str)", lambda s: s.remember("c", "k", "d", 1, "2026-03-02"), TypeError,
     "at must be a datetime"),
    ("remember(at=naive)", lambda s: s.remember("c", "k", "d", 1, datetime(2026, 3, 2)),
     ValueError, "at must be an aware datetime"),
    ("remember(key=NUL)", lambda s: s.remember("c", "k\x00", "d", 1, T0), UnstorableValue,
     "key holds a NUL"),
    ("remember(request=surrogate)", lambda s: s.remember("c", "k", "\ud800", 1, T0),
     UnstorableValue, "request holds a lone surrogate"),
    ("remember(key=long)", lambda s: s.remember("c", "k" * 501, "d", 1, T0), UnstorableValue,
     "key is 501 characters long"),
    ("remember(case_id=long)", lambda s: s.remember("c" * 501, "k", "d", 1, T0),
     UnstorableValue, "case_id is 501 characters long"),
    ("recall(case_id=int)", lambda s: s.recall(1, "k"), TypeError, "case_id must be a str"),
    ("recall(key=list)", lambda s: s.recall("c", ["k"]), TypeError, "key must be a str"),
    ("forget_keys(str)", lambda s: s.forget_keys("2026"), TypeError,
     "before must be a datetime"),
    ("forget_keys(naive)", lambda s: s.forget_keys(datetime(2026, 1, 1)), ValueError,
     "before must be an aware datetime"),
]


@pytest.mark.parametrize(("call", "error", "message"),
                         [pytest.param(*rest, id=name) for name, *rest in WRONG_ARGUMENTS])
def test_wrong_arguments_are_refused_alike_on_every_back_end(
        backend: Backend, engine: Engine, call: Any, error: type[Exception],
        message: str) -> None:
    store = backend.open(engine)
    engine.start("lzn", actor=scp, at=T0, case_id="x", store=store)
    with pytest.raises(error, match=re.escape(message)) as caught:
        call(store)
    assert not type(caught.value).__module__.startswith(("sqlite3", "psycopg"))
    assert store.recall("c", "k") is None  # nothing was remembered


# -- the schema --------------------------------------------------------------------------------


def _back_to_schema_2(backend: Backend) -> None:
    """Make the store's database what a store of schema version 2 wrote: no signals column in
    cases, no idempotency keys."""
    if backend.name == "sqlite":
        run_sql(backend, "DROP TABLE idempotency_keys",
                "ALTER TABLE cases DROP COLUMN signals",
                "UPDATE zorgflow_schema SET version = 2")
    else:
        run_sql(backend, "DROP TABLE idempotency_keys", "DROP INDEX cases_id_by_code_point",
                "ALTER TABLE cases DROP COLUMN signals", "UPDATE schema_version SET version = 2")


def _schema_version(backend: Backend) -> int:
    table = "zorgflow_schema" if backend.name == "sqlite" else "schema_version"
    (row,) = run_sql(backend, f"SELECT version FROM {table}")
    return int(row[0])


def test_a_schema_2_store_migrates_and_keeps_every_case(backend: Backend,
                                                        engine: Engine) -> None:
    store = backend.open(engine)
    quiet = in_uitvoering(engine, store, case_id="zonder-signaal")
    signalled = with_history(engine, store, 2, case_id="met-signaal")
    twice = with_history(engine, store, 1, case_id="twee-signalen")
    twice = engine.record_signals(twice, SWEEP + timedelta(days=40), store=store)
    fresh = engine.start("lzn", actor=scp, at=T0, case_id="net-gemeld", store=store)
    cases = [quiet, signalled, twice, fresh]
    assert [e.kind for e in twice.history].count("signal") == 2
    store.close()
    _back_to_schema_2(backend)
    assert _schema_version(backend) == 2

    store = backend.open(engine)
    assert _schema_version(backend) == SCHEMA_VERSION
    for case in cases:
        loaded = store.load(case.id)
        assert loaded.to_dict() == case.to_dict()
        assert dicts(store.history(case.id)) == dicts(case.history)
        assert engine.next_due(loaded) == engine.next_due(case)
        # the signals recorded before the migration are known without reading the history
        run_sql(backend, f"DELETE FROM history WHERE case_id = '{case.id}' AND kind = 'signal'")
        assert engine.record_signals(store.load(case.id), SWEEP + timedelta(days=41)
                                     ).version == engine.record_signals(
            case, SWEEP + timedelta(days=41)).version
    assert sorted(r.id for r in store.due(SWEEP + timedelta(days=41))) == [
        r.id for r in store.find() if r.next_due_at is not None
        and r.next_due_at <= SWEEP + timedelta(days=41)]
    # the migrated store takes idempotency keys and runs on
    store.remember(quiet.id, "req-1", "d", quiet.version, T0)
    assert store.recall(quiet.id, "req-1") == ("d", quiet.version)
    moved = engine.fire(store.load(quiet.id), "voortgang_teruggekoppeld", actor=regisseur,
                        at=T0, store=store)
    assert store.load(quiet.id).version == moved.version
    store.close()
    assert backend.open(engine).load(quiet.id).version == moved.version  # opens without DDL


def test_the_signals_column_follows_the_history(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = with_history(engine, store, 1)
    (row,) = run_sql(backend, f"SELECT signals FROM cases WHERE id = '{case.id}'")
    stored = row[0] if isinstance(row[0], list) else json.loads(row[0])
    assert [tuple(pair) for pair in stored] == [
        (e.event, e.data["due_at"]) for e in case.history if e.kind == "signal"]
