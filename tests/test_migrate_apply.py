"""Applying migration plans: `Engine.migrate` on one case, `CaseService.migrate` over a store
(dry run, one transaction per case, idempotent, nothing half-written), `zorgflow migrate
apply`, and the property that a migrated case behaves as a case of the new version built
with the same state, facts and case roles."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zorgflow import Case, Engine, TransitionRejected, UnknownWorkflow, WorkflowError
from zorgflow.cli import main
from zorgflow.engine import Actor
from zorgflow.errors import ZorgflowError
from zorgflow.loader import load_workflow, load_workflow_text
from zorgflow.migrate import case_verdict, identity_plan, load_plan, load_plan_text
from zorgflow.service import CaseService, MigrationPlan, read_plan
from zorgflow.store import SQLiteStore
from zorgflow.testing import actors_for, event_step, facts_for

HERE = Path(__file__).parent / "fixtures" / "migrate"
OLD = load_workflow(HERE / "old.yaml")
AT = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
LATER = AT + timedelta(days=3)
MEDEWERKER = Actor("m.de.boer", roles={"medewerker"})
BEHEER = Actor("beheer", roles=set())
REGIE = Actor("r.regie", roles=set())


def new(scenario: str) -> Any:
    return load_workflow(HERE / scenario / "new.yaml")


def plan(scenario: str, name: str = "plan.yaml") -> MigrationPlan:
    return load_plan(HERE / scenario / name, OLD, new(scenario))


def engine_for(scenario: str) -> Engine:
    return Engine([OLD, new(scenario)])


def old_case(engine: Engine, events: list[str], facts: dict[str, Any] | None = None,
             case_id: str | None = None) -> Case:
    case = engine.start("hulp", actor=MEDEWERKER, version=1, at=AT, case_id=case_id)
    if facts:
        case = engine.set_facts(case, facts, actor=MEDEWERKER, at=AT)
    for event in events:
        who = REGIE if event == "starten" else MEDEWERKER
        data = {"wie": REGIE.id} if event == "regisseur_benoemd" else None
        case = engine.fire(case, event, actor=who, data=data, at=AT)
    return case


# -- one case ------------------------------------------------------------------------------


def test_a_split_state_moves_by_the_first_rule_that_holds() -> None:
    engine = engine_for("split")
    urgent = old_case(engine, ["beoordelen"], {"urgent": True})
    calm = old_case(engine, ["beoordelen"], {"urgent": False})
    moved = engine.migrate(urgent, plan("split"), actor=BEHEER, at=LATER)
    assert (moved.workflow_version, moved.state) == (2, "spoed")
    assert engine.migrate(calm, plan("split"), actor=BEHEER, at=LATER).state == "regulier"
    entry = moved.history[-1]
    assert (entry.kind, entry.event, entry.from_state, entry.to_state) == (
        "migrate", "migrate", "beoordeling", "spoed")
    assert entry.workflow_version == 2 and entry.actor == "beheer" and entry.at == LATER
    assert dict(entry.data) == {"from_version": 1, "to_version": 2,
                                "plan": str(HERE / "split" / "plan.yaml"),
                                "rule": "spoed when facts.urgent == true"}
    assert "state 'beoordeling' → 'spoed' (spoed when facts.urgent == true)" in \
        entry.explanation
    # the old case is unchanged, and the history before the move is kept as it was
    assert urgent.workflow_version == 1 and urgent.state == "beoordeling"
    assert moved.history[:-1] == urgent.history
    # the moved case goes on as a version-2 case
    after = engine.fire(moved, "afsluiten", actor=MEDEWERKER, at=LATER)
    assert after.state == "afgesloten" and after.history[-1].workflow_version == 2


def test_timers_both_versions_have_keep_their_start_new_ones_start_now() -> None:
    engine = engine_for("timer")
    case = old_case(engine, ["beoordelen"])
    assert case.timers == {"herinnering": AT}
    moved = engine.migrate(case, plan("timer"), actor=BEHEER, at=LATER)
    assert moved.timers == {"herinnering": AT, "escalatie": LATER}
    due = {s.name: s.due_at for s in engine.timers(moved)}
    assert due["herinnering"] == AT + timedelta(days=7)  # the new duration, the old start
    assert "timer 'escalatie' starts" in moved.history[-1].explanation


def test_overdue_signals_are_recorded_on_the_old_version_first() -> None:
    engine = engine_for("timer")
    case = old_case(engine, ["beoordelen"])
    moved = engine.migrate(case, plan("timer"), actor=BEHEER, at=AT + timedelta(days=20))
    signal, migrate = moved.history[-2:]
    assert (signal.kind, signal.event, signal.workflow_version) == ("signal", "herinnering", 1)
    assert migrate.kind == "migrate" and migrate.seq == signal.seq + 1


def test_case_roles_and_facts_are_renamed_and_defaults_given() -> None:
    engine = engine_for("roles")
    case = old_case(engine, ["regisseur_benoemd", "starten"])
    moved = engine.migrate(case, plan("roles", "plan_renamed.yaml"), actor=BEHEER, at=LATER)
    assert dict(moved.case_roles) == {"casusregisseur": REGIE.id}
    assert "case role 'regisseur' → 'casusregisseur'" in moved.history[-1].explanation
    engine = engine_for("fact")
    case = old_case(engine, ["regisseur_benoemd", "starten"], {"contact_dagen": 10})
    moved = engine.migrate(case, plan("fact", "plan_default.yaml"), actor=BEHEER, at=LATER)
    assert dict(moved.facts) == {"contact_dagen": 10, "risico": "laag"}
    assert "fact 'risico' set to the plan's default" in moved.history[-1].explanation


def test_a_case_that_cannot_move_is_refused_with_every_reason_and_left_alone() -> None:
    engine = engine_for("removed")
    case = old_case(engine, ["beoordelen"])
    with pytest.raises(TransitionRejected) as info:
        engine.migrate(case, identity_plan(OLD, new("removed")), actor=BEHEER, at=LATER)
    assert info.value.event == "migrate" and info.value.code == "migration_blocked"
    assert info.value.http_status == 409
    assert "'beoordeling' cannot move (state removed)" in str(info.value)
    assert "kan niet over" in info.value.detail("nl")
    assert case.workflow_version == 1 and case.history[-1].kind == "fire"


def test_a_case_on_another_version_is_refused() -> None:
    engine = engine_for("split")
    moved = engine.migrate(old_case(engine, []), plan("split"), actor=BEHEER, at=LATER)
    with pytest.raises(TransitionRejected, match="runs on hulp version 2, but the plan moves "
                       "hulp version 1"):
        engine.migrate(moved, plan("split"), actor=BEHEER, at=LATER)


def test_a_plan_to_a_version_not_loaded_moves_nothing() -> None:
    engine = Engine([OLD])
    case = old_case(engine, [])
    with pytest.raises(UnknownWorkflow, match="version 2 is not loaded"):
        engine.migrate(case, plan("split"), actor=BEHEER, at=LATER)


def test_a_fact_whose_value_does_not_fit_the_new_type_blocks_the_case() -> None:
    old = load_workflow_text(_WF.format(version=1, type="integer", extra=""), "old.yaml")
    target = load_workflow_text(_WF.format(version=2, type="integer", extra=", maximum: 5"),
                                "new.yaml")
    engine = Engine([old, target])
    case = engine.start("klein", actor=MEDEWERKER, version=1, facts={"n": 9}, at=AT)
    with pytest.raises(TransitionRejected, match="fact 'n' does not fit 'n' of version 2"):
        engine.migrate(case, identity_plan(old, target), actor=BEHEER, at=LATER)
    small = engine.start("klein", actor=MEDEWERKER, version=1, facts={"n": 3}, at=AT)
    assert engine.migrate(small, identity_plan(old, target), actor=BEHEER,
                          at=LATER).facts == {"n": 3}


_WF = """\
id: klein
version: {version}
label: Klein
start_by: [medewerker]
roles:
  medewerker: {{label: Medewerker}}
facts:
  n: {{type: {type}, label: N{extra}}}
  naam: {{type: string, label: Naam, personal_data: true}}
states:
  open: {{label: Open, initial: true}}
  dicht: {{label: Dicht, final: true}}
transitions:
  - {{event: sluiten, from: open, to: dicht, by: [medewerker]}}
"""


def test_a_plan_that_would_unprotect_personal_data_is_refused_at_its_line() -> None:
    old = load_workflow_text(_WF.format(version=1, type="integer", extra=""), "old.yaml")
    target = load_workflow_text(
        _WF.format(version=2, type="integer", extra="").replace(", personal_data: true", ""),
        "new.yaml")
    text = "kind: migration\nworkflow: klein\nfrom_version: 1\nto_version: 2\n"
    with pytest.raises(WorkflowError, match=r"plan.yaml:\d+:\d+: .*'naam' holds personal "
                       "data in version 1 but not in version 2"):
        load_plan_text(text, old, target, "plan.yaml")
    dropped = load_plan_text(text + "facts: {dropped: [naam]}\n", old, target, "plan.yaml")
    engine = Engine([old, target])
    case = engine.start("klein", actor=MEDEWERKER, version=1, facts={"naam": "Jan Jansen"},
                        at=AT)
    moved = engine.migrate(case, dropped, actor=BEHEER, at=LATER)
    assert "naam" not in moved.facts
    text_of_entry = " ".join(moved.history[-1].explanation) + repr(dict(moved.history[-1].data))
    assert "Jan Jansen" not in text_of_entry and "fact 'naam' dropped" in text_of_entry


def test_a_moved_case_round_trips_through_json_and_a_store(tmp_path: Path) -> None:
    engine = engine_for("split")
    moved = engine.migrate(old_case(engine, ["beoordelen"], {"urgent": True}), plan("split"),
                           actor=BEHEER, at=LATER)
    again = Case.from_dict(moved.to_dict())
    assert again == moved and engine.fire(again, "afsluiten", actor=MEDEWERKER,
                                          at=LATER).state == "afgesloten"
    store = SQLiteStore(tmp_path / "cases.db", engine)
    store.create(moved)
    loaded = store.load(moved.id)
    assert (loaded.workflow_version, loaded.state) == (2, "spoed")
    assert [e.kind for e in loaded.history] == [e.kind for e in moved.history]
    assert loaded.history[-1].explanation == moved.history[-1].explanation
    store.close()


# -- the service: a store full of cases ------------------------------------------------------


def _stored(tmp_path: Path, scenario: str) -> tuple[CaseService, SQLiteStore]:
    engine = engine_for(scenario)
    store = SQLiteStore(tmp_path / "cases.db", engine)
    store.create(old_case(engine, [], case_id="a"))
    store.create(old_case(engine, ["beoordelen"], {"urgent": True}, case_id="b"))
    store.create(old_case(engine, ["beoordelen"], {"urgent": False}, case_id="c"))
    store.create(old_case(engine, ["beoordelen"], case_id="d"))
    return CaseService(engine, store), store


def test_renamed_case_roles_are_stored_under_their_new_name_only(backend: Any) -> None:
    engine = engine_for("roles")
    store = backend.open(engine)
    store.create(old_case(engine, ["regisseur_benoemd", "starten"], case_id="a"))
    run = CaseService(engine, store).migrate(plan("roles", "plan_renamed.yaml"), actor=BEHEER,
                                             dry_run=False, at=LATER)
    assert run.counts == {"moved": 1}
    moved = store.load("a")
    assert dict(moved.case_roles) == {"casusregisseur": REGIE.id}
    assert store.find(role_holder=REGIE.id)[0].workflow_version == 2
    after = engine.fire(moved, "afsluiten", actor=MEDEWERKER, at=LATER, store=store)
    assert store.load("a").state == after.state == "afgesloten"


def test_a_dry_run_says_what_would_move_and_writes_nothing(tmp_path: Path) -> None:
    service, store = _stored(tmp_path, "split")
    before = {i: store.load(i).version for i in "abcd"}
    run = service.migrate(plan("split", "plan_incomplete.yaml"), actor=BEHEER, at=LATER)
    assert run.dry_run and not run.ok
    assert {c.case_id: (c.outcome, c.new_state) for c in run.cases} == {
        "a": ("would move", "aangemeld"), "b": ("would move", "spoed"),
        "c": ("blocked", None), "d": ("blocked", None)}
    assert {i: store.load(i).version for i in "abcd"} == before
    assert "(dry run: nothing written)" in run.as_text()
    store.close()


def test_each_case_moves_in_its_own_transaction_and_a_second_run_moves_nothing(
        tmp_path: Path) -> None:
    service, store = _stored(tmp_path, "split")
    blocked_plan = plan("split", "plan_incomplete.yaml")
    seen: list[int] = []
    run = service.migrate(blocked_plan, actor=BEHEER, dry_run=False, at=LATER, page=2,
                          progress=seen.append)
    assert seen == [2, 4] and run.counts == {"moved": 2, "blocked": 2}
    assert [(store.load(i).workflow_version, store.load(i).state) for i in "abcd"] == [
        (2, "aangemeld"), (2, "spoed"), (1, "beoordeling"), (1, "beoordeling")]
    blocked = {c.case_id: c for c in run.cases}["c"]
    assert blocked.old_state == "beoordeling" and "no mapping matches" in blocked.reasons[0]
    assert store.load("c").history[-1].kind == "fire"  # nothing half-written
    # the full plan moves what is left; moved cases are not moved twice
    again = service.migrate(plan("split"), actor=BEHEER, dry_run=False, at=LATER)
    assert sorted(c.case_id for c in again.cases) == ["c", "d"] and again.ok
    assert [e.kind for e in store.load("b").history].count("migrate") == 1
    named = service.migrate(plan("split"), actor=BEHEER, dry_run=False, at=LATER,
                            case_ids=["a", "b", "c", "d"])
    assert named.counts == {"already moved": 4}
    assert all(store.load(i).version == v for i, v in (("a", 2), ("b", 4), ("c", 4)))
    store.close()


def test_the_service_reads_a_plan_file_and_refuses_one_for_versions_not_loaded(
        tmp_path: Path) -> None:
    service, store = _stored(tmp_path, "split")
    run = service.migrate(HERE / "split" / "plan.yaml", actor=BEHEER, at=LATER)
    assert run.counts == {"would move": 4}
    only_old = Engine([OLD])
    with pytest.raises(UnknownWorkflow):
        read_plan(only_old, HERE / "split" / "plan.yaml")
    with pytest.raises(TypeError, match="list of case ids"):
        service.migrate(plan("split"), actor=BEHEER, case_ids="a")
    missing = service.migrate(plan("split"), actor=BEHEER, case_ids=["zz"])
    assert missing.cases[0].outcome == "failed" and "not_found" in missing.cases[0].reasons[0]
    store.close()


# -- the command line ------------------------------------------------------------------------


def test_cli_apply_moves_cases_with_progress_and_is_safe_to_repeat(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "hulp_1.yaml").write_text((HERE / "old.yaml").read_text())
    (folder / "hulp_2.yaml").write_text((HERE / "split" / "new.yaml").read_text())
    # a plan kept in the workflows folder is skipped by the loader (kind: migration)
    (folder / "plan.yaml").write_text((HERE / "split" / "plan.yaml").read_text())
    _, store = _stored(tmp_path, "split")
    store.close()
    base = ["migrate", "apply", "--store", str(tmp_path / "cases.db"), "--plan",
            str(folder / "plan.yaml"), str(folder), "--actor", "beheer"]
    assert main([*base, "--dry-run"]) == 0
    out = capsys.readouterr()
    assert "4 case(s) would move" in out.out and "4 case(s) looked at" in out.err
    assert main(base) == 0
    out = capsys.readouterr()
    assert "4 case(s) moved" in out.out and "zorgflow migrate: 4 case(s) done" in out.err
    assert main(base) == 0
    assert "0 case(s) moved" in capsys.readouterr().out
    assert main([*base, "--case", "b"]) == 0
    assert "1 moved before" in capsys.readouterr().out
    assert main(["migrate", "apply", "--store", str(tmp_path / "cases.db"), "--plan",
                 str(folder / "plan.yaml"), str(folder)]) == 2  # --actor is required


def test_cli_apply_exits_1_when_a_case_cannot_move(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "hulp_1.yaml").write_text((HERE / "old.yaml").read_text())
    (folder / "hulp_2.yaml").write_text((HERE / "split" / "new.yaml").read_text())
    _, store = _stored(tmp_path, "split")
    store.close()
    code = main(["migrate", "apply", "--store", str(tmp_path / "cases.db"), "--plan",
                 str(HERE / "split" / "plan_incomplete.yaml"), str(folder), "--actor", "b"])
    out = capsys.readouterr().out
    assert code == 1 and "BLOCKED c in 'beoordeling'" in out and "2 cannot move" in out


# -- a migrated case behaves as a case of the new version -------------------------------------

#: the plans under which every case can move (check_plan finds no gap)
MOVABLE = [("split", "plan.yaml"), ("fact", "plan_default.yaml"), ("timer", "plan.yaml"),
           ("roles", "plan_renamed.yaml"), ("removed", "plan.yaml")]
ENGINES = {s: engine_for(s) for s, _ in MOVABLE}
PLANS = {s: plan(s, p) for s, p in MOVABLE}
ACTORS = {a.id: a for a in actors_for(OLD)}
USEFUL = [("beoordelen", "actor_medewerker", {}),
          ("regisseur_benoemd", "actor_medewerker", {"wie": "actor_case_a"}),
          ("starten", "actor_case_a", {}), ("afsluiten", "actor_medewerker", {})]
HISTORIES = st.lists(st.one_of(event_step(OLD), st.sampled_from(USEFUL)), max_size=10)


def _twin(engine: Engine, moved: Case) -> Case:
    """A case of the new version with the moved case's state, facts, case roles, timers and
    tasks, built through `Case.from_dict` (a history of one start entry)."""
    raw = moved.to_dict()
    start = dict(raw["history"][0])
    start.update({"to": moved.state, "workflow_version": moved.workflow_version, "data": {}})
    raw["history"] = [start]
    return Case.from_dict(raw, verify=False)


def _outcome(engine: Engine, case: Case, step: tuple[str, str, dict[str, Any]],
             actors: dict[str, Actor], at: datetime) -> tuple[Any, ...]:
    event, who, data = step
    try:
        after = engine.fire(case, event, actor=actors[who], data=data, at=at)
    except TransitionRejected as exc:
        return ("rejected", tuple(exc.codes))
    except (ZorgflowError, ValueError, TypeError) as exc:
        return ("error", type(exc).__name__)
    return ("fired", after.state, dict(after.facts), dict(after.case_roles),
            dict(after.timers), after.history[-1].to_dict()["data"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=HISTORIES, facts=facts_for(OLD), scenario=st.sampled_from([s for s, _ in MOVABLE]),
       after=st.lists(st.one_of(event_step(OLD), st.sampled_from(USEFUL)), max_size=6),
       data=st.data())
def test_a_migrated_case_behaves_as_a_new_version_case_with_its_state_facts_and_roles(
        steps: list[tuple[str, str, dict[str, Any]]], facts: dict[str, Any], scenario: str,
        after: list[tuple[str, str, dict[str, Any]]], data: st.DataObject) -> None:
    engine, used = ENGINES[scenario], PLANS[scenario]
    target = new(scenario)
    case = engine.start("hulp", actor=MEDEWERKER, version=1, at=AT)
    with contextlib.suppress(ZorgflowError):
        case = engine.set_facts(case, facts, actor=ACTORS["actor_all"], at=AT)
    for event, who, step_data in steps:
        with contextlib.suppress(ZorgflowError, ValueError, TypeError):
            case = engine.fire(case, event, actor=ACTORS[who], data=step_data, at=AT)
    moved = engine.migrate(case, used, actor=BEHEER, at=LATER)
    # it lands where the plan says, with its facts and case roles mapped
    assert moved.state == case_verdict(OLD, target, used, case, LATER).target
    mapped = {used.fact(k): v for k, v in case.facts.items() if used.fact(k)}
    assert dict(moved.facts) == dict(used.facts_defaults) | mapped
    assert dict(moved.case_roles) == {used.role(r): h for r, h in case.case_roles.items()}
    # the new version's invariants hold right after the move
    for inv in target.invariants:
        if moved.state in inv.states and inv.kind == "requires_case_role":
            assert inv.role in moved.case_roles
        if moved.state in inv.states and inv.kind == "implies":
            assert "risico" in moved.facts  # the one implies invariant of the fixtures
    # and every later event goes as on its twin built directly on the new version
    twin = _twin(engine, moved)
    new_actors = {a.id: a for a in actors_for(target)} | ACTORS
    for step in after:
        step = data.draw(st.one_of(st.just(step), event_step(target)))
        got, wanted = (_outcome(engine, moved, step, new_actors, LATER),
                       _outcome(engine, twin, step, new_actors, LATER))
        assert got == wanted, (step, got, wanted)
        if got[0] == "fired":
            moved = engine.fire(moved, step[0], actor=new_actors[step[1]], data=step[2],
                                at=LATER)
            twin = engine.fire(twin, step[0], actor=new_actors[step[1]], data=step[2],
                               at=LATER)
    # and its history still explains how it got where it is: contiguous, one move
    kinds = [e.kind for e in moved.history]
    assert kinds[0] == "start" and kinds.count("migrate") == 1
    assert [e.seq for e in moved.history] == list(range(1, len(kinds) + 1))
    for before, entry in zip(moved.history, moved.history[1:], strict=False):
        assert entry.from_state == before.to_state or entry.kind == "signal"



def test_a_plan_given_as_a_workflow_says_what_it_is(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "plannen"
    folder.mkdir()
    (folder / "plan.yaml").write_text((HERE / "split" / "plan.yaml").read_text())
    assert main(["validate", str(folder / "plan.yaml")]) == 1
    assert "plan.yaml:1:7: this is a migration plan (kind: migration), not a workflow" in \
        capsys.readouterr().out
    assert main(["check", str(folder)]) == 2
    assert "no *.yaml files in this folder hold a workflow (only 1 migration plan(s))" in \
        capsys.readouterr().err
