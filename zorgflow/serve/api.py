"""What the page asks for, as plain functions: check a text, run its examples, save it.

Every answer is a JSON-ready dict. Texts are loaded with `zorgflow.loader.load_workflow_text`
(safe YAML, the JSON Schema, the semantic checks), verified with `zorgflow.verify.verify`
within small bounds (see `zorgflow.serve.verifying`) and examples run through
`zorgflow.scenarios.run_examples`; nothing else is evaluated.

A text with errors (load errors, or errors verify found) is saved only when the request
confirms it (``"confirm_errors": true``); warnings never stop a save.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

from ..engine import Engine
from ..errors import GraphvizMissing, WorkflowError
from ..loader import load_workflow_text
from ..model import Workflow
from ..render.dot import render_svg, to_dot
from ..render.graph import build_graph
from ..scenarios import run_examples
from .files import Refused, digest, ensure_unchanged, replace_text
from .verifying import Verification

__all__ = ["CONFIRM", "MAX_BODY", "MAX_TEXT", "check", "digest", "run", "save"]

#: a text longer than this many characters is refused (a workflow file is a few dozen kB)
MAX_TEXT = 1_000_000
#: a request body longer than this many bytes is refused (JSON of the longest text)
MAX_BODY = 4 * MAX_TEXT
#: the member of a save request that confirms saving a text with errors
CONFIRM = "confirm_errors"


def _load(text: str, name: str) -> tuple[Workflow | None, list[dict[str, Any]]]:
    try:
        return load_workflow_text(text, name), []
    except WorkflowError as exc:
        return None, [{"line": p.line, "column": p.column, "message": p.message,
                       "text": str(p)} for p in exc.errors]


def check(text: str, name: str, verification: Verification) -> dict[str, Any]:
    """Problems (with line and column) or a summary, the diagram as SVG and what verify
    found (``findings``, and ``verify``: how far it got) when it loads. Verify is skipped,
    not waited for, when ``verification`` is busy. Raises `ValueProblem` for a workflow
    holding text that is not valid Unicode (a lone surrogate); Graphviz is then not started."""
    workflow, problems = _load(text, name)
    if workflow is None:
        return {"ok": False, "problems": problems,
                **_verified(verification.not_run())}
    answer: dict[str, Any] = {"ok": True, "problems": [], "summary": workflow.summary(),
                              "label": workflow.label}
    try:
        answer["svg"] = render_svg(to_dot(build_graph(workflow)))
    except GraphvizMissing as exc:
        answer["diagram_error"] = str(exc)
    answer.update(_verified(verification.answer(workflow, text)))
    return answer


def _verified(answer: dict[str, Any]) -> dict[str, Any]:
    """A verify answer as members of a check or save answer: ``findings`` beside
    ``problems``, and ``verify`` for the rest."""
    rest = {k: v for k, v in answer.items() if k != "findings"}
    return {"findings": answer["findings"], "verify": rest}


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


def save(file: Path, text: str, base: str, verification: Verification, *,
         confirmed: bool = False) -> dict[str, Any]:
    """Replace ``file`` (one of the files served) by ``text``, whole, unless it changed on
    disk since the page loaded it (``base`` is the `digest` of the text it loaded), or the
    text has errors (load errors, or errors verify finds) and the save is not ``confirmed``.

    Raises `SaveConflict` when the file changed, `Refused` when it may not be written (a
    symbolic link, outside the folder), when it has errors not confirmed (422) or verify
    is too busy to check it (503); `OSError` when writing fails. The file is then unchanged.
    """
    ensure_unchanged(file, base)  # the conflict first: confirming errors would not help
    workflow, problems = _load(text, file.name)
    if workflow is None:
        verified = verification.not_run()
    elif confirmed:  # saved, errors or not: verify when a slot is free, never wait
        verified = verification.answer(workflow, text)
    else:
        verified = verification.answer(workflow, text, wait=verification.limits.save_wait)
        if verified["status"] == "skipped":
            raise _busy(file, verification)
    errors = len(problems) + verified["errors"]
    if errors and not confirmed:
        raise _unconfirmed(file, problems, verified)
    replace_text(file, text, base)
    return {"saved": True, "hash": digest(text), "problems": problems, "errors": errors,
            **_verified(verified)}


def _unconfirmed(file: Path, problems: list[dict[str, Any]],
                 verified: dict[str, Any]) -> Refused:
    """The refusal of a save with errors: 422, a problem-details body saying how many and
    how to confirm."""
    load, found = len(problems), verified["errors"]
    total = load + found
    parts = [f"{n} {what}{'' if n == 1 else 's'}"
             for n, what in ((load, "load error"), (found, "verify error")) if n]
    detail = (f"{file.name}: not saved: the text has {total} error{'' if total == 1 else 's'} "
              f"({', '.join(parts)}); fix {'it' if total == 1 else 'them'}, or save anyway "
              f'by sending the request again with "{CONFIRM}": true')
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    return Refused(status, detail, details={
        "type": "urn:zorgflow:serve:unconfirmed-errors", "title": "the text has errors",
        "status": int(status), "detail": detail, "errors": total, "load_errors": load,
        "verify_errors": found, "warnings": verified["warnings"], "confirm_with": CONFIRM,
        "problems": problems, **_verified(verified)})


def _busy(file: Path, verification: Verification) -> Refused:
    """The refusal of a save verify had no time for: 503, try again in a moment."""
    wait = verification.limits.save_wait
    detail = (f"{file.name}: not saved: verify is busy with other texts and could not check "
              f"this one within {wait:g} s; try again in a moment (or send "
              f'"{CONFIRM}": true to save without waiting for verify)')
    status = HTTPStatus.SERVICE_UNAVAILABLE
    retry = max(1, round(verification.limits.time_limit))
    return Refused(status, detail, headers=[("Retry-After", str(retry))], details={
        "type": "urn:zorgflow:serve:verify-busy", "title": "verify is busy",
        "status": int(status), "detail": detail, "retry_after": retry})
