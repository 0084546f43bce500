"""The process document: a workflow as HTML or Markdown, for policy staff.

`document_context` gathers what the document says (labels, conditions in plain Dutch, rule
sets as tables, invariants, examples; for every element its source or its assumption, the
list of assumptions, and the traceability from source sections to elements and examples); the
Jinja2 templates in ``zorgflow/render/templates`` lay it out. HTML is autoescaped; Markdown
escapes every value through a ``finalize`` hook, so user text never turns into markup in
either.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from .._version import __version__
from ..errors import TemplatesMissing
from ..model import (
    Cell,
    CriteriaRuleSet,
    DifferentPeople,
    Duration,
    Example,
    ExampleStart,
    ExampleStep,
    Expectation,
    Fact,
    Invariant,
    RankingRuleSet,
    TableRuleSet,
    TaskDefinition,
    Timer,
    Transition,
    Workflow,
)
from ..model.provenance import Element, elements
from .dutch import Dutch, quoted

DocFormat = Literal["html", "md"]

PERSONAL = "‹persoonsgegeven›"
_MODES = {"when": "voorwaarde", "all": "alle voorwaarden gelden", "any": "één voorwaarde is genoeg"}
_HIT = {
    "unique": "unique: hooguit één rij past bij elke situatie",
    "first": "first: de eerste rij die past, geldt",
    "collect": "collect: alle rijen die passen, gelden",
}
_CELL = {"any": "–", "absent": "onbekend"}


def document_context(workflow: Workflow) -> dict[str, Any]:
    """Everything the process document shows, as plain data for the templates. Every element
    carries ``source`` (its ``source:``) and ``assumption`` (its ``assumption:``)."""
    dutch = Dutch(workflow)
    return {
        "workflow": workflow,
        "origin": _provenance(workflow),
        "file": Path(workflow.file).name if workflow.file else "",
        "version": __version__,
        "roles": [{"id": r.id, "label": r.label, "case_role": r.case_role,
                   "description": r.description, **_provenance(r)}
                  for r in workflow.roles.values()],
        "different_people": [_different_people(workflow, d) for d in workflow.different_people],
        "cycles": [{"id": c.id, "label": c.label, "every": _duration(workflow, c.every),
                    "first": c.first.isoformat(), **_provenance(c)}
                   for c in workflow.cycles.values()],
        "states": [_state(workflow, s) for s in workflow.states],
        "events": [_event(workflow, t) for t in workflow.transitions],
        "facts": [{"id": f.id, "label": f.label, "type": f.type.describe(),
                   "personal": f.personal_data, "set_by": _set_by(workflow, f),
                   **_provenance(f)} for f in workflow.facts.values()],
        "rules": [_rule_set(workflow, dutch, r) for r in workflow.rules.values()],
        "invariants": [_invariant(workflow, i) for i in workflow.invariants],
        "examples": [_example(workflow, e) for e in workflow.examples],
        "assumptions": assumptions(workflow),
        "traceability": traceability(workflow),
    }


# -- provenance ----------------------------------------------------------------------------


class _Cited(Protocol):
    """An element of the model that says where it comes from."""

    @property
    def cite(self) -> str: ...

    @property
    def assumption(self) -> str: ...


def _provenance(item: _Cited) -> dict[str, str]:
    """``source`` and ``assumption`` of an element, on one line each (empty when not given)."""
    return {"source": _line(item.cite), "assumption": _line(item.assumption)}


def _line(text: str) -> str:
    return " ".join(text.split())


def source_section(cite: str) -> str:
    """The section a ``source:`` cites: its text before the first ``": "`` (the title and
    section, without the quote), on one line; ``""`` for no source."""
    return _line(cite.split(": ", 1)[0])


def _shown(element: Element) -> dict[str, str]:
    """An element as the document names it: kind, label, and its name when that differs."""
    label = _line(element.label)
    return {"kind": element.kind, "label": label or element.name,
            "name": element.name if label and label != element.name else ""}


def assumptions(workflow: Workflow) -> list[dict[str, str]]:
    """Every assumption of ``workflow`` in file order, for policy staff to confirm: the
    element's ``kind``, ``label`` and ``name`` (as `_shown`), and the ``assumption``."""
    return [{**_shown(e), "assumption": _line(e.assumption)}
            for e in elements(workflow) if e.assumption.strip()]


def traceability(workflow: Workflow) -> list[dict[str, Any]]:
    """The source sections ``workflow`` cites, in order of first appearance, each with the
    elements that cite it (as `_shown`) and the names of the examples that cite it or exercise
    one of those elements (see `exercised`), in file order."""
    sections: dict[str, tuple[list[Element], set[str]]] = {}
    for element in elements(workflow):
        section = source_section(element.source)
        if not section:
            continue
        cited, examples = sections.setdefault(section, ([], set()))
        if element.kind == "voorbeeld":
            examples.add(element.name)
        else:
            cited.append(element)
    used = {example.name: exercised(workflow, example) for example in workflow.examples}
    rows = []
    for section, (cited, examples) in sections.items():
        keys = {(e.kind, e.name) for e in cited}
        linked = examples | {name for name, keys_used in used.items() if keys_used & keys}
        rows.append({"section": section, "elements": [_shown(e) for e in cited],
                     "examples": list(dict.fromkeys(e.name for e in workflow.examples
                                                    if e.name in linked))})
    return rows


def _transition_name(transition: Transition) -> str:
    """A transition's name as `zorgflow.model.provenance.elements` gives it."""
    return f"{transition.event} (van {', '.join(transition.from_states)})"


def exercised(workflow: Workflow, example: Example) -> set[tuple[str, str]]:
    """The (kind, name) of the elements ``example`` exercises, named as
    `zorgflow.model.provenance.elements` names them: the transitions its events try (from
    the state the example is in, when known; a refused step tries them too), the rule sets it
    decides with their criteria or rows, and the states it expects."""
    found: set[tuple[str, str]] = set()
    state: str | None = next((s.id for s in workflow.states.values() if s.initial), None)
    for step in example.steps:
        if step.action == "event":
            tried, state = _fire(workflow, step, state)
            found.update(("gebeurtenis", _transition_name(t)) for t in tried)
        elif step.action == "decide":
            found |= _decided(workflow, step.rule_set)
        if step.expect.state is not None:
            found.add(("toestand", step.expect.state))
            state = step.expect.state
    return found


def _fire(workflow: Workflow, step: ExampleStep,
          state: str | None) -> tuple[list[Transition], str | None]:
    """The transitions an ``event`` step tries from ``state`` (None: any state), and the
    state after it (None: not known)."""
    tried = [t for t in workflow.transitions
             if t.event == step.event and (state is None or state in t.from_states)]
    if step.expect.rejected not in (None, False):
        return tried, state
    expected = step.expect.state
    if expected is not None:
        tried = [t for t in tried if expected in workflow.targets(t)] or tried
    targets = {target for t in tried for target in workflow.targets(t)}
    return tried, targets.pop() if len(targets) == 1 else None


def _decided(workflow: Workflow, rule_set_id: str) -> set[tuple[str, str]]:
    """A decided rule set and its criteria or rows, as (kind, name)."""
    rule_set = workflow.rules.get(rule_set_id)
    if rule_set is None:
        return set()
    found = {("regelset", rule_set.id)}
    if isinstance(rule_set, TableRuleSet):
        found.update(("regel", f"{rule_set.id}.{row.id}") for row in rule_set.rows)
    else:
        found.update(("criterium", f"{rule_set.id}.{c.id}") for c in rule_set.criteria)
    return found


def render_document(workflow: Workflow, fmt: DocFormat, *, diagram: str | None = None) -> str:
    """The document as text. ``diagram`` is inline SVG (HTML) or Mermaid source (Markdown).

    Raises `TemplatesMissing` when Jinja2 is not installed.
    """
    try:
        import jinja2
        from markupsafe import Markup
    except ImportError:
        raise TemplatesMissing('Jinja2 is not installed: pip install "zorgflow[diagram]"') \
            from None
    context = document_context(workflow)
    context["diagram"] = Markup(diagram) if diagram else None
    context["br"] = Markup("<br>")
    loader = jinja2.PackageLoader("zorgflow.render", "templates")
    if fmt == "html":
        env = jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True,
                                 lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    else:
        def finalize(value: Any) -> Any:
            return value if isinstance(value, Markup) else md_escape(value)

        env = jinja2.Environment(loader=loader, autoescape=False, finalize=finalize,
                                 trim_blocks=True, lstrip_blocks=True,
                                 undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        env.filters["code"] = lambda text: Markup(md_code(str(text)))
    return env.get_template(f"process.{fmt}.j2").render(context)


# -- Markdown escaping ---------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_escape(value: Any) -> str:
    """A value as literal Markdown text on one line (safe inside a table cell)."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # a value that starts a line must not start a heading or a list
    return "\\" + text if text[:1] in ("#", "-", "+") else text


def md_code(text: str) -> str:
    """``text`` as a Markdown code span, safe inside a table cell."""
    text = " ".join(text.split()).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# -- parts ---------------------------------------------------------------------------------


def _roles(workflow: Workflow, ids: tuple[str, ...]) -> list[str]:
    return [workflow.roles[r].label if r in workflow.roles else r for r in ids]


def _set_by(workflow: Workflow, fact: Fact) -> list[str]:
    """Who records ``fact``: its roles, or for a fact only events write, those events."""
    if not fact.events_only:
        return _roles(workflow, fact.set_by)
    labels = {t.event: t.label for t in reversed(workflow.transitions)}
    events = [quoted(labels.get(e, e)) for e in fact.written_by]
    if not events:
        return ["alleen gebeurtenissen"]
    word = "de gebeurtenis" if len(events) == 1 else "de gebeurtenissen"
    return [f"alleen {word} {', '.join(events)}"]


def _different_people(workflow: Workflow, rule: DifferentPeople) -> dict[str, Any]:
    """A separation-of-duties rule in words, with its source and assumption."""
    roles = ", ".join(quoted(label) for label in _roles(workflow, rule.roles))
    text = (f"{roles} worden door verschillende personen vervuld" if len(rule.roles) > 1
            else f"{roles} wordt door één persoon vervuld")
    if rule.and_the_assigner:
        text += ", en niet door wie hen benoemt"
    return {"text": text, **_provenance(rule)}


def _state_label(workflow: Workflow, state: str) -> str:
    return workflow.states[state].label if state in workflow.states else state


def _state(workflow: Workflow, state_id: str) -> dict[str, Any]:
    state = workflow.states[state_id]
    cycle = workflow.cycles.get(state.shows_cycle) if state.shows_cycle else None
    return {
        "id": state.id, "label": state.label, **_provenance(state),
        "description": state.description, "initial": state.initial, "final": state.final,
        "cycle": f"{cycle.label} (elke {_duration(workflow, cycle.every)}, vanaf "
                 f"{cycle.first.isoformat()})"
        if cycle else "",
        "timers": [{"signal": t.signal, "label": t.label, "when": _timer_when(workflow, t),
                    "reset_by": list(t.reset_by), **_provenance(t)}
                   for t in workflow.all_timers if state.id in t.states],
        "tasks": [{"id": task.id, "label": task.label, "role": _roles(workflow, (task.role,))[0],
                   "due": _task_due(workflow, task), **_provenance(task)}
                  for task in workflow.tasks.values() if state.id in task.opened_in],
        "next": [{"event": t.event, "label": t.label} for t in workflow.transitions_from(state.id)],
    }


def _timer_when(workflow: Workflow, timer: Timer) -> str:
    """When a timer's signal falls due, in Dutch: ``na 14 dagen``, ``op de datum “X” plus 5
    dagen``, with the states it runs through and its condition."""
    if timer.anchor is not None:
        fact = workflow.facts.get(timer.anchor)
        text = f"op de datum {quoted(fact.label if fact else timer.anchor)}"
        if timer.offset:
            text += " plus " + " en ".join(_duration(workflow, d) for d in timer.offset)
    else:
        text = "na " + ", anders ".join(_duration(workflow, d) for d in timer.after)
    if len(timer.states) > 1:
        text += " (loopt door in " + ", ".join(_state_label(workflow, s)
                                               for s in timer.states) + ")"
    if timer.while_:
        text += ", zolang " + Dutch(workflow).say(timer.while_)
    return text


def _task_due(workflow: Workflow, task: TaskDefinition) -> str:
    if task.due_cycle is not None:
        cycle = workflow.cycles.get(task.due_cycle)
        return f"vóór het volgende {cycle.label if cycle else task.due_cycle}"
    if task.due_after is not None:
        return f"binnen {_duration(workflow, task.due_after)}"
    return ""


_UNITS = {"days": "dagen", "weeks": "weken", "months": "maanden", "years": "jaar"}
_UNIT = {"days": "dag", "weeks": "week", "months": "maand", "years": "jaar"}


def _duration(workflow: Workflow, duration: Duration) -> str:
    unit = _UNITS[duration.unit]
    if duration.fact:
        fact = workflow.facts.get(duration.fact)
        return f"{quoted(fact.label if fact else duration.fact)} {unit}"
    return f"{duration.amount} {_UNIT[duration.unit] if duration.amount == 1 else unit}"


def _escalation_paths(workflow: Workflow, paths: tuple[str, ...]) -> list[str]:
    labels = []
    for path in paths:
        label = path
        for rule_set in workflow.rules.values():
            if rule_set.kind == "criteria":
                found = next((c.label for c in rule_set.criteria if c.id == path), None)
                if found:
                    label = found
                    break
        labels.append(label)
    return labels


def _event(workflow: Workflow, t: Transition) -> dict[str, Any]:
    dutch = Dutch(workflow, t.data)
    return {
        "event": t.event, "label": t.label, **_provenance(t), "description": t.description,
        "from": [{"id": s, "label": _state_label(workflow, s)} for s in t.from_states],
        "to": ({"id": t.target, "label": _state_label(workflow, t.target)} if not t.returns
               else {"id": "", "label": "terug naar de toestand waar de casus vandaan kwam ("
                     + ", ".join(_state_label(workflow, s) for s in workflow.targets(t))
                     + ")"}),
        "by": _roles(workflow, t.by) if not t.agreement
        else ["samen besloten door " + " en ".join(_roles(workflow, t.agreement))],
        "opens": [task.label for task in workflow.tasks.values() if t.event in task.opened_by],
        "when": dutch.say(t.when), "when_source": " ".join(t.when.split()) if t.when else "",
        "data": [{"id": d.id, "label": d.label, "required": d.required,
                  "type": (f"een criterium van {quoted(workflow.rules[d.enum_from].label)}"
                           if d.enum_from and d.enum_from in workflow.rules
                           else d.type.describe()),
                  "personal": d.personal_data} for d in t.data.values()],
        "sets": [{"fact": workflow.facts[f].label if f in workflow.facts else f,
                  "value": dutch.say(expr)} for f, expr in t.sets.items()],
        "assigns": [{"role": workflow.roles[r].label if r in workflow.roles else r,
                     "value": dutch.say(expr)} for r, expr in t.assigns.items()],
        "warnings": [{"id": w.id, "label": w.label, "when": dutch.say(w.when),
                      **_provenance(w)} for w in t.warnings],
        "escalation": t.escalation,
        "escalation_paths": _escalation_paths(workflow, t.escalation_paths),
        "sends": "een anoniem dossier (zonder persoonsgegevens)"
        if t.sends == "anonymous_dossier" else (t.sends or ""),
    }


def _cell(cell: Cell | None) -> str:
    if cell is None or cell.op in _CELL:
        return _CELL[cell.op if cell else "any"]
    if cell.op == "eq" and cell.values:
        return _value(cell.values[0])
    if cell.op == "in" and cell.values:
        items = [_value(v) for v in cell.values]
        return ", ".join(items[:-1]) + " of " + items[-1] if len(items) > 1 else items[0]
    if cell.op == "ne" and cell.values:
        return f"niet {_value(cell.values[0])}"
    return cell.text


def _rule_set(workflow: Workflow, dutch: Dutch,
              rule_set: CriteriaRuleSet | TableRuleSet | RankingRuleSet) -> dict[str, Any]:
    base: dict[str, Any] = {"id": rule_set.id, "label": rule_set.label, "kind": rule_set.kind,
                            **_provenance(rule_set), "description": rule_set.description}
    if isinstance(rule_set, CriteriaRuleSet):
        base["criteria"] = [
            {"id": c.id, "label": c.label, **_provenance(c), "mode": _MODES[c.mode],
             "clauses": [{"text": dutch.say(clause), "source": " ".join(clause.split())}
                         for clause in c.clauses]}
            for c in rule_set.criteria]
    elif isinstance(rule_set, TableRuleSet):
        base["hit_policy"] = _HIT[rule_set.hit_policy]
        base["inputs"] = [{"id": i.id, "label": i.label, "from": dutch.say(i.expr)}
                          for i in rule_set.inputs]
        base["outputs"] = list(rule_set.outputs)
        base["rows"] = [
            {"id": r.id, "label": r.label, **_provenance(r),
             "cells": [_cell(r.cells.get(i.id)) for i in rule_set.inputs],
             "outputs": [_value(r.outputs.get(o, "")) for o in rule_set.outputs]}
            for r in rule_set.rows]
    else:
        item = Dutch(workflow)
        candidates = workflow.facts.get(rule_set.candidates)
        base["candidates"] = candidates.label if candidates else rule_set.candidates
        base["criteria"] = [
            {"id": c.id, "label": c.label, **_provenance(c), "weight": _number(c.weight),
             "required": c.required,
             "rule": (f"{_number(c.weight)} punt{'' if c.weight == 1 else 'en'} als "
                      f"{item.say(c.when)}" if c.when else
                      f"{_number(c.weight)} × {item.say(c.points)}"),
             "rule_source": c.when or c.points or ""}
            for c in rule_set.criteria]
    return base


def _invariant(workflow: Workflow, invariant: Invariant) -> dict[str, Any]:
    return {"id": invariant.id, "label": invariant.label, **_provenance(invariant),
            "text": _invariant_text(workflow, invariant)}


def _invariant_text(workflow: Workflow, invariant: Invariant) -> str:
    if invariant.kind == "never":
        event = invariant.event
        transition = next((t for t in workflow.transitions if t.event == event), None)
        dutch = Dutch(workflow, transition.data if transition else None)
        label = quoted(transition.label) if transition else event
        text = f"Nooit {label}"
        if invariant.when:
            text += f" als {dutch.say(invariant.when)}"
        return text
    if invariant.kind == "always_reachable":
        return ("Vanuit elke niet-afgeronde toestand is altijd nog bereikbaar: "
                + ", ".join(quoted(_state_label(workflow, s)) for s in invariant.goals))
    where = " of ".join(quoted(_state_label(workflow, s)) for s in invariant.states)
    if invariant.kind == "implies":
        return f"In {where} geldt altijd: {Dutch(workflow).say(invariant.condition)}"
    role = invariant.role
    label = workflow.roles[role].label if role in workflow.roles else role
    return f"In {where} is altijd een {quoted(label)} benoemd"


def _example(workflow: Workflow, example: Example) -> dict[str, Any]:
    return {
        "name": example.name, **_provenance(example),
        "actors": [{"id": a, "roles": _roles(workflow, roles)}
                   for a, roles in example.actors.items()],
        "start": _start_text(workflow, example.start),
        "steps": [_step_text(workflow, step, _personal_texts(workflow, example))
                  for step in example.steps],
    }


def _facts_text(workflow: Workflow, facts: Mapping[str, Any]) -> str:
    parts = []
    for name, value in facts.items():
        fact = workflow.facts.get(name)
        shown = PERSONAL if fact is not None and fact.personal_data else _value(value)
        parts.append(f"{fact.label if fact else name} = {shown}")
    return "; ".join(parts)


def _start_text(workflow: Workflow, start: ExampleStart) -> str:
    text = f"geopend door {start.by if start.by is not None else '?'}"
    if start.at:
        text += f" op {start.at}"
    if start.facts:
        text += f", met {_facts_text(workflow, start.facts)}"
    return text


def _personal_texts(workflow: Workflow, example: Example) -> frozenset[str]:
    """The texts of the example's personal values (facts and data marked personal, candidate
    ids of personal rankings): an expectation that quotes one is not shown."""
    found: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, Mapping):
            for item in value.values():
                collect(item)
        elif isinstance(value, list | tuple):
            for item in value:
                collect(item)
        elif value is not None and not isinstance(value, bool):
            found.add(str(value))

    def facts(values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            fact = workflow.facts.get(name)
            if fact is not None and fact.personal_data:
                collect(value)

    facts(example.start.facts)
    for step in example.steps:
        facts(step.facts_to_set)
        transition = next((t for t in workflow.transitions if t.event == step.event), None)
        for name, value in step.data.items():
            if transition is not None and name in transition.data \
                    and transition.data[name].personal_data:
                collect(value)
    return frozenset(t for t in found if t.strip())


def _step_text(workflow: Workflow, step: ExampleStep,
               personal: frozenset[str] = frozenset()) -> str:
    by = f" door {step.by}" if step.by else ""
    at = f" op {step.at}" if step.at else ""
    if step.action == "event":
        transition = next((t for t in workflow.transitions if t.event == step.event), None)
        label = quoted(transition.label) if transition else step.event
        text = f"{label} ({step.event}){by}{at}"
        if step.data:
            text += ", met " + _data_text(transition, step.data)
    elif step.action == "set_facts":
        text = f"feiten vastgelegd{by}{at}: {_facts_text(workflow, step.facts_to_set)}"
    elif step.action == "decide":
        rule_set = workflow.rules.get(step.rule_set)
        text = f"beslissing {quoted(rule_set.label) if rule_set else step.rule_set}{at}"
    elif step.action == "due":
        text = f"signalen die openstaan{at}"
    else:
        text = f"gebeurtenissen die{by.replace(' door', '')} nu mag afvuren{at}"
    expected = _expect_text(workflow, step.expect, personal, _ranks_personal(workflow, step))
    if expected:
        text += " — verwacht: " + expected
    return text


def _data_text(transition: Transition | None, data: Mapping[str, Any]) -> str:
    """An event's data as ``veld = waarde; …``, personal data hidden."""
    fields = transition.data if transition else {}
    return "; ".join(f"{fields[k].label if k in fields else k} = "
                     f"{PERSONAL if k in fields and fields[k].personal_data else _value(v)}"
                     for k, v in data.items())


def _ranks_personal(workflow: Workflow, step: ExampleStep) -> bool:
    """A ``decide`` step on a ranking over personal data: its outcome names people."""
    rule_set = workflow.rules.get(step.rule_set) if step.action == "decide" else None
    if rule_set is None or rule_set.kind != "ranking":
        return False
    candidates = workflow.facts.get(rule_set.candidates)
    return candidates is not None and candidates.personal_data


def _expect_text(workflow: Workflow, expect: Expectation,
                 personal: frozenset[str] = frozenset(), ranks_personal: bool = False) -> str:
    """What a step expects, in a fixed order; empty when it expects nothing. Personal values
    (``personal``, and a personal ranking's outcome) are shown as `PERSONAL`."""
    parts = []
    if expect.rejected is not None:
        rejected = expect.rejected
        if rejected is True:
            parts.append("geweigerd")
        elif any(text in str(rejected) for text in personal):
            parts.append(f"geweigerd ({PERSONAL})")
        else:
            parts.append(f"geweigerd ({_value(rejected)})")
    if expect.state is not None:
        parts.append(f"toestand {quoted(_state_label(workflow, expect.state))}")
    if expect.facts is not None:
        parts.append(f"feiten {_facts_text(workflow, expect.facts)}")
    if expect.dossier is not None:
        parts.append(f"dossier {_value(expect.dossier)}")
    if expect.matched is not None:
        parts.append(f"gelden {PERSONAL if ranks_personal else _value(expect.matched)}")
    if expect.holds is not None:
        parts.append(f"holds {_value(expect.holds)}")
    if expect.expects_outcome:
        parts.append(f"uitkomst {PERSONAL if ranks_personal else _value(expect.outcome)}")
    if expect.signals is not None:
        parts.append(f"signalen {_value(expect.signals)}")
    if expect.events is not None:
        parts.append(f"gebeurtenissen {_value(expect.events)}")
    if expect.warnings is not None:
        parts.append(f"waarschuwingen {_value(expect.warnings)}")
    return "; ".join(parts)


def _value(value: Any) -> str:
    if value is True:
        return "waar"
    if value is False:
        return "onwaar"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
