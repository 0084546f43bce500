"""The compile stage: a workflow (the model) becomes a `Program` that the engine, `verify`,
the hypothesis machines and the example runner all run on.

Each expression of the workflow (guards, ``assigns:``, ``sets:``, criteria, table inputs,
ranking criteria, invariants) is compiled exactly once, here; a mistake anywhere is a
`Problem` at its ``file:line:column`` (the model keeps where each expression stands). The
program is kept with its workflow (`program_of`), so a workflow is compiled once however
many engines and checks use it.
"""

from __future__ import annotations

import ast
import copy
import itertools
import math
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from . import _flatmap as flatmap
from ._flatmap import FlatMap
from ._frozen import Frozen, record
from .errors import ExprError, Problem, Reason, ValueProblem, WorkflowError, phrase
from .model import (
    NOWHERE,
    DataField,
    Invariant,
    RuleSet,
    TaskDefinition,
    Timer,
    Workflow,
    where_of,
)
from .model.calendar import interval_limits
from .model.values import coerce, exact_form, interval_reader, problem_text, reader
from .rules.codegen import ONE_CRITERION
from .rules.decision import Decision
from .rules.expr import Env, Expr, Scope, compile_expr, show
from .rules.logic import UNKNOWN, truth_word
from .rules.rulesets import (
    CompiledCriteria,
    CompiledRuleSet,
    CompiledTable,
    compile_rule_set,
    item_scope,
)

_NO_DATA: Mapping[str, Any] = MappingProxyType({})
_NO_PROBLEMS: list[Reason] = []


def program_of(workflow: Workflow) -> Program:
    """The program of ``workflow``: the one the loader made, or made now (and kept with the
    workflow). Raises `WorkflowError` (every problem, with its position) if it does not
    compile."""
    program = workflow.compiled
    if isinstance(program, Program) and program.model is workflow:
        return program
    program, problems = compile_workflow(workflow)
    if program is None:
        raise WorkflowError(problems)
    return program


def compile_workflow(workflow: Workflow, *, known_problems: bool = False,
                     unchecked_rows: Collection[tuple[str, str]] = ()
                     ) -> tuple[Program | None, list[Problem]]:
    """Compile every expression of ``workflow`` and check what only compiling shows (types,
    overlapping rows of ``unique`` tables). Returns the program, kept with the workflow, and
    no problems; or None and every problem found.

    ``known_problems``: the loader found mistakes already; expressions are still compiled to
    report theirs, but no program is built. ``unchecked_rows`` are (table, row) pairs with
    such mistakes, left out of the overlap check (they would only add noise).
    """
    compiler = _Compiler(workflow)
    parts = compiler.compile_all(unchecked_rows)
    if compiler.problems or known_problems:
        return None, compiler.problems
    program = Program(workflow, *parts)
    object.__setattr__(workflow, "compiled", program)
    return program, []


@record
class _TransitionExprs(Frozen):
    """A transition's compiled expressions."""

    guard: Expr | None
    assigns: tuple[tuple[str, Expr], ...]
    sets: tuple[tuple[str, Expr, Any], ...]
    #: (label, condition) of each warning
    warnings: tuple[tuple[str, Expr], ...] = ()


class _Compiler:
    """Compiles each expression once, recording a mistake with its position and going on
    (with a stand-in that is always unknown), so that every mistake is reported at once."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.problems: list[Problem] = []
        self._broken: set[int] = set()

    def __call__(self, source: str, scope: Scope, *, expect_bool: bool = False) -> Expr:
        try:
            return compile_expr(source, scope, expect_bool=expect_bool)
        except ExprError as exc:
            where = where_of(source, self.workflow.file)
            line, column = where.at(exc.offset)
            self._add(Problem(where.file or self.workflow.file, line, column, exc.message))
            stand_in = Expr(" ".join(str(source).split()), _always_unknown, None)
            self._broken.add(id(stand_in))
            return stand_in

    def ok(self, expr: Expr) -> bool:
        """Whether ``expr`` compiled (it is not a stand-in)."""
        return id(expr) not in self._broken

    def error(self, text: str, message: str) -> None:
        """A mistake about the element whose text (an expression) is ``text``."""
        where = where_of(text, self.workflow.file)
        self._add(Problem(where.file or self.workflow.file, where.line, where.column, message))

    def _add(self, problem: Problem) -> None:
        if problem not in self.problems:  # an invariant is compiled once per transition
            self.problems.append(problem)

    def compile_all(self, unchecked_rows: Collection[tuple[str, str]]) -> tuple[
            dict[str, CompiledRuleSet], list[_TransitionExprs],
            dict[str, CompiledInvariant], dict[str, Expr], dict[str, Expr]]:
        wf = self.workflow
        rules = {rid: compiled for rid, rs in wf.rules.items()
                 if (compiled := self.rule_set(rs, unchecked_rows)) is not None}
        transitions = [self.transition(t) for t in wf.transitions]
        invariants = {inv.id: self.invariant(inv) for inv in wf.invariants}
        scope = Scope(wf.facts, rules=wf.rules)
        set_when = {f.id: self(f.set_when, scope, expect_bool=True)
                    for f in wf.facts.values() if f.set_when is not None}
        timer_conditions = {t.signal: self(t.while_, scope, expect_bool=True)
                            for t in wf.all_timers if t.while_ is not None}
        return rules, transitions, invariants, set_when, timer_conditions

    # -- transitions ------------------------------------------------------------------------
    def transition(self, t: Any) -> _TransitionExprs:
        wf = self.workflow
        scope = Scope(wf.facts, data=t.data, rules=wf.rules)
        guard = self(t.when, scope, expect_bool=True) if t.when else None
        assigns = tuple((role, self(src, scope)) for role, src in t.assigns.items())
        sets = []
        for fact, src in t.sets.items():
            if fact not in wf.facts:
                continue  # the loader reported the unknown fact
            expr = self(src, scope)
            if self.ok(expr):
                self.check_assignable(fact, src, expr)
                self.check_scope(t, fact, src)
                self.check_personal_copy(t, fact, src, expr)
            sets.append((fact, expr, wf.facts[fact].type))
        warnings = tuple((w.label, self(w.when, scope, expect_bool=True)) for w in t.warnings)
        return _TransitionExprs(guard, assigns, tuple(sets), warnings)

    def check_scope(self, t: Any, fact: str, text: str) -> None:
        """``sets:`` may write a fact only when the fact names the event in ``written_by``,
        or (when it names none) every role firing the event may set it."""
        declared = self.workflow.facts[fact]
        if declared.written_by:
            if t.event not in declared.written_by:
                self.error(text, f"'{t.event}' sets fact '{fact}', but only "
                                 f"{', '.join(declared.written_by)} may write it (written_by): "
                                 f"add '{t.event}' to its written_by, or leave '{fact}' out "
                                 "of sets:")
            return
        allowed = declared.set_by
        outside = [r for r in t.by if r not in allowed]
        if allowed and outside:
            self.error(text, f"'{t.event}' sets fact '{fact}', but '{fact}' may only be set by "
                             f"{', '.join(allowed)} (set_by) and '{t.event}' is also fired by "
                             f"{', '.join(outside)}: add {', '.join(outside)} to its set_by, "
                             f"limit the event's by: to {', '.join(allowed)}, or leave "
                             f"'{fact}' out of sets:")

    def check_personal_copy(self, t: Any, fact: str, text: str, expr: Expr) -> None:
        """``sets:`` may not copy personal data into a fact that is not marked personal: it
        would be stored unencrypted, shown in explanations and sent in anonymous dossiers."""
        wf = self.workflow
        if wf.facts[fact].personal_data:
            return
        sources = [f"fact '{f}'" for f in expr.facts_read
                   if f in wf.facts and wf.facts[f].personal_data]
        sources += [f"data '{d}'" for d in expr.data_read
                    if d in t.data and t.data[d].personal_data]
        sources += [f"rule set '{r}' (ranks personal data)" for r in expr.rules_read
                    if _ranks_personal_data(wf, r)]
        if sources:
            self.error(text, f"'{t.event}' sets fact '{fact}' from personal data "
                             f"({', '.join(sources)}), but '{fact}' is not marked "
                             "personal_data, so it would be stored unencrypted, shown in "
                             "explanations and sent in anonymous dossiers: mark it "
                             "`personal_data: true`, or set it from other values")

    def check_assignable(self, fact: str, text: str, expr: Expr) -> None:
        if expr.type is None:
            return
        target = self.workflow.facts[fact].type
        literal = _literal(expr.source)
        if literal is not _NOT_LITERAL:
            try:
                coerce(target, literal)
            except ValueProblem as exc:
                self.error(text, f"'{fact}' cannot be set to {literal!r}: {exc}")
            return
        got = expr.type
        ok = (got.name == target.name or {got.name, target.name} <= {"string", "enum"}
              or {got.name, target.name} <= {"integer", "number"})
        if got.name == "enum" and target.name == "enum":
            ok = set(got.values) <= set(target.values)
            if not ok:
                self.error(text, f"'{fact}' takes {target.describe()}, but this can give "
                           + ", ".join(sorted(set(got.values) - set(target.values))))
                return
        if not ok:
            self.error(text, f"'{fact}' is {target.describe()}, but this gives "
                             f"{got.describe()}")

    # -- rule sets --------------------------------------------------------------------------
    def rule_set(self, rs: RuleSet, unchecked_rows: Collection[tuple[str, str]]
                 ) -> CompiledRuleSet | None:
        base = Scope(self.workflow.facts)
        if rs.kind == "ranking":
            fact = self.workflow.facts.get(rs.candidates)
            if fact is None or fact.type.name != "list" or not fact.type.fields:
                return None  # the loader reported it
            compiled = compile_rule_set(rs, item_scope(rs, base), self)
            for c, (_, _, _, expr, is_when) in zip(rs.criteria, compiled.criteria,  # type: ignore[union-attr]
                                                   strict=True):
                if (not is_when and self.ok(expr) and expr.type is not None
                        and expr.type.name not in ("integer", "number")):
                    self.error(c.points or "", "'points:' must give a number")
            return compiled
        compiled = compile_rule_set(rs, base, self)
        if rs.kind == "table":
            assert isinstance(compiled, CompiledTable)
            self.check_table(compiled, unchecked_rows)
        return compiled

    def check_table(self, table: CompiledTable, unchecked_rows: Collection[tuple[str, str]]
                    ) -> None:
        rs = table.model
        ok = True
        for inp, expr in zip(rs.inputs, table.inputs, strict=True):
            if not self.ok(expr):
                ok = False
                continue
            if expr.type is not None:
                want, got = inp.type.name, expr.type.name
                if not (want == got or {want, got} <= {"enum", "string"}
                        or {want, got} <= {"integer", "number"}):
                    self._add(Problem(inp.where.file or self.workflow.file, inp.where.line,
                                      inp.where.column,
                                      f"input '{inp.id}' is {inp.type.describe()}, but "
                                      f"'{inp.expr}' gives {expr.type.describe()}"))
        if not ok or rs.hit_policy != "unique":
            return
        rows = {r.id: r for r in rs.rows}
        unchecked = set(unchecked_rows)
        check = table.check_overlaps()
        for overlap in check.overlaps:
            if {(rs.id, overlap.first), (rs.id, overlap.second)} & unchecked:
                continue
            witness = ", ".join(f"{k} = {show(v)}" for k, v in overlap.witness.items())
            where = rows[overlap.second].where
            self._add(Problem(where.file or self.workflow.file, where.line, where.column,
                              f"rows '{overlap.first}' and '{overlap.second}' of unique table "
                              f"'{rs.id}' overlap: both match {witness}; make them exclusive "
                              "or use hit_policy: first"))
        where = rs.rows[0].where if rs.rows else NOWHERE
        if check.total > len(check.overlaps):
            more = check.total - len(check.overlaps)
            self._add(Problem(where.file or self.workflow.file, where.line, where.column,
                              f"unique table '{rs.id}': {more:,}{'' if check.complete else '+'} "
                              f"more pairs of rows overlap beyond the {len(check.overlaps)} "
                              "shown; make the rows exclusive or use hit_policy: first"))
        elif not check.complete:
            self._add(Problem(where.file or self.workflow.file, where.line, where.column,
                              f"unique table '{rs.id}' is too large to prove its "
                              f"{len(rs.rows):,} rows exclusive (the check stopped at its bound); "
                              "split the table or use hit_policy: first"))

    # -- invariants -------------------------------------------------------------------------
    def invariant(self, inv: Invariant) -> CompiledInvariant:
        """``implies`` on each transition entering its states, ``never`` on each transition
        of its event: each with that transition's data (``history.last.data.x``)."""
        wf = self.workflow
        exprs: dict[int, Expr] = {}
        if inv.kind == "implies":
            states = set(inv.states)
            for n, t in enumerate(wf.transitions):
                if any(target in states for target in wf.targets(t)):
                    exprs[n] = self(inv.condition, _invariant_scope(wf, t.data),
                                    expect_bool=True)
        elif inv.kind == "never":
            for n, t in enumerate(wf.transitions):
                if t.event == inv.event:
                    exprs[n] = self(inv.forbidden_when, _invariant_scope(wf, t.data),
                                    expect_bool=True)
        return CompiledInvariant(inv, MappingProxyType(exprs))


def _invariant_scope(workflow: Workflow, data: Mapping[str, DataField]) -> Scope:
    return Scope(workflow.facts, data=data, rules=workflow.rules, last_step=True)


def _always_unknown(env: Env) -> Any:
    return UNKNOWN


_NOT_LITERAL = object()

#: `Program.task_plan`: the tasks that lapse, those that open, those that open unless open
TaskPlan = tuple[frozenset[str], tuple[TaskDefinition, ...], tuple[TaskDefinition, ...]]


def _ranks_personal_data(wf: Workflow, rule_set: str) -> bool:
    """A ranking over a fact marked personal: its outcome (candidate ids) is personal data."""
    rs = wf.rules.get(rule_set)
    if rs is None or rs.kind != "ranking":
        return False
    candidates = wf.facts.get(rs.candidates)
    return candidates is not None and candidates.personal_data


def _literal(source: str) -> Any:
    """The value of a literal expression (``'middel'``, ``5``, ``true``), else a marker."""
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        return _NOT_LITERAL
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in ("true", "false"):
        return node.id == "true"
    return _NOT_LITERAL


@record
class CompiledInvariant(Frozen):
    """An invariant's condition compiled on each transition it concerns, by the
    transition's index in the workflow (``implies``: those entering its states; ``never``:
    those of its event). Empty for ``requires_case_role`` and ``always_reachable``."""

    model: Invariant
    on: Mapping[int, Expr]


class DataCheck:
    """Checks an event's data against its declared fields; compiled once per transition."""

    __slots__ = ("fields", "names", "required")

    def __init__(self, fields: Mapping[str, DataField]) -> None:
        # per field: the class (and an enum's values) of a value that needs no `coerce` (text,
        # true/false, an enum's value); None where every value needs it
        self.fields = tuple((f.id, f.required, f.type, f.personal_data, *exact_form(f.type))
                            for f in fields.values())
        self.names = frozenset(fields)
        self.required = tuple(f.id for f in fields.values() if f.required)

    def __call__(self, data: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[Reason]]:
        """The data as a step keeps it, and every problem with it (a reason of code
        ``invalid_data`` each)."""
        if not data and not self.required:
            return _NO_DATA, _NO_PROBLEMS  # type: ignore[return-value]
        problems: list[Reason] = []
        if data is None:
            data = _NO_DATA
        elif not isinstance(data, Mapping):
            return {}, [Reason("invalid_data", "reason.data_not_mapping",
                               kind=type(data).__name__)]
        result: dict[str, Any] = {}
        for name, required, ftype, personal, plain, allowed in self.fields:
            value = data.get(name)
            if value is None or (value.__class__ is str and not value.strip()):
                if required:
                    problems.append(Reason("invalid_data", "reason.data_missing", field=name,
                                           expected=ftype.phrase()))
                continue
            if value.__class__ is plain and (allowed is None or value in allowed):
                result[name] = value
                continue
            try:
                result[name] = coerce(ftype, value)
            except ValueProblem as exc:
                problems.append(Reason("invalid_data", "reason.data_invalid", field=name,
                                       detail=problem_text(exc, ftype, personal)))
        extra = [k for k in data if k not in self.names] if len(data) > len(result) else ()
        if extra:
            problems.append(Reason(
                "invalid_data", "reason.data_unknown_fields",
                fields=", ".join(sorted(map(str, extra))),
                expected=", ".join(sorted(self.names)) or phrase("data.none")))
        return result, problems


@record
class CompiledTimer(Frozen):
    """A timer with the states it runs in and its compiled ``while:`` condition."""

    model: Timer
    states: frozenset[str]
    condition: Expr | None
    #: a relative timer's shortest possible duration (its signal is never due sooner after
    #: its start); None for an anchored timer, which has no start to count from
    shortest: timedelta | None = None

    @property
    def signal(self) -> str:
        """The signal it raises."""
        return self.model.signal


class StatePlan:
    """What a step in one state finds fixed: whether it is final, and whether a timer signal
    can be due there yet (`Program.quiet`: ``bounded`` false where a step always looks)."""

    __slots__ = ("anchors", "bounded", "final", "quiet_timers", "state")

    def __init__(self, state: str, final: bool,
                 quiet: tuple[tuple[tuple[str, timedelta], ...], tuple[str, ...]] | None
                 ) -> None:
        self.state = state
        self.final = final
        self.bounded = quiet is not None
        self.quiet_timers, self.anchors = quiet if quiet is not None else ((), ())


class CompiledTransition:
    """One ``(state, event)`` cell of the table."""

    __slots__ = (
        "agreement",
        "agreement_by",
        "anchors",
        "apart",
        "assigned",
        "assigns",
        "bounded",
        "by",
        "case_roles",
        "data_check",
        "data_fields",
        "data_names",
        "data_plan",
        "data_required",
        "enum_choices",
        "event",
        "from_state",
        "guard",
        "index",
        "model",
        "needs_env",
        "not_the_assigner",
        "opens_tasks",
        "org_roles",
        "quick",
        "quiet_timers",
        "reads_rules",
        "resets",
        "returns",
        "roles_by",
        "sends_dossier",
        "sets",
        "target",
        "task_plan",
        "timer_plan",
        "warnings",
    )

    def __init__(self, index: int, from_state: str, workflow: Workflow,
                 compiled: _TransitionExprs) -> None:
        t = workflow.transitions[index]
        self.index = index
        self.model = t
        self.event = t.event
        self.from_state = from_state
        self.target = t.target
        self.by = t.by
        case_role_ids = {r.id for r in workflow.roles.values() if r.case_role}
        self.org_roles = frozenset(r for r in t.by if r not in case_role_ids)
        self.case_roles = tuple(r for r in t.by if r in case_role_ids)
        self.data_check = DataCheck(t.data)
        self.data_fields = bool(t.data)
        #: the data check's fields, names, and whether one is required (`step.quick_fire`)
        self.data_plan = self.data_check.fields
        self.data_names = self.data_check.names
        self.data_required = bool(self.data_check.required)
        #: each role that may fire it, and whether it is a case role (held by assignment)
        self.roles_by = tuple((r, r in case_role_ids) for r in t.by)
        self.guard: Expr | None = compiled.guard
        self.assigns = compiled.assigns
        self.assigned = frozenset(name for name, _ in self.assigns)
        #: ``different_people`` as it concerns this step: the pairs of roles of a group that
        #: one actor may not hold both when one of them is assigned now, and the roles it
        #: assigns that the assigner may not hold
        self.apart = tuple((first, second) for group in workflow.different_people
                           for i, first in enumerate(group.roles)
                           for second in group.roles[i + 1:]
                           if first in self.assigned or second in self.assigned)
        self.not_the_assigner = tuple(dict.fromkeys(
            name for group in workflow.different_people if group.and_the_assigner
            for name in group.roles if name in self.assigned))
        self.sets = compiled.sets
        self.warnings = compiled.warnings
        exprs = [e for e in (self.guard,) if e is not None]
        exprs += [e for _, e in self.assigns] + [e for _, e, _ in self.sets]
        exprs += [e for _, e in self.warnings]
        #: whether a step evaluates any expression, and whether one of them reads a rule set
        self.needs_env = bool(exprs)
        self.reads_rules = any(e.rules_read for e in exprs)
        self.agreement = t.agreement
        self.agreement_by = tuple((r, r in case_role_ids) for r in t.agreement)
        self.returns = t.returns
        self.sends_dossier = t.sends == "anonymous_dossier"
        #: set by `Program` (from the workflow's timers and tasks)
        self.bounded = False
        self.anchors: tuple[str, ...] = ()
        self.quiet_timers: tuple[tuple[str, timedelta], ...] = ()
        self.timer_plan: tuple[tuple[str, bool], ...] = ()
        self.task_plan: TaskPlan = (frozenset(), (), ())
        self.opens_tasks = False
        #: `zorgflow.engine.step.quick_fire` written out for this transition, once used
        self.quick: Any = None
        self.resets = tuple(tm.signal for tm in workflow.all_timers
                            if t.event in tm.reset_by and t.target in tm.states)
        # data values to try when asking whether the event is allowed without its data
        choices: list[tuple[str, tuple[Any, ...]]] = []
        if self.guard is not None:
            for name in self.guard.data_read:
                ftype = t.data[name].type
                if ftype.name == "enum":
                    choices.append((name, ftype.values))
                elif ftype.name == "boolean":
                    choices.append((name, (True, False)))
        self.enum_choices = tuple(choices)

    def role_for(self, actor_id: str, actor_roles: frozenset[str],
                 case_roles: FlatMap | Mapping[str, str]) -> str | None:
        """The role under which this actor may fire the event, or None (``case_roles``: the
        case's, as a flat map; a mapping is turned into one)."""
        if not isinstance(case_roles, tuple):
            case_roles = flatmap.of(case_roles)
        for role in self.by:
            if role in self.org_roles:
                if role in actor_roles:
                    return role
            elif actor_id in case_roles and flatmap.get(case_roles, role) == actor_id:
                return role
        return None

    def guard_could_pass(self, env_for: Callable[[Mapping[str, Any]], Env]) -> bool:
        """Whether some data would make the guard true (for `Engine.allowed`)."""
        guard = self.guard
        if guard is None:
            return True
        if not self.enum_choices:
            return guard.fn(env_for(_NO_DATA)) is True
        names = [name for name, _ in self.enum_choices]
        for combo in itertools.islice(itertools.product(*(v for _, v in self.enum_choices)),
                                      256):
            if guard.fn(env_for(dict(zip(names, combo, strict=True)))) is True:
                return True
        return False


class Program:
    """Everything the engine, `verify`, testing and the example runner need about one
    workflow version, built once by `compile_workflow`. Shared and never changed (an engine
    with another rules back end works on a copy: `with_rules`)."""

    def __init__(self, workflow: Workflow, rules: dict[str, CompiledRuleSet],
                 transitions: list[_TransitionExprs],
                 invariants: dict[str, CompiledInvariant],
                 set_when: dict[str, Expr] | None = None,
                 timer_conditions: dict[str, Expr] | None = None) -> None:
        self.model = workflow
        #: the condition under which each fact that has one may be set by hand
        self.set_when = set_when or {}
        conditions = timer_conditions or {}
        #: every timer, with the states it runs in and its ``while:`` condition
        self.timers = tuple(CompiledTimer(t, frozenset(t.states), conditions.get(t.signal),
                                          _shortest(t, workflow))
                            for t in workflow.all_timers)
        self.timers_in: dict[str, tuple[CompiledTimer, ...]] = {
            s: tuple(t for t in self.timers if s in t.states) for s in workflow.states}
        #: per state, what tells a step that no timer signal can be due yet, without working
        #: out when they fall due: (signal, shortest duration) of each relative timer (due no
        #: sooner after its start), and the date fact of each anchored one (never due while
        #: the fact is unknown). A state where a relative timer has no shortest duration (it
        #: may be negative) is left out: there a step always looks.
        self.quiet: dict[str, tuple[tuple[tuple[str, timedelta], ...], tuple[str, ...]]] = {}
        for s in workflow.states:
            running = self.timers_in[s]
            relative = tuple((t.signal, t.shortest) for t in running if t.shortest is not None)
            anchors = tuple(t.model.anchor for t in running if t.model.anchor is not None)
            if len(relative) + len(anchors) == len(running):
                self.quiet[s] = (relative, anchors)
        self.final_states = frozenset(s for s, state in workflow.states.items() if state.final)
        #: per state: what a step there finds fixed
        self.state_plans = {s: StatePlan(s, state.final, self.quiet.get(s))
                            for s, state in workflow.states.items()}
        #: states a returning transition leaves: entering one records where the case came from
        self.returning_states = frozenset(s for t in workflow.transitions if t.returns
                                          for s in t.from_states)
        self.tasks = workflow.tasks
        self.tasks_in = {s: tuple(t for t in workflow.tasks.values() if s in t.opened_in)
                         for s in workflow.states}
        self.tasks_by = {e: tuple(t for t in workflow.tasks.values() if e in t.opened_by)
                         for e in workflow.events}
        self.rules = rules
        self.invariants = invariants
        self.table: dict[tuple[str, str], CompiledTransition] = {}
        self.by_state: dict[str, list[CompiledTransition]] = {s: [] for s in workflow.states}
        for n, t in enumerate(workflow.transitions):
            exprs = transitions[n]
            for source in t.from_states:
                ct = CompiledTransition(n, source, workflow, exprs)
                self._plan(ct)
                self.table[(source, t.event)] = ct
                self.by_state[source].append(ct)
        self.events = frozenset(workflow.events)
        self.fact_types = {f.id: f.type for f in workflow.facts.values()}
        self.fact_readers = {name: reader(t) for name, t in self.fact_types.items()}
        forms = {name: exact_form(t) for name, t in self.fact_types.items()}
        self.fact_classes = {name: cls for name, (cls, _) in forms.items() if cls is not None}
        self.fact_enums = {name: values for name, (_, values) in forms.items()
                           if values is not None}
        # a fact a timer takes its interval from is bounded, so the timer can be worked out
        for name, (limit, unit) in interval_limits(workflow.all_timers).items():
            if name in self.fact_readers:
                self.fact_readers[name] = interval_reader(self.fact_readers[name], limit, unit)
                self.fact_classes.pop(name, None)
        #: per fact a value of which may be held as it comes: its class, and an enum's values
        self.fact_forms = {name: (cls, self.fact_enums.get(name))
                           for name, cls in self.fact_classes.items()}
        #: facts a value of which needs no check when it is of this class (no enum)
        self.fact_plain = {name: cls for name, cls in self.fact_classes.items()
                           if name not in self.fact_enums}
        #: per fact that may be set by hand as it comes (no ``set_by: []``, no ``when:``): the
        #: states it may be set in (empty: any), each role that may set it with whether it is
        #: a case role (empty: anyone), and the class of a value held as it comes (or None)
        case_roles = {r.id for r in workflow.roles.values() if r.case_role}
        self.setters: dict[str, tuple[tuple[str, ...], tuple[tuple[str, bool], ...],
                                      type | None]] = {
            f.id: (f.set_in, tuple((r, r in case_roles) for r in f.set_by),
                   self.fact_plain.get(f.id))
            for f in workflow.facts.values()
            if not f.events_only and f.id not in self.set_when}
        self.boolean_facts = frozenset(f for f, t in self.fact_types.items()
                                       if t.name == "boolean")
        self.personal = frozenset(f.id for f in workflow.facts.values() if f.personal_data)
        #: the allow-list of an anonymous dossier
        self.dossier = frozenset(f.id for f in workflow.facts.values() if f.dossier)
        self.different_people = workflow.different_people
        self.roles = frozenset(workflow.roles)
        self.case_role_ids = frozenset(r.id for r in workflow.roles.values() if r.case_role)
        #: the roles an actor holds by his own roles (not by assignment in a case)
        self.org_role_ids = self.roles - self.case_role_ids
        self.start_roles = frozenset(workflow.start_by)
        self.initial = workflow.initial.id

    def _plan(self, ct: CompiledTransition) -> None:
        """What a step by ``ct`` finds fixed: whether a signal can be due in its state (see
        `quiet`), and what a step to its target does to the timers and tasks."""
        quiet = self.quiet.get(ct.from_state)
        ct.bounded = quiet is not None
        if quiet is not None:
            ct.quiet_timers, ct.anchors = quiet
        if ct.target and ct.target != ct.from_state:
            ct.timer_plan = self.timer_plan(ct.from_state, ct.target, ct.event)
            ct.task_plan = self.task_plan(ct.from_state, ct.target, ct.event)
        ct.opens_tasks = bool(self.tasks and self.tasks_by.get(ct.event))

    def timer_plan(self, state: str | None, target: str, event: str
                   ) -> tuple[tuple[str, bool], ...]:
        """What a step from ``state`` (None: the case opens) to ``target`` by ``event`` does
        to the timers (`zorgflow.engine.work.timers_after`): each relative timer of
        ``target``, and whether it keeps the start it has."""
        return tuple((timer.signal, state is not None and state in timer.states
                      and event not in timer.model.reset_by)
                     for timer in self.timers_in[target] if timer.model.anchor is None)

    def task_plan(self, state: str | None, target: str, event: str) -> TaskPlan:
        """What such a step does to the tasks (`zorgflow.engine.work.tasks_after`): the
        tasks that lapse, those that open, and those that open unless open already."""
        by_event = self.tasks_by.get(event, ())
        if state == target:
            return frozenset(), (), by_event
        lapse = frozenset(tid for tid, spec in self.tasks.items()
                          if spec.opened_in and target not in spec.opened_in)
        opens = tuple(spec for spec in self.tasks_in[target]
                      if state is None or state not in spec.opened_in)
        return lapse, opens, by_event

    def typed_fact(self, name: str, value: Any) -> Any:
        """``value`` as fact ``name`` holds it (dates parsed, lists as tuples): the one path
        by which set, given and restored facts are typed. Raises `ValueProblem`, whose message
        shows no personal value, and `KeyError` for a fact the workflow does not declare. A
        fact that a timer takes its interval from must also lie within about 100 years either
        way (`zorgflow.model.calendar.TIMER_LIMIT`), so that the timer can be worked out."""
        read = self.fact_readers[name]
        try:
            return read(value)
        except ValueProblem as exc:
            raise ValueProblem(problem_text(exc, self.fact_types[name],
                                            name in self.personal)) from None

    def with_rules(self, rules: Mapping[str, CompiledRuleSet]) -> Program:
        """A copy whose rule sets are ``rules`` (another back end's evaluators)."""
        other = copy.copy(self)
        other.rules = dict(rules)
        return other

    def decider(self, facts: Mapping[str, Any], env_at: Any) -> Decider:
        """A per-call cache of rule-set decisions on the same facts."""
        return Decider(self.rules, facts, env_at)


class Decider:
    """`Program.decider`: each rule set decided once on the same facts, when first asked
    (many steps make one and never ask). ``env`` is what the rule sets are evaluated in:
    made when first needed, or given by the step (rule sets read no event data, so the
    step's own environment will do)."""

    # (`zorgflow.engine.step.quick_fire` makes one without a call, setting each slot right
    # after: a slot added here is set there too, as a test checks)
    __slots__ = ("_at", "_cache", "_facts", "_rules", "env")

    def __init__(self, rules: Mapping[str, CompiledRuleSet], facts: Mapping[str, Any],
                 at: Any, env: Env | None = None) -> None:
        self._rules = rules
        self._facts = facts
        self._at = at
        self._cache: dict[str, Decision] | None = None
        self.env = env

    def _env(self) -> Env:
        env = self.env
        if env is None:
            env = self.env = Env(self._facts, self._at)
        return env

    def __call__(self, rule_set: str) -> Decision:
        cache = self._cache
        if cache is None:
            cache = self._cache = {}
        decision = cache.get(rule_set)
        if decision is None:
            decision = cache[rule_set] = self._rules[rule_set].evaluate(self._env())
        return decision

    def criterion(self, rule_set: str, value: Any) -> Any:
        """``value in rules.<rule_set>.matched``: true, false or unknown (when ``value``
        names a criterion that is undecided). Of a native criteria rule set not decided yet
        only that criterion is worked out (its test is the one `evaluate` asks); of any other
        the whole decision."""
        rules = self._rules[rule_set]
        cache = self._cache
        if rules.__class__ is CompiledCriteria and (cache is None or rule_set not in cache):
            try:
                test = rules.test_of.get(value)
            except TypeError:  # unhashable: equal to no criterion id
                return False
            if test is None:
                return False
            env = self.env  # (given by the step: read without a call)
            held = test(env if env is not None else self._env())
            return True if held is True else False if held is False else UNKNOWN
        decision = self(rule_set)
        if value in decision.matched:
            return True
        return UNKNOWN if value in decision.undecided else False


ONE_CRITERION.add(Decider)


def explain_guard(guard: Expr, env: Env) -> list[str]:
    """Readable lines for a guard: its value, the facts it read, and any rule sets it used."""
    value = guard.fn(env)
    used = guard.values_used(env)
    lines = [f"{truth_word(value)}: {guard.source}" + (f"  ({used})" if used else "")]
    if env.decide is not None:
        for rid in guard.rules_read:
            decision = env.decide(rid)
            lines.append(f"  rule set {rid}: {truth_word(decision.holds)}"
                         + (f" ({', '.join(decision.shown_matched)})" if decision.matched
                            else ""))
            lines.extend("    " + line for line in decision.explanation)
    return lines



#: a lower bound of each unit in days (the shortest month has 28 days, a year 365)
_UNIT_DAYS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 28, "months": 28,
              "year": 365, "years": 365}


def _shortest(timer: Timer, workflow: Workflow) -> timedelta | None:
    """The shortest a relative timer can run: the least of its durations, a fact's by the
    fact's declared minimum. None when there is no such bound: an anchored timer, or a
    duration that may be negative (a fact without a minimum of 0 or more)."""
    if timer.anchor is not None or not timer.after:
        return None
    least: list[int] = []
    for duration in timer.after:
        if duration.fact is None:
            amount = duration.amount
        else:
            fact = workflow.facts.get(duration.fact)
            minimum = fact.type.minimum if fact is not None else None
            amount = None if minimum is None else math.ceil(minimum)
        if amount is None or amount < 0 or str(duration.unit) not in _UNIT_DAYS:
            return None
        least.append(amount * _UNIT_DAYS[str(duration.unit)])
    # an hour less: a day across the change to summer time has 23 of them
    return max(timedelta(days=min(least)) - timedelta(hours=1), timedelta(0))
