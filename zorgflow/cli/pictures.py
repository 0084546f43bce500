"""``zorgflow diagram``, ``docs`` and ``serve``: a workflow drawn, written out as a
process document, or edited in the browser."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from ..engine import Case
from ..errors import CaseFormatError, CaseMismatch, GraphvizMissing, TemplatesMissing, UsageError
from ..model import Workflow
from ..render.docs import render_document
from ..render.dot import render, render_svg, to_dot
from ..render.graph import CasePath, build_graph, case_path
from ..render.mermaid import to_mermaid
from ..serve import serve
from ._common import EXIT_FAILED, EXIT_OK, load_one, one_file, write

_DIAGRAM_SUFFIXES = {".mmd": "mermaid", ".mermaid": "mermaid", ".dot": "dot", ".gv": "dot",
                     ".svg": "svg", ".png": "png"}


_DOC_SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}


def _case_path(raw: str, workflow: Workflow) -> CasePath:
    try:
        data = json.loads(Path(raw).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{raw}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a JSON file"
        raise UsageError(f"{raw}: cannot read the case ({reason})") from None
    try:
        return case_path(workflow, Case.from_dict(data))
    except (CaseFormatError, CaseMismatch) as exc:
        raise UsageError(f"{raw}: {exc}") from None


def cmd_diagram(args: argparse.Namespace, out: TextIO) -> int:
    """Draw a workflow: Mermaid or DOT text, or an SVG/PNG picture through Graphviz."""
    file = one_file(args.file)
    fmt = args.format or (_DIAGRAM_SUFFIXES.get(Path(args.output).suffix.lower())
                          if args.output else "mermaid")
    if fmt is None:
        raise UsageError(f"{args.output}: cannot tell the format from the file name; "
                         "give --format mermaid|dot|svg|png")
    if fmt == "png" and args.output is None:
        raise UsageError("--format png is binary: give -o FILE.png")
    workflow = load_one(file)
    if workflow is None:
        return EXIT_FAILED
    path = _case_path(args.case, workflow) if args.case else None
    graph = build_graph(workflow, path)
    data: str | bytes
    if fmt == "mermaid":
        data = to_mermaid(graph)
    elif fmt == "dot":
        data = to_dot(graph)
    else:
        try:
            data = render(to_dot(graph), "svg" if fmt == "svg" else "png")
        except GraphvizMissing as exc:
            raise UsageError(str(exc)) from None
        if fmt == "svg":
            data = data.decode("utf-8")
    write(data, args.output, out)
    return EXIT_OK


def cmd_docs(args: argparse.Namespace, out: TextIO) -> int:
    """Write the process document of a workflow (HTML or Markdown)."""
    file = one_file(args.file)
    fmt = args.format or (_DOC_SUFFIXES.get(Path(args.output).suffix.lower())
                          if args.output else "html")
    if fmt is None:
        raise UsageError(f"{args.output}: cannot tell the format from the file name; "
                         "give --format html|md (or name the file .html or .md)")
    workflow = load_one(file)
    if workflow is None:
        return EXIT_FAILED
    diagram = None
    if not args.no_diagram:
        graph = build_graph(workflow)
        try:
            diagram = render_svg(to_dot(graph)) if fmt == "html" else to_mermaid(graph)
        except GraphvizMissing as exc:
            raise UsageError(f"{exc}; or leave the diagram out with --no-diagram") from None
    try:
        text = render_document(workflow, "html" if fmt == "html" else "md", diagram=diagram)
    except TemplatesMissing as exc:
        raise UsageError(str(exc)) from None
    write(text, args.output, out)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Edit a workflow in the browser, with live validation, diagram and examples."""
    return serve(args.path, host=args.host, port=args.port, out=out,
                 allow_hosts=args.allow_host)


def add_picture_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``zorgflow diagram``, ``docs`` and ``serve``."""
    p = sub.add_parser("diagram", help="draw a workflow (mermaid, dot, svg, png)",
                       description="Draw a workflow: states, events, roles, guards. "
                                   "mermaid and dot are text; svg and png need Graphviz.")
    p.add_argument("file", metavar="FILE", help="a workflow file")
    p.add_argument("--format", "-f", choices=("mermaid", "dot", "svg", "png"), default=None,
                   help="default: from the -o file name, else mermaid")
    p.add_argument("-o", "--output", metavar="OUT", help="write here instead of to stdout")
    p.add_argument("--case", metavar="CASE.json",
                   help="highlight the path of this case (a Case.to_dict() JSON file)")
    p.set_defaults(func=cmd_diagram)
    p = sub.add_parser("docs", help="write the process document (html or md)",
                       description="Write a readable process document from a workflow file.")
    p.add_argument("file", metavar="FILE", help="a workflow file")
    p.add_argument("-o", "--output", metavar="OUT", help="out.html or out.md (default: stdout)")
    p.add_argument("--format", "-f", choices=("html", "md"), default=None,
                   help="default: from the -o file name, else html")
    p.add_argument("--no-diagram", action="store_true",
                   help="leave the diagram out (HTML then needs no Graphviz)")
    p.set_defaults(func=cmd_docs)
    p = sub.add_parser("serve", help="edit a workflow in the browser (local web page)",
                       description="A local web page to edit workflow files, with live "
                                   "validation, diagram and examples. Saves only when you "
                                   "press Save, only to the file(s) served.")
    p.add_argument("path", nargs="?", default=".", metavar="PATH",
                   help="a workflow file, or a folder of them (default: .)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests that name this server NAME (repeatable; "
                   "loopback names always work)")
    p.set_defaults(func=cmd_serve)
