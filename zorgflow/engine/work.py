"""A case's clock and its open work: when its timers fall due, and its tasks.

Timers are declared under a state (they run in that state) or at the top level of a workflow
(they run in a group of states, or in every state). A *relative* timer counts from the moment
the case entered its states from outside them, or from the last event that restarts it; an
*anchored* timer is due at 00:00 (Europe/Amsterdam) of the day a date fact names, plus an
offset. A timer with a ``while:`` condition is due unless that condition is false: unknown
counts as holding, so a reminder comes when in doubt (write ``known(x)`` to require a fact).

A task is opened by entering a state (and lapses when the case leaves the states that open
it) or by an event (and stays open until completed, also in a final state). An open task with
a deadline raises ``<task>_te_laat`` once the deadline has passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from .. import _flatmap as flatmap
from .._flatmap import FlatMap
from .._frozen import Frozen
from ..errors import ValueProblem
from ..model import TaskDefinition
from ..model.calendar import AMSTERDAM, add_duration, cycle_date, duration_amount, local_date
from ..program import CompiledTimer, Program, TaskPlan
from ..rules.expr import Env
from .case import Signal, TaskRecord

#: when a timer falls due that would fall before the year 1: it is due
EARLIEST = datetime.min.replace(tzinfo=UTC)
#: about how many of each unit make a year (which end of the calendar a timer fell off)
_PER_YEAR = {"days": 365, "weeks": 52, "months": 12, "years": 1}



@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Task(Frozen):
    """A task of a case: who must do it, by when, and whether it is done."""

    id: str
    label: str
    role: str
    opened_at: datetime
    due_at: datetime | None
    done: bool
    done_at: datetime | None = None
    done_by: str | None = None

    def overdue(self, at: datetime) -> bool:
        """Open and past its deadline at ``at``."""
        return not self.done and self.due_at is not None and self.due_at <= at


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TimerStatus(Frozen):
    """One timer of the case's current state: when it falls due, or why it does not."""

    signal: str
    label: str
    due_at: datetime | None
    #: why there is no due time (empty when there is one)
    reason: str = ""


# -- timers ------------------------------------------------------------------------------------
def timers_after(program: Program, state: str | None, target: str, event: str,
                 timers: FlatMap, at: datetime) -> FlatMap:
    """The start times of the relative timers after a step from ``state`` (None: the case
    opens) to ``target`` by ``event``: a timer keeps its start while the case stays in its
    states, unless ``event`` restarts it; one the case enters from outside starts now.
    ``timers`` and the result are flat maps (signal, start, …)."""
    return timers_by_plan(program.timer_plan(state, target, event), timers, at)


def timers_by_plan(plan: tuple[tuple[str, bool], ...], timers: FlatMap, at: datetime
                   ) -> FlatMap:
    """`timers_after` by its plan (`Program.timer_plan`)."""
    result: list[Any] = []
    for signal, keeps in plan:
        started = flatmap.get(timers, signal) if keeps else None
        result += (signal, at if started is None else started)
    return tuple(result)


def timer_statuses(program: Program, state: str, facts: Mapping[str, Any],
                   timers: FlatMap) -> list[TimerStatus]:
    """Each timer running in ``state``: its due time, or why it has none (``timers``: the
    case's start times, a flat map)."""
    return [_status(program, timer, facts, timers) for timer in program.timers_in[state]]


def _status(program: Program, timer: CompiledTimer, facts: Mapping[str, Any],
            timers: FlatMap) -> TimerStatus:
    model = timer.model
    label = model.label
    if model.anchor is not None:
        day = facts.get(model.anchor)
        if day is None:
            return TimerStatus(timer.signal, label, None,
                               f"fact '{model.anchor}' is unknown, so there is no date to "
                               "count from")
        due_at = _anchored(day, model.offset, facts)
    else:
        started = flatmap.get(timers, timer.signal)
        if started is None:
            return TimerStatus(timer.signal, label, None, "the timer has not started")
        due_at = _relative(started, model.after, facts)
        if due_at is None:
            return TimerStatus(timer.signal, label, None,
                               "it would fall due after the year 9999")
    if due_at is None:
        return TimerStatus(timer.signal, label, None, "it would fall due after the year 9999")
    if timer.condition is not None:
        holds = timer.condition.fn(Env(facts, max(due_at, EARLIEST + timedelta(days=2)),
                                       {}, program.decider(facts, due_at)))
        if holds is False:  # unknown counts as holding: a reminder when in doubt
            return TimerStatus(timer.signal, label, None,
                               f"it runs only while {timer.condition.source}, which is false")
    return TimerStatus(timer.signal, label, due_at)


def _relative(started: datetime, after: tuple[Any, ...], facts: Mapping[str, Any]
              ) -> datetime | None:
    for duration in after:
        amount = duration_amount(duration, dict(facts))
        if amount is None:
            continue
        try:
            return add_duration(started, amount, duration.unit)
        except ValueProblem:
            # outside the calendar: after its end never due, before its start due
            if started.year + amount // _PER_YEAR[duration.unit] > 5000:
                return None
            return EARLIEST
    return None


def _anchored(day: Any, offset: tuple[Any, ...], facts: Mapping[str, Any]) -> datetime | None:
    """00:00 in Europe/Amsterdam of ``day`` plus ``offset``."""
    try:
        due = datetime.combine(day, time(0), tzinfo=AMSTERDAM)
        for duration in offset:
            amount = duration_amount(duration, dict(facts))
            if amount is not None:
                due = add_duration(due, amount, duration.unit)
        return due
    except (ValueProblem, OverflowError, TypeError):
        return None


# -- tasks -------------------------------------------------------------------------------------
def tasks_after(program: Program, state: str | None, target: str, event: str,
                tasks: FlatMap, at: datetime) -> FlatMap:
    """The tasks after a step from ``state`` (None: the case opens) to ``target`` by
    ``event``: state tasks the case leaves lapse, those of a state it enters from outside
    open, the event's tasks open (again, when done before). ``tasks`` and the result are flat
    maps (task id, `TaskRecord`, …)."""
    return tasks_by_plan(program, program.task_plan(state, target, event), tasks, at)


def tasks_by_plan(program: Program, plan: TaskPlan, tasks: FlatMap, at: datetime) -> FlatMap:
    """`tasks_after` by its plan (`Program.task_plan`)."""
    lapse, opens, by_event = plan
    result = tasks
    if lapse and tasks:
        kept: list[Any] = []
        for i in range(0, len(tasks), 2):
            if tasks[i] not in lapse:
                kept += tasks[i:i + 2]
        result = tuple(kept)
    for spec in opens:
        result = flatmap.put(result, spec.id, opened_task(program, spec, at))
    for spec in by_event:
        current = flatmap.get(result, spec.id)
        if current is None or current[2] is not None:
            result = flatmap.put(result, spec.id, opened_task(program, spec, at))
    return result


def opened_task(program: Program, spec: TaskDefinition, at: datetime) -> TaskRecord:
    """The record of task ``spec`` opened at ``at``, with its deadline."""
    due_at = None
    if spec.due_after is not None and spec.due_after.amount is not None:
        try:
            due_at = add_duration(at, spec.due_after.amount, spec.due_after.unit)
        except ValueProblem:
            due_at = None
    elif spec.due_cycle is not None:
        due_at = next_cycle_start(program, spec.due_cycle, at)
    return (at, due_at, None, None)


def next_cycle_start(program: Program, cycle_id: str, at: datetime) -> datetime | None:
    """00:00 (Europe/Amsterdam) of the first date of the cycle strictly after the day of
    ``at``; None past the end of the calendar."""
    try:
        day = cycle_date(program.model.cycles[cycle_id], local_date(at) + timedelta(days=1))
        return datetime.combine(day, time(0), tzinfo=AMSTERDAM)
    except (OverflowError, ValueProblem):
        return None


def task_views(program: Program, tasks: FlatMap) -> list[Task]:
    """The case's tasks (a flat map) in the order the workflow declares them."""
    result = []
    for tid, spec in program.tasks.items():
        record = flatmap.get(tasks, tid)
        if record is not None:
            opened_at, due_at, done_at, done_by = record
            result.append(Task(tid, spec.label, spec.role, opened_at, due_at,
                               done_at is not None, done_at, done_by))
    return result


def task_signals(program: Program, tasks: FlatMap) -> list[Signal]:
    """``<task>_te_laat`` for each open task (of the flat map ``tasks``) with a deadline."""
    return [Signal(program.tasks[tid].overdue_signal, due_at,
                   f"{program.tasks[tid].label}: te laat")
            for tid, (_, due_at, done_at, _) in flatmap.items(tasks)
            if due_at is not None and done_at is None]
