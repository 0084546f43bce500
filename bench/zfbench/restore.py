"""4. Restoring a case: ``Case.from_dict(d)`` + its first ``fire``, against binding one model
to a shared `transitions` Machine that already holds the other live cases: 20,000 as in the
events measurement (the issue's setting), and ~1,000 in a diagnostic row, where binding is
cheaper because `add_model` scans the list of models bound.

``d`` is a case in ``uitvoering`` with 11 facts and a history of 5, as JSON data (``to_dict``
through ``json.dumps``/``json.loads``, as it comes out of a database). The first fire is
``voortgang_teruggekoppeld`` by the case's casusregisseur.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .common import (
    AT,
    BenchError,
    Row,
    TransitionsModel,
    actors,
    engine,
    fmt_pct,
    fmt_us,
    interleaved,
    median,
    perf_counter,
    section,
    spread,
    transitions_machine,
)
from .memory import zorgflow_cases


def run(iterations: int, repeats: int, bound: int, small_bound: int, batch: int
        ) -> list[Row]:
    import zorgflow

    eng = engine()
    regisseur = actors()["regisseur"]
    case = zorgflow_cases(1)[0]
    d = json.loads(json.dumps(case.to_dict()))
    keys = {"k1": b"bench key, 32 bytes long ......."}
    signed = json.loads(json.dumps(case.to_dict(key=keys, key_id="k1")))
    from_dict, fire, at = zorgflow.Case.from_dict, eng.fire, AT
    probe = fire(from_dict(d), "voortgang_teruggekoppeld", actor=regisseur, at=at)
    if fire(from_dict(signed, key=keys), "voortgang_teruggekoppeld", actor=regisseur,
            at=at).to_dict() != probe.to_dict():
        raise BenchError("restore: the signed case restores to another case")
    # 10 facts set, and casusregie_bij that casusregisseur_benoemd writes
    if probe.state != "uitvoering" or len(probe.history) != 6 or len(probe.facts) != 11:
        raise BenchError(f"restore: unexpected case after the first fire: {probe!r}")

    def restore_and_fire() -> float:
        start = perf_counter()
        for _ in range(iterations):
            fire(from_dict(d), "voortgang_teruggekoppeld", actor=regisseur, at=at)
        return (perf_counter() - start) / iterations

    def trusted_restore_and_fire() -> float:
        start = perf_counter()
        for _ in range(iterations):
            fire(from_dict(d, verify=False), "voortgang_teruggekoppeld", actor=regisseur, at=at)
        return (perf_counter() - start) / iterations

    def keyed_restore_and_fire() -> float:
        start = perf_counter()
        for _ in range(iterations):
            fire(from_dict(signed, key=keys), "voortgang_teruggekoppeld", actor=regisseur, at=at)
        return (perf_counter() - start) / iterations

    def restore_only() -> float:
        start = perf_counter()
        for _ in range(iterations):
            from_dict(d)
        return (perf_counter() - start) / iterations

    def first_fire_only() -> float:
        restored = [from_dict(d) for _ in range(iterations)]
        start = perf_counter()
        for case in restored:
            fire(case, "voortgang_teruggekoppeld", actor=regisseur, at=at)
        return (perf_counter() - start) / iterations

    def fire_in_memory() -> float:
        """The same fire on a case the engine already holds: no restore can go below it."""
        start = perf_counter()
        for _ in range(iterations):
            fire(probe, "voortgang_teruggekoppeld", actor=regisseur, at=at)
        return (perf_counter() - start) / iterations

    def binder(models_bound: int) -> tuple[Any, Callable[[], float]]:
        machine = transitions_machine(eng)
        for _ in range(models_bound):
            machine.add_model(TransitionsModel())
        add_model = machine.add_model

        def bind_one() -> float:
            """Bind ``batch`` new models one by one (timed), then unbind them (not timed), so
            the machine stays at ``models_bound`` models."""
            total = 0.0
            done = 0
            while done < iterations:
                models = [TransitionsModel() for _ in range(min(batch, iterations - done))]
                start = perf_counter()
                for model in models:
                    add_model(model)
                total += perf_counter() - start
                del machine.models[models_bound:]
                done += len(models)
            return total / iterations

        return machine, bind_one

    machine, bind_one = binder(bound)
    small_machine, bind_small = binder(small_bound)
    bind_one()  # warm up
    bind_small()
    restore_and_fire()
    times = interleaved({"bind": bind_one, "bind_small": bind_small,
                         "restore": restore_and_fire,
                         "trusted": trusted_restore_and_fire, "keyed": keyed_restore_and_fire,
                         "from_dict": restore_only,
                         "fire": first_fire_only, "floor": fire_in_memory}, repeats)
    if len(machine.models) != bound or len(small_machine.models) != small_bound:
        raise BenchError("restore: a machine did not stay at its number of models")
    base = median(times["bind"])
    ours = median(times["restore"])
    rows = [section(f"**4. Restore** — `Case.from_dict(d)` + first `fire` vs binding a model to "
                    f"a shared Machine with ~{bound:,} models; ratio = how many times cheaper")]
    rows.append(Row(f"`machine.add_model(model)` with ~{bound:,} models bound (baseline)",
                    fmt_us(base), "1.00×", fmt_pct(spread(times["bind"]))))
    f = median(times["trusted"])
    rows.append(Row("`Case.from_dict(d, verify=False)` + first `engine.fire` (history of 5, 11 "
                    "facts), for storage that guarantees integrity: no digest, entries read when "
                    "the history is read",
                    fmt_us(f), f"{base / f:.1f}× cheaper", fmt_pct(spread(times["trusted"])),
                    "≥ 50× cheaper", base / f >= 50))
    rows.append(Row("`Case.from_dict(d)` + first `engine.fire`, verified (the default, for data "
                    "from outside): recomputes the SHA-256 digest over the canonical JSON, "
                    "~20 µs of it", fmt_us(ours), f"{base / ours:.1f}× cheaper",
                    fmt_pct(spread(times["restore"]))))
    f = median(times["keyed"])
    rows.append(Row("`Case.from_dict(d, key=keys)` + first `engine.fire`, verified under a key "
                    "(for data from outside a trust boundary): checks the HMAC-SHA-256 over the "
                    "same canonical JSON, then reads as `verify=False` does", fmt_us(f),
                    f"{base / f:.1f}× cheaper",
                    fmt_pct(spread(times["keyed"])), "≥ 10× cheaper", base / f >= 10))
    f = median(times["from_dict"])
    rows.append(Row("↳ of which `Case.from_dict(d)` alone (verified)", fmt_us(f),
                    f"{base / f:.1f}× cheaper", fmt_pct(spread(times["from_dict"]))))
    f = median(times["fire"])
    rows.append(Row("↳ of which the first `fire` on a restored case (checks its facts, then "
                    "fires)", fmt_us(f), f"{base / f:.1f}× cheaper",
                    fmt_pct(spread(times["fire"]))))
    f = median(times["floor"])
    rows.append(Row("↳ diagnostic, the floor: the same `fire` on a case already in memory (no "
                    "restore at all); restore + fire cannot be cheaper than this",
                    fmt_us(f), f"{base / f:.1f}× cheaper", fmt_pct(spread(times["floor"]))))
    f = median(times["bind_small"])
    rows.append(Row(f"↳ diagnostic: `machine.add_model(model)` with ~{small_bound:,} models bound "
                    "(a shorter list to scan; mostly garbage collection, so it varies with the "
                    "process's heap: see bench/README.md); `verify=False` + fire is "
                    f"{f / median(times['trusted']):.0f}× cheaper than this", fmt_us(f),
                    f"{base / f:.2f}×", fmt_pct(spread(times["bind_small"]))))
    return rows
