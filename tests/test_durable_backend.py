"""durable-rules as a second rules back end, checked against the native one.

``Engine(..., rules_backend="durable")`` must give the same ``matched`` (and ``undecided``
and ``holds``) as the native compiler on every criteria rule set of the three workflows, on
thousands of generated fact sets with unknowns; it must survive past the ~46k facts after
which durable-rules reports facts as "already observed" (jruizgit/rules#376); engines must not
share rule sets; what durable-rules cannot express is an error at construction, with where
and why.

Tests that need durable-rules skip where it cannot be installed (Python >= 3.13) or is not
installed — except under ``CI=true`` on Python < 3.13, where a missing durable-rules fails.
The tests of the "cannot express" report run everywhere: it needs no durable-rules.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zorgflow
from zorgflow import Engine, RuleError, RulesBackendError, Workflow
from zorgflow.loader import load_workflow_text
from zorgflow.rules.durable import check
from zorgflow.rules.durable.translate import json_number
from zorgflow.scenarios import run_examples
from zorgflow.testing import values_of

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
AT = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
EXAMPLES_PER_RULE_SET = 1_500


def _durable_missing() -> str | None:
    """Why durable-rules cannot be used here, or None when it can."""
    try:
        importlib.import_module("durable.engine")
    except ImportError as exc:
        if sys.version_info >= (3, 13):
            return f"durable-rules not installable on Python >= 3.13 ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"durable-rules must be installed in CI on Python < 3.13: {exc}")
        return f"durable-rules not installed ({exc}); pip install -e '.[durable]'"
    return None


@pytest.fixture(scope="module")
def durable() -> None:
    reason = _durable_missing()
    if reason is not None:
        pytest.skip(reason)


HEAD = """\
id: proef
version: {version}
label: Proef
start_by: [medewerker]
roles: {{medewerker: {{label: Medewerker}}}}
facts:
  a: {{type: boolean, label: A}}
  b: {{type: boolean, label: B}}
  c: {{type: boolean, label: C}}
  g: {{type: boolean, label: G, default: true}}
  n: {{type: integer, label: N}}
  x: {{type: number, label: X}}
  s: {{type: string, label: S}}
  netwerk: {{type: enum, values: [geen, lthg, zorg_en_veiligheidshuis, ander], label: Netwerk}}
  d: {{type: date, label: D}}
  lijst: {{type: list, items: string, label: Lijst}}
states:
  open: {{label: Open, initial: true}}
  dicht: {{label: Dicht, final: true}}
transitions:
  - event: sluiten
    from: open
    to: dicht
    by: [medewerker]
    data: {{reden: {{enum_from: rules.alles}}}}
    when: data.reden in rules.alles.matched
rules:
"""

#: every form the durable back end expresses, in one criteria rule set
EXPRESSIBLE = """\
  alles:
    kind: criteria
    label: Alles wat durable-rules kan
    criteria:
      alleen_a: {label: a, when: a}
      a_niet_b: {label: a niet b, all: [a, not b]}
      b_of_c: {label: b of c, any: [b, c]}
      niet_niet: {label: niet niet, when: not not a}
      netwerk_bekend: {label: netwerk, all: ["known(netwerk)", "netwerk != 'geen'"]}
      netwerk_in: {label: in, when: "netwerk in ['lthg', 'ander']"}
      netwerk_niet_in: {label: not in, when: "not netwerk not in ['geen', 'lthg'] or c"}
      niet_a_of_groot: {label: De Morgan, when: "not (a or n > 3)"}
      tussen: {label: keten, when: "1 < n <= 10"}
      links: {label: links, any: ["-3 >= n", "x < 2.5"]}
      gelijk: {label: gelijk, when: "x == 3 or n == 7"}
      ongelijk: {label: ongelijk, when: "not (x != -0.5)"}
      zonder_datum: {label: datum onbekend, all: ["n != 0", "not known(d)"]}
      lijst_bekend: {label: lijst, when: "known(lijst) and facts.c == false"}
      tekst: {label: tekst, when: "s == 'abc' or s in ['x', 'y']"}
      standaard: {label: default, when: g and not c}
      altijd: {label: altijd, when: "true"}
      nooit: {label: nooit, any: ["false", "a == true and false"]}
      groot_getal: {label: groot, when: "x >= 1000000.5 or n < -1000"}
  klein:
    kind: criteria
    label: Twee uit alles
    criteria:
      tussen: {label: keten, when: "1 < n <= 10"}
      groot_getal: {label: groot, when: "x >= 1000000.5 or n < -1000"}
"""


def proef(rules: str = EXPRESSIBLE, version: int = 1) -> Workflow:
    return load_workflow_text(HEAD.format(version=version) + rules, f"proef-v{version}.yaml")


def criteria_rule_sets() -> list[tuple[str, str]]:
    found = []
    for name in ("lzn", "levensloop", "stappenplan"):
        workflow = zorgflow.load_workflow(WORKFLOWS / f"{name}.yaml")
        found += [(workflow.id, rid) for rid, rs in workflow.rules.items()
                  if rs.kind == "criteria"]
    return found


def read_facts(workflow: Workflow, rule_set: str) -> list[str]:
    """The facts a criteria rule set reads (from its compiled clauses)."""
    compiled = Engine([workflow])._get(workflow.id).rules[rule_set]
    return list(dict.fromkeys(name for _, _, exprs in compiled.clauses  # type: ignore[union-attr]
                              for e in exprs for name in e.facts_read))


def fact_sets(workflow: Workflow, names: list[str],
              special: dict[str, st.SearchStrategy[Any]] | None = None
              ) -> st.SearchStrategy[dict[str, Any]]:
    """Fact sets over ``names``: each fact absent (unknown), explicitly None (unknown, too)
    or a value of its declared type."""
    special = special or {}
    return st.fixed_dictionaries({}, optional={
        name: st.none() | special.get(name, values_of(workflow.facts[name].type))
        for name in names})


def assert_same(native: Engine, durable: Engine, workflow_id: str, rule_set: str,
                facts: dict[str, Any]) -> None:
    want = native.decide(workflow_id, rule_set, facts, AT)
    got = durable.decide(workflow_id, rule_set, facts, AT)
    assert (got.matched, got.undecided, got.holds) == (want.matched, want.undecided,
                                                       want.holds), facts


# -- the differential tests ----------------------------------------------------------------------
SHIPPED = criteria_rule_sets()


def test_the_shipped_workflows_have_criteria_rule_sets() -> None:
    assert {("lzn", "afsluitcriteria"), ("lzn", "escalatiepaden"),
            ("levensloop", "inclusiecriteria")} <= set(SHIPPED)


@pytest.fixture(scope="module")
def shipped_engines(durable: None) -> tuple[Engine, Engine]:
    return Engine.from_directory(WORKFLOWS), Engine.from_directory(WORKFLOWS,
                                                                    rules_backend="durable")


@pytest.mark.parametrize(("workflow_id", "rule_set"), SHIPPED)
def test_durable_agrees_with_native_on_the_shipped_rule_sets(
        shipped_engines: tuple[Engine, Engine], workflow_id: str, rule_set: str) -> None:
    native, durable = shipped_engines
    workflow = native.workflow(workflow_id)

    @settings(max_examples=EXAMPLES_PER_RULE_SET, derandomize=True, deadline=None,
              database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(fact_sets(workflow, read_facts(workflow, rule_set)))
    def agree(facts: dict[str, Any]) -> None:
        assert_same(native, durable, workflow_id, rule_set, facts)

    agree()


def _readable_floats() -> st.SearchStrategy[float]:
    def readable(x: float) -> bool:
        try:
            json_number(x)
        except ValueError:
            return False
        return True

    return st.floats(-12, 12, allow_nan=False, allow_subnormal=False).filter(readable)


PROEF_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "n": st.integers(-1005, 12) | st.sampled_from([-3, 0, 1, 3, 7, 10, 11]),
    "x": _readable_floats() | st.sampled_from([2.5, 3, 3.0, -0.5, 1000000.5, 2e6]),
    "s": st.sampled_from(["abc", "x", "y", "z", "", 'é"\\ ']),
}


def test_durable_agrees_with_native_on_every_expressible_form(durable: None) -> None:
    workflow = proef()
    native, durable_engine = Engine([workflow]), Engine([workflow], rules_backend="durable")
    names = list(workflow.facts)

    @settings(max_examples=EXAMPLES_PER_RULE_SET, derandomize=True, deadline=None,
              database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(fact_sets(workflow, names, PROEF_VALUES))
    def agree(facts: dict[str, Any]) -> None:
        assert_same(native, durable_engine, "proef", "alles", facts)

    agree()


def test_unknown_facts_fire_neither_way(durable: None) -> None:
    engine = Engine([proef()], rules_backend="durable")
    decision = engine.decide("proef", "alles", {}, AT)
    assert decision.matched == ["altijd"]
    assert {"alleen_a", "niet_niet", "niet_a_of_groot", "standaard"} <= set(decision.undecided)
    # known(x) is never unknown: false when x is not set
    assert {"nooit", "netwerk_bekend", "lijst_bekend"}.isdisjoint(decision.undecided)
    decision = engine.decide("proef", "alles", {"a": True}, AT)
    assert decision.matched[:2] == ["alleen_a", "niet_niet"]
    assert "a_niet_b" in decision.undecided  # 'not b' with b unknown is unknown
    decision = engine.decide("proef", "alles", {"c": True}, AT)
    assert "b_of_c" in decision.matched  # unknown or true is true
    assert "netwerk_niet_in" in decision.matched


def test_the_examples_of_the_shipped_workflows_pass_on_durable(durable: None) -> None:
    """Guards that read ``rules.X.matched`` (LZN ``afsluiten``) are answered by durable too."""
    for name in ("lzn", "levensloop", "stappenplan"):
        workflow = zorgflow.load_workflow(WORKFLOWS / f"{name}.yaml")
        results = run_examples(workflow, Engine([workflow], rules_backend="durable"))
        assert results and all(r.passed for r in results), [
            (r.name, r.message) for r in results if not r.passed]


def test_guards_and_explanations_on_durable(durable: None) -> None:
    engine = Engine([proef()], rules_backend="durable")
    actor = zorgflow.Actor("m", roles={"medewerker"})
    case = engine.start("proef", actor=actor, facts={"a": True, "b": False}, at=AT)
    with pytest.raises(zorgflow.TransitionRejected, match="tussen"):
        engine.fire(case, "sluiten", actor=actor, data={"reden": "tussen"}, at=AT)
    closed = engine.fire(case, "sluiten", actor=actor, data={"reden": "a_niet_b"}, at=AT)
    assert closed.state == "dicht"
    decision = engine.decide(case, "alles", at=AT)
    assert "true: a_niet_b — a niet b (all of)" in decision.explanation


# -- durable-rules' own limits -------------------------------------------------------------------
def test_past_50000_evaluations_on_one_engine(durable: None) -> None:
    """durable-rules #376: after ~46k distinct facts in one session it reports a fact as
    "already observed". Each evaluation has its own session, deleted afterwards."""
    engine = Engine([proef()], rules_backend="durable")
    decide = engine.decide
    for n in range(-1_000, 50_001):
        matched = decide("proef", "klein", {"n": n, "x": n / 4}, AT).matched
        assert ("tussen" in matched) is (1 < n <= 10), n
        assert ("groot_getal" in matched) is (n / 4 >= 1000000.5 or n < -1000), n


def test_numbers_durable_cannot_read_are_refused_not_misjudged(durable: None) -> None:
    engine = Engine([proef()], rules_backend="durable")
    native = Engine([proef()])
    for facts in ({"x": 1e-05}, {"n": 2**70}, {"x": -2e-07}):
        assert native.decide("proef", "alles", facts, AT).matched  # the native side is fine
        with pytest.raises(RuleError, match="native rules back end"):
            engine.decide("proef", "alles", facts, AT)
    # a whole float written with an exponent is sent as an integer
    assert_same(native, engine, "proef", "alles", {"x": 1e17})


def test_two_engines_with_different_versions_evaluate_independently(durable: None) -> None:
    v1 = proef(EXPRESSIBLE, version=1)
    v2 = proef(EXPRESSIBLE.replace('"1 < n <= 10"', '"20 < n <= 30"'), version=2)
    first, second = Engine([v1], rules_backend="durable"), Engine([v2], rules_backend="durable")
    both = Engine([v1, v2], rules_backend="durable")
    same_again = Engine([v1], rules_backend="durable")
    for _ in range(3):  # interleaved, so a shared host or session would show
        assert "tussen" in first.decide("proef", "alles", {"n": 5}, AT).matched
        assert "tussen" not in second.decide("proef", "alles", {"n": 5}, AT).matched
        assert "tussen" in second.decide("proef", "alles", {"n": 25}, AT).matched
        assert "tussen" not in first.decide("proef", "alles", {"n": 25}, AT).matched
        assert "tussen" in both.decide("proef", "alles", {"n": 25}, AT).matched  # latest
        assert "tussen" in both.decide("proef", "alles", {"n": 5}, AT, version=1).matched
        assert "tussen" in same_again.decide("proef", "alles", {"n": 5}, AT).matched


def test_one_durable_engine_serves_several_threads(durable: None) -> None:
    workflow = proef()
    native, engine = Engine([workflow]), Engine([workflow], rules_backend="durable")
    problems: list[str] = []

    def work(offset: int) -> None:
        for n in range(offset, offset + 600):
            facts = {"n": n % 15 - 4, "a": n % 2 == 0, "netwerk": "lthg"}
            got = engine.decide("proef", "alles", facts, AT).matched
            if got != native.decide("proef", "alles", facts, AT).matched:
                problems.append(f"{facts}: {got}")

    threads = [threading.Thread(target=work, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []


def test_an_exception_inside_an_action_is_not_swallowed(durable: None) -> None:
    from zorgflow.rules.durable.host import SEEN, Session

    def broken(c: Any) -> None:
        raise ValueError("kapot")

    session = Session()
    session._host.set_rulesets({"kapot": {SEEN: {"all": [{"m": {"zf": 1}}], "run": broken}}})
    with pytest.raises(RuleError, match="kapot"):
        session.run("kapot", {"zf": 1})


# -- selection, strictness, laziness -------------------------------------------------------------
def test_the_default_backend_stays_native_and_never_imports_durable() -> None:
    code = ("import sys, zorgflow\n"
            f"e = zorgflow.Engine.from_directory({str(WORKFLOWS)!r})\n"
            "e.decide('lzn', 'afsluitcriteria', {'zorg_ketenpartner_adequaat': True})\n"
            "assert e.rules_backend == 'native'\n"
            "print(sorted(m for m in sys.modules\n"
            "             if 'durable' in m and not m.startswith('zorgflow.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="'native', 'durable'"):
        Engine([], rules_backend="drools")


def test_from_directory_selects_durable(durable: None) -> None:
    engine = Engine.from_directory(WORKFLOWS, rules_backend="durable")
    assert engine.rules_backend == "durable"
    decision = engine.decide("lzn", "afsluitcriteria", {"zorg_ketenpartner_adequaat": True})
    assert decision.matched == ["zorg_bij_ketenpartner"]
    # tables and rankings stay native
    assert engine.decide("stappenplan", "zorgplicht", {"wet": "wmo"}, AT).matched


UNEXPRESSIBLE = """\
  grenzen:
    kind: criteria
    label: Wat durable-rules niet kan
    criteria:
      kan_wel: {label: kan wel, when: "a and n > 3"}
      dagen:
        label: dagen
        when: "a and days_since(d) > 3"
      rekenen:
        label: rekenen
        all:
          - b
          - "n + 1 > 3"
      twee_feiten: {label: twee feiten, when: "n > x"}
      lengte: {label: lengte, when: "len(lijst) > 0"}
      datum: {label: datum, when: "d < '2026-01-01'"}
      in_lijst: {label: in lijst, when: "'abc' in lijst"}
      klein_getal: {label: klein getal, when: "x < 1e-05"}
      blok:
        label: blok
        when: >
          a and
          months_since(d) >= 2
"""


def test_what_durable_cannot_express_is_listed_with_position_and_reason(tmp_path: Path
                                                                         ) -> None:
    text = HEAD.format(version=1) + EXPRESSIBLE + UNEXPRESSIBLE
    path = tmp_path / "grenzen.yaml"
    path.write_text(text, encoding="utf-8")
    workflow = zorgflow.load_workflow(path)
    problems = check(workflow)
    lines = text.splitlines()

    def at(fragment: str) -> tuple[int, int]:
        (number,) = [i for i, line in enumerate(lines, 1) if fragment in line]
        return number, lines[number - 1].index(fragment) + 1

    found = {p.message.split("'")[3]: p for p in problems}  # by criterion id
    assert set(found) == {"dagen", "rekenen", "twee_feiten", "lengte", "datum", "in_lijst",
                          "klein_getal", "blok"}  # not kan_wel, nor anything of 'alles'
    assert all(p.file == str(path) for p in problems)
    assert (found["dagen"].line, found["dagen"].column) == at("days_since(d) > 3")
    assert (found["rekenen"].line, found["rekenen"].column) == at("n + 1 > 3")
    assert (found["blok"].line, found["blok"].column) == at("months_since(d)")
    assert "dates and the time of evaluation" in found["dagen"].message
    assert "arithmetic" in found["rekenen"].message
    assert "two facts" in found["twee_feiten"].message
    assert "count a list" in found["lengte"].message
    assert "a date" in found["datum"].message
    assert "list fact" in found["in_lijst"].message
    assert "1e-05" in found["klein_getal"].message
    assert str(found["dagen"]).startswith(f"{path}:{found['dagen'].line}:")
    assert "durable-rules cannot express this" in str(found["dagen"])


def test_durable_engine_refuses_unexpressible_workflows_at_construction(tmp_path: Path
                                                                        ) -> None:
    """Strict, and before durable-rules is even imported: no silent fallback to native."""
    (tmp_path / "grenzen.yaml").write_text(HEAD.format(version=1) + EXPRESSIBLE + UNEXPRESSIBLE,
                                          encoding="utf-8")
    with pytest.raises(RulesBackendError) as raised:
        Engine.from_directory(tmp_path, rules_backend="durable")
    assert len(raised.value.errors) == 8
    assert isinstance(raised.value, zorgflow.WorkflowError)
    assert "grenzen.yaml:" in str(raised.value)
    Engine.from_directory(tmp_path)  # the native back end takes it


def test_adding_an_unexpressible_workflow_later_is_refused(durable: None) -> None:
    engine = Engine([proef()], rules_backend="durable")
    with pytest.raises(RulesBackendError, match="days_since"):
        engine.add(proef(EXPRESSIBLE + UNEXPRESSIBLE, version=2))
    assert engine.workflow("proef").version == 1
