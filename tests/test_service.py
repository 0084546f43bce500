"""`zorgflow.service.CaseService`: one transaction per command by case id, `expected_version`,
idempotency keys, retries when the database gives up, and the timer sweep — on SQLite and
PostgreSQL (the `backend` fixture), through the public API."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import Backend
from hypothesis import given, settings
from hypothesis import strategies as st

import zorgflow
from zorgflow import Actor, Engine
from zorgflow.errors import (
    CaseNotFound,
    ConcurrentUpdate,
    IdempotencyMismatch,
    StoreUnavailable,
    TransitionRejected,
)
from zorgflow.service import CaseService

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=AMS)
scp = Actor("s.contact", roles={"sociaal_contactpunt"})
coord = Actor("a.coord", roles={"lzn_coordinator"})
regisseur = Actor("p.regisseur", roles={"ketenpartner"})

_ENGINE = Engine.from_directory("workflows")


@pytest.fixture
def engine() -> Engine:
    return _ENGINE


@pytest.fixture
def svc(backend: Backend, engine: Engine) -> CaseService:
    return CaseService(engine, backend.open(engine), pause=0)


def to_uitvoering(svc: CaseService, case_id: str = "c1") -> zorgflow.Case:
    svc.start("lzn", actor=scp, at=T0, case_id=case_id)
    svc.fire(case_id, "passend_bevonden", actor=coord, at=T0)
    svc.fire(case_id, "geen_actief_dossier", actor=coord, at=T0)
    return svc.fire(case_id, "casusregisseur_benoemd", actor=coord, at=T0,
                    data={"casusregisseur": regisseur.id, "ketenpartner": "GGZ"})


# -- commands by case id -----------------------------------------------------------------------


def test_each_command_is_saved_and_returns_the_new_case(svc: CaseService) -> None:
    case = to_uitvoering(svc)
    assert case.state == "uitvoering" and case.version == 4
    assert svc.load("c1").to_dict() == case.to_dict()
    case = svc.set_facts("c1", {"multiproblematiek": True}, actor=coord, at=T0)
    assert svc.load("c1").facts["multiproblematiek"] is True
    assert [t.id for t in svc.tasks("c1") if not t.done] == ["huisbezoek"]
    case = svc.complete("c1", "huisbezoek", actor=regisseur, at=T0)
    assert svc.load("c1").version == case.version == 6
    assert "stagnatie_gemeld" in svc.allowed("c1", regisseur, at=T0)


def test_a_refused_command_writes_nothing(svc: CaseService) -> None:
    to_uitvoering(svc)
    with pytest.raises(TransitionRejected) as info:
        svc.fire("c1", "afsluiten", actor=regisseur, at=T0, data={"afsluitreden": "x"})
    assert info.value.code == "forbidden"
    assert svc.load("c1").version == 4


def test_a_missing_case_is_not_found(svc: CaseService) -> None:
    with pytest.raises(CaseNotFound) as info:
        svc.fire("bestaat-niet", "passend_bevonden", actor=coord, at=T0)
    assert info.value.code == "not_found" and info.value.http_status == 404


# -- expected_version --------------------------------------------------------------------------


def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(svc: CaseService) -> None:
    case = to_uitvoering(svc)
    svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur, at=T0,
             expected_version=case.version)
    with pytest.raises(ConcurrentUpdate) as info:
        svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur, at=T0,
                 expected_version=case.version)
    assert info.value.code == "conflict" and info.value.http_status == 409
    assert (info.value.expected, info.value.actual) == (4, 5)
    assert svc.load("c1").version == 5


@pytest.mark.parametrize(("value", "error"), [("4", TypeError), (True, TypeError),
                                              (0, ValueError), (-1, ValueError)])
def test_expected_version_of_the_wrong_kind_is_refused(svc: CaseService, value: Any,
                                                       error: type[Exception]) -> None:
    to_uitvoering(svc)
    with pytest.raises(error):
        svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur, at=T0,
                 expected_version=value)


# -- idempotency keys --------------------------------------------------------------------------


def test_the_same_key_twice_applies_the_command_once(svc: CaseService) -> None:
    to_uitvoering(svc)
    first = svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur, at=T0,
                     idempotency_key="req-1")
    again = svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur,
                     at=T0 + timedelta(minutes=1), idempotency_key="req-1")
    assert again.to_dict() == first.to_dict()
    assert len(svc.store.history("c1")) == first.version == 5


def test_a_key_reused_for_another_request_is_refused(svc: CaseService) -> None:
    to_uitvoering(svc)
    svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur, at=T0, idempotency_key="k")
    for other in (lambda: svc.fire("c1", "stagnatie_gemeld", actor=regisseur, at=T0,
                                   idempotency_key="k"),
                  lambda: svc.set_facts("c1", {"multiproblematiek": True}, actor=coord, at=T0,
                                        idempotency_key="k")):
        with pytest.raises(IdempotencyMismatch) as info:
            other()
        assert info.value.code == "idempotency_mismatch" and info.value.http_status == 422
    assert svc.load("c1").version == 5


def test_keys_are_scoped_to_a_case(svc: CaseService) -> None:
    to_uitvoering(svc, "c1")
    to_uitvoering(svc, "c2")
    svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur, at=T0, idempotency_key="k")
    svc.fire("c2", "voortgang_teruggekoppeld", actor=regisseur, at=T0, idempotency_key="k")
    assert svc.load("c1").version == svc.load("c2").version == 5


def test_a_refused_command_does_not_use_up_its_key(svc: CaseService) -> None:
    to_uitvoering(svc)
    with pytest.raises(TransitionRejected):
        svc.set_facts("c1", {"multiproblematiek": "ja"}, actor=coord, at=T0,
                      idempotency_key="k")
    case = svc.set_facts("c1", {"multiproblematiek": True}, actor=coord, at=T0,
                         idempotency_key="k")
    assert case.version == 5


def test_a_start_sent_twice_with_a_key_opens_one_case(svc: CaseService) -> None:
    first = svc.start("lzn", actor=scp, at=T0, idempotency_key="start-1")
    again = svc.start("lzn", actor=scp, at=T0 + timedelta(seconds=5),
                      idempotency_key="start-1")
    assert again.id == first.id and again.to_dict() == first.to_dict()
    assert [r.id for r in svc.store.find()] == [first.id]
    other = svc.start("lzn", actor=scp, at=T0, idempotency_key="start-2")
    assert other.id != first.id


def test_keys_are_forgotten_after_the_retention(backend: Backend, engine: Engine) -> None:
    now = [T0]
    svc = CaseService(engine, backend.open(engine), pause=0, clock=lambda: now[0])
    to_uitvoering(svc)
    svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur, at=T0, idempotency_key="k")
    now[0] = T0 + timedelta(days=2)
    assert svc.forget_keys(older_than=timedelta(days=1).total_seconds()) == 1
    # forgotten: the same key is a new request again
    case = svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur, at=T0,
                    idempotency_key="k")
    assert case.version == 6


@pytest.mark.parametrize("key", [1, b"k", "", "x" * 201])
def test_an_idempotency_key_must_be_short_text(svc: CaseService, key: Any) -> None:
    to_uitvoering(svc)
    with pytest.raises((TypeError, ValueError)):
        svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur, at=T0,
                 idempotency_key=key)


# -- retries -----------------------------------------------------------------------------------


class _Flaky:
    """A store whose first ``failures`` transactions fail as a busy database would."""

    def __init__(self, store: Any, failures: int) -> None:
        self.store, self.failures, self.tries = store, failures, 0

    def transaction(self) -> Any:
        self.tries += 1
        if self.tries <= self.failures:
            raise StoreUnavailable("the database is busy")
        return self.store.transaction()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_transaction_the_database_gave_up_on_is_tried_again(backend: Backend,
                                                              engine: Engine) -> None:
    flaky = _Flaky(backend.open(engine), failures=2)
    svc = CaseService(engine, flaky, pause=0)  # type: ignore[arg-type]
    case = svc.start("lzn", actor=scp, at=T0, case_id="c1")
    assert flaky.tries == 3 and case.version == 1
    flaky.failures, flaky.tries = 10, 0
    with pytest.raises(StoreUnavailable) as info:
        svc.fire("c1", "passend_bevonden", actor=coord, at=T0)
    assert flaky.tries == svc.attempts and info.value.http_status == 503
    assert svc.load("c1").version == 1


# -- views -------------------------------------------------------------------------------------


def test_views_are_json_ready(svc: CaseService) -> None:
    svc.start("lzn", actor=scp, at=T0, case_id="c1", facts={"naam": "Jan Jansen"})
    view = svc.view("c1", coord, history=True)
    json.dumps(view)
    assert view["id"] == "c1" and view["version"] == 1
    json.dumps(svc.history("c1", coord))
    assert [v["id"] for v in svc.find(coord, workflow_id="lzn")] == ["c1"]


# -- the timer sweep ---------------------------------------------------------------------------


def test_record_due_records_each_due_signal_once(svc: CaseService) -> None:
    to_uitvoering(svc, "c1")
    to_uitvoering(svc, "c2")
    later = T0 + timedelta(days=60)
    sweep = svc.record_due(later, limit=10)
    assert sweep.cases == 2 and not sweep.failed
    assert {r.case_id for r in sweep.recorded} == {"c1", "c2"}
    for signal in sweep.recorded:
        entry = svc.load(signal.case_id).history[signal.seq - 1]
        assert (entry.kind, entry.event) == ("signal", signal.signal)
        json.dumps(signal.to_dict())
    assert svc.record_due(later, limit=10).recorded == ()


def test_record_due_takes_at_most_limit_cases(svc: CaseService) -> None:
    for n in range(3):
        to_uitvoering(svc, f"c{n}")
    later = T0 + timedelta(days=60)
    assert svc.record_due(later, limit=2).cases == 2
    assert svc.record_due(later, limit=2).cases == 1
    assert svc.record_due(later, limit=2).cases == 0


@pytest.mark.parametrize("limit", [0, -1, "10", True])
def test_record_due_refuses_a_limit_of_the_wrong_kind(svc: CaseService, limit: Any) -> None:
    with pytest.raises(ValueError):
        svc.record_due(T0, limit=limit)


# -- properties --------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(keys=st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=8))
def test_repeating_keyed_requests_never_adds_entries(tmp_path_factory: pytest.TempPathFactory,
                                                     keys: list[str | None]) -> None:
    """Any sequence of progress reports, each with a key or none: the history grows by one
    per distinct key plus one per unkeyed request."""
    from zorgflow.store import SQLiteStore

    store = SQLiteStore(tmp_path_factory.mktemp("svc") / "cases.db", _ENGINE)
    try:
        svc = CaseService(_ENGINE, store, pause=0)
        to_uitvoering(svc)
        for key in keys:
            svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur, at=T0,
                     idempotency_key=key)
        expected = 4 + len({k for k in keys if k is not None}) + keys.count(None)
        assert svc.load("c1").version == expected
    finally:
        store.close()


_ANY = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                 st.floats(), st.text(max_size=20), st.binary(max_size=5),
                 st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8),
                                 max_size=3))


@settings(max_examples=150, deadline=None)
@given(case_id=_ANY | st.just("c1"), event=_ANY | st.sampled_from(
    ["voortgang_teruggekoppeld", "stagnatie_gemeld", "afsluiten"]),
    data=_ANY, version=_ANY, key=_ANY, facts=_ANY, task=_ANY)
def test_bad_input_to_the_service_is_refused_with_a_zorgflow_type_or_value_error(
        tmp_path_factory: pytest.TempPathFactory, case_id: Any, event: Any, data: Any,
        version: Any, key: Any, facts: Any, task: Any) -> None:
    """Whatever a caller passes, a public call of the service raises a `ZorgflowError`, or a
    `TypeError`/`ValueError` for an argument of the wrong kind — never another exception —
    and a case it refused is unchanged."""
    from zorgflow.store import SQLiteStore

    store = SQLiteStore(tmp_path_factory.mktemp("fuzz") / "cases.db", _ENGINE)
    try:
        svc = CaseService(_ENGINE, store, pause=0)
        to_uitvoering(svc)
        before = svc.load("c1").to_dict()
        calls = [
            lambda: svc.fire(case_id, event, actor=regisseur, at=T0, data=data,
                             expected_version=version, idempotency_key=key),
            lambda: svc.set_facts(case_id, facts, actor=coord, at=T0,
                                  expected_version=version, idempotency_key=key),
            lambda: svc.complete(case_id, task, actor=regisseur, at=T0,
                                 idempotency_key=key),
            lambda: svc.view(case_id, coord),
            lambda: svc.history(case_id, coord, after=version, limit=version),
            lambda: svc.record_due(T0, limit=version),
        ]
        for call in calls:
            try:
                call()
            except (zorgflow.ZorgflowError, TypeError, ValueError):
                assert svc.load("c1").to_dict()["history"][:4] == before["history"]
    finally:
        store.close()


def test_a_deadline_missed_before_a_sweep_stays_in_the_history(svc: CaseService) -> None:
    """The feedback came an hour after it was due and before any timer sweep: the step that
    reset the timer dropped the missed deadline, and no sweep ever recorded it (found by the
    load test). A step now records the signals due at its time first."""
    to_uitvoering(svc)
    (due,) = svc.engine.timers(svc.load("c1"))
    late = due.due_at + timedelta(hours=1)
    case = svc.fire("c1", "voortgang_teruggekoppeld", actor=regisseur, at=late)
    signal, step = case.history[-2:]
    assert (signal.kind, signal.event, signal.data["due_at"]) == (
        "signal", "terugkoppeling_te_laat", due.due_at.isoformat())
    assert (step.kind, step.event) == ("fire", "voortgang_teruggekoppeld")
    assert svc.record_due(late + timedelta(minutes=1)).recorded == ()
    assert svc.store.load("c1").to_dict() == case.to_dict()


def test_a_refused_step_records_no_overdue_signal(svc: CaseService) -> None:
    to_uitvoering(svc)
    (due,) = svc.engine.timers(svc.load("c1"))
    with pytest.raises(TransitionRejected):
        svc.fire("c1", "afsluiten", actor=regisseur, at=due.due_at + timedelta(hours=1),
                 data={"afsluitreden": "x"})
    assert svc.load("c1").version == 4
