"""``zorgflow worker`` and ``retention``: commands on the cases of a store."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from datetime import datetime, time
from typing import TextIO

from ..engine import Actor
from ..errors import StoreError, UsageError
from ..model.calendar import AMSTERDAM
from ..service import CaseService, TimerWorker
from ..store import RecordedSignal
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    day,
    engine_of,
    positive_float,
    positive_int,
    store_arguments,
    store_of,
)


def add_worker_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``zorgflow worker``."""
    p = sub.add_parser("worker", help="record due timer signals of stored cases",
                       description="Record due timer signals of the cases in a store, in "
                                   "batches, until SIGTERM or Ctrl-C. Each signal is "
                                   "recorded once, also with several workers on PostgreSQL; "
                                   "each is printed as a JSON line once recorded.")
    p.add_argument("workflows", metavar="WORKFLOWS", help="the workflow folder (or file)")
    store_arguments(p)
    p.add_argument("--batch", type=positive_int, default=100, metavar="N",
                   help="cases per transaction (default 100)")
    p.add_argument("--interval", type=positive_float, default=5.0, metavar="SECONDS",
                   help="pause between sweeps when nothing is due (default 5)")
    p.add_argument("--key-retention-days", type=positive_float, default=None, metavar="DAYS",
                   help="forget idempotency keys older than this (default: keep them)")
    p.add_argument("--once", action="store_true", help="one sweep, then stop")
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace, out: TextIO) -> int:
    """Sweep due timer signals until SIGTERM or Ctrl-C; one JSON line per signal recorded."""
    engine = engine_of(args.workflows)
    store = store_of(args.store, args.schema, engine)

    def announce(recorded: RecordedSignal) -> None:
        out.write(json.dumps(recorded.to_dict()) + "\n")
        out.flush()

    worker = TimerWorker(CaseService(engine, store), on_signal=announce, batch=args.batch,
                         interval=args.interval,
                         key_retention=None if args.key_retention_days is None
                         else args.key_retention_days * 86400)
    try:
        if args.once:
            result = worker.run_once()
            print(f"zorgflow worker: {result.recorded} signal(s) recorded on {result.cases} "
                  f"case(s), {result.delivered} delivered", file=sys.stderr)
            return EXIT_FAILED if result.failed_cases or result.failed_callbacks else EXIT_OK
        previous = signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        try:
            print(f"zorgflow worker: sweeping every {args.interval:g} s (SIGTERM or Ctrl-C "
                  "stops)", file=sys.stderr)
            worker.run()
        except KeyboardInterrupt:
            worker.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
        print("zorgflow worker: stopped", file=sys.stderr)
        return EXIT_OK
    finally:
        store.close()


def add_retention_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``zorgflow retention``."""
    p = sub.add_parser("retention", help="list (and destroy) cases whose retention ended",
                       description="List the stored cases whose archiefactiedatum has come "
                                   "(closed, with a zgw: result to destroy); with --destroy, "
                                   "destroy each (or only its personal data, where the result "
                                   "says so) in its own transaction, logged in the store's "
                                   "destruction log. Exit 0, or 1 when a case could not be "
                                   "destroyed.")
    p.add_argument("workflows", metavar="WORKFLOWS_DIR", help="the workflow folder")
    store_arguments(p)
    p.add_argument("--on", metavar="YYYY-MM-DD", default=None, type=day,
                   help="the day to judge by (default: today, Europe/Amsterdam)")
    p.add_argument("--destroy", action="store_true", help="destroy what is due")
    p.add_argument("--actor", metavar="ID", default=None,
                   help="who has it destroyed (named in the log; required with --destroy)")
    p.set_defaults(func=cmd_retention)


def cmd_retention(args: argparse.Namespace, out: TextIO) -> int:
    """List, and with --destroy destroy, the stored cases whose retention ended."""
    if args.destroy and not args.actor:
        raise UsageError("--destroy needs --actor ID: the destruction log names who had it "
                         "done")
    engine = engine_of(args.workflows)
    store = store_of(args.store, args.schema, engine, existing=True)
    at = (datetime.combine(args.on, time(12), tzinfo=AMSTERDAM) if args.on is not None
          else None)
    service = CaseService(engine, store)

    def progress(n: int) -> None:
        print(f"zorgflow retention: {n:,} case(s) read", file=sys.stderr, flush=True)

    try:
        if not args.destroy:
            for due in service.retention(at, progress=progress):
                out.write(json.dumps(due.to_dict(), ensure_ascii=False) + "\n")
            return EXIT_OK
        planned = service.destroy_due(actor=Actor(args.actor, roles=set()), at=at,
                                      dry_run=True)
        done = service.destroy_due(actor=Actor(args.actor, roles=set()), at=at,
                                   dry_run=False)
    except StoreError as exc:
        print(f"zorgflow retention: the store failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    for record in done:
        out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
    left = {r.case_id for r in planned} - {r.case_id for r in done}
    if left:
        print(f"zorgflow retention: {len(left)} case(s) were due but not destroyed (changed "
              "meanwhile): run it again", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
