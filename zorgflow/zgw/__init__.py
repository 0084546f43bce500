"""ZGW (zaakgericht werken): a workflow's ``zgw:`` block as Catalogi API resources, and the
check of its archiving classes against a Selectielijst fixture, a closed case's archiving
(`archiving`: zrc-021) and the zaak sync to a Zaken API (`zorgflow.zgw.sync`, not imported
here: it needs the stores, which ``import zorgflow`` does not load). Internal: applications
use `zorgflow.export_zaaktype`, `zorgflow.zaaktype_urls` and `zorgflow.service.ZaakSync`;
the command line ``zorgflow export zgw``, ``zorgflow sync zgw`` and ``zorgflow validate
--selectielijst``."""

from .archive import Archiving, add_period, archiving
from .export import ZaaktypeUrls, export_zaaktype, zaaktype_urls
from .selectielijst import (
    Selectielijst,
    SelectielijstKlasse,
    check_selectielijst,
    read_selectielijst,
)

__all__ = [
    "Archiving",
    "Selectielijst",
    "SelectielijstKlasse",
    "ZaaktypeUrls",
    "add_period",
    "archiving",
    "check_selectielijst",
    "export_zaaktype",
    "read_selectielijst",
    "zaaktype_urls",
]
