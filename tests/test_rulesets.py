"""The three rule-set kinds on small inline workflows: criteria, tables, rankings.

Also: load-time overlap detection of unique tables, and `Decision` (lazy explanation,
JSON-serialisable ``to_dict``).
"""

from __future__ import annotations

import io
import itertools
import json
import math
import re
import sqlite3
import sys
from collections.abc import Callable
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zorgflow
from zorgflow import UNKNOWN, Decision, WorkflowError
from zorgflow.loader import load_workflow_text
from zorgflow.rules.rulesets import CompiledCriteria, CompiledRanking, CompiledTable

AMS = ZoneInfo("Europe/Amsterdam")
AT = datetime(2026, 3, 2, 10, 0, tzinfo=AMS)

HEAD = """\
id: proef
version: 1
label: Proef
start_by: [medewerker]
roles: {medewerker: {label: Medewerker}}
facts:
  a: {type: boolean, label: A}
  b: {type: boolean, label: B}
  c: {type: boolean, label: C}
  n: {type: integer, label: N}
  x: {type: number, label: X}
  s: {type: string, label: S}
  netwerk: {type: enum, values: [geen, lthg, zorg_en_veiligheidshuis, ander], label: Netwerk}
  thema: {type: string, label: Thema}
  kandidaten:
    type: list
    label: Kandidaten
    items:
      id: {type: string}
      expertise: {type: list, items: string}
      stemmen: {type: integer}
      vertrouwd: {type: boolean}
      geschikt: {type: boolean}
states:
  open: {label: Open, initial: true}
  dicht: {label: Dicht, final: true}
transitions:
  - {event: sluiten, from: open, to: dicht, by: [medewerker]}
"""

RULES = """\
rules:
  afsluiten:
    kind: criteria
    label: Afsluiten
    source: "proef, punt 0"
    criteria:
      alleen_a:
        label: Alleen A
        source: "proef, punt 1"
        when: a
      a_zonder_b:
        label: A en niet B
        all:
          - a
          - not b
      b_of_c:
        label: B of C
        any: [b, c]
      netwerk_bekend:
        label: Netwerk bekend en niet geen
        all: ["known(netwerk)", "netwerk != 'geen'"]

  getal:
    kind: table
    hit_policy: unique
    label: Getal
    inputs:
      n: {type: integer}
    outputs: [klasse]
    rows:
      - {id: negatief, when: {n: "< 0"}, then: {klasse: negatief}}
      - {id: laag, when: {n: "0..4"}, then: {klasse: laag}}
      - {id: hoog, when: {n: ">= 5"}, then: {klasse: hoog}}
      - {id: onbekend, when: {n: absent}, then: {klasse: onbekend}}

  netwerk_tabel:
    kind: table
    hit_policy: unique
    label: Netwerk
    inputs:
      netwerk: {type: enum, values: [geen, lthg, zorg_en_veiligheidshuis, ander]}
      a: {type: boolean}
    outputs: [antwoord]
    rows:
      - {id: geen, when: {netwerk: geen}, then: {antwoord: geen}}
      - {id: veilig, when: {netwerk: [lthg, zorg_en_veiligheidshuis], a: true},
         then: {antwoord: veilig}}
      - {id: veilig_niet_a, when: {netwerk: [lthg, zorg_en_veiligheidshuis], a: false},
         then: {antwoord: veilig_niet_a}}
      - {id: ander, when: {netwerk: "== ander", a: any}, then: {antwoord: ander}}

  uitsluiting:
    kind: table
    hit_policy: unique
    label: Ongelijk
    inputs:
      netwerk: {type: enum, values: [geen, lthg, zorg_en_veiligheidshuis, ander]}
    outputs: [o]
    rows:
      - {id: is_geen, when: {netwerk: geen}, then: {o: is_geen}}
      - {id: niet_geen, when: {netwerk: "!= geen"}, then: {o: niet_geen}}

  eerste:
    kind: table
    hit_policy: first
    label: Eerste
    inputs:
      a: {type: boolean}
      b: {type: boolean}
      n: {type: integer, from: "n + 1"}
    outputs: [welke]
    rows:
      - {id: rij_a, when: {a: true}, then: {welke: a}}
      - {id: rij_b, when: {b: true}, then: {welke: b}}
      - {id: rij_n, when: {n: "> 10"}, then: {welke: n}}
      - {id: rest, then: {welke: rest}}

  verzamel:
    kind: table
    hit_policy: collect
    label: Verzamel
    inputs:
      a: {type: boolean}
      b: {type: boolean}
      c: {type: boolean}
      s: {type: string}
    outputs: [advies, reden]
    rows:
      - {id: advies_a, when: {a: true}, then: {advies: advies_a, reden: A}}
      - {id: advies_b, when: {b: true}, then: {advies: advies_b, reden: B}}
      - {id: advies_c, when: {c: true}, then: {advies: advies_c, reden: C}}
      - {id: advies_s, when: {s: "!= x"}, then: {advies: advies_s, reden: S}}
      - {id: zonder_a, when: {a: false}, then: {advies: zonder_a, reden: niet A}}

  rangorde:
    kind: ranking
    label: Rangorde
    candidates: kandidaten
    candidate_id: id
    criteria:
      expertise:
        label: Expertise past
        source: "proef, criterium 1"
        weight: 3
        when: thema in kandidaat.expertise
      vertrouwd:
        label: Vertrouwd
        weight: 2
        when: kandidaat.vertrouwd
      stemmen:
        label: Stemmen
        weight: 0.5
        points: kandidaat.stemmen
      geschikt:
        label: Geschikt
        required: true
        weight: 1
        when: kandidaat.geschikt
"""


@pytest.fixture(scope="module")
def engine() -> zorgflow.Engine:
    return zorgflow.Engine([load_workflow_text(HEAD + RULES, "proef.yaml")])


def decide(engine: zorgflow.Engine, rule_set: str, **facts: Any) -> Decision:
    return engine.decide("proef", rule_set, facts, at=AT)


# -- criteria -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "matched", "holds"),
    [
        ({"a": True, "b": False, "c": True, "netwerk": "lthg"},
         ["alleen_a", "a_zonder_b", "b_of_c", "netwerk_bekend"], True),
        # outcome is in definition order, whatever holds
        ({"netwerk": "ander", "c": True}, ["b_of_c", "netwerk_bekend"], True),
        ({"a": True, "b": True}, ["alleen_a", "b_of_c"], True),
        ({"a": False, "b": False, "c": False, "netwerk": "geen"}, [], False),
        # nothing known: nothing holds, and the answer is unknown, not false
        ({}, [], UNKNOWN),
        # all of: a false clause makes it false, a missing one unknown
        ({"a": False, "c": False, "netwerk": "geen"}, [], UNKNOWN),  # b_of_c: b unknown
        ({"a": True, "b": False}, ["alleen_a", "a_zonder_b"], True),
        # any of: one true clause is enough, even when another is unknown
        ({"c": True}, ["b_of_c"], True),
        ({"b": False, "c": False, "a": False, "netwerk": "geen"}, [], False),
        # known() is never unknown, so netwerk_bekend is false (not unknown) without netwerk
        ({"a": False, "b": False, "c": False}, [], False),
    ],
)
def test_criteria_outcome(engine: zorgflow.Engine, facts: dict[str, Any], matched: list[str],
                          holds: Any) -> None:
    d = decide(engine, "afsluiten", **facts)
    assert d.matched == matched
    assert d.outcome == matched
    assert d.holds is holds
    assert d.unknown is (holds is UNKNOWN)


def test_criteria_explanation_one_line_per_criterion_and_clause(engine: zorgflow.Engine) -> None:
    d = decide(engine, "afsluiten", a=True, b=True)
    lines = d.explanation
    assert all(line.lstrip().split(":")[0] in ("true", "false", "unknown") for line in lines)
    heads = [line for line in lines if not line.startswith(" ")]
    assert [h.split(" — ")[0] for h in heads] == [
        "true: alleen_a", "false: a_zonder_b", "true: b_of_c", "false: netwerk_bekend"]
    assert heads[0] == "true: alleen_a — Alleen A  [bron: proef, punt 1]"
    assert heads[1].endswith("(all of)")
    assert heads[2].endswith("(any of)")
    assert "    true: a  (a = true)" in lines
    assert "    false: not b  (b = true)" in lines
    assert "    unknown: c  (c = unknown)" in lines
    assert "    false: known(netwerk)  (netwerk = unknown)" in lines
    assert "    unknown: netwerk != 'geen'  (netwerk = unknown)" in lines
    clause_lines = [line for line in lines if line.startswith("    ")]
    assert len(clause_lines) == 1 + 2 + 2 + 2
    text = d.as_text()
    assert text.splitlines()[0] == "afsluiten: true (alleen_a, b_of_c)"
    assert text.splitlines()[1:] == lines


def test_unknown_never_makes_a_criterion_hold(engine: zorgflow.Engine) -> None:
    assert decide(engine, "afsluiten", a=True, b=None).matched == ["alleen_a"]
    assert decide(engine, "afsluiten", b=UNKNOWN).matched == []


# -- decision tables ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "row"),
    [(-100, "negatief"), (-1, "negatief"), (0, "laag"), (4, "laag"), (5, "hoog"),
     (10_000, "hoog"), (None, "onbekend")],
)
def test_unique_table_ranges_and_absent(engine: zorgflow.Engine, n: Any, row: str) -> None:
    d = decide(engine, "getal", n=n)
    assert d.matched == [row]
    assert d.outcome == {"klasse": row}
    assert d.holds is True


@pytest.mark.parametrize(
    ("facts", "row"),
    [
        ({"netwerk": "geen"}, "geen"),
        ({"netwerk": "geen", "a": True}, "geen"),
        ({"netwerk": "lthg", "a": True}, "veilig"),
        ({"netwerk": "zorg_en_veiligheidshuis", "a": False}, "veilig_niet_a"),
        ({"netwerk": "ander"}, "ander"),  # 'any' matches an unknown input
        ({"netwerk": "ander", "a": False}, "ander"),
        # closed world: unknown 'a' matches neither 'a: true' nor 'a: false'
        ({"netwerk": "lthg"}, None),
        ({"a": True}, None),
        ({}, None),
    ],
)
def test_unique_table_enum_lists_and_closed_world(engine: zorgflow.Engine,
                                                  facts: dict[str, Any], row: str | None) -> None:
    d = decide(engine, "netwerk_tabel", **facts)
    if row is None:
        assert d.matched == []
        assert d.outcome is None
        assert d.holds is False  # closed world: a table is never unknown
        assert d.explanation[-1].startswith("no outcome: no row covers these inputs")
    else:
        assert d.matched == [row]
        assert d.outcome == {"antwoord": row}
        assert d.holds is True


def test_no_outcome_explanation_names_the_unknown_inputs(engine: zorgflow.Engine) -> None:
    d = decide(engine, "netwerk_tabel", netwerk="lthg")
    assert d.explanation[0] == "inputs: netwerk = 'lthg', a = unknown"
    assert d.explanation[-1] == "no outcome: no row covers these inputs (unknown: a)"
    assert d.as_text().startswith("netwerk_tabel: false\n")


@pytest.mark.parametrize(("netwerk", "matched"),
                         [("geen", ["is_geen"]), ("lthg", ["niet_geen"]), (None, [])])
def test_not_equal_cell_does_not_match_unknown(engine: zorgflow.Engine, netwerk: Any,
                                               matched: list[str]) -> None:
    assert decide(engine, "uitsluiting", netwerk=netwerk).matched == matched


@pytest.mark.parametrize(
    ("facts", "row"),
    [
        ({"a": True, "b": True, "n": 20}, "rij_a"),
        ({"a": False, "b": True, "n": 20}, "rij_b"),
        ({"b": True}, "rij_b"),
        ({"n": 10}, "rij_n"),  # the input is 'n + 1' = 11
        ({"n": 9}, "rest"),
        ({}, "rest"),  # a row without 'when' matches anything
    ],
)
def test_first_hit_policy(engine: zorgflow.Engine, facts: dict[str, Any], row: str) -> None:
    d = decide(engine, "eerste", **facts)
    assert d.matched == [row]
    assert d.outcome == {"welke": row.removeprefix("rij_")}


def test_first_hit_explanation_shows_every_row_and_which_one_was_used(
        engine: zorgflow.Engine) -> None:
    d = decide(engine, "eerste", a=True, b=True, n=20)
    assert d.explanation[0] == "inputs: a = true, b = true, n = 21"
    assert [line.split(" — ")[0] for line in d.explanation[1:]] == [
        "true: row rij_a", "true, not used (row rij_a came first): row rij_b",
        "true, not used (row rij_a came first): row rij_n",
        "true, not used (row rij_a came first): row rest"]
    assert "(always)" in d.explanation[-1]
    d = decide(engine, "eerste", a=False, b=True, n=20)
    assert [line.split(" — ")[0] for line in d.explanation[1:]] == [
        "false: row rij_a", "true: row rij_b",
        "true, not used (row rij_b came first): row rij_n",
        "true, not used (row rij_b came first): row rest"]


@pytest.mark.parametrize(
    ("facts", "rows"),
    [
        ({"a": True, "b": True, "c": True, "s": "x"}, ["advies_a", "advies_b", "advies_c"]),
        ({"c": True, "a": True}, ["advies_a", "advies_c"]),  # definition order
        ({"s": "y", "a": False}, ["advies_s", "zonder_a"]),
        ({"s": "x"}, []),
        ({}, []),  # nothing known: nothing collected ('!= x' does not match unknown)
    ],
)
def test_collect_hit_policy(engine: zorgflow.Engine, facts: dict[str, Any],
                            rows: list[str]) -> None:
    d = decide(engine, "verzamel", **facts)
    assert d.matched == rows
    assert [o["advies"] for o in d.outcome] == rows
    assert all(set(o) == {"advies", "reden"} for o in d.outcome)
    assert d.holds is bool(rows)


# -- overlap detection at load time -------------------------------------------------------------


def table(inputs: str, rows: str, policy: str = "unique") -> str:
    return HEAD + f"""\
rules:
  tabel:
    kind: table
    hit_policy: {policy}
    label: Tabel
    inputs:
{inputs}
    outputs: [o]
    rows:
{rows}"""


OVERLAPS = [
    pytest.param("      n: {type: integer}",
                 "      - {id: een, when: {n: '0..4'}, then: {o: 1}}\n"
                 "      - {id: twee, when: {n: '< 5'}, then: {o: 2}}\n",
                 "een", "twee", "n = 0", id="range-and-comparison"),
    pytest.param("      n: {type: integer}",
                 "      - {id: een, when: {n: '>= 5'}, then: {o: 1}}\n"
                 "      - {id: twee, when: {n: '<= 5'}, then: {o: 2}}\n",
                 "een", "twee", "n = 5", id="touching-bounds"),
    pytest.param("      netwerk: {type: enum, values: [geen, lthg, ander]}",
                 "      - {id: een, when: {netwerk: [lthg, ander]}, then: {o: 1}}\n"
                 "      - {id: twee, when: {netwerk: ander}, then: {o: 2}}\n",
                 "een", "twee", "netwerk = 'ander'", id="enum-list-and-value"),
    pytest.param("      netwerk: {type: enum, values: [geen, lthg, ander]}",
                 "      - {id: een, when: {netwerk: '!= geen'}, then: {o: 1}}\n"
                 "      - {id: twee, when: {netwerk: lthg}, then: {o: 2}}\n",
                 "een", "twee", "netwerk = 'lthg'", id="not-equal-and-value"),
    pytest.param("      a: {type: boolean}",
                 "      - {id: een, when: {a: absent}, then: {o: 1}}\n"
                 "      - {id: twee, when: {a: any}, then: {o: 2}}\n",
                 "een", "twee", "a = unknown", id="absent-and-any"),
    pytest.param("      a: {type: boolean}\n      n: {type: integer}",
                 "      - {id: een, when: {a: true}, then: {o: 1}}\n"
                 "      - {id: twee, when: {a: false}, then: {o: 2}}\n"
                 "      - {id: drie, when: {n: 3}, then: {o: 3}}\n",
                 "een", "drie", "a = true, n = 3", id="different-inputs"),
    pytest.param("      x: {type: number}",
                 "      - {id: een, when: {x: '0..0.2'}, then: {o: 1}}\n"
                 "      - {id: twee, when: {x: '0.1..0.3'}, then: {o: 2}}\n",
                 "een", "twee", "x = 0.1", id="number-ranges"),
]


@pytest.mark.parametrize(("inputs", "rows", "first", "second", "witness"), OVERLAPS)
def test_unique_overlap_is_a_load_error_naming_both_rows(
        inputs: str, rows: str, first: str, second: str, witness: str) -> None:
    text = table(inputs, rows)
    with pytest.raises(WorkflowError) as info:
        load_workflow_text(text, "tabel.yaml")
    problems = [p for p in info.value.errors if "overlap" in p.message]
    assert problems, info.value
    problem = problems[0]
    assert f"rows '{first}' and '{second}' of unique table 'tabel' overlap" in problem.message
    assert f"both match {witness}" in problem.message
    assert "hit_policy: first" in problem.message  # says what would be right
    # the position is the second row of the pair
    lines = text.splitlines()
    assert f"id: {second}," in lines[problem.line - 1]
    assert problem.file == "tabel.yaml"
    # the same rows are fine under 'first' and 'collect'
    load_workflow_text(table(inputs, rows, "first"), "tabel.yaml")
    load_workflow_text(table(inputs, rows, "collect"), "tabel.yaml")


@pytest.mark.parametrize(
    ("inputs", "rows"),
    [
        ("      n: {type: integer}",
         "      - {id: een, when: {n: '> 3'}, then: {o: 1}}\n"
         "      - {id: twee, when: {n: '< 4'}, then: {o: 2}}\n"),
        ("      n: {type: integer}",
         "      - {id: een, when: {n: '0..4'}, then: {o: 1}}\n"
         "      - {id: twee, when: {n: '5..9'}, then: {o: 2}}\n"
         "      - {id: drie, when: {n: absent}, then: {o: 3}}\n"),
        ("      a: {type: boolean}\n      netwerk: {type: enum, values: [geen, lthg]}",
         "      - {id: een, when: {a: true, netwerk: geen}, then: {o: 1}}\n"
         "      - {id: twee, when: {a: true, netwerk: lthg}, then: {o: 2}}\n"
         "      - {id: drie, when: {a: false}, then: {o: 3}}\n"),
    ],
)
def test_exclusive_rows_load(inputs: str, rows: str) -> None:
    load_workflow_text(table(inputs, rows), "tabel.yaml")


def test_number_overlap_between_close_bounds_is_detected() -> None:
    text = table("      x: {type: number}",
                 "      - {id: een, when: {x: '< 4.5'}, then: {o: 1}}\n"
                 "      - {id: twee, when: {x: '> 4.4'}, then: {o: 2}}\n")
    try:
        wf = load_workflow_text(text, "tabel.yaml")
    except WorkflowError as exc:
        assert "rows 'een' and 'twee'" in str(exc)
        return
    zorgflow.Engine([wf]).decide("proef", "tabel", {"x": 4.45}, at=AT)
    pytest.fail("the overlap was neither reported at load time nor refused at run time")


# The overlap check against brute force: the same rows under hit_policy collect, decided on
# every point of a grid fine enough to hit every region the cells describe, give the pairs
# that can match together; the unique table must report exactly those.
GRID: dict[str, list[Any]] = {
    "n": [None, *range(-4, 5)],
    "x": [None, *(k / 4 for k in range(-8, 9))],
    "netwerk": [None, "geen", "lthg", "zorg_en_veiligheidshuis", "ander"],
    "a": [None, True, False],
    "s": [None, "p", "q", "r"],
}
INPUT_TYPES = {"n": "{type: integer}", "x": "{type: number}", "a": "{type: boolean}",
               "s": "{type: string}",
               "netwerk": "{type: enum, values: [geen, lthg, zorg_en_veiligheidshuis, ander]}"}


def _cells(name: str) -> st.SearchStrategy[str]:
    literals: st.SearchStrategy[Any] = {
        "n": st.integers(-1, 1), "x": st.sampled_from([-0.5, 0, 0.5]),
        "netwerk": st.sampled_from(GRID["netwerk"][1:]), "a": st.booleans(),
        "s": st.sampled_from(["p", "q"]),
    }[name]
    fixed = st.sampled_from(["any", "absent"])
    as_yaml = literals.map(lambda v: json.dumps(v))
    choices = [fixed, as_yaml,
               st.lists(as_yaml, min_size=1, max_size=3).map(lambda vs: f"[{', '.join(vs)}]")]
    if name != "a":
        choices.append(literals.map(lambda v: f"'!= {v}'"))
    if name in ("n", "x"):
        choices.append(st.tuples(st.sampled_from(["<", "<=", ">", ">="]), literals)
                       .map(lambda t: f"'{t[0]} {t[1]}'"))
        choices.append(st.tuples(literals, literals)
                       .map(lambda t: f"'{min(t)}..{max(t)}'"))
    return st.one_of(choices)


@st.composite
def _tables(draw: st.DrawFn) -> tuple[list[str], list[dict[str, str]]]:
    names = draw(st.lists(st.sampled_from(sorted(GRID)), min_size=1, max_size=2, unique=True))
    rows = draw(st.lists(st.fixed_dictionaries({}, optional={n: _cells(n) for n in names}),
                         min_size=2, max_size=6))
    return names, rows


def _table_text(names: list[str], rows: list[dict[str, str]], policy: str) -> str:
    inputs = "\n".join(f"      {n}: {INPUT_TYPES[n]}" for n in names)
    body = "".join(
        f"      - {{id: r{k}, when: {{{', '.join(f'{n}: {c}' for n, c in row.items())}}}, "
        f"then: {{o: {k}}}}}\n" for k, row in enumerate(rows))
    return table(inputs, body, policy)


@settings(max_examples=150, deadline=None)
@given(_tables())
def test_overlap_check_finds_exactly_the_pairs_that_match_together(
        spec: tuple[list[str], list[dict[str, str]]]) -> None:
    names, rows = spec
    engine = zorgflow.Engine([load_workflow_text(_table_text(names, rows, "collect"), "c.yaml")])
    together: set[tuple[str, str]] = set()
    for point in itertools.product(*(GRID[n] for n in names)):
        facts = {n: v for n, v in zip(names, point, strict=True) if v is not None}
        matched = engine.decide("proef", "tabel", facts, at=AT).matched
        together.update(itertools.combinations(matched, 2))
    try:
        load_workflow_text(_table_text(names, rows, "unique"), "u.yaml")
        reported: set[tuple[str, str]] = set()
    except WorkflowError as exc:
        reported = {(m.group(1), m.group(2)) for p in exc.errors
                    if (m := re.match(r"rows '(\w+)' and '(\w+)' of unique table", p.message))}
        witnesses = [p.message for p in exc.errors if "both match" in p.message]
        for message in witnesses:  # each witness is a point where both rows match
            pair = re.match(r"rows '(\w+)' and '(\w+)'", message)
            point = dict(re.findall(r"(\w+) = ('[^']*'|[^,;]+)", message.split("both match")[1]))
            facts = {n: _value(v) for n, v in point.items() if v != "unknown"}
            matched = engine.decide("proef", "tabel", facts, at=AT).matched
            assert pair is not None and {pair.group(1), pair.group(2)} <= set(matched), message
    assert reported == together


def _value(text: str) -> Any:
    if text.startswith("'"):
        return text[1:-1]
    return {"true": True, "false": False}.get(text) if text in ("true", "false") \
        else json.loads(text)


def _rows(n: int, row: Callable[[int], str]) -> str:
    return "".join(f"      - {{id: r{k}, when: {{{row(k)}}}, then: {{o: {k}}}}}\n"
                   for k in range(n))


BIG_INPUTS = ("      n: {type: integer}\n      x: {type: number}\n"
              "      netwerk: {type: enum, values: [geen, lthg, zorg_en_veiligheidshuis, ander]}")


@pytest.mark.timeout(60)  # a guard against the old cubic check hanging, not a timing test
@pytest.mark.parametrize("row", [
    pytest.param(lambda k: f"n: '{3 * k}..{3 * k + 2}', netwerk: '!= geen'", id="ranges"),
    pytest.param(lambda k: f"n: {k // 45}, x: '{k % 45}..{k % 45}.5'", id="grid"),
    # every row meets every other on x; n tells them apart
    pytest.param(lambda k: f"netwerk: geen, x: '> {k}.5', n: {k}", id="nested"),
])
def test_a_unique_table_of_2000_exclusive_rows_loads(row: Callable[[int], str]) -> None:
    text = table(BIG_INPUTS, _rows(2_000, row))
    workflow = load_workflow_text(text, "groot.yaml")
    assert len(workflow.rules["tabel"].rows) == 2_000


@pytest.mark.timeout(60)
def test_a_table_where_everything_overlaps_reports_twenty_pairs_and_how_many_more() -> None:
    text = table(BIG_INPUTS, _rows(2_000, lambda k: f"n: '>= {k}'"))
    with pytest.raises(WorkflowError) as info:
        load_workflow_text(text, "groot.yaml")
    messages = [p.message for p in info.value.errors]
    pairs = [m for m in messages if m.startswith("rows ")]
    assert len(pairs) == 20
    assert pairs[0].startswith("rows 'r0' and 'r1' of unique table 'tabel' overlap: both "
                               "match n = 1,")
    (more,) = [m for m in messages if "more pairs" in m]
    assert re.fullmatch(r"unique table 'tabel': [\d,]+\+ more pairs of rows overlap beyond "
                        r"the 20 shown; make the rows exclusive or use hit_policy: first", more)


def test_unknown_row_cell_value_is_a_load_error() -> None:
    text = table("      netwerk: {type: enum, values: [geen, lthg]}",
                 "      - {id: een, when: {netwerk: lthgg}, then: {o: 1}}\n")
    with pytest.raises(WorkflowError, match=r"'lthgg' is not one of geen, lthg — did you mean "
                                            r"'lthg'\?"):
        load_workflow_text(text, "tabel.yaml")


# -- ranking ------------------------------------------------------------------------------------


def kandidaat(id: str, *, expertise: tuple[str, ...] = (), stemmen: int = 0,
              vertrouwd: bool | None = None, geschikt: bool | None = True) -> dict[str, Any]:
    record: dict[str, Any] = {"id": id, "expertise": list(expertise), "stemmen": stemmen}
    if vertrouwd is not None:
        record["vertrouwd"] = vertrouwd
    if geschikt is not None:
        record["geschikt"] = geschikt
    return record


def test_ranking_orders_by_weighted_points(engine: zorgflow.Engine) -> None:
    d = decide(engine, "rangorde", thema="ggz", kandidaten=[
        kandidaat("laag", stemmen=2),                           # 1 + 1 = 2
        kandidaat("expert", expertise=("ggz",), stemmen=1),     # 3 + 0.5 + 1 = 4.5
        kandidaat("vertrouwd", vertrouwd=True, stemmen=4),      # 2 + 2 + 1 = 5
    ])
    assert d.matched == ["vertrouwd", "expert", "laag"]
    assert [r["total"] for r in d.outcome] == [5, 4.5, 2]
    assert d.outcome[1] == {"id": "expert", "total": 4.5, "points": {
        "expertise": 3, "vertrouwd": 0, "stemmen": 0.5, "geschikt": 1}}
    assert d.holds is True


@pytest.mark.parametrize("geschikt", [False, None])
def test_required_criterion_excludes_a_candidate(engine: zorgflow.Engine,
                                                 geschikt: bool | None) -> None:
    d = decide(engine, "rangorde", thema="ggz", kandidaten=[
        kandidaat("beste", expertise=("ggz",), vertrouwd=True, stemmen=10, geschikt=geschikt),
        kandidaat("tweede", stemmen=1),
    ])
    assert d.matched == ["tweede"]
    assert [r["id"] for r in d.outcome] == ["tweede"]
    # the explanation still lists the excluded candidate, with its points and why
    assert d.explanation[0] == "not eligible: beste — 10 points"
    word = "false" if geschikt is False else "unknown"
    assert any(line.startswith("    0 points: geschikt — Geschikt (weight 1, required): " + word)
               for line in d.explanation)


def test_only_ineligible_candidates_gives_no_outcome(engine: zorgflow.Engine) -> None:
    d = decide(engine, "rangorde", kandidaten=[kandidaat("x", geschikt=False)])
    assert (d.matched, d.outcome, d.holds) == ([], [], False)


def test_ties_keep_input_order(engine: zorgflow.Engine) -> None:
    ids = ["c", "a", "d", "b"]
    d = decide(engine, "rangorde", kandidaten=[kandidaat(i, stemmen=2) for i in ids])
    assert d.matched == ids
    d = decide(engine, "rangorde", kandidaten=[kandidaat(i, stemmen=2) for i in reversed(ids)])
    assert d.matched == list(reversed(ids))


def test_ranking_explanation_lists_every_candidate_and_criterion(engine: zorgflow.Engine) -> None:
    d = decide(engine, "rangorde", thema="ggz", kandidaten=[
        kandidaat("p", expertise=("ggz", "jeugd"), stemmen=3),
        kandidaat("q", geschikt=False),
        kandidaat("r", vertrouwd=False),
    ])
    heads = [line for line in d.explanation if not line.startswith(" ")]
    assert heads == ["eligible: p — 5.5 points", "not eligible: q — 0 points",
                     "eligible: r — 1 point"]
    assert len(d.explanation) == 3 * (1 + 4)
    assert ("    3 points: expertise — Expertise past (weight 3): true  "
            "(thema = 'ggz', expertise = ['ggz', 'jeugd'])  [bron: proef, criterium 1]"
            ) in d.explanation
    assert "    1.5 points: stemmen — Stemmen (weight 0.5): 3  (stemmen = 3)" in d.explanation


def test_a_candidate_without_an_id_is_named_by_its_place(engine: zorgflow.Engine) -> None:
    without_id = {k: v for k, v in kandidaat("x").items() if k != "id"}
    d = decide(engine, "rangorde", kandidaten=[kandidaat("p"), without_id])
    heads = [line for line in d.explanation if not line.startswith(" ")]
    assert heads[1].startswith("eligible: candidate 2 (no id) — ")
    assert "None" not in "\n".join(d.explanation)


def test_ranking_without_candidates(engine: zorgflow.Engine) -> None:
    d = decide(engine, "rangorde")
    assert (d.outcome, d.matched, d.holds) == (None, [], UNKNOWN)
    assert d.explanation == ["no candidates: fact 'kandidaten' is unknown"]
    d = decide(engine, "rangorde", kandidaten=[])
    assert (d.outcome, d.matched, d.holds) == ([], [], False)
    assert d.explanation == ["no candidates given"]


def test_unknown_topic_gives_no_expertise_points(engine: zorgflow.Engine) -> None:
    d = decide(engine, "rangorde", kandidaten=[kandidaat("p", expertise=("ggz",))])
    assert d.outcome[0]["points"]["expertise"] == 0


candidates = st.lists(
    st.builds(
        kandidaat,
        st.sampled_from(["k1", "k2", "k3", "k4", "k5", "k6"]),
        expertise=st.lists(st.sampled_from(["ggz", "jeugd"]), max_size=2).map(tuple),
        stemmen=st.integers(0, 4),
        vertrouwd=st.sampled_from([True, False, None]),
        geschikt=st.sampled_from([True, False, None]),
    ),
    max_size=6,
)


@settings(max_examples=100, deadline=None)
@given(candidates, st.sampled_from(["ggz", "jeugd", None]))
def test_ranking_properties(kandidaten: list[dict[str, Any]], thema: str | None) -> None:
    engine = _ENGINE
    d = engine.decide("proef", "rangorde", {"kandidaten": kandidaten, "thema": thema}, at=AT)
    eligible = [k for k in kandidaten if k.get("geschikt") is True]
    # exactly the eligible candidates, ordered by total; ties in input order
    assert sorted(range(len(d.outcome)), key=lambda i: -d.outcome[i]["total"]) == list(
        range(len(d.outcome)))
    positions = {id(k): n for n, k in enumerate(eligible)}
    assert len(d.outcome) == len(eligible)
    expected = sorted(eligible, key=lambda k: (-_total(k, thema), positions[id(k)]))
    assert [r["id"] for r in d.outcome] == [k["id"] for k in expected]
    for r in d.outcome:
        assert r["total"] == sum(r["points"].values())
    assert d.matched == [r["id"] for r in d.outcome]
    assert len([x for x in d.explanation if not x.startswith(" ")]) == max(len(kandidaten), 1)
    json.dumps(d.to_dict())


def _total(k: dict[str, Any], thema: str | None) -> float:
    return ((3 if thema is not None and thema in k["expertise"] else 0)
            + (2 if k.get("vertrouwd") is True else 0) + 0.5 * k["stemmen"] + 1)


_ENGINE = zorgflow.Engine([load_workflow_text(HEAD + RULES, "proef.yaml")])


# -- Decision: lazy explanation, JSON -------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "rule_set", "facts"),
    [
        (CompiledCriteria, "afsluiten", {"a": True}),
        (CompiledTable, "getal", {"n": 3}),
        (CompiledTable, "verzamel", {"a": True}),
        (CompiledRanking, "rangorde", {"kandidaten": [kandidaat("p")]}),
    ],
)
def test_explanation_is_computed_only_when_read(
        monkeypatch: pytest.MonkeyPatch, engine: zorgflow.Engine, cls: type,
        rule_set: str, facts: dict[str, Any]) -> None:
    calls: list[str] = []
    original = cls.explain

    def counting(self: Any, env: Any) -> list[str]:
        calls.append(self.id)
        return original(self, env)

    monkeypatch.setattr(cls, "explain", counting)
    d = engine.decide("proef", rule_set, facts, at=AT)
    _ = (d.outcome, d.matched, d.holds, d.unknown, repr(d))
    assert calls == []
    lines = d.explanation
    assert calls == [rule_set]
    assert d.explanation == lines
    d.as_text()
    d.to_dict()
    assert calls == [rule_set]  # computed once, then kept
    lines.append("changed by the caller")
    assert d.explanation != lines  # a copy is handed out


@pytest.mark.parametrize(
    ("rule_set", "facts", "holds"),
    [
        ("afsluiten", {"a": True, "netwerk": "lthg"}, "true"),
        ("afsluiten", {}, "unknown"),
        ("afsluiten", {"a": False, "b": False, "c": False, "netwerk": "geen"}, "false"),
        ("getal", {"n": 3}, "true"),
        ("netwerk_tabel", {}, "false"),
        ("verzamel", {"a": True, "b": True}, "true"),
        ("eerste", {}, "true"),
        ("rangorde", {"thema": "ggz", "kandidaten": [kandidaat("p", expertise=("ggz",))]},
         "true"),
        ("rangorde", {}, "unknown"),
    ],
)
def test_to_dict_is_json_serialisable(engine: zorgflow.Engine, rule_set: str,
                                      facts: dict[str, Any], holds: str) -> None:
    d = decide(engine, rule_set, **facts)
    data = json.loads(json.dumps(d.to_dict()))
    assert set(data) == {"rule_set", "outcome", "matched", "holds", "explanation"}
    assert data["rule_set"] == rule_set
    assert data["holds"] == holds
    assert data["matched"] == d.matched
    assert data["explanation"] == d.explanation
    assert data["outcome"] == d.outcome


def test_explanation_describes_the_facts_of_the_decision(engine: zorgflow.Engine) -> None:
    facts: dict[str, Any] = {"a": True}
    d = engine.decide("proef", "afsluiten", facts, at=AT)
    assert d.matched == ["alleen_a"]
    facts["a"] = False
    assert d.explanation[0].startswith("true: alleen_a")


def test_decide_refuses_unknown_facts_and_rule_sets(engine: zorgflow.Engine) -> None:
    with pytest.raises(ValueError, match="unknown fact 'aa'"):
        engine.decide("proef", "afsluiten", {"aa": True}, at=AT)
    with pytest.raises(ValueError, match="fact 'n'"):
        engine.decide("proef", "getal", {"n": "drie"}, at=AT)
    with pytest.raises(zorgflow.UnknownWorkflow, match="did you mean 'afsluiten'"):
        engine.decide("proef", "afsluitn", {}, at=AT)
    with pytest.raises(ValueError, match="timezone-aware"):
        engine.decide("proef", "afsluiten", {}, at=datetime(2026, 1, 1))


class _Tekst(str):
    """A str subclass, as an application's own enum or text type would be."""


class _Getal(int):
    """An int subclass, as an application's own number type would be."""


SOORTEN = """\
id: soorten
version: 1
label: Soorten
start_by: [medewerker]
roles: {medewerker: {label: Medewerker}}
facts:
  vlag: {type: boolean, label: Vlag}
  aantal: {type: integer, label: Aantal}
  begrensd: {type: integer, minimum: 1, maximum: 10, label: Begrensd}
  bedrag: {type: number, label: Bedrag}
  tekst: {type: string, label: Tekst}
  keuze: {type: enum, values: [geen, lthg], label: Keuze}
  datum: {type: date, label: Datum}
states:
  open: {label: Open, initial: true}
  dicht: {label: Dicht, final: true}
transitions:
  - {event: sluiten, from: open, to: dicht, by: [medewerker]}
rules:
  iets:
    kind: criteria
    label: Iets
    criteria:
      vlag_aan: {label: Vlag aan, when: vlag}
      veel: {label: Veel, when: aantal > 3 and begrensd > 3 and bedrag > 3}
      gekozen: {label: Gekozen, when: keuze == 'lthg' and tekst == 'x'}
      vroeg: {label: Vroeg, when: days_since(datum) > 200}
"""

TRICKY = [True, False, 0, 1, 5, 11, -3, 2.5, float("nan"), 10**30, _Getal(5), "", "x",
          _Tekst("x"), "geen", "lthg", "xyz", _Tekst("lthg"), "2025-06-01", "2026-13-01",
          date(2025, 6, 1), datetime(2025, 6, 1, tzinfo=AMS), [], {}]


@pytest.fixture(scope="module")
def soorten() -> zorgflow.Engine:
    return zorgflow.Engine([load_workflow_text(SOORTEN, "soorten.yaml")])


def _as_set_facts_reads(engine: zorgflow.Engine, workflow: str, rule_set: str,
                        facts: dict[str, Any], actor: zorgflow.Actor) -> None:
    """`decide` on given facts must accept, refuse and answer exactly as deciding on a case
    whose facts were set with `set_facts` (which checks every value the careful way)."""
    case = engine.start(workflow, actor=actor, at=AT)
    try:
        case = engine.set_facts(case, facts, actor=actor, at=AT)
    except zorgflow.TransitionRejected:
        with pytest.raises(ValueError, match="fact '"):
            engine.decide(workflow, rule_set, facts, at=AT)
        return
    given = engine.decide(workflow, rule_set, facts, at=AT)
    on_case = engine.decide(case, rule_set, at=AT)
    assert (given.matched, given.holds) == (on_case.matched, on_case.holds)
    assert given.explanation == on_case.explanation


@pytest.mark.parametrize("fact", ["vlag", "aantal", "begrensd", "bedrag", "tekst", "keuze",
                                  "datum"])
@pytest.mark.parametrize("value", TRICKY, ids=lambda v: f"{type(v).__name__}:{v!r}")
def test_decide_reads_each_kind_of_value_as_set_facts_does(
        soorten: zorgflow.Engine, fact: str, value: Any) -> None:
    """Every fact type against values that are nearly right: a boolean for a number, a
    subclass, an out-of-bounds number, text outside the enum, a date as text or malformed."""
    _as_set_facts_reads(soorten, "soorten", "iets", {fact: value, "vlag": True} if fact != "vlag"
                        else {fact: value}, zorgflow.Actor("m", roles={"medewerker"}))


@pytest.fixture(scope="module")
def shipped() -> zorgflow.Engine:
    return zorgflow.Engine.from_directory(Path(__file__).resolve().parent.parent / "workflows")


def _valid_value(ftype: Any) -> st.SearchStrategy[Any]:
    kind = ftype.name
    if kind == "boolean":
        return st.booleans()
    if kind == "enum":
        return st.sampled_from(ftype.values) | st.sampled_from(ftype.values).map(_Tekst)
    if kind == "integer":
        return st.integers(min_value=ftype.minimum, max_value=ftype.maximum)
    if kind == "date":
        return st.dates().map(lambda d: d.isoformat()) | st.dates()
    return st.text(max_size=5) | st.text(max_size=5).map(_Tekst)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(data=st.data())
def test_decide_reads_given_facts_as_set_facts_does(shipped: zorgflow.Engine,
                                                    data: st.DataObject) -> None:
    """The same on the shipped LZN workflow: fact sets of mostly valid values, each value
    possibly one that is nearly right."""
    # only facts these roles may set by hand in 'aangemeld' compare: `decide` answers any
    # what-if, `set_facts` also checks who sets a fact and where (set_by: [], set_in:)
    types = {n: f.type for n, f in shipped.workflow("lzn").facts.items()
             if f.type.name != "list" and not f.events_only
             and (not f.set_in or "aangemeld" in f.set_in)}
    assert "zelfredzaamheid_vergroot" in types and "overgedragen_aan_netwerk" not in types
    chosen = data.draw(st.lists(st.sampled_from(sorted(types)), unique=True, max_size=12))
    facts = {name: data.draw(_valid_value(types[name]) | st.sampled_from(TRICKY)
                             if data.draw(st.integers(0, 4)) == 0 else _valid_value(types[name]))
             for name in chosen}
    actor = zorgflow.Actor("a.jansen", roles={"sociaal_contactpunt", "lzn_coordinator"})
    _as_set_facts_reads(shipped, "lzn", "afsluitcriteria", facts, actor)


def test_a_table_input_read_from_personal_data_is_masked_in_the_explanation() -> None:
    engine = zorgflow.Engine([load_workflow_text("""\
id: leeftijd
version: 1
label: Leeftijd
start_by: [m]
roles: {m: {label: M}}
facts:
  geboren: {type: date, label: Geboren, personal_data: true}
  naam: {type: string, label: Naam, personal_data: true}
  wet: {type: enum, values: [wmo, jeugdwet], label: Wet}
  kandidaten:
    type: list
    label: Kandidaten
    items: {id: {type: string}}
states:
  open: {label: Open, initial: true}
  dicht: {label: Dicht, final: true}
transitions:
  - {event: sluiten, from: open, to: dicht, by: [m]}
rules:
  t:
    kind: table
    label: T
    hit_policy: first
    inputs:
      leeftijd: {type: integer, from: "months_since(geboren)"}
      naam: {type: string}
      wet: {type: enum, values: [wmo, jeugdwet]}
    outputs: [uitkomst]
    rows:
      - {id: volwassen, when: {leeftijd: ">= 216"}, then: {uitkomst: wmo}}
      - {id: anders, when: {wet: jeugdwet}, then: {uitkomst: jeugd}}
  r:
    kind: ranking
    label: R
    candidates: kandidaten
    candidate_id: id
    criteria:
      jong:
        label: Jong
        weight: 1
        points: months_since(geboren)
""", "leeftijd.yaml")])
    d = engine.decide("leeftijd", "t", {"geboren": "2010-01-01", "naam": "Jan Jansen",
                                         "wet": "jeugdwet"}, at=AT)
    assert d.matched == ["anders"]
    assert d.explanation[0] == ("inputs: leeftijd = <persoonsgegeven>, naam = <persoonsgegeven>, "
                                "wet = 'jeugdwet'")
    text = "\n".join(d.explanation)
    assert "Jan" not in text and "194" not in text and "2010" not in text
    ranked = engine.decide("leeftijd", "r", {"geboren": "2010-01-01", "kandidaten": [{"id": "a"}]},
                           at=AT)
    # the value a criterion read is masked; its points are the ranking's outcome, as designed
    assert ranked.explanation[1].endswith("jong — Jong (weight 1): <persoonsgegeven>  (geboren "
                                          "= <persoonsgegeven>, months_since(geboren) = "
                                          "<persoonsgegeven>)")


# -- a ranking over personal data: ids and candidate values never shown ------------------------
PERSONAL_RANKING = (HEAD + RULES).replace(
    "  kandidaten:\n    type: list\n", "  kandidaten:\n    type: list\n    personal_data: true\n",
    1).replace(
    "  - {event: sluiten, from: open, to: dicht, by: [medewerker]}\n",
    "  - {event: sluiten, from: open, to: dicht, by: [medewerker]}\n"
    "  - event: kiezen\n    from: open\n    to: dicht\n    by: [medewerker]\n"
    "    data: {wie: {type: string, label: Wie, personal_data: true}}\n"
    "    when: data.wie in rules.rangorde.matched\n", 1)
PEOPLE = [kandidaat("Jan Jansen", expertise=("ggz",), stemmen=37, vertrouwd=True),
          kandidaat("Piet Pietersen", stemmen=41, geschikt=False),
          kandidaat("Marie Smit-Vos", stemmen=29)]
PERSONAL_TEXTS = ("Jan Jansen", "Piet Pietersen", "Marie Smit-Vos", "37", "41", "29")


def _no_personal_text(text: str) -> None:
    for value in PERSONAL_TEXTS:
        assert value not in text, f"{value!r} shown in:\n{text}"


@pytest.fixture(scope="module")
def personal_engine() -> zorgflow.Engine:
    text = PERSONAL_RANKING
    assert "personal_data: true\n    items" in text.replace("    label: Kandidaten\n", "")
    return zorgflow.Engine([load_workflow_text(text, "proef.yaml")])


def test_a_personal_ranking_masks_ids_and_values_wherever_it_is_shown(
        personal_engine: zorgflow.Engine) -> None:
    d = personal_engine.decide("proef", "rangorde", {"thema": "ggz", "kandidaten": PEOPLE},
                               at=AT)
    assert d.personal
    assert d.matched == ["Jan Jansen", "Marie Smit-Vos"]  # the application's to use
    assert [entry["id"] for entry in d.outcome] == d.matched
    for shown_text in (d.as_text(), "\n".join(d.explanation), json.dumps(d.to_dict()),
                       repr(d)):
        _no_personal_text(shown_text)
    assert "eligible: candidate 1 — " in d.as_text()
    assert "(thema = 'ggz', expertise = <persoonsgegeven>)" in d.as_text()


def test_a_guard_on_a_personal_ranking_masks_it_in_reasons_and_stored_history(
        personal_engine: zorgflow.Engine, tmp_path: Path) -> None:
    from zorgflow.store import SQLiteStore

    store = SQLiteStore(tmp_path / "zaken.db", personal_engine)
    who = zorgflow.Actor("m.medewerker", roles={"medewerker"})
    case = personal_engine.start("proef", actor=who, at=AT, store=store,
                                 facts={"thema": "ggz", "kandidaten": PEOPLE})
    with pytest.raises(zorgflow.TransitionRejected) as refused:
        personal_engine.fire(case, "kiezen", actor=who, data={"wie": "Piet Pietersen"}, at=AT)
    _no_personal_text("\n".join(refused.value.reasons) + str(refused.value))
    case = personal_engine.fire(case, "kiezen", actor=who, data={"wie": "Jan Jansen"}, at=AT,
                                store=store)
    _no_personal_text("\n".join(case.history[-1].explanation))
    store.close()
    with sqlite3.connect(tmp_path / "zaken.db") as db:
        stored = "\n".join(str(row[0]) for row in db.execute("SELECT explanation FROM history"))
    assert "rule set rangorde: true (<persoonsgegeven>, <persoonsgegeven>)" in stored
    _no_personal_text(stored)


def test_a_failing_example_on_a_personal_ranking_does_not_print_the_people(
        tmp_path: Path) -> None:
    from zorgflow.cli import main

    example = f"""\
examples:
  - name: rangorde
    actors: {{m: [medewerker]}}
    start: {{by: m, facts: {{thema: ggz, kandidaten: {json.dumps(PEOPLE)}}}}}
    steps:
      - {{decide: rangorde, expect: {{matched: [Piet Pietersen]}}}}
"""
    path = tmp_path / "proef.yaml"
    path.write_text(PERSONAL_RANKING + example, encoding="utf-8")
    out = io.StringIO()
    assert main(["test", str(path)], out=out) == 1
    assert "FAIL proef: rangorde" in out.getvalue()
    _no_personal_text(out.getvalue())


def test_the_process_document_does_not_print_the_people_of_its_examples(
        tmp_path: Path) -> None:
    from zorgflow.cli import main

    example = f"""\
examples:
  - name: rangorde
    actors: {{m: [medewerker]}}
    start: {{by: m, facts: {{thema: ggz, kandidaten: {json.dumps(PEOPLE)}}}}}
    steps:
      - {{decide: rangorde, expect: {{matched: [Jan Jansen, Marie Smit-Vos]}}}}
      - {{event: kiezen, by: m, data: {{wie: Piet Pietersen}},
         expect: {{rejected: "Piet Pietersen is not eligible"}}}}
"""
    path = tmp_path / "proef.yaml"
    path.write_text(PERSONAL_RANKING + example, encoding="utf-8")
    out = io.StringIO()
    document = tmp_path / "proef.md"
    assert main(["docs", str(path), "-o", str(document), "--no-diagram"], out=out) == 0
    text = document.read_text(encoding="utf-8")
    assert "gelden ‹persoonsgegeven›" in text
    assert "geweigerd (‹persoonsgegeven›)" in text
    _no_personal_text(text)


# -- a candidate's total beyond a float (the points of each criterion are within one) -----------

OPTELLING = """\
id: optelling
version: 1
label: Optelling
start_by: [m]
roles: {m: {label: M}}
facts:
  kandidaten:
    type: list
    label: Kandidaten
    items: {id: {type: string}, punten: {type: number}, aantal: {type: integer},
            andere_punten: {type: number}, ander_aantal: {type: integer}}
states:
  open: {label: Open, initial: true}
  dicht: {label: Dicht, final: true}
transitions:
  - {event: sluiten, from: open, to: dicht, by: [m]}
rules:
  r:
    kind: ranking
    label: R
    candidates: kandidaten
    candidate_id: id
    criteria:
      een: {label: Een, weight: 1, points: kandidaat.aantal}
      twee: {label: Twee, weight: 1, points: kandidaat.punten}
      drie: {label: Drie, weight: 1, points: kandidaat.ander_aantal}
      vier: {label: Vier, weight: 1, points: kandidaat.andere_punten}
"""

#: points near the ends of what a rule can use, whole (2**1023 - 1) and float (1.7e308)
_EDGE_POINTS = st.sampled_from([0, 3, 1.5, 2**1023 - 1, -(2**1023 - 1), 1.7e308, -1.7e308,
                                9e307, 1e308])


@pytest.mark.parametrize("codegen", [True, False])
@given(candidates=st.lists(st.fixed_dictionaries({
    "aantal": _EDGE_POINTS.filter(lambda p: isinstance(p, int)),
    "punten": _EDGE_POINTS.map(float),
    "ander_aantal": _EDGE_POINTS.filter(lambda p: isinstance(p, int)),
    "andere_punten": _EDGE_POINTS.map(float)}), min_size=1, max_size=4))
def test_a_total_beyond_a_float_ranks_shows_and_serialises(
        codegen: bool, candidates: list[dict[str, Any]]) -> None:
    """Points near the ends of a float add up beyond one, in every order of whole and float
    points: such a total counts as the largest float with its sign, so it sorts, the
    explanation can say it and the decision is JSON (it was infinity, or a whole number no
    float holds, or adding a float to such a number raised OverflowError). Totals within a
    float keep their exact order."""
    with pytest.MonkeyPatch.context() as patch:
        if not codegen:  # the closures' scoring, the reference
            patch.setenv("ZORGFLOW_NO_CODEGEN", "1")
        engine = zorgflow.Engine([load_workflow_text(OPTELLING, "optelling.yaml")])
    candidates = [{"id": f"k{n}", **c} for n, c in enumerate(candidates)]
    decision = engine.decide("optelling", "r", {"kandidaten": candidates}, at=AT)
    totals = [entry["total"] for entry in decision.outcome]
    biggest = sys.float_info.max
    assert all(-biggest <= t <= biggest for t in totals), totals
    assert totals == sorted(totals, reverse=True)
    for entry in decision.outcome:
        given = next(c for c in candidates if c["id"] == entry["id"])
        exact = sum(map(Fraction, (given["aantal"], given["punten"], given["ander_aantal"],
                                   given["andere_punten"])))
        if abs(exact) > biggest:  # beyond a float: the largest, with its sign
            assert entry["total"] == (biggest if exact > 0 else -biggest)
        else:  # within: as float arithmetic has it (a few units in the last place of 2**1023)
            assert math.isclose(entry["total"], exact, rel_tol=1e-12, abs_tol=2.0 ** 974)
    json.dumps(decision.to_dict(), allow_nan=False)
    assert len(decision.explanation) == 5 * len(candidates)
