"""7. Load-time and verify-time analysis on definitions far larger than the shipped ones.

* A ``unique`` decision table of ``rows`` rows (each row its own range of an integer input,
  the other inputs ``!=`` or ``any``), loaded with ``load_workflow_text``. The baseline is the
  same text under ``hit_policy: first``, which skips the overlap check: the ratio is what the
  check adds to loading. Goal (issue 17): 2,000 rows load in under 2 s.
* ``verify`` of a workflow with 20 case roles (2²⁰ abstract states): it must stop at its bound
  (``max_states``) with a message instead of running for minutes; reported: the time it took
  and the peak memory (tracemalloc) against the bound.
"""

from __future__ import annotations

import tracemalloc

from .common import Row, fmt_pct, interleaved, median, perf_counter, section, spread

HEAD = """\
id: groot
version: 1
label: Grote tabel
start_by: [medewerker]
roles:
  medewerker: {label: Medewerker}
facts:
  n: {type: integer, label: N}
  x: {type: number, label: X}
  netwerk: {type: enum, values: [geen, lthg, ander], label: Netwerk}
states:
  open: {label: Open, initial: true}
  dicht: {label: Dicht, final: true}
transitions:
  - {event: sluiten, from: open, to: dicht, by: [medewerker]}
"""


def table_text(rows: int, policy: str) -> str:
    lines = [f"      - {{id: r{k}, when: {{n: '{3 * k}..{3 * k + 2}', netwerk: '!= geen'}}, "
             f"then: {{o: {k}}}}}" for k in range(rows)]
    return HEAD + (f"rules:\n  tabel:\n    kind: table\n    hit_policy: {policy}\n"
                   "    label: Tabel\n    inputs:\n      n: {type: integer}\n"
                   "      x: {type: number}\n"
                   "      netwerk: {type: enum, values: [geen, lthg, ander]}\n"
                   "    outputs: [o]\n    rows:\n") + "\n".join(lines) + "\n"


def roles_text(n: int) -> str:
    roles = "".join(f"  rol{i}: {{label: Rol {i}, case_role: true}}\n" for i in range(n))
    steps = "".join(
        f"  - {{event: benoem{i}, from: open, to: open, by: [medewerker],\n"
        f"     data: {{wie: {{type: string, label: Wie}}}}, assigns: {{rol{i}: data.wie}}}}\n"
        f"  - {{event: actie{i}, from: open, to: open, by: [rol{i}]}}\n" for i in range(n))
    head = HEAD.replace("roles:\n  medewerker: {label: Medewerker}\n",
                        "roles:\n  medewerker: {label: Medewerker}\n" + roles)
    return head + steps


def run(rows: int, repeats: int, max_states: int) -> list[Row]:
    from zorgflow.loader import load_workflow_text
    from zorgflow.verify import verify

    unique, first = table_text(rows, "unique"), table_text(rows, "first")

    def timed(text: str) -> float:
        start = perf_counter()
        load_workflow_text(text, "groot.yaml")
        return perf_counter() - start

    times = interleaved({"first": lambda: timed(first), "unique": lambda: timed(unique)},
                        repeats)
    base, ours = median(times["first"]), median(times["unique"])

    workflow = load_workflow_text(roles_text(20), "rollen.yaml")
    tracemalloc.start()
    start = perf_counter()
    report = verify(workflow, max_states=max_states)
    took = perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    stopped = bool(report.stopped)
    return [
        section(f"**7. Analysis** — a {rows:,}-row unique table; verify of 2²⁰ abstract "
                "states"),
        Row(f"load, {rows:,}-row table, `hit_policy: first` (baseline: no overlap check)",
            f"{base:.2f} s", "1.00×", fmt_pct(spread(times["first"]))),
        Row("load, the same table `hit_policy: unique` (overlap check)", f"{ours:.2f} s",
            f"{ours / base:.2f}× the baseline's time", fmt_pct(spread(times["unique"])),
            "< 2 s at 2,000 rows" if rows >= 2_000 else "(quick run: fewer rows)",
            ours < 2.0 if rows >= 2_000 else None),
        Row(f"`verify`, 20 case roles, bound {max_states:,} states (one run, tracemalloc on)",
            f"{took:.1f} s, peak {peak / 2**20:.0f} MiB"
            + (", stopped at the bound" if stopped else ", NOT stopped"),
            "", "", "stops with a message", stopped),
    ]
