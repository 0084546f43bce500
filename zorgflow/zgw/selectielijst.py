"""The Selectielijst gemeenten (archiving classes), read from a fixture file, and the check of
a workflow's ``zgw:`` block against it.

The repository ships no copy of the list: ``zorgflow validate --selectielijst FILE`` (or
``ZORGFLOW_SELECTIELIJST``) names one, and without it only the form of the URLs is checked
(by the loader). The file is the Django fixture of open-zaak/vng-selectielijst
(``selectielijst_2020.json``): a list of ``selectielijst.procestype`` and
``selectielijst.resultaat`` records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import Problem
from ..model import Where, Workflow, ZgwResult
from ..model.zgw import PROCESTYPE_URL, RESULTAAT_URL

#: the fixture is some hundreds of KB; a file much larger is not one
_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SelectielijstKlasse:
    """A ``Resultaat`` of the Selectielijst: a class of case results and how to archive them."""

    uuid: str
    procestype: str
    #: the class's full number, e.g. ``3.1.5``
    nummer: str
    naam: str
    omschrijving: str
    #: ``vernietigen``, ``blijvend_bewaren`` or empty
    waardering: str
    #: e.g. ``nihil``, ``bestaansduur_procesobject`` or empty
    procestermijn: str
    #: an ISO 8601 duration (``P15Y``), or None
    bewaartermijn: str | None

    def title(self) -> str:
        """``3.1.5 Vastgesteld (Plan van aanpak WMO cliënt)``."""
        return f"{self.nummer} {self.naam.strip()}" + (
            f" ({self.omschrijving.strip()})" if self.omschrijving.strip() else "")


@dataclass(frozen=True, slots=True)
class Selectielijst:
    """The procestypen (uuid → ``nummer naam``) and classes (uuid → class) of one list."""

    file: str
    procestypen: Mapping[str, str]
    klassen: Mapping[str, SelectielijstKlasse]

    def klassen_of(self, procestype: str) -> list[SelectielijstKlasse]:
        """The classes of a procestype, in the list's order."""
        return [k for k in self.klassen.values() if k.procestype == procestype]


def read_selectielijst(path: str | Path) -> Selectielijst:
    """Read a Selectielijst fixture (the Django fixture of open-zaak/vng-selectielijst).
    Raises `ValueError` saying what is wrong with the file."""
    file = Path(path)
    try:
        size = file.stat().st_size
        text = None if size > _MAX_BYTES else file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{file}: no such file (the Selectielijst fixture, e.g. "
                         "selectielijst_2020.json)") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ValueError(f"{file}: cannot read the Selectielijst ({reason})") from None
    if text is None:
        raise ValueError(f"{file}: larger than {_MAX_BYTES // 1024 // 1024} MB; not a "
                         "Selectielijst fixture")
    try:
        records = json.loads(text)
    except ValueError:
        raise ValueError(f"{file}: not a JSON file; give the Selectielijst fixture (e.g. "
                         "selectielijst_2020.json)") from None
    if not isinstance(records, list):
        raise ValueError(f"{file}: not a Selectielijst fixture (a JSON list of "
                         "selectielijst.procestype and selectielijst.resultaat records)")
    procestypen: dict[int, tuple[str, str]] = {}  # pk -> (uuid, "nummer naam")
    resultaten: dict[int, Mapping[str, Any]] = {}
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("fields"), dict):
            continue
        fields: Mapping[str, Any] = record["fields"]
        if record.get("model") == "selectielijst.procestype":
            procestypen[record["pk"]] = (str(fields["uuid"]),
                                         f"{fields['nummer']} {fields['naam']}".strip())
        elif record.get("model") == "selectielijst.resultaat":
            resultaten[record["pk"]] = fields
    if not procestypen or not resultaten:
        raise ValueError(f"{file}: holds no selectielijst.procestype or no "
                         "selectielijst.resultaat records; give the Selectielijst fixture "
                         "(e.g. selectielijst_2020.json)")
    klassen: dict[str, SelectielijstKlasse] = {}
    try:
        for fields in resultaten.values():
            proces_uuid, proces_title = procestypen[fields["proces_type"]]
            parent = resultaten.get(fields["generiek_resultaat"]) \
                if fields.get("generiek_resultaat") else None
            nummer = ".".join(str(n) for n in (
                proces_title.split(" ", 1)[0],
                *((parent["nummer"],) if parent else ()), fields["nummer"]))
            klassen[str(fields["uuid"])] = SelectielijstKlasse(
                uuid=str(fields["uuid"]), procestype=proces_uuid, nummer=nummer,
                naam=str(fields.get("naam", "")), omschrijving=str(fields.get("omschrijving", "")),
                waardering=str(fields.get("waardering") or ""),
                procestermijn=str(fields.get("procestermijn") or ""),
                bewaartermijn=fields.get("bewaartermijn") or None)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{file}: a selectielijst.resultaat record lacks {exc}; not a "
                         "Selectielijst fixture") from None
    return Selectielijst(str(file), MappingProxyType({u: t for u, t in procestypen.values()}),
                         MappingProxyType(klassen))


def check_selectielijst(workflow: Workflow, selectielijst: Selectielijst) -> list[Problem]:
    """The problems of ``workflow``'s ``zgw:`` block against ``selectielijst``, each at the
    value in the file: a procestype or class that is not in the list, a class of another
    procestype (Catalogi API rule ztc-002), an archiefnominatie or archiefactietermijn that is
    not the class's, an afleidingswijze the class's procestermijn rules out (ztc-003)."""
    zgw = workflow.zgw
    if zgw is None:
        return []
    problems: list[Problem] = []
    procestype_match = PROCESTYPE_URL.match(zgw.selectielijst_procestype)
    procestype = procestype_match.group(2).lower() if procestype_match else ""
    if procestype_match and procestype not in selectielijst.procestypen:
        problems.append(_at(zgw.selectielijst_procestype_at, f"procestype {procestype} is not in "
                            f"the Selectielijst {selectielijst.file}: pick one of its "
                            f"procestypen ({_some(selectielijst.procestypen.values())})"))
    for result in zgw.results:
        problems += _check_result(result, procestype, selectielijst)
    return problems


def _check_result(result: ZgwResult, procestype: str, selectielijst: Selectielijst
                  ) -> list[Problem]:
    match = RESULTAAT_URL.match(result.selectielijstklasse)
    if not match:
        return []  # the loader has said so
    klasse = selectielijst.klassen.get(match.group(2).lower())
    of_procestype = selectielijst.klassen_of(procestype)
    if klasse is None:
        hint = (f"; the classes of the zaaktype's procestype: "
                f"{_some(k.title() for k in of_procestype)}" if of_procestype else "")
        return [_at(result.selectielijstklasse_at, f"result '{result.omschrijving}': class "
                    f"{match.group(2)} is not in the Selectielijst {selectielijst.file}"
                    f"{hint}")]
    problems = []
    if procestype in selectielijst.procestypen and klasse.procestype != procestype:
        problems.append(_at(result.selectielijstklasse_at, f"result '{result.omschrijving}': "
                            f"class {klasse.title()} belongs to procestype "
                            f"{selectielijst.procestypen.get(klasse.procestype, '?')}, not to "
                            f"the zaaktype's {selectielijst.procestypen[procestype]} (ztc-002): "
                            "pick a class of that procestype, or change selectielijst_procestype"))
    if klasse.waardering and result.archiefnominatie != klasse.waardering:
        problems.append(_at(result.archiefnominatie_at, f"result '{result.omschrijving}': the "
                            f"Selectielijst says '{klasse.waardering}' for class {klasse.title()}"
                            f": write 'archiefnominatie: {klasse.waardering}'"))
    if klasse.bewaartermijn and result.archiefactietermijn != klasse.bewaartermijn:
        problems.append(_at(result.archiefactietermijn_at, f"result '{result.omschrijving}': "
                            f"the Selectielijst keeps class {klasse.title()} for "
                            f"{klasse.bewaartermijn}: write 'archiefactietermijn: "
                            f"{klasse.bewaartermijn}'"))
    required = {"nihil": "afgehandeld", "ingeschatte_bestaansduur_procesobject": "termijn"}
    wanted = required.get(klasse.procestermijn)
    if wanted and result.brondatum.afleidingswijze != wanted:
        problems.append(_at(result.afleidingswijze_at, f"result '{result.omschrijving}': class "
                            f"{klasse.title()} has procestermijn '{klasse.procestermijn}', so "
                            f"the afleidingswijze must be '{wanted}' (ztc-003)"))
    return problems


def _at(where: Where, message: str) -> Problem:
    return Problem(where.file, where.line, where.column, message)


def _some(names: Any, shown: int = 8) -> str:
    items = list(names)
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more
