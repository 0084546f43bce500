"""A small web application around zorgflow: the case API of `zorgflow.web` over the shipped
workflows, with cases kept in SQLite (or PostgreSQL). Start it from anywhere with::

    pip install -e ".[web]"
    python examples/service/app.py              # then open http://127.0.0.1:8000/docs

(or ``uvicorn examples.service.app:app`` from the repository root). Settings, from the
environment:

``ZORGFLOW_STORE``
    the SQLite file of the cases (default ``zorgflow-example.db`` in the current folder), or
    a PostgreSQL DSN starting with ``postgresql://`` (needs ``pip install "zorgflow[postgres]"``)
``ZORGFLOW_STORE_SCHEMA``
    with a PostgreSQL DSN: the schema of the store (default ``zorgflow``)
``ZORGFLOW_WORKFLOWS``
    the folder of workflow files (default: ``workflows/`` of this repository)

DEMO ONLY — NOT AUTHENTICATION. Who acts is whatever the request's headers say: ``X-Actor``
(an id) and ``X-Roles`` (roles, comma-separated). Anyone can claim any role. A real
application replaces `current_actor` with its own dependency that checks a token or a
session and looks the roles up.
"""

import argparse
import os
from pathlib import Path
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import RedirectResponse

import zorgflow
from zorgflow.service import CaseService
from zorgflow.store import Store, open_store
from zorgflow.web import router

#: the repository's own workflows, wherever the application is started from
DEFAULT_WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
DEFAULT_STORE = "zorgflow-example.db"


def current_actor(
        x_actor: Annotated[str | None, Header(
            description="DEMO stand-in for authentication: your actor id")] = None,
        x_roles: Annotated[str, Header(
            description="DEMO stand-in for authentication: your roles, comma-separated")] = "",
) -> zorgflow.Actor:
    """The actor of the request, as its headers claim it. A DEMO stand-in for real
    authentication: it believes every header."""
    if x_actor is None or not x_actor.strip():
        raise HTTPException(
            status_code=401,
            detail="say who you are with the headers X-Actor and X-Roles (this demo trusts "
                   "them instead of real authentication)",
            headers={"WWW-Authenticate": 'X-Actor realm="zorgflow example"'})
    roles = {role.strip() for role in x_roles.split(",") if role.strip()}
    return zorgflow.Actor(x_actor.strip(), roles=roles)


def store_of(engine: zorgflow.Engine) -> Store:
    """The store ``ZORGFLOW_STORE`` names: a PostgreSQL DSN or a SQLite file."""
    where = os.environ.get("ZORGFLOW_STORE", "").strip() or DEFAULT_STORE
    schema = os.environ.get("ZORGFLOW_STORE_SCHEMA", "").strip()
    return open_store(where, engine, **({"schema": schema} if schema else {}))


def create_app() -> FastAPI:
    """The application: the zorgflow router under ``/zorg``, the API docs under ``/docs``."""
    engine = zorgflow.Engine.from_directory(
        os.environ.get("ZORGFLOW_WORKFLOWS", "").strip() or DEFAULT_WORKFLOWS)
    service = CaseService(engine, store_of(engine))
    app = FastAPI(title="zorgflow example", version=zorgflow.__version__,
                  description="The case API of zorgflow.web. DEMO: X-Actor and X-Roles "
                              "stand in for real authentication.")
    app.include_router(router(service, current_actor), prefix="/zorg")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app


app = create_app()


def main(argv: list[str] | None = None) -> None:
    """Serve `app` with uvicorn (``--host``, ``--port``; default 127.0.0.1:8000)."""
    parser = argparse.ArgumentParser(description="The zorgflow example web application.")
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    args = parser.parse_args(argv)
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
