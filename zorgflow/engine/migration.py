"""Moving one case to another version of its workflow by a migration plan.

`blockers` says why a case cannot move (the one test `zorgflow migrate check`, the impact
over a store and the move itself share); `migrated` makes the moved case, with one history
entry of kind ``migrate``. What moves, as docs/migration.md describes it: the state by the
plan's first rule whose condition holds on the case's facts; facts renamed, dropped or given
the plan's default, each checked against the new version's type; case roles renamed; pending
agreements lapse; tasks the new version has stay (a state's tasks only where the new state
opens them), tasks the target state opens and the case did not have open now; timers both
versions have keep their start, the others start now.

Plans are read by `zorgflow.migration_plan`; checking them over a workflow's state space and a
store is `zorgflow.migrate`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import _flatmap as flatmap
from ..errors import Reason, TransitionRejected, ValueProblem
from ..model import Workflow
from ..model.values import number_text
from ..program import Program, program_of
from ..rules.expr import Env
from .case import Actor, Case, TaskRecord
from .record import record
from .work import opened_task

if TYPE_CHECKING:  # `import zorgflow` does not read plans: the service layer does
    from ..migration_plan import MigrationPlan, Rule

#: The event name of a history entry that moved a case to another version.
MIGRATE = "migrate"


def candidates(rules: tuple[Rule, ...], facts: Mapping[str, Any] | None, old: Workflow,
               at: datetime) -> tuple[list[Rule], str]:
    """The rules a case may take (all of them abstractly, ``facts`` None; else the first
    whose condition is true for the case's ``facts``) and why none, if none."""
    if not rules:
        return [], ""
    if facts is None:
        return list(rules), "" if rules[-1].when is None else "unmatched"
    env = Env(facts, at, decide=program_of(old).decider(facts, at))
    for rule in rules:
        if rule.when is None or rule.when.fn(env) is True:
            return [rule], ""
    return [], "unmatched"


def blockers(old: Workflow, new: Workflow, plan: MigrationPlan, state: str,
             roles: frozenset[str] | set[str], facts: Mapping[str, Any] | None,
             at: datetime) -> list[tuple[str, str]]:
    """Why a case in ``state`` with case ``roles`` cannot move, as (kind, message) pairs;
    empty when it can. ``facts`` None: the abstract question (any rule may be taken)."""
    rules = plan.states.get(state, ())
    if not rules:
        return [("state removed", f"'{state}' is not in version {new.version} and the plan "
                 f"maps it nowhere: add '{state}: <new state>' under states:")]
    chosen, why = candidates(rules, facts, old, at)
    result: list[tuple[str, str]] = []
    if why:
        result.append(("no mapping matches", f"in '{state}' no condition of the mapping "
                       f"({'; '.join(r.text for r in rules)}) holds for some cases: end the "
                       "list with a rule without 'when:'"))
    mapped_roles = {plan.role(r) for r in roles} - {None}
    sources = set(plan.facts_renamed.values()) | set(plan.facts_defaults)
    compiled = program_of(new)
    for rule in chosen:
        target = rule.to
        if new.states[target].final and not old.states[state].final and not rule.final_ok:
            result.append(("live state closed", f"'{state}' is live but '{target}' is final "
                           "in the new version: map it to a live state, or say "
                           "'final_ok: true'"))
        for inv in new.invariants:
            if target not in inv.states:
                continue
            if inv.kind == "requires_case_role" and inv.role not in mapped_roles:
                result.append((f"invariant {inv.id}", f"'{state}' → '{target}': {inv.label}: "
                               f"no {inv.role} is assigned after mapping the case roles; map "
                               "an old case role to it or map the state elsewhere"))
            elif inv.kind == "implies":
                read: set[str] = set()
                for expr in compiled.invariants[inv.id].on.values():
                    read.update(expr.facts_read)
                missing = sorted(f for f in read if f not in sources
                                 and new.facts[f].default is None)
                if missing:
                    result.append(("fact without source", f"'{state}' → '{target}': "
                                   f"{inv.label} reads {', '.join(missing)}, which no old "
                                   "fact provides: rename an old fact to it or give a "
                                   "default under facts: defaults:"))
    return result


def refused(reasons: list[Reason]) -> TransitionRejected:
    """The error for a case that cannot move: event ``migrate`` with every reason."""
    return TransitionRejected(MIGRATE, reasons)


def migrated(old: Program, new: Program, plan: MigrationPlan, case: Case, actor: Actor,
             at: datetime) -> Case:
    """``case`` (of ``old``, normalised, overdue signals recorded) moved to ``new`` by
    ``plan``, with one history entry of kind ``migrate``; `TransitionRejected` (event
    ``migrate``) with every reason it cannot move. Messages name facts, never their values."""
    if case._workflow_id != plan.workflow or case._workflow_version != plan.from_version:
        raise refused([Reason("migration_blocked", "reason.migration_version",
                              workflow=case._workflow_id,
                              version=number_text(case._workflow_version),
                              plan_workflow=plan.workflow, from_version=str(plan.from_version),
                              to_version=str(plan.to_version))])
    state = case._state
    found = blockers(old.model, new.model, plan, state, set(flatmap.keys(case._roles)),
                     case._facts, at)
    reasons = [Reason("migration_blocked", "reason.migration_blocked", state=state,
                      kind=kind, detail=message) for kind, message in found]
    if reasons:
        raise refused(reasons)
    (rule,), _ = candidates(plan.states[state], case._facts, old.model, at)
    target = rule.to
    lines = [f"{plan.workflow} version {plan.from_version} → {plan.to_version} by the plan "
             f"{plan.file}",
             f"state '{state}' → '{target}'" + (f" ({rule.text})" if rule.when else "")]
    facts = _facts(new, plan, case._facts, lines, reasons)
    roles = _roles(plan, flatmap.to_dict(case._roles), lines, reasons)
    returns_to = None
    if target in new.returning_states and case._returns_to is not None:
        back, _ = candidates(plan.states.get(case._returns_to, ()), case._facts, old.model, at)
        if back:
            returns_to = back[0].to
        else:
            reasons.append(Reason("migration_blocked", "reason.migration_blocked", state=state,
                                  kind="return state removed",
                                  detail=f"'{target}' returns to '{case._returns_to}', which "
                                  "the plan maps nowhere for this case"))
    if reasons:
        raise refused(reasons)
    for event in case._agreements:
        lines.append(f"pending agreement on '{event}' lapses")
    tasks = _tasks(new, target, flatmap.to_dict(case._tasks), at, lines)
    timers = _timers(new, target, flatmap.to_dict(case._timers), at, lines)
    entry = record(seq=case.version + 1, at=at, actor=actor.id, role=None, kind=MIGRATE,
                   event=MIGRATE, from_state=state, to_state=target,
                   data={"from_version": plan.from_version, "to_version": plan.to_version,
                         "plan": plan.file, "rule": rule.text},
                   workflow_version=plan.to_version, explanation=tuple(lines))
    return Case(case._id, case._workflow_id, plan.to_version, target, facts, roles,
                (*case._history, entry), timers, stored=case._stored, agreements={},
                tasks=tasks, returns_to=returns_to)


def _facts(new: Program, plan: MigrationPlan, facts: Mapping[str, Any], lines: list[str],
           reasons: list[Reason]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in facts.items():
        to = plan.fact(name)
        if to is None:
            lines.append(f"fact '{name}' dropped: version {plan.to_version} does not have it")
            continue
        try:
            result[to] = new.typed_fact(to, value)
        except ValueProblem:
            reasons.append(Reason("migration_blocked", "reason.migration_fact", fact=name,
                                  to=to, version=str(plan.to_version)))
            continue
        if to != name:
            lines.append(f"fact '{name}' renamed to '{to}'")
    for name, value in plan.facts_defaults.items():
        if name not in result:
            try:
                result[name] = new.typed_fact(name, value)
            except ValueProblem:
                reasons.append(Reason("migration_blocked", "reason.migration_default",
                                      fact=name, version=str(plan.to_version)))
                continue
            lines.append(f"fact '{name}' set to the plan's default")
    return result


def _roles(plan: MigrationPlan, roles: Mapping[str, str], lines: list[str],
           reasons: list[Reason]) -> dict[str, str]:
    result: dict[str, str] = {}
    for role, holder in roles.items():
        to = plan.role(role)
        if to is None:
            continue  # a plan that leaves a held case role unmapped is refused when read
        if to in result and result[to] != holder:
            reasons.append(Reason("migration_blocked", "reason.migration_roles", role=to))
            continue
        result[to] = holder
        if to != role:
            lines.append(f"case role '{role}' → '{to}'")
    return result


def _tasks(new: Program, target: str, tasks: Mapping[str, TaskRecord], at: datetime,
           lines: list[str]) -> dict[str, TaskRecord]:
    result: dict[str, TaskRecord] = {}
    for tid, task in tasks.items():
        spec = new.tasks.get(tid)
        if spec is None:
            lines.append(f"task '{tid}' dropped: version {new.model.version} does not have it")
        elif spec.opened_in and target not in spec.opened_in:
            lines.append(f"task '{tid}' lapses: '{target}' does not open it")
        else:
            result[tid] = task
    for spec in new.tasks_in[target]:
        if spec.id not in result:
            result[spec.id] = opened_task(new, spec, at)
            lines.append(f"task '{spec.id}' opens")
    return result


def _timers(new: Program, target: str, timers: Mapping[str, datetime], at: datetime,
            lines: list[str]) -> dict[str, datetime]:
    result: dict[str, datetime] = {}
    for timer in new.timers_in[target]:
        if timer.model.anchor is not None:
            continue
        started = timers.get(timer.signal)
        if started is None:
            lines.append(f"timer '{timer.signal}' starts")
        result[timer.signal] = at if started is None else started
    return result
