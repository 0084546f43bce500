"""8. Moving stored cases to a new workflow version (issue 20).

``cases`` cases of a small workflow (a third in each of three situations: the initial state,
a state split by a condition one way and the other) are created in a fresh SQLite store; then
`CaseService.migrate(plan, dry_run=False)` moves all of them, each in its own transaction with
one ``migrate`` history entry. The baseline is a step of the same weight written by hand: each
case loaded, one fact set, saved, in its own transaction. Goal (issue 20): 10,000 cases in
under a minute, with progress shown (the run counts its progress calls).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .common import Row, section

OLD = """\
id: hulp
version: {version}
label: Hulpvraag
start_by: [medewerker]
roles:
  medewerker: {{label: Medewerker}}
facts:
  urgent: {{type: boolean, label: Urgent}}
states:
  aangemeld: {{label: Aangemeld, initial: true}}
{middle}
  afgesloten: {{label: Afgesloten, final: true}}
transitions:
{steps}
"""
V1 = OLD.format(version=1, middle="  beoordeling: {label: Beoordeling}", steps=(
    "  - {event: beoordelen, from: aangemeld, to: beoordeling, by: [medewerker]}\n"
    "  - {event: afsluiten, from: beoordeling, to: afgesloten, by: [medewerker]}"))
V2 = OLD.format(version=2, middle="  spoed: {label: Spoed}\n  regulier: {label: Regulier}",
                steps=(
    "  - {event: beoordelen, from: aangemeld, to: regulier, by: [medewerker]}\n"
    "  - {event: spoed, from: aangemeld, to: spoed, by: [medewerker]}\n"
    "  - {event: afsluiten, from: [spoed, regulier], to: afgesloten, by: [medewerker]}"))
PLAN = """\
kind: migration
workflow: hulp
from_version: 1
to_version: 2
states:
  beoordeling:
    - {to: spoed, when: "facts.urgent == true"}
    - {to: regulier}
"""


def run(cases: int) -> list[Row]:
    from zorgflow import Actor, Case, Engine, load_workflow_text
    from zorgflow.migrate import load_plan_text
    from zorgflow.service import CaseService
    from zorgflow.store import SQLiteStore

    from .common import perf_counter

    old, new = load_workflow_text(V1, "hulp_1.yaml"), load_workflow_text(V2, "hulp_2.yaml")
    engine = Engine([old, new])
    plan = load_plan_text(PLAN, old, new, "plan.yaml")
    who = Actor("medewerker", {"medewerker"})
    at = datetime(2026, 6, 1, tzinfo=UTC)
    start = engine.start("hulp", actor=who, version=1, at=at)
    kinds = [start.to_dict()]
    for urgent in (True, False):
        case = engine.set_facts(start, {"urgent": urgent}, actor=who, at=at)
        kinds.append(engine.fire(case, "beoordelen", actor=who, at=at).to_dict())
    with tempfile.TemporaryDirectory() as folder:
        stores = [SQLiteStore(Path(folder) / f"{name}.db", engine) for name in ("a", "b")]
        for store in stores:
            with store.transaction() as tx:
                for i in range(cases):
                    raw = dict(kinds[i % 3], id=f"c{i:06d}")
                    tx.create(Case.from_dict(raw, verify=False))
        baseline, ours = stores
        began = perf_counter()
        for i in range(cases):
            with baseline.transaction() as tx:
                case = tx.load(f"c{i:06d}")
                tx.save(engine.set_facts(case, {"urgent": True}, actor=who,
                                         at=at + timedelta(days=1)), case.version)
        by_hand = perf_counter() - began
        calls: list[int] = []
        began = perf_counter()
        result = CaseService(engine, ours).migrate(plan, actor=who, dry_run=False,
                                                   at=at + timedelta(days=1),
                                                   progress=calls.append)
        took = perf_counter() - began
        moved = result.counts["moved"]
        for store in stores:
            store.close()
    return [
        section(f"**8. Migration** — {cases:,} stored SQLite cases moved to a new version"),
        Row(f"by hand: load + `set_facts` + save, one transaction per case, {cases:,} cases "
            "(baseline)", f"{by_hand:.1f} s", "1.00×", ""),
        Row("`CaseService.migrate(plan, dry_run=False)`: one transaction and one `migrate` "
            f"entry per case ({moved:,} moved, {len(calls)} progress reports)",
            f"{took:.1f} s", f"{took / by_hand:.2f}× the baseline's time", "",
            "< 60 s at 10,000 cases" if cases >= 10_000 else "(quick run: fewer cases)",
            (took < 60 and moved == cases and bool(calls)) if cases >= 10_000 else None),
    ]
