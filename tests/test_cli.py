"""The ``zorgflow`` command as a user meets it: exit codes, readable output, never a traceback.

Most tests call ``zorgflow.cli.main(argv, out=...)``; a few run the installed command in a
subprocess, so that the console script, ``python -m zorgflow`` and the exit status of the real
process are covered too.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from zorgflow.cli import main

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / "workflows"

MINI = """\
id: mini
version: 1
label: Mini-werkwijze
start_by: [melder]
roles:
  melder: {label: Melder}
  coordinator: {label: Coördinator}
  regisseur: {label: Regisseur, case_role: true}
facts:
  kinderen_betrokken: {type: boolean, label: Kinderen betrokken}
  urgentie: {type: enum, values: [laag, hoog], label: Urgentie}
states:
  aangemeld: {label: Aangemeld, initial: true}
  uitvoering: {label: Uitvoering}
  afgesloten: {label: Afgesloten, final: true}
transitions:
  - event: opgepakt
    from: aangemeld
    to: uitvoering
    by: [coordinator]
    data:
      regisseur: {type: string, label: Regisseur}
    assigns: {regisseur: data.regisseur}
  - event: afsluiten
    from: uitvoering
    to: afgesloten
    by: [regisseur]
    when: not kinderen_betrokken
examples:
  - name: oppakken en afsluiten
    actors: {mel: [melder], coord: [coordinator], reg: [melder]}
    start: {by: mel, at: "2026-01-05T09:00:00+01:00", facts: {kinderen_betrokken: false}}
    steps:
      - {event: opgepakt, by: coord, data: {regisseur: reg}, expect: {state: uitvoering}}
      - {event: afsluiten, by: reg, expect: {state: afgesloten}}
"""

# The first step really goes to 'uitvoering'; this example wrongly expects 'afgesloten'.
WRONG_EXAMPLE = """\
  - name: verwacht de verkeerde toestand
    actors: {mel: [melder], coord: [coordinator]}
    start: {by: mel}
    steps:
      - {event: opgepakt, by: coord, data: {regisseur: coord}, expect: {state: afgesloten}}
"""

TRACEBACK = "Traceback (most recent call last)"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def zorgflow_cmd(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("zorgflow")
    assert exe, "the zorgflow console script is not installed"
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert TRACEBACK not in result.stdout and TRACEBACK not in result.stderr, result.stderr


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    file = tmp_path / "mini.yaml"
    file.write_text(MINI, encoding="utf-8")
    return file


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """Two meaning errors: an unknown target state and an unknown role."""
    text = MINI.replace("    to: afgesloten\n", "    to: afgeslotn\n")
    text = text.replace("by: [regisseur]", "by: [regiseur]")
    file = tmp_path / "kapot.yaml"
    file.write_text(text, encoding="utf-8")
    return file


@pytest.fixture
def wrong_example(tmp_path: Path) -> Path:
    file = tmp_path / "fout_voorbeeld.yaml"
    file.write_text(MINI + WRONG_EXAMPLE, encoding="utf-8")
    return file


def line_col(text: str, needle: str) -> tuple[int, int]:
    index = text.index(needle)
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


# -- validate -----------------------------------------------------------------------------------


def test_validate_the_workflows_folder() -> None:
    code, out = run("validate", str(WORKFLOWS))
    assert code == 0, out
    lines = out.splitlines()
    for name in ("levensloop.yaml", "lzn.yaml", "stappenplan.yaml"):
        assert any(line.startswith(f"OK {name} (") for line in lines), out
    lzn = next(line for line in lines if line.startswith("OK lzn.yaml ("))
    assert re.fullmatch(r"OK lzn\.yaml \(\d+ states, \d+ transitions, \d+ rule sets\)", lzn)


def test_validate_one_good_file(mini: Path) -> None:
    code, out = run("validate", str(mini))
    assert (code, out) == (0, "OK mini.yaml (3 states, 2 transitions, 0 rule sets)\n")


def test_validate_a_broken_file_lists_file_line_col(broken: Path) -> None:
    code, out = run("validate", str(broken))
    assert code == 1
    text = broken.read_text(encoding="utf-8")
    assert out.splitlines()[0].startswith(f"FAIL {broken} (")
    line, col = line_col(text, "afgeslotn")
    assert f"  {broken}:{line}:{col}: unknown state 'afgeslotn' — did you mean 'afgesloten'?" \
        in out.splitlines()
    line, col = line_col(text, "regiseur]")
    assert f"  {broken}:{line}:{col}: unknown role 'regiseur' — did you mean 'regisseur'?" \
        in out.splitlines()
    problem_lines = [ln for ln in out.splitlines() if ln.startswith("  ")]
    assert problem_lines and all(
        re.match(rf"  {re.escape(str(broken))}:\d+:\d+: \S", ln) for ln in problem_lines)
    assert TRACEBACK not in out


def test_validate_good_and_broken_together_reports_both(mini: Path, broken: Path) -> None:
    code, out = run("validate", str(mini), str(broken))
    assert code == 1
    assert "OK mini.yaml (" in out and f"FAIL {broken} (" in out


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"id: x\nid: y\n", "duplicate key 'id'"),
        (b"label: !!python/object/apply:os.system ['echo hi']\n", "is not allowed"),
        (MINI.encode("latin-1"), "not UTF-8"),
        (b"", "the file is empty"),
        (b"id: [\n", "YAML syntax error"),
    ],
)
def test_validate_refuses_bad_yaml_without_traceback(
        tmp_path: Path, content: bytes, fragment: str) -> None:
    file = tmp_path / "slecht.yaml"
    file.write_bytes(content)
    code, out = run("validate", str(file))
    assert code == 1
    assert fragment in out
    assert TRACEBACK not in out


def test_validate_nonexistent_path_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "bestaat_niet.yaml"
    code, out = run("validate", str(missing))
    assert code == 2 and out == ""
    assert f"zorgflow: error: {missing}: no such file or folder" in capsys.readouterr().err


def test_validate_a_folder_without_yaml_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("validate", str(tmp_path))[0] == 2
    assert "no *.yaml files" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["validate"], ["test"], ["onzin"], ["validate", "--onzin"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*argv)[0] == 2
    err = capsys.readouterr().err
    assert "usage: zorgflow" in err and TRACEBACK not in err


def test_version_and_help_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--version")[0] == 0
    assert "zorgflow 0.1.0" in capsys.readouterr().out
    assert run("--help")[0] == 0
    assert "validate" in capsys.readouterr().out


# -- schema -------------------------------------------------------------------------------------


def test_schema_is_a_draft_2020_12_schema_that_accepts_the_real_workflows() -> None:
    code, out = run("schema")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft202012Validator
    validator = jsonschema.Draft202012Validator(schema)
    lzn = yaml.safe_load((WORKFLOWS / "lzn.yaml").read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(lzn)] == []
    fast_safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for name in ("levensloop", "stappenplan"):
        data = yaml.load((WORKFLOWS / f"{name}.yaml").read_text(encoding="utf-8"),
                         Loader=fast_safe_loader)
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], f"{name}.yaml: {errors}"


def test_schema_has_teeth_and_matches_the_shipped_file() -> None:
    schema = json.loads(run("schema")[1])
    shipped = REPO / "zorgflow" / "schema" / "workflow.schema.json"
    assert schema == json.loads(shipped.read_text(encoding="utf-8"))
    data = yaml.load((WORKFLOWS / "lzn.yaml").read_text(encoding="utf-8"),
                     Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    data["roles"]["lzn_coordinator"]["lable"] = data["roles"]["lzn_coordinator"].pop("label")
    assert not jsonschema.Draft202012Validator(schema).is_valid(data)


# -- test / check ---------------------------------------------------------------------------------


def test_test_command_passes_a_good_example(mini: Path) -> None:
    code, out = run("test", str(mini))
    assert code == 0, out
    assert "PASS mini: oppakken en afsluiten" in out
    assert out.splitlines()[-1] == "1 passed, 0 failed"


def test_test_command_fails_on_a_wrong_example(wrong_example: Path) -> None:
    code, out = run("test", str(wrong_example))
    assert code == 1
    assert "FAIL mini: verwacht de verkeerde toestand" in out
    assert "step 1" in out
    assert "expected the case in state 'afgesloten', but it is in 'uitvoering'" in out
    assert out.splitlines()[-1] == "1 passed, 1 failed"
    assert TRACEBACK not in out


def test_test_command_quiet_prints_only_failures(wrong_example: Path) -> None:
    code, out = run("test", "-q", str(wrong_example))
    assert code == 1
    assert "PASS" not in out and "FAIL mini: verwacht de verkeerde toestand" in out


def test_test_command_reports_a_rejected_step_with_its_reasons(tmp_path: Path) -> None:
    file = tmp_path / "afgewezen.yaml"
    file.write_text(MINI.replace("facts: {kinderen_betrokken: false}",
                                 "facts: {kinderen_betrokken: true}"), encoding="utf-8")
    code, out = run("test", str(file))
    assert code == 1
    assert "step 2 (afsluiten by reg): was rejected, but the example expects it to pass" in out
    assert "1 failed" in out


def test_test_command_fails_a_set_facts_step_that_should_be_rejected_but_is_not(
        tmp_path: Path) -> None:
    """An example that expects a `set_facts` to be refused must fail when it is accepted (it
    used to pass silently, so a missing `set_by:` went unnoticed)."""
    file = tmp_path / "set_by.yaml"
    file.write_text(MINI + """\
  - name: de melder mag de urgentie niet zetten
    actors: {mel: [melder]}
    start: {by: mel}
    steps:
      - {set_facts: {urgentie: hoog}, by: mel, expect: {rejected: coordinator}}
""", encoding="utf-8")
    code, out = run("test", str(file))
    assert code == 1, out
    assert ("FAIL mini: de melder mag de urgentie niet zetten\n"
            "  step 1 (set_facts by mel): was accepted, but the example expects it to be "
            "rejected") in out
    restricted = file.read_text(encoding="utf-8").replace(
        "urgentie: {type: enum, values: [laag, hoog], label: Urgentie}",
        "urgentie: {type: enum, values: [laag, hoog], label: Urgentie, set_by: [coordinator]}")
    file.write_text(restricted, encoding="utf-8")
    code, out = run("test", str(file))
    assert code == 0, out
    assert out.splitlines()[-1] == "2 passed, 0 failed"


def test_test_command_on_a_broken_file(broken: Path) -> None:
    code, out = run("test", str(broken))
    assert code == 1
    assert f"FAIL {broken} (" in out and "unknown state 'afgeslotn'" in out


def test_check_fails_on_a_broken_file_and_on_a_wrong_example(
        broken: Path, wrong_example: Path) -> None:
    assert run("check", str(broken))[0] == 1
    code, out = run("check", str(wrong_example))
    assert code == 1 and "FAIL mini: verwacht de verkeerde toestand" in out


# -- the real command ---------------------------------------------------------------------------


def test_real_command_validate_workflows() -> None:
    result = zorgflow_cmd("validate", "workflows/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(line.startswith("OK lzn.yaml (") for line in result.stdout.splitlines())
    no_traceback(result)


def test_real_command_broken_file(broken: Path) -> None:
    result = zorgflow_cmd("validate", str(broken))
    assert result.returncode == 1
    assert re.search(rf"^  {re.escape(str(broken))}:\d+:\d+: unknown state 'afgeslotn'",
                     result.stdout, re.MULTILINE)
    no_traceback(result)


@pytest.mark.parametrize("args", [(), ("validate", "bestaat/niet.yaml")])
def test_real_command_usage_errors(args: tuple[str, ...]) -> None:
    result = zorgflow_cmd(*args)
    assert result.returncode == 2
    assert "zorgflow" in result.stderr and "error" in result.stderr
    no_traceback(result)


def test_real_command_test_with_a_wrong_example(wrong_example: Path) -> None:
    result = zorgflow_cmd("test", str(wrong_example))
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "step 1" in result.stdout
    assert "1 failed" in result.stdout
    no_traceback(result)



def test_test_command_never_dies_with_a_traceback(tmp_path: Path) -> None:
    text = MINI.replace("    when: not kinderen_betrokken\n",
                        "    when: not kinderen_betrokken\n    sets: {urgentie: \"'middel'\"}\n")
    file = tmp_path / "middel.yaml"
    file.write_text(text, encoding="utf-8")
    assert run("validate", str(file))[0] == 1  # today: "OK middel.yaml (...)", exit 0
    code, out = run("test", str(file))  # today: ValueProblem escapes from main()
    assert code == 1 and "FAIL" in out


DOSSIER = """\
id: dossier
version: 1
label: Dossier
start_by: [melder]
roles: {melder: {label: Melder}}
facts:
  naam: {type: string, label: Naam, personal_data: true}
  zorg: {type: boolean, label: Zorg, dossier: true}
states:
  open: {label: Open, initial: true}
  tafel: {label: Tafel}
  dicht: {label: Dicht, final: true}
transitions:
  - {event: voorleggen, from: open, to: tafel, by: [melder], sends: anonymous_dossier}
  - {event: sluiten, from: tafel, to: dicht, by: [melder]}
examples:
  - name: anoniem voorgelegd
    actors: {mel: [melder]}
    start: {by: mel, facts: {naam: Jan Jansen, zorg: true}}
    steps:
      - {event: voorleggen, by: mel, expect: {dossier: {zorg: true, naam: null}}}
"""


@pytest.mark.parametrize(
    ("step", "failure"),
    [
        ("{event: voorleggen, by: mel, expect: {dossier: {zorg: true, naam: null}}}", None),
        ("{event: voorleggen, by: mel, expect: {dossier: {naam: Jan Jansen}}}",
         "step 1 (voorleggen by mel): expected the dossier's naam = 'Jan Jansen', got left out"),
        ("{event: voorleggen, by: mel, expect: {dossier: {zorg: false}}}",
         "step 1 (voorleggen by mel): expected the dossier's zorg = false, got true"),
        ("{set_facts: {zorg: false}, by: mel, expect: {dossier: {zorg: false}}}",
         "step 1 (set_facts by mel): expected an anonymous dossier, but the step sent none"),
    ],
)
def test_an_example_checks_what_the_anonymous_dossier_holds(
        tmp_path: Path, step: str, failure: str | None) -> None:
    file = tmp_path / "dossier.yaml"
    file.write_text(DOSSIER.replace(
        "{event: voorleggen, by: mel, expect: {dossier: {zorg: true, naam: null}}}", step),
        encoding="utf-8")
    code, out = run("test", str(file))
    if failure is None:
        assert code == 0, out
    else:
        assert code == 1, out
        assert failure in out


def test_coverage_line_of_check_names_thirty_sides_and_counts_the_rest(tmp_path: Path) -> None:
    rows = "".join(f"      - {{id: r{k}, when: {{n: {k}}}, then: {{o: {k}}}}}\n"
                   for k in range(40))
    path = tmp_path / "tabel.yaml"
    path.write_text(f"""\
id: tabel
version: 1
label: Tabel
start_by: [medewerker]
roles: {{medewerker: {{label: Medewerker}}}}
facts: {{n: {{type: integer, label: N}}}}
states:
  open: {{label: Open, initial: true}}
  dicht: {{label: Dicht, final: true}}
transitions:
  - {{event: sluiten, from: open, to: dicht, by: [medewerker]}}
rules:
  t:
    kind: table
    hit_policy: unique
    label: T
    inputs: {{n: {{type: integer}}}}
    outputs: [o]
    rows:
{rows}""", encoding="utf-8")
    code, out = run("check", str(path))
    assert code == 0, out
    line = next(x for x in out.splitlines() if x.startswith("coverage tabel:"))
    assert line.count(" t.r") == 30
    assert line.endswith("and 50 more (zorgflow test lists them all)")
    code, out = run("test", str(path))
    assert code == 0, out
    line = next(x for x in out.splitlines() if x.startswith("coverage tabel:"))
    assert line.count(" t.r") == 80


def test_a_label_that_cannot_be_drawn_is_a_definition_error_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    file = tmp_path / "mini.yaml"
    file.write_text(MINI.replace("{label: Uitvoering}", '{label: "Uit\\ud800voering"}'),
                    encoding="utf-8")
    code, _ = run("diagram", str(file), "--format", "svg")
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("zorgflow: ")
    assert TRACEBACK not in err
