"""The router of `zorgflow.web` (documented there): endpoints, request bodies, and the route
class that answers zorgflow's errors and bad requests as problem details. Internal: import
from `zorgflow.web`.

This module does not use ``from __future__ import annotations``: FastAPI reads the endpoints'
annotations at run time, and they name the application's ``actor`` dependency, a local of
`router`.
"""

import logging
import re
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, ClassVar
from urllib.parse import quote

from ..engine import Actor, Case, Task
from ..engine.describe import describe
from ..errors import PROBLEM_TYPE, MissingDependency, ZorgflowError, language
from ..service import CaseService

try:
    from fastapi import APIRouter, Depends, Header, Query, Request, Response
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from fastapi.routing import APIRoute
    from pydantic import BaseModel, ConfigDict, Field
except ImportError as missing:  # pragma: no cover - tested in a subprocess without FastAPI
    raise MissingDependency(
        f"zorgflow.web needs FastAPI with pydantic 2 ({missing}): "
        'pip install "zorgflow[web]"') from missing

__all__ = ["PROBLEM_JSON", "Decide", "FireEvent", "ProblemResponse", "SetFacts", "StartCase",
           "router"]

_log = logging.getLogger("zorgflow.web")

#: the media type of every error answer (RFC 9457)
PROBLEM_JSON = "application/problem+json"

#: the code of a request that does not fit (bad JSON, a wrong type, a bad argument)
INVALID_REQUEST = "invalid_request"
_INVALID_TITLE = {"en": "Invalid request", "nl": "Ongeldig verzoek"}
_INVALID_DETAIL = {"en": "the request does not fit: {errors}",
                   "nl": "het verzoek klopt niet: {errors}"}

#: a W3C trace context ``traceparent``: version-trace_id-parent_id-flags (a later version may
#: add fields after a dash)
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
#: an ETag as this router writes it (strong, the case's version), or the bare number
_ETAG = re.compile(r'"([1-9][0-9]{0,17})"|([1-9][0-9]{0,17})')

#: the most cases or history entries one page holds
MAX_PAGE = 1000
_PAGE = 100


class ProblemResponse(JSONResponse):
    """A JSON answer of media type ``application/problem+json`` (RFC 9457)."""

    media_type = PROBLEM_JSON


# -- request bodies ------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartCase(_Body):
    """The body of ``POST /cases``."""

    workflow: str = Field(description="the id of the workflow to start", examples=["lzn"])
    facts: dict[str, Any] | None = Field(
        None, description="facts to start with (fact id → value as JSON; dates as YYYY-MM-DD)",
        examples=[{"naam": "J. Jansen"}])
    case_id: str | None = Field(
        None, description="the new case's id (default: a new one; with an Idempotency-Key, "
                          "one derived from the key)")
    version: int | None = Field(None, ge=1,
                                description="the workflow version (default: the latest)")


class FireEvent(_Body):
    """The body of ``POST /cases/{case_id}/events/{event}`` (optional)."""

    data: dict[str, Any] | None = Field(
        None, description="the event's data (field → value as JSON)",
        examples=[{"reden": "geen zorgen rond de inwoner"}])


class SetFacts(_Body):
    """The body of ``POST /cases/{case_id}/facts``."""

    facts: dict[str, Any] = Field(
        description="facts to set (fact id → value as JSON; null forgets the fact)",
        examples=[{"bsn": "123456782"}])


class Decide(_Body):
    """The body of ``POST /workflows/{workflow}/decisions/{rule_set}`` (optional)."""

    facts: dict[str, Any] | None = Field(
        None, description="the facts to decide on (fact id → value as JSON); those left out "
                          "are unknown", examples=[{"zorg_ketenpartner_adequaat": True}])
    version: int | None = Field(None, ge=1,
                                description="the workflow version (default: the latest)")


# -- problem details -----------------------------------------------------------------------------

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; `code` is stable (see zorgflow.errors)",
    "properties": {
        "type": {"type": "string", "examples": ["urn:zorgflow:problem:not_found"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "examples": ["not_found"]},
    },
    "required": ["type", "title", "status", "detail", "code"],
    "additionalProperties": True,
}


def _problem_doc(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}}}


_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: _problem_doc("`forbidden`, `separation_of_duties`: the actor may not do this"),
    404: _problem_doc("`not_found` (no such case), `unknown_workflow`"),
    409: _problem_doc("`conflict` (If-Match names an older version), `wrong_state`, "
                      "`task_done`, `agreement_conflict`, `case_exists`"),
    422: _problem_doc("`invalid_request` (the request does not fit), `unknown_event`, "
                      "`invalid_data`, `guard_false`, `guard_unknown`, `idempotency_mismatch`, "
                      "…"),
    503: _problem_doc("`store_unavailable`: try again"),
}


class _BadRequest(Exception):
    """A request that does not fit; answered as 422 ``invalid_request``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["detail"] for e in errors))
        self.errors = errors


def _invalid(errors: list[dict[str, str]], lang: str | None) -> ProblemResponse:
    said = language(lang)
    detail = "; ".join(f"{e['location']}: {e['detail']}" if e["location"] else e["detail"]
                       for e in errors)
    return ProblemResponse({
        "type": PROBLEM_TYPE + INVALID_REQUEST,
        "title": _INVALID_TITLE[said],
        "status": 422,
        "detail": _INVALID_DETAIL[said].format(errors=detail),
        "code": INVALID_REQUEST,
        "errors": errors,
    }, status_code=422)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Where and what each mistake is; never the value sent (it may be personal data)."""
    result: list[dict[str, str]] = []
    for error in exc.errors():
        where = tuple(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            why = (error.get("ctx") or {}).get("error")
            at = f" at character {where[1]}" if len(where) > 1 else ""
            location = "body"
            detail = f"not valid JSON{at}" + (f" ({why})" if why else "")
        else:
            location = ".".join(str(part) for part in where)
            detail = str(error.get("msg", "not valid"))
        mistake = {"location": location, "detail": detail}
        if mistake not in result:  # a dependency of the router and a route: reported twice
            result.append(mistake)
    return result or [{"location": "", "detail": "not valid"}]


def _failed(exc: ZorgflowError, lang: str | None) -> ProblemResponse:
    status = exc.http_status
    if status >= 500:
        _log.error("zorgflow.web: %s (%s)", exc.code, type(exc).__name__, exc_info=exc)
    headers = {"Retry-After": "1"} if status == 503 else None
    return ProblemResponse(exc.to_problem(lang), status_code=status, headers=headers)


def _language(fixed: str | None, request: Request) -> str | None:
    """The router's ``lang``; else Dutch for an ``Accept-Language`` starting with ``nl``,
    English for another; None (as raised) without the header."""
    if fixed is not None:
        return fixed
    accept = request.headers.get("accept-language")
    if accept is None or not accept.strip():
        return None
    return "nl" if accept.strip().lower().startswith("nl") else "en"


def _traceparent(request: Request) -> str | None:
    """A valid ``traceparent`` header (kept on ``request.state``), or None."""
    value = request.headers.get("traceparent", "").strip()  # lower-case hex only
    match = _TRACEPARENT.fullmatch(value)
    valid = (match is not None and match[1] != "ff" and not (match[1] == "00" and match[5])
             and match[2] != "0" * 32 and match[3] != "0" * 16)
    trace = value if valid else None
    request.state.traceparent = trace
    request.state.tracestate = request.headers.get("tracestate") if valid else None
    return trace


def _continue_trace(request: Request) -> object | None:
    """The caller's trace (``traceparent``) as the current OpenTelemetry context, so that the
    processing log continues it; None (nothing done) without OpenTelemetry."""
    try:
        from opentelemetry import context
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    except ImportError:
        return None
    carrier = {"traceparent": request.state.traceparent}
    if request.state.tracestate:
        carrier["tracestate"] = request.state.tracestate
    return context.attach(TraceContextTextMapPropagator().extract(carrier))


def _end_trace(token: object) -> None:
    from opentelemetry import context

    context.detach(token)  # type: ignore[arg-type]


class _Route(APIRoute):
    """A route that answers zorgflow's errors and bad requests as problem details itself, so
    the router behaves the same in any application, and echoes ``traceparent``."""

    #: the language of the answers (None: from the request's Accept-Language)
    lang: ClassVar[str | None] = None

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler of this route, wrapped."""
        handler = super().get_route_handler()
        fixed = self.lang

        async def handle(request: Request) -> Response:
            trace = _traceparent(request)
            token = _continue_trace(request) if trace is not None else None
            response: Response
            try:
                response = await handler(request)
            except RequestValidationError as exc:
                response = _invalid(_validation_errors(exc), _language(fixed, request))
            except _BadRequest as exc:
                response = _invalid(exc.errors, _language(fixed, request))
            except ZorgflowError as exc:
                response = _failed(exc, _language(fixed, request))
            finally:
                if token is not None:
                    _end_trace(token)
            if trace is not None:
                response.headers["traceparent"] = trace
            return response

        return handle


@contextmanager
def _arguments() -> Iterator[None]:
    """A `TypeError` or `ValueError` zorgflow raises about an argument (a bad idempotency
    key, an id that is not one) is the request's fault: 422 ``invalid_request``."""
    try:
        yield
    except ZorgflowError:
        raise
    except (TypeError, ValueError) as exc:
        _log.debug("zorgflow.web: invalid request", exc_info=exc)
        raise _BadRequest([{"location": "", "detail": str(exc)}]) from exc


def _expected_version(if_match: str | None) -> int | None:
    """``If-Match: "<version>"`` → the version; ``*`` or no header: None."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.fullmatch(if_match.strip())
    if match is None:
        raise _BadRequest([{"location": "header.if-match",
                            "detail": 'If-Match must be the ETag the case was read with, '
                                      'e.g. "3" (or *)'}])
    return int(match[1] or match[2])


def _etag(version: Any) -> str:
    return f'"{version}"'


def _task(task: Task) -> dict[str, Any]:
    return {"id": task.id, "label": task.label, "role": task.role,
            "opened_at": task.opened_at.isoformat(),
            "due_at": None if task.due_at is None else task.due_at.isoformat(),
            "done": task.done,
            "done_at": None if task.done_at is None else task.done_at.isoformat(),
            "done_by": task.done_by}


_IF_MATCH = ('the ETag of the case the request is based on ("3"); if the case has another '
             "version now, the answer is 409 conflict and nothing is written")
_IDEMPOTENCY_KEY = ("a key made up per request (1–200 characters): the same request with the "
                    "same key again does nothing and answers the case")


# -- the router ----------------------------------------------------------------------------------


def router(service: CaseService, actor: Callable[..., Any], *,
           lang: str | None = None) -> APIRouter:
    """A FastAPI router with the endpoints of `zorgflow.web` on ``service``.

    ``actor`` is a FastAPI dependency (a function FastAPI calls per request, with whatever
    parameters it declares) that returns the `zorgflow.Actor` of the request, or raises
    ``HTTPException`` (401) when there is none; every endpoint depends on it. ``lang``
    (``"en"``, ``"nl"``) fixes the language of problem details; without it, the request's
    ``Accept-Language`` chooses. Mount it with ``app.include_router(router(svc,
    current_actor), prefix="/zorg")``; the router answers its own errors (see
    `zorgflow.web`), so the application needs no exception handlers for it.
    """
    if not isinstance(service, CaseService):
        raise TypeError(f"service must be a zorgflow CaseService, not {type(service).__name__}")
    if not callable(actor):
        raise TypeError("actor must be a FastAPI dependency (a callable returning a "
                        f"zorgflow.Actor), not {type(actor).__name__}")
    fixed = None if lang is None else language(lang)
    engine = service.engine

    class Route(_Route):
        lang = fixed

    def current(who: Annotated[Any, Depends(actor)]) -> Actor:
        if not isinstance(who, Actor):  # the application's mistake: a 500, not the client's
            raise TypeError("the actor dependency must return a zorgflow.Actor, not "
                            f"{type(who).__name__}")
        return who

    api = APIRouter(route_class=Route, responses=_RESPONSES, dependencies=[Depends(current)])

    # -- cases -----------------------------------------------------------------------------
    @api.post("/cases", status_code=201, summary="Start a case")
    def start_case(
            body: StartCase, request: Request, response: Response,
            who: Annotated[Actor, Depends(current)],
            idempotency_key: Annotated[str | None, Header(description=_IDEMPOTENCY_KEY)] = None,
    ) -> dict[str, Any]:
        """Open a case of ``workflow`` as the actor and store it; the case view."""
        with _arguments():
            case = service.start(body.workflow, actor=who, facts=body.facts or None,
                                 case_id=body.case_id, version=body.version,
                                 idempotency_key=idempotency_key)
            view = service.view(case, who)
        base = str(request.url.replace(query="", fragment="")).rstrip("/")
        response.headers["Location"] = f"{base}/{quote(case.id, safe='')}"
        response.headers["ETag"] = _etag(case.version)
        return view

    @api.get("/cases", summary="List cases")
    def find_cases(
            who: Annotated[Actor, Depends(current)],
            workflow: Annotated[str | None, Query(description="only this workflow")] = None,
            state: Annotated[str | None, Query(description="only cases in this state")] = None,
            role_holder: Annotated[str | None, Query(
                description="only cases where this actor id holds a case role")] = None,
            limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = _PAGE,
            after: Annotated[str | None, Query(
                description="the last id of the previous page")] = None,
    ) -> dict[str, Any]:
        """A page of cases, ordered by id, without facts; ``next_after`` is the ``after`` of
        the next page (null on the last one)."""
        with _arguments():
            cases = service.find(who, workflow_id=workflow, state=state,
                                 role_holder=role_holder, limit=limit, after=after)
        return {"cases": cases,
                "next_after": cases[-1]["id"] if cases and len(cases) == limit else None}

    @api.get("/cases/{case_id}", summary="View a case")
    def view_case(
            case_id: str, response: Response, who: Annotated[Actor, Depends(current)],
            history: Annotated[bool, Query(description="include the history")] = False,
    ) -> dict[str, Any]:
        """The case as the actor may see it; ``ETag`` is its version."""
        with _arguments():
            view = service.view(case_id, who, history=history)
        response.headers["ETag"] = _etag(view["version"])
        return view

    def command(response: Response, who: Actor, if_match: str | None,
                run: Callable[[int | None], Case]) -> dict[str, Any]:
        """A command on a case: the expected version from ``If-Match``, the new case's view
        as the answer, its version as the ``ETag``."""
        expected = _expected_version(if_match)
        with _arguments():
            case = run(expected)
            view = service.view(case, who)
        response.headers["ETag"] = _etag(case.version)
        return view

    @api.post("/cases/{case_id}/events/{event}", summary="Fire an event")
    def fire(
            case_id: str, event: str, response: Response,
            who: Annotated[Actor, Depends(current)],
            body: FireEvent | None = None,
            if_match: Annotated[str | None, Header(description=_IF_MATCH)] = None,
            idempotency_key: Annotated[str | None, Header(description=_IDEMPOTENCY_KEY)] = None,
    ) -> dict[str, Any]:
        """Fire ``event`` on the case as the actor; the new case view."""
        data = (body.data or None) if body is not None else None
        return command(response, who, if_match, lambda expected: service.fire(
            case_id, event, actor=who, data=data, expected_version=expected,
            idempotency_key=idempotency_key))

    @api.post("/cases/{case_id}/facts", summary="Set facts")
    def set_facts(
            case_id: str, body: SetFacts, response: Response,
            who: Annotated[Actor, Depends(current)],
            if_match: Annotated[str | None, Header(description=_IF_MATCH)] = None,
            idempotency_key: Annotated[str | None, Header(description=_IDEMPOTENCY_KEY)] = None,
    ) -> dict[str, Any]:
        """Set (null: forget) facts of the case as the actor; the new case view."""
        return command(response, who, if_match, lambda expected: service.set_facts(
            case_id, body.facts, actor=who, expected_version=expected,
            idempotency_key=idempotency_key))

    @api.get("/cases/{case_id}/tasks", summary="The case's tasks")
    def tasks(case_id: str) -> dict[str, Any]:
        """The case's tasks, open and done."""
        with _arguments():
            found = service.tasks(case_id)
        return {"tasks": [_task(t) for t in found]}

    @api.post("/cases/{case_id}/tasks/{task}/complete", summary="Complete a task")
    def complete(
            case_id: str, task: str, response: Response,
            who: Annotated[Actor, Depends(current)],
            if_match: Annotated[str | None, Header(description=_IF_MATCH)] = None,
            idempotency_key: Annotated[str | None, Header(description=_IDEMPOTENCY_KEY)] = None,
    ) -> dict[str, Any]:
        """Mark an open task of the case done, as the actor; the new case view."""
        return command(response, who, if_match, lambda expected: service.complete(
            case_id, task, actor=who, expected_version=expected,
            idempotency_key=idempotency_key))

    @api.get("/cases/{case_id}/allowed", summary="Events the actor may fire")
    def allowed(case_id: str, who: Annotated[Actor, Depends(current)]) -> dict[str, Any]:
        """The events the actor may fire on the case now."""
        with _arguments():
            events = service.allowed(case_id, who)
        return {"allowed": events}

    @api.get("/cases/{case_id}/history", summary="The case's history")
    def history(
            case_id: str, who: Annotated[Actor, Depends(current)],
            after: Annotated[int, Query(ge=0, description="the last seq of the previous "
                                                          "page")] = 0,
            limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = _PAGE,
    ) -> dict[str, Any]:
        """A page of the case's history as the actor may see it; ``next_after`` is the
        ``after`` of the next page (null on the last one)."""
        with _arguments():
            entries = service.history(case_id, who, after=after, limit=limit)
        return {"case_id": case_id, "entries": entries,
                "next_after": entries[-1]["seq"] if entries and len(entries) == limit
                else None}

    # -- workflows -------------------------------------------------------------------------
    @api.get("/workflows", summary="The loaded workflows")
    def workflows() -> dict[str, Any]:
        """The latest version of each loaded workflow."""
        return {"workflows": [{"id": wf.id, "version": wf.version, "label": wf.label}
                              for wf in engine.workflows]}

    @api.get("/workflows/{workflow}", summary="Describe a workflow")
    def describe_workflow(
            workflow: str,
            version: Annotated[int | None, Query(ge=1, description="default: the latest")
                               ] = None,
    ) -> dict[str, Any]:
        """The workflow for front ends that build forms: states, events with their data as
        JSON Schema, who may fire them, the facts each role may set."""
        with _arguments():
            return describe(engine.workflow(workflow, version))

    @api.post("/workflows/{workflow}/decisions/{rule_set}", summary="Evaluate a rule set")
    def decide(workflow: str, rule_set: str, who: Annotated[Actor, Depends(current)],
               body: Decide | None = None) -> dict[str, Any]:
        """Evaluate ``rule_set`` on the given facts (none stored, nothing changes): outcome,
        matched, holds and the explanation."""
        with _arguments():
            decision = service.decide(workflow, rule_set, body.facts if body else None,
                                      actor=who, version=body.version if body else None)
            return decision.to_dict()

    return api
