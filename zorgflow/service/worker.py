"""`TimerWorker`: records due timer signals in batches and hands each to a callback.

Recording is exactly once: a sweep records a case's due signals in the transaction that saves
the case, and the history says which signals are recorded, so no process — on this machine
or another — records one twice (on PostgreSQL the due cases are handed out with ``FOR UPDATE
SKIP LOCKED``). The callback runs at least once per recorded signal, after the recording was
committed: each recorded signal waits in the store until a callback for it returned, and a
worker that died before that (or a callback that raised) leaves it for the next round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import StoreUnavailable
from ..store import RecordedSignal
from .service import CaseService

_log = logging.getLogger("zorgflow.worker")


@dataclass(frozen=True, slots=True)
class Round:
    """What one `TimerWorker.run_once` did."""

    #: cases the sweep was handed (a full batch: more may be due)
    cases: int
    #: signals recorded in this round
    recorded: int
    #: signals handed to the callback (recorded now or left by an earlier round)
    delivered: int
    #: callbacks that raised (their signals wait for the next round)
    failed_callbacks: int
    #: cases that could not be swept (see `CaseService.record_due`)
    failed_cases: int


class TimerWorker:
    """Sweeps due timer signals until stopped.

    ``on_signal`` (optional) is called with each `RecordedSignal` after its recording was
    committed; it should be idempotent (a signal may come twice after a crash). ``batch``
    is the most cases one transaction sweeps; a full batch is followed at once by the next,
    otherwise the worker sleeps ``interval`` seconds. When the database is unavailable the
    worker waits, doubling the pause up to ``max_backoff`` seconds, and goes on.
    ``key_retention`` (seconds, optional): idempotency keys older than this are forgotten
    once an hour. ``on_round`` (optional) is called with each `Round`, e.g. to log it.
    """

    def __init__(self, service: CaseService, *,
                 on_signal: Callable[[RecordedSignal], object] | None = None,
                 batch: int = 100, interval: float = 5.0, max_backoff: float = 60.0,
                 key_retention: float | None = None,
                 clock: Callable[[], datetime] | None = None,
                 on_round: Callable[[Round], object] | None = None) -> None:
        if not isinstance(service, CaseService):
            raise TypeError(f"service must be a CaseService, not {type(service).__name__}")
        for name, value in (("interval", interval), ("max_backoff", max_backoff)):
            if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise ValueError(f"batch must be a whole number of at least 1, not {batch!r}")
        self.service = service
        self.on_signal = on_signal
        self.batch = batch
        self.interval = float(interval)
        self.max_backoff = float(max_backoff)
        self.key_retention = key_retention
        self.on_round = on_round
        self._clock = clock or (lambda: datetime.now(UTC))
        self._stop = threading.Event()
        self._last_forget = 0.0

    def stop(self) -> None:
        """Ask `run` to return after the round in progress (safe from a signal handler or
        another thread)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Whether `stop` was called."""
        return self._stop.is_set()

    def run_once(self, at: datetime | None = None) -> Round:
        """One round: a sweep of at most ``batch`` cases, then the callbacks of every signal
        still waiting for one."""
        sweep = self.service.record_due(self._clock() if at is None else at, limit=self.batch)
        for failure in sweep.failed:
            _log.warning("case %s not swept: %s (%s)", failure.case_id, failure.code,
                         failure.message)
        delivered, failed = self.deliver()
        return Round(sweep.cases, len(sweep.recorded), delivered, failed, len(sweep.failed))

    def deliver(self) -> tuple[int, int]:
        """Hand each recorded signal still waiting to the callback, marking it delivered
        when the callback returns; (delivered, callbacks that raised)."""
        delivered = failed = 0
        store = self.service.store
        # Where a transaction locks only the rows it reads, the signals stay locked while
        # their callbacks run, so other workers skip them; SQLite would lock the whole
        # database for that long, so there each signal is marked in a step of its own (two
        # workers may then both call back for one signal: at least once still holds).
        hold = getattr(store, "locks_rows", False)
        while not self._stop.is_set():
            with store.transaction() if hold else nullcontext(store) as source:
                waiting = source.undelivered(limit=self.batch)
                if not waiting:
                    break
                for signal in waiting:
                    if self.on_signal is not None:
                        try:
                            self.on_signal(signal)
                        except Exception:  # an application's callback: report, retry later
                            _log.exception("callback for signal %s of case %s raised; it "
                                           "will be called again", signal.signal,
                                           signal.case_id)
                            failed += 1
                            continue
                    source.mark_delivered(signal.case_id, signal.seq, self._clock())
                    delivered += 1
            if failed or len(waiting) < self.batch:
                break
        return delivered, failed

    def run(self) -> None:
        """Sweep until `stop` is called."""
        pause = self.interval
        while not self._stop.is_set():
            try:
                result = self.run_once()
                self._forget_keys()
            except StoreUnavailable as exc:
                _log.warning("store unavailable (%s); trying again in %.0f s", exc, pause)
                self._stop.wait(pause)
                pause = min(pause * 2, self.max_backoff)
                continue
            pause = self.interval
            if self.on_round is not None:
                self.on_round(result)
            if result.cases < self.batch:
                self._stop.wait(self.interval)

    def _forget_keys(self) -> None:
        if self.key_retention is None or time.monotonic() - self._last_forget < 3600:
            return
        self._last_forget = time.monotonic()
        self.service.forget_keys(self.key_retention)


__all__ = ["Round", "TimerWorker"]
