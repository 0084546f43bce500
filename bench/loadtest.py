#!/usr/bin/env python
"""A bounded load test of the example web application, with a SIGKILL of the server and of a
timer worker mid-load (see bench/zfbench/loadtest.py for what runs and what is proved).

    python bench/loadtest.py                                  # SQLite, 6 clients, 45 s
    python bench/loadtest.py --backend postgres --clients 6 --seconds 45
    python bench/loadtest.py --backend both                   # one table, a column each

Needs ``pip install -e ".[web]"`` (PostgreSQL: ``ZORGFLOW_BENCH_POSTGRES_DSN``, or the tests'
``ZORGFLOW_TEST_POSTGRES_DSN``; a fresh schema is used and dropped). Prints a Markdown table
on stdout, progress on stderr; exits 1 when an invariant failed (lost or doubled updates, a
signal recorded twice or not at all), 2 when the test could not run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from zfbench.loadtest import LoadConfig, LoadResult, markdown, run


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--clients", type=int, default=6, help="client processes (default 6)")
    parser.add_argument("--seconds", type=float, default=45.0,
                        help="seconds of load (default 45)")
    parser.add_argument("--workers", type=int, default=2,
                        help="timer worker processes (default 2; one is killed and replaced)")
    parser.add_argument("--timer-cases", type=float, default=10.0, metavar="PER_SECOND",
                        help="seeded cases whose timer falls due, per second of the run "
                             "(default 10)")
    parser.add_argument("--folder", type=Path, default=None,
                        help="keep the store, logs and client results here (default: a "
                             "temporary folder, removed)")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds < 5 or args.workers < 1:
        parser.error("--clients and --workers must be at least 1, --seconds at least 5")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results: list[LoadResult] = []
    for backend in backends:
        progress(f"load test on {backend} …")
        config = LoadConfig(backend=backend, clients=args.clients, seconds=args.seconds,
                            workers=args.workers, timer_cases_per_second=args.timer_cases,
                            folder=None if args.folder is None else args.folder / backend,
                            progress=progress)
        try:
            results.append(run(config))
        except RuntimeError as exc:
            print(f"LOAD TEST NOT RUN ({backend}): {exc}", file=sys.stderr)
            return 2
    command = "python bench/loadtest.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(markdown(results, command.strip()), end="")
    failed = False
    for result in results:
        for check in result.checks:
            progress(f"   {'ok ' if check.ok else 'FAIL'} {result.config.backend}: "
                     f"{check.name} ({check.detail})")
            failed |= not check.ok
        for name, text in result.logs.items():
            progress(f"   {result.config.backend}: {name} has a traceback:\n{text}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
