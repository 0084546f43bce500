"""Retention: `Store.destroy` removes a case (or only its personal data) in one step and logs
what it removed, without personal data, on both back ends."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
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
