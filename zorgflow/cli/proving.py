"""``zorgflow validate``, ``test``, ``verify``, ``check`` and ``schema``: proving workflow files."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from ..engine import Engine
from ..loader import schema
from ..model import Workflow
from ..scenarios import Coverage, run_examples
from ..verify import report_verification
from ._common import EXIT_FAILED, EXIT_OK, load_all, selectielijst_of


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    """Check structure and meaning of workflow files."""
    _, failures = load_all(args.paths, out, selectielijst=selectielijst_of(args))
    return EXIT_FAILED if failures else EXIT_OK


def _run_examples(workflows: list[Workflow], out: TextIO, verbose: bool) -> int:
    passed = failed = 0
    for workflow in workflows:
        engine = Engine([workflow])
        coverage = Coverage()
        for result in run_examples(workflow, engine):
            coverage.merge(result.coverage)
            if result.passed:
                passed += 1
                if verbose:
                    print(f"PASS {workflow.id}: {result.name}", file=out)
            else:
                failed += 1
                print(f"FAIL {workflow.id}: {result.name}\n  {result.message}", file=out)
        n_transitions = sum(len(t.from_states) for t in workflow.transitions)
        missing_t = coverage.missing_transitions(workflow)
        missing_s = coverage.missing_sides(workflow)
        print(f"coverage {workflow.id}: {len(workflow.examples)} examples, transitions "
              f"{n_transitions - len(missing_t)}/{n_transitions}"
              + (f"; not fired: {_some(missing_t, verbose)}" if missing_t else "")
              + (f"; criteria/rows not shown: {_some(missing_s, verbose)}" if missing_s else
                 "; every criterion and row shown true and false"), file=out)
    print(f"{passed} passed, {failed} failed", file=out)
    return failed


def _some(names: list[str], everything: bool, shown: int = 30) -> str:
    """A list for a report line: the first ``shown`` names and how many more (all of them
    in `zorgflow test` without --quiet)."""
    if everything or len(names) <= shown:
        return ", ".join(names)
    more = len(names) - shown
    return ", ".join(names[:shown]) + f" and {more:,} more (zorgflow test lists them all)"


def cmd_test(args: argparse.Namespace, out: TextIO) -> int:
    """Run the examples of workflow files."""
    workflows, failures = load_all(args.paths, out, quiet_ok=True)
    failed = _run_examples(workflows, out, not args.quiet)
    return EXIT_FAILED if failures or failed else EXIT_OK


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    """Prove the process rules over the abstract state space."""
    workflows, failures = load_all(args.paths, out, quiet_ok=True)
    bad = report_verification(workflows, out, budget=args.budget, **_bounds(args))
    return EXIT_FAILED if failures or bad else EXIT_OK


def _bounds(args: argparse.Namespace) -> dict[str, Any]:
    return {"max_states": args.max_states, "time_limit": args.time_limit,
            "allow_partial": args.allow_partial, "strict": args.strict}


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """Validate, verify and test."""
    workflows, failures = load_all(args.paths, out, selectielijst=selectielijst_of(args))
    bad = report_verification(workflows, out, budget=args.budget, **_bounds(args))
    failed = _run_examples(workflows, out, verbose=False)
    return EXIT_FAILED if failures or failed or bad else EXIT_OK


def cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    """Print the JSON Schema of the workflow format."""
    print(json.dumps(schema(), indent=2, ensure_ascii=False), file=out)
    return EXIT_OK
