"""`zorgflow.service.TimerWorker` and `zorgflow worker`: each due signal recorded exactly
once across processes — also with a worker killed mid-way — and handed to the callback at
least once, after it was committed."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import Backend
from store_workers import sweep_timers

from zorgflow import Actor, Engine
from zorgflow.service import CaseService, RecordedSignal, TimerWorker
from zorgflow.store import SQLiteStore

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=AMS)
LATER = T0 + timedelta(days=60)
WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
scp = Actor("s.contact", roles={"sociaal_contactpunt"})
coord = Actor("a.coord", roles={"lzn_coordinator"})

_ENGINE = Engine.from_directory(WORKFLOWS)


def open_cases(svc: CaseService, count: int) -> None:
    for n in range(count):
        case_id = f"c{n:03d}"
        svc.start("lzn", actor=scp, at=T0, case_id=case_id)
        svc.fire(case_id, "passend_bevonden", actor=coord, at=T0)
        svc.fire(case_id, "geen_actief_dossier", actor=coord, at=T0)
        svc.fire(case_id, "casusregisseur_benoemd", actor=coord, at=T0,
                 data={"casusregisseur": "p.regisseur", "ketenpartner": "GGZ"})


def signal_entries(svc: CaseService, count: int) -> list[tuple[str, str, str]]:
    return [(f"c{n:03d}", e.event, e.data["due_at"])
            for n in range(count) for e in svc.store.history(f"c{n:03d}")
            if e.kind == "signal"]


def test_a_round_records_and_delivers_each_signal_once(backend: Backend) -> None:
    svc = CaseService(_ENGINE, backend.open(_ENGINE), pause=0)
    open_cases(svc, 3)
    seen: list[RecordedSignal] = []
    worker = TimerWorker(svc, on_signal=seen.append, batch=2, clock=lambda: LATER)
    first = worker.run_once()
    assert (first.cases, first.failed_cases) == (2, 0)
    assert first.delivered == first.recorded == len(seen) > 0
    worker.run_once()
    worker.run_once()
    entries = signal_entries(svc, 3)
    assert sorted((s.case_id, s.signal, s.due_at.isoformat()) for s in seen) == sorted(entries)
    assert worker.run_once().delivered == 0


def test_undelivered_lists_each_recorded_signal_as_its_history_entry_says(
        backend: Backend) -> None:
    """One query hands out the signals with their entries (it used to read each entry in a
    query of its own): the same signals, due times and times recorded as the history shows,
    oldest first, and marking one delivered takes it off the list."""
    svc = CaseService(_ENGINE, backend.open(_ENGINE), pause=0)
    open_cases(svc, 4)
    svc.record_due(LATER)
    listed = svc.store.undelivered(limit=1000)
    expected = sorted(
        ((e.at, f"c{n:03d}", e.seq), RecordedSignal(f"c{n:03d}", "lzn", e.event,
                                                     datetime.fromisoformat(e.data["due_at"]),
                                                     e.at, e.seq))
        for n in range(4) for e in svc.store.history(f"c{n:03d}") if e.kind == "signal")
    assert listed == [signal for _, signal in expected] and len(listed) >= 4
    assert svc.store.undelivered(limit=2) == listed[:2]
    first = listed[0]
    with svc.store.transaction():
        svc.store.mark_delivered(first.case_id, first.seq, LATER)
    assert svc.store.undelivered(limit=1000) == listed[1:]


def test_undelivered_reads_its_signals_in_one_query(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    statements: list[str] = []
    connect = SQLiteStore._connect

    def traced(self: SQLiteStore) -> Any:
        conn = connect(self)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(SQLiteStore, "_connect", traced)
    store = SQLiteStore(tmp_path / "cases.db", _ENGINE)
    svc = CaseService(_ENGINE, store, pause=0)
    open_cases(svc, 5)
    svc.record_due(LATER)
    statements.clear()
    assert len(store.undelivered(limit=1000)) >= 5
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == \
        [s for s in statements if "kind = 'signal'" in s]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    store.close()


def test_a_callback_that_raises_gets_the_signal_again(backend: Backend) -> None:
    svc = CaseService(_ENGINE, backend.open(_ENGINE), pause=0)
    open_cases(svc, 1)
    calls: list[str] = []

    def flaky(recorded: RecordedSignal) -> None:
        calls.append(recorded.signal)
        if len(calls) == 1:
            raise RuntimeError("the mail server is down")

    worker = TimerWorker(svc, on_signal=flaky, clock=lambda: LATER)
    first = worker.run_once()
    assert first.failed_callbacks == 1 and first.delivered == first.recorded - 1
    second = worker.run_once()
    assert (second.recorded, second.delivered, second.failed_callbacks) == (0, 1, 0)
    assert Counter(calls)[calls[0]] == 2
    assert worker.run_once().delivered == 0


def test_run_stops_when_asked(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "cases.db", _ENGINE)
    svc = CaseService(_ENGINE, store, pause=0)
    open_cases(svc, 1)
    rounds: list[Any] = []
    worker = TimerWorker(svc, interval=0.01, clock=lambda: LATER,
                         on_round=lambda r: (rounds.append(r), worker.stop()))
    worker.run()
    assert worker.stopping and rounds[0].recorded > 0
    store.close()


@pytest.mark.parametrize(("option", "value"), [("batch", 0), ("interval", 0),
                                                ("max_backoff", -1), ("batch", "10")])
def test_the_worker_refuses_settings_of_the_wrong_kind(tmp_path: Path, option: str,
                                                       value: Any) -> None:
    store = SQLiteStore(tmp_path / "cases.db", _ENGINE)
    with pytest.raises(ValueError):
        TimerWorker(CaseService(_ENGINE, store), **{option: value})
    store.close()


def test_signals_are_recorded_exactly_once_by_workers_in_processes_one_killed(
        backend: Backend, tmp_path: Path) -> None:
    """Four worker processes sweep 40 cases; one is killed (SIGKILL) while it hands out
    signals. Every due signal is recorded once in the history, and each is delivered to a
    callback at least once (the killed worker's unfinished deliveries are done by others)."""
    svc = CaseService(_ENGINE, backend.open(_ENGINE), pause=0)
    open_cases(svc, 40)
    spawn = multiprocessing.get_context("spawn")
    outputs = [tmp_path / f"delivered-{n}.jsonl" for n in range(4)]
    victim = spawn.Process(target=sweep_timers,
                           args=(backend.spec(), LATER.isoformat(), outputs[0], 5, 0.2))
    victim.start()
    deadline = time.monotonic() + 60
    while not outputs[0].exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    others = [spawn.Process(target=sweep_timers,
                            args=(backend.spec(), LATER.isoformat(), out, 5, 0.0))
              for out in outputs[1:]]
    for process in others:
        process.start()
    time.sleep(0.3)
    assert victim.pid is not None
    os.kill(victim.pid, signal.SIGKILL)
    victim.join()
    for process in others:
        process.join(timeout=120)
        assert process.exitcode == 0
    entries = signal_entries(svc, 40)
    assert len(entries) >= 40
    assert len(set(entries)) == len(entries), "a signal was recorded twice"
    delivered = {(d["case_id"], d["signal"], d["due_at"])
                 for out in outputs if out.exists()
                 for d in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert delivered == set(entries)
    assert svc.store.undelivered(limit=1000) == []


# -- the command line --------------------------------------------------------------------------


def _store_with_due_cases(tmp_path: Path) -> Path:
    path = tmp_path / "cases.db"
    store = SQLiteStore(path, _ENGINE)
    svc = CaseService(_ENGINE, store, pause=0)
    # started well in the past, so their signals are due now
    now = datetime.now(AMS) - timedelta(days=120)
    for n in range(2):
        svc.start("lzn", actor=scp, at=now, case_id=f"c{n}")
        svc.fire(f"c{n}", "passend_bevonden", actor=coord, at=now)
        svc.fire(f"c{n}", "geen_actief_dossier", actor=coord, at=now)
        svc.fire(f"c{n}", "casusregisseur_benoemd", actor=coord, at=now,
                 data={"casusregisseur": "p.regisseur", "ketenpartner": "GGZ"})
    store.close()
    return path


def _zorgflow(*args: str, **kw: Any) -> Any:
    return subprocess.run([sys.executable, "-m", "zorgflow", *args], capture_output=True,
                          text=True, timeout=120, **kw)


def test_zorgflow_worker_once_prints_each_recorded_signal(tmp_path: Path) -> None:
    path = _store_with_due_cases(tmp_path)
    done = _zorgflow("worker", str(WORKFLOWS), "--store", str(path), "--once")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert {line["case_id"] for line in lines} == {"c0", "c1"}
    assert "signal(s) recorded on 2 case(s)" in done.stderr
    again = _zorgflow("worker", str(WORKFLOWS), "--store", str(path), "--once")
    assert again.returncode == 0 and again.stdout == ""


def test_zorgflow_worker_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    path = _store_with_due_cases(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "zorgflow", "worker", str(WORKFLOWS),
                                "--store", str(path), "--interval", "0.1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert json.loads(first)["case_id"] in {"c0", "c1"}
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "zorgflow worker: stopped" in err and "Traceback" not in err


@pytest.mark.parametrize("args", [["worker", "workflows"], ["worker", "geen-map", "--store",
                                                              "x.db"],
                                  ["worker", "workflows", "--store", "x.db", "--batch", "0"]])
def test_zorgflow_worker_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    done = _zorgflow(*args, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 2 and "Traceback" not in done.stderr
