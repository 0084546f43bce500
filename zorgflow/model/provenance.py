"""Where each element of a workflow comes from: its source or its assumption.

Every element a policy officer can point at (the workflow, roles, facts, cycles, states,
timers, different-people rules, transitions and their warnings, rule sets and their criteria
and rows, invariants, examples) carries
``source:`` (the document's title and section, best with a short quote) or ``assumption:``
(why it was chosen where the sources are silent). `elements` lists them once, for `verify`
(which warns about an element with neither) and for the docs (the "Aannames" section and the
traceability table).
"""

from __future__ import annotations

from collections.abc import Iterator

from .._frozen import Frozen, record
from .workflow import Workflow


@record
class Element(Frozen):
    """One element of a workflow with its provenance."""

    #: what it is, in Dutch as policy staff read it: ``toestand``, ``gebeurtenis``, …
    kind: str
    #: how a person finds it in the file: ``uitvoering``, ``afsluiten (van geagendeerd)``, …
    name: str
    label: str
    source: str
    assumption: str

    @property
    def traced(self) -> bool:
        """True when the element says where it comes from or why it was chosen."""
        return bool(self.source.strip() or self.assumption.strip())


def elements(workflow: Workflow) -> Iterator[Element]:
    """Every element of ``workflow`` that carries ``source:``/``assumption:``, in file order
    (transitions named by event and from-states; examples by name)."""
    wf = workflow
    yield Element("werkwijze", wf.id, wf.label, wf.cite, wf.assumption)
    for role in wf.roles.values():
        yield Element("rol", role.id, role.label, role.cite, role.assumption)
    if wf.visible_to or wf.visible_to_cite or wf.visible_to_assumption:
        yield Element("zichtbaarheid", "visible_to", "Wie persoonsgegevens ziet",
                      wf.visible_to_cite, wf.visible_to_assumption)
    for fact in wf.facts.values():
        yield Element("feit", fact.id, fact.label, fact.cite, fact.assumption)
    for cycle in wf.cycles.values():
        yield Element("cyclus", cycle.id, cycle.label, cycle.cite, cycle.assumption)
    for state in wf.states.values():
        yield Element("toestand", state.id, state.label, state.cite, state.assumption)
        for timer in state.timers:
            yield Element("timer", f"{timer.signal} (in {state.id})", timer.label, timer.cite,
                          timer.assumption)
    for group in wf.different_people:
        yield Element("verschillende personen", ", ".join(group.roles), ", ".join(group.roles),
                      group.cite, group.assumption)
    for t in wf.transitions:
        yield Element("gebeurtenis", f"{t.event} (van {', '.join(t.from_states)})", t.label,
                      t.cite, t.assumption)
        for w in t.warnings:
            yield Element("waarschuwing", f"{t.event}.{w.id}", w.label, w.cite, w.assumption)
    for rs in wf.rules.values():
        yield Element("regelset", rs.id, rs.label, rs.cite, rs.assumption)
        if rs.kind == "table":
            for row in rs.rows:
                yield Element("regel", f"{rs.id}.{row.id}", row.label or row.id, row.cite,
                              row.assumption)
        else:
            for c in rs.criteria:
                yield Element("criterium", f"{rs.id}.{c.id}", c.label, c.cite, c.assumption)
    for inv in wf.invariants:
        yield Element("invariant", inv.id, inv.label, inv.cite, inv.assumption)
    for example in wf.examples:
        yield Element("voorbeeld", example.name, example.name, example.cite,
                      example.assumption)
