"""3. Memory per live case, measured with tracemalloc (snapshot difference ÷ number of cases).

A zorgflow case in ``uitvoering`` with 10 facts set (and the one casusregisseur_benoemd
writes) and its history (start, 3 events, 1 set_facts: 5 entries), against a `transitions`
model bound to ONE shared Machine, in the same state and holding the same 11 facts (in a dict,
without any history). Per-case values (ids,
times, names) are made inside the measured window for both, as an application would.

A second zorgflow row measures as the harness of issue 18 does: every case is given the same
10 values (so they are not counted per case) and no ``at`` (the engine reads the clock).
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from .common import (
    AT,
    BenchError,
    Row,
    TransitionsModel,
    actors,
    engine,
    fmt_bytes,
    fmt_pct,
    fmt_ratio,
    interleaved,
    median,
    section,
    spread,
    transitions_machine,
)

_MINUTE = timedelta(minutes=1)


def ten_facts(i: int) -> dict[str, Any]:
    """Ten facts of the LZN workflow, of every kind, some different per case."""
    return {
        "naam": f"Inwoner {i}",
        "bsn": f"{100_000_000 + i}",
        "adres": f"Dorpsstraat {i % 500}, 8011 AB Zwolle",
        "geboortedatum": date(1950, 1, 1) + timedelta(days=i % 25_000),
        "bovenliggende_problematiek": "schulden",
        "terugkoppeling_interval_dagen": 14,
        "kinderen_betrokken": bool(i % 2),
        "multiproblematiek": True,
        "zorg_ketenpartner_adequaat": False,
        "netwerkondersteuning_vergroot": False,
    }


def zorgflow_cases(n: int, *, whole_path: bool = False) -> list[Any]:
    eng = engine()
    people = actors()
    scp, coord, regisseur = people["scp"], people["coord"], people["regisseur"]
    start, fire, set_facts = eng.start, eng.fire, eng.set_facts
    data = {"casusregisseur": regisseur.id, "ketenpartner": "GGZ"}
    cases = []
    for i in range(n):
        at = AT + timedelta(minutes=i)
        case = start("lzn", actor=scp, at=at)
        case = fire(case, "passend_bevonden", actor=coord, at=at + _MINUTE)
        case = fire(case, "geen_actief_dossier", actor=coord, at=at + 2 * _MINUTE)
        case = fire(case, "casusregisseur_benoemd", actor=coord, data=data, at=at + 3 * _MINUTE)
        case = set_facts(case, ten_facts(i), actor=coord, at=at + 4 * _MINUTE)
        if whole_path:
            for k in range(3):
                case = fire(case, "voortgang_teruggekoppeld", actor=regisseur,
                            at=at + (5 + k) * _MINUTE)
            case = fire(case, "stagnatie_gemeld", actor=regisseur, at=at + 8 * _MINUTE)
            # a joint decision: the coordinator agrees, the casusregisseur's agreement counts
            case = fire(case, "plan_aangepast", actor=coord, at=at + 9 * _MINUTE)
            case = fire(case, "plan_aangepast", actor=regisseur, at=at + 9 * _MINUTE)
            case = set_facts(case, {"zorg_ketenpartner_adequaat": True}, actor=coord,
                             at=at + 10 * _MINUTE)
            case = fire(case, "afsluiten", actor=coord,
                        data={"afsluitreden": "zorg_bij_ketenpartner"}, at=at + 11 * _MINUTE)
        cases.append(case)
    return cases


def harness_cases(n: int) -> list[Any]:
    """Cases as issue 18's harness makes them: start, three events and one `set_facts` of the
    same 10 values for every case, without ``at``."""
    eng = engine()
    people = actors()
    scp, coord = people["scp"], people["coord"]
    start, fire, set_facts = eng.start, eng.fire, eng.set_facts
    data = {"casusregisseur": people["regisseur"].id, "ketenpartner": "GGZ"}
    facts = ten_facts(0)
    cases = []
    for _ in range(n):
        case = start("lzn", actor=scp)
        case = fire(case, "passend_bevonden", actor=coord)
        case = fire(case, "geen_actief_dossier", actor=coord)
        case = fire(case, "casusregisseur_benoemd", actor=coord, data=data)
        cases.append(set_facts(case, facts, actor=coord))
    return cases


def _traced(build: Callable[[], list[Any]], n: int) -> float:
    """Bytes per object that ``build`` keeps alive, from two tracemalloc snapshots (blocks
    allocated by tracemalloc.py itself, i.e. the first snapshot, are left out)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        kept = build()
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    if len(kept) != n:
        raise BenchError("memory: wrong number of objects built")
    own = tracemalloc.__file__
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename")
                if stat.traceback[0].filename != own)
    del kept
    return grown / n


def run(n: int, repeats: int, n_models: int, n_closed: int) -> list[Row]:
    """``n`` zorgflow cases; ``n_models`` transitions models (bytes per model do not depend on
    how many are bound, and binding under tracemalloc is slow); ``n_closed`` closed cases."""
    eng = engine()
    regisseur = actors()["regisseur"].id

    def transitions_bytes() -> float:
        machine = transitions_machine(eng)  # shared by all models: built before the window

        def build() -> list[Any]:
            models: list[Any] = []
            for i in range(n_models):
                model = TransitionsModel()
                machine.add_model(model)
                model.passend_bevonden()
                model.geen_actief_dossier()
                model.casusregisseur_benoemd(casusregisseur=regisseur, ketenpartner="GGZ")
                model.facts.update(ten_facts(i))
                model.facts["casusregie_bij"] = "GGZ"  # what the benoeming writes
                models.append(model)
            if models[-1].state != "uitvoering":
                raise BenchError(f"transitions model in {models[-1].state}")
            return models

        return _traced(build, n_models)

    def zorgflow_bytes() -> float:
        return _traced(lambda: zorgflow_cases(n), n)

    def harness_bytes() -> float:
        return _traced(lambda: harness_cases(n), n)

    def zorgflow_closed_bytes() -> float:
        return _traced(lambda: zorgflow_cases(n_closed, whole_path=True), n_closed)

    check = zorgflow_cases(2)[-1]
    # the 10 facts set, and casusregie_bij that casusregisseur_benoemd writes
    if check.state != "uitvoering" or len(check.facts) != 11 or len(check.history) != 5:
        raise BenchError(f"memory: zorgflow case is {check!r} with {len(check.facts)} facts")
    check = zorgflow_cases(2, whole_path=True)[-1]
    if check.state != "afgesloten" or len(check.history) != 13:
        raise BenchError(f"memory: zorgflow case is {check!r} after the whole path")
    check = harness_cases(1)[0]
    if check.state != "uitvoering" or len(check.facts) != 11 or len(check.history) != 5:
        raise BenchError(f"memory: the harness's case is {check!r}")
    values = interleaved({"transitions": transitions_bytes, "zorgflow": zorgflow_bytes,
                          "harness": harness_bytes, "closed": zorgflow_closed_bytes}, repeats)
    base = median(values["transitions"])
    z = median(values["zorgflow"])
    c = median(values["closed"])
    rows = [section(f"**3. Memory per live case** — `uitvoering`, 10 facts set (11 held), "
                    "history of 5; "
                    f"{n:,} cases, tracemalloc; ratio = bytes ÷ transitions model")]
    rows.append(Row(f"`transitions` model bound to the shared Machine, same facts, no history "
                    f"({n_models:,} models; baseline)", fmt_bytes(base), "1.00×",
                    fmt_pct(spread(values["transitions"]))))
    rows.append(Row("zorgflow `Case` with its history", fmt_bytes(z), fmt_ratio(z / base),
                    fmt_pct(spread(values["zorgflow"])), "< 4 KB", z < 4096))
    h = median(values["harness"])
    rows.append(Row("↳ the same as issue 18's harness measures: the same 10 values in every "
                    "case, no `at` (the engine reads the clock)", fmt_bytes(h),
                    fmt_ratio(h / base), fmt_pct(spread(values["harness"])),
                    "< 2 KB (issue 18)", h < 2048))
    rows.append(Row("↳ diagnostic: zorgflow `Case` after the whole happy path (`afgesloten`, "
                    f"history of 13; {n_closed:,} cases)", fmt_bytes(c), fmt_ratio(c / base),
                    fmt_pct(spread(values["closed"]))))
    return rows
