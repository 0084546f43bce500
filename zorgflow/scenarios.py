"""Running the ``examples:`` written in a workflow file, and measuring what they cover."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .engine import Actor, Case, Engine
from .errors import LANGUAGES, ExampleFailed, TransitionRejected, ZorgflowError
from .model import Example, ExampleStep, Expectation, Workflow
from .model.calendar import parse_datetime
from .model.values import to_json
from .program import program_of
from .rules.expr import MASK, Env, show, shown
from .rules.logic import UNKNOWN, truth_word

DEFAULT_START = "2026-01-05T09:00:00+01:00"


@dataclass(slots=True)
class Coverage:
    """What the examples of one workflow touched."""

    transitions: set[tuple[str, str]] = field(default_factory=set)
    #: (rule set, criterion or row id) -> the truth values seen ("true"/"false"/"unknown")
    sides: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def merge(self, other: Coverage) -> None:
        """Add what ``other`` touched."""
        self.transitions |= other.transitions
        for key, seen in other.sides.items():
            self.sides.setdefault(key, set()).update(seen)

    def missing_transitions(self, workflow: Workflow) -> list[str]:
        """``state --event-->`` for each transition no example fired."""
        return [f"{s} --{t.event}--> {t.target or 'terug'}" for t in workflow.transitions
                for s in t.from_states if (s, t.event) not in self.transitions]

    def missing_sides(self, workflow: Workflow) -> list[str]:
        """``rule set.criterion (true|false)`` for each side no example showed."""
        missing = []
        for rid, rs in workflow.rules.items():
            if rs.kind == "ranking":
                continue
            ids = [c.id for c in rs.criteria] if rs.kind == "criteria" else [r.id for r in rs.rows]
            for cid in ids:
                seen = self.sides.get((rid, cid), set())
                for side in ("true", "false"):
                    if side not in seen:
                        missing.append(f"{rid}.{cid} ({side})")
        return missing


@dataclass(slots=True)
class ExampleResult:
    """The outcome of one example."""

    workflow: str
    name: str
    passed: bool
    message: str = ""
    coverage: Coverage = field(default_factory=Coverage)


def run_example(engine: Engine, workflow: Workflow, example: Example) -> ExampleResult:
    """Run one example against ``engine`` (which must hold ``workflow``)."""
    coverage = Coverage()
    try:
        _Runner(engine, workflow, example, coverage).run()
    except ExampleFailed as exc:
        return ExampleResult(workflow.id, example.name, False, str(exc), coverage)
    return ExampleResult(workflow.id, example.name, True, "", coverage)


def run_examples(workflow: Workflow, engine: Engine | None = None) -> list[ExampleResult]:
    """Run every example of ``workflow``."""
    engine = engine or Engine([workflow])
    return [run_example(engine, workflow, example) for example in workflow.examples]


class _Runner:
    def __init__(self, engine: Engine, workflow: Workflow, example: Example,
                 coverage: Coverage) -> None:
        self.engine = engine
        self.wf = workflow
        self.example = example
        self.coverage = coverage
        self.actors = {name: Actor(name, roles) for name, roles in example.actors.items()}

    def actor(self, name: Any, where: str) -> Actor:
        if name is None:
            if len(self.actors) == 1:
                return next(iter(self.actors.values()))
            raise ExampleFailed(f"{where}: say who does this ('by:')")
        if name not in self.actors:
            raise ExampleFailed(f"{where}: actor '{name}' is not listed under 'actors:'")
        return self.actors[name]

    def time(self, raw: Any, default: datetime, where: str) -> datetime:
        if raw is None:
            return default
        try:
            return parse_datetime(raw)
        except ValueError as exc:
            raise ExampleFailed(f"{where}: 'at: {raw}' is not a time with offset "
                                f"(e.g. 2026-01-05T09:00:00+01:00): {exc}") from None

    def run(self) -> None:
        start = self.example.start
        at = self.time(start.at, parse_datetime(DEFAULT_START), "start")
        starter = self.actor(start.by, "start")
        try:
            case = self.engine.start(self.wf.id, actor=starter, facts=start.facts, at=at,
                                     version=self.wf.version)
        except TransitionRejected as exc:
            raise ExampleFailed("start was rejected: " + "; ".join(exc.reasons)) from None
        for n, step in enumerate(self.example.steps, start=1):
            at = self.time(step.at, at, f"step {n}")
            case = self.step(n, step, case, at)

    def step(self, n: int, step: ExampleStep, case: Case, at: datetime) -> Case:
        expect = step.expect
        if step.action == "event":
            where = f"step {n} ({step.event} by {_who(step)})"
            case = self.fire(where, step, case, at)
        elif step.action == "set_facts":
            where = f"step {n} (set_facts by {_who(step)})"
            case = self.set_facts(where, step, case, at)
        elif step.action == "decide":
            where = f"step {n} (decide {step.rule_set})"
            self.decide(where, step.rule_set, case, at, expect)
        elif step.action == "complete":
            where = f"step {n} (complete {step.task} by {_who(step)})"
            case = self.complete(where, step, case, at)
        elif step.action == "due":
            where = f"step {n} (due at {at.isoformat()})"
            self.check_due(where, case, at, expect)
        else:
            where = f"step {n} (allowed for {_who(step)})"
            self.check_allowed(where, step, case, at)
        self.check_case(where, case, expect)
        return case

    def fire(self, where: str, step: ExampleStep, case: Case, at: datetime) -> Case:
        actor = self.actor(step.by, where)
        event = step.event
        expect = step.expect
        self.touch_guard_rules(case, event, at)
        try:
            new = self.engine.fire(case, event, actor=actor, data=step.data, at=at)
        except TransitionRejected as exc:
            return self.refused(where, expect, exc, case)
        if expect.rejected:
            raise ExampleFailed(f"{where}: was accepted (the case moved to '{new.state}'), but "
                                "the example expects it to be rejected")
        self.coverage.transitions.add((case.state, event))
        return new

    def complete(self, where: str, step: ExampleStep, case: Case, at: datetime) -> Case:
        expect = step.expect
        try:
            new = self.engine.complete(case, step.task, actor=self.actor(step.by, where), at=at)
        except TransitionRejected as exc:
            return self.refused(where, expect, exc, case)
        if expect.rejected:
            raise ExampleFailed(f"{where}: expected a rejection, but the task was completed")
        return new

    def refused(self, where: str, expect: Expectation, exc: TransitionRejected,
                case: Case) -> Case:
        """A refused event or completion: the case unchanged if the example expects the
        refusal (and its reason), else `ExampleFailed` with every reason."""
        if not expect.rejected:
            raise ExampleFailed(f"{where}: was rejected, but the example expects it to "
                                "pass. Reasons:\n    - " + "\n    - ".join(exc.reasons)) \
                from None
        self.check_rejection(where, expect.rejected, exc)
        return case

    def set_facts(self, where: str, step: ExampleStep, case: Case, at: datetime) -> Case:
        actor = self.actor(step.by, where)
        expect = step.expect
        try:
            new = self.engine.set_facts(case, step.facts_to_set, actor=actor, at=at)
        except TransitionRejected as exc:
            if not expect.rejected:
                raise ExampleFailed(f"{where}: rejected: " + "; ".join(exc.reasons)) from None
            self.check_rejection(where, expect.rejected, exc)
            return case
        if expect.rejected:
            raise ExampleFailed(f"{where}: was accepted, but the example expects it to "
                                "be rejected")
        return new

    def check_rejection(self, where: str, expected: bool | str, exc: TransitionRejected) -> None:
        if isinstance(expected, str) and not rejection_matches(expected, exc):
            raise ExampleFailed(f"{where}: rejected as expected, but no reason mentions "
                                f"'{expected}' or has it as its code. Reasons:\n    - "
                                + "\n    - ".join(f"{r} [{r.code}]" for r in exc.reasons))

    def check_due(self, where: str, case: Case, at: datetime, expect: Expectation) -> None:
        signals = sorted(s.name for s in self.engine.due(case, at))
        if expect.signals is not None and signals != sorted(expect.signals):
            raise ExampleFailed(f"{where}: expected signals {sorted(expect.signals)}, "
                                f"got {signals}")

    def check_allowed(self, where: str, step: ExampleStep, case: Case, at: datetime) -> None:
        actor = self.actor(step.by, where)
        events = sorted(self.engine.allowed(case, actor, at))
        expected = step.expect.events
        if expected is not None and events != sorted(expected):
            raise ExampleFailed(f"{where}: expected allowed events "
                                f"{sorted(expected)}, got {events}")

    def touch_guard_rules(self, case: Case, event: str, at: datetime) -> None:
        ct = program_of(self.wf).table.get((case.state, event))
        if ct is not None and ct.guard is not None:
            for rid in ct.guard.rules_read:
                self.record(rid, case, at)

    def record(self, rule_set: str, case: Case, at: datetime) -> None:
        env = Env(case.facts, at)
        for cid, value in program_of(self.wf).rules[rule_set].sides(env):
            self.coverage.sides.setdefault((rule_set, cid), set()).add(truth_word(value))

    def decide(self, where: str, rule_set: str, case: Case, at: datetime,
               expect: Expectation) -> None:
        try:
            decision = self.engine.decide(case, rule_set, at=at)
        except ZorgflowError as exc:
            raise ExampleFailed(f"{where}: {exc}") from None
        self.record(rule_set, case, at)
        why = "\n    " + "\n    ".join(decision.explanation)
        if expect.matched is not None and list(decision.matched) != list(expect.matched):
            wanted = [MASK] * len(expect.matched) if decision.personal else list(expect.matched)
            raise ExampleFailed(f"{where}: expected {wanted} to hold, got "
                                f"{decision.shown_matched}. Explanation:{why}")
        if expect.holds is not None and truth_word(decision.holds) != _word(expect.holds):
            raise ExampleFailed(f"{where}: expected holds = {_word(expect.holds)}, got "
                                f"{truth_word(decision.holds)}. Explanation:{why}")
        if expect.expects_outcome and not _outcome_matches(expect.outcome, decision.outcome):
            outcome = MASK if decision.personal else repr(expect.outcome)
            raise ExampleFailed(f"{where}: expected outcome {outcome}, got "
                                f"{to_json(decision.shown_outcome)!r}. Explanation:{why}")

    def check_case(self, where: str, case: Case, expect: Expectation) -> None:
        if expect.state is not None and case.state != expect.state:
            raise ExampleFailed(f"{where}: expected the case in state '{expect.state}', but "
                                f"it is in '{case.state}'")
        for name, value in (expect.facts or {}).items():
            actual = to_json(case.facts.get(name, UNKNOWN))
            if actual is UNKNOWN:
                actual = None
            if actual != value:
                personal = name in self.wf.facts and self.wf.facts[name].personal_data
                raise ExampleFailed(f"{where}: expected fact {name} = {shown(value, personal)}, "
                                    f"got {shown(actual, personal)}")
        if expect.dossier is not None:
            self.check_dossier(where, case, expect.dossier)
        if expect.warnings is not None:
            self.check_warnings(where, case, expect.warnings)
        if expect.tasks is not None:
            open_tasks = sorted(t.id for t in self.engine.tasks(case) if not t.done)
            if open_tasks != sorted(expect.tasks):
                raise ExampleFailed(f"{where}: expected the open tasks {sorted(expect.tasks)}, "
                                    f"got {open_tasks}")
        if expect.agreements is not None:
            actual = {event: sorted(roles) for event, roles in case.agreements.items()}
            wanted = {event: sorted(roles) for event, roles in expect.agreements.items()}
            if actual != wanted:
                raise ExampleFailed(f"{where}: expected the pending agreements {wanted or 'none'}"
                                    f", got {actual or 'none'}")

    def check_warnings(self, where: str, case: Case, expected: tuple[str, ...]) -> None:
        """Each expected warning (an id of a warning of the workflow, or a fragment of its
        label) matches one the step recorded, and the step recorded no other."""
        labels = {w.id: w.label for t in self.wf.transitions for w in t.warnings}
        actual = list(case.history[-1].warnings)
        unmatched = list(actual)
        for wanted in expected:
            hit = next((label for label in unmatched
                        if label == labels.get(wanted) or wanted in label), None)
            if hit is None:
                raise ExampleFailed(f"{where}: expected the warning {wanted!r}; the step "
                                    f"recorded {_listed(actual)}")
            unmatched.remove(hit)
        if unmatched:
            raise ExampleFailed(f"{where}: the step recorded the warning(s) "
                                f"{_listed(unmatched)}, which the example does not expect")

    def check_dossier(self, where: str, case: Case, expected: Mapping[str, Any]) -> None:
        dossier = case.history[-1].dossier
        if dossier is None:
            raise ExampleFailed(f"{where}: expected an anonymous dossier, but the step sent "
                                "none")
        for name, value in expected.items():
            actual = to_json(dossier.get(name))
            if actual != value:
                shown = "left out" if actual is None else show(actual)
                wanted = "left out" if value is None else f"= {show(value)}"
                raise ExampleFailed(f"{where}: expected the dossier's {name} {wanted}, got "
                                    f"{shown}")


def rejection_matches(expected: str, exc: TransitionRejected) -> bool:
    """Whether a refusal is the one an example's ``rejected: <text>`` expects: ``text`` is the
    code of one of its reasons (``forbidden``, ``guard_false``, …), or a part of a reason in
    English or in Dutch (case ignored). So an example passes whatever ``ZORGFLOW_LANG`` says."""
    if expected.strip() in exc.codes:
        return True
    wanted = expected.lower()
    return any(wanted in "\n".join(r.text(lang) for r in exc.reasons).lower()
               for lang in LANGUAGES)


def _listed(labels: list[str]) -> str:
    return ", ".join(repr(label) for label in labels) if labels else "none"


def _who(step: ExampleStep) -> str:
    """The actor of a step for messages: as written, or ``?``."""
    return step.by if step.by is not None else "?"


def _word(value: Any) -> str:
    if value is True or value is False:
        return truth_word(value)
    return str(value)


def _outcome_matches(expected: Any, actual: Any) -> bool:
    actual = to_json(actual)
    if expected is None:
        return actual is None
    if isinstance(actual, dict) and not isinstance(expected, dict):
        return bool(actual) and next(iter(actual.values())) == expected
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(actual.get(k) == v for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        if all(isinstance(a, dict) for a in actual) and not all(isinstance(e, dict)
                                                               for e in expected):
            firsts = [a.get("id", next(iter(a.values()), None)) for a in actual]
            return firsts == expected
        return len(expected) == len(actual) and all(
            _outcome_matches(e, a) for e, a in zip(expected, actual, strict=True))
    return bool(expected == actual)
