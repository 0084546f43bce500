"""``zorgflow docs`` says where every element comes from: its source, or its assumption
labelled "Aanname"; lists the assumptions for policy staff to confirm; traces source sections
to elements and examples; and its diagram arrows read as Dutch sentences."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from zorgflow.cli import main
from zorgflow.loader import load_workflow_text
from zorgflow.model import Workflow
from zorgflow.render.docs import document_context, render_document
from zorgflow.render.graph import GUARD_LIMIT, build_graph
from zorgflow.render.mermaid import to_mermaid

HOSTILE = "<script>alert('aanname')</script> & | *vet* `code` [link](x)"

# A small workflow citing one document, "Werkwijze Proef", by title and section; some
# elements carry an assumption instead of a source, or both.
HERKOMST = f"""
id: herkomst
version: 1
label: Proef herkomst
source: "Werkwijze Proef, Inleiding"
start_by: [melder]
roles:
  melder: {{label: Melder, source: "Werkwijze Proef, Binnenkomst: “Meldingen komen binnen.”"}}
  coord:
    label: Coördinator
    assumption: Eén coördinator per gemeente; de bron noemt geen aantal.
facts:
  kinderen:
    type: boolean
    label: Er zijn kinderen betrokken
    source: "Werkwijze Proef, Afsluiten, punt 4: “geen kinderen betrokken”"
  perspectief:
    type: boolean
    label: Er is perspectief op toeleiding naar zorg
    source: "Werkwijze Proef, Afsluiten, punt 4"
    assumption: "{HOSTILE}"
cycles:
  overleg:
    label: Proefoverleg
    first: "2026-01-08"
    every: 2 weeks
    assumption: Het overleg is op donderdag.
states:
  aangemeld: {{label: Aangemeld, initial: true, source: "Werkwijze Proef, Binnenkomst"}}
  lopend:
    label: Lopend
    source: "Werkwijze Proef, Uitvoering: “De regisseur bewaakt de voortgang.”"
    timers:
      - signal: te_laat
        label: Terugkoppeling te laat
        after: 1 month
        assumption: Een maand, omdat de bron geen termijn noemt.
  gesloten: {{label: Gesloten, final: true, source: "Werkwijze Proef, Afsluiten, punt 4"}}
transitions:
  - event: oppakken
    label: Melding opgepakt
    from: aangemeld
    to: lopend
    by: [coord]
    source: "Werkwijze Proef, Binnenkomst: “De coördinator screent de melding.”"
  - event: afsluiten
    label: Casus afsluiten
    from: lopend
    to: gesloten
    by: [coord]
    when: not kinderen and not perspectief
    source: "Werkwijze Proef, Afsluiten, punt 4: “Afwegende dat er geen kinderen betrokken zijn”"
    assumption: Afsluiten gebeurt door de coördinator, niet door het overleg.
rules:
  afsluitcriteria:
    kind: criteria
    label: Criteria om af te sluiten
    source: "Werkwijze Proef, Afsluiten"
    criteria:
      geen_perspectief:
        label: Geen perspectief
        when: not perspectief
        source: "Werkwijze Proef, Afsluiten, punt 4"
invariants:
  nooit_bij_kinderen:
    label: Nooit afsluiten als er kinderen betrokken zijn
    never: {{event: afsluiten, when: kinderen}}
    source: "Werkwijze Proef, Afsluiten, punt 4: “geen kinderen”"
examples:
  - name: alleen oppakken
    actors: {{m: [melder], c: [coord]}}
    start: {{by: m}}
    steps:
      - {{event: oppakken, by: c}}
  - name: afsluiten zonder kinderen
    actors: {{m: [melder], c: [coord]}}
    start: {{by: m}}
    steps:
      - {{event: oppakken, by: c}}
      - {{set_facts: {{kinderen: false, perspectief: false}}, by: c}}
      - {{event: afsluiten, by: c, expect: {{state: gesloten}}}}
  - name: criteria beslissen
    actors: {{m: [melder]}}
    start: {{by: m}}
    steps:
      - {{set_facts: {{perspectief: false}}, by: m}}
      - {{decide: afsluitcriteria, expect: {{matched: [geen_perspectief]}}}}
  - name: eigen bron
    source: "Werkwijze Proef, Regie: “Wie voert de regie?”"
    assumption: Dit voorbeeld staat voor de regie in het algemeen.
    actors: {{m: [melder]}}
    start: {{by: m}}
    steps:
      - {{allowed: true, by: m, expect: {{events: []}}}}
"""

ASSUMPTIONS = [
    ("rol", "Coördinator", "coord", "Eén coördinator per gemeente; de bron noemt geen aantal."),
    ("feit", "Er is perspectief op toeleiding naar zorg", "perspectief", HOSTILE),
    ("cyclus", "Proefoverleg", "overleg", "Het overleg is op donderdag."),
    ("timer", "Terugkoppeling te laat", "te_laat (in lopend)",
     "Een maand, omdat de bron geen termijn noemt."),
    ("gebeurtenis", "Casus afsluiten", "afsluiten (van lopend)",
     "Afsluiten gebeurt door de coördinator, niet door het overleg."),
    ("voorbeeld", "eigen bron", "", "Dit voorbeeld staat voor de regie in het algemeen."),
]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def words(text: str) -> str:
    return " ".join(text.split())


class Cells(HTMLParser):
    """The text of every element with an id, and the cells of every table row with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.text: dict[str, str] = {}
        self.cells: dict[str, list[str]] = {}
        self.row: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.handle_data(" ")
            return
        if tag in ("meta", "link", "img", "input"):
            return
        self.handle_data(" ")
        ident = dict(attrs).get("id")
        if tag == "tr" and ident:
            self.row = ident
            self.cells[ident] = []
        if tag == "td" and self.row:
            self.cells[self.row].append("")
        self.stack.append((tag, ident))
        if ident:
            self.text.setdefault(ident, "")

    def handle_endtag(self, tag: str) -> None:
        self.handle_data(" ")
        if tag == "tr":
            self.row = None
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, ident in self.stack:
            if ident:
                self.text[ident] += data
        if self.row and self.cells[self.row] and any(t == "td" for t, _ in self.stack):
            self.cells[self.row][-1] += data


def parse(html: str) -> Cells:
    cells = Cells()
    cells.feed(html)
    cells.text = {k: words(v) for k, v in cells.text.items()}
    cells.cells = {k: [words(c) for c in v] for k, v in cells.cells.items()}
    return cells


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    return load_workflow_text(HERKOMST, "herkomst.yaml")


@pytest.fixture(scope="module")
def html(workflow: Workflow) -> str:
    return render_document(workflow, "html")


@pytest.fixture(scope="module")
def markdown(workflow: Workflow) -> str:
    return render_document(workflow, "md")


def md_table(text: str, heading: str) -> list[list[str]]:
    """The body rows of the first table under ``## heading``, as cells (escaped ``|`` kept)."""
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("|")][2:]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


# -- every element shows its source and/or its assumption ----------------------------------


def test_html_shows_each_elements_source_and_assumption(html: str) -> None:
    doc = parse(html)
    assert doc.cells["rol-melder"][-1] == "Werkwijze Proef, Binnenkomst: “Meldingen komen binnen.”"
    assert doc.cells["rol-coord"][-1] == \
        "Aanname: Eén coördinator per gemeente; de bron noemt geen aantal."
    # both given: the source, then the assumption
    assert doc.cells["feit-perspectief"][-1] == \
        f"Werkwijze Proef, Afsluiten, punt 4 Aanname: {HOSTILE}"
    assert doc.cells["feit-kinderen"][-1] == \
        "Werkwijze Proef, Afsluiten, punt 4: “geen kinderen betrokken”"
    assert doc.cells["overleg-overleg"][-1] == "Aanname: Het overleg is op donderdag."
    assert "Aanname: Een maand, omdat de bron geen termijn noemt." in doc.text["toestand-lopend"]
    assert doc.cells["toestand-gesloten"][-1] == "Werkwijze Proef, Afsluiten, punt 4"
    afsluiten = doc.text["gebeurtenis-afsluiten"]
    assert ("Bron Werkwijze Proef, Afsluiten, punt 4: “Afwegende dat er geen kinderen betrokken "
            "zijn” Aanname Afsluiten gebeurt door de coördinator, niet door het overleg.") \
        in afsluiten
    assert "Aanname" not in doc.text["gebeurtenis-oppakken"]
    assert doc.cells["afsluitcriteria-geen_perspectief"][-1] == "Werkwijze Proef, Afsluiten, punt 4"
    assert doc.cells["invariant-nooit_bij_kinderen"][-1] == \
        "Werkwijze Proef, Afsluiten, punt 4: “geen kinderen”"
    example = re.search(r"<h3>eigen bron</h3>(.*?)</section>", html, re.DOTALL)
    assert example
    assert words(re.sub(r"<[^>]+>", " ", example.group(1))).startswith(
        "Werkwijze Proef, Regie: “Wie voert de regie?” "
        "Aanname: Dit voorbeeld staat voor de regie in het algemeen.")


def test_markdown_shows_each_elements_source_and_assumption(markdown: str) -> None:
    lines = markdown.splitlines()

    def row(code: str) -> str:
        return next(ln for ln in lines if ln.startswith("|") and f"`{code}`" in ln)

    assert row("melder").endswith("| Werkwijze Proef, Binnenkomst: “Meldingen komen binnen.” |")
    assert row("coord").endswith(
        "| **Aanname:** Eén coördinator per gemeente; de bron noemt geen aantal. |")
    assert row("overleg").endswith("| **Aanname:** Het overleg is op donderdag. |")
    assert "**Aanname:** Een maand, omdat de bron geen termijn noemt." in row("lopend")
    assert ("- **Bron:** Werkwijze Proef, Afsluiten, punt 4: “Afwegende dat er geen kinderen "
            "betrokken zijn”\n- **Aanname:** Afsluiten gebeurt door de coördinator, niet door "
            "het overleg.\n") in markdown
    assert "### eigen bron\n\nBron: Werkwijze Proef, Regie: “Wie voert de regie?”\n\n" \
        "**Aanname:** Dit voorbeeld staat voor de regie in het algemeen.\n" in markdown


def test_warnings_and_different_people_show_their_provenance() -> None:
    text = HERKOMST.replace(
        "  coord:\n",
        "  regisseur: {label: Regisseur, case_role: true}\n"
        "  tweede: {label: Tweede regisseur, case_role: true}\n  coord:\n")
    text = text.replace(
        "transitions:\n",
        "different_people:\n  - {roles: [regisseur, tweede], assumption: Vier ogen.}\n"
        "transitions:\n")
    text = text.replace(
        "    assumption: Afsluiten gebeurt door de coördinator, niet door het overleg.\n",
        "    assumption: Afsluiten gebeurt door de coördinator, niet door het overleg.\n"
        "    warnings:\n"
        "      met_perspectief: {label: Afsluiten met perspectief, when: perspectief,\n"
        "                        source: 'Werkwijze Proef, Afsluiten, punt 4'}\n")
    workflow = load_workflow_text(text, "meer.yaml")
    doc = parse(render_document(workflow, "html"))
    assert doc.cells["verschillende-personen-1"] == [
        "“Regisseur”, “Tweede regisseur” worden door verschillende personen vervuld",
        "Aanname: Vier ogen."]
    assert ("Waarschuwt Afsluiten met perspectief ( met_perspectief ), als “Er is perspectief op "
            "toeleiding naar zorg” Werkwijze Proef, Afsluiten, punt 4") \
        in doc.text["gebeurtenis-afsluiten"]
    markdown = render_document(workflow, "md")
    assert "| “Regisseur”, “Tweede regisseur” worden door verschillende personen vervuld | " \
        "**Aanname:** Vier ogen. |" in markdown
    assert "- **Waarschuwt:** Afsluiten met perspectief `met_perspectief`, als “Er is " \
        "perspectief op toeleiding naar zorg” (bron: Werkwijze Proef, Afsluiten, punt 4)" \
        in markdown
    kinds = [a["kind"] for a in document_context(workflow)["assumptions"]]
    assert "verschillende personen" in kinds


# -- the Aannames section ------------------------------------------------------------------


def test_html_aannames_lists_exactly_the_assumptions(html: str) -> None:
    doc = parse(html)
    assert re.search(r'<section id="aannames">\s*<h2>Aannames</h2>', html)
    rows = [cells for ident, cells in doc.cells.items() if ident.startswith("aanname-")]
    assert rows == [[kind, words(f"{label} {name}"), text]
                    for kind, label, name, text in ASSUMPTIONS]
    assert '<a href="#aannames">Aannames</a>' in html


def test_markdown_aannames_lists_exactly_the_assumptions(markdown: str) -> None:
    rows = md_table(markdown, "Aannames")
    assert [(kind, text) for kind, _, text in rows][:1] == [("rol", ASSUMPTIONS[0][3])]
    assert len(rows) == len(ASSUMPTIONS)
    for (kind, label, name, _), cells in zip(ASSUMPTIONS, rows, strict=True):
        assert cells[0] == kind
        assert cells[1] == (f"{label} `{name}`" if name else label)
    assert rows[1][2] == (r"&lt;script&gt;alert('aanname')&lt;/script&gt; &amp; \| \*vet\* "
                          r"\`code\` \[link\](x)")


def test_without_assumptions_the_section_says_so(tmp_path: Path) -> None:
    text = re.sub(r"\n *assumption: .*", "", HERKOMST)
    workflow = load_workflow_text(text, "zonder.yaml")
    assert document_context(workflow)["assumptions"] == []
    html = render_document(workflow, "html")
    assert "Deze werkwijze bevat geen aannames." in parse(html).text["aannames"]
    assert "Aanname:" not in html
    markdown = render_document(workflow, "md")
    section = markdown.split("\n## Aannames\n", 1)[1].split("\n## ", 1)[0]
    assert "Deze werkwijze bevat geen aannames." in section and "|" not in section


# -- traceability: source section -> elements -> examples ----------------------------------


SECTIONS = [
    ("Werkwijze Proef, Inleiding", ["werkwijze: Proef herkomst herkomst"], []),
    ("Werkwijze Proef, Binnenkomst",
     ["rol: Melder melder", "toestand: Aangemeld aangemeld",
      "gebeurtenis: Melding opgepakt oppakken (van aangemeld)"],
     ["alleen oppakken", "afsluiten zonder kinderen"]),
    ("Werkwijze Proef, Afsluiten, punt 4",
     ["feit: Er zijn kinderen betrokken kinderen",
      "feit: Er is perspectief op toeleiding naar zorg perspectief",
      "toestand: Gesloten gesloten",
      "gebeurtenis: Casus afsluiten afsluiten (van lopend)",
      "criterium: Geen perspectief afsluitcriteria.geen_perspectief",
      "invariant: Nooit afsluiten als er kinderen betrokken zijn nooit_bij_kinderen"],
     ["afsluiten zonder kinderen", "criteria beslissen"]),
    ("Werkwijze Proef, Uitvoering", ["toestand: Lopend lopend"], []),
    ("Werkwijze Proef, Afsluiten",
     ["regelset: Criteria om af te sluiten afsluitcriteria"], ["criteria beslissen"]),
    ("Werkwijze Proef, Regie", [], ["eigen bron"]),
]


def test_html_traceability_groups_by_section_and_links_examples(html: str) -> None:
    doc = parse(html)
    rows = [cells for ident, cells in doc.cells.items() if ident.startswith("bron-")]
    assert [cells[0] for cells in rows] == [section for section, _, _ in SECTIONS]
    for (section, elements, examples), cells in zip(SECTIONS, rows, strict=True):
        assert cells[1] == (" ".join(elements) or "—"), section
        assert cells[2] == (" ".join(examples) or "—"), section
    # the quote after ": " is not part of the section
    assert not any("“" in cells[0] for cells in rows)
    assert '<a href="#herleidbaarheid">' in html


def test_markdown_traceability_groups_by_section_and_links_examples(markdown: str) -> None:
    rows = md_table(markdown, "Bronnen en herleidbaarheid")
    assert [cells[0] for cells in rows] == [section for section, _, _ in SECTIONS]
    binnenkomst = rows[1]
    assert binnenkomst[1] == ("rol: Melder `melder`<br>toestand: Aangemeld `aangemeld`<br>"
                              "gebeurtenis: Melding opgepakt `oppakken (van aangemeld)`")
    assert binnenkomst[2] == "alleen oppakken<br>afsluiten zonder kinderen"
    assert rows[-1][1:] == ["—", "eigen bron"]


def test_a_rejected_event_exercises_the_transition_it_tries(workflow: Workflow) -> None:
    text = HERKOMST.replace(
        "      - {event: afsluiten, by: c, expect: {state: gesloten}}",
        "      - {set_facts: {kinderen: true}, by: c}\n"
        "      - {event: afsluiten, by: c, expect: {rejected: true}}")
    rows = document_context(load_workflow_text(text, "geweigerd.yaml"))["traceability"]
    punt4 = next(r for r in rows if r["section"] == "Werkwijze Proef, Afsluiten, punt 4")
    # the example no longer expects "gesloten", but it still tries "afsluiten"
    assert punt4["examples"] == ["afsluiten zonder kinderen", "criteria beslissen"]


# -- hostile text stays text ---------------------------------------------------------------


def test_html_escapes_hostile_sources_and_assumptions(tmp_path: Path) -> None:
    text = HERKOMST.replace("source: \"Werkwijze Proef, Uitvoering: ",
                            "source: \"<img src=x onerror=alert(1)>: ")
    file = tmp_path / "herkomst.yaml"
    file.write_text(text, encoding="utf-8")
    code, html = run("docs", str(file), "--no-diagram")
    assert code == 0
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#39;aanname&#39;)&lt;/script&gt; &amp; | *vet*" in html
    # the hostile section heads a row of the traceability table, as text
    doc = parse(html)
    assert "<img src=x onerror=alert(1)>" in [cells[0] for ident, cells in doc.cells.items()
                                              if ident.startswith("bron-")]


def test_markdown_escapes_hostile_sources_and_assumptions(tmp_path: Path) -> None:
    text = HERKOMST.replace("source: \"Werkwijze Proef, Uitvoering: ",
                            "source: \"<img src=x onerror=alert(1)> | x: ")
    file = tmp_path / "herkomst.yaml"
    file.write_text(text, encoding="utf-8")
    code, markdown = run("docs", str(file), "--format", "md")
    assert code == 0
    assert "<script>" not in markdown and "<img" not in markdown
    assert r"&lt;img src=x onerror=alert(1)&gt; \| x" in markdown
    # every row of the traceability table keeps its three cells
    for cells in md_table(markdown, "Bronnen en herleidbaarheid"):
        assert len(cells) == 3, cells
    for cells in md_table(markdown, "Aannames"):
        assert len(cells) == 3, cells


# -- diagram arrows read as Dutch sentences ------------------------------------------------


def test_diagram_edges_read_as_dutch_sentences(workflow: Workflow) -> None:
    edges = {(e.source, e.event): " ".join(e.lines) for e in build_graph(workflow).edges}
    assert edges[("aangemeld", "oppakken")] == "Melding opgepakt door Coördinator"
    assert edges[("lopend", "afsluiten")] == (
        "Casus afsluiten door Coördinator, als niet “Er zijn kinderen betrokken” en niet "
        "“Er is…")
    mermaid = to_mermaid(build_graph(workflow))
    assert "als niet #lt;" not in mermaid and "not kinderen" not in mermaid
    assert ('"Casus afsluiten<br/>door Coördinator,<br/>als niet “Er zijn kinderen<br/>'
            'betrokken” en niet “Er is…"') in mermaid


def test_long_conditions_are_cut_and_roles_joined_with_of() -> None:
    text = HERKOMST.replace("    by: [coord]\n    when: not kinderen and not perspectief",
                            "    by: [coord, melder]\n    when: kinderen")
    edges = {(e.source, e.event): e.lines
             for e in build_graph(load_workflow_text(text, "kort.yaml")).edges}
    assert edges[("lopend", "afsluiten")] == (
        "Casus afsluiten", "door Coördinator of Melder,", "als “Er zijn kinderen betrokken”")
    for lines in edges.values():
        condition = " ".join(lines).partition(", als ")[2]
        assert len(condition) <= GUARD_LIMIT


def test_diagram_cli_edges_are_dutch(tmp_path: Path) -> None:
    file = tmp_path / "herkomst.yaml"
    file.write_text(HERKOMST, encoding="utf-8")
    code, dot = run("diagram", str(file), "--format", "dot")
    assert code == 0
    assert 'label="Casus afsluiten\\ndoor Coördinator,\\nals niet “Er zijn kinderen' in dot
    assert "not kinderen" not in dot
