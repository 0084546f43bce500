"""`DurableCriteria`: a criteria rule set answered by durable-rules instead of our closures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import RuleError
from ...model import Fact
from ..decision import Decision
from ..expr import Env
from ..logic import UNKNOWN
from ..rulesets import CompiledCriteria
from .host import Session
from .translate import MARKER, Translation, json_number, prop


class DurableCriteria:
    """Stands in for a `CompiledCriteria`: same interface, ``matched`` from durable-rules.

    ``evaluate`` asserts the facts the rule set reads into ``session`` and reads which
    criteria fired true and which fired false: ``matched`` are those that fired true,
    ``undecided`` those that fired neither way (they need a fact that is unknown). The
    *explanation* still comes from the native evaluator (on the same facts), as do the
    ``clauses``/``tests`` that witness searches use; should the two disagree, the explanation
    would contradict ``matched`` — which is what the differential tests rule out.
    """

    kind = "criteria"

    def __init__(self, native: CompiledCriteria, translation: Translation, session: Session,
                 name: str, facts: Mapping[str, Fact]) -> None:
        self.native = native
        self.model = native.model
        self.id = native.id
        self.clauses = native.clauses
        self.tests = native.tests
        self.explain = native.explain
        self.name = name
        self._session = session
        self._ids = tuple(c.id for c in translation.criteria)
        self._reads = tuple(
            (fact, prop(fact), use == "known", facts[fact].default,
             facts[fact].type.name in ("integer", "number"))
            for fact, use in translation.reads.items())

    def message(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The durable message of a fact set: each fact read (its value, or 1 where only its
        presence is tested); an unknown fact is left out, so no condition that needs it holds.
        Raises `RuleError` for a number durable-rules cannot read exactly."""
        message: dict[str, Any] = {MARKER: 1}
        for fact, key, presence_only, default, numeric in self._reads:
            value = facts.get(fact, UNKNOWN)
            if value is UNKNOWN or value is None:
                if default is None:
                    continue
                value = default
            if presence_only:
                message[key] = 1
            elif numeric and value.__class__ is not bool:
                try:
                    message[key] = json_number(value)
                except ValueError as exc:
                    raise RuleError(f"rule set '{self.id}', fact '{fact}': {exc}; use the "
                                    "native rules back end for such values") from None
            else:
                message[key] = value
        return message

    def evaluate(self, env: Env) -> Decision:
        fired = self._session.run(self.name, self.message(env.facts))
        matched: list[str] = []
        undecided: list[str] = []
        for i, cid in enumerate(self._ids):
            true, false = (i, True) in fired, (i, False) in fired
            if true and false:
                raise RuleError(f"durable-rules found criterion '{cid}' of rule set "
                                f"'{self.id}' both true and false")
            if true:
                matched.append(cid)
            elif not false:
                undecided.append(cid)
        holds: Any = True if matched else (UNKNOWN if undecided else False)
        return Decision(self.id, matched, matched, holds, self.explain, env, tuple(undecided))

    def sides(self, env: Env) -> list[tuple[str, Any]]:
        """Each criterion id with its truth value, as durable-rules decides it (coverage)."""
        decision = self.evaluate(env)
        return [(cid, True if cid in decision.matched else
                 UNKNOWN if cid in decision.undecided else False) for cid in self._ids]
