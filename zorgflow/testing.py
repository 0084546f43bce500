"""Hypothesis strategies and a generated state machine for any workflow.

In an application's test suite::

    from zorgflow import load_workflow
    from zorgflow.testing import state_machine_for

    TestLzn = state_machine_for(load_workflow("workflows/lzn.yaml")).TestCase

The machine starts a case, then fires random events by random actors with random data and
sets random facts. After every accepted step it checks the workflow's invariants
(``requires_case_role``, ``implies`` on entering a state, ``never``) and that the case
survives serialisation; a refused step must leave the case unchanged. ``always_reachable``
is a property of the whole graph and is proved by `zorgflow.verify` instead.

Requires hypothesis (in the ``dev`` extra).
"""

from __future__ import annotations

import contextlib
import itertools
import json
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from .engine import Actor, Case, Engine
from .errors import TransitionRejected
from .model import FactType, Workflow
from .model.calendar import AMSTERDAM
from .program import Program, program_of
from .rules.expr import Env, Expr
from .rules.logic import UNKNOWN
from .rules.rulesets import CompiledCriteria, CompiledTable
from .verify import WitnessSearch

#: When generated scenarios start; every step moves time forward by up to 40 days.
START = datetime(2026, 1, 5, 9, 0, tzinfo=AMSTERDAM)


def values_of(ftype: FactType, actor_ids: list[str] | None = None) -> st.SearchStrategy[Any]:
    """Values of a declared type (with text drawn from ``actor_ids`` when given)."""
    kind = ftype.name
    if kind == "boolean":
        return st.booleans()
    if kind == "enum":
        return st.sampled_from(ftype.values)
    if kind in ("integer", "number"):
        low = int(ftype.minimum) if ftype.minimum is not None else -2
        high = int(ftype.maximum) if ftype.maximum is not None else 40
        return st.integers(low, max(low, high))
    if kind == "date":
        return st.dates(date(2025, 1, 1), date(2027, 1, 1))
    if kind == "datetime":
        return st.datetimes(datetime(2025, 1, 1), datetime(2027, 1, 1),
                            timezones=st.just(AMSTERDAM))
    if kind == "string":
        texts = st.text("abcdefghij _-", min_size=1, max_size=8)
        return st.sampled_from(actor_ids) | texts if actor_ids else texts
    if ftype.fields:
        record = st.fixed_dictionaries({}, optional={
            name: values_of(field) for name, field in ftype.fields.items()})
        return st.lists(record, max_size=3)
    item = ftype.items or FactType("string")
    return st.lists(values_of(item), max_size=3)


def facts_for(workflow: Workflow, *, personal: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Sets of facts (a random subset, typed values); personal data only if asked."""
    optional = {fid: values_of(f.type) for fid, f in workflow.facts.items()
                if personal or not f.personal_data}
    return st.fixed_dictionaries({}, optional=optional)


def actors_for(workflow: Workflow) -> list[Actor]:
    """One actor per organisational role, plus two who hold nothing but may be assigned case
    roles, and one with every organisational role."""
    org = [r for r in workflow.roles.values() if not r.case_role]
    actors = [Actor(f"actor_{r.id}", {r.id}) for r in org]
    case_roles = {r.id for r in workflow.roles.values() if r.case_role}
    actors += [Actor("actor_case_a", case_roles), Actor("actor_case_b", case_roles)]
    actors.append(Actor("actor_all", {r.id for r in org}))
    return actors


def _data_for(workflow: Workflow, event: str, ids: list[str]
              ) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for t in workflow.transitions:
        if t.event == event:
            for f in t.data.values():
                fields[f.id] = values_of(f.type, ids)
    well_typed = st.fixed_dictionaries({}, optional=fields)
    junk = st.dictionaries(st.sampled_from([*fields, "onbekend_veld"]),
                           st.none() | st.integers() | st.text(max_size=4), max_size=2)
    return st.one_of(well_typed, well_typed, well_typed, junk)


def event_step(workflow: Workflow) -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
    """One ``(event, actor id, data)``: data mostly well-typed, sometimes not."""
    ids = [a.id for a in actors_for(workflow)]
    return st.sampled_from(workflow.events).flatmap(
        lambda event: st.tuples(st.just(event), st.sampled_from(ids),
                                _data_for(workflow, event, ids)))


def event_steps(workflow: Workflow) -> st.SearchStrategy[list[tuple[str, str, dict[str, Any]]]]:
    """Lists of `event_step`."""
    return st.lists(event_step(workflow), max_size=30)


class _Checks:
    """The workflow's invariants compiled for per-step checking."""

    def __init__(self, workflow: Workflow, program: Program) -> None:
        self.requires: list[tuple[str, set[str], str]] = []
        self.implies: list[tuple[str, set[str], dict[str, Expr]]] = []
        self.never: list[tuple[str, str, dict[str, Expr]]] = []
        for inv in workflow.invariants:
            states = set(inv.states)
            by_event = {workflow.transitions[n].event: expr
                        for n, expr in program.invariants[inv.id].on.items()}
            if inv.kind == "requires_case_role":
                self.requires.append((inv.id, states, inv.role))
            elif inv.kind == "implies":
                self.implies.append((inv.id, states, by_event))
            elif inv.kind == "never":
                self.never.append((inv.id, inv.event, by_event))


def _passing_choices(program: Program, case: Case, event: str, at: datetime
                     ) -> list[dict[str, Any]]:
    """Values of the enum/boolean data fields a guard reads that make it true now."""
    ct = program.table.get((case.state, event))
    if ct is None or ct.guard is None or not ct.enum_choices:
        return []
    decide = program.decider(case.facts, at)
    names = [name for name, _ in ct.enum_choices]
    result = []
    for combo in itertools.islice(itertools.product(*(v for _, v in ct.enum_choices)), 256):
        chosen = dict(zip(names, combo, strict=True))
        if ct.guard.fn(Env(case.facts, at, chosen, decide)) is True:
            result.append(chosen)
    return result


def _criterion_witnesses(workflow: Workflow, program: Program) -> dict[str, list[dict[str, Any]]]:
    """For each criterion of each criteria rule set, facts under which it holds (found by the
    verifier's witness search), without facts only narrower roles may set."""
    search = WitnessSearch(program, budget=20_000)
    free = _settable(workflow)
    found: dict[str, list[dict[str, Any]]] = {}
    for rid, rs in program.rules.items():
        if not isinstance(rs, CompiledCriteria):
            continue
        for (_, test), (_, _, exprs) in zip(rs.tests, rs.clauses, strict=True):
            witness = search.find(list(exprs), test, data_types={})
            if witness:
                facts = {k: v for k, v in witness.items() if k in free}
                if facts:
                    found.setdefault(rid, []).append(facts)
    return found


def _never_witnesses(workflow: Workflow, program: Program, checks: _Checks
                     ) -> list[tuple[str, dict[str, Any]]]:
    """For each ``never:`` invariant, its event and facts/data under which its ``when``
    holds (whether the guard then lets the event through is what the machine tests)."""
    search = WitnessSearch(program, budget=20_000)
    free = _settable(workflow)
    found = []
    for _, event, exprs in checks.never:
        expr = exprs[event]
        transition = next(t for t in workflow.transitions if t.event == event)
        types = {f.id: (f.type, f.required) for f in transition.data.values()}
        witness = search.find([expr], expr.fn, data_types=types)
        if witness is not None:
            found.append((event, {k: v for k, v in witness.items()
                                  if k.startswith("data.") or k in free}))
    return found


def _guard_witnesses(workflow: Workflow, program: Program
                     ) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """For each guarded transition, facts and data under which its guard is true: one per
    choice of its enum/boolean data fields (so each closure reason, say, gets its turn)."""
    search = WitnessSearch(program, budget=20_000)
    free = _settable(workflow)
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ct in program.table.values():
        guard = ct.guard
        if guard is None:
            continue
        types = {f.id: (f.type, f.required) for f in ct.model.data.values()}
        choices = [dict(zip([n for n, _ in ct.enum_choices], combo, strict=True))
                   for combo in itertools.islice(itertools.product(
                       *(v for _, v in ct.enum_choices)), 64)] or [{}]
        for chosen in choices:
            def fixed(env: Env, chosen: dict[str, Any] = chosen, guard: Expr = guard) -> Any:
                return guard.fn(Env(env.facts, env.at, {**env.data, **chosen}, env.decide))

            witness = search.find([guard], fixed, data_types=types)
            if witness is not None and all(k in free for k in witness if "." not in k):
                data = {f"data.{k}": v for k, v in chosen.items()}
                found.setdefault((ct.from_state, ct.event), []).append({**witness, **data})
    return found


def _fact_groups(workflow: Workflow, program: Program) -> list[tuple[str, ...]]:
    """The facts each criterion, table and guard reads, as groups to set together."""
    groups: dict[tuple[str, ...], None] = {}
    for rs in program.rules.values():
        if isinstance(rs, CompiledCriteria):
            for _, _, exprs in rs.clauses:
                groups[tuple(dict.fromkeys(n for e in exprs for n in e.facts_read))] = None
        elif isinstance(rs, CompiledTable):
            groups[tuple(dict.fromkeys(n for e in rs.inputs for n in e.facts_read))] = None
    for ct in program.table.values():
        if ct.guard is not None and ct.guard.facts_read:
            groups[tuple(ct.guard.facts_read)] = None
    free = _settable(workflow)
    return [g for g in (tuple(n for n in group if n in free) for group in groups) if g]


def _settable(workflow: Workflow) -> set[str]:
    """Facts the all-organisational-roles actor may set (not those only case roles may)."""
    org = {r.id for r in workflow.roles.values() if not r.case_role}
    return {f.id for f in workflow.facts.values()
            if not f.events_only and (not f.set_by or set(f.set_by) & org)}


def state_machine_for(workflow: Workflow, engine: Engine | None = None
                      ) -> type[RuleBasedStateMachine]:
    """A hypothesis `RuleBasedStateMachine` exploring ``workflow`` (see the module doc)."""
    engine = engine if engine is not None else Engine([workflow])
    runner: Engine = engine
    actors = {a.id: a for a in actors_for(workflow)}
    starters = [a for a in actors.values() if a.roles & set(workflow.start_by)]
    program = program_of(workflow)
    checks = _Checks(workflow, program)
    ids = sorted(actors)
    groups = _fact_groups(workflow, program)
    holding = [w for ws in _criterion_witnesses(workflow, program).values() for w in ws]
    guard_witnesses = _guard_witnesses(workflow, program)
    attacks = _never_witnesses(workflow, program, checks)
    closes = {key: bool(ct.target) and workflow.states[ct.target].final
              for key, ct in program.table.items()}

    class WorkflowMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.at = START
            self.case: Case = runner.start(workflow.id, actor=starters[0], at=self.at,
                                           version=workflow.version)

        def _tick(self, days: int) -> datetime:
            self.at = self.at + timedelta(days=days)
            return self.at

        @rule(step=event_step(workflow), days=st.integers(0, 40))
        def fire_any(self, step: tuple[str, str, dict[str, Any]], days: int) -> None:
            """Any event by any actor: mostly refused, which must change nothing."""
            self._fire(*step, self._tick(days))

        @rule(data=st.data(), days=st.integers(0, 40))
        def fire_allowed(self, data: st.DataObject, days: int) -> None:
            """An event the engine says this actor may fire now."""
            at = self._tick(days)
            allowed = [(actor, event) for actor in ids
                       for event in runner.allowed(self.case, actors[actor], at)]
            # mostly stay in the process: explore deeper before closing the case
            open_ = [(a, e) for a, e in allowed if not closes[(self.case.state, e)]]
            stay: int = data.draw(st.integers(0, 3))
            if open_ and stay:
                allowed = open_
            if allowed:
                actor, event = data.draw(st.sampled_from(allowed))
                values = data.draw(_data_for(workflow, event, ids))
                passing = _passing_choices(program, self.case, event, at)
                if passing:
                    values = {**values, **data.draw(st.sampled_from(passing))}
                self._fire(event, actor, values, at)

        @rule(attack=st.sampled_from(attacks) if attacks else st.nothing(), data=st.data())
        def try_what_a_never_rule_forbids(self, attack: tuple[str, dict[str, Any]],
                                          data: st.DataObject) -> None:
            """Set up the situation a ``never:`` invariant forbids, then try the event."""
            event, witness = attack
            if workflow.states[self.case.state].final:
                return
            # the facts stay set even when the event cannot fire here: a later step may
            self._set_up_and_fire(event, witness, data, self.at)

        @rule(data=st.data(), days=st.integers(0, 40))
        def fire_guarded_when_it_may(self, data: st.DataObject, days: int) -> None:
            """Guided: set facts under which a guarded event of this state may fire (found by
            the verifier's witness search), then fire it with matching data."""
            options = [(ct, w) for ct in program.by_state[self.case.state]
                       for w in guard_witnesses.get((ct.from_state, ct.event), [])]
            if not options or workflow.states[self.case.state].final:
                return
            ct, witness = data.draw(st.sampled_from(options))
            self._set_up_and_fire(ct.event, witness, data, self._tick(days))

        def _set_up_and_fire(self, event: str, witness: dict[str, Any], data: st.DataObject,
                             at: datetime) -> None:
            """Set a witness's facts, then fire ``event`` (if it leaves this state) by an
            actor who may, with the witness's data over random data."""
            facts = {k: v for k, v in witness.items() if not k.startswith("data.")}
            values = {k[5:]: v for k, v in witness.items() if k.startswith("data.")}
            if facts:
                with contextlib.suppress(TransitionRejected):
                    self.case = runner.set_facts(self.case, facts, actor=actors["actor_all"],
                                                 at=at)
            ct = program.table.get((self.case.state, event))
            if ct is None:
                return
            firing = [a for a in ids
                      if ct.role_for(a, actors[a].roles, self.case.case_roles) is not None]
            if firing:
                extra = data.draw(_data_for(workflow, event, ids))
                self._fire(event, data.draw(st.sampled_from(firing)), {**extra, **values}, at)

        def _fire(self, event: str, who: str, data: dict[str, Any], at: datetime) -> None:
            before = json.dumps(self.case.to_dict(), sort_keys=True)
            try:
                new = runner.fire(self.case, event, actor=actors[who], data=data, at=at)
            except TransitionRejected as refused:
                assert refused.reasons, "a refusal must say why"
                assert json.dumps(self.case.to_dict(), sort_keys=True) == before, \
                    "a refused event changed the case"
                return
            if new.history[-1].kind == "agree":
                assert new.state == self.case.state, "an agreement moved the case"
                assert event in new.agreements, "an agreement was not kept as pending"
            else:
                assert event not in new.agreements, "a decision taken is still pending"
                self._check_step(self.case, new, event, new.history[-1].data, at)
            self.case = new

        @rule(data=st.data())
        def complete_a_task(self, data: st.DataObject) -> None:
            """Complete an open task, by someone who may or may not hold its role."""
            open_tasks = [t for t in runner.tasks(self.case) if not t.done]
            if not open_tasks:
                return
            task = data.draw(st.sampled_from(open_tasks))
            who = actors[data.draw(st.sampled_from(ids))]
            before = json.dumps(self.case.to_dict(), sort_keys=True)
            try:
                new = runner.complete(self.case, task.id, actor=who, at=self.at)
            except TransitionRejected as refused:
                assert refused.reasons, "a refusal must say why"
                assert json.dumps(self.case.to_dict(), sort_keys=True) == before, \
                    "a refused completion changed the case"
                return
            assert new.state == self.case.state, "completing a task moved the case"
            done = {t.id: t.done for t in runner.tasks(new)}
            assert done[task.id], "a completed task is not done"
            self.case = new

        @rule(group=st.sampled_from(groups) if groups else st.nothing(), data=st.data())
        def set_facts_of_a_rule(self, group: tuple[str, ...], data: st.DataObject) -> None:
            """Set together the facts one criterion, row input or guard reads."""
            if workflow.states[self.case.state].final:
                return
            values = {fact: data.draw(values_of(workflow.facts[fact].type)) for fact in group}
            with contextlib.suppress(TransitionRejected):
                self.case = runner.set_facts(self.case, values, actor=actors["actor_all"],
                                             at=self.at)

        @rule(facts=st.sampled_from(holding) if holding else st.nothing())
        def make_a_criterion_hold(self, facts: dict[str, Any]) -> None:
            """Set facts under which one criterion holds: where process rules are tested."""
            if workflow.states[self.case.state].final:
                return
            with contextlib.suppress(TransitionRejected):
                self.case = runner.set_facts(self.case, facts, actor=actors["actor_all"],
                                             at=self.at)

        def _check_step(self, old: Case, new: Case, event: str, data: Any,
                        at: datetime) -> None:
            env = Env(old.facts, at, data, program.decider(old.facts, at))
            for iid, never_event, exprs in checks.never:
                if event == never_event and exprs[event].fn(env) is True:
                    raise AssertionError(f"invariant {iid}: '{event}' fired while "
                                         f"'{exprs[event].source}' holds; facts before: "
                                         f"{_facts_text(old)}; data: {dict(data)}")
            # an implied condition is read once the step took effect (its sets: included),
            # as verify reads it
            after = Env(new.facts, at, data, program.decider(new.facts, at))
            for iid, states, exprs in checks.implies:
                entering = new.state in states and old.state not in states
                if entering and event in exprs and exprs[event].fn(after) is False:
                    raise AssertionError(f"invariant {iid}: entered '{new.state}' by "
                                         f"'{event}' while '{exprs[event].source}' is "
                                         f"false; facts after: {_facts_text(new)}")

        @invariant()
        def case_roles_present(self) -> None:
            for iid, states, role in checks.requires:
                if self.case.state in states:
                    assert role in self.case.case_roles, \
                        f"invariant {iid}: in '{self.case.state}' nobody is {role}"

        @invariant()
        def different_people_hold_different_roles(self) -> None:
            for group in workflow.different_people:
                holders = [self.case.case_roles[r] for r in group.roles
                           if r in self.case.case_roles]
                assert len(holders) == len(set(holders)), \
                    f"one actor holds two of {', '.join(group.roles)} (different_people)"

        @invariant()
        def survives_serialisation(self) -> None:
            assert Case.from_dict(json.loads(json.dumps(self.case.to_dict()))) == self.case

    WorkflowMachine.__name__ = f"{workflow.id.title()}Machine"
    return WorkflowMachine


def _facts_text(case: Case) -> str:
    return ", ".join(f"{k} = {v!r}" for k, v in sorted(case.facts.items())
                     if v is not UNKNOWN) or "none"
