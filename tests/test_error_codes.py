"""Error codes, HTTP statuses, problem details and the English and Dutch messages, through the
public API: every code comes from a real refusal (or failure) of the engine or a store."""

from __future__ import annotations

import copy
import json
import pickle
import re
import sqlite3
import string
import typing
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import zorgflow
from zorgflow import (
    Actor,
    Case,
    ConcurrentUpdate,
    Engine,
    IdempotencyMismatch,
    Reason,
    TransitionRejected,
    ZorgflowError,
)
from zorgflow import errors as errors_module
from zorgflow.errors import HTTP_STATUS, LANGUAGES, PROBLEM_TYPE, catalog, placeholders
from zorgflow.model.calendar import TIMER_LIMIT
from zorgflow.model.workflow import TypeName
from zorgflow.store import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=AMS)
T_LL = datetime(2026, 3, 2, 10, 0, tzinfo=AMS)  # the levensloop examples start here

# LZN
scp = Actor("s.contact", roles={"sociaal_contactpunt"})
coord = Actor("a.coord", roles={"lzn_coordinator"})
coord2 = Actor("b.coord", roles={"lzn_coordinator"})
regisseur = Actor("p.regisseur", roles={"ketenpartner", "casusregisseur"})
other_regisseur = Actor("q.other", roles={"ketenpartner", "casusregisseur"})
nobody = Actor("n.nobody", roles=set())

# levensloop: the actor ids the workflow's own examples use
melder = Actor("melder", roles={"convenantpartner"})
procesregisseur = Actor("procesregisseur", roles={"procesregisseur_zvh"})
tafel = Actor("tafel", roles={"adviestafel"})
casemanager = Actor("casemanager", roles={"casemanager_zorg"})
DOELGROEP = {"persoon_geinformeerd": True, "gevaarlijk_gedrag": True,
             "oorzaak": "psychiatrische_stoornis", "geen_strafrechtelijke_titel": True,
             "reguliere_financiering": True, "forensisch_klimaat_nodig": True,
             "hoog_risico": True, "valt_tussen_systemen": True}

#: the codes and statuses the project decided (the table in the `zorgflow.errors` docstring)
DECIDED = {"not_found": 404, "forbidden": 403, "separation_of_duties": 403, "conflict": 409,
           "wrong_state": 409, "task_done": 409, "agreement_conflict": 409,
           "unknown_event": 422, "invalid_data": 422, "guard_false": 422,
           "guard_unknown": 422, "idempotency_mismatch": 422, "store_unavailable": 503}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_directory(WORKFLOWS)


@pytest.fixture(autouse=True)
def _default_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts in English, whatever the machine running it says."""
    monkeypatch.delenv("ZORGFLOW_LANG", raising=False)


def refused(call: Callable[[], object]) -> TransitionRejected:
    with pytest.raises(TransitionRejected) as info:
        call()
    return info.value


def to_uitvoering(engine: Engine) -> Case:
    case = engine.start("lzn", actor=scp, at=T0)
    case = engine.fire(case, "passend_bevonden", actor=coord, at=T0)
    case = engine.fire(case, "geen_actief_dossier", actor=coord, at=T0)
    return engine.fire(case, "casusregisseur_benoemd", actor=coord,
                       data={"casusregisseur": regisseur.id, "ketenpartner": "GGZ"}, at=T0)


def geincludeerd(engine: Engine) -> Case:
    case = engine.start("levensloop", actor=melder, facts=DOELGROEP, at=T_LL)
    case = engine.fire(case, "casus_op_maat_gestart", actor=procesregisseur, at=T_LL)
    case = engine.fire(case, "ketenveldnorm_passend", actor=procesregisseur, at=T_LL)
    case = engine.fire(case, "voorgelegd_adviestafel", actor=procesregisseur, at=T_LL)
    return engine.fire(case, "geincludeerd", actor=tafel, at=T_LL)


def afgewezen(engine: Engine) -> Case:
    """A levensloop case rejected by the adviestafel (a final state), with the task
    ``uitkomst_terugkoppelen`` open."""
    case = engine.start("levensloop", actor=melder, facts={"persoon_geinformeerd": True},
                        at=T_LL)
    case = engine.fire(case, "casus_op_maat_gestart", actor=procesregisseur, at=T_LL)
    case = engine.fire(case, "ketenveldnorm_passend", actor=procesregisseur, at=T_LL)
    case = engine.fire(case, "voorgelegd_adviestafel", actor=procesregisseur, at=T_LL)
    return engine.fire(case, "afgewezen", actor=tafel, data={"reden": "Geen gevaarlijk gedrag"},
                       at=T_LL)


def the_codes(error: TransitionRejected, code: str) -> None:
    """``error`` is a refusal whose first (or only) reason has ``code``, with its status."""
    assert error.code == code, error.reasons
    assert error.codes[0] == code
    assert error.http_status == HTTP_STATUS[code]
    assert all(isinstance(r, Reason) for r in error.reasons)
    assert [r.code for r in error.reasons] == error.codes


# -- the table ---------------------------------------------------------------------------------


def test_the_decided_codes_have_the_decided_statuses() -> None:
    for code, status in DECIDED.items():
        assert HTTP_STATUS[code] == status, code


def docstring_table() -> dict[str, int]:
    doc = errors_module.__doc__ or ""
    rows = re.findall(r"^([a-z_]+)\s+(\d{3})\s", doc, flags=re.MULTILINE)
    return {code: int(status) for code, status in rows}


def test_the_module_docstring_documents_every_code_with_its_status() -> None:
    assert docstring_table() == dict(HTTP_STATUS)


def every_error_class() -> list[type[ZorgflowError]]:
    found: list[type[ZorgflowError]] = []
    todo: list[type[ZorgflowError]] = [ZorgflowError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: c.__qualname__)


def test_the_tree_holds_the_classes_a_service_layer_needs() -> None:
    names = {cls.__name__ for cls in every_error_class()}
    assert {"IdempotencyMismatch", "ConcurrentUpdate", "CaseNotFound", "StoreUnavailable",
            "TransitionRejected"} <= names
    assert zorgflow.IdempotencyMismatch is IdempotencyMismatch


@given(st.sampled_from(every_error_class()))
def test_every_error_class_has_a_code_and_status_in_the_table(cls: type[ZorgflowError]
                                                                ) -> None:
    assert isinstance(cls.code, str) and cls.code in HTTP_STATUS, cls
    assert cls.code in docstring_table(), cls
    assert 400 <= HTTP_STATUS[cls.code] <= 599
    for lang in LANGUAGES:
        assert catalog(lang)[f"title.{cls.code}"].strip(), (cls, lang)


# -- every decided code from a real refusal ----------------------------------------------------


def test_unknown_event(engine: Engine) -> None:
    case = engine.start("lzn", actor=scp, at=T0)
    error = refused(lambda: engine.fire(case, "passend_bevondn", actor=coord, at=T0))
    the_codes(error, "unknown_event")
    assert error.http_status == 422
    assert "did you mean 'passend_bevonden'" in error.reasons[0]


def test_wrong_state(engine: Engine) -> None:
    case = engine.start("lzn", actor=scp, at=T0)
    error = refused(lambda: engine.fire(case, "afsluiten", actor=coord, at=T0))
    the_codes(error, "wrong_state")
    assert error.http_status == 409
    closed = afgewezen(engine)
    the_codes(refused(lambda: engine.fire(closed, "geincludeerd", actor=tafel, at=T_LL)),
              "wrong_state")
    the_codes(refused(lambda: engine.set_facts(closed, {"hoog_risico": True},
                                               actor=procesregisseur, at=T_LL)),
              "wrong_state")
    open_case = engine.start("levensloop", actor=melder, facts={"persoon_geinformeerd": True},
                             at=T_LL)
    the_codes(refused(lambda: engine.complete(open_case, "uitkomst_terugkoppelen",
                                              actor=procesregisseur, at=T_LL)),
              "wrong_state")


def test_forbidden(engine: Engine) -> None:
    error = refused(lambda: engine.start("lzn", actor=coord, at=T0))
    the_codes(error, "forbidden")
    assert error.http_status == 403
    case = engine.start("lzn", actor=scp, at=T0)
    the_codes(refused(lambda: engine.fire(case, "passend_bevonden", actor=regisseur, at=T0)),
              "forbidden")
    uitvoering = to_uitvoering(engine)
    # holds the organisational role, but the case role is someone else's
    the_codes(refused(lambda: engine.fire(uitvoering, "voortgang_teruggekoppeld",
                                          actor=other_regisseur, at=T0)), "forbidden")
    the_codes(refused(lambda: engine.set_facts(uitvoering, {"ketenpartner_blokkeert": True},
                                               actor=nobody, at=T0)), "forbidden")
    # a fact whose set_by the actor lacks
    the_codes(refused(lambda: engine.start("lzn", actor=scp, facts={"ernstig_geweld": False},
                                           at=T0)), "forbidden")
    the_codes(refused(lambda: engine.complete(afgewezen(engine), "uitkomst_terugkoppelen",
                                              actor=melder, at=T_LL)), "forbidden")


def test_separation_of_duties(engine: Engine) -> None:
    case = geincludeerd(engine)
    error = refused(lambda: engine.fire(
        case, "regie_belegd", actor=procesregisseur,
        data={"casemanager_zorg": "casemanager", "gemeentelijk_regisseur": "casemanager"},
        at=T_LL))
    the_codes(error, "separation_of_duties")
    assert error.http_status == 403
    the_codes(refused(lambda: engine.fire(
        case, "regie_belegd", actor=procesregisseur,
        data={"casemanager_zorg": "procesregisseur", "gemeentelijk_regisseur": "regisseur"},
        at=T_LL)), "separation_of_duties")
    # one person agrees once to a joint decision
    stagnatie = engine.fire(to_uitvoering(engine), "stagnatie_gemeld", actor=regisseur, at=T0)
    agreed = engine.fire(stagnatie, "opgeschaald_teamleider", actor=coord, at=T0)
    the_codes(refused(lambda: engine.fire(agreed, "opgeschaald_teamleider", actor=coord,
                                          at=T0)), "separation_of_duties")


def test_agreement_conflict(engine: Engine) -> None:
    first = engine.fire(to_uitvoering(engine), "overgedragen_ander_netwerk", actor=coord,
                        data={"netwerk": "lthg"}, at=T0)
    error = refused(lambda: engine.fire(first, "overgedragen_ander_netwerk", actor=regisseur,
                                        data={"netwerk": "ander"}, at=T0))
    the_codes(error, "agreement_conflict")
    assert error.http_status == 409
    assert "lthg" not in str(error) and "ander'" not in str(error)
    # another coordinator: the coordinator's agreement is in already
    the_codes(refused(lambda: engine.fire(first, "overgedragen_ander_netwerk", actor=coord2,
                                          data={"netwerk": "lthg"}, at=T0)),
              "agreement_conflict")


def test_task_done_and_unknown_task(engine: Engine) -> None:
    case = afgewezen(engine)
    done = engine.complete(case, "uitkomst_terugkoppelen", actor=procesregisseur, at=T_LL)
    error = refused(lambda: engine.complete(done, "uitkomst_terugkoppelen",
                                            actor=procesregisseur, at=T_LL))
    the_codes(error, "task_done")
    assert error.http_status == 409
    unknown = refused(lambda: engine.complete(case, "uitkomst_terugkoppeln",
                                              actor=procesregisseur, at=T_LL))
    the_codes(unknown, "unknown_task")
    assert "did you mean 'uitkomst_terugkoppelen'" in unknown.reasons[0]


def test_invalid_data(engine: Engine) -> None:
    case = engine.start("lzn", actor=scp, at=T0)
    case = engine.fire(case, "passend_bevonden", actor=coord, at=T0)
    case = engine.fire(case, "geen_actief_dossier", actor=coord, at=T0)
    error = refused(lambda: engine.fire(case, "casusregisseur_benoemd", actor=coord,
                                        data={"casusregisseur": " ", "x": 1}, at=T0))
    the_codes(error, "invalid_data")
    assert set(error.codes) == {"invalid_data"}
    assert error.http_status == 422
    the_codes(refused(lambda: engine.start("lzn", actor=scp, facts={"kinderen_betrokkn": True},
                                           at=T0)), "invalid_data")
    the_codes(refused(lambda: engine.set_facts(case, ["kinderen_betrokken"],  # type: ignore[arg-type]
                                               actor=coord, at=T0)), "invalid_data")
    the_codes(refused(lambda: engine.fire(to_uitvoering(engine), "afsluiten", actor=coord,
                                          data={"afsluitreden": "klaar"}, at=T0)),
              "invalid_data")


def test_guard_false(engine: Engine) -> None:
    case = engine.start("lzn", actor=scp, at=T0)
    case = engine.fire(case, "passend_bevonden", actor=coord, at=T0)
    case = engine.fire(case, "geen_actief_dossier", actor=coord, at=T0)
    case = engine.set_facts(case, {"besluit_lzn_overleg_afsluiten": True,
                                   "te_weinig_perspectief": True, "kinderen_betrokken": True,
                                   "ernstig_geweld": False, "inwoners_willen_meewerken": False},
                            actor=coord, at=T0)
    error = refused(lambda: engine.fire(case, "afsluiten", actor=coord,
                                        data={"afsluitreden": "geen_perspectief"}, at=T0))
    the_codes(error, "guard_false")
    assert error.http_status == 422
    assert error.reasons[0].startswith("condition is false: ")


def test_guard_unknown(engine: Engine) -> None:
    case = engine.fire(to_uitvoering(engine), "stagnatie_gemeld", actor=regisseur, at=T0)
    case = engine.fire(case, "opgeschaald_teamleider", actor=coord, at=T0)
    error = refused(lambda: engine.fire(case, "opgeschaald_teamleider", actor=regisseur,
                                        at=T0))
    the_codes(error, "guard_unknown")
    assert error.http_status == 422
    assert error.reasons[0].startswith("condition is unknown (facts missing): ")


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "cases.db", engine, timeout=0.05)
    yield store
    store.close()


def test_conflict_not_found_and_store_unavailable(engine: Engine, store: SQLiteStore,
                                                  tmp_path: Path) -> None:
    case = engine.start("lzn", actor=scp, at=T0, store=store)
    moved = engine.fire(case, "passend_bevonden", actor=coord, at=T0, store=store)
    with pytest.raises(ConcurrentUpdate) as stale:
        engine.fire(case, "passend_bevonden", actor=coord, at=T0, store=store)
    assert (stale.value.code, stale.value.http_status) == ("conflict", 409)
    problem = stale.value.to_problem()
    assert (problem["expected_version"], problem["actual_version"]) == (1, 2)
    with pytest.raises(zorgflow.CaseNotFound) as missing:
        store.load("no-such-case")
    assert (missing.value.code, missing.value.http_status) == ("not_found", 404)
    with pytest.raises(zorgflow.CaseExists) as exists:
        store.create(case)
    assert (exists.value.code, exists.value.http_status) == ("case_exists", 409)
    # another connection holds the database: the step cannot be done now
    holder = sqlite3.connect(tmp_path / "cases.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(zorgflow.StoreUnavailable) as busy:
            engine.fire(moved, "geen_actief_dossier", actor=coord, at=T0, store=store)
    finally:
        holder.rollback()
        holder.close()
    assert (busy.value.code, busy.value.http_status) == ("store_unavailable", 503)
    assert store.load(case.id).version == 2  # nothing was written


def test_idempotency_mismatch() -> None:
    error = IdempotencyMismatch("case-1", "req-8f2c")
    assert (error.code, error.http_status) == ("idempotency_mismatch", 422)
    assert "req-8f2c" in str(error) and "case-1" in str(error)
    assert "idempotentiesleutel 'req-8f2c'" in error.detail("nl")
    assert error.to_problem()["case_id"] == "case-1"
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), str(again)) == (IdempotencyMismatch, str(error))


def test_errors_raised_elsewhere_have_their_codes(engine: Engine) -> None:
    with pytest.raises(zorgflow.UnknownWorkflow) as unknown:
        engine.start("lzm", actor=scp, at=T0)
    assert (unknown.value.code, unknown.value.http_status) == ("unknown_workflow", 404)
    with pytest.raises(zorgflow.InvalidFacts) as facts:
        engine.decide("lzn", "afsluitcriteria", {"kinderen_betrokkn": True})
    assert (facts.value.code, facts.value.http_status) == ("invalid_data", 422)
    with pytest.raises(zorgflow.CaseFormatError) as broken:
        Case.from_dict({"format": "zorgflow-case"})
    assert (broken.value.code, broken.value.http_status) == ("case_format", 422)
    with pytest.raises(zorgflow.WorkflowError) as invalid:
        zorgflow.load_workflow_text("id: x\n", "x.yaml")
    assert (invalid.value.code, invalid.value.http_status) == ("workflow_invalid", 422)
    problem = invalid.value.to_problem()
    assert problem["errors"] and {"file", "line", "column", "detail"} <= set(problem["errors"][0])
    assert invalid.value.detail("nl").split(":")[0].endswith("in de workflowdefinitie")
    assert str(invalid.value).split(":")[0].endswith("in the workflow definition")


# -- several reasons -------------------------------------------------------------------------


def test_the_code_is_that_of_the_first_reason_in_the_order_checked(engine: Engine) -> None:
    case = to_uitvoering(engine)
    error = refused(lambda: engine.fire(case, "afsluiten", actor=regisseur, data={"extra": 1},
                                        at=T0))
    # role, then data (a missing field, an unknown one), then the guard
    assert error.codes == ["forbidden", "invalid_data", "invalid_data", "guard_unknown"]
    assert (error.code, error.http_status) == ("forbidden", 403)
    problem = error.to_problem()
    assert [r["code"] for r in problem["reasons"]] == error.codes
    assert [r["detail"] for r in problem["reasons"]] == error.reasons
    # facts are checked one after the other, in the order given
    error = refused(lambda: engine.start("lzn", actor=scp, at=T0, facts={
        "kinderen_betrokkn": True, "ernstig_geweld": False}))
    assert error.codes == ["invalid_data", "forbidden"]
    assert (error.code, error.http_status) == ("invalid_data", 422)
    # the start role comes before the facts
    error = refused(lambda: engine.start("lzn", actor=coord, at=T0,
                                         facts={"kinderen_betrokkn": True}))
    assert error.codes == ["forbidden", "invalid_data"]


def test_reasons_read_as_before(engine: Engine) -> None:
    error = refused(lambda: engine.start("lzn", actor=coord, at=T0))
    assert error.reasons == ["opening a 'lzn' case needs one of the roles "
                             "sociaal_contactpunt; the actor holds lzn_coordinator"]
    assert str(error) == ("'start' rejected: opening a 'lzn' case needs one of the roles "
                          "sociaal_contactpunt; the actor holds lzn_coordinator")
    assert repr(error.reasons[0]).startswith("\"opening a 'lzn'")
    assert json.loads(json.dumps(error.reasons)) == error.reasons
    error = refused(lambda: engine.set_facts(to_uitvoering(engine), {"x": 1}, actor=nobody,
                                             at=T0))
    assert error.reasons[0] == "the actor holds no role of workflow 'lzn' (holds no roles)"


def test_plain_text_reasons_get_the_code_rejected() -> None:
    error = TransitionRejected("iets", ["zomaar"])
    assert (error.code, error.codes, error.http_status) == ("rejected", ["rejected"], 422)
    assert str(error) == "'iets' rejected: zomaar"
    assert TransitionRejected("iets", []).code == "rejected"


# -- problem details ---------------------------------------------------------------------------


def test_to_problem_is_rfc_9457_problem_details(engine: Engine) -> None:
    case = engine.start("lzn", actor=scp, at=T0)
    error = refused(lambda: engine.fire(case, "afsluiten", actor=coord, at=T0))
    problem = error.to_problem()
    assert set(problem) == {"type", "title", "status", "detail", "code", "event", "reasons"}
    assert problem["type"] == "urn:zorgflow:problem:wrong_state" == PROBLEM_TYPE + "wrong_state"
    assert problem["title"] == "Not possible in the case's current state"
    assert problem["status"] == 409
    assert problem["detail"] == str(error)
    assert problem["code"] == "wrong_state"
    assert problem["event"] == "afsluiten"
    assert problem["reasons"] == [{"code": "wrong_state", "detail": error.reasons[0]}]
    assert json.loads(json.dumps(problem)) == problem
    plain = zorgflow.CaseExists("a case with id x is already stored").to_problem()
    assert set(plain) == {"type", "title", "status", "detail", "code"}
    assert json.loads(json.dumps(plain)) == plain


# -- Dutch -----------------------------------------------------------------------------------


def test_dutch_with_lang(engine: Engine) -> None:
    case = engine.start("lzn", actor=scp, at=T0)
    error = refused(lambda: engine.fire(case, "afsluiten", actor=coord, at=T0))
    assert error.reasons[0].startswith("event 'afsluiten' does not leave")  # English raised
    problem = error.to_problem(lang="nl")
    assert problem["title"] == "Niet mogelijk in de huidige toestand van de casus"
    assert problem["detail"].startswith("'afsluiten' geweigerd: gebeurtenis 'afsluiten' is "
                                        "niet mogelijk in toestand 'aangemeld'")
    assert problem["reasons"][0]["detail"] == error.reasons[0].text("nl")
    assert problem["code"] == "wrong_state"  # codes are never translated
    assert error.detail("nl") == problem["detail"]
    assert error.detail("en") == str(error) == error.to_problem()["detail"]
    unknown = refused(lambda: engine.fire(case, "passend_bevondn", actor=coord, at=T0))
    assert unknown.reasons[0].text("nl") == ("onbekende gebeurtenis 'passend_bevondn' — "
                                             "bedoelt u 'passend_bevonden'?")
    with pytest.raises(ValueError, match="no messages in language 'de'"):
        error.to_problem(lang="de")
    assert error.to_problem(lang="nl-NL") == problem


def test_dutch_with_zorgflow_lang(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZORGFLOW_LANG", "nl")
    error = refused(lambda: engine.start("lzn", actor=coord, at=T0))
    assert error.reasons == ["voor het openen van een 'lzn'-casus is een van de rollen "
                             "sociaal_contactpunt nodig; de medewerker heeft de rol "
                             "lzn_coordinator"]
    assert str(error).startswith("'start' geweigerd: voor het openen")
    assert error.to_problem()["title"] == "Niet toegestaan voor deze medewerker"
    assert error.to_problem("en")["detail"] == ("'start' rejected: opening a 'lzn' case "
                                                "needs one of the roles sociaal_contactpunt; "
                                                "the actor holds lzn_coordinator")
    assert error.code == "forbidden"
    # the language is that of the moment the error was raised
    monkeypatch.delenv("ZORGFLOW_LANG")
    assert str(error).startswith("'start' geweigerd")
    assert error.to_problem()["detail"].startswith("'start' geweigerd")
    assert str(refused(lambda: engine.start("lzn", actor=coord, at=T0))).startswith(
        "'start' rejected")
    monkeypatch.setenv("ZORGFLOW_LANG", "nl_NL.UTF-8")
    case = to_uitvoering(engine)
    several = refused(lambda: engine.fire(case, "afsluiten", actor=regisseur,
                                          data={"extra": 1}, at=T0))
    assert several.reasons[0] == ("'afsluiten' mag alleen worden vastgelegd door "
                                  "lzn_coordinator; de medewerker heeft de rollen "
                                  "casusregisseur, ketenpartner")
    assert several.reasons[1] == "gegeven 'afsluitreden' ontbreekt (een van " + \
        "zelfredzaamheid_vergroot, zorg_bij_ketenpartner, overgedragen_ander_netwerk, " + \
        "geen_perspectief)"
    assert several.reasons[2] == ("gegevens die deze gebeurtenis niet kent: extra (deze "
                                  "gebeurtenis kent: afsluitreden)")
    assert several.reasons[3].startswith("voorwaarde is onbekend (er ontbreken feiten): ")
    concurrent = ConcurrentUpdate("c1", 3, 4)
    assert str(concurrent).startswith("casus c1 is intussen door iemand anders gewijzigd")
    assert concurrent.detail("en").startswith("case c1 was changed by someone else")
    monkeypatch.setenv("ZORGFLOW_LANG", "klingon")  # unknown: English, never a crash
    assert str(refused(lambda: engine.start("lzn", actor=coord, at=T0))).startswith(
        "'start' rejected")


def test_every_reason_the_engine_builds_is_said_in_both_languages(engine: Engine) -> None:
    case = afgewezen(engine)
    done = engine.complete(case, "uitkomst_terugkoppelen", actor=procesregisseur, at=T_LL)
    stagnatie = engine.fire(to_uitvoering(engine), "stagnatie_gemeld", actor=regisseur, at=T0)
    agreed = engine.fire(stagnatie, "opgeschaald_teamleider", actor=coord, at=T0)
    calls: list[Callable[[], object]] = [
        lambda: engine.complete(done, "uitkomst_terugkoppelen", actor=melder, at=T_LL),
        lambda: engine.fire(agreed, "opgeschaald_teamleider", actor=other_regisseur, at=T0),
        lambda: engine.fire(agreed, "opgeschaald_teamleider", actor=coord2, at=T0),
        lambda: engine.fire(agreed, "opgeschaald_teamleider", actor=coord, at=T0),
        lambda: engine.set_facts(case, {"hoog_risico": True}, actor=nobody, at=T_LL),
    ]
    for call in calls:
        error = refused(call)
        for reason in error.reasons:
            assert reason.key in catalog("en") and reason.key in catalog("nl")
            assert reason.text("en") == reason
            assert reason.text("nl") != reason.text("en") or reason.key == "reason.plain"


def test_every_data_problem_is_said_in_dutch(engine: Engine) -> None:
    case = engine.start("lzn", actor=scp, at=T0)
    dutch = {
        "unknown data field(s) x (this event takes: no data)":
            "gegevens die deze gebeurtenis niet kent: x (deze gebeurtenis kent: geen gegevens)",
        "data must be a mapping of field: value, not list":
            "gegevens moeten worden gegeven als paren veld: waarde, niet als list",
    }
    for data in ({"x": 1}, [1]):
        error = refused(lambda data=data: engine.fire(  # type: ignore[misc]
            case, "passend_bevonden", actor=coord, data=data, at=T0))
        (reason,) = error.reasons
        assert reason.code == "invalid_data" and reason.key != "reason.data"
        assert reason.text("nl") == dutch[reason]
    uitvoering = to_uitvoering(engine)
    error = refused(lambda: engine.fire(uitvoering, "afsluiten", actor=coord,
                                        data={"afsluitreden": "klaar"}, at=T0))
    assert error.reasons[0].key == "reason.data_invalid"
    assert error.reasons[0].text("nl").startswith("ongeldig gegeven 'afsluitreden': ")


# -- the catalogs ------------------------------------------------------------------------------


def test_both_catalogs_have_the_same_messages_and_placeholders() -> None:
    english, dutch = catalog("en"), catalog("nl")
    assert set(english) == set(dutch)
    for key, template in english.items():
        assert placeholders(template) == placeholders(dutch[key]), key
    for lang in LANGUAGES:
        for key, template in catalog(lang).items():
            for _, name, spec, conversion in string.Formatter().parse(template):
                if name is not None:
                    assert name.isidentifier() and not spec and not conversion, (lang, key)


def test_every_code_has_a_title_in_both_languages() -> None:
    for code in HTTP_STATUS:
        titles = {lang: errors_module.title(code, lang) for lang in LANGUAGES}
        assert all(titles.values()), code
        assert titles["en"] != titles["nl"], code


def test_every_message_the_engine_names_is_in_the_catalogs() -> None:
    keys: set[str] = set()
    for module in ("engine/engine.py", "program.py", "model/values.py"):
        source = (ROOT / "zorgflow" / module).read_text("utf-8")
        keys |= set(re.findall(
            r"\"((?:reason|note|roles|events|data|type|sep|value|kind|unit|number)\.[a-z_]+)\"",
            source))
    keys |= {"reason.guard_false", "reason.guard_unknown", "reason.unknown_event_close",
             "reason.unknown_fact_close", "reason.unknown_task_close"}
    # the keys named by a type's or a timer unit's name
    keys |= {f"type.{name}" for name in typing.get_args(TypeName)}
    keys |= {f"unit.{unit}" for unit in TIMER_LIMIT}
    assert len(keys) > 60
    assert keys <= set(catalog("en")), keys - set(catalog("en"))


def test_the_catalogs_are_package_data() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    assert '"messages/*.json"' in pyproject
    for lang in LANGUAGES:
        assert (ROOT / "zorgflow" / "messages" / f"{lang}.json").is_file()


# -- reasons as values ---------------------------------------------------------------------------


@given(code=st.sampled_from(sorted(HTTP_STATUS)), text=st.text(max_size=30))
def test_a_plain_reason_keeps_its_text_and_code(code: str, text: str) -> None:
    reason = Reason.plain(text, code)
    assert reason == text and reason.code == code
    assert reason.text("nl") == text
    for again in (pickle.loads(pickle.dumps(reason)), copy.deepcopy(reason)):
        assert (again, again.code, type(again)) == (text, code, Reason)


@given(st.lists(st.sampled_from(sorted(HTTP_STATUS)), min_size=1, max_size=5))
def test_a_refusal_takes_the_code_and_status_of_its_first_reason(codes: list[str]) -> None:
    error = TransitionRejected("e", [Reason.plain(f"r{n}", code)
                                     for n, code in enumerate(codes)])
    assert error.codes == codes and error.code == codes[0]
    assert error.http_status == HTTP_STATUS[codes[0]]
    problem: dict[str, Any] = error.to_problem("nl")
    assert json.loads(json.dumps(problem)) == problem
    assert [r["code"] for r in problem["reasons"]] == codes
    again = pickle.loads(pickle.dumps(error))
    assert (again.codes, str(again), again.event) == (codes, str(error), "e")


def test_a_reason_code_must_be_known() -> None:
    with pytest.raises(ValueError, match="unknown error code"):
        Reason.plain("x", "no_such_code")


# -- examples match by code or by text in either language --------------------------------------


EXAMPLES = """\
id: klein
version: 1
label: Kleine werkwijze
source: "Werkwijze LZN, Binnenkomst melding"
start_by: [melder]
roles:
  melder: {label: Melder, source: "Werkwijze LZN, Binnenkomst melding"}
  coordinator: {label: Coördinator, assumption: "De coördinator bewaakt de casus."}
states:
  open: {label: Open, initial: true, source: "Werkwijze LZN, Binnenkomst melding"}
  klaar: {label: Klaar, final: true, source: "Werkwijze LZN, Afsluiten casus"}
transitions:
  - event: afronden
    from: open
    to: klaar
    by: [coordinator]
    assumption: "Alleen de coördinator rondt af."
examples:
  - name: weigering
    assumption: "Een melder rondt niet af."
    actors: {m: [melder], c: [coordinator]}
    start: {by: m}
    steps:
      - {event: afronden, by: m, expect: {rejected: REJECTED}}
      - {event: afronden, by: c, expect: {state: klaar}}
"""


@pytest.mark.parametrize("expected", [
    "forbidden",                                    # the reason's code
    "may be fired by coordinator",                  # English text
    "mag alleen worden vastgelegd door coordinator",  # Dutch text
    "MAG ALLEEN",                                   # case does not matter
])
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_an_example_matches_a_rejection_by_code_or_either_language(
        expected: str, lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZORGFLOW_LANG", lang)
    workflow = zorgflow.load_workflow_text(EXAMPLES.replace("REJECTED", json.dumps(expected)),
                                           "klein.yaml")
    (result,) = zorgflow.run_examples(workflow)
    assert result.passed, result.message


@pytest.mark.parametrize("expected", ["guard_false", "does not exist in any language",
                                      "forbid"])
def test_an_example_fails_when_no_code_or_text_matches(expected: str) -> None:
    workflow = zorgflow.load_workflow_text(EXAMPLES.replace("REJECTED", json.dumps(expected)),
                                           "klein.yaml")
    (result,) = zorgflow.run_examples(workflow)
    assert not result.passed
    assert f"no reason mentions '{expected}'" in result.message
    assert "[forbidden]" in result.message


# -- a value that does not fit, said in the reason's language ------------------------------------

SOORTEN = """\
id: soorten
version: 1
label: Soorten
start_by: [m]
roles: {m: {label: M}}
facts:
  ja: {type: boolean, label: Ja}
  aantal: {type: integer, minimum: 1, maximum: 10, label: Aantal}
  bedrag: {type: number, label: Bedrag}
  tekst: {type: string, label: Tekst}
  keuze: {type: enum, values: [rood, groen], label: Keuze}
  dag: {type: date, label: Dag}
  moment: {type: datetime, label: Moment}
  getallen: {type: list, items: integer, label: Getallen}
  metingen:
    type: list
    label: Metingen
    items:
      waarde: {type: number, label: Waarde}
  geheim: {type: integer, label: Geheim, personal_data: true}
states:
  open: {label: Open, initial: true}
  dicht: {label: Dicht, final: true}
transitions:
  - event: tellen
    from: open
    to: open
    by: [m]
    data:
      n: {type: integer, label: N}
    sets: {aantal: data.n}
  - event: sluiten
    from: open
    to: dicht
    by: [m]
    data:
      aantal: {type: integer, minimum: 1, maximum: 10, label: Aantal}
      keuze: {type: enum, values: [rood, groen], label: Keuze}
      dag: {type: date, label: Dag}
"""

#: English that a Dutch reason about a value must not hold (drawn text is made of other letters)
ENGLISH = ("expected", "got", "must be", "item", "field", "nothing", "number", "list",
           "true", "false", "text", "mapping", "infinity", "finite", "large", "digits",
           "one of", "interval", "years", "date", "time", "datetime", "offset", "whole")

#: values of every kind: text only of letters and digits that spell no English word above
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats()
    | st.text(alphabet="xz0189-: ", max_size=12)
    | st.sampled_from(["rood", "2026-13-01", "2026-02-30", "2026-01-05T09:00", 10**40,
                      "2026-01-05T09:00+01:00"])
    | st.builds(pow, st.just(10), st.just(5000))  # (no repr of a number Python cannot write)
    | st.dates() | st.datetimes() | st.datetimes(timezones=st.just(AMS)),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["waarde", "xz", "zz"]), inner, max_size=2),
    max_leaves=6)


@pytest.fixture(scope="module")
def soorten() -> tuple[Engine, Case]:
    engine = Engine([zorgflow.load_workflow_text(SOORTEN, "soorten.yaml")])
    m = Actor("m.1", roles={"m"})
    return engine, engine.start("soorten", actor=m, at=T0)


@given(fact=st.sampled_from(["ja", "aantal", "bedrag", "tekst", "keuze", "dag", "moment",
                             "getallen", "metingen", "geheim"]), value=VALUES)
def test_a_fact_value_that_does_not_fit_is_said_in_dutch(
        soorten: tuple[Engine, Case], fact: str, value: Any) -> None:
    _set_fact_said_in_dutch(soorten, fact, value)


@given(fact=st.sampled_from(["aantal", "bedrag", "getallen", "metingen"]),
       value=st.floats() | st.integers() | st.lists(st.floats() | st.integers(), max_size=2)
       | st.lists(st.fixed_dictionaries({"waarde": st.floats()}), max_size=2))
def test_a_number_that_does_not_fit_is_said_in_dutch(
        soorten: tuple[Engine, Case], fact: str, value: Any) -> None:
    _set_fact_said_in_dutch(soorten, fact, value)


def _set_fact_said_in_dutch(soorten: tuple[Engine, Case], fact: str, value: Any) -> None:
    engine, case = soorten
    m = Actor("m.1", roles={"m"})
    try:
        engine.set_facts(case, {fact: value}, actor=m, at=T0)
    except TransitionRejected as error:
        _said_in_both(error.reasons)
        if fact == "geheim":  # personal data: what was expected, never what came
            assert [r.text("nl") for r in error.reasons] == [
                "feit 'geheim': verwacht: een geheel getal"]


@given(data=st.fixed_dictionaries({}, optional={"aantal": VALUES, "keuze": VALUES,
                                                "dag": VALUES}))
def test_event_data_that_does_not_fit_is_said_in_dutch(
        soorten: tuple[Engine, Case], data: dict[str, Any]) -> None:
    engine, case = soorten
    m = Actor("m.1", roles={"m"})
    try:
        engine.fire(case, "sluiten", actor=m, data=data, at=T0)
    except TransitionRejected as error:
        _said_in_both(error.reasons)


def _said_in_both(reasons: list[Reason]) -> None:
    assert reasons
    for reason in reasons:
        assert reason.code == "invalid_data"
        dutch = reason.text("nl")
        assert reason.text("en") == reason and dutch != reason
        found = [word for word in ENGLISH if re.search(rf"\b{word}\b", dutch)]
        assert not found, (found, dutch)
        # thousands set apart with a comma read as decimals in Dutch, which writes a decimal
        # comma where English writes a point
        assert not re.search(r"\d,\d{3}\b", dutch), dutch
        assert not re.search(r"\d\.\d", dutch), dutch


def test_value_problems_read_as_before_in_english_and_in_dutch(
        soorten: tuple[Engine, Case]) -> None:
    engine, case = soorten
    m = Actor("m.1", roles={"m"})
    said = {
        "aantal": (0, "fact 'aantal': must be at least 1, got 0",
                   "feit 'aantal': moet ten minste 1 zijn, gekregen: 0"),
        "bedrag": (float("nan"), "fact 'bedrag': expected a number, got NaN (not a number): "
                   "give a finite number", "feit 'bedrag': verwacht: een getal, gekregen: NaN "
                   "(geen getal); geef een eindig getal"),
        "getallen": ([1, "x"], "fact 'getallen': item 2: expected a whole number, got text",
                     "feit 'getallen': onderdeel 2: verwacht: een geheel getal, gekregen: "
                     "tekst"),
        "metingen": ([{"waarde": 1}, {"x": 1}], "fact 'metingen': item 2: unknown field(s) x "
                     "(fields: waarde)", "feit 'metingen': onderdeel 2: onbekende velden: x "
                     "(bekende velden: waarde)"),
        "dag": ("2026-13-01", "fact 'dag': expected a date (YYYY-MM-DD), got '2026-13-01'",
                "feit 'dag': verwacht: een datum (JJJJ-MM-DD), gekregen: '2026-13-01'"),
        "moment": ("2026-01-05T09:00", "fact 'moment': expected a date and time with offset, "
                   "got '2026-01-05T09:00' without its offset from UTC (e.g. +01:00)",
                   "feit 'moment': verwacht: een datum en tijd met tijdzoneverschil, gekregen: "
                   "'2026-01-05T09:00' zonder tijdzoneverschil (bijvoorbeeld +01:00)"),
        "geheim": ("zeven", "fact 'geheim': expected a whole number",
                   "feit 'geheim': verwacht: een geheel getal"),
    }
    for fact, (value, english, dutch) in said.items():
        error = refused(lambda f=fact, v=value: engine.set_facts(  # type: ignore[misc]
            case, {f: v}, actor=m, at=T0))
        (reason,) = error.reasons
        assert (reason.key, reason.text("en"), reason.text("nl")) == (
            "reason.fact_value", english, dutch)
    error = refused(lambda: engine.set_facts(case, {"bedrag": 2.5, "aantal": 2.5}, actor=m,
                                             at=T0))
    assert [(r.text("en"), r.text("nl")) for r in error.reasons] == [(
        "fact 'aantal': expected a whole number, got 2.5",
        "feit 'aantal': verwacht: een geheel getal, gekregen: 2,5")]
    error = refused(lambda: engine.fire(case, "tellen", actor=m, at=T0, data={"n": 0}))
    assert [(r.key, r.text("en"), r.text("nl")) for r in error.reasons] == [(
        "reason.fact_set_value",
        "the event would set fact 'aantal' to a value it cannot hold: must be at least 1, got 0",
        "de gebeurtenis zou feit 'aantal' een waarde geven die het niet kan hebben: moet ten "
        "minste 1 zijn, gekregen: 0")]
    error = refused(lambda: engine.fire(case, "sluiten", actor=m, at=T0,
                                        data={"aantal": 11, "keuze": "blauw"}))
    assert [r.text("nl") for r in error.reasons] == [
        "ongeldig gegeven 'aantal': mag ten hoogste 10 zijn, gekregen: 11",
        "ongeldig gegeven 'keuze': verwacht: een van rood, groen, gekregen: 'blauw'",
        "gegeven 'dag' ontbreekt (een datum (JJJJ-MM-DD))"]


def test_a_value_problem_is_english_as_text_and_in_either_language_as_a_problem(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from zorgflow.errors import ValueProblem, phrase

    problem = ValueProblem(phrase("value.at_least", limit="1", got="0"))
    monkeypatch.setenv("ZORGFLOW_LANG", "nl")
    assert str(problem) == "must be at least 1, got 0"
    details = problem.to_problem()
    assert (details["title"], details["detail"]) == (
        "Ongeldige waarde", "moet ten minste 1 zijn, gekregen: 0")
    assert problem.to_problem("en")["detail"] == "must be at least 1, got 0"
