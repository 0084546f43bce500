"""Migration plans: loading with positions, checking over the old version's abstract states,
impact over a store, the command line, and agreement of the case-by-case verdict with the
abstract one."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zorgflow.cli import main
from zorgflow.engine import Actor, Engine
from zorgflow.errors import WorkflowError, ZorgflowError
from zorgflow.loader import load_workflow
from zorgflow.migrate import (
    MigrationPlan,
    case_verdict,
    check_plan,
    identity_plan,
    impact,
    load_plan,
    load_plan_text,
)
from zorgflow.model import Workflow
from zorgflow.store import SQLiteStore
from zorgflow.testing import actors_for, event_step, facts_for

HERE = Path(__file__).parent / "fixtures" / "migrate"
OLD = load_workflow(HERE / "old.yaml")
AT = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
MEDEWERKER = Actor("m.de.boer", roles={"medewerker"})


def new(scenario: str) -> Workflow:
    return load_workflow(HERE / scenario / "new.yaml")


def plan(scenario: str, name: str) -> MigrationPlan:
    return load_plan(HERE / scenario / name, OLD, new(scenario))


#: (scenario, plan file or None, the gap kinds expected: empty means every case can move)
VERDICTS = [
    ("removed", None, {"state removed"}),
    ("removed", "plan.yaml", set()),
    ("split", None, {"state removed"}),
    ("split", "plan.yaml", set()),
    ("split", "plan_incomplete.yaml", {"no mapping matches"}),
    ("fact", None, {"fact without source"}),
    ("fact", "plan_default.yaml", set()),
    ("fact", "plan_no_default.yaml", {"fact without source"}),
    ("timer", None, set()),
    ("timer", "plan.yaml", set()),
    ("roles", None, {"invariant regie_in_uitvoering", "case role dropped"}),
    ("roles", "plan_renamed.yaml", set()),
]


@pytest.mark.parametrize(("scenario", "plan_file", "kinds"), VERDICTS)
def test_each_fixture_has_its_expected_verdict(scenario: str, plan_file: str | None,
                                               kinds: set[str]) -> None:
    report = check_plan(OLD, new(scenario), plan(scenario, plan_file) if plan_file else None)
    assert {g.kind for g in report.gaps} == kinds, report.as_text()
    assert report.ok == (not kinds)
    assert not report.cut_off


def test_a_gap_comes_with_the_shortest_old_history() -> None:
    report = check_plan(OLD, new("removed"))
    (gap,) = report.gaps
    assert gap.old_state == "beoordeling"
    assert gap.path == ("beoordelen",)
    assert "shortest old history: start → beoordelen" in report.as_text()
    fact = check_plan(OLD, new("fact"), plan("fact", "plan_no_default.yaml"))
    assert fact.gaps[0].path == ("regisseur_benoemd", "starten")
    assert "risico" in fact.gaps[0].message and "defaults" in fact.gaps[0].message


def test_a_changed_timer_is_reported_as_a_note() -> None:
    report = check_plan(OLD, new("timer"), plan("timer", "plan.yaml"))
    text = "\n".join(report.notes)
    assert "'herinnering'" in text and "re-derived from its old start" in text
    assert "'escalatie'" in text and "starts at the migration" in text


def test_a_cut_off_search_says_so() -> None:
    report = check_plan(OLD, new("timer"), max_states=2)
    assert report.cut_off
    assert "search cut off" in report.as_text()


HEAD = "kind: migration\nworkflow: hulp\nfrom_version: 1\nto_version: 2\n"


@pytest.mark.parametrize(("scenario", "text", "where", "says"), [
    ("split", HEAD + "states:\n  beoordeling: nergens\n", "plan.yaml:6:16",
     "'nergens' is not a state of hulp version 2"),
    ("split", HEAD + "states:\n  weg: regulier\n", "plan.yaml:6:3",
     "'weg' is not a state of hulp version 1"),
    ("split", HEAD + "states:\n  beoordeling: afgesloten\n", "plan.yaml:6:16",
     "add 'final_ok: true'"),
    ("roles", HEAD, "plan.yaml:1:1", "case role 'regisseur' of version 1 is not in version 2"),
    ("roles", HEAD + "case_roles: {regisseur: baas}\n", "plan.yaml:5:25",
     "'baas' is not a case role of version 2"),
    ("split", HEAD.replace("to_version: 2", "to_version: 3"), "plan.yaml:4:13",
     "to_version is 3, but the to version given is 2"),
    ("split", HEAD.replace("kind: migration", "kind: workflow"), "plan.yaml:1:7",
     "kind: migration"),
    ("split", HEAD + "states:\n  beoordeling:\n    - {to: spoed, when: 'facts.onbekend'}\n"
     "    - {to: regulier}\n", "plan.yaml:7:25", "condition 'facts.onbekend'"),
    ("fact", HEAD + "facts:\n  defaults: {gevaar: 1}\n", "plan.yaml:6:14",
     "'gevaar' is not a fact of version 2"),
    ("split", HEAD + "extra: 1\n", "plan.yaml:5:1", "unknown key 'extra'"),
])
def test_a_bad_plan_is_refused_at_file_line_column(scenario: str, text: str, where: str,
                                                    says: str) -> None:
    with pytest.raises(WorkflowError) as info:
        load_plan_text(text, OLD, new(scenario), "plan.yaml")
    shown = [str(p) for p in info.value.errors]
    assert any(p.startswith(where) and says in p for p in shown), shown


def test_a_final_state_mapping_with_final_ok_loads() -> None:
    text = HEAD + "states:\n  beoordeling: {to: afgesloten, final_ok: true}\n"
    loaded = load_plan_text(text, OLD, new("split"))
    assert loaded.states["beoordeling"][0].final_ok
    assert check_plan(OLD, new("split"), loaded).ok


# -- impact over a store ---------------------------------------------------------------------


def _store(tmp_path: Path, scenario: str) -> tuple[Engine, SQLiteStore]:
    engine = Engine([OLD, new(scenario)])
    return engine, SQLiteStore(tmp_path / "cases.db", engine)


def _case(engine: Engine, store: SQLiteStore, case_id: str, events: list[str],
          facts: dict[str, object] | None = None) -> None:
    case = engine.start("hulp", actor=MEDEWERKER, version=1, case_id=case_id, at=AT)
    for event in events:
        who = Actor("r.regie", roles=set()) if event == "starten" else MEDEWERKER
        data = {"wie": "r.regie"} if event == "regisseur_benoemd" else None
        case = engine.fire(case, event, actor=who, data=data, at=AT)
    if facts:
        case = engine.set_facts(case, facts, actor=Actor("alle", {"medewerker"}), at=AT)
    store.create(case)


def test_impact_counts_moves_and_says_which_cases_cannot_move(tmp_path: Path) -> None:
    engine, store = _store(tmp_path, "split")
    _case(engine, store, "a", [])
    _case(engine, store, "b", ["beoordelen"], {"urgent": True})
    _case(engine, store, "c", ["beoordelen"], {"urgent": False})
    _case(engine, store, "d", ["beoordelen"])
    seen: list[int] = []
    full = impact(store, OLD, new("split"), plan("split", "plan.yaml"), page=2,
                  progress=seen.append)
    assert full.total == 4 and seen == [2, 4]
    assert full.moves == {"aangemeld": {"aangemeld": 1},
                          "beoordeling": {"spoed": 1, "regulier": 2}}
    assert not full.blocked
    partial = impact(store, OLD, new("split"), plan("split", "plan_incomplete.yaml"))
    assert partial.moves["beoordeling"] == {"spoed": 1, "cannot move": 2}
    assert sorted(v.case_id for v in partial.blocked) == ["c", "d"]
    assert "CANNOT MOVE c in 'beoordeling'" in partial.as_text()
    store.close()


def test_impact_of_a_removed_state_with_cases_in_it(tmp_path: Path) -> None:
    engine, store = _store(tmp_path, "removed")
    _case(engine, store, "a", ["beoordelen"])
    _case(engine, store, "b", [])
    before = [store.load("a").version, store.load("b").version]
    result = impact(store, OLD, new("removed"), identity_plan(OLD, new("removed")))
    assert [v.case_id for v in result.blocked] == ["a"]
    assert "not in version 2" in result.blocked[0].reasons[0]
    assert [store.load("a").version, store.load("b").version] == before  # nothing written
    store.close()


# -- the command line ------------------------------------------------------------------------


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_cli_check_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    old, split = str(HERE / "old.yaml"), str(HERE / "split" / "new.yaml")
    assert run("migrate", "check", old, split, "--plan", str(HERE / "split" / "plan.yaml"))[0] \
        == 0
    code, text = run("migrate", "check", old, split)
    assert code == 1 and "GAP state removed" in text
    code, text = run("migrate", "check", old, split, "--plan",
                     str(HERE / "split" / "plan_incomplete.yaml"))
    assert code == 1 and "no mapping matches" in text
    assert run("migrate", "check", old, str(HERE / "timer" / "new.yaml"),
               "--max-states", "2")[0] == 1
    assert run("migrate", "check", old, str(HERE / "timer" / "new.yaml"),
               "--max-states", "2", "--allow-partial")[0] == 0
    code, _ = run("migrate", "check", old, split, "--plan",
                  str(HERE / "roles" / "plan_dropped.yaml"))
    assert code == 2 and "plan_dropped.yaml:" in capsys.readouterr().err
    assert run("migrate", "check", old, str(HERE / "nergens.yaml"))[0] == 2
    assert run("migrate", "check", old)[0] == 2
    assert run("migrate")[0] == 2


def test_cli_plan_shows_impact_without_writing(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "hulp1.yaml").write_text((HERE / "old.yaml").read_text())
    (folder / "hulp2.yaml").write_text((HERE / "split" / "new.yaml").read_text())
    engine, store = _store(tmp_path, "split")
    _case(engine, store, "a", ["beoordelen"], {"urgent": True})
    _case(engine, store, "b", ["beoordelen"])
    store.close()
    db = str(tmp_path / "cases.db")
    code, text = run("migrate", "plan", "--store", db, "--plan",
                     str(HERE / "split" / "plan.yaml"), str(folder))
    assert code == 0, text
    assert "beoordeling → regulier: 1" in text and "beoordeling → spoed: 1" in text
    assert "2 case(s) read" in capsys.readouterr().err
    code, text = run("migrate", "plan", "--store", db, "--plan",
                     str(HERE / "split" / "plan_incomplete.yaml"), str(folder))
    assert code == 1 and "CANNOT MOVE b" in text
    code, _ = run("migrate", "plan", "--store", db, "--plan",
                  str(HERE / "fact" / "plan_default.yaml"), str(tmp_path / "leeg"))
    assert code == 2
    (tmp_path / "v3.yaml").write_text(HEAD.replace("to_version: 2", "to_version: 3"))
    code, _ = run("migrate", "plan", "--store", db, "--plan", str(tmp_path / "v3.yaml"),
                  str(folder))
    assert code == 2 and "version 3" in capsys.readouterr().err
    code, _ = run("migrate", "plan", "--store", str(tmp_path / "geen.db"), "--plan",
                  str(HERE / "split" / "plan.yaml"), str(folder))
    assert code == 2


# -- the case-by-case verdict agrees with the abstract one ------------------------------------

PLANS = [(s, p) for s, p, _ in VERDICTS]
ENGINE = Engine([OLD])
ACTORS = {a.id: a for a in actors_for(OLD)}
#: steps that make progress, mixed into the random ones so that every state is reached
USEFUL = [("beoordelen", "actor_medewerker", {}),
          ("regisseur_benoemd", "actor_medewerker", {"wie": "actor_case_a"}),
          ("starten", "actor_case_a", {}), ("afsluiten", "actor_medewerker", {})]
HISTORIES = st.lists(st.one_of(event_step(OLD), st.sampled_from(USEFUL)), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=HISTORIES, facts=facts_for(OLD), which=st.sampled_from(PLANS))
def test_case_verdict_agrees_with_check_plan(steps: list[tuple[str, str, dict[str, object]]],
                                             facts: dict[str, object],
                                             which: tuple[str, str | None]) -> None:
    scenario, plan_file = which
    target_wf = new(scenario)
    used = plan(scenario, plan_file) if plan_file else identity_plan(OLD, target_wf)
    report = check_plan(OLD, target_wf, used if plan_file else None)
    gap_states = {g.old_state for g in report.gaps}
    case = ENGINE.start("hulp", actor=MEDEWERKER, at=AT)
    with contextlib.suppress(ZorgflowError):
        case = ENGINE.set_facts(case, facts, actor=ACTORS["actor_all"], at=AT)
    for event, actor, data in steps:
        try:
            case = ENGINE.fire(case, event, actor=ACTORS[actor], data=data, at=AT)
        except (ZorgflowError, ValueError, TypeError):
            continue
    verdict = case_verdict(OLD, target_wf, used, case, AT)
    if verdict.target is None:  # a case that cannot move is one check_plan warned about
        assert case.state in gap_states, (case.state, verdict.reasons, report.as_text())
    if case.state not in gap_states:  # a state without gaps: every case in it moves
        assert verdict.target is not None, verdict
    if verdict.target is not None:  # and lands where the new version's invariants hold
        for inv in target_wf.invariants:
            if inv.kind == "requires_case_role" and verdict.target in inv.states:
                assert any(used.role(r) == inv.role for r in case.case_roles)
