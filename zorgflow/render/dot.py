"""A workflow as Graphviz DOT text, and DOT rendered to SVG or PNG through Graphviz.

`to_dot` needs only the standard library; `render` needs the ``graphviz`` Python package and
Graphviz's ``dot`` program (Debian: ``apt install graphviz``).
"""

from __future__ import annotations

from typing import Literal

from ..errors import GraphvizMissing
from .graph import Graph

ImageFormat = Literal["svg", "png"]

FONT = "Helvetica,Arial,sans-serif"
ESCALATION = "#b91c1c"
PATH = "#1d4ed8"


def quote(text: str) -> str:
    """``text`` as a quoted DOT string: backslashes and quotes escaped, line breaks as ``\\n``.

    Graphviz reads ``\\N``, ``\\G``, ``\\l`` … inside labels as its own escapes, so a user's
    backslash is doubled, and it decodes HTML entities (``&amp;``), so ``&`` is written as
    ``&amp;``; ``<`` and ``>`` are plain characters inside quotes.
    """
    body = text.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"')
    body = body.replace("\r", "")
    return '"' + body.replace("\n", "\\n") + '"'


def _label(lines: list[str] | tuple[str, ...]) -> str:
    return quote("\n".join(lines))


def _attrs(**attrs: str) -> str:
    return "[" + ", ".join(f"{key}={value}" for key, value in attrs.items()) + "]"


def to_dot(graph: Graph) -> str:
    """The DOT source for ``graph``."""
    out = [
        f"digraph {quote(graph.id)} {{",
        f"  graph {_attrs(label=quote(graph.label), labelloc='t', fontsize='18', fontname=quote(FONT), rankdir='TB', nodesep='0.5', ranksep='0.6')};",  # noqa: E501
        f"  node {_attrs(shape='box', style=quote('rounded,filled'), fillcolor=quote('#ffffff'), color=quote('#333333'), fontname=quote(FONT), fontsize='11')};",  # noqa: E501
        f"  edge {_attrs(fontname=quote(FONT), fontsize='9', color=quote('#555555'))};",
        f"  {quote('__start')} {_attrs(shape='point', width='0.2', label=quote(''), fillcolor=quote('#333333'))};",  # noqa: E501
    ]
    for node in graph.nodes:
        attrs = {"label": _label(node.lines)}
        if node.final:
            attrs.update(peripheries="2", fillcolor=quote("#eeeeee"))
        if node.visited:
            attrs.update(color=quote(PATH), fillcolor=quote("#dbeafe"), penwidth="2")
        if node.current:
            attrs.update(fillcolor=quote("#bfdbfe"), penwidth="4")
        out.append(f"  {quote(node.id)} {_attrs(**attrs)};")
        if node.initial:
            out.append(f"  {quote('__start')} -> {quote(node.id)};")
    for edge in graph.edges:
        attrs = {"label": _label(edge.lines)}
        if edge.escalation:
            attrs.update(style="dashed", color=quote(ESCALATION), fontcolor=quote(ESCALATION))
        if edge.taken:
            attrs.update(color=quote(PATH), penwidth="3", fontcolor=quote(PATH))
        out.append(f"  {quote(edge.source)} -> {quote(edge.target)} {_attrs(**attrs)};")
    out.append("}")
    return "\n".join(out) + "\n"


def render(source: str, fmt: ImageFormat) -> bytes:
    """Run Graphviz's ``dot`` on ``source``. Raises `GraphvizMissing` when it is not there."""
    try:
        import graphviz
    except ImportError:
        raise GraphvizMissing('the graphviz Python package is not installed: '
                              'pip install "zorgflow[diagram]"') from None
    try:
        data: bytes = graphviz.Source(source).pipe(format=fmt, engine="dot")
    except graphviz.ExecutableNotFound:
        raise GraphvizMissing("Graphviz's 'dot' program is not installed: apt install "
                              "graphviz (or brew install graphviz / choco install graphviz); "
                              "--format mermaid needs no Graphviz") from None
    return data


def render_svg(source: str) -> str:
    """The SVG text for ``source`` without the XML prologue, ready to put inside HTML."""
    svg = render(source, "svg").decode("utf-8")
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg
