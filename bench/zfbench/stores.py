"""6. Stores: fire + save and ``due()`` with many stored cases, SQLite against PostgreSQL.

Every store is filled with ``cases`` LZN cases in ``uitvoering`` (4 history entries each,
personal facts in their own table), whose feedback timers fall due one minute apart. Then, in
turns:

- ``fire + save``: ``engine.fire(case, "voortgang_teruggekoppeld", store=store)`` on
  ``fires`` different cases held in memory (one write transaction each);
- ``load + fire + save``: the same after ``store.load(case_id)`` (what a web request does);
- ``due()``: ``store.due(before)`` where ``before`` makes 1,000 cases due.

`history_run` (the rows after those): ``store.load(id)`` + ``engine.fire`` + the save, on cases
with 10 and with 1,000 history entries, in a store of their own: a load should not cost more
as the history grows.

SQLite runs with the default ``durability="full"`` (every commit survives a power cut) and with
``"normal"``. PostgreSQL needs ``ZORGFLOW_BENCH_POSTGRES_DSN`` (or the tests'
``ZORGFLOW_TEST_POSTGRES_DSN``); it works in a fresh schema that is dropped afterwards.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from .common import (
    AT,
    BenchError,
    Row,
    actors,
    engine,
    fmt_pct,
    fmt_rate,
    fmt_us,
    interleaved,
    median,
    perf_counter,
    section,
    spread,
)

DUE_WANTED = 1_000
BATCH = 1_000


def _dsn() -> str | None:
    return (os.environ.get("ZORGFLOW_BENCH_POSTGRES_DSN")
            or os.environ.get("ZORGFLOW_TEST_POSTGRES_DSN"))


def _case_in_uitvoering(eng: Any, who: dict[str, Any], n: int) -> Any:
    at = AT + timedelta(minutes=n)
    case = eng.start("lzn", actor=who["scp"], at=at, case_id=f"casus-{n:06}",
                     facts={"naam": f"Inwoner {n}", "bsn": f"{100000000 + n}",
                            "adres": f"Dorpsstraat {n % 500}"})
    case = eng.fire(case, "passend_bevonden", actor=who["coord"], at=at)
    case = eng.fire(case, "geen_actief_dossier", actor=who["coord"], at=at)
    return eng.fire(case, "casusregisseur_benoemd", actor=who["coord"], at=at,
                    data={"casusregisseur": who["regisseur"].id, "ketenpartner": "GGZ"})


def _fill(store: Any, cases: int, progress: Callable[[str], None], name: str) -> list[Any]:
    eng, who = engine(), actors()
    made = []
    for start in range(0, cases, BATCH):
        with store.transaction():
            for n in range(start, min(start + BATCH, cases)):
                case = _case_in_uitvoering(eng, who, n)
                store.create(case)
                made.append(case)
        if start and start % (BATCH * 20) == 0:
            progress(f"   {name}: {start:,} cases stored …")
    return made


class _Contender:
    """One store, its cases in memory, and the three timed runs on it."""

    def __init__(self, store: Any, cases: list[Any], fires: int) -> None:
        self.store, self.cases, self.fires = store, cases, fires
        self.next = 0
        eng, regisseur = engine(), actors()["regisseur"]
        self.fire = eng.fire
        self.regisseur = regisseur
        self.before = engine().next_due(cases[DUE_WANTED - 1])
        # Fires happen a year later, on other cases than the first 1,000, so the timers they
        # restart fall due after ``before``: due() finds the same 1,000 cases every time.
        self.at = AT + timedelta(days=365)

    def _take(self) -> list[int]:
        """The next ``fires`` cases, never one of the 1,000 that due() is to find."""
        pool = len(self.cases) - DUE_WANTED
        picked = [DUE_WANTED + (self.next + k) % pool for k in range(self.fires)]
        self.next = (self.next + self.fires) % pool
        return picked

    def fire_save(self) -> float:
        picked = self._take()
        cases, fire, store, who = self.cases, self.fire, self.store, self.regisseur
        start = perf_counter()
        for k in picked:
            cases[k] = fire(cases[k], "voortgang_teruggekoppeld", actor=who, at=self.at,
                            store=store)
        return self.fires / (perf_counter() - start)

    def load_fire_save(self) -> float:
        picked = self._take()
        cases, fire, store, who = self.cases, self.fire, self.store, self.regisseur
        ids = [cases[k].id for k in picked]
        start = perf_counter()
        for k, case_id in zip(picked, ids, strict=True):
            cases[k] = fire(store.load(case_id), "voortgang_teruggekoppeld", actor=who,
                            at=self.at, store=store)
        return self.fires / (perf_counter() - start)

    def due(self) -> float:
        start = perf_counter()
        found = self.store.due(self.before)
        took = perf_counter() - start
        if len(found) != DUE_WANTED:
            raise BenchError(f"stores: due() found {len(found)} cases, expected {DUE_WANTED}")
        return took


def run(cases: int, fires: int, repeats: int, progress: Callable[[str], None]) -> list[Row]:
    from zorgflow.store import SQLiteStore

    eng = engine()
    folder = Path(tempfile.mkdtemp(prefix="zorgflow-bench-"))
    contenders: dict[str, _Contender] = {}
    cleanup: list[Callable[[], None]] = []
    try:
        for durability in ("full", "normal"):
            store = SQLiteStore(folder / f"{durability}.db", eng, durability=durability)
            cleanup.append(store.close)
            progress(f"   SQLite ({durability}): storing {cases:,} cases …")
            contenders[f"sqlite-{durability}"] = _Contender(
                store, _fill(store, cases, progress, "SQLite"), fires)
        dsn = _dsn()
        if dsn:
            from zorgflow.store import PostgresStore

            schema = "bench_" + uuid.uuid4().hex[:10]
            pg = PostgresStore(dsn, eng, schema=schema)
            cleanup.append(lambda: _drop(pg, dsn, schema))
            progress(f"   PostgreSQL: storing {cases:,} cases …")
            contenders["postgres"] = _Contender(pg, _fill(pg, cases, progress, "PostgreSQL"),
                                                fires)
        runs: dict[str, Callable[[], float]] = {}
        for name, c in contenders.items():
            runs[f"{name} fire"] = c.fire_save
            runs[f"{name} load"] = c.load_fire_save
            runs[f"{name} due"] = c.due
        for run_ in runs.values():
            run_()  # warm up
        times = interleaved(runs, repeats)
    finally:
        for step in reversed(cleanup):
            step()
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
    return _rows(times, cases, fires, "postgres" in contenders)


def _drop(store: Any, dsn: str, schema: str) -> None:
    import psycopg

    store.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _rows(times: dict[str, list[float]], cases: int, fires: int, postgres: bool) -> list[Row]:
    rows = [section(f"**6. Stores** — {cases:,} stored LZN cases; ratio against SQLite "
                    "(`durability=\"full\"`, the default) in the same run")]
    labels = {
        "fire": f"`engine.fire(case, …, store=store)` on {fires:,} cases in hand",
        "load": f"`store.load(id)` + `engine.fire(…, store=store)` on {fires:,} cases",
    }
    for kind in ("fire", "load"):
        base = median(times[f"sqlite-full {kind}"])
        goal = "≥ 2,000/s" if kind == "fire" else ""
        rows.append(Row(f"SQLite: {labels[kind]} (baseline)", fmt_rate(base), "1.00×",
                        fmt_pct(spread(times[f"sqlite-full {kind}"])), goal,
                        base >= 2_000 if goal else None))
        other = median(times[f"sqlite-normal {kind}"])
        rows.append(Row("↳ SQLite with `durability=\"normal\"`", fmt_rate(other),
                        f"{other / base:.2f}×", fmt_pct(spread(times[f"sqlite-normal {kind}"]))))
        if postgres:
            pg = median(times[f"postgres {kind}"])
            rows.append(Row("↳ PostgreSQL (loopback, one connection)", fmt_rate(pg),
                            f"{pg / base:.2f}×", fmt_pct(spread(times[f"postgres {kind}"]))))
    base = median(times["sqlite-full due"])
    rows.append(Row(f"SQLite: `store.due(before)` returning {DUE_WANTED:,} of {cases:,} cases "
                    "(baseline)", fmt_us(base) if base < 1e-3 else f"{base * 1e3:.1f} ms",
                    "1.00×", fmt_pct(spread(times["sqlite-full due"])), "< 50 ms", base < 0.05))
    if postgres:
        pg = median(times["postgres due"])
        rows.append(Row("↳ PostgreSQL `store.due(before)`", f"{pg * 1e3:.1f} ms",
                        f"{base / pg:.2f}× (time ratio)", fmt_pct(spread(times["postgres due"]))))
    else:
        rows.append(Row("↳ PostgreSQL", "not measured", "—",
                        goal="set `ZORGFLOW_BENCH_POSTGRES_DSN`"))
    return rows


# -- load + fire + save as the history grows ---------------------------------------------------


def _long_case(eng: Any, who: dict[str, Any], entries: int) -> Any:
    """An LZN case in ``uitvoering`` with ``entries`` history entries (feedback reports)."""
    case = _case_in_uitvoering(eng, who, 0)
    at = AT + timedelta(days=1)
    for _ in range(entries - case.version):
        case = eng.fire(case, "voortgang_teruggekoppeld", actor=who["regisseur"], at=at)
    return case


def _copies(case: Any, prefix: str, count: int) -> list[Any]:
    """``count`` copies of ``case`` under their own ids (read back without the digest check:
    the copies only differ in their id)."""
    from zorgflow import Case

    made = []
    for n in range(count):
        raw = case.to_dict()
        raw["id"] = f"{prefix}-{n:05}"
        made.append(Case.from_dict(raw, verify=False))
    return made


class _HistoryContender:
    """One store holding ``count`` cases of each history length; one run fires each of a
    length's cases once, after loading it."""

    def __init__(self, store: Any, lengths: tuple[int, ...], count: int) -> None:
        eng, who = engine(), actors()
        self.store, self.fire, self.regisseur = store, eng.fire, who["regisseur"]
        self.ids: dict[int, list[str]] = {}
        for length in lengths:
            cases = _copies(_long_case(eng, who, length), f"h{length}", count)
            with store.transaction():
                for case in cases:
                    store.create(case)
            self.ids[length] = [c.id for c in cases]
        self.at = AT + timedelta(days=2)

    def runner(self, length: int) -> Callable[[], float]:
        def run() -> float:
            ids, fire, store, who, at = (self.ids[length], self.fire, self.store,
                                         self.regisseur, self.at)
            start = perf_counter()
            for case_id in ids:
                fire(store.load(case_id), "voortgang_teruggekoppeld", actor=who, at=at,
                     store=store)
            return (perf_counter() - start) / len(ids)
        return run


def history_run(short: int, long: int, count: int, repeats: int,
                progress: Callable[[str], None]) -> list[Row]:
    """``store.load`` + ``engine.fire`` + ``store.save`` per case, at ``short`` and at ``long``
    history entries (``count`` cases of each, every case fired once per repetition, so a long
    case ends a run ``repeats + 1`` entries longer), on SQLite and, with a DSN, PostgreSQL."""
    from zorgflow.store import SQLiteStore

    eng = engine()
    folder = Path(tempfile.mkdtemp(prefix="zorgflow-bench-history-"))
    contenders: dict[str, _HistoryContender] = {}
    cleanup: list[Callable[[], None]] = []
    try:
        store = SQLiteStore(folder / "history.db", eng)
        cleanup.append(store.close)
        progress(f"   SQLite: {count} cases of {short} and of {long:,} history entries …")
        contenders["sqlite"] = _HistoryContender(store, (short, long), count)
        dsn = _dsn()
        if dsn:
            from zorgflow.store import PostgresStore

            schema = "bench_" + uuid.uuid4().hex[:10]
            pg = PostgresStore(dsn, eng, schema=schema)
            cleanup.append(lambda: _drop(pg, dsn, schema))
            progress(f"   PostgreSQL: {count} cases of {short} and of {long:,} history "
                     "entries …")
            contenders["postgres"] = _HistoryContender(pg, (short, long), count)
        runs: dict[str, Callable[[], float]] = {}
        for name, c in contenders.items():
            runs[f"{name} {short}"] = c.runner(short)
            runs[f"{name} {long}"] = c.runner(long)
        for run_ in runs.values():
            run_()  # warm up
        times = interleaved(runs, repeats)
    finally:
        for step in reversed(cleanup):
            step()
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
    rows = []
    for name, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        if name not in contenders:
            rows.append(Row(f"{label}: `store.load` + `engine.fire` + save at {long:,} "
                            "history entries", "not measured", "—",
                            goal="set `ZORGFLOW_BENCH_POSTGRES_DSN`"))
            continue
        base, grown = median(times[f"{name} {short}"]), median(times[f"{name} {long}"])
        rows.append(Row(f"{label}: `store.load(id)` + `engine.fire(…, store=store)` at {short} "
                        "history entries (baseline)", fmt_us(base), "1.00×",
                        fmt_pct(spread(times[f"{name} {short}"]))))
        rows.append(Row(f"↳ the same at {long:,} history entries", fmt_us(grown),
                        f"{grown / base:.2f}× (time ratio)",
                        fmt_pct(spread(times[f"{name} {long}"])),
                        f"≤ 2× the time at {short}", grown <= 2 * base))
    return rows


# -- the service layer's overhead --------------------------------------------------------------


def service_run(count: int, repeats: int, progress: Callable[[str], None]) -> list[Row]:
    """`CaseService.fire(case_id, …)` against the same written by hand: a transaction around
    ``store.load`` + ``engine.fire`` + ``store.save``; ``count`` cases, each fired once per
    run, on SQLite (``durability="normal"``, so that disk flushes do not drown the
    difference)."""
    from zorgflow.service import CaseService
    from zorgflow.store import SQLiteStore

    eng, who = engine(), actors()
    folder = Path(tempfile.mkdtemp(prefix="zorgflow-bench-service-"))
    stores = []
    try:
        ids: dict[str, list[str]] = {}
        for name in ("hand", "service", "keyed"):
            store = SQLiteStore(folder / f"{name}.db", eng, durability="normal")
            stores.append(store)
            cases = _copies(_case_in_uitvoering(eng, who, 0), name, count)
            with store.transaction():
                for case in cases:
                    store.create(case)
            ids[name] = [c.id for c in cases]
        hand_store, service_store, keyed_store = stores
        svc = CaseService(eng, service_store)
        keyed = CaseService(eng, keyed_store)
        regisseur, at = who["regisseur"], AT + timedelta(days=2)
        counter = [0]

        def by_hand() -> float:
            start = perf_counter()
            for case_id in ids["hand"]:
                with hand_store.transaction() as tx:
                    case = tx.load(case_id)
                    tx.save(eng.fire(case, "voortgang_teruggekoppeld", actor=regisseur,
                                     at=at), case.version)
            return (perf_counter() - start) / count

        def by_service() -> float:
            start = perf_counter()
            for case_id in ids["service"]:
                svc.fire(case_id, "voortgang_teruggekoppeld", actor=regisseur, at=at)
            return (perf_counter() - start) / count

        def with_key() -> float:
            counter[0] += 1
            start = perf_counter()
            for case_id in ids["keyed"]:
                keyed.fire(case_id, "voortgang_teruggekoppeld", actor=regisseur, at=at,
                           idempotency_key=f"r{counter[0]}")
            return (perf_counter() - start) / count

        progress(f"   the service layer over {count} cases …")
        runs = {"hand": by_hand, "service": by_service, "keyed": with_key}
        for run_ in runs.values():
            run_()  # warm up
        times = interleaved(runs, repeats)
    finally:
        for store in stores:
            store.close()
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
    base = median(times["hand"])
    service, keyed_time = median(times["service"]), median(times["keyed"])
    return [
        Row("SQLite: load + fire + save in a transaction, by hand (baseline)", fmt_us(base),
            "1.00×", fmt_pct(spread(times["hand"]))),
        Row("↳ `CaseService.fire(case_id, …)`", fmt_us(service),
            f"{service / base:.2f}× (time ratio)", fmt_pct(spread(times["service"])),
            "≤ 1.25× by hand", service <= 1.25 * base),
        Row("↳ `CaseService.fire(…, idempotency_key=…)`", fmt_us(keyed_time),
            f"{keyed_time / base:.2f}× (time ratio)", fmt_pct(spread(times["keyed"]))),
    ]
