"""What the sources need of the format and the engine: provenance as data, warnings, the
dossier allow-list, different people for case roles, fact scope — each through the public API
and the CLI, with the mistakes a policy officer can make reported at their place."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from zorgflow import Actor, Engine, TransitionRejected, WorkflowError
from zorgflow.loader import load_workflow_text
from zorgflow.verify import verify

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=AMS)

#: A small workflow every test below starts from; each test changes one thing in it.
KLEIN = """\
id: klein
version: 1
label: Kleine werkwijze
source: "Werkwijze LZN, Binnenkomst melding"
start_by: [melder]
roles:
  melder: {label: Melder, source: "Werkwijze LZN, Binnenkomst melding"}
  coordinator: {label: Coördinator, assumption: "De coördinator bewaakt de casus."}
  regisseur: {label: Regisseur, case_role: true, source: "Werkwijze LZN, Benoemen casusregisseur"}
  tweede: {label: Tweede regisseur, case_role: true, assumption: "Een tweede regisseur."}
facts:
  naam: {type: string, personal_data: true, label: Naam, source: "Werkwijze LZN, Binnenkomst"}
  risico: {type: boolean, label: Risico, source: "Werkwijze LZN, Overleg LZN"}
  toelichting: {type: string, label: Toelichting, assumption: "Vrije tekst."}
  caseload: {type: integer, minimum: 0, label: Caseload, assumption: "Telt open casussen."}
states:
  open: {label: Open, initial: true, source: "Werkwijze LZN, Binnenkomst melding"}
  bezig:
    label: Bezig
    source: "Werkwijze LZN, Uitvoeringsfase"
    timers:
      - {signal: te_laat, after: 1 month, label: Te laat, assumption: "Eens per maand."}
  klaar: {label: Klaar, final: true, source: "Werkwijze LZN, Afsluiten casus"}
transitions:
  - event: beginnen
    from: open
    to: bezig
    by: [coordinator]
    source: "Werkwijze LZN, Benoemen casusregisseur"
    data:
      regisseur: {type: string, label: Regisseur}
    assigns: {regisseur: data.regisseur}
  - event: afronden
    from: bezig
    to: klaar
    by: [coordinator]
    assumption: "Alleen de coördinator rondt af."
"""

melder = Actor("m.melder", roles={"melder"})
coord = Actor("c.coord", roles={"coordinator"})


def workflow(text: str = KLEIN, name: str = "klein.yaml"):  # type: ignore[no-untyped-def]
    return load_workflow_text(text, name)


def load_problems(text: str) -> list[str]:
    with pytest.raises(WorkflowError) as info:
        load_workflow_text(text, "klein.yaml")
    return [f"{p.line}:{p.column}: {p.message}" for p in info.value.errors]


# -- provenance ------------------------------------------------------------------------------


def test_source_and_assumption_are_data_on_each_element() -> None:
    wf = workflow()
    assert wf.roles["coordinator"].assumption == "De coördinator bewaakt de casus."
    assert wf.roles["melder"].cite == "Werkwijze LZN, Binnenkomst melding"
    assert wf.states["bezig"].timers[0].assumption == "Eens per maand."
    assert wf.transitions[1].assumption == "Alleen de coördinator rondt af."


def test_verify_names_each_element_without_source_or_assumption() -> None:
    text = KLEIN.replace('    assumption: "Alleen de coördinator rondt af."\n', "")
    text = text.replace(', assumption: "Eens per maand."', "")
    report = verify(workflow(text))
    untraced = [f for f in report.findings if f.kind == "no source"]
    assert {f.severity for f in untraced} == {"warning"}
    messages = "\n".join(f.message for f in untraced)
    assert "gebeurtenis 'afronden (van bezig)'" in messages
    assert "timer 'te_laat (in bezig)'" in messages
    assert len(untraced) == 2
    assert report.errors == []


def test_a_fully_traced_workflow_has_no_provenance_warning() -> None:
    assert [f for f in verify(workflow()).findings if f.kind == "no source"] == []


def test_an_empty_assumption_is_a_load_error_at_its_place() -> None:
    problems = load_problems(KLEIN.replace('"Alleen de coördinator rondt af."', '""'))
    assert any(p.startswith("37:17") and "assumption" in p for p in problems), problems


def test_check_cli_prints_the_provenance_warning_and_still_passes(tmp_path: Path) -> None:
    file = tmp_path / "klein.yaml"
    file.write_text(KLEIN.replace('    assumption: "Alleen de coördinator rondt af."\n', ""),
                    encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "zorgflow", "check", str(file)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING klein: no source: gebeurtenis 'afronden (van bezig)'" in run.stdout


def test_the_engine_runs_the_small_workflow() -> None:
    engine = Engine([workflow()])
    case = engine.start("klein", actor=melder, at=T0)
    case = engine.fire(case, "beginnen", actor=coord, data={"regisseur": "r.een"}, at=T0)
    assert case.state == "bezig"
    with pytest.raises(TransitionRejected):
        engine.fire(case, "beginnen", actor=coord, data={"regisseur": "r.een"}, at=T0)
