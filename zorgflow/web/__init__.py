"""An optional HTTP API for a `zorgflow.service.CaseService`: a FastAPI router to mount in an
application (``pip install "zorgflow[web]"``; without FastAPI, importing this module raises
`zorgflow.errors.MissingDependency` saying so; ``import zorgflow`` never imports it)::

    from fastapi import FastAPI, Header
    import zorgflow
    from zorgflow.service import CaseService
    from zorgflow.web import router

    def current_actor(x_actor: str = Header()) -> zorgflow.Actor:   # your authentication
        return zorgflow.Actor(x_actor, roles=roles_of(x_actor))

    app = FastAPI()
    app.include_router(router(CaseService(engine, store), current_actor), prefix="/zorg")

``actor`` is a FastAPI dependency of the application: it reads the request (a token, a
session) and returns the `zorgflow.Actor` acting, or raises ``HTTPException(401)``. Every
endpoint depends on it. The router does not decide who may *read* a case: any actor the
dependency accepts may list and view cases (personal data masked for roles the workflow's
``visible_to:`` does not name); the engine decides who may *change* one.

Endpoints (paths relative to the prefix; bodies and answers are JSON)
-------------------------------------------------------------------
- ``POST /cases`` — start a case: ``{"workflow", "facts"?, "case_id"?, "version"?}`` → 201,
  the case view, ``Location`` of the new case
- ``GET /cases?workflow=&state=&role_holder=&limit=&after=`` — a page of cases (no facts),
  ordered by id → ``{"cases", "next_after"}`` (``after`` of the next page; null at the end)
- ``GET /cases/{case_id}`` — the case view (``?history=true`` adds the history)
- ``POST /cases/{case_id}/events/{event}`` — fire an event: ``{"data"?}`` → the case view
- ``POST /cases/{case_id}/facts`` — set facts (null forgets one): ``{"facts"}`` → the view
- ``GET /cases/{case_id}/tasks`` — the case's tasks, open and done → ``{"tasks"}``
- ``POST /cases/{case_id}/tasks/{task}/complete`` — complete an open task → the case view
- ``GET /cases/{case_id}/allowed`` — the events the actor may fire now → ``{"allowed"}``
- ``GET /cases/{case_id}/history?after=&limit=`` — a page of the history →
  ``{"case_id", "entries", "next_after"}``
- ``GET /workflows`` — the loaded workflows (latest versions) → ``{"workflows"}``
- ``GET /workflows/{workflow}?version=`` — the workflow for front ends that build forms
  (``zorgflow.engine.describe``: states, events with their data as JSON Schema, roles, facts)
- ``POST /workflows/{workflow}/decisions/{rule_set}`` — evaluate a rule set on given facts
  (nothing is stored): ``{"facts"?, "version"?}`` → ``Decision.to_dict()``

Pages hold at most 1000 items (default 100).

A case view is `CaseService.view` (`zorgflow.service.case_view`): personal data only for the
roles that may see it. Every answer that holds a case view has ``ETag: "<version>"``.

Headers. ``If-Match: "<version>"`` (the ``ETag`` the case was read with) on the three
commands on a case sends ``expected_version``: if the case changed since, the answer is 409
``conflict`` and nothing is written (``*`` or no header: no check). ``Idempotency-Key`` on
``POST /cases`` and the commands on a case sends ``idempotency_key``: the same key with the
same request again does nothing and answers the case (a start with a key and no ``case_id``
derives the case id from the key, so it opens one case); the same key with another request is
422 ``idempotency_mismatch``. A valid W3C ``traceparent`` header is kept on
``request.state.traceparent`` (None without one) and sent back on the answer.

Errors
------
Every error the router answers is ``application/problem+json`` (RFC 9457) and never a 500 for
bad input:

- a `zorgflow.errors.ZorgflowError` → its ``http_status`` and ``to_problem(lang)``
  (``code``: ``not_found``, ``forbidden``, ``conflict``, ``unknown_event``, …; see
  `zorgflow.errors`); a 503 (``store_unavailable``) adds ``Retry-After: 1``;
- a request that does not fit (not JSON, a missing or unknown member, a value of the wrong
  type, a bad ``If-Match``), and a `TypeError` or `ValueError` zorgflow raises about an
  argument → 422 with ``code`` ``invalid_request`` (and ``errors``: location and detail of
  each mistake, never the value sent).

The language is ``lang=`` of `router` if given; else Dutch when the request's
``Accept-Language`` starts with ``nl``, English when it names something else, and the
language the error was raised in (``ZORGFLOW_LANG``) without the header.

The router handles these errors itself (its routes catch them), so it answers the same in any
application, whatever exception handlers that application installs; nothing needs to be
registered on the app. Errors outside its routes — an unknown path, a method not allowed, an
``HTTPException`` the application's ``actor`` dependency raises — are the application's.
"""

from ._routes import PROBLEM_JSON, ProblemResponse, router

__all__ = ["PROBLEM_JSON", "ProblemResponse", "router"]
