"""JSON-ready views of a case, its history and a stored case's reference, for front ends and
APIs, with personal data shown only to the roles that may see it.

A workflow's ``visible_to:`` names the roles (organisational roles and case roles) that see
personal data; a personal fact may name its own (``visible_to:`` on the fact). An actor holds
an organisational role through `Actor.roles`, a case role only when the case assigned it to
him. For every other actor, each personal value — a fact marked ``personal_data``, an event's
data field so marked, a value in a history entry the workflow does not declare — is replaced
by `MASK`. A workflow without ``visible_to:`` shows personal data to nobody. A view is plain
JSON data (dicts, lists, text, numbers, booleans, None; times as ISO 8601 text), so
``json.dumps(view)`` works; `Case.to_dict` stays the complete form, for storage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..engine import Actor, Case, Engine, HistoryEntry
from ..errors import CaseMismatch, UnknownWorkflow
from ..model import Timer, Workflow
from ..model.values import to_json
from ..rules.expr import MASK
from ..store.base import CaseRef

__all__ = ["MASK", "case_view", "held_roles", "history_view", "ref_view"]

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_EMPTY: Mapping[str, str] = {}


def case_view(source: Engine | Workflow, case: Case, actor: Actor, *, history: bool = False,
              at: datetime | None = None) -> dict[str, Any]:
    """``case`` as ``actor`` may see it, as JSON data.

    Keys: ``id``, ``workflow`` (id, version, label), ``state``, ``state_label``, ``final``,
    ``version``, ``facts`` (a personal one is `MASK` unless the actor may see it; an unknown
    one is absent), ``masked`` (the facts masked), ``case_roles``, ``agreements`` (pending:
    event → role → actor id) and ``timers`` (signal → when it started).

    ``source`` is an `Engine` (which knows the case's workflow version) or the `Workflow` the
    case runs on (`CaseMismatch` otherwise). With an engine the view also has ``allowed``
    (the events the actor may fire now, at ``at``), ``timer_status`` (each timer's due time or
    why it has none; masked when it is worked out from personal data the actor may not see)
    and ``tasks``. With ``history=True``, ``history`` is the case's history as `history_view`
    shows it (with an engine, an entry of another workflow version shows a value only when
    both versions let the actor see it).
    """
    if not isinstance(case, Case):
        raise TypeError(f"expected a Case, got {type(case).__name__}")
    _check_actor(actor)
    engine = source if isinstance(source, Engine) else None
    workflow = _workflow_of(source, case.workflow_id, case.workflow_version)
    sight = _Sight(workflow, held_roles(workflow, case.case_roles, actor))
    facts: dict[str, Any] = {}
    masked: list[str] = []
    for name, value in case.facts.items():
        if sight.fact(name):
            facts[name] = to_json(value)
        else:
            facts[name] = MASK
            masked.append(name)
    state = workflow.states.get(case.state)
    view: dict[str, Any] = {
        "id": case.id,
        "workflow": {"id": case.workflow_id, "version": case.workflow_version,
                     "label": workflow.label},
        "state": case.state,
        "state_label": state.label if state is not None else case.state,
        "final": state.final if state is not None else False,
        "version": case.version,
        "facts": facts,
        "masked": masked,
        "case_roles": dict(case.case_roles),
        "agreements": {event: dict(roles) for event, roles in case.agreements.items()},
        "timers": {signal: started.isoformat() for signal, started in case.timers.items()},
    }
    if engine is not None:
        view["allowed"] = engine.allowed(case, actor, at)
        timers = {t.signal: t for t in workflow.all_timers}
        view["timer_status"] = [
            _timer_status(status.signal, status.label, status.due_at, status.reason,
                          timers.get(status.signal), sight)
            for status in engine.timer_status(case)]
        view["tasks"] = [
            {"id": t.id, "label": t.label, "role": t.role, "opened_at": t.opened_at.isoformat(),
             "due_at": _time(t.due_at), "done": t.done, "done_at": _time(t.done_at),
             "done_by": t.done_by}
            for t in engine.tasks(case)]
    if history:
        view["history"] = _entries(engine, workflow, case.history, sight)
    return view


def history_view(workflow: Workflow, entries: Iterable[HistoryEntry], actor: Actor, *,
                 case_roles: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """History entries as ``actor`` may see them: each in `HistoryEntry.to_dict` form, with
    the personal values in its ``data`` (the facts a ``start`` or ``set_facts`` set, the
    personal data fields of a ``fire`` or ``agree``) and ``dossier`` replaced by `MASK`,
    unless the actor holds a role that may see them. ``case_roles`` are the case's (case role
    → actor id): without them, the actor holds no case role. A value the workflow does not
    declare is shown only to an actor who may see all personal data."""
    _check_actor(actor)
    sight = _Sight(workflow, held_roles(workflow, case_roles or _EMPTY, actor))
    return _entries(None, workflow, entries, sight)


def ref_view(ref: CaseRef, source: Engine | Workflow | None = None,
             actor: Actor | None = None) -> dict[str, Any]:
    """A `zorgflow.store.CaseRef` (what ``find`` and ``due`` list) as JSON data: ``id``,
    ``workflow`` (id, version), ``state``, ``version`` and ``next_due_at`` (ISO text or
    None). It holds no facts; but a timer may count from a personal fact (a birth date), and
    then the due time tells it. Given ``source`` (an `Engine`, or the `Workflow` the case runs
    on) and ``actor``, ``next_due_at`` is `MASK` when some timer of the workflow counts from
    personal data that ``actor``'s organisational roles may not see (a reference does not say
    who holds the case roles)."""
    due = _time(ref.next_due_at)
    if source is not None and due is not None:
        workflow = _workflow_of(source, ref.workflow_id, ref.workflow_version)
        if actor is not None:
            _check_actor(actor)
        sight = _Sight(workflow, frozenset() if actor is None
                       else held_roles(workflow, _EMPTY, actor))
        if not all(sight.timer(t) for t in workflow.all_timers):
            due = MASK
    return {"id": ref.id,
            "workflow": {"id": ref.workflow_id, "version": ref.workflow_version},
            "state": ref.state, "version": ref.version, "next_due_at": due}


def held_roles(workflow: Workflow, case_roles: Mapping[str, str], actor: Actor
               ) -> frozenset[str]:
    """The roles of ``workflow`` that ``actor`` holds in a case with these case roles: his
    organisational roles, and each case role the case assigned to him (a case role in his own
    `Actor.roles` does not count, as the engine does not count it)."""
    held = {r for r in actor.roles
            if r in workflow.roles and not workflow.roles[r].case_role}
    held.update(r for r, holder in case_roles.items()
                if holder == actor.id and r in workflow.roles and workflow.roles[r].case_role)
    return frozenset(held)


# -- what one actor sees -------------------------------------------------------------------------


class _Sight:
    """Which values of one workflow version one actor sees, given the roles he holds."""

    __slots__ = ("events", "everything", "facts", "held", "personal_facts")

    def __init__(self, workflow: Workflow, held: frozenset[str]) -> None:
        self.held = held
        sees_workflow = bool(held & workflow.visible_to)
        own = [f for f in workflow.facts.values()
               if f.personal_data and f.visible_to is not None]
        #: sees every personal value, so also what the workflow does not declare
        self.everything = sees_workflow and all(held & f.visible_to for f in own
                                                if f.visible_to is not None)
        self.facts = {f.id: not f.personal_data or bool(
            held & (f.visible_to if f.visible_to is not None else workflow.visible_to))
            for f in workflow.facts.values()}
        self.personal_facts = frozenset(f.id for f in workflow.facts.values()
                                        if f.personal_data)
        self.events: dict[str, dict[str, bool]] = {}
        for t in workflow.transitions:
            # a personal data field is seen by the workflow's roles; when the event writes a
            # personal fact with its own visible_to, only by those that also see that fact
            narrower = [workflow.facts[name] for name in t.sets
                        if name in workflow.facts and workflow.facts[name].personal_data
                        and workflow.facts[name].visible_to is not None]
            sees_data = sees_workflow and all(self.facts[f.id] for f in narrower)
            fields = self.events.setdefault(t.event, {})
            for name, field in t.data.items():
                fields[name] = fields.get(name, True) and (sees_data or not field.personal_data)

    def fact(self, name: str) -> bool:
        """Whether a fact's value is shown (one the workflow does not declare: only to an
        actor who sees everything)."""
        return self.facts.get(name, self.everything)

    def entry_value(self, kind: str, event: str, name: str) -> bool:
        """Whether the value ``name`` of a history entry's data is shown."""
        if kind in ("fire", "agree"):
            return self.events.get(event, _EMPTY_FIELDS).get(name, self.everything)
        if kind == "signal" and name == "due_at":
            return True
        return self.fact(name)

    def timer(self, timer: Timer | None) -> bool:
        """Whether a timer's due time is shown: not when it is worked out from a personal
        fact the actor may not see (its anchor, an interval, its ``while:`` condition)."""
        if timer is None:
            return self.everything
        read = {d.fact for d in (*timer.after, *timer.offset) if d.fact is not None}
        if timer.anchor is not None:
            read.add(timer.anchor)
        if timer.while_ is not None:
            text = str(timer.while_)
            # a rule set may read any fact: then count them all
            read.update(self.personal_facts if "rules." in text else _NAME.findall(text))
        return all(self.fact(name) for name in read if name in self.personal_facts)


_EMPTY_FIELDS: dict[str, bool] = {}


def _entries(engine: Engine | None, workflow: Workflow, entries: Iterable[HistoryEntry],
             sight: _Sight) -> list[dict[str, Any]]:
    """The views of ``entries``. With an engine, an entry made on another version of the
    workflow shows a value only when that version and ``workflow`` both let the actor see it
    (what is personal may differ between versions)."""
    others: dict[int, _Sight | None] = {}
    result = []
    for entry in entries:
        if not isinstance(entry, HistoryEntry):
            raise TypeError(f"expected HistoryEntry items, got {type(entry).__name__}")
        sights = [sight]
        version = entry.workflow_version
        if engine is not None and version != workflow.version:
            if version not in others:
                others[version] = _other_sight(engine, workflow, version, sight)
            other = others[version]
            if other is not None:
                sights.append(other)
        result.append(_entry(entry, sights))
    return result


def _other_sight(engine: Engine, workflow: Workflow, version: int, sight: _Sight
                 ) -> _Sight | None:
    """What the actor sees under another loaded version of ``workflow`` (None: not loaded),
    holding the same roles."""
    try:
        older = engine.workflow(workflow.id, version)
    except UnknownWorkflow:
        return None
    return _Sight(older, sight.held)


def _entry(entry: HistoryEntry, sights: list[_Sight]) -> dict[str, Any]:
    raw = entry.to_dict()
    kind, event = raw["kind"], raw["event"]

    def shown(name: str) -> bool:
        return all(s.entry_value(kind, event, name) for s in sights)

    raw["data"] = {name: value if value is None or shown(name) else MASK
                   for name, value in raw["data"].items()}
    if "dossier" in raw:
        raw["dossier"] = {name: value if value is None or all(s.fact(name) for s in sights)
                          else MASK for name, value in raw["dossier"].items()}
    return raw


def _timer_status(signal: str, label: str, due_at: datetime | None, reason: str,
                  timer: Timer | None, sight: _Sight) -> dict[str, Any]:
    if not sight.timer(timer):
        return {"signal": signal, "label": label, "due_at": MASK, "reason": MASK}
    return {"signal": signal, "label": label, "due_at": _time(due_at), "reason": reason}


def _workflow_of(source: Engine | Workflow, workflow_id: str, version: int) -> Workflow:
    """The workflow version a case runs on: from an engine, or the given one if it is that
    version (`CaseMismatch` otherwise)."""
    if isinstance(source, Engine):
        return source.workflow(workflow_id, version)
    if not isinstance(source, Workflow):
        raise TypeError(f"expected an Engine or a Workflow, got {type(source).__name__}")
    if (source.id, source.version) != (workflow_id, version):
        raise CaseMismatch(f"the case runs on workflow '{workflow_id}' version {version}, "
                           f"not '{source.id}' version {source.version}")
    return source


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _check_actor(actor: Any) -> None:
    if not isinstance(actor, Actor):
        raise TypeError(f"actor must be a zorgflow.Actor, not {type(actor).__name__}")
