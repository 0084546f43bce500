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


@pytest.mark.parametrize("clause", ["open_voor_hulpverlening", "toegeleid_naar_reguliere_zorg"])
@pytest.mark.parametrize("value", [False, None])
def test_criterion_1_needs_each_of_its_first_three_clauses(
        engine: zorgflow.Engine, clause: str, value: bool | None) -> None:
    facts = {**CRITERION_1, "multiproblematiek": False, clause: value}
    d = afsluiten(engine, **facts)
    assert d.matched == []
    assert criterion(d, "zelfredzaamheid_vergroot") is (False if value is False else UNKNOWN)
    word = "false" if value is False else "unknown"
    assert f"    {word}: {clause}  ({clause} = {word})" in d.explanation


@pytest.mark.parametrize(
    ("zelfredzaamheid", "netwerk", "holds"),
    [(True, None, True), (None, True, True), (False, True, True), (True, False, True),
     (True, True, True), (False, False, False), (False, None, UNKNOWN), (None, None, UNKNOWN)],
)
def test_criterion_1_self_reliance_or_support_from_the_network(
        engine: zorgflow.Engine, zelfredzaamheid: bool | None, netwerk: bool | None,
        holds: Any) -> None:
    """Punt 1: "De zelfredzaamheid van de inwoner(s) en/of ondersteuning vanuit het netwerk
    is vergroot" -- either one is enough."""
    facts = {**CRITERION_1, "multiproblematiek": False,
             "zelfredzaamheid_vergroot": zelfredzaamheid,
             "netwerkondersteuning_vergroot": netwerk}
    d = afsluiten(engine, **facts)
    assert ("zelfredzaamheid_vergroot" in d.matched) is (holds is True)
    assert criterion(d, "zelfredzaamheid_vergroot") is holds
    word = {True: "true", False: "false"}.get(holds, "unknown")
    assert any(line.startswith(f"    {word}: zelfredzaamheid_vergroot or "
                               "netwerkondersteuning_vergroot") for line in d.explanation)


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
    for name in ["zelfredzaamheid_vergroot", "netwerkondersteuning_vergroot",
                 "open_voor_hulpverlening",
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
            vertrouwen_client: bool = False, voorkeur_overleg: int | None = 0,
            langdurig_betrokken: bool | None = True,
            systeemgericht: bool | None = True) -> dict[str, Any]:
    record: dict[str, Any] = {"id": id, "expertise": list(expertise),
                              "eerder_contact": eerder_contact,
                              "vertrouwen_client": vertrouwen_client}
    if voorkeur_overleg is not None:
        record["voorkeur_overleg"] = voorkeur_overleg
    if langdurig_betrokken is not None:
        record["langdurig_betrokken"] = langdurig_betrokken
    if systeemgericht is not None:
        record["systeemgericht"] = systeemgericht
    return record


def regie(engine: zorgflow.Engine, kandidaten: list[dict[str, Any]],
          problematiek: str | None = "ggz") -> Decision:
    return decide(engine, "lzn", "regiecriteria",
                  {"kandidaten": kandidaten, "bovenliggende_problematiek": problematiek})


CRITERIA = {"expertise_leidend": 1, "eerder_contact": 0.5, "vertrouwen_client": 0.5,
            "voorkeur_overleg": 1, "langdurig_betrokken": 0.5, "systeemgericht": 0.5}


def test_regiecriteria_four_criteria_of_equal_weight(engine: zorgflow.Engine) -> None:
    """"De volgende criteria worden daarbij in elk geval meegewogen": four criteria, each 0 to
    1 point (criteria 2 and 4 ask two questions, half a point each), none weighs more."""
    rule_set = engine.workflow("lzn").rules["regiecriteria"]
    assert rule_set.kind == "ranking"
    assert {c.id: c.weight for c in rule_set.criteria} == CRITERIA
    assert not any(c.required for c in rule_set.criteria)
    best = regie(engine, [partner("alles", expertise=("ggz",), eerder_contact=True,
                                  vertrouwen_client=True, voorkeur_overleg=1)])
    assert best.outcome[0]["total"] == 4
    assert best.outcome[0]["points"] == CRITERIA


def test_regiecriteria_order_by_points(engine: zorgflow.Engine) -> None:
    # eight preferences named: 1, 1, 5 and 1 of them
    d = regie(engine, [
        partner("wijkteam", voorkeur_overleg=1),                              # 0.125 + 1
        partner("ggz_instelling", expertise=("ggz",), voorkeur_overleg=1),    # 1 + 0.125 + 1
        partner("maatschappelijk_werk", eerder_contact=True, vertrouwen_client=True,
                voorkeur_overleg=5),                                          # 1 + 0.625 + 1
        partner("verslavingszorg", vertrouwen_client=True, voorkeur_overleg=1),
    ])
    assert d.matched == ["maatschappelijk_werk", "ggz_instelling", "verslavingszorg",
                         "wijkteam"]
    assert [r["total"] for r in d.outcome] == [2.625, 2.125, 1.625, 1.125]
    assert d.outcome[1]["points"] == {"expertise_leidend": 1, "eerder_contact": 0,
                                      "vertrouwen_client": 0, "voorkeur_overleg": 0.125,
                                      "langdurig_betrokken": 0.5, "systeemgericht": 0.5}
    assert d.holds is True


@pytest.mark.parametrize(
    ("langdurig", "systeemgericht", "points"),
    [(False, True, 0.5), (True, False, 0.5), (None, True, 0.5), (True, None, 0.5),
     (False, False, 0)],
)
def test_regiecriteria_no_criterion_knocks_a_candidate_out(
        engine: zorgflow.Engine, langdurig: bool | None, systeemgericht: bool | None,
        points: float) -> None:
    d = regie(engine, [
        partner("sterk", expertise=("ggz",), eerder_contact=True, voorkeur_overleg=1,
                langdurig_betrokken=langdurig, systeemgericht=systeemgericht),
        partner("zwak", voorkeur_overleg=1),
    ])
    assert d.matched == ["sterk", "zwak"]  # still ranked, and here still first
    assert d.outcome[0]["total"] == 2 + points
    assert not any("not eligible" in line or "required" in line for line in d.explanation)


def test_a_candidate_field_given_as_null_is_unknown_as_one_left_out(
        engine: zorgflow.Engine) -> None:
    """DOMAIN: a missing datum is unknown and counts 0 points. A front end sends JSON null
    for a question nobody answered; that was refused ("expected true or false")."""
    given = partner("a", expertise=("ggz",), voorkeur_overleg=1)
    nulled = {**given, "langdurig_betrokken": None, "systeemgericht": None}
    left_out = partner("a", expertise=("ggz",), voorkeur_overleg=1, langdurig_betrokken=None,
                       systeemgericht=None)
    assert regie(engine, [nulled]).outcome == regie(engine, [left_out]).outcome
    assert regie(engine, [nulled]).outcome[0]["points"]["systeemgericht"] == 0


def test_regiecriteria_ties_keep_the_order_given(engine: zorgflow.Engine) -> None:
    d = regie(engine, [partner("b", voorkeur_overleg=1), partner("a", voorkeur_overleg=1),
                       partner("c", voorkeur_overleg=1)])
    assert d.matched == ["b", "a", "c"]


def test_regiecriteria_preference_is_a_share_of_at_most_one(engine: zorgflow.Engine) -> None:
    """The preference counts as the candidate's share of all preferences named (the rule
    computes it from the counts), never as unbounded votes; when one candidate's count is
    missing, no share is known and the criterion gives every candidate 0 points."""
    alone = regie(engine, [partner("veel_stemmen", voorkeur_overleg=100)])
    assert alone.outcome[0]["points"]["voorkeur_overleg"] == 1
    d = regie(engine, [partner("a", voorkeur_overleg=5), partner("b", voorkeur_overleg=3)])
    assert [r["points"]["voorkeur_overleg"] for r in d.outcome] == [0.625, 0.375]
    nobody = regie(engine, [partner("a"), partner("b")])
    assert [r["points"]["voorkeur_overleg"] for r in nobody.outcome] == [0, 0]
    missing = regie(engine, [partner("a", voorkeur_overleg=5), partner("b", voorkeur_overleg=None)])
    assert [r["points"]["voorkeur_overleg"] for r in missing.outcome] == [0, 0]
    assert any("0 points: voorkeur_overleg" in line
               and "sum(kandidaten.voorkeur_overleg) = unknown" in line
               for line in missing.explanation), missing.explanation


def test_regiecriteria_an_absent_attribute_is_unknown_and_scores_nothing(
        engine: zorgflow.Engine) -> None:
    d = regie(engine, [{"id": "leeg"}])
    assert d.outcome == [{"id": "leeg", "total": 0, "points": dict.fromkeys(CRITERIA, 0)}]
    for cid in ("eerder_contact", "vertrouwen_client", "langdurig_betrokken", "systeemgericht"):
        assert any(f"0 points: {cid}" in line and f"({cid} = unknown)" in line
                   for line in d.explanation), cid


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
            "reguliere_financiering": True, "forensisch_klimaat_nodig": True,
            "valt_tussen_systemen": True}
OR_CLAUSE = ["valt_tussen_systemen", "extra_dwang_beveiligde_zorg_nodig",
             "langdurige_bemoeienis_nodig"]


def inclusie(engine: zorgflow.Engine, facts: dict[str, Any]) -> Decision:
    return decide(engine, "levensloop", "inclusiecriteria", facts)


def test_inclusie_holds(engine: zorgflow.Engine) -> None:
    d = inclusie(engine, INCLUSIE)
    assert d.matched == ["inclusie"]
    assert d.holds is True


# Voorbeeldbrief levensloopfunctie: "géén strafrechtelijke titel (meer) hebben, onder
# 'reguliere' financieringsstromen vallen, maar wél een forensisch behandel- en
# begeleidingsklimaat met forensische expertise nodig hebben"
@pytest.mark.parametrize("clause", ["geen_strafrechtelijke_titel", "reguliere_financiering",
                                    "forensisch_klimaat_nodig"])
@pytest.mark.parametrize("value", [False, None])
def test_inclusie_each_clause_false_or_unknown(engine: zorgflow.Engine, clause: str,
                                               value: bool | None) -> None:
    d = inclusie(engine, {**INCLUSIE, clause: value})
    assert d.matched == []
    assert d.holds is (False if value is False else UNKNOWN)


# Ketenveldnorm levensloopaanpak, Doelgroep: "(aantoonbaar hoog risico op) gevaarlijk gedrag"
@pytest.mark.parametrize(
    ("gevaarlijk_gedrag", "hoog_risico", "holds"),
    [(True, False, True), (False, True, True), (True, None, True), (None, True, True),
     (False, False, False), (False, None, UNKNOWN), (None, None, UNKNOWN)],
)
def test_inclusie_dangerous_behaviour_or_a_high_risk_of_it(
        engine: zorgflow.Engine, gevaarlijk_gedrag: bool | None, hoog_risico: bool | None,
        holds: Any) -> None:
    d = inclusie(engine, {**INCLUSIE, "gevaarlijk_gedrag": gevaarlijk_gedrag,
                          "hoog_risico": hoog_risico})
    assert d.holds is holds
    assert d.matched == (["inclusie"] if holds is True else [])


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


# -- levensloop: the process at its boundaries (Levensloopfunctie Gelderland; Voorbeeldbrief) ---

LL = {name: zorgflow.Actor(name, roles={role}) for name, role in [
    ("melder", "convenantpartner"), ("procesregisseur", "procesregisseur_zvh"),
    ("tafel", "adviestafel"), ("casemanager", "casemanager_zorg"),
    ("regisseur", "gemeentelijk_regisseur"), ("behandelaar", "regiebehandelaar"),
    ("coordinator", "coordinator_levensloop")]}


def ll_at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=AMS)


def ll_refused(call: Any, fragment: str) -> None:
    with pytest.raises(zorgflow.TransitionRejected) as info:
        call()
    assert fragment in " ".join(info.value.reasons), info.value.reasons


def ll_included(engine: zorgflow.Engine, **data: Any) -> zorgflow.Case:
    """A case in plan_van_aanpak: informed, included, regie belegd with ``data``."""
    fire = engine.fire
    case = engine.start("levensloop", actor=LL["melder"], at=AT,
                        facts={**INCLUSIE, "persoon_geinformeerd": True})
    for event in ("casus_op_maat_gestart", "ketenveldnorm_passend", "voorgelegd_adviestafel"):
        case = fire(case, event, actor=LL["procesregisseur"], at=AT)
    case = fire(case, "geincludeerd", actor=LL["tafel"], at=AT)
    return fire(case, "regie_belegd", actor=LL["procesregisseur"], at=AT,
                data={"casemanager_zorg": "casemanager", **data})


def ll_ambulant(engine: zorgflow.Engine) -> zorgflow.Case:
    case = ll_included(engine, gemeentelijk_regisseur="regisseur")
    case = engine.set_facts(case, {"risicotaxatie_uitgevoerd": True,
                                   "grondslag_informatiedeling": "vrijwillig"},
                            actor=LL["casemanager"], at=AT)
    case = engine.fire(case, "plan_vastgesteld", actor=LL["casemanager"], at=AT)
    case = engine.fire(case, "plan_vastgesteld", actor=LL["regisseur"], at=AT)
    assert case.state == "ambulant"
    return case


# Voorbeeldbrief levensloopfunctie: "Een convenantpartner van het Zorg- en Veiligheidshuis kan
# een casus aanmelden voor een Casus Op Maat."
@pytest.mark.parametrize("who", ["procesregisseur", "tafel", "casemanager", "coordinator"])
def test_levensloop_only_a_convenantpartner_opens_a_case(engine: zorgflow.Engine,
                                                         who: str) -> None:
    ll_refused(lambda: engine.start("levensloop", actor=LL[who], at=AT), "convenantpartner")
    assert engine.start("levensloop", actor=LL["melder"], at=AT).state == "aangemeld"


# Voorbeeldbrief: informed "bij de aanmelding", or postponed "mits … helder is wanneer het dan
# wél gaat gebeuren": a reason and a date after the day the Casus Op Maat starts.
@pytest.mark.parametrize(("facts", "starts"), [
    ({}, False),
    ({"persoon_geinformeerd": False}, False),
    ({"persoon_geinformeerd": True}, True),
    ({"uitstel_grond": "AVG", "informeren_uitgesteld_tot": "2026-03-03"}, True),
    ({"uitstel_grond": "AVG", "informeren_uitgesteld_tot": "2026-03-02"}, False),
    ({"uitstel_grond": "AVG", "informeren_uitgesteld_tot": "2026-02-01"}, False),
    ({"informeren_uitgesteld_tot": "2026-03-03"}, False),
    ({"persoon_geinformeerd": False, "uitstel_grond": "AVG",
      "informeren_uitgesteld_tot": "2026-03-03"}, True),
])
def test_levensloop_casus_op_maat_needs_the_person_informed_or_a_postponement(
        engine: zorgflow.Engine, facts: dict[str, Any], starts: bool) -> None:
    case = engine.start("levensloop", actor=LL["melder"], at=AT, facts=facts)
    allowed = "casus_op_maat_gestart" in engine.allowed(case, LL["procesregisseur"], at=AT)
    assert allowed is starts
    if starts:
        assert engine.fire(case, "casus_op_maat_gestart", actor=LL["procesregisseur"],
                           at=AT).state == "casus_op_maat"
    else:
        ll_refused(lambda: engine.fire(case, "casus_op_maat_gestart",
                                       actor=LL["procesregisseur"], at=AT), "condition is")


def test_levensloop_informeren_alsnog_in_every_state_until_informed(
        engine: zorgflow.Engine) -> None:
    case = engine.start("levensloop", actor=LL["melder"], at=AT, facts={
        "uitstel_grond": "AVG", "informeren_uitgesteld_tot": "2026-04-01"})
    case = engine.fire(case, "casus_op_maat_gestart", actor=LL["procesregisseur"], at=AT)
    closed = engine.fire(case, "ketenveldnorm_niet_passend", actor=LL["procesregisseur"], at=AT)
    names = [s.name for s in engine.due(closed, datetime(2026, 3, 31, 23, 59, tzinfo=AMS))]
    assert "informeren_alsnog" not in names
    names = [s.name for s in engine.due(closed, datetime(2026, 4, 1, 0, 0, tzinfo=AMS))]
    assert "informeren_alsnog" in names
    informed = engine.set_facts(case, {"persoon_geinformeerd": True}, actor=LL["melder"], at=AT)
    assert engine.due(informed, datetime(2026, 5, 1, tzinfo=AMS)) == []


def test_levensloop_the_dossier_holds_only_the_inclusion_facts(engine: zorgflow.Engine) -> None:
    case = engine.start("levensloop", actor=LL["melder"], at=AT, facts={
        **INCLUSIE, "naam": "Jan Jansen", "bsn": "123456782", "persoon_geinformeerd": False,
        "uitstel_grond": "Jan Jansen mag het nog niet weten",
        "informeren_uitgesteld_tot": "2026-04-01", "contact_interval_dagen": 7})
    for event in ("casus_op_maat_gestart", "ketenveldnorm_passend", "voorgelegd_adviestafel"):
        case = engine.fire(case, event, actor=LL["procesregisseur"], at=AT)
    assert dict(case.history[-1].dossier or {}) == INCLUSIE


# Levensloopfunctie Gelderland: "één persoon uit een zorgorganisatie en één persoon uit het
# gemeentelijke domein"
@pytest.mark.parametrize(("casemanager", "regisseur", "fragment"), [
    ("casemanager", "casemanager", "different people"),
    ("procesregisseur", "regisseur", "may not make himself 'casemanager_zorg'"),
    ("casemanager", "procesregisseur", "may not make himself 'gemeentelijk_regisseur'"),
])
def test_levensloop_two_different_people_neither_the_assigner(
        engine: zorgflow.Engine, casemanager: str, regisseur: str, fragment: str) -> None:
    with pytest.raises(zorgflow.TransitionRejected) as info:
        ll_included(engine, casemanager_zorg=casemanager, gemeentelijk_regisseur=regisseur)
    assert fragment in " ".join(info.value.reasons)
    case = ll_included(engine)  # a small municipality appoints its regisseur later
    ll_refused(lambda: engine.fire(case, "gemeentelijk_regisseur_aangesteld",
                                   actor=LL["procesregisseur"], at=AT,
                                   data={"gemeentelijk_regisseur": "casemanager"}),
               "different people")
    case = engine.fire(case, "gemeentelijk_regisseur_aangesteld", actor=LL["procesregisseur"],
                       at=AT, data={"gemeentelijk_regisseur": "regisseur"})
    assert (case.state, case.case_roles) == ("plan_van_aanpak", {
        "casemanager_zorg": "casemanager", "gemeentelijk_regisseur": "regisseur"})


# Levensloopfunctie Gelderland: "een caseload van ongeveer 5 tot 6 patiënten per casemanager"
@pytest.mark.parametrize(("caseload", "warned"), [(None, False), (0, False), (5, False),
                                                  (6, True), (12, True)])
def test_levensloop_a_high_caseload_warns_and_never_refuses(
        engine: zorgflow.Engine, caseload: int | None, warned: bool) -> None:
    data = {} if caseload is None else {"caseload_casemanager": caseload}
    case = ll_included(engine, gemeentelijk_regisseur="regisseur", **data)
    assert case.state == "plan_van_aanpak"
    warnings = case.history[-1].warnings
    assert bool(warnings) is warned
    assert all("caseload" in w.lower() for w in warnings)


# Levensloopfunctie Gelderland: "medische indicatie (af te geven door casemanager zorg icm
# regie behandelaar)"; one indication per admission (an assumption).
def test_levensloop_a_medical_indication_is_joint_and_used_up(engine: zorgflow.Engine) -> None:
    case = ll_ambulant(engine)
    ll_refused(lambda: engine.set_facts(case, {"medische_indicatie": True},
                                        actor=LL["casemanager"], at=AT), "medische_indicatie")
    one = engine.fire(case, "medische_indicatie_afgegeven", actor=LL["casemanager"], at=AT)
    assert one.agreements == {"medische_indicatie_afgegeven": {"casemanager_zorg": "casemanager"}}
    ll_refused(lambda: engine.fire(one, "opgeschaald_klinisch", actor=LL["casemanager"], at=AT),
               "medische_indicatie")
    both = engine.fire(one, "medische_indicatie_afgegeven", actor=LL["behandelaar"], at=AT)
    assert both.facts["medische_indicatie"] is True and both.state == "ambulant"
    klinisch = engine.fire(both, "opgeschaald_klinisch", actor=LL["casemanager"], at=AT)
    assert (klinisch.state, klinisch.facts["medische_indicatie"]) == ("klinisch", False)
    back = engine.fire(klinisch, "afgeschaald", actor=LL["casemanager"], at=AT)
    ll_refused(lambda: engine.fire(back, "opgeschaald_klinisch", actor=LL["casemanager"], at=AT),
               "medische_indicatie")
    ll_refused(lambda: engine.fire(back, "verblijf_elders", actor=LL["casemanager"], at=AT,
                                   data={"verblijf": "klinische_opname",
                                         "buiten_eigen_regio": False}), "medische_indicatie")
    opname = engine.fire(both, "verblijf_elders", actor=LL["casemanager"], at=AT,
                         data={"verblijf": "klinische_opname", "buiten_eigen_regio": False})
    assert (opname.state, opname.facts["medische_indicatie"]) == ("elders", False)


# Levensloopfunctie Gelderland: "langer dan (3 maanden elders verblijft en er geen zicht is op
# terugkeer naar de eigen regio": strictly after elders_sinds + 3 calendar months.
@pytest.mark.parametrize(("day", "moves"), [(date(2026, 6, 1), False), (date(2026, 6, 2), False),
                                            (date(2026, 6, 3), True), (date(2026, 9, 1), True)])
def test_levensloop_transfer_to_another_region_after_more_than_3_months(
        engine: zorgflow.Engine, day: date, moves: bool) -> None:
    case = engine.fire(ll_ambulant(engine), "verblijf_elders", actor=LL["casemanager"], at=AT,
                       data={"verblijf": "andere_regio", "buiten_eigen_regio": True})
    assert case.facts["elders_sinds"] == date(2026, 3, 2)
    case = engine.set_facts(case, {"geen_zicht_op_terugkeer": True}, actor=LL["regisseur"],
                            at=AT)
    ll_refused(lambda: engine.fire(case, "overgedragen_aan_regio", actor=LL["coordinator"],
                                   at=ll_at(day)), "casemanager_zorg")
    first = engine.fire(case, "overgedragen_aan_regio", actor=LL["casemanager"], at=ll_at(day))
    assert first.state == "elders"
    signals = {s.name for s in engine.due(case, ll_at(day))}
    assert ("overdracht_regio_overwegen" in signals) is moves
    if moves:
        done = engine.fire(first, "overgedragen_aan_regio", actor=LL["regisseur"], at=ll_at(day))
        assert done.state == "overgedragen_regio"
    else:
        ll_refused(lambda: engine.fire(first, "overgedragen_aan_regio", actor=LL["regisseur"],
                                       at=ll_at(day)), "condition is false")


def test_levensloop_no_transfer_for_a_stay_inside_the_region(engine: zorgflow.Engine) -> None:
    case = engine.fire(ll_ambulant(engine), "verblijf_elders", actor=LL["casemanager"], at=AT,
                       data={"verblijf": "detentie", "buiten_eigen_regio": False})
    case = engine.set_facts(case, {"geen_zicht_op_terugkeer": True}, actor=LL["regisseur"],
                            at=AT)
    later = datetime(2027, 3, 2, 10, tzinfo=AMS)
    first = engine.fire(case, "overgedragen_aan_regio", actor=LL["casemanager"], at=later)
    ll_refused(lambda: engine.fire(first, "overgedragen_aan_regio", actor=LL["regisseur"],
                                   at=later), "buiten_eigen_regio")
    ll_refused(lambda: engine.fire(ll_ambulant(engine), "verblijf_elders",
                                   actor=LL["casemanager"], at=AT,
                                   data={"verblijf": "andere_regio",
                                         "buiten_eigen_regio": False}), "condition is false")


# Levensloopfunctie Gelderland: "heeft regelmatig contact"; contact restarts the timer, which
# runs through the care phase and the ZVH escalation; the escalation returns where it came from.
def test_levensloop_contact_restarts_the_timer_across_the_care_phase(
        engine: zorgflow.Engine) -> None:
    case = engine.fire(ll_ambulant(engine), "verblijf_elders", actor=LL["casemanager"],
                       at=datetime(2026, 3, 10, 10, tzinfo=AMS),
                       data={"verblijf": "detentie", "buiten_eigen_regio": False})
    case = engine.fire(case, "knelpunt_naar_zvh", actor=LL["melder"],
                       at=datetime(2026, 3, 12, 10, tzinfo=AMS))
    assert case.state == "zvh_opschaling"
    names = [s.name for s in engine.due(case, datetime(2026, 3, 16, 10, tzinfo=AMS))]
    assert names == ["contact_te_laat"]  # 14 days after the plan, not after moving
    ll_refused(lambda: engine.fire(case, "contact_vastgelegd", actor=LL["regisseur"], at=AT),
               "casemanager_zorg")
    case = engine.fire(case, "contact_vastgelegd", actor=LL["casemanager"],
                       at=datetime(2026, 3, 16, 10, tzinfo=AMS))
    assert engine.due(case, datetime(2026, 3, 29, 10, tzinfo=AMS)) == []
    back = engine.fire(case, "knelpunt_opgelost", actor=LL["procesregisseur"],
                       at=datetime(2026, 3, 20, 10, tzinfo=AMS))
    assert back.state == "elders"
    assert [s.name for s in engine.due(back, datetime(2026, 3, 30, 10, tzinfo=AMS))] == [
        "contact_te_laat"]


# Levensloopfunctie Gelderland: "De coördinator levensloopfunctie kan worden gebruikt bij
# vastlopende casuïstiek waarin op management/bestuurlijk niveau opschaling nodig is."
def test_levensloop_management_escalation_is_a_task_for_the_coordinator(
        engine: zorgflow.Engine) -> None:
    case = ll_ambulant(engine)
    ll_refused(lambda: engine.fire(case, "opgeschaald_bestuurlijk", actor=LL["coordinator"],
                                   at=AT), "casemanager_zorg")
    case = engine.fire(case, "opgeschaald_bestuurlijk", actor=LL["regisseur"], at=AT)
    assert case.state == "ambulant"
    open_tasks = {t.id: t.role for t in engine.tasks(case) if not t.done}
    assert open_tasks == {"uitkomst_terugkoppelen": "procesregisseur_zvh",
                          "bestuurlijk_opschalen": "coordinator_levensloop"}
    done = engine.complete(case, "bestuurlijk_opschalen", actor=LL["coordinator"], at=AT)
    assert [t.id for t in engine.tasks(done) if not t.done] == ["uitkomst_terugkoppelen"]


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


# -- stappenplan: who opens, the checklist, information sharing, the Wlz consultation ----------
# (Stappenplan, inleiding; 1. Inventarisatie van de benodigde informatie; 2. Informatieuitwisseling)

CO = zorgflow.Actor("c.steun", roles={"clientondersteuner"})
ZB = zorgflow.Actor("z.bemiddelaar", roles={"zorgbemiddelaar"})
ZA = zorgflow.Actor("z.aanbieder", roles={"zorgaanbieder"})
ZVH = zorgflow.Actor("p.regisseur", roles={"procesregisseur_zvh"})
#: the nine questions of the checklist (question 2 has two answers), every one answered "nee"
CHECKLIST: dict[str, Any] = {
    "type_aanpak": "kortdurende ondersteuning", "wens_client": "thuis blijven wonen",
    "wens_naasten": "respijt", "betrokkenen_compleet": False,
    "wettelijk_vertegenwoordiger": False, "toestemming_informatiedeling": False,
    "woonzorgprofiel_aanwezig": False, "cce_advies_aanwezig": False,
    "multiproblematiek": False, "zorgindicatie": "geen"}
DOSSIER = {"multiproblematiek", "zorgindicatie", "wettelijk_vertegenwoordiger",
           "betrokkenen_compleet", "woonzorgprofiel_aanwezig", "cce_advies_aanwezig"}


def stap_2(engine: zorgflow.Engine, **facts: Any) -> zorgflow.Case:
    """A stappenplan case in step 2 (information sharing), the checklist answered."""
    case = engine.start("stappenplan", actor=CO, facts={**CHECKLIST, **facts}, at=AT)
    return engine.fire(case, "inventarisatie_afgerond", actor=CO, at=AT)


@pytest.mark.parametrize(("roles", "opens"), [
    ({"clientondersteuner"}, True), ({"zorgbemiddelaar"}, True), ({"zorgaanbieder"}, False),
    ({"procesregisseur_zvh"}, False), ({"ketenpartner"}, False)])
def test_stappenplan_is_opened_by_its_practitioners(engine: zorgflow.Engine, roles: set[str],
                                                    opens: bool) -> None:
    actor = zorgflow.Actor("iemand", roles=roles)
    if opens:
        assert engine.start("stappenplan", actor=actor, at=AT).state == "inventarisatie"
    else:
        with pytest.raises(zorgflow.TransitionRejected, match="clientondersteuner"):
            engine.start("stappenplan", actor=actor, at=AT)


@pytest.mark.parametrize("missing", [None, *CHECKLIST])
def test_stappenplan_inventarisatie_needs_all_nine_questions_answered(
        engine: zorgflow.Engine, missing: str | None) -> None:
    facts = {k: v for k, v in CHECKLIST.items() if k != missing}
    case = engine.start("stappenplan", actor=ZB, facts=facts, at=AT)
    if missing is None:  # "nee" (false) is an answer
        assert engine.allowed(case, ZB, AT) == ["inventarisatie_afgerond"]
        done = engine.fire(case, "inventarisatie_afgerond", actor=ZB, at=AT)
        assert done.state == "informatie_uitwisseling"
    else:
        assert engine.allowed(case, ZB, AT) == []
        with pytest.raises(zorgflow.TransitionRejected, match="condition is false"):
            engine.fire(case, "inventarisatie_afgerond", actor=ZB, at=AT)


def test_stappenplan_the_anonymous_dossier_is_exactly_the_allow_list(
        engine: zorgflow.Engine) -> None:
    wf = engine.workflow("stappenplan")
    assert {name for name, fact in wf.facts.items() if fact.dossier} == DOSSIER
    case = stap_2(engine, naam="J. de Vries", bsn="123456782", wet="wmo", zvh_betrokken=False,
                  multiproblematiek=True, zorgindicatie="wlz")
    sent = engine.fire(case, "algemeen_advies_anoniem", actor=ZB, at=AT)
    assert sent.state == "informatie_uitwisseling"
    assert sent.history[-1].dossier == {**{k: CHECKLIST[k] for k in DOSSIER},
                                        "multiproblematiek": True, "zorgindicatie": "wlz"}
    with_consent = stap_2(engine, toestemming_informatiedeling=True)
    with pytest.raises(zorgflow.TransitionRejected, match="toestemming_informatiedeling"):
        engine.fire(with_consent, "algemeen_advies_anoniem", actor=CO, at=AT)


@pytest.mark.parametrize("zvh_betrokken", [True, False, None])
def test_stappenplan_only_consent_opens_information_sharing(engine: zorgflow.Engine,
                                                            zvh_betrokken: bool | None) -> None:
    case = stap_2(engine, zvh_betrokken=zvh_betrokken)
    for actor in (CO, ZB):
        assert "informatie_gedeeld" not in engine.allowed(case, actor, AT)
        with pytest.raises(zorgflow.TransitionRejected, match="toestemming_informatiedeling"):
            engine.fire(case, "informatie_gedeeld", actor=actor, at=AT)
    forgotten = engine.set_facts(case, {"toestemming_informatiedeling": None}, actor=CO, at=AT)
    with pytest.raises(zorgflow.TransitionRejected, match="unknown"):
        engine.fire(forgotten, "informatie_gedeeld", actor=CO, at=AT)
    consent = engine.set_facts(case, {"toestemming_informatiedeling": True,
                                      "toestemming_gegeven_door": "client"}, actor=ZB, at=AT)
    assert engine.fire(consent, "informatie_gedeeld", actor=CO, at=AT).state == \
        "zorgplicht_bepalen"
    for event in ("naasten_overbelasting_nagaan", "zonder_toestemming_verder"):
        with pytest.raises(zorgflow.TransitionRejected, match="toestemming_informatiedeling"):
            engine.fire(consent, event, actor=CO, at=AT)


def test_stappenplan_the_zvh_shares_under_its_own_rules(engine: zorgflow.Engine) -> None:
    case = stap_2(engine)
    with pytest.raises(zorgflow.TransitionRejected, match="zvh_betrokken"):
        engine.fire(case, "informatie_via_zvh", actor=ZVH, at=AT)
    involved = engine.set_facts(case, {"zvh_betrokken": True}, actor=ZVH, at=AT)
    assert engine.allowed(involved, ZVH, AT) == ["informatie_via_zvh"]
    for actor in (CO, ZB):
        with pytest.raises(zorgflow.TransitionRejected, match="procesregisseur_zvh"):
            engine.fire(involved, "informatie_via_zvh", actor=actor, at=AT)
    assert engine.fire(involved, "informatie_via_zvh", actor=ZVH, at=AT).state == \
        "zorgplicht_bepalen"
    # without consent the practitioners go on without sharing anything
    on = engine.fire(case, "zonder_toestemming_verder", actor=ZB, at=AT)
    assert on.state == "zorgplicht_bepalen"
    assert on.history[-1].dossier is None


@pytest.mark.parametrize(("fact", "value", "may"), [
    ("toestemming_informatiedeling", True, {"clientondersteuner", "zorgbemiddelaar"}),
    ("toestemming_gegeven_door", "wettelijk_vertegenwoordiger",
     {"clientondersteuner", "zorgbemiddelaar"}),
    ("zvh_betrokken", True, {"clientondersteuner", "zorgbemiddelaar", "procesregisseur_zvh"}),
    ("behandelrelatie", True, {"zorgaanbieder"}),
    ("type_aanpak", "advies", {"clientondersteuner", "zorgbemiddelaar"}),
])
def test_stappenplan_who_may_set_what(engine: zorgflow.Engine, fact: str, value: Any,
                                      may: set[str]) -> None:
    case = engine.start("stappenplan", actor=CO, at=AT)
    for actor in (CO, ZB, ZA, ZVH):
        (role,) = actor.roles
        if role in may:
            assert engine.set_facts(case, {fact: value}, actor=actor, at=AT).facts[fact] == value
        else:
            with pytest.raises(zorgflow.TransitionRejected, match="may only be set by"):
                engine.set_facts(case, {fact: value}, actor=actor, at=AT)


def test_stappenplan_wlz_consultation_only_by_a_zorgaanbieder_with_a_behandelrelatie(
        engine: zorgflow.Engine) -> None:
    case = engine.start("stappenplan", actor=CO, at=AT)
    geraadpleegd = {"wlz_indicatie_geraadpleegd": True}
    for relatie in (None, False):
        c = case if relatie is None else engine.set_facts(case, {"behandelrelatie": relatie},
                                                           actor=ZA, at=AT)
        with pytest.raises(zorgflow.TransitionRejected, match="when behandelrelatie"):
            engine.set_facts(c, geraadpleegd, actor=ZA, at=AT)
    relation = engine.set_facts(case, {"behandelrelatie": True}, actor=ZA, at=AT)
    with pytest.raises(zorgflow.TransitionRejected, match="only be set by zorgaanbieder"):
        engine.set_facts(relation, geraadpleegd, actor=CO, at=AT)
    done = engine.set_facts(relation, geraadpleegd, actor=ZA, at=AT)
    assert done.facts["wlz_indicatie_geraadpleegd"] is True
    assert done.history[-1].actor == ZA.id  # the engine records which aanbieder set it


# -- stappenplan: the signal on day 5 (Stappenplan, 3. Zorgplicht, Overzicht zorgplicht) -----------

START = datetime(2026, 1, 5, 9, 0, tzinfo=AMS)


@pytest.mark.parametrize(
    ("ingangsdatum", "at", "due"),
    [
        ("2026-03-01", datetime(2026, 3, 5, 23, 59, 59, tzinfo=AMS), False),  # day 4
        ("2026-03-01", datetime(2026, 3, 6, 0, 0, tzinfo=AMS), True),  # day 5
        ("2026-03-01", datetime(2026, 3, 5, 22, 59, tzinfo=UTC), False),  # 23:59 in Amsterdam
        ("2026-03-01", datetime(2026, 3, 5, 23, 0, tzinfo=UTC), True),  # 00:00 in Amsterdam
        # across the change to summer time (29 March) and to winter time (25 October)
        ("2026-03-25", datetime(2026, 3, 29, 23, 59, tzinfo=AMS), False),
        ("2026-03-25", datetime(2026, 3, 30, 0, 0, tzinfo=AMS), True),
        ("2026-10-21", datetime(2026, 10, 25, 23, 59, tzinfo=AMS), False),
        ("2026-10-21", datetime(2026, 10, 26, 0, 0, tzinfo=AMS), True),
    ],
)
@pytest.mark.parametrize("overgang_van", ["jeugdwet", "wmo"])
def test_stappenplan_day_5_signal_agrees_with_the_table(engine: zorgflow.Engine,
                                                        ingangsdatum: str, at: datetime,
                                                        due: bool, overgang_van: str) -> None:
    facts = {"wet": "wlz", "overgang_van": overgang_van, "wlz_ingangsdatum": ingangsdatum}
    case = engine.start("stappenplan", actor=CO, facts=facts, at=START)
    signals = [s for s in engine.due(case, at) if s.name == "zorgplicht_naar_zorgkantoor"]
    assert bool(signals) is due
    if due:
        day_5 = date.fromisoformat(ingangsdatum).toordinal() + 5
        assert signals[0].due_at == datetime.combine(date.fromordinal(day_5), datetime.min.time(),
                                                     tzinfo=AMS)
    expected = "zorgkantoor" if due else "gemeente"
    assert zorgplicht(engine, facts, at=at).outcome["verantwoordelijk"] == expected


@pytest.mark.parametrize("facts", [
    {"wet": "wlz"},  # no transition: the zorgkantoor from the start
    {"wet": "wmo", "overgang_van": "jeugdwet"},
    {"wet": "zvw", "overgang_van": "jeugdwet"},
    {"overgang_van": "wmo"},  # the law is unknown
    {"wet": "wlz", "overgang_van": "wmo", "wlz_ingangsdatum": None},  # no date to count from
])
def test_stappenplan_no_day_5_signal_without_a_transition_to_the_wlz(
        engine: zorgflow.Engine, facts: dict[str, Any]) -> None:
    facts = {"wlz_ingangsdatum": "2026-03-01", **facts}
    facts = {k: v for k, v in facts.items() if v is not None}
    case = engine.start("stappenplan", actor=CO, facts=facts, at=START)
    assert [s.name for s in engine.due(case, datetime(2026, 6, 1, tzinfo=AMS))] == []


def test_stappenplan_no_day_5_signal_once_the_case_is_closed(engine: zorgflow.Engine) -> None:
    facts = {**CHECKLIST, "toestemming_informatiedeling": True, "wet": "wlz",
             "overgang_van": "wmo", "wlz_ingangsdatum": "2026-03-01"}
    case = engine.start("stappenplan", actor=CO, facts=facts, at=AT)
    for event, data in (("inventarisatie_afgerond", None), ("informatie_gedeeld", None),
                        ("zorgplicht_bepaald", None),
                        ("interventie_gekozen", {"gekozen_interventie": "overbrugging"})):
        case = engine.fire(case, event, actor=CO, data=data, at=AT)
    day_5 = datetime(2026, 3, 6, 0, 0, tzinfo=AMS)
    assert [s.name for s in engine.due(case, day_5)] == ["zorgplicht_naar_zorgkantoor"]
    closed = engine.fire(case, "afronden", actor=ZB, at=AT)
    assert engine.due(closed, day_5) == []
