"""Checking a migration plan over the old version's abstract states, and its impact on the
cases of a store.

`check_plan` explores the old version with the `Verifier` (state × case roles × pending
agreements × open tasks × …) and asks of every abstract state whether a case in it can move:
its state maps to a state of the new version, the new version's ``requires_case_role``
invariants hold there with the case roles mapped, a live state does not become final unless
the plan says so, and every fact an ``implies`` invariant of the target state reads has a
source (an old fact, renamed or not, or a default). `impact` asks the same of each stored case,
evaluating conditional mappings on the case's own facts; `blockers` is the one test both use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..engine import Case
from ..engine.migration import blockers as _blockers
from ..engine.migration import candidates
from ..migration_plan import MigrationPlan, identity_plan
from ..model import Workflow
from ..store import Store, pages
from ..verify import MAX_STATES, TIME_LIMIT, Verifier


@dataclass(frozen=True, slots=True)
class Gap:
    """A kind of case that cannot move, with the shortest old history that makes one."""

    kind: str
    old_state: str
    message: str
    path: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"GAP {self.kind}: {self.message}"
        if self.path:
            text += "\n    shortest old history: start → " + " → ".join(self.path)
        return text


@dataclass(slots=True)
class MigrationReport:
    """What `check_plan` found. ``ok`` when every reachable case can move and the search
    was exhaustive."""

    workflow: str
    from_version: int
    to_version: int
    plan: str
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    nodes: int = 0
    stopped: str = ""

    @property
    def cut_off(self) -> bool:
        """True when the old version's state space was not explored to the end."""
        return bool(self.stopped)

    @property
    def ok(self) -> bool:
        """No gap (a cut-off search is judged by the caller: see ``--allow-partial``)."""
        return not self.gaps

    def as_text(self) -> str:
        """The report for people, one finding per paragraph."""
        head = (f"{self.workflow} {self.from_version} → {self.to_version} "
                f"({self.plan}): {self.nodes} abstract state(s) of the old version checked")
        lines = [head, *map(str, self.gaps), *(f"NOTE {n}" for n in self.notes)]
        if self.stopped:
            lines.append(f"WARNING search cut off: {self.stopped}; states beyond the bound "
                         "were not checked (--allow-partial accepts this)")
        if not self.gaps:
            lines.append("every reachable case can move")
        return "\n".join(lines)


def blockers(old: Workflow, new: Workflow, plan: MigrationPlan, state: str,
             roles: frozenset[str] | set[str], facts: Mapping[str, Any] | None = None,
             at: datetime | None = None) -> list[tuple[str, str]]:
    """Why a case in ``state`` with case ``roles`` cannot move, as (kind, message) pairs;
    empty when it can. ``facts`` None: the abstract question (any rule may be taken)."""
    return _blockers(old, new, plan, state, roles, facts, at or datetime.now(UTC))


def _notes(old: Workflow, new: Workflow, plan: MigrationPlan) -> list[str]:
    notes = []
    for sid, rules in plan.states.items():
        for rule in rules:
            before = {t.signal: t for t in old.states[sid].timers}
            after = {t.signal: t for t in new.states[rule.to].timers} if rule.to in \
                new.states else {}
            for signal, t in after.items():
                if signal not in before:
                    notes.append(f"timer '{signal}' in '{rule.to}' is new: it starts at the "
                                 f"migration of cases from '{sid}'")
                elif t.after != before[signal].after:
                    notes.append(f"timer '{signal}' in '{sid}' → '{rule.to}' changed its "
                                 "duration: the due time is re-derived from its old start")
    for tid in old.tasks:
        if tid not in new.tasks:
            notes.append(f"task '{tid}' is not in version {new.version}: open ones are dropped")
    for f in old.facts:
        if f not in plan.facts_renamed:
            notes.append(f"fact '{f}' is not in version {new.version}: its value is dropped")
    if any(t.agreement for t in old.transitions):
        notes.append("pending agreements lapse at migration")
    return sorted(set(notes))


def check_plan(old: Workflow, new: Workflow, plan: MigrationPlan | None = None, *,
               max_states: int = MAX_STATES, time_limit: float | None = TIME_LIMIT
               ) -> MigrationReport:
    """Whether every case the old version can produce can move by ``plan`` (None: keep
    every id, and say what that would break). One gap per (kind, state) with the shortest
    old history that reaches it."""
    used = plan or identity_plan(old, new)
    report = MigrationReport(old.id, old.version, new.version,
                             used.file if plan else "no plan: identity mapping")
    verifier = Verifier(old, max_states=max_states, time_limit=time_limit)
    parents = verifier.explore()
    report.nodes = len(parents)
    report.stopped = verifier.report.stopped
    seen: set[tuple[str, str, str]] = set()
    cache: dict[tuple[str, frozenset[str]], list[tuple[str, str]]] = {}
    for node in parents:  # breadth-first order: the first node of a gap has the shortest path
        key = (node[0], node[1])
        if key not in cache:
            cache[key] = blockers(old, new, used, node[0], node[1])
        for kind, message in cache[key]:
            if (kind, node[0], message) not in seen:
                seen.add((kind, node[0], message))
                report.gaps.append(Gap(kind, node[0], message,
                                       tuple(verifier.path_to(parents, node))))
    if plan is None:
        for r in sorted(set(_roles(old)) - set(_roles(new))):
            report.gaps.append(Gap("case role dropped", "", f"case role '{r}' is not in "
                                   f"version {new.version}: a plan must map it (case_roles:)"))
    report.notes = _notes(old, new, used)
    return report


def _roles(wf: Workflow) -> list[str]:
    return [r for r, role in wf.roles.items() if role.case_role]


@dataclass(frozen=True, slots=True)
class CaseVerdict:
    """Where one case would move (``target`` None: it cannot, see ``reasons``)."""

    case_id: str
    old_state: str
    target: str | None
    reasons: tuple[str, ...] = ()


def case_verdict(old: Workflow, new: Workflow, plan: MigrationPlan, case: Case,
                 at: datetime | None = None) -> CaseVerdict:
    """The verdict on one case of the old version."""
    at = at or datetime.now(UTC)
    found = blockers(old, new, plan, case.state, set(case.case_roles), dict(case.facts), at)
    if found:
        return CaseVerdict(case.id, case.state, None, tuple(m for _, m in found))
    (rule,), _ = candidates(plan.states[case.state], dict(case.facts), old, at)
    return CaseVerdict(case.id, case.state, rule.to)


@dataclass(slots=True)
class Impact:
    """What a plan would do to the cases of a store. Nothing is written."""

    workflow: str
    from_version: int
    to_version: int
    #: old state → (new state, or "cannot move") → number of cases
    moves: dict[str, Counter[str]] = field(default_factory=dict)
    blocked: list[CaseVerdict] = field(default_factory=list)
    #: cases of the workflow on other versions (left alone)
    other_versions: Counter[int] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """Cases of ``from_version`` looked at."""
        return sum(sum(c.values()) for c in self.moves.values())

    def as_text(self, limit: int = 20) -> str:
        """The impact for people: per old state, where its cases go; the blocked ones."""
        lines = [f"{self.workflow} {self.from_version} → {self.to_version}: "
                 f"{self.total} case(s) on version {self.from_version}"]
        for state in sorted(self.moves):
            for target, n in sorted(self.moves[state].items()):
                lines.append(f"  {state} → {target}: {n}")
        for verdict in self.blocked[:limit]:
            lines.append(f"CANNOT MOVE {verdict.case_id} in '{verdict.old_state}': "
                         + "; ".join(verdict.reasons))
        if len(self.blocked) > limit:
            lines.append(f"... and {len(self.blocked) - limit} more that cannot move")
        for version, n in sorted(self.other_versions.items()):
            lines.append(f"  ({n} case(s) on version {version} are left alone)")
        return "\n".join(lines)


def impact(store: Store, old: Workflow, new: Workflow, plan: MigrationPlan, *,
           page: int = 500, at: datetime | None = None,
           progress: Callable[[int], None] | None = None) -> Impact:
    """Read every case of the plan's workflow (a page at a time) and say where each would
    move; writes nothing. ``progress`` is called with the number of cases read after each
    page."""
    result = Impact(plan.workflow, plan.from_version, plan.to_version)
    read = 0
    for refs in pages(store, workflow_id=plan.workflow, size=page):
        for ref in refs:
            if ref.workflow_version != plan.from_version:
                result.other_versions[ref.workflow_version] += 1
                continue
            verdict = case_verdict(old, new, plan, store.load(ref.id), at)
            target = verdict.target or "cannot move"
            result.moves.setdefault(verdict.old_state, Counter())[target] += 1
            if verdict.target is None:
                result.blocked.append(verdict)
        read += len(refs)
        if progress is not None:
            progress(read)
    return result
