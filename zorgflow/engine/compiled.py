"""A workflow compiled for the hot path: ``(state, event) →`` everything ``fire`` needs."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ..errors import ValueProblem
from ..model import DataField, Transition, Workflow
from ..model.values import coerce, exact_form, reader
from ..rules.decision import Decision
from ..rules.expr import Env, Expr, Scope, compile_expr
from ..rules.logic import truth_word
from ..rules.rulesets import CompiledRuleSet, compile_rule_set, item_scope

_NO_DATA: Mapping[str, Any] = MappingProxyType({})
_NO_PROBLEMS: list[str] = []


class DataCheck:
    """Checks an event's data against its declared fields; compiled once per transition."""

    __slots__ = ("fields", "names", "required")

    def __init__(self, fields: Mapping[str, DataField]) -> None:
        self.fields = tuple((f.id, f.required, f.type, f.personal_data) for f in fields.values())
        self.names = frozenset(fields)
        self.required = tuple(f.id for f in fields.values() if f.required)

    def __call__(self, data: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
        if not data and not self.required:
            return _NO_DATA, _NO_PROBLEMS  # type: ignore[return-value]
        problems: list[str] = []
        if data is None:
            data = _NO_DATA
        elif not isinstance(data, Mapping):
            return {}, [f"data must be a mapping of field: value, not {type(data).__name__}"]
        result: dict[str, Any] = {}
        for name, required, ftype, personal in self.fields:
            value = data.get(name)
            if value is None or (value.__class__ is str and not value.strip()):
                if required:
                    problems.append(f"missing data '{name}' ({ftype.describe()})")
                continue
            try:
                result[name] = coerce(ftype, value)
            except ValueProblem as exc:
                detail = f"expected {ftype.describe()}" if personal else str(exc)
                problems.append(f"invalid data '{name}': {detail}")
        extra = [k for k in data if k not in self.names] if len(data) > len(result) else ()
        if extra:
            expected = ", ".join(sorted(self.names)) or "no data"
            problems.append(f"unknown data field(s) {', '.join(sorted(map(str, extra)))} "
                            f"(this event takes: {expected})")
        return result, problems


class CompiledTransition:
    """One ``(state, event)`` cell of the table."""

    __slots__ = ("assigns", "by", "case_roles", "data_check", "enum_choices", "event", "guard",
                 "model", "org_roles", "resets", "sets", "source", "target")

    def __init__(self, t: Transition, source: str, workflow: Workflow, scope: Scope) -> None:
        self.model = t
        self.event = t.event
        self.source = source
        self.target = t.target
        self.by = t.by
        case_role_ids = {r.id for r in workflow.roles.values() if r.case_role}
        self.org_roles = frozenset(r for r in t.by if r not in case_role_ids)
        self.case_roles = tuple(r for r in t.by if r in case_role_ids)
        self.data_check = DataCheck(t.data)
        self.guard: Expr | None = (compile_expr(t.when, scope, expect_bool=True)
                                   if t.when else None)
        self.assigns = tuple((role, compile_expr(src, scope)) for role, src in t.assigns.items())
        self.sets = tuple((fact, compile_expr(src, scope), workflow.facts[fact].type)
                          for fact, src in t.sets.items())
        target = workflow.states[t.target]
        self.resets = tuple(tm.signal for tm in target.timers if t.event in tm.reset_by)
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
                 case_roles: Mapping[str, str]) -> str | None:
        """The role under which this actor may fire the event, or None."""
        for role in self.by:
            if role in self.org_roles:
                if role in actor_roles:
                    return role
            elif case_roles.get(role) == actor_id:
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


class CompiledWorkflow:
    """Everything the engine needs about one workflow version, built once."""

    def __init__(self, workflow: Workflow) -> None:
        self.model = workflow
        base = Scope(workflow.facts)
        self.rules: dict[str, CompiledRuleSet] = {}
        for rid, rs in workflow.rules.items():
            scope = item_scope(rs, base) if rs.kind == "ranking" else base
            self.rules[rid] = compile_rule_set(rs, scope)
        self.table: dict[tuple[str, str], CompiledTransition] = {}
        self.by_state: dict[str, list[CompiledTransition]] = {s: [] for s in workflow.states}
        for t in workflow.transitions:
            scope = Scope(workflow.facts, data=t.data, rules=workflow.rules)
            for source in t.sources:
                ct = CompiledTransition(t, source, workflow, scope)
                self.table[(source, t.event)] = ct
                self.by_state[source].append(ct)
        self.events = frozenset(workflow.events)
        self.fact_types = {f.id: f.type for f in workflow.facts.values()}
        self.fact_readers = {name: reader(t) for name, t in self.fact_types.items()}
        forms = {name: exact_form(t) for name, t in self.fact_types.items()}
        self.fact_classes = {name: cls for name, (cls, _) in forms.items() if cls is not None}
        self.fact_enums = {name: values for name, (_, values) in forms.items()
                           if values is not None}
        self.boolean_facts = frozenset(f for f, t in self.fact_types.items()
                                       if t.name == "boolean")
        self.personal = frozenset(f.id for f in workflow.facts.values() if f.personal_data)
        self.roles = frozenset(workflow.roles)
        self.case_role_ids = frozenset(r.id for r in workflow.roles.values() if r.case_role)
        self.start_roles = frozenset(workflow.start_by)
        self.initial = workflow.initial.id

    def decider(self, facts: Mapping[str, Any], env_at: Any) -> Callable[[str], Decision]:
        """A per-call cache of rule-set decisions on the same facts."""
        cache: dict[str, Decision] = {}
        env = Env(facts, env_at)

        def decide(rule_set: str) -> Decision:
            decision = cache.get(rule_set)
            if decision is None:
                decision = cache[rule_set] = self.rules[rule_set].evaluate(env)
            return decision

        return decide


def explain_guard(guard: Expr, env: Env) -> list[str]:
    """Readable lines for a guard: its value, the facts it read, and any rule sets it used."""
    value = guard.fn(env)
    used = guard.values_used(env)
    lines = [f"{truth_word(value)}: {guard.source}" + (f"  ({used})" if used else "")]
    if env.decide is not None:
        for rid in guard.rules_read:
            decision = env.decide(rid)
            lines.append(f"  rule set {rid}: {truth_word(decision.holds)}"
                         + (f" ({', '.join(decision.matched)})" if decision.matched else ""))
            lines.extend("    " + line for line in decision.explanation)
    return lines

