"""The ``zorgflow`` command: validate, test, check, schema.

Exit status: 0 success, 1 when definitions or their examples fail, 2 on usage errors. A user
mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .errors import WorkflowError
from .model import Workflow

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line use (exit 2)."""


def _files(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            if not found:
                raise UsageError(f"{raw}: no *.yaml files in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{raw}: no such file or folder")
    return files


def _load_all(paths: Sequence[str], out: TextIO, *, quiet_ok: bool = False
              ) -> tuple[list[Workflow], int]:
    from .loader import load_workflow

    workflows, failures = [], 0
    for file in _files(paths):
        try:
            workflow = load_workflow(file)
        except WorkflowError as exc:
            failures += 1
            print(f"FAIL {file} ({len(exc.errors)} problem{'s' if len(exc.errors) != 1 else ''})",
                  file=out)
            for problem in exc.errors:
                print(f"  {problem}", file=out)
            continue
        workflows.append(workflow)
        if not quiet_ok:
            print(f"OK {file.name} ({workflow.summary()})", file=out)
    return workflows, failures


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    """Check structure and meaning of workflow files."""
    _, failures = _load_all(args.paths, out)
    return EXIT_FAILED if failures else EXIT_OK


def _run_examples(workflows: list[Workflow], out: TextIO, verbose: bool) -> int:
    from .engine import Engine
    from .scenarios import Coverage, run_examples

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
        n_transitions = sum(len(t.sources) for t in workflow.transitions)
        missing_t = coverage.missing_transitions(workflow)
        missing_s = coverage.missing_sides(workflow)
        print(f"coverage {workflow.id}: {len(workflow.examples)} examples, transitions "
              f"{n_transitions - len(missing_t)}/{n_transitions}"
              + (f"; not fired: {', '.join(missing_t)}" if missing_t else "")
              + (f"; criteria/rows not shown: {', '.join(missing_s)}" if missing_s else
                 "; every criterion and row shown true and false"), file=out)
    print(f"{passed} passed, {failed} failed", file=out)
    return failed


def cmd_test(args: argparse.Namespace, out: TextIO) -> int:
    """Run the examples of workflow files."""
    workflows, failures = _load_all(args.paths, out, quiet_ok=True)
    failed = _run_examples(workflows, out, not args.quiet)
    return EXIT_FAILED if failures or failed else EXIT_OK


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    """Prove the process rules over the abstract state space."""
    from .verify import report_verification

    workflows, failures = _load_all(args.paths, out, quiet_ok=True)
    bad = report_verification(workflows, out, budget=args.budget)
    return EXIT_FAILED if failures or bad else EXIT_OK


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """Validate, verify and test."""
    workflows, failures = _load_all(args.paths, out)
    from .verify import report_verification

    bad = report_verification(workflows, out, budget=args.budget)
    failed = _run_examples(workflows, out, verbose=False)
    return EXIT_FAILED if failures or failed or bad else EXIT_OK


def cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    """Print the JSON Schema of the workflow format."""
    from .loader import schema

    print(json.dumps(schema(), indent=2, ensure_ascii=False), file=out)
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zorgflow", description="Care processes as YAML: validate, test, check.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, func, help_text in (
        ("validate", cmd_validate, "check workflow files (structure and meaning)"),
        ("test", cmd_test, "run the examples in workflow files"),
        ("verify", cmd_verify, "prove invariants; find dead ends, unreachable states, gaps"),
        ("check", cmd_check, "validate + verify + test: the main job"),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("paths", nargs="+", metavar="PATH", help="workflow files or folders")
        if name in ("verify", "check"):
            p.add_argument("--budget", type=int, default=None, metavar="N",
                           help="evaluations one witness search may spend (default 200000)")
        if name == "test":
            p.add_argument("-q", "--quiet", action="store_true", help="only print failures")
        p.set_defaults(func=func)
    p = sub.add_parser("schema", help="print the JSON Schema of the format")
    p.set_defaults(func=cmd_schema)
    return parser


def _version() -> str:
    from . import __version__

    return f"zorgflow {__version__}"


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    out = out or sys.stdout
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    try:
        return int(args.func(args, out))
    except UsageError as exc:
        print(f"zorgflow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("zorgflow: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
