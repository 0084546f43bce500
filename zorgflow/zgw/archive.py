"""A closed case's archiving, as the Zaken API derives it (rule zrc-021): its result (the
``zgw:`` block's first result that matches how it ended), its archiefnominatie and its
archiefactiedatum (the brondatum plus the result's archiefactietermijn).

The brondatum follows the result's ``brondatum.afleidingswijze``: ``afgehandeld`` is the day
the case was closed (its einddatum, in Europe/Amsterdam), ``termijn`` that day plus the
``procestermijn``, ``eigenschap`` the date fact exported as the Eigenschap named in
``datumkenmerk``; ``ander_datumkenmerk`` is set by hand (zrc-021), so no date is derived. When
no date can be derived none is set, as zrc-021 says. Retention (destroying what is due) and
the zaak sync both read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..engine import Case, HistoryEntry
from ..model import Workflow, ZgwResult
from ..model.calendar import add_months, local_date, parse_date
from ..model.zgw import LazyPattern

_PERIOD = LazyPattern(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


@dataclass(frozen=True, slots=True)
class Archiving:
    """How a closed case is archived."""

    result: ZgwResult
    #: the history entry that closed it (entered its final state)
    closing: HistoryEntry
    #: the day it was closed, in Europe/Amsterdam (the Zaak's einddatum)
    einddatum: date
    archiefnominatie: str
    #: None when it cannot be derived (zrc-021: then no date is set)
    brondatum: date | None
    archiefactiedatum: date | None

    @property
    def closed_at(self) -> datetime:
        """When the case was closed."""
        at: datetime = self.closing.at
        return at


def add_period(day: date, period: str) -> date:
    """``day`` plus an ISO 8601 period of years, months, weeks and days (``P20Y``, ``P1Y6M``,
    ``P42D``); a month end stays within its month (31 January + P1M is 28 or 29 February).
    `ValueError` for a period with a time part or in another form."""
    match = _PERIOD.match(period)
    if not match or period == "P":
        raise ValueError(f"{period!r} is not a period of years, months, weeks and days "
                         "(P20Y, P6M, P42D)")
    years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
    return add_months(day, 12 * years + months) + timedelta(weeks=weeks, days=days)


def closing_entry(workflow: Workflow, case: Case) -> HistoryEntry | None:
    """The entry that brought the case into the final state it is in; None for a case that
    is not in a final state."""
    if not workflow.states[case.state].final:
        return None
    for entry in reversed(case.history):
        if entry.from_state != entry.to_state and entry.to_state == case.state:
            return entry
    return None


def archiving(workflow: Workflow, case: Case) -> Archiving | None:
    """The archiving of ``case`` (of ``workflow``, which has a ``zgw:`` block); None when the
    workflow has no such block or the case is not closed."""
    if workflow.zgw is None:
        return None
    closing = closing_entry(workflow, case)
    if closing is None:
        return None
    result = workflow.zgw.result_of(case.state, closing.event, closing.data)
    if result is None:  # the loader sees to it that every way into a final state has one
        return None
    einddatum = local_date(closing.at)
    brondatum = _brondatum(workflow, result, case, einddatum)
    actiedatum = None
    if brondatum is not None and result.archiefactietermijn:
        try:
            actiedatum = add_period(brondatum, result.archiefactietermijn)
        except ValueError:  # after the year 9999: no date can be set
            actiedatum = None
    return Archiving(result, closing, einddatum, result.archiefnominatie, brondatum, actiedatum)


def _brondatum(workflow: Workflow, result: ZgwResult, case: Case, einddatum: date
               ) -> date | None:
    how = result.brondatum
    if how.afleidingswijze == "afgehandeld":
        return einddatum
    if how.afleidingswijze == "termijn":
        try:
            return add_period(einddatum, how.procestermijn) if how.procestermijn else None
        except ValueError:
            return None
    if how.afleidingswijze == "eigenschap" and workflow.zgw is not None:
        fact = next((p.fact for p in workflow.zgw.properties if p.naam == how.datumkenmerk),
                    None)
        value = case.facts.get(fact) if fact is not None else None
        if value is None:
            return None
        try:
            return value if isinstance(value, date) else parse_date(value)
        except ValueError:
            return None
    return None  # ander_datumkenmerk: set by hand (zrc-021)
