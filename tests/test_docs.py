"""``zorgflow docs``: the process document in HTML and Markdown."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import zorgflow
from tests.conftest import require_tool
from tests.test_diagram import LASTIG
from zorgflow.cli import main

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / "workflows"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


class Rows(HTMLParser):
    """The text of every element with an id (nested ids included in their parents)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.text: dict[str, str] = {}
        self.svg_count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self.svg_count += 1
        if tag in ("br", "meta", "link", "img", "input"):
            return
        self.handle_data(" ")
        ident = dict(attrs).get("id")
        self.stack.append((tag, ident))
        if ident:
            self.text.setdefault(ident, "")

    def handle_endtag(self, tag: str) -> None:
        self.handle_data(" ")
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, ident in self.stack:
            if ident:
                self.text[ident] += data


def parse(html: str) -> Rows:
    rows = Rows()
    rows.feed(html)
    return rows


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def lzn_html() -> str:
    code, html = run("docs", str(WORKFLOWS / "lzn.yaml"), "--no-diagram")
    assert code == 0
    return html


def test_lzn_document_lists_the_four_closure_criteria_with_their_clauses(lzn_html: str) -> None:
    rows = parse(lzn_html).text
    rule_set = zorgflow.load_workflow(WORKFLOWS / "lzn.yaml").rules["afsluitcriteria"]
    assert rule_set.kind == "criteria" and len(rule_set.criteria) == 4
    section = words(rows["regels-afsluitcriteria"])
    assert section.startswith("Criteria om een casus af te sluiten (één is genoeg) afsluitcriteria")
    for criterion in rule_set.criteria:
        row = words(rows[f"afsluitcriteria-{criterion.id}"])
        assert words(criterion.label) in row and criterion.cite in row
        for clause in criterion.clauses:
            assert words(clause) in row, (criterion.id, clause)
    row = words(rows["afsluitcriteria-geen_perspectief"])
    assert "alle voorwaarden gelden" in row
    assert "niet “Er zijn kinderen betrokken” not kinderen_betrokken" in row
    assert ("“Te weinig perspectief op toeleiding naar zorg” of “Verwachte disproportionele "
            "inzet om toeleiding te realiseren”") in row


def test_every_event_says_who_and_under_which_condition(lzn_html: str) -> None:
    rows = parse(lzn_html).text
    afsluiten = words(rows["gebeurtenis-afsluiten"])
    assert "Wie LZN-coördinator" in afsluiten
    assert ("Voorwaarde de opgegeven “Afsluitreden (afsluitcriterium dat geldt)” komt voor in de "
            "criteria van “Criteria om een casus af te sluiten (één is genoeg)” die gelden") \
        in afsluiten
    assert ("Van Geagendeerd voor het LZN-overleg, Uitvoering van het systeemplan, (Dreigende) "
            "stagnatie") in afsluiten
    opschalen = words(rows["gebeurtenis-opgeschaald_teamleider"])
    assert "escalatie" in opschalen and "Escalatiepad Opschalen naar de teamleider" in opschalen
    assert "Wie samen besloten door LZN-coördinator en Casusregisseur" in opschalen
    assert ("Opent taak Huisbezoek afleggen (al dan niet met een andere ketenpartner)"
            in words(rows["gebeurtenis-casusregisseur_benoemd"]))
    assert "Voorwaarde altijd" in words(rows["gebeurtenis-passend_bevonden"])


def test_states_ranking_invariants_and_examples(lzn_html: str) -> None:
    workflow = zorgflow.load_workflow(WORKFLOWS / "lzn.yaml")
    rows = parse(lzn_html).text
    for state in workflow.states.values():
        row = words(rows[f"toestand-{state.id}"])
        assert row.startswith(words(state.label)) and state.cite in row
        assert ("einde" in row.split()) == state.final
    for role in workflow.roles.values():
        assert role.cite and words(role.cite) in words(rows[f"rol-{role.id}"])
    # four criteria weigh the same, none knocks a candidate out (Werkwijze LZN, Benoemen
    # casusregisseur: "in elk geval meegewogen")
    assert "expertise_leidend 1 1 punt als “Bovenliggende problematiek" \
        in words(rows["regiecriteria-expertise_leidend"])
    assert ("voorkeur_overleg 1 1 × “voorkeur overleg” van de kandidaat gedeeld door het "
            "totaal van “voorkeur overleg” over “Kandidaat-casusregisseurs (ketenpartners)”") \
        in words(rows["regiecriteria-voorkeur_overleg"])
    assert "langdurig_betrokken 0.5 0.5 punten als “langdurig betrokken” van de kandidaat" \
        in words(rows["regiecriteria-langdurig_betrokken"])
    assert not any("vereist" in rows[f"regiecriteria-{c.id}"]
                   for c in workflow.rules["regiecriteria"].criteria)
    for invariant in workflow.invariants:
        assert words(invariant.label) in words(rows[f"invariant-{invariant.id}"])
    assert ("Nooit “Casus afsluiten” als “Er zijn kinderen betrokken” en de opgegeven "
            "“Afsluitreden (afsluitcriterium dat geldt)” is ‘geen_perspectief’") \
        in words(rows["invariant-geen_perspectief_niet_bij_kinderen"])
    examples = words(rows["voorbeelden"])
    for example in workflow.examples:
        assert words(example.name) in examples
    # personal data of the examples stays out of the document
    assert "J. de Vries" not in lzn_html and "999990019" not in lzn_html
    assert "‹persoonsgegeven›" in lzn_html


def test_decision_table_is_a_table() -> None:
    code, html = run("docs", str(WORKFLOWS / "stappenplan.yaml"), "--no-diagram")
    assert code == 0
    table = zorgflow.load_workflow(WORKFLOWS / "stappenplan.yaml").rules["zorgplicht"]
    assert table.kind == "table"
    section = re.search(r'<section id="regels-zorgplicht">.*?</section>', html, re.DOTALL)
    assert section
    assert len(re.findall(r"<tr id=\"zorgplicht-", section.group(0))) == len(table.rows)
    headers = re.findall(r"<th>(.*?)</th>", section.group(0), re.DOTALL)
    assert headers[0] == "Rij" and headers[-1] == "Bron"
    assert [h.split("<br>")[0] for h in headers[1:4]] == [i.label for i in table.inputs]
    row = words(parse(html).text["zorgplicht-overgang_naar_wlz_voor_dag_5"])
    assert row.startswith("overgang_naar_wlz_voor_dag_5 wlz jeugdwet of wmo < 5 gemeente")


def test_html_with_the_diagram(tmp_path: Path) -> None:
    require_tool("dot", "apt install graphviz")
    target = tmp_path / "lzn.html"
    assert run("docs", str(WORKFLOWS / "lzn.yaml"), "-o", str(target))[0] == 0
    html = target.read_text(encoding="utf-8")
    assert parse(html).svg_count == 1
    schema = words(parse(html).text["schema"])
    for state in zorgflow.load_workflow(WORKFLOWS / "lzn.yaml").states.values():
        assert words(state.label) in schema


def test_html_escapes_user_text(tmp_path: Path) -> None:
    file = tmp_path / "lastig.yaml"
    file.write_text(LASTIG, encoding="utf-8")
    code, html = run("docs", str(file), "--no-diagram")
    assert code == 0
    assert "<script>" not in html and "<b>vet" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<title>Werkwijze &#34;lastig&#34; &lt;b&gt;vet&lt;/b&gt; &amp; co</title>" in html


def test_markdown_document(tmp_path: Path) -> None:
    target = tmp_path / "lzn.md"
    assert run("docs", str(WORKFLOWS / "lzn.yaml"), "-o", str(target))[0] == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Werkwijze Lokaal Zorg Netwerk\n")
    assert "```mermaid\n%% Werkwijze Lokaal Zorg Netwerk (lzn)\nflowchart TD\n" in text
    rule_set = zorgflow.load_workflow(WORKFLOWS / "lzn.yaml").rules["afsluitcriteria"]
    assert rule_set.kind == "criteria"
    for criterion in rule_set.criteria:
        line = next(ln for ln in text.splitlines() if f"`{criterion.id}` |" in ln)
        for clause in criterion.clauses:
            assert f"`{words(clause)}`" in line
    assert ("| Teamleider Team Jeugd en Gezin `teamleider_tjg` | Neemt een opgeschaalde casus "
            "over als een ketenpartner een goede aanpak blokkeert. | Werkwijze LZN, Stagnatie "
            "en opschaling, punt 4: “") in text


def test_markdown_escapes_user_text(tmp_path: Path) -> None:
    file = tmp_path / "lastig.yaml"
    file.write_text(LASTIG, encoding="utf-8")
    code, text = run("docs", str(file), "--format", "md")
    assert code == 0
    assert "<script>" not in text and "<b>" not in text
    state_rows = [ln for ln in text.splitlines() if ln.startswith("| **")]
    assert len(state_rows) == 3
    for row in state_rows:  # a label's '|' is escaped: every row has its 4 cells
        assert len(re.findall(r"(?<!\\)\|", row)) == 5, row
    assert r"a \| b #quot; c \\ d \`code\` {x} \[y\] %% end &amp;amp;" in text


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    lzn = str(WORKFLOWS / "lzn.yaml")
    assert run("docs", lzn, "-o", str(tmp_path / "x.pdf")) == (2, "")
    assert "--format html|md" in capsys.readouterr().err
    assert run("docs", "bestaat/niet.yaml") == (2, "")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run("docs", lzn) == (2, "")
    err = capsys.readouterr().err
    assert "apt install graphviz" in err and "--no-diagram" in err
    assert run("docs", lzn, "--format", "md")[0] == 0  # Markdown draws with Mermaid
    broken = tmp_path / "kapot.yaml"
    broken.write_text(LASTIG.replace("by: [melder]", "by: [meldr]"), encoding="utf-8")
    assert run("docs", str(broken)) == (1, "")
    assert re.search(r"kapot\.yaml:\d+:\d+: unknown role 'meldr'", capsys.readouterr().err)
