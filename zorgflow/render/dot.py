"""A workflow as Graphviz DOT text, and DOT rendered to SVG or PNG through Graphviz.

`to_dot` needs only the standard library; `render` needs the ``graphviz`` Python package and
Graphviz's ``dot`` program (Debian: ``apt install graphviz``). ``dot`` runs at most
`DOT_TIMEOUT` seconds and is stopped (killed and reaped) after that.
"""

from __future__ import annotations

import subprocess
from typing import Literal

from ..errors import GraphvizMissing, ValueProblem
from .graph import Graph

ImageFormat = Literal["svg", "png"]

FONT = "Helvetica,Arial,sans-serif"
ESCALATION = "#b91c1c"
PATH = "#1d4ed8"

#: seconds Graphviz's ``dot`` may take to draw one picture before it is stopped
DOT_TIMEOUT = 10.0
#: DOT text longer than this many characters is refused: a workflow draws in a few kB
MAX_TEXT = 16 * 1024 * 1024


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
    """The DOT source for ``graph``. Raises `ValueProblem` when it would be longer than
    `MAX_TEXT` characters (it stops writing there)."""
    out = [
        f"digraph {quote(graph.id)} {{",
        f"  graph {_attrs(label=quote(graph.label), labelloc='t', fontsize='18', fontname=quote(FONT), rankdir='TB', nodesep='0.5', ranksep='0.6')};",  # noqa: E501
        f"  node {_attrs(shape='box', style=quote('rounded,filled'), fillcolor=quote('#ffffff'), color=quote('#333333'), fontname=quote(FONT), fontsize='11')};",  # noqa: E501
        f"  edge {_attrs(fontname=quote(FONT), fontsize='9', color=quote('#555555'))};",
        f"  {quote('__start')} {_attrs(shape='point', width='0.2', label=quote(''), fillcolor=quote('#333333'))};",  # noqa: E501
    ]
    length = _bounded(graph, sum(map(len, out)))
    for node in graph.nodes:
        attrs = {"label": _label(node.lines)}
        if node.final:
            attrs.update(peripheries="2", fillcolor=quote("#eeeeee"))
        if node.visited:
            attrs.update(color=quote(PATH), fillcolor=quote("#dbeafe"), penwidth="2")
        if node.current:
            attrs.update(fillcolor=quote("#bfdbfe"), penwidth="4")
        out.append(f"  {quote(node.id)} {_attrs(**attrs)};")
        length = _bounded(graph, length + len(out[-1]))
        if node.initial:
            out.append(f"  {quote('__start')} -> {quote(node.id)};")
    for edge in graph.edges:
        attrs = {"label": _label(edge.lines)}
        if edge.escalation:
            attrs.update(style="dashed", color=quote(ESCALATION), fontcolor=quote(ESCALATION))
        if edge.taken:
            attrs.update(color=quote(PATH), penwidth="3", fontcolor=quote(PATH))
        out.append(f"  {quote(edge.source)} -> {quote(edge.target)} {_attrs(**attrs)};")
        length = _bounded(graph, length + len(out[-1]))
    out.append("}")
    return "\n".join(out) + "\n"


def _bounded(graph: Graph, length: int) -> int:
    """``length``, or `ValueProblem` when it is past `MAX_TEXT`."""
    if length > MAX_TEXT:
        raise ValueProblem(f"the DOT diagram of '{graph.id}' would be longer than {MAX_TEXT:,} "
                           "characters (a label is very long, or repeated on many arrows): "
                           "shorten the labels of its states, transitions and roles")
    return length


def render(source: str, fmt: ImageFormat, *, timeout: float | None = None) -> bytes:
    """Run Graphviz's ``dot`` on ``source``, for at most ``timeout`` seconds (default
    `DOT_TIMEOUT`). Raises `GraphvizMissing` when Graphviz is not there, fails or takes too
    long, and `ValueProblem` for a text that is not valid Unicode (``dot`` is then not
    started)."""
    try:
        import graphviz  # noqa: F401  (the "diagram" extra: the Graphviz that dot belongs to)
    except ImportError:
        raise GraphvizMissing('the graphviz Python package is not installed: '
                              'pip install "zorgflow[diagram]"') from None
    data = _encoded(source)
    limit = DOT_TIMEOUT if timeout is None else timeout
    try:
        done = subprocess.run(["dot", "-Kdot", f"-T{fmt}"], input=data, capture_output=True,
                              timeout=limit, check=False)
    except FileNotFoundError:
        raise GraphvizMissing("Graphviz's 'dot' program is not installed: apt install "
                              "graphviz (or brew install graphviz / choco install graphviz); "
                              "--format mermaid needs no Graphviz") from None
    except subprocess.TimeoutExpired:  # subprocess.run has killed and reaped dot
        raise GraphvizMissing(f"Graphviz's 'dot' did not finish drawing within {limit:g} s "
                              "and was stopped; the workflow may be too large to draw "
                              "(--format mermaid needs no Graphviz)") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizMissing(f"Graphviz's 'dot' failed (exit status {done.returncode})"
                              + (f": {said[0]}" if said else "")
                              + "; --format mermaid needs no Graphviz")
    return done.stdout


def _encoded(source: str) -> bytes:
    """``source`` as UTF-8, or `ValueProblem` naming the line with a lone surrogate."""
    try:
        return source.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = source[:exc.start].rsplit("\n", 1)[-1] + source[exc.start:].split("\n", 1)[0]
        shown = "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c
                        for c in line.strip())
        raise ValueProblem(
            f"the diagram cannot be drawn: {shown[:200]} holds U+{ord(source[exc.start]):04X}, "
            "half of a surrogate pair, which is not valid Unicode text (a \\uD800-\\uDFFF "
            "escape in a quoted string?); write the character itself instead") from None


def render_svg(source: str, *, timeout: float | None = None) -> str:
    """The SVG text for ``source`` without the XML prologue, ready to put inside HTML (see
    `render` for ``timeout`` and the errors)."""
    svg = render(source, "svg", timeout=timeout).decode("utf-8")
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg
