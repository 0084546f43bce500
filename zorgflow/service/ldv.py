"""The processing log (Logboek Dataverwerkingen, LDV): one record per data subject for each
processing of personal data, written as OpenTelemetry spans.

The LDV standard (Logius, "Logboek Dataverwerkingen", the components *Logboek* and
*Applicatie*) asks an application to log every processing of personal data (*Dataverwerking*)
in a *Logboek*, without sampling, one record per data subject (*Betrokkene*), with its status,
in a trace; a processing called from another application continues that application's trace
(W3C Trace Context) and names it as the foreign operation. Its fields map onto a span:

====================================  ==============================================
LDV field (``logboek.proto``)         span
====================================  ==============================================
``trace_id`` (16 bytes)               the span's trace id
``operation_id`` (8 bytes)            the span id
``parent_operation_id``               the parent span id
``name``                              the span name: ``fire passend_bevonden``, …
``start_time`` / ``end_time``         the span's start and end
``status_code``                       ``OK`` or ``ERROR`` (with the error's code)
``foreign_operation``                 ``dpl.core.foreign_operation.trace_id`` and
                                      ``.operation_id`` (the caller's span)
``resource``                          the tracer provider's resource (name, version)
``attributes``                        ``dpl.core.processing_activity_id`` (the
                                      workflow's ``processing_activity:``),
                                      ``dpl.core.data_subject_id`` (encrypted)
====================================  ==============================================

No personal value is ever written: the data subject's id is encrypted with the store's
cipher, and the other attributes name the workflow, the case id and the operation only.
Which facts identify data subjects is the workflow's to say (``data_subject: true``); a
processing of a case with personal data but no known data subject gets one record without
``dpl.core.data_subject_id`` (the standard allows a record to name 0 or 1 data subjects).

The tracer provider must record every span: give one whose sampler is ``ALWAYS_ON`` (a
parent-based sampler would drop the records of a caller that does not sample).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .._version import __version__
from ..model import Workflow
from ..store.base import Cipher

#: the attribute names of the LDV standard's ``core`` namespace
PROCESSING_ACTIVITY = "dpl.core.processing_activity_id"
DATA_SUBJECT = "dpl.core.data_subject_id"
DATA_SUBJECT_TYPE = "dpl.core.data_subject_id_type"
FOREIGN_TRACE = "dpl.core.foreign_operation.trace_id"
FOREIGN_OPERATION = "dpl.core.foreign_operation.operation_id"
FOREIGN_ENTITY = "dpl.core.foreign_operation.entity"


def processing_activity(workflow: Workflow) -> str:
    """The processing activity of the workflow's cases: its ``processing_activity:``, else a
    URN naming the workflow version (so that a changed workflow is a new activity, as the
    standard's register asks)."""
    return workflow.processing_activity or (
        f"urn:zorgflow:verwerkingsactiviteit:{workflow.id}:{workflow.version}")


def data_subjects(workflow: Workflow, facts: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(fact id, value) of every data subject the facts name, in the workflow's fact order;
    one per distinct value."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for fid, fact in workflow.facts.items():
        if not fact.data_subject:
            continue
        value = facts.get(fid)
        if isinstance(value, str) and value and value not in seen:
            seen.add(value)
            found.append((fid, value))
    return found


def holds_personal_data(workflow: Workflow, facts: Mapping[str, Any]) -> bool:
    """Whether any fact given is personal data."""
    return any(name in workflow.facts and workflow.facts[name].personal_data
               for name in facts)


@dataclass(frozen=True, slots=True)
class Processing:
    """One processing to log: what it was, on which case, its data subjects, its outcome."""

    name: str
    workflow: Workflow
    case_id: str | None
    subjects: tuple[tuple[str, str], ...]
    start_ns: int
    end_ns: int
    #: None: it succeeded; else the code of the error that stopped it
    error: str | None = None


class ProcessingLog:
    """Writes LDV records through an OpenTelemetry tracer provider (``opentelemetry-sdk``,
    the extra ``zorgflow[ldv]``), encrypting data-subject ids with ``cipher`` (the store's:
    ``cryptography.fernet.Fernet(key)`` fits). Give it to `CaseService`
    (``processing_log=``), which logs each step that touches personal data.

    A caller's trace is continued when its W3C ``traceparent`` is in the OpenTelemetry context
    (the web layer puts it there); otherwise a new trace is started for each processing, and
    its records share it."""

    def __init__(self, tracer_provider: Any, *, cipher: Cipher) -> None:
        if cipher is None or not callable(getattr(cipher, "encrypt", None)):
            raise TypeError("the processing log writes data-subject ids encrypted: give the "
                            "store's cipher (cipher=Fernet(key)), not "
                            f"{type(cipher).__name__}")
        sampler = getattr(tracer_provider, "sampler", None)
        if sampler is not None and _samples(sampler):
            raise ValueError("the tracer provider samples spans, and the LDV standard forbids "
                             "sampling the processing log: give it a TracerProvider with "
                             "sampler=ALWAYS_ON (opentelemetry.sdk.trace.sampling)")
        self._tracer = tracer_provider.get_tracer("zorgflow.ldv", __version__)
        self._cipher = cipher

    def record(self, processing: Processing) -> int:
        """Write the records of one processing (one per data subject, or one naming none);
        how many were written."""
        from opentelemetry import context, trace
        from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

        parent = trace.get_current_span().get_span_context()
        attributes: dict[str, Any] = {
            PROCESSING_ACTIVITY: processing_activity(processing.workflow),
            "zorgflow.workflow": processing.workflow.id,
            "zorgflow.workflow_version": str(processing.workflow.version),
        }
        if processing.case_id is not None:
            attributes["zorgflow.case_id"] = processing.case_id
        if parent.is_valid and parent.is_remote:
            attributes[FOREIGN_TRACE] = format(parent.trace_id, "032x")
            attributes[FOREIGN_OPERATION] = format(parent.span_id, "016x")
        if not parent.is_valid:
            # no trace is known: start one, which the records of this processing share
            parent = SpanContext(int.from_bytes(secrets.token_bytes(16), "big") or 1,
                                 int.from_bytes(secrets.token_bytes(8), "big") or 1,
                                 is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
        ctx = trace.set_span_in_context(trace.NonRecordingSpan(parent), context.Context())
        subjects: Iterable[tuple[str, str] | None] = processing.subjects or (None,)
        written = 0
        for subject in subjects:
            own = dict(attributes)
            if subject is not None:
                own[DATA_SUBJECT] = _text(self._cipher.encrypt(subject[1].encode("utf-8")))
                own[DATA_SUBJECT_TYPE] = subject[0]
            span = self._tracer.start_span(processing.name, context=ctx,
                                           kind=trace.SpanKind.INTERNAL, attributes=own,
                                           start_time=processing.start_ns)
            if processing.error is None:
                span.set_status(Status(StatusCode.OK))
            else:
                span.set_status(Status(StatusCode.ERROR, processing.error))
            span.end(end_time=processing.end_ns)
            written += 1
        return written


def processing_operation(span: Any) -> dict[str, Any]:
    """A finished span of the processing log as the LDV ``ProcessingOperation`` message
    (``logboek.proto``), field by field: for an exporter that writes to a Logboek over the
    standard's own interface. ``span`` is an OpenTelemetry SDK ``ReadableSpan``."""
    from opentelemetry.trace import StatusCode

    context = span.get_span_context()
    attributes = dict(span.attributes or {})
    foreign = None
    if FOREIGN_TRACE in attributes:
        foreign = {"trace_id": bytes.fromhex(str(attributes.pop(FOREIGN_TRACE))),
                   "operation_id": bytes.fromhex(str(attributes.pop(FOREIGN_OPERATION))),
                   "entity": str(attributes.pop(FOREIGN_ENTITY, ""))}
    status = {StatusCode.OK: "STATUS_CODE_OK", StatusCode.ERROR: "STATUS_CODE_ERROR"}.get(
        span.status.status_code, "STATUS_CODE_UNKNOWN")
    resource = dict(span.resource.attributes) if span.resource is not None else {}
    return {
        "trace_id": context.trace_id.to_bytes(16, "big"),
        "operation_id": context.span_id.to_bytes(8, "big"),
        "parent_operation_id": (span.parent.span_id.to_bytes(8, "big")
                                if span.parent is not None else b""),
        "name": span.name,
        "start_time": span.start_time // 1_000_000,  # ms, as the standard counts
        "end_time": span.end_time // 1_000_000,
        "status_code": status,
        "foreign_operation": foreign,
        "resource": {"name": str(resource.get("service.name", "")),
                     "version": str(resource.get("service.version", ""))},
        "attributes": [{"key": k, "value": str(v)} for k, v in attributes.items()],
    }


def _text(token: bytes) -> str:
    """A cipher's token as text: Fernet's is ASCII already; any other is base64."""
    try:
        return token.decode("ascii")
    except UnicodeDecodeError:
        return base64.urlsafe_b64encode(token).decode("ascii")


def _samples(sampler: Any) -> bool:
    """Whether ``sampler`` may drop a span (anything but the SDK's ALWAYS_ON)."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    return sampler is not ALWAYS_ON
