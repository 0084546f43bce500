"""2. Events: the LZN happy path driven for many live cases.

Every case is opened, then the steps are applied step by step across all cases (as events
arrive for many open cases in an application), keeping all cases alive in a list. Three
contenders, measured in turns in the same process:

* zorgflow: ``engine.start``, then ``engine.fire``/``engine.set_facts`` (roles, case roles, data
  validation, the guard on ``afsluiten`` reading rule set ``afsluitcriteria``, one history
  entry per step);
* raw `transitions`: ONE shared ``Machine`` with the LZN states and triggers and a condition
  callback on ``afsluiten`` (same rule, written by hand); each case is a model bound with
  ``machine.add_model`` (timed separately, as "opening");
* a plain dict table ``{(state, event): target}`` with the same hand-written guard: the limit.

A second measurement follows the harness the issues were measured with: one case at a time,
the steps from ``casusregisseur_benoemd`` to ``afsluiten``, again and again from the same
case (so no case lives long), against one `transitions` model set back to the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from . import by_hand
from .common import (
    AT,
    BenchError,
    Row,
    TransitionsModel,
    actors,
    afsluitcriteria_by_hand,
    agree_trigger,
    engine,
    fmt_pct,
    fmt_rate,
    fmt_ratio,
    fmt_us,
    interleaved,
    median,
    perf_counter,
    section,
    spread,
    transition_table,
    transitions_machine,
)

#: steps after opening: (kind, event, actor key, data). 10 events (one of them the first
#: agreement to the joint decision plan_aangepast: kind "agree", the state stays) and 1
#: set_facts.
STEPS: tuple[tuple[str, str, str, dict[str, Any] | None], ...] = (
    ("fire", "passend_bevonden", "coord", None),
    ("fire", "geen_actief_dossier", "coord", None),
    ("fire", "casusregisseur_benoemd", "coord",
     {"casusregisseur": "<regisseur>", "ketenpartner": "GGZ"}),
    ("fire", "voortgang_teruggekoppeld", "regisseur", None),
    ("fire", "voortgang_teruggekoppeld", "regisseur", None),
    ("fire", "voortgang_teruggekoppeld", "regisseur", None),
    ("fire", "stagnatie_gemeld", "regisseur", None),
    ("agree", "plan_aangepast", "coord", None),
    ("fire", "plan_aangepast", "regisseur", None),
    ("facts", "set_facts", "coord", {"zorg_ketenpartner_adequaat": True}),
    ("fire", "afsluiten", "coord", {"afsluitreden": "zorg_bij_ketenpartner"}),
)
STEPS_PER_CASE = len(STEPS)
EVENTS_PER_CASE = sum(1 for kind, *_ in STEPS if kind != "facts")
FINAL = "afgesloten"


def _steps(people: dict[str, Any]) -> list[tuple[str, str, Any, dict[str, Any] | None]]:
    out = []
    for kind, event, who, data in STEPS:
        if data is not None and data.get("casusregisseur") == "<regisseur>":
            data = {**data, "casusregisseur": people["regisseur"].id}
        out.append((kind, event, people[who], data))
    return out


def zorgflow_runner() -> Callable[[int], tuple[float, float]]:
    eng = engine()
    people = actors()
    steps = _steps(people)
    scp = people["scp"]

    def run(n: int) -> tuple[float, float]:
        start, fire, set_facts, at = eng.start, eng.fire, eng.set_facts, AT
        t0 = perf_counter()
        cases = [start("lzn", actor=scp, at=at) for _ in range(n)]
        t1 = perf_counter()
        for kind, event, actor, data in steps:
            if kind != "facts":  # a fire, or an agreement (also engine.fire)
                for i, case in enumerate(cases):
                    cases[i] = fire(case, event, actor=actor, data=data, at=at)
            else:
                for i, case in enumerate(cases):
                    cases[i] = set_facts(case, data, actor=actor, at=at)
        t2 = perf_counter()
        for case in cases:
            if case.state != FINAL or len(case.history) != STEPS_PER_CASE + 1:
                raise BenchError(f"zorgflow case ended in {case.state} with "
                                 f"{len(case.history)} history entries")
        return t1 - t0, t2 - t1

    return run


def transitions_runner() -> Callable[[int], tuple[float, float]]:
    eng = engine()
    steps = _steps(actors())

    def run(n: int) -> tuple[float, float]:
        machine = transitions_machine(eng)  # set-up, not timed
        add_model = machine.add_model
        t0 = perf_counter()
        models: list[Any] = []
        for _ in range(n):
            model = TransitionsModel()
            add_model(model)
            models.append(model)
        t1 = perf_counter()
        refused = 0
        for kind, event, _, data in steps:
            if kind != "facts":
                kwargs = data or {}
                trigger = agree_trigger(event) if kind == "agree" else event
                for model in models:
                    if not getattr(model, trigger)(**kwargs):
                        refused += 1
            else:
                for model in models:
                    model.facts.update(data)  # type: ignore[arg-type]
        t2 = perf_counter()
        if refused or any(m.state != FINAL for m in models):
            raise BenchError(f"transitions: {refused} refused events, states "
                             f"{ {m.state for m in models} }")
        return t1 - t0, t2 - t1

    return run


def dict_runner() -> Callable[[int], tuple[float, float]]:
    eng = engine()
    steps = _steps(actors())
    table = transition_table(eng)
    initial = eng.workflow("lzn").initial.id
    by_hand = afsluitcriteria_by_hand

    def fire(case: dict[str, Any], event: str, data: dict[str, Any] | None) -> None:
        target = table[(case["state"], event)]  # KeyError: the event does not leave the state
        if event == "afsluiten" and data["afsluitreden"] not in by_hand(case["facts"]):
            raise ValueError("afsluiten refused")
        case["state"] = target

    def run(n: int) -> tuple[float, float]:
        t0 = perf_counter()
        cases = [{"state": initial, "facts": {}} for _ in range(n)]
        t1 = perf_counter()
        for kind, event, _, data in steps:
            if kind != "facts":
                key = agree_trigger(event) if kind == "agree" else event
                for case in cases:
                    fire(case, key, data)
            else:
                for case in cases:
                    case["facts"].update(data)
        t2 = perf_counter()
        if any(c["state"] != FINAL for c in cases):
            raise BenchError("dict table: a case did not end in afgesloten")
        return t1 - t0, t2 - t1

    return run


def _path_steps(people: dict[str, Any]) -> tuple[list[tuple[str, str, Any, Any]],
                                                  list[tuple[str, str, Any, Any]]]:
    """The steps before ``casusregisseur_benoemd``, and the path from it to ``afsluiten``."""
    steps = _steps(people)
    first = next(i for i, (_, event, _, _) in enumerate(steps)
                 if event == "casusregisseur_benoemd")
    return steps[:first], steps[first:]


def path_runners(passes: int) -> dict[str, Callable[[], float]]:
    """Each contender drives one case ``passes`` times along the path from
    ``casusregisseur_benoemd`` to ``afsluiten``; the time of all passes."""
    eng = engine()
    people = actors()
    before, path = _path_steps(people)
    fire, set_facts = eng.fire, eng.set_facts
    case = eng.start("lzn", actor=people["scp"], at=AT)
    for _, event, actor, data in before:
        case = fire(case, event, actor=actor, data=data, at=AT)
    start = case

    def zorgflow_path() -> float:
        t0 = perf_counter()
        for _ in range(passes):
            case = start
            for kind, event, actor, data in path:
                if kind == "facts":
                    case = set_facts(case, data, actor=actor, at=AT)
                else:
                    case = fire(case, event, actor=actor, data=data, at=AT)
        elapsed = perf_counter() - t0
        if case.state != FINAL:
            raise BenchError(f"zorgflow path ended in {case.state}")
        return elapsed

    machine = transitions_machine(eng)
    model = TransitionsModel()
    machine.add_model(model)
    calls = []
    for kind, event, _, data in path:
        if kind == "facts":
            calls.append((None, data))
        else:
            calls.append((agree_trigger(event) if kind == "agree" else event, data or {}))
    middle = start.state

    def transitions_path() -> float:
        t0 = perf_counter()
        for _ in range(passes):
            machine.set_state(middle, model=model)
            model.facts = {}
            for trigger, data in calls:
                if trigger is None:
                    model.facts.update(data)
                elif not getattr(model, trigger)(**data):
                    raise BenchError(f"transitions refused {trigger}")
        elapsed = perf_counter() - t0
        if model.state != FINAL:
            raise BenchError(f"transitions path ended in {model.state}")
        return elapsed

    coord, regisseur = people["coord"], people["regisseur"]
    benoeming = next(d for _, e, _, d in path if e == "casusregisseur_benoemd")
    given = next(d for k, _, _, d in path if k == "facts")
    closing = next(d for _, e, _, d in path if e == "afsluiten")
    if [e for _, e, _, _ in path] != list(_BY_HAND_PATH):
        raise BenchError("events: the path changed; update bench/zfbench/by_hand.py")
    hand_start: by_hand.HandCase = (
        start.state, dict(start.facts), dict(start.case_roles), dict(start.timers),
        {t.id: (t.opened_at, t.due_at, t.done_at, t.done_by) for t in eng.tasks(start)}, {},
        tuple((e.seq, e.at, e.actor, e.role, e.kind, e.event, e.from_state, e.to_state, ())
              for e in start.history))

    def by_hand_path() -> float:
        t0 = perf_counter()
        for _ in range(passes):
            case = by_hand.benoemd(hand_start, coord, benoeming, AT)
            case = by_hand.voortgang(case, regisseur, AT)
            case = by_hand.voortgang(case, regisseur, AT)
            case = by_hand.voortgang(case, regisseur, AT)
            case = by_hand.stagnatie(case, regisseur, AT)
            case = by_hand.plan_aangepast(case, coord, AT)
            case = by_hand.plan_aangepast(case, regisseur, AT)
            case = by_hand.set_facts(case, coord, given, AT)
            case = by_hand.afsluiten(case, coord, closing, AT)
        elapsed = perf_counter() - t0
        if case[0] != FINAL or len(case[6]) != len(start.history) + len(path):
            raise BenchError(f"by hand the path ended in {case[0]}")
        return elapsed

    return {"transitions": transitions_path, "zorgflow": zorgflow_path,
            "by hand": by_hand_path}


#: the steps `by_hand_path` takes, in order
_BY_HAND_PATH = ("casusregisseur_benoemd", "voortgang_teruggekoppeld",
                 "voortgang_teruggekoppeld", "voortgang_teruggekoppeld", "stagnatie_gemeld",
                 "plan_aangepast", "plan_aangepast", "set_facts", "afsluiten")


def path_rows(passes: int, repeats: int) -> list[Row]:
    """Per step, one case at a time, as the issues' harness measures."""
    runners = path_runners(passes)
    for runner in runners.values():
        runner()  # warm up, and check
    times = interleaved(runners, repeats)
    steps = len(_path_steps(actors())[1]) * passes
    base = steps / median(times["transitions"])
    z = steps / median(times["zorgflow"])
    hand = steps / median(times["by hand"])
    return [
        Row(f"per step, one case at a time: the {steps // passes} steps from "
            "`casusregisseur_benoemd` to `afsluiten` (an agreement and a `set_facts` among "
            f"them) {passes:,} times over; raw `transitions`, one model set back to "
            "`uitvoering` each time (baseline)", fmt_rate(base, " steps/s"), "1.00×",
            fmt_pct(spread(times["transitions"]))),
        Row("↳ `engine.fire` / `set_facts` over the same steps, from the same case each time "
            "(the issue's measure)", fmt_rate(z, " steps/s"), fmt_ratio(z / base),
            fmt_pct(spread(times["zorgflow"])), "≥ 3× (issue 18)", z / base >= 3.0),
        Row("↳ diagnostic, the floor: the same steps written by hand for this one workflow in "
            "plain Python (bench/zfbench/by_hand.py: the same checks, an immutable case and "
            "its history; no explanations, no reasons, nothing generic)",
            fmt_rate(hand, " steps/s"), fmt_ratio(hand / base),
            fmt_pct(spread(times["by hand"]))),
    ]


def run(n: int, repeats: int) -> list[Row]:
    runners = {"transitions": transitions_runner(), "dict": dict_runner(),
               "zorgflow": zorgflow_runner()}
    for runner in runners.values():  # warm up (and check) each once on a few cases
        runner(min(n, 500))
    times = interleaved({name: partial(r, n) for name, r in runners.items()}, repeats)
    opened = {k: [t[0] for t in v] for k, v in times.items()}
    driven = {k: [t[1] for t in v] for k, v in times.items()}
    total = {k: [t[0] + t[1] for t in v] for k, v in times.items()}
    events = n * STEPS_PER_CASE

    def rate(name: str) -> float:
        return events / median(driven[name])

    base = rate("transitions")
    z = rate("zorgflow")
    rows = [section(f"**2. Events** — LZN happy path, {n:,} live cases × {STEPS_PER_CASE} "
                    f"steps ({EVENTS_PER_CASE} `fire`, one an agreement, + "
                    f"{STEPS_PER_CASE - EVENTS_PER_CASE} `set_facts`); ratio = events/s ÷ raw "
                    "transitions")]
    rows.append(Row("raw `transitions`, one shared Machine, condition on `afsluiten` (baseline)",
                    fmt_rate(base, " ev/s"), "1.00×", fmt_pct(spread(driven["transitions"]))))
    r = rate("dict")
    rows.append(Row("plain dict table `{(state, event): target}` + same guard (the limit)",
                    fmt_rate(r, " ev/s"), fmt_ratio(r / base), fmt_pct(spread(driven["dict"]))))
    rows.append(Row("`engine.fire` / `set_facts`: roles, data validation, guard, history",
                    fmt_rate(z, " ev/s"), fmt_ratio(z / base), fmt_pct(spread(driven["zorgflow"])),
                    "≥ 1.0× (moonshot 3×)", z / base >= 1.0))
    t_open = median(opened["transitions"]) / n
    z_open = median(opened["zorgflow"]) / n
    rows.append(Row("↳ opening a case: `machine.add_model(model)`, growing to "
                    f"{n:,} models (baseline)", fmt_us(t_open) + "/case", "1.00×",
                    fmt_pct(spread(opened["transitions"]))))
    rows.append(Row("↳ opening a case: `engine.start`", fmt_us(z_open) + "/case",
                    f"{t_open / z_open:.1f}× cheaper" if z_open < t_open
                    else f"{z_open / t_open:.1f}× dearer", fmt_pct(spread(opened["zorgflow"]))))
    t_total = n / median(total["transitions"])
    z_total = n / median(total["zorgflow"])
    rows.append(Row("↳ whole path incl. opening, zorgflow vs transitions",
                    fmt_rate(z_total, " cases/s") + f" vs {fmt_rate(t_total, '')}",
                    fmt_ratio(z_total / t_total), fmt_pct(spread(total["zorgflow"]))))
    return rows + path_rows(max(n // 4, 100), repeats)
