"""What the page asks for, as plain functions: check a text, run its examples, save it.

Every answer is a JSON-ready dict. Texts are loaded with `zorgflow.loader.load_workflow_text`
(safe YAML, the JSON Schema, the semantic checks) and examples run through
`zorgflow.scenarios.run_examples`; nothing else is evaluated.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..engine import Engine
from ..errors import GraphvizMissing, SaveConflict, WorkflowError
from ..loader import load_workflow_text
from ..model import Workflow
from ..render.dot import render_svg, to_dot
from ..render.graph import build_graph
from ..scenarios import run_examples

#: a request body larger than this is refused (a workflow file is a few dozen kB)
MAX_TEXT = 1_000_000


def digest(text: str) -> str:
    """The SHA-256 of ``text`` (UTF-8), to notice a file changed on disk."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _load(text: str, name: str) -> tuple[Workflow | None, list[dict[str, Any]]]:
    try:
        return load_workflow_text(text, name), []
    except WorkflowError as exc:
        return None, [{"line": p.line, "column": p.column, "message": p.message,
                       "text": str(p)} for p in exc.errors]


def check(text: str, name: str) -> dict[str, Any]:
    """Problems (with line and column) or a summary, and the diagram as SVG when it loads."""
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


def save(file: Path, text: str, base: str | None) -> dict[str, Any]:
    """Write ``text`` to ``file`` (one of the files served) unless it changed on disk since
    the page loaded it (``base`` is the digest it loaded). Raises `SaveConflict`."""
    current = file.read_text(encoding="utf-8")
    if base is not None and digest(current) != base:
        raise SaveConflict("the file changed on disk since this page loaded it; reload the "
                           "page (and copy your edits) first")
    file.write_text(text, encoding="utf-8")
    _, problems = _load(text, file.name)
    return {"saved": True, "hash": digest(text), "problems": problems}
