"""A bounded load test (issue 16): three client processes over HTTP against the example
application in uvicorn for about 8 s, the server SIGKILLed mid-load and started again on the
same store and port, a timer worker (``zorgflow worker``) SIGKILLed and replaced. The run is
``bench/zfbench/loadtest.py`` (``python bench/loadtest.py`` is the full-size version with
figures); here only its verdicts count:

- no lost and no doubled update: per case the ``voortgang_teruggekoppeld`` entries are exactly
  the acknowledged idempotency keys, each key remembered with its own entry, a retried key
  applied once, the set-up steps once each, and ``GET /history`` agrees with the store;
- every timer signal due by the end recorded exactly once, and handed to a worker's callback
  at least once, none left waiting.

A run that falls short only of the load it claims (on a machine busy with other work: too
few updates acknowledged, the kills not felt) while every verdict on correctness held is
repeated once, twice as long; a correctness verdict that fails fails at once.

SQLite always; PostgreSQL with ``ZORGFLOW_TEST_POSTGRES_DSN``. Without FastAPI, uvicorn or
httpx the test skips, saying so (under ``CI=true`` it fails). Every process it starts is
stopped before it returns."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import in_ci, postgres_dsn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from zfbench.loadtest import LoadConfig, missing_web, run  # noqa: E402


def _require_web() -> None:
    why = missing_web()
    if why is not None:
        if in_ci():
            pytest.fail(f"{why}; CI=true, so this test must run")
        pytest.skip(why)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # the pid was taken by another user's process since
        return True
    return False


#: checks that say the run put the system under the load it claims, not that the system did
#: right under it: on a machine busy with other work a short run may fall short of them
PRECONDITIONS = frozenset({"answers again after the server kill", "updates acknowledged",
                           "every seeded timer fell due during the run"})


def _short_of_load(result: Any) -> bool:
    """Whether the run fell short only of the load it should have made (every verdict on
    correctness held)."""
    if any(c.name not in PRECONDITIONS for c in result.failures()) or result.logs:
        return False
    return (not result.ok or result.updates_acked < 100 or result.retries_after_kill == 0
            or result.first_ack_after_kill >= 30 or not result.worker_mid_delivery
            or not result.signals_recorded >= result.cases["timer"] > 0)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_no_lost_or_doubled_update_and_each_signal_once_with_kills(
        backend: str, tmp_path: Path) -> None:
    _require_web()
    dsn = postgres_dsn() if backend == "postgres" else None
    result = run(LoadConfig(backend=backend, clients=3, seconds=8.0, own_cases=2,
                            raced_cases=3, timer_cases_per_second=8.0, dsn=dsn,
                            folder=tmp_path / "first"))
    if _short_of_load(result):  # a busy machine: once more, twice as long
        result = run(LoadConfig(backend=backend, clients=3, seconds=16.0, own_cases=2,
                                raced_cases=3, timer_cases_per_second=8.0, dsn=dsn,
                                folder=tmp_path / "second"))
    failures = "\n".join(f"{c.name}: {c.detail}" for c in result.failures())
    tracebacks = "\n".join(f"{name}:\n{text}" for name, text in result.logs.items())
    assert result.ok, f"{failures}\n{tracebacks}\n(logs and results in {tmp_path})"
    assert not result.logs, tracebacks
    assert {c.name for c in result.checks} >= {
        "no lost update", "no doubled update",
        "each acknowledged key remembered with its own update",
        "GET /history agrees with the store", "no signal recorded twice",
        "every due signal recorded", "every recorded signal handed on at least once"}
    # the run did what it claims: load, a kill the clients felt, signals swept throughout
    assert result.updates_acked >= 100
    assert result.retries_after_kill > 0, "no client noticed the server's SIGKILL"
    assert result.first_ack_after_kill < 30
    assert result.worker_mid_delivery, "the worker was not killed while handing on signals"
    assert result.signals_recorded >= result.cases["timer"] > 0
    assert result.pids and all(_gone(pid) for pid in result.pids), "a process was left running"
