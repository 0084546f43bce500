"""Arithmetic in conditions, three-valued: ``+``, ``-``, ``*``, ``/``, unary ``-`` and
``sum(list.field)``.

An unknown operand makes the result unknown, and so does a result outside the numbers a rule
can use (an infinite float, a whole number beyond a float) and a division by zero (a share of
nothing is not known, rather than an error halfway through a decision). The closures
(`zorgflow.rules.expr`) and the generated code (`zorgflow.rules.codegen`) both call these
functions, so the two cannot differ in what a sum is.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from .logic import UNKNOWN

#: beyond this a number cannot be weighed or compared as a float (about 1.8e308)
LARGEST = 2 ** 1023


def finite(value: Any) -> Any:
    """``value``, or unknown when arithmetic left the numbers a rule can use (an infinite
    float, or a whole number beyond a float)."""
    if value.__class__ is float:
        return value if math.isfinite(value) else UNKNOWN
    return value if -LARGEST < value < LARGEST else UNKNOWN


def plus(a: Any, b: Any) -> Any:
    """``a + b``."""
    return UNKNOWN if a is UNKNOWN or b is UNKNOWN else finite(a + b)


def minus(a: Any, b: Any) -> Any:
    """``a - b``."""
    return UNKNOWN if a is UNKNOWN or b is UNKNOWN else finite(a - b)


def times(a: Any, b: Any) -> Any:
    """``a * b``."""
    return UNKNOWN if a is UNKNOWN or b is UNKNOWN else finite(a * b)


def divided(a: Any, b: Any) -> Any:
    """``a / b``: always a float; unknown when ``b`` is 0."""
    if a is UNKNOWN or b is UNKNOWN or b == 0:
        return UNKNOWN
    try:
        return finite(a / b)
    except OverflowError:  # two whole numbers whose quotient is no float
        return UNKNOWN


def negated(a: Any) -> Any:
    """``-a`` (a number a rule reads is finite, so its negation is too)."""
    return UNKNOWN if a is UNKNOWN else -a


def field_total(records: Iterable[Mapping[str, Any]] | Any, field: str) -> Any:
    """``sum(list.field)``: the total of ``field`` over ``records``; unknown while the list,
    or the field of any record in it, is unknown; 0 for an empty list."""
    if records is UNKNOWN:
        return UNKNOWN
    result: Any = 0
    for record in records:
        value = record.get(field, UNKNOWN)
        if value is UNKNOWN or value is None:
            return UNKNOWN
        try:
            result += value
        except OverflowError:  # a whole-number total beyond a float, then a fraction added
            return UNKNOWN
    return finite(result)


def weighted(value: Any, weight: float) -> Any:
    """A ranking criterion's ``points:`` value times its weight: 0 when the value is
    unknown, or when the product leaves the numbers a rule can use (so adding up a
    candidate's points never fails and never gives NaN: candidates always sort)."""
    if value is UNKNOWN:
        return 0
    points = finite(value * weight)
    return 0 if points is UNKNOWN else points


def candidate_total(points: Collection[Any]) -> Any:
    """A ranking candidate's total: the sum of its points (each within the numbers a rule
    can use, see `weighted`), where a sum beyond a float counts as the largest float, with
    its sign. So a total always sorts, is said in an explanation and is a JSON number."""
    try:
        total = sum(points)
        if -_FLOAT_MAX <= total <= _FLOAT_MAX:
            return total
    except OverflowError:  # whole numbers beyond a float, then a float added to them
        pass
    # worked out exactly (floats are fractions with a power of two below), then rounded once
    ratios = [p.as_integer_ratio() for p in points]
    below = max(d for _, d in ratios)
    exact = sum(n * (below // d) for n, d in ratios)
    if exact > _FLOAT_MAX_INT * below:
        return _FLOAT_MAX
    if exact < -_FLOAT_MAX_INT * below:
        return -_FLOAT_MAX
    return exact / below


#: the largest float, and it as a whole number (exact)
_FLOAT_MAX = sys.float_info.max
_FLOAT_MAX_INT = int(_FLOAT_MAX)


#: the function for each operator symbol
OPERATIONS = {"+": plus, "-": minus, "*": times, "/": divided}
