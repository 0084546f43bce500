"""A step of `Engine.fire`: who may take it, and the case it makes.

`apply_fire` and `agree` make the next case of a step the engine has allowed. `quick_fire`
allows the common step on its own: a step that is allowed as it comes (nothing due, data as
it is kept, no reason to refuse it) is checked here without looking for words, and made at
once. Where it answers None, `Engine.fire` takes the full path, which records overdue signals
first and says every reason a step is refused. Both decide as the same functions do, so they
allow the same steps; `quick_fire` makes the case as `apply_fire` or `agree` makes it, written
out without their calls (the tests take every step both ways and compare the cases).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .. import _flatmap as flatmap
from .._flatmap import FlatMap
from ..errors import Reason, TransitionRejected, ValueProblem
from ..model.values import coerce
from ..program import CompiledTransition, Decider, Program, StatePlan, explain_guard
from ..rules.codegen import enabled as codegen_enabled
from ..rules.expr import Env, Expr
from ..rules.logic import UNKNOWN
from .case import Actor, Case, TaskRecord
from .facts import Facts
from .record import AT, DATA, Record, flat, unflat
from .specialise import specialise
from .work import opened_task, tasks_after, tasks_by_plan, timers_after, timers_by_plan

_NO_WARNINGS: tuple[str, ...] = ()
_NO_DATA: Mapping[str, Any] = MappingProxyType({})
_NO_AGREED: Mapping[str, str] = MappingProxyType({})


def quick_fire(program: Program, ct: CompiledTransition, case: Case, actor: Actor,
               data: Mapping[str, Any] | None, at: datetime) -> Case | None:
    """``case`` after ``ct`` when it is plainly allowed: nothing is due at ``at`` (as
    `nothing_due` finds), the data come as a dict in which `DataCheck` finds no problem, the
    actor holds a role for it, its guard is true and its case roles keep people apart. None
    otherwise (the full path says why, or records a signal first). ``case`` is normalised and
    in ``ct``'s state, ``at`` checked.

    This is also the template of `quick_step`: it reads what the transition and the
    workflow fix only as ``ct.<attribute>`` and ``program.<attribute>`` (`QUICK_FIXED`),
    never through a variable, and loops only over them without ``break``, so that
    `zorgflow.engine.specialise` can write it out for one transition. It does what
    `apply_fire` does, written out here so that a step makes no call it need not."""
    # -- nothing due (as `nothing_due`, for this state) -----------------------------------
    if not ct.bounded:
        return None  # a timer without a shortest duration runs here: the full path looks
    if ct.anchors:
        names = case._facts._names
        for name in ct.anchors:
            if name in names:
                return None
    timers = case._timers
    for signal, shortest in ct.quiet_timers:
        # in a flat map of signal -> datetime a signal name can only equal a key
        if signal in timers:
            try:  # (most cases run one timer: read without a call)
                if (timers[1] if timers[0] == signal
                        else timers[timers.index(signal) + 1]) + shortest <= at:
                    return None
            except OverflowError:  # a start at the end of the calendar: the full path
                return None
    tasks = case._tasks
    if tasks:  # (the case's own: one migrated keeps a deadline its new version may not set)
        # the first task's record read without a slice (most cases have one task open); a
        # deadline dated three days or more after `at` is later whatever the offsets: known
        # without comparing instants, which costs two UTC offsets
        _, due_at, done_at, _ = tasks[1]
        if due_at is not None and done_at is None \
                and due_at.toordinal() - at.toordinal() < 3 and due_at <= at:
            return None
        if len(tasks) > 2:
            for _, due_at, done_at, _ in tasks[3::2]:  # the other task records
                if due_at is not None and done_at is None \
                        and due_at.toordinal() - at.toordinal() < 3 and due_at <= at:
                    return None
    returns_to = case._returns_to
    if ct.returns and returns_to is None:
        return None
    # -- who, and with what data ----------------------------------------------------------
    agreements = case._agreements
    pending = None
    if ct.agreement:
        pending = agreements.get(ct.event)
        if pending is not None and not data and pending[1]:
            data = unflat(pending[1])  # a later agreement without data agrees to the first's
    clean: Mapping[str, Any] | None
    given: FlatMap = flatmap.EMPTY  # the data as its record keeps them: `flat(clean)`
    if ct.data_fields:  # as `DataCheck`, with no words for a problem
        if not data:
            if ct.data_required:
                return None
            clean = _NO_DATA
        elif data.__class__ is not dict:
            return None
        else:
            clean = {}
            for name, required, ftype, _, plain, allowed in ct.data_plan:
                value = data.get(name)
                if value is None or (value.__class__ is str and not value.strip()):
                    if required:
                        return None
                else:
                    if value.__class__ is not plain or (allowed is not None
                                                        and value not in allowed):
                        try:
                            value = coerce(ftype, value)
                        except ValueProblem:
                            return None
                    clean[name] = value
                    given += (name, value)
            if len(data) > len(clean) and any(k not in ct.data_names for k in data):
                return None
    elif data:
        return None  # data for an event that takes none: the full path says so
    else:
        clean = _NO_DATA
    roles = case._roles
    aid = actor.id
    stored = case._stored
    version = len(case._history) + (len(stored) if stored is not None else 0)
    if ct.agreement:
        # as `agreeing_role`: the first role of the agreement he holds that has not agreed,
        # unless he agreed already
        agreed = pending[0] if pending is not None else _NO_AGREED
        if aid in agreed.values():
            return None
        role = None
        for name, by_case in ct.agreement_by:
            if role is None and name not in agreed:
                if by_case:  # (most cases hold one case role: read without a call)
                    if aid in roles and (roles[1] if roles[0] == name
                                         else flatmap.get(roles, name)) == aid:
                        role = name
                elif name in actor.roles:
                    role = name
        if role is None or (pending is not None and given != pending[1]):
            return None
        complete = True  # as `completes`: his agreement is the last one it waits for
        for name in ct.agreement:
            if name != role and name not in agreed:
                complete = False
        if not complete:  # as `agree`
            if pending is None:
                now_agreed = {role: aid}
            else:
                now_agreed = dict(agreed)
                now_agreed[role] = aid
            if agreements:
                pending_now = dict(agreements)
                pending_now[ct.event] = (now_agreed, given)
            else:
                pending_now = {ct.event: (now_agreed, given)}
            entry: Record = (version + 1, at, aid, role, "agree", ct.event, ct.from_state,
                             ct.from_state, given, case._workflow_version)
            agreeing = _new(Case)  # as `Case._next`, without the call
            agreeing._id = case._id
            agreeing._workflow_id = case._workflow_id
            agreeing._workflow_version = case._workflow_version
            agreeing._state = ct.from_state
            agreeing._facts = case._facts
            agreeing._roles = roles
            agreeing._history = case._history + (entry,)  # noqa: RUF005 (no list made)
            agreeing._timers = timers
            agreeing._agreements = pending_now
            agreeing._tasks = tasks
            agreeing._returns_to = returns_to
            agreeing._normalised = True
            agreeing._stored = stored
            agreeing._entries = None
            return agreeing
    else:
        role = None  # the first of the transition's roles he holds (`role_for`)
        for name, by_case in ct.roles_by:
            if role is None:
                if by_case:  # (most cases hold one case role: read without a call)
                    if aid in roles and (roles[1] if roles[0] == name
                                         else flatmap.get(roles, name)) == aid:
                        role = name
                elif name in actor.roles:
                    role = name
        if role is None:
            return None
    # -- the guard, and the case roles it assigns -----------------------------------------
    env: Any = None
    explanation: Any = ()
    if ct.needs_env:
        kept = case._facts
        facts = dict(zip(kept._names, kept._values))  # noqa: B905 (read at dict speed)
        # the environment, its decider and the explanation, made as their __init__ would
        env = _new(Env)
        env.facts = facts
        env.at = at
        env.data = clean
        env.decide = None
        env.item = None
        env._today = None
        if ct.reads_rules:  # rule sets read no event data: they may read the step's own env
            decider = _new(Decider)
            decider._rules = program.rules
            decider._facts = facts
            decider._at = at
            decider._cache = None
            decider.env = env
            env.decide = decider
        if ct.guard is not None:
            if ct.guard.fn(env) is not True:
                return None
            explanation = _new(PassedGuard)
            explanation._program = program
            explanation._guard = ct.guard
            explanation._facts = kept
            explanation._lines = None
        if ct.assigns:
            for name, expr in ct.assigns:
                value = expr.fn(env)
                if isinstance(value, str) and value:  # no actor id: nobody assigned
                    # (most cases hold no case role before their first: made without a call)
                    roles = flatmap.put(roles, name, value) if roles else (name, value)
            # as `separation_reasons` (refused where it gives a reason): two roles of a group
            # held by one actor, one of them assigned now; or an assigned role of a group
            # that keeps the assigner apart, held by him
            for first, second in ct.apart:
                holder = flatmap.get(roles, first)
                if holder is not None and holder == flatmap.get(roles, second):
                    return None
            for name in ct.not_the_assigner:  # (most cases hold one case role: read without a call)
                if roles and (roles[1] if roles[0] == name else flatmap.get(roles, name)) == aid:
                    return None
    # -- the step (as `apply_fire`) ---------------------------------------------------------
    state = ct.from_state
    kept = case._facts
    if ct.sets:
        changes: dict[str, Any] = {}  # UNKNOWN: forgotten
        for name, expr, _ in ct.sets:
            value = expr.fn(env)
            if value is UNKNOWN or value.__class__ is program.fact_plain.get(name):
                changes[name] = value  # held as it comes
            else:
                try:
                    changes[name] = program.typed_fact(name, value)
                except ValueProblem:
                    return None  # the full path says why
        if UNKNOWN not in changes.values():  # none forgotten
            kept = kept.updated(changes)
        else:
            new_facts = dict(facts)  # a copy of the dict the step read
            for name, value in changes.items():
                if value is UNKNOWN:
                    new_facts.pop(name, None)
                else:
                    new_facts[name] = value
            kept = Facts(new_facts)
    target = ct.target or returns_to or state
    if target != state:
        if ct.target:  # as `timers_by_plan` and `tasks_by_plan`, planned with the program
            started_now: FlatMap = flatmap.EMPTY  # (a tuple: the plan holds a timer or two)
            for signal, keeps in ct.timer_plan:
                if keeps:  # (most cases run one timer: read without a call)
                    started = (timers[1] if timers[0] == signal
                               else flatmap.get(timers, signal)) if timers else None
                    started_now += (signal, at if started is None else started)
                else:
                    started_now += (signal, at)
            timers = started_now
            if program.tasks:
                if ct.task_plan[0] and tasks:  # those that lapse
                    if len(tasks) == 2:  # (most cases have one task open: read without a slice)
                        if tasks[0] in ct.task_plan[0]:
                            tasks = flatmap.EMPTY
                    elif not ct.task_plan[0].isdisjoint(tasks[::2]):
                        if ct.task_plan[0].issuperset(tasks[::2]):
                            tasks = flatmap.EMPTY  # every open task lapses
                        else:
                            open_now: list[Any] = []  # without the tasks that lapse
                            for i in range(0, len(tasks), 2):
                                if tasks[i] not in ct.task_plan[0]:
                                    open_now += tasks[i:i + 2]
                            tasks = tuple(open_now)
                # those that open (with no task open, as most cases leave a state, the task
                # map is made without a call)
                opened: TaskRecord
                for spec in ct.task_plan[1]:
                    if spec.due_after is None and spec.due_cycle is None:
                        opened = (at, None, None, None)
                    else:
                        opened = opened_task(program, spec, at)
                    tasks = flatmap.put(tasks, spec.id, opened) if tasks else (spec.id, opened)
                for spec in ct.task_plan[2]:  # those that open unless open already
                    current = (tasks[1] if tasks[0] == spec.id else flatmap.get(tasks, spec.id)
                               ) if tasks else None
                    if current is None or current[2] is not None:
                        if spec.due_after is None and spec.due_cycle is None:
                            opened = (at, None, None, None)
                        else:
                            opened = opened_task(program, spec, at)
                        tasks = flatmap.put(tasks, spec.id, opened) if tasks else (spec.id, opened)
        else:
            timers = timers_after(program, state, target, ct.event, timers, at)
            if program.tasks:
                tasks = tasks_after(program, state, target, ct.event, tasks, at)
        if agreements:
            agreements = {}  # pending joint decisions lapse when the case leaves the state
        # entering a state an escalation returns from: remember where it came from
        returns_to = state if target in program.returning_states else None
    else:
        if ct.event in agreements:
            agreements = {e: p for e, p in agreements.items() if e != ct.event}
        elif ct.resets:
            for signal in ct.resets:  # (most cases run one timer: set without a call)
                timers = (signal, at) if len(timers) == 2 and timers[0] == signal \
                    else flatmap.put(timers, signal, at)
        if ct.opens_tasks:
            tasks = tasks_after(program, state, target, ct.event, tasks, at)
    # a record (zorgflow.engine.record), made here without a call: one on every step
    if ct.sends_dossier:
        dossier = flat({k: v for k, v in kept.items() if k in program.dossier})
        warnings = tuple(label for label, when in ct.warnings if when.fn(env) is True)
        entry = (version + 1, at, aid, role, "fire", ct.event, state, target, given,
                 case._workflow_version, explanation, dossier, warnings)
    elif ct.warnings:
        warnings = tuple(label for label, when in ct.warnings if when.fn(env) is True)
        if ct.guard is not None or warnings:
            entry = (version + 1, at, aid, role, "fire", ct.event, state, target, given,
                     case._workflow_version, explanation, None, warnings)
        else:
            entry = (version + 1, at, aid, role, "fire", ct.event, state, target, given,
                     case._workflow_version)
    elif ct.guard is not None:
        entry = (version + 1, at, aid, role, "fire", ct.event, state, target, given,
                 case._workflow_version, explanation, None, _NO_WARNINGS)
    else:
        entry = (version + 1, at, aid, role, "fire", ct.event, state, target, given,
                 case._workflow_version)
    # the next case (as `Case._next`, without the call)
    new = _new(Case)
    new._id = case._id
    new._workflow_id = case._workflow_id
    new._workflow_version = case._workflow_version
    new._state = target
    new._facts = kept
    new._roles = roles
    new._history = case._history + (entry,)  # noqa: RUF005 (no list made)
    new._timers = timers
    new._agreements = agreements
    new._tasks = tasks
    new._returns_to = returns_to
    new._normalised = True
    new._stored = stored
    new._entries = None
    return new


_new = object.__new__

#: what `quick_fire` reads as given: of the transition, and of its workflow's program (not
#: ``rules``, which an engine with another rules back end replaces in a copy that shares the
#: transitions)
QUICK_FIXED = {
    "ct": ("agreement", "agreement_by", "anchors", "apart", "assigned", "assigns", "bounded",
           "data_fields", "data_names", "data_plan", "data_required", "event", "from_state",
           "guard", "needs_env", "opens_tasks", "quiet_timers", "reads_rules", "resets",
           "not_the_assigner", "returns", "roles_by", "sends_dossier", "sets", "target",
           "task_plan", "timer_plan", "warnings"),
    "program": ("different_people", "dossier", "fact_plain", "returning_states",
                "tasks"),
}


def quick_step(program: Program, ct: CompiledTransition) -> QuickStep:
    """`quick_fire` written out for ``ct`` (`zorgflow.engine.specialise`): the same steps,
    without looking up what the transition fixes. `quick_fire` itself where that cannot be
    done (no source to read) or is turned off (``ZORGFLOW_NO_CODEGEN=1``)."""
    if not codegen_enabled():
        return quick_fire
    fixed = {name: {a: getattr(owner, a) for a in QUICK_FIXED[name]}
             for name, owner in (("ct", ct), ("program", program))}
    made: QuickStep = _written_out(quick_fire, fixed, f"step {ct.from_state} --{ct.event}-->")
    return made


#: a step allowed as it comes: `quick_fire`, or it written out for one transition
QuickStep = Callable[[Program, CompiledTransition, Case, Actor, Mapping[str, Any] | None,
                      datetime], Case | None]


def quick_set_facts(program: Program, plan: StatePlan, case: Case, given: Mapping[str, Any],
                    actor: Actor, at: datetime) -> Case | None:
    """``case`` after `Engine.set_facts` of ``given`` when that is plainly allowed: nothing is
    due, the case is open, the actor holds a role in it, and each fact may be set by him here
    and now (no ``when:`` to ask) to a value it holds (none forgotten). None otherwise: the
    full path (`Engine._check_facts`) says why, or records a signal first. ``plan`` is that
    of the case's state; ``given`` a dict.

    Like `quick_fire`, a template: `quick_facts_step` writes it out for one state, reading
    what the state and the workflow fix only as ``plan.<attribute>`` and
    ``program.<attribute>`` (`FACTS_FIXED`)."""
    # -- nothing due (as `nothing_due`, for this state), and open -------------------------
    if plan.final or not plan.bounded:
        return None
    if plan.anchors:
        names = case._facts._names
        for name in plan.anchors:
            if name in names:
                return None
    timers = case._timers
    for signal, shortest in plan.quiet_timers:
        if signal in timers:
            try:
                if (timers[1] if timers[0] == signal
                        else timers[timers.index(signal) + 1]) + shortest <= at:
                    return None
            except OverflowError:
                return None
    tasks = case._tasks
    if tasks:  # (the case's own: one migrated keeps a deadline its version may not set)
        _, due_at, done_at, _ = tasks[1]
        if due_at is not None and done_at is None \
                and due_at.toordinal() - at.toordinal() < 3 and due_at <= at:
            return None
        if len(tasks) > 2:
            for _, due_at, done_at, _ in tasks[3::2]:
                if due_at is not None and done_at is None \
                        and due_at.toordinal() - at.toordinal() < 3 and due_at <= at:
                    return None
    # -- his role in the case (as `role_in_case`) -----------------------------------------
    roles = case._roles
    aid = actor.id
    role = None
    if aid in roles:
        for i in range(1, len(roles), 2):
            if role is None and roles[i] == aid:
                role = roles[i - 1]
    if role is None:
        mine = actor.roles
        if len(mine) == 1:
            for only in mine:
                if only in program.org_role_ids:
                    role = only
        else:
            held = mine & program.org_role_ids
            if held:
                role = min(held)
        if role is None:
            return None
    # -- each fact (as `Engine._check_facts`) ---------------------------------------------
    state = plan.state
    typed: dict[str, Any] = {}
    flat_typed: FlatMap = flatmap.EMPTY  # `flat(typed)`, made as it grows
    for name, value in given.items():
        setter = program.setters.get(name)
        if setter is None or value is None:
            return None
        set_in, set_by, plain = setter
        if set_in and state not in set_in:
            return None
        if set_by:
            allowed = False  # as `holds`
            for by, by_case in set_by:
                if by_case:  # (most cases hold one case role: read without a call)
                    if aid in roles and (roles[1] if roles[0] == by
                                         else flatmap.get(roles, by)) == aid:
                        allowed = True
                elif by in actor.roles:
                    allowed = True
            if not allowed:
                return None
        if value.__class__ is not plain:  # (else held as it comes)
            try:
                value = program.typed_fact(name, value)
            except ValueProblem:
                return None
        typed[name] = value
        flat_typed += (name, value)
    stored = case._stored
    version = len(case._history) + (len(stored) if stored is not None else 0)
    entry: Record = (version + 1, at, aid, role, "set_facts", "set_facts", state, state,
                     flat_typed, case._workflow_version)
    new = _new(Case)  # as `Case._next`, without the call
    new._id = case._id
    new._workflow_id = case._workflow_id
    new._workflow_version = case._workflow_version
    new._state = state
    new._facts = case._facts.updated(typed)
    new._roles = roles
    new._history = case._history + (entry,)  # noqa: RUF005 (no list made)
    new._timers = timers
    new._agreements = case._agreements
    new._tasks = tasks
    new._returns_to = case._returns_to
    new._normalised = True
    new._stored = stored
    new._entries = None
    return new


#: what `quick_set_facts` reads as given
FACTS_FIXED = {
    "plan": ("anchors", "bounded", "final", "quiet_timers", "state"),
    "program": ("org_role_ids",),
}


def quick_facts_step(program: Program, plan: StatePlan) -> QuickFacts:
    """`quick_set_facts` written out for one state (as `quick_step` does for a transition)."""
    if not codegen_enabled():
        return quick_set_facts
    fixed = {name: {a: getattr(owner, a) for a in FACTS_FIXED[name]}
             for name, owner in (("plan", plan), ("program", program))}
    made: QuickFacts = _written_out(quick_set_facts, fixed, f"set_facts in {plan.state}")
    return made


def _written_out(template: Any, fixed: Mapping[str, Mapping[str, Any]], name: str) -> Any:
    """``template`` written out for ``fixed``, or ``template`` itself where that cannot be
    done. Writing out is only ever for speed: a value it cannot put in the code, or a
    mistake of its own, must not stop a step, which the template takes as well."""
    try:
        made = specialise(template, fixed, name)
    except Exception:
        made = None
    return made if made is not None else template


#: `set_facts` allowed as it comes: `quick_set_facts`, or it written out for one state
QuickFacts = Callable[[Program, StatePlan, Case, Mapping[str, Any], Actor, datetime],
                      Case | None]


def role_in_case(program: Program, actor: Actor, case: Case) -> str | None:
    """The role ``actor`` acts under in ``case`` outside an event (setting facts, the
    record of a step): the case role assigned to him, else his first role of the workflow by
    name."""
    roles = case._roles
    if actor.id in roles:  # the actor holds a case role (or a role is named like him)
        for i in range(1, len(roles), 2):
            if roles[i] == actor.id:
                return str(roles[i - 1])
    mine = actor.roles
    if len(mine) == 1:  # most actors hold one role
        (only,) = mine
        return only if only in program.org_role_ids else None
    held = mine & program.org_role_ids
    return min(held) if held else None  # the first by name


def nothing_due(program: Program, case: Case, at: datetime) -> bool:
    """True when no timer signal of the case can be due at ``at``, known without working out
    the due times: every relative timer running in its state started less than its shortest
    duration before ``at``, the date of every anchored one is unknown, and no open task's
    deadline has passed. (False: look.)"""
    quiet = program.quiet.get(case._state)
    if quiet is None:
        return False  # a timer without a shortest duration runs here
    relative, anchors = quiet
    if anchors:
        names = case._facts._names
        for name in anchors:
            if name in names:
                return False
    if relative:
        timers = case._timers
        for signal, shortest in relative:
            # read inline (on every step): in a flat map of signal → datetime a signal name can
            # only equal a key
            if signal in timers:
                try:
                    if timers[timers.index(signal) + 1] + shortest <= at:
                        return False
                except OverflowError:  # a start at the end of the calendar: look the long way
                    return False
    if case._tasks:  # the case's own (a migrated case keeps a deadline its version may not set)
        day = at.toordinal()
        for _, due_at, done_at, _ in case._tasks[1::2]:  # the task records
            # a deadline dated three days or more after `at` is later whatever the offsets
            # (they differ by less than two days): known without comparing instants
            if due_at is not None and done_at is None and due_at.toordinal() - day < 3 \
                    and due_at <= at:
                return False
    return True


def apply_fire(program: Program, case: Case, ct: CompiledTransition, actor: Actor,
               role: str | None, clean: Mapping[str, Any], env: Env | None,
               explanation: Any, at: datetime, roles: FlatMap, version: int) -> Case:
    """``case`` after ``ct`` (checked: it is allowed), at version ``version`` now."""
    state = case._state
    facts = case._facts
    if ct.sets:
        assert env is not None
        new_facts = dict(env.facts)  # a copy of the dict the step read
        for name, expr, _ in ct.sets:
            value = expr.fn(env)
            if value is UNKNOWN:
                new_facts.pop(name, None)
                continue
            try:
                new_facts[name] = program.typed_fact(name, value)
            except ValueProblem as exc:
                raise TransitionRejected(ct.event, [
                    Reason("invalid_data", "reason.fact_set_value", fact=name,
                           detail=exc.phrase)]) from None
        facts = Facts(new_facts)
    returns_to = case._returns_to
    target = ct.target or returns_to or state
    timers = case._timers
    agreements = case._agreements
    tasks = case._tasks
    if target != state:
        if ct.target:  # the same each time: planned with the program
            timers = timers_by_plan(ct.timer_plan, timers, at)
            if program.tasks:
                tasks = tasks_by_plan(program, ct.task_plan, tasks, at)
        else:
            timers = timers_after(program, state, target, ct.event, timers, at)
            if program.tasks:
                tasks = tasks_after(program, state, target, ct.event, tasks, at)
        if agreements:
            agreements = {}  # pending joint decisions lapse when the case leaves the state
        # entering a state an escalation returns from: remember where it came from
        returns_to = state if target in program.returning_states else None
    else:
        if ct.event in agreements:
            agreements = {e: p for e, p in agreements.items() if e != ct.event}
        elif ct.resets:
            for signal in ct.resets:
                timers = flatmap.put(timers, signal, at)
        if ct.opens_tasks:
            tasks = tasks_after(program, state, target, ct.event, tasks, at)
    warnings = _NO_WARNINGS
    if ct.warnings:
        assert env is not None
        warnings = tuple(label for label, when in ct.warnings if when.fn(env) is True)
    # a record (zorgflow.engine.record), made here without a call: one on every step
    if explanation or ct.sends_dossier or warnings:
        dossier = None
        if ct.sends_dossier:
            allowed = program.dossier
            dossier = flat({k: v for k, v in facts.items() if k in allowed})
        entry: Record = (version + 1, at, actor.id, role, "fire", ct.event, state, target,
                         flat(clean), case._workflow_version, explanation, dossier, warnings)
    else:
        entry = (version + 1, at, actor.id, role, "fire", ct.event, state, target,
                 flat(clean) if clean else flatmap.EMPTY, case._workflow_version)
    return case._next(entry, target, facts, roles, timers, agreements, tasks, returns_to)


def holds(role: str, actor: Actor, case_roles: FlatMap, case_role_ids: frozenset[str]) -> bool:
    """Whether ``actor`` holds ``role`` in a case: an organisational role by his own roles, a
    case role only when assigned to him in this case (``case_roles``: a flat map)."""
    if role in case_role_ids:
        return bool(flatmap.get(case_roles, role) == actor.id)
    return role in actor.roles


def agreeing_role(program: Program, ct: CompiledTransition, actor: Actor, case: Case
                  ) -> str | None:
    """The role under which ``actor`` agrees to ``ct`` now: the first role of the agreement
    he holds that has not agreed yet, unless he agreed already (under any role). None when
    there is none (`Engine.fire` says why)."""
    pending = case._agreements.get(ct.event)
    agreed = pending[0] if pending is not None else {}
    if actor.id in agreed.values():
        return None
    ids = program.case_role_ids
    for role in ct.agreement:
        if role not in agreed and holds(role, actor, case._roles, ids):
            return role
    return None


def completes(ct: CompiledTransition, pending: Any, role: str) -> bool:
    """Whether ``role``'s agreement is the last one ``ct`` waits for."""
    agreed = pending[0] if pending is not None else {}
    return all(r in agreed or r == role for r in ct.agreement)


def agree(case: Case, ct: CompiledTransition, actor: Actor, role: str,
          clean: Mapping[str, Any], at: datetime) -> Case:
    """``case`` with ``actor``'s agreement to ``ct`` recorded: one history entry of kind
    ``agree``; the state does not change."""
    pending = case._agreements.get(ct.event)
    agreed = dict(pending[0]) if pending is not None else {}
    agreed[role] = actor.id
    agreements = dict(case._agreements)
    data = flat(clean)
    agreements[ct.event] = (agreed, data)
    state = case._state
    entry: Record = (case.version + 1, at, actor.id, role, "agree", ct.event, state, state,
                     data, case._workflow_version)
    return case._next(entry, state, case._facts, case._roles, case._timers, agreements,
                      case._tasks, case._returns_to)


def assigned(roles: FlatMap, ct: CompiledTransition, env: Env) -> FlatMap:
    """The case roles (a flat map) after ``ct``'s ``assigns:`` (a value that is no actor id
    assigns nobody)."""
    for name, expr in ct.assigns:
        value = expr.fn(env)
        if isinstance(value, str) and value:
            roles = flatmap.put(roles, name, value)
    return roles


def separation_reasons(program: Program, ct: CompiledTransition, actor: Actor,
                       roles: FlatMap) -> list[Reason]:
    """Why the case roles (a flat map) after this step break a ``different_people`` rule (no
    actor ids in the reasons: they say which roles, not who)."""
    reasons = []
    assigned_ = {name for name, _ in ct.assigns}
    for group in program.different_people:
        holders: dict[str, str] = {}
        for name in group.roles:
            holder = flatmap.get(roles, name)
            if holder is None:
                continue
            if holder in holders and (name in assigned_ or holders[holder] in assigned_):
                reasons.append(Reason("separation_of_duties", "reason.different_people",
                                      first=holders[holder], second=name))
            holders.setdefault(holder, name)
            if group.and_the_assigner and name in assigned_ and holder == actor.id:
                reasons.append(Reason("separation_of_duties", "reason.not_the_assigner",
                                      event=ct.event, role=name))
    return reasons


class PassedGuard:
    """The explanation of a guard that passed, worked out the first time it is read from the
    same facts, time and data (so the same lines), then kept: what `record.Once` does, in one
    small object, since a case keeps one for every guarded step. The time and the data are
    the step's own, so they are read from its record, not kept a second time here."""

    # (`zorgflow.engine.step.quick_fire` makes one without a call, setting each slot right
    # after: a slot added here is set there too, as a test checks)
    __slots__ = ("_facts", "_guard", "_lines", "_program")

    def __init__(self, program: Program, guard: Expr, facts: Mapping[str, Any]) -> None:
        self._program = program
        self._guard = guard
        self._facts = facts
        self._lines: tuple[str, ...] | None = None

    def __call__(self, entry: Record) -> tuple[str, ...]:
        if self._lines is None:
            facts, at, data = self._facts, entry[AT], unflat(entry[DATA])
            env = Env(facts, at, data, self._program.decider(facts, at))
            self._lines = tuple(explain_guard(self._guard, env))
        return self._lines
