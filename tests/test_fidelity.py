"""What the sources need of the format and the engine: provenance as data, warnings, the
dossier allow-list, different people for case roles, fact scope — each through the public API
and the CLI, with the mistakes a policy officer can make reported at their place."""

from __future__ import annotations

import subprocess
import sys
import unittest
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings

from tests.conftest import Backend
from zorgflow import Actor, Engine, TransitionRejected, Workflow, WorkflowError
from zorgflow.loader import load_workflow_text
from zorgflow.store.sqlite import SCHEMA_VERSION
from zorgflow.testing import state_machine_for
from zorgflow.verify import verify

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=AMS)

#: A small workflow every test below starts from; each test changes one thing in it.
KLEIN = """\
id: klein
version: 1
label: Kleine werkwijze
source: "Werkwijze LZN, Binnenkomst melding"
start_by: [melder]
roles:
  melder: {label: Melder, source: "Werkwijze LZN, Binnenkomst melding"}
  coordinator: {label: Coördinator, assumption: "De coördinator bewaakt de casus."}
  regisseur: {label: Regisseur, case_role: true, source: "Werkwijze LZN, Benoemen casusregisseur"}
  tweede: {label: Tweede regisseur, case_role: true, assumption: "Een tweede regisseur."}
facts:
  naam: {type: string, personal_data: true, label: Naam, source: "Werkwijze LZN, Binnenkomst"}
  risico: {type: boolean, label: Risico, source: "Werkwijze LZN, Overleg LZN"}
  toelichting: {type: string, label: Toelichting, assumption: "Vrije tekst."}
  caseload: {type: integer, minimum: 0, label: Caseload, assumption: "Telt open casussen."}
states:
  open: {label: Open, initial: true, source: "Werkwijze LZN, Binnenkomst melding"}
  bezig:
    label: Bezig
    source: "Werkwijze LZN, Uitvoeringsfase"
    timers:
      - {signal: te_laat, after: 1 month, label: Te laat, assumption: "Eens per maand."}
  klaar: {label: Klaar, final: true, source: "Werkwijze LZN, Afsluiten casus"}
transitions:
  - event: beginnen
    from: open
    to: bezig
    by: [coordinator]
    source: "Werkwijze LZN, Benoemen casusregisseur"
    data:
      regisseur: {type: string, label: Regisseur}
    assigns: {regisseur: data.regisseur}
  - event: afronden
    from: bezig
    to: klaar
    by: [coordinator]
    assumption: "Alleen de coördinator rondt af."
"""

melder = Actor("m.melder", roles={"melder"})
coord = Actor("c.coord", roles={"coordinator"})


def workflow(text: str = KLEIN, name: str = "klein.yaml"):  # type: ignore[no-untyped-def]
    return load_workflow_text(text, name)


def machine_failure(wf: Workflow, examples: int) -> str | None:
    """Run the hypothesis machine `zorgflow.testing` generates for ``wf``; what it found
    wrong, or None."""
    test_case = state_machine_for(wf).TestCase
    test_case.settings = settings(max_examples=examples, stateful_step_count=20,
                                  deadline=None, database=None,
                                  suppress_health_check=list(HealthCheck))
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(test_case).run(result)
    problems = result.failures + result.errors
    return problems[0][1] if problems else None


def load_problems(text: str) -> list[str]:
    with pytest.raises(WorkflowError) as info:
        load_workflow_text(text, "klein.yaml")
    return [f"{p.line}:{p.column}: {p.message}" for p in info.value.errors]


# -- provenance ------------------------------------------------------------------------------


def test_source_and_assumption_are_data_on_each_element() -> None:
    wf = workflow()
    assert wf.roles["coordinator"].assumption == "De coördinator bewaakt de casus."
    assert wf.roles["melder"].cite == "Werkwijze LZN, Binnenkomst melding"
    assert wf.states["bezig"].timers[0].assumption == "Eens per maand."
    assert wf.transitions[1].assumption == "Alleen de coördinator rondt af."


def test_verify_names_each_element_without_source_or_assumption() -> None:
    text = KLEIN.replace('    assumption: "Alleen de coördinator rondt af."\n', "")
    text = text.replace(', assumption: "Eens per maand."', "")
    report = verify(workflow(text))
    untraced = [f for f in report.findings if f.kind == "no source"]
    assert {f.severity for f in untraced} == {"warning"}
    messages = "\n".join(f.message for f in untraced)
    assert "gebeurtenis 'afronden (van bezig)'" in messages
    assert "timer 'te_laat (in bezig)'" in messages
    assert len(untraced) == 2
    assert report.errors == []


def test_a_fully_traced_workflow_has_no_provenance_warning() -> None:
    assert [f for f in verify(workflow()).findings if f.kind == "no source"] == []


def test_an_empty_assumption_is_a_load_error_at_its_place() -> None:
    problems = load_problems(KLEIN.replace('"Alleen de coördinator rondt af."', '""'))
    assert any(p.startswith("37:17") and "assumption" in p for p in problems), problems


def test_check_cli_prints_the_provenance_warning_and_still_passes(tmp_path: Path) -> None:
    file = tmp_path / "klein.yaml"
    file.write_text(KLEIN.replace('    assumption: "Alleen de coördinator rondt af."\n', ""),
                    encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "zorgflow", "check", str(file)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING klein: no source: gebeurtenis 'afronden (van bezig)'" in run.stdout


def test_the_engine_runs_the_small_workflow() -> None:
    engine = Engine([workflow()])
    case = engine.start("klein", actor=melder, at=T0)
    case = engine.fire(case, "beginnen", actor=coord, data={"regisseur": "r.een"}, at=T0)
    assert case.state == "bezig"
    with pytest.raises(TransitionRejected):
        engine.fire(case, "beginnen", actor=coord, data={"regisseur": "r.een"}, at=T0)


# -- a richer workflow: warnings, dossier, different people, fact scope ------------------------

#: KLEIN with every concept this file tests; each test below changes one thing in it.
RIJK = KLEIN.replace('''states:
  open:''', '''  oorzaak:
    type: enum
    values: [ziekte, anders]
    label: Oorzaak
    dossier: true
    source: "Voorbeeldbrief, Doelgroep"
  besluit:
    type: boolean
    label: Besluit van het overleg
    set_by: [coordinator]
    set_in: [open]
    assumption: "Alleen op de agenda."
  indicatie:
    type: boolean
    label: Indicatie
    set_by: []
    written_by: [beginnen]
    assumption: "Alleen de gebeurtenis zet haar."
  mag_pas_later:
    type: boolean
    label: Pas als er risico is
    set_when: risico
    assumption: "Eerst het risico."
states:
  open:''').replace('''    assigns: {regisseur: data.regisseur}
''', '''      tweede: {type: string, label: Tweede, required: false}
      caseload: {type: integer, minimum: 0, label: Caseload, required: false}
    assigns: {regisseur: data.regisseur, tweede: data.tweede}
    sets: {indicatie: "true"}
    sends: anonymous_dossier
    warnings:
      caseload_hoog:
        when: data.caseload >= 6
        label: "De regisseur heeft al 6 of meer casussen (caseload ongeveer 5 tot 6)"
        assumption: "Vanaf de 7e casus."
''').replace('''states:
''', '''different_people:
  - roles: [regisseur, tweede]
    and_the_assigner: true
    source: "Levensloopfunctie Gelderland, Casemanagement: “één persoon … en één persoon”"
states:
''')

tweeds = {"regisseur": "r.een", "tweede": "t.twee"}


def rijk() -> Engine:
    return Engine([workflow(RIJK)])


def test_the_rich_workflow_is_fully_traced() -> None:
    report = verify(workflow(RIJK))
    assert [str(f) for f in report.findings if f.kind == "no source"] == []
    assert report.errors == []


def test_a_warning_is_recorded_and_never_refuses() -> None:
    engine = rijk()
    case = engine.start("klein", actor=melder, at=T0)
    low = engine.fire(case, "beginnen", actor=coord, data={**tweeds, "caseload": 5}, at=T0)
    assert low.history[-1].warnings == ()
    high = engine.fire(case, "beginnen", actor=coord, data={**tweeds, "caseload": 6}, at=T0)
    assert high.state == "bezig"
    assert high.history[-1].warnings == (
        "De regisseur heeft al 6 of meer casussen (caseload ongeveer 5 tot 6)",)
    assert high.history[-1].to_dict()["warnings"] == list(high.history[-1].warnings)
    assert "warnings" not in low.history[-1].to_dict()
    unknown = engine.fire(case, "beginnen", actor=coord, data=tweeds, at=T0)
    assert unknown.history[-1].warnings == ()  # unknown caseload: no warning


def test_warnings_survive_the_case_json_and_both_stores(backend: Backend) -> None:
    from zorgflow import Case

    engine = rijk()
    case = engine.start("klein", actor=melder, at=T0)
    case = engine.fire(case, "beginnen", actor=coord, data={**tweeds, "caseload": 9}, at=T0)
    again = Case.from_dict(case.to_dict())
    assert again.history[-1].warnings == case.history[-1].warnings
    store = backend.open(engine)
    store.create(engine.start("klein", actor=melder, at=T0, case_id="c1"))
    loaded = store.load("c1")
    store.save(engine.fire(loaded, "beginnen", actor=coord,
                           data={**tweeds, "caseload": 9}, at=T0), loaded.version)
    assert store.load("c1").history[-1].warnings == case.history[-1].warnings


def test_a_version_1_sqlite_store_gains_the_new_columns(tmp_path: Path) -> None:
    import sqlite3

    from zorgflow.store import SQLiteStore

    engine = rijk()
    path = tmp_path / "old.db"
    store = SQLiteStore(path, engine)
    store.create(engine.start("klein", actor=melder, at=T0, case_id="oud"))
    store.close()
    with sqlite3.connect(path) as conn:  # what a store of the previous release holds
        conn.execute("ALTER TABLE history DROP COLUMN warnings")
        conn.execute("ALTER TABLE cases DROP COLUMN progress")
        conn.execute("UPDATE zorgflow_schema SET version = 1")
    store = SQLiteStore(path, engine)
    old = store.load("oud")
    assert old.history[0].warnings == ()
    store.save(engine.fire(old, "beginnen", actor=coord, data={**tweeds, "caseload": 7},
                           at=T0), old.version)
    assert len(store.load("oud").history[-1].warnings) == 1
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT version FROM zorgflow_schema").fetchone()
    assert version == (SCHEMA_VERSION,)


def test_the_dossier_holds_only_the_allow_list() -> None:
    engine = rijk()
    case = engine.start("klein", actor=melder, at=T0,
                        facts={"naam": "Jan Jansen", "toelichting": "woont bij Jan",
                               "oorzaak": "ziekte", "risico": True})
    case = engine.fire(case, "beginnen", actor=coord, data=tweeds, at=T0)
    assert dict(case.history[-1].dossier or {}) == {"oorzaak": "ziekte"}


def test_personal_data_in_the_allow_list_is_a_load_error_at_its_place() -> None:
    text = RIJK.replace("label: Naam, source:", "label: Naam, dossier: true, source:")
    (problem,) = load_problems(text)
    assert problem.startswith("12:67:") and "personal data" in problem and "dossier" in problem


def test_free_text_in_the_allow_list_is_a_verify_warning() -> None:
    text = RIJK.replace('label: Toelichting, assumption', 'label: Toelichting, dossier: true, '
                        'assumption')
    (finding,) = [f for f in verify(workflow(text)).findings
                  if f.kind == "free text in dossier"]
    assert finding.severity == "warning" and "'toelichting'" in finding.message


def test_an_example_expecting_an_unknown_dossier_fact_is_a_load_error() -> None:
    text = RIJK + """examples:
  - name: dossier
    source: "Voorbeeldbrief, Doelgroep"
    actors: {m: [melder], c: [coordinator]}
    start: {by: m, facts: {oorzaak: ziekte}}
    steps:
      - event: beginnen
        by: c
        data: {regisseur: r.een}
        expect: {dossier: {oorzak: ziekte}}
"""
    (problem,) = load_problems(text)
    assert "unknown fact 'oorzak'" in problem and "oorzaak" in problem.split("oorzak'")[1]


def test_two_case_roles_for_one_actor_are_refused_and_the_case_is_unchanged() -> None:
    engine = rijk()
    case = engine.start("klein", actor=melder, at=T0)
    before = case.to_dict()
    with pytest.raises(TransitionRejected) as info:
        engine.fire(case, "beginnen", actor=coord,
                    data={"regisseur": "r.een", "tweede": "r.een"}, at=T0)
    (reason,) = info.value.reasons
    assert "'regisseur' and 'tweede' must be held by different people" in reason
    assert "r.een" not in reason
    assert case.to_dict() == before


def test_the_assigner_may_not_give_himself_a_separated_role() -> None:
    engine = rijk()
    case = engine.start("klein", actor=melder, at=T0)
    with pytest.raises(TransitionRejected) as info:
        engine.fire(case, "beginnen", actor=coord, data={"regisseur": coord.id}, at=T0)
    assert "may not make himself 'regisseur'" in info.value.reasons[0]
    accepted = engine.fire(case, "beginnen", actor=coord, data={"regisseur": "r.een"}, at=T0)
    assert accepted.case_roles == {"regisseur": "r.een"}


@pytest.mark.parametrize(("group", "message"), [
    ("roles: [regisseur, coordinator]", "'coordinator' is not a case role"),
    ("roles: [regisseur]", "one role is always held by one person"),
    ("roles: [regiseur, tweede]", "unknown role 'regiseur'"),
])
def test_mistakes_in_different_people_are_load_errors(group: str, message: str) -> None:
    text = RIJK.replace("  - roles: [regisseur, tweede]\n    and_the_assigner: true\n",
                        f"  - {group}\n")
    problems = load_problems(text)
    assert any(message in p for p in problems), problems


def test_a_fact_only_events_set_is_refused_by_hand_and_written_by_its_event() -> None:
    engine = rijk()
    case = engine.start("klein", actor=melder, at=T0)
    with pytest.raises(TransitionRejected) as info:
        engine.set_facts(case, {"indicatie": True}, actor=coord, at=T0)
    assert "set only by the events beginnen" in info.value.reasons[0]
    case = engine.fire(case, "beginnen", actor=coord, data=tweeds, at=T0)
    assert case.facts["indicatie"] is True


def test_an_event_writing_a_fact_outside_its_written_by_is_a_load_error() -> None:
    text = RIJK.replace("written_by: [beginnen]", "written_by: [afronden]")
    (problem,) = load_problems(text)
    assert "'beginnen' sets fact 'indicatie', but only afronden may write it" in problem


def test_set_by_empty_without_written_by_is_a_load_error() -> None:
    text = RIJK.replace("    written_by: [beginnen]\n", "").replace(
        '    sets: {indicatie: "true"}\n', "")
    (problem,) = load_problems(text)
    assert "name the events that write it in 'written_by:'" in problem


def test_a_fact_is_set_by_hand_only_in_its_states() -> None:
    engine = rijk()
    case = engine.start("klein", actor=melder, at=T0)
    case = engine.set_facts(case, {"besluit": True}, actor=coord, at=T0)
    case = engine.fire(case, "beginnen", actor=coord, data=tweeds, at=T0)
    with pytest.raises(TransitionRejected) as info:
        engine.set_facts(case, {"besluit": False}, actor=coord, at=T0)
    assert "may only be set in state open; the case is in 'bezig'" in info.value.reasons[0]


def test_a_fact_is_set_by_hand_only_while_its_condition_holds() -> None:
    engine = rijk()
    case = engine.start("klein", actor=melder, at=T0)
    for facts, word in (({}, "unknown"), ({"risico": False}, "false")):
        current = engine.set_facts(case, facts, actor=coord, at=T0) if facts else case
        with pytest.raises(TransitionRejected) as info:
            engine.set_facts(current, {"mag_pas_later": True}, actor=coord, at=T0)
        assert f"may only be set when risico; that is {word}" in info.value.reasons[0]
    case = engine.set_facts(case, {"risico": True}, actor=coord, at=T0)
    assert engine.set_facts(case, {"mag_pas_later": True}, actor=coord,
                            at=T0).facts["mag_pas_later"] is True


def test_default_set_by_applies_to_facts_without_their_own() -> None:
    engine = Engine([workflow(RIJK.replace("start_by: [melder]\n",
                                           "start_by: [melder]\ndefault_set_by: [coordinator]\n"))])
    case = engine.start("klein", actor=melder, at=T0)
    with pytest.raises(TransitionRejected) as info:
        engine.set_facts(case, {"risico": True}, actor=melder, at=T0)
    assert "may only be set by coordinator" in info.value.reasons[0]
    assert engine.set_facts(case, {"risico": True}, actor=coord, at=T0).facts["risico"]


def test_examples_check_warnings_by_id_or_fragment(tmp_path: Path) -> None:
    example = """examples:
  - name: caseload
    assumption: "Vanaf de 7e casus."
    actors: {m: [melder], c: [coordinator]}
    start: {by: m}
    steps:
      - event: beginnen
        by: c
        data: {regisseur: r.een, caseload: 6}
        expect: {warnings: [%s]}
"""
    for expected, passes in (("caseload_hoog", True), ("6 of meer", True), ("", False),
                             ("iets anders", False)):
        file = tmp_path / "klein.yaml"
        file.write_text(RIJK + example % (f'"{expected}"' if expected else ""),
                        encoding="utf-8")
        run = subprocess.run([sys.executable, "-m", "zorgflow", "test", str(file)],
                             capture_output=True, text=True, check=False)
        assert (run.returncode == 0) is passes, (expected, run.stdout + run.stderr)


# -- joint decisions -----------------------------------------------------------------------------

AKKOORD = RIJK + """  - event: overdragen
    from: bezig
    to: klaar
    agreement: [coordinator, regisseur]
    when: risico
    source: "Werkwijze LZN, Stagnatie en opschaling: “spreken gezamenlijk af”"
    data:
      netwerk: {type: enum, values: [lthg, ander], label: Netwerk}
  - event: plan_aangepast
    from: bezig
    to: bezig
    agreement: [coordinator, regisseur]
    source: "Werkwijze LZN, Stagnatie en opschaling, punt 1"
"""

regisseur = Actor("r.een", roles={"regisseur"})
tweede = Actor("t.twee", roles={"tweede"})
coord2 = Actor("c.twee", roles={"coordinator"})


def bezig(engine: Engine):  # type: ignore[no-untyped-def]
    case = engine.start("klein", actor=melder, at=T0, facts={"risico": True})
    return engine.fire(case, "beginnen", actor=coord, data=tweeds, at=T0)


def test_a_joint_decision_takes_effect_at_the_last_agreement() -> None:
    engine = Engine([workflow(AKKOORD)])
    case = bezig(engine)
    first = engine.fire(case, "overdragen", actor=coord, data={"netwerk": "lthg"}, at=T0)
    assert first.state == "bezig"
    assert first.agreements == {"overdragen": {"coordinator": coord.id}}
    entry = first.history[-1]
    assert (entry.kind, entry.event, entry.role, entry.from_state, entry.to_state) == (
        "agree", "overdragen", "coordinator", "bezig", "bezig")
    assert first.version == case.version + 1
    done = engine.fire(first, "overdragen", actor=regisseur, at=T0)  # agrees to the same data
    assert done.state == "klaar" and done.agreements == {}
    assert (done.history[-1].kind, done.history[-1].role) == ("fire", "regisseur")
    assert dict(done.history[-1].data) == {"netwerk": "lthg"}


def test_allowed_lists_an_agreement_for_each_actor_who_may_still_agree() -> None:
    engine = Engine([workflow(AKKOORD)])
    case = bezig(engine)
    assert "overdragen" in engine.allowed(case, coord)
    assert "overdragen" in engine.allowed(case, regisseur)
    first = engine.fire(case, "overdragen", actor=coord, data={"netwerk": "lthg"}, at=T0)
    assert "overdragen" not in engine.allowed(first, coord)
    assert "overdragen" not in engine.allowed(first, coord2)  # the coordinator role agreed
    assert "overdragen" in engine.allowed(first, regisseur)
    assert "overdragen" not in engine.allowed(first, tweede)


@pytest.mark.parametrize(("who", "data", "reason"), [
    (coord, {"netwerk": "ander"}, "an earlier agreement to 'overdragen' was about other data "
                                  "(netwerk differ)"),
    (coord2, {"netwerk": "lthg"}, "coordinator has already agreed to 'overdragen'; waiting for "
                                  "regisseur"),
    (coord, {"netwerk": "lthg"}, "this actor has already agreed to 'overdragen'"),
    (tweede, {"netwerk": "lthg"}, "'overdragen' is decided together by coordinator and "
                                  "regisseur"),
])
def test_a_wrong_agreement_is_refused_with_its_reason(who: Actor, data: dict[str, str],
                                                      reason: str) -> None:
    engine = Engine([workflow(AKKOORD)])
    first = engine.fire(bezig(engine), "overdragen", actor=coord, data={"netwerk": "lthg"},
                        at=T0)
    before = first.to_dict()
    with pytest.raises(TransitionRejected) as info:
        engine.fire(first, "overdragen", actor=who, data=data, at=T0)
    assert any(reason in r for r in info.value.reasons), info.value.reasons
    assert "lthg" not in " ".join(info.value.reasons) or "ander" not in data.values()
    assert first.to_dict() == before


def test_conflicting_data_names_the_field_never_the_values() -> None:
    engine = Engine([workflow(AKKOORD)])
    first = engine.fire(bezig(engine), "overdragen", actor=coord, data={"netwerk": "lthg"},
                        at=T0)
    with pytest.raises(TransitionRejected) as info:
        engine.fire(first, "overdragen", actor=regisseur, data={"netwerk": "ander"}, at=T0)
    text = " ".join(info.value.reasons)
    assert "netwerk" in text and "lthg" not in text and "ander" not in text


def test_the_guard_is_checked_only_when_the_last_agreement_comes() -> None:
    engine = Engine([workflow(AKKOORD)])
    case = engine.set_facts(bezig(engine), {"risico": False}, actor=coord, at=T0)
    first = engine.fire(case, "overdragen", actor=coord, data={"netwerk": "lthg"}, at=T0)
    with pytest.raises(TransitionRejected) as info:
        engine.fire(first, "overdragen", actor=regisseur, at=T0)
    assert "condition is false: risico" in info.value.reasons[0]
    assert "overdragen" not in engine.allowed(first, regisseur)


def test_pending_agreements_lapse_when_the_case_leaves_its_state() -> None:
    engine = Engine([workflow(AKKOORD)])
    case = bezig(engine)
    pending = engine.fire(case, "overdragen", actor=coord, data={"netwerk": "lthg"}, at=T0)
    pending = engine.fire(pending, "plan_aangepast", actor=regisseur, at=T0)
    assert set(pending.agreements) == {"overdragen", "plan_aangepast"}
    # a decision that stays in the state leaves the other pending agreements alone
    stayed = engine.fire(pending, "plan_aangepast", actor=coord, at=T0)
    assert stayed.state == "bezig" and set(stayed.agreements) == {"overdragen"}
    closed = engine.fire(stayed, "afronden", actor=coord, at=T0)
    assert closed.agreements == {}


def test_pending_agreements_survive_json_and_the_stores(backend: Backend) -> None:
    from zorgflow import Case

    engine = Engine([workflow(AKKOORD)])
    first = engine.fire(bezig(engine), "overdragen", actor=coord, data={"netwerk": "lthg"},
                        at=T0)
    again = Case.from_dict(first.to_dict())
    assert again.agreements == first.agreements
    assert engine.fire(again, "overdragen", actor=regisseur, at=T0).state == "klaar"
    assert Case.from_dict(first.to_dict(), verify=False).agreements == first.agreements
    store = backend.open(engine)
    store.create(first)
    loaded = store.load(first.id)
    assert loaded.agreements == first.agreements
    done = engine.fire(loaded, "overdragen", actor=regisseur, at=T0)
    store.save(done, loaded.version)
    assert store.load(first.id).agreements == {}
    assert [e.kind for e in store.load(first.id).history][-2:] == ["agree", "fire"]


def test_a_tampered_pending_agreement_is_refused() -> None:
    from zorgflow import Case, CaseFormatError

    engine = Engine([workflow(AKKOORD)])
    first = engine.fire(bezig(engine), "overdragen", actor=coord, data={"netwerk": "lthg"},
                        at=T0)
    raw = first.to_dict()
    raw["agreements"]["overdragen"]["roles"]["coordinator"] = "iemand.anders"
    with pytest.raises(CaseFormatError):
        Case.from_dict(raw)
    raw = first.to_dict()
    raw["agreements"] = {"overdragen": {"roles": {}, "data": {}}}
    with pytest.raises(CaseFormatError):
        Case.from_dict(raw, verify=False)


@pytest.mark.parametrize(("change", "message"), [
    (("    agreement: [coordinator, regisseur]\n    when: risico\n",
      "    agreement: [coordinator, regisseur]\n    by: [coordinator]\n    when: risico\n"),
     "with 'agreement:', the event is fired by the roles that agree"),
    (("    agreement: [coordinator, regisseur]\n    when: risico\n",
      "    agreement: [coordinator, regiseur]\n    when: risico\n"), "unknown role 'regiseur'"),
    (("      netwerk: {type: enum, values: [lthg, ander], label: Netwerk}\n",
      "      netwerk: {type: string, label: Netwerk, personal_data: true}\n"),
     "its data field 'netwerk' is personal data"),
])
def test_mistakes_in_an_agreement_are_load_errors(change: tuple[str, str],
                                                  message: str) -> None:
    problems = load_problems(AKKOORD.replace(*change))
    assert any(message in p for p in problems), problems


def test_a_transition_without_by_or_agreement_is_a_load_error() -> None:
    problems = load_problems(AKKOORD.replace("    agreement: [coordinator, regisseur]\n"
                                             "    source: \"Werkwijze LZN, Stagnatie en "
                                             "opschaling, punt 1\"\n",
                                             "    source: \"x\"\n"))
    assert any("needs 'by:'" in p for p in problems), problems


def test_verify_explores_agreements_as_steps() -> None:
    report = verify(workflow(AKKOORD))
    assert report.errors == [], [str(f) for f in report.errors]
    never = AKKOORD + """invariants:
  nooit_overdragen:
    label: Nooit overdragen
    never: {event: overdragen}
    assumption: "Een proef."
"""
    (finding,) = [f for f in verify(workflow(never)).findings if "nooit" in f.kind]
    assert finding.path[-2:] == ("overdragen (akkoord coordinator)", "overdragen") or \
        finding.path[-2:] == ("overdragen (akkoord regisseur)", "overdragen")


def test_the_generated_machine_runs_joint_decisions() -> None:
    assert machine_failure(workflow(AKKOORD), 60) is None


def test_examples_check_pending_agreements(tmp_path: Path) -> None:
    example = """examples:
  - name: samen besluiten
    source: "Werkwijze LZN, Stagnatie en opschaling: “spreken gezamenlijk af”"
    actors: {m: [melder], c: [coordinator], r: [regisseur]}
    start: {by: m, facts: {risico: true}}
    steps:
      - {event: beginnen, by: c, data: {regisseur: r}}
      - event: overdragen
        by: c
        data: {netwerk: lthg}
        expect: {state: bezig, agreements: {overdragen: [coordinator]}}
      - {event: overdragen, by: r, expect: {state: klaar, agreements: %s}}
"""
    for expected, passes in (("{}", True), ("{overdragen: [coordinator]}", False)):
        file = tmp_path / "klein.yaml"
        file.write_text(AKKOORD + example % expected, encoding="utf-8")
        run = subprocess.run([sys.executable, "-m", "zorgflow", "test", str(file)],
                             capture_output=True, text=True, check=False)
        assert (run.returncode == 0) is passes, (expected, run.stdout + run.stderr)


# -- tasks -------------------------------------------------------------------------------------

TAKEN = KLEIN.replace("states:\n", """cycles:
  overleg: {label: Overleg, first: 2026-01-05, every: 2 weeks, source: "Werkwijze LZN, Overleg LZN"}
tasks:
  uitnodigen:
    label: Uitnodigen voor het overleg
    role: coordinator
    opened_in: open
    due: next overleg
    source: "Werkwijze LZN, Overleg LZN: “uitnodigen voor het overleg”"
  huisbezoek:
    label: Huisbezoek afleggen
    role: regisseur
    opened_by: beginnen
    source: "Werkwijze LZN, Benoemen casusregisseur: “een huisbezoek afleggen”"
  bellen:
    label: Bellen
    role: coordinator
    opened_in: bezig
    due: 3 days
    assumption: "Binnen drie dagen."
states:
""", 1)


def taken() -> Engine:
    return Engine([workflow(TAKEN)])


def test_a_state_opens_its_task_with_the_next_cycle_date_as_deadline() -> None:
    engine = taken()
    case = engine.start("klein", actor=melder, at=T0)  # Monday 2 March, an overleg day
    (task,) = engine.tasks(case)
    assert (task.id, task.role, task.done) == ("uitnodigen", "coordinator", False)
    # the first overleg strictly after the day it opened: 16 March, 00:00 in Amsterdam
    assert task.due_at == datetime(2026, 3, 16, 0, 0, tzinfo=AMS)
    assert engine.due(case, datetime(2026, 3, 15, 23, 59, tzinfo=AMS)) == []
    (signal,) = engine.due(case, datetime(2026, 3, 16, 0, 0, tzinfo=AMS))
    assert signal.name == "uitnodigen_te_laat"
    recorded = engine.record_signals(case, datetime(2026, 3, 16, 1, tzinfo=AMS))
    assert [e.event for e in recorded.history][-1] == "uitnodigen_te_laat"
    assert engine.record_signals(recorded, datetime(2026, 3, 17, tzinfo=AMS)) is recorded


def test_a_completed_task_is_done_once_and_raises_no_signal() -> None:
    engine = taken()
    case = engine.start("klein", actor=melder, at=T0)
    done = engine.complete(case, "uitnodigen", actor=coord, at=T0)
    entry = done.history[-1]
    assert (entry.kind, entry.event, entry.role, entry.to_state) == (
        "complete", "uitnodigen", "coordinator", "open")
    assert [t.done for t in engine.tasks(done)] == [True]
    assert engine.due(done, datetime(2026, 4, 1, tzinfo=AMS)) == []
    with pytest.raises(TransitionRejected) as info:
        engine.complete(done, "uitnodigen", actor=coord, at=T0)
    assert "completed already" in info.value.reasons[0]


@pytest.mark.parametrize(("task", "who", "reason"), [
    ("uitnodigen", melder, "task 'uitnodigen' is done by coordinator"),
    ("uitnodign", coord, "unknown task 'uitnodign' — did you mean 'uitnodigen'"),
    ("huisbezoek", coord, "task 'huisbezoek' is not open in this case"),
])
def test_a_wrong_completion_is_refused_and_the_case_is_unchanged(task: str, who: Actor,
                                                                 reason: str) -> None:
    engine = taken()
    case = engine.start("klein", actor=melder, at=T0)
    before = case.to_dict()
    with pytest.raises(TransitionRejected) as info:
        engine.complete(case, task, actor=who, at=T0)
    assert reason in info.value.reasons[0], info.value.reasons
    assert case.to_dict() == before


def test_state_tasks_lapse_on_leaving_and_event_tasks_stay_until_done() -> None:
    engine = taken()
    case = engine.start("klein", actor=melder, at=T0)
    case = engine.fire(case, "beginnen", actor=coord, data={"regisseur": regisseur.id}, at=T0)
    assert {t.id: t.due_at for t in engine.tasks(case)} == {
        "huisbezoek": None, "bellen": datetime(2026, 3, 5, 9, 0, tzinfo=AMS)}
    with pytest.raises(TransitionRejected) as info:
        engine.complete(case, "huisbezoek", actor=Actor("x", roles={"regisseur"}), at=T0)
    assert "held only by the actor assigned" in info.value.reasons[0]
    closed = engine.fire(case, "afronden", actor=coord, at=T0)
    assert [t.id for t in engine.tasks(closed)] == ["huisbezoek"]  # also in a final state
    done = engine.complete(closed, "huisbezoek", actor=regisseur, at=T0)
    assert engine.tasks(done)[0].done and engine.tasks(done)[0].done_by == regisseur.id


def test_tasks_survive_json_and_the_stores(backend: Backend) -> None:
    from zorgflow import Case

    engine = taken()
    case = engine.start("klein", actor=melder, at=T0, case_id="t1")
    case = engine.complete(case, "uitnodigen", actor=coord, at=T0)
    assert Case.from_dict(case.to_dict()) == case
    assert engine.tasks(Case.from_dict(case.to_dict(), verify=False)) == engine.tasks(case)
    store = backend.open(engine)
    fresh = engine.start("klein", actor=melder, at=T0, case_id="t2")
    store.create(fresh)
    assert store.due(datetime(2026, 3, 16, 1, tzinfo=AMS))[0].id == "t2"
    loaded = store.load("t2")
    store.save(engine.complete(loaded, "uitnodigen", actor=coord, at=T0), loaded.version)
    assert [t.done for t in engine.tasks(store.load("t2"))] == [True]
    assert store.due(datetime(2026, 3, 16, 1, tzinfo=AMS)) == []


@pytest.mark.parametrize(("change", "message"), [
    (("    opened_in: open\n", "    opened_in: opn\n"), "unknown state 'opn'"),
    (("    due: next overleg\n", "    due: next overlg\n"), "unknown cycle 'overlg'"),
    (("    opened_by: beginnen\n", "    opened_by: beginen\n"), "unknown event 'beginen'"),
    (("    role: regisseur\n    opened_by", "    role: regiseur\n    opened_by"),
     "unknown role 'regiseur'"),
    (("    opened_in: open\n", ""), "needs exactly one of 'opened_in:'"),
    (("    due: 3 days\n", "    due: soon\n"), "'soon' is not a duration"),
])
def test_mistakes_in_tasks_are_load_errors(change: tuple[str, str], message: str) -> None:
    problems = load_problems(TAKEN.replace(*change))
    assert any(message in p for p in problems), problems


def test_verify_explores_tasks_and_the_machine_completes_them() -> None:
    report = verify(workflow(TAKEN))
    assert report.errors == [] and not report.cut_off
    # open tasks are part of the abstract state: more of them than states alone
    assert report.nodes > len(workflow(TAKEN).states)
    assert machine_failure(workflow(TAKEN), 60) is None


def test_examples_complete_tasks_and_check_the_open_ones(tmp_path: Path) -> None:
    example = """examples:
  - name: taken
    source: "Werkwijze LZN, Overleg LZN"
    actors: {m: [melder], c: [coordinator]}
    start: {by: m}
    steps:
      - {allowed: true, by: c, expect: {tasks: [uitnodigen]}}
      - {complete: uitnodigen, by: c, expect: {tasks: %s}}
      - {complete: uitnodigen, by: c, expect: {rejected: "completed already"}}
"""
    for expected, passes in (("[]", True), ("[uitnodigen]", False)):
        file = tmp_path / "klein.yaml"
        file.write_text(TAKEN + example % expected, encoding="utf-8")
        run = subprocess.run([sys.executable, "-m", "zorgflow", "test", str(file)],
                             capture_output=True, text=True, check=False)
        assert (run.returncode == 0) is passes, (expected, run.stdout + run.stderr)


# -- timers: a group of states, anchored on a date, with a condition --------------------------

TIJD = KLEIN.replace("""states:
  open:""", """  uitgesteld_tot: {type: date, label: Uitgesteld tot, assumption: "Een datum."}
  geinformeerd: {type: boolean, label: Geïnformeerd, assumption: "Ja of nee."}
  ingangsdatum: {type: date, label: Ingangsdatum, assumption: "Een datum."}
states:
  open:""").replace("""
transitions:""", """
  elders: {label: Elders, source: "Levensloopfunctie Gelderland, Verblijf elders"}
timers:
  - signal: contact_te_laat
    label: Contact te laat
    in: [bezig, elders]
    after: 14 days
    reset_by: [contact]
    assumption: "Elke twee weken contact."
  - signal: informeren_alsnog
    label: Alsnog informeren
    in: all
    at: facts.uitgesteld_tot
    while: not geinformeerd
    source: "Voorbeeldbrief, Informeren: “helder is wanneer het dan wél gaat gebeuren”"
  - signal: dag_vijf
    label: Dag vijf
    in: open
    at: facts.ingangsdatum
    offset: 5 days
    source: "Stappenplan, Zorgplicht: “Vanaf 5e dag: zorgkantoor”"
transitions:""") + """\
  - {event: weg, from: bezig, to: elders, by: [coordinator], assumption: "Naar elders."}
  - {event: terug, from: elders, to: bezig, by: [coordinator], assumption: "Terug."}
  - {event: contact, from: [bezig, elders], to: bezig, by: [coordinator], assumption: "x"}
"""


def tijd() -> Engine:
    return Engine([workflow(TIJD)])


def signals(engine: Engine, case, at: datetime) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(s.name for s in engine.due(case, at))


def test_a_group_timer_runs_on_across_its_states_and_restarts_only_by_its_event() -> None:
    engine = tijd()
    case = engine.start("klein", actor=melder, at=T0)
    case = engine.fire(case, "beginnen", actor=coord, data={"regisseur": "r.een"}, at=T0)
    later = T0.replace(day=10)
    case = engine.fire(case, "weg", actor=coord, at=later)  # moving inside the group
    case = engine.fire(case, "terug", actor=coord, at=later)
    assert case.timers["contact_te_laat"] == T0  # not restarted by moving
    assert signals(engine, case, T0.replace(day=15, hour=8)) == []
    assert signals(engine, case, T0.replace(day=16)) == ["contact_te_laat"]
    case = engine.fire(case, "contact", actor=coord, at=T0.replace(day=15))
    assert case.timers["contact_te_laat"] == T0.replace(day=15)
    assert signals(engine, case, T0.replace(day=16)) == []
    closed = engine.fire(case, "afronden", actor=coord, at=T0.replace(day=20))
    assert "contact_te_laat" not in closed.timers  # the case left the group


def test_an_anchored_timer_is_due_at_the_start_of_its_day_plus_the_offset() -> None:
    engine = tijd()
    case = engine.start("klein", actor=melder, at=T0, facts={"ingangsdatum": "2026-03-10"})
    # day 5 after 10 March starts at 15 March 00:00 in Amsterdam
    assert signals(engine, case, datetime(2026, 3, 14, 23, 59, tzinfo=AMS)) == []
    assert signals(engine, case, datetime(2026, 3, 15, 0, 0, tzinfo=AMS)) == ["dag_vijf"]
    begun = engine.fire(case, "beginnen", actor=coord, data={"regisseur": "r.een"}, at=T0)
    closed = engine.fire(begun, "afronden", actor=coord, at=T0)
    assert signals(engine, closed, datetime(2026, 4, 1, tzinfo=AMS)) == []  # 'open' only


def test_an_anchored_timer_with_an_unknown_fact_says_why_it_has_no_signal() -> None:
    engine = tijd()
    case = engine.start("klein", actor=melder, at=T0)
    status = {s.signal: s for s in engine.timer_status(case)}
    assert status["dag_vijf"].due_at is None
    assert "fact 'ingangsdatum' is unknown" in status["dag_vijf"].reason
    assert signals(engine, case, datetime(2030, 1, 1, tzinfo=AMS)) == []


def test_a_timer_with_a_condition_falls_due_only_while_it_holds_also_when_closed() -> None:
    engine = tijd()
    case = engine.start("klein", actor=melder, at=T0, facts={"uitgesteld_tot": "2026-04-01"})
    case = engine.fire(case, "beginnen", actor=coord, data={"regisseur": "r.een"}, at=T0)
    case = engine.fire(case, "afronden", actor=coord, at=T0)
    april = datetime(2026, 4, 1, 0, 0, tzinfo=AMS)
    assert signals(engine, case, april) == ["informeren_alsnog"]  # 'all': final states too
    informed = Engine([workflow(TIJD)]).start("klein", actor=melder, at=T0, facts={
        "uitgesteld_tot": "2026-04-01", "geinformeerd": True})
    assert signals(engine, informed, april) == []
    (status,) = [s for s in engine.timer_status(informed) if s.signal == "informeren_alsnog"]
    assert "runs only while not geinformeerd, which is false" in status.reason


@pytest.mark.parametrize(("change", "message"), [
    (("    at: facts.ingangsdatum\n", "    at: facts.caseload\n"), "a timer is anchored on a "
                                                                     "date fact"),
    (("    at: facts.ingangsdatum\n", "    at: facts.ingangsdatm\n"), "unknown fact "),
    (("    in: [bezig, elders]\n", "    in: [bezig, eldres]\n"), "unknown state 'eldres'"),
    (("    after: 14 days\n", ""), "needs exactly one of 'after:'"),
    (("    offset: 5 days\n", "    offset: 5 dayz\n"), "is not a duration"),
    (("    while: not geinformeerd\n", "    while: not geinformerd\n"), "geinformerd"),
    (("  - signal: dag_vijf\n", "  - signal: contact_te_laat\n"), "give each timer its own"),
])
def test_mistakes_in_timers_are_load_errors(change: tuple[str, str], message: str) -> None:
    problems = load_problems(TIJD.replace(*change))
    assert any(message in p for p in problems), problems


def test_the_timers_verify_and_the_machine_runs_them() -> None:
    report = verify(workflow(TIJD))
    assert report.errors == [], [str(f) for f in report.errors]
    assert machine_failure(workflow(TIJD), 40) is None


# -- an escalation that returns where it came from ---------------------------------------

TERUG = TIJD.replace("""  elders: {label: Elders""", """\
  escalatie: {label: Opgeschaald, assumption: "Een knelpunt bij het ZVH."}
  elders: {label: Elders""").replace("    in: [bezig, elders]\n",
                                      "    in: [bezig, elders, escalatie]\n") + """\
  - event: knelpunt
    from: [bezig, elders]
    to: escalatie
    by: [coordinator]
    source: "Ketenveldnorm levensloopaanpak, Opschaling"
  - event: opgelost
    from: escalatie
    returns: true
    by: [melder]
    assumption: "Terug naar waar de casus vandaan kwam."
  - {event: contact_tijdens, from: escalatie, to: escalatie, by: [coordinator], assumption: x}
"""


@pytest.mark.parametrize("origin", ["bezig", "elders"])
def test_an_escalation_returns_to_the_state_it_came_from(origin: str) -> None:
    engine = Engine([workflow(TERUG)])
    case = engine.start("klein", actor=melder, at=T0)
    case = engine.fire(case, "beginnen", actor=coord, data={"regisseur": "r.een"}, at=T0)
    if origin == "elders":
        case = engine.fire(case, "weg", actor=coord, at=T0)
    case = engine.fire(case, "knelpunt", actor=coord, at=T0.replace(day=3))
    case = engine.fire(case, "contact_tijdens", actor=coord, at=T0.replace(day=4))
    assert case.timers["contact_te_laat"] == T0  # the group timer runs on in the escalation
    back = engine.fire(case, "opgelost", actor=melder, at=T0.replace(day=5))
    assert back.state == origin and back.history[-1].to_state == origin
    from zorgflow import Case

    assert Case.from_dict(case.to_dict()) == case
    assert engine.fire(Case.from_dict(case.to_dict()), "opgelost", actor=melder,
                       at=T0).state == origin


def test_a_returning_transition_without_an_origin_is_refused() -> None:
    from zorgflow import Case

    engine = Engine([workflow(TERUG)])
    case = engine.start("klein", actor=melder, at=T0)
    case = engine.fire(case, "beginnen", actor=coord, data={"regisseur": "r.een"}, at=T0)
    raw = engine.fire(case, "knelpunt", actor=coord, at=T0).to_dict()
    del raw["returns_to"]
    with pytest.raises(TransitionRejected) as info:
        engine.fire(Case.from_dict(raw, verify=False), "opgelost", actor=melder, at=T0)
    assert "does not say where it came from" in info.value.reasons[0]


def test_returning_transitions_verify_draw_and_load_errors() -> None:
    wf = workflow(TERUG)
    report = verify(wf)
    assert report.errors == [], [str(f) for f in report.errors]
    (t,) = [t for t in wf.transitions if t.event == "opgelost"]
    assert wf.targets(t) == ("bezig", "elders")
    from zorgflow.render.graph import build_graph

    edges = {(e.source, e.target) for e in build_graph(wf).edges if e.event == "opgelost"}
    assert edges == {("escalatie", "bezig"), ("escalatie", "elders")}
    both = load_problems(TERUG.replace("    returns: true\n", "    returns: true\n    to: bezig\n"))
    assert any("needs exactly one of 'to:'" in p for p in both), both


# -- check --strict and acknowledged warnings --------------------------------------------------

def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zorgflow", *args], capture_output=True,
                          text=True, check=False)


def test_check_strict_fails_on_a_warning_and_passes_once_it_is_acknowledged(
        tmp_path: Path) -> None:
    file = tmp_path / "klein.yaml"
    untraced = KLEIN.replace('    assumption: "Alleen de coördinator rondt af."\n', "")
    file.write_text(untraced, encoding="utf-8")
    assert run_cli("check", str(file)).returncode == 0
    strict = run_cli("check", "--strict", str(file))
    assert strict.returncode == 1
    assert "1 unacknowledged warning (--strict)" in strict.stdout
    file.write_text(untraced + """acknowledged_warnings:
  - kind: no source
    about: afronden
    reason: "Volgt in versie 2."
""", encoding="utf-8")
    accepted = run_cli("check", "--strict", str(file))
    assert accepted.returncode == 0, accepted.stdout
    assert "acknowledged: Volgt in versie 2." in accepted.stdout


def test_an_acknowledgement_matching_nothing_is_a_warning(tmp_path: Path) -> None:
    file = tmp_path / "klein.yaml"
    file.write_text(KLEIN + """acknowledged_warnings:
  - {kind: table gap, about: zorgplicht, reason: "Bewust."}
""", encoding="utf-8")
    run = run_cli("verify", "--strict", str(file))
    assert run.returncode == 1
    assert "stale acknowledgement: acknowledged_warnings #1 (table gap: 'zorgplicht') " \
        "matches no warning" in run.stdout


def test_the_shipped_workflows_pass_check_strict() -> None:
    run = run_cli("check", "--strict", str(Path(__file__).resolve().parent.parent /
                                             "workflows"))
    assert run.returncode == 0, run.stdout[-3000:]


# -- what policy staff see: agreements, tasks and timers in the docs and diagrams -------------

def test_diagrams_and_docs_show_who_agrees_tasks_in_their_state_and_timers() -> None:
    from zorgflow.render.docs import render_document
    from zorgflow.render.graph import build_graph

    wf = workflow(AKKOORD)
    edges = {e.event: " ".join(e.lines) for e in build_graph(wf).edges}
    assert edges["overdragen"].startswith("overdragen samen door Coördinator en Regisseur")
    taken_wf = workflow(TAKEN)
    nodes = {n.id: n.lines for n in build_graph(taken_wf).nodes}
    assert "taak: Uitnodigen voor het overleg" in nodes["open"]
    md = render_document(taken_wf, "md")
    assert "Taak _Uitnodigen voor het overleg_ voor Coördinator, vóór het volgende Overleg" in md
    assert "- **Opent taak:** Huisbezoek afleggen" in md
    html = render_document(workflow(TIJD), "html")
    assert "op de datum “Ingangsdatum” plus 5 dagen" in html
    assert "na 14 dagen (loopt door in Bezig, Elders)" in html
    assert "zolang" in html
    assert "samen besloten door Coördinator en Regisseur" in render_document(wf, "md")


# -- date arithmetic in conditions ---------------------------------------------------------------

@pytest.mark.parametrize(("day", "holds"), [("2026-06-02", False), ("2026-06-03", True)])
def test_add_months_tells_the_day_after_three_calendar_months(day: str, holds: bool) -> None:
    text = KLEIN.replace("  caseload:", "  sinds: {type: date, label: Sinds, assumption: x}\n"
                                        "  caseload:").replace(
        "    assumption: \"Alleen de coördinator rondt af.\"\n",
        "    assumption: \"Alleen de coördinator rondt af.\"\n"
        "    when: today() > add_months(sinds, 3) and add_days(sinds, 93) >= today()\n")
    engine = Engine([workflow(text)])
    case = engine.start("klein", actor=melder, at=T0, facts={"sinds": "2026-03-02"})
    case = engine.fire(case, "beginnen", actor=coord, data={"regisseur": "r.een"}, at=T0)
    at = datetime.fromisoformat(day).replace(hour=9, tzinfo=AMS)
    assert ("afronden" in engine.allowed(case, coord, at)) is holds
    if not holds:
        with pytest.raises(TransitionRejected) as info:
            engine.fire(case, "afronden", actor=coord, at=at)
        assert "today() > add_months(sinds, 3)" in info.value.reasons[0]


@pytest.mark.parametrize(("expr", "message"), [
    ("add_months(caseload, 3) > today()", "add_months() needs a date first"),
    ("add_days(sinds, risico) > today()", "add_days() needs a whole number second"),
    ("add_days(sinds) > today()", "add_days() takes 2 argument(s)"),
])
def test_date_arithmetic_mistakes_are_load_errors(expr: str, message: str) -> None:
    text = KLEIN.replace("  caseload:", "  sinds: {type: date, label: Sinds, assumption: x}\n"
                                        "  caseload:").replace(
        "    assumption: \"Alleen de coördinator rondt af.\"\n",
        f"    assumption: \"Alleen de coördinator rondt af.\"\n    when: {expr}\n")
    problems = load_problems(text)
    assert any(message in p for p in problems), problems


def test_a_group_timer_bounds_the_fact_it_takes_its_interval_from() -> None:
    text = TIJD.replace("  uitgesteld_tot:", "  interval: {type: integer, label: Interval, "
                                              "assumption: x}\n  uitgesteld_tot:").replace(
        "    after: 14 days\n", "    after: \"facts.interval days | 14 days\"\n")
    engine = Engine([workflow(text)])
    case = engine.start("klein", actor=melder, at=T0)
    with pytest.raises(TransitionRejected) as info:
        engine.set_facts(case, {"interval": 3_000_000}, actor=coord, at=T0)
    assert "a timer's interval in days must lie between" in info.value.reasons[0]


# -- verify: facts only events write are not free ----------------------------------------------

#: `regie_bij` is written only by `beginnen` (from data it requires, or — with `optional` — from
#: data it may lack); `hervatten` goes back to bezig only when it is known.
ALLEEN_EVENTS = KLEIN.replace("""  caseload: {type: integer""", """\
  regie_bij:
    type: string
    label: Regie bij
    set_by: []
    written_by: [beginnen]
    assumption: "Alleen het begin legt vast bij wie de regie ligt."
  caseload: {type: integer""").replace("""    data:
      regisseur: {type: string, label: Regisseur}
    assigns: {regisseur: data.regisseur}""", """    data:
      regisseur: {type: string, label: Regisseur}
      organisatie: {type: string, label: Organisatie}
    assigns: {regisseur: data.regisseur}
    sets: {regie_bij: data.organisatie}
  - event: hervatten
    from: open
    to: bezig
    by: [coordinator]
    when: known(regie_bij)
    assumption: "Hervatten kan alleen als de regie al is vastgelegd."
  - event: terug
    from: bezig
    to: open
    by: [coordinator]
    assumption: "Terug naar open."
""") + """\
invariants:
  regisseur_als_bezig:
    label: Bezig heeft een regisseur
    assumption: "Wie bezig is, heeft een regisseur."
    in_state: bezig
    requires_case_role: regisseur
  regie_bekend_als_bezig:
    label: Bezig weet bij wie de regie ligt
    assumption: "Wie bezig is, weet bij wie de regie ligt."
    in_state: bezig
    implies: known(regie_bij)
"""


def test_verify_knows_a_fact_only_events_write_is_unknown_until_one_does() -> None:
    """`hervatten` needs regie_bij, which only `beginnen` writes (and `beginnen` assigns the
    regisseur). Treating the fact as free, verify let `hervatten` fire first and reported
    bezig without a regisseur; and it checked `known(regie_bij)` on entering bezig without
    the data `sets:` reads, a violation that cannot happen."""
    report = verify(workflow(ALLEEN_EVENTS))
    assert report.errors == [], "\n".join(map(str, report.errors))


def test_verify_still_finds_a_fact_written_from_data_that_may_be_missing() -> None:
    optional = ALLEEN_EVENTS.replace(
        "organisatie: {type: string, label: Organisatie}",
        "organisatie: {type: string, label: Organisatie, required: false}")
    errors = [str(f) for f in verify(workflow(optional)).errors]
    assert any("regie_bekend_als_bezig" in e and "beginnen" in e for e in errors), errors


def test_verify_says_why_an_event_waiting_for_an_unwritten_fact_never_fires() -> None:
    no_way_back = ALLEEN_EVENTS.replace("""  - event: terug
    from: bezig
    to: open
    by: [coordinator]
    assumption: "Terug naar open."
""", "")
    findings = [str(f) for f in verify(workflow(no_way_back)).findings]
    assert any("'hervatten' from 'open': its condition reads regie_bij, which only events "
               "write, and no path to 'open' leaves them as the condition needs" in f
               for f in findings), findings
