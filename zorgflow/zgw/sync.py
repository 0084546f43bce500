"""The zaak sync: a stored case's history as Zaken API 1.7 calls, so that the zaakregistratie
(Open Zaak or another) holds the case as a ``Zaak``.

What is sent, in this order, each once:

- the ``Zaak`` (``identificatie`` = the case id, ``bronorganisatie`` and
  ``verantwoordelijkeOrganisatie`` = the configured RSIN, the zaaktype, ``startdatum``), after a
  look-up by identificatie and bronorganisatie: a zaak found is used, never a second made;
- a ``Rol`` per case role holder (``betrokkeneType`` medewerker, the actor id as the
  medewerker's ``identificatie``);
- a ``ZaakEigenschap`` per fact on the ``zgw:`` block's allow-list that has a value (a changed
  value is sent again, with a PATCH);
- a ``Status`` per state change, in history order (``datumStatusGezet`` = the entry's time);
  before the eindstatus, the ``Resultaat`` (zrc-007) and a PATCH of the Zaak with its
  ``archiefnominatie`` and ``archiefactiedatum`` (zrc-021, from `archiving`).

What was sent is kept in the store (`Store.mark_synced`, per case, per Zaken API and per
item), so a sync run again sends only what is new. A request that fails (an HTTP error, a
timeout, no answer) stops the case's sync and is reported (`SyncResult.failure`); nothing of it
is marked, and the next run resumes there. Before it sends more to a zaak that existed before
the run, the sync lists what the zaak has already (its statussen, rollen, resultaat,
eigenschappen), so that a request whose answer was lost is not repeated.

httpx is an optional dependency, imported when a sync first needs it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..engine import Case, Engine, HistoryEntry
from ..errors import CaseNotFound, MissingDependency, StoreError, UnknownWorkflow
from ..model import Workflow
from ..model.calendar import AMSTERDAM, local_date
from ..model.zgw import CATALOGUS_URL, URL
from ..store.base import Store, SyncMark, pages
from .archive import archiving, closing_entry
from .export import ZaaktypeUrls, zaaktype_urls

if TYPE_CHECKING:
    import httpx

#: the coordinate reference system the Zaken API wants named on its zaak operations
CRS = "EPSG:4326"
#: how many cases `ZaakSync.sync_all` reads from the store at a time
_PAGE = 200
#: invalid-param names as the Zaken API gives them (field paths): shown in a failure;
#: anything else the server puts there is left out, as it might hold a value
_PARAM_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
#: the marks that are not a resource: the case version synced completely
_VERSION = "version"


@dataclass(frozen=True, slots=True)
class SyncStep:
    """One request of a sync that the Zaken API accepted, or one resource it had already."""

    #: what it was, as the sync state names it (``zaak``, ``status:7``, ``resultaat``, …)
    item: str
    #: ``POST``, ``PATCH``, or ``GET`` for a resource found (made by an earlier run)
    method: str
    #: the resource's URL at the Zaken API
    url: str


@dataclass(frozen=True, slots=True)
class SyncFailure:
    """Why a case's sync stopped: the request that failed, the HTTP status and the problem's
    ``code`` (``timeout`` or ``unreachable`` without an answer); never personal data."""

    item: str
    #: what went wrong, where, and how to go on
    message: str
    #: the HTTP method and path (no query) of the request; None when none was sent
    method: str | None = None
    path: str | None = None
    #: the HTTP status of the answer; None without one
    status: int | None = None
    #: the Zaken API problem's ``code``, or the sync's own (``timeout``, ``unreachable``,
    #: ``bad_response``, ``no_zgw``, ``not_found``, ``store``, …)
    code: str = ""
    #: the names (never the values) of the fields the Zaken API refused
    invalid_params: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"item": self.item, "message": self.message, "method": self.method,
                "path": self.path, "status": self.status, "code": self.code,
                "invalid_params": list(self.invalid_params)}


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync did for one case: what it sent (``sent``), what it found at the Zaken API
    already and marked (``found``), and the failure that stopped it (None: the case is
    synced). No personal data."""

    case_id: str
    workflow_id: str
    #: the zaak's URL; None when it is not known (yet)
    zaak: str | None
    sent: tuple[SyncStep, ...] = ()
    found: tuple[SyncStep, ...] = ()
    failure: SyncFailure | None = None

    @property
    def ok(self) -> bool:
        """Whether everything of the case is synced now."""
        return self.failure is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"case_id": self.case_id, "workflow_id": self.workflow_id, "zaak": self.zaak,
                "ok": self.ok,
                "sent": [{"item": s.item, "method": s.method, "url": s.url} for s in self.sent],
                "found": [{"item": s.item, "url": s.url} for s in self.found],
                "failure": None if self.failure is None else self.failure.to_dict()}


class _Failed(Exception):
    def __init__(self, failure: SyncFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclass(slots=True)
class _Item:
    """One thing to send: its name in the sync state, what it is, and what is compared to see
    whether it changed (``digest``)."""

    name: str
    kind: str  # zaak, rol, eigenschap, status, resultaat, archief, eindstatus
    digest: str = ""
    entry: HistoryEntry | None = None
    role: str = ""
    actor: str = ""
    fact: str = ""
    body: dict[str, Any] = field(default_factory=dict)


class ZaakSync:
    """Syncs stored cases to a Zaken API (ZGW) as zaken; see the module's documentation.

    ``base_url`` is the Zaken API root (``https://…/zaken/api/v1``); ``catalogus`` the
    catalogus URL the zaaktypen were exported to (`export_zaaktype`; None: each workflow's
    ``zgw:`` block's); the zaaktype, statustypen, resultaattypen, roltypen and eigenschappen
    are the URLs `zaaktype_urls` gives. ``client_id`` and ``secret`` sign the JWT each request
    carries (HS256, as the ZGW APIs want); ``rsin`` is the organisation's RSIN, 9 digits
    passing the 11-test. ``timeout`` is the seconds a request may take; ``transport`` an
    httpx transport (for tests). Use it as a context manager, or `close` it.
    """

    def __init__(self, engine: Engine, store: Store, *, base_url: str, catalogus: str | None,
                 client_id: str, secret: str | bytes, rsin: str, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not isinstance(base_url, str) or not URL.match(base_url):
            raise ValueError(f"base_url {base_url!r} is not an http(s) URL: give the root of "
                             "the Zaken API, e.g. https://openzaak.example.nl/zaken/api/v1")
        if catalogus is not None and not CATALOGUS_URL.match(catalogus):
            raise ValueError(f"catalogus {catalogus!r} is not the URL of a catalogus in the "
                             "Catalogi API: give e.g. https://openzaak.example.nl/catalogi/"
                             "api/v1/catalogussen/<uuid>")
        if not client_id:
            raise ValueError("client_id is empty: give the client id the Zaken API knows "
                             "this application by")
        if not secret:
            raise ValueError("secret is empty: give the secret of the client id")
        if not valid_rsin(rsin):
            raise ValueError(f"rsin {rsin!r} is not an RSIN: 9 digits that pass the 11-test "
                             "(the organisation's RSIN from the Handelsregister)")
        if not timeout > 0:
            raise ValueError("timeout must be more than 0 seconds")
        self.engine = engine
        self.store = store
        self.base_url = base_url.rstrip("/")
        #: what the store's sync state is kept under: the Zaken API synced to
        self.target = self.base_url
        self.catalogus = catalogus
        self.client_id = client_id
        self._secret = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        self.rsin = rsin
        self.timeout = timeout
        self._transport = transport
        self._client: httpx.Client | None = None

    def __repr__(self) -> str:  # never the secret
        return f"ZaakSync(base_url={self.base_url!r}, client_id={self.client_id!r})"

    def __enter__(self) -> ZaakSync:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (the store stays open)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- what to sync ----------------------------------------------------------------------
    def sync_all(self, *, workflow_id: str | None = None) -> Iterator[SyncResult]:
        """Sync every stored case (of ``workflow_id``, if given) whose workflow has a
        ``zgw:`` block, by case id; one result per case, as each is done."""
        for refs in pages(self.store, workflow_id=workflow_id, size=_PAGE):
            for ref in refs:
                try:
                    workflow = self.engine.workflow(ref.workflow_id, ref.workflow_version)
                except UnknownWorkflow:
                    yield self.sync(ref.id)  # reports the missing workflow
                    continue
                if workflow.zgw is not None:
                    yield self.sync(ref.id)

    def sync(self, case_id: str) -> SyncResult:
        """Sync one stored case: send what its zaak does not have yet, in order, and mark it
        in the store. A failure stops it (`SyncResult.failure`); what was sent before it
        stays marked, the rest is sent by the next run."""
        run = _Run(self, case_id)
        try:
            run.go()
        except _Failed as failed:
            run.failure = failed.failure
        except StoreError as exc:  # its messages show no data
            run.failure = SyncFailure("", f"case {case_id}: the store failed: {exc}; run the "
                                      "sync again", code="store")
        return run.result()

    # -- HTTP ------------------------------------------------------------------------------
    def _http(self) -> httpx.Client:
        if self._client is None:
            try:
                import httpx
            except ImportError:  # pragma: no cover - depends on the installation
                raise MissingDependency("the zaak sync needs httpx: pip install 'zorgflow[zgw]'"
                                        ) from None
            self._client = httpx.Client(timeout=self.timeout, transport=self._transport,
                                        follow_redirects=False)
        return self._client

    def token(self) -> str:
        """A JWT for the next request: HS256 over the ZGW claims (``iss`` and ``client_id``
        the client id, ``iat`` now, ``user_id`` and ``user_representation`` the client id: a
        sync acts for no person)."""
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {"iss": self.client_id, "iat": int(time.time()),
                   "client_id": self.client_id, "client_identifier": self.client_id,
                   "user_id": self.client_id, "user_representation": self.client_id}
        signing = f"{_b64(json.dumps(header))}.{_b64(json.dumps(payload))}"
        signature = hmac.new(self._secret, signing.encode("ascii"), hashlib.sha256).digest()
        return f"{signing}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode('ascii')}"

    def _request(self, item: str, method: str, url: str, *, body: Any = None,
                 params: Mapping[str, str] | None = None) -> Any:
        """The JSON answer of one request; `_Failed` for no answer, an HTTP error or an answer
        that is not JSON."""
        import httpx

        path = self._path(url)
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        if re.fullmatch(r"/zaken(/[^/]+)?", path):  # the zaak operations want the CRS named
            headers["Accept-Crs"] = CRS
            headers["Content-Crs"] = CRS
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            answer = self._http().request(method, url, headers=headers, content=content,
                                          params=params)
        except httpx.TimeoutException:
            raise _Failed(SyncFailure(item, f"{method} {path}: the Zaken API did not answer "
                                      f"within {self.timeout:g} s; nothing was marked, the "
                                      "next sync tries again (and finds what was made)",
                                      method, path, None, "timeout")) from None
        except httpx.TransportError as exc:
            raise _Failed(SyncFailure(item, f"{method} {path}: the Zaken API could not be "
                                      f"reached ({type(exc).__name__}); check --base-url and "
                                      "the network; the next sync tries again",
                                      method, path, None, "unreachable")) from None
        if answer.status_code >= 400:
            code, names = _problem(answer)
            fields = f", fields {', '.join(names)}" if names else ""
            raise _Failed(SyncFailure(
                item, f"{method} {path}: the Zaken API answered {answer.status_code}"
                f"{f' ({code})' if code else ''}{fields}; nothing was marked, the next sync "
                "tries again", method, path, answer.status_code, code, names))
        if answer.status_code == 204 or not answer.content:
            return None
        try:
            return answer.json()
        except ValueError:
            raise _Failed(SyncFailure(item, f"{method} {path}: the Zaken API answered "
                                      f"{answer.status_code} without JSON; is --base-url the "
                                      "Zaken API root?", method, path, answer.status_code,
                                      "bad_response")) from None

    def _path(self, url: str) -> str:
        """A URL's path below the base URL (what a failure names)."""
        bare = url.split("?", 1)[0]
        return bare[len(self.base_url):] if bare.startswith(self.base_url) else bare

    def _own(self, item: str, url: Any, what: str) -> str:
        """``url`` if it is a resource of this Zaken API; the JWT is never sent elsewhere."""
        if not isinstance(url, str) or not url.startswith(self.base_url + "/"):
            raise _Failed(SyncFailure(item, f"the Zaken API answered with a {what} URL outside "
                                      f"{self.base_url}; is --base-url the root the API "
                                      "itself uses?", code="bad_response"))
        return url

    def _list(self, item: str, url: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every result of a list operation, page by page (a plain array too)."""
        found: list[dict[str, Any]] = []
        answer = self._request(item, "GET", url, params=params)
        while True:
            if isinstance(answer, list):
                return [r for r in answer if isinstance(r, dict)]
            if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
                raise _Failed(SyncFailure(item, f"GET {self._path(url)}: the Zaken API "
                                          "answered without a list of results",
                                          "GET", self._path(url), None, "bad_response"))
            found.extend(r for r in answer["results"] if isinstance(r, dict))
            following = answer.get("next")
            if not following:
                return found
            answer = self._request(item, "GET", self._own(item, following, "next page"))


class _Run:
    """One case's sync."""

    def __init__(self, sync: ZaakSync, case_id: str) -> None:
        self.sync = sync
        self.case_id = case_id
        self.workflow_id = ""
        self.zaak: str | None = None
        self.sent: list[SyncStep] = []
        self.found: list[SyncStep] = []
        self.failure: SyncFailure | None = None
        self.marks: dict[str, SyncMark] = {}

    def result(self) -> SyncResult:
        return SyncResult(self.case_id, self.workflow_id, self.zaak, tuple(self.sent),
                          tuple(self.found), self.failure)

    def fail(self, item: str, code: str, message: str) -> _Failed:
        return _Failed(SyncFailure(item, f"case {self.case_id}: {message}", code=code))

    def go(self) -> None:
        s = self.sync
        try:
            case = s.store.load(self.case_id)
        except CaseNotFound:
            raise self.fail("", "not_found", "no such case in the store") from None
        self.workflow_id = case.workflow_id
        try:
            workflow = s.engine.workflow(case.workflow_id, case.workflow_version)
        except UnknownWorkflow:
            raise self.fail("", "unknown_workflow", f"workflow {case.workflow_id} version "
                            f"{case.workflow_version} is not loaded: give the folder that "
                            "holds it") from None
        if workflow.zgw is None:
            raise self.fail("", "no_zgw", f"workflow {workflow.id} has no zgw: block, so its "
                            "cases have no zaaktype: add one (see docs/zgw.md)")
        self.marks = s.store.sync_state(self.case_id, s.target)
        self.zaak = self.marks["zaak"].reference if "zaak" in self.marks else None
        done = self.marks.get(_VERSION)
        if done is not None and done.digest == str(case.version):
            return  # nothing happened to the case since it was synced completely
        urls = zaaktype_urls(workflow, s.catalogus)
        items = self.plan(workflow, case, urls)
        pending = [i for i in items if self.pending(i)]
        if pending:
            existed = self.open_zaak(case, urls)
            if existed:
                self.reconcile(pending, urls)
            for item in pending:
                if self.pending(item):
                    self.send(item)
        s.store.mark_synced(self.case_id, s.target, _VERSION, self.zaak or "",
                            digest=str(case.version), at=_now())

    # -- the plan --------------------------------------------------------------------------
    def plan(self, workflow: Workflow, case: Case, urls: ZaaktypeUrls) -> list[_Item]:
        """Everything the zaak should have, in the order it is sent."""
        assert workflow.zgw is not None
        if workflow.states[case.state].final and "eindstatus" in self.marks:
            return []  # a closed zaak is not changed (zrc-007); see docs/zgw.md
        items: list[_Item] = []
        for role in workflow.roles:
            actor = case.case_roles.get(role)
            if actor is None or role not in urls.roltypen:
                continue
            if len(actor) > 254:
                raise self.fail(f"rol:{role}", "identificatie_too_long", f"the holder of case "
                                f"role {role} has an id of {len(actor)} characters; a "
                                "medewerker's identificatie has at most 254")
            items.append(_Item(f"rol:{role}:{actor}", "rol", role=role, actor=actor, body={
                "betrokkeneType": "medewerker", "roltype": urls.roltypen[role],
                "roltoelichting": workflow.roles[role].label[:1000],
                "betrokkeneIdentificatie": {"identificatie": actor}}))
        for prop in workflow.zgw.properties:
            fact = workflow.facts[prop.fact]
            if fact.personal_data or fact.special_category:  # the loader refuses these too
                continue
            waarde = _waarde(case.facts.get(prop.fact))
            if waarde is not None:
                items.append(_Item(f"eigenschap:{prop.fact}", "eigenschap", digest=waarde,
                                   fact=prop.fact, body={
                                       "eigenschap": urls.eigenschappen[prop.fact],
                                       "waarde": waarde}))
        closing = closing_entry(workflow, case)
        for entry in case.history:
            if entry.from_state == entry.to_state:
                continue
            statustype = urls.statustypen.get(entry.to_state)
            if statustype is None:
                raise self.fail(f"status:{entry.seq}", "unknown_state", f"history entry "
                                f"{entry.seq} entered state {entry.to_state}, which workflow "
                                f"{workflow.id} version {workflow.version} does not have")
            status = {"statustype": statustype, "datumStatusGezet": entry.at.isoformat()}
            if closing is not None and entry.seq == closing.seq:
                found = archiving(workflow, case)
                if found is None:  # the loader sees to it that every ending has a result
                    raise self.fail("resultaat", "no_result", "no zgw: result matches how "
                                    "the case ended")
                items.append(_Item("resultaat", "resultaat", body={
                    "resultaattype": urls.resultaattypen[found.result.omschrijving]}))
                archief: dict[str, Any] = {"archiefnominatie": found.archiefnominatie}
                if found.archiefactiedatum is not None:
                    archief["archiefactiedatum"] = found.archiefactiedatum.isoformat()
                items.append(_Item("archief", "archief", digest=_digest(archief),
                                   body=archief))
                items.append(_Item("eindstatus", "eindstatus", digest=str(entry.seq),
                                   entry=entry, body=status))
            else:
                items.append(_Item(f"status:{entry.seq}", "status", entry=entry, body=status))
        return items

    def pending(self, item: _Item) -> bool:
        mark = self.marks.get(item.name)
        return mark is None or mark.digest != item.digest

    # -- the zaak --------------------------------------------------------------------------
    def open_zaak(self, case: Case, urls: ZaaktypeUrls) -> bool:
        """Make sure the zaak exists: marked, found by identificatie, or made now. Whether it
        existed before this run."""
        s = self.sync
        mark = self.marks.get("zaak")
        if mark is not None:
            if mark.digest != urls.zaaktype:
                raise self.zaaktype_changed(case)
            self.zaak = mark.reference
            return True
        if len(case.id) > 40:
            raise self.fail("zaak", "identificatie_too_long", f"the case id has "
                            f"{len(case.id)} characters; a zaak's identificatie has at most "
                            "40: give cases shorter ids")
        found = s._list("zaak", f"{s.base_url}/zaken",
                        {"identificatie": case.id, "bronorganisatie": s.rsin})
        if found:
            zaak = found[0]
            if zaak.get("zaaktype") != urls.zaaktype:
                raise self.zaaktype_changed(case)
            url = s._own("zaak", zaak.get("url"), "zaak")
            self.mark("zaak", url, urls.zaaktype)
            self.found.append(SyncStep("zaak", "GET", url))
            self.zaak = url
            return True
        body = {"identificatie": case.id, "bronorganisatie": s.rsin,
                "verantwoordelijkeOrganisatie": s.rsin, "zaaktype": urls.zaaktype,
                "startdatum": local_date(case.history[0].at).isoformat()}
        answer = s._request("zaak", "POST", f"{s.base_url}/zaken", body=body)
        url = s._own("zaak", answer.get("url") if isinstance(answer, dict) else None, "zaak")
        self.mark("zaak", url, urls.zaaktype)
        self.sent.append(SyncStep("zaak", "POST", url))
        self.zaak = url
        return False

    def zaaktype_changed(self, case: Case) -> _Failed:
        return self.fail("zaak", "zaaktype_changed", f"its zaak has another zaaktype than "
                         f"workflow {case.workflow_id} version {case.workflow_version} in this "
                         "catalogus (was the case migrated, or the catalogus changed?); a zaak "
                         "cannot change its zaaktype: sync it by hand")

    # -- what an earlier run made but could not mark ---------------------------------------
    def reconcile(self, pending: list[_Item], urls: ZaaktypeUrls) -> None:
        """Mark what the zaak has already of ``pending`` (made by a request whose answer was
        lost), so that it is not sent twice."""
        s, zaak = self.sync, self.zaak
        assert zaak is not None
        kinds = {i.kind for i in pending}
        if kinds & {"status", "eindstatus"}:
            statussen = s._list("status", f"{s.base_url}/statussen", {"zaak": zaak})
            for item in pending:
                if item.kind not in ("status", "eindstatus") or item.entry is None:
                    continue
                for status in statussen:
                    if (status.get("statustype") == item.body["statustype"]
                            and _same_time(status.get("datumStatusGezet"), item.entry.at)):
                        statussen.remove(status)
                        self.found_item(item, s._own(item.name, status.get("url"), "status"))
                        break
        if "rol" in kinds:
            rollen = s._list("rol", f"{s.base_url}/rollen", {"zaak": zaak})
            for item in pending:
                if item.kind != "rol":
                    continue
                for rol in rollen:
                    who = rol.get("betrokkeneIdentificatie")
                    if (rol.get("roltype") == item.body["roltype"]
                            and rol.get("betrokkeneType") == "medewerker"
                            and isinstance(who, dict) and who.get("identificatie") == item.actor):
                        self.found_item(item, s._own(item.name, rol.get("url"), "rol"))
                        break
        if "resultaat" in kinds:
            for item in pending:
                if item.kind != "resultaat":
                    continue
                for resultaat in s._list("resultaat", f"{s.base_url}/resultaten",
                                         {"zaak": zaak}):
                    if resultaat.get("resultaattype") != item.body["resultaattype"]:
                        raise self.fail("resultaat", "other_result", "its zaak has a "
                                        "Resultaat of another resultaattype already; correct "
                                        "it in the zaakregistratie")
                    self.found_item(item, s._own(item.name, resultaat.get("url"), "resultaat"))
        if "eigenschap" in kinds:
            existing = {e.get("eigenschap"): e for e in s._list(
                "eigenschap", f"{zaak}/zaakeigenschappen", {})}
            for item in pending:
                if item.kind != "eigenschap" or item.name in self.marks:
                    continue
                there = existing.get(item.body["eigenschap"])
                if there is not None:
                    url = s._own(item.name, there.get("url"), "zaakeigenschap")
                    # marked with what it holds: a different value is PATCHed next
                    self.mark(item.name, url, str(there.get("waarde")))
                    self.found.append(SyncStep(item.name, "GET", url))

    def found_item(self, item: _Item, url: str) -> None:
        self.mark(item.name, url, item.digest)
        self.found.append(SyncStep(item.name, "GET", url))

    # -- sending ---------------------------------------------------------------------------
    def send(self, item: _Item) -> None:
        s, zaak = self.sync, self.zaak
        assert zaak is not None
        if item.kind == "archief":
            s._request(item.name, "PATCH", zaak, body=item.body)
            self.mark(item.name, zaak, item.digest)
            self.sent.append(SyncStep(item.name, "PATCH", zaak))
            return
        if item.kind == "eigenschap" and item.name in self.marks:
            url = self.marks[item.name].reference
            s._request(item.name, "PATCH", url, body={"waarde": item.body["waarde"]})
            self.mark(item.name, url, item.digest)
            self.sent.append(SyncStep(item.name, "PATCH", url))
            return
        collection = {"rol": "/rollen", "status": "/statussen", "eindstatus": "/statussen",
                      "resultaat": "/resultaten"}.get(item.kind)
        url = f"{s.base_url}{collection}" if collection else f"{zaak}/zaakeigenschappen"
        answer = s._request(item.name, "POST", url, body={"zaak": zaak, **item.body})
        made = s._own(item.name, answer.get("url") if isinstance(answer, dict) else None,
                      item.kind)
        self.mark(item.name, made, item.digest)
        self.sent.append(SyncStep(item.name, "POST", made))

    def mark(self, item: str, reference: str, digest: str) -> None:
        s = self.sync
        s.store.mark_synced(self.case_id, s.target, item, reference, digest=digest, at=_now())
        self.marks[item] = SyncMark(item, reference, digest, _now())


def valid_rsin(rsin: object) -> bool:
    """Whether ``rsin`` is an RSIN (or BSN) in form: 9 digits passing the 11-test."""
    if not isinstance(rsin, str) or not re.fullmatch(r"\d{9}", rsin):
        return False
    digits = [int(c) for c in rsin]
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0


def _waarde(value: Any) -> str | None:
    """A fact's value as a ZaakEigenschap's ``waarde``, as its Eigenschap's specificatie says
    (`export._specificatie`): booleans ``true``/``false``, dates ``YYYYMMDD`` and times
    ``YYYYMMDDhhmmss`` in Europe/Amsterdam (ztc-015); None for no value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(AMSTERDAM).strftime("%Y%m%d%H%M%S")
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    return str(value)


def _problem(answer: httpx.Response) -> tuple[str, tuple[str, ...]]:
    """The ``code`` of a Zaken API problem answer and the names of its invalid params; never
    its ``detail`` or ``title`` (they may quote the values sent)."""
    try:
        body = answer.json()
    except ValueError:
        return "", ()
    if not isinstance(body, dict):
        return "", ()
    code = body.get("code")
    params = body.get("invalidParams")
    names = tuple(p["name"] for p in params if isinstance(p, dict)
                  and isinstance(p.get("name"), str) and _PARAM_NAME.match(p["name"])
                  ) if isinstance(params, list) else ()
    return (code if isinstance(code, str) and _CODE.match(code) else ""), names


def _same_time(text: Any, at: datetime) -> bool:
    if not isinstance(text, str):
        return False
    try:
        other = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    if other.tzinfo is None:
        other = other.replace(tzinfo=UTC)
    return abs(other - at) < timedelta(seconds=1)


def _digest(body: Mapping[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")


def _now() -> datetime:
    return datetime.now(UTC)

