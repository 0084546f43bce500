"""A fuzz of the public API (issue 17): the engine, the stores, the loader, the command line
and the endpoints of ``zorgflow serve``, with hypothesis.

What every test asserts:

- **Only zorgflow's errors come out.** A call raises a `ZorgflowError`, or — only where an
  argument is of the wrong kind — a plain `TypeError` or `ValueError`, as the README and
  `zorgflow.errors` document. Nothing else: no `KeyError`, `AttributeError`,
  `OverflowError`, `RecursionError`, and no `UnicodeError` that is not a `ZorgflowError`.
  Where an argument may be of the wrong kind:

  ====================================  ==================================================
  call                                  wrong kind (a plain TypeError/ValueError allowed)
  ====================================  ==================================================
  ``Actor(id, roles)``                  id not a non-empty str; roles a str or not all str
  every ``at=``                         not a datetime; naive; outside 0001-01-02..9999-12-30
  ``start``/``fire``/``set_facts``/…    ``actor=`` not an Actor; ``case_id=`` not a str;
                                        the event, rule set or workflow id not a str;
                                        ``facts=``/``data=`` not a mapping
  ``Case.to_dict``/``Case.from_dict``   ``key=`` not bytes of 16+ or a mapping of them;
                                        ``key_id=`` not an id; ``key=`` with ``verify=False``
  store ``load``/``history``/``find``   an id or criterion that is not a str (or None)
  store ``due``                         ``limit`` not an int ≥ 0 (``before`` naive: StoreError)
  store ``save``/``create``             not a Case; ``expected_version`` not an int ≥ 0
  ====================================  ==================================================

  A `ValueError` the library raises about values (facts, data, stored values) must be one of
  its own (`InvalidFacts`, `ValueProblem`, `UnstorableValue`, `CaseMismatch`): a
  `ZorgflowError` too.
- **A refused call changes nothing**: the case given holds the same (id, state, facts, roles,
  timers, history) before and after, and so do the arguments given; what a store holds
  (loaded, and its rows counted) is what it held before a refused save, create or
  transaction, and is exactly what the accepted steps wrote.
- **No personal value is shown.** Values of facts and data fields marked ``personal_data``
  and the candidates of a ranking over a personal fact are drawn as recognisable markers
  (``PII-<hex>``, dates before 1940, numbers from 7,000,000,000); none may appear in an
  exception's message or reasons, a `Decision`'s explanation, ``as_text()``, ``to_dict()``
  or ``repr``, a history entry's explanation or dossier, nor in any row a store writes outside
  its ``personal_data`` table (read from the SQLite file, and from PostgreSQL when
  ``ZORGFLOW_TEST_POSTGRES_DSN`` is set).
- **The loader and the command line** refuse any text with `WorkflowError` and exit 0, 1 or 2
  without a traceback; **``zorgflow serve``** answers every request with a status line, a 2xx
  or 4xx and a JSON or text body — never 5xx (but HTTP's own 501 to a method HTTP does not
  define and 505 to HTTP/2.0), never by dropping the connection — and changes no file outside
  its folder.

The tests, with their examples per run in `EXAMPLES` (hypothesis, random seeds): the engine
on each shipped workflow and on `PII_TEXT` (each example up to 25 calls); personal values on
purpose through every guard of `PII_TEXT`, on SQLite and PostgreSQL; the stores (up to 12
steps, transactions included, checked after each); the loader and the command line on
mutated workflow texts; ``zorgflow serve`` over raw sockets. Regressions for the bugs the
fuzz found follow them, at the end.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import io
import json
import math
import os
import re
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import POSTGRES_DSN_VARIABLE, in_ci
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zorgflow
from zorgflow import (
    Actor,
    Case,
    CaseFormatError,
    Decision,
    Engine,
    Workflow,
    WorkflowError,
    ZorgflowError,
    load_workflow_text,
)
from zorgflow.engine import digest
from zorgflow.model import FactType
from zorgflow.store import SQLiteStore, UnstorableValue
from zorgflow.testing import facts_for, values_of

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
SHIPPED = {p.stem: p.read_text(encoding="utf-8") for p in sorted(WORKFLOWS.glob("*.yaml"))}
AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=AMS)
KEY = b"k" * 32

#: hypothesis examples per test (each example is a sequence of calls)
EXAMPLES = {"engine": 100, "personal": 100, "store": 100, "loader": 150, "cli": 60,
            "serve": 80}


def fuzz(name: str) -> Any:
    """The settings of one fuzz test: no deadline, no example database, random seeds."""
    return settings(max_examples=EXAMPLES[name], deadline=None, database=None,
                    derandomize=False, suppress_health_check=list(HealthCheck))


# -- a workflow with every kind of personal data ------------------------------------------------

#: Personal facts of every type, a personal data field in a guard, a ranking over personal
#: candidates (modelled on PERSONAL_RANKING of tests/test_rulesets.py), criteria and a table
#: that read personal facts, a timer whose interval is a fact, and an anonymous dossier.
PII_TEXT = """\
id: pii
version: 1
label: Proef met persoonsgegevens
start_by: [medewerker]
roles:
  medewerker: {label: Medewerker}
  regisseur: {label: Regisseur, case_role: true}
facts:
  naam: {type: string, personal_data: true, label: Naam}
  bsn: {type: string, personal_data: true, label: BSN}
  geboortedatum: {type: date, personal_data: true, label: Geboortedatum}
  huisnummer: {type: integer, personal_data: true, label: Huisnummer}
  thema: {type: string, label: Thema}
  teller: {type: integer, label: Teller}
  score: {type: number, label: Score}
  vlag: {type: boolean, label: Vlag}
  status: {type: enum, values: [nieuw, oud], label: Status}
  interval: {type: integer, minimum: 1, label: Interval}
  kandidaten:
    type: list
    personal_data: true
    label: Kandidaten
    items:
      id: {type: string}
      expertise: {type: list, items: string}
      stemmen: {type: integer}
      geschikt: {type: boolean}
states:
  open:
    label: Open
    initial: true
    timers:
      - {signal: herinnering, label: Herinnering, after: "facts.interval days | 14 days"}
  bezig: {label: Bezig}
  dicht: {label: Dicht, final: true}
transitions:
  - event: kiezen
    label: Kiezen
    from: open
    to: bezig
    by: [medewerker]
    data: {wie: {type: string, label: Wie, personal_data: true}}
    when: data.wie in rules.rangorde.matched
  - event: benoemen
    label: Benoemen
    from: bezig
    to: bezig
    by: [medewerker]
    data: {regisseur: {type: string, label: Regisseur}}
    assigns: {regisseur: data.regisseur}
  - event: melden
    label: Melden
    from: open
    to: bezig
    by: [medewerker]
    data:
      melder: {type: string, label: Melder, personal_data: true}
      geboren: {type: date, label: Geboren, personal_data: true, required: false}
    when: >-
      known(naam) and naam != 'niemand' and days_since(geboortedatum) > 6570
      and (not known(data.geboren) or data.geboren < today())
  - event: toetsen
    label: Toetsen
    from: bezig
    to: bezig
    by: [medewerker, regisseur]
    when: "rules.volwassen.holds and huisnummer > 0"
  - event: sluiten
    label: Sluiten
    from: [open, bezig]
    to: dicht
    by: [medewerker]
    sends: anonymous_dossier
    when: rules.naamtabel.holds
rules:
  rangorde:
    kind: ranking
    label: Rangorde
    candidates: kandidaten
    candidate_id: id
    criteria:
      expertise: {label: Expertise, weight: 3, when: thema in kandidaat.expertise}
      stemmen: {label: Stemmen, weight: 0.5, points: kandidaat.stemmen}
      geschikt: {label: Geschikt, required: true, weight: 1, when: kandidaat.geschikt}
  volwassen:
    kind: criteria
    label: Volwassen
    criteria:
      oud_genoeg: {label: Oud genoeg, when: "days_since(geboortedatum) >= 6570"}
      genoemd: {label: Genoemd, all: ["naam == 'Jan'", "bsn != '0'"]}
      nummer: {label: Nummer, when: "huisnummer > 10"}
  naamtabel:
    kind: table
    hit_policy: first
    label: Naamtabel
    inputs:
      naam: {type: string}
      huisnummer: {type: integer}
      bsn: {type: string, from: bsn}
    outputs: [uitkomst]
    rows:
      - {id: jan, when: {naam: "== Jan"}, then: {uitkomst: jan}}
      - {id: hoog, when: {huisnummer: "> 100"}, then: {uitkomst: hoog}}
      - {id: bekend, when: {bsn: "!= x"}, then: {uitkomst: bekend}}
      - {id: rest, then: {uitkomst: rest}}
"""


@functools.cache
def _shared_engine() -> Engine:
    """The three shipped workflows and `PII_TEXT`, in one engine."""
    workflows = [load_workflow_text(text, f"{name}.yaml") for name, text in SHIPPED.items()]
    return Engine([*workflows, load_workflow_text(PII_TEXT, "pii.yaml")])


@pytest.fixture(scope="module")
def engine() -> Engine:
    return _shared_engine()


# -- values -------------------------------------------------------------------------------------


class DeepList(list):  # type: ignore[type-arg]
    """A list nested 5,000 deep (deeper than Python recurses), with a short repr."""

    def __repr__(self) -> str:
        return "DeepList(depth=5000)"


def _deep_list() -> DeepList:
    inner: list[Any] = []
    for _ in range(5000):
        inner = [inner]
    return DeepList(inner)


class DeepDict(dict):  # type: ignore[type-arg]
    """A mapping nested 5,000 deep, with a short repr."""

    def __repr__(self) -> str:
        return "DeepDict(depth=5000)"


def _deep_dict() -> DeepDict:
    inner: dict[str, Any] = {}
    for _ in range(5000):
        inner = {"a": inner}
    return DeepDict(diep=inner)


class Odd:
    """An object of no type a workflow knows (an exception its own comparisons raised would
    be the caller's, as in Python's own functions, so it compares as objects do)."""

    def __repr__(self) -> str:
        return "Odd()"


class Text(str):
    """A str subclass (some fast paths check ``value.__class__ is str``)."""


#: zones of the times given to the engine: odd offsets too (whole seconds: an offset with
#: microseconds, which Python allows, reads back without them on Python 3.11, whose
#: datetime.fromisoformat drops them; see the report of issue 17's fuzz)
ZONES = [UTC, AMS, timezone(timedelta(hours=14)), timezone(-timedelta(hours=23, minutes=59)),
         timezone(timedelta(hours=5, minutes=30, seconds=15))]

ODD_VALUES: list[Any] = [
    2**63, -(2**63) - 1, 2**64, 10**400, -(10**400),
    1e308, -1e308, 5e-324, 1e16, 1e-5, math.nan, math.inf, -math.inf, -0.0, 0.0,
    "\x00", "a\x00b", "\ud800", "x\udfffy", "\ud83d\ude00", "\U0001f600", "\x85", "\u2028",
    "\ufeff", "\t", "", " ", "x" * 200_000, "true", "null", "1e999", "１２３", "ｔｒｕｅ",
    "2026-13-45", "31-12-2026", "2026/01/05", "20260105", "2026-1-5", "2026-01-05T25:00",
    "0000-01-01", "9999-12-31", "10000-01-01", "-0001-01-01", "2026-02-29", "2024-02-29",
    "２０２６-０１-０５", "2026-01-05 ", " 2026-01-05", "2026-01-05\x00", "2026-W01-1",
    "2026-01-05T09:00:00+01:00", "2026-01-05T09:00:00", "9999-12-31T23:59:59+00:00",
    True, False, None, [], {}, [[[]]], {"a": {"b": [1]}}, [None], [{}], ({},), (1, 2),
    b"bytes", bytearray(b"x"), {1, 2}, frozenset(), 1 + 2j, Decimal("1.5"), Decimal("NaN"),
    Fraction(1, 3), object(), Odd(), Text("tekst"), Text("2026-01-05"),
    date(2026, 1, 5), date(1, 1, 1), date(9999, 12, 31),
    datetime(2026, 1, 5, 9, 0), datetime(2026, 1, 5, 9, 0, tzinfo=AMS),
    datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC),
    timedelta(days=1), _deep_list(), _deep_dict(),
]

#: whole numbers of more digits than Python converts to text (4,300): drawn, since a
#: strategy that holds them cannot show itself
HUGE = st.sampled_from([4400, 20000, -4400]).map(lambda n: 10**n if n > 0 else -(10**-n))
SCALARS = st.one_of(
    st.sampled_from(ODD_VALUES), HUGE, st.integers(), st.floats(), st.text(max_size=12),
    st.booleans(), st.none(), st.dates().map(str),
    st.datetimes(timezones=st.sampled_from([None, *ZONES])),
)
ADVERSARIAL = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
#: names that are not a workflow's: odd text, and keys that are not text at all
ODD_NAMES = st.one_of(st.text(max_size=12), st.sampled_from(
    ["", "\x00", "\ud800", "ｎａａｍ", "naam ", "NAAM", "__class__", "data.naam", 5, None,
     (1,), 2.5, True]))
ACTOR_IDS = ["a.een", "b.twee", "p.regisseur", "q.ander"]


# -- personal values ----------------------------------------------------------------------------


@dataclass
class Secrets:
    """The personal values an example used: none may be shown."""

    texts: set[str] = field(default_factory=set)

    def draw_marker(self, data: st.DataObject) -> str:
        marker = "PII-" + data.draw(st.binary(min_size=5, max_size=5), label="marker").hex()
        self.texts.add(marker)
        return marker

    def draw_text(self, data: st.DataObject, *, valid: bool = False) -> Any:
        """A personal text value: a marker, alone or in odd company (with ``valid``, none
        that a store refuses)."""
        marker = self.draw_marker(data)
        odd = [] if valid else [f"{marker}\x00", f"{marker}\ud800"]
        return data.draw(st.sampled_from([
            marker, f"Jan {marker}", marker * 3, f"{marker}{'x' * 60}", Text(marker),
            f"  {marker}  ", *odd]), label="personal text")

    def draw_date(self, data: st.DataObject, *, valid: bool = False) -> Any:
        day = data.draw(st.dates(date(1901, 1, 1), date(1939, 12, 31)), label="personal date")
        self.texts.add(day.isoformat())
        self.texts.add(day.strftime("%d-%m-%Y"))
        if valid:
            return data.draw(st.sampled_from([day, day.isoformat()]), label="date as")
        return data.draw(st.sampled_from([
            day, day.isoformat(), day.strftime("%d-%m-%Y"), day.isoformat() + "T00:00",
            datetime(day.year, day.month, day.day, tzinfo=UTC)]), label="personal date as")

    def draw_number(self, data: st.DataObject) -> Any:
        number = 7_000_000_000 + data.draw(st.integers(0, 999_999_999), label="personal int")
        self.texts.add(str(number))
        return data.draw(st.sampled_from([number, -number, float(number), str(number)]),
                         label="personal number as")

    def draw_value(self, data: st.DataObject, ftype: FactType, *, valid: bool = False) -> Any:
        """A personal value for a fact or field of type ``ftype`` (of that type with
        ``valid``, else of the right type or not)."""
        kind = ftype.name
        if kind == "date" and valid:
            return self.draw_date(data, valid=True)
        if kind == "date":
            return self.draw_date(data) if data.draw(st.booleans()) else self.draw_text(data)
        if kind in ("integer", "number") and valid:
            number = 7_000_000_000 + data.draw(st.integers(0, 999_999_999), label="personal")
            self.texts.add(str(number))
            return number
        if kind in ("integer", "number"):
            return self.draw_number(data) if data.draw(st.booleans()) else self.draw_text(data)
        if kind == "list" and ftype.fields:
            return [self.draw_candidate(data) for _ in range(data.draw(st.integers(0, 3)))]
        return self.draw_text(data, valid=valid)

    def draw_candidate(self, data: st.DataObject) -> dict[str, Any]:
        """A candidate of the personal ranking of `PII_TEXT` (or of lzn's, not personal)."""
        candidate: dict[str, Any] = {"id": self.draw_marker(data)}
        if data.draw(st.booleans()):
            candidate["expertise"] = [self.draw_marker(data), "ggz"]
        if data.draw(st.booleans()):
            number = 7_000_000_000 + data.draw(st.integers(0, 999_999), label="stemmen")
            self.texts.add(str(number))
            candidate["stemmen"] = number
        if data.draw(st.booleans()):
            candidate["geschikt"] = data.draw(st.sampled_from([True, False, "ja", None]))
        return candidate

    def assert_not_in(self, text: str, where: str) -> None:
        for secret in self.texts:
            assert secret not in text, f"personal value {secret!r} shown in {where}:\n{text}"


def shown_texts(value: Any) -> str:
    """Everything a refusal or a decision shows, as one text."""
    if isinstance(value, BaseException):
        parts = [str(value), repr(value), *map(str, value.args)]
        parts += [str(r) for r in getattr(value, "reasons", ())]
        parts += [str(p) for p in getattr(value, "errors", ())]
        if value.__cause__ is not None and not value.__suppress_context__:
            parts.append(shown_texts(value.__cause__))
        return "\n".join(parts)
    if isinstance(value, Decision):
        return "\n".join([*value.explanation, value.as_text(), repr(value),
                          json.dumps(value.to_dict(), default=repr, ensure_ascii=False)])
    return repr(value)


# -- calling --------------------------------------------------------------------------------


def attempt(secrets: Secrets, what: str, fn: Callable[[], Any], *, wrong_kind: bool = False
            ) -> tuple[bool, Any]:
    """``(True, result)`` or ``(False, error)`` for a refusal that is allowed: a
    `ZorgflowError`, or with ``wrong_kind`` a plain `TypeError`/`ValueError` (not a
    `UnicodeError`). Anything else fails the test. No refusal may show a personal value."""
    try:
        return True, fn()
    except ZorgflowError as exc:
        secrets.assert_not_in(shown_texts(exc), f"the refusal of {what}")
        return False, exc
    except Exception as exc:
        if not isinstance(exc, TypeError | ValueError):
            raise
        if not wrong_kind or isinstance(exc, UnicodeError):
            raise AssertionError(f"{what} raised {type(exc).__name__} (not a ZorgflowError) "
                                 f"for arguments of the right kind: {exc!r}") from exc
        secrets.assert_not_in(shown_texts(exc), f"the refusal of {what}")
        return False, exc


def snapshot(case: Case) -> Any:
    """What a case holds, to compare before and after a call (read through its attributes,
    not ``to_dict``, which an open bug may stop)."""
    return copy_of({"id": case.id, "workflow": (case.workflow_id, case.workflow_version),
                    "state": case.state, "facts": json_data(dict(case.facts)),
                    "case_roles": dict(case.case_roles),
                    "timers": {k: v.isoformat() for k, v in case.timers.items()},
                    "history": [e.to_dict() for e in case.history]})


def json_data(value: Any) -> Any:
    """``value`` as JSON data: read-only mappings as dicts, tuples as lists, dates as text."""
    if isinstance(value, Mapping):
        return {k: json_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_data(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def copy_of(value: Any, depth: int = 0) -> Any:
    """A fingerprint of an argument, to check that a call did not change it."""
    kind = type(value)
    if depth > 40:
        return "..."
    if kind is dict:
        return sorted(((copy_of(k, depth + 1), copy_of(v, depth + 1))
                       for k, v in value.items()), key=repr)
    if kind is list or kind is tuple:
        return (kind.__name__, [copy_of(v, depth + 1) for v in value])
    if kind is int:
        return ("int", value.bit_length(), hash(value))
    if kind is float and math.isnan(value):
        return "nan"
    return repr(value)[:100_000]


# -- the engine ---------------------------------------------------------------------------------


@dataclass
class Run:
    """One example of the engine fuzz: its draws, its cases, its personal values."""

    engine: Engine
    workflow: Workflow
    data: st.DataObject
    secrets: Secrets = field(default_factory=Secrets)
    cases: list[Case] = field(default_factory=list)

    def draw(self, strategy: st.SearchStrategy[Any], label: str = "") -> Any:
        return self.data.draw(strategy, label=label or None)

    # -- arguments: (value, of the wrong kind?) ---------------------------------------------
    def at(self) -> tuple[Any, bool]:
        choice = self.draw(st.integers(0, 39), "at kind")
        if choice < 33:
            return self.draw(st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31),
                                          timezones=st.sampled_from(ZONES)), "at"), False
        if choice < 36:  # the ends of the calendar the engine accepts
            return self.draw(st.sampled_from([
                datetime(1, 1, 2, 12, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC),
                datetime(9999, 12, 30, 23, 59, tzinfo=AMS)]), "at edge"), False
        if choice < 37:
            return None, False
        return self.draw(st.sampled_from([
            datetime(2026, 1, 5, 9), "2026-01-05T09:00:00+01:00", date(2026, 1, 5), 5,
            datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC),
            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=-5)))]), "wrong at"), True

    def actor(self, roles: Any = ()) -> tuple[Any, bool]:
        """An actor: mostly one holding ``roles`` (what the step needs), sometimes random
        roles, now and then something that is not an Actor. (Hypothesis prefers small
        numbers, so the common choice is 0 and the wrong kind the largest.)"""
        choice = self.draw(st.integers(0, 15), "actor kind")
        if choice == 15:
            return self.draw(st.sampled_from(["a.een", None, {"id": "a.een"}, 5]),
                             "wrong actor"), True
        ident = self.draw(st.sampled_from(ACTOR_IDS) | st.text(max_size=8), "actor id")
        if choice < 10 and roles:
            return Actor(ident or "a.een", roles), False
        drawn = self.draw(st.lists(st.sampled_from(
            [*self.workflow.roles, "onbekend", "", "ｍｅｄｅｗｅｒｋｅｒ"]), max_size=3)
            | st.sampled_from([["\ud800"], ["\x00"], "medewerker", [5], ("x",)]),
            "actor roles")
        ok, actor = attempt(self.secrets, "Actor()", lambda: Actor(ident, drawn),
                            wrong_kind=True)
        return (actor, False) if ok else (Actor("a.een", set(self.workflow.roles)), False)

    def fact_value(self, name: str) -> Any:
        fact = self.workflow.facts.get(name)
        choice = self.draw(st.integers(0, 9), "value kind")
        if fact is not None and fact.personal_data and choice < 6:
            return self.secrets.draw_value(self.data, fact.type)
        if fact is not None and choice < 6:
            return self.draw(values_of(fact.type, ACTOR_IDS), f"value of {name}")
        if choice == 9:
            return None
        return self.draw(ADVERSARIAL, f"odd value of {name}")

    def facts(self) -> tuple[Any, bool]:
        if self.draw(st.integers(0, 19), "facts kind") == 19:
            return self.draw(st.sampled_from([[("naam", "x")], "naam", 5, Odd()]),
                             "wrong facts"), True
        names = self.draw(st.lists(st.sampled_from(list(self.workflow.facts)), max_size=4),
                          "fact names")
        names += self.draw(st.lists(ODD_NAMES, max_size=1), "odd fact names")
        facts: dict[Any, Any] = {}
        for name in names:
            with contextlib.suppress(TypeError):  # an unhashable name
                facts[name] = self.fact_value(name) if isinstance(name, str) else 1
        return facts, False

    def data_for(self, event: str, case: Case | None) -> tuple[Any, bool]:
        if self.draw(st.integers(0, 19), "data kind") == 19:
            return self.draw(st.sampled_from([[("reden", "x")], "reden", 5]),
                             "wrong data"), True
        fields = {f.id: f for t in self.workflow.transitions if t.event == event
                  for f in t.data.values()}
        data: dict[Any, Any] = {}
        for name, spec in fields.items():
            choice = self.draw(st.integers(0, 9), f"data {name} kind")
            if choice == 9:
                continue
            if name == "wie" and case is not None and choice < 6:
                ids = [c.get("id") for c in case.facts.get("kandidaten", ())
                       if isinstance(c, Mapping)]
                if ids:
                    data[name] = self.draw(st.sampled_from(ids), "candidate chosen")
                    continue
            if spec.personal_data and choice < 7:
                data[name] = self.secrets.draw_value(self.data, spec.type)
            elif choice < 7:
                data[name] = self.draw(values_of(spec.type, ACTOR_IDS), f"data {name}")
            else:
                data[name] = self.draw(ADVERSARIAL, f"odd data {name}")
        for extra in self.draw(st.lists(ODD_NAMES, max_size=2), "extra data names"):
            with contextlib.suppress(TypeError):
                data[extra] = self.draw(ADVERSARIAL, "extra data")
        return data, False

    def case(self) -> Case | None:
        if not self.cases:
            return None
        return self.cases[-1 - self.draw(st.integers(0, len(self.cases) - 1), "case")]

    # -- checks -----------------------------------------------------------------------------
    def accepted(self, case: Case) -> None:
        """A case the engine returned: it shows no personal value, works out its timers, and
        survives serialisation (unkeyed and keyed) unchanged."""
        for entry in case.history:
            self.secrets.assert_not_in("\n".join(entry.explanation),
                                       f"the explanation of history entry {entry.seq}")
            if entry.dossier is not None:
                self.secrets.assert_not_in(json.dumps(dict(entry.dossier), default=str),
                                           f"the dossier of history entry {entry.seq}")
            self.secrets.assert_not_in(repr(entry), f"repr of history entry {entry.seq}")
        self.secrets.assert_not_in(repr(case), "repr(case)")
        self.cases.append(case)
        for what, fn in (("timers", lambda: self.engine.timers(case)),
                         ("next_due", lambda: self.engine.next_due(case))):
            attempt(self.secrets, f"{what} of an accepted case", fn)
        saved = case.to_dict()
        json.dumps(saved, allow_nan=False)
        assert snapshot(Case.from_dict(saved)) == snapshot(case)
        assert snapshot(Case.from_dict(case.to_dict(key=KEY), key=KEY)) == snapshot(case)

    def call(self, what: str, fn: Callable[[], Any], case: Case | None, *args: Any,
             wrong_kind: bool = False) -> tuple[bool, Any]:
        """``fn()`` through `attempt`; the case and the arguments are unchanged after."""
        before = snapshot(case) if case is not None else None
        given = [copy_of(a) for a in args]
        ok, result = attempt(self.secrets, what, fn, wrong_kind=wrong_kind)
        if case is not None:
            assert snapshot(case) == before, f"{what} changed the case it was given"
        assert [copy_of(a) for a in args] == given, f"{what} changed its arguments"
        return ok, result


def op_start(run: Run) -> None:
    workflow_id = run.draw(st.sampled_from([run.workflow.id] * 4 + ["onbekend", "LZN"]),
                           "workflow")
    actor, a_wrong = run.actor(run.workflow.start_by)
    facts, f_wrong = run.facts()
    at, t_wrong = run.at()
    case_id, c_wrong = run.draw(st.sampled_from([
        (None, False), (None, False), ("zaak-1", False), ("\x00", False), ("x" * 600, False),
        ("", False), (5, True), (b"id", True)]), "case id")
    ok, case = run.call("start", lambda: run.engine.start(
        workflow_id, actor=actor, facts=facts, at=at, case_id=case_id), None, facts,
        wrong_kind=a_wrong or f_wrong or t_wrong or c_wrong)
    if ok:
        run.accepted(case)


def op_fire(run: Run) -> None:
    case = run.case()
    if case is None:
        return
    leaving = run.workflow.transitions_from(case.state)
    e_wrong = False
    roles: set[str] = set()
    ident = None
    choice = run.draw(st.integers(0, 9), "event kind")
    if choice < 7 and leaving:  # an event that leaves the case's state, by a role it names
        transition = run.draw(st.sampled_from(leaving), "transition")
        event: Any = transition.event
        role = run.draw(st.sampled_from(transition.by), "by")
        roles.add(role)
        ident = case.case_roles.get(role)
    elif choice < 9:
        event = run.draw(st.sampled_from(run.workflow.events) | st.sampled_from(
            ["onbekend", "", "\x00", "Passend_bevonden", "ｐａｓｓｅｎｄ"]), "event")
    else:
        event, e_wrong = run.draw(st.sampled_from([5, None, ["x"], b"x"]), "wrong event"), True
    actor, a_wrong = run.actor(roles)
    if ident is not None and isinstance(actor, Actor) and run.draw(st.booleans(), "holder"):
        actor = Actor(ident, actor.roles)
    data, d_wrong = run.data_for(event if isinstance(event, str) else "", case)
    at, t_wrong = run.at()
    ok, new = run.call("fire", lambda: run.engine.fire(case, event, actor=actor, data=data,
                                                       at=at), case, data,
                       wrong_kind=e_wrong or a_wrong or d_wrong or t_wrong)
    if ok:
        run.accepted(new)


def op_set_facts(run: Run) -> None:
    case = run.case()
    if case is None:
        return
    org = [r for r, spec in run.workflow.roles.items() if not spec.case_role]
    actor, a_wrong = run.actor(run.draw(st.lists(st.sampled_from(org), min_size=1), "roles"))
    facts, f_wrong = run.facts()
    at, t_wrong = run.at()
    ok, new = run.call("set_facts", lambda: run.engine.set_facts(case, facts, actor=actor,
                                                                 at=at), case, facts,
                       wrong_kind=a_wrong or f_wrong or t_wrong)
    if ok:
        run.accepted(new)


def op_set_valid_facts(run: Run) -> None:
    """Many facts at once, of their declared types (personal ones as markers), so that the
    guards that need them pass and the case moves on."""
    case = run.case()
    if case is None:
        return
    every = st.fixed_dictionaries({name: values_of(fact.type, ACTOR_IDS) for name, fact
                                   in run.workflow.facts.items() if not fact.personal_data})
    facts = run.draw(facts_for(run.workflow) | every, "valid facts")
    for name, fact in run.workflow.facts.items():
        if fact.personal_data and run.draw(st.booleans(), f"set {name}"):
            facts[name] = run.secrets.draw_value(run.data, fact.type)
    org = {r for r, spec in run.workflow.roles.items() if not spec.case_role}
    ok, new = run.call("set_facts", lambda: run.engine.set_facts(
        case, facts, actor=Actor("a.een", org), at=T0), case, facts)
    if ok:
        run.accepted(new)


def op_decide(run: Run) -> None:
    case = run.case()
    target: Any = run.draw(st.sampled_from(
        ["case", run.workflow.id, "case", "onbekend", "wrong"]), "decide on")
    wrong = target == "wrong"
    if target == "case":
        target = case if case is not None else run.workflow.id
    elif wrong:
        target = run.draw(st.sampled_from([5, None, b"lzn"]), "wrong target")
    rule_set = run.draw(st.sampled_from([*run.workflow.rules, "onbekend", "", "\ud800"]),
                        "rule set")
    if run.draw(st.integers(0, 30), "rule set kind") == 30:
        rule_set, wrong = 5, True
    facts, f_wrong = run.facts() if run.draw(st.booleans(), "with facts") else (None, False)
    at, t_wrong = run.at()
    ok, decision = run.call("decide", lambda: run.engine.decide(target, rule_set, facts, at),
                            case if isinstance(target, Case) else None, facts,
                            wrong_kind=wrong or f_wrong or t_wrong)
    if ok:
        assert isinstance(decision, Decision)
        run.secrets.assert_not_in(shown_texts(decision), f"the decision of {rule_set}")


def op_allowed(run: Run) -> None:
    case = run.case()
    if case is None:
        return
    actor, a_wrong = run.actor(run.draw(st.lists(st.sampled_from(list(run.workflow.roles)),
                                                 max_size=3), "roles"))
    at, t_wrong = run.at()
    ok, events = run.call("allowed", lambda: run.engine.allowed(case, actor, at), case,
                          wrong_kind=a_wrong or t_wrong)
    if ok:
        assert set(events) <= set(run.workflow.events)


def op_timers(run: Run) -> None:
    case = run.case()
    if case is None:
        return
    at, t_wrong = run.at()
    if t_wrong is False and at is not None and run.draw(st.booleans(), "due at the end"):
        at = run.draw(st.sampled_from([datetime.max.replace(tzinfo=UTC),
                                       datetime.min.replace(tzinfo=UTC)]), "due at")
    sweep_at = at if t_wrong or at is None or 1 < at.year < 9999 else T0
    for what, fn in (("timers", lambda: run.engine.timers(case)),
                     ("due", lambda: run.engine.due(case, at)),
                     ("next_due", lambda: run.engine.next_due(case)),
                     ("record_signals", lambda: run.engine.record_signals(case, sweep_at))):
        ok, result = run.call(what, fn, case, wrong_kind=t_wrong and what != "timers"
                              and what != "next_due")
        if ok and isinstance(result, Case) and result is not case:
            run.accepted(result)


def op_next_occurrence(run: Run) -> None:
    case = run.case()
    target: Any = case if case is not None and run.draw(st.booleans(), "on case") \
        else run.workflow.id
    cycle = run.draw(st.sampled_from([None, *run.workflow.cycles, "onbekend"]), "cycle")
    at, t_wrong = run.at()
    run.call("next_occurrence", lambda: run.engine.next_occurrence(target, cycle, at),
             case if isinstance(target, Case) else None, wrong_kind=t_wrong)


def _mutate(run: Run, value: Any, depth: int = 0) -> Any:
    """``value`` (JSON data of a case) with one part changed, removed or added."""
    if isinstance(value, dict) and value and depth < 6 and run.draw(st.integers(0, 3)) > 0:
        key = run.draw(st.sampled_from(sorted(value, key=str)), "key to mutate")
        copy_ = dict(value)
        choice = run.draw(st.integers(0, 4), "dict mutation")
        if choice == 0:
            del copy_[key]
        elif choice == 1:
            copy_[run.draw(ODD_NAMES, "new key")] = run.draw(ADVERSARIAL, "new value")
        else:
            copy_[key] = _mutate(run, value[key], depth + 1)
        return copy_
    if isinstance(value, list) and value and depth < 6 and run.draw(st.integers(0, 3)) > 0:
        n = run.draw(st.integers(0, len(value) - 1), "item to mutate")
        copy_list = list(value)
        choice = run.draw(st.integers(0, 4), "list mutation")
        if choice == 0:
            del copy_list[n]
        elif choice == 1:
            copy_list.insert(n, copy.deepcopy(value[n]))
        else:
            copy_list[n] = _mutate(run, value[n], depth + 1)
        return copy_list
    if isinstance(value, str) and run.draw(st.booleans(), "mutate text"):
        return run.draw(st.sampled_from([
            value + "x", value.upper(), value[:-1], "", value + "\x00", value + "\ud800",
            "ｌｚｎ", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00",
            "2026-01-05T09:00:00"]), "text mutation")
    return run.draw(ADVERSARIAL, "replacement")


def op_round_trip(run: Run) -> None:
    case = run.case()
    if case is None:
        return
    keyed = run.draw(st.booleans(), "keyed")
    ok, saved = run.call("to_dict", lambda: case.to_dict(key=KEY if keyed else None), case)
    if not ok:
        return
    mutated = _mutate(run, saved) if run.draw(st.integers(0, 4), "mutate?") < 4 else saved
    how = run.draw(st.sampled_from(["as is", "re-signed", "unverified"]), "digest")
    if how == "re-signed" and isinstance(mutated, dict):
        body = {k: v for k, v in mutated.items() if k != "digest"}
        with contextlib.suppress(CaseFormatError, RecursionError):  # not JSON: cannot re-sign
            mutated = {**body, "digest": digest.sign(body, KEY if keyed else None)}
    key: Any = KEY if keyed else None
    wrong = False
    if run.draw(st.integers(0, 9), "key kind") == 9:
        key, wrong = run.draw(st.sampled_from([b"k", "k" * 32, {"a": b"k" * 32}, {}, 5,
                                               {"\x00": b"k" * 32}]), "wrong key"), True
    verify = how != "unverified"
    ok, restored = run.call(
        "Case.from_dict", lambda: Case.from_dict(mutated, verify=verify, key=key),
        case, wrong_kind=wrong or (not verify and key is not None))
    if not ok:
        return
    # a case read (perhaps altered, under a recomputed digest) runs or is refused cleanly
    for what, fn in (("timers", lambda: run.engine.timers(restored)),
                     ("next_due", lambda: run.engine.next_due(restored)),
                     ("allowed", lambda: run.engine.allowed(restored, Actor("a.een"), T0)),
                     ("history", lambda: restored.history),
                     ("to_dict", lambda: restored.to_dict())):
        attempt(run.secrets, f"{what} of a restored case", fn)
    ok, _ = attempt(run.secrets, "restored case", lambda: run.engine.set_facts(
        restored, {}, actor=Actor("a.een", set(run.workflow.roles)), at=T0))
    if ok and mutated is saved:
        run.cases.append(restored)


ENGINE_OPS = [op_fire, op_fire, op_fire, op_fire, op_set_facts, op_set_valid_facts, op_decide,
              op_decide, op_allowed, op_timers, op_round_trip, op_round_trip, op_start,
              op_next_occurrence]


def begin(run: Run) -> None:
    """Start a case as the workflow says, so that most steps have a case to work on."""
    actor = Actor("a.een", run.workflow.start_by)
    run.cases.append(run.engine.start(run.workflow.id, actor=actor, at=T0))


@pytest.mark.parametrize("workflow_id", ["lzn", "levensloop", "stappenplan", "pii"])
@fuzz("engine")
@given(data=st.data())
def test_the_engine_refuses_only_with_zorgflow_errors_and_shows_no_personal_value(
        engine: Engine, workflow_id: str, data: st.DataObject) -> None:
    run = Run(engine, engine.workflow(workflow_id), data)
    begin(run)
    for _ in range(data.draw(st.integers(1, 25), label="steps")):
        data.draw(st.sampled_from(ENGINE_OPS), label="operation")(run)



# -- the stores ---------------------------------------------------------------------------------


def stored_form(case: Case) -> Any:
    """What a store must give back for ``case``: its JSON data, with -0.0 read back as 0.0
    (as the README says) and times compared as instants with their offsets."""
    def plain(value: Any) -> Any:
        if isinstance(value, float) and value == 0.0:
            return 0.0
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return copy_of(plain(json_data({
        "id": case.id, "workflow": [case.workflow_id, case.workflow_version],
        "state": case.state, "facts": dict(case.facts), "case_roles": dict(case.case_roles),
        "timers": {k: v.isoformat() for k, v in case.timers.items()},
        "history": [e.to_dict() for e in case.history]})))


@dataclass
class Backend:
    """A store to fuzz, and a way to read its rows without it (to count them and to look for
    personal values where none may be)."""

    kind: str
    store: Any
    read: Callable[[str], list[tuple[Any, ...]]]  # SQL (tables as {s}.name) -> rows
    reset: Callable[[], None]  # an empty store for the next example

    def rows(self, table: str, case_id: str | None = None) -> list[tuple[Any, ...]]:
        where = "" if case_id is None else " WHERE case_id = " + _quoted(case_id)
        if table == "cases":
            where = "" if case_id is None else " WHERE id = " + _quoted(case_id)
        return self.read(f"SELECT * FROM {{s}}.{table}{where}")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def postgres_dsn_or_skip() -> str:
    dsn = os.environ.get(POSTGRES_DSN_VARIABLE)
    if dsn:
        return dsn
    why = (f"no PostgreSQL to fuzz the PostgresStore with: set {POSTGRES_DSN_VARIABLE} "
           "(`export ZORGFLOW_TEST_POSTGRES_DSN=$(.ci/postgres)` starts one); the SQLite "
           "half of this test runs without it")
    if in_ci():
        pytest.fail(why)
    pytest.skip(why)


@contextlib.contextmanager
def open_backend(kind: str, engine: Engine, folder: Path) -> Iterator[Backend]:
    if kind == "sqlite":
        paths = [folder / "fuzz-0.db"]

        def read_sqlite(sql: str) -> list[tuple[Any, ...]]:
            with contextlib.closing(sqlite3.connect(paths[-1])) as db:
                return db.execute(sql.replace("{s}.", "")).fetchall()

        def new_file() -> None:
            backend.store.close()
            paths.append(folder / f"fuzz-{len(paths)}.db")
            backend.store = SQLiteStore(paths[-1], engine, durability="normal")

        backend = Backend(kind, SQLiteStore(paths[-1], engine, durability="normal"),
                          read_sqlite, new_file)
        try:
            yield backend
        finally:
            backend.store.close()
        return
    import psycopg

    from zorgflow.store import PostgresStore

    dsn = postgres_dsn_or_skip()
    schema = "fuzz_" + uuid.uuid4().hex[:12]
    pg_store = PostgresStore(dsn, engine, schema=schema)
    reader = psycopg.connect(dsn, autocommit=True)

    def read_postgres(sql: str) -> list[tuple[Any, ...]]:
        return reader.execute(sql.replace("{s}.", f'"{schema}".')).fetchall()

    def empty() -> None:
        reader.execute(f'TRUNCATE "{schema}".cases, "{schema}".case_roles, "{schema}".history, '
                       f'"{schema}".personal_data, "{schema}".idempotency_keys')

    try:
        yield Backend(kind, pg_store, read_postgres, empty)
    finally:
        pg_store.close()
        reader.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        reader.close()


@dataclass
class StoreRun(Run):
    """One example of the store fuzz: what the store must hold, case by case."""

    backend: Any = None
    expected: dict[str, Any] = field(default_factory=dict)
    latest: dict[str, Case] = field(default_factory=dict)
    stale: list[Case] = field(default_factory=list)

    @property
    def store(self) -> Any:
        return self.backend.store

    def use(self, case: Case) -> None:
        self.workflow = self.engine.workflow(case.workflow_id, case.workflow_version)

    def pick(self) -> Case | None:
        """A stored case: mostly its latest version, sometimes an older one (a stale save)."""
        if self.stale and self.draw(st.integers(0, 5), "stale?") == 5:
            return self.stale[-1 - self.draw(st.integers(0, len(self.stale) - 1), "old")]
        if not self.latest:
            return None
        ids = list(self.latest)
        return self.latest[ids[self.draw(st.integers(0, len(ids) - 1), "stored case")]]

    def saved(self, case: Case) -> None:
        """``case`` was written: the store must now give it back."""
        old = self.latest.get(case.id)
        if old is not None:
            self.stale.append(old)
        self.latest[case.id] = case
        self.expected[case.id] = stored_form(case)
        ok, _ = attempt(self.secrets, "to_dict of a saved case", case.to_dict)
        if ok:
            self.cases.append(case)

    def check(self) -> None:
        """The store holds exactly what was written, whole, and no personal value outside its
        personal_data table."""
        for case_id, expected in self.expected.items():
            loaded = self.store.load(case_id)
            assert stored_form(loaded) == expected, f"case {case_id} is not what was saved"
            version = len(expected and self.latest[case_id].history)
            assert len(self.backend.rows("history", case_id)) == version
            assert len(self.backend.rows("case_roles", case_id)) == len(
                self.latest[case_id].case_roles)
        for table in ("cases", "case_roles", "history"):
            for row in self.backend.rows(table):
                self.secrets.assert_not_in(repr(row), f"a row of table {table} (stored "
                                           "outside personal_data)")


def _storable_facts(run: StoreRun) -> dict[str, Any]:
    """Facts of their declared types, with values a store may refuse: text with NUL or a
    lone surrogate, numbers too long to write, -0.0, floats in exponent form."""
    facts: dict[str, Any] = {}
    for name, fact in run.workflow.facts.items():
        if run.draw(st.integers(0, 3), f"with {name}") > 0:
            continue
        kind = fact.type.name
        if fact.personal_data:
            facts[name] = run.secrets.draw_value(run.data, fact.type, valid=run.draw(
                st.integers(0, 5), "valid?") < 5)
        elif kind == "string":
            facts[name] = run.draw(st.sampled_from(
                ["gewoon", "a\x00b", "\ud800", "x" * 5000, "\\u0000", "é\U0001f600"]), name)
        elif kind == "integer" and fact.type.minimum is None:
            facts[name] = run.draw(st.sampled_from([0, -1, 2**63, -(2**70), 10**1000])
                                   | HUGE, name)
        elif kind == "number":
            facts[name] = run.draw(st.sampled_from(
                [-0.0, 1e16, 1e308, 5e-324, 1e-5, 0.1, 2.5, 10**30]), name)
        else:
            facts[name] = run.draw(values_of(fact.type, ACTOR_IDS), name)
    return facts


def s_start(run: StoreRun) -> None:
    run.workflow = run.engine.workflow(run.draw(st.sampled_from(["pii", "lzn"]), "workflow"))
    facts = _storable_facts(run)
    case_id = run.draw(st.sampled_from(
        [None, None, *run.latest, "\x00", "a\ud800", "x" * 501, "x" * 500, "é"]),
        "case id")
    actor = Actor("a.een", run.workflow.start_by)
    before = {k: copy_of(v) for k, v in facts.items()}
    ok, case = attempt(run.secrets, "start with store", lambda: run.engine.start(
        run.workflow.id, actor=actor, facts=facts, at=T0, case_id=case_id, store=run.store))
    assert {k: copy_of(v) for k, v in facts.items()} == before
    if ok:
        run.saved(case)


def s_step(run: StoreRun) -> None:
    """fire or set_facts with ``store=``: saved as one step, or refused writing nothing."""
    case = run.pick()
    if case is None:
        return
    run.use(case)
    if run.draw(st.booleans(), "fire?"):
        leaving = run.workflow.transitions_from(case.state)
        if not leaving:
            return
        transition = run.draw(st.sampled_from(leaving), "transition")
        role = run.draw(st.sampled_from(transition.by), "by")
        actor = Actor(case.case_roles.get(role, "a.een"), {role})
        data, _ = run.data_for(transition.event, case)
        if transition.event == "casusregisseur_benoemd" and run.draw(st.booleans()):
            data = {"casusregisseur": run.draw(st.sampled_from(
                ["p.regisseur", "x" * 501, "a\x00", "b\ud800"]), "regisseur")}
        if transition.event == "benoemen" and run.draw(st.booleans()):
            data = {"regisseur": run.draw(st.sampled_from(["x" * 501, "a\x00"]), "regisseur")}
        if "afsluitreden" in transition.data:
            data = {"afsluitreden": run.draw(st.sampled_from(
                [r.id for r in run.workflow.rules["afsluitcriteria"].criteria]), "reden")}
        step = lambda: run.engine.fire(case, transition.event, actor=actor,  # noqa: E731
                                       data=data, at=T0, store=run.store)
    else:
        org = {r for r, spec in run.workflow.roles.items() if not spec.case_role}
        facts = _storable_facts(run)
        step = lambda: run.engine.set_facts(case, facts, actor=Actor("a.een", org),  # noqa: E731
                                            at=T0, store=run.store)
    ok, new = attempt(run.secrets, "a step with store", step)
    if ok:
        run.saved(new)


def s_save(run: StoreRun) -> None:
    """save or create called directly: a new step altered outside the engine (read back
    without checks, as a store of one's own might), any expected_version, arguments of the
    wrong kind."""
    case = run.pick()
    if case is None:
        return
    run.use(case)
    org = {r for r, spec in run.workflow.roles.items() if not spec.case_role}
    ok, step = attempt(run.secrets, "set_facts", lambda: run.engine.set_facts(
        case, {}, actor=Actor("a.een", org), at=T0))
    if not ok:
        return
    ok, raw = attempt(run.secrets, "to_dict", step.to_dict)
    if not ok:
        return
    raw = copy.deepcopy(raw)
    how = run.draw(st.sampled_from(["as is", "actor", "explanation", "dossier", "role",
                                    "timer", "fact", "id", "data", "state", "at"]),
                   "alteration")
    last = raw["history"][-1]
    if how == "actor":
        last["actor"] = run.draw(st.sampled_from(["a\x00", "\udc80", "x" * 10_000, ""]), how)
    elif how == "explanation":
        last["explanation"] = run.draw(st.sampled_from(
            [["a\x00"], ["\ud800"], ["ok", "x" * 10_000], [], ["\\u0000"]]), how)
    elif how == "dossier":
        last["dossier"] = run.draw(st.sampled_from(
            [{"a": math.nan}, {"a": math.inf}, {"\x00": 1}, {"a": [1e16, -0.0]}, {},
             {"a": 10**5000}]), how)
    elif how == "role":
        raw["case_roles"] = {run.draw(st.sampled_from(["casusregisseur", "regisseur",
                                                       "r\x00"]), "role name"):
                             run.draw(st.sampled_from(["x" * 501, "a\x00", "ok"]), how)}
    elif how == "timer":
        raw["timers"] = {run.draw(st.sampled_from(["herinnering", "terugkoppeling_te_laat",
                                                   "onbekend"]), "signal"):
                         run.draw(st.sampled_from([
                             "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00",
                             "0001-01-01T00:00:00-14:00", "2026-01-05T09:00:00+05:30:15",
                             "9999-12-31T23:59:59-14:00"]), how)}
    elif how == "fact":
        name = run.draw(st.sampled_from(sorted(run.workflow.facts)), "fact")
        raw["facts"][name] = run.draw(ADVERSARIAL, how)
    elif how == "id":
        raw["id"] = run.draw(st.sampled_from(["\x00", "x" * 501, "nieuw-" + case.id]), how)
    elif how == "data":
        last["data"] = {**last["data"], "extra": run.draw(ADVERSARIAL, how)}
    elif how == "state":
        raw["state"] = last["to"] = run.draw(st.sampled_from(sorted(run.workflow.states)), how)
    elif how == "at":
        last["at"] = run.draw(st.sampled_from([
            "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
            "2026-01-05T09:00:00+05:30:15", "2026-01-05T09:00:00.123456+01:00"]), how)
    ok, altered = attempt(run.secrets, "Case.from_dict", lambda: Case.from_dict(
        raw, verify=False))
    if not ok:
        return
    version, wrong = run.draw(st.sampled_from([
        (case.version, False), (case.version - 1, False), (0, False),
        (case.version + 1, False), (-1, True), ("1", True), (True, True), (None, True)]),
        "expected version")
    wrong = wrong or (isinstance(version, int) and version < 0)
    create = run.draw(st.integers(0, 4), "create?") == 4
    target: Any = altered if run.draw(st.integers(0, 20), "a case?") < 20 else {"id": 1}
    wrong = wrong or not isinstance(target, Case)
    ok, _ = attempt(run.secrets, "create" if create else "save",
                    (lambda: run.store.create(target)) if create
                    else (lambda: run.store.save(target, version)), wrong_kind=wrong)
    if not ok:
        return
    if create or (version == case.version and altered.id == case.id):
        assert isinstance(altered, Case)
        run.saved(altered)
    else:  # a save based on another version than the stored one cannot have succeeded
        raise AssertionError(f"save of case {altered.id} from version {version} was accepted "
                             f"while the store holds version {case.version}")


def s_read(run: StoreRun) -> None:
    """load, history, find and due with ids and arguments of every kind."""
    ids = list(run.latest)
    what = run.draw(st.sampled_from(["load", "history", "find", "due"]), "read")
    value, wrong = run.draw(st.sampled_from(
        [(i, False) for i in ids] + [("onbekend", False), ("\x00", False), ("\ud800", False),
                                     ("x" * 10_000, False), ("' OR 1=1 --", False),
                                     (5, True), (None, True), (b"id", True), (["a"], True)]),
        "id")
    if what in ("load", "history"):
        ok, _ = attempt(run.secrets, what, lambda: getattr(run.store, what)(value),
                        wrong_kind=wrong)
        if isinstance(value, str) and value in run.latest:
            assert ok, f"{what} of a stored case was refused"
    elif what == "find":
        key = run.draw(st.sampled_from(["workflow_id", "state", "role_holder"]), "criterion")
        ok, refs = attempt(run.secrets, "find", lambda: run.store.find(**{key: value}),
                           wrong_kind=wrong and value is not None)
        if ok:
            assert {r.id for r in refs} <= set(run.latest)
    else:
        before, b_wrong = run.draw(st.sampled_from([
            (T0, False), (datetime.max.replace(tzinfo=UTC), False),
            (datetime.min.replace(tzinfo=UTC), False),
            (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), False),
            (datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=14))), False),
            (datetime(2026, 1, 5), True), ("2026-01-05", True)]), "before")
        limit, l_wrong = run.draw(st.sampled_from([
            (None, False), (0, False), (1, False), (2**63, False), (2**70, False),
            (-1, True), (True, True), ("1", True), (1.5, True)]), "limit")
        ok, refs = attempt(run.secrets, "due", lambda: run.store.due(before, limit=limit),
                           wrong_kind=b_wrong or l_wrong)
        if ok:
            assert {r.id for r in refs} <= set(run.latest)
            assert limit is None or len(refs) <= limit


class Rollback(Exception):
    """Leaves a transaction block, undoing it."""


def s_transaction(run: StoreRun) -> None:
    """Steps inside ``transaction()``: a failing step writes nothing even when caught; an
    error leaving the block undoes all of it."""
    expected, latest, stale = dict(run.expected), dict(run.latest), list(run.stale)
    outer = run.backend.store
    undo = run.draw(st.booleans(), "undo")
    try:
        with outer.transaction() as tx:
            run.backend.store = tx
            try:
                for _ in range(run.draw(st.integers(1, 3), "steps in transaction")):
                    run.draw(st.sampled_from([s_start, s_step, s_step, s_save, s_read]),
                             "step in transaction")(run)
            finally:
                run.backend.store = outer
            if undo:
                raise Rollback
    except Rollback:
        run.expected, run.latest, run.stale = expected, latest, stale
    except ZorgflowError as exc:  # the commit failed: nothing was written
        run.secrets.assert_not_in(shown_texts(exc), "the refusal of a transaction")
        run.expected, run.latest, run.stale = expected, latest, stale


STORE_OPS = [s_start, s_step, s_step, s_step, s_save, s_save, s_read, s_transaction]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_stores_refuse_only_with_store_errors_and_write_whole_steps(
        engine: Engine, kind: str, tmp_path: Path) -> None:
    with open_backend(kind, engine, tmp_path) as backend:

        @fuzz("store")
        @given(data=st.data())
        def fuzz_store(data: st.DataObject) -> None:
            backend.reset()
            run = StoreRun(engine, engine.workflow("pii"), data, backend=backend)
            for _ in range(data.draw(st.integers(1, 12), label="steps")):
                data.draw(st.sampled_from(STORE_OPS), label="operation")(run)
                run.check()

        fuzz_store()



# -- personal data, on purpose --------------------------------------------------------------


MASK = "<persoonsgegeven>"


def _candidate(secrets: Secrets, data: st.DataObject) -> dict[str, Any]:
    """A candidate of the personal ranking of `PII_TEXT`, of the declared types."""
    number = 7_000_000_000 + data.draw(st.integers(0, 999_999), label="stemmen")
    secrets.texts.add(str(number))
    return {"id": secrets.draw_marker(data),
            "expertise": [*data.draw(st.sampled_from([[], ["ggz"], ["schulden"]]), label="exp"),
                          secrets.draw_marker(data)],
            "stemmen": number,
            "geschikt": data.draw(st.sampled_from([True, True, True, False]), label="geschikt")}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_personal_values_appear_in_no_message_explanation_or_stored_row(
        engine: Engine, kind: str, tmp_path: Path) -> None:
    """Cases of `PII_TEXT` (every kind of personal value, a guard on a personal ranking)
    and of lzn, driven through their guards with personal values drawn as markers: no
    refusal, explanation, decision, dossier or stored row outside personal_data shows one,
    and the stored explanations of guards that read personal data say `MASK` instead."""
    pii, lzn = engine.workflow("pii"), engine.workflow("lzn")
    medewerker = Actor("m.medewerker", {"medewerker"})
    coord = Actor("a.coord", {"lzn_coordinator", "sociaal_contactpunt"})
    with open_backend(kind, engine, tmp_path) as backend:

        @fuzz("personal")
        @given(data=st.data())
        def scenario(data: st.DataObject) -> None:
            backend.reset()
            secrets = Secrets()
            store = backend.store

            def shows_nothing(what: str, fn: Callable[[], Any]) -> tuple[bool, Any]:
                ok, result = attempt(secrets, what, fn)
                if ok and isinstance(result, Decision):
                    secrets.assert_not_in(shown_texts(result), f"the decision of {what}")
                if ok and isinstance(result, Case):
                    for entry in result.history:
                        secrets.assert_not_in("\n".join(entry.explanation),
                                              f"explanation {entry.seq} after {what}")
                        secrets.assert_not_in(json.dumps(
                            json_data(entry.dossier or {}), default=str),
                            f"dossier {entry.seq} after {what}")
                return ok, result

            facts: dict[str, Any] = {
                name: secrets.draw_value(data, fact.type, valid=True)
                for name, fact in pii.facts.items() if fact.personal_data
                and data.draw(st.integers(0, 4), label=f"with {name}") < 4}
            if "kandidaten" in facts:
                facts["kandidaten"] = [_candidate(secrets, data)
                                       for _ in range(data.draw(st.integers(1, 3)))]
            facts["thema"] = "ggz"
            ok, case = shows_nothing("start", lambda: engine.start(
                "pii", actor=medewerker, facts=facts, at=T0, store=store))
            assert ok, case
            guarded = []
            for _ in range(data.draw(st.integers(1, 6), label="steps")):
                step = data.draw(st.sampled_from(
                    ["kiezen", "kiezen", "melden", "toetsen", "sluiten", "benoemen",
                     "decide", "what-if", "wrong facts", "set personal"]), label="step")
                if step in ("decide", "what-if"):
                    given_facts = None
                    if step == "what-if":
                        name = data.draw(st.sampled_from(sorted(pii.facts)), label="fact")
                        spec = pii.facts[name]
                        value = (secrets.draw_value(data, spec.type) if spec.personal_data
                                 else data.draw(values_of(spec.type)))
                        given_facts = {name: value}
                    for rule_set in pii.rules:
                        shows_nothing(f"decide {rule_set}", lambda r=rule_set, f=given_facts,
                                      c=case: engine.decide(c, r, f, at=T0))
                        shows_nothing(f"decide {rule_set} on given facts",
                                      lambda r=rule_set, f=given_facts:
                                      engine.decide("pii", r, {**facts, **(f or {})}, at=T0))
                    continue
                if step == "wrong facts":  # personal values of the wrong type, refused
                    name = data.draw(st.sampled_from(
                        [n for n, f in pii.facts.items() if f.personal_data]), label="fact")
                    marker = secrets.draw_marker(data)
                    wrong = data.draw(st.sampled_from([[marker], {"x": marker}]), label="wrong")
                    shows_nothing("set_facts", lambda n=name, w=wrong, c=case: engine.set_facts(
                        c, {n: w}, actor=medewerker, at=T0, store=store))
                    continue
                if step == "set personal":
                    name = data.draw(st.sampled_from(
                        [n for n, f in pii.facts.items() if f.personal_data]), label="fact")
                    value = (_candidate_list(secrets, data) if name == "kandidaten"
                             else secrets.draw_value(data, pii.facts[name].type, valid=True))
                    ok, new = shows_nothing("set_facts", lambda n=name, v=value, c=case:
                                            engine.set_facts(c, {n: v}, actor=medewerker,
                                                             at=T0, store=store))
                    if ok:
                        case = new
                    continue
                event_data: dict[str, Any] = {}
                if step == "kiezen":
                    ids = [c["id"] for c in case.facts.get("kandidaten", ())]
                    event_data["wie"] = (data.draw(st.sampled_from(ids), label="wie")
                                         if ids and data.draw(st.booleans(), label="known")
                                         else secrets.draw_text(data))
                elif step == "melden":
                    event_data["melder"] = secrets.draw_text(data)
                    if data.draw(st.booleans(), label="geboren"):
                        event_data["geboren"] = secrets.draw_value(
                            data, FactType("date"), valid=data.draw(st.booleans()))
                elif step == "benoemen":
                    event_data["regisseur"] = "r.regisseur"
                ok, new = shows_nothing(step, lambda e=step, d=event_data, c=case: engine.fire(
                    c, e, actor=medewerker, data=d, at=T0, store=store))
                if ok:
                    case = new
                    if step in ("kiezen", "melden", "toetsen", "sluiten"):
                        guarded.append(step)  # each guard of PII_TEXT reads personal data
            # and lzn: personal facts and a refused event quoting them
            lzn_facts = {name: secrets.draw_value(data, fact.type, valid=True)
                         for name, fact in lzn.facts.items() if fact.personal_data}
            ok, other = shows_nothing("start lzn", lambda: engine.start(
                "lzn", actor=coord, facts=lzn_facts, at=T0, store=store))
            assert ok, other
            shows_nothing("fire lzn", lambda: engine.fire(
                other, "niet_passend_bevonden", actor=coord,
                data={"reden": 5, "naam": lzn_facts["naam"]}, at=T0, store=store))
            altered = {**other.to_dict(), "facts": {**lzn_facts,
                                                    "geboortedatum": lzn_facts["naam"]}}
            for verify in (True, False):
                shows_nothing("a restored case holding a personal value of the wrong type",
                              lambda v=verify: engine.timers(Case.from_dict(altered, verify=v)))
            # what was stored: personal values only in personal_data
            stored = store.load(case.id)
            assert stored_form(stored) == stored_form(case)
            for table in ("cases", "case_roles", "history"):
                for row in backend.rows(table):
                    secrets.assert_not_in(repr(row), f"a row of table {table}")
            explanations = [row[0] for row in backend.read(
                "SELECT explanation FROM {s}.history WHERE explanation IS NOT NULL")]
            assert len(explanations) >= len(guarded)
            if guarded:
                assert any(MASK in str(text) for text in explanations), explanations

        scenario()


def _candidate_list(secrets: Secrets, data: st.DataObject) -> list[dict[str, Any]]:
    return [_candidate(secrets, data) for _ in range(data.draw(st.integers(0, 3)))]


# -- the loader and the command line ------------------------------------------------------------

#: what a mutation may insert into a workflow text
ODD_TEXT = [
    "\x85", "\t", "\ufeff", "\u2028", "\x00", "\ud800", "\\ud800", "\\udc00\\ud800", "\\U0000d800",
    "\\x00", "\\N", "&a ", "*a", "<<: *a", "!!python/object/apply:os.system ['true'] ",
    "!!binary ", "!custom ", "{", "}", "[", "]", ":", "- ", "'", '"', "#", "%YAML 1.1\n",
    "---\n", "...\n", "? ", "|", ">-", "@", "`", "9" * 5000, "1e999", ".nan", "-.inf",
    "0x1F", "0o17", "1_000", "~", "null", "yes", "on", "\r", "\r\n", "ｔｒｕｅ", "ｌｚｎ", " ",
    "        ", "__class__", "{{ x }}", "${x}", "data.__class__", "()", "lambda: 1",
    "a" * 300, "é", "\U0001f600",
]


def _alias_bomb() -> str:
    lines = ["bom0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"bom{n}: &b{n} [{', '.join([f'*b{n - 1}'] * 10)}]" for n in range(1, 9)]
    return "\n".join(lines) + "\n"


@st.composite
def mutated_text(draw: st.DrawFn, texts: Mapping[str, str] = SHIPPED) -> str:
    """A shipped workflow text with a few lines deleted, doubled, swapped or replaced, odd
    characters inserted (in quoted strings too), numbers made huge, anchors and aliases."""
    text = texts[draw(st.sampled_from(sorted(texts)), label="workflow")]
    lines = text.split("\n")
    for _ in range(draw(st.integers(0, 4), label="mutations")):
        n = draw(st.integers(0, len(lines) - 1), label="line")
        what = draw(st.sampled_from(["delete", "double", "swap", "replace", "insert",
                                     "quoted", "number", "alias", "indent", "truncate",
                                     "bomb"]), label="mutation")
        line = lines[n]
        if what == "delete":
            del lines[n]
        elif what == "double":
            lines.insert(n, line)
        elif what == "swap":
            m = draw(st.integers(0, len(lines) - 1), label="other line")
            lines[n], lines[m] = lines[m], line
        elif what == "replace":
            lines[n] = lines[draw(st.integers(0, len(lines) - 1), label="other line")]
        elif what == "insert":
            at = draw(st.integers(0, len(line)), label="column")
            lines[n] = line[:at] + draw(st.sampled_from(ODD_TEXT), label="text") + line[at:]
        elif what == "quoted":  # an escape inside a double-quoted string
            quoted = [i for i, ln in enumerate(lines) if '"' in ln]
            if quoted:
                k = quoted[draw(st.integers(0, len(quoted) - 1), label="quoted line")]
                at = lines[k].index('"') + 1
                lines[k] = lines[k][:at] + draw(st.sampled_from(
                    ["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\x00", "\\u0000", "\\e",
                     "\\N", "\\_", "\\L", "\\P", "\\q", "\\U0010ffff", "\\U00110000"]),
                    label="escape") + lines[k][at:]
        elif what == "number":
            lines[n] = re.sub(r"\b\d+\b", draw(st.sampled_from(
                ["9" * 5000, "-1", "0", "1e999", "2147483648", "99999999999999999999",
                 ".inf", "1.5", "0x10"]), label="number"), line, count=1)
        elif what == "alias":
            key = re.match(r"^(\s*[a-z_]+:) (.+)$", line)
            if key:
                lines[n] = f"{key.group(1)} &anker {key.group(2)}"
                m = draw(st.integers(0, len(lines) - 1), label="alias line")
                other = re.match(r"^(\s*[a-z_]+:) (.+)$", lines[m])
                if other:
                    lines[m] = f"{other.group(1)} *anker"
        elif what == "indent":
            lines[n] = draw(st.sampled_from(["\t", " ", "   "]), label="indent") + line
        elif what == "truncate":
            lines = [*lines[:n], line[:draw(st.integers(0, len(line)), label="cut")]]
        else:
            lines.insert(n, _alias_bomb())
        lines = lines or [""]
    return "\n".join(lines)


@fuzz("loader")
@given(text=mutated_text())
def test_the_loader_refuses_any_text_with_a_workflow_error(text: str) -> None:
    try:
        workflow = load_workflow_text(text, "fuzz.yaml")
    except WorkflowError as exc:
        assert exc.errors, "a WorkflowError without problems"
        for problem in exc.errors:
            assert problem.file == "fuzz.yaml" and problem.message
        str(exc)
        return
    # what loads also runs: an engine takes it, its examples run (a failing example is a
    # result, not an exception), its rule sets decide on no facts
    engine = Engine([workflow])
    for result in zorgflow.run_examples(workflow, engine):
        assert isinstance(result.message, str)
    for rule_set in workflow.rules:
        attempt(Secrets(), "decide", lambda r=rule_set: engine.decide(workflow.id, r, {}, at=T0))


CLI_COMMANDS = [["validate"], ["test"], ["test", "-q"], ["diagram"],
                ["diagram", "--format", "dot"], ["docs", "--no-diagram", "--format", "md"]]


def test_the_command_line_exits_0_1_or_2_without_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zorgflow.cli import main

    @fuzz("cli")
    @given(text=mutated_text(), command=st.sampled_from(CLI_COMMANDS),
           ending=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans())
    def fuzz_cli(text: str, command: list[str], ending: str, bom: bool) -> None:
        path = tmp_path / "fuzz.yaml"
        # written as bytes: a lone surrogate becomes bytes that are not UTF-8
        path.write_bytes((("\ufeff" if bom else "") + text.replace("\n", ending)).encode(
            "utf-8", "surrogatepass"))
        out = io.StringIO()
        code = main([*command, str(path)], out=out)
        captured = capsys.readouterr()
        for stream in (out.getvalue(), captured.out, captured.err):
            assert "Traceback" not in stream, stream
        assert code in (0, 1, 2), (code, out.getvalue(), captured.err)
        if code == 1 and command[0] == "validate":
            assert "FAIL" in out.getvalue()

    fuzz_cli()


# -- zorgflow serve -----------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def exchange(port: int, request: bytes) -> Answer:
    """Send ``request`` as it is and read the whole answer (the server closes after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received, "the connection was dropped without an answer"
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("iso-8859-1").split("\r\n")
    version, status, *_ = status_line.split(" ", 2)
    assert version.startswith("HTTP/"), status_line
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status), headers, body)


HTTP_METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "BREW"]
SERVE_PATHS = ["/", "/index.html", "/static/app.js", "/static/style.css", "/static/nope.js",
               "/static/../../buiten.yaml", "/static/%2e%2e/%2e%2e/buiten.yaml",
               "/api/files", "/api/file?name=lzn.yaml", "/api/file?name=../buiten.yaml",
               "/api/file?name=%2e%2e%2fbuiten.yaml", "/api/file?name=link.yaml",
               "/api/file?name=lzn.yaml%00", "/api/file?name=", "/api/file",
               "/api/file?name=%ff%fe", "/api/file?name=%ed%a0%80", "/api/check",
               "/api/examples", "/api/save", "/api/save?x=1", "//api/save", "/API/SAVE",
               "/nope", "*", "http://evil.example/api/files", "/" + "a" * 70_000, "/%00"]
#: what the standard library answers itself, with an HTML page, before a handler runs: a
#: request line or headers it cannot read (400, 414, 431), a method or version it does not
#: know (501, 505)
STDLIB_ERRORS = {400, 414, 431, 501, 505}
FILE_NAMES = ["lzn.yaml", "stappenplan.yaml", "../buiten.yaml", "buiten.yaml", "link.yaml",
              "", "\x00", "lzn.yaml\x00", "LZN.YAML", "/etc/passwd", "nieuw.yaml", ".", ".."]


@st.composite
def serve_request(draw: st.DrawFn, port: int, folder: Path) -> bytes:
    """Raw request bytes: a method, a path, headers (Host, Origin, Content-Type,
    Content-Length) and a JSON body. Three in four are requests the page itself could send
    (each part as it should be, the body's text a mutated workflow); in the others each part
    may be anything in its list."""
    odd = draw(st.integers(0, 3), label="odd request") == 3

    def pick(good: Any, others: list[Any], label: str) -> Any:
        return draw(st.sampled_from([good, *others]), label=label) if odd else good

    method = draw(st.sampled_from(HTTP_METHODS[:3] if not odd else HTTP_METHODS),
                  label="method")
    path = draw(st.sampled_from(SERVE_PATHS), label="path")
    if method == "POST" and (not odd or draw(st.integers(0, 3), label="post path") < 3):
        path = draw(st.sampled_from(["/api/check", "/api/examples", "/api/save"]),
                    label="api")
    version = pick("HTTP/1.1", ["HTTP/1.0", "HTTP/2.0", "HTTP/1.1.1", "HTTX/1.1", ""],
                   "version")
    host = pick(f"127.0.0.1:{port}", [
        f"localhost:{port}", "127.0.0.1", f"evil.example:{port}", "", f"[::1]:{port}",
        f"127.0.0.1:{port}\r\nHost: evil.example", None], "host")
    headers = [f"Host: {host}"] if host is not None else []
    origin = pick(None, [f"http://127.0.0.1:{port}", "http://evil.example", "null", ""],
                  "origin")
    if origin is not None:
        headers.append(f"Origin: {origin}")
    body = b""
    if method in ("POST", "PUT", "PATCH") or draw(st.integers(0, 9), label="body") == 9:
        name = draw(st.sampled_from(["lzn.yaml", "stappenplan.yaml"] if not odd
                                    else FILE_NAMES), label="name")
        current = folder / name if isinstance(name, str) and "\x00" not in name else None
        base = pick("current", ["other", None, 5, ""], "base")
        if base == "current":
            base = (hashlib.sha256(current.read_bytes()).hexdigest()
                    if current is not None and current.is_file() else "0" * 64)
        elif base == "other":
            base = "0" * 64
        payload: Any = {"name": name, "text": draw(mutated_text(), label="text")}
        if base is not None:
            payload["base"] = base
        if not odd or draw(st.integers(0, 2), label="body shape") < 2:
            body = json.dumps(payload, ensure_ascii=draw(st.booleans(), label="ascii")
                              ).encode("utf-8", "surrogatepass")
        else:
            body = draw(st.sampled_from([
                b"", b"{", b"[]", b"null", b'"text"', b'{"name": 5, "text": []}',
                b'{"name": "lzn.yaml", "text": "\\ud800"}', b"\xff\xfe{}",
                b'{"name": "lzn.yaml", "text": "x", "base": "' + b"a" * 64 + b'"}',
                json.dumps({"name": "lzn.yaml", "text": "x" * 1_000_001}).encode(),
                b'{"name": "lzn.yaml", "text": "x", "name": "../buiten.yaml"}',
                b'{"__proto__": {}, "name": "lzn.yaml", "text": "id: x"}']), label="raw body")
        content_type = pick("application/json", [
            "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded",
            None], "content type")
        if content_type is not None:
            headers.append(f"Content-Type: {content_type}")
        length = pick("right", ["none", "short", "long", "abc", "-1", "99999999999", "chunked",
                                "twice"], "content length")
        if length == "right":
            headers.append(f"Content-Length: {len(body)}")
        elif length == "short":
            headers.append(f"Content-Length: {max(len(body) - 5, 0)}")
        elif length == "long":  # the server waits request_timeout for the rest: 408
            headers.append(f"Content-Length: {len(body) + 10}")
        elif length == "chunked":
            headers.append("Transfer-Encoding: chunked")
            headers.append(f"Content-Length: {len(body)}")
        elif length == "twice":
            headers += [f"Content-Length: {len(body)}", "Content-Length: 3"]
        elif length != "none":
            headers.append(f"Content-Length: {length}")
    extra = pick(None, ["X-Long: " + "x" * 70_000, "no colon here", " folded", "\x00: x",
                        "Expect: 100-continue", "X-Many: 1\r\n" * 120 + "X-End: 1"], "header")
    if extra is not None:
        headers.append(extra)
    line = f"{method} {path} {version}".rstrip()
    return (line + "\r\n" + "\r\n".join(headers) + "\r\n\r\n").encode(
        "utf-8", "surrogatepass") + body


def _files_outside(root: Path, folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and not p.is_symlink() and folder not in p.parents}


def test_serve_answers_every_request_with_2xx_or_4xx_and_touches_nothing_outside(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zorgflow.serve import make_server

    folder = tmp_path / "werkwijzen"
    folder.mkdir()
    for name in ("lzn", "stappenplan"):
        (folder / f"{name}.yaml").write_text(SHIPPED[name], encoding="utf-8")
    (tmp_path / "buiten.yaml").write_text("geheim: buiten de map\n", encoding="utf-8")
    (folder / "link.yaml").symlink_to(tmp_path / "buiten.yaml")
    outside = _files_outside(tmp_path, folder)
    server = make_server(folder, port=0, request_timeout=0.3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = int(server.server_address[1])
    try:

        @fuzz("serve")
        @given(data=st.data())
        def fuzz_serve(data: st.DataObject) -> None:
            for _ in range(data.draw(st.integers(1, 3), label="requests")):
                request = data.draw(serve_request(port, folder), label="request")
                answer = exchange(port, request)
                line = request.split(b"\r\n", 1)[0]
                # HTTP's own answers: 501 to a method it does not know (BREW; the methods
                # HTTP defines get 405), 505 to a version it does not speak (HTTP/2.0)
                if not ((answer.status == 501 and line.startswith(b"BREW "))
                        or (answer.status == 505 and line.endswith(b" HTTP/2.0"))):
                    assert 200 <= answer.status < 300 or 400 <= answer.status < 500, (
                        answer.status, answer.body[:500], request[:300])
                kind = answer.headers.get("content-type", "")
                if kind.startswith("application/json"):
                    assert answer.body or request.startswith(b"HEAD "), answer
                    if answer.body:
                        json.loads(answer.body)
                elif answer.body:  # the standard library's own error page, or a static file
                    assert kind.startswith("text/"), kind
                    answer.body.decode("utf-8")
                    api = request.startswith((b"GET /api", b"POST /api", b"HEAD /api"))
                    assert not api or answer.status in STDLIB_ERRORS, (
                        answer.status, kind, answer.body[:300])
                assert _files_outside(tmp_path, folder) == outside
                assert sorted(p.name for p in folder.iterdir()) == [
                    "link.yaml", "lzn.yaml", "stappenplan.yaml"]
            captured = capsys.readouterr()
            assert "Traceback" not in captured.err, captured.err

        fuzz_serve()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert (tmp_path / "buiten.yaml").read_text(encoding="utf-8") == "geheim: buiten de map\n"



# -- bugs the fuzz found, fixed: regressions ----------------------------------------------------


@pytest.mark.parametrize("escape", ["\\U00110000", "\\UFFFFFFFF", "\\U7FFFFFFF"])
def test_an_escape_beyond_unicode_is_a_workflow_error(escape: str, tmp_path: Path) -> None:
    """PyYAML's scanner turns a double-quoted ``\\U`` escape into a character with chr()
    unchecked: beyond U+10FFFF it raised ValueError or OverflowError out of the loader (and
    a traceback out of ``zorgflow validate``)."""
    text = f'id: x\nlabel: "ab {escape}"\n'
    with pytest.raises(WorkflowError) as refused:
        load_workflow_text(text, "f.yaml")
    (problem,) = refused.value.errors
    assert (problem.line, problem.column) == (2, 12)  # the backslash
    assert "names no character" in problem.message
    from zorgflow.cli import main

    path = tmp_path / "f.yaml"
    path.write_text(SHIPPED["lzn"].replace('label: Werkwijze Lokaal Zorg Netwerk',
                                           f'label: "Werkwijze {escape}"'), encoding="utf-8")
    out = io.StringIO()
    assert main(["validate", str(path)], out=out) == 1
    assert "names no character" in out.getvalue()


@pytest.mark.parametrize(("text", "line", "column", "code"), [
    ("\ud800id: x\n", 1, 1, "D800"),
    ("id: x\nlabel: ab\udfff\n", 2, 10, "DFFF"),
    ("id: x\n# \x07\n", 2, 3, "0007"),
    ("id:\tx\nlabel: \ud800", 2, 8, "D800"),  # the tab sends it to PyYAML's own scanner
])
def test_a_character_yaml_does_not_allow_is_a_workflow_error_at_its_place(
        text: str, line: int, column: int, code: str) -> None:
    """libyaml encodes the text as UTF-8 first, so a lone surrogate (from JSON over HTTP, or
    a broken editor) raised UnicodeEncodeError out of the loader; PyYAML's own reader names
    such a character without a line or column. Both now give the place and the character."""
    with pytest.raises(WorkflowError) as refused:
        load_workflow_text(text, "f.yaml")
    (problem,) = refused.value.errors
    assert (problem.line, problem.column) == (line, column)
    assert f"U+{code}" in problem.message


def test_a_history_time_outside_the_calendar_in_utc_is_refused_by_every_store(
        backend: Any, engine: Engine) -> None:
    """A history entry at 0001-01-01T00:00+14:00 (before the year 1 in UTC; the engine never
    records one, a case changed outside it may hold one) was written by PostgresStore,
    which then could not read the case back (DataError on every load). Both back ends now
    refuse it before writing, and the stored case still loads."""
    store = backend.open(engine)
    actor = Actor("a.een", {"medewerker"})
    case = engine.start("pii", actor=actor, at=T0, store=store)
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        raw = engine.set_facts(case, {"teller": 1}, actor=actor, at=T0).to_dict()
        raw["history"][-1]["at"] = moment
        altered = Case.from_dict(raw, verify=False)
        with pytest.raises(UnstorableValue, match="time of history entry 2"):
            store.save(altered, case.version)
        assert stored_form(store.load(case.id)) == stored_form(case)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[int]:
    from zorgflow.serve import make_server

    (tmp_path / "lzn.yaml").write_text(SHIPPED["lzn"], encoding="utf-8")
    server = make_server(tmp_path, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_serve_answers_other_methods_with_405_not_a_server_error(served: int,
                                                                 method: str) -> None:
    """The standard library answers a method the handler lacks with 501, a server error."""
    answer = exchange(served, f"{method} /api/save HTTP/1.1\r\nHost: 127.0.0.1:{served}\r\n"
                              "Content-Length: 0\r\n\r\n".encode())
    assert answer.status == 405
    assert answer.headers["allow"] == "GET, HEAD, POST"
    assert "not allowed" in json.loads(answer.body)["error"]
    foreign = exchange(served, f"{method} / HTTP/1.1\r\nHost: evil.example\r\n\r\n".encode())
    assert foreign.status == 403


@pytest.mark.parametrize(("line", "status"), [("GET / HTTP/2.0", 505), ("GET / HTTX/1.1", 400),
                                              ("GET / HTTP/1.1.1", 400),
                                              ("GET / HTTP/a.b", 400)])
def test_serve_answers_an_unreadable_request_line_with_a_status_line(served: int, line: str,
                                                                     status: int) -> None:
    """The standard library answered a request line it could not read as HTTP/0.9: the
    error page alone, without a status line or headers."""
    with socket.create_connection(("127.0.0.1", served), timeout=30) as sock:
        sock.sendall(f"{line}\r\nHost: 127.0.0.1:{served}\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(f"HTTP/1.0 {status} ".encode()), received[:200]


# -- bugs the fuzz found in the engine, model and rules: regressions ---------------------------

_COORD = Actor("a.coord", roles={"lzn_coordinator"})
_SCP = Actor("s.contact", roles={"sociaal_contactpunt"})


def _huge_interval() -> Any:
    engine = _shared_engine()
    case = engine.start("lzn", actor=_SCP, at=T0)
    return engine.set_facts(case, {"terugkoppeling_interval_dagen": 10**5000}, actor=_COORD,
                            at=T0)


def test_a_fact_of_more_than_4300_digits_is_refused_as_a_transition_rejected() -> None:
    with pytest.raises(zorgflow.TransitionRejected):
        _huge_interval()


def _huge_points() -> Any:
    return _shared_engine().decide("lzn", "regiecriteria", {"kandidaten": [
        {"id": "x", "voorkeur_overleg": 10**400}]}, at=T0).explanation


def test_a_whole_number_beyond_a_float_is_refused_where_it_enters() -> None:
    """A ranking weighs points with floats: an int beyond a float (10**400) overflowed in
    the explanation. Such a number is refused as the fact is given."""
    with pytest.raises(zorgflow.InvalidFacts, match="too large to compute with"):
        _huge_points()


def _facts_not_a_mapping() -> Any:
    return _shared_engine().start("lzn", actor=_SCP, at=T0, facts=[("naam", "x")])


def test_start_and_decide_refuse_facts_that_are_not_a_mapping_with_a_type_error() -> None:
    """engine.start(facts=[...]) and engine.decide(wf, rs, [...]) raised AttributeError
    ('list' object has no attribute 'items'), where set_facts refused the same with
    TransitionRejected."""
    engine = _shared_engine()
    for call in (_facts_not_a_mapping,
                 lambda: engine.decide("lzn", "afsluitcriteria", [("naam", "x")], at=T0)):
        with pytest.raises((TypeError, ZorgflowError)):
            call()


def _surrogate_fact() -> Any:
    engine = _shared_engine()
    case = engine.start("lzn", actor=_SCP, at=T0)
    return engine.set_facts(case, {"bovenliggende_problematiek": "x\ud800"}, actor=_COORD,
                            at=T0).to_dict()


def test_a_case_holding_a_lone_surrogate_can_be_written_and_read_back() -> None:
    """The engine accepts text with a lone surrogate ("\\ud800", left by bad decoding) in a
    text fact, and `Case.to_dict` raised UnicodeEncodeError (the digest encoded the canonical
    JSON as strict UTF-8): a case that could not be signed or sent. It is written now (the
    stores still refuse to keep it, with UnstorableValue) and reads back the same."""
    saved = _surrogate_fact()
    assert Case.from_dict(saved).to_dict() == saved
    assert Case.from_dict(json.loads(json.dumps(saved))).to_dict() == saved


def _deep_case() -> Any:
    engine = _shared_engine()
    saved = engine.start("lzn", actor=_SCP, at=T0).to_dict()
    return Case.from_dict({**saved, "facts": _deep_dict()}, verify=False)


def test_a_case_nested_too_deeply_is_refused_with_a_case_format_error() -> None:
    """`Case.from_dict` of a dict holding a value nested some thousands deep (JSON from
    outside can be) raised RecursionError: with verify=True from the digest's json.dumps
    (`digest.canonical`, whose call in from_dict catches only TypeError and ValueError), with
    verify=False from `record.frozen`. It is a CaseFormatError."""
    engine = _shared_engine()
    saved = engine.start("lzn", actor=_SCP, at=T0).to_dict()
    for verify in (True, False):
        with pytest.raises(zorgflow.CaseFormatError):
            Case.from_dict({**saved, "facts": _deep_dict()}, verify=verify)


def _non_ascii_digest() -> Any:
    saved = _shared_engine().start("lzn", actor=_SCP, at=T0).to_dict(key=KEY)
    return Case.from_dict({**saved, "digest": "hmac-sha256:default:é"}, key=KEY)


def test_a_digest_that_is_not_ascii_is_refused_with_a_case_format_error() -> None:
    """`Case.from_dict` of a case whose digest holds a character that is not ASCII raised
    TypeError ('comparing strings with non-ASCII characters is not supported', from
    hmac.compare_digest in `zorgflow.engine.digest.check`), keyed and unkeyed alike. An
    altered digest is an altered case: CaseFormatError."""
    saved = _shared_engine().start("lzn", actor=_SCP, at=T0).to_dict()
    with pytest.raises(zorgflow.CaseFormatError):
        Case.from_dict({**saved, "digest": "sha256:é"})
    with pytest.raises(zorgflow.CaseFormatError):
        _non_ascii_digest()




def test_a_restored_case_of_a_huge_workflow_version_is_refused_as_unknown_workflow() -> None:
    """A case read with verify=False whose workflow version has more than 4,300 digits: every
    engine call on it (`timers`, `fire`, ...) raised ValueError from writing the version into
    the UnknownWorkflow message, and `repr(case)` did the same."""
    engine = _shared_engine()
    saved = engine.start("lzn", actor=_SCP, at=T0).to_dict()
    restored = Case.from_dict({**saved, "workflow": {"id": "lzn", "version": 10**5000}},
                              verify=False)
    assert "digits" in repr(restored)
    with pytest.raises(zorgflow.UnknownWorkflow, match="a whole number of about 5 001 digits"):
        engine.timers(restored)
