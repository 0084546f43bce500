"""`Engine`: starts cases, fires events, sets facts, decides, lists due signals.

The engine holds compiled workflows only; cases are plain immutable data passed in and out, so
one engine can serve many threads without locks on the hot path.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from .. import _flatmap as flatmap
from .._flatmap import FlatMap
from ..errors import (
    CaseFormatError,
    InvalidFacts,
    Joined,
    Param,
    Phrase,
    Problem,
    Reason,
    RulesBackendError,
    TransitionRejected,
    UnknownWorkflow,
    ValueProblem,
    WorkflowError,
)
from ..loader import load_workflow, workflow_files
from ..model import Workflow
from ..model.calendar import (
    AMSTERDAM,
    cycle_date,
    local_date,
    now,
    require_aware,
)
from ..model.values import number_text
from ..program import CompiledTransition, Program, StatePlan, explain_guard, program_of
from ..rules.decision import Decision
from ..rules.durable import DurableRules
from ..rules.durable import check as durable_gaps
from ..rules.expr import Env, closest, suggest
from ..rules.logic import UNKNOWN
from .case import Actor, Case, Signal
from .describe import describe as describe_workflow
from .facts import Facts
from .migration import migrated
from .record import Record, flat, record, unflat
from .reference import build_machine
from .step import (
    PassedGuard,
    QuickFacts,
    QuickStep,
    agree,
    agreeing_role,
    apply_fire,
    assigned,
    completes,
    holds,
    nothing_due,
    quick_facts_step,
    quick_step,
    role_in_case,
    separation_reasons,
)
from .work import (
    Task,
    TimerStatus,
    task_signals,
    task_views,
    tasks_after,
    timer_statuses,
    timers_after,
)

if TYPE_CHECKING:  # plans are read by the service layer; the engine only applies them
    from ..migration_plan import MigrationPlan

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_JUST_BOOL = {bool}


class CaseWriter(Protocol):
    """What ``store=`` of `Engine.start`, `Engine.fire`, `Engine.set_facts` and
    `Engine.record_signals` needs: every `zorgflow.store.Store` is one."""

    def create(self, case: Case) -> None:
        """Keep a new case (refusing an id that is taken)."""

    def save(self, case: Case, expected_version: int) -> None:
        """Keep ``case``, made from version ``expected_version`` of it (refusing a save based
        on an older version than the one kept)."""


class Engine:
    """Runs cases of one or more workflows (several versions of one workflow may coexist).

    >>> engine = Engine.from_directory("workflows")          # doctest: +SKIP
    >>> case = engine.start("lzn", actor=coordinator)         # doctest: +SKIP
    """

    def __init__(self, workflows: Iterable[Workflow] = (), *, rules_backend: str = "native"
                 ) -> None:
        """``rules_backend``: ``"native"`` (the default: our compiled closures) or
        ``"durable"`` (durable-rules answers the ``criteria`` rule sets, as an independent
        oracle; extra ``zorgflow[durable]``, Python < 3.13). With ``"durable"``, every criteria
        rule set of every workflow must be expressible in durable-rules, else
        `RulesBackendError` lists each clause that is not, with its position and why;
        ``table`` and ``ranking`` rule sets are always evaluated natively, and explanations
        always come from the native evaluator. `MissingDependency` if durable-rules is not
        installed."""
        if rules_backend not in ("native", "durable"):
            raise ValueError(f"unknown rules_backend {rules_backend!r}; available: 'native', "
                             "'durable'")
        self._programs: dict[tuple[str, int], Program] = {}
        self._latest: dict[str, int] = {}
        self._latest_programs: dict[str, Program] = {}
        #: per (workflow, version, state, event) of a transition used: what `fire` needs
        self._quick: dict[tuple[str, int, str, str],
                          tuple[Program, CompiledTransition, QuickStep]] = {}
        #: per (workflow, version, state) where facts were set: what `set_facts` needs
        self._quick_facts: dict[tuple[str, int, str], tuple[Program, StatePlan, QuickFacts]] = {}
        self._lock = threading.Lock()
        self._durable: Any = None
        self.rules_backend = rules_backend
        workflows = list(workflows)
        if rules_backend == "durable":
            problems = [p for workflow in workflows for p in durable_gaps(workflow)]
            if problems:
                raise RulesBackendError(problems)
            self._durable = DurableRules()
        for workflow in workflows:
            self.add(workflow)

    @classmethod
    def from_directory(cls, path: str | Path, *, rules_backend: str = "native") -> Engine:
        """Load every ``*.yaml``/``*.yml`` workflow in a folder. Raises `WorkflowError` with
        the problems of all files together (`RulesBackendError` when they load but the
        chosen ``rules_backend`` cannot express them)."""
        folder = Path(path)
        if not folder.is_dir():
            raise WorkflowError([_problem(str(path), "not a folder")])
        workflows, problems = [], []
        files = workflow_files(folder)
        if not files:
            raise WorkflowError([_problem(str(path), "no *.yaml workflow files in this folder")])
        for file in files:
            try:
                workflows.append(load_workflow(file))
            except WorkflowError as exc:
                problems.extend(exc.errors)
        if problems:
            raise WorkflowError(problems)
        return cls(workflows, rules_backend=rules_backend)

    # -- workflows -----------------------------------------------------------------------------
    def add(self, workflow: Workflow) -> None:
        """Add a workflow version. Adding an id/version that is already loaded is an error
        (so is, with ``rules_backend="durable"``, a criteria rule set it cannot express)."""
        program = program_of(workflow)
        if self._durable is not None:
            program = program.with_rules(program.rules)
            self._durable.adopt(workflow, program.rules)
        key = (workflow.id, workflow.version)
        with self._lock:
            if key in self._programs:
                raise ValueError(f"workflow {workflow.id} version {workflow.version} is "
                                 "already loaded")
            programs = dict(self._programs)
            programs[key] = program
            latest = dict(self._latest)
            latest[workflow.id] = max(latest.get(workflow.id, 0), workflow.version)
            self._programs, self._latest = programs, latest
            self._latest_programs = {w: programs[(w, v)] for w, v in latest.items()}

    @property
    def workflows(self) -> list[Workflow]:
        """The latest version of each loaded workflow."""
        return [self._programs[(wid, v)].model for wid, v in sorted(self._latest.items())]

    def workflow(self, workflow_id: str, version: int | None = None) -> Workflow:
        """A loaded workflow (latest version unless ``version`` is given)."""
        return self._get(workflow_id, version).model

    def describe(self, workflow_id: str, version: int | None = None) -> dict[str, Any]:
        """A loaded workflow as JSON data for front ends building forms: its events with
        their data as JSON Schema and who may fire or agree to them, the facts each role may
        set and when, its states and tasks (see `zorgflow.engine.describe`)."""
        return describe_workflow(self.workflow(workflow_id, version))

    def _get(self, workflow_id: str, version: int | None = None) -> Program:
        if version is None:
            latest = self._latest.get(workflow_id)
            if latest is None:
                raise UnknownWorkflow(f"no workflow '{workflow_id}' is loaded"
                                      f"{suggest(workflow_id, self._latest)}")
            version = latest
        compiled = self._programs.get((workflow_id, version))
        if compiled is None:
            versions = sorted(v for w, v in self._programs if w == workflow_id)
            raise UnknownWorkflow(f"workflow '{workflow_id}' version {number_text(version)} is "
                                  f"not loaded (loaded: {versions or 'none'})")
        return compiled

    def _for_case(self, case: Case) -> tuple[Program, Case]:
        if case.__class__ is not Case and not isinstance(case, Case):
            raise TypeError(f"expected a Case, got {type(case).__name__}")
        program = self._programs.get((case._workflow_id, case._workflow_version))
        if program is None:
            program = self._get(case._workflow_id, case._workflow_version)
        if not case._normalised:
            case = self._normalise(program, case)
        return program, case

    def _normalise(self, program: Program, case: Case) -> Case:
        """Check a case read from outside against its workflow and type its facts."""
        wf = program.model
        if case._state not in wf.states:
            raise CaseFormatError(f"state '{case._state}' does not exist in workflow "
                                  f"{wf.id} version {wf.version}")
        facts = case._facts
        typed: dict[str, Any] = {}
        forms = program.fact_forms
        for name, value in facts.pairs():
            # most stored values are already what the fact holds: no call for those
            form = forms.get(name)
            if form is not None and value.__class__ is form[0] and (
                    form[1] is None or value in form[1]):
                continue
            try:
                typed[name] = program.typed_fact(name, value)
            except KeyError:
                raise CaseFormatError(f"fact '{name}' is not declared in workflow {wf.id} "
                                      f"version {wf.version}") from None
            except ValueProblem as exc:
                raise CaseFormatError(f"fact '{name}': {exc}") from None
        held = flatmap.keys(case._roles)
        if not program.case_role_ids.issuperset(held):
            role = next(r for r in held if r not in program.case_role_ids)
            raise CaseFormatError(f"'{role}' is not a case role of workflow {wf.id}")
        # a checked copy: the given case stays as it was (unchecked, so that another engine
        # checks it against its own workflow); it owns its dicts (from_dict copied them)
        return case._checked(facts.replaced(typed) if typed else facts)

    # -- the public contract --------------------------------------------------------------------
    def start(
        self,
        workflow_id: str,
        *,
        actor: Actor,
        facts: Mapping[str, Any] | None = None,
        at: datetime | None = None,
        case_id: str | None = None,
        version: int | None = None,
        store: CaseWriter | None = None,
    ) -> Case:
        """Open a case in the workflow's initial state. Raises `TransitionRejected`.

        With ``store``, the new case is created there in the same step."""
        at = _at(at)
        program = self._get(workflow_id, version)
        _check_actor(actor)
        if case_id is not None and not isinstance(case_id, str):
            raise TypeError(f"case_id must be a str, not {type(case_id).__name__}")
        if facts is not None:
            _check_facts_kind("start", facts)
        reasons: list[Reason] = []
        role = next((r for r in program.model.start_by if r in actor.roles), None)
        if role is None:
            reasons.append(Reason("forbidden", "reason.start_role", workflow=workflow_id,
                                  roles=", ".join(program.model.start_by),
                                  held=_roles_text(actor.roles)))
        new_facts, problems = self._check_facts(program, facts or {}, actor, flatmap.EMPTY, {},
                                                program.initial, at)
        reasons += problems
        if reasons:
            raise TransitionRejected("start", reasons)
        initial = program.initial
        entry = record(seq=1, at=at, actor=actor.id, role=role, kind="start", event="start",
                       from_state=None, to_state=initial,
                       data=_json_facts(facts or {}, new_facts),
                       workflow_version=program.model.version)
        timers = timers_after(program, None, initial, "start", flatmap.EMPTY, at)
        tasks = tasks_after(program, None, initial, "start", flatmap.EMPTY, at) \
            if program.tasks else None
        case = Case(case_id or _new_case_id(), program.model.id, program.model.version, initial,
                    facts=new_facts, case_roles=flatmap.EMPTY, history=(entry,), timers=timers,
                    tasks=tasks)
        if store is not None:
            store.create(case)
        return case

    def fire(
        self,
        case: Case,
        event: str,
        *,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        at: datetime | None = None,
        store: CaseWriter | None = None,
    ) -> Case:
        """Fire ``event`` on ``case``. Returns the new case; raises `TransitionRejected` with
        every reason it was refused (the given case is unchanged). Timer signals due at
        ``at`` that are not recorded yet are recorded first, as a sweep would have (so do
        `set_facts` and `complete`).

        With ``store``, the new case is saved there in the same step, based on the version
        given (`zorgflow.store.ConcurrentUpdate` when someone saved in between)."""
        if at is None:
            at = now()
        if (case.__class__ is Case and actor.__class__ is Actor and at.__class__ is datetime
                and at.tzinfo is not None and 1 < at.year < 9999):
            # the common step, allowed as it comes, is made without looking for words
            if not case._normalised:  # read from outside: checked against its workflow first
                case = self._for_case(case)[1]
            key = (case._workflow_id, case._workflow_version, case._state, event)
            found: tuple[Program, CompiledTransition, QuickStep] | None
            try:
                found = self._quick[key]
            except KeyError:  # the first such step, or no such transition
                found = self._quick_step(key)
            if found is not None:
                known, ct, made = found
                quick = made(known, ct, case, actor, data, at)
                if quick is not None:
                    if store is not None:
                        store.save(quick, case.version)
                    return quick
        return self._fire_full(case, event, actor, data, at, store)

    def _quick_step(self, key: tuple[str, int, str, str]
                    ) -> tuple[Program, CompiledTransition, QuickStep] | None:
        """The program, the transition and its written-out quick step for (workflow, version,
        state, event), kept for the next step; None where there is no such transition."""
        program = self._programs.get((key[0], key[1]))
        ct = None if program is None else program.table.get((key[2], key[3]))
        if program is None or ct is None:
            return None
        made: QuickStep | None = ct.quick
        if made is None:  # first used: written out for this transition
            made = ct.quick = quick_step(program, ct)
        found = self._quick[key] = (program, ct, made)
        return found

    def _quick_facts_step(self, key: tuple[str, int, str]
                          ) -> tuple[Program, StatePlan, QuickFacts] | None:
        """`_quick_step` for `set_facts` in (workflow, version, state)."""
        program = self._programs.get((key[0], key[1]))
        plan = None if program is None else program.state_plans.get(key[2])
        if program is None or plan is None:
            return None
        found = self._quick_facts[key] = (program, plan, quick_facts_step(program, plan))
        return found

    def _fire_full(self, case: Case, event: str, actor: Actor,
                   data: Mapping[str, Any] | None, at: datetime | None,
                   store: CaseWriter | None) -> Case:
        """`fire` the long way: every check, with every reason a step is refused, after the
        signals due are recorded (`quick_fire` allows the same steps, and makes the same
        case, without the words)."""
        at = _at(at)
        program, case = self._for_case(case)
        _check_actor(actor)
        base = case.version
        overdue = self._with_overdue(program, case, at)
        version = base if overdue is case else overdue.version
        case = overdue
        ct = program.table.get((case._state, event))
        if ct is None:
            raise TransitionRejected(event, [self._no_transition(program, case._state, event)])
        if ct.returns and case._returns_to is None:
            raise TransitionRejected(event, [
                Reason("wrong_state", "reason.no_return", event=event, state=case._state)])
        reasons: list[Reason] = []
        pending = case._agreements.get(event) if ct.agreement else None
        if pending is not None and not data:
            data = unflat(pending[1])  # a later agreement without data agrees to the first's
        if ct.agreement:
            role, why = _agreeing_role(program, ct, actor, case)
            if why is not None:
                reasons.append(why)
        else:
            role = ct.role_for(actor.id, actor.roles, case._roles)
            if role is None:
                reasons.append(self._role_reason(program, ct, actor, case))
        clean, problems = ct.data_check(data)
        if problems:
            reasons += problems
        if ct.agreement:
            if pending is not None and not problems and flat(clean) != pending[1]:
                reasons.append(_conflict_reason(event, pending[1], clean))
            if role is not None and not completes(ct, pending, role):
                if reasons:
                    raise TransitionRejected(event, reasons)
                new_case = agree(case, ct, actor, role, clean, at)
                if store is not None:
                    store.save(new_case, base)
                return new_case
        env = None
        explanation: Any = ()
        guard = ct.guard
        if ct.needs_env:
            # a decider (a per-step cache of rule-set decisions) only when a rule set is read
            facts = case._facts.to_dict()  # read at dict speed
            env = Env(facts, at, clean, program.decider(facts, at) if ct.reads_rules else None)
        if guard is not None:
            assert env is not None
            value = guard.fn(env)
            if value is not True:
                code = "guard_false" if value is False else "guard_unknown"
                reasons.append(Reason(code, f"reason.{code}", condition=guard.source,
                                      explanation="\n    ".join(explain_guard(guard, env))))
            else:
                # read later, if ever: one small object, not the evaluation's environment
                explanation = PassedGuard(program, guard, case._facts)
        roles = case._roles
        if ct.assigns and not problems:
            assert env is not None
            roles = assigned(case._roles, ct, env)
            reasons += separation_reasons(program, ct, actor, roles)
        if reasons:
            raise TransitionRejected(event, reasons)
        new_case = apply_fire(program, case, ct, actor, role, clean, env, explanation, at,
                              roles, version)
        if store is not None:
            store.save(new_case, base)
        return new_case

    def set_facts(
        self,
        case: Case,
        facts: Mapping[str, Any],
        *,
        actor: Actor,
        at: datetime | None = None,
        store: CaseWriter | None = None,
    ) -> Case:
        """Set (or, with ``None``, forget) facts. Raises `TransitionRejected`. With ``store``,
        the new case is saved there in the same step (as `fire` does)."""
        if at is None:
            at = now()
        if (case.__class__ is Case and actor.__class__ is Actor and facts.__class__ is dict
                and at.__class__ is datetime and at.tzinfo is not None and 1 < at.year < 9999):
            # the common step, allowed as it comes, is made without looking for words
            if not case._normalised:  # read from outside: checked against its workflow first
                case = self._for_case(case)[1]
            key = (case._workflow_id, case._workflow_version, case._state)
            found: tuple[Program, StatePlan, QuickFacts] | None
            try:
                found = self._quick_facts[key]
            except KeyError:  # the first in this state, or no such state
                found = self._quick_facts_step(key)
            if found is not None:
                known, plan, made = found
                quick = made(known, plan, case, facts, actor, at)
                if quick is not None:
                    if store is not None:
                        store.save(quick, case.version)
                    return quick
        return self._set_facts_full(case, facts, actor, at, store)

    def _set_facts_full(self, case: Case, facts: Mapping[str, Any], actor: Actor,
                        at: datetime | None, store: CaseWriter | None) -> Case:
        """`set_facts` the long way: every check, with every reason it is refused, after the
        signals due are recorded."""
        at = _at(at)
        program, case = self._for_case(case)
        _check_actor(actor)
        base, case = case.version, self._with_overdue(program, case, at)
        _check_facts_kind("set_facts", facts)
        reasons: list[Reason] = []
        if program.model.states[case._state].final:
            reasons.append(Reason("wrong_state", "reason.closed_no_facts", state=case._state))
        role = role_in_case(program, actor, case)
        if role is None:
            reasons.append(Reason("forbidden", "reason.no_workflow_role",
                                  workflow=program.model.id, held=_roles_text(actor.roles)))
        new_facts, problems = self._check_facts(program, facts, actor, case._roles,
                                                case._facts.to_dict(), case._state, at)
        reasons += problems
        if reasons:
            raise TransitionRejected("set_facts", reasons)
        assert role is not None
        return _facts_set(case, facts, new_facts, actor, role, at, store, base)

    def _check_facts(self, program: Program, given: Mapping[str, Any], actor: Actor,
                     case_roles: FlatMap, current: Mapping[str, Any], state: str,
                     at: datetime) -> tuple[dict[str, Any], list[Reason]]:
        result = dict(current)
        problems: list[Reason] = []
        declared, plain, case_role_ids = program.model.facts, program.fact_plain, \
            program.case_role_ids
        for name, value in given.items():
            fact = declared.get(name)
            if fact is None:
                problems.append(_unknown("invalid_data", "reason.unknown_fact", "fact",
                                         str(name), program.fact_types))
                continue
            if fact.events_only:
                problems.append(Reason("invalid_data", "reason.fact_events_only", fact=name,
                                       events=", ".join(fact.written_by)))
                continue
            if fact.set_in and state not in fact.set_in:
                problems.append(Reason("wrong_state", "reason.fact_state", fact=name,
                                       states=", ".join(fact.set_in), state=state))
                continue
            condition = program.set_when.get(name)
            if condition is not None:
                allowed = condition.fn(Env(current, at, _EMPTY,
                                           program.decider(current, at)))
                if allowed is not True:
                    code, key = (("guard_false", "reason.fact_when_false") if allowed is False
                                 else ("guard_unknown", "reason.fact_when_unknown"))
                    problems.append(Reason(code, key, fact=name, condition=condition.source))
                    continue
            if fact.set_by:
                for role in fact.set_by:
                    if holds(role, actor, case_roles, case_role_ids):
                        break
                else:
                    problems.append(Reason("forbidden", "reason.fact_set_by", fact=name,
                                           roles=", ".join(fact.set_by)))
                    continue
            if value is None:
                result.pop(name, None)
                continue
            if value.__class__ is plain.get(name):  # held as it comes: no call
                result[name] = value
                continue
            try:
                result[name] = program.typed_fact(name, value)
            except ValueProblem as exc:
                problems.append(Reason("invalid_data", "reason.fact_value", fact=name,
                                       detail=exc.phrase))
        return result, problems

    def allowed(self, case: Case, actor: Actor, at: datetime | None = None) -> list[str]:
        """Events this actor may fire now (role and guard; data is only checked by fire).

        A guard that reads event data counts as permitting when some value of its enum or
        boolean data fields would make it true.
        """
        at = _at(at)
        program, case = self._for_case(case)
        _check_actor(actor)
        facts = case._facts.to_dict()
        decide = program.decider(facts, at)
        result = []
        for ct in program.by_state[case._state]:
            if ct.agreement:
                role, _ = _agreeing_role(program, ct, actor, case)
                if role is None:
                    continue
                if not completes(ct, case._agreements.get(ct.event), role):
                    result.append(ct.event)  # an agreement; the guard counts at the last one
                    continue
            elif ct.role_for(actor.id, actor.roles, case._roles) is None:
                continue
            if ct.guard_could_pass(lambda data: Env(facts, at, data, decide)):
                result.append(ct.event)
        return result

    def decide(
        self,
        target: str | Case,
        rule_set: str,
        facts: Mapping[str, Any] | None = None,
        at: datetime | None = None,
        *,
        version: int | None = None,
    ) -> Decision:
        """Evaluate a rule set on a case's facts, or on given facts for a workflow id.

        On a case, ``facts`` are a what-if over the case's own facts (``None`` forgets one);
        the case does not change, so ``set_by`` does not apply. Facts that are not the
        workflow's, or do not fit their types, raise `InvalidFacts`.

        With ``rules_backend="durable"``, a criteria rule set's ``matched``, ``undecided``
        and ``holds`` come from durable-rules; its ``explanation`` from the native evaluator.
        """
        when = None if at is None else _at(at)  # now() only if a rule set reads the time
        if facts.__class__ is not dict and facts is not None and not isinstance(facts, Mapping):
            raise InvalidFacts("facts must be a mapping of fact: value, not "
                               f"{type(facts).__name__}")
        values: Mapping[str, Any]
        if facts and isinstance(target, str):
            # generated code (zorgflow.rules.codegen) types the given facts and decides in
            # one call; None when a value needs typing or a fact is not the rule set's
            latest = self._latest_programs.get(target) if version is None else None
            program = latest if latest is not None else self._get(target, version)
            given = getattr(program.rules.get(rule_set), "given", None)
            if given is not None:
                decision: Decision | None = given(facts, when, program)
                if decision is not None:
                    return decision
        if isinstance(target, Case):
            program, case = self._for_case(target)
            own = case._facts.to_dict()  # a new dict: what-if facts may change it
            if facts:
                # what-if facts over the case's own: nothing is set, so set_by does not apply
                for name, value in facts.items():
                    if value is None or value is UNKNOWN:
                        own.pop(name, None)  # as set_facts: None forgets a fact
                own.update(self._typed_facts(program, facts))
            values = own
        else:
            latest = self._latest_programs.get(target) if version is None else None
            program = latest if latest is not None else self._get(target, version)
            values = self._typed_facts(program, facts)
        compiled = program.rules.get(rule_set)
        if compiled is None:
            raise UnknownWorkflow(f"workflow '{program.model.id}' has no rule set '{rule_set}'"
                                  f"{suggest(rule_set, program.rules)}")
        if when is None and getattr(compiled, "uses_time", True):
            when = now()
        return compiled.evaluate(Env(values, when))  # type: ignore[arg-type]

    def _typed_facts(self, program: Program, facts: Mapping[str, Any] | None
                     ) -> Mapping[str, Any]:
        if not facts:
            return _EMPTY
        booleans = program.boolean_facts
        if booleans.issuperset(facts) and set(map(type, facts.values())) == _JUST_BOOL:
            return dict(facts)  # the common case, checked at C speed
        converted: dict[str, Any] | None = None
        classes, enums = program.fact_classes, program.fact_enums
        for name, value in facts.items():
            # a value that is already what the fact holds needs no call (as in _normalise)
            if value.__class__ is classes.get(name) and (name not in enums
                                                         or value in enums[name]):
                continue
            ftype = program.fact_types.get(name)
            if ftype is None:
                raise InvalidFacts(f"unknown fact '{name}'{suggest(str(name), program.fact_types)}")
            if value is None or value is UNKNOWN:
                converted = converted if converted is not None else dict(facts)
                converted.pop(name, None)
                continue
            try:
                clean = program.typed_fact(name, value)
            except ValueProblem as exc:
                raise InvalidFacts(f"fact '{name}': {exc}") from None
            if clean is not value:
                converted = converted if converted is not None else dict(facts)
                converted[name] = clean
        # a copy: the lazy explanation must describe these facts even if the caller's dict
        # changes afterwards
        return converted if converted is not None else dict(facts)

    def due(self, case: Case, at: datetime | None = None) -> list[Signal]:
        """Signals of the current state whose time has come (``due_at <= at``). ``at`` may be
        any aware time, up to ``datetime.max``: it is only compared."""
        at = _any_at(at)
        return [s for s in self.timers(case) if s.due_at <= at]

    def timers(self, case: Case) -> list[Signal]:
        """Every timer running in the current state with when it is due, due or not, and
        ``<task>_te_laat`` for each open task with a deadline; soonest first.

        A timer anchored on a date fact that is unknown, or whose ``while:`` condition is not
        true, has no signal (`timer_status` says why). A timer whose due time would fall
        after the year 9999 is left out: it never falls due. One that would fall before the
        year 1 is due, at the earliest time there is (``datetime.min`` in UTC). The engine's
        own steps make neither (the times they take and the facts that set intervals are
        bounded); a case made elsewhere may, and `due`, `next_due` and a store's save keep
        working for it.
        """
        program, case = self._for_case(case)
        result = [Signal(s.signal, s.due_at, s.label)
                  for s in timer_statuses(program, case._state, case._facts.to_dict(),
                                          case._timers)
                  if s.due_at is not None]
        if case._tasks:
            result += task_signals(program, case._tasks)
        return sorted(result, key=lambda s: s.due_at)

    def timer_status(self, case: Case) -> list[TimerStatus]:
        """Each timer running in the case's current state: when it falls due, or why it has no
        due time (its date fact is unknown, its ``while:`` condition is not true, it has not
        started)."""
        program, case = self._for_case(case)
        return timer_statuses(program, case._state, case._facts.to_dict(), case._timers)

    def tasks(self, case: Case, at: datetime | None = None) -> list[Task]:
        """The case's tasks, open and done, in the order the workflow declares them (a task
        opened by a state the case has left is gone). ``at`` is accepted for symmetry with
        `due`; use `Task.overdue` to ask whether a task is late at some time."""
        if at is not None:
            _any_at(at)
        program, case = self._for_case(case)
        return task_views(program, case._tasks)

    def complete(self, case: Case, task: str, *, actor: Actor, at: datetime | None = None,
                 store: CaseWriter | None = None) -> Case:
        """Mark an open task done: one history entry of kind ``complete``. Raises
        `TransitionRejected` (the case unchanged) for a task the workflow does not have, one
        that is not open, one done already, or an actor who does not hold its role."""
        at = _at(at)
        program, case = self._for_case(case)
        _check_actor(actor)
        base, case = case.version, self._with_overdue(program, case, at)
        if not isinstance(task, str):
            raise TypeError(f"task must be a task id (str), not {type(task).__name__}")
        spec = program.tasks.get(task)
        if spec is None:
            raise TransitionRejected(task, [_unknown("unknown_task", "reason.unknown_task",
                                                     "task", task, program.tasks)])
        record_ = flatmap.get(case._tasks, task)
        if record_ is None:
            raise TransitionRejected(task, [Reason("wrong_state", "reason.task_not_open",
                                                   task=task, state=case._state)])
        reasons: list[Reason] = []
        if record_[2] is not None:
            reasons.append(Reason("task_done", "reason.task_done", task=task,
                                  at=record_[2].isoformat()))
        if not holds(spec.role, actor, case._roles, program.case_role_ids):
            reasons.append(Reason("forbidden", "reason.task_role", task=task, role=spec.role,
                                  held=_roles_text(actor.roles),
                                  note=(Phrase("note.case_role_assigned_only", {})
                                        if spec.role in actor.roles else "")))
        if reasons:
            raise TransitionRejected(task, reasons)
        tasks = flatmap.put(case._tasks, task, (record_[0], record_[1], at, actor.id))
        entry = record(seq=case.version + 1, at=at, actor=actor.id, role=spec.role,
                       kind="complete", event=task, from_state=case._state,
                       to_state=case._state, data={}, workflow_version=case._workflow_version)
        new_case = case._evolve(entry, tasks=tasks)
        if store is not None:
            store.save(new_case, base)
        return new_case

    def record_signals(self, case: Case, at: datetime | None = None, *,
                       store: CaseWriter | None = None) -> Case:
        """Append a history entry for each due signal not recorded yet (a timer sweep). With
        ``store``, a case that changed is saved there in the same step."""
        at = _at(at)
        program, case = self._for_case(case)
        new_case = self._with_overdue(program, case, at)
        if new_case is not case and store is not None:
            store.save(new_case, case.version)
        return new_case

    def _with_overdue(self, program: Program, case: Case, at: datetime) -> Case:
        """``case`` with an entry for each signal due at ``at`` and not recorded yet. A step
        records them before it takes effect, so that a deadline missed before a timer sweep
        came by stays in the history even when the step resets or ends its timer."""
        if nothing_due(program, case, at):
            return case
        recorded = case._signals_recorded()
        entries: list[Record] = []
        for signal in self.due(case, at):
            if (signal.name, signal.due_at) in recorded:
                continue
            entries.append(record(
                seq=case.version + len(entries) + 1, at=at, actor="zorgflow", role=None,
                kind="signal", event=signal.name, from_state=case.state, to_state=case.state,
                data={"due_at": signal.due_at.isoformat()},
                workflow_version=case.workflow_version))
        return case._evolve(*entries) if entries else case

    def next_due(self, case: Case) -> datetime | None:
        """When the soonest timer signal of the case that is not recorded yet falls due (None
        when there is none). A store keeps this in an index, so that a timer sweep finds the
        cases with work without reading every case."""
        _, case = self._for_case(case)
        recorded = case._signals_recorded()
        for signal in self.timers(case):
            if (signal.name, signal.due_at) not in recorded:
                return signal.due_at
        return None

    def next_occurrence(self, target: str | Case, cycle: str | None = None,
                        at: datetime | None = None) -> date:
        """The first date of a cycle (e.g. the LZN-overleg) at or after ``at``.

        With a case and no cycle id, the cycle its current state shows is used. Raises
        `ValueProblem` when that date would fall after 9999-12-31.
        """
        at = _at(at)
        if isinstance(target, Case):
            program, case = self._for_case(target)
            cycle = cycle or program.model.states[case.state].shows_cycle
        else:
            program = self._get(target)
        if cycle is None or cycle not in program.model.cycles:
            raise UnknownWorkflow(f"workflow '{program.model.id}' has no cycle {cycle!r}"
                                  f"{suggest(str(cycle), program.model.cycles)}")
        today = local_date(at)
        try:
            return cycle_date(program.model.cycles[cycle], today)
        except (OverflowError, ValueProblem):
            raise ValueProblem(f"cycle '{cycle}' of workflow '{program.model.id}' has no date "
                               f"on or after {today.isoformat()} before the calendar ends "
                               "(9999-12-31)") from None

    def migrate(self, case: Case, plan: MigrationPlan, *, actor: Actor,
                at: datetime | None = None, store: CaseWriter | None = None) -> Case:
        """Move ``case`` to the plan's ``to_version`` (which must be loaded): the new case,
        with one history entry of kind ``migrate`` that names both versions, the plan and the
        rule used, and explains what moved (state, facts renamed or dropped, case roles,
        lapsed agreements, tasks, timers; names only, never a fact's value). Timer signals
        due at ``at`` are recorded first, on the old version. Raises `TransitionRejected`
        (event ``migrate``, code ``migration_blocked``) with every reason the case cannot
        move, and `UnknownWorkflow` when a version is not loaded; the case given is unchanged.
        ``plan``: see `zorgflow.service.read_plan` (a `MigrationPlan`). With ``store``, the
        new case is saved there in the same step."""
        at = _at(at)
        program, case = self._for_case(case)
        _check_actor(actor)
        target = self._get(plan.workflow, plan.to_version)
        base, case = case.version, self._with_overdue(program, case, at)
        new_case = migrated(program, target, plan, case, actor, at)
        if store is not None:
            store.save(new_case, base)
        return new_case

    def machine(self, workflow_id: str, version: int | None = None, *, model: Any = None
                ) -> Any:
        """A `transitions.Machine` of the workflow's state graph, for applications that
        already use `transitions` (draw it, bind a model of your own to it) and as the
        reference the engine is tested against.

        It holds the states, the events and the transitions between them, starting in the
        initial state, with ``auto_transitions`` off and invalid triggers raising
        `transitions.MachineError`. It is the graph only: roles, guards, event data, case
        roles, timers and facts are not represented, so it allows more than `fire` does and
        never decides anything about a case. ``model``: an object to bind (default: the
        machine is its own model). A new machine on each call; cases are never bound to it.
        """
        return build_machine(self._get(workflow_id, version).model, model)

    # -- reasons ---------------------------------------------------------------------------------
    def _no_transition(self, program: Program, state: str, event: str) -> Reason:
        if event not in program.events:
            return _unknown("unknown_event", "reason.unknown_event", "event", event,
                            program.events)
        if program.model.states[state].final:
            return Reason("wrong_state", "reason.closed_no_event", state=state)
        leaving = [ct.event for ct in program.by_state[state]]
        return Reason("wrong_state", "reason.event_not_here", event=event, state=state,
                      events=", ".join(leaving) if leaving else Phrase("events.none", {}))

    def _role_reason(self, program: Program, ct: CompiledTransition, actor: Actor,
                     case: Case) -> Reason:
        parts: list[Param] = []
        for role in ct.case_roles:
            holder = flatmap.get(case._roles, role)
            if role in actor.roles and holder != actor.id:
                parts.append(Phrase("reason.case_role_part", {
                    "role": role,
                    "nobody": "" if holder else Phrase("note.nobody_assigned", {})}))
        return Reason("forbidden", "reason.event_role", event=ct.event, roles=", ".join(ct.by),
                      held=_roles_text(actor.roles), case_roles=Joined(tuple(parts)))


def _agreeing_role(program: Program, ct: CompiledTransition, actor: Actor, case: Case
                   ) -> tuple[str | None, Reason | None]:
    """The role under which ``actor`` agrees to ``ct`` now (`agreeing_role`), or None and
    why not."""
    role = agreeing_role(program, ct, actor, case)
    if role is not None:
        return role, None
    pending = case._agreements.get(ct.event)
    agreed = pending[0] if pending is not None else {}
    held = [r for r in ct.agreement
            if holds(r, actor, case._roles, program.case_role_ids)]
    if not held:
        note: Param = ""
        unassigned = [r for r in ct.agreement
                      if r in ct.case_roles and r in actor.roles
                      and r not in flatmap.keys(case._roles)]
        if unassigned:
            note = Phrase("note.case_role_unassigned", {"role": unassigned[0]})
        elif any(r in ct.case_roles and r in actor.roles for r in ct.agreement):
            note = Phrase("note.case_role_assigned_only", {})
        return None, Reason("forbidden", "reason.agreement_role", event=ct.event,
                            together=Joined(ct.agreement, "sep.and"),
                            held=_roles_text(actor.roles), note=note)
    for role, holder in agreed.items():
        if holder == actor.id:
            waiting = tuple(r for r in ct.agreement if r not in agreed)
            return None, Reason("separation_of_duties", "reason.agreed_already_person",
                                event=ct.event, role=role, waiting=Joined(waiting, "sep.and"))
    # every role he holds has agreed (`agreeing_role` would have found one that has not)
    waiting = tuple(r for r in ct.agreement if r not in agreed)
    return None, Reason("agreement_conflict", "reason.agreed_already_role",
                        held=Joined(tuple(held), "sep.and"), event=ct.event,
                        waiting=Joined(waiting, "sep.and"))


def _conflict_reason(event: str, agreed: tuple[Any, ...], given: Mapping[str, Any]
                     ) -> Reason:
    """Agreements to one event must be about the same data; names the fields that differ,
    never their values (they may be personal)."""
    before = dict(zip(agreed[::2], agreed[1::2], strict=True))
    fields = sorted(k for k in before.keys() | given.keys() if before.get(k) != given.get(k))
    return Reason("agreement_conflict", "reason.agreement_other_data", event=event,
                  fields=", ".join(fields))


def _roles_text(roles: Iterable[str]) -> Phrase:
    """The roles an actor holds, as said in a reason (``no roles`` when none)."""
    held = sorted(roles)
    if not held:
        return Phrase("roles.none", {})
    return Phrase("roles.one" if len(held) == 1 else "roles.many", {"roles": ", ".join(held)})


def _unknown(code: str, key: str, kind: str, name: str, known: Iterable[str]) -> Reason:
    """``unknown <kind> '<name>'``, with ``— did you mean '<close>'?`` when a known name is
    close (the choice `suggest` makes)."""
    close = closest(name, known)
    if close:
        return Reason(code, key + "_close", **{kind: name, "close": close})
    return Reason(code, key, **{kind: name})


def _check_facts_kind(action: str, facts: Any) -> None:
    """Facts to set come as a mapping of fact: value; anything else is refused."""
    if not isinstance(facts, Mapping):
        raise TransitionRejected(action, [Reason("invalid_data", "reason.facts_not_mapping")])


def _new_case_id() -> str:
    """A random case id: a version 4 UUID as 32 hex digits, made as `uuid.uuid4` makes one
    (the `uuid` module itself imports `platform`, which `import zorgflow` need not pay for)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    return raw.hex()


def _check_actor(actor: Any) -> None:
    if actor.__class__ is not Actor and not isinstance(actor, Actor):
        raise TypeError(f"actor must be a zorgflow.Actor, not {type(actor).__name__}")


def _at(at: datetime | None) -> datetime:
    """``at`` (default now): aware, and with a date in Europe/Amsterdam and in UTC, as the
    time of a step, a guard or a decision must have (``today()`` and timers are worked out
    from it). A `ValueError` otherwise; only the years 1 and 9999 need the check."""
    if at is None:
        return now()
    if at.__class__ is datetime and at.tzinfo is not None and 1 < at.year < 9999:
        return at
    at = require_aware(at)
    try:
        at.astimezone(AMSTERDAM)
        at.astimezone(UTC)
    except OverflowError:
        raise ValueError("at falls outside the calendar: in Europe/Amsterdam or in UTC it "
                         "would lie before the year 1 or after 9999; give a time between "
                         "0001-01-02 and 9999-12-30") from None
    return at


def _any_at(at: datetime | None) -> datetime:
    """``at`` (default now), aware: a time that is only compared with due times."""
    if at is None:
        return now()
    if at.__class__ is datetime and at.tzinfo is not None:
        return at
    return require_aware(at)


def _facts_set(case: Case, given: Mapping[str, Any], typed: dict[str, Any], actor: Actor,
               role: str, at: datetime, store: CaseWriter | None, base: int | None = None
               ) -> Case:
    """``case`` after `Engine.set_facts` (allowed): ``typed``, the facts it holds now, were
    set by ``given``; saved to ``store``, based on version ``base`` (default: the case's)."""
    stored = case._stored
    version = len(case._history) + (len(stored) if stored is not None else 0)
    state = case._state
    data = flat({k: (typed.get(k) if v is not None else None) for k, v in given.items()})
    entry: Record = (version + 1, at, actor.id, role, "set_facts", "set_facts", state, state,
                     data, case._workflow_version)
    new_case = case._next(entry, state, Facts(typed), case._roles, case._timers,
                          case._agreements, case._tasks, case._returns_to)
    if store is not None:
        store.save(new_case, version if base is None else base)
    return new_case


def _json_facts(given: Mapping[str, Any], typed: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (typed.get(k) if v is not None else None) for k, v in given.items()}


def _problem(file: str, message: str) -> Problem:
    return Problem(file, 0, 0, message)
