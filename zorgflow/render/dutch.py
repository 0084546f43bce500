"""Conditions in plain Dutch, for the process document.

``not kinderen_betrokken and data.afsluitreden in rules.afsluitcriteria.matched`` reads as
``niet “Er zijn kinderen betrokken” en de opgegeven “Afsluitreden” komt voor in de criteria
van “Criteria om een casus af te sluiten” die gelden``. The text is parsed with the condition
language's own parser (the standard ``ast`` module, never ``eval``); a form this module does
not know is shown as written.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from ..errors import ExprError
from ..model import DataField, Workflow
from ..rules.expr import parse

_COMPARE = {
    ast.Eq: "is", ast.NotEq: "is niet", ast.Lt: "is kleiner dan", ast.LtE: "is hoogstens",
    ast.Gt: "is groter dan", ast.GtE: "is minstens",
}
_ARITHMETIC: dict[type[ast.operator], str] = {
    ast.Add: "plus", ast.Sub: "min", ast.Mult: "maal", ast.Div: "gedeeld door"}
_FUNCTIONS = {
    "days_since": "het aantal dagen sinds {}",
    "months_since": "het aantal hele maanden sinds {}",
    "len": "het aantal in {}",
}


def quoted(label: str) -> str:
    """A label as a quoted term: ``“Er zijn kinderen betrokken”``."""
    return f"“{' '.join(label.split())}”"


def either(items: list[str]) -> str:
    """Alternatives as Dutch: ``A``, ``A of B``, ``A, B of C``."""
    return _choice(items)


class Dutch:
    """Says conditions of one workflow in Dutch, using the labels of its facts and fields."""

    def __init__(self, workflow: Workflow, data: Mapping[str, DataField] | None = None,
                 item_name: str = "kandidaat") -> None:
        self.workflow = workflow
        self.data = data or {}
        self.item_name = item_name

    def say(self, source: str | None) -> str:
        """``source`` in Dutch; ``"altijd"`` when there is no condition."""
        if source is None or not source.strip():
            return "altijd"
        try:
            node = parse(source)
        except ExprError:
            return " ".join(source.split())
        return self.node(node)

    # -- terms ---------------------------------------------------------------------------
    def fact(self, name: str) -> str:
        fact = self.workflow.facts.get(name)
        return quoted(fact.label if fact else name)

    def name(self, node: ast.expr) -> str | None:
        """A fact, data field, candidate field or rule-set attribute; None for other forms."""
        if isinstance(node, ast.Name):
            if node.id in ("true", "false"):
                return "waar" if node.id == "true" else "onwaar"
            return self.fact(node.id)
        if not isinstance(node, ast.Attribute) or not isinstance(node.value, ast.expr):
            return None
        base = node.value
        if isinstance(base, ast.Name):
            if base.id == "facts":
                return self.fact(node.attr)
            if base.id == "data":
                field = self.data.get(node.attr)
                return "de opgegeven " + quoted(field.label if field else node.attr)
            if base.id == self.item_name:
                label = self._item_label(node.attr)
                return f"{quoted(label)} van de {self.item_name}"
        if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
            if base.value.id == "rules":
                return self.rule(base.attr, node.attr)
            if base.value.id == "history" and base.attr == "last":
                return f"{quoted(node.attr)} van de laatste stap"
        if (isinstance(base, ast.Attribute) and base.attr == "data"
                and isinstance(base.value, ast.Attribute) and base.value.attr == "last"
                and isinstance(base.value.value, ast.Name) and base.value.value.id == "history"):
            return f"de bij de laatste stap opgegeven {quoted(node.attr)}"
        return None

    @staticmethod
    def _item_label(name: str) -> str:
        # record fields carry no label in the model: their name, read as words
        return name.replace("_", " ")

    def rule(self, rule_id: str, attr: str, negated: bool = False) -> str:
        rule_set = self.workflow.rules.get(rule_id)
        label = quoted(rule_set.label if rule_set else rule_id)
        kind = rule_set.kind if rule_set else "criteria"
        if attr == "matched":
            what = "rijen" if kind == "table" else "criteria"
            return f"de {what} van {label} die gelden"
        if attr == "first":
            return f"de eerste kandidaat van {label}"
        if attr == "holds":
            some = {"criteria": "minstens één", "table": "een", "ranking": "een geschikte"}
            none = {"criteria": "geen enkel", "table": "geen", "ranking": "geen geschikte"}
            what = {"criteria": "criterium van {} geldt", "table": "{} geeft {} uitkomst",
                    "ranking": "{} vindt {} kandidaat"}[kind]
            word = (none if negated else some)[kind]
            if kind == "criteria":
                return f"{word} {what.format(label)}"
            return what.format(label, word)
        return f"de uitkomst van {label}"

    # -- expressions ---------------------------------------------------------------------
    def node(self, node: ast.expr, nested: bool = False) -> str:
        """One expression node in Dutch; ``nested`` puts brackets around and/or."""
        named = self.name(node)
        if named is not None:
            return named
        if isinstance(node, ast.BoolOp):
            word = " en " if isinstance(node.op, ast.And) else " of "
            text = word.join(self.node(v, nested=True) for v in node.values)
            return f"({text})" if nested else text
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                operand = node.operand
                if isinstance(operand, ast.Call) and _func(operand) == "known" and operand.args:
                    return f"{self.node(operand.args[0])} is niet bekend"
                holds = _rule_holds(operand)
                if holds is not None:
                    return self.rule(holds, "holds", negated=True)
                if self.name(operand) is not None:
                    return f"niet {self.node(operand)}"
                return f"niet ({self.node(operand)})"
            if isinstance(node.op, ast.USub):
                return f"-{self.node(node.operand, nested=True)}"
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Constant):
            return _constant(node.value)
        if isinstance(node, ast.List | ast.Tuple):
            return _choice([self.node(e) for e in node.elts])
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            word = _ARITHMETIC[type(node.op)]
            return f"{self.operand(node.left)} {word} {self.operand(node.right)}"
        return ast.unparse(node)

    def operand(self, node: ast.expr) -> str:
        """One side of a sum: in brackets when it is itself a sum, so that the order of the
        arithmetic stays readable (``(a plus b) gedeeld door c``)."""
        text = self.node(node, True)
        return f"({text})" if isinstance(node, ast.BinOp) else text

    def compare(self, node: ast.Compare) -> str:
        parts = []
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                listed = isinstance(right, ast.List | ast.Tuple)
                if isinstance(op, ast.In):
                    word = "is een van" if listed else "komt voor in"
                else:
                    word = "is geen van" if listed else "komt niet voor in"
            else:
                word = _COMPARE.get(type(op), "?")
            parts.append(f"{self.node(left, True)} {word} {self.node(right, True)}")
            left = right
        return " en ".join(parts)

    def call(self, node: ast.Call) -> str:
        func = _func(node)
        args = [self.node(a) for a in node.args]
        if func == "known" and args:
            return f"{args[0]} is bekend"
        if func == "today":
            return "vandaag"
        if func in ("add_days", "add_months") and len(args) == 2:
            unit = "dagen" if func == "add_days" else "maanden"
            return f"{args[0]} plus {args[1]} {unit}"
        if func == "sum" and node.args and isinstance(node.args[0], ast.Attribute):
            field = node.args[0]
            return (f"het totaal van {quoted(self._item_label(field.attr))} over "
                    f"{self.node(field.value)}")
        if func in _FUNCTIONS and args:
            return _FUNCTIONS[func].format(args[0])
        return ast.unparse(node)


def _rule_holds(node: ast.expr) -> str | None:
    """The rule-set id of ``rules.X.holds``, else None."""
    if (isinstance(node, ast.Attribute) and node.attr == "holds"
            and isinstance(node.value, ast.Attribute) and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "rules"):
        return node.value.attr
    return None


def _func(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else ""


def _constant(value: object) -> str:
    if value is True:
        return "waar"
    if value is False:
        return "onwaar"
    if isinstance(value, str):
        return f"‘{value}’"
    return str(value)


def _choice(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " of " + items[-1]
