"""The rules of the source documents at their boundaries, through the shipped workflows.

The documents: "Werkwijze Lokaal Zorg Netwerk (LZN)" (lzn), "Levensloopaanpak / Ketenveldnorm
levensloopaanpak" (levensloop, inclusion) and "Stappenplan bij complexe casuïstiek"
(stappenplan); each part below names the section of the document it tests. Every rule set is
decided with `Engine.decide(workflow, rule_set, facts, at=...)` on the files in
``workflows/``; an unknown fact must never make a criterion hold.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zorgflow
from zorgflow import UNKNOWN, Decision

ROOT = Path(__file__).parent.parent
AMS = ZoneInfo("Europe/Amsterdam")
AT = datetime(2026, 3, 2, 10, 0, tzinfo=AMS)


@pytest.fixture(scope="module")
def engine() -> zorgflow.Engine:
    return zorgflow.Engine.from_directory(ROOT / "workflows")


def decide(engine: zorgflow.Engine, workflow: str, rule_set: str, facts: dict[str, Any],
           at: datetime = AT) -> Decision:
    d = engine.decide(workflow, rule_set, facts, at=at)
    json.dumps(d.to_dict())  # every decision can be stored or sent as JSON
    return d


def test_the_workflows_and_rule_sets_exist(engine: zorgflow.Engine) -> None:
    assert {w.id for w in engine.workflows} == {"lzn", "levensloop", "stappenplan"}
    assert set(engine.workflow("lzn").rules) >= {"afsluitcriteria", "regiecriteria",
                                                 "escalatiepaden"}
    assert set(engine.workflow("levensloop").rules) >= {"inclusiecriteria"}
    assert set(engine.workflow("stappenplan").rules) >= {"zorgplicht", "interventies"}
    criteria = [c.id for c in engine.workflow("lzn").rules["afsluitcriteria"].criteria]
    assert criteria == ["zelfredzaamheid_vergroot", "zorg_bij_ketenpartner",
                        "overgedragen_ander_netwerk", "geen_perspectief"]


# -- lzn: afsluitcriteria (Werkwijze LZN, Afsluiten casus, punten 1-4) ----------------------------

CRITERION_1 = {"zelfredzaamheid_vergroot": True, "open_voor_hulpverlening": True,
               "toegeleid_naar_reguliere_zorg": True}


def afsluiten(engine: zorgflow.Engine, **facts: Any) -> Decision:
    return decide(engine, "lzn", "afsluitcriteria", facts)


def criterion(d: Decision, cid: str) -> Any:
    """The value of one criterion, read from its explanation line: True, False or UNKNOWN."""
    (head,) = [line for line in d.explanation if line.split(" — ")[0].endswith(f": {cid}")
               and not line.startswith(" ")]
    return {"true": True, "false": False, "unknown": UNKNOWN}[head.split(":")[0]]


@pytest.mark.parametrize(
    ("extra", "holds"),
    [
        ({"multiproblematiek": False}, True),
        ({"multiproblematiek": False, "procesregisseur_tjg_overgedragen": False}, True),
        ({"multiproblematiek": True}, UNKNOWN),  # overdracht unknown
        ({"multiproblematiek": True, "procesregisseur_tjg_overgedragen": False}, False),
        ({"multiproblematiek": True, "procesregisseur_tjg_overgedragen": True}, True),
        ({"procesregisseur_tjg_overgedragen": True}, True),  # (not unknown) or true
        ({"procesregisseur_tjg_overgedragen": False}, UNKNOWN),
        ({}, UNKNOWN),
    ],
)
def test_criterion_1_multiproblematiek(engine: zorgflow.Engine, extra: dict[str, Any],
                                       holds: Any) -> None:
    d = afsluiten(engine, **CRITERION_1, **extra)
    assert ("zelfredzaamheid_vergroot" in d.matched) is (holds is True)
    assert criterion(d, "zelfredzaamheid_vergroot") is holds
    assert d.holds is (True if holds is True else UNKNOWN)  # the other criteria are unknown


@pytest.mark.parametrize("clause", list(CRITERION_1))
@pytest.mark.parametrize("value", [False, None])
def test_criterion_1_needs_each_of_its_first_three_clauses(
        engine: zorgflow.Engine, clause: str, value: bool | None) -> None:
    facts = {**CRITERION_1, "multiproblematiek": False, clause: value}
    d = afsluiten(engine, **facts)
    assert d.matched == []
    assert criterion(d, "zelfredzaamheid_vergroot") is (False if value is False else UNKNOWN)
    word = "false" if value is False else "unknown"
    assert f"    {word}: {clause}  ({clause} = {word})" in d.explanation


@pytest.mark.parametrize(("value", "holds"), [(True, True), (False, False), (None, UNKNOWN)])
def test_criterion_2_zorg_bij_ketenpartner(engine: zorgflow.Engine, value: bool | None,
                                           holds: Any) -> None:
    d = afsluiten(engine, zorg_ketenpartner_adequaat=value)
    assert d.matched == (["zorg_bij_ketenpartner"] if value else [])
    assert criterion(d, "zorg_bij_ketenpartner") is holds
    # with the other criteria unknown, a false criterion 2 leaves the answer unknown
    assert d.holds is (True if value else UNKNOWN)


@pytest.mark.parametrize(
    ("netwerk", "matched"),
    [("geen", False), ("lthg", True), ("zorg_en_veiligheidshuis", True), ("ander", True),
     (None, False)],
)
def test_criterion_3_overgedragen_aan_netwerk(engine: zorgflow.Engine, netwerk: str | None,
                                              matched: bool) -> None:
    d = afsluiten(engine, overgedragen_aan_netwerk=netwerk)
    assert ("overgedragen_ander_netwerk" in d.matched) is matched
    expected = True if matched else (UNKNOWN if netwerk is None else False)
    assert criterion(d, "overgedragen_ander_netwerk") is expected


def test_criterion_3_does_not_accept_an_unknown_network_value(engine: zorgflow.Engine) -> None:
    with pytest.raises(ValueError, match="expected one of geen, lthg, zorg_en_veiligheidshuis, "
                                         "ander, got 'politie'"):
        afsluiten(engine, overgedragen_aan_netwerk="politie")


CRITERION_4 = {"besluit_lzn_overleg_afsluiten": True, "te_weinig_perspectief": True,
               "kinderen_betrokken": False, "ernstig_geweld": False,
               "inwoners_willen_meewerken": False}
NEGATIONS = ["kinderen_betrokken", "ernstig_geweld", "inwoners_willen_meewerken"]


def test_criterion_4_holds(engine: zorgflow.Engine) -> None:
    d = afsluiten(engine, **CRITERION_4)
    assert d.matched == ["geen_perspectief"]
    assert d.holds is True


@pytest.mark.parametrize(
    ("te_weinig", "disproportioneel", "holds"),
    [(True, None, True), (None, True, True), (False, True, True), (True, False, True),
     (False, False, False), (None, False, UNKNOWN), (None, None, UNKNOWN)],
)
def test_criterion_4_perspectief_or_disproportioneel(
        engine: zorgflow.Engine, te_weinig: bool | None, disproportioneel: bool | None,
        holds: Any) -> None:
    facts = {**CRITERION_4, "te_weinig_perspectief": te_weinig,
             "disproportionele_inzet": disproportioneel}
    d = afsluiten(engine, **facts)
    assert ("geen_perspectief" in d.matched) is (holds is True)
    assert criterion(d, "geen_perspectief") is holds


@pytest.mark.parametrize("value", [False, None])
def test_criterion_4_needs_the_decision_of_the_overleg(engine: zorgflow.Engine,
                                                       value: bool | None) -> None:
    d = afsluiten(engine, **{**CRITERION_4, "besluit_lzn_overleg_afsluiten": value})
    assert d.matched == []
    assert criterion(d, "geen_perspectief") is (False if value is False else UNKNOWN)


@pytest.mark.parametrize("negation", NEGATIONS)
@pytest.mark.parametrize("value", [True, None])
def test_criterion_4_each_negation(engine: zorgflow.Engine, negation: str,
                                   value: bool | None) -> None:
    d = afsluiten(engine, **{**CRITERION_4, negation: value})
    assert "geen_perspectief" not in d.matched
    # nothing else is known, so the whole answer is unknown, never true
    assert d.holds is UNKNOWN
    word = "false" if value else "unknown"
    assert criterion(d, "geen_perspectief") is (False if value else UNKNOWN)
    assert f"    {word}: not {negation}  ({negation} = {'true' if value else 'unknown'})" \
        in d.explanation


def test_several_criteria_hold_together_in_definition_order(engine: zorgflow.Engine) -> None:
    d = afsluiten(engine, **CRITERION_4, **CRITERION_1, multiproblematiek=False,
                  zorg_ketenpartner_adequaat=True, overgedragen_aan_netwerk="lthg")
    assert d.matched == ["zelfredzaamheid_vergroot", "zorg_bij_ketenpartner",
                         "overgedragen_ander_netwerk", "geen_perspectief"]
    assert d.outcome == d.matched


def test_every_explanation_line_starts_with_a_truth_word(engine: zorgflow.Engine) -> None:
    d = afsluiten(engine, **CRITERION_1, zorg_ketenpartner_adequaat=False)
    for line in d.explanation:
        assert line.lstrip().split(":")[0] in ("true", "false", "unknown"), line
    assert d.as_text().startswith("afsluitcriteria: unknown\n")


AFSLUIT_FACTS = {
    name: st.sampled_from([True, False, None])
    for name in ["zelfredzaamheid_vergroot", "open_voor_hulpverlening",
                 "toegeleid_naar_reguliere_zorg", "multiproblematiek",
                 "procesregisseur_tjg_overgedragen", "zorg_ketenpartner_adequaat",
                 "besluit_lzn_overleg_afsluiten", "te_weinig_perspectief",
                 "disproportionele_inzet", "kinderen_betrokken", "ernstig_geweld",
                 "inwoners_willen_meewerken"]
}
AFSLUIT_FACTS["overgedragen_aan_netwerk"] = st.sampled_from(
    ["geen", "lthg", "zorg_en_veiligheidshuis", "ander", None])


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries(AFSLUIT_FACTS), st.data())
def test_unknown_never_makes_a_closure_criterion_hold(partial: dict[str, Any],
                                                      data: st.DataObject) -> None:
    """Whatever the unknown facts turn out to be, what held still holds, and a false answer
    stays false: an unknown fact never made a criterion hold."""
    full = {name: (data.draw(AFSLUIT_FACTS[name]) if value is None else value)
            for name, value in partial.items()}
    before = _ENGINE.decide("lzn", "afsluitcriteria", partial, at=AT)
    after = _ENGINE.decide("lzn", "afsluitcriteria", full, at=AT)
    assert set(before.matched) <= set(after.matched)
    if before.holds is not UNKNOWN:
        assert after.holds is before.holds


_ENGINE = zorgflow.Engine.from_directory(ROOT / "workflows")


# -- lzn: regiecriteria (Werkwijze LZN, Benoemen casusregisseur) ----------------------------------


def partner(id: str, *, expertise: tuple[str, ...] = (), eerder_contact: bool = False,
            vertrouwen_client: bool = False, voorkeur_overleg: int = 0,
            langdurig_betrokken: bool | None = True,
            systeemgericht: bool | None = True) -> dict[str, Any]:
    record: dict[str, Any] = {"id": id, "expertise": list(expertise),
                              "eerder_contact": eerder_contact,
                              "vertrouwen_client": vertrouwen_client,
                              "voorkeur_overleg": voorkeur_overleg}
    if langdurig_betrokken is not None:
        record["langdurig_betrokken"] = langdurig_betrokken
    if systeemgericht is not None:
        record["systeemgericht"] = systeemgericht
    return record


def regie(engine: zorgflow.Engine, kandidaten: list[dict[str, Any]],
          problematiek: str | None = "ggz") -> Decision:
    return decide(engine, "lzn", "regiecriteria",
                  {"kandidaten": kandidaten, "bovenliggende_problematiek": problematiek})


def test_regiecriteria_order_by_points(engine: zorgflow.Engine) -> None:
    d = regie(engine, [
        partner("wijkteam", voorkeur_overleg=1),                              # 1 + 1
        partner("ggz_instelling", expertise=("ggz",), voorkeur_overleg=1),    # 3 + 1 + 1
        partner("maatschappelijk_werk", eerder_contact=True, voorkeur_overleg=3),  # 2 + 3 + 1
        partner("verslavingszorg", vertrouwen_client=True),                   # 2 + 0 + 1
    ])
    assert d.matched == ["maatschappelijk_werk", "ggz_instelling", "verslavingszorg",
                         "wijkteam"]
    assert [r["total"] for r in d.outcome] == [6, 5, 3, 2]
    assert d.outcome[1]["points"] == {"expertise_leidend": 3, "eerder_contact_vertrouwen": 0,
                                      "voorkeur_overleg": 1, "langdurig_systeemgericht": 1}
    assert d.holds is True


@pytest.mark.parametrize(
    ("langdurig", "systeemgericht"),
    [(False, True), (True, False), (None, True), (True, None), (False, False)],
)
def test_regiecriteria_fourth_criterion_is_required(
        engine: zorgflow.Engine, langdurig: bool | None, systeemgericht: bool | None) -> None:
    d = regie(engine, [
        partner("sterk", expertise=("ggz",), eerder_contact=True, voorkeur_overleg=5,
                langdurig_betrokken=langdurig, systeemgericht=systeemgericht),
        partner("zwak"),
    ])
    assert d.matched == ["zwak"]
    assert d.explanation[0].startswith("not eligible: sterk — ")
    assert any("langdurig_systeemgericht" in line and "required" in line
               for line in d.explanation[1:5])


def test_regiecriteria_ties_keep_the_order_given(engine: zorgflow.Engine) -> None:
    d = regie(engine, [partner("b", voorkeur_overleg=2), partner("a", voorkeur_overleg=2),
                       partner("c", voorkeur_overleg=2)])
    assert d.matched == ["b", "a", "c"]


def test_regiecriteria_unknown_problematiek_gives_no_expertise_points(
        engine: zorgflow.Engine) -> None:
    d = regie(engine, [partner("ggz", expertise=("ggz",))], problematiek=None)
    assert d.outcome[0]["points"]["expertise_leidend"] == 0
    assert "(bovenliggende_problematiek = unknown, expertise = ['ggz'])" in "\n".join(
        d.explanation)


def test_regiecriteria_without_candidates_is_unknown(engine: zorgflow.Engine) -> None:
    d = decide(engine, "lzn", "regiecriteria", {})
    assert (d.outcome, d.matched, d.holds) == (None, [], UNKNOWN)


# -- lzn: escalatiepaden (Werkwijze LZN, Stagnatie en opschaling) ---------------------------------

PATHS = {
    "situatie_veranderd": "plan_aanpassen",
    "knelpunt_onduidelijk": "nieuw_overleg",
    "huiselijk_geweld": "overdragen_lthg",
    "veiligheidsproblematiek": "overdragen_zvh",
    "ketenpartner_blokkeert": "opschalen_teamleider",
}


@pytest.mark.parametrize(("fact", "path"), list(PATHS.items()))
def test_escalatiepad(engine: zorgflow.Engine, fact: str, path: str) -> None:
    all_false = dict.fromkeys(PATHS, False)
    d = decide(engine, "lzn", "escalatiepaden", {**all_false, fact: True})
    assert d.matched == [path]
    assert d.holds is True
    d = decide(engine, "lzn", "escalatiepaden", {fact: True})
    assert d.matched == [path]
    d = decide(engine, "lzn", "escalatiepaden", {**all_false, fact: None})
    assert (d.matched, d.holds) == ([], UNKNOWN)


def test_escalatiepaden_several_and_none(engine: zorgflow.Engine) -> None:
    d = decide(engine, "lzn", "escalatiepaden", dict.fromkeys(PATHS, True))
    assert d.matched == list(PATHS.values())
    d = decide(engine, "lzn", "escalatiepaden", dict.fromkeys(PATHS, False))
    assert (d.matched, d.holds) == ([], False)
    d = decide(engine, "lzn", "escalatiepaden", {})
    assert (d.matched, d.holds) == ([], UNKNOWN)


# -- levensloop: inclusiecriteria (Ketenveldnorm levensloopaanpak, Doelgroep) ---------------------

INCLUSIE = {"gevaarlijk_gedrag": True, "oorzaak": "verslaving",
            "geen_strafrechtelijke_titel": True, "hoog_risico": True,
            "valt_tussen_systemen": True}
OR_CLAUSE = ["valt_tussen_systemen", "extra_dwang_beveiligde_zorg_nodig",
             "langdurige_bemoeienis_nodig"]


def inclusie(engine: zorgflow.Engine, facts: dict[str, Any]) -> Decision:
    return decide(engine, "levensloop", "inclusiecriteria", facts)


def test_inclusie_holds(engine: zorgflow.Engine) -> None:
    d = inclusie(engine, INCLUSIE)
    assert d.matched == ["inclusie"]
    assert d.holds is True


@pytest.mark.parametrize("clause", ["gevaarlijk_gedrag", "geen_strafrechtelijke_titel",
                                    "hoog_risico"])
@pytest.mark.parametrize("value", [False, None])
def test_inclusie_each_clause_false_or_unknown(engine: zorgflow.Engine, clause: str,
                                               value: bool | None) -> None:
    d = inclusie(engine, {**INCLUSIE, clause: value})
    assert d.matched == []
    assert d.holds is (False if value is False else UNKNOWN)


@pytest.mark.parametrize(
    ("oorzaak", "holds"),
    [("psychiatrische_stoornis", True), ("verslaving", True),
     ("verstandelijke_beperking", True), ("anders", False), (None, UNKNOWN)],
)
def test_inclusie_oorzaak(engine: zorgflow.Engine, oorzaak: str | None, holds: Any) -> None:
    d = inclusie(engine, {**INCLUSIE, "oorzaak": oorzaak})
    assert d.holds is holds
    assert d.matched == (["inclusie"] if holds is True else [])


@pytest.mark.parametrize("which", OR_CLAUSE)
def test_inclusie_any_one_of_the_last_clause_is_enough(engine: zorgflow.Engine,
                                                       which: str) -> None:
    facts = {**INCLUSIE, **dict.fromkeys(OR_CLAUSE, False), which: True}
    assert inclusie(engine, facts).matched == ["inclusie"]
    facts = {**INCLUSIE, **dict.fromkeys(OR_CLAUSE, None), which: True}
    assert inclusie(engine, facts).matched == ["inclusie"]


@pytest.mark.parametrize("unknown", [None, *OR_CLAUSE])
def test_inclusie_last_clause_false_or_unknown(engine: zorgflow.Engine,
                                               unknown: str | None) -> None:
    facts = {**INCLUSIE, **dict.fromkeys(OR_CLAUSE, False)}
    if unknown is not None:
        facts[unknown] = None
    d = inclusie(engine, facts)
    assert d.matched == []
    assert d.holds is (False if unknown is None else UNKNOWN)


# -- stappenplan: zorgplicht (Stappenplan, 3. Zorgplicht, Overzicht zorgplicht) -------------------


def zorgplicht(engine: zorgflow.Engine, facts: dict[str, Any], at: datetime = AT) -> Decision:
    return decide(engine, "stappenplan", "zorgplicht", facts, at=at)


@pytest.mark.parametrize(
    ("facts", "row", "verantwoordelijk"),
    [
        ({"wet": "jeugdwet"}, "jeugdwet", "gemeente"),
        ({"wet": "wmo"}, "wmo", "gemeente"),
        ({"wet": "zvw"}, "zvw", "zorgverzekeraar"),
        ({"wet": "wlz"}, "wlz", "zorgkantoor"),
        ({"wet": "wlz", "wlz_ingangsdatum": "2026-03-01"}, "wlz", "zorgkantoor"),
        ({"wet": "wmo", "overgang_van": "jeugdwet"}, "overgang_jeugdwet_naar_wmo_zvw",
         "gemeente en/of zorgverzekeraar"),
        ({"wet": "zvw", "overgang_van": "jeugdwet"}, "overgang_jeugdwet_naar_wmo_zvw",
         "gemeente en/of zorgverzekeraar"),
        ({"wet": "wlz", "overgang_van": "jeugdwet", "wlz_ingangsdatum": "2026-02-26"},
         "overgang_naar_wlz_voor_dag_5", "gemeente"),
        ({"wet": "wlz", "overgang_van": "wmo", "wlz_ingangsdatum": "2026-02-26"},
         "overgang_naar_wlz_voor_dag_5", "gemeente"),
        ({"wet": "wlz", "overgang_van": "jeugdwet", "wlz_ingangsdatum": "2026-02-25"},
         "overgang_naar_wlz_vanaf_dag_5", "zorgkantoor"),
        ({"wet": "wlz", "overgang_van": "wmo", "wlz_ingangsdatum": "2026-02-25"},
         "overgang_naar_wlz_vanaf_dag_5", "zorgkantoor"),
        ({"wet": "wlz", "overgang_van": "wmo", "wlz_ingangsdatum": "2026-03-02"},
         "overgang_naar_wlz_voor_dag_5", "gemeente"),  # day 0
        ({"wet": "wlz", "overgang_van": "wmo", "wlz_ingangsdatum": "2026-03-10"},
         "overgang_naar_wlz_voor_dag_5", "gemeente"),  # before the start date (an assumption)
        ({"wet": "wlz", "overgang_van": "wmo", "wlz_ingangsdatum": "2025-03-02"},
         "overgang_naar_wlz_vanaf_dag_5", "zorgkantoor"),
        ({"wet": "forensische_zorg"}, "forensische_zorg", "dji"),
        ({"wet": "forensische_zorg", "overgang_van": "wmo"}, "forensische_zorg", "dji"),
    ],
)
def test_zorgplicht_rows(engine: zorgflow.Engine, facts: dict[str, Any], row: str,
                         verantwoordelijk: str) -> None:
    d = zorgplicht(engine, facts)  # AT is 2 March 2026: 2026-02-26 is day 4, 02-25 day 5
    assert d.matched == [row]
    assert d.outcome["verantwoordelijk"] == verantwoordelijk
    assert d.outcome["toelichting"]
    assert d.holds is True
    assert f"true: row {row} — " in "\n".join(d.explanation)


@pytest.mark.parametrize(
    ("at", "offset", "verantwoordelijk"),
    [
        (datetime(2026, 3, 5, 23, 59, 59, tzinfo=AMS), 4, "gemeente"),
        (datetime(2026, 3, 6, 0, 0, 0, tzinfo=AMS), 5, "zorgkantoor"),
        (datetime(2026, 3, 6, 0, 0, 30, tzinfo=AMS), 5, "zorgkantoor"),
        # the Amsterdam date counts, not the UTC date
        (datetime(2026, 3, 5, 22, 59, tzinfo=UTC), 4, "gemeente"),   # 23:59 in Amsterdam
        (datetime(2026, 3, 5, 23, 1, tzinfo=UTC), 5, "zorgkantoor"),  # 00:01 on the 6th
    ],
)
@pytest.mark.parametrize("overgang_van", ["jeugdwet", "wmo"])
@pytest.mark.parametrize("ingangsdatum", ["2026-03-01", date(2026, 3, 1)])
def test_zorgplicht_day_boundary(engine: zorgflow.Engine, at: datetime, offset: int,
                                 verantwoordelijk: str, overgang_van: str,
                                 ingangsdatum: Any) -> None:
    d = zorgplicht(engine, {"wet": "wlz", "overgang_van": overgang_van,
                            "wlz_ingangsdatum": ingangsdatum}, at=at)
    assert d.outcome["verantwoordelijk"] == verantwoordelijk
    assert f"dag_offset = {offset}" in d.explanation[0]


@pytest.mark.parametrize(
    ("ingangsdatum", "at", "verantwoordelijk"),
    [
        # summer time starts on 29 March 2026: 25 March + 4 days is 29 March, + 5 is 30 March
        ("2026-03-25", datetime(2026, 3, 29, 23, 59, tzinfo=AMS), "gemeente"),
        ("2026-03-25", datetime(2026, 3, 30, 0, 0, 1, tzinfo=AMS), "zorgkantoor"),
        # winter time starts on 25 October 2026
        ("2026-10-21", datetime(2026, 10, 25, 23, 59, tzinfo=AMS), "gemeente"),
        ("2026-10-21", datetime(2026, 10, 26, 0, 0, 1, tzinfo=AMS), "zorgkantoor"),
    ],
)
def test_zorgplicht_day_boundary_across_dst(engine: zorgflow.Engine, ingangsdatum: str,
                                            at: datetime, verantwoordelijk: str) -> None:
    d = zorgplicht(engine, {"wet": "wlz", "overgang_van": "wmo",
                            "wlz_ingangsdatum": ingangsdatum}, at=at)
    assert d.outcome["verantwoordelijk"] == verantwoordelijk


@pytest.mark.parametrize(
    ("facts", "unknown"),
    [
        ({"wet": "zvw", "overgang_van": "wmo"}, " (unknown: dag_offset)"),  # wmo -> zvw
        ({"wet": "wmo", "overgang_van": "wmo"}, " (unknown: dag_offset)"),
        ({"wet": "jeugdwet", "overgang_van": "jeugdwet"}, " (unknown: dag_offset)"),
        ({"wet": "wlz", "overgang_van": "wmo"}, " (unknown: dag_offset)"),  # no start date
        ({"overgang_van": "wmo"}, " (unknown: wet, dag_offset)"),
        ({}, " (unknown: wet, overgang_van, dag_offset)"),
    ],
)
def test_zorgplicht_no_row_covers(engine: zorgflow.Engine, facts: dict[str, Any],
                                  unknown: str) -> None:
    d = zorgplicht(engine, facts)
    assert d.outcome is None
    assert d.matched == []
    assert d.holds is False
    assert d.explanation[-1] == "no outcome: no row covers these inputs" + unknown
    assert all(line.startswith("false: row ") for line in d.explanation[1:-1])


def test_zorgplicht_wmo_to_zvw_explanation(engine: zorgflow.Engine) -> None:
    d = zorgplicht(engine, {"wet": "zvw", "overgang_van": "wmo"})
    text = d.as_text()
    assert text.startswith("zorgplicht: false\ninputs: wet = 'zvw', overgang_van = 'wmo', "
                           "dag_offset = unknown\n")
    assert "no row covers these inputs" in text
    assert json.loads(json.dumps(d.to_dict()))["outcome"] is None


def test_zorgplicht_refuses_a_bad_date(engine: zorgflow.Engine) -> None:
    with pytest.raises(ValueError, match="wlz_ingangsdatum"):
        zorgplicht(engine, {"wet": "wlz", "overgang_van": "wmo",
                            "wlz_ingangsdatum": "1 maart 2026"})


# -- stappenplan: interventies (Stappenplan, 4. Interventie(s) kiezen) ----------------------------

INTERVENTIES = {
    "gehandicaptenzorg_expertise_nodig": "wegwijzer_gehandicaptenzorg",
    "ernstig_probleemgedrag": "cce_consultatie",
    "herplaatsing": "clientgerichte_aanmelding",
    "crisis": "crisisondersteuningsteam",
    "naasten_overbelast": "ondersteuning_naasten",
    "moreel_dilemma": "moreel_beraad",
    "veel_partijen_betrokken": "mdo_whole_system",
    "ervaringsdeskundigheid_gewenst": "ervaringsdeskundige",
    "vastgelopen": "crazy8_brainstorm",
    "escalatie_nodig": "opschalen",
}
ORDER = ["wegwijzer_gehandicaptenzorg", "cce_consultatie", "clientgerichte_aanmelding",
         "overbrugging", "crisisondersteuningsteam", "ondersteuning_naasten", "moreel_beraad",
         "mdo_whole_system", "ervaringsdeskundige", "crazy8_brainstorm", "opschalen"]


def interventies(engine: zorgflow.Engine, facts: dict[str, Any]) -> Decision:
    return decide(engine, "stappenplan", "interventies", facts)


@pytest.mark.parametrize(("fact", "interventie"), list(INTERVENTIES.items()))
def test_each_interventie(engine: zorgflow.Engine, fact: str, interventie: str) -> None:
    d = interventies(engine, {fact: True})
    assert d.matched == [interventie]
    assert d.outcome == [{"interventie": interventie, "reden": d.outcome[0]["reden"]}]
    assert d.outcome[0]["reden"]
    assert interventies(engine, {fact: False}).matched == []


@pytest.mark.parametrize(
    ("facts", "matched"),
    [
        ({"wet": "wlz", "overgang_van": "wmo"}, ["overbrugging"]),
        ({"wet": "wlz", "overgang_van": "jeugdwet"}, ["overbrugging"]),
        ({"wet": "wlz"}, []),
        ({"wet": "wmo", "overgang_van": "jeugdwet"}, []),
    ],
)
def test_interventie_overbrugging(engine: zorgflow.Engine, facts: dict[str, Any],
                                  matched: list[str]) -> None:
    assert interventies(engine, facts).matched == matched


def test_interventies_collect_in_definition_order(engine: zorgflow.Engine) -> None:
    facts = {"escalatie_nodig": True, "crisis": True, "gehandicaptenzorg_expertise_nodig": True,
             "wet": "wlz", "overgang_van": "jeugdwet", "naasten_overbelast": False}
    d = interventies(engine, facts)
    assert d.matched == ["wegwijzer_gehandicaptenzorg", "overbrugging",
                         "crisisondersteuningsteam", "opschalen"]
    assert [o["interventie"] for o in d.outcome] == d.matched
    assert d.holds is True
    everything = interventies(engine, {**dict.fromkeys(INTERVENTIES, True), "wet": "wlz",
                                       "overgang_van": "wmo"})
    assert everything.matched == ORDER


def test_interventies_none_known(engine: zorgflow.Engine) -> None:
    d = interventies(engine, {})
    assert (d.matched, d.outcome, d.holds) == ([], [], False)
    assert d.explanation[-1].startswith("no outcome: no row covers these inputs")
