"""Retention under the Archiefwet: which stored cases are due for destruction, from their
workflow's ``zgw:`` results (the Selectielijst's archiefnominatie and bewaartermijn).

A closed case whose result says ``archiefnominatie: vernietigen`` is due from its
archiefactiedatum (zrc-021: its brondatum plus the archiefactietermijn; see
`zorgflow.zgw.archiving`). It is destroyed whole, or, where the result says
``vernietiging: persoonsgegevens``, only its personal data. Cases kept for good
(``blijvend_bewaren``), open cases and cases whose date cannot be derived are never due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from ..engine import Case
from ..model import Workflow
from ..store import Destruction
from ..zgw import archiving


@dataclass(frozen=True, slots=True)
class RetentionDue:
    """A stored case whose retention has ended, and what is to be destroyed of it. No
    personal data."""

    case_id: str
    workflow_id: str
    workflow_version: int
    #: the case's ZGW result (its ResultaatType's omschrijving)
    result: str
    closed_at: datetime
    archiefactiedatum: date
    #: ``case``: the whole case; ``personal_data``: only its personal data
    scope: Literal["case", "personal_data"]

    def destruction(self, at: datetime, actor: str) -> Destruction:
        """The destruction log's row for destroying this at ``at`` by ``actor`` (an id)."""
        return Destruction(self.case_id, self.workflow_id, self.workflow_version, self.result,
                           self.closed_at, self.archiefactiedatum, self.scope, at, actor)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates and times as ISO 8601 text."""
        return {"case_id": self.case_id, "workflow_id": self.workflow_id,
                "workflow_version": self.workflow_version, "result": self.result,
                "closed_at": self.closed_at.isoformat(),
                "archiefactiedatum": self.archiefactiedatum.isoformat(), "scope": self.scope}


def due_for_destruction(workflow: Workflow, case: Case, today: date) -> RetentionDue | None:
    """What is due of ``case`` on ``today`` (None: nothing). A case whose personal data was
    destroyed already is not due again."""
    found = archiving(workflow, case)
    if (found is None or found.archiefnominatie != "vernietigen"
            or found.archiefactiedatum is None or found.archiefactiedatum > today):
        return None
    scope: Literal["case", "personal_data"] = (
        "personal_data" if found.result.vernietiging == "persoonsgegevens" else "case")
    if scope == "personal_data" and not keeps_personal_data(workflow, case):
        return None
    return RetentionDue(case.id, case.workflow_id, case.workflow_version,
                        found.result.omschrijving, found.closed_at, found.archiefactiedatum,
                        scope)


def keeps_personal_data(workflow: Workflow, case: Case) -> bool:
    """Whether the case holds a personal fact, or an entry of its history a personal value
    (of a fact its workflow marks personal, or of an event's personal data field)."""
    personal = {f for f, fact in workflow.facts.items() if fact.personal_data}
    if personal & set(case.facts):
        return True
    fields = {t.event: {name for name, d in t.data.items() if d.personal_data}
              for t in workflow.transitions}
    for entry in case.history:
        names = set(entry.data)
        if names & (personal | fields.get(entry.event, set())):
            return True
    return False
