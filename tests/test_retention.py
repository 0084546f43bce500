"""Retention: `Store.destroy` removes a case (or only its personal data) in one step and logs
what it removed, without personal data, on both back ends."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from zorgflow import Actor, Engine, load_workflow_text
from zorgflow.store import CaseNotFound, Destruction, UnstorableValue

WORKFLOW = """\
id: hulp
version: 1
label: Hulpvraag
start_by: [medewerker]
roles:
  medewerker: {label: Medewerker}
facts:
  naam: {type: string, label: Naam, personal_data: true}
  urgent: {type: boolean, label: Urgent}
states:
  open: {label: Open, initial: true}
  dicht: {label: Dicht, final: true}
transitions:
  - event: sluiten
    from: open
    to: dicht
    by: [medewerker]
    data: {toelichting: {type: string, label: Toelichting, personal_data: true}}
"""
ENGINE = Engine([load_workflow_text(WORKFLOW, "hulp.yaml")])
WHO = Actor("m.de.boer", roles={"medewerker"})
AT = datetime(2020, 3, 1, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def closed_case(store: Any, case_id: str) -> Any:
    case = ENGINE.start("hulp", actor=WHO, facts={"naam": "Jan Jansen", "urgent": True},
                        at=AT, case_id=case_id, store=store)
    case = ENGINE.fire(case, "sluiten", actor=WHO, data={"toelichting": "over Jan"}, at=AT,
                       store=store)
    store.remember(case_id, "key-1", "sha256:x", case.version, AT)
    return case


def record(case_id: str, scope: Any = "case", **changes: Any) -> Destruction:
    values: dict[str, Any] = dict(
        case_id=case_id, workflow_id="hulp", workflow_version=1, result="Afgesloten",
        closed_at=AT, archiefactiedatum=date(2025, 3, 1), scope=scope, destroyed_at=NOW,
        actor="archivaris")
    values.update(changes)
    return Destruction(**values)


def test_destroying_a_case_removes_everything_of_it_and_logs_it(backend: Any) -> None:
    store = backend.open(ENGINE)
    closed_case(store, "weg")
    kept = closed_case(store, "blijft")
    store.destroy(record("weg"))
    with pytest.raises(CaseNotFound):
        store.load("weg")
    with pytest.raises(CaseNotFound):
        store.history("weg")
    assert [r.id for r in store.find()] == ["blijft"]
    assert store.recall("weg", "key-1") is None
    assert store.load("blijft").to_dict() == kept.to_dict()
    (logged,) = store.destructions()
    assert logged == record("weg", seq=logged.seq) and logged.seq >= 1
    assert logged.to_dict()["archiefactiedatum"] == "2025-03-01"
    assert "Jan" not in repr(logged.to_dict())


def test_destroying_personal_data_only_keeps_the_case_without_it(backend: Any) -> None:
    store = backend.open(ENGINE)
    case = closed_case(store, "anoniem")
    store.destroy(record("anoniem", "personal_data"))
    loaded = store.load("anoniem")
    assert dict(loaded.facts) == {"urgent": True} and loaded.state == "dicht"
    assert loaded.version == case.version
    entries = store.history("anoniem")
    assert [e.kind for e in entries] == ["start", "fire"]
    assert "naam" not in entries[0].data and "toelichting" not in entries[1].data
    assert "Jan" not in repr([e.to_dict() for e in entries])
    assert [r.scope for r in store.destructions()] == ["personal_data"]


def test_an_unknown_case_is_not_found_and_nothing_is_logged(backend: Any) -> None:
    store = backend.open(ENGINE)
    for scope in ("case", "personal_data"):
        with pytest.raises(CaseNotFound):
            store.destroy(record("nergens", scope))
    assert store.destructions() == []


@pytest.mark.parametrize(("changes", "error"), [
    ({"scope": "alles"}, ValueError),
    ({"archiefactiedatum": "2025-03-01"}, TypeError),
    ({"closed_at": datetime(2020, 3, 1)}, ValueError),
    ({"case_id": 42}, TypeError),
    ({"result": "a\x00b"}, UnstorableValue),
])
def test_a_bad_record_writes_nothing(backend: Any, changes: dict[str, Any],
                                     error: type[Exception]) -> None:
    store = backend.open(ENGINE)
    closed_case(store, "weg")
    with pytest.raises(error):
        store.destroy(record("weg", **changes))
    assert store.load("weg").state == "dicht" and store.destructions() == []


def test_a_destruction_inside_a_transaction_that_fails_is_undone(backend: Any) -> None:
    store = backend.open(ENGINE)
    closed_case(store, "weg")
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.destroy(record("weg"))
        raise RuntimeError("the application changed its mind")
    assert store.load("weg").state == "dicht" and store.destructions() == []


def test_the_log_pages(backend: Any) -> None:
    store = backend.open(ENGINE)
    for n in range(5):
        closed_case(store, f"c{n}")
        store.destroy(record(f"c{n}", destroyed_at=NOW + timedelta(minutes=n)))
    first = store.destructions(limit=2)
    rest = store.destructions(after=first[-1].seq)
    assert [r.case_id for r in first + rest] == [f"c{n}" for n in range(5)]
    assert rest[-1].destroyed_at == NOW + timedelta(minutes=4)


def test_a_schema_3_sqlite_store_gains_the_log(tmp_path: Any) -> None:
    from zorgflow.store import SQLiteStore

    store = SQLiteStore(tmp_path / "cases.db", ENGINE)
    closed_case(store, "oud")
    store.close()
    with sqlite3.connect(tmp_path / "cases.db") as conn:
        conn.execute("DROP TABLE destructions")
        conn.execute("UPDATE zorgflow_schema SET version = 3")
    store = SQLiteStore(tmp_path / "cases.db", ENGINE)
    store.destroy(record("oud"))
    assert [r.case_id for r in store.destructions()] == ["oud"]
    store.close()


# -- the service: what is due, and destroying it ---------------------------------------------

LZN = Engine.from_directory(Path(__file__).resolve().parent.parent / "workflows")
SCP = Actor("s.scp", roles={"sociaal_contactpunt"})
COORD = Actor("c.coord", roles={"lzn_coordinator"})
ARCHIVARIS = Actor("archivaris", roles=set())
CLOSED = datetime(2020, 3, 1, 10, 0, tzinfo=UTC)  # 11:00 in Amsterdam, 1 March 2020


def lzn_niet_passend(store: Any, case_id: str, at: datetime = CLOSED) -> Any:
    case = LZN.start("lzn", actor=SCP, facts={"naam": "Jan Jansen", "bsn": "123456782"},
                     at=at, case_id=case_id, store=store)
    return LZN.fire(case, "niet_passend_bevonden", actor=COORD,
                    data={"reden": "geen meervoudige problematiek"}, at=at, store=store)


def test_archiving_follows_zrc_021() -> None:
    from zorgflow.zgw import add_period, archiving

    case = lzn_niet_passend(None, "a")
    found = archiving(LZN.workflow("lzn"), case)
    assert found is not None and found.result.omschrijving == "Niet passend"
    assert found.archiefnominatie == "vernietigen" and found.einddatum == date(2020, 3, 1)
    assert found.archiefactiedatum == date(2025, 3, 1)  # afgehandeld + P5Y
    assert archiving(LZN.workflow("lzn"), LZN.start("lzn", actor=SCP, at=CLOSED)) is None
    assert add_period(date(2020, 1, 31), "P1M") == date(2020, 2, 29)
    assert add_period(date(2020, 1, 1), "P1Y2M3W4D") == date(2021, 3, 26)
    with pytest.raises(ValueError, match="not a period"):
        add_period(date(2020, 1, 1), "PT8H")


def test_retention_lists_what_is_due_and_destroys_it_with_a_log(backend: Any) -> None:
    from zorgflow.service import CaseService

    store = backend.open(LZN)
    lzn_niet_passend(store, "oud")
    lzn_niet_passend(store, "jong", at=datetime(2024, 6, 1, tzinfo=UTC))
    LZN.start("lzn", actor=SCP, facts={"bsn": "123456782"}, at=CLOSED, case_id="open",
              store=store)
    service = CaseService(LZN, store)
    due = service.retention(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    assert [(d.case_id, d.archiefactiedatum, d.scope) for d in due] == [
        ("oud", date(2025, 3, 1), "case")]
    assert service.retention(datetime(2025, 2, 28, 12, 0, tzinfo=UTC)) == []
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    planned = service.destroy_due(actor=ARCHIVARIS, at=moment)  # a dry run by default
    assert [r.case_id for r in planned] == ["oud"] and store.destructions() == []
    assert store.load("oud").state == "niet_passend"
    done = service.destroy_due(actor=ARCHIVARIS, at=moment, dry_run=False)
    assert [r.case_id for r in done] == ["oud"]
    with pytest.raises(CaseNotFound):
        store.load("oud")
    (logged,) = store.destructions()
    assert (logged.result, logged.scope, logged.actor, logged.archiefactiedatum) == (
        "Niet passend", "case", "archivaris", date(2025, 3, 1))
    assert "123456782" not in repr(logged.to_dict()) and "Jan" not in repr(logged.to_dict())
    assert sorted(r.id for r in store.find()) == ["jong", "open"]
    assert service.destroy_due(actor=ARCHIVARIS, at=moment, dry_run=False) == []


def test_a_result_may_destroy_only_the_personal_data(backend: Any, tmp_path: Path) -> None:
    from zorgflow.service import CaseService

    source = (Path(__file__).resolve().parent.parent / "workflows" / "lzn.yaml").read_text(
        encoding="utf-8")
    marker = "    - omschrijving: Niet passend\n"
    assert source.count(marker) == 1
    text = source.replace(marker, marker + "      vernietiging: persoonsgegevens\n")
    engine = Engine([load_workflow_text(text, "lzn.yaml")])
    store = backend.open(engine)
    case = engine.start("lzn", actor=SCP, facts={"naam": "Jan Jansen", "bsn": "123456782"},
                        at=CLOSED, case_id="anoniem", store=store)
    engine.fire(case, "niet_passend_bevonden", actor=COORD, data={"reden": "geen"},
                at=CLOSED, store=store)
    service = CaseService(engine, store)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert [d.scope for d in service.retention(moment)] == ["personal_data"]
    service.destroy_due(actor=ARCHIVARIS, at=moment, dry_run=False)
    kept = store.load("anoniem")
    assert kept.state == "niet_passend" and "bsn" not in kept.facts and "naam" not in kept.facts
    assert "123456782" not in repr([e.to_dict() for e in store.history("anoniem")])
    assert service.retention(moment) == []  # nothing personal left: not due again
    assert [r.scope for r in store.destructions()] == ["personal_data"]


def test_vernietiging_goes_only_with_a_result_to_destroy() -> None:
    from zorgflow import WorkflowError

    source = (Path(__file__).resolve().parent.parent / "workflows" / "lzn.yaml").read_text(
        encoding="utf-8")
    text = source.replace("      archiefnominatie: vernietigen\n",
                          "      archiefnominatie: blijvend_bewaren\n"
                          "      vernietiging: persoonsgegevens\n", 1)
    with pytest.raises(WorkflowError, match=r"lzn.yaml:\d+:\d+: 'vernietiging' says what is "
                       "destroyed"):
        load_workflow_text(text, "lzn.yaml")


def test_cli_lists_and_destroys_what_is_due(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from zorgflow.cli import main
    from zorgflow.store import SQLiteStore

    workflows = Path(__file__).resolve().parent.parent / "workflows"
    db = tmp_path / "cases.db"
    store = SQLiteStore(db, LZN)
    lzn_niet_passend(store, "oud")
    store.close()
    base = ["retention", str(workflows), "--store", str(db), "--on", "2025-03-01"]
    assert main(base) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["case_id"] == "oud"
    assert main(["retention", str(workflows), "--store", str(db), "--on", "2025-02-28"]) == 0
    assert capsys.readouterr().out == ""
    assert main([*base, "--destroy"]) == 2  # who had it done?
    assert "--destroy needs --actor" in capsys.readouterr().err
    assert main([*base, "--destroy", "--actor", "archivaris"]) == 0
    assert json.loads(capsys.readouterr().out)["scope"] == "case"
    assert main(base) == 0 and capsys.readouterr().out == ""
    assert main([*base[:-1], "1 maart"]) == 2
