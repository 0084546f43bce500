"""The ``zorgflow`` command: validate, test, verify, check, schema, diagram, docs, serve.

Exit status: 0 success, 1 when definitions or their examples fail, 2 on usage errors. A user
mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from .._version import __version__
from ..errors import UsageError, ValueProblem
from ..verify import MAX_STATES, TIME_LIMIT
from ._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    SELECTIELIJST_VARIABLE,
    positive_float,
    positive_int,
)
from .migrate import add_migrate_command
from .pictures import add_picture_commands
from .proving import cmd_check, cmd_schema, cmd_test, cmd_validate, cmd_verify
from .stored import add_retention_command, add_worker_command
from .zgw import add_export_command, add_sync_command

__all__ = ["entry", "main"]


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
            p.add_argument("--budget", type=positive_int, default=None, metavar="N",
                           help="evaluations one witness search may spend (default 200000)")
            p.add_argument("--max-states", type=positive_int, default=MAX_STATES, metavar="N",
                           help=f"abstract states to explore at most (default {MAX_STATES:,}; "
                           "bounds memory)")
            p.add_argument("--time-limit", type=positive_float, default=TIME_LIMIT,
                           metavar="SECONDS", help="seconds to verify one workflow at most "
                           f"(default {TIME_LIMIT:g})")
            p.add_argument("--allow-partial", action="store_true",
                           help="a verification stopped by --max-states or --time-limit "
                           "does not fail")
            p.add_argument("--strict", action="store_true",
                           help="a warning the workflow does not acknowledge "
                           "(acknowledged_warnings:) fails")
        if name in ("validate", "check"):
            p.add_argument("--selectielijst", metavar="FILE", default=None,
                           help="check the zgw: blocks' Selectielijst classes against this "
                           f"fixture (default: ${SELECTIELIJST_VARIABLE}; without either, "
                           "only their form)")
        if name == "test":
            p.add_argument("-q", "--quiet", action="store_true", help="only print failures")
        p.set_defaults(func=func)
    p = sub.add_parser("schema", help="print the JSON Schema of the format")
    p.set_defaults(func=cmd_schema)
    add_picture_commands(sub)
    add_worker_command(sub)
    add_export_command(sub)
    add_migrate_command(sub)
    add_retention_command(sub)
    add_sync_command(sub)
    return parser


def _version() -> str:
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
    except ValueProblem as exc:  # a definition that cannot be drawn or written (too large)
        print(f"zorgflow: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("zorgflow: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
