"""The ``zgw:`` block and ``zorgflow export zgw`` (issue 19, item 1): each shipped workflow's
export validates against the Catalogi API 1.3.3 schemas and the ztc rules that apply to one
zaaktype; bad blocks are ``validate`` errors at ``file:line:column``; the Selectielijst is
checked only when given; the command's exit codes.

The published standards are read from ``$ZORGFLOW_STANDARDS`` (default: ``shared/standards``
beside the repository; fixture ``standards`` in conftest), never from the repository.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from zgw_schemas import as_request_schema, component_schemas, validator_for

import zorgflow
from zorgflow.cli import main

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / "workflows"
SHIPPED = ("lzn", "levensloop", "stappenplan")
RESOURCES = {"zaaktype": "ZaakType", "statustypen": "StatusType",
             "resultaattypen": "ResultaatType", "roltypen": "RolType",
             "eigenschappen": "Eigenschap"}
UUID = re.compile(r"/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
OTHER_CATALOGUS = "https://zaken.gemeente.example/catalogi/api/v1/catalogussen/" \
                  "0c1d8d35-8a5e-4b8b-9e4b-6f3c2e1f0a11"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


# -- the standards, as a test can use them -------------------------------------------------


@pytest.fixture(scope="module")
def catalogi(standards: Path) -> dict[str, Any]:
    """The component schemas of catalogi-openapi.yaml (Catalogi API 1.3.3)."""
    return component_schemas(standards / "zgw" / "catalogi-openapi.yaml")


def test_the_rewrite_drops_only_readonly_and_undeclared_required_names(
        catalogi: dict[str, Any]) -> None:
    for name in RESOURCES.values():
        original = catalogi[name]
        rewritten = as_request_schema(copy.deepcopy(original))
        dropped = set(original["required"]) - set(rewritten["required"])
        undeclared = {n for n in original["required"] if n not in original["properties"]}
        read_only = {n for n, p in original["properties"].items() if p.get("readOnly")}
        assert dropped == (read_only & set(original["required"])) | undeclared
    assert {n for n in catalogi["ZaakType"]["required"]
            if n not in catalogi["ZaakType"]["properties"]} == {"resultaattypeOmschrijving"}


@pytest.fixture(scope="module")
def selectielijst(standards: Path) -> dict[str, Any]:
    """The Selectielijst 2020 fixture: procestypen by uuid and resultaten by uuid (each with
    the uuid of its procestype)."""
    records = json.loads((standards / "selectielijst" / "selectielijst_2020.json")
                         .read_text(encoding="utf-8"))
    by_pk = {r["pk"]: r["fields"] for r in records if r["model"] == "selectielijst.procestype"}
    resultaten = {r["fields"]["uuid"]: {**r["fields"],
                                        "procestype": by_pk[r["fields"]["proces_type"]]["uuid"]}
                  for r in records if r["model"] == "selectielijst.resultaat"}
    return {"procestypen": {p["uuid"]: p for p in by_pk.values()}, "resultaten": resultaten}


@pytest.fixture(scope="module")
def generic_results(standards: Path) -> set[str]:
    """The UUIDs of the generic result types in the referentielijsten fixture."""
    records = json.loads((standards / "referentielijsten" / "resultaattypeomschrijvingen.json")
                         .read_text(encoding="utf-8"))
    return {r["fields"]["uuid"] for r in records}


def uuid_of(url: str) -> str:
    match = UUID.search(url)
    assert match, url
    return match.group(1)


# -- the shipped workflows ------------------------------------------------------------------


@pytest.fixture(scope="module", params=SHIPPED)
def shipped(request: pytest.FixtureRequest) -> tuple[zorgflow.Workflow, dict[str, Any]]:
    workflow = zorgflow.load_workflow(WORKFLOWS / f"{request.param}.yaml")
    return workflow, zorgflow.export_zaaktype(workflow)


def resources(envelope: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, name in RESOURCES.items():
        items = envelope[key] if isinstance(envelope[key], list) else [envelope[key]]
        for item in items:
            yield name, item


def test_each_resource_validates_against_its_catalogi_schema(
        shipped: tuple[zorgflow.Workflow, dict[str, Any]], catalogi: dict[str, Any]) -> None:
    _, envelope = shipped
    assert list(envelope) == list(RESOURCES)
    assert all(envelope[key] for key in RESOURCES), "every list has resources"
    for name, resource in resources(envelope):
        errors = [f"{name}.{'.'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in validator_for(catalogi, name).iter_errors(resource)]
        assert errors == []
        declared = catalogi[name]["properties"]
        assert set(resource) <= set(declared), f"{name}: undeclared {set(resource) - set(declared)}"
        read_only = {key for key in resource if declared[key].get("readOnly")}
        assert read_only == set(), f"{name} sends readOnly attributes {read_only}"


def test_a_broken_resource_fails_the_same_validation(
        shipped: tuple[zorgflow.Workflow, dict[str, Any]], catalogi: dict[str, Any]) -> None:
    _, envelope = shipped
    zaaktype = dict(envelope["zaaktype"], vertrouwelijkheidaanduiding="geheimpje",
                    handelingInitiator="x" * 21)
    del zaaktype["doel"]
    messages = [e.message for e in validator_for(catalogi, "ZaakType").iter_errors(zaaktype)]
    assert len(messages) == 3, messages
    rol = dict(envelope["roltypen"][0], omschrijvingGeneriek="regisseur")
    assert not validator_for(catalogi, "RolType").is_valid(rol)
    status = dict(envelope["statustypen"][0], volgnummer="1")
    assert not validator_for(catalogi, "StatusType").is_valid(status)


def test_statustypen_one_per_open_state_in_order_then_one_eindstatus(
        shipped: tuple[zorgflow.Workflow, dict[str, Any]]) -> None:
    workflow, envelope = shipped
    statustypen = envelope["statustypen"]
    open_states = [s for s in workflow.states.values() if not s.final]
    numbers = [s["volgnummer"] for s in statustypen]
    assert numbers == list(range(1, len(open_states) + 2)), "unique, in order, from 1"
    assert [s["omschrijving"] for s in statustypen[:-1]] == [s.label for s in open_states]
    eind = max(statustypen, key=lambda s: s["volgnummer"])
    assert eind is statustypen[-1]
    assert eind["omschrijving"] == workflow.zgw.eindstatus_omschrijving
    assert len({s["omschrijving"] for s in statustypen}) == len(statustypen)


def test_every_resource_points_at_the_zaaktype_made_from_the_catalogus(
        shipped: tuple[zorgflow.Workflow, dict[str, Any]]) -> None:
    workflow, envelope = shipped
    catalogus = workflow.zgw.catalogus
    assert envelope["zaaktype"]["catalogus"] == catalogus
    root = catalogus.split("/catalogussen/")[0]
    urls = {resource["zaaktype"] for name, resource in resources(envelope)
            if name != "ZaakType"}
    assert len(urls) == 1
    (zaaktype,) = urls
    assert re.fullmatch(re.escape(root) + r"/zaaktypen/[0-9a-f-]{36}", zaaktype)
    assert zorgflow.export_zaaktype(workflow) == envelope, "the same each time"
    other = zorgflow.export_zaaktype(workflow, OTHER_CATALOGUS)
    assert other["zaaktype"]["catalogus"] == OTHER_CATALOGUS
    assert other["roltypen"][0]["zaaktype"].startswith(
        "https://zaken.gemeente.example/catalogi/api/v1/zaaktypen/")
    assert uuid_of(other["roltypen"][0]["zaaktype"]) != uuid_of(zaaktype)


def test_roltypen_cover_every_role_and_case_role(
        shipped: tuple[zorgflow.Workflow, dict[str, Any]]) -> None:
    workflow, envelope = shipped
    assert [r["omschrijving"] for r in envelope["roltypen"]] == \
        [workflow.zgw.roles[rid].omschrijving for rid in workflow.roles]
    generic = {r["omschrijving"]: r["omschrijvingGeneriek"] for r in envelope["roltypen"]}
    for role in workflow.roles.values():
        assert generic[workflow.zgw.roles[role.id].omschrijving] == \
            workflow.zgw.roles[role.id].omschrijving_generiek, role.id


def test_results_follow_the_selectielijst_and_ztc_rules(
        shipped: tuple[zorgflow.Workflow, dict[str, Any]], selectielijst: dict[str, Any],
        generic_results: set[str]) -> None:
    _, envelope = shipped
    procestype = uuid_of(envelope["zaaktype"]["selectielijstProcestype"])
    assert procestype in selectielijst["procestypen"], "ztc-001"
    for resultaat in envelope["resultaattypen"]:
        klasse = selectielijst["resultaten"][uuid_of(resultaat["selectielijstklasse"])]
        assert klasse["procestype"] == procestype, "ztc-002: a class of the zaaktype's procestype"
        assert uuid_of(resultaat["resultaattypeomschrijving"]) in generic_results
        assert resultaat["archiefnominatie"] == klasse["waardering"]
        assert resultaat.get("archiefactietermijn") == klasse["bewaartermijn"]
        brondatum = resultaat["brondatumArchiefprocedure"]
        how = brondatum["afleidingswijze"]
        if klasse["procestermijn"] == "nihil":
            assert how == "afgehandeld", "ztc-003"
        if klasse["procestermijn"] == "ingeschatte_bestaansduur_procesobject":
            assert how == "termijn", "ztc-003"
        assert ("datumkenmerk" in brondatum) == (
            how in ("eigenschap", "zaakobject", "ander_datumkenmerk")), "ztc-004"
        assert "einddatumBekend" not in brondatum or how not in ("afgehandeld", "termijn")
        assert ("objecttype" in brondatum) == (how in ("zaakobject", "ander_datumkenmerk"))
        assert ("registratie" in brondatum) == (how == "ander_datumkenmerk"), "ztc-007"
        assert ("procestermijn" in brondatum) == (how == "termijn"), "ztc-008"


def test_every_way_to_end_a_case_has_a_result(
        shipped: tuple[zorgflow.Workflow, dict[str, Any]]) -> None:
    workflow, envelope = shipped
    names = {r["omschrijving"] for r in envelope["resultaattypen"]}
    for t in workflow.transitions:
        if t.returns or not workflow.states[t.target].final:
            continue
        values: dict[str, tuple[Any, ...]] = {
            name: field.type.values if field.type.name == "enum" else (True, False)
            for name, field in t.data.items() if field.type.name in ("enum", "boolean")}
        for name, options in [*values.items(), ("", ("",))]:
            for value in options:
                result = workflow.zgw.result_of(t.target, t.event, {name: value} if name else {})
                assert result is not None and result.omschrijving in names, (t.event, value)


def test_eigenschappen_never_carry_personal_data(
        shipped: tuple[zorgflow.Workflow, dict[str, Any]]) -> None:
    workflow, envelope = shipped
    facts = {p.naam: workflow.facts[p.fact] for p in workflow.zgw.properties}
    assert [e["naam"] for e in envelope["eigenschappen"]] == list(facts)
    for eigenschap in envelope["eigenschappen"]:
        fact = facts[eigenschap["naam"]]
        assert not fact.personal_data and not fact.special_category
        assert fact.type.name not in ("string", "list")
        spec = eigenschap["specificatie"]
        if fact.type.name == "enum":
            assert spec["waardenverzameling"] == list(fact.type.values)
            assert int(spec["lengte"]) == max(map(len, fact.type.values))


def test_the_lzn_maps_a_closing_reason_to_its_own_result() -> None:
    workflow = zorgflow.load_workflow(WORKFLOWS / "lzn.yaml")
    zgw = workflow.zgw
    assert zgw is not None
    closing = zgw.result_of("afgesloten", "afsluiten", {"afsluitreden": "geen_perspectief"})
    other = zgw.result_of("afgesloten", "afsluiten", {"afsluitreden": "zorg_bij_ketenpartner"})
    handed = zgw.result_of("afgesloten", "overgedragen_ander_netwerk", {"netwerk": "lthg"})
    assert closing is not None and other is not None
    assert closing.omschrijving == "Afgesloten zonder perspectief"
    assert other.omschrijving == "Afgesloten" and handed == other
    assert closing.archiefactietermijn == "P15Y" and other.archiefactietermijn == "P20Y"


def test_the_shipped_workflows_pass_validate_with_the_selectielijst(standards: Path) -> None:
    fixture = str(standards / "selectielijst" / "selectielijst_2020.json")
    code, out = run("validate", "--selectielijst", fixture, str(WORKFLOWS))
    assert code == 0, out
    assert out.count("OK ") == 3


# -- a small workflow with a zgw: block, and what goes wrong in one --------------------------

MINI = """\
id: aanvraag
version: 1
label: Aanvraag ondersteuning
start_by: [loket]
roles:
  loket: {label: Loketmedewerker}
  consulent: {label: Consulent, case_role: true}
facts:
  bsn: {type: string, label: BSN, personal_data: true}
  diagnose: {type: enum, values: [a, b], label: Diagnose, special_category: true}
  notitie: {type: string, label: Notitie}
  spoed: {type: boolean, label: Spoed}
  ingangsdatum: {type: date, label: Ingangsdatum}
states:
  ingediend: {label: Ingediend, initial: true}
  onderzoek: {label: Onderzoek}
  toegekend: {label: Toegekend, final: true}
  afgewezen: {label: Afgewezen, final: true}
transitions:
  - event: in_onderzoek
    from: ingediend
    to: onderzoek
    by: [loket]
    data:
      consulent: {type: string, label: Consulent}
    assigns: {consulent: data.consulent}
  - event: besluiten
    from: onderzoek
    to: toegekend
    by: [consulent]
    data:
      uitkomst: {type: enum, values: [volledig, gedeeltelijk], label: Uitkomst}
  - {event: afwijzen, from: onderzoek, to: afgewezen, by: [consulent]}
zgw:
  catalogus: https://openzaak.example.nl/catalogi/api/v1/catalogussen/6b0b3a84-1c0f-4f2e-9d53-2b5d41c2f0a7
  doel: Ondersteuning toekennen waar die nodig is.
  aanleiding: Een aanvraag van een inwoner.
  onderwerp: Ondersteuning
  handeling_initiator: Aanvragen
  handeling_behandelaar: Beoordelen
  doorlooptijd: P8W
  vertrouwelijkheidaanduiding: zaakvertrouwelijk
  indicatie_intern_of_extern: extern
  opschorting_en_aanhouding_mogelijk: false
  verlenging_mogelijk: false
  publicatie_indicatie: false
  producten_of_diensten: []
  referentieproces: {naam: Aanvraag}
  verantwoordelijke: Team Wmo
  begin_geldigheid: "2026-01-01"
  selectielijst_procestype: https://selectielijst.openzaak.nl/api/v1/procestypen/bd1ec0a0-0ecd-4046-8372-dcb6bdfda891
  rollen:
    loket: {omschrijving_generiek: klantcontacter}
    consulent: {omschrijving_generiek: behandelaar}
  resultaten:
    - omschrijving: Gedeeltelijk verstrekt
      state: toegekend
      event: besluiten
      data: {uitkomst: gedeeltelijk}
      resultaattypeomschrijving: https://referentielijsten-api.vng.cloud/api/v1/resultaattypeomschrijvingen/fb65d251-1518-4185-865f-b8bdcfad07b1
      selectielijstklasse: https://selectielijst.openzaak.nl/api/v1/resultaten/d97defa2-764f-402c-b3d7-b8db60ae340b
      archiefnominatie: vernietigen
      archiefactietermijn: P15Y
      brondatum: {afleidingswijze: afgehandeld}
    - omschrijving: Verstrekt
      state: toegekend
      resultaattypeomschrijving: https://referentielijsten-api.vng.cloud/api/v1/resultaattypeomschrijvingen/fb65d251-1518-4185-865f-b8bdcfad07b1
      selectielijstklasse: https://selectielijst.openzaak.nl/api/v1/resultaten/d97defa2-764f-402c-b3d7-b8db60ae340b
      archiefnominatie: vernietigen
      archiefactietermijn: P15Y
      brondatum: {afleidingswijze: afgehandeld}
    - omschrijving: Geweigerd
      state: afgewezen
      resultaattypeomschrijving: https://referentielijsten-api.vng.cloud/api/v1/resultaattypeomschrijvingen/e6a0c939-3404-45b0-88e3-76c94fb80ea7
      selectielijstklasse: https://selectielijst.openzaak.nl/api/v1/resultaten/e2068367-1012-4795-984e-72901180ff80
      archiefnominatie: vernietigen
      archiefactietermijn: P5Y
      brondatum: {afleidingswijze: afgehandeld}
  eigenschappen:
    - {fact: spoed}
    - {fact: ingangsdatum}
"""
#: a class of procestype 3 (Plannen opstellen): in the list, not of the mini's procestype 8
OTHER_PROCESTYPE_CLASS = "5fc5fe96-b02a-408d-adc8-498249582d09"
WMO_VERSTREKT = "d97defa2-764f-402c-b3d7-b8db60ae340b"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aanvraag.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def changed(old: str, new: str, text: str = MINI, count: int = 1) -> str:
    assert text.count(old) >= count, old
    return text.replace(old, new, count)


def position(text: str, needle: str, offset: int = 0) -> tuple[int, int]:
    """The line and column (1-based) of ``needle`` (plus ``offset`` characters) in text."""
    at = text.index(needle) + offset
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def validate_fails(tmp_path: Path, text: str, *extra: str) -> str:
    """The output of ``zorgflow validate`` for a text that must fail (exit 1)."""
    code, out = run("validate", *extra, str(write(tmp_path, text)))
    assert code == 1, out
    assert re.search(r"aanvraag\.yaml:\d+:\d+: ", out), out
    return out


def test_the_mini_workflow_loads_and_exports(tmp_path: Path, catalogi: dict[str, Any]) -> None:
    workflow = zorgflow.load_workflow(write(tmp_path, MINI))
    envelope = zorgflow.export_zaaktype(workflow)
    for name, resource in resources(envelope):
        assert validator_for(catalogi, name).is_valid(resource), (name, resource)
    assert [s["omschrijving"] for s in envelope["statustypen"]] == \
        ["Ingediend", "Onderzoek", "Afgehandeld"]
    specs = {e["naam"]: e["specificatie"] for e in envelope["eigenschappen"]}
    assert specs["ingangsdatum"] == {"formaat": "datum", "lengte": "8", "kardinaliteit": "1"}
    assert specs["spoed"]["waardenverzameling"] == ["true", "false"]


def test_a_workflow_without_a_zgw_block_loads_as_before(tmp_path: Path) -> None:
    text = MINI.split("zgw:\n", 1)[0].replace("special_category: true", "personal_data: true")
    workflow = zorgflow.load_workflow(write(tmp_path, text))
    assert workflow.zgw is None
    with pytest.raises(zorgflow.WorkflowError, match="no zgw: block") as caught:
        zorgflow.export_zaaktype(workflow)
    assert "add one" in str(caught.value)


def test_a_result_without_selectielijstklasse(tmp_path: Path) -> None:
    text = changed("      selectielijstklasse: https://selectielijst.openzaak.nl/api/v1/"
                   f"resultaten/{WMO_VERSTREKT}\n      archiefnominatie: vernietigen\n"
                   "      archiefactietermijn: P15Y\n      brondatum: {afleidingswijze: "
                   "afgehandeld}\n    - omschrijving: Verstrekt",
                   "      archiefnominatie: vernietigen\n      archiefactietermijn: P15Y\n"
                   "      brondatum: {afleidingswijze: afgehandeld}\n"
                   "    - omschrijving: Verstrekt")
    out = validate_fails(tmp_path, text)
    line, _ = position(text, "- omschrijving: Gedeeltelijk verstrekt")
    assert f"aanvraag.yaml:{line}:" in out
    assert "zgw.resultaten.0 is missing 'selectielijstklasse'" in out


def test_a_role_without_omschrijving_generiek(tmp_path: Path) -> None:
    text = changed("    consulent: {omschrijving_generiek: behandelaar}\n", "")
    out = validate_fails(tmp_path, text)
    line, column = position(text, "rollen:")
    assert f"aanvraag.yaml:{line}:{column}: role 'consulent' has no omschrijving_generiek" in out
    assert "zaakcoordinator" in out, "the allowed values"


def test_unknown_enum_values(tmp_path: Path) -> None:
    text = changed("vertrouwelijkheidaanduiding: zaakvertrouwelijk",
                   "vertrouwelijkheidaanduiding: zaakvertrouwlijk")
    text = changed("{omschrijving_generiek: klantcontacter}",
                   "{omschrijving_generiek: regisseur}", text)
    text = changed("{afleidingswijze: afgehandeld}\n  eigenschappen",
                   "{afleidingswijze: afgehandelt}\n  eigenschappen", text)
    out = validate_fails(tmp_path, text)
    for needle, offset, hint in (("zaakvertrouwlijk", 0, "did you mean 'zaakvertrouwelijk'"),
                                 ("regisseur}", 0, "not one of adviseur"),
                                 ("afgehandelt", 0, "did you mean 'afgehandeld'")):
        line, column = position(text, needle, offset)
        assert re.search(rf"aanvraag\.yaml:{line}:{column}: .*{hint}", out), (needle, out)


@pytest.mark.parametrize(("fact", "says"), [
    ("bsn", "'bsn' is personal data and never leaves the case"),
    ("diagnose", "'diagnose' is a special category of personal data"),
    ("notitie", "'notitie' is text; only a boolean, enum, number, date or datetime fact"),
])
def test_eigenschappen_refuse_personal_special_and_free_text_facts(
        tmp_path: Path, fact: str, says: str) -> None:
    text = changed("    - {fact: spoed}\n", f"    - {{fact: spoed}}\n    - {{fact: {fact}}}\n")
    out = validate_fails(tmp_path, text)
    line, column = position(text, f"{{fact: {fact}}}", len("{fact: "))
    assert f"aanvraag.yaml:{line}:{column}: {says}" in out


def test_a_long_fact_id_needs_a_naam(tmp_path: Path) -> None:
    text = changed("  spoed: {type: boolean", "  spoedeisende_aanvraag_x: {type: boolean")
    text = changed("{fact: spoed}", "{fact: spoedeisende_aanvraag_x}", text)
    out = validate_fails(tmp_path, text)
    assert "an Eigenschap naam holds at most 20: add 'naam:'" in out
    text = changed("{fact: spoedeisende_aanvraag_x}",
                   "{fact: spoedeisende_aanvraag_x, naam: spoed}", text)
    assert run("validate", str(write(tmp_path, text)))[0] == 0


def test_a_way_to_end_a_case_without_a_result(tmp_path: Path) -> None:
    start = MINI.index("    - omschrijving: Verstrekt")
    end = MINI.index("    - omschrijving: Geweigerd")
    text = MINI[:start] + MINI[end:]
    out = validate_fails(tmp_path, text)
    line, column = position(text, "resultaten:")
    assert (f"aanvraag.yaml:{line}:{column}: a case that ends by 'besluiten' into 'toegekend' "
            "with uitkomst 'volledig' matches no result") in out


def test_a_result_that_never_applies(tmp_path: Path) -> None:
    first = MINI.index("    - omschrijving: Gedeeltelijk verstrekt")
    second = MINI.index("    - omschrijving: Verstrekt")
    third = MINI.index("    - omschrijving: Geweigerd")
    text = MINI[:first] + MINI[second:third] + MINI[first:second] + MINI[third:]
    out = validate_fails(tmp_path, text)
    line, column = position(text, "- omschrijving: Gedeeltelijk verstrekt", 2)
    assert f"aanvraag.yaml:{line}:{column}: result 'Gedeeltelijk verstrekt' never applies" in out


def test_result_conditions_name_what_exists(tmp_path: Path) -> None:
    text = changed("      state: toegekend\n      event: besluiten\n      data: {uitkomst: "
                   "gedeeltelijk}", "      state: onderzoek\n      event: afwijzen\n"
                   "      data: {uitkomst: gedeeltelijkk}")
    out = validate_fails(tmp_path, text)
    line, column = position(text, "state: onderzoek", len("state: "))
    assert f"aanvraag.yaml:{line}:{column}: 'onderzoek' is not a final state" in out
    text = changed("data: {uitkomst: gedeeltelijk}", "data: {uitkomst: gedeeltelijkk}")
    out = validate_fails(tmp_path, text)
    line, column = position(text, "gedeeltelijkk")
    assert f"aanvraag.yaml:{line}:{column}: 'gedeeltelijkk' is not a value of 'uitkomst'" in out
    assert "did you mean 'gedeeltelijk'" in out


@pytest.mark.parametrize(("old", "new", "needle", "says"), [
    ("catalogussen/6b0b3a84", "catalogi/6b0b3a84", "https://openzaak",
     "is not the URL of a catalogus in the Catalogi API"),
    (f"resultaten/{WMO_VERSTREKT}\n      archiefnominatie: vernietigen\n      "
     "archiefactietermijn: P15Y\n      brondatum: {afleidingswijze: afgehandeld}\n    - "
     "omschrijving: Verstrekt", "resultaat/1234\n      archiefnominatie: vernietigen\n      "
     "archiefactietermijn: P15Y\n      brondatum: {afleidingswijze: afgehandeld}\n    - "
     "omschrijving: Verstrekt", "https://selectielijst.openzaak.nl/api/v1/resultaat/",
     "is not the URL of a Resultaat of the Selectielijst API"),
    ("doorlooptijd: P8W", "doorlooptijd: 8 weken", "8 weken", "is not an ISO 8601 duration"),
    ("verlenging_mogelijk: false", "verlenging_mogelijk: true", "true\n  publicatie",
     "add 'verlengingstermijn:'"),
    ("begin_geldigheid: \"2026-01-01\"", "begin_geldigheid: \"2026-02-30\"", "\"2026-02-30\"",
     "is not a valid date"),
    ("      archiefactietermijn: P5Y\n", "", "archiefnominatie: vernietigen\n      brondatum",
     "a result to destroy needs 'archiefactietermijn:'"),
    ("{afleidingswijze: afgehandeld}\n  eigenschappen", "{afleidingswijze: termijn}\n  "
     "eigenschappen", "{afleidingswijze: termijn}", "afleidingswijze 'termijn' needs "
     "'procestermijn:' (ztc-008)"),
    ("{afleidingswijze: afgehandeld}\n  eigenschappen", "{afleidingswijze: ingangsdatum_besluit}"
     "\n  eigenschappen", "ingangsdatum_besluit", "needs a besluittype, and the export has "
     "none"),
    ("{afleidingswijze: afgehandeld}\n  eigenschappen", "{afleidingswijze: eigenschap, "
     "datumkenmerk: spoed}\n  eigenschappen", "spoed}\n  eigenschappen",
     "'spoed' is not the naam of a date Eigenschap of zgw.eigenschappen (one of ingangsdatum)"),
    ("handeling_initiator: Aanvragen", "handeling_initiator: Aanvragen en indienen bij",
     "Aanvragen en", "is 25 characters long, more than the 20 allowed"),
])
def test_values_in_the_wrong_form(tmp_path: Path, old: str, new: str, needle: str,
                                  says: str) -> None:
    text = changed(old, new)
    out = validate_fails(tmp_path, text)
    line, column = position(text, needle)
    assert any(f"aanvraag.yaml:{line}:" in row and says in row for row in out.splitlines()), \
        (line, column, out)


def test_a_state_label_that_is_also_the_eindstatus(tmp_path: Path) -> None:
    text = changed("onderzoek: {label: Onderzoek}", "onderzoek: {label: Afgehandeld}")
    out = validate_fails(tmp_path, text)
    line, column = position(text, "Afgehandeld}")
    assert f"aanvraag.yaml:{line}:{column}: state 'onderzoek' has the label of the eindstatus" \
        in out
    text = changed("  referentieproces:", "  eindstatus: {omschrijving: Besloten}\n"
                   "  referentieproces:", text)
    assert run("validate", str(write(tmp_path, text)))[0] == 0


# -- the Selectielijst: checked only when given ---------------------------------------------


def test_classes_are_checked_against_the_selectielijst_only_when_given(
        tmp_path: Path, standards: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixture = str(standards / "selectielijst" / "selectielijst_2020.json")
    unknown = "00000000-0000-4000-8000-000000000000"
    text = changed(WMO_VERSTREKT, unknown)
    file = str(write(tmp_path, text))
    monkeypatch.delenv("ZORGFLOW_SELECTIELIJST", raising=False)
    assert run("validate", file)[0] == 0, "without a list only the form is checked"
    out = validate_fails(tmp_path, text, "--selectielijst", fixture)
    line, column = position(text, f"https://selectielijst.openzaak.nl/api/v1/resultaten/{unknown}")
    assert (f"aanvraag.yaml:{line}:{column}: result 'Gedeeltelijk verstrekt': class {unknown} "
            "is not in the Selectielijst") in out
    assert "8.1.1 Verstrekt (WMO voorziening)" in out, "it names the procestype's classes"
    monkeypatch.setenv("ZORGFLOW_SELECTIELIJST", fixture)
    code, env_out = run("validate", file)
    assert code == 1 and f"aanvraag.yaml:{line}:{column}: " in env_out
    code, check_out = run("check", file)
    assert code == 1 and "is not in the Selectielijst" in check_out
    code, export_out = run("export", "zgw", file)
    assert code == 1 and export_out == ""
    monkeypatch.setenv("ZORGFLOW_SELECTIELIJST", str(tmp_path / "geen.json"))
    assert run("validate", file)[0] == 2


@pytest.mark.parametrize(("old", "new", "needle", "says"), [
    (WMO_VERSTREKT, OTHER_PROCESTYPE_CLASS,
     f"https://selectielijst.openzaak.nl/api/v1/resultaten/{OTHER_PROCESTYPE_CLASS}",
     "belongs to procestype 3 Plannen opstellen, not to the zaaktype's 8 Voorzieningen "
     "verstrekken (ztc-002)"),
    ("archiefactietermijn: P15Y", "archiefactietermijn: P10Y", "P10Y",
     "the Selectielijst keeps class 8.1.1 Verstrekt (WMO voorziening) for P15Y: write "
     "'archiefactietermijn: P15Y'"),
    ("archiefnominatie: vernietigen", "archiefnominatie: blijvend_bewaren", "blijvend_bewaren",
     "the Selectielijst says 'vernietigen'"),
    ("procestypen/bd1ec0a0-0ecd-4046-8372-dcb6bdfda891",
     "procestypen/00000000-0000-4000-8000-000000000000", "https://selectielijst.openzaak.nl/api/"
     "v1/procestypen/", "is not in the Selectielijst"),
    ("{afleidingswijze: afgehandeld}\n    - omschrijving: Verstrekt", "{afleidingswijze: "
     "eigenschap, datumkenmerk: ingangsdatum}\n    - omschrijving: Verstrekt",
     "eigenschap, datumkenmerk", "has procestermijn 'nihil', so the afleidingswijze must be "
     "'afgehandeld' (ztc-003)"),
])
def test_selectielijst_mismatches(tmp_path: Path, standards: Path, old: str, new: str,
                                  needle: str, says: str) -> None:
    fixture = str(standards / "selectielijst" / "selectielijst_2020.json")
    text = changed(old, new)
    assert run("validate", str(write(tmp_path, text)))[0] == 0, "the form is right"
    out = validate_fails(tmp_path, text, "--selectielijst", fixture)
    line, column = position(text, needle)
    assert f"aanvraag.yaml:{line}:{column}: " in out and says in out, out
    with pytest.raises(zorgflow.WorkflowError, match=re.escape(says)):
        zorgflow.export_zaaktype(zorgflow.load_workflow(tmp_path / "aanvraag.yaml"),
                                 selectielijst=fixture)


# -- the command ----------------------------------------------------------------------------


def test_export_writes_the_envelope(tmp_path: Path) -> None:
    target = tmp_path / "uit" / "lzn.json"
    code, out = run("export", "zgw", str(WORKFLOWS / "lzn.yaml"), "-o", str(target))
    assert code == 0 and out == ""
    written = json.loads(target.read_text(encoding="utf-8"))
    assert written == zorgflow.export_zaaktype(zorgflow.load_workflow(WORKFLOWS / "lzn.yaml"))
    code, out = run("export", "zgw", str(WORKFLOWS / "lzn.yaml"), "--catalogus",
                    OTHER_CATALOGUS)
    assert code == 0
    assert json.loads(out)["zaaktype"]["catalogus"] == OTHER_CATALOGUS


def test_export_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lzn = str(WORKFLOWS / "lzn.yaml")
    assert run("export", "zgw", lzn, "--catalogus", "https://x.example/zaaktypen/1")[0] == 2
    assert "is not the URL of a catalogus" in capsys.readouterr().err
    assert run("export", "zgw", str(tmp_path / "geen.yaml"))[0] == 2
    assert run("export", "zgw")[0] == 2
    assert run("export", "json", lzn)[0] == 2
    no_block = MINI.split("zgw:\n", 1)[0]
    capsys.readouterr()
    assert run("export", "zgw", str(write(tmp_path, no_block)))[0] == 1
    err = capsys.readouterr().err
    assert "has no zgw: block" in err and "add one" in err and "Traceback" not in err
    broken = changed("    consulent: {omschrijving_generiek: behandelaar}\n", "")
    assert run("export", "zgw", str(write(tmp_path, broken)))[0] == 1
    err = capsys.readouterr().err
    assert re.search(r"aanvraag\.yaml:\d+:\d+: role 'consulent' has no omschrijving_generiek",
                     err), err
