"""`describe`: a workflow as JSON data for front ends that build forms from it.

It says, for one workflow version: its states; each event with its label, the states it
leaves, who may fire it (or must agree to it), and its data as a JSON Schema (Draft 2020-12);
each role with the events it fires or agrees to, the tasks it completes and the facts it may
set by hand (as `Engine.set_facts` checks them: ``set_by``, the workflow's ``default_set_by``,
``set_in``, ``set_when``, ``set_by: []`` with ``written_by``); the facts with their types as
JSON Schema; and the tasks. Personal data is marked ``"x-personal-data": true`` in the
schemas. Nothing in it depends on a case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..model import DataField, Fact, FactType, Transition, Workflow
from ..model.values import to_json

#: the dialect of every JSON Schema `describe` writes
DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: the annotation that marks personal data in a schema
PERSONAL = "x-personal-data"


def describe(workflow: Workflow) -> dict[str, Any]:
    """``workflow`` as JSON-ready data (plain dicts, lists, text, numbers, booleans, None).

    Keys: ``workflow`` (id, version, label, description), ``start_by``, ``visible_to`` (the
    roles that see personal data), ``states``, ``events``, ``roles``, ``facts``,
    ``facts_schema`` (what ``set_facts`` accepts: every fact someone may set by hand, null
    forgetting one), ``tasks`` and ``timers``. Each list is in the order of the workflow file.

    An event's ``data`` is the JSON Schema of what `Engine.fire` accepts (for an event with
    several transitions: what one of them accepts; each transition's own is under
    ``transitions``). For an event decided together (``needs_agreement``) it is what the
    first agreement sends: a later one may send no data, and then agrees to the first's.
    """
    wf = workflow
    return {
        "workflow": {"id": wf.id, "version": wf.version, "label": wf.label,
                     "description": wf.description},
        "start_by": list(wf.start_by),
        "visible_to": _in_role_order(wf, wf.visible_to),
        "states": [{"id": s.id, "label": s.label, "initial": s.initial, "final": s.final,
                    "description": s.description, "shows_cycle": s.shows_cycle}
                   for s in wf.states.values()],
        "events": [_event(wf, event) for event in wf.events],
        "roles": [_role(wf, role) for role in wf.roles],
        "facts": [_fact(wf, fact) for fact in wf.facts.values()],
        "facts_schema": facts_schema(wf),
        "tasks": [{"id": t.id, "label": t.label, "role": t.role,
                   "opened_in": list(t.opened_in), "opened_by": list(t.opened_by),
                   "due": (f"next {t.due_cycle}" if t.due_cycle is not None
                           else str(t.due_after) if t.due_after is not None else None),
                   "overdue_signal": t.overdue_signal if t.due_cycle or t.due_after else None,
                   "description": t.description}
                  for t in wf.tasks.values()],
        "timers": [{"signal": t.signal, "label": t.label, "states": list(t.states)}
                   for t in wf.all_timers],
    }


# -- JSON Schema ---------------------------------------------------------------------------------


def type_schema(t: FactType) -> dict[str, Any]:
    """The JSON Schema of a value of type ``t``, as `zorgflow.model.values.coerce` accepts it
    in JSON form (dates as ``YYYY-MM-DD`` text, date-times as ISO text with an offset; a
    record of a list may leave fields out, never add one)."""
    name = t.name
    schema: dict[str, Any]
    if name in ("boolean", "string", "integer", "number"):
        schema = {"type": name}
        if name in ("integer", "number"):
            if t.minimum is not None:
                schema["minimum"] = t.minimum
            if t.maximum is not None:
                schema["maximum"] = t.maximum
    elif name == "date":
        schema = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    elif name == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif name == "enum":
        schema = {"type": "string", "enum": list(t.values)}
    elif t.fields:
        schema = {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "properties": {k: type_schema(f) for k, f in t.fields.items()}}}
    elif t.items is not None:
        schema = {"type": "array", "items": type_schema(t.items)}
    else:
        schema = {"type": "array"}
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also accepts null (an optional field left empty, a fact forgotten)."""
    result = dict(schema)
    result["type"] = [schema["type"], "null"]
    if "enum" in schema:
        result["enum"] = [*schema["enum"], None]
    return result


def _field_schema(field: DataField) -> dict[str, Any]:
    schema = type_schema(field.type)
    if field.required:
        if field.type.name == "string":
            schema["pattern"] = r"\S"  # text of only spaces counts as missing
    else:
        schema = _nullable(schema)
    schema["title"] = field.label
    if field.personal_data:
        schema[PERSONAL] = True
    return schema


def data_schema(data: Mapping[str, DataField]) -> dict[str, Any]:
    """The JSON Schema of an event's data: an object with the declared fields only, the
    required ones required (not null, text not blank); an optional one may be null."""
    return {
        "type": "object",
        "properties": {fid: _field_schema(f) for fid, f in data.items()},
        "required": [fid for fid, f in data.items() if f.required],
        "additionalProperties": False,
    }


def _fact_schema(fact: Fact) -> dict[str, Any]:
    schema = type_schema(fact.type)
    schema["title"] = fact.label
    if fact.personal_data:
        schema[PERSONAL] = True
    return schema


def facts_schema(workflow: Workflow) -> dict[str, Any]:
    """The JSON Schema of what ``set_facts`` (and ``start``'s ``facts``) accepts: an object of
    the facts someone may set by hand, each also null (which forgets it). Who may set which,
    and when, is in `describe`'s ``roles``."""
    return {
        "$schema": DIALECT,
        "type": "object",
        "properties": {f.id: _nullable(_fact_schema(f)) for f in workflow.facts.values()
                       if not f.events_only},
        "additionalProperties": False,
    }


# -- pieces --------------------------------------------------------------------------------------


def _event(wf: Workflow, event: str) -> dict[str, Any]:
    transitions = [t for t in wf.transitions if t.event == event]
    first = transitions[0]
    schemas = [data_schema(t.data) for t in transitions]
    data = schemas[0] if all(s == schemas[0] for s in schemas) else {"anyOf": schemas}
    agreement = _union(t.agreement for t in transitions)
    return {
        "id": event,
        "label": first.label,
        "description": next((t.description for t in transitions if t.description), ""),
        "from": _union(t.from_states for t in transitions),
        "to": _union(wf.targets(t) for t in transitions),
        "by": _union(t.by for t in transitions),
        "agreement": agreement,
        "needs_agreement": bool(agreement),
        "data": {"$schema": DIALECT, **data},
        "transitions": [_transition(wf, t) for t in transitions],
    }


def _transition(wf: Workflow, t: Transition) -> dict[str, Any]:
    return {
        "label": t.label,
        "from": list(t.from_states),
        "to": list(wf.targets(t)),
        "returns": t.returns,
        "by": list(t.by),
        "agreement": list(t.agreement),
        "condition": None if t.when is None else str(t.when),
        "sets": list(t.sets),
        "assigns": list(t.assigns),
        "sends": t.sends,
        "opens_tasks": [task.id for task in wf.tasks.values() if t.event in task.opened_by],
        "data": data_schema(t.data),
    }


def _role(wf: Workflow, rid: str) -> dict[str, Any]:
    role = wf.roles[rid]
    return {
        "id": rid,
        "label": role.label,
        "case_role": role.case_role,
        "description": role.description,
        "starts_cases": rid in wf.start_by,
        "fires": [e for e in wf.events
                  if any(rid in t.by and not t.agreement for t in wf.transitions
                         if t.event == e)],
        "agrees": [e for e in wf.events
                   if any(rid in t.agreement for t in wf.transitions if t.event == e)],
        "completes": [t.id for t in wf.tasks.values() if t.role == rid],
        "sets": [{"fact": f.id, "states": _states_set_in(wf, f),
                  "when": None if f.set_when is None else str(f.set_when)}
                 for f in wf.facts.values() if rid in _set_by(wf, f)],
        "sees_personal_data": [f.id for f in wf.facts.values()
                               if f.personal_data and rid in _visible_to(wf, f)],
    }


def _fact(wf: Workflow, fact: Fact) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": fact.id,
        "label": fact.label,
        "description": fact.description,
        "type": fact.type.describe(),
        "schema": _fact_schema(fact),
        "personal_data": fact.personal_data,
        "by_hand": not fact.events_only,
        "set_by": _set_by(wf, fact),
        "set_in": _states_set_in(wf, fact),
        "set_when": None if fact.set_when is None else str(fact.set_when),
        "written_by": list(fact.written_by) or [
            t.event for t in wf.transitions if fact.id in t.sets],
        "default": to_json(fact.default),
    }
    if fact.personal_data:
        result["visible_to"] = _in_role_order(wf, _visible_to(wf, fact))
    return result


def _set_by(wf: Workflow, fact: Fact) -> list[str]:
    """The roles that may set ``fact`` by hand, as `Engine.set_facts` checks it: none for
    ``set_by: []``; its ``set_by`` (the workflow's ``default_set_by`` when it has none of its
    own, which the loader fills in); else every role of the workflow."""
    if fact.events_only:
        return []
    return list(fact.set_by) if fact.set_by else list(wf.roles)


def _states_set_in(wf: Workflow, fact: Fact) -> list[str]:
    """The states in which ``fact`` may be set by hand: its ``set_in`` (else every state),
    never a final one (a closed case's facts do not change)."""
    if fact.events_only:
        return []
    return [s for s in (fact.set_in or wf.states) if not wf.states[s].final]


def _visible_to(wf: Workflow, fact: Fact) -> frozenset[str]:
    return fact.visible_to if fact.visible_to is not None else wf.visible_to


def _in_role_order(wf: Workflow, roles: frozenset[str]) -> list[str]:
    return [r for r in wf.roles if r in roles]


def _union(groups: Iterable[Iterable[str]]) -> list[str]:
    """Every name of ``groups``, once, in first-seen order."""
    return list(dict.fromkeys(name for group in groups for name in group))
