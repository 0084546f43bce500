"""Views of cases for front ends: JSON-ready, with personal data shown only to the roles a
workflow's ``visible_to:`` names — and the loader's checks of that key.

Each privacy test looks at the raw text of ``json.dumps(view)``: a personal value must not
occur in it anywhere, not in the facts, the history, the dossier or a timer's due time.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zorgflow
from zorgflow import Actor, Case, CaseMismatch, Engine, WorkflowError
from zorgflow.loader import load_workflow_text
from zorgflow.service import MASK, case_view, history_view, ref_view
from zorgflow.store import SQLiteStore

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=AMS)
PLAIN = (dict, list, str, int, float, bool, type(None))

# personal facts naam, bsn (its own visible_to: the coordinator only), geboortedatum (a
# timer counts from it) and adres (an event's personal data field writes it)
PRIVACY = """\
id: zichtbaar
version: 1
label: Proef zichtbaarheid
assumption: Een proefwerkwijze voor de tests van de views.
start_by: [melder]
visible_to:
  roles: [coordinator, regisseur]
  assumption: Alleen de coördinator en de regisseur van de casus zien wie het betreft.
roles:
  melder: {label: Melder}
  coordinator: {label: Coördinator}
  buur: {label: Andere ketenpartner}
  regisseur: {label: Regisseur, case_role: true}
facts:
  naam: {type: string, label: Naam, personal_data: true}
  bsn: {type: string, label: BSN, personal_data: true, visible_to: [coordinator]}
  geboortedatum: {type: date, label: Geboortedatum, personal_data: true}
  adres: {type: string, label: Adres, personal_data: true}
  urgent: {type: boolean, label: Urgent, dossier: true}
states:
  aangemeld: {label: Aangemeld, initial: true}
  uitvoering: {label: Uitvoering}
  afgesloten: {label: Afgesloten, final: true}
timers:
  - signal: volwassen
    label: De persoon wordt volwassen
    in: open
    at: facts.geboortedatum
    offset: 18 years
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
      adres: {type: string, label: Adres, personal_data: true, required: false}
    assigns: {regisseur: data.regisseur}
    sets: {adres: data.adres}
    sends: anonymous_dossier
  - event: bsn_vastgelegd
    label: BSN vastgelegd
    from: uitvoering
    to: uitvoering
    by: [coordinator, regisseur]
    data:
      bsn: {type: string, label: BSN, personal_data: true}
    sets: {bsn: data.bsn}
  - event: afsluiten
    label: Afsluiten
    from: uitvoering
    to: afgesloten
    by: [coordinator]
"""

NAAM, BSN, ADRES, GEBOORTEDATUM = "Jantje Jansen", "999999990", "Dorpsstraat 17", "2011-05-17"
# the due time of the timer counts from the birth date: it shows it too
VOLWASSEN = datetime(2029, 5, 17, tzinfo=AMS).isoformat()
SECRETS = (NAAM, BSN, ADRES, GEBOORTEDATUM, VOLWASSEN)

melder = Actor("m.melder", roles={"melder"})
coordinator = Actor("c.coord", roles={"coordinator"})
buur = Actor("b.buur", roles={"buur"})
regisseur = Actor("r.regie", roles={"buur"})
# claims the case role himself, but this case did not assign it to him
pretender = Actor("p.anders", roles={"buur", "regisseur"})


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("workflows")
    (folder / "zichtbaar.yaml").write_text(PRIVACY, encoding="utf-8")
    return Engine.from_directory(folder)


def a_case(engine: Engine, *, naam: str = NAAM, bsn: str = BSN, adres: str = ADRES,
           geboortedatum: str = GEBOORTEDATUM) -> Case:
    """A case in uitvoering with every kind of personal value: facts given at start, event
    data that a fact copies, an event's personal data field, a timer on a personal date."""
    case = engine.start("zichtbaar", actor=melder, at=T0,
                        facts={"naam": naam, "geboortedatum": geboortedatum, "urgent": True})
    case = engine.fire(case, "opgepakt", actor=coordinator, at=T0,
                       data={"regisseur": regisseur.id, "adres": adres})
    case = engine.fire(case, "bsn_vastgelegd", actor=regisseur, at=T0, data={"bsn": bsn})
    return engine.set_facts(case, {"naam": naam, "urgent": False}, actor=coordinator, at=T0)


def text_of(view: Any) -> str:
    """Every way the view can be written as JSON text."""
    return json.dumps(view) + json.dumps(view, ensure_ascii=False)


def plain(value: Any, where: str = "view") -> None:
    """Only JSON's own types, all the way down (no mappingproxy, tuple, datetime)."""
    assert type(value) in PLAIN, f"{where}: {type(value).__name__}"
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, f"{where}: key {key!r}"
            plain(item, f"{where}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            plain(item, f"{where}[{n}]")


# -- who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [melder, buur, pretender], ids=["opener", "other", "claims"])
def test_an_actor_without_a_role_in_visible_to_never_sees_a_personal_value(
        engine: Engine, actor: Actor) -> None:
    case = a_case(engine)
    view = case_view(engine, case, actor, history=True)
    text = text_of(view)
    for secret in SECRETS:
        assert secret not in text, secret
    assert view["facts"] == {"naam": MASK, "bsn": MASK, "geboortedatum": MASK,
                             "adres": MASK, "urgent": False}
    assert view["masked"] == ["naam", "geboortedatum", "adres", "bsn"]
    assert MASK in text
    # ... nor through a history of his own making
    assert not any(s in text_of(history_view(engine.workflow("zichtbaar"), case.history,
                                             actor, case_roles=case.case_roles))
                   for s in SECRETS)


def test_a_role_in_visible_to_sees_the_personal_values(engine: Engine) -> None:
    case = a_case(engine)
    view = case_view(engine, case, coordinator, history=True)
    text = text_of(view)
    for secret in SECRETS:
        assert secret in text, secret
    assert view["facts"] == {"naam": NAAM, "bsn": BSN, "geboortedatum": GEBOORTEDATUM,
                             "adres": ADRES, "urgent": False}
    assert view["masked"] == []
    history = view["history"]
    assert history[0]["data"] == {"naam": NAAM, "geboortedatum": GEBOORTEDATUM,
                                  "urgent": True}
    assert history[1]["data"] == {"regisseur": regisseur.id, "adres": ADRES}
    assert history[2]["data"] == {"bsn": BSN}
    assert view["timer_status"] == [{"signal": "volwassen", "label": "De persoon wordt volwassen",
                                     "due_at": VOLWASSEN, "reason": ""}]


def test_a_case_role_counts_only_for_the_actor_the_case_assigned_it_to(engine: Engine) -> None:
    case = a_case(engine)
    assert case.case_roles == {"regisseur": regisseur.id}
    view = case_view(engine, case, regisseur, history=True)
    # the workflow's visible_to names the case role ...
    assert view["facts"]["naam"] == NAAM
    assert view["facts"]["adres"] == ADRES
    assert view["facts"]["geboortedatum"] == GEBOORTEDATUM
    assert view["history"][1]["data"]["adres"] == ADRES
    # ... bsn names only the coordinator: not the fact, not the data that writes it, even
    # though he fired that event himself
    assert view["facts"]["bsn"] == MASK
    assert view["history"][2]["data"] == {"bsn": MASK}
    assert BSN not in text_of(view)
    assert view["masked"] == ["bsn"]
    # the same actor holds nothing in another case
    other = case_view(engine, engine.start("zichtbaar", actor=melder, at=T0,
                                           facts={"naam": "Ander"}), regisseur)
    assert other["facts"]["naam"] == MASK


def test_history_views_mask_personal_event_data(engine: Engine) -> None:
    case = a_case(engine)
    wf = engine.workflow("zichtbaar")
    masked = history_view(wf, case.history, buur)
    assert [e["data"] for e in masked] == [
        {"naam": MASK, "geboortedatum": MASK, "urgent": True},
        {"regisseur": regisseur.id, "adres": MASK},
        {"bsn": MASK},
        {"naam": MASK, "urgent": False},
    ]
    assert masked[1]["dossier"] == {"urgent": True}  # the allow-list: nothing personal
    assert [e["kind"] for e in masked] == ["start", "fire", "fire", "set_facts"]
    assert masked[0]["at"] == T0.isoformat()
    # without the case's roles the regisseur holds no case role ...
    assert history_view(wf, case.history, regisseur)[1]["data"]["adres"] == MASK
    # ... with them, he sees what the workflow's visible_to lets him
    seen = history_view(wf, case.history, regisseur, case_roles=case.case_roles)
    assert seen[1]["data"]["adres"] == ADRES
    assert seen[2]["data"]["bsn"] == MASK
    full = history_view(wf, case.history, coordinator)
    assert [e["data"] for e in full] == [e.to_dict()["data"] for e in case.history]
    plain(masked)


def test_a_forgotten_personal_fact_shows_as_forgotten(engine: Engine) -> None:
    case = engine.set_facts(a_case(engine), {"naam": None}, actor=coordinator, at=T0)
    view = case_view(engine, case, buur, history=True)
    assert "naam" not in view["facts"]  # unknown now
    assert view["history"][-1]["data"] == {"naam": None}


def test_a_workflow_without_visible_to_shows_personal_data_to_nobody(tmp_path: Path) -> None:
    start, end = PRIVACY.index("visible_to:\n"), PRIVACY.index("roles:\n")
    for replacement in ("", "visible_to: []\n"):
        text = (PRIVACY[:start] + replacement + PRIVACY[end:]).replace(
            ", visible_to: [coordinator]", "")
        folder = tmp_path / ("leeg" if replacement else "zonder")
        folder.mkdir()
        (folder / "zichtbaar.yaml").write_text(text, encoding="utf-8")
        engine = Engine.from_directory(folder)
        assert engine.workflow("zichtbaar").visible_to == frozenset()
        case = a_case(engine)
        for actor in (melder, coordinator, buur, regisseur):
            text_seen = text_of(case_view(engine, case, actor, history=True))
            assert not any(secret in text_seen for secret in SECRETS), actor
        # the complete form, for storage, keeps everything
        assert case.to_dict()["facts"]["bsn"] == BSN


# -- the form of a view -------------------------------------------------------------------------


def test_a_case_view_is_plain_json(engine: Engine) -> None:
    case = a_case(engine)
    case = engine.fire(case, "afsluiten", actor=coordinator, at=T0 + timedelta(days=1))
    view = case_view(engine, case, coordinator, history=True, at=T0 + timedelta(days=2))
    plain(view)
    assert json.loads(json.dumps(view)) == view
    assert (view["id"], view["workflow"], view["version"]) == (
        case.id, {"id": "zichtbaar", "version": 1, "label": "Proef zichtbaarheid"}, 5)
    assert (view["state"], view["state_label"], view["final"]) == (
        "afgesloten", "Afgesloten", True)
    assert view["case_roles"] == {"regisseur": regisseur.id}
    assert view["agreements"] == {}
    assert view["allowed"] == []
    (task,) = view["tasks"]
    assert (task["id"], task["role"], task["done"]) == ("bellen", "regisseur", False)
    assert datetime.fromisoformat(task["due_at"]) == T0 + timedelta(days=3)
    assert [e["seq"] for e in view["history"]] == [1, 2, 3, 4, 5]
    # the case is not changed by looking at it
    assert case.facts["bsn"] == BSN


def test_a_view_from_the_workflow_alone_has_no_engine_parts(engine: Engine) -> None:
    case = a_case(engine)
    view = case_view(engine.workflow("zichtbaar"), case, buur)
    assert view["facts"]["naam"] == MASK
    assert not {"allowed", "tasks", "timer_status", "history"} & view.keys()
    plain(view)
    lzn = zorgflow.load_workflow(WORKFLOWS / "lzn.yaml")
    with pytest.raises(CaseMismatch, match="zichtbaar"):
        case_view(lzn, case, buur)
    with pytest.raises(TypeError):
        case_view(engine, case, "c.coord")  # type: ignore[arg-type]


def test_a_case_read_back_is_viewed_the_same(engine: Engine) -> None:
    case = a_case(engine)
    again = Case.from_dict(json.loads(json.dumps(case.to_dict())))
    for actor in (buur, regisseur, coordinator):
        assert case_view(engine, again, actor, history=True) == case_view(
            engine, case, actor, history=True)
    assert case_view(engine.workflow("zichtbaar"), again, buur)["facts"]["geboortedatum"] == MASK


def test_a_stored_case_reference_has_a_json_form(engine: Engine, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "cases.db", engine)
    try:
        case = engine.start("zichtbaar", actor=melder, at=T0, store=store,
                            facts={"geboortedatum": GEBOORTEDATUM})
        (ref,) = store.find(workflow_id="zichtbaar")
        view = ref_view(ref)
        plain(view)
        assert view == {"id": case.id, "workflow": {"id": "zichtbaar", "version": 1},
                        "state": "aangemeld", "version": 1, "next_due_at": view["next_due_at"]}
        assert datetime.fromisoformat(view["next_due_at"]) == datetime.fromisoformat(VOLWASSEN)
        # the timer counts from the birth date: with the engine and an actor who may not
        # see it, the due time is masked; the coordinator sees it
        assert ref_view(ref, engine, buur)["next_due_at"] == MASK
        assert ref_view(ref, engine.workflow("zichtbaar"), melder)["next_due_at"] == MASK
        assert ref_view(ref, engine, coordinator) == view
        assert case_view(engine, store.load(case.id), buur)["facts"] == {
            "geboortedatum": MASK}
    finally:
        store.close()


# -- a property -------------------------------------------------------------------------------

# personal values that cannot occur in a view by accident: they start with a marker
PERSONAL_TEXT = st.text(max_size=12).map(lambda s: "§PII§" + s)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(naam=PERSONAL_TEXT, bsn=PERSONAL_TEXT, adres=PERSONAL_TEXT,
       geboren=st.dates(date(1900, 1, 1), date(2030, 12, 31)),
       roles=st.sets(st.sampled_from(["melder", "buur", "regisseur", "onbekend"])),
       urgent=st.booleans())
def test_a_view_for_an_actor_without_access_holds_no_personal_value(
        naam: str, bsn: str, adres: str, geboren: date, roles: set[str], urgent: bool) -> None:
    engine = _engine()
    case = engine.start("zichtbaar", actor=melder, at=T0,
                        facts={"naam": naam, "geboortedatum": geboren.isoformat(),
                               "urgent": urgent})
    case = engine.fire(case, "opgepakt", actor=coordinator, at=T0,
                       data={"regisseur": regisseur.id, "adres": adres})
    case = engine.fire(case, "bsn_vastgelegd", actor=regisseur, at=T0, data={"bsn": bsn})
    # not the coordinator, not the case's regisseur (whatever roles he claims)
    actor = Actor("x.iemand", roles=roles)
    view = case_view(engine, case, actor, history=True)
    text = text_of(view)
    assert "§PII§" not in text
    for value in (naam, bsn, adres):
        assert json.dumps(value)[1:-1] not in text
    assert view["timer_status"][0]["due_at"] == MASK  # it would tell the birth date
    assert geboren.isoformat() not in json.dumps(view["facts"])
    assert view["facts"]["urgent"] is urgent


def _engine() -> Engine:
    """The privacy workflow's engine, once (hypothesis runs a test many times)."""
    if not _ENGINE:
        _ENGINE.append(Engine([load_workflow_text(PRIVACY, "zichtbaar.yaml")]))
    return _ENGINE[0]


_ENGINE: list[Engine] = []


# -- the loader --------------------------------------------------------------------------------


def problems(text: str) -> list[zorgflow.Problem]:
    with pytest.raises(WorkflowError) as info:
        load_workflow_text(text, "zichtbaar.yaml")
    return info.value.errors


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first ``needle``."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def test_visible_to_and_its_provenance_are_on_the_model() -> None:
    wf = load_workflow_text(PRIVACY, "zichtbaar.yaml")
    assert wf.visible_to == frozenset({"coordinator", "regisseur"})
    assert wf.visible_to_assumption.startswith("Alleen de coördinator")
    assert wf.visible_to_cite == ""
    assert wf.facts["bsn"].visible_to == frozenset({"coordinator"})
    assert wf.facts["naam"].visible_to is None
    short = PRIVACY.replace(
        "visible_to:\n  roles: [coordinator, regisseur]\n", "visible_to: [coordinator]\n"
    ).replace("  assumption: Alleen de coördinator en de regisseur van de casus zien wie het "
              "betreft.\n", "")
    assert load_workflow_text(short, "zichtbaar.yaml").visible_to == frozenset({"coordinator"})


@pytest.mark.parametrize(("old", "new", "needle", "message"), [
    ("roles: [coordinator, regisseur]", "roles: [coordinater, regisseur]", "coordinater",
     "unknown role 'coordinater' — did you mean 'coordinator'?"),
    ("roles: [coordinator, regisseur]\n  assumption:", "roles: [coordinator, regiseur]\n  "
     "assumption:", "regiseur]", "unknown role 'regiseur' — did you mean 'regisseur'?"),
    ("visible_to:\n  roles: [coordinator, regisseur]\n  assumption: Alleen",
     "visible_to: [coordinator, buurman]\nx_assumption: Alleen", "buurman",
     "unknown role 'buurman' — did you mean 'buur'?"),
    ("visible_to: [coordinator]}", "visible_to: [coordinatr]}", "coordinatr]}",
     "unknown role 'coordinatr' — did you mean 'coordinator'?"),
])
def test_an_unknown_role_in_visible_to_is_a_load_error_at_its_place(
        old: str, new: str, needle: str, message: str) -> None:
    text = PRIVACY.replace(old, new)
    assert text != PRIVACY
    if "x_assumption" in text:  # the list form: drop the rest of the mapping form
        text = text.replace(text[text.index("x_assumption"):text.index("roles:\n")], "")
    (problem,) = problems(text)
    line, column = position(text, needle)
    assert (problem.line, problem.column) == (line, column), str(problem)
    assert message in problem.message
    assert str(problem).startswith(f"zichtbaar.yaml:{line}:{column}: ")


def test_visible_to_on_a_fact_that_is_not_personal_is_a_load_error() -> None:
    text = PRIVACY.replace("urgent: {type: boolean, label: Urgent, dossier: true}",
                           "urgent: {type: boolean, label: Urgent, visible_to: [buur]}")
    (problem,) = problems(text)
    assert (problem.line, problem.column) == position(text, "visible_to: [buur]")
    assert "'urgent' is not marked personal" in problem.message


@pytest.mark.parametrize(("old", "new", "fragment"), [
    ("  assumption: Alleen de", "  asumption: Alleen de",
     "unknown key 'asumption' in visible_to — did you mean 'assumption'?"),
    ("  roles: [coordinator, regisseur]\n", "", "visible_to is missing 'roles'"),
    ("visible_to:\n  roles: [coordinator, regisseur]\n  assumption: Alleen de coördinator en "
     "de regisseur van de casus zien wie het betreft.\n", "visible_to: coordinator\n",
     "visible_to must be a list or a mapping, not text"),
])
def test_a_malformed_visible_to_is_explained(old: str, new: str, fragment: str) -> None:
    text = PRIVACY.replace(old, new)
    assert text != PRIVACY
    assert any(fragment in p.message for p in problems(text)), problems(text)


def test_the_shipped_workflows_still_load() -> None:
    engine = Engine.from_directory(WORKFLOWS)
    for wf in engine.workflows:
        assert isinstance(wf.visible_to, frozenset)
        assert wf.visible_to <= set(wf.roles)


def test_an_entry_of_another_workflow_version_is_masked_as_either_version_says(
        tmp_path: Path) -> None:
    """What is personal may differ between versions: a value is shown only when both the
    entry's version and the case's let the actor see it."""
    later = PRIVACY.replace("version: 1", "version: 2").replace(
        "adres: {type: string, label: Adres, personal_data: true, required: false}",
        "adres: {type: string, label: Adres, required: false}")
    (tmp_path / "v1.yaml").write_text(PRIVACY, encoding="utf-8")
    (tmp_path / "v2.yaml").write_text(later, encoding="utf-8")
    engine = Engine.from_directory(tmp_path)
    case = engine.start("zichtbaar", actor=melder, at=T0, version=2)
    case = engine.fire(case, "opgepakt", actor=coordinator, at=T0,
                       data={"regisseur": regisseur.id, "adres": ADRES})
    assert case_view(engine, case, buur, history=True)["history"][1]["data"]["adres"] == ADRES
    raw = case.to_dict()
    raw["history"][1]["workflow_version"] = 1  # as if recorded before a migration
    older = Case.from_dict(raw, verify=False)
    assert case_view(engine, older, buur, history=True)["history"][1]["data"]["adres"] == MASK
    assert case_view(engine, older, coordinator,
                     history=True)["history"][1]["data"]["adres"] == ADRES
