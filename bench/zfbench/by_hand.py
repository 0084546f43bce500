"""The LZN steps from ``casusregisseur_benoemd`` to ``afsluiten`` written out by hand in plain
Python, doing per step the work `engine.fire` does for them: the state, the actor's role (a
case role by who holds it in this case), the event data (required text, an enum, no unknown
fields), the guard, separation of duties, the fact a step sets, the timer and the tasks, the
joint decision, an overdue check, and a new immutable case with one more history record. No
explanations, no reasons beyond a code, nothing generic: what an application developer would
write for this one workflow. It is the floor a general engine cannot go below."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from .common import afsluitcriteria_by_hand

#: (state, facts, case roles, timers, tasks, agreements, history): a case, never changed
HandCase = tuple[str, dict[str, Any], dict[str, str], dict[str, datetime],
                 dict[str, tuple[Any, ...]], dict[str, dict[str, str]], tuple[tuple[Any, ...], ...]]

_TIMER_STATES = frozenset({"uitvoering", "stagnatie", "opgeschaald"})
_REASONS = frozenset({"zelfredzaamheid_vergroot", "zorg_bij_ketenpartner",
                      "overgedragen_ander_netwerk", "geen_perspectief"})
_MONTH = timedelta(days=28)  # the shortest month: a timer started since cannot be due yet


class Refused(Exception):
    """A step the hand-written rules do not allow (a code only)."""


def _overdue(case: HandCase, at: datetime) -> None:
    started = case[3].get("terugkoppeling_te_laat")
    if started is not None and started + _MONTH <= at:
        raise Refused("overdue: record the signal first")  # the floor never gets here


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if value.__class__ is not str or not value.strip():
        raise Refused(f"missing data {name}")
    return value


def _record(case: HandCase, at: datetime, actor: str, role: str, kind: str, event: str,
            to: str, data: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    history = case[6]
    return (*history, (len(history) + 1, at, actor, role, kind, event, case[0], to, data))


def benoemd(case: HandCase, actor: Any, data: Mapping[str, Any], at: datetime) -> HandCase:
    _overdue(case, at)
    if case[0] != "geagendeerd":
        raise Refused("wrong_state")
    if "lzn_coordinator" not in actor.roles:
        raise Refused("forbidden")
    regisseur, partner = _text(data, "casusregisseur"), _text(data, "ketenpartner")
    motivering = data.get("motivering")
    if len(data) > 2 + (motivering is not None) or (
            motivering is not None and motivering.__class__ is not str):
        raise Refused("invalid_data")
    facts = case[1]
    kandidaten = facts.get("kandidaten")
    if not (kandidaten is None or not kandidaten or motivering):
        # the guard asks the regiecriteria ranking only when candidates are known, which on
        # this path they are not (nor does fire work it out then): the floor leaves it out
        raise Refused("guard_false")
    if regisseur == actor.id:
        raise Refused("separation_of_duties")
    roles = {**case[2], "casusregisseur": regisseur}
    tasks = {tid: t for tid, t in case[4].items() if tid not in ("uitnodigen",
                                                                  "informatie_opvragen")}
    tasks["huisbezoek"] = (at, None, None, None)
    return ("uitvoering", {**facts, "casusregie_bij": partner}, roles,
            {"terugkoppeling_te_laat": at}, tasks, {},
            _record(case, at, actor.id, "lzn_coordinator", "fire", "casusregisseur_benoemd",
                    "uitvoering", ("casusregisseur", regisseur, "ketenpartner", partner)))


def _regisseur(case: HandCase, actor: Any) -> None:
    if case[2].get("casusregisseur") != actor.id:
        raise Refused("forbidden")


def voortgang(case: HandCase, actor: Any, at: datetime) -> HandCase:
    _overdue(case, at)
    if case[0] not in _TIMER_STATES:
        raise Refused("wrong_state")
    _regisseur(case, actor)
    return (case[0], case[1], case[2], {"terugkoppeling_te_laat": at}, case[4], case[5],
            _record(case, at, actor.id, "casusregisseur", "fire", "voortgang_teruggekoppeld",
                    case[0], ()))


def stagnatie(case: HandCase, actor: Any, at: datetime) -> HandCase:
    _overdue(case, at)
    if case[0] != "uitvoering":
        raise Refused("wrong_state")
    _regisseur(case, actor)
    return ("stagnatie", case[1], case[2], case[3], case[4], {},
            _record(case, at, actor.id, "casusregisseur", "fire", "stagnatie_gemeld",
                    "stagnatie", ()))


def plan_aangepast(case: HandCase, actor: Any, at: datetime) -> HandCase:
    """A joint decision of the coordinator and the casusregisseur: the first agreement is
    kept, the second takes effect."""
    _overdue(case, at)
    if case[0] != "stagnatie":
        raise Refused("wrong_state")
    if case[2].get("casusregisseur") == actor.id:
        role = "casusregisseur"
    elif "lzn_coordinator" in actor.roles:
        role = "lzn_coordinator"
    else:
        raise Refused("forbidden")
    agreed = case[5].get("plan_aangepast", {})
    if role in agreed:
        raise Refused("already_agreed")
    if not agreed:
        return (case[0], case[1], case[2], case[3], case[4],
                {"plan_aangepast": {role: actor.id}},
                _record(case, at, actor.id, role, "agree", "plan_aangepast", case[0], ()))
    return ("uitvoering", case[1], case[2], case[3], case[4], {},
            _record(case, at, actor.id, role, "fire", "plan_aangepast", "uitvoering", ()))


def set_facts(case: HandCase, actor: Any, given: Mapping[str, Any], at: datetime) -> HandCase:
    _overdue(case, at)
    if case[0] == "afgesloten":
        raise Refused("wrong_state")
    if "lzn_coordinator" not in actor.roles:  # the one role that may set these facts
        raise Refused("forbidden")
    for name, value in given.items():
        if name != "zorg_ketenpartner_adequaat" or value.__class__ is not bool:
            raise Refused("invalid_data")
    data = tuple(item for pair in given.items() for item in pair)
    return (case[0], {**case[1], **given}, case[2], case[3], case[4], case[5],
            _record(case, at, actor.id, "lzn_coordinator", "set_facts", "set_facts", case[0],
                    data))


def afsluiten(case: HandCase, actor: Any, data: Mapping[str, Any], at: datetime) -> HandCase:
    _overdue(case, at)
    if case[0] not in ("geagendeerd", "uitvoering", "stagnatie"):
        raise Refused("wrong_state")
    if "lzn_coordinator" not in actor.roles:
        raise Refused("forbidden")
    reason = data.get("afsluitreden")
    if reason not in _REASONS or len(data) != 1:
        raise Refused("invalid_data")
    if reason not in afsluitcriteria_by_hand(case[1]):
        raise Refused("guard_false")
    return ("afgesloten", case[1], case[2], {}, case[4], {},
            _record(case, at, actor.id, "lzn_coordinator", "fire", "afsluiten", "afgesloten",
                    ("afsluitreden", reason)))
