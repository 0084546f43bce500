"""``zorgflow diagram``: Mermaid and DOT text, SVG/PNG through Graphviz, a case's path, and
labels that hold quotes, angle brackets and line breaks."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import zorgflow
from tests.conftest import png_pixels, require_tool
from zorgflow.cli import main

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / "workflows"
SVG = "{http://www.w3.org/2000/svg}"
GRAPHVIZ = "apt install graphviz"

# Labels with every character DOT and Mermaid could misread; 'end' is a Mermaid keyword.
LASTIG = r"""
id: lastig
version: 1
label: 'Werkwijze "lastig" <b>vet</b> & co'
start_by: [melder]
roles:
  melder: {label: "Melder <\"baas\">"}
facts:
  ok: {type: boolean, label: "Alles <goed>"}
states:
  begin: {label: "Begin \"hier\"\nen <script>alert(1)</script>", initial: true}
  pijp: {label: 'a | b #quot; c \ d `code` {x} [y] %% end &amp;'}
  end: {label: "Einde & > klaar", final: true}
transitions:
  - event: door
    label: "Ga \"door\" <nu>\nregel twee \\N"
    from: begin
    to: pijp
    by: [melder]
  - event: klaar
    label: 'Klaar | #35; &amp; \n'
    from: pijp
    to: end
    by: [melder]
    escalation: true
    when: ok
"""


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture
def lastig(tmp_path: Path) -> Path:
    file = tmp_path / "lastig.yaml"
    file.write_text(LASTIG, encoding="utf-8")
    return file


@pytest.fixture
def no_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH without Graphviz's programs."""
    empty = tmp_path / "leeg"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def svg_groups(svg: str) -> list[tuple[str, ET.Element]]:
    """(title, group) of every node (title: state id) and edge (title: ``a->b``)."""
    groups = []
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if g.get("class") in ("node", "edge"):
            title = g.find(f"{SVG}title")
            assert title is not None and title.text is not None
            groups.append((title.text, g))
    return groups


def svg_nodes(svg: str) -> dict[str, ET.Element]:
    return dict(svg_groups(svg))


def texts(group: ET.Element) -> list[str]:
    return [t.text or "" for t in group.iter(f"{SVG}text")]


def words(text: str) -> str:
    return " ".join(text.split())


# -- SVG through Graphviz --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lzn", "levensloop", "stappenplan"])
def test_svg_shows_every_state_label_and_marks_final_states(name: str, tmp_path: Path) -> None:
    require_tool("dot", GRAPHVIZ)
    target = tmp_path / "img" / f"{name}.svg"
    code, _ = run("diagram", str(WORKFLOWS / f"{name}.yaml"), "--format", "svg",
                  "-o", str(target))
    assert code == 0
    svg = target.read_text(encoding="utf-8")
    groups = svg_nodes(svg)
    edges = [(title, words(" ".join(texts(g))), {p.get("stroke") for p in g.iter(f"{SVG}path")})
             for title, g in svg_groups(svg) if "->" in title]
    workflow = zorgflow.load_workflow(WORKFLOWS / f"{name}.yaml")
    for state in workflow.states.values():
        assert state.id in groups, f"state {state.id} not drawn"
        assert words(" ".join(texts(groups[state.id]))) == drawn_label(workflow, state.id)
        shapes = [e for e in groups[state.id] if e.tag in (f"{SVG}path", f"{SVG}polygon")]
        assert len(shapes) == (2 if state.final else 1), state.id
    for transition in workflow.transitions:
        # a returning transition (returns: true) has an arrow to each state it can return to
        targets = workflow.targets(transition)
        assert targets and all(t in workflow.states for t in targets), transition.event
        for source in transition.from_states:
            who = " samen door " if transition.agreement else " door "
            for target in targets:
                drawn = [(text, stroke) for title, text, stroke in edges
                         if title == f"{source}->{target}"
                         and text.startswith(words(transition.label) + who)]
                assert len(drawn) == 1, (source, transition.event, target)
                assert ("#b91c1c" in drawn[0][1]) == transition.escalation, transition.event
    assert len(edges) == sum(len(t.from_states) * len(workflow.targets(t))
                             for t in workflow.transitions) + 1  # + start


def drawn_label(workflow: zorgflow.Workflow, state: str) -> str:
    """A state's text as drawn: its label, then a line per task entering it opens."""
    tasks = [f"taak: {t.label}" for t in workflow.tasks.values() if state in t.opened_in]
    return words(" ".join([workflow.states[state].label, *tasks]))


def test_svg_has_roles_and_guard_on_the_edge() -> None:
    require_tool("dot", GRAPHVIZ)
    code, svg = run("diagram", str(WORKFLOWS / "lzn.yaml"), "--format", "svg")
    assert code == 0
    edge = words(" ".join(texts(svg_nodes(svg)["stagnatie->opgeschaald"])))
    # a joint decision: both roles decide together
    assert edge == ("Opgeschaald naar de teamleider van het Team Jeugd en Gezin "
                    "samen door LZN-coördinator en Casusregisseur, als “Een ketenpartner houdt "
                    "zich (blijvend) niet aan de…")


def test_png_is_a_picture(tmp_path: Path) -> None:
    require_tool("dot", GRAPHVIZ)
    target = tmp_path / "lzn.png"
    assert run("diagram", str(WORKFLOWS / "lzn.yaml"), "-o", str(target))[0] == 0
    width, height, rows = png_pixels(target.read_bytes())
    assert width > 300 and height > 300
    assert len({px for row in rows[::7] for px in row[::3]}) > 10


def test_hard_labels_survive_graphviz(lastig: Path) -> None:
    require_tool("dot", GRAPHVIZ)
    code, svg = run("diagram", str(lastig), "--format", "svg")
    assert code == 0
    groups = svg_nodes(svg)
    assert texts(groups["begin"]) == ['Begin "hier"', "en <script>alert(1)</script>"]
    assert words(" ".join(texts(groups["pijp"]))) == \
        r"a | b #quot; c \ d `code` {x} [y] %% end &amp;"
    assert texts(groups["end"]) == ["Einde & > klaar"]
    assert texts(groups["begin->pijp"]) == ['Ga "door" <nu>', r"regel twee \N",
                                            'door Melder <"baas">']
    assert texts(groups["pijp->end"])[0] == r"Klaar | #35; &amp; \n"
    assert "<script>" not in svg


# -- text formats, no Graphviz needed -------------------------------------------------------


def unquote_dot(text: str) -> str:
    assert text[0] == text[-1] == '"'
    body = re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), text[1:-1])
    return body.replace("&amp;", "&")


def test_dot_text_quotes_hard_labels_without_graphviz(lastig: Path, no_graphviz: None) -> None:
    code, dot = run("diagram", str(lastig), "--format", "dot")
    assert code == 0
    labels = [unquote_dot(m) for m in re.findall(r'label=("(?:[^"\\]|\\.)*")', dot)]
    assert 'Begin "hier"\nen <script>alert(1)</script>' in labels
    assert "a | b #quot; c \\ d `code` {x} [y]\n%% end &amp;" in labels
    assert 'Ga "door" <nu>\nregel twee \\N\ndoor Melder <"baas">' in labels
    # every quote inside a label is escaped: the lines still split into whole statements
    assert all(line.count('"') % 2 == 0 for line in dot.splitlines())


MERMAID_CODES = {"#quot;": '"', "#lt;": "<", "#gt;": ">", "#amp;": "&", "#96;": "`",
                 "#124;": "|", "#37;": "%", "#35;": "#"}


def unquote_mermaid(text: str) -> str:
    return re.sub(r"#(?:quot|lt|gt|amp|96|124|37|35);", lambda m: MERMAID_CODES[m.group(0)],
                  text).replace("<br/>", "\n")


def test_mermaid_escapes_hard_labels_without_graphviz(lastig: Path, no_graphviz: None) -> None:
    code, text = run("diagram", str(lastig))
    assert code == 0
    assert text.splitlines()[1] == "flowchart TD"
    nodes = dict(re.findall(r'^  (s_\w+)\(\[?"([^"]*)"\]?\)$', text, re.MULTILINE))
    assert unquote_mermaid(nodes["s_begin"]) == 'Begin "hier"\nen <script>alert(1)</script>'
    assert unquote_mermaid(nodes["s_pijp"]) == r"a | b #quot; c \ d `code` {x} [y]" \
        + "\n%% end &amp;"
    assert unquote_mermaid(nodes["s_end"]) == "Einde & > klaar"
    assert "s_end([" in text  # a final state has its own shape
    edges = re.findall(r'^  s_(\w+) (-->|-\.->)\|"([^"|]*)"\| s_(\w+)$', text, re.MULTILINE)
    assert [(a, arrow, b) for a, arrow, _, b in edges] == [("begin", "-->", "pijp"),
                                                          ("pijp", "-.->", "end")]
    assert unquote_mermaid(edges[1][2]) == \
        "Klaar | #35; &amp; \\n\ndoor Melder <\"baas\">,\nals “Alles <goed>”"
    for raw in ("<script", '"hier"', "<nu>"):
        assert raw not in text


def test_mermaid_of_lzn_has_every_state_and_escalation_edge(no_graphviz: None) -> None:
    code, text = run("diagram", str(WORKFLOWS / "lzn.yaml"), "--format", "mermaid")
    assert code == 0
    workflow = zorgflow.load_workflow(WORKFLOWS / "lzn.yaml")
    for state in workflow.states.values():
        match = re.search(rf'^  s_{state.id}\(\[?"([^"]*)"\]?\)$', text, re.MULTILINE)
        assert match, state.id
        assert words(unquote_mermaid(match.group(1))) == drawn_label(workflow, state.id)
    # the four ways to tackle stagnation; a transfer straight from uitvoering is no escalation
    dotted = re.findall(r"^  s_(\w+) -\.->", text, re.MULTILINE)
    assert sorted(dotted) == ["stagnatie"] * 4
    assert drawn_label(workflow, "geagendeerd").count("taak:") == 2  # uitnodigen, informatie


def test_svg_without_graphviz_is_a_usage_error(
        no_graphviz: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run("diagram", str(WORKFLOWS / "lzn.yaml"), "--format", "svg")
    err = capsys.readouterr().err
    assert (code, out) == (2, "")
    assert "apt install graphviz" in err and "Traceback" not in err


# -- a case's path --------------------------------------------------------------------------


def lzn_case_file(tmp_path: Path) -> Path:
    engine = zorgflow.Engine.from_directory(WORKFLOWS)
    scp = zorgflow.Actor("s.de.vries", roles={"sociaal_contactpunt"})
    coord = zorgflow.Actor("a.jansen", roles={"lzn_coordinator"})
    case = engine.start("lzn", actor=scp)
    case = engine.fire(case, "passend_bevonden", actor=coord)
    case = engine.fire(case, "geen_actief_dossier", actor=coord)
    file = tmp_path / "case.json"
    file.write_text(json.dumps(case.to_dict()), encoding="utf-8")
    return file


def test_case_path_is_highlighted_in_mermaid(tmp_path: Path) -> None:
    case = lzn_case_file(tmp_path)
    code, text = run("diagram", str(WORKFLOWS / "lzn.yaml"), "--case", str(case))
    assert code == 0
    taken = re.findall(r"^  s_(\w+) ==>.* s_(\w+)$", text, re.MULTILINE)
    assert taken == [("aangemeld", "ketenpartners_raadplegen"),
                     ("ketenpartners_raadplegen", "geagendeerd")]
    assert "  class s_geagendeerd current" in text
    assert "  class s_aangemeld visited" in text
    assert "class s_uitvoering" not in text


def test_case_path_is_highlighted_in_svg(tmp_path: Path) -> None:
    require_tool("dot", GRAPHVIZ)
    case = lzn_case_file(tmp_path)
    code, svg = run("diagram", str(WORKFLOWS / "lzn.yaml"), "-f", "svg", "--case", str(case))
    assert code == 0
    groups = svg_nodes(svg)
    blue = {k for k, g in groups.items() if "->" in k and
            "#1d4ed8" in {p.get("stroke") for p in g.iter(f"{SVG}path")}}
    assert blue == {"aangemeld->ketenpartners_raadplegen", "ketenpartners_raadplegen->geagendeerd"}


def test_case_errors_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = lzn_case_file(tmp_path)
    data = json.loads(case.read_text(encoding="utf-8"))
    data["state"] = "uitvoering"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data), encoding="utf-8")
    not_json = tmp_path / "kapot.json"
    not_json.write_text("{", encoding="utf-8")
    for workflow, case_file, fragment in (
        ("stappenplan.yaml", case, "belongs to workflow 'lzn'"),
        ("lzn.yaml", tampered, "digest"),
        ("lzn.yaml", not_json, "not a JSON file"),
        ("lzn.yaml", tmp_path / "nergens.json", "no such file"),
    ):
        code, out = run("diagram", str(WORKFLOWS / workflow), "--case", str(case_file))
        err = capsys.readouterr().err
        assert (code, out) == (2, ""), fragment
        assert fragment in err and "Traceback" not in err


# -- usage and definition errors -------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["diagram", "bestaat/niet.yaml"],
    ["diagram", str(WORKFLOWS)],
    ["diagram", str(WORKFLOWS / "lzn.yaml"), "--format", "gif"],
    ["diagram", str(WORKFLOWS / "lzn.yaml"), "--format", "png"],
    ["diagram", str(WORKFLOWS / "lzn.yaml"), "-o", "plaatje.gif"],
    ["diagram"],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*argv) == (2, "")
    assert "Traceback" not in capsys.readouterr().err


def test_a_broken_workflow_exits_1_with_file_line_col(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "kapot.yaml"
    file.write_text(LASTIG.replace("to: end\n", "to: eind\n"), encoding="utf-8")
    assert run("diagram", str(file)) == (1, "")
    err = capsys.readouterr().err
    assert re.search(rf"^  {re.escape(str(file))}:\d+:\d+: unknown state 'eind'", err,
                     re.MULTILINE)


def test_real_command_writes_mermaid() -> None:
    result = subprocess.run([sys.executable, "-m", "zorgflow", "diagram", "workflows/lzn.yaml"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "flowchart TD" in result.stdout and "Traceback" not in result.stderr
