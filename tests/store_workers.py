"""Worker processes for the store concurrency tests (imported by spawned processes)."""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REGISSEUR_ID = "p.regisseur"
COORDINATOR_ID = "a.coord"


def open_store(spec: tuple[str, str, str]) -> tuple[Any, Any]:
    import zorgflow
    from zorgflow.store import PostgresStore, SQLiteStore

    engine = zorgflow.Engine.from_directory(WORKFLOWS)
    kind, where, schema = spec
    if kind == "sqlite":
        return engine, SQLiteStore(where, engine)
    return engine, PostgresStore(where, engine, schema=schema)


def fire_many(spec: tuple[str, str, str], worker: int, case_ids: list[str], fires: int,
              seed: int) -> list[tuple[str, str, int]]:
    """Fire ``fires`` times on random cases, moving them between uitvoering and stagnatie and
    setting a fact now and then; return (case id, time, version) of each accepted step. A step
    whose save meets a newer version is reloaded and tried again."""
    import zorgflow
    from zorgflow.store import ConcurrentUpdate

    engine, store = open_store(spec)
    regisseur = zorgflow.Actor(REGISSEUR_ID, roles={"ketenpartner"})
    coordinator = zorgflow.Actor(COORDINATOR_ID, roles={"lzn_coordinator"})
    rng = random.Random(seed)
    accepted = []
    for n in range(fires):
        # A time unique to this attempt identifies its history entry.
        at = T0 + timedelta(seconds=worker, microseconds=n + 1) + timedelta(days=n % 20)
        case_id = rng.choice(case_ids)
        while True:
            case = store.load(case_id)
            try:
                if n % 5 == 4:
                    new = engine.set_facts(case, {"multiproblematiek": bool(n % 2)},
                                           actor=coordinator, at=at, store=store)
                elif case.state == "stagnatie":
                    # a joint decision: the coordinator agrees, the casusregisseur's agreement
                    # makes it take effect
                    who = regisseur if "plan_aangepast" in case.agreements else coordinator
                    new = engine.fire(case, "plan_aangepast", actor=who, at=at, store=store)
                else:  # in uitvoering: report progress, or now and then a stagnation
                    event = "stagnatie_gemeld" if n % 3 == 0 else "voortgang_teruggekoppeld"
                    new = engine.fire(case, event, actor=regisseur, at=at, store=store)
            except ConcurrentUpdate:
                continue
            accepted.append((case_id, at.isoformat(), new.version))
            break
    store.close()
    return accepted


def hold_a_transaction(spec: tuple[str, str, str], case_id: str, ready: Path) -> None:
    """Save inside a transaction, tell the test, and wait to be killed before committing."""
    import zorgflow

    engine, store = open_store(spec)
    regisseur = zorgflow.Actor(REGISSEUR_ID, roles={"ketenpartner"})
    with store.transaction():
        case = store.load(case_id)
        engine.fire(case, "voortgang_teruggekoppeld", actor=regisseur, at=T0, store=store)
        ready.write_text("saved, not committed")
        time.sleep(120)
    sys.exit("the test should have killed this worker")


def open_and_set_facts(spec: tuple[str, str, str], case_id: str, worker: int) -> int:
    """Open the store (several processes at once), set a fact, return the new version."""
    import zorgflow
    from zorgflow.store import ConcurrentUpdate

    engine, store = open_store(spec)
    coordinator = zorgflow.Actor(COORDINATOR_ID, roles={"lzn_coordinator"})
    while True:
        try:
            case = engine.set_facts(store.load(case_id), {"multiproblematiek": bool(worker % 2)},
                                    actor=coordinator, at=T0, store=store)
        except ConcurrentUpdate:
            continue
        store.close()
        return case.version


def stop_in_the_middle_of_a_save(spec: tuple[str, str, str], case_id: str, ready: Path) -> None:
    """Fire with ``store=`` (no transaction of our own) and stop after the save has updated
    the case row but before it wrote the history, to be killed there."""
    import zorgflow

    engine, store = open_store(spec)
    regisseur = zorgflow.Actor(REGISSEUR_ID, roles={"ketenpartner"})

    def stop_here(*args: object) -> None:
        ready.write_text("case row updated, history not written")
        time.sleep(120)

    store._write_rest = stop_here  # the step between the two halves of a save
    engine.fire(store.load(case_id), "voortgang_teruggekoppeld", actor=regisseur, at=T0,
                store=store)
    sys.exit("the test should have killed this worker")


def sweep_timers(spec: tuple[str, str, str], at: str, delivered: Path, batch: int,
                 pause: float) -> None:
    """A timer worker sweeping at the fixed time ``at`` until nothing is left; each
    delivered signal is appended to ``delivered`` (one JSON line, flushed to disk) before the
    worker marks it delivered. ``pause`` slows each callback, so a test can kill it
    mid-way."""
    import json
    import os

    from zorgflow.service import CaseService, TimerWorker

    engine, store = open_store(spec)
    moment = datetime.fromisoformat(at)

    def write(signal: Any) -> None:
        with delivered.open("a", encoding="utf-8") as out:
            out.write(json.dumps(signal.to_dict()) + "\n")
            out.flush()
            os.fsync(out.fileno())
        time.sleep(pause)

    worker = TimerWorker(CaseService(engine, store, pause=0.01), on_signal=write, batch=batch,
                         clock=lambda: moment)
    idle = 0
    while idle < 3:
        result = worker.run_once()
        idle = idle + 1 if result.recorded == 0 and result.delivered == 0 else 0
        if idle:
            time.sleep(0.05)
    store.close()
