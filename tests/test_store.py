"""The stores, through their public API, against SQLite and PostgreSQL alike."""

from __future__ import annotations

import copy
import json
import math
import multiprocessing
import os
import re
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import Backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_workers import (
    COORDINATOR_ID,
    REGISSEUR_ID,
    T0,
    fire_many,
    hold_a_transaction,
    stop_in_the_middle_of_a_save,
)

import zorgflow
from zorgflow import Actor, Case, Engine
from zorgflow.store import (
    CaseExists,
    CaseNotFound,
    ConcurrentUpdate,
    SQLiteStore,
    Store,
    StoreError,
    StoreUnavailable,
    UnstorableValue,
)

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
scp = Actor("s.scp", roles={"sociaal_contactpunt"})
coord = Actor(COORDINATOR_ID, roles={"lzn_coordinator"})
regisseur = Actor(REGISSEUR_ID, roles={"ketenpartner"})
PERSONAL = {"naam": "Inwoner Testpersoon", "bsn": "999990019", "geboortedatum": "1961-04-30"}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_directory(WORKFLOWS)


def in_uitvoering(engine: Engine, store: Store, at: datetime = T0, **start) -> Case:
    case = engine.start("lzn", actor=scp, at=at,
                        facts={**PERSONAL, "bovenliggende_problematiek": "schulden"},
                        store=store, **start)
    for event, data in [("passend_bevonden", None), ("geen_actief_dossier", None),
                        ("casusregisseur_benoemd", {"casusregisseur": REGISSEUR_ID,
                                                    "ketenpartner": "GGZ"})]:
        case = engine.fire(case, event, actor=coord, data=data, at=at, store=store)
    return case


class Rot13Cipher:
    """A stand-in for ``cryptography.fernet.Fernet``: reversible, keyed, checks its key."""

    def __init__(self, key: int) -> None:
        self.key = key

    def encrypt(self, data: bytes) -> bytes:
        return bytes([self.key]) + bytes((b + self.key) % 256 for b in data)

    def decrypt(self, token: bytes) -> bytes:
        if token[0] != self.key:
            raise ValueError("wrong key")
        return bytes((b - self.key) % 256 for b in token[1:])


# -- the basic contract ------------------------------------------------------------------------


def test_a_store_is_a_store(backend: Backend, engine: Engine) -> None:
    assert isinstance(backend.open(engine), Store)


def test_created_case_loads_back_equal(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    loaded = store.load(case.id)
    assert loaded.to_dict() == case.to_dict()
    assert [e.to_dict() for e in store.history(case.id)] == [e.to_dict() for e in case.history]
    assert loaded.case_roles == {"casusregisseur": REGISSEUR_ID}
    # The loaded case runs on: the casusregisseur may report progress.
    moved = engine.fire(loaded, "voortgang_teruggekoppeld", actor=regisseur, at=T0, store=store)
    assert store.load(case.id).version == moved.version == case.version + 1
    assert store.load(case.id).to_dict() == moved.to_dict()


def test_personal_facts_changed_and_forgotten_read_back(backend: Backend,
                                                        engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    case = engine.set_facts(case, {"bsn": None, "adres": "Kerkstraat 1"}, actor=coord, at=T0,
                            store=store)
    case = engine.fire(case, "voortgang_teruggekoppeld", actor=regisseur, at=T0, store=store)
    loaded = store.load(case.id)
    assert "bsn" not in loaded.facts and loaded.facts["adres"] == "Kerkstraat 1"
    assert loaded.history[-2].data == {"bsn": None, "adres": "Kerkstraat 1"}
    assert loaded.to_dict() == case.to_dict()


def test_a_case_survives_reopening_the_store(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    store.close()
    again = backend.open(engine)
    assert again.load(case.id).to_dict() == case.to_dict()


def test_time_zones_of_the_history_read_back_exactly(backend: Backend, engine: Engine) -> None:
    from zoneinfo import ZoneInfo

    store = backend.open(engine)
    summer = datetime(2026, 7, 1, 23, 30, 0, 123456, tzinfo=ZoneInfo("Europe/Amsterdam"))
    case = in_uitvoering(engine, store, at=summer)
    entry = store.load(case.id).history[0]
    assert entry.at == summer and entry.at.utcoffset() == timedelta(hours=2)


def test_stale_save_raises_and_writes_nothing(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    first = engine.fire(case, "voortgang_teruggekoppeld", actor=regisseur, at=T0, store=store)
    before = store.load(case.id).to_dict()
    with pytest.raises(ConcurrentUpdate) as caught:
        engine.fire(case, "stagnatie_gemeld", actor=regisseur, at=T0, store=store)
    assert (caught.value.expected, caught.value.actual) == (case.version, first.version)
    assert "load it again" in str(caught.value)
    assert store.load(case.id).to_dict() == before


def test_each_save_bumps_the_version_by_its_new_entries(backend: Backend,
                                                       engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    two = engine.set_facts(engine.fire(case, "voortgang_teruggekoppeld", actor=regisseur,
                                       at=T0), {"kinderen_betrokken": True}, actor=coord, at=T0)
    store.save(two, case.version)
    loaded = store.load(case.id)
    assert loaded.version == case.version + 2
    assert [e.seq for e in loaded.history] == list(range(1, loaded.version + 1))
    with pytest.raises(StoreError, match="nothing to save"):
        store.save(loaded, loaded.version)


def test_errors_for_missing_and_duplicate_cases(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = engine.start("lzn", actor=scp, at=T0, store=store)
    with pytest.raises(CaseExists, match=case.id):
        store.create(case)
    with pytest.raises(CaseNotFound, match="no case nergens is stored"):
        store.load("nergens")
    other = engine.start("lzn", actor=scp, at=T0)
    moved = engine.fire(other, "passend_bevonden", actor=coord, at=T0)
    with pytest.raises(CaseNotFound, match="create it first"):
        store.save(moved, other.version)
    assert store.find() == [ref for ref in store.find() if ref.id == case.id]


def test_find_by_workflow_state_and_role_holder(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    a = in_uitvoering(engine, store)
    b = engine.start("lzn", actor=scp, at=T0, store=store)
    c = engine.start("stappenplan", actor=Actor("c.steun", roles={"clientondersteuner"}),
                     at=T0, store=store)
    assert {r.id for r in store.find(workflow_id="lzn")} == {a.id, b.id}
    assert [r.id for r in store.find(state="uitvoering")] == [a.id]
    assert [r.id for r in store.find(role_holder=REGISSEUR_ID)] == [a.id]
    assert store.find(role_holder="iemand.anders") == []
    ref = store.find(workflow_id="lzn", state="aangemeld")[0]
    assert (ref.id, ref.workflow_id, ref.state, ref.version) == (b.id, "lzn", "aangemeld", 1)
    assert [r.id for r in store.find(workflow_id="stappenplan")] == [c.id]


# -- timers ------------------------------------------------------------------------------------


def test_due_lists_cases_whose_timer_has_come(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    early = in_uitvoering(engine, store, at=T0)
    late = in_uitvoering(engine, store, at=T0 + timedelta(days=10))
    engine.start("lzn", actor=scp, at=T0, store=store)  # no timer in 'aangemeld'
    month = engine.next_due(early)
    assert month == datetime(2026, 4, 2, 8, 0, tzinfo=UTC)  # 10:00 in Amsterdam, now CEST
    assert store.due(month - timedelta(microseconds=1)) == []
    assert [r.id for r in store.due(month)] == [early.id]
    both = store.due(T0 + timedelta(days=60))
    assert [r.id for r in both] == [early.id, late.id]
    assert both[0].next_due_at == month
    assert [r.id for r in store.due(T0 + timedelta(days=60), limit=1)] == [early.id]


def test_a_recorded_signal_is_not_due_again(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    sweep = T0 + timedelta(days=40)
    with store.transaction() as tx:
        for ref in tx.due(sweep):
            engine.record_signals(tx.load(ref.id), sweep, store=tx)
    assert store.due(sweep) == []
    assert store.load(case.id).history[-1].kind == "signal"
    # Reporting progress restarts the timer: the case is due again a month later.
    reported = engine.fire(store.load(case.id), "voortgang_teruggekoppeld", actor=regisseur,
                           at=sweep, store=store)
    assert store.due(sweep + timedelta(days=31))[0].id == reported.id


def test_sqlite_due_is_an_index_scan(tmp_path: Path, engine: Engine) -> None:
    SQLiteStore(tmp_path / "cases.db", engine).close()
    conn = sqlite3.connect(tmp_path / "cases.db")
    from zorgflow.store.sqlite import DUE_SQL

    plan = " ".join(str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {DUE_SQL}", ("2026",)))
    assert "USING INDEX cases_next_due_at" in plan, plan
    assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan


def test_due_needs_an_aware_time(backend: Backend, engine: Engine) -> None:
    with pytest.raises(StoreError, match="aware"):
        backend.open(engine).due(datetime(2026, 1, 1))


# -- transactions ------------------------------------------------------------------------------


def test_a_failed_transaction_writes_nothing(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        engine.fire(tx.load(case.id), "voortgang_teruggekoppeld", actor=regisseur, at=T0,
                    store=tx)
        raise RuntimeError("the application fails after the save")
    assert store.load(case.id).to_dict() == case.to_dict()


def test_transactions_do_not_nest(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    with pytest.raises(StoreError, match="already open"), store.transaction(), \
            store.transaction():
        pass


def test_postgres_due_hands_each_case_to_one_worker(tmp_path: Path, engine: Engine) -> None:
    import threading

    backend = Backend("postgres", tmp_path)
    try:
        store = backend.open(engine)
        ids = {in_uitvoering(engine, store).id for _ in range(3)}
        sweep = T0 + timedelta(days=40)
        taken: list[set[str]] = []
        holding = threading.Barrier(3)

        def worker() -> None:
            with store.transaction() as tx:
                mine = {ref.id for ref in tx.due(sweep, limit=1)}
                taken.append(mine)
                holding.wait(timeout=30)  # all three hold their locks at the same time

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(len(t) for t in taken) == [1, 1, 1]
        assert set().union(*taken) == ids
    finally:
        backend.cleanup()


# -- schema ------------------------------------------------------------------------------------


def test_a_newer_schema_is_refused(backend: Backend, engine: Engine) -> None:
    backend.open(engine).close()
    if backend.name == "sqlite":
        with sqlite3.connect(backend.path) as conn:
            conn.execute("UPDATE zorgflow_schema SET version = 99")
    else:
        import psycopg

        with psycopg.connect(backend.dsn, autocommit=True) as conn:
            conn.execute(f"UPDATE {backend.schema}.schema_version SET version = 99")
    with pytest.raises(StoreError, match=r"schema version 99.*upgrade zorgflow"):
        backend.open(engine)


# -- personal data -----------------------------------------------------------------------------


def _columns(backend: Backend, sql: str) -> list[str]:
    if backend.name == "sqlite":
        with sqlite3.connect(backend.path) as conn:
            return [json.dumps(row, default=str) for row in conn.execute(sql)]
    import psycopg

    with psycopg.connect(backend.dsn, autocommit=True,
                         options=f"-c search_path={backend.schema}") as conn:
        return [json.dumps(row, default=str) for row in conn.execute(sql)]


def test_personal_data_stays_out_of_the_case_and_history_tables(backend: Backend,
                                                                engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    shared = _columns(backend, "SELECT facts, timers FROM cases") + _columns(
        backend, "SELECT data, explanation, dossier FROM history")
    for value in PERSONAL.values():
        assert not any(value in row for row in shared)
    personal = _columns(backend, "SELECT name, value FROM personal_data ORDER BY seq, name")
    assert any(PERSONAL["bsn"] in row for row in personal)
    assert store.load(case.id).facts["bsn"] == PERSONAL["bsn"]


def test_personal_data_can_be_encrypted(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine, cipher=Rot13Cipher(7))
    case = in_uitvoering(engine, store)
    stored = _columns(backend, "SELECT name, value, secret FROM personal_data")
    assert stored and not any(PERSONAL["naam"] in row for row in stored)
    assert store.load(case.id).to_dict() == case.to_dict()
    with pytest.raises(StoreError, match="cannot be decrypted"):
        backend.open(engine, cipher=Rot13Cipher(8)).load(case.id)
    with pytest.raises(StoreError, match="encrypted personal data"):
        backend.open(engine).load(case.id)


def test_fernet_fits_the_cipher_protocol(tmp_path: Path, engine: Engine) -> None:
    fernet = pytest.importorskip("cryptography.fernet")
    key = fernet.Fernet.generate_key()
    store = SQLiteStore(tmp_path / "cases.db", engine, cipher=fernet.Fernet(key))
    case = in_uitvoering(engine, store)
    assert SQLiteStore(tmp_path / "cases.db", engine, cipher=fernet.Fernet(key)).load(
        case.id).facts["naam"] == PERSONAL["naam"]


def test_a_store_needs_the_engine(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Engine"):
        SQLiteStore(tmp_path / "cases.db", "workflows")  # type: ignore[arg-type]


def test_postgres_store_does_not_show_its_password(tmp_path: Path, engine: Engine) -> None:
    zorgflow_store = pytest.importorskip("zorgflow.store.postgres")
    with pytest.raises(StoreError) as caught:
        zorgflow_store.PostgresStore("postgresql://u:geheim-wachtwoord@127.0.0.1:1/db", engine,
                                     connect_timeout=2)
    assert "geheim-wachtwoord" not in str(caught.value)
    assert "connect" in str(caught.value)


# -- many processes ----------------------------------------------------------------------------

WORKERS, FIRES, CASES = 8, 500, 50


def kill_when_ready(worker: multiprocessing.process.BaseProcess, ready: Path) -> None:
    """Start ``worker``, wait until it writes ``ready``, and SIGKILL it there."""
    worker.start()
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert worker.is_alive() and time.monotonic() < deadline, "worker did not get ready"
        time.sleep(0.05)
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(timeout=30)
    assert worker.exitcode == -signal.SIGKILL


def test_many_processes_lose_no_update(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    ids = [in_uitvoering(engine, store, case_id=f"casus-{n:02}").id for n in range(CASES)]
    start_versions = {case_id: store.load(case_id).version for case_id in ids}
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(fire_many, [(backend.spec(), w, ids, FIRES, w)
                                           for w in range(WORKERS)])
    accepted = [fire for worker in results for fire in worker]
    assert len(accepted) == WORKERS * FIRES
    workflow = engine.workflow("lzn")
    moves = {(s, t.event, t.target) for t in workflow.transitions for s in t.from_states}
    seen: dict[tuple[str, str], int] = {}
    for case_id in ids:
        case = store.load(case_id)
        history = case.history
        # Versions are gapless: every save added exactly its own entries.
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        assert case.version == len(history)
        # The state is what the history explains, step by step.
        state = None
        for entry in history:
            assert entry.from_state == state
            if entry.kind == "fire":
                assert (entry.from_state, entry.event, entry.to_state) in moves
            state = entry.to_state
        assert state == case.state
        for entry in history[start_versions[case_id]:]:
            key = (case_id, entry.at.isoformat())
            seen[key] = seen.get(key, 0) + 1
        # The facts are what the last fact change in the history set.
        last = [e for e in history if e.kind == "set_facts" and "multiproblematiek" in e.data]
        if last:
            assert case.facts["multiproblematiek"] == last[-1].data["multiproblematiek"]
    assert {store.load(i).state for i in ids} <= {"uitvoering", "stagnatie"}
    assert any(e.event == "plan_aangepast" for i in ids for e in store.load(i).history)
    # Every accepted step is in the history exactly once, and nothing else is.
    assert sorted(seen.values()) == [1] * len(accepted)
    assert set(seen) == {(case_id, at) for case_id, at, _ in accepted}
    for case_id, at, version in accepted:
        assert store.load(case_id).history[version - 1].at.isoformat() == at


def test_a_worker_killed_in_the_middle_of_a_save_leaves_nothing(backend: Backend,
                                                                 engine: Engine,
                                                                 tmp_path: Path) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    before = store.load(case.id).to_dict()
    ready = tmp_path / "ready"
    context = multiprocessing.get_context("spawn")
    worker = context.Process(target=stop_in_the_middle_of_a_save,
                             args=(backend.spec(), case.id, ready))
    kill_when_ready(worker, ready)
    assert store.load(case.id).to_dict() == before
    moved = engine.fire(store.load(case.id), "voortgang_teruggekoppeld", actor=regisseur,
                        at=T0, store=store)
    assert store.load(case.id).version == moved.version


def test_a_killed_worker_leaves_nothing_half_written(backend: Backend, engine: Engine,
                                                     tmp_path: Path) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    before = store.load(case.id).to_dict()
    ready = tmp_path / "ready"
    context = multiprocessing.get_context("spawn")
    worker = context.Process(target=hold_a_transaction, args=(backend.spec(), case.id, ready))
    kill_when_ready(worker, ready)
    assert store.load(case.id).to_dict() == before
    # The store is not left locked: the next step goes through.
    moved = engine.fire(store.load(case.id), "voortgang_teruggekoppeld", actor=regisseur,
                        at=T0, store=store)
    assert store.load(case.id).version == moved.version == case.version + 1
    assert zorgflow.Case.from_dict(store.load(case.id).to_dict()).version == moved.version


# -- regressions found in review ---------------------------------------------------------------


def test_a_failed_call_caught_inside_a_transaction_writes_nothing(
        backend: Backend, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    store = backend.open(engine)
    kept = in_uitvoering(engine, store)
    failing = in_uitvoering(engine, store)

    def fail_after_the_update(*args: object) -> None:
        raise StoreError("the disk gave up halfway")

    with store.transaction() as tx:
        created = engine.start("lzn", actor=scp, at=T0, store=tx)
        monkeypatch.setattr(store, "_write_rest", fail_after_the_update)
        with pytest.raises(StoreError, match="halfway"):
            engine.fire(tx.load(failing.id), "voortgang_teruggekoppeld", actor=regisseur,
                        at=T0, store=tx)
        monkeypatch.undo()
        engine.fire(tx.load(kept.id), "voortgang_teruggekoppeld", actor=regisseur, at=T0,
                    store=tx)
    assert store.load(failing.id).to_dict() == failing.to_dict()
    assert store.load(created.id).version == 1
    assert store.load(kept.id).version == kept.version + 1


def test_a_nul_character_is_refused_by_name_and_nothing_written(backend: Backend,
                                                                engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    for facts in ({"naam": "Jan\x00Jansen"}, {"bovenliggende_problematiek": "a\x00"}):
        with pytest.raises(StoreError, match=f"'{next(iter(facts))}' holds a NUL") as caught:
            engine.set_facts(case, facts, actor=coord, at=T0, store=store)
        assert "Jan" not in str(caught.value)
    assert store.load(case.id).to_dict() == case.to_dict()


def test_personal_event_data_is_masked_in_stored_explanations(backend: Backend,
                                                              tmp_path: Path) -> None:
    text = (WORKFLOWS / "lzn.yaml").read_text(encoding="utf-8").replace(
        "      afsluitreden: {enum_from: rules.afsluitcriteria, label: Afsluitreden "
        "(afsluitcriterium dat geldt)}",
        "      afsluitreden: {enum_from: rules.afsluitcriteria, label: Afsluitreden "
        "(afsluitcriterium dat geldt)}\n"
        "      bsn_melder: {type: string, personal_data: true, label: BSN van de melder}")
    text = text.replace("    when: data.afsluitreden in rules.afsluitcriteria.matched",
                        "    when: data.afsluitreden in rules.afsluitcriteria.matched and "
                        "known(data.bsn_melder)")
    assert "known(data.bsn_melder)" in text
    (tmp_path / "lzn.yaml").write_text(text, encoding="utf-8")
    engine = Engine([zorgflow.load_workflow(tmp_path / "lzn.yaml")])
    store = backend.open(engine)
    case = engine.set_facts(in_uitvoering(engine, store), {"zorg_ketenpartner_adequaat": True},
                            actor=coord, at=T0, store=store)
    data = {"afsluitreden": "zorg_bij_ketenpartner", "bsn_melder": "999990020"}
    closed = engine.fire(case, "afsluiten", actor=coord, data=data, at=T0, store=store)
    assert "<persoonsgegeven>" in " ".join(closed.history[-1].explanation)
    stored = _columns(backend, "SELECT data, explanation FROM history")
    assert stored and not any("999990020" in row for row in stored)
    assert store.load(case.id).history[-1].data["bsn_melder"] == "999990020"


def test_a_signal_is_recorded_once_across_a_dst_change(backend: Backend,
                                                       engine: Engine) -> None:
    from zoneinfo import ZoneInfo

    store = backend.open(engine)
    october = datetime(2026, 10, 10, 12, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    case = in_uitvoering(engine, store, at=october)  # due a month later, after the DST change
    sweep = october + timedelta(days=40)
    engine.record_signals(case, sweep, store=store)
    again = engine.record_signals(store.load(case.id), sweep, store=store)
    assert [e.kind for e in again.history].count("signal") == 1
    assert store.due(sweep) == [] and engine.next_due(store.load(case.id)) is None


def test_forked_workers_use_their_own_connections(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)  # the parent has a connection open now
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_set_facts_in_forked_child,
                               args=(store, engine, case.id, w, results)) for w in range(4)]
    for worker in workers:
        worker.start()
    versions = sorted(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
    assert versions == [case.version + k for k in range(1, 5)]
    # The parent's connection still works after its children went away.
    assert store.load(case.id).version == case.version + 4


def _set_facts_in_forked_child(store: Store, engine: Engine, case_id: str, worker: int,
                               results: multiprocessing.Queue) -> None:
    while True:
        try:
            results.put(engine.set_facts(store.load(case_id),
                                         {"multiproblematiek": bool(worker % 2)},
                                         actor=coord, at=T0, store=store).version)
            return
        except ConcurrentUpdate:
            continue


def test_processes_opening_a_new_store_at_once(backend: Backend, engine: Engine) -> None:
    from store_workers import open_and_set_facts

    case = in_uitvoering(engine, backend.open(engine))
    for store in backend.stores:
        store.close()
    if backend.name == "sqlite":
        backend.path.unlink()
        for suffix in ("-wal", "-shm"):
            backend.path.with_name(backend.path.name + suffix).unlink(missing_ok=True)
        context = multiprocessing.get_context("spawn")
        with context.Pool(8) as pool:
            done = pool.starmap(_open_new_sqlite, [(str(backend.path), w) for w in range(8)])
        assert done == [True] * 8
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        versions = pool.starmap(open_and_set_facts, [(backend.spec(), case.id, w)
                                                     for w in range(4)])
    assert sorted(versions) == [case.version + k for k in range(1, 5)]


def _open_new_sqlite(path: str, worker: int) -> bool:
    engine = Engine.from_directory(WORKFLOWS)
    store = SQLiteStore(path, engine)
    engine.start("lzn", actor=scp, at=T0, store=store)
    store.close()
    return True


def test_short_lived_threads_do_not_pile_up_connections(tmp_path: Path, engine: Engine) -> None:
    import gc
    import threading

    import psycopg

    backend = Backend("postgres", tmp_path)
    try:
        store = backend.open(engine)
        case = in_uitvoering(engine, store)

        def backends() -> int:
            with psycopg.connect(backend.dsn, autocommit=True) as conn:
                row = conn.execute("SELECT count(*) FROM pg_stat_activity "
                                   "WHERE datname = current_database()").fetchone()
                return int(row[0]) - 1 if row else 0

        before = backends()
        for _ in range(3):
            threads = [threading.Thread(target=store.load, args=(case.id,)) for _ in range(10)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        gc.collect()
        assert backends() <= before + 1
    finally:
        backend.cleanup()


def test_sqlite_store_refuses_an_in_memory_database(engine: Engine) -> None:
    with pytest.raises(ValueError, match="memory"):
        SQLiteStore(":memory:", engine)


@pytest.mark.parametrize("schema", ["Zorg", "pg_zorg", "a-b", "x; DROP TABLE cases"])
def test_postgres_schema_names_are_checked(schema: str, engine: Engine) -> None:
    zorgflow_store = pytest.importorskip("zorgflow.store.postgres")
    with pytest.raises(ValueError, match="identifier"):
        zorgflow_store.PostgresStore("postgresql://nowhere/db", engine, schema=schema)


# -- values and arguments no store takes (issue 17, finding 10) --------------------------------

PROEF = """\
id: proef
version: 1
label: Proef
start_by: [medewerker]
roles: {medewerker: {label: Medewerker}}
facts:
  x: {type: number, label: X}
  s: {type: string, label: S}
  p: {type: string, label: P, personal_data: true}
  lijst: {type: list, items: string, label: Lijst}
states:
  open: {label: Open, initial: true}
transitions:
  - event: melden
    from: open
    to: open
    by: [medewerker]
    data:
      reden: {type: string, label: Reden, required: false}
      getal: {type: number, label: Getal, required: false}
      wie: {type: string, label: Wie, personal_data: true, required: false}
"""
medewerker = Actor("m.medewerker", roles={"medewerker"})
SECRET = "Geheim-Inwoner-4711"  # a personal value no message may show


@pytest.fixture(scope="module")
def proef() -> Engine:
    return Engine([zorgflow.load_workflow_text(PROEF)])


def tampered(case: Case, *, facts: dict[str, Any] | None = None,
             data: dict[str, Any] | None = None) -> Case:
    """``case`` with values the engine would not make (a caller's own code, or an engine that
    lets them through): its facts and its last entry's data changed, read back unverified."""
    raw = case.to_dict()
    raw["facts"].update(facts or {})
    raw["history"][-1]["data"].update(data or {})
    return Case.from_dict(raw, verify=False)


def comparable(case: Case) -> dict[str, Any]:
    """What a case holds, to compare with ``==`` (-0.0 equals 0.0; the digest is left out)."""
    return {k: v for k, v in case.to_dict().items() if k != "digest"}


@pytest.mark.parametrize(("facts", "data", "where", "problem"), [
    ({"x": math.nan}, {}, "fact 'x'", "NaN"),
    ({"x": math.inf}, {}, "fact 'x'", "infinite"),
    ({"x": -math.inf}, {}, "fact 'x'", "infinite"),
    ({}, {"getal": math.nan}, "data field 'getal' of history entry 2", "NaN"),
    ({}, {"getal": math.inf}, "data field 'getal' of history entry 2", "infinite"),
])
def test_nan_and_infinity_are_refused_by_name_on_every_back_end(
        backend: Backend, proef: Engine, facts: dict[str, Any], data: dict[str, Any],
        where: str, problem: str) -> None:
    store = backend.open(proef)
    case = proef.start("proef", actor=medewerker, at=T0, store=store)
    moved = proef.fire(case, "melden", actor=medewerker, data={"getal": 1.5}, at=T0)
    before = store.load(case.id).to_dict()
    with pytest.raises(UnstorableValue, match=f"{re.escape(where)} holds .*{problem}") as caught:
        store.save(tampered(moved, facts=facts, data=data), case.version)
    assert isinstance(caught.value, StoreError) and isinstance(caught.value, ValueError)
    assert "nothing was written" in str(caught.value)
    assert store.load(case.id).to_dict() == before


@pytest.mark.parametrize(("bad", "problem"), [("\x00", "NUL"), ("\ud800", "surrogate"),
                                              ("\udfff", "surrogate")])
@pytest.mark.parametrize(("step", "where"), [
    ("fact", "fact 's'"),
    ("personal fact", "fact 'p'"),
    ("list item", "fact 'lijst'"),
    ("data field", "data field 'reden' of history entry 2"),
    ("personal data field", "data field 'wie' of history entry 2"),
    ("actor", "the actor id of history entry 2"),
])
def test_nul_and_lone_surrogates_are_refused_by_name_on_every_back_end(
        backend: Backend, proef: Engine, bad: str, problem: str, step: str,
        where: str) -> None:
    store = backend.open(proef)
    case = proef.start("proef", actor=medewerker, at=T0, store=store)
    before = store.load(case.id).to_dict()
    value = SECRET + bad + SECRET
    with pytest.raises(UnstorableValue, match=f"^{re.escape(where)} holds .*{problem}") as caught:
        if step == "fact":
            proef.set_facts(case, {"s": value}, actor=medewerker, at=T0, store=store)
        elif step == "personal fact":
            proef.set_facts(case, {"p": value}, actor=medewerker, at=T0, store=store)
        elif step == "list item":
            proef.set_facts(case, {"lijst": ["a", value]}, actor=medewerker, at=T0, store=store)
        elif step == "data field":
            proef.fire(case, "melden", actor=medewerker, data={"reden": value}, at=T0,
                       store=store)
        elif step == "personal data field":
            proef.fire(case, "melden", actor=medewerker, data={"wie": value}, at=T0,
                       store=store)
        else:
            proef.fire(case, "melden", actor=Actor(value, roles={"medewerker"}), at=T0,
                       store=store)
    assert SECRET not in str(caught.value) and bad not in str(caught.value)
    assert store.load(case.id).to_dict() == before


@pytest.mark.parametrize("case_id", ["casus\x00", "casus\ud800", "c" * 501])
def test_a_case_id_no_store_can_keep_is_refused_and_nothing_created(
        backend: Backend, proef: Engine, case_id: str) -> None:
    store = backend.open(proef)
    with pytest.raises(UnstorableValue, match=r"^the case id ") as caught:
        proef.start("proef", actor=medewerker, at=T0, case_id=case_id, store=store)
    assert case_id not in str(caught.value) and "c" * 50 not in str(caught.value)
    assert store.find() == []
    proef.start("proef", actor=medewerker, at=T0, case_id="c" * 500, store=store)  # the limit


@pytest.mark.parametrize("holder", ["p.regisseur\ud800", "p.regisseur\x00", "r" * 501])
def test_a_case_role_holder_no_store_can_keep_is_refused(backend: Backend, engine: Engine,
                                                        holder: str) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    before = store.load(case.id).to_dict()
    raw = engine.fire(case, "voortgang_teruggekoppeld", actor=regisseur, at=T0).to_dict()
    raw["case_roles"]["casusregisseur"] = holder  # as a caller's own code might
    with pytest.raises(UnstorableValue, match=r"^the holder of case role 'casusregisseur'"):
        store.save(Case.from_dict(raw, verify=False), case.version)
    assert store.load(case.id).to_dict() == before


def test_a_case_whose_id_is_not_text_is_refused(backend: Backend, proef: Engine) -> None:
    store = backend.open(proef)
    case = proef.start("proef", actor=medewerker, at=T0)
    numbered = copy.copy(case)
    numbered._id = 123  # made outside the engine, which refuses start(case_id=123)
    with pytest.raises(UnstorableValue, match=r"the case id must be text \(str\), not int"):
        store.create(numbered)
    assert store.find() == []


def test_start_refuses_a_case_id_that_is_not_text_at_the_call(backend: Backend,
                                                             proef: Engine) -> None:
    store = backend.open(proef)
    not_text: tuple[Any, ...] = (123, b"casus", ["casus"])
    for case_id in not_text:
        with pytest.raises(TypeError, match="case_id must be a str, not"):
            proef.start("proef", actor=medewerker, at=T0, case_id=case_id)
        with pytest.raises(TypeError, match="case_id must be a str, not"):
            proef.start("proef", actor=medewerker, at=T0, case_id=case_id, store=store)
    assert store.find() == []
    assert proef.start("proef", actor=medewerker, at=T0, case_id="123", store=store).id == "123"


def _a_stored_case(store: Store) -> Case:
    return store.load(store.find()[0].id)


#: (what is called, the call, what it raises, what its message says)
WRONG_ARGUMENTS: list[tuple[str, Any, type[Exception], str]] = [
    ("load(123)", lambda s: s.load(123), TypeError, "case_id must be a str, not int"),
    ("load(None)", lambda s: s.load(None), TypeError, "case_id must be a str, not NoneType"),
    ("load(list)", lambda s: s.load(["x"]), TypeError, "case_id must be a str, not list"),
    ("load(NUL)", lambda s: s.load("x\x00"), UnstorableValue, "case_id holds a NUL"),
    ("load(surrogate)", lambda s: s.load("\ud800"), UnstorableValue,
     "case_id holds a lone surrogate"),
    ("history(123)", lambda s: s.history(123), TypeError, "case_id must be a str"),
    ("find(workflow_id=1)", lambda s: s.find(workflow_id=1), TypeError,
     "workflow_id must be a str or None, not int"),
    ("find(state=list)", lambda s: s.find(state=["open"]), TypeError,
     "state must be a str or None, not list"),
    ("find(role_holder=bytes)", lambda s: s.find(role_holder=b"m"), TypeError,
     "role_holder must be a str or None"),
    ("find(state=NUL)", lambda s: s.find(state="open\x00"), UnstorableValue,
     "state holds a NUL"),
    ("find(role_holder=surrogate)", lambda s: s.find(role_holder="\udc00"), UnstorableValue,
     "role_holder holds a lone"),
    ("due(limit=str)", lambda s: s.due(T0, limit="10"), TypeError,
     "limit must be an int or None"),
    ("due(limit=float)", lambda s: s.due(T0, limit=1.5), TypeError,
     "limit must be an int or None"),
    ("due(limit=True)", lambda s: s.due(T0, limit=True), TypeError,
     "limit must be an int or None"),
    ("due(limit=-1)", lambda s: s.due(T0, limit=-1), ValueError, "limit must be 0 or more"),
    ("due(before=str)", lambda s: s.due("2026-03-02"), StoreError, "aware datetime"),
    ("save(expected_version=str)", lambda s: s.save(_a_stored_case(s), "1"), TypeError,
     "expected_version must be"),
    ("save(expected_version=-1)", lambda s: s.save(_a_stored_case(s), -1), ValueError,
     "expected_version must be 0"),
    ("create(dict)", lambda s: s.create({"id": "x"}), TypeError, "expected a Case, got dict"),
]


@pytest.mark.parametrize(("call", "error", "message"),
                         [pytest.param(*rest, id=name) for name, *rest in WRONG_ARGUMENTS])
def test_wrong_arguments_are_refused_alike_on_every_back_end(
        backend: Backend, proef: Engine, call: Any, error: type[Exception],
        message: str) -> None:
    store = backend.open(proef)
    proef.start("proef", actor=medewerker, at=T0, store=store)
    with pytest.raises(error, match=re.escape(message)) as caught:
        call(store)
    assert not type(caught.value).__module__.startswith(("sqlite3", "psycopg"))


def test_due_limit_none_zero_and_huge(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    ids = [in_uitvoering(engine, store, at=T0 + timedelta(days=n)).id for n in range(3)]
    sweep = T0 + timedelta(days=60)
    assert [r.id for r in store.due(sweep, limit=None)] == ids
    assert [r.id for r in store.due(sweep)] == ids
    assert store.due(sweep, limit=0) == []
    assert [r.id for r in store.due(sweep, limit=2)] == ids[:2]
    assert [r.id for r in store.due(sweep, limit=2**70)] == ids


def test_due_at_the_ends_of_time(backend: Backend, engine: Engine) -> None:
    store = backend.open(engine)
    case = in_uitvoering(engine, store)
    west, east = timezone(timedelta(hours=-5)), timezone(timedelta(hours=5))
    assert [r.id for r in store.due(datetime.max.replace(tzinfo=west))] == [case.id]
    assert store.due(datetime.min.replace(tzinfo=east)) == []


def test_floats_read_back_as_the_floats_written(backend: Backend, proef: Engine) -> None:
    store = backend.open(proef)
    case = proef.start("proef", actor=medewerker, at=T0, store=store)
    for x in (1e16, 1.5e300, -1.7976931348623157e308, 5e-324, 1e-7, 0.1, 3, 10**30):
        case = proef.set_facts(case, {"x": x}, actor=medewerker, at=T0, store=store)
        loaded = store.load(case.id)
        assert loaded.facts["x"] == x and type(loaded.facts["x"]) is type(x), x
        assert loaded.to_dict() == case.to_dict()
    case = proef.set_facts(case, {"x": -0.0}, actor=medewerker, at=T0, store=store)
    assert comparable(store.load(case.id)) == comparable(case)  # kept as 0.0 everywhere


def _refuse_a_value_in_the_database(backend: Backend) -> None:
    """A rule of the database's own (a municipality's constraint, say) that refuses a fact."""
    if backend.name == "sqlite":
        with sqlite3.connect(backend.path) as conn:
            conn.execute("CREATE TRIGGER geen_geheim BEFORE UPDATE ON cases "
                         f"WHEN NEW.facts LIKE '%{SECRET}%' "
                         "BEGIN SELECT RAISE(ABORT, 'geweigerd door de database'); END")
        return
    import psycopg

    with psycopg.connect(backend.dsn, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {backend.schema}.cases ADD CONSTRAINT geen_geheim "
                     f"CHECK (facts::text NOT LIKE '%{SECRET}%')")


@pytest.mark.parametrize("in_transaction", [False, True])
def test_a_database_error_is_a_store_error_without_the_data(
        backend: Backend, proef: Engine, in_transaction: bool) -> None:
    store = backend.open(proef)
    case = proef.start("proef", actor=medewerker, at=T0, store=store)
    _refuse_a_value_in_the_database(backend)
    refused = proef.set_facts(case, {"s": SECRET, "x": 2.5}, actor=medewerker, at=T0)
    if in_transaction:
        with store.transaction() as tx:
            with pytest.raises(StoreError) as caught:
                tx.save(refused, case.version)
            # the failed step wrote nothing and the transaction goes on
            proef.set_facts(tx.load(case.id), {"x": 1.0}, actor=medewerker, at=T0, store=tx)
        assert store.load(case.id).facts["x"] == 1.0
    else:
        with pytest.raises(StoreError) as caught:
            store.save(refused, case.version)
        assert store.load(case.id).to_dict() == case.to_dict()
    message = str(caught.value)
    assert SECRET not in message and "2.5" not in message, message
    assert "DETAIL" not in message and "CONTEXT" not in message, message
    assert "nothing was written" in message
    assert not isinstance(caught.value, StoreUnavailable)  # trying again will not help
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


TEXT = st.text(st.characters(exclude_categories=()), max_size=8)
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
STEP = st.one_of(
    st.tuples(st.just("set_facts"), st.fixed_dictionaries({}, optional={
        "x": ANY_FLOAT, "s": TEXT, "p": TEXT, "lijst": st.lists(TEXT, max_size=3)}
    ).filter(bool)),
    st.tuples(st.just("fire"), st.fixed_dictionaries({}, optional={
        "reden": TEXT, "getal": ANY_FLOAT, "wie": TEXT})))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=4))
def test_any_text_or_float_is_kept_or_refused_cleanly(
        backend: Backend, proef: Engine, steps: list[tuple[str, dict[str, Any]]]) -> None:
    store = backend.stores[0] if backend.stores else backend.open(proef)
    case = proef.start("proef", actor=medewerker, at=T0, store=store)
    for kind, values in steps:
        try:
            if kind == "set_facts":
                new = proef.set_facts(case, values, actor=medewerker, at=T0)
            else:
                new = proef.fire(case, "melden", actor=medewerker, data=values, at=T0)
        except zorgflow.TransitionRejected:
            continue  # the engine's refusal: nothing reached the store
        before = store.load(case.id).to_dict()
        try:
            store.save(new, case.version)
        except UnstorableValue:  # a StoreError and a ValueError; nothing else may come out
            assert store.load(case.id).to_dict() == before
            continue
        loaded = store.load(case.id)
        assert comparable(loaded) == comparable(new)
        case = loaded
