"""The condition language (docs/format.md, "Conditions").

Every operator, literal, name form and function; type errors found at load time; hostile or
oversized input refused with `ExprError` (or `WorkflowError` with ``file:line:column`` inside a
YAML guard) without executing anything; and Kleene three-valued logic as properties.
"""

from __future__ import annotations

import builtins
import json
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zorgflow
from zorgflow import UNKNOWN, WorkflowError
from zorgflow.loader import load_workflow_text
from zorgflow.model import DataField, Fact, FactType
from zorgflow.rules.expr import Env, ExprError, Scope, compile_expr

AMS = ZoneInfo("Europe/Amsterdam")
AT = datetime(2026, 2, 28, 12, 0, tzinfo=AMS)

ENUM = FactType("enum", values=("geen", "lthg", "zorg_en_veiligheidshuis", "ander"))


def _fact(name: str, ftype: FactType) -> Fact:
    return Fact(name, name.replace("_", " "), ftype)


FACTS: dict[str, Fact] = {
    f.id: f
    for f in [
        _fact("a", FactType("boolean")),
        _fact("b", FactType("boolean")),
        _fact("c", FactType("boolean")),
        _fact("p", FactType("boolean")),
        _fact("q", FactType("boolean")),
        _fact("kinderen_betrokken", FactType("boolean")),
        _fact("n", FactType("integer")),
        _fact("m", FactType("integer")),
        _fact("x", FactType("number")),
        _fact("s", FactType("string")),
        _fact("netwerk", ENUM),
        _fact("d", FactType("date")),
        _fact("xs", FactType("list", items=FactType("string"))),
        _fact("netwerken", FactType("list", items=ENUM)),
    ]
}
SCOPE = Scope(FACTS)


def ev(source: str, facts: dict[str, Any] | None = None, at: datetime = AT,
       scope: Scope = SCOPE) -> Any:
    """Compile ``source`` and evaluate it on typed ``facts`` at ``at``."""
    return compile_expr(source, scope)(Env(facts or {}, at))


# -- operators ---------------------------------------------------------------------------------

T, F = True, False


@pytest.mark.parametrize(
    ("source", "facts", "expected"),
    [
        # and / or / not
        ("a and b", {"a": T, "b": T}, T),
        ("a and b", {"a": T, "b": F}, F),
        ("a or b", {"a": F, "b": T}, T),
        ("a or b", {"a": F, "b": F}, F),
        ("not a", {"a": T}, F),
        ("not a", {"a": F}, T),
        ("not not a", {"a": T}, T),
        ("a and b and c", {"a": T, "b": T, "c": T}, T),
        ("a or b or c", {"a": F, "b": F, "c": T}, T),
        ("not a or b", {"a": T, "b": F}, F),  # (not a) or b: precedence as in Python
        ("not (a or b)", {"a": F, "b": F}, T),
        # == and != on every scalar type
        ("n == 3", {"n": 3}, T),
        ("n != 3", {"n": 3}, F),
        ("x == 2.5", {"x": 2.5}, T),
        ("n == x", {"n": 2, "x": 2.0}, T),
        ("s == 'tekst'", {"s": "tekst"}, T),
        ('s == "tekst"', {"s": "tekst"}, T),
        ("s != 'tekst'", {"s": "anders"}, T),
        ("netwerk == 'lthg'", {"netwerk": "lthg"}, T),
        ("netwerk != 'geen'", {"netwerk": "geen"}, F),
        ("'lthg' == netwerk", {"netwerk": "lthg"}, T),
        ("a == true", {"a": T}, T),
        ("a == false", {"a": T}, F),
        ("a != b", {"a": T, "b": F}, T),
        ("d == '2026-01-31'", {"d": date(2026, 1, 31)}, T),
        # ordering on numbers and dates
        ("n < 5", {"n": 4}, T),
        ("n < 5", {"n": 5}, F),
        ("n <= 5", {"n": 5}, T),
        ("n <= 5", {"n": 6}, F),
        ("n > 5", {"n": 6}, T),
        ("n > 5", {"n": 5}, F),
        ("n >= 5", {"n": 5}, T),
        ("n >= 5", {"n": 4}, F),
        ("x < n", {"x": 1.5, "n": 2}, T),
        ("1 < n < 3", {"n": 2}, T),
        ("1 < n < 3", {"n": 3}, F),
        ("d < '2026-02-01'", {"d": date(2026, 1, 31)}, T),
        ("d >= today()", {"d": date(2026, 2, 28)}, T),
        ("d > today()", {"d": date(2026, 2, 28)}, F),
        # in / not in, with literal lists and list facts
        ("netwerk in ['lthg', 'ander']", {"netwerk": "ander"}, T),
        ("netwerk in ['lthg', 'ander']", {"netwerk": "geen"}, F),
        ("netwerk not in ['geen']", {"netwerk": "lthg"}, T),
        ("netwerk not in ['geen']", {"netwerk": "geen"}, F),
        ("n in [1, 2, 3]", {"n": 2}, T),
        ("n not in [1, 2, 3]", {"n": 2}, F),
        ("'ggz' in xs", {"xs": ("ggz", "jeugd")}, T),
        ("'wmo' in xs", {"xs": ("ggz", "jeugd")}, F),
        ("'wmo' not in xs", {"xs": ("ggz",)}, T),
        ("s in xs", {"s": "jeugd", "xs": ("ggz", "jeugd")}, T),
        ("netwerk in netwerken", {"netwerk": "lthg", "netwerken": ("lthg",)}, T),
        ("n in []", {"n": 1}, F),
        # arithmetic
        ("n + 1 == 4", {"n": 3}, T),
        ("n - 1 == 2", {"n": 3}, T),
        ("n + m - 1 == 4", {"n": 2, "m": 3}, T),
        ("x + n == 3.5", {"x": 1.5, "n": 2}, T),
        ("-n == 0 - n", {"n": 7}, T),
        ("n - 10 < 0", {"n": 3}, T),
        # literals alone
        ("true", {}, T),
        ("false", {}, F),
        ("true and not false", {}, T),
        ("1 + 2 == 3", {}, T),
        ("-1 < 0", {}, T),
        ("2.5 > 2", {}, T),
        ("'a' == 'a'", {}, T),
        ("len([1, 2, 3]) == 3", {}, T),
        ("len([]) == 0", {}, T),
        # facts.x and the bare name are the same fact
        ("facts.a", {"a": T}, T),
        ("facts.a == a", {"a": F}, T),
        ("facts.n + n == 4", {"n": 2}, T),
        ("facts.netwerk == 'lthg'", {"netwerk": "lthg"}, T),
        # a folded YAML scalar may keep line breaks
        ("a and\nb", {"a": T, "b": T}, T),
    ],
)
def test_operator(source: str, facts: dict[str, Any], expected: bool) -> None:
    assert ev(source, facts) is expected


@pytest.mark.parametrize(
    ("source", "facts", "expected"),
    [
        ("n + 1", {"n": 2}, 3),
        ("n - m", {"n": 2, "m": 5}, -3),
        ("x + 1", {"x": 0.5}, 1.5),
        ("-n", {"n": 4}, -4),
        ("len(xs)", {"xs": ("a", "b")}, 2),
        ("[1, 2]", {}, (1, 2)),
        ("['a', 'b']", {}, ("a", "b")),
        ("today()", {}, date(2026, 2, 28)),
    ],
)
def test_value(source: str, facts: dict[str, Any], expected: Any) -> None:
    assert ev(source, facts) == expected


@pytest.mark.parametrize(
    "source",
    [
        "a", "not a", "a == b", "a != true", "n < 5", "n <= 5", "n > 5", "n >= 5", "n == 5",
        "n != 5", "n + 1", "n - 1", "-n", "n + 1 > 2", "netwerk == 'geen'",
        "netwerk != 'geen'", "netwerk in ['geen']", "netwerk not in ['geen']",
        "'a' in xs", "'a' not in xs", "len(xs)", "days_since(d)", "months_since(d)",
        "d < today()", "s == 'x'", "facts.a", "1 < n < 3",
    ],
)
def test_an_unknown_operand_gives_unknown(source: str) -> None:
    assert ev(source, {}) is UNKNOWN


@pytest.mark.parametrize(
    ("source", "facts", "expected"),
    [
        ("a and b", {"a": F}, F),  # false and unknown is false
        ("b and a", {"a": F}, F),
        ("a or b", {"a": T}, T),  # true or unknown is true
        ("b or a", {"a": T}, T),
        ("a and b", {"a": T}, UNKNOWN),
        ("a or b", {"a": F}, UNKNOWN),
        ("not b", {}, UNKNOWN),
        ("n > 1 or a", {"a": T}, T),
        ("n > 1 and a", {"a": F}, F),
        ("a and b and c", {"a": T, "c": F}, F),
        ("a or b or c", {"a": F, "c": T}, T),
        ("a and b and c", {"a": T, "c": T}, UNKNOWN),
    ],
)
def test_kleene_examples(source: str, facts: dict[str, Any], expected: Any) -> None:
    assert ev(source, facts) is expected


def test_data_field_in_a_transition_scope() -> None:
    fields = {
        "reden": DataField("reden", "Reden", FactType("enum", values=("verhuisd", "overleden"))),
        "aantal": DataField("aantal", "Aantal", FactType("integer")),
    }
    scope = Scope(FACTS, data=fields)
    expr = compile_expr("data.reden == 'verhuisd' and data.aantal > n", scope, expect_bool=True)
    assert expr(Env({"n": 1}, AT, data={"reden": "verhuisd", "aantal": 2})) is True
    assert expr(Env({"n": 1}, AT, data={"reden": "overleden", "aantal": 2})) is False
    assert expr(Env({"n": 1}, AT, data={})) is UNKNOWN
    assert expr.data_read == ("reden", "aantal")
    assert expr.facts_read == ("n",)
    with pytest.raises(ExprError, match="did you mean 'verhuisd'"):
        compile_expr("data.reden == 'verhuist'", scope)
    with pytest.raises(ExprError, match="unknown data field 'redn' — did you mean 'reden'"):
        compile_expr("data.redn", scope)


def test_data_is_only_available_in_a_guard() -> None:
    with pytest.raises(ExprError, match="only available in a transition's guard"):
        compile_expr("data.reden == 'x'", SCOPE)


# -- functions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "facts", "expected"),
    [
        ("known(a)", {"a": True}, True),
        ("known(a)", {"a": False}, True),  # known, even though false
        ("known(a)", {}, False),
        ("not known(a)", {}, True),
        ("known(netwerk)", {"netwerk": "geen"}, True),
        ("known(n + 1)", {}, False),
        ("known(a and b)", {"a": False}, True),  # false and unknown is false: known
        ("known(a and b)", {"a": True}, False),
        ("known(d) and days_since(d) > 3", {}, False),  # a guard can test knowledge first
    ],
)
def test_known_is_always_true_or_false(source: str, facts: dict[str, Any],
                                       expected: bool) -> None:
    assert ev(source, facts) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 2, 28, 0, 0, tzinfo=AMS), date(2026, 2, 28)),
        (datetime(2026, 2, 28, 23, 59, 59, tzinfo=AMS), date(2026, 2, 28)),
        # 23:30 UTC on 27 February is 00:30 on 28 February in Amsterdam
        (datetime(2026, 2, 27, 23, 30, tzinfo=UTC), date(2026, 2, 28)),
        (datetime(2026, 2, 27, 22, 59, tzinfo=UTC), date(2026, 2, 27)),
        # summer time: 22:30 UTC on 29 March is 00:30 on 30 March (UTC+2)
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), date(2026, 3, 30)),
    ],
)
def test_today_is_the_amsterdam_date_of_at(at: datetime, expected: date) -> None:
    assert ev("today()", at=at) == expected
    assert ev(f"today() == '{expected.isoformat()}'", at=at) is True


@pytest.mark.parametrize(
    ("start", "at", "expected"),
    [
        (date(2026, 2, 20), AT, 8),
        (date(2026, 2, 28), AT, 0),
        (date(2026, 3, 2), AT, -2),
        (date(2025, 2, 28), AT, 365),
        # across the switch to summer time (29 March 2026): still whole calendar days
        (date(2026, 3, 28), datetime(2026, 3, 29, 23, 59, tzinfo=AMS), 1),
        (date(2026, 3, 28), datetime(2026, 3, 30, 0, 0, 30, tzinfo=AMS), 2),
        # across the switch back to winter time (25 October 2026)
        (date(2026, 10, 24), datetime(2026, 10, 25, 23, 59, tzinfo=AMS), 1),
        (date(2026, 10, 24), datetime(2026, 10, 26, 0, 0, 1, tzinfo=AMS), 2),
        # the day of `at` in Amsterdam, not in UTC
        (date(2026, 2, 20), datetime(2026, 2, 27, 23, 30, tzinfo=UTC), 8),
        (date(2026, 2, 20), datetime(2026, 2, 27, 22, 30, tzinfo=UTC), 7),
    ],
)
def test_days_since(start: date, at: datetime, expected: int) -> None:
    assert ev("days_since(d)", {"d": start}, at=at) == expected
    assert ev(f"days_since(d) == {expected}", {"d": start}, at=at) is True


@pytest.mark.parametrize(
    ("start", "at", "expected"),
    [
        (date(2026, 1, 31), datetime(2026, 2, 28, 9, 0, tzinfo=AMS), 1),  # 31 Jan -> 28 Feb
        (date(2026, 1, 31), datetime(2026, 2, 27, 23, 59, tzinfo=AMS), 0),
        (date(2026, 1, 31), datetime(2026, 3, 30, 12, 0, tzinfo=AMS), 1),
        (date(2026, 1, 31), datetime(2026, 3, 31, 0, 1, tzinfo=AMS), 2),
        (date(2024, 1, 31), datetime(2024, 2, 29, 9, 0, tzinfo=AMS), 1),  # leap year
        (date(2024, 1, 31), datetime(2024, 2, 28, 9, 0, tzinfo=AMS), 0),
        (date(2026, 1, 15), datetime(2026, 3, 14, 9, 0, tzinfo=AMS), 1),
        (date(2026, 1, 15), datetime(2026, 3, 15, 9, 0, tzinfo=AMS), 2),
        (date(2025, 2, 28), datetime(2026, 2, 28, 9, 0, tzinfo=AMS), 12),
        (date(2026, 2, 28), datetime(2026, 2, 28, 9, 0, tzinfo=AMS), 0),
        # across a DST switch: only dates count
        (date(2026, 2, 28), datetime(2026, 3, 28, 23, 59, tzinfo=AMS), 1),
        (date(2026, 3, 29), datetime(2026, 4, 29, 0, 0, 1, tzinfo=AMS), 1),
        (date(2026, 3, 29), datetime(2026, 4, 28, 23, 59, tzinfo=AMS), 0),
        # 22:30 UTC on 27 February is still 27 February in Amsterdam; 23:30 UTC is the 28th
        (date(2026, 1, 31), datetime(2026, 2, 27, 22, 30, tzinfo=UTC), 0),
        (date(2026, 1, 31), datetime(2026, 2, 27, 23, 30, tzinfo=UTC), 1),
    ],
)
def test_months_since_counts_whole_calendar_months(start: date, at: datetime,
                                                   expected: int) -> None:
    assert ev("months_since(d)", {"d": start}, at=at) == expected


@pytest.mark.parametrize(
    ("source", "facts", "expected"),
    [
        ("len(xs)", {"xs": ()}, 0),
        ("len(xs)", {"xs": ("a", "b", "c")}, 3),
        ("len(xs) > 1", {"xs": ("a", "b")}, True),
        ("len(netwerken) == 1", {"netwerken": ("lthg",)}, True),
        ("len(['a', 'b'])", {}, 2),
    ],
)
def test_len(source: str, facts: dict[str, Any], expected: Any) -> None:
    assert ev(source, facts) == expected


def test_a_date_literal_is_checked_at_load_time() -> None:
    with pytest.raises(ExprError, match="'2026-02-30' is not a date"):
        compile_expr("d == '2026-02-30'", SCOPE)


# -- type errors at load time --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("kinderen_betrokken == 'ja'", "compares true/false with 'ja'"),
        ("a == 1", "compares true/false with 1"),
        ("'nee' != a", "compares true/false with 'nee'"),
        ("netwerk == 'lthgg'", "'lthgg' is not one of geen, lthg, zorg_en_veiligheidshuis, ander"
                               " — did you mean 'lthg'?"),
        ("netwerk != 'gen'", "did you mean 'geen'?"),
        ("netwerk in ['geen', 'andr']", "did you mean 'ander'?"),
        ("netwerk == 'politie'", "'politie' is not one of geen, lthg"),
        ("not n", "'not' needs true/false, but `n` is a whole number"),
        ("not 1", "'not' needs true/false"),
        ("not s", "'not' needs true/false, but `s` is text"),
        ("a and n", "'and'/'or' needs true/false, but `n` is a whole number"),
        ("n or a", "'and'/'or' needs true/false"),
        ("s < 'b'", "'<' compares numbers or dates only"),
        ("s >= s", "'>=' compares numbers or dates only"),
        ("netwerk > 'geen'", "'>' compares numbers or dates only"),
        ("a < b", "'<' compares numbers or dates only"),
        ("n == 'drie'", "compares a number with 'drie'"),
        ("n == true", "compares a whole number with true or false"),
        ("s == 1", "compares text with 1"),
        ("d == n", "compares a date (YYYY-MM-DD) with a whole number"),
        ("n + s", "'+' needs numbers"),
        ("a - 1", "'-' needs numbers"),
        ("a * 2", "'*' needs numbers"),
        ("n / s", "'/' needs numbers"),
        ("-s", "'-' needs a number"),
        ("'x' in s", "the right side of 'in' must be a list"),
        ("1 in xs", "compares text with 1"),
        ("len(n)", "len() needs a list"),
        ("days_since(n)", "days_since() needs a date"),
        ("months_since(a)", "months_since() needs a date"),
        ("known()", "known() takes 1 argument(s)"),
        ("today(d)", "today() takes 0 argument(s)"),
        ("len(xs, xs)", "len() takes 1 argument(s)"),
        ("known(x=a)", "known() takes 1 argument(s)"),
        ("kinderen_betrokke", "unknown fact 'kinderen_betrokke' — did you mean "
                              "'kinderen_betrokken'?"),
        ("facts.netwerkk == 'geen'", "unknown fact 'netwerkk' — did you mean 'netwerk'?"),
        ("facts", "'facts' needs a name after it"),
        ("data", "'data' needs a name after it"),
        ("a.b", "'a.b' is not a name this condition can use"),
        ("n.real", "is not a name this condition can use"),
        ("kandidaat.id == 'x'", "is not a name this condition can use"),
        ("rules.afsluitcriteria.matched", "rule sets cannot be used here"),
        ("lenn(xs)", "calling 'lenn' is not allowed; functions are: known, today, days_since, "
                     "months_since, len, add_days, add_months, sum — did you mean 'len'?"),
        ("n // 2", "only '+', '-', '*' and '/' are allowed"),
        ("n % 2", "only '+', '-', '*' and '/' are allowed"),
        ("sum(xs)", "sum() needs a number field of a list of records"),
        ("sum(n.real)", "sum() needs a number field of a list of records; 'n' is a whole number"),
        ("sum(xs.lengte)", "'xs' is a list of text"),
        ("sum(kandidatn.punten)", "unknown fact 'kandidatn'"),
        ("a is b", "is not allowed"),
        ("~n", "is not allowed"),
        ("None", "there is no 'none'"),
        ("[a]", "a list may only hold literal values"),
        ("", "empty condition"),
        ("   ", "empty condition"),
        ("a and", "not a valid condition"),
        ("(a", "not a valid condition"),
    ],
)
def test_type_and_name_errors_are_load_errors(source: str, message: str) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(source, SCOPE)
    assert message in info.value.message
    assert str(info.value) == info.value.message


def test_expect_bool_refuses_a_number_as_condition() -> None:
    assert compile_expr("n + 1", SCOPE).type == FactType("integer")
    with pytest.raises(ExprError, match="a condition needs true/false, but `n \\+ 1` is a whole"):
        compile_expr("n + 1", SCOPE, expect_bool=True)


def test_error_offset_points_into_the_source() -> None:
    with pytest.raises(ExprError) as info:
        compile_expr("a and __import__('os')", SCOPE)
    assert info.value.offset == len("a and ")
    with pytest.raises(ExprError) as info:
        compile_expr("not n", SCOPE)
    assert info.value.offset == len("not ")


@pytest.mark.parametrize("source", ["a == none", "none == a", "a == None", "not null"])
def test_there_is_no_none_literal_and_the_error_says_use_known(source: str) -> None:
    with pytest.raises(ExprError, match=r"known\(x\)"):
        compile_expr(source, SCOPE)


def test_enum_list_membership_literal_is_checked() -> None:
    with pytest.raises(ExprError, match="did you mean 'lthg'"):
        compile_expr("'lthgg' in netwerken", SCOPE)


# -- hostile and oversized input ----------------------------------------------------------------

HOSTILE = [
    "__import__('os')",
    "__import__('os').system('touch zorgflow_canary')",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__.__mro__",
    "a.__class__",
    "facts.__class__",
    "facts._x",
    "open('zorgflow_canary', 'w')",
    "eval('1')",
    "exec('import os')",
    "compile('1', 'f', 'eval')",
    "getattr(a, 'b')",
    "globals()",
    "lambda: 1",
    "(lambda: open('zorgflow_canary', 'w'))()",
    "[y for y in xs]",
    "{y for y in xs}",
    "{y: 1 for y in xs}",
    "(y for y in xs)",
    "xs[0]",
    "xs[0:1]",
    "f'{s}'",
    "f'{open(\"zorgflow_canary\", \"w\")}'",
    "(y := 1)",
    "a if b else c",
    "{'a': 1}",
    "{1, 2}",
    "*xs",
    "b'bytes'",
    "1j",
    "...",
    "await a",
    "yield a",
    "import os",
    "a; b",
    "a = 1",
    "del a",
    "a\x00",
    "a and \\\n b",
    "n ** 1000000",
    "n // 2",
    "n % 2",
    "n << 2",
    "n @ n",
    "a & b",
    "a | b",
    "a ^ b",
    "s.format()",
    "len.__self__",
    "today.__globals__",
    "known(__builtins__)",
    "'' .join(xs)",
]

BIG = 1_000_000
OVERSIZED = {
    "1 MB string literal": "'" + "x" * BIG + "'",
    "1 MB of or": "a or " * (BIG // 5) + "a",
    "1 MB of parentheses": "(" * (BIG // 2) + "a" + ")" * (BIG // 2),
    "500 x not": "not " * 500 + "a",
    "450 x not (under the size limit)": "not " * 450 + "a",
    "100 x not": "not " * 100 + "a",
    "500 nested parentheses": "(" * 500 + "a" + ")" * 500,
    "300 nested (not ...)": "(not " * 300 + "a" + ")" * 300,
    "150 nested (a and ...)": "(a and " * 150 + "a" + ")" * 150,
    "150 nested (a or ...)": "(a or " * 150 + "a" + ")" * 150,
    "190 nested (n + ...)": "(n + " * 190 + "n" + ")" * 190 + " > 0",
    "1999 x minus": "-" * 1999 + "n",
    "100 x known": "known(" * 100 + "a" + ")" * 100,
    "300 nested lists": "[" * 300 + "]" * 300,
    "300 nested calls": "len(" * 300 + "xs" + ")" * 300,
    "long flat sum": " + ".join(["n"] * 400) + " > 1",
    "attribute chain": "facts" + ".a" * 500,
}


@pytest.fixture
def no_code_execution(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    """Fail if anything calls eval/exec or os.system; run inside an empty folder."""
    calls: list[str] = []

    def refuse(name: str) -> Any:
        def called(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} was called")

        return called

    monkeypatch.setattr(builtins, "eval", refuse("eval"))
    monkeypatch.setattr(builtins, "exec", refuse("exec"))
    monkeypatch.setattr(os, "system", refuse("os.system"))
    monkeypatch.chdir(tmp_path)
    yield calls
    assert calls == []
    assert not (tmp_path / "zorgflow_canary").exists()


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_expression_is_refused(source: str, no_code_execution: Any) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(source, SCOPE)
    assert info.value.message
    assert isinstance(info.value.offset, int) and info.value.offset >= 0


@pytest.mark.parametrize("source", OVERSIZED.values(), ids=list(OVERSIZED))
def test_oversized_or_deep_expression_is_refused(source: str, no_code_execution: Any) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(source, SCOPE)
    assert info.value.message


def test_limits_leave_room_for_real_conditions() -> None:
    flat = " and ".join(["a"] * 200)
    assert ev(flat, {"a": True}) is True
    assert ev("not " * 20 + "a", {"a": True}) is True
    assert ev("not " * 21 + "a", {"a": True}) is False
    nested = "(a and " * 10 + "a" + ")" * 10
    assert ev(nested, {"a": True}) is True


@pytest.mark.parametrize("source", [1, None, b"a", ["a"]])
def test_a_condition_must_be_text(source: Any) -> None:
    with pytest.raises(ExprError, match="must be text"):
        compile_expr(source, SCOPE)


TOKENS = [
    "a", "b", "n", "x", "s", "d", "xs", "netwerk", "facts.a", "data.a", "(", ")", "[", "]",
    ",", "and", "or", "not", "in", "not in", "==", "!=", "<", "<=", ">", ">=", "+", "-", "1",
    "2.5", "'geen'", "'x'", "true", "false", "known(", "today()", "days_since(",
    "months_since(", "len(", "__class__", ".", "lambda", ":", "*", "if", "else", "'2026-01-01'",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map(" ".join),
    st.fixed_dictionaries({}, optional={
        "a": st.booleans(), "b": st.booleans(), "n": st.integers(-5, 5),
        "x": st.floats(-5, 5, allow_nan=False), "s": st.sampled_from(["x", "y"]),
        "d": st.dates(date(2025, 1, 1), date(2027, 1, 1)),
        "xs": st.lists(st.sampled_from(["x", "geen"]), max_size=3).map(tuple),
        "netwerk": st.sampled_from(ENUM.values),
    }),
)
def test_fuzz_compile_raises_only_expr_error_and_evaluation_never_raises(
        source: str, facts: dict[str, Any]) -> None:
    try:
        expr = compile_expr(source, SCOPE)
    except ExprError:
        return
    value = expr(Env(facts, AT))
    if expr.type is not None and expr.type.name == "boolean":
        assert value is True or value is False or value is UNKNOWN


# -- the same input inside a YAML guard --------------------------------------------------------

WORKFLOW = """\
id: proef
version: 1
label: Proef
start_by: [medewerker]
roles: {{medewerker: {{label: Medewerker}}}}
facts:
  a: {{type: boolean, label: A}}
  b: {{type: boolean, label: B}}
  kinderen_betrokken: {{type: boolean, label: Kinderen betrokken}}
  n: {{type: integer, label: N}}
  s: {{type: string, label: S}}
  netwerk: {{type: enum, values: [geen, lthg, zorg_en_veiligheidshuis, ander], label: Netwerk}}
  xs: {{type: list, items: string, label: Lijst}}
states:
  open: {{label: Open, initial: true}}
  dicht: {{label: Dicht, final: true}}
transitions:
  - event: sluiten
    from: open
    to: dicht
    by: [medewerker]
    when: {guard}
"""
GUARD_LINE = WORKFLOW.splitlines().index("    when: {guard}") + 1
GUARD_COLUMN = len("    when: ") + 1


def load_guard(guard_yaml: str) -> Any:
    return load_workflow_text(WORKFLOW.format(guard=guard_yaml), "proef.yaml")


def test_the_guard_template_loads() -> None:
    wf = load_guard("a and not b")
    assert wf.transitions[0].when == "a and not b"


@pytest.mark.parametrize("source", HOSTILE + list(OVERSIZED.values())[3:],
                         ids=HOSTILE + list(OVERSIZED)[3:])
def test_hostile_guard_is_a_workflow_error_with_position(source: str,
                                                         no_code_execution: Any) -> None:
    with pytest.raises(WorkflowError) as info:
        load_guard(json.dumps(source))  # a JSON string is a valid YAML double-quoted scalar
    (problem,) = info.value.errors
    assert problem.file == "proef.yaml"
    assert problem.line == GUARD_LINE
    assert problem.column >= GUARD_COLUMN
    assert str(problem).startswith(f"proef.yaml:{GUARD_LINE}:{problem.column}: ")


def test_megabyte_guard_is_a_workflow_error(no_code_execution: Any) -> None:
    with pytest.raises(WorkflowError) as info:
        load_guard(json.dumps("a or " * (BIG // 5) + "a"))
    (problem,) = info.value.errors
    assert (problem.line, problem.column) == (GUARD_LINE, GUARD_COLUMN + 1)
    assert "the limit is 2,000" in problem.message


@pytest.mark.parametrize(
    ("guard", "column", "message"),
    [
        ("a and __import__('os')", GUARD_COLUMN + 6, "calling '__import__' is not allowed"),
        ('"x.__class__"', GUARD_COLUMN + 1, "'__class__': names starting with '_'"),
        ("kinderen_betrokken == 'ja'", GUARD_COLUMN, "compares true/false with 'ja'"),
        ('"netwerk == \'lhtg\'"', GUARD_COLUMN + 1, "did you mean 'lthg'?"),
        ("not n", GUARD_COLUMN + 4, "'not' needs true/false"),
        ('"s < \'b\'"', GUARD_COLUMN + 1, "compares numbers or dates only"),
        ("a and kinderen_betrokke", GUARD_COLUMN + 6,
         "unknown fact 'kinderen_betrokke' — did you mean 'kinderen_betrokken'?"),
        ("n", GUARD_COLUMN, "a condition needs true/false"),
    ],
)
def test_guard_error_points_at_the_mistake(guard: str, column: int, message: str) -> None:
    with pytest.raises(WorkflowError) as info:
        load_guard(guard)
    (problem,) = info.value.errors
    assert (problem.file, problem.line, problem.column) == ("proef.yaml", GUARD_LINE, column)
    assert message in problem.message
    assert f"proef.yaml:{GUARD_LINE}:{column}: " in str(info.value)


def test_block_scalar_guard_error_position() -> None:
    with pytest.raises(WorkflowError) as info:
        load_guard(">-\n      a and\n      __import__('os')")
    (problem,) = info.value.errors
    assert problem.line == GUARD_LINE + 2
    assert problem.column == len("      ") + 1


# -- Kleene logic as properties -----------------------------------------------------------------

VALUES = [True, False, None]  # None: the fact is not set (unknown)


def kleene_not(v: bool | None) -> bool | None:
    return None if v is None else not v


def kleene_and(v: bool | None, w: bool | None) -> bool | None:
    if v is False or w is False:
        return False
    return None if v is None or w is None else True


def kleene_or(v: bool | None, w: bool | None) -> bool | None:
    if v is True or w is True:
        return True
    return None if v is None or w is None else False


def as_facts(assignment: dict[str, bool | None]) -> dict[str, bool]:
    return {k: v for k, v in assignment.items() if v is not None}


def as_truth(value: Any) -> bool | None:
    assert value is True or value is False or value is UNKNOWN, value
    return None if value is UNKNOWN else value


@pytest.mark.parametrize("va", VALUES)
@pytest.mark.parametrize("vb", VALUES)
def test_truth_tables(va: bool | None, vb: bool | None) -> None:
    facts = as_facts({"a": va, "b": vb})
    assert as_truth(ev("a and b", facts)) is kleene_and(va, vb)
    assert as_truth(ev("a or b", facts)) is kleene_or(va, vb)
    assert as_truth(ev("not a", facts)) is kleene_not(va)
    assert as_truth(ev("a == b", facts)) is (None if None in (va, vb) else va == vb)


@given(st.lists(st.sampled_from(VALUES), min_size=2, max_size=6))
def test_truth_tables_of_chains(values: list[bool | None]) -> None:
    names = [f"f{i}" for i in range(len(values))]
    scope = Scope({n: _fact(n, FactType("boolean")) for n in names})
    facts = as_facts(dict(zip(names, values, strict=True)))
    want_and: bool | None = True
    want_or: bool | None = False
    for v in values:
        want_and = kleene_and(want_and, v)
        want_or = kleene_or(want_or, v)
    assert as_truth(ev(" and ".join(names), facts, scope=scope)) is want_and
    assert as_truth(ev(" or ".join(names), facts, scope=scope)) is want_or
    negated = " and ".join(f"not {n}" for n in names)
    assert as_truth(ev(negated, facts, scope=scope)) is kleene_not(want_or)


ATOMS = ["a", "b", "c", "p", "q"]
Formula = tuple[Any, ...]


def formulas(depth: int, *, negation: bool = True) -> st.SearchStrategy[Formula]:
    atom = st.one_of(
        st.sampled_from(ATOMS).map(lambda name: ("atom", name)),
        st.sampled_from(["true", "false"]).map(lambda name: ("const", name)),
    )
    if depth == 0:
        return atom
    sub = formulas(depth - 1, negation=negation)
    options = [
        atom,
        st.tuples(st.just("and"), sub, sub),
        st.tuples(st.just("or"), sub, sub),
    ]
    if negation:
        options.append(st.tuples(st.just("not"), sub))
    return st.one_of(*options)


def source(f: Formula) -> str:
    kind = f[0]
    if kind in ("atom", "const"):
        return str(f[1])
    if kind == "not":
        return f"not ({source(f[1])})"
    return f"({source(f[1])}) {kind} ({source(f[2])})"


def reference(f: Formula, assignment: dict[str, bool | None]) -> bool | None:
    kind = f[0]
    if kind == "atom":
        return assignment[f[1]]
    if kind == "const":
        return f[1] == "true"
    if kind == "not":
        return kleene_not(reference(f[1], assignment))
    left, right = reference(f[1], assignment), reference(f[2], assignment)
    return kleene_and(left, right) if kind == "and" else kleene_or(left, right)


assignments = st.fixed_dictionaries({name: st.sampled_from(VALUES) for name in ATOMS})


@settings(max_examples=200)
@given(formulas(4), assignments)
def test_compiled_formula_agrees_with_the_kleene_reference(
        f: Formula, assignment: dict[str, bool | None]) -> None:
    assert as_truth(ev(source(f), as_facts(assignment))) is reference(f, assignment)


@settings(max_examples=200)
@given(formulas(3), formulas(3), assignments)
def test_de_morgan_in_three_valued_logic(f: Formula, g: Formula,
                                         assignment: dict[str, bool | None]) -> None:
    facts = as_facts(assignment)
    p, q = source(f), source(g)
    assert ev(f"not (({p}) and ({q}))", facts) is ev(f"(not ({p})) or (not ({q}))", facts)
    assert ev(f"not (({p}) or ({q}))", facts) is ev(f"(not ({p})) and (not ({q}))", facts)
    assert ev(f"not (not ({p}))", facts) is ev(p, facts)


def refinements(assignment: dict[str, bool | None]) -> st.SearchStrategy[dict[str, bool]]:
    """Strategies for assignments that keep what is known and fill in some unknowns."""
    return st.fixed_dictionaries({
        name: (st.just(value) if value is not None else st.sampled_from(VALUES))
        for name, value in assignment.items()
    })


@settings(max_examples=200)
@given(formulas(4, negation=False), assignments, st.data())
def test_monotonicity_adding_knowledge_never_flips_a_result(
        f: Formula, assignment: dict[str, bool | None], data: st.DataObject) -> None:
    before = ev(source(f), as_facts(assignment))
    more = data.draw(refinements(assignment))
    after = ev(source(f), as_facts(more))
    if before is not UNKNOWN:
        assert after is before


@settings(max_examples=200)
@given(formulas(4, negation=True), assignments, st.data())
def test_monotonicity_holds_with_negation_too(
        f: Formula, assignment: dict[str, bool | None], data: st.DataObject) -> None:
    before = ev(source(f), as_facts(assignment))
    after = ev(source(f), as_facts(data.draw(refinements(assignment))))
    if before is not UNKNOWN:
        assert after is before


@given(formulas(3), assignments)
def test_known_is_never_unknown(f: Formula, assignment: dict[str, bool | None]) -> None:
    value = ev(f"known({source(f)})", as_facts(assignment))
    assert value is (reference(f, assignment) is not None)


# -- values of no type known at load time: a table's or ranking's outcome (issue 17, 7) ---------

RULES_WORKFLOW = """\
id: uitkomsten
version: 1
label: Uitkomsten
start_by: [m]
roles: {m: {label: M}}
facts:
  a: {type: boolean, label: A}
  wet: {type: enum, values: [jeugdwet, wmo], label: Wet}
  kandidaten:
    type: list
    label: Kandidaten
    items:
      id: {type: string, label: Id}
      ervaren: {type: boolean, label: Ervaren}
rules:
  afsluiten:
    kind: criteria
    label: Afsluiten
    criteria:
      klaar: {label: Klaar, when: a}
  zorgplicht:
    kind: table
    hit_policy: unique
    label: Zorgplicht
    inputs:
      wet: {type: enum, values: [jeugdwet, wmo]}
    outputs: [verantwoordelijk]
    rows:
      - {id: jeugd, when: {wet: jeugdwet}, then: {verantwoordelijk: gemeente}}
      - {id: wmo, when: {wet: wmo}, then: {verantwoordelijk: gemeente}}
  interventies:
    kind: table
    hit_policy: collect
    label: Interventies
    inputs:
      a: {type: boolean}
    outputs: [interventie]
    rows:
      - {id: overleg, when: {a: true}, then: {interventie: overleg}}
  regie:
    kind: ranking
    label: Regie
    candidates: kandidaten
    candidate_id: id
    criteria:
      ervaring: {label: Ervaring, weight: 1, when: kandidaat.ervaren}
states:
  open: {label: Open, initial: true}
  dicht: {label: Dicht, final: true}
transitions:
  - {event: sluiten, from: open, to: dicht, by: [m], when: "GUARD"}
"""
_RULES_WF = load_workflow_text(RULES_WORKFLOW.replace("GUARD", "a"), "uitkomsten.yaml")
RULES_SCOPE = Scope(_RULES_WF.facts, rules=_RULES_WF.rules)
ROW = "is the outputs of the row of table 'zorgplicht' that matched (records, of no type known "
TABLE_FIX = ("use `'jeugd' in rules.zorgplicht.matched` (which rows matched), "
             "`rules.zorgplicht.holds` (whether one did) or `known(rules.zorgplicht.outcome)`")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("rules.zorgplicht.outcome < 3", "`rules.zorgplicht.outcome < 3`: '<' needs numbers or "
                                         f"dates, but `rules.zorgplicht.outcome` {ROW}"),
        ("3 >= rules.zorgplicht.outcome", "'>=' needs numbers or dates, but "
                                          f"`rules.zorgplicht.outcome` {ROW}"),
        ("rules.zorgplicht.outcome - 1 > 0", "'-' needs numbers, but "
                                             f"`rules.zorgplicht.outcome` {ROW}"),
        ("1 + rules.zorgplicht.outcome > 0", "'+' needs numbers"),
        ("-rules.zorgplicht.outcome < 0", "'-' needs a number"),
        ("days_since(rules.zorgplicht.outcome) > 3", "days_since() needs a date, but "
                                                     f"`rules.zorgplicht.outcome` {ROW}"),
        ("months_since(rules.zorgplicht.outcome) > 3", "months_since() needs a date"),
        ("len(rules.interventies.outcome) > 0",
         "len() needs a list, but `rules.interventies.outcome` is the outputs of the rows of "
         "table 'interventies' that matched (records, of no type known when the workflow "
         "loads); use `'overleg' in rules.interventies.matched` (which rows matched), "
         "`rules.interventies.holds` (whether one did)"),
        ("rules.zorgplicht.outcome", f"a condition needs true/false, but "
                                     f"`rules.zorgplicht.outcome` {ROW}"),
        ("not rules.zorgplicht.outcome", "'not' needs true/false"),
        ("a and rules.zorgplicht.outcome", "'and'/'or' needs true/false"),
        ("rules.zorgplicht.outcome == 'gemeente'",
         "'==' needs two values of one kind (the other side is text), but "
         f"`rules.zorgplicht.outcome` {ROW}"),
        ("wet != rules.zorgplicht.outcome", "the other side is one of jeugdwet, wmo"),
        ("'gemeente' in rules.zorgplicht.outcome", "'in' needs a list on its right"),
        ("rules.regie.outcome in ['x']",
         "'in' needs a value of a known type, but `rules.regie.outcome` is the candidates "
         "ranking 'regie' finds eligible (records, of no type known when the workflow loads); "
         "use `rules.regie.matched` (their ids, best first), `len(rules.regie.matched)` or "
         "`rules.regie.holds`"),
        # a criteria rule set's outcome is typed: the ids of the criteria that hold
        ("rules.afsluiten.outcome < rules.afsluiten.matched",
         "'<' compares numbers or dates only"),
        ("'klar' in rules.afsluiten.outcome", "'klar' is not one of klaar"),
    ],
)
def test_a_value_of_no_known_type_used_where_a_type_is_needed_is_a_load_error(
        source: str, message: str) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(source, RULES_SCOPE, expect_bool=True)
    assert message in info.value.message
    if "zorgplicht" in message and "rules.zorgplicht.outcome" in source:
        assert info.value.message.endswith(TABLE_FIX)


@pytest.mark.parametrize(
    ("guard", "facts", "passes"),
    [
        ("known(rules.zorgplicht.outcome)", {"wet": "wmo"}, True),
        ("known(rules.zorgplicht.outcome)", {}, False),
        ("rules.zorgplicht.outcome == rules.zorgplicht.outcome", {"wet": "wmo"}, True),
        ("rules.regie.outcome != rules.zorgplicht.outcome", {"wet": "wmo", "kandidaten": []},
         True),
        ("'klaar' in rules.afsluiten.outcome", {"a": True}, True),
        ("len(rules.afsluiten.outcome) == 0", {"a": False}, True),
    ],
)
def test_what_an_untyped_outcome_may_do_runs_three_valued(
        guard: str, facts: dict[str, Any], passes: bool) -> None:
    from zorgflow import Actor, Engine, TransitionRejected

    engine = Engine([load_workflow_text(RULES_WORKFLOW.replace("GUARD", guard), "u.yaml")])
    m = Actor("m.1", roles={"m"})
    case = engine.start("uitkomsten", actor=m, facts=facts, at=AT)
    if passes:
        assert engine.fire(case, "sluiten", actor=m, at=AT).state == "dicht"
    else:
        with pytest.raises(TransitionRejected, match="condition is"):
            engine.fire(case, "sluiten", actor=m, at=AT)


def test_zorgflow_check_reports_an_untyped_comparison_at_its_position(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from zorgflow.cli import main

    text = RULES_WORKFLOW.replace("GUARD", "a and rules.zorgplicht.outcome < 3")
    path = tmp_path / "uitkomsten.yaml"
    path.write_text(text, encoding="utf-8")
    (line, column), = [(n + 1, x.index("rules.zorgplicht.outcome < 3") + 1)
                       for n, x in enumerate(text.splitlines()) if "outcome < 3" in x]
    out = io.StringIO()
    assert main(["check", str(path)], out=out) == 1
    assert (f"{path}:{line}:{column}: `rules.zorgplicht.outcome < 3`: '<' needs numbers or "
            "dates") in out.getvalue()
    assert "Traceback" not in out.getvalue() + capsys.readouterr().err


# -- names must be written as they read (issue 17, finding 11) ----------------------------------


@pytest.mark.parametrize(
    ("source", "offset", "message"),
    [
        ("ｔｒｕｅ", 0, "`ｔｒｕｅ` is not written in plain letters: 'ｔ' (U+FF54 FULLWIDTH LATIN "
                       "SMALL LETTER T) is read as 't', so this reads as `true`; write `true`"),
        ("a ａｎｄ b", 2, "`ａｎｄ` is not written in plain letters: 'ａ' (U+FF41 FULLWIDTH LATIN "
                         "SMALL LETTER A) is read as 'a', so this reads as `and`; write `and`"),
        ("a and 𝐭𝐫𝐮𝐞", 6, "'𝐭' (U+1D42D MATHEMATICAL BOLD SMALL T) is read as 't', so this "
                          "reads as `true`; write `true`"),
        ("facts.ｎ > 1", 6, "so this reads as `n`; write `n`"),
        ("kinderen_betrokkｅn", 16, "'ｅ' (U+FF45 FULLWIDTH LATIN SMALL LETTER E) is read as 'e', "
                                   "so this reads as `kinderen_betrokken`"),
        ("ﬁ", 0, "'ﬁ' (U+FB01 LATIN SMALL LIGATURE FI) is read as 'fi'"),
    ],
    ids=["fullwidth true", "fullwidth keyword", "mathematical bold", "after facts.",
         "one letter of a fact", "ligature"],
)
def test_a_name_not_written_as_it_reads_is_refused(source: str, offset: int,
                                                    message: str) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(source, SCOPE)
    assert message in info.value.message
    assert info.value.offset == offset


def test_text_in_quotes_may_hold_any_letters() -> None:
    assert ev("s == 'ｔｒｕｅ'", {"s": "ｔｒｕｅ"}) is True
    assert ev("s == 'ｔｒｕｅ'", {"s": "true"}) is False


def test_a_fullwidth_name_in_a_guard_is_a_workflow_error_at_its_character() -> None:
    with pytest.raises(WorkflowError) as info:
        load_guard(json.dumps("a and ｔｒｕｅ"))
    (problem,) = info.value.errors
    assert (problem.line, problem.column) == (GUARD_LINE, GUARD_COLUMN + 1 + len("a and "))
    assert "reads as `true`; write `true`" in problem.message


def test_a_mistake_after_accented_text_is_reported_at_its_character() -> None:
    # ast counts columns in UTF-8 bytes: 'é' is two of them but one column in the file
    guard = "s == 'café' and onbekend_feit"
    with pytest.raises(WorkflowError) as info:
        load_guard(json.dumps(guard))
    (problem,) = info.value.errors
    assert (problem.line, problem.column) == (GUARD_LINE,
                                              GUARD_COLUMN + 1 + guard.index("onbekend_feit"))


# -- arithmetic: '*' and '/', sum() over a list of records -----------------------------------

RECORDS = FactType("list", fields={"id": FactType("string"), "stemmen": FactType("integer"),
                                   "gewicht": FactType("number"), "naam": FactType("string")})
RECORD_SCOPE = Scope({**FACTS, "kandidaten": _fact("kandidaten", RECORDS)})


@pytest.mark.parametrize(
    ("source", "facts", "expected"),
    [
        ("n * m", {"n": 3, "m": 4}, 12),
        ("x * 2", {"x": 0.5}, 1.0),
        ("n / m", {"n": 3, "m": 8}, 0.375),
        ("n / m", {"n": 3, "m": 0}, UNKNOWN),  # a share of nothing is not known
        ("n / m", {"n": 3}, UNKNOWN),
        ("n * m", {"m": 2}, UNKNOWN),
        ("x * x", {"x": 1e200}, UNKNOWN),  # beyond a float: not a number a rule can use
        ("n / x", {"n": 10**300, "x": 1e-300}, UNKNOWN),
        ("n - m * 2", {"n": 10, "m": 3}, 4),  # '*' before '-'
        ("(n - m) * 2", {"n": 10, "m": 3}, 14),
    ],
)
def test_multiplication_and_division(source: str, facts: dict[str, Any], expected: Any) -> None:
    assert ev(source, facts) == expected if expected is not UNKNOWN \
        else ev(source, facts) is UNKNOWN


def test_division_is_a_number_and_multiplication_of_whole_numbers_a_whole_number() -> None:
    assert compile_expr("n / m", SCOPE).type == FactType("number")
    assert compile_expr("n * m", SCOPE).type == FactType("integer")
    assert compile_expr("n * x", SCOPE).type == FactType("number")


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([{"id": "a", "stemmen": 3}, {"id": "b", "stemmen": 5}], 8),
        ([], 0),
        ([{"id": "a", "stemmen": 3}, {"id": "b"}], UNKNOWN),  # one record does not say
    ],
)
def test_sum_totals_a_field_over_the_records_of_a_list(records: list[dict[str, Any]],
                                                       expected: Any) -> None:
    result = ev("sum(kandidaten.stemmen)", {"kandidaten": records}, scope=RECORD_SCOPE)
    assert result == expected if expected is not UNKNOWN else result is UNKNOWN
    assert ev("sum(facts.kandidaten.stemmen)", {"kandidaten": records},
              scope=RECORD_SCOPE) == result
    assert ev("sum(kandidaten.stemmen)", {}, scope=RECORD_SCOPE) is UNKNOWN


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("sum(kandidaten.naam) > 1", "'kandidaten.naam' is text"),
        ("sum(kandidaten.stemme) > 1", "unknown field 'kandidaten.stemme' — did you mean "
                                       "'stemmen'?"),
        ("sum(kandidaten) > 1", "sum() needs a number field of a list of records"),
    ],
)
def test_sum_refuses_what_is_not_a_number_field_of_records(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=re.escape(message)):
        compile_expr(source, RECORD_SCOPE)


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=8))
def test_shares_computed_by_a_rule_add_up_to_one(votes: list[int]) -> None:
    """The share the LZN ranking weighs: each candidate's votes over all votes."""
    records = [{"id": str(i), "stemmen": v} for i, v in enumerate(votes)]
    scope = Scope({**RECORD_SCOPE.facts, "s_n": _fact("s_n", FactType("integer"))})
    shares = [ev("n / sum(kandidaten.stemmen)", {"kandidaten": records, "n": v}, scope=scope)
              for v in votes]
    if sum(votes) == 0:
        assert all(s is UNKNOWN for s in shares)
    else:
        assert sum(shares) == pytest.approx(1.0)


# -- rules.X.first: the best-placed candidate of a ranking ------------------------------------

WORKFLOWS = Path(__file__).parent.parent / "workflows"
LZN = load_workflow_text((WORKFLOWS / "lzn.yaml").read_text(encoding="utf-8"), "lzn.yaml")
LZN_SCOPE = Scope(LZN.facts, rules=LZN.rules)


def test_first_is_only_offered_by_a_ranking() -> None:
    assert compile_expr("rules.regiecriteria.first == 'ggz'", LZN_SCOPE).type == \
        FactType("boolean")
    with pytest.raises(ExprError, match=re.escape("'.first' is the best-placed candidate of "
                                                  "a ranking, and 'afsluitcriteria' is a "
                                                  "criteria")):
        compile_expr("rules.afsluitcriteria.first == 'x'", LZN_SCOPE)
    with pytest.raises(ExprError, match="did you mean 'first'"):
        compile_expr("rules.regiecriteria.frist == 'x'", LZN_SCOPE)


def test_first_is_the_best_placed_candidate_or_unknown_without_one() -> None:
    engine = zorgflow.Engine.from_directory(WORKFLOWS)
    first = compile_expr("rules.regiecriteria.first", LZN_SCOPE)

    def best(kandidaten: Any) -> Any:
        facts = {} if kandidaten is None else {"kandidaten": kandidaten}
        return first(Env(facts, AT, decide=lambda rid: engine.decide("lzn", rid, facts, at=AT)))

    assert best([{"id": "a", "voorkeur_overleg": 1}, {"id": "b", "voorkeur_overleg": 3}]) == "b"
    assert best([]) is UNKNOWN
    assert best(None) is UNKNOWN
