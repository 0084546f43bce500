"""`CaseService`: the engine and a store as one unit of work per command, by case id.

Each command loads the case inside a store transaction (PostgreSQL locks its row; SQLite
takes its write lock), applies one engine call, saves, and — with an idempotency key —
remembers the key with the version it led to, all in that one transaction. A transaction the
database gave up on (`StoreUnavailable`: busy, a deadlock, a restart) is tried again a few
times, with a short growing pause; a `ConcurrentUpdate` from a store that does not lock is
tried again too, on the case as it is now, unless the caller pinned ``expected_version``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from ..engine import Actor, Case, Engine, Task
from ..errors import (
    ConcurrentUpdate,
    IdempotencyMismatch,
    StoreUnavailable,
    TransitionRejected,
    ZorgflowError,
)
from ..migration_plan import MigrationPlan
from ..model import Workflow
from ..model.calendar import local_date
from ..model.values import to_json
from ..rules.decision import Decision
from ..store import CaseNotFound, Destruction, RecordedSignal, Store, pages
from .ldv import Processing, ProcessingLog, data_subjects, holds_personal_data
from .migration import CaseMigration, MigrationRun, read_plan
from .retention import RetentionDue, due_for_destruction, keeps_personal_data
from .views import case_view, history_view, ref_view

_T = TypeVar("_T")

#: The namespace of case ids derived from a start's idempotency key.
_START_IDS = uuid.UUID("6f0c3e52-4f5e-4d1a-9a43-2f1d1b3c7a10")


@dataclass(frozen=True, slots=True)
class SweepFailure:
    """A case `CaseService.record_due` could not sweep (its workflow version is not loaded,
    say); nothing of it was written. The message shows no personal data."""

    case_id: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Sweep:
    """What one `CaseService.record_due` did."""

    recorded: tuple[RecordedSignal, ...]
    failed: tuple[SweepFailure, ...]
    #: the cases the store handed out as due (at most ``limit``)
    cases: int


class CaseService:
    """Start cases and apply events, fact changes and task completions by case id, each in
    one store transaction; views that mask personal data; a timer sweep.

    ::

        svc = CaseService(engine, store)
        case = svc.fire(case_id, "passend_bevonden", actor=coord, expected_version=3,
                        idempotency_key="req-8f2c")
        svc.view(case, coord)

    ``expected_version``: the version (``case.version``) the caller's decision was based on;
    when the stored case has another one the command is refused with `ConcurrentUpdate`
    (code ``conflict``) and nothing is written. ``idempotency_key``: a key the caller makes up
    per request (scoped to the case); the same key again with the same request applies
    nothing and returns the case (exactly the first result when nothing happened since; else
    the case as it is now, whose history holds the first result at the remembered version);
    with a different request it is `IdempotencyMismatch`. Keys are kept in the store until
    `forget_keys` (see ``key_retention``).
    """

    def __init__(self, engine: Engine, store: Store, *, attempts: int = 5,
                 pause: float = 0.05, clock: Callable[[], datetime] | None = None,
                 processing_log: ProcessingLog | None = None) -> None:
        if not isinstance(engine, Engine):
            raise TypeError(f"engine must be a zorgflow Engine, not {type(engine).__name__}")
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
            raise ValueError(f"attempts must be a whole number of at least 1, not {attempts!r}")
        if not isinstance(pause, int | float) or isinstance(pause, bool) or not pause >= 0:
            raise ValueError(f"pause must be a number of seconds of 0 or more, not {pause!r}")
        self.engine = engine
        self.store = store
        self.attempts = attempts
        self.pause = float(pause)
        self._clock = clock or (lambda: datetime.now(UTC))
        if processing_log is not None and not isinstance(processing_log, ProcessingLog):
            raise TypeError("processing_log must be a zorgflow.service.ProcessingLog, not "
                            f"{type(processing_log).__name__}")
        self.processing_log = processing_log

    # -- commands ------------------------------------------------------------------------
    def start(self, workflow_id: str, *, actor: Actor, facts: Mapping[str, Any] | None = None,
              at: datetime | None = None, case_id: str | None = None,
              version: int | None = None, idempotency_key: str | None = None) -> Case:
        """Open a case and create it in the store. With ``idempotency_key`` and no
        ``case_id``, the case id is derived from the workflow and the key, so a start sent
        twice opens one case."""
        key = _key(idempotency_key)
        if key is not None and case_id is None:
            case_id = str(uuid.uuid5(_START_IDS, f"{workflow_id}\x00{key}"))
        request = _request("start", workflow_id, actor, facts, version)

        def apply(store: Store) -> Case:
            if key is not None and case_id is not None:
                replay = self._replay(store, case_id, key, request)
                if replay is not None:
                    return replay
            case = self.engine.start(workflow_id, actor=actor, facts=facts, at=at,
                                     case_id=case_id, version=version)
            store.create(case)
            if key is not None:
                store.remember(case.id, key, request, case.version, self._now())
            return case

        if self.processing_log is None:
            return self._run(apply)
        began = time.time_ns()
        try:
            case = self._run(apply)
        except ZorgflowError as exc:
            with contextlib.suppress(ZorgflowError):
                given = self.engine.workflow(workflow_id, version)
                self._log(f"start {workflow_id}", given, case_id, dict(facts or {}), began,
                          exc.code)
            raise
        self._log(f"start {workflow_id}", self._workflow(case), case.id, dict(case.facts),
                  began, None)
        return case

    def fire(self, case_id: str, event: str, *, actor: Actor,
             data: Mapping[str, Any] | None = None, at: datetime | None = None,
             expected_version: int | None = None, idempotency_key: str | None = None) -> Case:
        """Fire ``event`` on the stored case; the new case, saved. Raises what `Engine.fire`
        raises (`TransitionRejected`, with a code per reason), `CaseNotFound`,
        `ConcurrentUpdate` or `IdempotencyMismatch`; nothing is written then."""
        request = _request("fire", event, actor, data)

        def personal_data_given(workflow: Workflow) -> bool:
            return any(field.personal_data for t in workflow.transitions if t.event == event
                       for name, field in t.data.items() if data and name in data)

        return self._command(f"fire {event}", case_id, request, expected_version,
                             idempotency_key,
                             lambda case: self.engine.fire(case, event, actor=actor, data=data,
                                                           at=at),
                             personal_data_given)

    def set_facts(self, case_id: str, facts: Mapping[str, Any], *, actor: Actor,
                  at: datetime | None = None, expected_version: int | None = None,
                  idempotency_key: str | None = None) -> Case:
        """Set (or, with None, clear) facts of the stored case; the new case, saved."""
        request = _request("set_facts", None, actor, facts)
        return self._command("set_facts", case_id, request, expected_version,
                             idempotency_key,
                             lambda case: self.engine.set_facts(case, facts, actor=actor,
                                                                at=at))

    def complete(self, case_id: str, task: str, *, actor: Actor, at: datetime | None = None,
                 expected_version: int | None = None,
                 idempotency_key: str | None = None) -> Case:
        """Mark an open task of the stored case done; the new case, saved."""
        request = _request("complete", task, actor, None)
        return self._command(f"complete {task}", case_id, request, expected_version,
                             idempotency_key,
                             lambda case: self.engine.complete(case, task, actor=actor, at=at))

    def record_due(self, at: datetime | None = None, *, limit: int = 100) -> Sweep:
        """Record the timer signals due at ``at`` (now by default) on at most ``limit`` cases,
        in one transaction. On PostgreSQL the due cases are handed out with ``FOR UPDATE SKIP
        LOCKED``, so sweeps in several processes share the work and none records a signal
        twice; a signal recorded once is never recorded again (the history says it was). A
        case that cannot be swept is left as it was and reported in ``failed``."""
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError(f"limit must be a whole number of at least 1, not {limit!r}")
        def sweep(store: Store) -> Sweep:
            # "now" is read once the transaction holds its locks, so that no step saved while
            # it waited comes after the signals in time but before them in the history
            moment = self._now() if at is None else at
            refs = store.due(moment, limit=limit)
            recorded: list[RecordedSignal] = []
            failed: list[SweepFailure] = []
            for ref in refs:
                try:
                    case = store.load(ref.id)
                    new = self.engine.record_signals(case, moment)
                    if new is not case:
                        store.save(new, case.version)
                except StoreUnavailable:
                    raise
                except ZorgflowError as exc:
                    failed.append(SweepFailure(ref.id, exc.code, _plain(exc)))
                    continue
                recorded.extend(
                    RecordedSignal(new.id, new.workflow_id, entry.event,
                                   datetime.fromisoformat(entry.data["due_at"]), entry.at,
                                   entry.seq)
                    for entry in new.history[case.version:])
            return Sweep(tuple(recorded), tuple(failed), len(refs))

        return self._run(sweep)

    def forget_keys(self, older_than: float) -> int:
        """Forget idempotency keys remembered more than ``older_than`` seconds ago (the
        retention); how many were forgotten. Run it now and then, e.g. from the worker."""
        if not isinstance(older_than, int | float) or isinstance(older_than, bool) \
                or not older_than >= 0:
            raise ValueError(f"older_than must be a number of seconds of 0 or more, not "
                             f"{older_than!r}")
        before = datetime.fromtimestamp(self._now().timestamp() - older_than, UTC)
        return self._run(lambda store: store.forget_keys(before))

    def migrate(self, plan: MigrationPlan | str | Path, *, actor: Actor,
                case_ids: Iterable[str] | None = None, dry_run: bool = True,
                at: datetime | None = None, page: int = 500,
                progress: Callable[[int], None] | None = None) -> MigrationRun:
        """Move stored cases to a new workflow version by ``plan`` (a `MigrationPlan`, or the
        path of a plan file: see `read_plan`), as ``actor`` (named in each case's ``migrate``
        entry). ``case_ids``: the cases to move (default: every case of the plan's old
        version, a ``page`` at a time). With ``dry_run`` (the default) each case is moved in
        memory only, to say what would happen; nothing is written. Otherwise each case moves
        in its own transaction: one history entry of kind ``migrate``, or, when it cannot move,
        nothing at all (its reasons are in the result). Running a plan again moves only what
        is still on the old version: a case it moved before is reported ``already moved``.
        ``progress`` is called with the number of cases done after each page.

        Before any case moves, both versions must be loaded (`UnknownWorkflow`)."""
        if not isinstance(plan, MigrationPlan):
            plan = read_plan(self.engine, plan)
        if not isinstance(actor, Actor):
            raise TypeError(f"actor must be a zorgflow Actor, not {type(actor).__name__}")
        _page_size(page)
        self.engine.workflow(plan.workflow, plan.from_version)
        self.engine.workflow(plan.workflow, plan.to_version)
        run = MigrationRun(plan.workflow, plan.from_version, plan.to_version, dry_run)
        for ids in self._migration_pages(plan, case_ids, page):
            for case_id in ids:
                run.cases.append(self._migrate_one(plan, case_id, actor, at, dry_run))
            if progress is not None:
                progress(len(run.cases))
        return run

    def _migration_pages(self, plan: MigrationPlan, case_ids: Iterable[str] | None,
                         page: int) -> Iterator[list[str]]:
        if case_ids is not None:
            if isinstance(case_ids, str):
                raise TypeError("case_ids must be a list of case ids, not one text")
            ids = list(case_ids)
            for case_id in ids:
                if not isinstance(case_id, str):
                    raise TypeError(f"case ids must be text, not {type(case_id).__name__}")
            for start in range(0, len(ids), page):
                yield ids[start:start + page]
            return
        for refs in pages(self.store, workflow_id=plan.workflow, size=page):
            yield [r.id for r in refs if r.workflow_version == plan.from_version]

    def _migrate_one(self, plan: MigrationPlan, case_id: str, actor: Actor,
                     at: datetime | None, dry_run: bool) -> CaseMigration:
        seen: list[str] = []

        def move(store: Store) -> CaseMigration:
            case = store.load(case_id)
            seen[:] = [case.state]
            if case.workflow_id == plan.workflow and case.workflow_version == plan.to_version \
                    and _moved_by(case, plan):
                return CaseMigration(case_id, "already moved", None, case.state)
            new = self.engine.migrate(case, plan, actor=actor, at=at)
            if dry_run:
                return CaseMigration(case_id, "would move", case.state, new.state)
            store.save(new, case.version)
            cases[:] = [case, new]
            return CaseMigration(case_id, "moved", case.state, new.state)

        began = time.time_ns()
        cases: list[Case] = []
        try:
            result = move(self.store) if dry_run else self._run(move)
            if cases:
                old, new = cases
                self._log("migrate", self._workflow(new), case_id, {**old.facts, **new.facts},
                          began, None, subjects_from=old.facts)
            return result
        except TransitionRejected as exc:
            return CaseMigration(case_id, "blocked", seen[0] if seen else None, None,
                                 tuple(str(r) for r in exc.reasons))
        except ZorgflowError as exc:
            return CaseMigration(case_id, "failed", seen[0] if seen else None, None,
                                 (f"{exc.code}: {_plain(exc)}",))

    def decide(self, target: str, rule_set: str, facts: Mapping[str, Any] | None = None, *,
               actor: Actor, stored: bool = False, version: int | None = None,
               at: datetime | None = None) -> Decision:
        """`Engine.decide` through the service: on given ``facts`` for workflow ``target``
        (``version``: default the latest), or, with ``stored=True``, on the stored case of id
        ``target`` (``facts`` then a what-if over its own). Nothing is written. With a
        processing log, a decision that reads personal data is logged (``decide <rule set>``)
        for the data subjects the facts name, as the processing it is; ``actor`` is who asked.
        """
        if not isinstance(actor, Actor):
            raise TypeError(f"actor must be a zorgflow Actor, not {type(actor).__name__}")
        began = time.time_ns()
        case = self.store.load(target) if stored else None
        workflow = (self._workflow(case) if case is not None
                    else self.engine.workflow(target, version))
        read = {**(case.facts if case is not None else {}), **(facts or {})}
        try:
            decision = self.engine.decide(case if case is not None else target, rule_set,
                                          facts, at, version=None if stored else version)
        except ZorgflowError as exc:
            self._log(f"decide {rule_set}", workflow, case.id if case else None, read, began,
                      exc.code)
            raise
        self._log(f"decide {rule_set}", workflow, case.id if case else None, read, began, None)
        return decision

    # -- retention -----------------------------------------------------------------------
    def retention(self, at: datetime | None = None, *, workflow_id: str | None = None,
                  page: int = 500, progress: Callable[[int], None] | None = None
                  ) -> list[RetentionDue]:
        """The stored cases due for destruction at ``at`` (now by default): closed, with a
        result to destroy whose archiefactiedatum has come (see `zorgflow.service.retention`),
        oldest archiefactiedatum first. Reads every case of ``workflow_id`` (default: all), a
        ``page`` at a time; ``progress`` is called with the number read after each page.
        Writes nothing."""
        today = local_date(self._now() if at is None else at)
        _page_size(page)
        found: list[RetentionDue] = []
        read = 0
        for refs in pages(self.store, workflow_id=workflow_id, size=page):
            for ref in refs:
                workflow = self.engine.workflow(ref.workflow_id, ref.workflow_version)
                if workflow.zgw is None or not workflow.states[ref.state].final:
                    continue  # never due: nothing to read
                due = due_for_destruction(workflow, self.store.load(ref.id), today)
                if due is not None:
                    found.append(due)
            read += len(refs)
            if progress is not None:
                progress(read)
        return sorted(found, key=lambda d: (d.archiefactiedatum, d.case_id))

    def destroy_due(self, *, actor: Actor, at: datetime | None = None, dry_run: bool = True,
                    workflow_id: str | None = None,
                    progress: Callable[[int], None] | None = None) -> list[Destruction]:
        """Destroy what `retention` lists (with ``dry_run``, the default: say what would be
        destroyed, writing nothing). Each case in its own transaction, checked again inside
        it: the case (or its personal data) goes and a row without personal data goes into
        the store's destruction log (`Store.destructions`), naming ``actor``. With a
        processing log, the destruction is logged for the case's data subjects first.
        ``progress`` is called with the number of cases done."""
        if not isinstance(actor, Actor):
            raise TypeError(f"actor must be a zorgflow Actor, not {type(actor).__name__}")
        moment = self._now() if at is None else at
        done: list[Destruction] = []
        for n, due in enumerate(self.retention(moment, workflow_id=workflow_id), start=1):
            record = due.destruction(moment, actor.id)
            if dry_run or self._destroy(record, local_date(moment)):
                done.append(record)
            if progress is not None:
                progress(n)
        return done

    def _destroy(self, record: Destruction, today: date) -> bool:
        """Destroy ``record``'s case in one transaction if it is still due; whether it was."""
        began = time.time_ns()

        def destroy(store: Store) -> tuple[Case, bool] | None:
            case = store.load(record.case_id)
            workflow = self._workflow(case)
            if due_for_destruction(workflow, case, today) is None:
                return None  # changed meanwhile (reopened, destroyed by someone else)
            personal = keeps_personal_data(workflow, case)
            store.destroy(record)
            return case, personal

        try:
            destroyed = self._run(destroy)
        except CaseNotFound:
            return False
        if destroyed is None:
            return False
        case, personal = destroyed
        self._log("destroy", self._workflow(case), case.id, {}, began, None, personal,
                  subjects_from=case.facts)
        return True

    # -- reading -------------------------------------------------------------------------
    def load(self, case_id: str) -> Case:
        """The stored case (`CaseNotFound` when there is none)."""
        return self.store.load(case_id)

    def view(self, case: Case | str, actor: Actor, *, history: bool = False) -> dict[str, Any]:
        """The case (or the stored case of that id) as JSON-ready data, personal data shown
        only to roles the workflow's ``visible_to:`` names."""
        if isinstance(case, str):
            case = self.store.load(case)
        began = time.time_ns()
        view = case_view(self.engine, case, actor, history=history)
        if self.processing_log is not None:
            workflow = self._workflow(case)
            self._log("view", workflow, case.id, _shown(workflow, view), began, None,
                      subjects_from=case.facts)
        return view

    def history(self, case_id: str, actor: Actor, *, after: int = 0,
                limit: int | None = None) -> list[dict[str, Any]]:
        """A page of the case's history (entries after ``after``, at most ``limit``) as
        JSON-ready data, personal data masked as in `view`."""
        case = self.store.load(case_id)
        began = time.time_ns()
        entries = self.store.history(case_id, after=after, limit=limit)
        workflow = self.engine.workflow(case.workflow_id, case.workflow_version)
        page = history_view(workflow, entries, actor, case_roles=case.case_roles)
        if self.processing_log is not None:
            # the history shows personal values to whom the case's view shows them
            shown = _shown(workflow, case_view(workflow, case, actor))
            self._log("history", workflow, case.id, shown, began, None,
                      subjects_from=case.facts)
        return page

    def find(self, actor: Actor, *, workflow_id: str | None = None, state: str | None = None,
             role_holder: str | None = None, limit: int | None = None,
             after: str | None = None) -> list[dict[str, Any]]:
        """A page of stored cases (ordered by id; ``after``: the last id of the previous
        page) as JSON-ready data for ``actor``, without facts or history (see `ref_view`)."""
        refs = self.store.find(workflow_id=workflow_id, state=state, role_holder=role_holder,
                               limit=limit, after=after)
        return [ref_view(ref, self.engine, actor) for ref in refs]

    def tasks(self, case_id: str, at: datetime | None = None) -> list[Task]:
        """The stored case's tasks (open and done)."""
        return self.engine.tasks(self.store.load(case_id), at)

    def allowed(self, case_id: str, actor: Actor, at: datetime | None = None) -> list[str]:
        """The events ``actor`` may fire on the stored case now."""
        return self.engine.allowed(self.store.load(case_id), actor, at)

    # -- the unit of work ----------------------------------------------------------------
    def _command(self, name: str, case_id: str, request: str, expected_version: int | None,
                 idempotency_key: str | None, step: Callable[[Case], Case],
                 given: Callable[[Workflow], bool] | None = None) -> Case:
        if not isinstance(case_id, str):
            raise TypeError(f"case_id must be text, not {type(case_id).__name__}")
        if expected_version is not None and (
                not isinstance(expected_version, int) or isinstance(expected_version, bool)):
            raise TypeError("expected_version must be a whole number (the case's version) or "
                            f"None, not {type(expected_version).__name__}")
        if expected_version is not None and expected_version < 1:
            raise ValueError(f"expected_version must be 1 or more, not {expected_version}")
        key = _key(idempotency_key)

        loaded: list[Case] = []

        def apply(store: Store) -> Case:
            if key is not None:
                replay = self._replay(store, case_id, key, request)
                if replay is not None:
                    return replay
            case = store.load(case_id)
            loaded[:] = [case]
            if expected_version is not None and case.version != expected_version:
                raise ConcurrentUpdate(case_id, expected_version, case.version)
            new = step(case)
            if new is not case:
                store.save(new, case.version)
            if key is not None:
                store.remember(case_id, key, request, new.version, self._now())
            return new

        if self.processing_log is None:
            return self._run(apply, pinned=expected_version is not None)
        began = time.time_ns()
        try:
            new = self._run(apply, pinned=expected_version is not None)
        except ZorgflowError as exc:
            if loaded:  # a case that was never read was not processed
                workflow = self._workflow(loaded[0])
                self._log(name, workflow, case_id, dict(loaded[0].facts), began, exc.code,
                          given is not None and given(workflow))
            raise
        facts = dict(new.facts)
        if loaded:  # a fact set to None was processed too
            facts = {**loaded[0].facts, **facts}
        workflow = self._workflow(new)
        self._log(name, workflow, case_id, facts, began, None,
                  given is not None and given(workflow))
        return new

    def _workflow(self, case: Case) -> Workflow:
        return self.engine.workflow(case.workflow_id, case.workflow_version)

    def _log(self, name: str, workflow: Workflow, case_id: str | None,
             facts: Mapping[str, Any], began: int, error: str | None,
             personal_data_given: bool = False,
             subjects_from: Mapping[str, Any] | None = None) -> None:
        """One processing for the processing log, if it touched personal data: a personal
        fact among ``facts`` (those the step read, wrote or showed) or in the data given. Its
        data subjects are those ``subjects_from`` (default: ``facts``) names."""
        log = self.processing_log
        if log is None or not (personal_data_given or holds_personal_data(workflow, facts)):
            return
        subjects = data_subjects(workflow, facts if subjects_from is None else subjects_from)
        log.record(Processing(name, workflow, case_id, tuple(subjects), began, time.time_ns(),
                              error))

    def _replay(self, store: Store, case_id: str, key: str, request: str) -> Case | None:
        """The case for a key seen before with the same request; None for a new key."""
        remembered = store.recall(case_id, key)
        if remembered is None:
            return None
        if remembered[0] != request:
            raise IdempotencyMismatch(case_id, key)
        return store.load(case_id)

    def _run(self, work: Callable[[Store], _T], *, pinned: bool = False) -> _T:
        """``work`` in one transaction, tried again when the database gave up on it (and on
        a stale save, unless the caller pinned the version)."""
        for attempt in range(1, self.attempts + 1):
            try:
                with self.store.transaction() as store:
                    return work(store)
            except StoreUnavailable:
                if attempt == self.attempts:
                    raise
            except ConcurrentUpdate:
                if pinned or attempt == self.attempts:
                    raise
            time.sleep(self.pause * (2 ** (attempt - 1)))
        raise AssertionError("unreachable")  # pragma: no cover

    def _now(self) -> datetime:
        return self._clock()


def _shown(workflow: Workflow, view: Mapping[str, Any]) -> dict[str, Any]:
    """The personal facts a view shows (not masked), with their values as the view has
    them."""
    masked = set(view.get("masked", ()))
    return {name: value for name, value in view.get("facts", {}).items()
            if name not in masked and name in workflow.facts
            and workflow.facts[name].personal_data}


def _page_size(page: Any) -> None:
    """``page`` (cases read at a time) is a whole number of at least 1: else `ValueError`."""
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise ValueError(f"page must be a whole number of at least 1, not {page!r}")


def _moved_by(case: Case, plan: MigrationPlan) -> bool:
    """Whether ``case`` came to its version by ``plan``'s versions (its last migration)."""
    for entry in reversed(case.history):
        if entry.kind == "migrate":
            return bool(entry.data.get("from_version") == plan.from_version
                        and entry.data.get("to_version") == plan.to_version)
    return False


def _key(key: Any) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str):
        raise TypeError(f"idempotency_key must be text, not {type(key).__name__}")
    if not key or len(key) > 200:
        raise ValueError("idempotency_key must be 1 to 200 characters of text")
    return key


def _request(operation: str, target: Any, actor: Actor, values: Any, *extra: Any) -> str:
    """A digest of what a command asks (not when): two requests with the same digest are the
    same request. Values that are not JSON are compared by their text."""
    if not isinstance(actor, Actor):
        raise TypeError(f"actor must be a zorgflow Actor, not {type(actor).__name__}")
    body = [operation, target, actor.id, sorted(actor.roles), _plain_values(values),
            [_plain_values(e) for e in extra]]
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str,
                      ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def _plain_values(values: Any) -> Any:
    if isinstance(values, Mapping):
        return {str(k): _plain_values(v) for k, v in values.items()}
    if isinstance(values, list | tuple):
        return [_plain_values(v) for v in values]
    try:
        return to_json(values)
    except (TypeError, ValueError):
        return repr(type(values))


def _plain(exc: ZorgflowError) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."


__all__ = ["CaseService", "RecordedSignal", "Sweep", "SweepFailure"]
