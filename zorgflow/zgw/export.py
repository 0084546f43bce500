"""A workflow with a ``zgw:`` block → the Catalogi API resources of its ZaakType, as one JSON
envelope (``zaaktype``, ``statustypen``, ``resultaattypen``, ``roltypen``, ``eigenschappen``).

Each resource has the attributes a client sends (the Catalogi API 1.3 ``readOnly`` ones, such
as ``url``, ``catalogus`` of a StatusType or ``omschrijvingGeneriek`` of a ResultaatType,
are left out). URLs are made from the catalogus URL with UUIDs derived from the catalogus,
the workflow id and version and the resource's name, so that an export is the same each time.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Problem, WorkflowError
from ..model import FactType, Workflow, Zgw, ZgwProperty, ZgwResult
from ..model.zgw import CATALOGUS_URL
from .selectielijst import check_selectielijst, read_selectielijst

#: the namespace of the UUIDs of exported resources
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://zorgflow/zgw-export")
#: the name of the eindstatus's UUID: no state id (lower-case identifiers) can be it
_EINDSTATUS = "*eindstatus"


@dataclass(frozen=True, slots=True)
class ZaaktypeUrls:
    """The URLs `export_zaaktype` gives the resources it exports (their ``url``, which the
    envelope leaves out as readOnly): what a zaak sync points at."""

    zaaktype: str
    #: state id -> its StatusType; every final state -> the one eindstatus
    statustypen: Mapping[str, str]
    #: the eindstatus (the StatusType with the highest volgnummer)
    eindstatus: str
    #: result omschrijving -> its ResultaatType
    resultaattypen: Mapping[str, str]
    #: role id -> its RolType
    roltypen: Mapping[str, str]
    #: fact id -> its Eigenschap
    eigenschappen: Mapping[str, str]


def zaaktype_urls(workflow: Workflow, catalogus: str | None = None) -> ZaaktypeUrls:
    """The URL of each resource `export_zaaktype` makes of ``workflow`` in ``catalogus``
    (default: its ``zgw:`` block's): the same, for the same catalogus, workflow id, version
    and names, every time. Raises as `export_zaaktype` does."""
    return _exporter(workflow, catalogus).urls()


def export_zaaktype(workflow: Workflow, catalogus: str | None = None, *,
                    selectielijst: str | Path | None = None) -> dict[str, Any]:
    """The ZGW ZaakType of ``workflow`` (its ``zgw:`` block) with its StatusTypen,
    ResultaatTypen, RolTypen and Eigenschappen, JSON-ready.

    ``catalogus`` replaces the block's catalogus URL (``…/catalogussen/<uuid>``; a
    `ValueError` when it is not one). With ``selectielijst`` (a Selectielijst fixture file)
    the results' classes are checked against it first. Raises `WorkflowError` for a workflow
    without a ``zgw:`` block or with classes the Selectielijst does not have.

    StatusTypen: every state that is not final, in the order of ``states:``, numbered from 1
    (``volgnummer``), then one eindstatus with the highest number for all final states (ZGW
    has exactly one).
    """
    export = _exporter(workflow, catalogus)
    if selectielijst is not None:
        problems = check_selectielijst(workflow, read_selectielijst(selectielijst))
        if problems:
            raise WorkflowError(problems)
    return export.envelope()


def _exporter(workflow: Workflow, catalogus: str | None) -> _Export:
    """The export of ``workflow`` into ``catalogus`` (None: its block's), checked."""
    zgw = workflow.zgw
    if zgw is None:
        raise WorkflowError([Problem(workflow.file or workflow.id, 0, 0,
                                     f"workflow '{workflow.id}' has no zgw: block, so it has no "
                                     "ZGW zaaktype: add one (catalogus, doel, aanleiding, …, "
                                     "rollen, resultaten; see docs/zgw.md)")])
    catalogus = zgw.catalogus if catalogus is None else catalogus
    match = CATALOGUS_URL.match(catalogus)
    if not match:
        raise ValueError(f"{catalogus!r} is not the URL of a catalogus in the Catalogi API: "
                         "give e.g. https://openzaak.example.nl/catalogi/api/v1/catalogussen/"
                         "<uuid>")
    return _Export(workflow, zgw, catalogus, match.group(1))


class _Export:
    def __init__(self, workflow: Workflow, zgw: Zgw, catalogus: str, root: str) -> None:
        self.workflow = workflow
        self.zgw = zgw
        self.catalogus = catalogus
        self.root = root
        self.zaaktype = self.url("zaaktypen", "zaaktype")

    def url(self, collection: str, name: str) -> str:
        """The URL of a resource: the same for the same catalogus, workflow, version and
        name."""
        key = f"{self.catalogus}|{self.workflow.id}|{self.workflow.version}|{collection}|{name}"
        return f"{self.root}/{collection}/{uuid.uuid5(_NAMESPACE, key)}"

    def urls(self) -> ZaaktypeUrls:
        eindstatus = self.url("statustypen", _EINDSTATUS)
        return ZaaktypeUrls(
            zaaktype=self.zaaktype,
            statustypen={s.id: eindstatus if s.final else self.url("statustypen", s.id)
                         for s in self.workflow.states.values()},
            eindstatus=eindstatus,
            resultaattypen={r.omschrijving: self.url("resultaattypen", r.omschrijving)
                            for r in self.zgw.results},
            roltypen={role: self.url("roltypen", role) for role in self.zgw.roles},
            eigenschappen={p.fact: self.url("eigenschappen", p.fact)
                           for p in self.zgw.properties})

    def envelope(self) -> dict[str, Any]:
        return {
            "zaaktype": self.zaaktype_resource(),
            "statustypen": self.statustypen(),
            "resultaattypen": [self.resultaattype(r) for r in self.zgw.results],
            "roltypen": [{"zaaktype": self.zaaktype, "omschrijving": r.omschrijving,
                          "omschrijvingGeneriek": r.omschrijving_generiek}
                         for r in self.zgw.roles.values()],
            "eigenschappen": [self.eigenschap(p) for p in self.zgw.properties],
        }

    def zaaktype_resource(self) -> dict[str, Any]:
        z = self.zgw
        reference: dict[str, Any] = {"naam": z.referentieproces_naam}
        if z.referentieproces_link:
            reference["link"] = z.referentieproces_link
        resource: dict[str, Any] = {
            "identificatie": z.identificatie,
            "omschrijving": z.omschrijving,
            "vertrouwelijkheidaanduiding": z.vertrouwelijkheidaanduiding,
            "doel": z.doel,
            "aanleiding": z.aanleiding,
            "toelichting": z.toelichting,
            "indicatieInternOfExtern": z.indicatie_intern_of_extern,
            "handelingInitiator": z.handeling_initiator,
            "onderwerp": z.onderwerp,
            "handelingBehandelaar": z.handeling_behandelaar,
            "doorlooptijd": z.doorlooptijd,
            "servicenorm": z.servicenorm,
            "opschortingEnAanhoudingMogelijk": z.opschorting_en_aanhouding_mogelijk,
            "verlengingMogelijk": z.verlenging_mogelijk,
            "verlengingstermijn": z.verlengingstermijn,
            "trefwoorden": list(z.trefwoorden),
            "publicatieIndicatie": z.publicatie_indicatie,
            "publicatietekst": z.publicatietekst,
            "verantwoordingsrelatie": list(z.verantwoordingsrelatie),
            "productenOfDiensten": list(z.producten_of_diensten),
            "selectielijstProcestype": z.selectielijst_procestype,
            "referentieproces": reference,
            "verantwoordelijke": z.verantwoordelijke,
            "catalogus": self.catalogus,
            "besluittypen": [],
            "deelzaaktypen": [],
            "deelzaaktypeIdentificaties": [],
            "gerelateerdeZaaktypen": [],
            "beginGeldigheid": z.begin_geldigheid.isoformat(),
            "eindeGeldigheid": z.einde_geldigheid.isoformat() if z.einde_geldigheid else None,
            "versiedatum": z.versiedatum.isoformat(),
        }
        # optional attributes without a value are left out rather than sent empty
        for key in ("toelichting", "servicenorm", "verlengingstermijn", "publicatietekst",
                    "eindeGeldigheid"):
            if not resource[key]:
                del resource[key]
        return resource

    def statustypen(self) -> list[dict[str, Any]]:
        open_states = [s for s in self.workflow.states.values() if not s.final]
        result = [{"omschrijving": s.label, "zaaktype": self.zaaktype, "volgnummer": n}
                  for n, s in enumerate(open_states, start=1)]
        eindstatus: dict[str, Any] = {"omschrijving": self.zgw.eindstatus_omschrijving,
                                      "zaaktype": self.zaaktype,
                                      "volgnummer": len(open_states) + 1}
        if self.zgw.eindstatus_statustekst:
            eindstatus["statustekst"] = self.zgw.eindstatus_statustekst
        return [*result, eindstatus]

    def resultaattype(self, r: ZgwResult) -> dict[str, Any]:
        b = r.brondatum
        brondatum: dict[str, Any] = {"afleidingswijze": b.afleidingswijze}
        for key, value in (("procestermijn", b.procestermijn), ("datumkenmerk", b.datumkenmerk),
                           ("einddatumBekend", b.einddatum_bekend),
                           ("objecttype", b.objecttype), ("registratie", b.registratie)):
            if value is not None:
                brondatum[key] = value
        resource: dict[str, Any] = {
            "zaaktype": self.zaaktype,
            "omschrijving": r.omschrijving,
            "resultaattypeomschrijving": r.resultaattypeomschrijving,
            "selectielijstklasse": r.selectielijstklasse,
            "archiefnominatie": r.archiefnominatie,
            "brondatumArchiefprocedure": brondatum,
        }
        if r.archiefactietermijn:
            resource["archiefactietermijn"] = r.archiefactietermijn
        if r.toelichting:
            resource["toelichting"] = r.toelichting
        return resource

    def eigenschap(self, p: ZgwProperty) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "naam": p.naam,
            "definitie": p.definitie,
            "specificatie": _specificatie(self.workflow.facts[p.fact].type),
            "zaaktype": self.zaaktype,
        }
        if p.toelichting:
            resource["toelichting"] = p.toelichting
        return resource


def _specificatie(t: FactType) -> dict[str, Any]:
    """How a fact's values are written as an Eigenschap: ``formaat``, ``lengte`` (a string,
    as the API has it), ``kardinaliteit`` and, for a fixed set, ``waardenverzameling``.
    Booleans are written ``true``/``false``; dates as the Catalogi API's rule ztc-015 says
    (``datum``: 8 characters, ``datum_tijd``: 14)."""
    if t.name == "boolean":
        return {"formaat": "tekst", "lengte": "5", "kardinaliteit": "1",
                "waardenverzameling": ["true", "false"]}
    if t.name == "enum":
        return {"formaat": "tekst", "lengte": str(max(len(v) for v in t.values)),
                "kardinaliteit": "1", "waardenverzameling": list(t.values)}
    if t.name == "date":
        return {"formaat": "datum", "lengte": "8", "kardinaliteit": "1"}
    if t.name == "datetime":
        return {"formaat": "datum_tijd", "lengte": "14", "kardinaliteit": "1"}
    if t.name == "integer" and t.minimum is not None and t.maximum is not None:
        digits = max(len(str(int(t.minimum))), len(str(int(t.maximum))))
        return {"formaat": "getal", "lengte": str(digits), "kardinaliteit": "1"}
    # an integer without bounds, or a number: as many characters as a float needs
    return {"formaat": "getal", "lengte": "20", "kardinaliteit": "1"}
