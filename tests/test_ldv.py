"""The processing log (LDV, Logboek Dataverwerkingen): `CaseService` writes one record per
data subject for each step that touches personal data, as OpenTelemetry spans, checked
against the standard's Logboek interface (``02-component-logboek.md``), its application duties
(``03-component-applicatie.md``) and the fields of ``logboek.proto``; no personal value in any
record."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from zorgflow import Actor, Engine, TransitionRejected, WorkflowError, load_workflow_text
from zorgflow.service import CaseService, ProcessingLog
from zorgflow.service.ldv import processing_operation
from zorgflow.store import SQLiteStore

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="opentelemetry-sdk is not "
                                "installed (pip install 'zorgflow[ldv]')")
fernet = pytest.importorskip("cryptography.fernet", reason="cryptography is not installed")

from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased  # noqa: E402

STANDARDS = Path(os.environ.get("ZORGFLOW_STANDARDS",
                                Path(__file__).resolve().parents[2] / "shared" / "standards"))
LDV = STANDARDS / "ldv"

ACTIVITY = "https://register.example.nl/verwerkingsactiviteiten/hulp-2026-1"
WORKFLOW = f"""\
id: hulp
version: 1
label: Hulpvraag
processing_activity: {ACTIVITY}
start_by: [medewerker]
visible_to: [medewerker]
roles:
  medewerker: {{label: Medewerker}}
  kijker: {{label: Kijker}}
facts:
  bsn: {{type: string, label: BSN, personal_data: true, data_subject: true}}
  bsn_ouder: {{type: string, label: BSN ouder, personal_data: true, data_subject: true}}
  naam: {{type: string, label: Naam, personal_data: true}}
  urgent: {{type: boolean, label: Urgent}}
states:
  open: {{label: Open, initial: true}}
  dicht: {{label: Dicht, final: true}}
transitions:
  - {{event: sluiten, from: open, to: dicht, by: [medewerker], when: "facts.urgent == false"}}
rules:
  spoed:
    kind: criteria
    label: Spoed
    criteria:
      urgent: {{label: Urgent, when: urgent}}
"""
MEDEWERKER = Actor("m.de.boer", roles={"medewerker"})
KIJKER = Actor("k.kijker", roles={"kijker"})
PERSONAL = ("123456782", "987654321", "Jan Jansen")


@dataclass
class Setup:
    service: CaseService
    exporter: InMemorySpanExporter
    cipher: Any

    def spans(self) -> list[Any]:
        found = list(self.exporter.get_finished_spans())
        self.exporter.clear()
        return found


@pytest.fixture
def ldv(tmp_path: Path) -> Iterator[Setup]:
    engine = Engine([load_workflow_text(WORKFLOW, "hulp.yaml")])
    cipher = fernet.Fernet(fernet.Fernet.generate_key())
    store = SQLiteStore(tmp_path / "cases.db", engine, cipher=cipher)
    exporter = InMemorySpanExporter()
    # not shut down at exit: an atexit hook would keep every provider of the run alive, and
    # each runs a hook in every process forked later (tests of the stores fork)
    provider = sdk_trace.TracerProvider(
        sampler=ALWAYS_ON, resource=Resource({"service.name": "zorgzaken",
                                              "service.version": "1.4"}),
        shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    service = CaseService(engine, store, processing_log=ProcessingLog(provider, cipher=cipher))
    yield Setup(service, exporter, cipher)
    store.close()
    provider.shutdown()


def subjects(setup: Setup, spans: list[Any]) -> list[str | None]:
    found = []
    for span in spans:
        token = span.attributes.get("dpl.core.data_subject_id")
        found.append(None if token is None
                     else setup.cipher.decrypt(token.encode("ascii")).decode("utf-8"))
    return found


def assert_no_personal_value(spans: list[Any]) -> None:
    for span in spans:
        text = span.to_json()
        for value in PERSONAL:
            assert value not in text, (value, span.name)


# -- one record per data subject per processing ---------------------------------------------


def test_a_start_with_two_data_subjects_writes_two_records_in_one_trace(ldv: Setup) -> None:
    case = ldv.service.start("hulp", actor=MEDEWERKER,
                             facts={"bsn": "123456782", "bsn_ouder": "987654321",
                                    "naam": "Jan Jansen", "urgent": True})
    spans = ldv.spans()
    assert [s.name for s in spans] == ["start hulp", "start hulp"]
    assert sorted(subjects(ldv, spans)) == ["123456782", "987654321"]  # type: ignore[type-var]
    assert len({s.context.trace_id for s in spans}) == 1
    assert len({s.context.span_id for s in spans}) == 2
    for span in spans:
        assert span.attributes["dpl.core.processing_activity_id"] == ACTIVITY
        assert span.attributes["zorgflow.case_id"] == case.id
        assert span.status.status_code.name == "OK"
    assert_no_personal_value(spans)


def test_each_step_on_personal_data_is_logged_with_its_status(ldv: Setup) -> None:
    case = ldv.service.start("hulp", actor=MEDEWERKER, facts={"bsn": "123456782",
                                                              "urgent": True})
    ldv.spans()
    with pytest.raises(TransitionRejected):
        ldv.service.fire(case.id, "sluiten", actor=MEDEWERKER)
    failed = ldv.spans()
    assert [s.name for s in failed] == ["fire sluiten"]
    assert failed[0].status.status_code.name == "ERROR"
    assert failed[0].status.description == "guard_false"  # a code, never a message
    ldv.service.set_facts(case.id, {"urgent": False, "naam": "Jan Jansen"}, actor=MEDEWERKER)
    ldv.service.fire(case.id, "sluiten", actor=MEDEWERKER)
    done = ldv.spans()
    assert [s.name for s in done] == ["set_facts", "fire sluiten"]
    assert subjects(ldv, done) == ["123456782", "123456782"]
    assert all(s.status.status_code.name == "OK" for s in done)
    assert_no_personal_value(failed + done)


def test_a_case_without_personal_data_is_not_logged(ldv: Setup) -> None:
    case = ldv.service.start("hulp", actor=MEDEWERKER, facts={"urgent": False})
    ldv.service.fire(case.id, "sluiten", actor=MEDEWERKER)
    ldv.service.view(case.id, MEDEWERKER)
    assert ldv.spans() == []


def test_personal_data_without_a_known_data_subject_gets_one_record_naming_none(
        ldv: Setup) -> None:
    ldv.service.start("hulp", actor=MEDEWERKER, facts={"naam": "Jan Jansen"})
    spans = ldv.spans()
    assert len(spans) == 1 and "dpl.core.data_subject_id" not in spans[0].attributes
    assert_no_personal_value(spans)


def test_a_view_is_logged_when_it_shows_personal_data(ldv: Setup) -> None:
    case = ldv.service.start("hulp", actor=MEDEWERKER, facts={"bsn": "123456782",
                                                              "naam": "Jan Jansen"})
    ldv.spans()
    ldv.service.view(case.id, MEDEWERKER)
    ldv.service.history(case.id, MEDEWERKER)
    shown = ldv.spans()
    assert [s.name for s in shown] == ["view", "history"]
    assert subjects(ldv, shown) == ["123456782", "123456782"]
    ldv.service.view(case.id, KIJKER)  # everything personal masked: nothing processed
    ldv.service.history(case.id, KIJKER)
    assert ldv.spans() == []


def test_a_refused_start_is_logged_as_failed(ldv: Setup) -> None:
    with pytest.raises(TransitionRejected):
        ldv.service.start("hulp", actor=KIJKER, facts={"bsn": "123456782"})
    spans = ldv.spans()
    assert [(s.name, s.status.status_code.name) for s in spans] == [("start hulp", "ERROR")]
    assert subjects(ldv, spans) == ["123456782"]
    assert_no_personal_value(spans)


def test_a_decision_on_personal_data_is_logged(ldv: Setup) -> None:
    decided = ldv.service.decide("hulp", "spoed", {"urgent": True, "bsn": "123456782"},
                                 actor=MEDEWERKER)
    assert decided.outcome == ["urgent"]
    spans = ldv.spans()
    assert [s.name for s in spans] == ["decide spoed"] and subjects(ldv, spans) == ["123456782"]
    ldv.service.decide("hulp", "spoed", {"urgent": True}, actor=MEDEWERKER)
    assert ldv.spans() == []  # no personal data read
    case = ldv.service.start("hulp", actor=MEDEWERKER, facts={"bsn": "987654321"})
    ldv.spans()
    ldv.service.decide(case.id, "spoed", actor=MEDEWERKER, stored=True)
    assert subjects(ldv, ldv.spans()) == ["987654321"]
    assert_no_personal_value(spans)


# -- the standard's interface and duties ------------------------------------------------------


def _proto_fields(message: str) -> dict[str, str]:
    text = (LDV / "proto" / "logboek" / "v1" / "logboek.proto").read_text(encoding="utf-8")
    body = re.search(r"message " + message + r" \{(.*?)\n\}", text, re.S)
    assert body is not None, message
    # fields of this message, not of the messages and enums nested in it
    flat = re.sub(r"\n    (message|enum) \w+ \{.*?\n    \}", "", body[1], flags=re.S)
    return {name: kind for kind, name in re.findall(r"^\s+(?:repeated )?([\w.]+) (\w+) = \d+;",
                                                    flat, re.M)}


needs_standards = pytest.mark.skipif(not LDV.is_dir(), reason=f"the LDV specification is not "
                                     f"at {LDV} (set ZORGFLOW_STANDARDS to the standards folder)")


@needs_standards
def test_every_record_has_the_fields_of_the_proto_and_the_logboek_interface(ldv: Setup) -> None:
    ldv.service.start("hulp", actor=MEDEWERKER, facts={"bsn": "123456782"})
    (span,) = ldv.spans()
    record = processing_operation(span)
    assert set(record) - {"resource"} == set(_proto_fields("ProcessingOperation"))
    assert set(record["resource"]) == set(_proto_fields("Resource"))
    assert record["resource"] == {"name": "zorgzaken", "version": "1.4"}
    # 02-component-logboek.md, "Interface": the MUST fields with their sizes
    interface = (LDV / "specificaties" / "02-component-logboek.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)`\s*\|\s*([^|]+?)\s*\|\s*(?:verplicht|optioneel)",
                           interface, re.M))
    assert {"trace_id", "operation_id", "status_code", "name", "start_time", "end_time",
            "attributes"} <= set(rows)
    assert rows["trace_id"] == "16 byte" and len(record["trace_id"]) == 16
    assert rows["operation_id"] == "8 byte" and len(record["operation_id"]) == 8
    assert record["trace_id"] != bytes(16) and record["operation_id"] != bytes(8)
    assert record["status_code"] in re.findall(r"\d: (STATUS_CODE_\w+)", interface)
    assert record["name"] == "start hulp"
    assert 0 < record["start_time"] <= record["end_time"]  # milliseconds
    keys = {a["key"] for a in record["attributes"]}
    assert {"dpl.core.processing_activity_id", "dpl.core.data_subject_id"} <= keys
    assert all(isinstance(a["value"], str) for a in record["attributes"])  # proto: string
    assert all(k.startswith(("dpl.", "zorgflow.")) for k in keys)
    assert record["foreign_operation"] is None
    json.dumps({k: v.hex() if isinstance(v, bytes) else v for k, v in record.items()})


def test_a_sampling_tracer_provider_is_refused() -> None:
    provider = sdk_trace.TracerProvider(sampler=ParentBased(ALWAYS_ON), shutdown_on_exit=False)
    with pytest.raises(ValueError, match="forbids sampling"):
        ProcessingLog(provider, cipher=fernet.Fernet(fernet.Fernet.generate_key()))
    with pytest.raises(TypeError, match="encrypted"):
        ProcessingLog(provider, cipher=None)  # type: ignore[arg-type]


def test_a_data_subject_fact_must_be_personal_text() -> None:
    bad = WORKFLOW.replace("naam: {type: string, label: Naam, personal_data: true}",
                           "naam: {type: string, label: Naam, data_subject: true}")
    with pytest.raises(WorkflowError, match=r"hulp.yaml:\d+:\d+: 'naam' identifies a data "
                       "subject, so it must be text marked personal"):
        load_workflow_text(bad, "hulp.yaml")


def test_the_web_layer_continues_the_callers_trace(ldv: Setup) -> None:
    testclient = pytest.importorskip("fastapi.testclient", reason="fastapi is not installed")
    from fastapi import FastAPI

    from zorgflow.web import router

    app = FastAPI()
    app.include_router(router(ldv.service, lambda: MEDEWERKER))
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    with testclient.TestClient(app) as client:
        answer = client.post("/cases", json={"workflow": "hulp", "facts": {"bsn": "123456782"}},
                             headers={"traceparent": f"00-{caller_trace}-{caller_span}-00"})
    assert answer.status_code == 201
    spans = ldv.spans()
    assert [s.name for s in spans] == ["start hulp", "view"]  # the answer shows the case
    for span in spans:
        assert format(span.context.trace_id, "032x") == caller_trace  # not sampled: logged
        assert format(span.parent.span_id, "016x") == caller_span
        foreign = processing_operation(span)["foreign_operation"]
        assert foreign["trace_id"].hex() == caller_trace
        assert foreign["operation_id"].hex() == caller_span
