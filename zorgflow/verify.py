"""Exhaustive verification of a workflow over its abstract state space.

The abstract state is the process state plus the case roles assigned so far (and the pending
agreements, open tasks and the state an escalation returns to). Facts are free — any actor with
a role may set them at any time — except the facts only events write (``set_by: []`` with
``written_by``): the abstract state says of each whether it is unknown (not written yet),
known, or perhaps known (written from data that may be missing). An event can fire from a
state when *some* facts and data make its guard true. That question is answered by a witness
search over the facts and data a guard reads, each one unknown or one of a few representative
values. Kleene
logic is monotone in knowledge (an expression that is false with some facts unknown stays
false whatever they turn out to be), so a branch is cut as soon as it evaluates to false.

Findings: unreachable states, dead ends, events that can never fire, gaps in ``unique``
tables, and invariant violations — each with the shortest event sequence that shows it.
(A ``sets:`` that copies personal data into a fact not marked ``personal_data`` is a load
error: see `zorgflow.program`.)
"""

from __future__ import annotations

import ast
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, TextIO

from .model import FactType, Invariant, Workflow
from .model.calendar import AMSTERDAM, add_months
from .model.provenance import elements
from .program import CompiledTransition, Program, program_of
from .rules.expr import Env, Expr, show
from .rules.logic import UNKNOWN, k_and, k_not
from .rules.rulesets import CompiledTable

#: Evaluations one witness search may spend before it is cut off.
SEARCH_BUDGET = 200_000
#: Abstract states explored before the search of the state space is cut off: the memory
#: bound (about 1 KB each, so some 100 MB).
MAX_STATES = 100_000
#: Seconds the verification of one workflow may take before it is cut off.
TIME_LIMIT = 120.0
#: The moment the verifier evaluates time-dependent conditions at.
VERIFY_AT = datetime(2026, 6, 15, 12, 0, tzinfo=AMSTERDAM)

#: An abstract state: the state, the case roles assigned, the pending agreements (event,
#: role), the open tasks, the state an escalation returns to ("" when none), and the facts
#: only events write that are written (fact, True when surely known; False: perhaps).
Node = tuple[str, frozenset[str], frozenset[tuple[str, str]], frozenset[str], str,
             frozenset[tuple[str, bool]]]
#: What a witness search may assume about the facts only events write: fact → True (known),
#: False (perhaps known); a fact left out is unknown.
Written = Mapping[str, bool]
_NOTHING: frozenset[Any] = frozenset()


@dataclass(frozen=True, slots=True)
class Finding:
    """Something verification found. ``severity`` is ``error`` or ``warning``."""

    workflow: str
    kind: str
    message: str
    path: tuple[str, ...] = ()
    witness: Mapping[str, Any] = field(default_factory=dict)
    severity: str = "error"
    #: for a warning the workflow acknowledges (``acknowledged_warnings:``): why it is accepted
    acknowledged: str = ""

    def __str__(self) -> str:
        text = f"{self.severity.upper()} {self.workflow}: {self.kind}: {self.message}"
        if self.acknowledged:
            text += f"\n    acknowledged: {self.acknowledged}"
        if self.path:
            text += "\n    shortest path: start → " + " → ".join(self.path)
        if self.witness:
            text += "\n    with " + ", ".join(f"{k} = {show(v)}" for k, v in
                                               self.witness.items())
        return text


@dataclass(slots=True)
class Report:
    """The result of verifying one workflow."""

    workflow: str
    findings: list[Finding] = field(default_factory=list)
    nodes: int = 0
    cut_off: bool = False
    """True when a bound cut some search short: then the findings are real, but incomplete."""
    stopped: str = ""
    """Why the search of the state space stopped early ("" when it was exhaustive)."""

    @property
    def errors(self) -> list[Finding]:
        """Findings that make verification fail."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def unacknowledged_warnings(self) -> list[Finding]:
        """Warnings the workflow does not acknowledge: these fail ``--strict``."""
        return [f for f in self.findings if f.severity == "warning" and not f.acknowledged]


class WitnessSearch:
    """Finds facts and data that make a predicate true, or says there are none."""

    def __init__(self, cw: Program, budget: int) -> None:
        self.cw = cw
        self.budget = budget
        self.cut_off = False
        self.spent = 0
        self.monotone_rules = {
            rid: _rule_monotone(rs) for rid, rs in cw.rules.items()
        }
        #: the facts only events write (``set_by: []``): not free, see `Written`
        self.event_facts = frozenset(n for n, f in cw.model.facts.items() if f.events_only)

    def variables(self, exprs: Iterable[Expr], data_types: Mapping[str, tuple[FactType, bool]],
                  written: Written | None = None) -> list[tuple[str, str, list[Any]]]:
        """(kind, name, values) for each fact and data field the expressions read; with
        ``written``, the facts only events write take only the values it allows."""
        constants: list[Any] = []
        facts: dict[str, None] = {}
        data: dict[str, None] = {}
        for expr in exprs:
            constants += _constants(expr.source)
            facts.update(dict.fromkeys(expr.facts_read))
            data.update(dict.fromkeys(expr.data_read))
            for rid in expr.rules_read:
                rs = self.cw.rules[rid]
                for sub in _rule_exprs(rs):
                    constants += _constants(sub.source)
                    facts.update(dict.fromkeys(sub.facts_read))
        # data first: few variables with small domains, and guards often hinge on them
        result: list[tuple[str, str, list[Any]]] = []
        for name in data:
            ftype, required = data_types[name]
            values = _domain(ftype, constants)
            result.append(("data", name, values if not required else values[1:]))
        for name in facts:
            values = _domain(self.cw.fact_types[name], constants)
            if written is not None and name in self.event_facts:
                if name not in written:
                    values = [UNKNOWN]
                elif written[name]:
                    values = values[1:]
            result.append(("fact", name, values))
        return result

    def facts_read(self, exprs: Iterable[Expr]) -> set[str]:
        """The facts the expressions read, also through the rule sets they use."""
        names: set[str] = set()
        for expr in exprs:
            names.update(expr.facts_read)
            for rid in expr.rules_read:
                for sub in _rule_exprs(self.cw.rules[rid]):
                    names.update(sub.facts_read)
        return names

    def monotone(self, exprs: Iterable[Expr]) -> bool:
        """Whether false-with-unknowns stays false (so a branch may be cut)."""
        return all(_expr_monotone(e) and all(self.monotone_rules[r] for r in e.rules_read)
                   for e in exprs)

    def find(self, exprs: list[Expr], predicate: Callable[[Env], Any], *,
             data_types: Mapping[str, tuple[FactType, bool]],
             written: Written | None = None) -> dict[str, Any] | None:
        """Facts and data that make ``predicate`` (a Kleene combination of ``exprs``) true, or
        None when there are none (or the search was cut off: see ``cut_off``). ``written``
        (see `Written`) limits the facts only events write; without it they are free."""
        variables = self.variables(exprs, data_types, written)
        if self.monotone(exprs):
            return self._find_monotone(variables, predicate)
        return self._find_exhaustive(variables, predicate)

    def _env(self, facts: dict[str, Any], data: dict[str, Any]) -> Env:
        return Env(facts, VERIFY_AT, data, self.cw.decider(facts, VERIFY_AT))

    def _spend(self) -> bool:
        self.spent += 1
        if self.spent > self.budget:
            self.cut_off = True
        return self.cut_off

    def _find_monotone(self, variables: list[tuple[str, str, list[Any]]],
                       predicate: Callable[[Env], Any]) -> dict[str, Any] | None:
        # Kleene logic is monotone in knowledge: a witness with some variable unknown stays a
        # witness when it becomes known, and false stays false. So branch only on variables
        # the evaluation read while unknown, over known values only, and cut at false.
        domains = {(k, n): known for k, n, values in variables
                   if (known := [v for v in values if v is not UNKNOWN])}
        # a fact that must be known (written by an event from required data) is given a
        # value from the start: monotonicity makes any value as good as another here
        required = [(n, values[0]) for k, n, values in variables
                    if k == "fact" and values and UNKNOWN not in values]
        facts: _Reads = _Reads()
        data: _Reads = _Reads()
        facts.update(required)

        def walk() -> dict[str, Any] | None:
            if self._spend():
                return None
            facts.missing.clear()
            data.missing.clear()
            value = predicate(self._env(facts, data))
            if value is True:
                return self._minimise(facts, data, predicate)
            if value is False:
                return None
            read = [("data", n) for n in data.missing] + [("fact", n) for n in facts.missing]
            branch = next((v for v in read if v in domains), None)
            if branch is None:
                return None
            kind, name = branch
            target = facts if kind == "fact" else data
            for candidate in domains[branch]:
                target[name] = candidate
                found = walk()
                if found is not None:
                    return found
            del target[name]
            return None

        self.spent = 0
        return walk()

    def _minimise(self, facts: dict[str, Any], data: dict[str, Any],
                  predicate: Callable[[Env], Any]) -> dict[str, Any]:
        """Drop every fact the witness does not need (the predicate stays true)."""
        facts, data = dict(facts), dict(data)
        for name in list(facts):
            value = facts.pop(name)
            if predicate(self._env(facts, data)) is not True:
                facts[name] = value
        return _witness(facts, data)

    def _find_exhaustive(self, variables: list[tuple[str, str, list[Any]]],
                         predicate: Callable[[Env], Any]) -> dict[str, Any] | None:
        facts: dict[str, Any] = {}
        data: dict[str, Any] = {}

        def walk(i: int) -> dict[str, Any] | None:
            if i == len(variables):
                if self._spend():
                    return None
                if predicate(self._env(facts, data)) is True:
                    return _witness(facts, data)
                return None
            kind, name, values = variables[i]
            target = facts if kind == "fact" else data
            for value in values:
                if value is UNKNOWN:
                    target.pop(name, None)
                else:
                    target[name] = value
                found = walk(i + 1)
                if found is not None or self.cut_off:
                    target.pop(name, None)
                    return found
            target.pop(name, None)
            return None

        self.spent = 0
        return walk(0)


class _Reads(dict[str, Any]):
    """A dict that remembers which absent keys were asked for (in order)."""

    def __init__(self) -> None:
        super().__init__()
        self.missing: dict[str, None] = {}

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self.missing[key] = None
        return super().get(key, default)


def _witness(facts: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    return {**{f"data.{k}": v for k, v in data.items()}, **facts}


def _constants(source: str) -> list[Any]:
    try:
        tree = ast.parse(" ".join(source.split()), mode="eval")
    except SyntaxError:
        return []
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]


def _domain(ftype: FactType, constants: list[Any]) -> list[Any]:
    """Unknown first, then representative values of the type."""
    kind = ftype.name
    if kind == "boolean":
        return [UNKNOWN, True, False]
    if kind == "enum":
        return [UNKNOWN, *ftype.values]
    if kind in ("integer", "number"):
        numbers = {c for c in constants if isinstance(c, int | float) and not isinstance(c, bool)}
        points = sorted({p for c in numbers for p in (c - 1, c, c + 1)} | {0, 1})
        return [UNKNOWN, *points]
    if kind == "date":
        # around the day and month counts the conditions mention (days_since(x) >= 14,
        # months_since(x) >= 3), one day either side
        today = VERIFY_AT.date()
        counts = {c for c in constants if isinstance(c, int) and not isinstance(c, bool)
                  and 0 <= c <= 400}
        days: set[date] = {today, today - timedelta(days=1), today - timedelta(days=366)}
        for c in counts:
            for anchor in (today - timedelta(days=c), add_months(today, -c) if c <= 60 else None):
                if anchor is not None:
                    days.update((anchor - timedelta(days=1), anchor, anchor + timedelta(days=1)))
        return [UNKNOWN, *sorted(days, reverse=True)]
    if kind == "string":
        texts = [c for c in constants if isinstance(c, str)]
        return [UNKNOWN, *dict.fromkeys(texts), "iemand"]
    return [UNKNOWN]


def _rule_exprs(rs: Any) -> list[Expr]:
    if rs.kind == "criteria":
        return [e for _, _, exprs in rs.clauses for e in exprs]
    if rs.kind == "table":
        return list(rs.inputs)
    return [c[3] for c in rs.criteria]


def _rule_monotone(rs: Any) -> bool:
    if rs.kind != "criteria":
        return False  # closed-world tables and rankings are not monotone in knowledge
    return all(_expr_monotone(e) for e in _rule_exprs(rs))


def _expr_monotone(expr: Expr) -> bool:
    return "known(" not in expr.source


class Verifier:
    """Explores one workflow. Use `verify` for the whole job."""

    def __init__(self, workflow: Workflow, budget: int = SEARCH_BUDGET, *,
                 max_states: int = MAX_STATES, time_limit: float | None = TIME_LIMIT,
                 progress: Callable[[int], None] | None = None) -> None:
        if max_states < 1:
            raise ValueError(f"max_states must be at least 1, not {max_states}")
        if time_limit is not None and not time_limit > 0:
            raise ValueError(f"time_limit must be a positive number of seconds, not {time_limit}")
        self.wf = workflow
        self.cw = program_of(workflow)
        self.search = WitnessSearch(self.cw, budget)
        self.report = Report(workflow.id)
        self.max_states = max_states
        self.time_limit = time_limit
        self.deadline = (time.monotonic() + time_limit) if time_limit is not None \
            else float("inf")
        self.progress = progress
        self._fires: dict[tuple[Any, ...], dict[str, Any] | None] = {}
        self._witnesses: dict[tuple[Any, ...], dict[str, Any] | None] = {}
        #: per transition, the facts only events write that its ``sets:`` writes, each True
        #: when surely known after it (a literal, or data the event requires)
        self.writes: dict[tuple[str, str], dict[str, bool]] = {
            (ct.from_state, ct.event): {
                name: _surely_known(expr, ct) for name, expr, _ in ct.sets
                if name in self.search.event_facts}
            for ct in self.cw.table.values()}

    def out_of_time(self) -> bool:
        """True (and the report says so) once the time limit has passed."""
        if self.report.stopped.startswith("time"):
            return True
        if time.monotonic() > self.deadline:
            self.report.stopped = (f"time limit of {self.time_limit:g} s reached "
                                   "(--time-limit raises it)")
            return True
        return False

    def finding(self, kind: str, message: str, path: Iterable[str] = (),
                witness: Mapping[str, Any] | None = None, severity: str = "error") -> None:
        self.report.findings.append(Finding(self.wf.id, kind, message, tuple(path),
                                            dict(witness or {}), severity))

    def guard_witness(self, ct: CompiledTransition, written: frozenset[tuple[str, bool]] | None
                      = None) -> dict[str, Any] | None:
        """Facts/data that let the transition's guard pass, with the facts only events write
        as ``written`` says (None: as freely as any fact). Cached per transition and what it
        reads of ``written``."""
        if ct.guard is None:
            return {}
        guard = ct.guard
        limits = self.limits([guard], written)
        key = (ct.from_state, ct.event, limits)
        if key not in self._fires:
            types = {f.id: (f.type, f.required) for f in ct.model.data.values()}
            self._fires[key] = self.search.find(
                [guard], guard.fn, data_types=types,
                written=None if limits is None else dict(limits))
        return self._fires[key]

    def limits(self, exprs: list[Expr], written: frozenset[tuple[str, bool]] | None
               ) -> frozenset[tuple[str, bool]] | None:
        """What ``written`` says of the facts only events write that ``exprs`` read (the part
        of an abstract state a witness search depends on)."""
        if written is None:
            return None
        read = self.search.facts_read(exprs) & self.search.event_facts
        if not read:
            return _NOTHING
        return frozenset(w for w in written if w[0] in read)

    def written_after(self, ct: CompiledTransition, written: frozenset[tuple[str, bool]]
                      ) -> frozenset[tuple[str, bool]]:
        """``written`` once ``ct``'s ``sets:`` took effect."""
        writes = self.writes.get((ct.from_state, ct.event))
        if not writes:
            return written
        kept = {w for w in written if w[0] not in writes}
        return frozenset(kept | set(writes.items()))

    def can_act(self, ct: CompiledTransition, roles: frozenset[str]) -> bool:
        """Someone can hold a role in ``by``: an organisational role, or an assigned case role."""
        return bool(ct.org_roles) or any(r in roles for r in ct.case_roles)

    def explore(self) -> dict[Node, tuple[Node | None, str | None]]:
        """Breadth-first over abstract states; parent links give shortest paths."""
        start: Node = (self.cw.initial, _NOTHING, _NOTHING,
                       self.tasks_after(None, self.cw.initial, "start", _NOTHING), "", _NOTHING)
        parents: dict[Node, tuple[Node | None, str | None]] = {start: (None, None)}
        queue = deque([start])
        popped = 0
        while queue:
            node = queue.popleft()
            popped += 1
            if popped % 1024 == 0:
                if self.out_of_time():
                    break
                if self.progress is not None and popped % 16384 == 0:
                    self.progress(len(parents))
            for label, target in self.steps(node):
                if target not in parents:
                    if len(parents) >= self.max_states:
                        self.report.stopped = (f"more than {self.max_states:,} abstract "
                                               "states (--max-states raises the bound)")
                        queue.clear()
                        break
                    parents[target] = (node, label)
                    queue.append(target)
        self.report.nodes = len(parents)
        return parents

    @staticmethod
    def path_to(parents: Mapping[Node, tuple[Node | None, str | None]], node: Node
                ) -> list[str]:
        events: list[str] = []
        current: Node | None = node
        while current is not None:
            parent, event = parents[current]
            if event is not None:
                events.append(event)
            current = parent
        return events[::-1]

    def edges(self, node: Node) -> list[tuple[CompiledTransition, Node]]:
        """The transitions that can take effect from ``node``, with the node each leads to
        (for a joint decision: the last agreement, once every other role has agreed)."""
        state, roles, agreements, tasks, origin, written = node
        result = []
        for ct in self.cw.by_state[state]:
            target = origin if ct.returns else ct.target
            if not target:
                continue  # nowhere to return to
            if ct.agreement:
                agreed = {r for e, r in agreements if e == ct.event}
                waiting = [r for r in ct.agreement if r not in agreed]
                if len(waiting) != 1 or not self.can_hold(ct, waiting[0], roles):
                    continue
            elif not self.can_act(ct, roles):
                continue
            if self.guard_witness(ct, written) is not None:
                assigned = roles | {r for r, _ in ct.assigns} if ct.assigns else roles
                if target != state:
                    pending: frozenset[tuple[str, str]] = _NOTHING
                    returns_to = state if target in self.cw.returning_states else ""
                else:
                    pending = frozenset(p for p in agreements if p[0] != ct.event)
                    returns_to = origin
                result.append((ct, (target, assigned, pending,
                                    self.tasks_after(state, target, ct.event, tasks),
                                    returns_to, self.written_after(ct, written))))
        return result

    def tasks_after(self, state: str | None, target: str, event: str,
                    tasks: frozenset[str]) -> frozenset[str]:
        """The open tasks after a step (as `zorgflow.engine.work.tasks_after`, abstractly:
        a task completed is no longer open)."""
        if not self.cw.tasks:
            return tasks
        result = set(tasks)
        if state != target:
            result -= {t for t in tasks if self.cw.tasks[t].opened_in
                       and target not in self.cw.tasks[t].opened_in}
            result |= {t.id for t in self.cw.tasks_in[target]}
        result |= {t.id for t in self.cw.tasks_by.get(event, ())}
        return frozenset(result)

    def completions(self, node: Node) -> list[tuple[str, Node]]:
        """Completing an open task someone can hold the role of."""
        state, roles, agreements, tasks, origin, written = node
        result = []
        for tid in sorted(tasks):
            role = self.cw.tasks[tid].role
            if role not in self.cw.case_role_ids or role in roles:
                result.append((f"taak {tid} afgerond",
                               (state, roles, agreements, tasks - {tid}, origin, written)))
        return result

    def agreements(self, node: Node) -> list[tuple[str, Node]]:
        """The agreements someone can give from ``node`` that are not the last one, as
        (what the path shows, the node with the agreement pending)."""
        state, roles, agreements, tasks, origin, written = node
        result = []
        for ct in self.cw.by_state[state]:
            if not ct.agreement or (ct.returns and not origin):
                continue
            agreed = {r for e, r in agreements if e == ct.event}
            waiting = [r for r in ct.agreement if r not in agreed]
            if len(waiting) < 2:
                continue
            for role in waiting:
                if self.can_hold(ct, role, roles):
                    result.append((f"{ct.event} (akkoord {role})",
                                   (state, roles, agreements | {(ct.event, role)}, tasks,
                                    origin, written)))
        return result

    def steps(self, node: Node) -> list[tuple[str, Node]]:
        """Every step from ``node``: events taking effect and agreements, labelled."""
        return ([(ct.event, target) for ct, target in self.edges(node)] + self.agreements(node)
                + self.completions(node))

    def why_never(self, ct: CompiledTransition,
                  parents: Mapping[Node, tuple[Node | None, str | None]]) -> str:
        """Why an event never fires from a state the case can reach."""
        if self.guard_witness(ct) is None:
            return "its condition can never be true"
        nodes = [n for n in parents if n[0] == ct.from_state]
        someone = any(all(self.can_hold(ct, r, n[1]) for r in ct.agreement) if ct.agreement
                      else self.can_act(ct, n[1]) for n in nodes)
        if not someone:
            return "nobody can hold a role that may fire it"
        read = sorted(self.search.facts_read([ct.guard] if ct.guard else [])
                      & self.search.event_facts)
        return (f"its condition reads {', '.join(read)}, which only events write, and no "
                f"path to '{ct.from_state}' leaves them as the condition needs")

    def can_hold(self, ct: CompiledTransition, role: str, roles: frozenset[str]) -> bool:
        """Someone can hold ``role``: an organisational role, or an assigned case role."""
        return role in ct.org_roles or role in roles

    def run(self) -> Report:
        """Every check; returns the report."""
        parents = self.explore()
        exhaustive = not self.report.stopped
        reached_states = {node[0] for node in parents}
        if exhaustive:  # beyond a bound, "never reached" cannot be claimed
            for sid in self.wf.states:
                if sid not in reached_states:
                    self.finding("unreachable state", f"no sequence of allowed events reaches "
                                 f"'{sid}' (its incoming guards can never pass, or nobody "
                                 "holds the role)")
        fired: set[tuple[str, str]] = set()
        for node in self.each(parents):
            state = node[0]
            edges = self.edges(node)
            fired.update((ct.from_state, ct.event) for ct, _ in edges)
            if not self.wf.states[state].final and not edges and not self.agreements(node):
                self.finding("dead end", f"in state '{state}' no event can ever be allowed",
                             self.path_to(parents, node))
        if not self.report.stopped:
            for ct in self.cw.table.values():
                if (ct.from_state, ct.event) not in fired and ct.from_state in reached_states:
                    why = self.why_never(ct, parents)
                    self.finding("event never fires",
                                 f"'{ct.event}' from '{ct.from_state}': {why}")
        self.check_tables()
        self.check_invariants(parents, exhaustive)
        self.check_provenance()
        self.check_dossier()
        if self.search.cut_off:
            self.finding("search cut off", f"a witness search hit its bound of "
                         f"{self.search.budget:,} evaluations: results may be incomplete",
                         severity="warning")
        if self.report.stopped:
            self.finding("search cut off", f"verification stopped after {len(parents):,} "
                         f"abstract states: {self.report.stopped}. The violations reported are "
                         "real; states beyond the bound were not checked, and unreachable "
                         "states, events that never fire and always_reachable invariants are "
                         "not reported", severity="warning")
        self.report.cut_off = self.search.cut_off or bool(self.report.stopped)
        self.acknowledge()
        return self.report

    def acknowledge(self) -> None:
        """Mark the warnings the workflow acknowledges; an acknowledgement that matches no
        warning is a warning itself (it would hide a future one)."""
        used = set()
        findings = []
        for finding in self.report.findings:
            for n, ack in enumerate(self.wf.acknowledged_warnings):
                if (finding.severity == "warning" and finding.kind == ack.kind
                        and ack.about in finding.message):
                    finding = replace(finding, acknowledged=ack.reason)
                    used.add(n)
                    break
            findings.append(finding)
        self.report.findings = findings
        for n, ack in enumerate(self.wf.acknowledged_warnings):
            if n not in used and not self.report.cut_off:
                self.finding("stale acknowledgement", f"acknowledged_warnings #{n + 1} "
                             f"({ack.kind}: {ack.about!r}) matches no warning: remove it",
                             severity="warning")

    def each(self, nodes: Iterable[Node]) -> Iterable[Node]:
        """``nodes`` until the time limit passes."""
        for count, node in enumerate(nodes):
            if count % 16 == 15 and self.out_of_time():
                return
            yield node

    def check_provenance(self) -> None:
        """An element with neither ``source:`` nor ``assumption:``: policy staff cannot tell
        whether it is the sources' or ours."""
        for element in elements(self.wf):
            if not element.traced:
                self.finding("no source", f"{element.kind} '{element.name}' has neither "
                             "'source:' nor 'assumption:': cite the source document (title "
                             "and section, a short quote) or say why it was chosen",
                             severity="warning")

    def check_dossier(self) -> None:
        """Free text in an anonymous dossier may name the person, his family or his address:
        the allow-list should hold only values that cannot (booleans, enums, numbers)."""
        for fact in self.wf.facts.values():
            if fact.dossier and fact.type.name == "string":
                self.finding("free text in dossier", f"fact '{fact.id}' is free text and "
                             "marked 'dossier: true': free text can name the person or his "
                             "address, and the dossier must not lead back to him; send a "
                             "boolean or an enum instead, or remove 'dossier: true'",
                             severity="warning")

    def check_tables(self) -> None:
        for rid, rs in self.cw.rules.items():
            if isinstance(rs, CompiledTable) and rs.model.hit_policy == "unique":
                check = rs.check_overlaps()
                for overlap in check.overlaps:
                    self.finding("table overlap", f"rows '{overlap.first}' and "
                                 f"'{overlap.second}' of '{rid}' both match", witness=dict(
                                     overlap.witness))
                if check.total > len(check.overlaps) or not check.complete:
                    self.finding("table overlap", f"{check.total - len(check.overlaps):,}"
                                 f"{'' if check.complete else '+'} more pairs of rows of "
                                 f"'{rid}' overlap")
                gaps = [g for g in rs.gaps() if all(v is not UNKNOWN for v in g.values())]
                if gaps:
                    sample = ", ".join(f"{k} = {show(v)}" for k, v in gaps[0].items())
                    self.finding("table gap", f"{len(gaps)} combinations of known inputs of "
                                 f"'{rid}' match no row and give no outcome, e.g. {sample}",
                                 severity="warning")

    # -- invariants -------------------------------------------------------------------------------
    def check_invariants(self, parents: Mapping[Node, tuple[Node | None, str | None]],
                         exhaustive: bool = True) -> None:
        for inv in self.wf.invariants:
            if inv.kind == "requires_case_role":
                self.check_case_role(inv, parents)
            elif inv.kind == "implies":
                self.check_implies(inv, parents)
            elif inv.kind == "always_reachable":
                if exhaustive:  # needs every state: a goal may lie beyond the bound
                    self.check_reachable(inv, parents)
            else:
                self.check_never(inv, parents)

    def check_case_role(self, inv: Invariant,
                        parents: Mapping[Node, tuple[Node | None, str | None]]) -> None:
        for node in self.each(parents):
            if node[0] in inv.states and inv.role not in node[1]:
                self.finding(f"invariant {inv.id}", f"{inv.label}: in '{node[0]}' no "
                             f"{inv.role} is assigned", self.path_to(parents, node))
                return

    def invariant_on(self, inv: Invariant, ct: CompiledTransition) -> Expr:
        """The invariant's condition compiled on the transition of ``ct``."""
        return self.cw.invariants[inv.id].on[ct.index]

    def witness_on(self, ct: CompiledTransition, expr: Expr,
                   predicate: Callable[[Env], Any], node: Node) -> dict[str, Any] | None:
        """Facts/data on ``ct`` (what its guard, its ``sets:`` and ``expr`` read) making
        ``predicate`` true from ``node``. The search depends on the transition, the condition
        and what ``node`` says of the facts they read that only events write, so it runs once
        per such triple however many abstract states lead to it."""
        exprs = [expr] + ([ct.guard] if ct.guard is not None else []) \
            + [e for _, e, _ in ct.sets]
        limits = self.limits(exprs, node[5])
        key = (ct.from_state, ct.event, id(expr), id(predicate.__code__), limits)
        if key not in self._witnesses:
            types = {f.id: (f.type, f.required) for f in ct.model.data.values()}
            self._witnesses[key] = self.search.find(
                exprs, predicate, data_types=types,
                written=None if limits is None else dict(limits))
        return self._witnesses[key]

    def check_implies(self, inv: Invariant,
                      parents: Mapping[Node, tuple[Node | None, str | None]]) -> None:
        for node in self.each(parents):
            for ct, target in self.edges(node):
                if target[0] not in inv.states or node[0] in inv.states:
                    continue
                expr = self.invariant_on(inv, ct)
                witness = self.witness_on(ct, expr, _entering_breaks(expr, ct), node)
                if witness is not None:
                    self.finding(f"invariant {inv.id}", f"{inv.label}: entering '{target[0]}' "
                                 f"by '{ct.event}' while '{inv.condition}' is false",
                                 [*self.path_to(parents, node), ct.event], witness)
                    return

    def check_reachable(self, inv: Invariant,
                        parents: Mapping[Node, tuple[Node | None, str | None]]) -> None:
        goals = set(inv.goals)
        into: dict[Node, list[Node]] = {}  # the edges reversed
        for node in self.each(parents):
            for _, target in self.steps(node):
                into.setdefault(target, []).append(node)
        if self.report.stopped:
            return
        good = {n for n in parents if n[0] in goals}
        queue = deque(good)
        while queue:  # backwards from the goals: who can reach one
            for node in into.get(queue.popleft(), ()):
                if node not in good:
                    good.add(node)
                    queue.append(node)
        for node in parents:
            if node not in good and not self.wf.states[node[0]].final:
                self.finding(f"invariant {inv.id}", f"{inv.label}: from '{node[0]}' none of "
                             f"{', '.join(sorted(goals))} can be reached",
                             self.path_to(parents, node))
                return

    def check_never(self, inv: Invariant,
                    parents: Mapping[Node, tuple[Node | None, str | None]]) -> None:
        for node in self.each(parents):
            for ct, _ in self.edges(node):
                if ct.event != inv.event:
                    continue
                expr = self.invariant_on(inv, ct)
                witness = self.witness_on(ct, expr, _fires_while(expr, ct.guard), node)
                if witness is not None:
                    self.finding(f"invariant {inv.id}", f"{inv.label}: '{inv.event}' can fire "
                                 f"from '{node[0]}' while '{inv.when}'",
                                 [*self.path_to(parents, node), inv.event], witness)
                    return


def _surely_known(expr: Expr, ct: CompiledTransition) -> bool:
    """Whether a ``sets:`` expression always has a value: a literal, or data the event
    requires."""
    try:
        node = ast.parse(" ".join(expr.source.split()), mode="eval").body
    except SyntaxError:
        return False
    if isinstance(node, ast.Constant) or (isinstance(node, ast.Name)
                                          and node.id in ("true", "false")):
        return True
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "data"):
        field = ct.model.data.get(node.attr)
        return field is not None and field.required
    return False


def _entering_breaks(expr: Expr, ct: CompiledTransition) -> Callable[[Env], Any]:
    """True when the guard passes and the implied condition is false once the transition's
    ``sets:`` took effect."""
    guard = ct.guard

    def predicate(env: Env) -> Any:
        passes = True if guard is None else guard.fn(env)
        if passes is False:
            return False
        return k_and(passes, k_not(expr.fn(after_effects(ct, env))))

    return predicate


def after_effects(ct: CompiledTransition, env: Env) -> Env:
    """The environment as it is once ``ct``'s ``sets:`` took effect."""
    if not ct.sets:
        return env
    facts = _Overlay(env.facts)
    for name, expr, _ in ct.sets:
        facts[name] = expr.fn(env)
    return Env(facts, env.at, env.data, env.decide)


class _Overlay(dict[str, Any]):
    """Facts changed by effects over the facts before; reads of the rest go to the base
    (so that the witness search still sees which facts were asked for)."""

    def __init__(self, base: Mapping[str, Any]) -> None:
        super().__init__()
        self.base = base

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            value = self[key]
            return default if value is UNKNOWN else value
        return self.base.get(key, default)


def _fires_while(expr: Expr, guard: Expr | None) -> Callable[[Env], Any]:
    """True when the guard passes and the forbidden condition holds."""
    def predicate(env: Env) -> Any:
        return k_and(True if guard is None else guard.fn(env), expr.fn(env))

    return predicate


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def verify(workflow: Workflow, budget: int = SEARCH_BUDGET, *, max_states: int = MAX_STATES,
           time_limit: float | None = TIME_LIMIT,
           progress: Callable[[int], None] | None = None) -> Report:
    """Verify one workflow.

    Bounded: a witness search spends at most ``budget`` evaluations, the state space at most
    ``max_states`` abstract states, the whole at most ``time_limit`` seconds (None: no limit).
    A bound that cuts the work short sets ``Report.cut_off`` and adds a warning saying which
    and what was left unchecked. ``progress`` is called now and then with the number of
    abstract states explored so far.
    """
    return Verifier(workflow, budget, max_states=max_states, time_limit=time_limit,
                    progress=progress).run()


def report_verification(workflows: list[Workflow], out: TextIO,
                        progress: TextIO | None = None, budget: int | None = None, *,
                        max_states: int = MAX_STATES, time_limit: float | None = TIME_LIMIT,
                        allow_partial: bool = False, strict: bool = False) -> int:
    """Verify each workflow, print the findings; returns the number of errors.

    A workflow whose state space was cut off by ``max_states`` or ``time_limit`` counts as an
    error unless ``allow_partial``: "no violations" would claim more than was checked. With
    ``strict``, each warning the workflow does not acknowledge counts as an error.
    """
    progress = progress if progress is not None else sys.stderr
    errors = 0
    tty = progress.isatty()
    for workflow in workflows:
        if tty:
            print(f"verifying {workflow.id}…", file=progress, flush=True)

        def show_progress(nodes: int, wid: str = workflow.id) -> None:
            if tty:
                print(f"verifying {wid}: {nodes:,} abstract states…", file=progress,
                      flush=True)

        report = verify(workflow, budget or SEARCH_BUDGET, max_states=max_states,
                        time_limit=time_limit, progress=show_progress)
        for finding in report.findings:
            print(str(finding), file=out)
        errors += len(report.errors)
        unacknowledged = len(report.unacknowledged_warnings) if strict else 0
        errors += unacknowledged
        status = "OK" if not report.errors and not unacknowledged else "FAIL"
        if report.stopped and not allow_partial:
            errors += 1
            status = "FAIL" if report.errors else "INCOMPLETE"
        print(f"{status} verify {workflow.id}: {report.nodes:,} abstract states, "
              f"{len(workflow.invariants)} invariants, {_count(len(report.errors), 'violation')}"
              + (f" (stopped early: {report.stopped}; --allow-partial accepts that)"
                 if report.stopped and not allow_partial else
                 " (search cut off)" if report.cut_off else "")
              + (f"; {_count(unacknowledged, 'unacknowledged warning')} (--strict)"
                 if unacknowledged else ""), file=out)
    return errors
