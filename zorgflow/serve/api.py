"""What the page asks for, as plain functions: check a text, run its examples, save it.

Every answer is a JSON-ready dict. Texts are loaded with `zorgflow.loader.load_workflow_text`
(safe YAML, the JSON Schema, the semantic checks) and examples run through
`zorgflow.scenarios.run_examples`; nothing else is evaluated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..engine import Engine
from ..errors import GraphvizMissing, WorkflowError
from ..loader import load_workflow_text
from ..model import Workflow
from ..render.dot import render_svg, to_dot
from ..render.graph import build_graph
from ..scenarios import run_examples
from .files import digest, replace_text

__all__ = ["MAX_BODY", "MAX_TEXT", "check", "digest", "run", "save"]

#: a text longer than this many characters is refused (a workflow file is a few dozen kB)
MAX_TEXT = 1_000_000
#: a request body longer than this many bytes is refused (JSON of the longest text)
MAX_BODY = 4 * MAX_TEXT


def _load(text: str, name: str) -> tuple[Workflow | None, list[dict[str, Any]]]:
    try:
        return load_workflow_text(text, name), []
    except WorkflowError as exc:
        return None, [{"line": p.line, "column": p.column, "message": p.message,
                       "text": str(p)} for p in exc.errors]


def check(text: str, name: str) -> dict[str, Any]:
    """Problems (with line and column) or a summary, and the diagram as SVG when it loads.
    Raises `ValueProblem` for a workflow holding text that is not valid Unicode (a lone
    surrogate); Graphviz is then not started."""
    workflow, problems = _load(text, name)
    if workflow is None:
        return {"ok": False, "problems": problems}
    answer: dict[str, Any] = {"ok": True, "problems": [], "summary": workflow.summary(),
                              "label": workflow.label}
    try:
        answer["svg"] = render_svg(to_dot(build_graph(workflow)))
    except GraphvizMissing as exc:
        answer["diagram_error"] = str(exc)
    return answer


def run(text: str, name: str) -> dict[str, Any]:
    """Run the examples of ``text``: one result per example."""
    workflow, problems = _load(text, name)
    if workflow is None:
        return {"ok": False, "problems": problems, "results": []}
    results = run_examples(workflow, Engine([workflow]))
    rows = [{"name": r.name, "passed": r.passed, "message": r.message} for r in results]
    passed = sum(1 for r in rows if r["passed"])
    return {"ok": passed == len(rows), "problems": [], "results": rows,
            "passed": passed, "failed": len(rows) - passed}


def save(file: Path, text: str, base: str) -> dict[str, Any]:
    """Replace ``file`` (one of the files served) by ``text``, whole, unless it changed on
    disk since the page loaded it (``base`` is the `digest` of the text it loaded). Raises
    `SaveConflict` when it changed, `Refused` when it may not be written (a symbolic
    link, outside the folder), `OSError` when writing fails; the file is then unchanged."""
    replace_text(file, text, base)
    _, problems = _load(text, file.name)
    return {"saved": True, "hash": digest(text), "problems": problems}
