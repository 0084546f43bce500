"""``zorgflow export zgw`` and ``sync zgw``: the ZGW APIs (Catalogi, Zaken)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from ..errors import StoreError, UsageError, WorkflowError
from ..service import ZaakSync
from ..zgw import check_selectielijst, export_zaaktype
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    SELECTIELIJST_VARIABLE,
    command_group,
    engine_of,
    load_one,
    one_file,
    positive_float,
    report_failure,
    selectielijst_of,
    store_arguments,
    store_of,
    write,
)


def add_export_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``zorgflow export zgw``."""
    esub = command_group(sub, "export", help="export a workflow to another system (zgw)",
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
    file = one_file(args.file)
    selectielijst = selectielijst_of(args)
    workflow = load_one(file)
    if workflow is None:
        return EXIT_FAILED
    problems = [] if selectielijst is None else check_selectielijst(workflow, selectielijst)
    try:
        if problems:
            raise WorkflowError(problems)
        envelope = export_zaaktype(workflow, args.catalogus)
    except WorkflowError as exc:
        report_failure(file, exc, sys.stderr)
        return EXIT_FAILED
    except ValueError as exc:
        raise UsageError(f"--catalogus: {exc}") from None
    write(json.dumps(envelope, indent=2, ensure_ascii=False) + "\n", args.output, out)
    return EXIT_OK


def add_sync_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``zorgflow sync zgw``."""
    ssub = command_group(sub, "sync", help="sync stored cases to another system (zgw)",
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
    store_arguments(z)
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
    z.add_argument("--timeout", type=positive_float, default=30.0, metavar="SECONDS",
                   help="seconds a request may take (default 30)")
    z.set_defaults(func=cmd_sync_zgw)


def cmd_sync_zgw(args: argparse.Namespace, out: TextIO) -> int:
    """Sync stored cases to a Zaken API; one JSON line per case."""
    secret = os.environ.get(args.secret_env, "")
    if not secret:
        raise UsageError(f"--secret-env: the environment variable {args.secret_env} is not "
                         "set (or empty): put the client's secret in it")
    engine = engine_of(args.workflows)
    store = store_of(args.store, args.schema, engine, existing=True)
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
