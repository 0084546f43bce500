"""`describe`: a workflow as JSON data for front ends — its events with their data as JSON
Schema (Draft 2020-12), who may fire them, the facts each role may set, states and tasks.

The schemas are checked against the meta-schema, the shipped workflows' own examples are
validated against them, and what `describe` says a role may set is compared with what
`Engine.set_facts` accepts.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import zorgflow
from zorgflow import Actor, Engine, TransitionRejected
from zorgflow.engine.describe import describe

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
SHIPPED = ("lzn", "levensloop", "stappenplan")
DIALECT = "https://json-schema.org/draft/2020-12/schema"
PLAIN = (dict, list, str, int, float, bool, type(None))

# Every kind of fact scope and data type: default_set_by, a set_by of a case role, set_in,
# set_by: [] with written_by, set_when, personal data, lists of scalars and of records.
FORM = """\
id: formulier
version: 1
label: Proef formulieren
assumption: Een proefwerkwijze voor de tests van describe.
start_by: [melder]
default_set_by: [melder, coordinator]
visible_to: [coordinator]
roles:
  melder: {label: Melder}
  coordinator: {label: Coördinator}
  buur: {label: Buur}
  regisseur: {label: Regisseur, case_role: true}
facts:
  a_default: {type: boolean, label: Standaard}
  b_eigen: {type: integer, minimum: 1, maximum: 10, label: Eigen, set_by: [regisseur]}
  c_later: {type: boolean, label: Later, set_by: [coordinator], set_in: [uitvoering]}
  d_event: {type: enum, values: [x, y], label: Door gebeurtenis, set_by: [], written_by: [opgepakt]}
  e_als: {type: boolean, label: Als, set_by: [coordinator, melder], set_when: a_default}
  naam: {type: string, label: Naam, personal_data: true, set_by: [coordinator, melder]}
  lijst: {type: list, items: string, label: Lijst}
  records:
    type: list
    label: Records
    items:
      id: {type: string}
      score: {type: number}
  datum: {type: date, label: Datum}
states:
  aangemeld: {label: Aangemeld, initial: true}
  uitvoering: {label: Uitvoering}
  afgesloten: {label: Afgesloten, final: true}
tasks:
  bellen: {label: Bellen, role: regisseur, opened_by: opgepakt, due: 3 days}
transitions:
  - event: opgepakt
    label: Opgepakt
    from: aangemeld
    to: uitvoering
    by: [coordinator]
    data:
      regisseur: {type: string, label: Regisseur}
      aantal: {type: integer, minimum: 1, maximum: 5, label: Aantal}
      soort: {type: enum, values: [licht, zwaar], label: Soort}
      wanneer: {type: date, label: Wanneer, required: false}
      tijdstip: {type: datetime, label: Tijdstip, required: false}
      gewicht: {type: number, label: Gewicht, required: false}
      akkoord: {type: boolean, label: Akkoord, required: false}
      namen: {type: list, items: string, label: Namen, required: false}
      bsn: {type: string, label: BSN, personal_data: true, required: false}
    assigns: {regisseur: data.regisseur}
    sets: {d_event: "'x'"}
  - event: afsluiten
    label: Afsluiten
    from: uitvoering
    to: afgesloten
    agreement: [coordinator, regisseur]
"""


@pytest.fixture(scope="module")
def shipped() -> Engine:
    return Engine.from_directory(WORKFLOWS)


@pytest.fixture(scope="module")
def form(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("form")
    (folder / "formulier.yaml").write_text(FORM, encoding="utf-8")
    return Engine.from_directory(folder)


def plain(value: Any, where: str = "describe") -> None:
    """Only JSON's own types, all the way down (no mappingproxy, tuple, datetime, str
    subclass)."""
    assert type(value) in PLAIN, f"{where}: {type(value).__name__}"
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, f"{where}: key {key!r}"
            plain(item, f"{where}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            plain(item, f"{where}[{n}]")


def schemas(description: dict[str, Any]) -> list[dict[str, Any]]:
    """Every JSON Schema in a description."""
    found = [description["facts_schema"]]
    for event in description["events"]:
        found.append(event["data"])
        found += [t["data"] for t in event["transitions"]]
    found += [f["schema"] for f in description["facts"]]
    return found


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def event_of(description: dict[str, Any], event: str) -> dict[str, Any]:
    return next(e for e in description["events"] if e["id"] == event)


def role_of(description: dict[str, Any], role: str) -> dict[str, Any]:
    return next(r for r in description["roles"] if r["id"] == role)


# -- the shipped workflows ---------------------------------------------------------------------


@pytest.mark.parametrize("workflow_id", SHIPPED)
def test_a_description_is_plain_json_with_valid_draft_2020_12_schemas(
        shipped: Engine, workflow_id: str) -> None:
    wf = shipped.workflow(workflow_id)
    description = describe(wf)
    plain(description)
    assert json.loads(json.dumps(description)) == description
    for schema in schemas(description):
        Draft202012Validator.check_schema(schema)
    assert description["facts_schema"]["$schema"] == DIALECT
    assert all(e["data"]["$schema"] == DIALECT for e in description["events"])
    assert [e["id"] for e in description["events"]] == list(wf.events)
    assert [s["id"] for s in description["states"]] == list(wf.states)
    assert [r["id"] for r in description["roles"]] == list(wf.roles)
    assert [t["id"] for t in description["tasks"]] == list(wf.tasks)
    assert description["workflow"] == {"id": wf.id, "version": wf.version, "label": wf.label,
                                       "description": wf.description}


@pytest.mark.parametrize("workflow_id", SHIPPED)
def test_the_shipped_examples_data_fits_the_schemas(shipped: Engine, workflow_id: str) -> None:
    wf = shipped.workflow(workflow_id)
    description = describe(wf)
    facts = validator(description["facts_schema"])
    checked = 0
    for example in wf.examples:
        assert not list(facts.iter_errors(dict(example.start.facts))), example.name
        for step in example.steps:
            if step.expect.rejected:
                continue  # a refused step may send wrong data on purpose
            if step.action == "event":
                event = event_of(description, step.event)
                if event["needs_agreement"] and not step.data:
                    continue  # a later agreement agrees to the first one's data
                schema = event["data"]
                errors = [e.message for e in validator(schema).iter_errors(dict(step.data))]
                assert not errors, f"{example.name}, line {step.line}: {errors}"
                checked += 1
            elif step.action == "set_facts":
                errors = [e.message for e in facts.iter_errors(dict(step.facts_to_set))]
                assert not errors, f"{example.name}, line {step.line}: {errors}"
    assert checked > 0


def test_the_schema_refuses_what_the_shipped_engine_refuses(shipped: Engine) -> None:
    schema = event_of(describe(shipped.workflow("lzn")), "overgedragen_ander_netwerk")["data"]
    check = validator(schema)
    assert check.is_valid({"netwerk": "lthg"})
    assert not check.is_valid({"netwerk": "lthgg"})  # not one of the values
    assert not check.is_valid({})  # required
    assert not check.is_valid({"netwerk": "lthg", "extra": 1})  # no other fields
    benoemd = validator(event_of(describe(shipped.workflow("lzn")),
                                 "casusregisseur_benoemd")["data"])
    assert benoemd.is_valid({"casusregisseur": "p", "ketenpartner": "GGZ", "motivering": None})
    assert not benoemd.is_valid({"casusregisseur": "  ", "ketenpartner": "GGZ"})  # blank


# -- a workflow with every kind of scope and type ---------------------------------------------


def test_events_say_who_fires_agrees_and_what_data_they_take(form: Engine) -> None:
    description = describe(form.workflow("formulier"))
    opgepakt = event_of(description, "opgepakt")
    assert (opgepakt["label"], opgepakt["from"], opgepakt["to"], opgepakt["by"]) == (
        "Opgepakt", ["aangemeld"], ["uitvoering"], ["coordinator"])
    assert opgepakt["needs_agreement"] is False
    assert opgepakt["transitions"][0]["opens_tasks"] == ["bellen"]
    data = opgepakt["data"]
    assert data["required"] == ["regisseur", "aantal", "soort"]
    assert data["additionalProperties"] is False
    props = data["properties"]
    assert props["aantal"] == {"type": "integer", "minimum": 1, "maximum": 5, "title": "Aantal"}
    assert props["soort"]["enum"] == ["licht", "zwaar"]
    assert props["wanneer"]["type"] == ["string", "null"]
    assert props["wanneer"]["format"] == "date"
    assert props["tijdstip"]["format"] == "date-time"
    assert props["namen"]["items"] == {"type": "string"}
    assert props["bsn"]["x-personal-data"] is True
    assert "x-personal-data" not in props["regisseur"]
    afsluiten = event_of(description, "afsluiten")
    assert afsluiten["needs_agreement"] is True
    assert afsluiten["agreement"] == ["coordinator", "regisseur"]
    assert role_of(description, "regisseur")["agrees"] == ["afsluiten"]
    assert role_of(description, "coordinator")["fires"] == ["opgepakt"]
    assert role_of(description, "regisseur")["completes"] == ["bellen"]
    assert description["tasks"][0]["due"] == "3 days"
    facts = {f["id"]: f for f in description["facts"]}
    assert facts["records"]["schema"]["items"]["properties"]["score"] == {"type": "number"}
    assert facts["naam"]["schema"]["x-personal-data"] is True
    assert facts["naam"]["visible_to"] == ["coordinator"]
    assert facts["d_event"]["by_hand"] is False
    assert facts["d_event"]["written_by"] == ["opgepakt"]
    assert "d_event" not in description["facts_schema"]["properties"]
    assert description["visible_to"] == ["coordinator"]
    assert role_of(description, "coordinator")["sees_personal_data"] == ["naam"]
    assert role_of(description, "melder")["sees_personal_data"] == []
    for schema in schemas(description):
        Draft202012Validator.check_schema(schema)


def test_what_a_role_may_set_is_what_set_facts_accepts(form: Engine) -> None:
    """For each role, fact and state: `describe` lists the fact for the role in that state
    exactly when `Engine.set_facts` accepts it from a holder of the role."""
    description = describe(form.workflow("formulier"))
    samples = {"a_default": True, "b_eigen": 3, "c_later": False, "d_event": "y",
               "e_als": True, "naam": "Jan", "lijst": ["a"], "records": [{"id": "r"}],
               "datum": "2026-01-08"}
    melder = Actor("m", roles={"melder"})
    coordinator = Actor("c", roles={"coordinator"})
    regisseur = Actor("r", roles={"buur"})
    actors = {"melder": melder, "coordinator": coordinator, "buur": Actor("b", roles={"buur"}),
              "regisseur": regisseur}
    case = form.start("formulier", actor=melder, facts={"a_default": True})
    cases = {"aangemeld": case,
             "uitvoering": form.fire(case, "opgepakt", actor=coordinator,
                                     data={"regisseur": "r", "aantal": 1, "soort": "licht"})}
    compared = 0
    for role in description["roles"]:
        may = {s["fact"]: s for s in role["sets"]}
        for state, current in cases.items():
            if role["case_role"] and role["id"] not in current.case_roles:
                continue  # nobody holds it yet
            for fact, value in samples.items():
                predicted = fact in may and state in may[fact]["states"]
                try:
                    form.set_facts(current, {fact: value}, actor=actors[role["id"]])
                    accepted = True
                except TransitionRejected:
                    accepted = False
                assert accepted == predicted, (role["id"], state, fact)
                compared += 1
    assert compared > 40
    # default_set_by leaves the case role out: only the fact that names him
    assert [s["fact"] for s in role_of(description, "regisseur")["sets"]] == ["b_eigen"]
    coord = {s["fact"]: s for s in role_of(description, "coordinator")["sets"]}
    assert coord["c_later"]["states"] == ["uitvoering"]
    assert coord["e_als"]["when"] == "a_default"
    assert "afgesloten" not in coord["a_default"]["states"]  # a closed case's facts are fixed
    assert role_of(description, "buur")["sets"] == []


FIELD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10),
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=5),
    st.sampled_from(["licht", "zwaar", "2026-01-08", "2026-02-30", "2026-01-08T10:00:00+01:00",
                     "2026-01-08T10:00:00", " "]),
    st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=3),
)


FIELDS = ["regisseur", "aantal", "soort", "wanneer", "tijdstip", "gewicht", "akkoord",
          "namen", "bsn", "onbekend"]
VALID_DATA = {"regisseur": "r", "aantal": 2, "soort": "zwaar", "wanneer": "2026-01-08",
              "tijdstip": "2026-01-08T10:00:00+01:00", "gewicht": 1.5, "akkoord": True,
              "namen": ["a"], "bsn": "123"}


@settings(max_examples=400, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), FIELD_VALUES, max_size=3),
       left_out=st.sets(st.sampled_from(FIELDS), max_size=3))
def test_data_the_schema_accepts_the_engine_accepts(changes: dict[str, Any],
                                                     left_out: set[str]) -> None:
    """The schema never lets through data that `fire` refuses (it may be stricter: text of
    spaces for an optional number, a date written without dashes). The data: valid data with
    a few fields changed to anything and a few left out."""
    data = {k: v for k, v in {**VALID_DATA, **changes}.items() if k not in left_out}
    engine = _form_engine()
    description = _form_description()
    if not validator(event_of(description, "opgepakt")["data"]).is_valid(data):
        return
    coordinator = Actor("c", roles={"coordinator"})
    case = engine.start("formulier", actor=Actor("m", roles={"melder"}))
    try:
        engine.fire(case, "opgepakt", actor=coordinator, data=data)
    except TransitionRejected as refused:  # pragma: no cover - a failure
        pytest.fail(f"the schema accepts {data!r}, the engine refuses: {refused.reasons}")


@cache
def _form_engine() -> Engine:
    """The form workflow's engine, once (hypothesis runs a test many times)."""
    return Engine([zorgflow.load_workflow_text(FORM, "formulier.yaml")])


@cache
def _form_description() -> dict[str, Any]:
    return describe(_form_engine().workflow("formulier"))


def test_events_with_several_transitions_list_each(shipped: Engine) -> None:
    description = describe(shipped.workflow("levensloop"))
    contact = event_of(description, "contact_vastgelegd")
    assert len(contact["transitions"]) >= 2
    assert contact["from"] == [s for t in contact["transitions"] for s in t["from"]]
    assert contact["by"] == ["casemanager_zorg"]


def test_engine_describe_describes_the_loaded_version(shipped: Engine) -> None:
    assert shipped.describe("lzn") == describe(shipped.workflow("lzn"))
    assert shipped.describe("lzn", 3)["workflow"]["version"] == 3
    with pytest.raises(zorgflow.UnknownWorkflow):
        shipped.describe("lzn", 99)
