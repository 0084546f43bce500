"""The three rule-set kinds, compiled once into evaluators that return `Decision`s.

Evaluation only calls precompiled closures; the explanation is produced on demand by walking
the same closures again with the same environment.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from .._frozen import Frozen, record
from ..errors import RuleError
from ..model import (
    Cell,
    CriteriaRuleSet,
    FactType,
    RankingRuleSet,
    RuleSet,
    TableRuleSet,
)
from .arithmetic import candidate_total, weighted
from .codegen import criteria_code, ranking_code, table_code
from .decision import Decision
from .expr import MASK, Compile, Env, Expr, Scope, compile_expr, show, shown
from .logic import UNKNOWN, k_and, k_or, truth_word
from .overlap import cover_of, first_common, overlapping_pairs

CellTest = Callable[[Any], Any]
_CRITERION_MEMO = 2048


def _src(source: str) -> str:
    return f"  [bron: {source}]" if source else ""


class CompiledCriteria:
    """``kind: criteria`` — the outcome is the ids of the criteria that hold."""

    kind = "criteria"

    def __init__(self, rule_set: CriteriaRuleSet, scope: Scope,
                 compile: Compile = compile_expr) -> None:
        self.model = rule_set
        self.id = rule_set.id
        self.clauses: list[tuple[str, str, list[Expr]]] = []
        tests: list[tuple[str, Callable[[Env], Any]]] = []
        for criterion in rule_set.criteria:
            exprs = [compile(c, scope, expect_bool=True) for c in criterion.clauses]
            self.clauses.append((criterion.id, criterion.mode, exprs))
            tests.append((criterion.id, _combine(criterion.mode, exprs)))
        self.tests = tuple(tests)
        #: each criterion's test by its id (one criterion asked alone: `Program.decider`)
        self.test_of = dict(tests)
        joiners = {"any": " (any of)", "all": " (all of)", "when": ""}
        # explanation blocks of criteria that read facts only are memoised on those values
        self.explain_plan: tuple[
            tuple[str, str, list[Expr], tuple[str, ...], dict[Any, Any] | None], ...
        ] = tuple(
            (f": {c.id} — {c.label}{joiners[c.mode]}{_src(c.cite)}", mode, exprs,
             tuple(dict.fromkeys(n for e in exprs for n in e.facts_read)),
             {} if all(e.pure for e in exprs) else None)
            for c, (_, mode, exprs) in zip(rule_set.criteria, self.clauses, strict=True))
        #: whether a clause reads the time (else a decision needs no ``at``)
        self.uses_time = any(e.uses_time for _, _, exprs in self.clauses for e in exprs)
        #: the generated functions (`zorgflow.rules.codegen`), None where closures are used
        self.code = criteria_code(self.id, self.clauses, scope,
                                  lambda facts, at: self.explain(Env(facts, at)), Decision,
                                  self)
        #: for `Engine.decide`: types the given facts and decides in one generated function
        self.given: Callable[[Mapping[str, Any], Any, Any], Decision | None] | None = \
            self.code.given if self.code is not None else None
        if self.code is not None:
            generated = self.code.evaluate

            def evaluate(env: Env) -> Decision:
                matched, undecided = generated(env.facts)
                holds: Any = True if matched else (UNKNOWN if undecided else False)
                return Decision(self.id, matched, matched, holds, self.explain, env,
                                tuple(undecided))

            self.evaluate = evaluate  # type: ignore[method-assign]

    def evaluate(self, env: Env) -> Decision:
        """The decision on ``env`` (the closures: the reference the generated code meets)."""
        matched: list[str] = []
        undecided: list[str] = []
        for cid, test in self.tests:
            value = test(env)
            if value is True:
                matched.append(cid)
            elif value is not False:
                undecided.append(cid)
        holds: Any = True if matched else (UNKNOWN if undecided else False)
        return Decision(self.id, matched, matched, holds, self.explain, env, tuple(undecided))

    def sides(self, env: Env) -> list[tuple[str, Any]]:
        """Each criterion id with its truth value (for coverage)."""
        return [(cid, test(env)) for cid, test in self.tests]

    def explain(self, env: Env) -> list[str]:
        lines = []
        facts = env.facts
        for head, mode, exprs, reads, memo in self.explain_plan:
            key = tuple([facts.get(name, UNKNOWN) for name in reads]) if memo is not None \
                else None
            if key is not None:
                try:
                    cached = memo.get(key)  # type: ignore[union-attr]
                except TypeError:  # an unhashable value: no memo
                    key, cached = None, None
                if cached is not None:
                    lines.extend(cached)
                    continue
            explained = [expr.explain_line(env) for expr in exprs]
            values = [value for value, _ in explained]
            value = k_or(*values) if mode == "any" else k_and(*values)
            block = (truth_word(value) + head, *[line for _, line in explained])
            if key is not None and len(memo) < _CRITERION_MEMO:  # type: ignore[arg-type]
                memo[key] = block  # type: ignore[index]
            lines.extend(block)
        return lines


def _combine(mode: str, exprs: list[Expr]) -> Callable[[Env], Any]:
    fns = [e.reference for e in exprs]  # the closures: the reference
    if len(fns) == 1:
        return fns[0]
    if mode == "any":
        return lambda env: k_or(*(f(env) for f in fns))

    def all_of(env: Env) -> Any:
        result: Any = True
        for f in fns:
            value = f(env)
            if value is False:
                return False
            if value is not True:
                result = UNKNOWN
        return result

    return all_of


def cell_test(cell: Cell) -> CellTest:
    """The test of one table cell on an input value.

    Tables are closed-world, as DMN tables are: an unknown input matches only ``absent``
    and ``any`` cells, so a row either matches or does not.
    """
    op, values = cell.op, cell.values
    if op == "any":
        return lambda v: True
    if op == "absent":
        return lambda v: v is UNKNOWN
    compare: Callable[[Any], bool]
    if op == "eq":
        (x,) = values
        compare = lambda v: v == x  # noqa: E731
    elif op == "in":
        allowed = frozenset(values)
        compare = lambda v: v in allowed  # noqa: E731
    elif op == "ne":
        (x,) = values
        compare = lambda v: v != x  # noqa: E731
    elif op == "range":
        lo, hi = values
        compare = lambda v: lo <= v <= hi  # noqa: E731
    else:
        (x,) = values
        compare = {
            "lt": lambda v: v < x, "le": lambda v: v <= x,
            "gt": lambda v: v > x, "ge": lambda v: v >= x,
        }[op]

    def test(v: Any) -> Any:
        return False if v is UNKNOWN else compare(v)

    return test


def _always(value: Any) -> bool:
    return True


@record
class Overlap(Frozen):
    """Two rows of a ``unique`` table that can both match, with an input that hits both."""

    first: str
    second: str
    witness: dict[str, Any]


@record
class OverlapCheck(Frozen):
    """The outcome of a unique table's overlap check."""

    overlaps: tuple[Overlap, ...]
    """The first overlapping pairs, in row order."""
    total: int
    """How many pairs overlap (at least this many when the check is not complete)."""
    complete: bool
    """False when the check stopped at its bound (a very large or very overlapping table)."""


class CompiledTable:
    """``kind: table`` — a decision table with hit policy unique, first or collect."""

    kind = "table"

    def __init__(self, rule_set: TableRuleSet, scope: Scope,
                 compile: Compile = compile_expr) -> None:
        self.model = rule_set
        self.id = rule_set.id
        self.inputs = [compile(i.expr, scope) for i in rule_set.inputs]
        self.input_fns = tuple(e.fn for e in self.inputs)
        index = {inp.id: n for n, inp in enumerate(rule_set.inputs)}
        self.rows = tuple(
            (row.id, tuple((index[name], cell_test(cell)) for name, cell in row.cells.items()
                           if cell.op != "any"), dict(row.outputs))
            for row in rule_set.rows
        )
        #: the rows' tests as one generated function (`zorgflow.rules.codegen.table_code`),
        #: None where the closures in ``rows`` answer
        self.code = table_code(self.id, len(self.inputs), [
            [(index[name], cell.op, cell.values) for name, cell in row.cells.items()
             if cell.op != "any"] for row in rule_set.rows], scope)

    def sides(self, env: Env) -> list[tuple[str, Any]]:
        """Each row id with whether it matches (for coverage)."""
        values = [fn(env) for fn in self.input_fns]
        return [(row[0], hit) for row, hit in zip(self.rows, self._row_values(values),
                                                   strict=True)]

    def _row_values(self, values: list[Any]) -> list[bool]:
        if self.code is not None:
            return self.code(values)
        return self.reference_row_values(values)

    def reference_row_values(self, values: list[Any]) -> list[bool]:
        """Whether each row matches ``values``, from the cells' closures (the reference the
        generated code meets)."""
        return [all(test(values[i]) for i, test in cells) for _, cells, _ in self.rows]

    def evaluate(self, env: Env) -> Decision:
        values = [fn(env) for fn in self.input_fns]
        hits = [n for n, hit in enumerate(self._row_values(values)) if hit]
        matched = [self.rows[n][0] for n in hits]
        policy = self.model.hit_policy
        outcome: Any = None
        if policy == "collect":
            outcome = [dict(self.rows[n][2]) for n in hits]
        elif hits:
            if policy == "unique" and len(hits) > 1:
                raise RuleError(f"rule set '{self.id}' (hit policy unique): rows "
                                f"{', '.join(matched)} all match; make the rows exclusive")
            matched = matched[:1]
            outcome = dict(self.rows[hits[0]][2])
        return Decision(self.id, outcome, matched, bool(hits), self.explain, env)

    def explain(self, env: Env) -> list[str]:
        values = [fn(env) for fn in self.input_fns]
        lines = ["inputs: " + ", ".join(
            f"{inp.id} = " + shown(v, bool(expr.personal))
            for inp, expr, v in zip(self.model.inputs, self.inputs, values, strict=True))]
        results = self._row_values(values)
        used: str | None = None  # under 'first', the row that gives the outcome
        for row, result in zip(self.model.rows, results, strict=True):
            cells = ", ".join(f"{k} {c.text}" for k, c in row.cells.items()) or "(always)"
            out = ", ".join(f"{k} = {show(v)}" for k, v in row.outputs.items())
            word = truth_word(result)
            if result is True and self.model.hit_policy == "first":
                if used is None:
                    used = row.id
                else:
                    word = f"true, not used (row {used} came first)"
            lines.append(f"{word}: row {row.id} — when {cells} then {out}{_src(row.cite)}")
        if not any(r is True for r in results):
            unknown = [inp.id for inp, v in zip(self.model.inputs, values, strict=True)
                       if v is UNKNOWN]
            lines.append("no outcome: no row covers these inputs"
                         + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
        return lines

    # -- load-time analysis -----------------------------------------------------------------
    def samples(self) -> list[list[Any]]:
        """Representative input values: together they hit every region any cell describes."""
        result = []
        for n, inp in enumerate(self.model.inputs):
            cells = [row.cells[inp.id] for row in self.model.rows if inp.id in row.cells]
            result.append(_sample_values(inp.type, cells, n))
        return result

    def check_overlaps(self, limit: int = 20) -> OverlapCheck:
        """Pairs of rows that can match the same input (a unique table must have none): the
        first ``limit`` in row order, each with a witness, and how many there are."""
        samples = self.samples()
        types = [inp.type.name for inp in self.model.inputs]
        names = [inp.id for inp in self.model.inputs]
        indexes: list[dict[Any, int]] = []
        for values in samples:
            index: dict[Any, int] = {}
            for k, v in enumerate(values):
                try:
                    index.setdefault(v, k)
                except TypeError:
                    continue
            indexes.append(index)
        covers = [
            [cover_of(row.cells.get(name), samples[i], indexes[i],
                      types[i] in ("integer", "number"),
                      cell_test(row.cells[name]) if name in row.cells else _always)
             for i, name in enumerate(names)]
            for row in self.model.rows]
        search = overlapping_pairs(covers, [len(s) for s in samples])
        shown_pairs = []
        for a, b in search.pairs[:limit]:
            witness = {}
            for i, name in enumerate(names):
                common = first_common(covers[a][i], covers[b][i])
                witness[name] = samples[i][common if common is not None else 0]
            shown_pairs.append(Overlap(self.rows[a][0], self.rows[b][0], witness))
        return OverlapCheck(tuple(shown_pairs), len(search.pairs), search.complete)

    def overlaps(self) -> list[Overlap]:
        """The first 20 pairs of rows that can match the same input."""
        return list(self.check_overlaps().overlaps)

    def gaps(self, limit: int = 10_000, cells: int = 2_000_000) -> list[dict[str, Any]]:
        """Input combinations (from the samples) that no row covers; at most ``limit``
        combinations checked, fewer in a large table (at most ``cells`` row tests)."""
        samples = self.samples()
        names = [inp.id for inp in self.model.inputs]
        found = []
        limit = min(limit, max(1, cells // max(1, len(self.rows))))
        for count, combo in enumerate(itertools.product(*samples)):
            if count >= limit:
                break
            if not any(r is True for r in self._row_values(list(combo))):
                found.append(dict(zip(names, combo, strict=True)))
        return found


def _sample_values(t: FactType, cells: list[Cell], salt: int) -> list[Any]:
    points: list[Any] = [UNKNOWN]
    if t.name == "boolean":
        return [*points, True, False]
    if t.name == "enum":
        return [*points, *t.values]
    literals = [v for c in cells if c.op not in ("any", "absent") for v in c.values]
    if t.name in ("integer", "number"):
        bounds = sorted({float(v) for v in literals
                         if isinstance(v, int | float) and not isinstance(v, bool)} | {0.0})
        nums: set[float] = {bounds[0] - 1000, bounds[-1] + 1000}
        if t.name == "integer":
            for b in bounds:
                nums.update((b - 1, b, b + 1))
            return [*points, *sorted(int(n) for n in nums)]
        # every bound, and a point strictly between each two neighbouring bounds
        nums.update(bounds)
        nums.update((a + b) / 2 for a, b in itertools.pairwise(bounds))
        nums.update((bounds[0] - 1, bounds[-1] + 1))
        return [*points, *sorted(nums)]
    return [*points, *dict.fromkeys(literals), f"<anders {salt}>"]


class CompiledRanking:
    """``kind: ranking`` — candidates scored on weighted criteria, some required."""

    kind = "ranking"

    def __init__(self, rule_set: RankingRuleSet, scope: Scope,
                 compile: Compile = compile_expr) -> None:
        self.model = rule_set
        self.id = rule_set.id
        candidates = scope.facts.get(rule_set.candidates)
        #: the candidates are personal data: their ids and values are masked when shown
        self.personal = candidates is not None and candidates.personal_data
        self.criteria: list[tuple[str, float, bool, Expr, bool]] = []
        for c in rule_set.criteria:
            is_when = c.when is not None
            source = c.when if c.when is not None else (c.points or "0")
            expr = compile(source, scope, expect_bool=is_when)
            self.criteria.append((c.id, c.weight, c.required, expr, is_when))
        #: the scoring of every candidate as one generated function (None: the closures
        #: score, as `score_reference` does; they stay the reference and explain)
        self.code = ranking_code(self.id, self.criteria, scope)

    def sides(self, env: Env) -> list[tuple[str, Any]]:
        """Rankings have no true/false sides."""
        return []

    def _score(self, env: Env, item: Mapping[str, Any]) -> tuple[bool, dict[str, float], Env]:
        ienv = env.with_item(item)
        eligible = True
        points: dict[str, float] = {}
        for cid, weight, required, expr, is_when in self.criteria:
            value = expr.reference(ienv)
            if is_when:
                points[cid] = weight if value is True else 0
                if required and value is not True:
                    eligible = False
            else:
                points[cid] = weighted(value, weight)
        return eligible, points, ienv

    def score_reference(self, env: Env, candidates: list[Mapping[str, Any]]
                        ) -> list[tuple[bool, dict[str, float]]]:
        """Each candidate's eligibility and points, by the closures."""
        return [self._score(env, item)[:2] for item in candidates]

    def _candidates(self, env: Env) -> list[Mapping[str, Any]] | None:
        value = env.facts.get(self.model.candidates, UNKNOWN)
        return None if value is UNKNOWN else list(value)

    def evaluate(self, env: Env) -> Decision:
        candidates = self._candidates(env)
        if candidates is None:
            return Decision(self.id, None, [], UNKNOWN, self.explain, env,
                            personal=self.personal)
        scored: list[tuple[float, dict[str, Any]]] = []
        code = self.code
        scores = (code(env, candidates) if code is not None
                  else self.score_reference(env, candidates))
        for item, (eligible, points) in zip(candidates, scores, strict=True):
            if eligible:
                total = candidate_total(points.values())
                scored.append((total, {"id": item.get(self.model.candidate_id),
                                       "total": total, "points": points}))
        scored.sort(key=lambda pair: -pair[0])
        ranked = [entry for _, entry in scored]
        matched = [str(r["id"]) for r in ranked]
        return Decision(self.id, ranked, matched, bool(ranked), self.explain, env,
                        personal=self.personal)

    def explain(self, env: Env) -> list[str]:
        candidates = self._candidates(env)
        if candidates is None:
            return [f"no candidates: fact '{self.model.candidates}' is unknown"]
        lines = []
        model = {c.id: c for c in self.model.criteria}
        for n, item in enumerate(candidates, start=1):
            eligible, points, ienv = self._score(env, item)
            head = "eligible" if eligible else "not eligible"
            name = item.get(self.model.candidate_id)
            if self.personal:
                name = f"candidate {n}"
            elif name is None:
                name = f"candidate {n} (no {self.model.candidate_id})"
            total = candidate_total(points.values())
            lines.append(f"{head}: {name} — {total:g} point{'' if total == 1 else 's'}")
            for cid, weight, required, expr, is_when in self.criteria:
                value = expr.fn(ienv)
                text = truth_word(value) if is_when else shown(
                    value, bool(expr.personal) or (self.personal and bool(expr.item_read)))
                used = self._values_used(expr, env, ienv)
                unit = "point" if points[cid] == 1 else "points"
                lines.append(f"    {points[cid]:g} {unit}: {cid} — {model[cid].label} "
                             f"(weight {weight:g}{', required' if required else ''}): {text}"
                             + (f"  ({used})" if used else "") + _src(model[cid].cite))
        return lines or ["no candidates given"]

    def _values_used(self, expr: Expr, env: Env, ienv: Env) -> str:
        """What a criterion read, candidate values masked when they are personal data."""
        if not self.personal or not expr.item_read:
            return expr.values_used(ienv)
        facts = env.facts
        parts = [prefix + shown(facts.get(name, UNKNOWN), personal)
                 for name, prefix, personal in expr.plan]
        parts += [f"{call} = {MASK}" for call, _, _ in expr.computed]
        parts += [f"{name} = {MASK}" for name in expr.item_read]
        return ", ".join(parts)


CompiledRuleSet = CompiledCriteria | CompiledTable | CompiledRanking


def compile_rule_set(rule_set: RuleSet, scope: Scope, compile: Compile = compile_expr
                     ) -> CompiledRuleSet:
    """Compile one rule set, each expression with ``compile`` (`compile_expr` raises
    `ExprError` on a bad expression; the compile stage passes one that records it)."""
    if rule_set.kind == "criteria":
        return CompiledCriteria(rule_set, scope, compile)
    if rule_set.kind == "table":
        return CompiledTable(rule_set, scope, compile)
    return CompiledRanking(rule_set, scope, compile)


def item_scope(rule_set: RankingRuleSet, scope: Scope) -> Scope:
    """The scope of a ranking's criteria: the facts plus ``kandidaat.<field>``."""
    fact = scope.facts.get(rule_set.candidates)
    fields: Mapping[str, FactType] = fact.type.fields if fact is not None else {}
    return Scope(scope.facts, item=fields)

