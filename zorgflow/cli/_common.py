"""What the commands share: reading workflow files and folders, writing output, the
store and engine a command names, and argument types. Exit statuses: `EXIT_OK`,
`EXIT_FAILED` (definitions or their examples fail), `EXIT_USAGE` (bad usage)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

from ..engine import Engine
from ..errors import StoreError, UsageError, WorkflowError
from ..loader import load_workflow, workflow_files
from ..model import Workflow
from ..store import Store, open_store
from ..zgw import Selectielijst, check_selectielijst, read_selectielijst

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def workflow_paths(paths: Sequence[str]) -> list[Path]:
    """The workflow files ``paths`` name (a folder: its workflow files); a usage error for
    a path that is not there or a folder without workflows."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = workflow_files(path)
            if not found:
                plans = len([*path.glob("*.yaml"), *path.glob("*.yml")])
                raise UsageError(f"{raw}: no *.yaml files in this folder" + (
                    f" hold a workflow (only {plans} migration plan(s))" if plans else ""))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{raw}: no such file or folder")
    return files


def load_all(paths: Sequence[str], out: TextIO, *, quiet_ok: bool = False,
             selectielijst: Selectielijst | None = None) -> tuple[list[Workflow], int]:
    """The workflows of ``paths`` that load (checked against ``selectielijst`` if given), and
    how many did not; each is reported on ``out`` (those that load only without ``quiet_ok``)."""
    workflows, failures = [], 0
    for file in workflow_paths(paths):
        try:
            workflow = load_workflow(file)
            if selectielijst is not None:
                problems = check_selectielijst(workflow, selectielijst)
                if problems:
                    raise WorkflowError(problems)
        except WorkflowError as exc:
            failures += 1
            report_failure(file, exc, out)
            continue
        workflows.append(workflow)
        if not quiet_ok:
            print(f"OK {file.name} ({workflow.summary()})", file=out)
    return workflows, failures


#: the environment variable naming the Selectielijst fixture when --selectielijst does not
SELECTIELIJST_VARIABLE = "ZORGFLOW_SELECTIELIJST"


def report_failure(file: Path, error: WorkflowError, out: TextIO) -> None:
    """``FAIL file (n problems)`` and a line for each problem, on ``out``."""
    count = len(error.errors)
    print(f"FAIL {file} ({count} problem{'s' if count != 1 else ''})", file=out)
    for problem in error.errors:
        print(f"  {problem}", file=out)


def selectielijst_of(args: argparse.Namespace) -> Selectielijst | None:
    """The Selectielijst that ``--selectielijst`` (else ``ZORGFLOW_SELECTIELIJST``) names,
    or None: then the zgw: blocks' classes are checked for their form only."""
    path = args.selectielijst or os.environ.get(SELECTIELIJST_VARIABLE)
    if not path:
        return None
    try:
        return read_selectielijst(path)
    except ValueError as exc:
        source = "--selectielijst" if args.selectielijst else SELECTIELIJST_VARIABLE
        raise UsageError(f"{exc} (from {source})") from None


def positive_int(text: str) -> int:
    """An argument type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_float(text: str) -> float:
    """An argument type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def one_file(raw: str) -> Path:
    """``raw`` as the path of one existing file; a usage error otherwise."""
    path = Path(raw)
    if path.is_dir():
        raise UsageError(f"{raw}: is a folder; give one workflow file")
    if not path.is_file():
        raise UsageError(f"{raw}: no such file")
    return path


def load_one(file: Path) -> Workflow | None:
    """The workflow in ``file``, or None after printing its problems (to stderr)."""
    try:
        return load_workflow(file)
    except WorkflowError as exc:
        report_failure(file, exc, sys.stderr)
        return None


def write(data: str | bytes, output: str | None, out: TextIO) -> None:
    """``data`` to the file ``output`` (folders made as needed), or to ``out``."""
    if output is None:
        if isinstance(data, bytes):
            raise UsageError("this format is binary: give -o FILE")
        out.write(data)
        return
    target = Path(output)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{output}: cannot write ({exc.strerror})") from None
    print(f"wrote {output}", file=sys.stderr)


def store_of(where: str, schema: str | None, engine: Engine, *,
             existing: bool = False) -> Store:
    """The store ``--store`` names (a postgresql:// DSN or a SQLite file), in ``--schema``
    for PostgreSQL; with ``existing``, a SQLite file must be there already (a command that
    only reads should not create one)."""
    dsn = where.startswith(("postgresql://", "postgres://"))
    if schema and not dsn:
        raise UsageError("--schema names a PostgreSQL schema: give a postgresql:// DSN")
    if existing and not dsn and not Path(where).is_file():
        raise UsageError(f"no store at {where}: give an existing SQLite file or a "
                         "postgresql:// DSN")
    try:
        return open_store(where, engine, **({"schema": schema} if schema else {}))
    except (StoreError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def engine_of(path: str) -> Engine:
    """The engine of the workflows at ``path``; a usage error when there are none."""
    if not Path(path).exists():
        raise UsageError(f"no such file or folder: {path}")
    try:
        return Engine.from_directory(path)
    except WorkflowError as exc:
        raise UsageError(f"the workflows in {path} do not load:\n{exc}") from None


def day(text: str) -> date:
    """An argument type: a date written YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def command_group(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, *,
                  help: str, description: str, metavar: str
                  ) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The subcommands of a command that needs one (``zorgflow NAME SUBCOMMAND``), chosen in
    ``args.<name>_command``."""
    group = sub.add_parser(name, help=help, description=description).add_subparsers(
        dest=f"{name}_command", metavar=metavar)
    group.required = True
    return group


def store_arguments(p: argparse.ArgumentParser) -> None:
    """``--store`` and ``--schema``, which `store_of` reads."""
    p.add_argument("--store", required=True, metavar="DSN|FILE",
                   help="a postgresql:// DSN, or a SQLite file")
    p.add_argument("--schema", default=None, metavar="NAME",
                   help="the PostgreSQL schema of the store (default zorgflow)")


def workflow_file(path: str) -> Workflow:
    """The workflow in the file ``path``; a usage error when it does not load."""
    try:
        return load_workflow(path)
    except WorkflowError as exc:
        raise UsageError(f"{path} does not load:\n{exc}") from None
