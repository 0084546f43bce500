"""The ``zgw:`` block of a workflow: what a ZGW ``ZaakType`` needs that the process itself does
not say (policy values, the generic role of each role, a result per way of ending a case with
its Selectielijst class and archiving, the facts exported as ``Eigenschap``pen).

Pure data, as the rest of the model; `zorgflow.zgw` turns it into Catalogi API resources. The
names of the fields are those of the Catalogi API 1.3 (in snake_case), so that each maps to
the attribute of the same name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from datetime import date
from typing import Any, Literal

from .._frozen import Frozen, record
from .where import NOWHERE, Where

#: ``OmschrijvingGeneriekEnum`` of the Catalogi API (RolType.omschrijvingGeneriek)
ROL_OMSCHRIJVING_GENERIEK = ("adviseur", "behandelaar", "belanghebbende", "beslisser",
                             "initiator", "klantcontacter", "zaakcoordinator", "mede_initiator")
#: ``VertrouwelijkheidaanduidingEnum``
VERTROUWELIJKHEIDAANDUIDING = ("openbaar", "beperkt_openbaar", "intern", "zaakvertrouwelijk",
                               "vertrouwelijk", "confidentieel", "geheim", "zeer_geheim")
#: ``ArchiefnominatieEnum``
ARCHIEFNOMINATIE = ("blijvend_bewaren", "vernietigen")
#: ``AfleidingswijzeEnum`` (brondatumArchiefprocedure.afleidingswijze)
AFLEIDINGSWIJZE = ("afgehandeld", "ander_datumkenmerk", "eigenschap", "gerelateerde_zaak",
                   "hoofdzaak", "ingangsdatum_besluit", "termijn", "vervaldatum_besluit",
                   "zaakobject")

class LazyPattern:
    """A regular expression compiled the first time it is matched: ``import zorgflow`` does
    not pay for the forms of the ZGW block, which most workflows never use."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled: re.Pattern[str] | None = None

    def match(self, text: str) -> re.Match[str] | None:
        """``re.match`` of the pattern on ``text``."""
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.source)
        return compiled.match(text)


#: an ISO 8601 duration as the Catalogi API writes them (``P10Y``, ``P6M``, ``P42D``, ``PT8H``)
DURATION = LazyPattern(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
#: an http(s) URL: scheme, host, optional path; no spaces
URL = LazyPattern(r"^https?://[^\s/?#]+(/[^\s]*)?$")


def resource_url(collection: str) -> LazyPattern:
    """The form of the URL of one resource of an API collection: ``…/<collection>/<uuid>``;
    group 1 is the API root (up to the collection), group 2 the UUID."""
    return LazyPattern(rf"^(https?://[^\s/?#]+(?:/[^\s?#]*)?)/{collection}/({_UUID})/?$")


CATALOGUS_URL = resource_url("catalogussen")
PROCESTYPE_URL = resource_url("procestypen")
RESULTAAT_URL = resource_url("resultaten")
RESULTAATTYPEOMSCHRIJVING_URL = resource_url("resultaattypeomschrijvingen")

#: the most characters the Catalogi API takes in each exported text attribute
MAX_LENGTH: Mapping[str, int] = {
    "identificatie": 50, "omschrijving": 80, "onderwerp": 80, "handeling_initiator": 20,
    "handeling_behandelaar": 20, "verantwoordelijke": 50, "referentieproces.naam": 80,
    "referentieproces.link": 200, "selectielijst_procestype": 200,
    "eindstatus.omschrijving": 80, "eindstatus.statustekst": 1000,
    "statustype.omschrijving": 80, "roltype.omschrijving": 100,
    "resultaattype.omschrijving": 30, "eigenschap.naam": 20, "eigenschap.definitie": 255,
    "eigenschap.toelichting": 1000, "trefwoord": 30, "verantwoordingsrelatie": 40,
    "brondatum.datumkenmerk": 80, "brondatum.registratie": 80,
}

Archiefnominatie = Literal["blijvend_bewaren", "vernietigen"]


@record
class ZgwRole(Frozen):
    """The RolType of a role: its generic description (``omschrijving_generiek``) and the
    text shown (``omschrijving``; default: the role's label)."""

    role: str
    omschrijving_generiek: str
    omschrijving: str = ""
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class ZgwBrondatum(Frozen):
    """``brondatumArchiefprocedure``: from which date the archiving term runs."""

    afleidingswijze: str
    procestermijn: str | None = None
    datumkenmerk: str | None = None
    einddatum_bekend: bool | None = None
    objecttype: str | None = None
    registratie: str | None = None


@record
class ZgwResult(Frozen):
    """A ResultaatType, and the ways of ending a case it stands for: a case that enters one
    of ``states`` (by one of ``events``, when given; with its data field ``data_field`` at
    one of ``data_values``, when given) has this result. The first result of the block that
    matches is the case's."""

    omschrijving: str
    states: tuple[str, ...]
    resultaattypeomschrijving: str
    selectielijstklasse: str
    archiefnominatie: str
    brondatum: ZgwBrondatum
    events: tuple[str, ...] = ()
    data_field: str | None = None
    data_values: tuple[Any, ...] = ()
    archiefactietermijn: str | None = None
    toelichting: str = ""
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""
    #: where the result, and its values the Selectielijst decides, stand in the file
    where: Where = NOWHERE
    selectielijstklasse_at: Where = NOWHERE
    archiefnominatie_at: Where = NOWHERE
    archiefactietermijn_at: Where = NOWHERE
    afleidingswijze_at: Where = NOWHERE
    #: what retention destroys when the archiefactiedatum has come (``vernietiging:``): the
    #: whole case (``zaak``) or only its personal data (``persoonsgegevens``)
    vernietiging: str = "zaak"

    def matches(self, state: str, event: str, data: Mapping[str, Any]) -> bool:
        """Whether a case entering ``state`` by ``event`` with ``data`` has this result."""
        if state not in self.states or (self.events and event not in self.events):
            return False
        return self.data_field is None or (self.data_field in data
                                           and data[self.data_field] in self.data_values)


@record
class ZgwProperty(Frozen):
    """A fact exported as an ``Eigenschap`` (the allow-list)."""

    fact: str
    naam: str
    definitie: str
    toelichting: str = ""
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""


@record
class Zgw(Frozen):
    """The ``zgw:`` block: the policy values of the workflow's ZaakType and how its roles,
    final states and facts map to RolTypen, ResultaatTypen and Eigenschappen."""

    catalogus: str
    identificatie: str
    omschrijving: str
    doel: str
    aanleiding: str
    onderwerp: str
    handeling_initiator: str
    handeling_behandelaar: str
    doorlooptijd: str
    vertrouwelijkheidaanduiding: str
    indicatie_intern_of_extern: str
    opschorting_en_aanhouding_mogelijk: bool
    verlenging_mogelijk: bool
    publicatie_indicatie: bool
    producten_of_diensten: tuple[str, ...]
    referentieproces_naam: str
    verantwoordelijke: str
    begin_geldigheid: date
    versiedatum: date
    selectielijst_procestype: str
    roles: Mapping[str, ZgwRole] = field(default_factory=dict)
    results: tuple[ZgwResult, ...] = ()
    properties: tuple[ZgwProperty, ...] = ()
    toelichting: str = ""
    servicenorm: str | None = None
    verlengingstermijn: str | None = None
    publicatietekst: str = ""
    trefwoorden: tuple[str, ...] = ()
    verantwoordingsrelatie: tuple[str, ...] = ()
    referentieproces_link: str | None = None
    einde_geldigheid: date | None = None
    eindstatus_omschrijving: str = "Afgehandeld"
    eindstatus_statustekst: str = ""
    cite: str = ""
    #: why this was chosen where the sources are silent (``assumption:``)
    assumption: str = ""
    where: Where = NOWHERE
    selectielijst_procestype_at: Where = NOWHERE

    def result_of(self, state: str, event: str, data: Mapping[str, Any]) -> ZgwResult | None:
        """The result of a case that entered the final ``state`` by ``event`` with ``data``:
        the first that matches (None when none does; the loader makes sure one does for
        every way into a final state)."""
        return next((r for r in self.results if r.matches(state, event, data)), None)
