"""Criteria rule sets → durable-rules JSON conditions, mirroring three-valued logic exactly.

durable-rules is two-valued: a rule fires or it does not. Each criterion is therefore
compiled twice, into the condition under which it is definitely *true* and the one under which
it is definitely *false* (``not`` is pushed inward, swapping the two). Every literal of both
conditions is "the fact is known and compares so": ``not x`` becomes ``x`` present and equal to
false, ``x != 'geen'`` becomes ``x`` present and not ``'geen'``, so a fact that is unknown
(absent from the message) makes no literal true, and a criterion that needs it fires neither
way. ``true or unknown`` still fires, because one literal of the ``or`` holds.

This module is pure Python and does not import durable-rules: what can be expressed is known
without it. Whatever cannot be expressed is reported with the reason and its position in the
clause, never approximated.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from typing import Any, Literal

from ..._frozen import Frozen, record
from ...errors import ExprError
from ...model import CriteriaRuleSet, Fact
from ..expr import parse

#: the property every message carries, so no rule matches durable's own state records
MARKER = "zf"
#: durable holds whole numbers in 64 bits
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_VALUE_TYPES = ("boolean", "enum", "string", "integer", "number")

Json = dict[str, Any]
# a condition: True/False (constants), ("atom", json), ("and", [...]) or ("or", [...])
Cond = Any


class Unexpressible(Exception):
    """A clause durable-rules cannot express; ``offset`` is the column inside the clause."""

    def __init__(self, reason: str, offset: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


@record
class Gap(Frozen):
    """One clause of a criterion that durable-rules cannot express, and why."""

    rule_set: str
    criterion: str
    clause: int
    offset: int
    reason: str


@record
class CriterionRules(Frozen):
    """A criterion's two durable conditions (``None``: that side can never hold)."""

    id: str
    when_true: Json | None
    when_false: Json | None


@record
class Translation(Frozen):
    """A criteria rule set as durable conditions, and how to build its messages."""

    rule_set: str
    criteria: tuple[CriterionRules, ...]
    #: fact id → "value" (its value is compared) or "known" (only its presence is tested)
    reads: Mapping[str, Literal["value", "known"]]


def prop(fact: str) -> str:
    """The message property of a fact (prefixed: durable reserves ``id``, ``sid``, ``$…``)."""
    return "f_" + fact


def json_number(value: int | float) -> int | float:
    """``value`` as durable-rules reads it exactly, or `ValueError` saying why it cannot.

    Its number parser holds whole numbers in 64 bits and rejects exponent forms without a
    fraction (``1e-05``, ``1e+20``), which is how Python writes some floats; a whole float is
    sent as an integer, any other such float is refused.
    """
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise ValueError(f"{value} does not fit in durable-rules' 64-bit whole numbers")
        return value
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    text = repr(value)
    if "e" in text and "." not in text.split("e")[0]:
        if value.is_integer() and INT_MIN <= value <= INT_MAX:
            return int(value)
        raise ValueError(f"durable-rules cannot read the number {text} (its parser needs a "
                         "fraction before an exponent)")
    return value


# -- the condition algebra ---------------------------------------------------------------------
def _atom(op: str, fact: str, value: Any = 1) -> Cond:
    name = prop(fact)
    if op == "eq":
        return ("atom", {name: value})
    return ("atom", {f"${op}": {name: value}})


def _join(kind: str, parts: list[Cond]) -> Cond:
    """``and``/``or`` with constants folded, nesting flattened and repeats dropped."""
    unit, zero = (True, False) if kind == "and" else (False, True)
    flat: dict[str, Cond] = {}
    for part in parts:
        if part is zero:
            return zero
        if part is unit:
            continue
        for item in (part[1] if part[0] == kind else [part]):
            flat.setdefault(repr(item), item)
    items = list(flat.values())
    if not items:
        return unit
    return items[0] if len(items) == 1 else (kind, items)


def _known_and(fact: str, cond: Cond) -> Cond:
    return _join("and", [_atom("ex", fact), cond])


def to_json(cond: Cond) -> Json:
    """The durable-rules form of a condition that is not a constant."""
    if cond[0] == "atom":
        result: Json = cond[1]
        return result
    return {f"${cond[0]}": [to_json(c) for c in cond[1]]}


def guarded(cond: Cond) -> Json | None:
    """A rule's whole condition: the marker and ``cond``; ``None`` when it never holds."""
    if cond is False:
        return None
    marker = {MARKER: 1}
    return marker if cond is True else {"$and": [marker, to_json(cond)]}


# -- from the clause's syntax tree -------------------------------------------------------------
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<",
           "in": "not in", "not in": "in"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.In: "in", ast.NotIn: "not in"}
_DURABLE_OP = {"!=": "neq", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_NO_LITERAL = object()


class _Translator:
    def __init__(self, facts: Mapping[str, Fact]) -> None:
        self.facts = facts
        self.reads: dict[str, Literal["value", "known"]] = {}

    def both(self, node: ast.AST) -> tuple[Cond, Cond]:
        """(condition for true, condition for false) of a boolean expression."""
        if isinstance(node, ast.BoolOp):
            sides = [self.both(v) for v in node.values]
            trues, falses = [t for t, _ in sides], [f for _, f in sides]
            if isinstance(node.op, ast.And):
                return _join("and", trues), _join("or", falses)
            return _join("or", trues), _join("and", falses)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            when_true, when_false = self.both(node.operand)
            return when_false, when_true
        literal = self.literal(node)
        if isinstance(literal, bool):
            return literal, not literal
        fact = self.fact(node)
        if fact is not None:
            self.value_fact(node, fact)
            return (_known_and(fact, _atom("eq", fact, True)),
                    _known_and(fact, _atom("eq", fact, False)))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "known":
            return self.known(node)
        raise Unexpressible(self.why(node), getattr(node, "col_offset", 0))

    def known(self, node: ast.Call) -> tuple[Cond, Cond]:
        fact = self.fact(node.args[0]) if len(node.args) == 1 else None
        if fact is None:
            raise Unexpressible("known() of anything but a fact cannot be expressed in "
                                "durable-rules", node.col_offset)
        self.reads.setdefault(fact, "known")
        return _atom("ex", fact), _atom("nex", fact)

    def compare(self, node: ast.Compare) -> tuple[Cond, Cond]:
        operands = [node.left, *node.comparators]
        trues, falses = [], []
        for i, op_node in enumerate(node.ops):
            op = _OPS.get(type(op_node))
            if op is None:  # pragma: no cover - the loader allows no other comparison
                raise Unexpressible(f"the comparison '{ast.unparse(node)}'", node.col_offset)
            when_true, when_false = self.pair(node, operands[i], op, operands[i + 1])
            trues.append(when_true)
            falses.append(when_false)
        return _join("and", trues), _join("or", falses)

    def pair(self, node: ast.expr, left: ast.AST, op: str, right: ast.AST
             ) -> tuple[Cond, Cond]:
        fact, other = self.fact(left), right
        if fact is None:
            fact, other = self.fact(right), left
            if fact is None:
                raise Unexpressible(self.why(left if self.literal(left) is _NO_LITERAL
                                             else right), node.col_offset)
            if op in ("in", "not in"):
                raise Unexpressible(f"'{ast.unparse(node)}' asks whether a list fact holds a "
                                    "value; durable-rules conditions here compare single "
                                    "values only", node.col_offset)
            op = _FLIP[op]
        self.value_fact(node, fact)
        if op in ("in", "not in"):
            if not isinstance(other, ast.List | ast.Tuple):
                raise Unexpressible(self.why(other), getattr(other, "col_offset", 0))
            values = [self.value(node, fact, e) for e in other.elts]
            member = _join("or", [_atom("eq", fact, v) for v in values])
            outside = _join("and", [_atom("neq", fact, v) for v in values])
            pair = (_known_and(fact, member), _known_and(fact, outside))
            return pair if op == "in" else (pair[1], pair[0])
        value = self.value(node, fact, other)
        return (_known_and(fact, self.test(op, fact, value)),
                _known_and(fact, self.test(_NEGATE[op], fact, value)))

    @staticmethod
    def test(op: str, fact: str, value: Any) -> Cond:
        return _atom("eq", fact, value) if op == "==" else _atom(_DURABLE_OP[op], fact, value)

    def value(self, node: ast.expr, fact: str, literal_node: ast.AST) -> Any:
        value = self.literal(literal_node)
        if value is _NO_LITERAL:
            raise Unexpressible(self.why(literal_node, comparing=True),
                                getattr(literal_node, "col_offset", 0))
        kind = self.facts[fact].type.name
        if kind in ("integer", "number") and not isinstance(value, bool):
            try:
                return json_number(value)
            except ValueError as exc:
                raise Unexpressible(str(exc), getattr(literal_node, "col_offset", 0)) from None
        return value

    def value_fact(self, node: ast.AST, fact: str) -> None:
        kind = self.facts[fact].type.name
        if kind not in _VALUE_TYPES:
            raise Unexpressible(f"fact '{fact}' is {self.facts[fact].type.describe()}; "
                                "durable-rules conditions here compare true/false, enum, text "
                                "and number facts only", getattr(node, "col_offset", 0))
        self.reads[fact] = "value"

    def fact(self, node: ast.AST) -> str | None:
        name = None
        if isinstance(node, ast.Name) and node.id not in ("true", "false"):
            name = node.id
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == "facts"):
            name = node.attr
        return name if name is not None and name in self.facts else None

    @staticmethod
    def literal(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, bool | int | float | str):
            return node.value
        if isinstance(node, ast.Name) and node.id in ("true", "false"):
            return node.id == "true"
        if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
                and isinstance(node.operand, ast.Constant)
                and isinstance(node.operand.value, int | float)
                and not isinstance(node.operand.value, bool)):
            return -node.operand.value
        return _NO_LITERAL

    @staticmethod
    def why(node: ast.AST, *, comparing: bool = False) -> str:
        text = ast.unparse(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in ("today", "days_since", "months_since", "add_days", "add_months"):
                return (f"'{text}' depends on dates and the time of evaluation, which "
                        "durable-rules conditions cannot compute")
            if name == "len":
                return f"'{text}': durable-rules conditions cannot count a list"
        if isinstance(node, ast.BinOp):
            return f"'{text}': durable-rules conditions here do no arithmetic on facts"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            return f"'{text}' reads another rule set, which durable-rules cannot"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id != "facts":
            return f"'{text}' is not a fact; durable-rules sees only the facts"
        if comparing:
            return (f"'{text}' is not a literal value: durable-rules conditions here compare "
                    "a fact with a literal, not two facts")
        return f"'{text}' cannot be expressed in durable-rules"


def translate(rule_set: CriteriaRuleSet, facts: Mapping[str, Fact]
              ) -> tuple[Translation | None, list[Gap]]:
    """The durable form of a criteria rule set, or the gaps that keep it from having one.

    Assumes the workflow loaded (its clauses are type-checked already).
    """
    translator = _Translator(facts)
    criteria: list[CriterionRules] = []
    gaps: list[Gap] = []
    for criterion in rule_set.criteria:
        sides: list[tuple[Cond, Cond]] = []
        for n, clause in enumerate(criterion.clauses):
            try:
                sides.append(translator.both(parse(clause)))
            except Unexpressible as exc:
                gaps.append(Gap(rule_set.id, criterion.id, n, exc.offset, exc.reason))
            except ExprError as exc:  # pragma: no cover - the loader parsed it already
                gaps.append(Gap(rule_set.id, criterion.id, n, exc.offset, exc.message))
        if len(sides) != len(criterion.clauses):
            continue
        if criterion.mode == "any":
            when_true = _join("or", [t for t, _ in sides])
            when_false = _join("and", [f for _, f in sides])
        else:
            when_true = _join("and", [t for t, _ in sides])
            when_false = _join("or", [f for _, f in sides])
        criteria.append(CriterionRules(criterion.id, guarded(when_true), guarded(when_false)))
    if gaps:
        return None, gaps
    return Translation(rule_set.id, tuple(criteria), dict(translator.reads)), []
