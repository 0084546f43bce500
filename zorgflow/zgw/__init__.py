"""ZGW (zaakgericht werken): a workflow's ``zgw:`` block as Catalogi API resources, and the
check of its archiving classes against a Selectielijst fixture. Internal: applications use
`zorgflow.export_zaaktype`; the command line ``zorgflow export zgw`` and ``zorgflow validate
--selectielijst``."""

from .export import export_zaaktype
from .selectielijst import (
    Selectielijst,
    SelectielijstKlasse,
    check_selectielijst,
    read_selectielijst,
)

__all__ = [
    "Selectielijst",
    "SelectielijstKlasse",
    "check_selectielijst",
    "export_zaaktype",
    "read_selectielijst",
]
