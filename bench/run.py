#!/usr/bin/env python
"""The zorgflow benchmark suite.

    python bench/run.py            # full run, under ~3 minutes
    python bench/run.py --quick    # a few seconds: smaller sizes, same measurements

Prints a Markdown table (stdout) ready to paste into the README and writes it to
bench/results/latest.md; progress goes to stderr. Every result is a ratio against a baseline
measured in the same process, in turns, each repeated (≥ 5 times) and taken as the median.
See bench/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from zfbench import (
    analysis,
    common,
    decisions,
    events,
    importtime,
    memory,
    migration,
    restore,
    stores,
)
from zfbench.common import Row

SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "decisions": 100_000, "peer_budget": 0.5, "peer_verify": 2_000, "min_time": 0.2,
        "floor": 200,
        "events": 20_000,
        "memory": 5_000, "memory_models": 1_000, "memory_closed": 1_000,
        "restore": 2_000, "bound": 20_000, "small_bound": 1_000, "batch": 200,
        "import_runs": 10, "import_diagnostic": True,
        "stores": 100_000, "store_fires": 2_000, "history_cases": 100,
        "table_rows": 2_000, "max_states": 100_000, "migration": 10_000,
    },
    "quick": {
        "decisions": 10_000, "peer_budget": 0.03, "peer_verify": 200, "min_time": 0.02,
        "floor": 30,
        "events": 400,
        "memory": 400, "memory_models": 60, "memory_closed": 100,
        "restore": 300, "bound": 2_000, "small_bound": 200, "batch": 100,
        "import_runs": 5, "import_diagnostic": False,
        "stores": 3_000, "store_fires": 200, "history_cases": 10,
        "table_rows": 300, "max_states": 3_000, "migration": 300,
    },
}
MEASUREMENTS = ("decisions", "events", "memory", "restore", "import", "stores", "analysis",
                "migration")
RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def render(rows: list[Row], header: list[str], notes: list[str]) -> str:
    lines = [*header, "", "| Measurement | Result | Ratio | Spread | Goal | Met |",
             "|---|---:|---:|---:|---|---|"]
    for row in rows:
        if row.section:
            lines.append(f"| {row.label} | | | | | |")
            continue
        met = "" if row.met is None else ("✅ met" if row.met else "❌ **not met**")
        lines.append(f"| {row.label} | {row.result} | {row.ratio} | {row.spread} | {row.goal} | "
                     f"{met} |")
    goals = [r for r in rows if r.met is not None]
    lines += ["", f"Goals met: {sum(1 for r in goals if r.met)} of {len(goals)}.", ""]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a short run (a few seconds) with smaller sizes")
    parser.add_argument("--only", nargs="+", choices=MEASUREMENTS, metavar="NAME",
                        help=f"run only these measurements ({', '.join(MEASUREMENTS)})")
    parser.add_argument("--repeats", type=int, default=5,
                        help="repetitions of every measurement (median taken; at least 5)")
    parser.add_argument("--no-write", action="store_true",
                        help=f"do not write {RESULTS.relative_to(common.ROOT)}")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (the machine is noisy; medians need it)")
    mode = "quick" if args.quick else "full"
    size = SIZES[mode]
    wanted = args.only or MEASUREMENTS
    repeats = args.repeats

    began = time.perf_counter()
    rows: list[Row] = []
    notes: list[str] = []
    common.engine()  # load the workflows once, outside every measurement
    if "decisions" in wanted:
        progress(f"1/8 decisions: {size['decisions']:,} fact sets …")
        rows += decisions.run(size["decisions"], repeats, size["peer_budget"],
                              size["peer_verify"], size["min_time"], size["floor"])
    if "events" in wanted:
        progress(f"2/8 events: {size['events']:,} live cases …")
        rows += events.run(size["events"], repeats)
    if "memory" in wanted:
        progress(f"3/8 memory: {size['memory']:,} cases under tracemalloc …")
        rows += memory.run(size["memory"], repeats, size["memory_models"], size["memory_closed"])
    if "restore" in wanted:
        progress(f"4/8 restore: {size['restore']:,} restores …")
        rows += restore.run(size["restore"], repeats, size["bound"], size["small_bound"],
                            size["batch"])
    if "import" in wanted:
        progress(f"5/8 import: {size['import_runs']} subprocess runs each …")
        import_rows, top = importtime.run(size["import_runs"],
                                           size["import_diagnostic"])
        rows += import_rows
        if top:
            notes.append("Costliest modules `import zorgflow` adds (self time, one `-X importtime` "
                         "run): " + ", ".join(f"`{name}` {own:.1f} ms" for name, own, _ in top)
                         + ".")
    if "stores" in wanted:
        progress(f"6/8 stores: {size['stores']:,} stored cases per back end …")
        rows += stores.run(size["stores"], size["store_fires"], repeats, progress)
        rows += stores.history_run(10, 1_000, size["history_cases"], repeats, progress)
        rows += stores.service_run(size["history_cases"], repeats, progress)
    if "analysis" in wanted:
        progress(f"7/8 analysis: a {size['table_rows']:,}-row table, a bounded verify …")
        rows += analysis.run(size["table_rows"], repeats, size["max_states"])
    if "migration" in wanted:
        progress(f"8/8 migration: {size['migration']:,} stored cases moved …")
        rows += migration.run(size["migration"])
    elapsed = time.perf_counter() - began

    header = [
        f"zorgflow {_version('zorgflow')} benchmarks ({mode} run, {elapsed:.0f} s), "
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}: Python {platform.python_version()} "
        f"on {platform.system()} {platform.machine()}; transitions {_version('transitions')}, "
        f"simpleeval {_version('simpleeval')}, cel-python {_version('cel-python')}, "
        f"zen-engine {_version('zen-engine')}, durable-rules {_version('durable-rules')}. "
        f"Command: `python bench/run.py"
        f"{' --quick' if args.quick else ''}"
        f"{' --only ' + ' '.join(args.only) if args.only else ''}"
        f"{f' --repeats {args.repeats}' if args.repeats != 5 else ''}`.",
    ]
    notes[:0] = [
        f"Every value is the median of {repeats} repetitions; contenders are measured in turns "
        "(the order rotates) in one process, so ratios hold on a noisy machine better than "
        "absolute numbers do. Spread: ± half the range of the repetitions, around the median.",
        "Ratios: decisions and events, rate ÷ baseline rate (higher is better); memory, bytes ÷ "
        "baseline bytes (lower is better); restore, baseline time ÷ our time.",
        "Peers evaluate the criteria two-valued (a missing fact counts as false, or 'geen') and "
        "give no explanation; zorgflow answers three-valued with an explanation on request.",
    ]
    text = render(rows, header, notes)
    sys.stdout.write(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")
        progress(f"written to {RESULTS.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
