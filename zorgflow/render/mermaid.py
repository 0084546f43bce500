"""A workflow as Mermaid text (a ``flowchart``), for GitLab, GitHub and Markdown documents.

Needs nothing but the standard library. Labels are user text: every character Mermaid could
read as syntax is written as a Mermaid entity code (``#quot;``, ``#lt;`` …), and line breaks
become ``<br/>``.
"""

from __future__ import annotations

from ..errors import ValueProblem
from .graph import Graph

#: Mermaid text longer than this many characters is refused: a workflow draws in a few kB, and
#: Mermaid itself renders only 50,000 characters unless told otherwise
MAX_TEXT = 16 * 1024 * 1024

#: characters Mermaid could take for syntax inside a quoted label, as entity codes
_ENTITIES = {
    "#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;",
    "|": "#124;", "%": "#37;",
}
_TABLE = str.maketrans(_ENTITIES)

COLOURS = {
    "final": "fill:#eeeeee,stroke:#333333,stroke-width:3px",
    "visited": "fill:#dbeafe,stroke:#1d4ed8,stroke-width:2px",
    "current": "fill:#bfdbfe,stroke:#1d4ed8,stroke-width:4px",
    "escalation": "stroke:#b91c1c,color:#b91c1c",
    "taken": "stroke:#1d4ed8,stroke-width:4px",
}


def escape(text: str) -> str:
    """One line of user text, safe inside a quoted Mermaid label."""
    return " ".join(text.replace("\r", " ").split("\n")).translate(_TABLE)


def _label(lines: list[str] | tuple[str, ...]) -> str:
    return '"' + "<br/>".join(escape(line) for line in lines) + '"'


def _node_id(state: str) -> str:
    # a prefix keeps Mermaid's own words (end, graph, o…/x… edge forms) out of the ids
    return "s_" + state


def to_mermaid(graph: Graph) -> str:
    """The Mermaid ``flowchart`` source for ``graph``. Raises `ValueProblem` when it would be
    longer than `MAX_TEXT` characters (it stops writing there)."""
    out: list[str] = []
    length = 0

    def add(line: str) -> None:
        nonlocal length
        length += len(line) + 1
        if length > MAX_TEXT:
            raise ValueProblem(
                f"the Mermaid diagram of '{graph.id}' would be longer than {MAX_TEXT:,} "
                "characters (a label is very long, or repeated on many arrows): shorten the "
                "labels of its states, transitions and roles")
        out.append(line)

    # no title: Mermaid does not decode entity codes there, and the page names the process
    add(f"%% {escape(graph.label)} ({graph.id})")
    add("flowchart TD")
    start = "start__"
    add(f"  {start}(( ))")
    for node in graph.nodes:
        shape = ("([", "])") if node.final else ("(", ")")
        add(f"  {_node_id(node.id)}{shape[0]}{_label(node.lines)}{shape[1]}")
    links: list[tuple[int, str]] = []
    index = 0
    for node in graph.nodes:
        if node.initial:
            add(f"  {start} --> {_node_id(node.id)}")
            index += 1
    for edge in graph.edges:
        arrow = "==>" if edge.taken else "-.->" if edge.escalation else "-->"
        add(f"  {_node_id(edge.source)} {arrow}|{_label(edge.lines)}| {_node_id(edge.target)}")
        if edge.taken:
            links.append((index, COLOURS["taken"]))
        elif edge.escalation:
            links.append((index, COLOURS["escalation"]))
        index += 1
    add(f"  style {start} fill:#333333,stroke:#333333")
    for name in ("final", "visited", "current"):
        add(f"  classDef {name} {COLOURS[name]}")
    for node in graph.nodes:
        classes = [c for c, on in (("final", node.final), ("visited", node.visited),
                                   ("current", node.current)) if on]
        if classes:
            add(f"  class {_node_id(node.id)} {classes[-1]}")
    for number, style in links:
        add(f"  linkStyle {number} {style}")
    return "\n".join(out) + "\n"
