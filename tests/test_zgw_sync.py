"""The zaak sync (issue 19, item 2): a stored LZN case, driven to ``afgesloten``, synced to a
fake ZGW Zaken API on 127.0.0.1 that validates every request body against the schema of its
name in ``zaken-openapi.yaml`` (1.7.0), checks the JWT and the Crs headers, and enforces
zrc-002, zrc-007, zrc-016 to zrc-021. Re-running sends nothing; a 500 or a timeout is
reported, marks nothing, and the next run completes with still one zaak; no personal data is
ever sent. The sync marks in both stores, and the command ``zorgflow sync zgw``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from zgw_schemas import read_document, validator_for

from zorgflow import Actor, Case, Engine, export_zaaktype, zaaktype_urls
from zorgflow.cli import main
from zorgflow.service import ZaakSync
from zorgflow.store import Destruction, SQLiteStore, Store

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
ENGINE = Engine.from_directory(WORKFLOWS)
LZN = ENGINE.workflow("lzn")
CATALOGUS = ("https://catalogi.gemeente.example/catalogi/api/v1/catalogussen/"
             "1b0a4c65-3a3e-4c4b-9a4e-0a8f5e2d6c11")
CLIENT_ID, SECRET, RSIN = "zorgflow-sync", "geheim-van-de-test", "002564440"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

SCP = Actor("s.scp", roles={"sociaal_contactpunt"})
COORD = Actor("c.coord", roles={"lzn_coordinator"})
REGIE = Actor("r.regie", roles={"ketenpartner"})
PERSONAL = {"naam": "Jan Jansen", "bsn": "123456782", "adres": "Kerkstraat 1 Zwolle",
            "geboortedatum": "1961-04-30"}
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
#: when the case is closed: 10:00 in Amsterdam on 14 March 2026
CLOSED = T0 + timedelta(days=40)


def lzn_case(store: Store | None, case_id: str = "lzn-1", *, close: bool = True) -> Case:
    """An LZN case from melding to afgesloten (zorg bij een ketenpartner), with personal facts,
    a casusregisseur, a stagnation and two allow-listed facts (Eigenschappen)."""
    def at(days: int) -> datetime:
        return T0 + timedelta(days=days)

    c = ENGINE.start("lzn", actor=SCP, at=T0, case_id=case_id, store=store,
                     facts={**PERSONAL, "bovenliggende_problematiek": "schulden"})
    c = ENGINE.fire(c, "passend_bevonden", actor=COORD, at=at(1), store=store)
    c = ENGINE.fire(c, "geen_actief_dossier", actor=COORD, at=at(2), store=store)
    c = ENGINE.fire(c, "casusregisseur_benoemd", actor=COORD, at=at(3), store=store,
                    data={"casusregisseur": REGIE.id, "ketenpartner": "GGZ"})
    c = ENGINE.fire(c, "voortgang_teruggekoppeld", actor=REGIE, at=at(10), store=store)
    c = ENGINE.fire(c, "stagnatie_gemeld", actor=REGIE, at=at(20), store=store)
    c = ENGINE.fire(c, "plan_aangepast", actor=COORD, at=at(21), store=store)
    c = ENGINE.fire(c, "plan_aangepast", actor=REGIE, at=at(22), store=store)
    c = ENGINE.set_facts(c, {"zorg_ketenpartner_adequaat": True, "kinderen_betrokken": True,
                             "multiproblematiek": False}, actor=COORD, at=at(30), store=store)
    if close:
        c = ENGINE.fire(c, "afsluiten", actor=COORD, at=CLOSED, store=store,
                        data={"afsluitreden": "zorg_bij_ketenpartner"})
    return c


def state_changes(case: Case) -> list[tuple[str, datetime]]:
    return [(e.to_state, e.at) for e in case.history if e.from_state != e.to_state]


# -- the fake Zaken API ----------------------------------------------------------------------


@dataclass
class Received:
    """One request the fake received, as it came."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: bytes
    body: Any
    status: int = 0


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    #: answer this status without doing anything, or (0) do it and answer ``delay`` late
    status: int = 0
    delay: float = 0.0
    times: int = 1


@dataclass
class Catalogue:
    """What the fake knows of the zaaktype (the Catalogi API it would ask)."""

    zaaktype: str
    #: statustype URL -> volgnummer
    statustypen: dict[str, int]
    #: resultaattype URL -> the exported ResultaatType
    resultaattypen: dict[str, dict[str, Any]]
    roltypen: set[str]
    eigenschappen: set[str]

    @property
    def eindstatus(self) -> str:
        return max(self.statustypen, key=lambda url: self.statustypen[url])


@dataclass
class FakeZaken:
    """A Zaken API 1.7.0 in memory."""

    document: dict[str, Any]
    schemas: dict[str, Any]
    catalogue: Catalogue
    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    zaken: dict[str, dict[str, Any]] = field(default_factory=dict)
    statussen: list[dict[str, Any]] = field(default_factory=list)
    rollen: list[dict[str, Any]] = field(default_factory=list)
    resultaten: list[dict[str, Any]] = field(default_factory=list)
    eigenschappen: list[dict[str, Any]] = field(default_factory=list)
    #: what was done, in order: (kind, zaak url, what)
    done: list[tuple[str, str, str]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- test controls -----------------------------------------------------------------------
    def fail(self, method: str, path: str, status: int = 500, times: int = 1) -> None:
        """Answer ``status`` to the next ``times`` such requests, doing nothing."""
        self.faults.append(Fault(method, re.compile(path), status=status, times=times))

    def lose_answer(self, method: str, path: str, delay: float) -> None:
        """Do the next such request, then answer only after ``delay`` seconds."""
        self.faults.append(Fault(method, re.compile(path), delay=delay))

    def sent(self, method: str | None = None) -> list[Received]:
        return [r for r in self.received if method is None or r.method == method]

    # -- the API -----------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes
               ) -> tuple[int, Any, float]:
        parts = urlsplit(target)
        prefix = urlsplit(self.base_url).path
        assert parts.path.startswith(prefix), parts.path
        path = parts.path[len(prefix):]
        query = parse_qs(parts.query)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = Received(method, path, query, headers, raw, body)
        with self.lock:
            self.received.append(request)
            fault = next((f for f in self.faults if f.times and f.method == method
                          and f.path.fullmatch(path)), None)
            if fault is not None:
                fault.times -= 1
                if fault.status:
                    request.status = fault.status
                    return fault.status, problem(fault.status, "server-error"), 0.0
            status, answer = self.answer(method, path, query, headers, body, raw)
            request.status = status
        return status, answer, fault.delay if fault is not None else 0.0

    def answer(self, method: str, path: str, query: dict[str, list[str]],
               headers: dict[str, str], body: Any, raw: bytes) -> tuple[int, Any]:
        template, operation = self.operation(method, path)
        if operation is None:
            return 405, problem(405, "method-not-allowed")
        refused = self.check_token(headers.get("authorization", ""))
        if refused:
            return 403, problem(403, refused)
        for parameter in operation.get("parameters", []):
            parameter = self.resolve(parameter)
            if parameter.get("in") != "header" or not parameter.get("required"):
                continue
            value = headers.get(parameter["name"].lower())
            allowed = parameter.get("schema", {}).get("enum")
            if value is None or (allowed and value not in allowed):
                code = "missing-crs-header" if "Crs" in parameter["name"] else "bad-header"
                return 412, problem(412, code, parameter["name"])
        schema = (operation.get("requestBody", {}).get("content", {})
                  .get("application/json", {}).get("schema", {}).get("$ref", ""))
        if schema:
            name = schema.rsplit("/", 1)[-1]
            errors = self.validate(name, body)
            if errors:
                self.invalid.extend(f"{method} {path} ({name}): {e}" for e in errors)
                return 400, problem(400, "invalid", *errors)
        return self.act(method, template, path, query, body)

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any] | None]:
        for template, item in self.document["paths"].items():
            if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
                return template, item.get(method.lower())
        return "", None

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if not ref:
            return node
        found: Any = self.document
        for part in ref.lstrip("#/").split("/"):
            found = found[part]
        resolved: dict[str, Any] = found
        return resolved

    def validate(self, name: str, body: Any) -> list[str]:
        errors = [e.message for e in validator_for(self.schemas, name).iter_errors(body)]
        mapping = self.schemas[name].get("discriminator", {}).get("mapping", {})
        if mapping and isinstance(body, dict):
            chosen = mapping.get(body.get("betrokkeneType"))
            if chosen is None:
                errors.append(f"no schema for betrokkeneType {body.get('betrokkeneType')!r}")
            else:
                errors += [e.message for e in validator_for(
                    self.schemas, chosen.rsplit("/", 1)[-1]).iter_errors(body)]
        return errors

    def check_token(self, authorization: str) -> str:
        """Why the JWT is refused ("" when it is good): HS256 with the client's secret, the
        client id as iss and client_id, issued now."""
        match = re.fullmatch(r"Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)", authorization)
        if not match:
            return "not-authenticated"
        head, claims, signature = match.groups()
        expected = hmac.new(SECRET.encode(), f"{head}.{claims}".encode(),
                            hashlib.sha256).digest()
        if not hmac.compare_digest(unpad(signature), expected):
            return "bad-signature"
        header, payload = json.loads(unpad(head)), json.loads(unpad(claims))
        if header.get("alg") != "HS256":
            return "bad-algorithm"
        if payload.get("iss") != CLIENT_ID or payload.get("client_id") != CLIENT_ID:
            return "unknown-client"
        if not isinstance(payload.get("iat"), int) or abs(payload["iat"] - time.time()) > 300:
            return "token-expired"
        return ""

    def act(self, method: str, template: str, path: str, query: dict[str, list[str]],
            body: Any) -> tuple[int, Any]:
        one = {k: v[0] for k, v in query.items()}
        if (method, template) == ("GET", "/zaken"):
            found = [z for z in self.zaken.values()
                     if all(z.get(k) == v for k, v in one.items()
                            if k in ("identificatie", "bronorganisatie"))]
            return 200, page(found)
        if (method, template) == ("POST", "/zaken"):
            if body["zaaktype"] != self.catalogue.zaaktype:
                return 400, problem(400, "bad-url", "zaaktype")  # zrc-001
            if any(z["identificatie"] == body.get("identificatie")
                   and z["bronorganisatie"] == body["bronorganisatie"]
                   for z in self.zaken.values()):
                return 400, problem(400, "identificatie-niet-uniek", "identificatie")  # zrc-002
            url = f"{self.base_url}/zaken/{uuid.uuid4()}"
            zaak = {**body, "url": url, "einddatum": None, "status": None, "resultaat": None,
                    "archiefnominatie": None, "archiefactiedatum": None}
            self.zaken[url] = zaak
            self.done.append(("zaak", url, body["identificatie"]))
            return 201, zaak
        if (method, template) == ("PATCH", "/zaken/{uuid}"):
            zaak = self.zaken.get(f"{self.base_url}{path}")
            if zaak is None:
                return 404, problem(404, "not_found")
            if zaak["einddatum"] is not None:
                return 403, problem(403, "zaak-afgesloten")  # zrc-007
            zaak.update(body)
            self.done.append(("patch", zaak["url"], json.dumps(body, sort_keys=True)))
            return 200, zaak
        listing = {"/statussen": self.statussen, "/rollen": self.rollen,
                   "/resultaten": self.resultaten}
        if method == "GET" and template in listing:
            return 200, page([r for r in listing[template] if r["zaak"] == one.get("zaak")])
        if method == "POST" and template in listing:
            zaak = self.zaken.get(body["zaak"])
            if zaak is None:
                return 400, problem(400, "bad-url", "zaak")
            if zaak["einddatum"] is not None:
                return 403, problem(403, "zaak-afgesloten")  # zrc-007
            return self.add(template, zaak, body)
        if template == "/zaken/{zaak_uuid}/zaakeigenschappen":
            zaak_url = f"{self.base_url}{path.rsplit('/', 1)[0]}"
            zaak = self.zaken.get(zaak_url)
            if zaak is None:
                return 404, problem(404, "not_found")
            if method == "GET":
                return 200, [e for e in self.eigenschappen if e["zaak"] == zaak_url]
            if body["zaak"] != zaak_url or body["eigenschap"] not in self.catalogue.eigenschappen:
                return 400, problem(400, "bad-url", "eigenschap")  # zrc-018
            if zaak["einddatum"] is not None:
                return 403, problem(403, "zaak-afgesloten")
            made = {**body, "url": f"{zaak_url}/zaakeigenschappen/{uuid.uuid4()}"}
            self.eigenschappen.append(made)
            self.done.append(("eigenschap", zaak_url, body["waarde"]))
            return 201, made
        if (method, template) == ("PATCH", "/zaken/{zaak_uuid}/zaakeigenschappen/{uuid}"):
            made = next((e for e in self.eigenschappen
                         if e["url"] == f"{self.base_url}{path}"), None)
            if made is None:
                return 404, problem(404, "not_found")
            made.update(body)
            self.done.append(("eigenschap", made["zaak"], body["waarde"]))
            return 200, made
        return 405, problem(405, "method-not-allowed")

    def add(self, template: str, zaak: dict[str, Any], body: dict[str, Any]
            ) -> tuple[int, Any]:
        c = self.catalogue
        if template == "/rollen":
            if body["roltype"] not in c.roltypen:
                return 400, problem(400, "bad-url", "roltype")  # zrc-019
            made = {**body, "url": f"{self.base_url}/rollen/{uuid.uuid4()}"}
            self.rollen.append(made)
            self.done.append(("rol", zaak["url"], body["betrokkeneIdentificatie"]
                              ["identificatie"]))
            return 201, made
        if template == "/resultaten":
            if body["resultaattype"] not in c.resultaattypen:
                return 400, problem(400, "bad-url", "resultaattype")  # zrc-020
            if zaak["resultaat"] is not None:
                return 400, problem(400, "unique", "zaak")
            made = {**body, "url": f"{self.base_url}/resultaten/{uuid.uuid4()}"}
            self.resultaten.append(made)
            zaak["resultaat"] = made["url"]
            self.done.append(("resultaat", zaak["url"], body["resultaattype"]))
            return 201, made
        if body["statustype"] not in c.statustypen:
            return 400, problem(400, "bad-url", "statustype")  # zrc-016
        at = datetime.fromisoformat(body["datumStatusGezet"])
        if body["statustype"] == c.eindstatus:
            if zaak["resultaat"] is None:  # zrc-007
                return 400, problem(400, "resultaat-does-not-exist", "statustype")
            zaak["einddatum"] = at.astimezone(AMSTERDAM).date().isoformat()
            refused = self.derive_archiving(zaak)
            if refused:
                zaak["einddatum"] = None
                return 400, problem(400, refused, "archiefactiedatum")
        made = {**body, "url": f"{self.base_url}/statussen/{uuid.uuid4()}"}
        self.statussen.append(made)
        zaak["status"] = made["url"]
        self.done.append(("status", zaak["url"], body["statustype"]))
        return 201, made

    def derive_archiving(self, zaak: dict[str, Any]) -> str:
        """zrc-021, for the brondatum ``afgehandeld`` and terms in whole years: the
        archiefnominatie of the resultaattype unless the zaak has one, the archiefactiedatum
        einddatum + archiefactietermijn; a value the client set must be the derived one."""
        resultaattype = self.catalogue.resultaattypen[
            next(r["resultaattype"] for r in self.resultaten if r["url"] == zaak["resultaat"])]
        zaak["archiefnominatie"] = zaak["archiefnominatie"] or resultaattype["archiefnominatie"]
        assert resultaattype["brondatumArchiefprocedure"]["afleidingswijze"] == "afgehandeld"
        years = int(re.fullmatch(r"P(\d+)Y", resultaattype["archiefactietermijn"])[1])  # type: ignore[index]
        end = date.fromisoformat(zaak["einddatum"])
        derived = end.replace(year=end.year + years).isoformat()
        if zaak["archiefactiedatum"] not in (None, derived):
            return "archiefactiedatum-mismatch"
        zaak["archiefactiedatum"] = derived
        return ""


def unpad(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def page(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": len(results), "next": None, "previous": None, "results": results}


def problem(status: int, code: str, *names: str) -> dict[str, Any]:
    return {"type": "", "code": code, "title": "fout", "status": status,
            "detail": "Jan Jansen 123456782", "instance": "urn:uuid:x",
            "invalidParams": [{"name": n[:80], "code": code, "reason": "Jan Jansen"}
                              for n in names]}


def catalogue_of(envelope: dict[str, Any]) -> Catalogue:
    """The fake's catalogue: the export's resources at the URLs `zaaktype_urls` gives,
    checked against each other."""
    urls = zaaktype_urls(LZN, CATALOGUS)
    open_states = [s for s in LZN.states.values() if not s.final]
    numbers = {urls.statustypen[s.id]: n for n, s in enumerate(open_states, start=1)}
    numbers[urls.eindstatus] = len(open_states) + 1
    assert sorted(numbers.values()) == [s["volgnummer"] for s in envelope["statustypen"]]
    assert {urls.statustypen[s.id] for s in LZN.states.values() if s.final} == {urls.eindstatus}
    assert all(s["zaaktype"] == urls.zaaktype for s in envelope["statustypen"])
    assert envelope["zaaktype"]["catalogus"] == CATALOGUS
    resultaattypen = {urls.resultaattypen[r["omschrijving"]]: r
                      for r in envelope["resultaattypen"]}
    assert len(resultaattypen) == len(envelope["resultaattypen"])
    assert len(set(urls.roltypen.values())) == len(envelope["roltypen"]) == len(LZN.roles)
    assert len(set(urls.eigenschappen.values())) == len(envelope["eigenschappen"])
    return Catalogue(urls.zaaktype, numbers, resultaattypen, set(urls.roltypen.values()),
                     set(urls.eigenschappen.values()))


@pytest.fixture(scope="module")
def zaken_document(standards: Path) -> dict[str, Any]:
    """zaken-openapi.yaml (Zaken API 1.7.0)."""
    return read_document(standards / "zgw" / "zaken-openapi.yaml")


@pytest.fixture
def zaken(zaken_document: dict[str, Any]) -> Iterator[FakeZaken]:
    """A fake Zaken API on 127.0.0.1, in a thread."""
    fake = FakeZaken(zaken_document, zaken_document["components"]["schemas"],
                     catalogue_of(export_zaaktype(LZN, CATALOGUS)))

    class Handler(BaseHTTPRequestHandler):
        def do(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer, delay = fake.handle(self.command, self.path, headers, raw)
            if delay:
                time.sleep(delay)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting
                pass

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/zaken/api/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def syncer(store: Store, fake: FakeZaken, **options: Any) -> ZaakSync:
    return ZaakSync(ENGINE, store, base_url=fake.base_url, catalogus=CATALOGUS,
                    client_id=CLIENT_ID, secret=SECRET, rsin=RSIN,
                    **{"timeout": 5.0, **options})


def assert_complete(fake: FakeZaken, case: Case) -> None:
    """The zaak as the issue wants it: one zaak, a Status per state change in order, the
    Resultaat before the eindstatus, the right archiving, every body valid."""
    assert fake.invalid == []
    (zaak,) = fake.zaken.values()
    urls = zaaktype_urls(LZN, CATALOGUS)
    assert (zaak["identificatie"], zaak["bronorganisatie"], zaak["verantwoordelijkeOrganisatie"],
            zaak["zaaktype"], zaak["startdatum"]) == (case.id, RSIN, RSIN, urls.zaaktype,
                                                      "2026-02-02")
    expected = [(urls.statustypen[state], at) for state, at in state_changes(case)]
    assert [(s["statustype"], datetime.fromisoformat(s["datumStatusGezet"]))
            for s in fake.statussen] == expected
    assert expected[-1][0] == urls.eindstatus and len(expected) == 7
    kinds = [kind for kind, _, _ in fake.done]
    assert kinds.index("resultaat") < kinds.index("status", kinds.index("resultaat"))
    assert kinds[-1] == "status" and kinds.count("resultaat") == 1
    (resultaat,) = fake.resultaten
    assert resultaat["resultaattype"] == urls.resultaattypen["Afgesloten"]
    # afgehandeld on 14 March 2026 (Europe/Amsterdam) + P20Y (zrc-021)
    assert (zaak["einddatum"], zaak["archiefnominatie"], zaak["archiefactiedatum"]) == (
        "2026-03-14", "vernietigen", "2046-03-14")
    patched = [json.loads(what) for kind, _, what in fake.done if kind == "patch"]
    assert patched == [{"archiefnominatie": "vernietigen", "archiefactiedatum": "2046-03-14"}]
    ((rol),) = fake.rollen
    assert (rol["betrokkeneType"], rol["roltype"], rol["betrokkeneIdentificatie"]) == (
        "medewerker", urls.roltypen["casusregisseur"], {"identificatie": REGIE.id})
    assert sorted((e["eigenschap"], e["waarde"]) for e in fake.eigenschappen) == sorted([
        (urls.eigenschappen["kinderen_betrokken"], "true"),
        (urls.eigenschappen["multiproblematiek"], "false")])


def assert_no_personal_data(fake: FakeZaken, *texts: str) -> None:
    everything = "\n".join(f"{r.method} {r.path} {r.query} {r.headers} "
                           f"{r.raw.decode('utf-8')}" for r in fake.received)
    for value in (*PERSONAL.values(), "19610430", "schulden", *texts):
        assert value not in everything


# -- the sync ----------------------------------------------------------------------------------


def test_an_lzn_case_syncs_to_one_zaak_and_a_second_run_sends_nothing(
        backend: Any, zaken: FakeZaken) -> None:
    store = backend.open(ENGINE)
    case = lzn_case(store)
    with syncer(store, zaken) as sync:
        result = sync.sync(case.id)
        assert result.ok, result.failure
        assert_complete(zaken, case)
        assert result.zaak == next(iter(zaken.zaken))
        assert [s.item for s in result.sent] == [
            "zaak", f"rol:casusregisseur:{REGIE.id}", "eigenschap:kinderen_betrokken",
            "eigenschap:multiproblematiek", "status:1", "status:2", "status:3", "status:6",
            "status:8", "status:10", "resultaat", "archief", "eindstatus"]
        # the zaak was looked up by identificatie and bronorganisatie before it was made
        first = zaken.received[0]
        assert (first.method, first.path, first.query) == (
            "GET", "/zaken", {"identificatie": [case.id], "bronorganisatie": [RSIN]})
        for request in zaken.received:
            crs = request.path == "/zaken" or re.fullmatch(r"/zaken/[^/]+", request.path)
            assert (request.headers.get("accept-crs") == "EPSG:4326") == bool(crs)
            assert (request.headers.get("content-crs") == "EPSG:4326") == bool(crs)
        assert_no_personal_data(zaken)
        count = len(zaken.received)

        again = sync.sync(case.id)
        assert again.ok and again.sent == () and again.found == ()
        assert len(zaken.received) == count
        assert [r.ok for r in sync.sync_all()] == [True]
        assert len(zaken.received) == count
    marks = store.sync_state(case.id, zaken.base_url)
    assert marks["zaak"].reference == result.zaak
    assert marks["version"].digest == str(case.version)


def test_a_case_synced_on_the_way_sends_only_what_is_new(tmp_path: Path,
                                                         zaken: FakeZaken) -> None:
    store = SQLiteStore(tmp_path / "cases.db", ENGINE)
    open_case = lzn_case(store, close=False)
    with syncer(store, zaken) as sync:
        assert sync.sync(open_case.id).ok
        assert len(zaken.statussen) == 6 and zaken.resultaten == []
        (zaak,) = zaken.zaken.values()
        assert zaak["einddatum"] is None
        before = len(zaken.received)
        changed = ENGINE.set_facts(store.load(open_case.id), {"kinderen_betrokken": False},
                                   actor=COORD, at=T0 + timedelta(days=35), store=store)
        closed = ENGINE.fire(changed, "afsluiten", actor=COORD, at=CLOSED, store=store,
                             data={"afsluitreden": "zorg_bij_ketenpartner"})
        result = sync.sync(open_case.id)
        assert result.ok, result.failure
        assert [(s.item, s.method) for s in result.sent] == [
            ("eigenschap:kinderen_betrokken", "PATCH"), ("resultaat", "POST"),
            ("archief", "PATCH"), ("eindstatus", "POST")]
        assert len(zaken.zaken) == 1 and len(zaken.statussen) == 7
        assert zaken.zaken[zaak["url"]]["archiefactiedatum"] == "2046-03-14"
        assert [e["waarde"] for e in zaken.eigenschappen
                if e["eigenschap"].endswith(zaaktype_urls(LZN, CATALOGUS).eigenschappen[
                    "kinderen_betrokken"].rsplit("/", 1)[1])] == ["false"]
        # what existed was listed once, so that nothing is sent twice
        assert {(r.method, r.path) for r in zaken.received[before:] if r.method == "GET"} == {
            ("GET", "/statussen"), ("GET", "/resultaten"),
            ("GET", f"{urlsplit(zaak['url']).path[len('/zaken/api/v1'):]}/zaakeigenschappen")}
        assert sync.sync(closed.id).sent == ()
    assert zaken.invalid == []


def test_a_500_is_reported_marks_nothing_and_the_next_run_completes(
        tmp_path: Path, zaken: FakeZaken) -> None:
    store = SQLiteStore(tmp_path / "cases.db", ENGINE)
    case = lzn_case(store)
    zaken.fail("POST", "/resultaten", status=500)
    with syncer(store, zaken) as sync:
        failed = sync.sync(case.id)
        assert not failed.ok and failed.failure is not None
        assert (failed.failure.item, failed.failure.method, failed.failure.path,
                failed.failure.status, failed.failure.code) == (
            "resultaat", "POST", "/resultaten", 500, "server-error")
        assert "500" in failed.failure.message and "next sync" in failed.failure.message
        assert "resultaat" not in store.sync_state(case.id, zaken.base_url)
        assert "version" not in store.sync_state(case.id, zaken.base_url)
        assert zaken.zaken[failed.zaak or ""]["einddatum"] is None  # not closed: no eindstatus
        assert [s.item for s in failed.sent][-1] == "status:10"
        result = sync.sync(case.id)
        assert result.ok, result.failure
        assert [s.item for s in result.sent] == ["resultaat", "archief", "eindstatus"]
    assert_complete(zaken, case)
    # the problem's detail, title and reasons quote data: never repeated in a result
    assert "Jan" not in json.dumps(failed.to_dict())
    assert_no_personal_data(zaken)


def test_a_timeout_is_reported_and_the_zaak_made_meanwhile_is_found_not_made_again(
        tmp_path: Path, zaken: FakeZaken) -> None:
    store = SQLiteStore(tmp_path / "cases.db", ENGINE)
    case = lzn_case(store)
    zaken.lose_answer("POST", "/zaken", delay=1.5)
    with syncer(store, zaken, timeout=0.5) as sync:
        failed = sync.sync(case.id)
        assert failed.failure is not None
        assert (failed.failure.item, failed.failure.code, failed.failure.status) == (
            "zaak", "timeout", None)
        assert store.sync_state(case.id, zaken.base_url) == {}
        assert len(zaken.zaken) == 1  # the server made it; its answer was lost
        time.sleep(1.2)  # let the slow answer go
        result = sync.sync(case.id)
        assert result.ok, result.failure
        assert [(s.item, s.method) for s in result.found] == [("zaak", "GET")]
        assert "zaak" not in [s.item for s in result.sent]
    assert [r.path for r in zaken.sent("POST")].count("/zaken") == 1
    assert_complete(zaken, case)


def test_a_status_whose_answer_was_lost_is_found_not_sent_twice(tmp_path: Path,
                                                                zaken: FakeZaken) -> None:
    store = SQLiteStore(tmp_path / "cases.db", ENGINE)
    case = lzn_case(store)
    zaken.lose_answer("POST", "/statussen", delay=1.5)
    with syncer(store, zaken, timeout=0.5) as sync:
        failed = sync.sync(case.id)
        assert failed.failure is not None and failed.failure.item == "status:1"
        time.sleep(1.2)
        result = sync.sync(case.id)
        assert result.ok, result.failure
        assert [s.item for s in result.found] == ["status:1"]
    assert_complete(zaken, case)


def test_zrc_007_the_fake_refuses_an_eindstatus_without_a_resultaat(
        tmp_path: Path, zaken: FakeZaken) -> None:
    """The fake server is strict: the eindstatus before a Resultaat is refused (a sync that
    sent them the other way round would fail the test above)."""
    store = SQLiteStore(tmp_path / "cases.db", ENGINE)
    case = lzn_case(store, close=False)
    with syncer(store, zaken) as sync:
        assert sync.sync(case.id).ok
        zaak = next(iter(zaken.zaken))
        status, answer, _ = zaken.handle(
            "POST", "/zaken/api/v1/statussen",
            {"authorization": f"Bearer {sync.token()}", "content-type": "application/json"},
            json.dumps({"zaak": zaak, "statustype": zaken.catalogue.eindstatus,
                        "datumStatusGezet": CLOSED.isoformat()}).encode())
    assert (status, answer["code"]) == (400, "resultaat-does-not-exist")
    assert zaken.zaken[zaak]["einddatum"] is None


def test_a_refused_request_reports_status_code_and_field_names_only(
        tmp_path: Path, zaken: FakeZaken) -> None:
    store = SQLiteStore(tmp_path / "cases.db", ENGINE)
    case = lzn_case(store)
    with syncer(store, zaken) as sync:
        sync._secret = b"een ander geheim"  # the Zaken API refuses the token
        failed = sync.sync(case.id)
    assert failed.failure is not None
    assert (failed.failure.status, failed.failure.code, failed.failure.item) == (
        403, "bad-signature", "zaak")
    assert store.sync_state(case.id, zaken.base_url) == {} and zaken.zaken == {}


def test_the_jwt_follows_the_zgw_convention(tmp_path: Path, zaken: FakeZaken) -> None:
    with syncer(SQLiteStore(tmp_path / "cases.db", ENGINE), zaken) as sync:
        head, claims, signature = sync.token().split(".")
    assert json.loads(unpad(head)) == {"alg": "HS256", "typ": "JWT"}
    payload = json.loads(unpad(claims))
    assert payload["iss"] == payload["client_id"] == payload["client_identifier"] == CLIENT_ID
    assert abs(payload["iat"] - time.time()) < 60
    assert unpad(signature) == hmac.new(SECRET.encode(), f"{head}.{claims}".encode(),
                                        hashlib.sha256).digest()
    assert SECRET not in repr(sync)


def test_an_unreachable_server_is_reported(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "cases.db", ENGINE)
    case = lzn_case(store)
    with ZaakSync(ENGINE, store, base_url="http://127.0.0.1:9/zaken/api/v1",
                  catalogus=CATALOGUS, client_id=CLIENT_ID, secret=SECRET, rsin=RSIN,
                  timeout=2) as sync:
        failed = sync.sync(case.id)
    assert failed.failure is not None and failed.failure.code == "unreachable"
    assert store.sync_state(case.id, "http://127.0.0.1:9/zaken/api/v1") == {}


@pytest.mark.parametrize(("option", "value", "message"), [
    ("rsin", "123456789", "not an RSIN"),
    ("base_url", "zaken.example", "not an http"),
    ("catalogus", "https://x.example/catalogussen/1", "not the URL of a catalogus"),
    ("secret", "", "secret is empty"),
])
def test_bad_configuration_is_refused(tmp_path: Path, option: str, value: str,
                                      message: str) -> None:
    options: dict[str, Any] = {"base_url": "https://zaken.example/zaken/api/v1",
                               "catalogus": CATALOGUS, "client_id": CLIENT_ID,
                               "secret": SECRET, "rsin": RSIN, option: value}
    with pytest.raises(ValueError, match=message):
        ZaakSync(ENGINE, SQLiteStore(tmp_path / "cases.db", ENGINE), **options)


# -- the sync marks in the store ---------------------------------------------------------------


def test_the_store_keeps_sync_marks_and_destroys_them_with_the_case(backend: Any) -> None:
    store = backend.open(ENGINE)
    case = lzn_case(store, close=False)
    other = lzn_case(store, "lzn-2", close=False)
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert store.sync_state(case.id, "https://a") == {}
    store.mark_synced(case.id, "https://a", "zaak", "https://a/zaken/1", digest="zt", at=at)
    store.mark_synced(case.id, "https://a", "status:1", "https://a/statussen/1", at=at)
    store.mark_synced(case.id, "https://b", "zaak", "https://b/zaken/9", at=at)
    store.mark_synced(other.id, "https://a", "zaak", "https://a/zaken/2", at=at)
    later = at + timedelta(hours=1)
    store.mark_synced(case.id, "https://a", "status:1", "https://a/statussen/1b", digest="x",
                      at=later)
    marks = store.sync_state(case.id, "https://a")
    assert sorted(marks) == ["status:1", "zaak"]
    assert (marks["zaak"].reference, marks["zaak"].digest, marks["zaak"].synced_at) == (
        "https://a/zaken/1", "zt", at)
    assert (marks["status:1"].reference, marks["status:1"].digest,
            marks["status:1"].synced_at) == ("https://a/statussen/1b", "x", later)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.mark_synced(case.id, "https://a", "status:2", "u", at=at)
        raise RuntimeError("undone")
    assert "status:2" not in store.sync_state(case.id, "https://a")
    with pytest.raises(ValueError):
        store.mark_synced(case.id, "https://a", "zaak", "u", at=datetime(2026, 5, 1))
    with pytest.raises(TypeError):
        store.mark_synced(case.id, "https://a", 1, "u", at=at)
    store.destroy(Destruction(case.id, "lzn", LZN.version, "Afgesloten", at,
                              date(2026, 5, 1), "personal_data", at, "archivaris"))
    assert sorted(store.sync_state(case.id, "https://a")) == ["status:1", "zaak"]
    store.destroy(Destruction(case.id, "lzn", LZN.version, "Afgesloten", at,
                              date(2026, 5, 1), "case", at, "archivaris"))
    assert store.sync_state(case.id, "https://a") == {}
    assert store.sync_state(case.id, "https://b") == {}
    assert sorted(store.sync_state(other.id, "https://a")) == ["zaak"]


# -- the command -------------------------------------------------------------------------------


def test_cli_syncs_reports_and_exits_by_the_outcome(
        tmp_path: Path, zaken: FakeZaken, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cases.db"
    store = SQLiteStore(db, ENGINE)
    lzn_case(store, "lzn-1")
    lzn_case(store, "lzn-2", close=False)
    store.close()
    monkeypatch.setenv("ZGW_SECRET", SECRET)
    argv = ["sync", "zgw", str(WORKFLOWS), "--store", str(db), "--base-url", zaken.base_url,
            "--catalogus", CATALOGUS, "--client-id", CLIENT_ID, "--secret-env", "ZGW_SECRET",
            "--rsin", RSIN]
    zaken.fail("POST", "/zaken", status=503)
    assert main(argv) == 1
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(r["case_id"], r["ok"]) for r in lines] == [("lzn-1", False), ("lzn-2", True)]
    assert lines[0]["failure"]["status"] == 503
    assert "lzn-1" in err and "503" in err and SECRET not in out + err
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["ok"] for line in out.splitlines()] == [True, True]
    assert len(zaken.zaken) == 2 and zaken.invalid == []
    count = len(zaken.received)
    assert main([*argv, "--case", "lzn-1"]) == 0
    assert json.loads(capsys.readouterr().out)["sent"] == []
    assert len(zaken.received) == count
    assert_no_personal_data(zaken)

    monkeypatch.delenv("ZGW_SECRET")
    assert main(argv) == 2
    assert "ZGW_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("ZGW_SECRET", SECRET)
    assert main([*argv[:-1], "123"]) == 2
    assert "RSIN" in capsys.readouterr().err
    assert main([*argv, "--case", "nergens"]) == 1
    assert json.loads(capsys.readouterr().out)["failure"]["code"] == "not_found"
    assert main([a for a in argv if a != "--secret-env" and a != "ZGW_SECRET"]) == 2
