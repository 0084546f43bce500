"""durable-rules as a second, independent evaluator of ``criteria`` rule sets (extra
``durable``).

Select it with ``Engine(workflows, rules_backend="durable")``. Each engine gets its own
private ``durable.engine.Host`` (never the global one of ``durable.lang``); each ``criteria``
rule set of each workflow version is translated (see `translate`) into a durable-rules JSON
ruleset named after the engine, the workflow id and version and the rule set, and answers
``engine.decide`` and the guards that read ``rules.X``. ``table`` and ``ranking`` rule sets stay
native. Strict: a criteria rule set durable-rules cannot express is an error when the engine
is built (`RulesBackendError`, every clause with its position and the reason), never a silent
fallback. `check` lists those problems without durable-rules installed.

Importing this package does not import durable-rules; building a `DurableRules` does.
"""

from __future__ import annotations

import itertools
from collections.abc import MutableMapping
from typing import Any

from ...errors import Problem, RulesBackendError
from ...model import CriteriaRuleSet, Workflow, where_of
from ..rulesets import CompiledCriteria
from .criteria import DurableCriteria
from .host import Session
from .translate import Gap, Translation, translate

__all__ = ["DurableRules", "check"]

_ENGINES = itertools.count(1)


def check(workflow: Workflow) -> list[Problem]:
    """Every clause of the workflow's criteria rule sets that durable-rules cannot express,
    as problems with ``file:line:column`` (where the loader found each clause; 0 for a
    workflow made in code). Empty when the back end can take the workflow."""
    _, problems = _translate_all(workflow)
    return problems


def _translate_all(workflow: Workflow) -> tuple[dict[str, Translation], list[Problem]]:
    translations: dict[str, Translation] = {}
    gaps: list[Gap] = []
    for rid, rule_set in workflow.rules.items():
        if rule_set.kind != "criteria":
            continue
        translation, found = translate(rule_set, workflow.facts)
        if translation is not None:
            translations[rid] = translation
        gaps += found
    return translations, _locate(workflow, gaps) if gaps else []


def _locate(workflow: Workflow, gaps: list[Gap]) -> list[Problem]:
    problems = []
    for gap in gaps:
        rule_set = workflow.rules[gap.rule_set]
        where = where_of("", workflow.file)
        if isinstance(rule_set, CriteriaRuleSet):
            criterion = next(c for c in rule_set.criteria if c.id == gap.criterion)
            where = where_of(criterion.clauses[gap.clause], workflow.file)
        line, column = where.at(gap.offset)
        problems.append(Problem(workflow.file or workflow.id, line, column,
                                f"rule set '{gap.rule_set}', criterion '{gap.criterion}': "
                                f"durable-rules cannot express this: {gap.reason}"))
    return problems


class DurableRules:
    """The durable-rules back end of one engine: one private host, one lock."""

    def __init__(self) -> None:
        self._session = Session()
        self._number = next(_ENGINES)
        self._added = itertools.count(1)

    def check(self, workflow: Workflow) -> list[Problem]:
        """See `check`."""
        return check(workflow)

    def adopt(self, workflow: Workflow, rules: MutableMapping[str, Any]) -> None:
        """Register the workflow's criteria rule sets and put their durable evaluators in
        ``rules`` (the compiled rule sets of the workflow, by id). Raises
        `RulesBackendError` (registering nothing) if one cannot be expressed."""
        translations, problems = _translate_all(workflow)
        if problems:
            raise RulesBackendError(problems)
        added = next(self._added)
        for rid, translation in translations.items():
            name = f"zorgflow{self._number}_{added}_{workflow.id}_v{workflow.version}_{rid}"
            native = rules[rid]
            assert isinstance(native, CompiledCriteria)
            self._session.register(name, translation)
            rules[rid] = DurableCriteria(native, translation, self._session, name,
                                         workflow.facts)
