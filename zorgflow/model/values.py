"""Checking and normalising values against declared types (facts, event data)."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from ..errors import Phrase, ValueProblem, phrase
from .calendar import parse_date, parse_datetime
from .workflow import FactType


def exact_form(t: FactType) -> tuple[type | None, frozenset[Any] | None]:
    """The class (and, for an enum, the values) of a value that ``coerce(t, value)`` would
    return unchanged; ``(None, None)`` where every value needs `coerce` (numbers, which have
    bounds even when the workflow gives none, dates, lists).
    Restoring a case checks each fact against this without a call."""
    kind = t.name
    if kind == "boolean":
        return bool, None
    if kind == "string":
        return str, None
    if kind == "enum":
        return str, frozenset(t.values)
    return None, None


def reader(t: FactType) -> Callable[[Any], Any]:
    """A function that does what ``coerce(t, value)`` does, with a shortcut for stored values
    that are already right (restoring a case checks every fact that `exact_form` cannot)."""
    kind = t.name
    if kind == "integer":
        low = -_LARGEST if t.minimum is None else t.minimum
        high = _LARGEST if t.maximum is None else t.maximum

        def read_integer(value: Any) -> Any:
            if value.__class__ is int and low <= value <= high:
                return value
            return coerce(t, value)

        return read_integer
    if kind == "date":

        def read_date(value: Any) -> Any:
            if value.__class__ is str and len(value) == 10:  # YYYY-MM-DD, as to_json writes
                try:
                    return date.fromisoformat(value)
                except ValueError:
                    pass  # coerce says what is wrong
            return coerce(t, value)

        return read_date
    return lambda value: coerce(t, value)


def interval_reader(read: Callable[[Any], Any], limit: int, unit: str) -> Callable[[Any], Any]:
    """``read`` (a fact's `reader`) for a fact that a timer takes its interval from: it also
    refuses a value beyond ``limit`` ``unit`` either way (`calendar.interval_limits`), whose
    due time could not be worked out, when the fact is set, given or restored."""

    def read_interval(value: Any) -> Any:
        value = read(value)
        if -limit <= value <= limit:
            return value
        raise ValueProblem(phrase("value.interval", unit=phrase(f"unit.{unit}"),
                                  low=_grouped(-limit), high=_grouped(limit),
                                  got=_number(value)))

    return read_interval


def problem_text(problem: ValueProblem, t: FactType, personal: bool) -> str | Phrase:
    """What a refusal says about a value that does not fit ``t``, in words of any language:
    the problem, or for personal data only what was expected (the problem may quote the
    value). The one place that decides how a value problem shows personal data."""
    return phrase("value.expected", expected=t.phrase()) if personal else problem.phrase


def _expected(t: FactType, got: str | Phrase) -> ValueProblem:
    return ValueProblem(phrase("value.expected_got", expected=t.phrase(), got=got))


def coerce(t: FactType, value: Any) -> Any:
    """``value`` checked against ``t`` and normalised (dates parsed, lists made tuples)."""
    kind = t.name
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _expected(t, _kind(value))
        return value
    if kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _expected(t, _kind(value))
        if isinstance(value, float) and not math.isfinite(value):
            got = phrase("kind.nan" if math.isnan(value) else "kind.infinity")
            raise ValueProblem(phrase("value.not_finite", expected=t.phrase(), got=got))
        if isinstance(value, int) and abs(value) > _LARGEST:
            raise ValueProblem(phrase("value.too_large", expected=t.phrase(),
                                      got=_number(value)))
        if kind == "integer" and not (isinstance(value, int) or value.is_integer()):
            raise _expected(t, _number(value))
        if t.minimum is not None and value < t.minimum:
            raise ValueProblem(phrase("value.at_least", limit=_decimal(f"{t.minimum:g}"),
                                      got=_number(value)))
        if t.maximum is not None and value > t.maximum:
            raise ValueProblem(phrase("value.at_most", limit=_decimal(f"{t.maximum:g}"),
                                      got=_number(value)))
        return int(value) if kind == "integer" else value
    if kind == "string":
        if not isinstance(value, str):
            raise _expected(t, _kind(value))
        return value
    if kind == "enum":
        if not isinstance(value, str) or value not in t.values:
            raise _expected(t, _short(value))
        return value
    if kind == "date":
        try:
            return parse_date(value)
        except ValueError:
            raise _unreadable(t, value) from None
    if kind == "datetime":
        try:
            return parse_datetime(value)
        except ValueError:
            raise _unreadable(t, value) from None
    if kind == "list":
        if not isinstance(value, list | tuple):
            raise ValueProblem(phrase("value.expected_got", expected=phrase("type.list"),
                                      got=_kind(value)))
        if t.fields:
            return tuple(_record(t.fields, item, n) for n, item in enumerate(value))
        if t.items is not None:
            items = t.items
            result = []
            for n, item in enumerate(value):
                try:
                    result.append(coerce(items, item))
                except ValueProblem as exc:
                    raise ValueProblem(phrase("value.item", n=str(n + 1),
                                              problem=exc.phrase)) from None
            return tuple(result)
        return tuple(value)
    raise ValueProblem(f"unsupported type {kind}")  # pragma: no cover


def _record(fields: Mapping[str, FactType], item: Any, n: int) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise ValueProblem(phrase("value.item", n=str(n + 1), problem=phrase(
            "value.expected_got", expected=phrase("type.record"), got=_kind(item))))
    extra = [k for k in item if k not in fields]
    if extra:
        raise ValueProblem(phrase("value.item", n=str(n + 1), problem=phrase(
            "value.unknown_fields", fields=", ".join(map(str, extra)),
            expected=", ".join(fields))))
    result = {}
    for key, value in item.items():
        if value is None:
            continue  # a field given as null is not known, as a field left out
        try:
            result[key] = coerce(fields[key], value)
        except ValueProblem as exc:
            raise ValueProblem(phrase("value.item_field", n=str(n + 1), field=str(key),
                                      problem=exc.phrase)) from None
    return MappingProxyType(result)  # a case's values are read-only all the way down


def to_json(value: Any) -> Any:
    """A normalised value as JSON data (dates as ISO text, tuples as lists)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    return value


#: The largest whole number a fact may hold: beyond it, arithmetic with a float (a
#: weight, a number fact) overflows.
_LARGEST = int(sys.float_info.max)


def number_text(value: Any) -> str:
    """A number for a message: a huge whole number by its size (Python refuses to write an
    int of more than 4,300 digits as text, and nobody reads one)."""
    said = _number(value)
    return said if isinstance(said, str) else said.text("en")


def _unreadable(t: FactType, value: Any) -> ValueProblem:
    """A date or time that does not read: what was expected and what came (Python's words
    for why are English only, and the value given says it as well); a time without its
    offset from UTC says so."""
    if t.name == "datetime" and _naive(value):
        return ValueProblem(phrase("value.no_offset", expected=t.phrase(), got=_short(value)))
    return _expected(t, _short(value))


def _naive(value: Any) -> bool:
    """Whether ``value`` is a date and time (or its ISO text) without an offset from UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return False
    return isinstance(value, datetime) and value.utcoffset() is None


def _number(value: Any) -> str | Phrase:
    """`number_text` in words of any language."""
    if isinstance(value, int) and value.bit_length() > 64:
        return phrase("value.huge_number",
                      digits=_grouped(int(value.bit_length() * 0.30103) + 1))
    return _decimal(str(value))


def _decimal(text: str) -> str | Phrase:
    """A number written as Python writes it, with the decimal sign of each language (a
    point in English, a comma in Dutch)."""
    whole, point, fraction = text.partition(".")
    return phrase("number.decimal", whole=whole, fraction=fraction) if point else text


def _grouped(number: int) -> str:
    """A whole number with its thousands set apart by spaces, as both languages read it (a
    comma is the decimal sign in Dutch: "36,525" would read as 36.5)."""
    return f"{number:,}".replace(",", " ")


#: what a value that is not of a type is, by its class (any other class: by its name)
_KINDS = {bool: "kind.boolean", int: "kind.number", float: "kind.number", str: "kind.text",
          list: "kind.list", tuple: "kind.list", dict: "kind.mapping", date: "kind.date",
          datetime: "kind.datetime"}


def _kind(value: Any) -> str | Phrase:
    if value is None:
        return phrase("kind.nothing")
    key = _KINDS.get(type(value))
    return type(value).__name__ if key is None else phrase(key)


def _short(value: Any) -> str | Phrase:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return _kind(value)
