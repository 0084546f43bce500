"""`Engine.fire` and `Engine.set_facts` take a quick path for a step that is allowed as it
comes (`zorgflow.engine.step.quick_fire`), and the full path otherwise. The full path is the
reference: on every step of the generated state machine of each shipped workflow, both must
refuse with the same reasons or make the same case (its stored form, explanations included).
"""

from __future__ import annotations

import functools
import json
import unittest
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zorgflow import Actor, Case, Engine, TransitionRejected, load_workflow
from zorgflow.engine.record import unflat
from zorgflow.engine.specialise import specialise
from zorgflow.engine.step import quick_facts_step, quick_fire, quick_set_facts, quick_step
from zorgflow.loader import load_workflow_text
from zorgflow.migration_plan import identity_plan
from zorgflow.model.calendar import AMSTERDAM
from zorgflow.rules.logic import UNKNOWN
from zorgflow.testing import facts_for, state_machine_for

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
AT = datetime(2026, 1, 5, 9, 0, tzinfo=AMSTERDAM)


def _outcome(step: Callable[[], Case]) -> Case | TransitionRejected:
    try:
        return step()
    except TransitionRejected as refused:
        return refused


def _same(quick: Case | TransitionRejected, full: Case | TransitionRejected) -> None:
    if isinstance(full, TransitionRejected):
        assert isinstance(quick, TransitionRejected), "the quick path allowed a refused step"
        assert [(r.code, r.text("en")) for r in quick.reasons] == \
            [(r.code, r.text("en")) for r in full.reasons]
        return
    assert isinstance(quick, Case), f"the quick path refused an allowed step: {quick}"
    assert json.dumps(quick.to_dict(), sort_keys=True, default=str) == \
        json.dumps(full.to_dict(), sort_keys=True, default=str)
    assert quick.version == full.version
    assert _typed(quick) == _typed(full)  # (JSON shows a date and its text alike)


def _typed(case: Case) -> Any:
    """What a case holds, each value with its class: its facts, each record's data and the
    data of its pending agreements."""
    def typed(values: Any) -> list[tuple[Any, type, Any]]:
        return [(name, type(value), value) for name, value in values]

    return (typed(case.facts.items()), [typed(entry.data.items()) for entry in case.history],
            {event: typed(unflat(given).items())
             for event, (_, given) in case._agreements.items()})


def _agree(general: Case | None, written_out: Case | None) -> bool:
    """A template and the function written out from it make the same case, or both none;
    whether they made one."""
    assert (general is None) == (written_out is None)
    if general is None or written_out is None:
        return False
    _same(written_out, general)
    return True


class ComparingEngine(Engine):
    """Takes every `fire` and `set_facts` both ways and fails on any difference; counts the
    steps the quick path made."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quick = 0
        self.steps = 0
        self.facts_quick = 0
        self.facts_steps = 0

    def fire(self, case: Case, event: str, *, actor: Actor,
             data: Mapping[str, Any] | None = None, at: datetime | None = None,
             store: Any = None) -> Case:
        full = _outcome(lambda: self._fire_full(case, event, actor, data, at, None))
        quick = _outcome(lambda: Engine.fire(self, case, event, actor=actor, data=data, at=at))
        _same(quick, full)
        self.steps += 1
        program = self._programs[(case.workflow_id, case.workflow_version)]
        ct = program.table.get((case.state, event))
        if ct is not None and at is not None:
            written_out = ct.quick or quick_step(program, ct)
            self.quick += _agree(quick_fire(program, ct, case, actor, data, at),
                                 written_out(program, ct, case, actor, data, at))
        if isinstance(quick, TransitionRejected):
            raise quick
        return quick

    def set_facts(self, case: Case, facts: Mapping[str, Any], *, actor: Actor,
                  at: datetime | None = None, store: Any = None) -> Case:
        full = _outcome(lambda: self._set_facts_full(case, facts, actor, at, None))
        quick = _outcome(lambda: Engine.set_facts(self, case, facts, actor=actor, at=at))
        _same(quick, full)
        self.facts_steps += 1
        if at is not None and isinstance(facts, dict):
            program = self._programs[(case.workflow_id, case.workflow_version)]
            plan = program.state_plans[case.state]
            self.facts_quick += _agree(
                quick_set_facts(program, plan, case, facts, actor, at),
                quick_facts_step(program, plan)(program, plan, case, facts, actor, at))
        if isinstance(quick, TransitionRejected):
            raise quick
        return quick


#: how many steps at least each path takes (the machine is derandomised: the same steps each
#: run). Most steps the machine tries on stappenplan are refused, so it takes few quick ones.
@pytest.mark.parametrize(("name", "least"), [("lzn", 10), ("levensloop", 10),
                                             ("stappenplan", 3)])
def test_quick_and_full_path_agree_on_every_step(name: str, least: int) -> None:
    workflow = load_workflow(WORKFLOWS / f"{name}.yaml")
    engine = ComparingEngine([workflow])
    test_case = state_machine_for(workflow, engine).TestCase
    test_case.settings = settings(max_examples=60, stateful_step_count=30, deadline=None,
                                  database=None, derandomize=True,
                                  suppress_health_check=list(HealthCheck))
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(test_case).run(result)
    problems = result.failures + result.errors
    assert not problems, problems[0][1]
    # the comparison means something only if both paths were taken
    assert engine.quick >= least, f"{engine.quick} of {engine.steps} steps took the quick path"
    assert engine.steps - engine.quick >= least
    assert engine.facts_quick >= least, f"{engine.facts_quick} of {engine.facts_steps}"
    assert engine.facts_steps - engine.facts_quick >= least


def _lzn() -> tuple[Engine, dict[str, Actor]]:
    return Engine.from_directory(WORKFLOWS), _people()


def _people() -> dict[str, Actor]:
    return {"scp": Actor("s.melder", roles={"sociaal_contactpunt"}),
            "coord": Actor("c.coord", roles={"lzn_coordinator"}),
            "regisseur": Actor("r.regisseur", roles={"ketenpartner"})}


def _geagendeerd(engine: Engine, people: dict[str, Actor]) -> Case:
    """An LZN case on the agenda, its casusregisseur still to be named."""
    case = engine.start("lzn", actor=people["scp"], at=AT)
    for event in ("passend_bevonden", "geen_actief_dossier"):
        case = engine.fire(case, event, actor=people["coord"], at=AT)
    return case


def _in_uitvoering(engine: Engine, people: dict[str, Actor]) -> Case:
    """An LZN case with its casusregisseur named, in ``uitvoering``."""
    return engine.fire(_geagendeerd(engine, people), "casusregisseur_benoemd",
                       actor=people["coord"], at=AT,
                       data={"casusregisseur": people["regisseur"].id, "ketenpartner": "GGZ"})


def test_the_lzn_happy_path_takes_the_quick_path_on_every_step() -> None:
    engine, people = _lzn()
    coord, regisseur = people["coord"], people["regisseur"]
    case = engine.start("lzn", actor=people["scp"], at=AT)
    steps: list[tuple[str, Actor, dict[str, Any] | None]] = [
        ("passend_bevonden", coord, None), ("geen_actief_dossier", coord, None),
        ("casusregisseur_benoemd", coord, {"casusregisseur": regisseur.id,
                                           "ketenpartner": "GGZ"}),
        ("voortgang_teruggekoppeld", regisseur, None), ("stagnatie_gemeld", regisseur, None),
        ("plan_aangepast", coord, None), ("plan_aangepast", regisseur, None),
        ("set_facts", coord, {"zorg_ketenpartner_adequaat": True}),
        ("afsluiten", coord, {"afsluitreden": "zorg_bij_ketenpartner"}),
    ]
    program = engine._programs[(case.workflow_id, case.workflow_version)]
    for event, actor, data in steps:
        if event == "set_facts":
            assert data is not None
            plan = program.state_plans[case.state]
            assert quick_set_facts(program, plan, case, data, actor, AT) is not None
            quick = engine.set_facts(case, data, actor=actor, at=AT)
            full = engine._set_facts_full(case, data, actor, AT, None)
        else:
            ct = program.table[(case.state, event)]
            made = quick_fire(program, ct, case, actor, data, AT)
            assert made is not None, f"{event} took the full path"
            quick = made
            full = engine._fire_full(case, event, actor, data, AT, None)
        _same(quick, full)
        case = quick
    assert case.state == "afgesloten"


def test_a_step_after_a_deadline_records_the_signal_first() -> None:
    """The quick path never skips a signal: past a timer's shortest duration it leaves the
    step to the full path, which records the signal before the step."""
    engine, people = _lzn()
    regisseur = people["regisseur"]
    case = _in_uitvoering(engine, people)
    late = AT + timedelta(days=120)
    case = engine.fire(case, "voortgang_teruggekoppeld", actor=regisseur, at=late)
    kinds = [(e.kind, e.event) for e in case.history[-2:]]
    assert kinds[0][0] == "signal" and kinds[1] == ("fire", "voortgang_teruggekoppeld")


def test_a_dict_subclass_or_another_mapping_as_data_gives_the_same_case() -> None:
    """Data that is not a plain dict goes the full path; the case is the same."""
    engine, people = _lzn()
    coord, regisseur = people["coord"], people["regisseur"]
    case = _geagendeerd(engine, people)
    data = {"casusregisseur": regisseur.id, "ketenpartner": "GGZ"}

    class Data(dict[str, Any]):
        pass

    plain = engine.fire(case, "casusregisseur_benoemd", actor=coord, at=AT, data=data)
    other = engine.fire(case, "casusregisseur_benoemd", actor=coord, at=AT, data=Data(data))
    assert plain.to_dict() == other.to_dict()


# -- the specialiser ---------------------------------------------------------------------------


def _sample(c: Any, x: Any, y: Any) -> Any:
    """What `specialise` is tried on: the branches, operators and loops `quick_fire` uses."""
    if c.a and x:
        r = c.b or y
    elif not c.flag:
        r = x if c.flag else y
    else:
        r = c.b
    seen = None
    out = []
    for name, on in c.items:
        if on and seen is None:
            seen = name
        if on:
            out.append((name, x))
        else:
            out.append(name)
    if seen is None:
        return r, out, "none"
    return r, out, seen, c.k in c.ks, c.a is None, c.b == "x", c.a or (c.b and x)


_values = st.one_of(st.none(), st.booleans(), st.sampled_from(["", "x", "y"]), st.integers(0, 2))


@given(a=_values, b=_values, flag=st.booleans(),
       items=st.lists(st.tuples(st.sampled_from("pqr"), st.booleans()), max_size=10),
       k=st.sampled_from("pqr"), ks=st.frozensets(st.sampled_from("pqr")), x=_values,
       y=_values)
@settings(max_examples=300, deadline=None)
def test_a_specialised_function_does_what_the_function_does(
        a: Any, b: Any, flag: bool, items: list[tuple[str, bool]], k: str,
        ks: frozenset[str], x: Any, y: Any) -> None:
    fixed = {"a": a, "b": b, "flag": flag, "items": tuple(items), "k": k, "ks": ks}
    made = specialise(_sample, {"c": fixed}, "sample")
    assert made is not None
    assert made(object(), x, y) == _sample(SimpleNamespace(**fixed), x, y)


def test_every_step_of_the_shipped_workflows_is_written_out() -> None:
    """`quick_step` writes out every transition, `quick_facts_step` every state (not the
    general functions); the state machines above compare what they make."""
    engine = Engine.from_directory(WORKFLOWS)
    for workflow in engine.workflows:
        program = engine._programs[(workflow.id, workflow.version)]
        for ct in program.table.values():
            assert quick_step(program, ct) is not quick_fire, (workflow.id, ct.event)
        for plan in program.state_plans.values():
            assert quick_facts_step(program, plan) is not quick_set_facts, plan.state


def test_without_codegen_the_general_function_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZORGFLOW_NO_CODEGEN", "1")
    engine, _ = _lzn()
    program = next(iter(engine._programs.values()))
    ct = next(iter(program.table.values()))
    assert quick_step(program, ct) is quick_fire
    plan = next(iter(program.state_plans.values()))
    assert quick_facts_step(program, plan) is quick_set_facts


# -- one criterion asked alone -----------------------------------------------------------------

_LZN = load_workflow(WORKFLOWS / "lzn.yaml")
_LZN_PROGRAM = Engine([_LZN])._programs[(_LZN.id, _LZN.version)]
_CRITERIA = [rid for rid, rs in _LZN.rules.items() if rs.kind == "criteria"]


@given(facts=facts_for(_LZN), rule_set=st.sampled_from(_CRITERIA), data=st.data())
@settings(max_examples=300, deadline=None)
def test_one_criterion_asked_alone_answers_as_the_whole_decision(
        facts: dict[str, Any], rule_set: str, data: st.DataObject) -> None:
    """A guard's ``x in rules.R.matched`` asks the step's decider for one criterion of a
    criteria rule set; it must answer what the whole decision says (true, false, unknown),
    also for a value that names no criterion, and one that cannot be a key."""
    typed = {name: _LZN_PROGRAM.typed_fact(name, value) for name, value in facts.items()}
    criteria = [c.id for c in _LZN.rules[rule_set].criteria]
    value = data.draw(st.sampled_from([*criteria, "geen_criterium", ["lijst"], None]))
    whole = _LZN_PROGRAM.decider(typed, AT)(rule_set)
    expected = True if value in whole.matched else \
        UNKNOWN if value in whole.undecided else False
    assert _LZN_PROGRAM.decider(typed, AT).criterion(rule_set, value) is expected
    decided = _LZN_PROGRAM.decider(typed, AT)
    decided(rule_set)  # decided first: read from the decision
    assert decided.criterion(rule_set, value) is expected


def test_a_case_read_back_steps_as_the_case_it_was() -> None:
    """A case read from outside (not yet checked against its workflow) is checked, then takes
    the quick path: the same case as the full path makes, and as the case in memory makes."""
    engine, people = _lzn()
    coord, regisseur = people["coord"], people["regisseur"]
    case = _in_uitvoering(engine, people)
    stored = json.loads(json.dumps(case.to_dict()))
    for verify in (True, False):
        restored = Case.from_dict(stored, verify=verify)
        quick = engine.fire(restored, "voortgang_teruggekoppeld", actor=regisseur, at=AT)
        _same(quick, engine._fire_full(restored, "voortgang_teruggekoppeld", regisseur, None,
                                       AT, None))
        _same(quick, engine.fire(case, "voortgang_teruggekoppeld", actor=regisseur, at=AT))
        facts = engine.set_facts(Case.from_dict(stored, verify=verify),
                                 {"zorg_ketenpartner_adequaat": True}, actor=coord, at=AT)
        _same(facts, engine.set_facts(case, {"zorg_ketenpartner_adequaat": True}, actor=coord,
                                      at=AT))


_TASKS = """\
id: taak
version: {version}
label: Proef
assumption: proef
start_by: [melder]
roles:
  melder: {{label: Melder}}
  coordinator: {{label: Coordinator}}
facts:
  notitie: {{type: string, label: Notitie}}
states:
  aangemeld: {{label: Aangemeld, initial: true}}
  uitvoering: {{label: Uitvoering}}
  afgesloten: {{label: Afgesloten, final: true}}
tasks:
  bellen: {{label: Bellen, role: coordinator, opened_by: opgepakt{due}}}
transitions:
  - {{event: opgepakt, label: Opgepakt, from: aangemeld, to: uitvoering, by: [coordinator]}}
  - {{event: genoteerd, label: Genoteerd, from: uitvoering, to: uitvoering, by: [coordinator]}}
  - {{event: afsluiten, label: Afsluiten, from: uitvoering, to: afgesloten, by: [coordinator]}}
"""


def test_a_deadline_a_migrated_case_keeps_is_recorded() -> None:
    """A case keeps its task's deadline when it moves to a version of its workflow that sets
    none: a step past it records the signal first (the quick path looked for deadlines only
    where the case's version sets them, and a sweep never recorded it)."""
    first = load_workflow_text(_TASKS.format(version=1, due=", due: 3 days"), "taak.yaml")
    second = load_workflow_text(_TASKS.format(version=2, due=""), "taak.yaml")
    engine = Engine([first, second])
    melder, coord = Actor("m.melder", roles={"melder"}), Actor("c.coord", roles={"coordinator"})
    case = engine.start("taak", actor=melder, at=AT, version=1)
    case = engine.fire(case, "opgepakt", actor=coord, at=AT)
    case = engine.migrate(case, identity_plan(first, second), actor=coord, at=AT)
    late = AT + timedelta(days=10)
    assert [s.name for s in engine.due(case, late)] == ["bellen_te_laat"]
    fired = engine.fire(case, "genoteerd", actor=coord, at=late)
    assert [(e.kind, e.event) for e in fired.history[-2:]] == [
        ("signal", "bellen_te_laat"), ("fire", "genoteerd")]
    noted = engine.set_facts(case, {"notitie": "gebeld"}, actor=coord, at=late)
    assert [e.kind for e in noted.history[-2:]] == ["signal", "set_facts"]
    assert engine.record_signals(case, late).version == case.version + 1


# shapes the templates do not use, where writing a function out is easy to get wrong (each
# went wrong once: the review of the specialiser found them)
def _comprehension_rebinds(c: Any, data: Any) -> Any:
    x = 1
    return [x for x in data], {x: x for x in data}, (lambda x: x * 2)(data[0]), x


def _loop_variable_changed_in_the_body(c: Any, data: Any) -> Any:
    out = []
    for x in c.items:
        if data:
            x = 5
        out.append(x)
    for y in c.items:
        y += 10
        out.append(y)
    for z in c.items:
        for z in data:
            out.append(z)
    return out


def _loop_variable_read_after(c: Any, data: Any) -> Any:
    x = 0
    for x in c.items:  # noqa: B007 (the shape under test)
        pass
    return x


def _walrus(c: Any, data: Any) -> Any:
    x = 1
    if (x := data[0]) and x:
        y = (x := x + 1) + x
        return x, y
    return None


@pytest.mark.parametrize("shape", [_comprehension_rebinds, _loop_variable_changed_in_the_body,
                                   _loop_variable_read_after, _walrus])
@given(items=st.lists(st.integers(0, 3), max_size=4), data=st.lists(st.integers(0, 3),
                                                                    min_size=1, max_size=3))
@settings(max_examples=40, deadline=None)
def test_shapes_a_template_might_use_are_written_out_as_they_run(
        shape: Callable[..., Any], items: list[int], data: list[int]) -> None:
    made = specialise(shape, {"c": {"items": tuple(items)}}, shape.__name__)
    assert made is not None
    assert made(object(), data) == shape(SimpleNamespace(items=tuple(items)), data)


def _identity_of_fixed_values(c: Any, data: Any) -> Any:
    same = c.a is c.b
    return same, c.a is not c.b, c.a is data, (c.a if same else None) is None


class _Truthless:
    def __bool__(self) -> bool:
        raise ValueError("no truth")

    def __eq__(self, other: object) -> bool:
        raise ValueError("no equality")

    __hash__ = object.__hash__


def _folds_that_raise(c: Any, data: Any) -> Any:
    if data:
        return "data"
    if c.value == 1:
        return "one"
    return "truth" if c.value else "no truth", c.items == c.value


def test_a_value_whose_truth_or_equality_raises_raises_when_the_step_runs() -> None:
    made = specialise(_folds_that_raise, {"c": {"value": _Truthless(), "items": ()}}, "raises")
    assert made is not None  # written out, the questions left to the code
    assert made(object(), 1) == "data"
    with pytest.raises(ValueError, match="no equality"):
        made(object(), 0)


def _changes_a_fixed_attribute(c: Any, data: Any) -> Any:
    c.attr = data
    return c.attr


def test_a_function_changing_a_fixed_value_is_not_written_out() -> None:
    assert specialise(_changes_a_fixed_attribute, {"c": {"attr": 1}}, "changes") is None
    assert specialise(_changes_a_fixed_attribute, {"c": {"other": 1}}, "changes") is not None


gekozen = "the module's"


def _local_only_in_a_branch(c: Any, data: Any) -> Any:
    if c.flag:
        gekozen = data
    return (lambda: gekozen)()


def test_a_local_assigned_only_in_a_branch_left_out_stays_local() -> None:
    # left out, the assignment no longer made the name local: it read the module's global
    for flag in (True, False):
        made = specialise(_local_only_in_a_branch, {"c": {"flag": flag}}, "branch")
        assert made is not None
        if flag:
            assert made(object(), 5) == 5
        else:
            with pytest.raises(NameError, match="gekozen"):
                made(object(), 5)
            with pytest.raises(NameError, match="gekozen"):
                _local_only_in_a_branch(SimpleNamespace(flag=False), 5)


_LITERAL_IDENTITY = """
def of_a_text(c, data):
    return c.kind is "valt af, niet op!"


def via_a_local(c, data):
    kind = "valt af"
    return data is kind


def of_a_negative_number(c, data):
    return data is -1000


def of_a_tuple(c, data):
    return data is (1000, "valt af")


def via_a_loop(c, data):
    return [data is k for k in ("valt af", 1000)]
"""


def test_is_keeps_its_meaning_in_a_function_written_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a text or number written in the code is another object in the function made, however
    # the comparison reaches it: not written out
    (tmp_path / "literal_identity.py").write_text(_LITERAL_IDENTITY)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # "is" with a literal: the point
        shapes = importlib.import_module("literal_identity")
    for name in ("of_a_text", "via_a_local", "of_a_negative_number", "of_a_tuple",
                 "via_a_loop"):
        assert specialise(getattr(shapes, name), {"c": {"kind": "x"}}, name) is None, name
    # two equal texts that are two objects stay two (as constants they would be merged)
    one, other = "".join(["valt ", "af"]), "".join(["valt", " af"])
    for a, b in ((one, other), (one, one), (7 ** 40, 7 ** 40), ((one,), (other,))):
        made = specialise(_identity_of_fixed_values, {"c": {"a": a, "b": b}}, "identity")
        assert made is not None
        assert made(object(), a) == _identity_of_fixed_values(SimpleNamespace(a=a, b=b), a)


def test_a_fixed_value_of_a_subclass_of_str_is_not_written_as_a_constant() -> None:
    import enum

    class Kind(enum.StrEnum):
        A = "a"

    made = specialise(_loop_variable_read_after, {"c": {"items": (Kind.A, "b")}}, "kinds")
    assert made is not None and made(object(), [1]) == "b"
    made = specialise(_loop_variable_read_after, {"c": {"items": ("b", Kind.A)}}, "kinds")
    assert made is not None and made(object(), [1]) is Kind.A


def test_a_template_changed_since_it_was_imported_is_not_written_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The specialiser reads the template's source: if the file on disk is no longer the
    code running (a package upgraded in place), it keeps the function as it runs."""
    monkeypatch.syspath_prepend(str(tmp_path))
    on = {"c": {"on": True}}
    before = "def step(c, x):\n    if c.on:\n        return x + 1\n    return x\n"
    changes = [
        "def step(c, x):\n    if c.on:\n        return x + 2\n    return x * 2\n# changed\n",
        # the same names, constants and lines, only an operator or a comparison turned round
        "def step(c, x):\n    if c.on:\n        return x - 1\n    return x\n",
        "def step(c, x):\n    if not c.on:\n        return x + 1\n    return x\n",
        "def step(c, x):\n    if c.on:\n        return [x + 1 for _ in x]\n    return x\n",
    ]
    for n, after in enumerate(changes):
        assert not _written_out_after_change(tmp_path, f"template_{n}", before, after, on)
    # one line indented further: the same instructions, only where a jump lands differs
    assert not _written_out_after_change(
        tmp_path, "template_jump",
        "def step(c, x):\n    if c.on:\n        x = x + 1\n    x = x * 2\n    return x\n",
        "def step(c, x):\n    if c.on:\n        x = x + 1\n        x = x * 2\n    return x\n",
        {"c": {"on": False}})


def _written_out_after_change(folder: Path, name: str, before: str, after: str,
                              fixed: dict[str, dict[str, Any]]) -> bool:
    """Whether ``step`` of a module imported as ``before`` is still written out once its file
    says ``after``."""
    import importlib
    import linecache

    from zorgflow.engine import specialise as specialiser

    module = folder / f"{name}.py"
    module.write_text(before)
    template = importlib.import_module(name)
    assert specialise(template.step, fixed, "fresh") is not None
    specialiser._TREES.pop(template.step)  # read once per process: read it again
    module.write_text(after)
    linecache.clearcache()
    return specialise(template.step, fixed, "changed") is not None


def test_every_way_of_making_a_case_sets_every_field() -> None:
    """A case is made field by field in several places, for speed (`Case._next`, the
    written-out steps, a trusted read, a first check): each must set every slot."""
    engine, people = _lzn()
    coord, regisseur = people["coord"], people["regisseur"]
    made = [engine.start("lzn", actor=people["scp"], at=AT)]
    for event in ("passend_bevonden", "geen_actief_dossier"):
        made.append(engine.fire(made[-1], event, actor=coord, at=AT))
    made.append(engine.fire(made[-1], "casusregisseur_benoemd", actor=coord, at=AT,
                            data={"casusregisseur": regisseur.id, "ketenpartner": "GGZ"}))
    made.append(engine.fire(made[-1], "stagnatie_gemeld", actor=regisseur, at=AT))
    made.append(engine.fire(made[-1], "plan_aangepast", actor=coord, at=AT))  # an agreement
    made.append(engine.set_facts(made[-1], {"zorg_ketenpartner_adequaat": True}, actor=coord,
                                 at=AT))
    made.append(engine._fire_full(made[-1], "plan_aangepast", regisseur, None, AT, None))
    stored = json.loads(json.dumps(made[-1].to_dict()))
    made.append(Case.from_dict(stored, verify=False))
    made.append(engine._for_case(made[-1])[1])
    made.append(engine.fire(made[-2], "voortgang_teruggekoppeld", actor=regisseur, at=AT))
    for case in made:
        missing = [slot for slot in Case.__slots__ if not hasattr(case, slot)]
        assert not missing, (case, missing)


def _late_and_scoped(c: Any, data: Any) -> Any:
    x = c.first
    late = lambda: x  # noqa: E731 (the shape under test)
    x = data[0]
    gens = []
    for v in c.items:
        gens.append(d * v for d in data)
    y = c.first
    try:
        raise ValueError(data[0])
    except ValueError as y:  # noqa: F811 (a known name caught as the error: the shape)
        caught = y.args[0]
    total = 0
    for _w, _ in c.pairs:
        total += _
    for u in c.items:  # noqa: B007 (the shape under test)
        pass
    if c.items:
        u += 1
    return late(), [list(g) for g in gens], caught, total, u if c.items else None


def _with_defaults(c: Any, data: Any, extra: int = 1, *, more: int = 2) -> Any:
    return (c.first, data, extra, more)


@given(first=st.integers(0, 3), items=st.lists(st.integers(0, 3), max_size=3),
       data=st.lists(st.integers(0, 3), min_size=1, max_size=3))
@settings(max_examples=40, deadline=None)
def test_late_reads_scopes_and_defaults_are_kept(first: int, items: list[int],
                                                 data: list[int]) -> None:
    fixed = {"first": first, "items": tuple(items),
             "pairs": tuple((i, i + 1) for i in items)}
    for shape in (_late_and_scoped, _with_defaults):
        made = specialise(shape, {"c": fixed}, shape.__name__)
        assert made is not None
        assert made(object(), data) == shape(SimpleNamespace(**fixed), data)


def test_a_function_with_its_own_scopes_is_not_written_out() -> None:
    def nested(c: Any) -> Any:
        def inner(c: Any) -> Any:
            return c.first
        return inner(c)

    assert specialise(nested, {"c": {"first": 1}}, "nested") is None


def _read_where_it_stands(c: Any, data: Any) -> Any:
    for v in c.items:  # noqa: B007 (the shape under test)
        pass
    late = lambda v=v: v  # noqa: E731 (the shape under test)
    return late(), [v for v in v]


def test_a_lambdas_defaults_and_a_comprehensions_first_iterable_read_around_them() -> None:
    fixed = {"items": ((1, 2), (3, 4))}
    made = specialise(_read_where_it_stands, {"c": fixed}, "where")
    assert made is not None
    assert made(object(), None) == _read_where_it_stands(SimpleNamespace(**fixed), None)


def test_a_case_role_held_second_is_read_alike_both_ways() -> None:
    """The quick path reads a case's first case role without a call: with two held (the
    ketenpartner's contact first, the casusregisseur second), every step a holder of either
    takes is made both ways, and written out, alike."""
    engine = ComparingEngine([load_workflow(WORKFLOWS / "lzn.yaml")])
    coord = Actor("c.coord", roles={"lzn_coordinator"})
    contact = Actor("k.contact", roles={"ketenpartner"})
    regisseur = Actor("r.regisseur", roles={"ketenpartner"})
    case = engine.start("lzn", actor=Actor("s.melder", roles={"sociaal_contactpunt"}), at=AT)
    steps: list[tuple[str, Actor, dict[str, Any] | None]] = [
        ("passend_bevonden", coord, None),
        ("actief_dossier_gevonden", coord, {"ketenpartner": "GGZ",
                                            "contactpersoon": contact.id}),
        ("oppakken_in_lzn", contact, None), ("oppakken_in_lzn", coord, None),
        ("casusregisseur_benoemd", coord, {"casusregisseur": regisseur.id,
                                           "ketenpartner": "GGZ"}),
        ("voortgang_teruggekoppeld", regisseur, None), ("stagnatie_gemeld", regisseur, None),
        ("plan_aangepast", regisseur, None), ("plan_aangepast", coord, None),
        ("set_facts", regisseur, {"zorg_ketenpartner_adequaat": True}),
    ]
    for event, actor, data in steps:
        if event == "set_facts":
            assert data is not None
            case = engine.set_facts(case, data, actor=actor, at=AT)
        else:
            case = engine.fire(case, event, actor=actor, data=data, at=AT)
    assert list(case.case_roles) == ["ketenpartner_actief_dossier", "casusregisseur"]
    assert (engine.quick, engine.facts_quick) == (engine.steps, engine.facts_steps) == (9, 1)


def test_a_case_made_with_its_history_as_a_list_steps_as_one_made_with_a_tuple() -> None:
    engine, people = _lzn()
    case = _in_uitvoering(engine, people)
    listed = Case(case.id, case.workflow_id, case.workflow_version, case.state, case.facts,
                  case.case_roles, list(case._history), case.timers, tasks=case._tasks)
    stepped = engine.fire(listed, "voortgang_teruggekoppeld", actor=people["regisseur"], at=AT)
    _same(stepped, engine.fire(case, "voortgang_teruggekoppeld", actor=people["regisseur"],
                               at=AT))


_TASK_IDS = ("huisbezoek", "informatie_opvragen", "uitnodigen")


@functools.cache
def _comparing_in_uitvoering() -> tuple[ComparingEngine, dict[str, Actor], Case]:
    engine = ComparingEngine([load_workflow(WORKFLOWS / "lzn.yaml")])
    people = _people()
    return engine, people, _in_uitvoering(engine, people)


@st.composite
def _open_tasks(draw: st.DrawFn) -> dict[str, tuple[Any, ...]]:
    """Tasks of an LZN case in any order and mix: without a deadline, with one passed, near
    (within the three days the quick path reads by date alone) or far, done or open."""
    tasks = {}
    for task in draw(st.permutations(_TASK_IDS).flatmap(
            lambda ids: st.lists(st.sampled_from(ids), unique=True, max_size=3))):
        due = draw(st.one_of(st.none(), st.integers(-4 * 24, 6 * 24).map(
            lambda hours: AT + timedelta(hours=hours))))
        done = draw(st.booleans())
        tasks[task] = (AT - timedelta(days=1), due, AT if done else None,
                       "c.coord" if done else None)
    return tasks


@given(tasks=_open_tasks(), later=st.integers(0, 5 * 24))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_open_tasks_of_every_mix_are_read_alike_both_ways(tasks: dict[str, tuple[Any, ...]],
                                                          later: int) -> None:
    """The quick path reads the first open task without a slice and lets a lone task lapse
    without one: with the tasks of a case in any mix (deadlines passed, near or far, done or
    not, none to three of them, in any order), every step from `uitvoering` to `afsluiten`
    (leaving `stagnatie`, where two of the tasks lapse) is made alike both ways, and written
    out; the full path records a deadline passed first."""
    engine, people, case = _comparing_in_uitvoering()
    coord, regisseur = people["coord"], people["regisseur"]
    case = Case(case.id, case.workflow_id, case.workflow_version, case.state, case.facts,
                case.case_roles, case._history, case.timers, tasks=tasks)
    at = AT + timedelta(hours=later)
    quick, facts_quick = engine.quick, engine.facts_quick
    case = engine.fire(case, "voortgang_teruggekoppeld", actor=regisseur, at=at)
    case = engine.fire(case, "stagnatie_gemeld", actor=regisseur, at=at)
    case = engine.fire(case, "plan_aangepast", actor=coord, at=at)
    case = engine.fire(case, "plan_aangepast", actor=regisseur, at=at)
    case = engine.set_facts(case, {"zorg_ketenpartner_adequaat": True}, actor=coord, at=at)
    case = engine.fire(case, "afsluiten", actor=coord, at=at,
                       data={"afsluitreden": "zorg_bij_ketenpartner"})
    assert case.state == "afgesloten"
    # nothing due (the timer's shortest duration is a day less an hour, for a change of
    # clocks, and no deadline passed): every step is made the quick way
    if later < 23 and not _passed(tasks, at):
        assert (engine.quick - quick, engine.facts_quick - facts_quick) == (5, 1)


def _passed(tasks: dict[str, tuple[Any, ...]], at: datetime) -> bool:
    """Whether a deadline of an open task has passed at ``at``."""
    return any(due is not None and done is None and due <= at
               for _, due, done, _ in tasks.values())


@given(tasks=_open_tasks(), later=st.integers(0, 5 * 24))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_naming_the_casusregisseur_with_tasks_of_every_mix_is_alike_both_ways(
        tasks: dict[str, tuple[Any, ...]], later: int) -> None:
    """`casusregisseur_benoemd` lets two tasks lapse and opens `huisbezoek` unless it is open:
    with the tasks of the case in any mix (`huisbezoek` open, done or not there, first or
    not) the step is made alike both ways, and written out."""
    engine, people, _ = _comparing_in_uitvoering()
    coord = people["coord"]
    case = _geagendeerd(engine, people)
    case = Case(case.id, case.workflow_id, case.workflow_version, case.state, case.facts,
                case.case_roles, case._history, case.timers, tasks=tasks)
    quick, at = engine.quick, AT + timedelta(hours=later)
    case = engine.fire(case, "casusregisseur_benoemd", actor=coord, at=at,
                       data={"casusregisseur": people["regisseur"].id, "ketenpartner": "GGZ"})
    assert case.state == "uitvoering"
    assert engine.quick - quick == (0 if _passed(tasks, at) else 1)


def test_the_coordinator_naming_himself_casusregisseur_is_refused_both_ways() -> None:
    """The assigner kept apart from the role he assigns is read without a call when it is
    the case's first case role: refused both ways, with the same reason."""
    engine, people, _ = _comparing_in_uitvoering()
    coord = people["coord"]
    case = _geagendeerd(engine, people)
    with pytest.raises(TransitionRejected) as refused:
        engine.fire(case, "casusregisseur_benoemd", actor=coord, at=AT,
                    data={"casusregisseur": coord.id, "ketenpartner": "GGZ"})
    assert [r.code for r in refused.value.reasons] == ["separation_of_duties"]


def test_what_the_quick_step_makes_without_a_call_has_every_slot_set() -> None:
    """`quick_fire` makes a case, an environment, its decider and a guard's explanation
    without calling their classes, and `quick_set_facts` a case: each must have every slot
    of its class set in the statements right after it is made (not in a branch, which a
    step could pass by), or a slot added to one of the classes would be read as missing."""
    import ast
    import inspect

    from zorgflow.engine.step import PassedGuard
    from zorgflow.program import Decider
    from zorgflow.rules.expr import Env

    classes = {"Env": Env, "Decider": Decider, "PassedGuard": PassedGuard, "Case": Case}
    made = 0
    for template in (quick_fire, quick_set_facts):
        for node in ast.walk(ast.parse(inspect.getsource(template))):
            for block in (getattr(node, "body", None), getattr(node, "orelse", None)):
                if not isinstance(block, list):
                    continue
                for i, statement in enumerate(block):
                    if not (isinstance(statement, ast.Assign)
                            and isinstance(statement.value, ast.Call)
                            and isinstance(statement.value.func, ast.Name)
                            and statement.value.func.id == "_new"):
                        continue
                    name = statement.targets[0]
                    assert isinstance(name, ast.Name)
                    argument = statement.value.args[0]
                    assert isinstance(argument, ast.Name)
                    slots = set()
                    for after in block[i + 1:]:
                        if not (isinstance(after, ast.Assign)
                                and isinstance(after.targets[0], ast.Attribute)
                                and isinstance(after.targets[0].value, ast.Name)
                                and after.targets[0].value.id == name.id):
                            break
                        slots.add(after.targets[0].attr)
                    assert slots == set(classes[argument.id].__slots__), name.id
                    made += 1
    assert made == 6  # a case twice in quick_fire, once in quick_set_facts, and the three


def test_a_case_refuses_a_task_map_it_could_not_read() -> None:
    """The steps read a task's record by position: a case made with a record of another
    shape, or a flat map of odd length, is refused when it is made."""
    engine, people = _lzn()
    case = _in_uitvoering(engine, people)
    for tasks in ({"huisbezoek": (AT, None)}, ("huisbezoek",),
                  ("huisbezoek", (AT, None, None, None, None)), {"huisbezoek": "open"}):
        with pytest.raises(TypeError, match="its record"):
            Case(case.id, case.workflow_id, case.workflow_version, case.state, case.facts,
                 case.case_roles, case._history, case.timers, tasks=tasks)  # type: ignore[arg-type]


_AGREEMENT = """\
id: samen
version: 1
label: Proef
assumption: proef
start_by: [melder]
roles:
  melder: {label: Melder}
  coordinator: {label: Coordinator}
  regisseur: {label: Regisseur}
facts:
  notitie: {type: string, label: Notitie}
states:
  open: {label: Open, initial: true}
  gepland: {label: Gepland}
  dicht: {label: Dicht, final: true}
transitions:
  - event: plan_vastgesteld
    label: Plan vastgesteld
    from: open
    to: gepland
    agreement: [coordinator, regisseur]
    data:
      datum: {type: date, label: Datum}
      uren: {type: number, label: Uren, required: false}
  - {event: afsluiten, label: Afsluiten, from: gepland, to: dicht, by: [coordinator]}
"""


@given(datum=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)).flatmap(
           lambda day: st.sampled_from([day, day.isoformat()])),
       uren=st.one_of(st.none(), st.integers(0, 100), st.floats(0, 100), st.just("3")),
       second_data=st.booleans())
@settings(max_examples=100, deadline=None)
def test_agreements_to_data_read_as_they_are_kept_are_alike_both_ways(
        datum: Any, uren: Any, second_data: bool) -> None:
    """An agreement's data are kept as their types say (a date given as text is kept as a
    date): both agreements, the second with the same data or none, are made alike both ways,
    their records' data and the pending agreement with the same classes."""
    engine = ComparingEngine([load_workflow_text(_AGREEMENT, "samen.yaml")])
    coord = Actor("c.coord", roles={"coordinator"})
    regisseur = Actor("r.regisseur", roles={"regisseur"})
    data = {"datum": datum} if uren is None else {"datum": datum, "uren": uren}
    case = engine.start("samen", actor=Actor("m.melder", roles={"melder"}), at=AT)
    try:
        case = engine.fire(case, "plan_vastgesteld", actor=coord, data=data, at=AT)
    except TransitionRejected:
        return  # (data refused: refused alike both ways)
    case = engine.fire(case, "plan_vastgesteld", actor=regisseur,
                       data=data if second_data else None, at=AT)
    assert case.state == "gepland"
    assert type(case.history[-1].data["datum"]) is date
