"""`zorgflow.web`: the case API over HTTP. Most tests talk to a real uvicorn process running
the example application (``examples/service/app.py``) on a free port of 127.0.0.1, with a
SQLite file in a temporary folder and a copy of ``workflows/lzn.yaml`` whose ``visible_to:``
names ``lzn_coordinator``; a few quick ones use FastAPI's in-process test client.

Without FastAPI, uvicorn or httpx (``pip install "zorgflow[web]"``) the tests that need them
skip, saying so; under ``CI=true`` they fail instead."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import in_ci

import zorgflow
from zorgflow.errors import StoreUnavailable

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "service" / "app.py"

SCP = {"X-Actor": "s.de.vries", "X-Roles": "sociaal_contactpunt"}
COORD = {"X-Actor": "a.jansen", "X-Roles": "lzn_coordinator"}
PARTNER = {"X-Actor": "k.bakker", "X-Roles": "ketenpartner"}
PROBLEM = "application/problem+json"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

try:
    import anyio
    import fastapi
    import httpx
    import uvicorn  # noqa: F401  (the server process needs it)
except ImportError as missing:  # pragma: no cover - depends on the installation
    WEB_MISSING: str | None = (f"{missing.name} is not installed: the web tests need "
                               'pip install "zorgflow[web]"')
else:
    WEB_MISSING = None


@pytest.fixture(scope="module")
def web() -> None:
    """Skip (fail under CI=true) when the web extra is not installed."""
    if WEB_MISSING is not None:
        if in_ci():
            pytest.fail(f"{WEB_MISSING}; CI=true, so these tests must run")
        pytest.skip(WEB_MISSING)


def with_visible_to(text: str, roles: str = "[lzn_coordinator]") -> str:
    """A workflow's text with a top-level ``visible_to:`` naming ``roles`` (replacing one the
    file may have)."""
    kept: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = line.startswith("visible_to:")
        if not skipping:
            kept.append(line)
    text, count = re.subn(r"^start_by:.*$", lambda m: f"{m[0]}\nvisible_to: {roles}",
                          "".join(kept), count=1, flags=re.M)
    assert count == 1, "lzn.yaml has no top-level start_by: to put visible_to: after"
    return text


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with lzn.yaml whose personal data only the LZN coordinator may see."""
    folder = tmp_path_factory.mktemp("workflows")
    text = with_visible_to((ROOT / "workflows" / "lzn.yaml").read_text("utf-8"))
    (folder / "lzn.yaml").write_text(text, "utf-8")
    loaded = zorgflow.load_workflow(folder / "lzn.yaml")
    assert loaded.visible_to == {"lzn_coordinator"}
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(web: None, workflows: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    """The example application in its own uvicorn process; its address."""
    folder = tmp_path_factory.mktemp("server")
    log_path = folder / "server.log"
    port = free_port()
    env = {**os.environ, "ZORGFLOW_STORE": str(folder / "cases.db"),
           "ZORGFLOW_WORKFLOWS": str(workflows)}
    env.pop("ZORGFLOW_LANG", None)
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, str(EXAMPLE), "--port", str(port)],
                                   cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 25
        while True:
            if process.poll() is not None:
                pytest.fail("the example application stopped (exit "
                            f"{process.returncode}):\n{log_path.read_text('utf-8', 'replace')}")
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the example application did not answer within 25 s:\n"
                            + log_path.read_text("utf-8", "replace"))
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()
    assert (folder / "cases.db").exists()


@pytest.fixture
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server}/zorg", timeout=10) as client:
        yield client


def start(http: httpx.Client, facts: dict[str, Any] | None = None, **headers: str
          ) -> dict[str, Any]:
    body: dict[str, Any] = {"workflow": "lzn"}
    if facts is not None:
        body["facts"] = facts
    answer = http.post("/cases", json=body, headers={**SCP, **headers})
    assert answer.status_code == 201, answer.text
    view: dict[str, Any] = answer.json()
    return view


def problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The problem details of ``answer``, checked to be ``status`` with ``code``."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["type"] == f"urn:zorgflow:problem:{code}"
    assert body["title"] and body["detail"]
    return body


# -- over HTTP, against the example application ---------------------------------------------


def test_a_case_goes_through_its_steps_over_http(http: httpx.Client) -> None:
    answer = http.post("/cases", json={"workflow": "lzn"}, headers=SCP)
    assert answer.status_code == 201
    case = answer.json()
    case_id = case["id"]
    assert answer.headers["etag"] == '"1"'
    assert answer.headers["location"].endswith(f"/zorg/cases/{case_id}")
    assert http.get(answer.headers["location"].split("/zorg")[1], headers=SCP
                    ).json()["id"] == case_id

    allowed = http.get(f"/cases/{case_id}/allowed", headers=COORD)
    assert allowed.status_code == 200
    assert "passend_bevonden" in allowed.json()["allowed"]
    assert http.get(f"/cases/{case_id}/allowed", headers=SCP).json() == {"allowed": []}

    fired = http.post(f"/cases/{case_id}/events/passend_bevonden", headers={
        **COORD, "If-Match": '"1"'})
    assert fired.status_code == 200, fired.text
    assert fired.json()["state"] == "ketenpartners_raadplegen"
    assert fired.headers["etag"] == '"2"'
    fired = http.post(f"/cases/{case_id}/events/geen_actief_dossier", json={"data": {}},
                      headers=COORD)
    assert fired.json()["state"] == "geagendeerd" and fired.json()["version"] == 3

    tasks = http.get(f"/cases/{case_id}/tasks", headers=COORD).json()["tasks"]
    assert {t["id"]: t["done"] for t in tasks} == {"uitnodigen": False,
                                                   "informatie_opvragen": False}
    assert all(t["role"] == "lzn_coordinator" and t["due_at"] for t in tasks)
    done = http.post(f"/cases/{case_id}/tasks/uitnodigen/complete",
                     headers={**COORD, "If-Match": '"3"'})
    assert done.status_code == 200, done.text
    assert {t["id"]: t["done"] for t in done.json()["tasks"]}["uitnodigen"] is True
    assert done.headers["etag"] == '"4"'
    problem(http.post(f"/cases/{case_id}/tasks/uitnodigen/complete", headers=COORD),
            409, "task_done")

    facts = http.post(f"/cases/{case_id}/facts", json={"facts": {"multiproblematiek": True}},
                      headers={**COORD, "If-Match": '"4"'})
    assert facts.status_code == 200, facts.text
    assert facts.json()["facts"]["multiproblematiek"] is True
    viewed = http.get(f"/cases/{case_id}", headers=COORD)
    assert viewed.headers["etag"] == '"5"' and viewed.json()["version"] == 5
    forgotten = http.post(f"/cases/{case_id}/facts",
                          json={"facts": {"multiproblematiek": None}}, headers=COORD)
    assert "multiproblematiek" not in forgotten.json()["facts"]

    page = http.get(f"/cases/{case_id}/history", params={"limit": 4}, headers=COORD).json()
    assert [e["seq"] for e in page["entries"]] == [1, 2, 3, 4] and page["next_after"] == 4
    assert [e["kind"] for e in page["entries"]] == ["start", "fire", "fire", "complete"]
    rest = http.get(f"/cases/{case_id}/history", params={"after": 4}, headers=COORD).json()
    assert [e["seq"] for e in rest["entries"]] == [5, 6] and rest["next_after"] is None
    assert rest["entries"][0]["data"] == {"multiproblematiek": True}
    with_history = http.get(f"/cases/{case_id}", params={"history": "true"},
                            headers=COORD).json()
    assert len(with_history["history"]) == 6

    found = http.get("/cases", params={"workflow": "lzn", "state": "geagendeerd",
                                       "limit": 1000}, headers=PARTNER).json()
    assert case_id in [c["id"] for c in found["cases"]]
    assert found["next_after"] is None


def test_paging_through_cases(http: httpx.Client) -> None:
    ids = {start(http)["id"] for _ in range(3)}
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, "workflow": "lzn"}
        if after is not None:
            params["after"] = after
        page = http.get("/cases", params=params, headers=COORD).json()
        seen += [c["id"] for c in page["cases"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == sorted(seen) and ids <= set(seen) and len(seen) == len(set(seen))


def test_a_stale_if_match_is_a_409_conflict_and_writes_nothing(http: httpx.Client) -> None:
    case_id = start(http)["id"]
    assert http.post(f"/cases/{case_id}/events/passend_bevonden",
                     headers={**COORD, "If-Match": '"1"'}).status_code == 200
    stale = http.post(f"/cases/{case_id}/facts", json={"facts": {"multiproblematiek": True}},
                      headers={**COORD, "If-Match": '"1"'})
    body = problem(stale, 409, "conflict")
    assert body["expected_version"] == 1 and body["actual_version"] == 2
    assert body["case_id"] == case_id
    assert http.get(f"/cases/{case_id}", headers=COORD).json()["version"] == 2
    # '*' asks for no check; a tag that is not a version is the request's fault
    assert http.post(f"/cases/{case_id}/facts", json={"facts": {"multiproblematiek": True}},
                     headers={**COORD, "If-Match": "*"}).status_code == 200
    bad = problem(http.post(f"/cases/{case_id}/events/geen_actief_dossier",
                            headers={**COORD, "If-Match": '"abc"'}), 422, "invalid_request")
    assert bad["errors"][0]["location"] == "header.if-match"


def test_idempotency_keys_over_http(http: httpx.Client) -> None:
    first = http.post("/cases", json={"workflow": "lzn"},
                      headers={**SCP, "Idempotency-Key": "start-7f3a"})
    again = http.post("/cases", json={"workflow": "lzn"},
                      headers={**SCP, "Idempotency-Key": "start-7f3a"})
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    case_id = first.json()["id"]

    headers = {**COORD, "Idempotency-Key": "fire-91c2"}
    one = http.post(f"/cases/{case_id}/events/passend_bevonden", headers=headers)
    two = http.post(f"/cases/{case_id}/events/passend_bevonden", headers=headers)
    assert one.status_code == two.status_code == 200
    assert one.content == two.content and one.headers["etag"] == two.headers["etag"] == '"2"'
    entries = http.get(f"/cases/{case_id}/history", headers=COORD).json()["entries"]
    assert [e["event"] for e in entries] == ["start", "passend_bevonden"]

    facts = {**COORD, "Idempotency-Key": "facts-0b1d"}
    assert http.post(f"/cases/{case_id}/facts", json={"facts": {"multiproblematiek": True}},
                     headers=facts).status_code == 200
    other = http.post(f"/cases/{case_id}/facts", json={"facts": {"multiproblematiek": False}},
                      headers=facts)
    assert problem(other, 422, "idempotency_mismatch")["case_id"] == case_id
    reused = http.post(f"/cases/{case_id}/events/geen_actief_dossier", headers=headers)
    problem(reused, 422, "idempotency_mismatch")
    assert http.get(f"/cases/{case_id}", headers=COORD).json()["version"] == 3


def test_errors_are_problem_details_with_stable_codes(http: httpx.Client) -> None:
    case_id = start(http)["id"]
    unknown = problem(http.post(f"/cases/{case_id}/events/passend", headers=COORD),
                      422, "unknown_event")
    assert unknown["event"] == "passend" and unknown["reasons"][0]["code"] == "unknown_event"
    problem(http.post(f"/cases/{case_id}/events/passend_bevonden", headers=SCP),
            403, "forbidden")
    problem(http.post(f"/cases/{case_id}/events/geen_actief_dossier", headers=COORD),
            409, "wrong_state")
    problem(http.get("/cases/no-such-case", headers=COORD), 404, "not_found")
    problem(http.post("/cases/no-such-case/events/passend_bevonden", headers=COORD),
            404, "not_found")
    problem(http.get("/cases/no-such-case/history", headers=COORD), 404, "not_found")
    problem(http.post("/cases", json={"workflow": "lzm"}, headers=SCP), 404,
            "unknown_workflow")
    problem(http.post(f"/cases/{case_id}/facts", json={"facts": {"multiproblematiek": "ja"}},
                      headers=COORD), 422, "invalid_data")

    dutch = problem(http.post(f"/cases/{case_id}/events/passend",
                              headers={**COORD, "Accept-Language": "nl-NL,nl;q=0.9"}),
                    422, "unknown_event")
    assert "onbekende gebeurtenis 'passend'" in dutch["detail"]
    assert dutch["title"] != unknown["title"]
    assert "unknown event 'passend'" in unknown["detail"]
    english = problem(http.post(f"/cases/{case_id}/events/passend",
                                headers={**COORD, "Accept-Language": "en-GB"}),
                      422, "unknown_event")
    assert english["detail"] == unknown["detail"]


def test_bad_requests_are_422_problems_never_500(http: httpx.Client) -> None:
    case_id = start(http)["id"]
    url = f"/cases/{case_id}/facts"
    json_headers = {**COORD, "Content-Type": "application/json"}
    for body in (b"{not json", b"[1, 2]", b'{"facts": [1]}', b'{"facts": {}, "extra": 1}',
                 b"{}", b'"facts"', b"\xff\xfe", b""):
        problem(http.post(url, content=body, headers=json_headers), 422, "invalid_request")
    problem(http.post(url, content=b'{"facts": {}}', headers={**COORD,
                                                            "Content-Type": "text/plain"}),
            422, "invalid_request")
    broken = problem(http.post(url, content=b"{not json", headers=json_headers),
                     422, "invalid_request")
    assert broken["errors"][0]["location"] == "body" and "JSON" in broken["detail"]
    typed = problem(http.post("/cases", json={"workflow": 7, "facts": "x"}, headers=SCP),
                    422, "invalid_request")
    assert {e["location"] for e in typed["errors"]} == {"body.workflow", "body.facts"}
    problem(http.get("/cases", params={"limit": 0}, headers=COORD), 422, "invalid_request")
    problem(http.get(f"/cases/{case_id}/history", params={"after": "x"}, headers=COORD),
            422, "invalid_request")
    # a ValueError of the service (the key is too long) is the request's fault too
    long_key = problem(http.post(f"/cases/{case_id}/events/passend_bevonden",
                                 headers={**COORD, "Idempotency-Key": "k" * 201}),
                       422, "invalid_request")
    assert "idempotency_key" in long_key["detail"]
    dutch = problem(http.post(url, content=b"{", headers={**json_headers,
                                                          "Accept-Language": "nl"}),
                    422, "invalid_request")
    assert dutch["title"] == "Ongeldig verzoek"
    # the demo's stand-in for authentication: no actor, no access
    assert http.get(f"/cases/{case_id}").status_code == 401


def test_traceparent_is_echoed(http: httpx.Client) -> None:
    case_id = start(http, traceparent=TRACEPARENT)["id"]
    ok = http.get(f"/cases/{case_id}", headers={**COORD, "traceparent": TRACEPARENT})
    assert ok.headers["traceparent"] == TRACEPARENT
    failed = http.get("/cases/missing", headers={**COORD, "traceparent": TRACEPARENT})
    assert failed.status_code == 404 and failed.headers["traceparent"] == TRACEPARENT
    for invalid in ("00-" + "0" * 32 + "-b7ad6b7169203331-01", "garbage",
                    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                    TRACEPARENT.upper(), TRACEPARENT + "-extra"):
        answer = http.get(f"/cases/{case_id}", headers={**COORD, "traceparent": invalid})
        assert answer.status_code == 200 and "traceparent" not in answer.headers


def test_personal_data_is_shown_only_to_the_roles_of_visible_to(http: httpx.Client) -> None:
    """The key test: a ketenpartner (and the sociaal contactpunt) never see the value of
    ``naam`` or ``bsn`` in any answer, while the LZN coordinator does."""
    first_name, bsn, second_name = "Jantje Geheimhouder", "999990019", "Pietje Verborgen"
    secrets = (first_name, bsn, second_name)

    def hidden(answer: httpx.Response) -> None:
        assert answer.status_code in (200, 201), answer.text
        for value in secrets:
            assert value not in answer.text
            assert value.encode() not in answer.content

    started = http.post("/cases", json={"workflow": "lzn",
                                        "facts": {"naam": first_name, "bsn": bsn}},
                        headers=SCP)
    hidden(started)  # the sociaal contactpunt may set them, not see them
    case_id = started.json()["id"]
    assert started.json()["facts"] == {"naam": "<persoonsgegeven>", "bsn": "<persoonsgegeven>"}
    assert sorted(started.json()["masked"]) == ["bsn", "naam"]
    http.post(f"/cases/{case_id}/events/passend_bevonden", headers=COORD)
    changed = http.post(f"/cases/{case_id}/facts", json={"facts": {"naam": second_name}},
                        headers=COORD)
    assert changed.json()["facts"]["naam"] == second_name  # the coordinator sees it

    # a ketenpartner: the view, the view with history, the history, the list, the commands
    hidden(http.get(f"/cases/{case_id}", headers=PARTNER))
    hidden(http.get(f"/cases/{case_id}", params={"history": "true"}, headers=PARTNER))
    hidden(http.get(f"/cases/{case_id}/history", headers=PARTNER))
    hidden(http.get("/cases", params={"limit": 1000}, headers=PARTNER))
    hidden(http.get(f"/cases/{case_id}/tasks", headers=PARTNER))
    hidden(http.post(f"/cases/{case_id}/facts", json={"facts": {"adres": "Dorpsstraat 1"}},
                     headers=PARTNER))
    hidden(http.get(f"/cases/{case_id}/history", headers=SCP))
    view = http.get(f"/cases/{case_id}", params={"history": "true"}, headers=PARTNER).json()
    assert view["facts"]["naam"] == view["facts"]["bsn"] == "<persoonsgegeven>"
    assert view["history"][0]["data"]["naam"] == "<persoonsgegeven>"
    # an error message does not show a personal value either
    wrong = http.post(f"/cases/{case_id}/facts", json={"facts": {"geboortedatum": bsn}},
                      headers=PARTNER)
    problem(wrong, 422, "invalid_data")
    assert bsn not in wrong.text

    # the LZN coordinator (visible_to) sees every value, also in the history
    seen = http.get(f"/cases/{case_id}", params={"history": "true"}, headers=COORD).json()
    assert seen["facts"]["naam"] == second_name and seen["facts"]["bsn"] == bsn
    assert seen["masked"] == []
    assert seen["history"][0]["data"] == {"naam": first_name, "bsn": bsn}
    history = http.get(f"/cases/{case_id}/history", headers=COORD).text
    assert all(value in history for value in secrets)


def test_decisions_and_workflow_descriptions(http: httpx.Client) -> None:
    decided = http.post("/workflows/lzn/decisions/afsluitcriteria",
                        json={"facts": {"zorg_ketenpartner_adequaat": True}}, headers=COORD)
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["rule_set"] == "afsluitcriteria" and body["holds"] == "true"
    assert body["matched"] == ["zorg_bij_ketenpartner"] and body["explanation"]
    nothing = http.post("/workflows/lzn/decisions/afsluitcriteria", headers=COORD).json()
    assert nothing["matched"] == []
    problem(http.post("/workflows/lzn/decisions/afsluit", json={"facts": {}}, headers=COORD),
            404, "unknown_workflow")
    problem(http.post("/workflows/lzn/decisions/afsluitcriteria",
                      json={"facts": {"zorg_ketenpartner_adequaat": "ja"}}, headers=COORD),
            422, "invalid_data")

    described = http.get("/workflows/lzn", headers=PARTNER).json()
    assert described["workflow"]["id"] == "lzn"
    assert described["visible_to"] == ["lzn_coordinator"]
    assert "passend_bevonden" in [e["id"] for e in described["events"]]
    problem(http.get("/workflows/lzn", params={"version": 99}, headers=PARTNER), 404,
            "unknown_workflow")
    listed = http.get("/workflows", headers=PARTNER).json()["workflows"]
    assert [w["id"] for w in listed] == ["lzn"]


def test_the_openapi_document_loads_and_lists_the_paths(server: str) -> None:
    answer = httpx.get(f"{server}/openapi.json", timeout=10)
    assert answer.status_code == 200
    document = json.loads(answer.text)
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert set(paths) >= {
        "/zorg/cases", "/zorg/cases/{case_id}", "/zorg/cases/{case_id}/events/{event}",
        "/zorg/cases/{case_id}/facts", "/zorg/cases/{case_id}/tasks",
        "/zorg/cases/{case_id}/tasks/{task}/complete", "/zorg/cases/{case_id}/allowed",
        "/zorg/cases/{case_id}/history", "/zorg/workflows", "/zorg/workflows/{workflow}",
        "/zorg/workflows/{workflow}/decisions/{rule_set}"}
    start_body = paths["/zorg/cases"]["post"]["requestBody"]["content"]["application/json"]
    assert start_body["schema"]["$ref"] == "#/components/schemas/StartCase"
    assert "workflow" in document["components"]["schemas"]["StartCase"]["required"]
    fire = paths["/zorg/cases/{case_id}/events/{event}"]["post"]
    assert {p["name"] for p in fire["parameters"]} >= {"if-match", "idempotency-key"}
    assert PROBLEM in fire["responses"]["422"]["content"]
    # every reference resolves
    text = json.dumps(document)
    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text)):
        assert ref in document["components"]["schemas"], ref


# -- in process ------------------------------------------------------------------------------


def header_actor(x_actor: str = "", x_roles: str = "") -> zorgflow.Actor:
    """A test stand-in for authentication (FastAPI reads both from the headers)."""
    return zorgflow.Actor(x_actor or "anonymous", roles=set(filter(None, x_roles.split(","))))


@pytest.fixture(scope="module")
def service(web: None, workflows: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from zorgflow.service import CaseService
    from zorgflow.store import SQLiteStore

    engine = zorgflow.Engine.from_directory(workflows)
    return CaseService(engine, SQLiteStore(tmp_path_factory.mktemp("db") / "c.db", engine),
                       pause=0)


class InProcess:
    """Requests to an application in this process (what FastAPI's TestClient does, without
    its dependence on a particular httpx package); an error of the application is a 500."""

    def __init__(self, app: fastapi.FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                return await c.request(method, url, **options)

        answer: httpx.Response = anyio.run(send)
        return answer

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)


def client(service: Any, actor: Any = None, **options: Any) -> InProcess:
    from fastapi import Header

    from zorgflow.web import router

    def from_headers(x_actor: str = Header(""), x_roles: str = Header("")) -> zorgflow.Actor:
        return header_actor(x_actor, x_roles)

    app = fastapi.FastAPI()
    app.include_router(router(service, actor or from_headers, **options), prefix="/api")
    return InProcess(app)


def test_a_fixed_language_and_the_router_s_arguments(service: Any) -> None:
    from zorgflow.web import router

    dutch = client(service, lang="nl")
    answer = dutch.get("/api/cases/missing", headers=COORD)
    assert answer.status_code == 404 and answer.json()["title"] == "Casus niet gevonden"
    english = dutch.get("/api/cases/missing", headers={**COORD, "Accept-Language": "en"})
    assert english.json()["title"] == answer.json()["title"]  # lang= wins
    with pytest.raises(ValueError, match="no messages in language"):
        router(service, header_actor, lang="fr")
    with pytest.raises(TypeError, match="CaseService"):
        router(object(), header_actor)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="FastAPI dependency"):
        router(service, "header_actor")  # type: ignore[arg-type]


def test_the_router_answers_its_errors_in_any_application(service: Any) -> None:
    """The router's routes catch their errors themselves: an application with its own
    handler for validation errors does not change the router's answers."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import PlainTextResponse

    from zorgflow.web import router

    app = fastapi.FastAPI()

    @app.exception_handler(RequestValidationError)
    async def teapot(request: Any, exc: Any) -> PlainTextResponse:
        return PlainTextResponse("mine", status_code=418)

    @app.post("/own")
    def own(body: dict[str, int]) -> dict[str, int]:
        return body

    def from_headers(x_actor: str = fastapi.Header(""), x_roles: str = fastapi.Header("")
                     ) -> zorgflow.Actor:
        return header_actor(x_actor, x_roles)

    app.include_router(router(service, from_headers))
    test = InProcess(app)
    assert test.post("/own", content=b"{").status_code == 418
    answer = test.post("/cases", content=b"{", headers={**SCP,
                                                        "Content-Type": "application/json"})
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_request"


def test_an_unavailable_store_is_503_with_retry_after(service: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def busy(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("the database is busy")

    monkeypatch.setattr(service, "fire", busy)
    answer = client(service).post("/api/cases/c1/events/passend_bevonden", headers=COORD)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.json()["code"] == "store_unavailable"


def test_an_actor_dependency_that_returns_no_actor_is_the_application_s_error(
        service: Any) -> None:
    answer = client(service, actor=lambda: "a.jansen").get("/api/cases")
    assert answer.status_code == 500


def test_the_traceparent_is_on_request_state_for_the_application(service: Any) -> None:
    seen: list[str | None] = []

    def tracing_actor(request: fastapi.Request) -> zorgflow.Actor:
        seen.append(request.state.traceparent)
        return zorgflow.Actor("a.jansen", roles={"lzn_coordinator"})

    test = client(service, actor=tracing_actor)
    answer = test.get("/api/workflows", headers={"traceparent": TRACEPARENT})
    assert answer.status_code == 200 and answer.headers["traceparent"] == TRACEPARENT
    test.get("/api/workflows")
    assert seen == [TRACEPARENT, None]


def test_import_zorgflow_does_not_import_fastapi() -> None:
    code = ("import sys, zorgflow, zorgflow.service, zorgflow.store; "
            "print(sorted(m for m in ('fastapi', 'starlette', 'uvicorn', 'pydantic') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_without_fastapi_zorgflow_web_says_what_to_install() -> None:
    code = ("import sys; sys.modules['fastapi'] = None\n"
            "from zorgflow.errors import MissingDependency\n"
            "try:\n    import zorgflow.web\n"
            "except MissingDependency as exc:\n    print(exc.code, '|', exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.startswith("missing_dependency |")
    assert 'pip install "zorgflow[web]"' in out.stdout
