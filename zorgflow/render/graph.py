"""A workflow as a drawing-neutral graph: labelled nodes and edges, with a case's path.

`build_graph` decides *what* a diagram shows (labels, arrows that read as Dutch sentences,
escalation, the path a case took); `zorgflow.render.mermaid` and `zorgflow.render.dot` decide
*how*.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import CaseMismatch
from ..model import Transition, Workflow
from ..model.values import number_text
from .dutch import Dutch, either

if TYPE_CHECKING:
    from ..engine import Case

#: edge labels and node labels are wrapped at this many characters
WRAP = 34
#: a condition longer than this is cut with an ellipsis in the diagram (the document has it
#: whole)
GUARD_LIMIT = 60


@dataclass(frozen=True, slots=True)
class CasePath:
    """What one case went through: the states it visited and the steps it took."""

    visited: frozenset[str]
    #: (from state, event) of every accepted event, in order
    steps: tuple[tuple[str, str], ...]
    current: str


@dataclass(frozen=True, slots=True)
class Node:
    """A state as drawn."""

    id: str
    label: str
    initial: bool = False
    final: bool = False
    visited: bool = False
    current: bool = False
    #: the tasks entering this state opens, by label
    tasks: tuple[str, ...] = ()

    @property
    def lines(self) -> list[str]:
        """The label wrapped for drawing, then a line per task (``taak: …``)."""
        return [*wrap(self.label), *(line for task in self.tasks
                                     for line in wrap("taak: " + task))]


@dataclass(frozen=True, slots=True)
class Edge:
    """One transition from one source state, as drawn."""

    source: str
    target: str
    event: str
    #: one Dutch sentence, a clause a line: the event label, then ``door …`` (the roles), then
    #: ``als …`` (the condition in plain Dutch, shortened)
    lines: tuple[str, ...]
    escalation: bool = False
    taken: bool = False


@dataclass(frozen=True, slots=True)
class Graph:
    """Everything a diagram shows."""

    id: str
    label: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    path: CasePath | None = field(default=None)


def wrap(text: str, width: int = WRAP) -> list[str]:
    """``text`` in lines of at most ``width`` characters; user line breaks are kept."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, width, break_long_words=False,
                                   break_on_hyphens=False) or [""])
    return lines


def guard_summary(when: str | None, limit: int = GUARD_LIMIT) -> str:
    """The guard as written, on one line, cut at ``limit`` characters (``""`` without one)."""
    if not when:
        return ""
    text = " ".join(when.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def shorten(text: str, limit: int = GUARD_LIMIT) -> str:
    """``text`` on one line, at most ``limit`` characters: cut after a whole word where one
    ends in the second half, and ended with ``…``."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def condition_summary(workflow: Workflow, transition: Transition,
                      limit: int = GUARD_LIMIT) -> str:
    """The transition's guard in plain Dutch, cut at ``limit`` characters (``""`` without
    one)."""
    if not transition.when or not transition.when.strip():
        return ""
    return shorten(Dutch(workflow, transition.data).say(transition.when), limit)


def edge_lines(workflow: Workflow, transition: Transition) -> tuple[str, ...]:
    """The arrow's text as one Dutch sentence, a clause a line: ``Casus afsluiten`` /
    ``door LZN-coördinator,`` / ``als de opgegeven “Afsluitreden” …``."""
    roles = [workflow.roles[r].label if r in workflow.roles else r for r in transition.by]
    condition = condition_summary(workflow, transition)
    clauses = [transition.label]
    if transition.agreement:
        clauses.append("samen door " + " en ".join(roles))
    elif roles:
        clauses.append("door " + either(roles))
    if condition:
        clauses[-1] = clauses[-1].rstrip() + ","
        clauses.append("als " + condition)
    return tuple(line for clause in clauses for line in wrap(clause))


def case_path(workflow: Workflow, case: Case) -> CasePath:
    """The path ``case`` took through ``workflow``, from its history.

    Raises `CaseMismatch` when the case belongs to another workflow or its history holds a
    step this workflow does not have.
    """
    if case.workflow_id != workflow.id:
        raise CaseMismatch(f"the case belongs to workflow '{case.workflow_id}', "
                           f"not to '{workflow.id}'")
    visited: set[str] = set()
    steps: list[tuple[str, str]] = []
    known = {(s, t.event) for t in workflow.transitions for s in t.from_states}
    for entry in case.history:
        if entry.to_state not in workflow.states:
            raise CaseMismatch(f"history step {entry.seq} goes to state '{entry.to_state}', "
                               f"which workflow '{workflow.id}' version {workflow.version} "
                               f"does not have (the case is of version "
                               f"{number_text(case.workflow_version)})")
        visited.add(entry.to_state)
        if entry.kind == "fire" and entry.from_state is not None:
            if (entry.from_state, entry.event) not in known:
                raise CaseMismatch(f"history step {entry.seq}: event '{entry.event}' from "
                                   f"'{entry.from_state}' is not in workflow '{workflow.id}' "
                                   f"version {workflow.version}")
            visited.add(entry.from_state)
            steps.append((entry.from_state, entry.event))
    return CasePath(frozenset(visited), tuple(steps), case.state)


def build_graph(workflow: Workflow, path: CasePath | None = None) -> Graph:
    """The nodes and edges of ``workflow``; with ``path``, the case's way through it marked."""
    taken = set(path.steps) if path else set()
    nodes = tuple(
        Node(s.id, s.label, s.initial, s.final,
             visited=bool(path and s.id in path.visited),
             current=bool(path and s.id == path.current),
             tasks=tuple(t.label for t in workflow.tasks.values() if s.id in t.opened_in))
        for s in workflow.states.values())
    lines = [edge_lines(workflow, t) for t in workflow.transitions]  # once per transition,
    edges = tuple(  # shared by the edges of all its source states
        Edge(source, target, t.event, text, t.escalation, taken=(source, t.event) in taken)
        for t, text in zip(workflow.transitions, lines, strict=True)
        for source in t.from_states for target in workflow.targets(t))
    return Graph(workflow.id, workflow.label, nodes, edges, path)
