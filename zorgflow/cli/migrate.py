"""``zorgflow migrate check``, ``plan`` and ``apply``: moving cases to a new workflow version."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from ..engine import Actor, Engine
from ..errors import StoreError, UnknownWorkflow, UsageError, WorkflowError
from ..migrate import MigrationPlan, check_plan, impact, load_plan
from ..migration_plan import plan_header
from ..model import Workflow
from ..service import CaseService
from ..verify import MAX_STATES, TIME_LIMIT
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    command_group,
    engine_of,
    positive_float,
    positive_int,
    store_arguments,
    store_of,
    workflow_file,
)


def add_migrate_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``zorgflow migrate check|plan|apply``."""
    msub = command_group(sub, "migrate",
                         help="check a migration plan, show its impact, apply it",
                         description="Move cases to a new workflow version: check a plan "
                                     "over every reachable case of the old version, or show "
                                     "what it would do to the cases of a store (nothing is "
                                     "written).", metavar="SUBCOMMAND")
    c = msub.add_parser("check", help="can every case of OLD move to NEW?",
                        description="Exit 0 when every reachable case of OLD can move to NEW "
                                    "(by --plan, else keeping every id), 1 with the gaps, 2 "
                                    "on usage errors.")
    c.add_argument("old", metavar="OLD.yaml", help="the old version")
    c.add_argument("new", metavar="NEW.yaml", help="the new version")
    c.add_argument("--plan", metavar="PLAN.yaml", help="the migration plan (default: identity)")
    c.add_argument("--max-states", type=positive_int, default=MAX_STATES, metavar="N",
                   help=f"abstract states to explore at most (default {MAX_STATES:,})")
    c.add_argument("--time-limit", type=positive_float, default=TIME_LIMIT,
                   metavar="SECONDS", help=f"seconds to explore at most (default {TIME_LIMIT:g})")
    c.add_argument("--allow-partial", action="store_true",
                   help="a search cut off by --max-states or --time-limit does not fail")
    c.set_defaults(func=cmd_migrate_check)
    q = msub.add_parser("plan", help="what a plan would do to the cases of a store (no writes)",
                        description="Count the stored cases of the plan's old version per "
                                    "state, where each would move and which cannot move and "
                                    "why. Writes nothing. Exit 1 when some cannot move.")
    _store_plan_arguments(q)
    q.set_defaults(func=cmd_migrate_plan)
    a = msub.add_parser("apply", help="move the stored cases of the old version by a plan",
                        description="Move every stored case of the plan's old version (or "
                                    "those given with --case) to the new version, each in its "
                                    "own transaction with one history entry of kind "
                                    "'migrate'; a case that cannot move is left as it was. "
                                    "Safe to run again: it moves only what is still on the "
                                    "old version. Exit 1 when some case did not move.")
    _store_plan_arguments(a)
    a.add_argument("--actor", required=True, metavar="ID",
                   help="who runs the migration (named in each case's history)")
    a.add_argument("--case", action="append", default=None, metavar="ID", dest="case_ids",
                   help="move only this case (repeatable)")
    a.add_argument("--dry-run", action="store_true",
                   help="say what would move, case by case; write nothing")
    a.set_defaults(func=cmd_migrate_apply)


def _store_plan_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("workflows", metavar="WORKFLOWS_DIR",
                   help="the workflow folder, holding both versions")
    store_arguments(p)
    p.add_argument("--plan", required=True, metavar="PLAN.yaml", help="the migration plan")


def cmd_migrate_check(args: argparse.Namespace, out: TextIO) -> int:
    """Check a migration plan (or the identity mapping) over the old version."""
    old, new = workflow_file(args.old), workflow_file(args.new)
    if old.id != new.id:
        raise UsageError(f"{args.old} is workflow '{old.id}' but {args.new} is '{new.id}': "
                         "give two versions of the same workflow")
    plan = None
    if args.plan:
        try:
            plan = load_plan(args.plan, old, new)
        except WorkflowError as exc:
            raise UsageError(f"the plan {args.plan} is not valid:\n{exc}") from None
    report = check_plan(old, new, plan, max_states=args.max_states,
                        time_limit=args.time_limit)
    out.write(report.as_text() + "\n")
    if report.gaps or (report.cut_off and not args.allow_partial):
        return EXIT_FAILED
    return EXIT_OK


def cmd_migrate_plan(args: argparse.Namespace, out: TextIO) -> int:
    """Show what a plan would do to the stored cases; write nothing."""
    engine, old, new, plan = _plan_for_store(args)
    store = store_of(args.store, args.schema, engine, existing=True)

    def progress(read: int) -> None:
        print(f"zorgflow migrate: {read:,} case(s) read", file=sys.stderr, flush=True)

    try:
        result = impact(store, old, new, plan, progress=progress)
    except StoreError as exc:
        print(f"zorgflow migrate: the store failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    out.write(result.as_text() + "\n")
    return EXIT_FAILED if result.blocked else EXIT_OK


def cmd_migrate_apply(args: argparse.Namespace, out: TextIO) -> int:
    """Move the stored cases by a plan (or, with --dry-run, say what would move)."""
    engine, _, _, plan = _plan_for_store(args)
    store = store_of(args.store, args.schema, engine, existing=True)
    verb = "looked at" if args.dry_run else "done"

    def progress(done: int) -> None:
        print(f"zorgflow migrate: {done:,} case(s) {verb}", file=sys.stderr, flush=True)

    try:
        run = CaseService(engine, store).migrate(
            plan, actor=Actor(args.actor, roles=set()), case_ids=args.case_ids,
            dry_run=args.dry_run, progress=progress)
    except StoreError as exc:
        print(f"zorgflow migrate: the store failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    out.write(run.as_text() + "\n")
    return EXIT_OK if run.ok else EXIT_FAILED


def _plan_for_store(args: argparse.Namespace) -> tuple[Engine, Workflow, Workflow,
                                                       MigrationPlan]:
    """The engine of ``args.workflows``, the plan's two versions in it and the plan."""
    try:
        workflow_id, from_version, to_version = plan_header(args.plan)
    except WorkflowError as exc:
        raise UsageError(f"the plan {args.plan} is not valid:\n{exc}") from None
    engine = engine_of(args.workflows)
    try:
        old = engine.workflow(workflow_id, from_version)
        new = engine.workflow(workflow_id, to_version)
    except UnknownWorkflow as exc:
        raise UsageError(f"the plan {args.plan} moves {workflow_id} {from_version} → "
                         f"{to_version}, but in {args.workflows}: {exc}; put both versions "
                         "in the folder") from None
    try:
        plan = load_plan(args.plan, old, new)
    except WorkflowError as exc:
        raise UsageError(f"the plan {args.plan} is not valid:\n{exc}") from None
    return engine, old, new, plan
