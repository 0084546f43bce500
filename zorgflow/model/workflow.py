"""Immutable definitions of a workflow: pure data, no I/O, no evaluation.

Expressions are kept as their text here (`Expression`, which knows where it stands in its
file); the compile stage (`zorgflow.program`) compiles them. ``cite`` on an element is the
source document it comes from (title, section, a short quote), as its ``source:`` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field, replace
from datetime import date
from types import MappingProxyType
from typing import Any, Literal

from .._frozen import Frozen, record
from ..errors import Phrase
from .where import NOWHERE, Where
from .zgw import Zgw

ScalarType = Literal["boolean", "string", "integer", "number", "date", "datetime", "enum"]
TypeName = Literal["boolean", "string", "integer", "number", "date", "datetime", "enum", "list"]
Unit = Literal["days", "weeks", "months", "years"]
HitPolicy = Literal["unique", "first", "collect"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    """The empty read-only mapping, as a default (dataclasses take it only from a factory)."""
    return _EMPTY


@record
class FactType(Frozen):
    """The type of a fact, a data field, a table input or a record field."""

    name: TypeName
    values: tuple[str, ...] = ()
    #: for ``list``: the item type (scalars) ...
    items: FactType | None = None
    #: ... or the fields of each record.
    fields: Mapping[str, FactType] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None

    def describe(self) -> str:
        """A short readable form in English, e.g. ``one of geen, lthg``."""
        return self.phrase().text("en")

    def phrase(self) -> Phrase:
        """`describe` in words of any language."""
        if self.name == "enum":
            return Phrase("type.enum", {"values": ", ".join(self.values)})
        if self.name == "list":
            if self.fields:
                return Phrase("type.list_records", {"fields": ", ".join(self.fields)})
            if self.items is not None:
                return Phrase("type.list_of", {"items": self.items.phrase()})
            return Phrase("type.list_values", {})
        return Phrase(f"type.{self.name}", {})


@record
class Role(Frozen):
    """A role; a *case role* is held only by the actor an event assigned it to."""

    id: str
    label: str
    case_role: bool = False
    description: str = ""
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class Fact(Frozen):
    """Something known (or not yet known) about a case."""

    id: str
    label: str
    type: FactType
    personal_data: bool = False
    set_by: tuple[str, ...] = ()
    cite: str = ""
    default: Any = None
    description: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""
    #: ``set_by: []``: nobody sets it by hand; only the events in ``written_by`` write it
    events_only: bool = False
    #: the events whose ``sets:`` may write it (empty: any event whose roles may set it)
    written_by: tuple[str, ...] = ()
    #: the states in which it may be set by hand (empty: any state that is not final)
    set_in: tuple[str, ...] = ()
    #: a condition that must be true for it to be set by hand (None: no condition)
    set_when: str | None = None
    #: sent in an anonymous dossier (``dossier: true``): the allow-list
    dossier: bool = False
    #: for a personal fact, the roles that see its value in a view instead of the
    #: workflow's `Workflow.visible_to` (None: the workflow's)
    visible_to: frozenset[str] | None = None
    #: a special category of personal data (``special_category: true``; AVG art. 9 and 10:
    #: health, criminal records, …): never exported as a ZGW Eigenschap
    special_category: bool = False
    #: the value identifies a data subject (``data_subject: true``; a personal text fact, a
    #: BSN say): the processing log writes one record per data subject a case holds
    data_subject: bool = False


@record
class DifferentPeople(Frozen):
    """Case roles that must be held by different actors; with ``and_the_assigner``, an event
    may not assign one of them to the actor firing it (separation of duties)."""

    roles: tuple[str, ...]
    and_the_assigner: bool = False
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class Acknowledgement(Frozen):
    """A `verify` warning the workflow's authors have looked at and accept: its ``kind``, a
    fragment of its message (``about``) and why it is acceptable (``reason``). An acknowledged
    warning does not fail ``zorgflow check --strict``."""

    kind: str
    about: str
    reason: str


@record
class Duration(Frozen):
    """``amount unit`` or ``facts.<fact> unit``."""

    unit: Unit
    amount: int | None = None
    fact: str | None = None

    def __str__(self) -> str:
        what = f"facts.{self.fact}" if self.fact else str(self.amount)
        return f"{what} {self.unit}"


@record
class Timer(Frozen):
    """A signal that falls due while the case is in the timer's states.

    Relative (``after``): due that long after the case entered the timer's states from
    outside them (moving between them does not restart it), or after the last ``reset_by``
    event. Anchored (``anchor``): due at the start (00:00, Europe/Amsterdam) of the day a date
    fact names, plus ``offset``; no signal while that fact is unknown. With ``while_``, the
    signal is due unless that condition is false (unknown counts as holding).
    """

    signal: str
    label: str
    after: tuple[Duration, ...] = ()
    reset_by: tuple[str, ...] = ()
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""
    #: the states it runs in (a timer under a state: that state)
    states: tuple[str, ...] = ()
    #: the date fact an anchored timer counts from
    anchor: str | None = None
    #: added to the anchor's date, in Europe/Amsterdam days, months or years
    offset: tuple[Duration, ...] = ()
    #: ``while:``, a condition; due unless it is false (None: always)
    while_: str | None = None


@record
class TaskDefinition(Frozen):
    """Work someone must do that is not a change of state: opened by entering one of
    ``opened_in`` or by one of the events ``opened_by``, done once completed by a holder of
    ``role``. With ``due``, an open task past its deadline raises ``<id>_te_laat``."""

    id: str
    label: str
    role: str
    opened_in: tuple[str, ...] = ()
    opened_by: tuple[str, ...] = ()
    #: a relative deadline from the moment it opened ...
    due_after: Duration | None = None
    #: ... or the next date of this cycle strictly after the day it opened (at 00:00)
    due_cycle: str | None = None
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""
    description: str = ""

    @property
    def overdue_signal(self) -> str:
        """The signal an open task past its deadline raises."""
        return f"{self.id}_te_laat"


def _in_state(timer: Timer, state: str) -> Timer:
    return replace(timer, states=(state,))


@record
class Cycle(Frozen):
    """A recurring meeting, e.g. the LZN-overleg every two weeks."""

    id: str
    label: str
    first: date
    every: Duration
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class State(Frozen):
    """A state of the process."""

    id: str
    label: str
    initial: bool = False
    final: bool = False
    cite: str = ""
    description: str = ""
    timers: tuple[Timer, ...] = ()
    shows_cycle: str | None = None
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class DataField(Frozen):
    """A value an actor sends with an event."""

    id: str
    label: str
    type: FactType
    required: bool = True
    enum_from: str | None = None
    personal_data: bool = False


@record
class WarningRule(Frozen):
    """A soft condition of an event: when ``when`` holds at the step, ``label`` is recorded on
    its history entry (``HistoryEntry.warnings``); it never refuses the step."""

    id: str
    label: str
    when: str
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class Transition(Frozen):
    """An event that moves a case from one of ``from_states`` to ``target``."""

    event: str
    label: str
    from_states: tuple[str, ...]
    target: str
    by: tuple[str, ...]
    data: Mapping[str, DataField] = field(default_factory=dict)
    when: str | None = None
    assigns: Mapping[str, str] = field(default_factory=dict)
    sets: Mapping[str, str] = field(default_factory=dict)
    sends: str | None = None
    escalation: bool = False
    escalation_paths: tuple[str, ...] = ()
    cite: str = ""
    description: str = ""
    #: soft conditions recorded with the step, never a refusal
    warnings: tuple[WarningRule, ...] = ()
    #: a joint decision: the event takes effect once one holder of each role has agreed
    #: (``by`` is then these roles)
    agreement: tuple[str, ...] = ()
    #: ``returns: true``: back to the state the case came from into ``from_states`` (then
    #: ``target`` is empty; `Workflow.targets` lists where it can lead)
    returns: bool = False
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class Criterion(Frozen):
    """A named criterion of a ``criteria`` rule set: a condition, or all/any of clauses."""

    id: str
    label: str
    mode: Literal["when", "all", "any"]
    clauses: tuple[str, ...]
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class CriteriaRuleSet(Frozen):
    """Named criteria; the outcome is the ids of those that hold, in definition order."""

    id: str
    label: str
    criteria: tuple[Criterion, ...]
    cite: str = ""
    description: str = ""
    kind: Literal["criteria"] = "criteria"
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class TableInput(Frozen):
    """A column of a decision table; its value comes from an expression (default: a fact)."""

    id: str
    label: str
    type: FactType
    expr: str
    where: Where = field(default=NOWHERE, compare=False, repr=False)


@record
class Cell(Frozen):
    """One test of a table row on one input.

    ``op`` is one of ``any``, ``absent``, ``eq``, ``in``, ``ne``, ``lt``, ``le``, ``gt``,
    ``ge``, ``range`` (``values`` holds the bounds for ``range``).
    """

    op: Literal["any", "absent", "eq", "in", "ne", "lt", "le", "gt", "ge", "range"]
    values: tuple[Any, ...] = ()
    text: str = ""


@record
class TableRow(Frozen):
    """A row of a decision table: cells per input, and the outputs when it matches."""

    id: str
    cells: Mapping[str, Cell]
    outputs: Mapping[str, Any]
    cite: str = ""
    label: str = ""
    where: Where = field(default=NOWHERE, compare=False, repr=False)
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class TableRuleSet(Frozen):
    """A decision table with a hit policy."""

    id: str
    label: str
    hit_policy: HitPolicy
    inputs: tuple[TableInput, ...]
    outputs: tuple[str, ...]
    rows: tuple[TableRow, ...]
    cite: str = ""
    description: str = ""
    kind: Literal["table"] = "table"
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class RankingCriterion(Frozen):
    """A weighted criterion over candidates: ``when`` gives ``weight`` points if true,
    ``points`` gives its number times ``weight``. A ``required`` one excludes a candidate
    for whom it is not true."""

    id: str
    label: str
    weight: float = 1
    when: str | None = None
    points: str | None = None
    required: bool = False
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class RankingRuleSet(Frozen):
    """Candidates from a list fact, scored and ordered."""

    id: str
    label: str
    candidates: str
    candidate_id: str
    criteria: tuple[RankingCriterion, ...]
    cite: str = ""
    description: str = ""
    kind: Literal["ranking"] = "ranking"
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


RuleSet = CriteriaRuleSet | TableRuleSet | RankingRuleSet


InvariantKind = Literal["implies", "requires_case_role", "always_reachable", "never"]


@record
class Invariant(Frozen):
    """A rule that must hold on every reachable step (checked by `zorgflow verify`).

    ``kind`` is its form, which says the fields it uses:

    - ``implies``: on entering one of ``states``, ``condition`` is true;
    - ``requires_case_role``: in ``states``, case role ``role`` is assigned;
    - ``always_reachable``: from every state that is not final, one of ``goals`` can still
      be reached;
    - ``never``: ``event`` never fires while ``when`` holds (always, without ``when``).
    """

    id: str
    label: str
    kind: InvariantKind
    #: ``in_state:`` (one state or a list), as written
    states: tuple[str, ...] = ()
    #: ``implies:`` (empty for other kinds)
    condition: str = ""
    #: ``requires_case_role:`` (empty for other kinds)
    role: str = ""
    #: ``always_reachable:`` (one state or a list), as written
    goals: tuple[str, ...] = ()
    #: ``never: {event}`` (empty for other kinds)
    event: str = ""
    #: ``never: {when}`` as written; None when not given
    when: str | None = None
    cite: str = ""
    description: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""

    @property
    def forbidden_when(self) -> str:
        """For ``never``: the condition to check, ``when`` or, when not given, ``true``."""
        return self.when if self.when is not None else "true"


@record
class ExampleStart(Frozen):
    """How an example opens its case: by which actor, when, with which facts."""

    #: an actor of the example; None: its only actor
    by: str | None = None
    #: a time with offset, as written (checked when the example runs); None: the default
    at: str | None = None
    facts: Mapping[str, Any] = field(default_factory=_empty)


@record
class Expectation(Frozen):
    """What a step of an example expects. A field left ``None`` is not checked, except that a
    step must be accepted unless ``rejected`` is set."""

    state: str | None = None
    #: True, or a fragment of one of the reasons; False (or None): the step must pass
    rejected: bool | str | None = None
    #: a subset of the case's facts (``None`` as a value: unknown)
    facts: Mapping[str, Any] | None = None
    #: a subset of the anonymous dossier the step sent (``None`` as a value: left out)
    dossier: Mapping[str, Any] | None = None
    #: the ids of what held in a decision, in order
    matched: tuple[Any, ...] | None = None
    #: whether a decision holds: true, false or 'unknown'
    holds: bool | str | None = None
    #: a decision's outcome, as written (any YAML value, ``None`` too: see ``expects_outcome``)
    outcome: Any = None
    expects_outcome: bool = False
    #: the due signals, order free
    signals: tuple[str, ...] | None = None
    #: the events the actor may fire, order free
    events: tuple[str, ...] | None = None
    #: the warnings the step recorded (each by id or a fragment of its label), order free
    warnings: tuple[str, ...] | None = None
    #: the open tasks after the step, order free
    tasks: tuple[str, ...] | None = None
    #: the pending agreements after the step: event → the roles that agreed ({}: none)
    agreements: Mapping[str, tuple[str, ...]] | None = None


StepAction = Literal["event", "set_facts", "decide", "due", "allowed", "complete"]


@record
class ExampleStep(Frozen):
    """One step of an example: what it does (``action``), by whom, when, and what then holds.

    ``due`` lists the due signals and ``allowed`` the events ``by`` may fire; they take no
    argument.
    """

    action: StepAction
    #: for ``event``: the event to fire ...
    event: str = ""
    #: ... with this data
    data: Mapping[str, Any] = field(default_factory=_empty)
    #: for ``set_facts``: the facts to set (``None`` as a value forgets one)
    facts_to_set: Mapping[str, Any] = field(default_factory=_empty)
    #: for ``decide``: the rule set to evaluate
    rule_set: str = ""
    #: for ``complete``: the task to complete
    task: str = ""
    #: an actor of the example; None: its only actor
    by: str | None = None
    #: a time with offset, as written (checked when the example runs); None: the time of
    #: the step before
    at: str | None = None
    expect: Expectation = Expectation()
    note: str = ""
    #: the step's line in the workflow file (0: unknown)
    line: int = 0


@record
class Example(Frozen):
    """A scenario written in the workflow file: start, steps, expectations."""

    name: str
    actors: Mapping[str, tuple[str, ...]]
    start: ExampleStart
    steps: tuple[ExampleStep, ...]
    line: int = 0
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class Workflow(Frozen):
    """A whole process definition, as loaded from one YAML file."""

    id: str
    version: int
    label: str
    start_by: tuple[str, ...]
    roles: Mapping[str, Role]
    facts: Mapping[str, Fact]
    states: Mapping[str, State]
    transitions: tuple[Transition, ...]
    rules: Mapping[str, RuleSet] = field(default_factory=dict)
    cycles: Mapping[str, Cycle] = field(default_factory=dict)
    invariants: tuple[Invariant, ...] = ()
    examples: tuple[Example, ...] = ()
    cite: str = ""
    description: str = ""
    file: str = ""
    different_people: tuple[DifferentPeople, ...] = ()
    tasks: Mapping[str, TaskDefinition] = field(default_factory=dict)
    #: timers declared at the top level (those under a state are in `State.timers`)
    timers: tuple[Timer, ...] = ()
    acknowledged_warnings: tuple[Acknowledgement, ...] = ()
    #: the roles (organisational and case roles) that see personal data in a view
    #: (``visible_to:``; empty: nobody, the default)
    visible_to: frozenset[str] = frozenset()
    #: the source of ``visible_to:`` (its ``source:``), when given as a mapping
    visible_to_cite: str = ""
    #: why those roles where the sources are silent (its ``assumption:``)
    visible_to_assumption: str = ""

    @property
    def all_timers(self) -> tuple[Timer, ...]:
        """Every timer: those under states (running in that state), then the top-level
        ones."""
        return tuple(t if t.states else _in_state(t, s.id) for s in self.states.values()
                     for t in s.timers) + self.timers
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""
    #: the ``zgw:`` block: how the workflow becomes a ZGW ZaakType (None: no block)
    zgw: Zgw | None = None
    #: the processing activity (verwerkingsactiviteit) of the register its cases belong to, a
    #: URI (``processing_activity:``; empty: not declared)
    processing_activity: str = ""
    #: the program the compile stage made of this workflow, kept with it so that it is
    #: compiled once (see `zorgflow.program.program_of`)
    compiled: object = field(default=None, init=False, repr=False, compare=False)

    @property
    def initial(self) -> State:
        """The one initial state."""
        return next(s for s in self.states.values() if s.initial)

    @property
    def events(self) -> tuple[str, ...]:
        """Every event id, in definition order, once."""
        return tuple(dict.fromkeys(t.event for t in self.transitions))

    def targets(self, t: Transition) -> tuple[str, ...]:
        """The states ``t`` can lead to: its target, or for a returning transition each state
        from which a transition enters its from-states (the states it can return to)."""
        if not t.returns:
            return (t.target,)
        return tuple(dict.fromkeys(
            source for other in self.transitions if other.target in t.from_states
            for source in other.from_states if source not in t.from_states))

    def transitions_from(self, state: str) -> tuple[Transition, ...]:
        """The transitions leaving ``state``, in definition order."""
        return tuple(t for t in self.transitions if state in t.from_states)

    def summary(self) -> str:
        """``10 states, 16 transitions, 3 rule sets`` (a transition per from-state)."""
        count = sum(len(t.from_states) for t in self.transitions)
        return f"{len(self.states)} states, {count} transitions, {len(self.rules)} rule sets"
