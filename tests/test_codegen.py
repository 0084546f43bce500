"""Generated rule-set code (zorgflow.rules.codegen) against the closures, the reference.

A hypothesis differential test holds the generated functions and the closure interpreter to
the same outcome, matched ids, undecided ids and explanation: on every criteria rule set of
the shipped workflows (directly and through `Engine.decide`, against an engine built with
``ZORGFLOW_NO_CODEGEN=1``) and on random formulas over boolean, number, enum and date facts
with unknowns.
"""

from __future__ import annotations

import itertools
import math
import sys
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zorgflow
from zorgflow import UNKNOWN, InvalidFacts
from zorgflow.model import (
    Cell,
    CriteriaRuleSet,
    Criterion,
    DataField,
    Fact,
    FactType,
    RankingCriterion,
    RankingRuleSet,
    TableInput,
    TableRow,
    TableRuleSet,
)
from zorgflow.model.values import exact_form
from zorgflow.program import explain_guard
from zorgflow.rules import codegen
from zorgflow.rules.decision import Decision
from zorgflow.rules.expr import Env, Scope, compile_expr
from zorgflow.rules.rulesets import CompiledCriteria, CompiledRanking, CompiledTable

AT = datetime(2026, 2, 28, 12, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


@pytest.fixture(scope="module")
def engines() -> tuple[zorgflow.Engine, zorgflow.Engine]:
    """(with generated code, without): each loads the workflows afresh."""
    mp = pytest.MonkeyPatch()
    try:
        mp.delenv("ZORGFLOW_NO_CODEGEN", raising=False)
        fast = zorgflow.Engine.from_directory(WORKFLOWS)
        mp.setenv("ZORGFLOW_NO_CODEGEN", "1")
        slow = zorgflow.Engine.from_directory(WORKFLOWS)
    finally:
        mp.undo()
    return fast, slow


def criteria_sets(engine: zorgflow.Engine) -> list[tuple[str, str, CompiledCriteria]]:
    found = []
    for wf in engine.workflows:
        for rid, compiled in engine._get(wf.id).rules.items():
            if isinstance(compiled, CompiledCriteria):
                found.append((wf.id, rid, compiled))
    return found


def values_for(fact: Fact | FactType) -> st.SearchStrategy[Any]:
    t = fact.type if isinstance(fact, Fact) else fact
    if t.name == "boolean":
        return st.booleans()
    if t.name == "enum":
        return st.sampled_from(t.values)
    if t.name == "integer":
        return st.integers(-3, 3)
    if t.name == "number":
        return st.floats(-3, 3, allow_nan=False)
    if t.name == "string":
        return st.sampled_from(["x", "y", ""])
    return st.nothing()


def test_code_generation_covers_the_shipped_criteria(engines: Any) -> None:
    fast, slow = engines
    sets = criteria_sets(fast)
    assert len(sets) >= 3
    assert all(compiled.code is not None for _, _, compiled in sets)
    assert all(compiled.code is None for _, _, compiled in criteria_sets(slow))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_shipped_criteria_generated_equals_closures(engines: Any, data: st.DataObject) -> None:
    fast, slow = engines
    wid, rid, compiled = data.draw(st.sampled_from(criteria_sets(fast)))
    program = fast._get(wid)
    reads = sorted({n for _, _, exprs in compiled.clauses for e in exprs for n in e.facts_read})
    facts = data.draw(st.fixed_dictionaries({}, optional={
        n: values_for(program.model.facts[n]) for n in reads}))
    env = Env(dict(facts), AT)
    reference = CompiledCriteria.evaluate(compiled, env)  # the closures
    generated = compiled.evaluate(env)
    assert generated.matched == reference.matched
    assert generated.undecided == reference.undecided
    assert generated.holds is reference.holds
    assert generated.explanation == reference.explanation
    # through Engine.decide: the generated reader of given facts against the closures' engine
    ours, theirs = fast.decide(wid, rid, facts), slow.decide(wid, rid, facts, AT)
    assert (ours.matched, ours.undecided, ours.outcome) == \
        (theirs.matched, theirs.undecided, theirs.outcome)
    assert ours.holds is theirs.holds
    assert ours.explanation == theirs.explanation
    assert ours.to_dict() == theirs.to_dict()


def guards(engine: zorgflow.Engine) -> list[tuple[str, str, str]]:
    """(workflow, state, event) of every guarded transition of the shipped workflows."""
    return [(wf.id, state, event) for wf in engine.workflows
            for (state, event), ct in engine._get(wf.id).table.items() if ct.guard is not None]


def test_the_shipped_workflows_have_guards_that_read_rule_sets(engines: Any) -> None:
    fast, _ = engines
    found = [(w, s, e) for w, s, e in guards(fast)
             if fast._get(w).table[(s, e)].guard.rules_read]  # type: ignore[union-attr]
    assert found


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_shipped_guards_equal_with_and_without_generated_code(engines: Any,
                                                              data: st.DataObject) -> None:
    """Every guard of the shipped workflows (those reading rule sets read the generated
    criteria code in one engine and the closures in the other): same value, same
    explanation."""
    fast, slow = engines
    wid, state, event = data.draw(st.sampled_from(guards(fast)))
    programs = fast._get(wid), slow._get(wid)
    ct = programs[0].table[(state, event)]
    guard = ct.guard
    assert guard is not None
    reads = set(guard.facts_read)
    for rid in guard.rules_read:
        compiled = programs[0].rules[rid]
        if isinstance(compiled, CompiledCriteria):
            reads |= {n for _, _, exprs in compiled.clauses for e in exprs for n in e.facts_read}
    model = programs[0].model
    facts = data.draw(st.fixed_dictionaries({}, optional={
        n: st.lists(CANDIDATE, max_size=3) if n == "kandidaten" else values_for(model.facts[n])
        for n in sorted(reads) if n == "kandidaten" or
        model.facts[n].type.name in ("boolean", "enum", "integer", "number", "string")}))
    fields = {n: values_for(ct.model.data[n].type) for n in guard.data_read
              if ct.model.data[n].type.name in ("boolean", "enum", "integer", "number", "string")}
    given_data = data.draw(st.fixed_dictionaries({}, optional=fields))
    results = []
    for program in programs:
        env = Env(facts, AT, given_data, program.decider(facts, AT))
        results.append((program.table[(state, event)].guard.fn(env),  # type: ignore[union-attr]
                        explain_guard(program.table[(state, event)].guard, env)))  # type: ignore[arg-type]
    assert results[0][0] is results[1][0]
    assert results[0][1] == results[1][1]


def test_decide_falls_back_for_values_that_need_typing(engines: Any) -> None:
    fast, slow = engines
    facts = {"zorg_ketenpartner_adequaat": "ja", "overgedragen_aan_netwerk": "lthg"}
    for engine in (fast, slow):
        with pytest.raises(InvalidFacts):
            engine.decide("lzn", "afsluitcriteria", facts)
        with pytest.raises(InvalidFacts):
            engine.decide("lzn", "afsluitcriteria", {"geen_feit": True})
        with pytest.raises(InvalidFacts):
            engine.decide("lzn", "afsluitcriteria", {"overgedragen_aan_netwerk": "elders"})
    # a fact the rule set does not read, None (forgets) and UNKNOWN take the general path
    program = fast._get("lzn")
    read = {n for _, _, exprs in program.rules["afsluitcriteria"].clauses for e in exprs
            for n in e.facts_read}
    other = next(n for n, t in program.fact_types.items()
                 if n not in read and t.name == "boolean")
    for extra in ({"zorg_ketenpartner_adequaat": None}, {"zorg_ketenpartner_adequaat": UNKNOWN},
                  {other: True}, {other: "ja"}):
        given_facts = {"overgedragen_aan_netwerk": "lthg", **extra}
        results = []
        for engine in (fast, slow):
            try:
                d = engine.decide("lzn", "afsluitcriteria", given_facts)
                results.append((d.matched, d.undecided, d.explanation))
            except InvalidFacts as exc:
                results.append(str(exc))  # type: ignore[arg-type]
        assert results[0] == results[1]


def test_explanation_describes_the_facts_given_even_if_the_dict_changes(engines: Any) -> None:
    fast, _ = engines
    facts: dict[str, Any] = {"zorg_ketenpartner_adequaat": True}
    decision = fast.decide("lzn", "afsluitcriteria", facts)
    facts["zorg_ketenpartner_adequaat"] = False
    assert any("zorg_ketenpartner_adequaat = true" in line for line in decision.explanation)


def test_decide_reads_the_time_only_when_a_rule_needs_it(engines: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fast, _ = engines
    from zorgflow.engine import engine as engine_module

    def refuse() -> Any:
        raise AssertionError("now() was called")

    monkeypatch.setattr(engine_module, "now", refuse)
    fast.decide("lzn", "afsluitcriteria", {"zorg_ketenpartner_adequaat": True})
    fast.decide("lzn", "afsluitcriteria", {"zorg_ketenpartner_adequaat": None})
    with pytest.raises(ValueError):
        fast.decide("lzn", "afsluitcriteria", {"zorg_ketenpartner_adequaat": True},
                    datetime(2026, 1, 1))  # a naive time is still refused


def test_the_generated_code_calls_no_eval_or_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.delenv("ZORGFLOW_NO_CODEGEN", raising=False)
    engine = zorgflow.Engine.from_directory(WORKFLOWS)
    assert engine.decide("lzn", "afsluitcriteria", {"zorg_ketenpartner_adequaat": True}
                         ).matched == ["zorg_bij_ketenpartner"]


def test_fact_names_are_only_string_constants_in_the_generated_code() -> None:
    name = "x"
    scope = Scope({name: Fact(name, "x", FactType("boolean"))})
    expr = compile_expr("x", scope, expect_bool=True)
    code = codegen.criteria_code("t", [("c", "all", [expr])], scope, lambda facts, at: [],
                                 Decision)
    assert code is not None
    assert code.names == ("x",)
    assert code.evaluate({"x": True}) == (["c"], [])
    assert code.evaluate({}) == ([], ["c"])


# -- random formulas ----------------------------------------------------------------------------

ENUM = FactType("enum", values=("geen", "lthg", "zorg_en_veiligheidshuis", "ander"))


def _fact(name: str, ftype: FactType, default: Any = None) -> Fact:
    return Fact(name, name, ftype, default=default)


FACTS = {f.id: f for f in [
    _fact("a", FactType("boolean")), _fact("b", FactType("boolean")),
    _fact("c", FactType("boolean")), _fact("dflt", FactType("boolean"), default=True),
    _fact("n", FactType("integer")), _fact("m", FactType("integer")),
    _fact("x", FactType("number")), _fact("s", FactType("string")),
    _fact("netwerk", ENUM), _fact("d", FactType("date")),
    _fact("xs", FactType("list", items=FactType("string"))),
]}
SCOPE = Scope(FACTS)
ATOMS = ["a", "b", "c", "dflt", "n < 2", "n == m", "x >= 1.5", "-1 < x", "s != 'x'",
         "netwerk == 'geen'", "netwerk in ['lthg', 'ander']", "netwerk not in ('geen',)",
         "known(n)", "known(netwerk)", "not known(a)", "'x' in xs", "true", "false",
         "1 <= n <= 2", "n != 1.5", "facts.a", "known(a or b)", "len(xs) > 1", "-n < 0",
         "known(-n)"]
DATE_ATOMS = ["d < '2026-01-01'", "days_since(d) > 3", "known(d)"]


def formulas(atoms: list[str], depth: int) -> st.SearchStrategy[str]:
    atom = st.sampled_from(atoms)
    if depth == 0:
        return atom
    sub = formulas(atoms, depth - 1)
    return st.one_of(
        atom,
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        sub.map(lambda f: f"not ({f})"),
    )


FACT_VALUES = st.fixed_dictionaries({}, optional={
    "a": st.booleans(), "b": st.booleans(), "c": st.booleans(), "dflt": st.booleans(),
    "n": st.integers(-2, 3), "m": st.integers(-2, 3), "x": st.floats(-3, 3, allow_nan=False),
    "s": st.sampled_from(["x", "y"]), "netwerk": st.sampled_from(ENUM.values),
    "d": st.dates(date(2025, 1, 1), date(2027, 1, 1)),
    "xs": st.lists(st.sampled_from(["x", "geen"]), max_size=3).map(tuple),
})


def _check(sources: list[str], mode: str, facts: dict[str, Any]) -> None:
    exprs = [compile_expr(s, SCOPE, expect_bool=True) for s in sources]
    code = codegen.criteria_code("t", [("c", mode, exprs)], SCOPE, lambda facts, at: [],
                                 Decision)
    env = Env(facts, AT)
    values = [e.reference(env) for e in exprs]
    for e, value in zip(exprs, values, strict=True):  # a condition's own generated function
        assert e.fn(env) is value, (e.source, facts)
    if mode == "any":
        want = True if True in values else (False if all(v is False for v in values)
                                            else UNKNOWN)
    else:
        want = False if False in values else (True if all(v is True for v in values)
                                              else UNKNOWN)
    if len(values) == 1:
        want = values[0]
    if code is None:  # the clock: a rule set's functions take no time
        assert any(e.uses_time for e in exprs), sources
        return
    matched, undecided = code.evaluate(facts)
    assert (matched, undecided) == ((["c"], []) if want is True else
                                    ([], []) if want is False else ([], ["c"])), (sources, facts)


@settings(max_examples=400, deadline=None)
@given(st.lists(formulas(ATOMS, 3), min_size=1, max_size=3), st.sampled_from(["all", "any"]),
       FACT_VALUES)
def test_generated_formula_equals_closure(sources: list[str], mode: str,
                                          facts: dict[str, Any]) -> None:
    _check(sources, mode, facts)


@settings(max_examples=200, deadline=None)
@given(st.lists(formulas(ATOMS + DATE_ATOMS + ["d in ['2026-02-28', '2025-06-01']"], 2),
                min_size=1, max_size=2), FACT_VALUES)
def test_criteria_comparing_dates_are_generated_unless_they_read_the_clock(
        sources: list[str], facts: dict[str, Any]) -> None:
    _check(sources, "all", facts)


@settings(max_examples=200, deadline=None)
@given(st.lists(formulas(ATOMS, 2), min_size=1, max_size=3), FACT_VALUES)
def test_generated_criteria_in_a_workflow_equal_the_closures(sources: list[str],
                                                             facts: dict[str, Any]) -> None:
    """A criteria rule set made of random formulas, compiled as a workflow compiles it."""
    rule_set = CriteriaRuleSet("r", "R", (Criterion("c1", "C1", "all", tuple(sources)),
                                          Criterion("c2", "C2", "any", tuple(sources[:1]))))
    compiled = CompiledCriteria(rule_set, SCOPE)
    assert compiled.code is not None
    env = Env(facts, AT)
    reference = CompiledCriteria.evaluate(compiled, env)
    generated = compiled.evaluate(env)
    assert (generated.matched, generated.undecided) == (reference.matched, reference.undecided)
    assert generated.holds is reference.holds
    assert generated.explanation == reference.explanation
    # the generated reader of given facts (None where a value needs typing: numbers, dates)
    forms = {name: exact_form(f.type) for name, f in FACTS.items()}
    program = SimpleNamespace(
        fact_classes={n: cls for n, (cls, _) in forms.items() if cls is not None},
        fact_enums={n: values for n, (_, values) in forms.items() if values is not None})
    assert compiled.given is not None
    decision = compiled.given(facts, AT, program)
    read = set(compiled.code.names)
    if decision is None:
        assert not facts.keys() <= read or any(
            program.fact_classes.get(n) is not v.__class__ for n, v in facts.items())
    else:
        assert facts.keys() <= read
        assert (decision.matched, decision.undecided) == (reference.matched, reference.undecided)
        assert decision.holds is reference.holds
        assert decision.explanation == reference.explanation


DATA = {"reden": DataField("reden", "Reden", FactType("enum", values=("verhuisd", "overleden"))),
        "akkoord": DataField("akkoord", "Akkoord", FactType("boolean")),
        "aantal": DataField("aantal", "Aantal", FactType("integer")),
        "datum": DataField("datum", "Datum", FactType("date"))}
GUARD_SCOPE = Scope(FACTS, data=DATA)
#: dates in guards: generated, but for a list of literal dates (add_days/add_months may leave
#: the calendar, which is unknown: those conditions are generated in Kleene logic only)
GUARD_DATE_ATOMS = [*DATE_ATOMS, "today() > d", "d >= '2026-02-28'", "d == '2026-02-28'",
                    "'2026-03-01' != d", "months_since(d) <= 1", "days_since('2026-01-01') > 30",
                    "data.datum < today()", "known(data.datum)", "days_since(data.datum) == 0",
                    "d in ['2026-02-28']", "add_days(d, 3) > today()", "today() == today()",
                    "add_months(d, n) >= today()", "add_days(data.datum, -1) == d",
                    "add_days(d, 3000000) > d", "known(add_months('9999-12-01', m))",
                    "add_months(d, 3) < add_days(today(), 1)"]
GUARD_ATOMS = [*ATOMS, "data.akkoord", "data.reden == 'verhuisd'", "known(data.reden)",
               "data.aantal > n", "not data.akkoord", "data.reden in ['overleden']"]


@settings(max_examples=600, deadline=None)
@given(formulas(GUARD_ATOMS + GUARD_DATE_ATOMS, 3), FACT_VALUES,
       st.fixed_dictionaries({}, optional={
           "reden": st.sampled_from(["verhuisd", "overleden"]), "akkoord": st.booleans(),
           "aantal": st.integers(-2, 3), "datum": st.dates(date(2026, 2, 20), date(2026, 3, 8))}))
def test_generated_guard_equals_closure(source: str, facts: dict[str, Any],
                                        data: dict[str, Any]) -> None:
    """A condition with event data, as a guard: the generated function against the closure,
    and the explanation (which reads the closures) is unchanged."""
    expr = compile_expr(source, GUARD_SCOPE, expect_bool=True)
    env = Env(facts, AT, data)
    assert expr.closure is not None, source
    assert expr.fn(env) is expr.closure(env), (source, facts, data)
    assert expr.explain_line(env) == (expr.closure(env), expr.explain_line(env)[1])


def test_no_generated_guard_with_codegen_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZORGFLOW_NO_CODEGEN", "1")
    assert compile_expr("a and data.akkoord", GUARD_SCOPE, expect_bool=True).closure is None
    monkeypatch.delenv("ZORGFLOW_NO_CODEGEN")
    assert compile_expr("a and data.akkoord", GUARD_SCOPE, expect_bool=True).closure is not None


RULES = {"r": CriteriaRuleSet("r", "R", (Criterion("c1", "C1", "all", ("a",)),
                                          Criterion("c2", "C2", "any", ("b",))))}
RULE_SCOPE = Scope(FACTS, data=DATA, rules=RULES)
RULES["k"] = RankingRuleSet("k", "K", "kandidaten", "naam",
                            (RankingCriterion("ok", "OK", when="kandidaat.ok"),))
RULE_SCOPE = Scope({**FACTS, "kandidaten": _fact("kandidaten", FactType("list", fields={
    "naam": FactType("string"), "ok": FactType("boolean")}))}, data=DATA, rules=RULES)
RULE_ATOMS = ["rules.r.holds", "not rules.r.holds", "'c1' in rules.r.matched",
              "s in rules.r.matched", "'c2' not in rules.r.matched", "known(rules.r.holds)",
              "s == rules.k.first", "known(rules.k.first)", "rules.k.first != 'y'",
              "not known(kandidaten)", "len(kandidaten) == 0", "len(xs) > n"]
#: (matched, undecided, holds) of rule set r (undecided ids are the ones not matched), and
#: the candidates ranking k places
OUTCOMES = st.tuples(st.lists(st.sampled_from(["c1", "c2"]), unique=True, max_size=2),
                     st.booleans(), st.sampled_from([True, False, UNKNOWN]),
                     st.lists(st.sampled_from(["x", "y"]), unique=True, max_size=2))


class _CountingDecider:
    """``env.decide`` answering a fixed outcome for rule set ``r`` and counting its calls."""

    def __init__(self, matched: list[str], some_undecided: bool, holds: Any,
                 ranked: list[str]) -> None:
        undecided = frozenset({"c1", "c2"} - set(matched)) if some_undecided else frozenset()
        self.decisions = {
            "r": SimpleNamespace(matched=tuple(matched), undecided=undecided, holds=holds),
            "k": SimpleNamespace(matched=tuple(ranked), undecided=frozenset(),
                                 holds=bool(ranked))}
        self.calls = 0

    def __call__(self, rule_id: str) -> Any:
        self.calls += 1
        return self.decisions[rule_id]


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.sampled_from(RULE_ATOMS), formulas(GUARD_ATOMS + RULE_ATOMS, 2)),
       FACT_VALUES, st.fixed_dictionaries({}, optional={
           "reden": st.sampled_from(["verhuisd", "overleden"]), "akkoord": st.booleans()}),
       OUTCOMES, st.one_of(st.none(), st.lists(st.fixed_dictionaries(
           {"naam": st.sampled_from(["x", "y"]), "ok": st.booleans()}), max_size=2)))
def test_generated_guard_reading_a_rule_set_equals_closure(
        source: str, facts: dict[str, Any], data: dict[str, Any],
        outcome: tuple[list[str], bool, Any, list[str]],
        candidates: list[dict[str, Any]] | None) -> None:
    """A guard reading a rule set's outcome (inside and/or too): the same value as the
    closure, and the rule sets decided exactly as often (where the closure stops before one,
    so does the code)."""
    if candidates is not None:
        facts = {**facts, "kandidaten": tuple(candidates)}
    expr = compile_expr(source, RULE_SCOPE, expect_bool=True)
    assert expr.closure is not None, source
    generated, reference = _CountingDecider(*outcome), _CountingDecider(*outcome)
    value = expr.fn(Env(facts, AT, data, generated))
    assert value is expr.closure(Env(facts, AT, data, reference)), (source, facts, outcome)
    assert generated.calls == reference.calls, source


def test_every_shipped_guard_is_generated(engines: Any) -> None:
    """Those reading ``.holds`` or ``.matched`` (LZN's afsluiten among them) and the
    casusregisseur's, which reads a ranking's ``.first`` inside ``or`` after ``len()`` of a
    list of records."""
    fast, slow = engines
    sources = {fast._get(w).table[(s, e)].guard.source: fast._get(w).table[(s, e)].guard
               for w, s, e in guards(fast)}
    assert all(guard.closure is not None for guard in sources.values()), \
        [source for source, guard in sources.items() if guard.closure is None]
    assert "data.afsluitreden in rules.afsluitcriteria.matched" in sources
    assert {"rules.inclusiecriteria.holds", "not rules.zorgplicht.holds"} <= sources.keys()
    assert any("rules.regiecriteria.first" in source for source in sources)
    assert all(slow._get(w).table[(s, e)].guard.closure is None for w, s, e in guards(slow))


#: (input, cells it may have) of the random tables: every cell op on the types it takes
TABLE_CELLS: dict[str, list[Cell]] = {
    "n": [Cell("eq", (1,)), Cell("ne", (0,)), Cell("lt", (2,)), Cell("le", (-1,)),
          Cell("gt", (0,)), Cell("ge", (3,)), Cell("range", (0, 2)), Cell("in", (1, 3)),
          Cell("absent"), Cell("any")],
    "x": [Cell("lt", (1.5,)), Cell("range", (-1.0, 2.0)), Cell("ge", (0.5,)), Cell("absent")],
    "s": [Cell("eq", ("x",)), Cell("ne", ("y",)), Cell("in", ("x", "y")), Cell("absent")],
    "netwerk": [Cell("eq", ("geen",)), Cell("in", ("lthg", "ander")), Cell("ne", ("geen",)),
                Cell("absent"), Cell("any")],
    "a": [Cell("eq", (True,)), Cell("eq", (False,)), Cell("absent"), Cell("any")],
}
TABLE_TYPES = {name: FACTS[name].type for name in TABLE_CELLS}


@st.composite
def tables(draw: st.DrawFn) -> TableRuleSet:
    names = draw(st.lists(st.sampled_from(sorted(TABLE_CELLS)), min_size=1, max_size=4,
                          unique=True))
    rows = []
    for r in range(draw(st.integers(1, 6))):
        cells = {name: draw(st.sampled_from(TABLE_CELLS[name]))
                 for name in names if draw(st.booleans())}
        rows.append(TableRow(f"r{r}", cells, {"uit": r}))
    inputs = tuple(TableInput(name, name, TABLE_TYPES[name], name) for name in names)
    policy = draw(st.sampled_from(["first", "collect"]))
    return TableRuleSet("t", "T", policy, inputs, ("uit",), tuple(rows))


@settings(max_examples=300, deadline=None)
@given(tables(), FACT_VALUES)
def test_generated_table_rows_equal_the_closures(table: TableRuleSet,
                                                 facts: dict[str, Any]) -> None:
    """A random decision table: the generated row tests against the cells' closures, on
    known and unknown inputs; the decision and its explanation are the same either way."""
    generated = CompiledTable(table, SCOPE)
    assert generated.code is not None
    reference = CompiledTable(table, SCOPE)
    reference.code = None
    env = Env(facts, AT)
    values = [fn(env) for fn in generated.input_fns]
    assert generated.code(values) == generated.reference_row_values(values), (table, facts)
    ours, theirs = generated.evaluate(env), reference.evaluate(env)
    assert (ours.matched, ours.outcome, ours.holds) == (theirs.matched, theirs.outcome,
                                                        theirs.holds)
    assert ours.explanation == theirs.explanation


def test_the_shipped_tables_are_generated_and_agree(engines: Any) -> None:
    fast, _ = engines
    found = 0
    for wf in fast.workflows:
        for compiled in fast._get(wf.id).rules.values():
            if isinstance(compiled, CompiledTable):
                found += 1
                assert compiled.code is not None, compiled.id
                for combo in itertools.islice(itertools.product(*compiled.samples()), 5_000):
                    assert compiled.code(list(combo)) == \
                        compiled.reference_row_values(list(combo)), (compiled.id, combo)
    assert found >= 2


def test_a_very_large_table_keeps_the_closures(monkeypatch: pytest.MonkeyPatch) -> None:
    table = TableRuleSet("t", "T", "first", (TableInput("n", "n", TABLE_TYPES["n"], "n"),),
                         ("uit",), (TableRow("r0", {"n": Cell("eq", (1,))}, {"uit": 0}),
                                    TableRow("r1", {"n": Cell("gt", (1,))}, {"uit": 1})))
    assert CompiledTable(table, SCOPE).code is not None
    monkeypatch.setattr(codegen, "MAX_TABLE_CELLS", 1)
    large = CompiledTable(table, SCOPE)
    assert large.code is None
    assert large.evaluate(Env({"n": 2}, AT)).matched == ["r1"]
    monkeypatch.setattr(codegen, "MAX_TABLE_CELLS", 50_000)
    monkeypatch.setenv("ZORGFLOW_NO_CODEGEN", "1")
    assert CompiledTable(table, SCOPE).code is None


# -- rankings: candidates' fields, arithmetic and sum() ----------------------------------------

def rankings(engine: zorgflow.Engine) -> list[tuple[str, str, CompiledRanking]]:
    return [(wf.id, rid, compiled) for wf in engine.workflows
            for rid, compiled in engine._get(wf.id).rules.items()
            if isinstance(compiled, CompiledRanking)]


def test_every_criterion_of_the_shipped_rankings_is_generated(engines: Any) -> None:
    fast, slow = engines
    assert rankings(fast)
    for _, _, compiled in rankings(fast):
        for cid, _, _, expr, _ in compiled.criteria:
            assert expr.closure is not None, cid
    assert all(expr.closure is None
               for _, _, compiled in rankings(slow) for _, _, _, expr, _ in compiled.criteria)


CANDIDATE = st.fixed_dictionaries({"id": st.sampled_from(["ggz", "wijkteam", "reclassering"])},
                                  optional={
    "expertise": st.lists(st.sampled_from(["verslaving", "schulden", "x"]), max_size=2),
    "eerder_contact": st.booleans(), "vertrouwen_client": st.booleans(),
    "voorkeur_overleg": st.integers(0, 4), "langdurig_betrokken": st.booleans(),
    "systeemgericht": st.booleans()})


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_shipped_rankings_generated_equal_closures(engines: Any, data: st.DataObject) -> None:
    """A ranking's candidates scored by generated criteria (fields, ``sum()``, a share that
    is unknown for a total of 0) against the closures' engine: same order, points and
    explanation, or the same refusal."""
    fast, slow = engines
    wid, rid, compiled = data.draw(st.sampled_from(rankings(fast)))
    model = fast._get(wid).model
    reads = sorted({n for _, _, _, e, _ in compiled.criteria for n in e.facts_read})
    facts = data.draw(st.fixed_dictionaries({}, optional={
        n: st.lists(CANDIDATE, max_size=4) if model.facts[n].type.name == "list"
        else values_for(model.facts[n]) for n in reads}))

    def outcome(engine: zorgflow.Engine) -> Any:
        try:
            decision = engine.decide(wid, rid, facts, AT)
        except InvalidFacts as exc:
            return ("refused", str(exc))
        return (decision.matched, decision.outcome, decision.holds, decision.explanation,
                decision.to_dict())

    assert outcome(fast) == outcome(slow)


NUMBER_ATOMS = ["n", "m", "x", "1", "2.5", "0", "-n", "-(x)", "-1"]


def sums(depth: int) -> st.SearchStrategy[str]:
    atom = st.sampled_from(NUMBER_ATOMS)
    if depth == 0:
        return atom
    sub = sums(depth - 1)
    return st.one_of(atom, st.tuples(sub, st.sampled_from(["+", "-", "*", "/"]), sub).map(
        lambda t: f"({t[0]}) {t[1]} ({t[2]})"), sub.map(lambda f: f"-({f})"))


#: numbers at the edges: a sum or product beyond a float is unknown, as is a share of 0
BIG_VALUES = st.fixed_dictionaries({}, optional={
    "n": st.sampled_from([-2, 0, 3, 10 ** 308]), "m": st.sampled_from([0, 1, -(10 ** 308)]),
    "x": st.sampled_from([0.0, 1.5, -2.0, 1e308, -1e-300])})


def _same_value(got: Any, want: Any) -> bool:
    return got is want or (got is not UNKNOWN and want is not UNKNOWN
                           and got.__class__ is want.__class__ and got == want)


@settings(max_examples=400, deadline=None)
@given(sums(3), BIG_VALUES)
def test_generated_arithmetic_equals_closure(source: str, facts: dict[str, Any]) -> None:
    expr = compile_expr(source, SCOPE)
    env = Env(facts, AT)
    if expr.closure is None:  # a plain read or literal keeps its closure
        assert source in NUMBER_ATOMS
        return
    got, want = expr.fn(env), expr.closure(env)
    assert _same_value(got, want), (source, facts, got, want)


ARITHMETIC_ATOMS = ["n + m > 1", "x / n <= 0.5", "n * 2 == m", "-(x) < n - m", "x / 0 == 1",
                    "n - 1 != m", "(n + x) * 2 >= 3"]


@settings(max_examples=400, deadline=None)
@given(formulas(ATOMS + ARITHMETIC_ATOMS, 2), st.one_of(FACT_VALUES, BIG_VALUES))
def test_generated_condition_with_arithmetic_equals_closure(source: str,
                                                            facts: dict[str, Any]) -> None:
    expr = compile_expr(source, SCOPE, expect_bool=True)
    env = Env(facts, AT)
    assert expr.closure is not None, source
    assert expr.fn(env) is expr.closure(env), (source, facts)


ITEM_SCOPE = Scope(FACTS, item={"naam": FactType("string"), "ok": FactType("boolean"),
                                "score": FactType("integer"), "punten": FactType("number"),
                                "tags": FactType("list", items=FactType("string"))})
#: a whole number as large as a fact may hold (two of them sum beyond a float)
BIG = int(sys.float_info.max)
ITEM_ATOMS = ["kandidaat.ok", "kandidaat.score > n", "s in kandidaat.tags",
              "kandidaat.naam == s", "not kandidaat.ok", "known(kandidaat.score)",
              "kandidaat.score / 2 >= x", "'x' not in kandidaat.tags"]
ITEMS = st.fixed_dictionaries({}, optional={
    "naam": st.sampled_from(["x", "y"]), "ok": st.booleans(),
    "score": st.one_of(st.integers(-2, 3), st.just(BIG)),
    "punten": st.sampled_from([0.5, -1.5, 1e308, BIG]),
    "tags": st.lists(st.sampled_from(["x", "y"]), max_size=2).map(tuple)})


@settings(max_examples=400, deadline=None)
@given(formulas(ATOMS + ITEM_ATOMS, 2), FACT_VALUES, ITEMS)
def test_generated_condition_on_a_candidate_equals_closure(source: str, facts: dict[str, Any],
                                                           item: dict[str, Any]) -> None:
    expr = compile_expr(source, ITEM_SCOPE, expect_bool=True)
    assert expr.closure is not None, source
    env = Env(facts, AT, item=item)
    assert expr.fn(env) is expr.closure(env), (source, facts, item)


LIJST = _fact("lijst", FactType("list", fields=ITEM_SCOPE.item))
RANKING_SCOPE = Scope({**FACTS, "lijst": LIJST}, item=LIJST.type.fields)
POINTS = ["kandidaat.score", "kandidaat.score / sum(lijst.score)", "n * kandidaat.score - x",
          "-(kandidaat.score)", "sum(facts.lijst.score) + 1", "kandidaat.punten",
          "sum(lijst.punten) - sum(lijst.score)"]


@st.composite
def ranking_sets(draw: st.DrawFn) -> RankingRuleSet:
    criteria = []
    for n in range(draw(st.integers(1, 4))):
        weight = draw(st.sampled_from([1, 0.5, 2, -1]))
        if draw(st.booleans()):
            criteria.append(RankingCriterion(f"c{n}", f"C{n}", weight,
                                             when=draw(formulas(ATOMS + ITEM_ATOMS, 1)),
                                             required=draw(st.booleans())))
        else:
            criteria.append(RankingCriterion(f"c{n}", f"C{n}", weight,
                                             points=draw(st.sampled_from(POINTS))))
    return RankingRuleSet("r", "R", "lijst", "naam", tuple(criteria))


@settings(max_examples=300, deadline=None)
@given(ranking_sets(), FACT_VALUES, st.one_of(st.none(), st.lists(ITEMS, max_size=4)))
def test_generated_ranking_scores_equal_the_closures(rule_set: RankingRuleSet,
                                                     facts: dict[str, Any],
                                                     candidates: list[dict[str, Any]] | None
                                                     ) -> None:
    """Random rankings (required criteria, points with arithmetic and ``sum()``, unknown
    fields, no candidates at all): the generated scoring against the closures', and the
    decision and explanation made from it."""
    compiled = CompiledRanking(rule_set, RANKING_SCOPE)
    assert compiled.code is not None
    if candidates is not None:
        facts = {**facts, "lijst": tuple(candidates)}
        env = Env(facts, AT)
        # repr: the same numbers of the same types (0 is not 0.0 in a decision's JSON)
        assert repr(compiled.code(env, candidates)) == \
            repr(compiled.score_reference(env, candidates))
    env = Env(facts, AT)
    generated = compiled.evaluate(env)
    # every total is a finite number, so the candidates always sort (each criterion's points
    # beyond a float count 0; a sum beyond one counts as the largest, with its sign)
    assert all(math.isfinite(r["total"]) for r in generated.outcome or ())
    compiled.code = None
    reference = compiled.evaluate(env)
    assert (generated.matched, generated.outcome, generated.holds) == \
        (reference.matched, reference.outcome, reference.holds)
    assert generated.explanation == reference.explanation


INVARIANT_SCOPE = Scope(FACTS, data=DATA, last_step=True)
LAST_STEP_ATOMS = ["history.last.data.akkoord", "history.last.data.reden == 'verhuisd'",
                   "known(history.last.data.aantal)", "history.last.data.aantal > n",
                   "history.last.data.datum in ['2026-02-28', '2026-03-01']",
                   "not history.last.data.akkoord"]


@settings(max_examples=300, deadline=None)
@given(formulas(ATOMS + LAST_STEP_ATOMS, 2), FACT_VALUES,
       st.fixed_dictionaries({}, optional={
           "reden": st.sampled_from(["verhuisd", "overleden"]), "akkoord": st.booleans(),
           "aantal": st.integers(-2, 3), "datum": st.dates(date(2026, 2, 27), date(2026, 3, 2))}))
def test_generated_invariant_reading_the_last_step_equals_closure(
        source: str, facts: dict[str, Any], data: dict[str, Any]) -> None:
    """An invariant's condition on ``history.last.data``: the data of the step that led to
    the state, read as a guard reads its event's data."""
    expr = compile_expr(source, INVARIANT_SCOPE, expect_bool=True)
    assert expr.closure is not None, source
    env = Env(facts, AT, data)
    assert expr.fn(env) is expr.closure(env), (source, facts, data)


@settings(max_examples=200, deadline=None)
@given(formulas(GUARD_ATOMS + ARITHMETIC_ATOMS, 2), FACT_VALUES,
       st.fixed_dictionaries({}, optional={
           "reden": st.sampled_from(["verhuisd", "overleden"]), "akkoord": st.booleans(),
           "aantal": st.integers(-2, 3)}))
def test_a_true_false_value_is_generated_as_a_condition_is(source: str, facts: dict[str, Any],
                                                           data: dict[str, Any]) -> None:
    """``sets: {x: a and data.b}``: a value that is true, false or unknown, compiled without
    being asked for a condition, runs the same generated code against the same closure."""
    expr = compile_expr(source, GUARD_SCOPE)
    env = Env(facts, AT, data)
    if expr.closure is None:  # a plain read or literal keeps its closure
        assert source in GUARD_ATOMS + ARITHMETIC_ATOMS and " " not in source.strip("()")
        return
    assert expr.fn(env) is expr.closure(env), (source, facts, data)


def shipped_values(engine: zorgflow.Engine) -> list[tuple[str, str, Any, Any]]:
    """(workflow, where, expression, data fields) of every value expression of the shipped
    workflows that runs as generated code (``sets:``, ``assigns:``, warnings)."""
    found = []
    for wf in engine.workflows:
        program = engine._get(wf.id)
        for (state, event), ct in program.table.items():
            exprs = [e for _, e, _ in ct.sets] + [e for _, e in ct.assigns] + \
                [e for _, e in ct.warnings]
            found += [(wf.id, f"{state}/{event}", e, ct.model.data) for e in exprs]
    return [f for f in found if f[2].closure is not None]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_shipped_generated_values_equal_closures(engines: Any, data: st.DataObject) -> None:
    fast, _ = engines
    values = shipped_values(fast)
    assert any(" and data.verblijf" in e.source for _, _, e, _ in values)  # levensloop's
    wid, _, expr, fields = data.draw(st.sampled_from(values))
    model = fast._get(wid).model
    facts = data.draw(st.fixed_dictionaries({}, optional={
        n: values_for(model.facts[n]) for n in expr.facts_read
        if model.facts[n].type.name in ("boolean", "enum", "integer", "number", "string")}))
    given_data = data.draw(st.fixed_dictionaries({}, optional={
        n: values_for(fields[n].type) for n in expr.data_read
        if fields[n].type.name in ("boolean", "enum", "integer", "number", "string")}))
    env = Env(facts, AT, given_data)
    assert _same_value(expr.fn(env), expr.closure(env)), expr.source


def test_a_sum_beyond_a_float_is_unknown_not_an_error() -> None:
    """Two whole numbers as large as a fact may hold, then a fraction (a number field holds
    both): the total leaves the numbers a rule can use, so it is unknown, in the closures and
    the generated code alike (also when a ranking works the total out once before its loop
    over the candidates, where a candidate's ``and`` would not have reached it)."""
    records = ({"score": 1, "punten": BIG}, {"score": 1, "punten": BIG},
               {"score": 1, "punten": 0.5})
    facts = {"lijst": records, "n": 1}
    expr = compile_expr("sum(lijst.punten) > n", RANKING_SCOPE, expect_bool=True)
    env = Env(facts, AT)
    assert expr.fn(env) is UNKNOWN and expr.closure(env) is UNKNOWN
    ranking = RankingRuleSet("r", "R", "lijst", "naam", (
        RankingCriterion("c", "C", when="kandidaat.ok and sum(lijst.punten) > 0"),
        RankingCriterion("p", "P", 2, points="kandidaat.punten")))
    compiled = CompiledRanking(ranking, RANKING_SCOPE)
    assert compiled.code is not None
    candidates = [{**r, "naam": f"k{i}", "ok": False} for i, r in enumerate(records)]
    env = Env({"lijst": tuple(candidates)}, AT)
    scores = compiled.code(env, candidates)
    assert repr(scores) == repr(compiled.score_reference(env, candidates))
    assert [points["p"] for _, points in scores] == [0, 0, 1.0]  # 2 x BIG counts 0
