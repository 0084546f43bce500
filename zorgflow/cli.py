"""The ``zorgflow`` command: validate, test, verify, check, schema, diagram, docs, serve.

Exit status: 0 success, 1 when definitions or their examples fail, 2 on usage errors. A user
mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TextIO

from ._version import __version__
from .engine import Actor, Case, Engine
from .errors import (
    CaseFormatError,
    CaseMismatch,
    GraphvizMissing,
    StoreError,
    TemplatesMissing,
    UnknownWorkflow,
    UsageError,
    ValueProblem,
    WorkflowError,
)
from .loader import load_workflow, schema, workflow_files
from .migrate import MigrationPlan, check_plan, impact, load_plan
from .migration_plan import plan_header
from .model import Workflow
from .model.calendar import AMSTERDAM
from .render.docs import render_document
from .render.dot import render, render_svg, to_dot
from .render.graph import CasePath, build_graph, case_path
from .render.mermaid import to_mermaid
from .scenarios import Coverage, run_examples
from .serve import serve
from .service import CaseService, TimerWorker, ZaakSync
from .store import RecordedSignal, Store, open_store
from .verify import MAX_STATES, TIME_LIMIT, report_verification
from .zgw import Selectielijst, check_selectielijst, export_zaaktype, read_selectielijst

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _files(paths: Sequence[str]) -> list[Path]:
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


def _load_all(paths: Sequence[str], out: TextIO, *, quiet_ok: bool = False,
              selectielijst: Selectielijst | None = None) -> tuple[list[Workflow], int]:

    workflows, failures = [], 0
    for file in _files(paths):
        try:
            workflow = load_workflow(file)
            if selectielijst is not None:
                problems = check_selectielijst(workflow, selectielijst)
                if problems:
                    raise WorkflowError(problems)
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
    _, failures = _load_all(args.paths, out, selectielijst=_selectielijst(args))
    return EXIT_FAILED if failures else EXIT_OK


#: the environment variable naming the Selectielijst fixture when --selectielijst does not
SELECTIELIJST_VARIABLE = "ZORGFLOW_SELECTIELIJST"


def _selectielijst(args: argparse.Namespace) -> Selectielijst | None:
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
    workflows, failures = _load_all(args.paths, out, quiet_ok=True)
    failed = _run_examples(workflows, out, not args.quiet)
    return EXIT_FAILED if failures or failed else EXIT_OK


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    """Prove the process rules over the abstract state space."""
    workflows, failures = _load_all(args.paths, out, quiet_ok=True)
    bad = report_verification(workflows, out, budget=args.budget, **_bounds(args))
    return EXIT_FAILED if failures or bad else EXIT_OK


def _bounds(args: argparse.Namespace) -> dict[str, Any]:
    return {"max_states": args.max_states, "time_limit": args.time_limit,
            "allow_partial": args.allow_partial, "strict": args.strict}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """Validate, verify and test."""
    workflows, failures = _load_all(args.paths, out, selectielijst=_selectielijst(args))
    bad = report_verification(workflows, out, budget=args.budget, **_bounds(args))
    failed = _run_examples(workflows, out, verbose=False)
    return EXIT_FAILED if failures or failed or bad else EXIT_OK


def cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    """Print the JSON Schema of the workflow format."""
    print(json.dumps(schema(), indent=2, ensure_ascii=False), file=out)
    return EXIT_OK


def _one_file(raw: str) -> Path:
    path = Path(raw)
    if path.is_dir():
        raise UsageError(f"{raw}: is a folder; give one workflow file")
    if not path.is_file():
        raise UsageError(f"{raw}: no such file")
    return path


def _load_one(file: Path) -> Workflow | None:
    """The workflow in ``file``, or None after printing its problems (to stderr)."""
    try:
        return load_workflow(file)
    except WorkflowError as exc:
        count = len(exc.errors)
        print(f"FAIL {file} ({count} problem{'s' if count != 1 else ''})", file=sys.stderr)
        for problem in exc.errors:
            print(f"  {problem}", file=sys.stderr)
        return None


def _write(data: str | bytes, output: str | None, out: TextIO) -> None:
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
    file = _one_file(args.file)
    fmt = args.format or (_DIAGRAM_SUFFIXES.get(Path(args.output).suffix.lower())
                          if args.output else "mermaid")
    if fmt is None:
        raise UsageError(f"{args.output}: cannot tell the format from the file name; "
                         "give --format mermaid|dot|svg|png")
    if fmt == "png" and args.output is None:
        raise UsageError("--format png is binary: give -o FILE.png")
    workflow = _load_one(file)
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
    _write(data, args.output, out)
    return EXIT_OK


def cmd_docs(args: argparse.Namespace, out: TextIO) -> int:
    """Write the process document of a workflow (HTML or Markdown)."""
    file = _one_file(args.file)
    fmt = args.format or (_DOC_SUFFIXES.get(Path(args.output).suffix.lower())
                          if args.output else "html")
    if fmt is None:
        raise UsageError(f"{args.output}: cannot tell the format from the file name; "
                         "give --format html|md (or name the file .html or .md)")
    workflow = _load_one(file)
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
    _write(text, args.output, out)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Edit a workflow in the browser, with live validation, diagram and examples."""
    return serve(args.path, host=args.host, port=args.port, out=out,
                 allow_hosts=args.allow_host)


def cmd_worker(args: argparse.Namespace, out: TextIO) -> int:
    """Sweep due timer signals until SIGTERM or Ctrl-C; one JSON line per signal recorded."""
    engine = _engine_of(args.workflows)
    store = _store_of(args.store, args.schema, engine)

    def announce(recorded: RecordedSignal) -> None:
        out.write(json.dumps(recorded.to_dict()) + "\n")
        out.flush()

    worker = TimerWorker(CaseService(engine, store), on_signal=announce, batch=args.batch,
                         interval=args.interval,
                         key_retention=None if args.key_retention_days is None
                         else args.key_retention_days * 86400)
    try:
        if args.once:
            result = worker.run_once()
            print(f"zorgflow worker: {result.recorded} signal(s) recorded on {result.cases} "
                  f"case(s), {result.delivered} delivered", file=sys.stderr)
            return EXIT_FAILED if result.failed_cases or result.failed_callbacks else EXIT_OK
        previous = signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        try:
            print(f"zorgflow worker: sweeping every {args.interval:g} s (SIGTERM or Ctrl-C "
                  "stops)", file=sys.stderr)
            worker.run()
        except KeyboardInterrupt:
            worker.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
        print("zorgflow worker: stopped", file=sys.stderr)
        return EXIT_OK
    finally:
        store.close()


def _store_of(where: str, schema: str | None, engine: Engine, *,
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


def _engine_of(path: str) -> Engine:
    """The engine of the workflows at ``path``; a usage error when there are none."""
    if not Path(path).exists():
        raise UsageError(f"no such file or folder: {path}")
    try:
        return Engine.from_directory(path)
    except WorkflowError as exc:
        raise UsageError(f"the workflows in {path} do not load:\n{exc}") from None


def _add_worker_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("worker", help="record due timer signals of stored cases",
                       description="Record due timer signals of the cases in a store, in "
                                   "batches, until SIGTERM or Ctrl-C. Each signal is "
                                   "recorded once, also with several workers on PostgreSQL; "
                                   "each is printed as a JSON line once recorded.")
    p.add_argument("workflows", metavar="WORKFLOWS", help="the workflow folder (or file)")
    _store_arguments(p)
    p.add_argument("--batch", type=_positive_int, default=100, metavar="N",
                   help="cases per transaction (default 100)")
    p.add_argument("--interval", type=_positive_float, default=5.0, metavar="SECONDS",
                   help="pause between sweeps when nothing is due (default 5)")
    p.add_argument("--key-retention-days", type=_positive_float, default=None, metavar="DAYS",
                   help="forget idempotency keys older than this (default: keep them)")
    p.add_argument("--once", action="store_true", help="one sweep, then stop")
    p.set_defaults(func=cmd_worker)


def _add_retention_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("retention", help="list (and destroy) cases whose retention ended",
                       description="List the stored cases whose archiefactiedatum has come "
                                   "(closed, with a zgw: result to destroy); with --destroy, "
                                   "destroy each (or only its personal data, where the result "
                                   "says so) in its own transaction, logged in the store's "
                                   "destruction log. Exit 0, or 1 when a case could not be "
                                   "destroyed.")
    p.add_argument("workflows", metavar="WORKFLOWS_DIR", help="the workflow folder")
    _store_arguments(p)
    p.add_argument("--on", metavar="YYYY-MM-DD", default=None, type=_day,
                   help="the day to judge by (default: today, Europe/Amsterdam)")
    p.add_argument("--destroy", action="store_true", help="destroy what is due")
    p.add_argument("--actor", metavar="ID", default=None,
                   help="who has it destroyed (named in the log; required with --destroy)")
    p.set_defaults(func=cmd_retention)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def cmd_retention(args: argparse.Namespace, out: TextIO) -> int:
    """List, and with --destroy destroy, the stored cases whose retention ended."""
    if args.destroy and not args.actor:
        raise UsageError("--destroy needs --actor ID: the destruction log names who had it "
                         "done")
    engine = _engine_of(args.workflows)
    store = _store_of(args.store, args.schema, engine, existing=True)
    at = (datetime.combine(args.on, time(12), tzinfo=AMSTERDAM) if args.on is not None
          else None)
    service = CaseService(engine, store)

    def progress(n: int) -> None:
        print(f"zorgflow retention: {n:,} case(s) read", file=sys.stderr, flush=True)

    try:
        if not args.destroy:
            for due in service.retention(at, progress=progress):
                out.write(json.dumps(due.to_dict(), ensure_ascii=False) + "\n")
            return EXIT_OK
        planned = service.destroy_due(actor=Actor(args.actor, roles=set()), at=at,
                                      dry_run=True)
        done = service.destroy_due(actor=Actor(args.actor, roles=set()), at=at,
                                   dry_run=False)
    except StoreError as exc:
        print(f"zorgflow retention: the store failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    for record in done:
        out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
    left = {r.case_id for r in planned} - {r.case_id for r in done}
    if left:
        print(f"zorgflow retention: {len(left)} case(s) were due but not destroyed (changed "
              "meanwhile): run it again", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _command_group(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, *,
                   help: str, description: str, metavar: str
                   ) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The subcommands of a command that needs one (``zorgflow NAME SUBCOMMAND``), chosen in
    ``args.<name>_command``."""
    group = sub.add_parser(name, help=help, description=description).add_subparsers(
        dest=f"{name}_command", metavar=metavar)
    group.required = True
    return group


def _add_export_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    esub = _command_group(sub, "export", help="export a workflow to another system (zgw)",
                          description="Export a workflow to another system.", metavar="FORMAT")
    z = esub.add_parser("zgw", help="the ZGW zaaktype of a workflow (Catalogi API JSON)",
                        description="Write the ZGW ZaakType of a workflow with a zgw: block, "
                                    "with its StatusTypen, ResultaatTypen, RolTypen and "
                                    "Eigenschappen, as one JSON document. Exit 1 when the "
                                    "workflow is not valid or has no zgw: block, 2 on usage "
                                    "errors.")
    z.add_argument("file", metavar="FILE", help="a workflow file with a zgw: block")
    z.add_argument("--catalogus", metavar="URL", default=None,
                   help="the catalogus URL (…/catalogussen/<uuid>; default: the zgw: block's)")
    z.add_argument("-o", "--output", metavar="OUT.json", help="write here instead of to stdout")
    z.add_argument("--selectielijst", metavar="FILE", default=None,
                   help="check the Selectielijst classes against this fixture first (default: "
                   f"${SELECTIELIJST_VARIABLE})")
    z.set_defaults(func=cmd_export_zgw)


def cmd_export_zgw(args: argparse.Namespace, out: TextIO) -> int:
    """Write the ZGW zaaktype of a workflow as JSON."""
    file = _one_file(args.file)
    selectielijst = _selectielijst(args)
    workflow = _load_one(file)
    if workflow is None:
        return EXIT_FAILED
    problems = [] if selectielijst is None else check_selectielijst(workflow, selectielijst)
    try:
        if problems:
            raise WorkflowError(problems)
        envelope = export_zaaktype(workflow, args.catalogus)
    except WorkflowError as exc:
        count = len(exc.errors)
        print(f"FAIL {file} ({count} problem{'s' if count != 1 else ''})", file=sys.stderr)
        for problem in exc.errors:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAILED
    except ValueError as exc:
        raise UsageError(f"--catalogus: {exc}") from None
    _write(json.dumps(envelope, indent=2, ensure_ascii=False) + "\n", args.output, out)
    return EXIT_OK


def _add_sync_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ssub = _command_group(sub, "sync", help="sync stored cases to another system (zgw)",
                          description="Sync stored cases to another system.", metavar="TARGET")
    z = ssub.add_parser("zgw", help="sync stored cases to a ZGW Zaken API as zaken",
                        description="Send what the zaak of each stored case (of a workflow "
                                    "with a zgw: block) does not have yet to a Zaken API: the "
                                    "zaak, its rollen, eigenschappen, a status per state "
                                    "change, the resultaat and archiving before the "
                                    "eindstatus. One JSON line per case on stdout, progress "
                                    "on stderr. Exit 0 when all are synced, 1 when some "
                                    "failed (run it again: it resumes), 2 on usage errors.")
    z.add_argument("workflows", metavar="WORKFLOWS_DIR", help="the workflow folder")
    _store_arguments(z)
    z.add_argument("--base-url", required=True, metavar="URL",
                   help="the Zaken API root, e.g. https://openzaak.example.nl/zaken/api/v1")
    z.add_argument("--catalogus", required=True, metavar="URL",
                   help="the catalogus the zaaktypen were exported to (…/catalogussen/<uuid>)")
    z.add_argument("--client-id", required=True, metavar="ID",
                   help="the client id the Zaken API knows this application by")
    z.add_argument("--secret-env", required=True, metavar="VAR",
                   help="the environment variable that holds the client's secret")
    z.add_argument("--rsin", required=True, metavar="RSIN",
                   help="the organisation's RSIN (bronorganisatie, verantwoordelijke "
                        "organisatie)")
    z.add_argument("--case", metavar="ID", default=None, help="sync this case only")
    z.add_argument("--timeout", type=_positive_float, default=30.0, metavar="SECONDS",
                   help="seconds a request may take (default 30)")
    z.set_defaults(func=cmd_sync_zgw)


def cmd_sync_zgw(args: argparse.Namespace, out: TextIO) -> int:
    """Sync stored cases to a Zaken API; one JSON line per case."""
    secret = os.environ.get(args.secret_env, "")
    if not secret:
        raise UsageError(f"--secret-env: the environment variable {args.secret_env} is not "
                         "set (or empty): put the client's secret in it")
    engine = _engine_of(args.workflows)
    store = _store_of(args.store, args.schema, engine, existing=True)
    try:
        sync = ZaakSync(engine, store, base_url=args.base_url, catalogus=args.catalogus,
                        client_id=args.client_id, secret=secret, rsin=args.rsin,
                        timeout=args.timeout)
    except ValueError as exc:
        store.close()
        raise UsageError(str(exc)) from None
    failed = done = 0
    try:
        with sync:
            results = [sync.sync(args.case)] if args.case else sync.sync_all()
            for result in results:
                out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
                out.flush()
                done += 1
                if result.failure is not None:
                    failed += 1
                    print(f"zorgflow sync: case {result.case_id}: {result.failure.message}",
                          file=sys.stderr, flush=True)
                else:
                    print(f"zorgflow sync: case {result.case_id}: {len(result.sent)} "
                          "request(s) sent", file=sys.stderr, flush=True)
    except StoreError as exc:
        print(f"zorgflow sync: the store failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    print(f"zorgflow sync: {done} case(s), {failed} failed", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _add_migrate_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    msub = _command_group(sub, "migrate",
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
    c.add_argument("--max-states", type=_positive_int, default=MAX_STATES, metavar="N",
                   help=f"abstract states to explore at most (default {MAX_STATES:,})")
    c.add_argument("--time-limit", type=_positive_float, default=TIME_LIMIT,
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


def _store_arguments(p: argparse.ArgumentParser) -> None:
    """``--store`` and ``--schema``, which `_store_of` reads."""
    p.add_argument("--store", required=True, metavar="DSN|FILE",
                   help="a postgresql:// DSN, or a SQLite file")
    p.add_argument("--schema", default=None, metavar="NAME",
                   help="the PostgreSQL schema of the store (default zorgflow)")


def _store_plan_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("workflows", metavar="WORKFLOWS_DIR",
                   help="the workflow folder, holding both versions")
    _store_arguments(p)
    p.add_argument("--plan", required=True, metavar="PLAN.yaml", help="the migration plan")


def _workflow_file(path: str) -> Workflow:
    try:
        return load_workflow(path)
    except WorkflowError as exc:
        raise UsageError(f"{path} does not load:\n{exc}") from None


def cmd_migrate_check(args: argparse.Namespace, out: TextIO) -> int:
    """Check a migration plan (or the identity mapping) over the old version."""
    old, new = _workflow_file(args.old), _workflow_file(args.new)
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
    store = _store_of(args.store, args.schema, engine, existing=True)

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
    store = _store_of(args.store, args.schema, engine, existing=True)
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
    engine = _engine_of(args.workflows)
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


def _add_picture_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
            p.add_argument("--budget", type=_positive_int, default=None, metavar="N",
                           help="evaluations one witness search may spend (default 200000)")
            p.add_argument("--max-states", type=_positive_int, default=MAX_STATES, metavar="N",
                           help=f"abstract states to explore at most (default {MAX_STATES:,}; "
                           "bounds memory)")
            p.add_argument("--time-limit", type=_positive_float, default=TIME_LIMIT,
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
    _add_picture_commands(sub)
    _add_worker_command(sub)
    _add_export_command(sub)
    _add_migrate_command(sub)
    _add_retention_command(sub)
    _add_sync_command(sub)
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
