"""ZGW (zaakgericht werken): a workflow's ``zgw:`` block as Catalogi API resources, and the
check of its archiving classes against a Selectielijst fixture. Internal: applications use
`zorgflow.export_zaaktype`; the command line ``zorgflow export zgw`` and ``zorgflow validate
--selectielijst``; a closed case's archiving (`archiving`: zrc-021)."""

from .archive import Archiving, add_period, archiving
from .export import export_zaaktype
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
    "add_period",
    "archiving",
    "check_selectielijst",
    "export_zaaktype",
    "read_selectielijst",
]
