"""The loader as a policy author meets it: safe YAML, schema errors, meaning errors.

Every error is asserted with its exact ``line`` (and ``column`` where it points at a token) and
a fragment of the message that tells the author what to do. Broken variants are derived from
one small valid workflow by replacing one piece of text, so each test shows the one mistake.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import os
import stat
import threading
import time
import tracemalloc
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zorgflow
import zorgflow.cli
from zorgflow import Problem, WorkflowError
from zorgflow._yaml import MAX_BYTES
from zorgflow.loader import load_workflow_text
from zorgflow.model import Expectation

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / "workflows"
FILE = "proef.yaml"

# A small workflow that uses every part of the format: three states (one with a timer), roles
# including a case role, facts of several types (boolean, enum, integer, date, string, list of
# records), a guarded transition, an assignment, a `sets`, enum_from, a criteria rule set, a
# unique decision table, a ranking and one example.
VALID = """\
id: proef
version: 1
label: Proefwerkwijze
start_by: [melder]
roles:
  melder: {label: Melder}
  coordinator: {label: Coördinator}
  regisseur: {label: Regisseur, case_role: true}
facts:
  kinderen_betrokken: {type: boolean, label: Kinderen betrokken}
  urgentie: {type: enum, values: [laag, hoog], label: Urgentie}
  interval_dagen: {type: integer, minimum: 1, label: Interval in dagen}
  startdatum: {type: date, label: Startdatum}
  notitie: {type: string, label: Notitie}
  wet: {type: enum, values: [jeugdwet, wmo, wlz], label: Wet}
  kandidaten:
    type: list
    label: Kandidaten
    items:
      id: {type: string}
      ervaren: {type: boolean}
      stemmen: {type: integer}
states:
  aangemeld: {label: Aangemeld, initial: true}
  uitvoering:
    label: Uitvoering
    timers:
      - signal: te_laat
        label: Terugkoppeling te laat
        after: "facts.interval_dagen days | 1 month"
        reset_by: [teruggekoppeld]
  afgesloten: {label: Afgesloten, final: true}
transitions:
  - event: opgepakt
    from: aangemeld
    to: uitvoering
    by: [coordinator]
    data:
      regisseur: {type: string, label: Regisseur}
    assigns: {regisseur: data.regisseur}
    when: urgentie == 'hoog' or not kinderen_betrokken
  - event: teruggekoppeld
    from: uitvoering
    to: uitvoering
    by: [regisseur]
    sets: {notitie: "'gezien'"}
  - event: afsluiten
    from: [uitvoering]
    to: afgesloten
    by: [coordinator, regisseur]
    data:
      reden: {enum_from: rules.afsluitcriteria, label: Reden}
    when: data.reden in rules.afsluitcriteria.matched
rules:
  afsluitcriteria:
    kind: criteria
    label: Afsluitcriteria
    criteria:
      geen_kinderen:
        label: Geen kinderen betrokken
        when: not kinderen_betrokken
      rustig:
        label: Lage urgentie en startdatum bekend
        all:
          - urgentie == 'laag'
          - known(startdatum)
  zorgplicht:
    kind: table
    hit_policy: unique
    label: Zorgplicht
    inputs:
      wet: {type: enum, values: [jeugdwet, wmo, wlz]}
      dagen: {type: integer, from: "days_since(startdatum)"}
    outputs: [verantwoordelijk]
    rows:
      - id: jeugd
        when: {wet: jeugdwet}
        then: {verantwoordelijk: gemeente}
      - id: wlz_vroeg
        when: {wet: wlz, dagen: "< 5"}
        then: {verantwoordelijk: gemeente}
      - id: wlz_laat
        when: {wet: wlz, dagen: ">= 5"}
        then: {verantwoordelijk: zorgkantoor}
  regie:
    kind: ranking
    label: Regie
    candidates: kandidaten
    candidate_id: id
    criteria:
      ervaring:
        label: Ervaren
        weight: 2
        when: kandidaat.ervaren
      stemmen:
        label: Stemmen
        points: kandidaat.stemmen
examples:
  - name: oppakken en afsluiten
    actors:
      mel: [melder]
      coord: [coordinator]
      reg: [melder]
    start: {by: mel, at: "2026-01-05T09:00:00+01:00", facts: {kinderen_betrokken: false}}
    steps:
      - {event: opgepakt, by: coord, data: {regisseur: reg}, expect: {state: uitvoering}}
      - {event: teruggekoppeld, by: reg, expect: {facts: {notitie: gezien}}}
      - {decide: afsluitcriteria, expect: {matched: [geen_kinderen]}}
      - {event: afsluiten, by: reg, data: {reden: geen_kinderen}, expect: {state: afgesloten}}
"""


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def valid_text() -> str:
    return VALID


def variant(old: str, new: str, text: str = VALID) -> str:
    """``text`` with the one occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} must occur exactly once in the base workflow"
    return text.replace(old, new)


def pos(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the ``occurrence``-th ``needle`` in ``text``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def problems(text: str, file: str = FILE) -> list[Problem]:
    """The problems the loader reports for ``text`` (it must refuse it)."""
    with pytest.raises(WorkflowError) as info:
        load_workflow_text(text, file)
    errors = info.value.errors
    assert errors, "a WorkflowError must list at least one problem"
    assert all(isinstance(p, Problem) and p.file == file for p in errors)
    return errors


def one(errors: list[Problem], fragment: str) -> Problem:
    """The single problem whose message contains ``fragment``."""
    found = [p for p in errors if fragment in p.message]
    assert len(found) == 1, f"expected one problem with {fragment!r}, got:\n" + "\n".join(
        map(str, errors))
    return found[0]


def assert_at(problem: Problem, where: tuple[int, int], *fragments: str,
              column: bool = True) -> None:
    line, col = where
    assert problem.line == line, str(problem)
    if column:
        assert problem.column == col, str(problem)
    for fragment in fragments:
        assert fragment in problem.message, f"{fragment!r} not in {problem}"


# -- the valid workflow --------------------------------------------------------------------------


def test_the_base_workflow_loads(valid_text: str) -> None:
    wf = load_workflow_text(valid_text, FILE)
    assert wf.id == "proef"
    assert wf.version == 1
    assert wf.file == FILE
    assert list(wf.states) == ["aangemeld", "uitvoering", "afgesloten"]
    assert wf.initial.id == "aangemeld"
    assert wf.roles["regisseur"].case_role and not wf.roles["melder"].case_role
    assert wf.facts["kandidaten"].type.name == "list"
    assert set(wf.facts["kandidaten"].type.fields) == {"id", "ervaren", "stemmen"}
    assert {rid: rs.kind for rid, rs in wf.rules.items()} == {
        "afsluitcriteria": "criteria", "zorgplicht": "table", "regie": "ranking"}
    assert wf.events == ("opgepakt", "teruggekoppeld", "afsluiten")
    assert wf.transitions[0].when == "urgentie == 'hoog' or not kinderen_betrokken"
    assert wf.transitions[2].data["reden"].type.values == ("geen_kinderen", "rustig")
    assert len(wf.examples) == 1 and wf.examples[0].line == pos(valid_text, "- name:")[0]
    (timer,) = wf.states["uitvoering"].timers
    assert [str(d) for d in timer.after] == ["facts.interval_dagen days", "1 months"]


def test_invariants_and_example_steps_load_as_typed_fields() -> None:
    text = variant("examples:\n", """\
invariants:
  regisseur_benoemd:
    label: In uitvoering is een regisseur benoemd
    in_state: uitvoering
    requires_case_role: regisseur
  gezien_bij_afsluiten:
    label: Afgesloten na terugkoppeling
    in_state: [afgesloten]
    implies: notitie == 'gezien'
  afsluitbaar:
    label: Afsluiten blijft mogelijk
    always_reachable: afgesloten
    source: "000, punt 1"
  nooit_afsluiten:
    label: Nooit afsluiten
    never: {event: afsluiten}
examples:
""")
    text = variant("expect: {state: afgesloten}}\n", "expect: {state: afgesloten}}\n"
                   "      - {decide: zorgplicht, at: '2026-02-01T09:00:00+01:00', "
                   "expect: {outcome: null}, note: geen wet bekend}\n", text)
    wf = load_workflow_text(text, FILE)

    role, implies, reachable, never = wf.invariants
    assert (role.kind, role.states, role.role) == ("requires_case_role", ("uitvoering",),
                                                   "regisseur")
    assert (implies.kind, implies.states, implies.condition) == (
        "implies", ("afgesloten",), "notitie == 'gezien'")
    assert (reachable.kind, reachable.goals, reachable.cite) == (
        "always_reachable", ("afgesloten",), "000, punt 1")
    assert (never.kind, never.event, never.when, never.forbidden_when) == (
        "never", "afsluiten", None, "true")

    (example,) = wf.examples
    assert (example.start.by, example.start.at, dict(example.start.facts)) == (
        "mel", "2026-01-05T09:00:00+01:00", {"kinderen_betrokken": False})
    opgepakt, teruggekoppeld, decide, afsluiten, outcome = example.steps
    assert (opgepakt.action, opgepakt.event, opgepakt.by, dict(opgepakt.data)) == (
        "event", "opgepakt", "coord", {"regisseur": "reg"})
    assert opgepakt.expect == Expectation(state="uitvoering")
    assert teruggekoppeld.expect.facts == {"notitie": "gezien"}
    assert not teruggekoppeld.data and teruggekoppeld.expect.state is None
    assert (decide.action, decide.rule_set, decide.by, decide.expect.matched) == (
        "decide", "afsluitcriteria", None, ("geen_kinderen",))
    assert afsluiten.expect.rejected is None and not afsluiten.expect.expects_outcome
    assert (outcome.at, outcome.note) == ("2026-02-01T09:00:00+01:00", "geen wet bekend")
    assert outcome.expect.expects_outcome and outcome.expect.outcome is None
    assert [s.line for s in example.steps] == [
        pos(text, needle)[0] for needle in ("- {event: opgepakt", "- {event: teruggekoppeld",
                                            "- {decide: afsluitcriteria", "- {event: afsluiten",
                                            "- {decide: zorgplicht")]
    with pytest.raises(TypeError):
        opgepakt.data["regisseur"] = "iemand"  # type: ignore[index]


def test_load_workflow_reads_a_file_given_as_str_or_path(tmp_path: Path) -> None:
    file = tmp_path / "proef.yaml"
    file.write_text(VALID, encoding="utf-8")
    assert zorgflow.load_workflow(file).id == "proef"
    assert zorgflow.load_workflow(str(file)).file == str(file)


def test_workflow_error_message_lists_every_problem_with_file_line_column() -> None:
    text = variant("    to: afgesloten\n", "    to: afgeslotn\n")
    with pytest.raises(zorgflow.ZorgflowError) as info:
        load_workflow_text(text, FILE)
    assert isinstance(info.value, WorkflowError)
    line, column = pos(text, "afgeslotn")
    assert f"{FILE}:{line}:{column}: unknown state 'afgeslotn'" in str(info.value)
    assert str(info.value).startswith(f"{len(info.value.errors)} problem")


# -- 1. safe YAML --------------------------------------------------------------------------------


def test_duplicate_key_names_the_key_and_the_first_line() -> None:
    text = variant("  coordinator: {label: Coördinator}\n",
                   "  coordinator: {label: Coördinator}\n  melder: {label: Nog een melder}\n")
    problem = one(problems(text), "duplicate key")
    first_line = pos(text, "  melder:")[0]
    assert_at(problem, pos(text, "melder: {label: Nog"), "duplicate key 'melder'",
              f"first given on line {first_line}")


def test_a_tag_that_would_create_a_file_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned.txt"
    payload = f'!!python/object/apply:builtins.open ["{marker.as_posix()}", "w"]'
    # control: an unsafe loader really would create the file
    control = tmp_path / "control.txt"
    yaml.unsafe_load(payload.replace(marker.as_posix(), control.as_posix())).close()
    assert control.exists()

    text = variant("  aangemeld: {label: Aangemeld, initial: true}",
                   f"  aangemeld: {{label: {payload}, initial: true}}")
    problem = one(problems(text), "is not allowed")
    assert_at(problem, pos(text, "!!python"), "tag", "python/object/apply:builtins.open",
              "plain YAML only")
    assert not marker.exists()


def test_os_system_tags_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "echoed.txt"
    for tag in (f'!!python/object/apply:os.system ["echo hi > {marker.as_posix()}"]',
                "!!python/name:os.system",
                "!!python/object/new:os.system [echo hi]",
                "!!python/module:os"):
        text = variant("label: Proefwerkwijze", f"label: {tag}")
        problem = one(problems(text), "is not allowed")
        assert_at(problem, pos(text, "!!python"), "tag", "python/")
    assert not marker.exists()


@pytest.mark.parametrize("tagged", ["!foo Melder", "!foo {x: 1}", "!!binary aGVsbG8=",
                                    "!<tag:example.com,2000:app/x> Melder"])
def test_any_custom_tag_is_refused(tagged: str) -> None:
    text = variant("  melder: {label: Melder}", f"  melder: {{label: {tagged}}}")
    problem = one(problems(text), "is not allowed")
    assert_at(problem, pos(text, tagged.split()[0]), "tag", "remove the tag")


def test_merge_keys_are_refused() -> None:
    text = variant("roles:\n  melder: {label: Melder}\n",
                   "roles:\n  melder: &rol {label: Melder}\n  beheer:\n    <<: *rol\n")
    problem = one(problems(text), "merge keys")
    assert_at(problem, pos(text, "<<"), "'<<'", "write the keys out")


def test_anchors_and_aliases_are_allowed() -> None:
    text = variant("by: [coordinator]\n    data:\n      regisseur",
                   "by: &coord [coordinator]\n    data:\n      regisseur")
    text = variant("by: [coordinator, regisseur]", "by: *coord", text)
    wf = load_workflow_text(text, FILE)
    assert wf.transitions[2].by == ("coordinator",)


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for name in "bcdefghijk":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    bomb = "\n".join(lines) + "\n"
    started = time.perf_counter()
    with pytest.raises(WorkflowError) as info:
        load_workflow_text(bomb, FILE)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"alias bomb took {elapsed:.2f} s"
    (problem,) = info.value.errors
    assert "100,000 nodes" in problem.message and "aliases" in problem.message
    assert 1 <= problem.line <= len(lines)


def test_deep_nesting_is_refused() -> None:
    text = variant("label: Proefwerkwijze", "label: " + "[" * 100 + "]" * 100)
    (problem,) = problems(text)
    assert problem.line == pos(text, "label: [")[0]
    assert "nesting deeper than 64 levels" in problem.message


@pytest.mark.parametrize("libyaml", [True, False])
@pytest.mark.parametrize(("nested", "where"), [
    ("label: " + "[" * 100_000 + "]" * 100_000, (2, 72)),  # crashed libyaml's composer
    ("label:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 600)), (67, 66)),
], ids=["flow", "block"])
def test_nesting_deep_enough_to_exhaust_a_parser_is_refused(
        nested: str, where: tuple[int, int], libyaml: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from zorgflow import _yaml

    if not libyaml:
        monkeypatch.setattr(_yaml, "_CComposingLoader", None)
    text = "id: proef\n" + nested + "\n"
    doc, found = _yaml.read_yaml(text, FILE)
    assert doc.data is None
    assert [(p.line, p.column, p.message) for p in found] == [
        (*where, "nesting deeper than 64 levels; flatten the document")]


def test_a_huge_file_is_refused_before_parsing() -> None:
    text = VALID + "#" + "x" * (4 * 1024 * 1024) + "\n"
    (problem,) = problems(text)
    size = len(text.encode("utf-8"))
    assert_at(problem, (1, 1), f"({size:,} bytes)", "larger than 4 MB (4,194,304 bytes)",
              "split it into smaller workflows")


# -- 1a. sizes: in bytes, checked before reading, aliases counted as what they repeat ----------


def peak_bytes(call: Any) -> int:
    """The most memory (bytes, as tracemalloc counts it) ``call()`` had allocated at once."""
    tracemalloc.start()
    try:
        call()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def refused(path: Path | str) -> Problem:
    """The one problem `load_workflow` reports for ``path``."""
    with pytest.raises(WorkflowError) as info:
        zorgflow.load_workflow(path)
    (problem,) = info.value.errors
    assert problem.file == str(path)
    return problem


def test_the_size_limit_counts_bytes_not_characters(tmp_path: Path) -> None:
    # 2.1 million characters, under 4 MB as characters, but 'é' takes two bytes in UTF-8
    text = VALID + "# " + "é" * (2 * 1024 * 1024) + "\n"
    size = len(text.encode("utf-8"))
    assert len(text) < MAX_BYTES < size
    (problem,) = problems(text)
    assert_at(problem, (1, 1), f"({size:,} bytes)", "larger than 4 MB")
    file = tmp_path / "proef.yaml"
    file.write_text(text, encoding="utf-8")
    assert_at(refused(file), (1, 1), f"({size:,} bytes)", "larger than 4 MB")
    # just under the limit in bytes still loads
    fits = VALID + "# " + "é" * ((MAX_BYTES - len(VALID.encode("utf-8")) - 3) // 2) + "\n"
    assert len(fits.encode("utf-8")) <= MAX_BYTES
    assert load_workflow_text(fits, FILE).id == "proef"


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "groot.yaml"
    with file.open("wb") as f:
        f.truncate(3 * 2**30)  # 3 GB, sparse: no disk used
    problem: list[Problem] = []
    assert peak_bytes(lambda: problem.append(refused(file))) < 2**20
    assert_at(problem[0], (1, 1), "3072.0 MB (3,221,225,472 bytes)", "larger than 4 MB",
              "split it")
    assert peak_bytes(lambda: zorgflow.cli.main(["validate", str(file)])) < 2**20
    assert f"{file}:1:1: the file is 3072.0 MB" in capsys.readouterr().out


def test_a_file_growing_while_read_is_read_no_further_than_the_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "groeit.yaml"
    with file.open("wb") as f:
        f.truncate(3 * 2**30)
    real_fstat = os.fstat

    def fstat_before_growing(fd: int) -> os.stat_result:  # the size when it was opened
        info = list(real_fstat(fd))
        info[stat.ST_SIZE] = 100
        return os.stat_result(info)

    monkeypatch.setattr(os, "fstat", fstat_before_growing)
    problem: list[Problem] = []
    assert peak_bytes(lambda: problem.append(refused(file))) < 2 * MAX_BYTES
    assert_at(problem[0], (1, 1), "larger than 4 MB", "grew while it was read")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    pipe = tmp_path / "pijp.yaml"
    os.mkfifo(pipe)
    # a writer that would hand over a valid workflow once a reader opens the pipe: the loader
    # must not be that reader (the writer would also never close a real pipe)
    writer = threading.Thread(target=write_to_pipe, args=(pipe, VALID), daemon=True)
    writer.start()
    try:
        problem = refused(pipe)
        assert problem.line == 0
        assert "is a named pipe (FIFO), not a regular file" in problem.message
        assert "save the workflow to a .yaml file" in problem.message
        # the folder's *.yaml files include the pipe: validate reports it and goes on
        (tmp_path / "proef.yaml").write_text(VALID, encoding="utf-8")
        out = io.StringIO()
        assert zorgflow.cli.main(["validate", str(tmp_path)], out) == 1
        assert f"{pipe}: is a named pipe (FIFO)" in out.getvalue()
        assert "OK proef.yaml" in out.getvalue()
    finally:  # let the writer finish: open the reading end without blocking, drain it
        fd = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        while os.read(fd, 65536):
            pass
        os.close(fd)
        writer.join()


def write_to_pipe(pipe: Path, text: str) -> None:
    with contextlib.suppress(BrokenPipeError), pipe.open("w", encoding="utf-8") as f:
        f.write(text)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused_without_reading_it(device: str) -> None:
    problem = refused(device)
    assert problem.line == 0
    assert "is a device, not a regular file" in problem.message


def many_aliases_of_one_label(count: int, words: int) -> str:
    """`VALID` with one state label of ``words`` words, anchored, used as the label of
    ``count`` more transitions (each an alias of it)."""
    big = " ".join(["woord"] * words)
    text = variant("  aangemeld: {label: Aangemeld, initial: true}",
                   f"  aangemeld: {{label: &groot '{big}', initial: true}}")
    more = "".join(f"  - {{event: e{i}, from: uitvoering, to: uitvoering, by: [coordinator], "
                   "label: *groot}\n" for i in range(count))
    return variant("rules:\n  afsluitcriteria:", more + "rules:\n  afsluitcriteria:", text)


def test_aliases_cannot_make_a_small_file_draw_hundreds_of_mb(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 0.55 MB of YAML: a label of 120 kB used by 5,000 transitions through an alias. It loaded,
    # and `zorgflow diagram` wrote 680 MB of Mermaid (3.7 GB of memory, five minutes)
    text = many_aliases_of_one_label(5_000, 20_000)
    assert len(text.encode("utf-8")) < 600_000
    # the file itself and 30 aliases of 120 kB fit in 4 MB; the 31st is refused
    problem = one(problems(text), "alias")
    assert_at(problem, pos(text, "*groot", 31), "the alias '*groot' repeats 119,999 bytes",
              "with its aliases written out, larger than 4 MB (4,194,304 bytes)",
              "write them once")
    file = tmp_path / "herhaald.yaml"
    file.write_text(text, encoding="utf-8")
    code: list[int] = []
    assert peak_bytes(lambda: code.append(zorgflow.cli.main(["diagram", str(file)]))) < 50 * 2**20
    assert code == [1]
    line, column = problem.line, problem.column
    assert f"{file}:{line}:{column}: the alias '*groot'" in capsys.readouterr().err


def test_the_alias_limit_counts_bytes_and_names_the_alias_that_crosses_it() -> None:
    big = "é" * (750 * 1024)  # 1.5 MB in UTF-8, 0.75 M characters
    text = variant("label: Proefwerkwijze", f"label: &lang '{big}'\ndescription: *lang")
    assert load_workflow_text(text, FILE).description == big  # 3 MB written out: fits
    text = variant("label: Proefwerkwijze", f"label: &lang '{big}'\ndescription: *lang\n"
                                            "rules_note: *lang")
    (problem,) = problems(text)  # 4.5 MB written out: the second alias is refused
    assert_at(problem, pos(text, "*lang", 2), f"repeats {2 * len(big):,} bytes")


def test_aliases_used_moderately_stay_allowed() -> None:
    # a 10 kB text used 100 times is 1 MB written out
    text = many_aliases_of_one_label(100, 1_700)
    wf = load_workflow_text(text, FILE)
    assert len(wf.transitions) == 103
    assert wf.transitions[-1].label == wf.states["aangemeld"].label
    assert len(wf.transitions[-1].label) > 10_000


def test_diagram_text_is_bounded() -> None:
    from zorgflow.errors import ValueProblem
    from zorgflow.render import dot, mermaid
    from zorgflow.render.graph import Edge, Graph, Node

    # a label of 1 MB on 40 arrows: the graph shares it, the text would hold it 40 times
    lines = ("x" * 2**20,)
    graph = Graph("proef", "Proef", (Node("a", "A", initial=True),),
                  tuple(Edge("a", "a", f"e{n}", lines) for n in range(40)))
    for to_text in (mermaid.to_mermaid, dot.to_dot):
        with pytest.raises(ValueProblem) as info:
            to_text(graph)
        assert "diagram of 'proef' would be longer than 16,777,216 characters" in str(info.value)
        assert "shorten the labels" in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "at", "fragment"),
    [
        # an unclosed flow mapping: PyYAML notices at the ':' on the next line
        ("  melder: {label: Melder}\n", "  melder: {label: Melder\n",
         (": {label: Coördinator}", 1), "flow mapping"),
        # a colon followed by a space inside a plain scalar
        ("label: Proefwerkwijze", "label: Proef: werkwijze", (": werkwijze", 1),
         "mapping values are not allowed here"),
        # a tab used for indentation
        ("  notitie: {type: string", "\tnotitie: {type: string", ("\tnotitie", 1),
         "'\\t'"),
        # an unterminated quoted string runs to the end of the file
        ("reden: geen_kinderen}, expect: {state: afgesloten}}\n",
         'reden: geen_kinderen}, expect: {state: "afgesloten}}\n', None, "quoted scalar"),
    ],
)
def test_yaml_syntax_error_has_line_and_column(
        old: str, new: str, at: tuple[str, int] | None, fragment: str) -> None:
    text = variant(old, new)
    (problem,) = problems(text)
    assert problem.message.startswith("YAML syntax error")
    assert fragment in problem.message
    if at is None:  # reported at the end of the file
        assert problem.line == text.count("\n") + 1
    else:
        line, column = pos(text, *at)
        assert (problem.line, problem.column) == (line, column), str(problem)


def test_yes_no_on_off_stay_text_and_dates_stay_iso_text() -> None:
    text = variant("  melder: {label: Melder}", "  melder: {label: yes}")
    text = variant("  aangemeld: {label: Aangemeld, initial: true}",
                   "  aangemeld: {label: no, initial: true}", text)
    text = variant("  notitie: {type: string, label: Notitie}",
                   "  notitie: {type: enum, values: [yes, no, on, off, y, n], label: off}", text)
    text = variant("sets: {notitie: \"'gezien'\"}", "sets: {notitie: \"'yes'\"}", text)
    text = variant("states:\n", "cycles:\n  overleg: {label: Overleg, first: 2026-01-08, "
                                "every: 2 weeks}\nstates:\n", text)
    text = text.replace("expect: {facts: {notitie: gezien}}", "expect: {facts: {notitie: 'yes'}}")
    wf = load_workflow_text(text, FILE)
    assert wf.roles["melder"].label == "yes"
    assert wf.states["aangemeld"].label == "no"
    assert wf.facts["notitie"].label == "off"
    assert wf.facts["notitie"].type.values == ("yes", "no", "on", "off", "y", "n")
    assert wf.cycles["overleg"].first == date(2026, 1, 8)


def test_yes_is_not_a_boolean() -> None:
    text = variant("  aangemeld: {label: Aangemeld, initial: true}",
                   "  aangemeld: {label: Aangemeld, initial: yes}")
    problem = one(problems(text), "initial")
    assert_at(problem, pos(text, "yes}"), "must be true or false", "not text")


@pytest.mark.parametrize("text", ["", "\n\n", "# alleen commentaar\n",
                                  "---\n"])
def test_empty_file(text: str) -> None:
    (problem,) = problems(text)
    assert (problem.line, problem.column) == (1, 1)
    assert "empty" in problem.message


@pytest.mark.parametrize("text", ["- id: proef\n- version: 1\n", "proef\n", "42\n",
                                  "~\n",
                                  "--- null\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    (problem,) = problems(text)
    assert problem.line == 1
    assert "must be a mapping" in problem.message or "empty" in problem.message


def test_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "bestaat_niet.yaml"
    with pytest.raises(WorkflowError) as info:
        zorgflow.load_workflow(missing)
    (problem,) = info.value.errors
    assert problem.file == str(missing)
    assert problem.line == 0 and "file not found" in problem.message
    assert str(problem) == f"{missing}: file not found"


def test_a_folder_is_not_a_workflow(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError) as info:
        zorgflow.load_workflow(tmp_path)
    (problem,) = info.value.errors
    assert "folder" in problem.message


def test_non_utf8_file(tmp_path: Path) -> None:
    file = tmp_path / "latin1.yaml"
    file.write_bytes(VALID.encode("latin-1"))  # 'Coördinator' becomes a lone 0xF6 byte
    with pytest.raises(WorkflowError) as info:
        zorgflow.load_workflow(file)
    (problem,) = info.value.errors
    assert problem.file == str(file)
    assert "not UTF-8" in problem.message


# -- 2. schema layer -----------------------------------------------------------------------------


def test_missing_required_key() -> None:
    text = variant("  melder: {label: Melder}", "  melder: {case_role: false}")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "melder: {case"), "roles.melder is missing 'label'")


def test_missing_top_level_key() -> None:
    text = variant("label: Proefwerkwijze\n", "")
    (problem,) = problems(text)
    assert_at(problem, (1, 1), "the top level is missing 'label'")


def test_unknown_key_suggests_the_right_one() -> None:
    text = variant("  melder: {label: Melder}", "  melder: {lable: Melder}")
    problem = one(problems(text), "unknown key")
    assert_at(problem, pos(text, "lable"), "unknown key 'lable' in roles.melder",
              "did you mean 'label'?")


def test_unknown_key_in_a_transition() -> None:
    text = variant("    when: urgentie == 'hoog'", "    wen: urgentie == 'hoog'")
    problem = one(problems(text), "unknown key")
    assert_at(problem, pos(text, "wen:"), "unknown key 'wen' in transitions.0",
              "did you mean 'when'?")


@pytest.mark.parametrize(
    ("old", "new", "token", "fragment"),
    [
        ("version: 1", "version: een", "een", "version must be a whole number, not text"),
        ("label: Proefwerkwijze", "label: [a, b]", "[a, b]", "label must be text, not a list"),
        ("by: [regisseur]", "by: regisseur", "regisseur\n", "transitions.1.by must be a list"),
        ("  aangemeld: {label: Aangemeld, initial: true}",
         "  aangemeld: {label: Aangemeld, initial: 1}", "1}", "must be true or false"),
        ("        weight: 2", "        weight: veel", "veel", "weight must be a number"),
    ],
)
def test_wrong_type(old: str, new: str, token: str, fragment: str) -> None:
    text = variant(old, new)
    (problem,) = problems(text)
    assert_at(problem, pos(text, token), fragment)


@pytest.mark.parametrize(
    ("old", "new", "token", "fragment"),
    [
        ("kind: criteria", "kind: criterea", "criterea",
         "rules.afsluitcriteria.kind: 'criterea' is not one of criteria, table, ranking"
         " — did you mean 'criteria'?"),
        ("hit_policy: unique", "hit_policy: uniek", "uniek",
         "rules.zorgplicht.hit_policy: 'uniek' is not one of unique, first, collect"
         " — did you mean 'unique'?"),
        ("  startdatum: {type: date,", "  startdatum: {type: datum,", "datum,",
         "facts.startdatum.type: 'datum' is not one of boolean, string, integer"),
    ],
)
def test_bad_enum_value(old: str, new: str, token: str, fragment: str) -> None:
    text = variant(old, new)
    problem = one(problems(text), "is not one of")
    assert_at(problem, pos(text, token), fragment)


def test_invalid_identifier_as_key() -> None:
    text = variant("  melder: {label: Melder}", "  Melder: {label: Melder}")
    text = text.replace("start_by: [melder]", "start_by: [coordinator]")
    text = text.replace("mel: [melder]", "mel: [coordinator]").replace("reg: [melder]",
                                                                       "reg: [coordinator]")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "Melder:"), "'Melder' is not a valid identifier",
              "lowercase letters")


def test_invalid_identifier_as_value() -> None:
    text = variant("- event: opgepakt", "- event: Opgepakt")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "Opgepakt"),
              "transitions.0.event: 'Opgepakt' is not a valid identifier")


def test_schema_errors_are_all_reported_before_meaning() -> None:
    text = variant("version: 1", "version: 0")
    text = variant("  melder: {label: Melder}", "  melder: {lable: Melder}", text)
    text = variant("    to: afgesloten\n", "    to: afgeslotn\n", text)  # a meaning error
    errors = problems(text)
    assert {p.line for p in errors} == {pos(text, "version")[0], pos(text, "lable")[0]}
    assert not any("afgeslotn" in p.message for p in errors)


# -- 3. meaning layer ----------------------------------------------------------------------------


def test_unknown_state_in_to_suggests_the_right_one() -> None:
    text = variant("    to: afgesloten\n", "    to: afgeslotn\n")
    problem = one(problems(text), "unknown state")
    assert_at(problem, pos(text, "afgeslotn"),
              "unknown state 'afgeslotn' — did you mean 'afgesloten'?")


def test_unknown_state_in_from_list() -> None:
    text = variant("from: [uitvoering]", "from: [uitvoring]")
    problem = one(problems(text), "unknown state")
    assert_at(problem, pos(text, "uitvoring"),
              "unknown state 'uitvoring' — did you mean 'uitvoering'?")


def test_unknown_state_in_from_scalar() -> None:
    text = variant("    from: aangemeld\n", "    from: aangemelt\n")
    problem = one(problems(text), "unknown state")
    assert_at(problem, pos(text, "aangemelt"), "did you mean 'aangemeld'?")


def test_unknown_role_in_by() -> None:
    text = variant("by: [coordinator, regisseur]", "by: [coordinator, regiseur]")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "regiseur]"),
              "unknown role 'regiseur' — did you mean 'regisseur'?")


def test_unknown_role_in_start_by_and_case_role_in_start_by() -> None:
    text = variant("start_by: [melder]", "start_by: [meldr, regisseur]")
    errors = problems(text)
    assert_at(one(errors, "meldr"), pos(text, "meldr"), "did you mean 'melder'?")
    assert_at(one(errors, "case role"), pos(text, "regisseur]"),
              "'regisseur' is a case role", "organisational role")


def test_unknown_fact_in_a_guard_points_into_the_expression() -> None:
    text = variant("or not kinderen_betrokken", "or not kinderen_betrokkken")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "kinderen_betrokkken"),
              "unknown fact 'kinderen_betrokkken' — did you mean 'kinderen_betrokken'?")


def test_unknown_fact_in_a_quoted_guard_points_into_the_expression() -> None:
    text = variant("when: urgentie == 'hoog' or not kinderen_betrokken",
                   "when: \"facts.urgentie == 'hoog' or not facts.kinders\"")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "facts.kinders"), "unknown fact 'kinders'")


def test_unknown_rule_set_in_enum_from() -> None:
    text = variant("enum_from: rules.afsluitcriteria", "enum_from: rules.afsluitcriterai")
    problem = one(problems(text), "unknown rule set")
    assert_at(problem, pos(text, "rules.afsluitcriterai"),
              "unknown rule set 'afsluitcriterai' — did you mean 'afsluitcriteria'?")


def test_enum_from_must_start_with_rules() -> None:
    text = variant("enum_from: rules.afsluitcriteria", "enum_from: afsluitcriteria")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "afsluitcriteria,"), "enum_from")


def test_unknown_rule_set_in_a_guard() -> None:
    text = variant("in rules.afsluitcriteria.matched", "in rules.afsluitcriterai.matched")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "rules.afsluitcriterai"),
              "unknown rule set 'afsluitcriterai' — did you mean 'afsluitcriteria'?")


def test_no_initial_state() -> None:
    text = variant("{label: Aangemeld, initial: true}", "{label: Aangemeld}")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "states:"), "no initial state", "initial: true")


def test_two_initial_states() -> None:
    text = variant("  uitvoering:\n    label: Uitvoering\n",
                   "  uitvoering:\n    label: Uitvoering\n    initial: true\n")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "uitvoering:"),
              "second initial state 'uitvoering' (the first is 'aangemeld')")


def test_final_state_with_an_outgoing_transition() -> None:
    text = variant("from: [uitvoering]", "from: [uitvoering, afgesloten]")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "afgesloten]"),
              "final state 'afgesloten' has an outgoing transition ('afsluiten')")


def test_unreachable_state() -> None:
    text = variant("  afgesloten: {label: Afgesloten, final: true}\n",
                   "  afgesloten: {label: Afgesloten, final: true}\n  wees: {label: Wees}\n")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "wees:"),
              "state 'wees' cannot be reached from the initial state 'aangemeld'")


def test_guard_comparing_a_boolean_fact_with_text() -> None:
    text = variant("when: urgentie == 'hoog' or not kinderen_betrokken",
                   "when: urgentie == 'hoog' or kinderen_betrokken == 'ja'")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "kinderen_betrokken == 'ja'"),
              "compares true/false with 'ja'")


def test_guard_enum_literal_not_among_the_values() -> None:
    text = variant("when: urgentie == 'hoog'", "when: urgentie == 'hooog'")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "urgentie == 'hooog'"),
              "'hooog' is not one of laag, hoog — did you mean 'hoog'?")


def test_enum_literal_in_a_criterion_clause() -> None:
    text = variant("- urgentie == 'laag'", "- urgentie == 'lag'")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "urgentie == 'lag'"), "did you mean 'laag'?")



@pytest.mark.parametrize("guard", ["kandidaten == 'x'", "notitie in kandidaten",
                                   "interval_dagen in kandidaten"])
def test_guard_comparing_a_list_of_records_with_a_scalar(guard: str) -> None:
    text = variant("when: urgentie == 'hoog' or not kinderen_betrokken", f'when: "{guard}"')
    (problem,) = problems(text)
    assert problem.line == pos(text, guard)[0]


def test_guard_that_is_not_a_condition() -> None:
    text = variant("when: urgentie == 'hoog' or not kinderen_betrokken", "when: urgentie")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "urgentie\n"), "needs true/false", "one of laag, hoog")


def test_guard_cannot_call_python() -> None:
    text = variant("when: urgentie == 'hoog' or not kinderen_betrokken",
                   "when: __import__('os').system('echo hi')")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "__import__"), "is not allowed", "known, today")


def test_assigns_of_a_role_that_is_not_a_case_role() -> None:
    text = variant("assigns: {regisseur: data.regisseur}",
                   "assigns: {coordinator: data.regisseur}")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "coordinator: data"),
              "'coordinator' is not a case role", "case_role: true")


def test_sets_of_an_undeclared_fact() -> None:
    text = variant("sets: {notitie: \"'gezien'\"}", "sets: {notitei: \"'gezien'\"}")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "\"'gezien'\""),
              "unknown fact 'notitei' — did you mean 'notitie'?")


def test_sets_with_a_value_of_the_wrong_type() -> None:
    text = variant("sets: {notitie: \"'gezien'\"}", "sets: {kinderen_betrokken: \"'gezien'\"}")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "'gezien'") , "'kinderen_betrokken' cannot be set to 'gezien'",
              "got text", column=False)



def test_sets_enum_fact_to_a_value_outside_its_values() -> None:
    text = variant("sets: {notitie: \"'gezien'\"}", "sets: {urgentie: \"'middel'\"}")
    (problem,) = problems(text)
    assert "middel" in problem.message and "laag, hoog" in problem.message


def test_an_event_leaving_the_same_state_twice() -> None:
    text = variant("  - event: teruggekoppeld\n",
                   "  - event: opgepakt\n    from: aangemeld\n    to: afgesloten\n"
                   "    by: [coordinator]\n  - event: teruggekoppeld\n")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "opgepakt", 2),
              "event 'opgepakt' leaves state 'aangemeld' twice (also transition #1)")


def test_the_same_event_from_different_states_is_fine() -> None:
    text = variant("  - event: teruggekoppeld\n",
                   "  - event: opgepakt\n    from: uitvoering\n    to: uitvoering\n"
                   "    by: [coordinator]\n  - event: teruggekoppeld\n")
    wf = load_workflow_text(text, FILE)
    assert [t.event for t in wf.transitions].count("opgepakt") == 2


@pytest.mark.parametrize("after", ["3 fortnights", "een maand", "1.5 months", "month",
                                   "facts.interval_dagen"])
def test_timer_with_a_bad_duration(after: str) -> None:
    text = variant('"facts.interval_dagen days | 1 month"', f'"{after}"')
    (problem,) = problems(text)
    assert_at(problem, pos(text, f'"{after}"'), f"'{after}' is not a duration", "'1 month'")


def test_timer_duration_from_a_fact_that_is_not_an_integer() -> None:
    text = variant('"facts.interval_dagen days | 1 month"', '"facts.notitie days | 1 month"')
    (problem,) = problems(text)
    assert_at(problem, pos(text, '"facts.notitie'), "fact 'notitie' must be an integer")


def test_timer_last_duration_must_be_fixed() -> None:
    text = variant('"facts.interval_dagen days | 1 month"', '"facts.interval_dagen days"')
    (problem,) = problems(text)
    assert_at(problem, pos(text, '"facts.interval_dagen'), "must be fixed")


def test_unknown_reset_by_event() -> None:
    text = variant("reset_by: [teruggekoppeld]", "reset_by: [teruggekopeld]")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "teruggekopeld"),
              "unknown event 'teruggekopeld' — did you mean 'teruggekoppeld'?")


def test_overlapping_rows_in_a_unique_table_name_both_rows_and_a_witness() -> None:
    text = variant('dagen: ">= 5"', 'dagen: ">= 4"')
    (problem,) = problems(text)
    assert_at(problem, pos(text, "id: wlz_laat"),
              "rows 'wlz_vroeg' and 'wlz_laat' of unique table 'zorgplicht' overlap",
              "wet = 'wlz'", "dagen = 4", "hit_policy: first")


def test_overlapping_rows_are_fine_under_hit_policy_first() -> None:
    text = variant('dagen: ">= 5"', 'dagen: ">= 4"')
    text = variant("hit_policy: unique", "hit_policy: first", text)
    assert load_workflow_text(text, FILE).rules["zorgplicht"].hit_policy == "first"


def test_table_cell_not_among_the_enum_values() -> None:
    text = variant("when: {wet: jeugdwet}", "when: {wet: jeugdwt}")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "jeugdwt"), "'jeugdwt' is not one of jeugdwet, wmo, wlz",
              "did you mean 'jeugdwet'?")


def test_table_text_cell_in_a_numeric_input() -> None:
    text = variant('dagen: "< 5"}', 'dagen: "vijf"}')
    (problem,) = problems(text)  # today: ValueError escapes
    assert_at(problem, pos(text, '"vijf"'), "'vijf' is not a number")


def test_table_list_cell_with_a_comparison_in_a_numeric_input() -> None:
    # found by the mutation test below: a comparison inside a list cell
    text = variant('dagen: "< 5"}', 'dagen: ["< 5"]}')
    (problem,) = problems(text)  # today: ValueError escapes
    assert_at(problem, pos(text, '["< 5"]'), "is not a number")


def test_table_boolean_cell_in_a_numeric_input() -> None:
    text = variant('dagen: "< 5"}', "dagen: true}")
    (problem,) = problems(text)
    line, column = pos(text, "dagen: true")
    assert_at(problem, (line, column + len("dagen: ")), "is not a number", "'< 5'")


def test_table_unknown_output() -> None:
    text = variant("then: {verantwoordelijk: zorgkantoor}",
                   "then: {verantwoordelik: zorgkantoor}")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "zorgkantoor}"),
              "unknown output 'verantwoordelik' — did you mean 'verantwoordelijk'?")


def test_ranking_candidates_must_be_a_list_of_records() -> None:
    text = variant("candidates: kandidaten", "candidates: notitie")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "notitie\n"), "fact 'notitie' must be a list of records")


def test_ranking_candidates_list_of_scalars_is_not_enough() -> None:
    text = variant("  notitie: {type: string, label: Notitie}",
                   "  notitie: {type: list, items: string, label: Notitie}")
    text = variant("sets: {notitie: \"'gezien'\"}", "sets: {urgentie: \"'laag'\"}", text)
    text = text.replace("expect: {facts: {notitie: gezien}}", "expect: {facts: {urgentie: laag}}")
    text = variant("candidates: kandidaten", "candidates: notitie", text)
    (problem,) = problems(text)
    assert_at(problem, pos(text, "notitie\n    candidate_id"),
              "fact 'notitie' must be a list of records")


def test_ranking_unknown_candidate_field() -> None:
    text = variant("when: kandidaat.ervaren", "when: kandidaat.ervarn")
    (problem,) = problems(text)
    assert_at(problem, pos(text, "kandidaat.ervarn"),
              "unknown field 'kandidaat.ervarn' — did you mean 'ervaren'?")



def test_list_fact_with_an_unknown_item_type() -> None:
    text = variant("  notitie: {type: string, label: Notitie}",
                   "  notitie: {type: list, items: strnig, label: Notitie}")
    errors = problems(text)  # today: KeyError escapes from FactType.describe
    assert_at(one(errors, "strnig"), pos(text, "strnig"), "string")



def test_list_fact_with_an_unknown_item_type_is_refused_even_when_unused() -> None:
    text = variant("  startdatum: {type: date, label: Startdatum}",
                   "  startdatum: {type: date, label: Startdatum}\n"
                   "  lijst: {type: list, items: strnig, label: Lijst}")
    problems(text)


def test_example_referring_to_unknown_names() -> None:
    text = variant("expect: {state: afgesloten}", "expect: {state: afgeslotn}")
    text = variant("- {event: teruggekoppeld, by: reg", "- {event: terugekoppeld, by: rog", text)
    errors = problems(text)
    assert_at(one(errors, "afgeslotn"), pos(text, "afgeslotn"), "did you mean 'afgesloten'?")
    assert_at(one(errors, "terugekoppeld"), pos(text, "terugekoppeld"),
              "did you mean 'teruggekoppeld'?")
    assert_at(one(errors, "unknown actor"), pos(text, "rog"), "did you mean 'reg'?")


# -- one mistake, one message --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("by: [coordinator, regisseur]", "by: [coordinator, regiseur]"),
        ("or not kinderen_betrokken", "or not kinderen_betrokkken"),
        ("reset_by: [teruggekoppeld]", "reset_by: [teruggekopeld]"),
        ("when: {wet: jeugdwet}", "when: {wet: jeugdwt}"),
        pytest.param(
            "enum_from: rules.afsluitcriteria", "enum_from: rules.afsluitcriterai"),
        pytest.param(
            "when: {wet: jeugdwet}", "when: {wett: jeugdwet}"),
        pytest.param(
            '"facts.interval_dagen days | 1 month"', '"facts.interval_dagen days | 1 maan"'),
    ],
)
def test_one_mistake_gives_one_message(old: str, new: str) -> None:
    errors = problems(variant(old, new))
    assert len(errors) == 1, "\n".join(map(str, errors))


# -- 4. many errors ------------------------------------------------------------------------------


def test_many_errors_are_all_reported_sorted_by_line() -> None:
    text = VALID
    for old, new in [
        ("start_by: [melder]", "start_by: [meldr]"),
        ("reset_by: [teruggekoppeld]", "reset_by: [teruggekopeld]"),
        ("by: [coordinator]\n    data:", "by: [coordinater]\n    data:"),
        ("or not kinderen_betrokken", "or not kinderen_betrokkken"),
        ("sets: {notitie: \"'gezien'\"}", "sets: {notitei: \"'gezien'\"}"),
        ("when: {wet: jeugdwet}", "when: {wet: jeugdwt}"),
        ('dagen: ">= 5"', 'dagen: ">= 4"'),
        ("candidates: kandidaten", "candidates: notitie"),
        ("expect: {state: afgesloten}", "expect: {state: afgeslotn}"),
    ]:
        text = variant(old, new, text)
    errors = problems(text)
    expected = [
        (pos(text, "meldr"), "unknown role 'meldr'"),
        (pos(text, "teruggekopeld"), "unknown event 'teruggekopeld'"),
        (pos(text, "coordinater"), "unknown role 'coordinater'"),
        (pos(text, "kinderen_betrokkken"), "unknown fact 'kinderen_betrokkken'"),
        (pos(text, "\"'gezien'\""), "unknown fact 'notitei'"),
        (pos(text, "jeugdwt"), "'jeugdwt' is not one of"),
        (pos(text, "id: wlz_laat"), "rows 'wlz_vroeg' and 'wlz_laat'"),
        (pos(text, "notitie\n    candidate_id"), "must be a list of records"),
        (pos(text, "afgeslotn"), "unknown state 'afgeslotn'"),
    ]
    assert len(errors) == len(expected), "\n".join(map(str, errors))
    for (where, fragment), problem in zip(expected, errors, strict=True):
        assert_at(problem, where, fragment)
    assert [(p.line, p.column) for p in errors] == sorted((p.line, p.column) for p in errors)
    assert len({p.line for p in errors}) == len(errors)


# -- 5. mutations never crash the loader -----------------------------------------------------


BASE_DATA: dict[str, Any] = yaml.safe_load(VALID)
STATE_NAMES = list(BASE_DATA["states"])


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


ALL_PATHS = [p for p in _paths(BASE_DATA) if p]
KEY_PATHS = [p for p in ALL_PATHS if isinstance(p[-1], str)]


def _get_at(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


SCALAR_PATHS = [p for p in ALL_PATHS if not isinstance(_get_at(BASE_DATA, p), dict | list)]
STATE_REFS = [p for p in SCALAR_PATHS if _get_at(BASE_DATA, p) in STATE_NAMES]

random_value = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "yes", "true", "1 month", "rules.x", "data.x", "afgeslotn",
                     "kandidaat.id", "unique", "first", "collect", "list", "enum", "integer",
                     "number", "string", "boolean", "date", "datetime", "strnig", "< 5",
                     "0..4", "!= wlz", "absent", "any", "facts.interval_dagen days",
                     "rules.afsluitcriteria", "rules.regie", "kandidaten", "notitie",
                     "uitvoering", "regisseur", "coordinator", "data.regisseur",
                     "not kinderen_betrokken", "today()", "2026-01-08"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.text(max_size=5), st.integers(), st.none()), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=2),
)


def _change_type(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return [value]
    return value


@st.composite
def mutated_workflows(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(BASE_DATA)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(
            ["drop", "rename_state", "rename_state_key", "change_type", "replace"]))
        new_name = draw(st.one_of(st.sampled_from(STATE_NAMES), st.sampled_from(
            ["afgeslotn", "Afgesloten", "nieuw", ""]), st.text(max_size=8)))
        if kind == "rename_state_key":  # the definition, leaving the references behind
            states = data.get("states")
            old = draw(st.sampled_from(STATE_NAMES))
            if isinstance(states, dict) and old in states and new_name not in states:
                data["states"] = {new_name if k == old else k: v for k, v in states.items()}
            continue
        if kind == "rename_state":  # one reference (to/from/expect.state)
            path = draw(st.sampled_from(STATE_REFS))
        elif kind == "drop":
            path = draw(st.sampled_from(KEY_PATHS))
        elif kind == "change_type":
            path = draw(st.sampled_from(SCALAR_PATHS))
        else:
            path = draw(st.sampled_from(ALL_PATHS))
        try:  # an earlier mutation may have removed or replaced part of this path
            parent = _get_at(data, path[:-1])
            _get_at(parent, path[-1:])
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict | list):  # replaced by text, which can be indexed
            continue
        if kind == "drop":
            del parent[path[-1]]
        elif kind == "rename_state":
            parent[path[-1]] = new_name
        elif kind == "change_type":
            parent[path[-1]] = _change_type(parent[path[-1]])
        else:
            parent[path[-1]] = draw(random_value)
    return data


# yaml.safe_dump with libyaml's emitter when available: the same safe representers, faster.
_SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def safe_dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_SAFE_DUMPER, allow_unicode=True, sort_keys=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_workflows())
def test_mutated_workflows_load_or_raise_workflow_error(data: dict[str, Any]) -> None:
    text = safe_dump(data)
    try:
        load_workflow_text(text, FILE)
    except WorkflowError as exc:
        assert exc.errors
        for problem in exc.errors:
            assert problem.file == FILE and problem.message
            assert problem.line >= 0 and problem.column >= 0


def test_the_unmutated_dump_still_loads() -> None:
    assert safe_dump(BASE_DATA) == yaml.safe_dump(BASE_DATA, allow_unicode=True, sort_keys=False)
    assert load_workflow_text(safe_dump(BASE_DATA), FILE).id == "proef"


# -- 6. the real workflow files ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lzn", "levensloop", "stappenplan"])
def test_real_workflow_files_load(name: str) -> None:
    wf = zorgflow.load_workflow(WORKFLOWS / f"{name}.yaml")
    assert wf.id == name
    assert wf.initial.id in wf.states
    assert wf.transitions and wf.roles and wf.states


def test_real_workflow_loads_with_a_relative_str_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    wf = zorgflow.load_workflow("workflows/lzn.yaml")
    assert wf.file == "workflows/lzn.yaml"
    assert {"afsluitcriteria", "regiecriteria"} <= set(wf.rules)
    assert wf.roles["casusregisseur"].case_role


def test_the_model_is_frozen() -> None:
    wf = zorgflow.load_workflow(WORKFLOWS / "lzn.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.id = "anders"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.initial.label = "anders"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.transitions[0].target = "afgesloten"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.facts["bsn"].personal_data = False  # type: ignore[misc]
    assert isinstance(wf.transitions, tuple) and isinstance(wf.start_by, tuple)



def test_the_model_mappings_are_read_only() -> None:
    wf = zorgflow.load_workflow(WORKFLOWS / "lzn.yaml")
    with pytest.raises(TypeError):
        wf.states["nieuw"] = wf.initial  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "where", "starts"),
    [
        ("id: proef\nlabel: [a, b\nversion: 1\n", (3, 8),
         "flow sequence that starts at line 2, column 8"),
        ("id: proef\nlabel: 'Proef\n", (3, 1),
         "quoted scalar that starts at line 2, column 8"),
    ],
)
def test_a_yaml_syntax_error_says_where_the_unclosed_part_starts(
        text: str, where: tuple[int, int], starts: str) -> None:
    """Reading stops after the mistake (at the next line, or the end of the file); the message
    also names where the unclosed bracket or quote began, which is usually the mistake."""
    (problem,) = problems(text)
    assert (problem.line, problem.column) == where, str(problem)
    assert starts in problem.message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("reden: {enum_from: rules.afsluitcriteria,", "reden: {enum_from: regels.afsluitcriteria,",
         "transitions.2.data.reden.enum_from: 'regels.afsluitcriteria' should name a rule set as "
         "rules.<id>, e.g. 'rules.afsluitcriteria' — did you mean 'rules.afsluitcriteria'?"),
        ("    from: aangemeld\n", "    from: {aangemeld: true}\n",
         "transitions.0.from must be text or a list, not a mapping"),
        ("states:\n", "cycles:\n  overleg: {label: Overleg, first: '8-1-2026', every: 2 weeks}\n"
                      "states:\n",
         "cycles.overleg.first: '8-1-2026' should be a date written YYYY-MM-DD, e.g. '2026-01-08'"),
    ],
)
def test_schema_messages_say_what_is_expected_in_words(old: str, new: str, message: str) -> None:
    """No raw regular expression and no JSON Schema type names in what a policy writer reads."""
    (problem,) = problems(variant(old, new))
    assert problem.message == message
