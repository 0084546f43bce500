"""Rule sets compiled to Python functions, for speed; the closures stay the reference.

A ``criteria`` rule set whose clauses use only facts (dates too), literals, ``not``,
``and``/``or``, comparisons and ``known(x)`` is turned into one Python function. The function
is built as an `ast.Module` from nodes made here, from the expression trees the condition
compiler already checked (`zorgflow.rules.expr`): the names in it are chosen here, fact names
and criterion ids appear only as string constants, and the module is passed to ``compile()``;
no text is ever evaluated. Each criterion first asks whether every fact it reads is known:
then it is plain two-valued Python (``and``, ``or``, ``==``); only otherwise is it worked out
in Kleene logic. The clock (a rule set's functions take no time) and arithmetic other than a
minus sign (which has no two-valued form) keep a criteria rule set on the closures.

Two functions come from a rule set: `CriteriaCode.evaluate` (matched and undecided ids, from
typed facts) and, built on first use, `CriteriaCode.given`, which `Engine.decide` calls on the
facts a caller gives: it checks each one's exact class as it reads it (no per-fact dispatch),
and gives up (returns ``None``) on anything it cannot take as it is, for the general path.

A true/false condition (a guard, an invariant, a ranking's ``when:``, a true/false value a
step ``sets:``) becomes a generated ``fn(env)`` too (`condition_code`;
`zorgflow.rules.expr.compile_expr` keeps the closure as ``Expr.closure``, which explanations
and the reference evaluations use). It may read:

- facts, event data (an invariant's ``history.last.data.x`` as ``data.x``), a ranking
  candidate's fields (``kandidaat.x``) and literals; ``len(x)`` and ``known(x)`` of a fact of
  any type;
- a rule set's outcome: ``rules.X.holds``, ``v in rules.X.matched`` (and ``not in``), a
  ranking's ``rules.X.first``. ``and``/``or`` stop where the closures stop, so a rule set is
  decided where the closures would decide it, and only if they would; such a condition is
  worked out in Kleene logic only, since an outcome can be unknown whatever the facts;
- dates: facts, data fields, ``today()``, literal dates (a list of them too),
  ``add_days``/``add_months``, ``days_since(d)`` and ``months_since(d)``; the clock is read,
  once, only when ``today()`` is;
- arithmetic: ``+``, ``-``, ``*``, ``/`` and ``sum(list.field)``, worked out by the functions
  of `zorgflow.rules.arithmetic`, which the closures call too, in Kleene logic only (a result
  beyond a float, or a share of 0, is unknown).

An expression that computes a value (a ranking's ``points:``) is generated the same way
(`value_code`); a plain read or literal keeps its closure, which is as fast. ``len()`` of
anything but a fact, ``rules.X.outcome`` and ``rules.X.matched`` outside ``in`` keep the
closures.

A decision table's rows become one function too (`table_code`): from the inputs' values, a
list with whether each row matches, every cell test written out in the row (the cells' values
are constants), closed-world as the closures are. A ranking's scoring of all its candidates
is one function too (`ranking_code`): each candidate's fields read once, every criterion
written out, a ``sum()`` over the candidates worked out once, not once per candidate.

``ZORGFLOW_NO_CODEGEN=1`` in the environment when a workflow is compiled turns this off.
"""

from __future__ import annotations

import ast
import functools
import operator
import os
import types
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import ValueProblem
from ..model import Fact
from ..model.calendar import add_months, days_between, months_between
from .arithmetic import divided, field_total, minus, negated, plus, times, weighted
from .logic import UNKNOWN, k_and, k_not, k_or

if TYPE_CHECKING:  # expr imports this module (for guards): no import back at run time
    from .decision import Decision
    from .expr import Expr, Scope

#: fact types a generated function reads (others, e.g. dates and records, keep the closures)
_PLAIN_TYPES = frozenset({"boolean", "integer", "number", "string", "enum"})
_OPS: dict[type[ast.cmpop], Callable[[], ast.cmpop]] = {
    ast.Eq: ast.Eq, ast.NotEq: ast.NotEq, ast.Lt: ast.Lt, ast.LtE: ast.LtE, ast.Gt: ast.Gt,
    ast.GtE: ast.GtE, ast.In: ast.In, ast.NotIn: ast.NotIn,
}
_SIMPLE = (bool, int, str)
#: a candidate of a ranking, scored: eligible, and its points by criterion
Scored = tuple[bool, dict[str, Any]]
#: arithmetic operators, by the name of the `zorgflow.rules.arithmetic` function they call
_ARITHMETIC: dict[type[ast.operator], str] = {
    ast.Add: "_plus", ast.Sub: "_minus", ast.Mult: "_times", ast.Div: "_divided"}


def enabled() -> bool:
    """Whether generated code is used (``ZORGFLOW_NO_CODEGEN`` unset, empty or ``0``)."""
    return os.environ.get("ZORGFLOW_NO_CODEGEN", "") in ("", "0")


class Unsupported(Exception):
    """The expression uses something the generator does not translate (closures are used)."""


def _function(name: str, params: tuple[str, ...], body: list[ast.stmt], filename: str,
              namespace: Mapping[str, Any]) -> Any:
    """The function ``name(*params)`` with ``body``, built here as an `ast.Module` and compiled
    (never text), its globals ``namespace`` and no builtins. `RecursionError` for a tree too
    deep to compile."""
    arguments = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params],
                              kwonlyargs=[], kw_defaults=[], defaults=[])
    function = ast.FunctionDef(name=name, args=arguments, body=body, decorator_list=[],
                               returns=None, type_comment=None)
    module = ast.Module(body=[function], type_ignores=[])
    ast.fix_missing_locations(module)
    code = compile(module, filename, "exec")
    function_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    return types.FunctionType(function_code, {"__builtins__": {}, **namespace}, name)


def _name(id_: str) -> ast.Name:
    return ast.Name(id=id_, ctx=ast.Load())


def _store(id_: str) -> ast.Name:
    return ast.Name(id=id_, ctx=ast.Store())


def _const(value: Any) -> ast.Constant:
    return ast.Constant(value=value)


def _call(fn: str, args: list[ast.expr]) -> ast.Call:
    return ast.Call(func=_name(fn), args=args, keywords=[])


def _is(a: ast.expr, b: ast.expr, negate: bool = False) -> ast.Compare:
    return ast.Compare(left=a, ops=[ast.IsNot() if negate else ast.Is()], comparators=[b])


def _and(parts: list[ast.expr]) -> ast.expr:
    return parts[0] if len(parts) == 1 else ast.BoolOp(op=ast.And(), values=parts)


class _Value:
    """A value operand: its code, and whether it can be unknown (a fact without default);
    ``date`` when it is a date, ``text`` the text of a string literal (a date, against one)."""

    __slots__ = ("code", "date", "fact", "maybe_unknown", "text")

    def __init__(self, code: ast.expr, maybe_unknown: bool, fact: str | None = None, *,
                 date: bool = False, text: str | None = None) -> None:
        self.code = code
        self.maybe_unknown = maybe_unknown
        self.fact = fact
        self.date = date
        self.text = text


def date_plus(day: Any, count: Any, months: bool) -> Any:
    """``add_months(day, count)`` (``months``) or ``add_days(day, count)``: unknown when
    either operand is, or when the date would fall outside the calendar. The closures'
    ``add_days``/``add_months`` and the generated code both call this."""
    if day is UNKNOWN or count is UNKNOWN:
        return UNKNOWN
    try:
        return add_months(day, count) if months else day + timedelta(days=count)
    except (OverflowError, ValueError, ValueProblem):
        return UNKNOWN


def _since(between: Callable[[Any, Any], int]) -> Callable[[Any, Any], Any]:
    """``days_since``/``months_since`` as the closures answer them: unknown for an unknown
    date, else the whole days or months from it to today."""
    def since(value: Any, today: Any) -> Any:
        return UNKNOWN if value is UNKNOWN else between(value, today)

    return since


class _NotTwoValued(Unsupported):
    """The condition reads a rule set's outcome, or computes (arithmetic, dates that may
    leave the calendar): it has no two-valued form. A criteria rule set, which needs one,
    then keeps the closures."""


def is_last_step_data(node: ast.expr) -> bool:
    """Whether ``node`` is ``history.last.data`` (an invariant's data of the step that led
    to the state)."""
    return (isinstance(node, ast.Attribute) and node.attr == "data"
            and isinstance(node.value, ast.Attribute) and node.value.attr == "last"
            and isinstance(node.value.value, ast.Name) and node.value.value.id == "history")


def _first(decide: Callable[[str], Any], rule_id: str) -> Any:
    """``rules.<rule_id>.first`` as the closures answer it: the best-placed candidate's id,
    unknown when no candidate is eligible (or the candidates are unknown)."""
    matched = decide(rule_id).matched
    return matched[0] if matched else UNKNOWN


def _length(items: Any) -> Any:
    """``len(x)``: unknown while ``x`` is."""
    return UNKNOWN if items is UNKNOWN else len(items)


#: classes of a decider (`zorgflow.program.Decider`) whose ``criterion(rule_set, value)``
#: answers ``value in rules.<rule_set>.matched`` (it registers itself: no import back)
ONE_CRITERION: set[type] = set()


def _in_rule(value: Any, decide: Callable[[str], Any], rule_id: str) -> Any:
    """``value in rules.<rule_id>.matched`` as the closures answer it: unknown when ``value``
    is (the rule set is not decided then), or when the criterion is undecided."""
    if value is UNKNOWN:
        return UNKNOWN
    if decide.__class__ in ONE_CRITERION:  # the engine's decider works that one out alone
        return decide.criterion(rule_id, value)  # type: ignore[attr-defined]
    decision = decide(rule_id)
    if value in decision.matched:
        return True
    return UNKNOWN if value in decision.undecided else False


def _check_plain(t: Any, list_ok: bool) -> None:
    """`Unsupported` unless a value of type ``t`` is one generated code reads as it is: a
    plain value, or (``list_ok``, the right side of ``in``) a list of plain values."""
    plain_list = (t.name == "list" and not t.fields and t.items is not None
                  and t.items.name in _PLAIN_TYPES)
    if t.name not in _PLAIN_TYPES and not (list_ok and plain_list):
        raise Unsupported(t.name)


class _Generator:
    """Translates checked expression trees; every node it returns is built here."""

    def __init__(self, scope: Scope, *, rules_ok: bool = False, dates_ok: bool = False,
                 clock_ok: bool = True) -> None:
        self.facts: Mapping[str, Fact] = scope.facts
        #: a ranking's candidate: its fields, the name it goes by, and the local variable
        #: holding each field read (``kandidaat.x``)
        self.item = scope.item
        self.item_name = scope.item_name
        self.item_locals: dict[str, str] = {}
        #: in a ranking's loop over candidates: ``sum()`` totals (they read facts only),
        #: worked out once before the loop, by the local variable that holds each
        self.hoisted: dict[str, ast.expr] | None = None
        #: fact name -> the local variable holding it, in order of first read
        self.locals: dict[str, str] = {}
        #: values that are not plain literals, by the global name the code uses for them
        self.namespace: dict[str, Any] = {}
        self.data = scope.data or {}
        #: data field -> the local variable holding it (guards)
        self.data_locals: dict[str, str] = {}
        #: whether dates, ``today()`` and ``days_since``/``months_since`` may be read (a
        #: condition's function has the time; a rule set's functions do not)
        self.dates_ok = dates_ok
        #: whether the clock may be read (``today()``, ``days_since``, ``months_since``)
        self.clock_ok = clock_ok
        #: whether ``history.last.data.x`` is the data of the step that led here (invariants)
        self.last_step = scope.last_step
        #: whether ``today()`` is read: the condition's function then has ``_today``
        self.reads_time = False
        #: whether rule-set outcomes may be read (a condition's function has ``_decide``)
        self.rules_ok = rules_ok and scope.rules is not None
        #: whether one is read: the condition is then generated in Kleene logic only
        self.reads_rules = False
        #: how many values worked out inside an expression have a local variable (``_b0``,
        #: ``_b1``, …: the operands of ``and``/``or``, computed sides of a comparison)
        self.operands = 0

    # -- operands -------------------------------------------------------------------------
    def fact_of(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name) and node.id not in ("true", "false"):
            return node.id
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "facts"):
            return node.attr
        return None

    def read(self, name: str, list_ok: bool = False, *, any_type: bool = False) -> _Value:
        """A fact read into a local; ``any_type`` for a value only asked whether it is known,
        or how long it is (a list of records, say)."""
        fact = self.facts.get(name)
        if fact is None:
            raise Unsupported(name)
        if any_type:
            var = self.locals.setdefault(name, f"v{len(self.locals)}")
            return _Value(_name(var), fact.default is None, name)
        t = fact.type
        is_date = t.name == "date" and self.dates_ok and fact.default is None
        if not is_date:
            _check_plain(t, list_ok)
        var = self.locals.setdefault(name, f"v{len(self.locals)}")
        return _Value(_name(var), fact.default is None, name, date=is_date)

    def rule_of(self, node: ast.expr, attribute: str) -> str | None:
        """X when ``node`` is ``rules.X.<attribute>`` and rule sets may be read here."""
        if not (isinstance(node, ast.Attribute) and node.attr == attribute
                and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "rules"):
            return None
        if not self.rules_ok:
            raise Unsupported(f"rules.{node.value.attr}.{attribute}")
        self.reads_rules = True
        return node.value.attr

    def read_item(self, name: str, list_ok: bool) -> _Value:
        """A field of the candidate a ranking's criterion looks at (unknown when absent)."""
        t = (self.item or {}).get(name)
        if t is None:
            raise Unsupported(name)
        _check_plain(t, list_ok)
        var = self.item_locals.setdefault(name, f"i{len(self.item_locals)}")
        return _Value(_name(var), True)

    def total(self, node: ast.Call) -> _Value:
        """``sum(list.field)`` over a list fact of records (unknown while any is)."""
        argument = node.args[0] if len(node.args) == 1 and not node.keywords else None
        if not isinstance(argument, ast.Attribute):
            raise Unsupported("sum")
        list_name = self.fact_of(argument.value)
        fact = self.facts.get(list_name) if list_name is not None else None
        if fact is None or fact.type.name != "list" or not fact.type.fields:
            raise Unsupported("sum")
        assert list_name is not None
        total = _call("_total", [self.read(list_name, any_type=True).code,
                                 _const(argument.attr)])
        if self.hoisted is None:
            return _Value(total, True)
        local = f"_t{len(self.hoisted)}"
        self.hoisted[local] = total
        return _Value(_name(local), True)

    def read_data(self, name: str) -> _Value:
        field = self.data.get(name)
        is_date = field is not None and field.type.name == "date" and self.dates_ok
        if field is None or (field.type.name not in _PLAIN_TYPES and not is_date):
            raise Unsupported(name)
        var = self.data_locals.setdefault(name, f"d{len(self.data_locals)}")
        return _Value(_name(var), True, date=is_date)

    def literal(self, value: Any) -> ast.expr:
        if value.__class__ in _SIMPLE:
            return _const(value)
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return _name(name)

    def value(self, node: ast.expr, *, list_ok: bool = False) -> _Value:
        fact = self.fact_of(node)
        if fact is not None:
            return self.read(fact, list_ok)
        rule_id = self.rule_of(node, "first")
        if rule_id is not None:  # a ranking's best-placed candidate (unknown: none)
            return _Value(_call("_first", [_name("_decide"), _const(rule_id)]), True)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "len" and len(node.args) == 1 and not node.keywords):
            fact = self.fact_of(node.args[0])
            if fact is None:
                raise Unsupported("len")
            listed = self.read(fact, any_type=True)
            return _Value(_call("_length", [listed.code]), listed.maybe_unknown)
        if isinstance(node, ast.Name):  # true / false
            return _Value(_const(node.id == "true"), False)
        if isinstance(node, ast.Attribute) and (
                (isinstance(node.value, ast.Name) and node.value.id == "data")
                or (self.last_step and is_last_step_data(node.value))):
            return self.read_data(node.attr)
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and self.item is not None and node.value.id == self.item_name):
            return self.read_item(node.attr, list_ok)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            left, right = self.value(node.left), self.value(node.right)
            if left.date or right.date:
                raise Unsupported("arithmetic on dates")
            # unknown also when the result leaves the numbers a rule can use
            return _Value(_call(_ARITHMETIC[type(node.op)], [left.code, right.code]), True)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "sum"):
            return self.total(node)
        if isinstance(node, ast.Constant) and node.value.__class__ in (*_SIMPLE, float):
            text = node.value if node.value.__class__ is str else None
            return _Value(self.literal(node.value), False, text=text)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and self.dates_ok:
            return self.time_call(node)
        if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
                and isinstance(node.operand, ast.Constant)
                and node.operand.value.__class__ in (int, float)):
            return _Value(self.literal(-node.operand.value), False)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            operand = self.value(node.operand)
            if operand.date:
                raise Unsupported("a negative date")
            return _Value(_call("_negated", [operand.code]), operand.maybe_unknown)
        if list_ok and isinstance(node, ast.List | ast.Tuple):
            items = []
            for element in node.elts:
                if not (isinstance(element, ast.Constant)
                        and element.value.__class__ in (*_SIMPLE, float)):
                    raise Unsupported("list")
                items.append(element.value)
            return _Value(self.literal(tuple(items)), False)
        raise Unsupported(type(node).__name__)

    def time_call(self, node: ast.Call) -> _Value:
        """``today()``, ``days_since(d)``/``months_since(d)`` of a date read or written, and
        ``add_days(d, n)``/``add_months(d, n)`` (unknown when the date would leave the
        calendar, so a condition using them has no two-valued form)."""
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if node.keywords or name not in ("today", "days_since", "months_since", "add_days",
                                         "add_months"):
            raise Unsupported(name)
        if name in ("add_days", "add_months"):
            if len(node.args) != 2:
                raise Unsupported(name)
            day = self.as_date(self.value(node.args[0]))
            count = self.value(node.args[1])
            return _Value(_call(f"_{name}", [day.code, count.code]), True, date=True)
        if not self.clock_ok:
            raise Unsupported(f"{name}() reads the clock")
        self.reads_time = True
        today = _call("_today", [])
        if name == "today":
            if node.args:
                raise Unsupported(name)
            return _Value(today, False, date=True)
        if len(node.args) != 1:
            raise Unsupported(name)
        day = self.as_date(self.value(node.args[0]))
        return _Value(_call(f"_{name}", [day.code, today]), day.maybe_unknown)

    def literal_dates(self, node: ast.expr) -> _Value:
        """A list of literal dates (``['2026-01-01', …]``) that a date is looked up in: the
        dates they name, as the condition compiler converted them."""
        elements = node.elts if isinstance(node, ast.List | ast.Tuple) else []
        texts = [e.value for e in elements
                 if isinstance(e, ast.Constant) and e.value.__class__ is str]
        if not elements or len(texts) != len(elements):
            raise Unsupported("a date in a list that is not of literal dates")
        return _Value(self.literal(tuple(date.fromisoformat(t) for t in texts)), False)

    def as_date(self, value: _Value) -> _Value:
        """``value`` as a date: a date read, or a literal date (``'2026-01-01'``), which the
        condition compiler checked and which is compared as the date it names."""
        if value.date:
            return value
        if value.text is not None:
            return _Value(self.literal(date.fromisoformat(value.text)), False, date=True)
        raise Unsupported("not a date")

    # -- conditions: two-valued (every fact read is known) and three-valued ---------------
    def plain(self, node: ast.expr) -> ast.expr:
        """The condition in two-valued Python, valid when no fact it reads is unknown;
        `_NotTwoValued` when it has no such form (it reads a rule set, or computes)."""
        if any((self.rules_ok and isinstance(n, ast.Name) and n.id == "rules")
               or (isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                   and n.func.id in ("add_days", "add_months", "sum"))
               or isinstance(n, ast.BinOp)
               for n in ast.walk(node)):
            raise _NotTwoValued
        return self._plain(node)

    def _plain(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ast.UnaryOp(op=ast.Not(), operand=self._plain(node.operand))
        if isinstance(node, ast.BoolOp):
            op: ast.boolop = ast.And() if isinstance(node.op, ast.And) else ast.Or()
            return ast.BoolOp(op=op, values=[self._plain(v) for v in node.values])
        if isinstance(node, ast.Compare):
            return _and([ast.Compare(left=a.code, ops=[op()], comparators=[b.code])
                         for a, op, b in self.pairs(node)])
        if self.is_known_call(node):
            self.known_argument(node)
            return _const(True)
        return self.value(node).code

    def kleene(self, node: ast.expr) -> ast.expr:
        """The condition in Kleene logic: true, false or `UNKNOWN` (``_U``)."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            fact = self.fact_of(node.operand)
            if fact is not None:
                v = self.read(fact)
                if not v.maybe_unknown:
                    return ast.UnaryOp(op=ast.Not(), operand=v.code)
                return ast.IfExp(test=_is(v.code, _name("_U")), body=_name("_U"),
                                 orelse=ast.UnaryOp(op=ast.Not(), operand=self.read(fact).code))
            return _call("_k_not", [self.kleene(node.operand)])
        if isinstance(node, ast.BoolOp):
            return self.kleene_bool_op(node)
        if (isinstance(node, ast.Compare) and len(node.ops) == 1
                and isinstance(node.ops[0], ast.In | ast.NotIn)):
            rule_id = self.rule_of(node.comparators[0], "matched")
            if rule_id is not None:
                member = _call("_in_rule", [self.value(node.left).code, _name("_decide"),
                                            _const(rule_id)])
                return member if isinstance(node.ops[0], ast.In) else _call("_k_not", [member])
        if isinstance(node, ast.Compare):
            checks: list[ast.expr] = []
            for a, op, b in self.pairs(node):
                # each side worked out once, the right one only when the left is known (as
                # the closures do): a computed side is kept in a local as it is tested
                codes: list[ast.expr] = []
                unknown: list[ast.expr] = []
                for side in (a, b):
                    code = side.code
                    if side.maybe_unknown and not isinstance(code, ast.Name | ast.Constant):
                        local = self.local()
                        unknown.append(_is(ast.NamedExpr(target=_store(local), value=code),
                                           _name("_U")))
                        code = _name(local)
                    elif side.maybe_unknown:
                        unknown.append(_is(code, _name("_U")))
                    codes.append(code)
                test: ast.expr = ast.Compare(left=codes[0], ops=[op()], comparators=[codes[1]])
                if unknown:
                    test = ast.IfExp(test=unknown[0] if len(unknown) == 1 else
                                     ast.BoolOp(op=ast.Or(), values=unknown),
                                     body=_name("_U"), orelse=test)
                checks.append(test)
            return checks[0] if len(checks) == 1 else self.short_circuit(checks, is_and=True)
        if self.is_known_call(node):
            return self.known_argument(node)
        rule_id = self.rule_of(node, "holds")
        if rule_id is not None:  # true, false or unknown, decided here
            return ast.Attribute(value=_call("_decide", [_const(rule_id)]), attr="holds",
                                 ctx=ast.Load())
        return self.value(node).code

    def kleene_bool_op(self, node: ast.BoolOp) -> ast.expr:
        """``and``/``or`` in Kleene logic, stopping where the closures stop: ``and`` at the
        first false operand, ``or`` at the first true one (so a rule set read further on is
        decided only when the closures would decide it). Otherwise ``and`` is true when all
        are, ``or`` false when all are, and the rest unknown. One expression::

            False if (_b0 := a) is False else False if (_b1 := b) is False
            else (True if _b0 is True and _b1 is True else _U)
        """
        return self.short_circuit([self.kleene(v) for v in node.values],
                                  is_and=isinstance(node.op, ast.And))

    def local(self) -> str:
        """A new local variable for a value worked out inside an expression."""
        self.operands += 1
        return f"_b{self.operands - 1}"

    def short_circuit(self, parts: list[ast.expr], *, is_and: bool) -> ast.expr:
        """Kleene ``and`` (``is_and``) or ``or`` of ``parts``, stopping as the closures do."""
        stop = _const(not is_and)
        names = [self.local() for _ in parts]
        if is_and:
            result: ast.expr = ast.IfExp(
                test=_and([_is(_name(n), _const(True)) for n in names]),
                body=_const(True), orelse=_name("_U"))
        else:
            result = ast.IfExp(
                test=ast.BoolOp(op=ast.Or(), values=[_is(_name(n), _const(False), negate=True)
                                                     for n in names]),
                body=_name("_U"), orelse=_const(False))
        for name, part in reversed(list(zip(names, parts, strict=True))):
            result = ast.IfExp(
                test=_is(ast.NamedExpr(target=_store(name), value=part), stop),
                body=stop, orelse=result)
        return result

    def is_known_call(self, node: ast.expr) -> bool:
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "known" and len(node.args) == 1 and not node.keywords)

    def known_argument(self, node: ast.expr) -> ast.expr:
        """``known(x)`` in Kleene logic (its argument is read either way)."""
        assert isinstance(node, ast.Call)
        argument = node.args[0]
        fact = self.fact_of(argument)
        if (isinstance(argument, ast.UnaryOp | ast.BoolOp | ast.Compare)
                or self.is_known_call(argument) or self.rule_of(argument, "holds")):
            inner = self.kleene(argument)
        elif fact is not None:
            inner = self.read(fact, any_type=True).code
        else:
            inner = self.value(argument).code
        return _is(inner, _name("_U"), negate=True)

    def pairs(self, node: ast.Compare) -> list[tuple[_Value, Callable[[], ast.cmpop], _Value]]:
        operands = [node.left, *node.comparators]
        result = []
        for i, op in enumerate(node.ops):
            make = _OPS.get(type(op))
            if make is None:
                raise Unsupported(type(op).__name__)
            membership = isinstance(op, ast.In | ast.NotIn)
            a = self.value(operands[i])
            if membership and a.date:
                b = self.literal_dates(operands[i + 1])
            else:
                b = self.value(operands[i + 1], list_ok=membership)
            if (a.date or b.date) and not membership:
                a, b = self.as_date(a), self.as_date(b)
            result.append((a, make, b))
        return result


class CriteriaCode:
    """The generated functions of one ``criteria`` rule set (see the module's docstring)."""

    def __init__(self, rule_set_id: str, criteria: Sequence[tuple[str, str, list[Expr]]],
                 scope: Scope, explain: Callable[[Mapping[str, Any], Any], list[str]],
                 decision: type[Decision], owner: Any = None) -> None:
        #: `Decision` (passed in: this module is imported by `zorgflow.rules.expr`)
        self._decision = decision
        #: an object whose ``given`` attribute is replaced too once `given` is built
        self.owner = owner
        # dates may be compared, but a rule set's functions take no time: no today()
        gen = _Generator(scope, dates_ok=True, clock_ok=False)
        blocks: list[ast.stmt] = []
        plain_blocks: list[ast.stmt] = []
        for cid, mode, exprs in criteria:
            general, all_known = self._criterion(gen, cid, mode, exprs)
            blocks.extend(general)
            plain_blocks.extend(all_known)
        self._plain_blocks = plain_blocks
        self.id = rule_set_id
        self.names = tuple(gen.locals)
        self._gen = gen
        self._blocks = blocks
        self._explain_env = explain
        self.evaluate: Callable[[Mapping[str, Any]], tuple[list[str], list[str]]] = \
            self._build("evaluate", self._evaluate_body())
        #: built on first use by `Engine.decide`; None when the facts' types do not allow it
        self.given: Callable[[Mapping[str, Any], Any, Any], Decision | None] = self._first_given

    # -- building -------------------------------------------------------------------------
    @staticmethod
    def _criterion(gen: _Generator, cid: str, mode: str, exprs: list[Expr]
                   ) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """The statements that add ``cid`` to ``matched`` (or ``undecided``), and those for
        when every fact the rule set reads is given (two-valued only; they share nodes)."""
        trees = []
        for expr in exprs:
            if expr.tree is None or expr.uses_time or expr.data_read or expr.rules_read \
                    or expr.item_read:
                raise Unsupported(expr.source)
            trees.append(expr.tree)
        if not trees:
            raise Unsupported(cid)
        joined: ast.boolop = ast.Or() if mode == "any" else ast.And()
        plain = ast.BoolOp(op=joined, values=[gen.plain(t) for t in trees]) \
            if len(trees) > 1 else gen.plain(trees[0])
        kleene = gen.kleene(trees[0]) if len(trees) == 1 else \
            _call("_k_or" if mode == "any" else "_k_and", [gen.kleene(t) for t in trees])
        read = dict.fromkeys(n for e in exprs for n in e.facts_read)
        unknowable = [gen.locals[n] for n in read
                      if n in gen.locals and gen.facts[n].default is None]
        add = ast.Expr(value=ast.Call(func=_name("_matched_append"), args=[_const(cid)],
                                      keywords=[]))
        undecided = ast.Expr(value=ast.Call(func=_name("_undecided_append"),
                                            args=[_const(cid)], keywords=[]))
        three_valued: list[ast.stmt] = [
            ast.Assign(targets=[_store("r")], value=kleene),
            ast.If(test=_is(_name("r"), _const(True)), body=[add], orelse=[
                ast.If(test=_is(_name("r"), _const(False), negate=True), body=[undecided],
                       orelse=[])]),
        ]
        two_valued: list[ast.stmt] = [ast.If(test=plain, body=[add], orelse=[])]
        if not unknowable:
            return two_valued, two_valued
        known = _and([_is(_name(v), _name("_U"), negate=True) for v in unknowable])
        return [ast.If(test=known, body=two_valued, orelse=three_valued)], two_valued

    def _reads(self) -> list[ast.stmt]:
        """``vN = facts.get(name, default)`` for each fact read."""
        return _fact_reads(self._gen, _name("facts"))

    def _lists(self) -> list[ast.stmt]:
        return [
            ast.Assign(targets=[_store("matched")], value=ast.List(elts=[], ctx=ast.Load())),
            ast.Assign(targets=[_store("undecided")], value=ast.List(elts=[], ctx=ast.Load())),
            ast.Assign(targets=[_store("_matched_append")],
                       value=ast.Attribute(value=_name("matched"), attr="append",
                                           ctx=ast.Load())),
            ast.Assign(targets=[_store("_undecided_append")],
                       value=ast.Attribute(value=_name("undecided"), attr="append",
                                           ctx=ast.Load())),
        ]

    def _evaluate_body(self) -> list[ast.stmt]:
        return [*self._reads(), *self._lists(), *self._blocks,
                ast.Return(value=ast.Tuple(elts=[_name("matched"), _name("undecided")],
                                           ctx=ast.Load()))]

    def _build(self, name: str, body: list[ast.stmt], params: tuple[str, ...] = ("facts",)
               ) -> Any:
        namespace = {**_NAMESPACE, "len": len, "tuple": tuple, "KeyError": KeyError,
                     "_Decision": self._decision, "_explain": self._explain_given,
                     "_id": self.id, **self._gen.namespace}
        return _function(name, params, body, f"<zorgflow rule set {self.id}>", namespace)

    def _given_body(self, classes: Mapping[str, type], enums: Mapping[str, frozenset[Any]]
                    ) -> list[ast.stmt]:
        """Read the given facts, each checked for the exact class its fact holds (an enum's
        value also for being one of its values), and count them: any other value, or a given
        fact that this rule set does not read, returns None (the general path types them)."""
        gen = self._gen
        body: list[ast.stmt] = [ast.Assign(targets=[_store("_get")],
                                           value=ast.Attribute(value=_name("facts"), attr="get",
                                                               ctx=ast.Load())),
                                ast.Assign(targets=[_store("_n")], value=_const(0))]
        fail = ast.Return(value=_const(None))
        count = ast.AugAssign(target=_store("_n"), op=ast.Add(), value=_const(1))
        raw: list[ast.expr] = []
        for name, var in gen.locals.items():
            cls = classes.get(name)
            default = gen.facts[name].default
            raw_var = var if default is None else f"g{var}"
            raw.append(_name(raw_var))
            body.append(ast.Assign(targets=[_store(raw_var)],
                                   value=_call("_get", [_const(name), _name("_U")])))
            if cls is bool and name not in enums:
                body.append(ast.If(
                    test=ast.BoolOp(op=ast.Or(), values=[_is(_name(raw_var), _const(True)),
                                                         _is(_name(raw_var), _const(False))]),
                    body=[count],
                    orelse=[ast.If(test=_is(_name(raw_var), _name("_U"), negate=True),
                                   body=[fail], orelse=[])]))
            else:
                wrong: ast.expr = _const(True) if cls is None else _is(
                    ast.Attribute(value=_name(raw_var), attr="__class__", ctx=ast.Load()),
                    gen.literal(cls), negate=True)
                if cls is not None and name in enums:
                    wrong = ast.BoolOp(op=ast.Or(), values=[wrong, ast.Compare(
                        left=_name(raw_var), ops=[ast.NotIn()],
                        comparators=[gen.literal(enums[name])])])
                body.append(ast.If(test=_is(_name(raw_var), _name("_U"), negate=True),
                                   body=[ast.If(test=wrong, body=[fail], orelse=[]), count],
                                   orelse=[]))
            if default is not None:
                body.append(ast.Assign(targets=[_store(var)], value=ast.IfExp(
                    test=_is(_name(raw_var), _name("_U")), body=gen.literal(default),
                    orelse=_name(raw_var))))
        body.append(ast.If(test=ast.Compare(left=_name("_n"), ops=[ast.NotEq()],
                                            comparators=[_call("len", [_name("facts")])]),
                           body=[fail], orelse=[]))
        holds = ast.IfExp(test=_name("matched"), body=_const(True),
                          orelse=ast.IfExp(test=_name("undecided"), body=_name("_U"),
                                           orelse=_const(False)))
        decision = _call("_Decision", [
            _name("_id"), _name("matched"), _name("matched"), holds, _name("_explain"),
            ast.Tuple(elts=[ast.Tuple(elts=raw, ctx=ast.Load()), _name("at")], ctx=ast.Load()),
            _call("tuple", [_name("undecided")])])
        return [*self._all_given(classes, enums), *body, *self._lists(), *self._blocks,
                ast.Return(value=decision)]

    def _all_given(self, classes: Mapping[str, type], enums: Mapping[str, frozenset[Any]]
                   ) -> list[ast.stmt]:
        """The path for facts that give exactly the facts this rule set reads, each in its
        exact class: one C call reads them all, and every criterion is plain two-valued
        Python. Empty when a fact read has no exact class (it always needs typing)."""
        gen = self._gen
        names = list(gen.locals)
        if not names or any(classes.get(n) is None for n in names):
            return []
        fail = ast.Return(value=_const(None))
        self._gen.namespace["_items"] = operator.itemgetter(*names)
        got: ast.expr = _call("_items", [_name("facts")])
        if len(names) == 1:
            got = ast.Tuple(elts=[got], ctx=ast.Load())
        wrongs: list[ast.expr] = []
        for name, var in gen.locals.items():
            cls = classes[name]
            if cls is bool and name not in enums:
                wrongs.append(ast.BoolOp(op=ast.And(), values=[
                    _is(_name(var), _const(True), negate=True),
                    _is(_name(var), _const(False), negate=True)]))
                continue
            wrongs.append(_is(ast.Attribute(value=_name(var), attr="__class__",
                                            ctx=ast.Load()), gen.literal(cls), negate=True))
            if name in enums:
                wrongs.append(ast.Compare(left=_name(var), ops=[ast.NotIn()],
                                          comparators=[gen.literal(enums[name])]))
        holds = ast.IfExp(test=_name("matched"), body=_const(True), orelse=_const(False))
        decision = _call("_Decision", [
            _name("_id"), _name("matched"), _name("matched"), holds, _name("_explain"),
            ast.Tuple(elts=[_name("_vals"), _name("at")], ctx=ast.Load()),
            ast.Tuple(elts=[], ctx=ast.Load())])
        body: list[ast.stmt] = [
            ast.Try(body=[ast.Assign(targets=[_store("_vals")], value=got)],
                    handlers=[ast.ExceptHandler(type=_name("KeyError"), name=None,
                                                body=[fail])],
                    orelse=[], finalbody=[]),
            ast.Assign(targets=[ast.Tuple(elts=[_store(v) for v in gen.locals.values()],
                                          ctx=ast.Store())], value=_name("_vals")),
            ast.If(test=ast.BoolOp(op=ast.Or(), values=wrongs) if len(wrongs) > 1
                   else wrongs[0], body=[fail], orelse=[]),
            ast.Assign(targets=[_store("matched")], value=ast.List(elts=[], ctx=ast.Load())),
            ast.Assign(targets=[_store("_matched_append")],
                       value=ast.Attribute(value=_name("matched"), attr="append",
                                           ctx=ast.Load())),
            *self._plain_blocks,
            ast.Return(value=decision)]
        return [ast.If(test=ast.Compare(left=_call("len", [_name("facts")]), ops=[ast.Eq()],
                                        comparators=[_const(len(names))]),
                       body=body, orelse=[])]

    def _first_given(self, facts: Mapping[str, Any], at: Any, program: Any
                     ) -> Decision | None:
        """Build `given` for ``program``'s fact classes (first call only), then answer."""
        body = self._given_body(program.fact_classes, program.fact_enums)
        given = self._build("given", body, ("facts", "at", "program"))
        self.given = given
        if self.owner is not None:
            self.owner.given = given
        result: Decision | None = given(facts, at, program)
        return result

    def _explain_given(self, env: tuple[tuple[Any, ...], Any]) -> list[str]:
        """The explanation of a decision `given` made: the reference closures' own, on the
        same facts (every given fact is one this rule set reads) and time."""
        raw, at = env
        facts = {name: value for name, value in zip(self.names, raw, strict=True)
                 if value is not UNKNOWN}
        return self._explain_env(facts, at)


def criteria_code(rule_set_id: str, criteria: Sequence[tuple[str, str, list[Expr]]],
                  scope: Scope, explain: Callable[[Mapping[str, Any], Any], list[str]],
                  decision: type[Decision], owner: Any = None) -> CriteriaCode | None:
    """The generated functions of a criteria rule set, or None when code generation is off
    (``ZORGFLOW_NO_CODEGEN=1``) or a clause uses what the generator does not translate."""
    if not enabled():
        return None
    try:
        return CriteriaCode(rule_set_id, criteria, scope, explain, decision, owner)
    except (Unsupported, RecursionError):
        return None


#: cells a table may have in all for its rows to be generated (compiling a larger one would
#: cost more at load than the closures cost when it is read)
MAX_TABLE_CELLS = 50_000
_CELL_OPS: dict[str, Callable[[], ast.cmpop]] = {
    "eq": ast.Eq, "ne": ast.NotEq, "lt": ast.Lt, "le": ast.LtE, "gt": ast.Gt, "ge": ast.GtE,
    "in": ast.In,
}


def _cell_test(gen: _Generator, value: ast.expr, op: str, values: Sequence[Any]) -> ast.expr:
    """One cell's test of an input's value, as `zorgflow.rules.rulesets.cell_test` makes it:
    an unknown value matches only ``absent`` (``any`` cells are left out of the rows)."""
    if op == "absent":
        return _is(value, _name("_U"))
    known = _is(value, _name("_U"), negate=True)
    if op == "range":
        lo, hi = values
        test: ast.expr = ast.Compare(left=gen.literal(lo), ops=[ast.LtE(), ast.LtE()],
                                     comparators=[value, gen.literal(hi)])
    elif op == "in":
        test = ast.Compare(left=value, ops=[ast.In()],
                           comparators=[gen.literal(frozenset(values))])
    elif op in _CELL_OPS:
        (x,) = values
        test = ast.Compare(left=value, ops=[_CELL_OPS[op]()], comparators=[gen.literal(x)])
    else:
        raise Unsupported(op)
    return ast.BoolOp(op=ast.And(), values=[known, test])


def table_code(table_id: str, inputs: int,
               rows: Sequence[Sequence[tuple[int, str, Sequence[Any]]]], scope: Scope
               ) -> Callable[[Sequence[Any]], list[bool]] | None:
    """A generated ``rows(values)``: for the inputs' ``values`` (one per input, in order), a
    list with whether each row matches; a row is its cells as (input index, op, values), the
    ``any`` cells left out. None when code generation is off or the table is very large."""
    if not enabled() or sum(len(cells) for cells in rows) > MAX_TABLE_CELLS:
        return None
    gen = _Generator(scope)
    try:
        names = [f"v{n}" for n in range(inputs)]
        body: list[ast.stmt] = []
        if names:
            body.append(ast.Assign(
                targets=[ast.Tuple(elts=[_store(n) for n in names], ctx=ast.Store())]
                if len(names) > 1 else [_store(names[0])],
                value=_name("values") if len(names) > 1 else ast.Subscript(
                    value=_name("values"), slice=_const(0), ctx=ast.Load())))
        matches: list[ast.expr] = []
        for cells in rows:
            tests = [_cell_test(gen, _name(names[index]), op, values)
                     for index, op, values in cells]
            matches.append(_const(True) if not tests else
                           tests[0] if len(tests) == 1 else
                           ast.BoolOp(op=ast.And(), values=tests))
        body.append(ast.Return(value=ast.List(elts=matches, ctx=ast.Load())))
        generated: Callable[[Sequence[Any]], list[bool]] = _function(
            "rows", ("values",), body, f"<zorgflow table {table_id}>",
            {"_U": UNKNOWN, **gen.namespace})
    except (Unsupported, RecursionError):
        return None
    return generated


def ranking_code(rule_set_id: str,
                 criteria: Sequence[tuple[str, float, bool, Expr, bool]], scope: Scope
                 ) -> Callable[[Any, Sequence[Mapping[str, Any]]], list[Scored]] | None:
    """A generated ``score(env, candidates)``: for each candidate, whether it is eligible
    and its points by criterion, as `zorgflow.rules.rulesets.CompiledRanking` scores them
    with the closures (a ``when:`` criterion gives its weight when true, else 0, and a
    required one that is not true makes the candidate ineligible; a ``points:`` criterion
    gives its value times its weight, 0 when unknown: `weighted`). None when code generation
    is off or a criterion uses what the generator does not translate."""
    if not enabled():
        return None
    gen = _Generator(scope, dates_ok=True)
    gen.hoisted = {}
    try:
        loop: list[ast.stmt] = [ast.Assign(targets=[_store("_ok")], value=_const(True))]
        points: list[ast.expr] = []
        for n, (_, weight, required, expr, is_when) in enumerate(criteria):
            if expr.tree is None:
                raise Unsupported(expr.source)
            value = gen.kleene(expr.tree) if is_when else gen.value(expr.tree).code
            loop.append(ast.Assign(targets=[_store("_r")], value=value))
            if is_when:
                true = _is(_name("_r"), _const(True))
                score: ast.expr = ast.IfExp(test=true, body=gen.literal(weight),
                                            orelse=_const(0))
                if required:
                    loop.append(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=true),
                                       body=[ast.Assign(targets=[_store("_ok")],
                                                        value=_const(False))], orelse=[]))
            else:
                score = _call("_weighted", [_name("_r"), gen.literal(weight)])
            loop.append(ast.Assign(targets=[_store(f"_p{n}")], value=score))
            points.append(_name(f"_p{n}"))
        reads = _local_reads("_item", _name("_c"), gen.item_locals)
        scored = ast.Tuple(elts=[_name("_ok"), ast.Dict(
            keys=[_const(cid) for cid, *_ in criteria], values=points)], ctx=ast.Load())
        loop.append(ast.Expr(value=_call("_append", [scored])))
        body = _prologue(gen, candidate=False)  # each candidate is read in the loop
        if gen.hoisted:  # only when there is a candidate, whose scoring would need them
            body.append(ast.If(test=_name("candidates"), body=[
                ast.Assign(targets=[_store(local)], value=total)
                for local, total in gen.hoisted.items()], orelse=[]))
        body += [
            ast.Assign(targets=[_store("_result")], value=ast.List(elts=[], ctx=ast.Load())),
            ast.Assign(targets=[_store("_append")], value=ast.Attribute(
                value=_name("_result"), attr="append", ctx=ast.Load())),
            ast.For(target=_store("_c"), iter=_name("candidates"), body=[*reads, *loop],
                    orelse=[]),
            ast.Return(value=_name("_result"))]
        generated: Callable[[Any, Sequence[Mapping[str, Any]]], list[Scored]] = _function(
            "score", ("env", "candidates"), body, f"<zorgflow ranking {rule_set_id}>",
            {**_NAMESPACE, **gen.namespace})
    except (Unsupported, RecursionError):
        return None
    return generated


_DAYS_SINCE = _since(days_between)
_MONTHS_SINCE = _since(months_between)
_ADD_DAYS = functools.partial(date_plus, months=False)
_ADD_MONTHS = functools.partial(date_plus, months=True)
#: what generated conditions and values may call
_NAMESPACE: dict[str, Any] = {
    "_U": UNKNOWN, "_k_and": k_and, "_k_or": k_or, "_k_not": k_not, "_in_rule": _in_rule,
    "_days_since": _DAYS_SINCE, "_months_since": _MONTHS_SINCE, "_add_days": _ADD_DAYS,
    "_add_months": _ADD_MONTHS, "_plus": plus, "_minus": minus, "_times": times,
    "_divided": divided, "_negated": negated, "_total": field_total, "_first": _first,
    "_weighted": weighted, "_length": _length}


def condition_code(tree: ast.expr, scope: Scope) -> Callable[[Any], Any] | None:
    """A generated function ``fn(env)`` for a true/false condition (a guard, or a ranking's
    ``when:``) that reads only facts, event data, a candidate's fields, literals and rule-set
    outcomes, or None (code generation off, or something else used: the closures answer).
    Two-valued when every value it reads is known and it neither reads a rule set nor
    computes."""
    return _env_function(tree, scope, condition=True)


def value_code(tree: ast.expr, scope: Scope) -> Callable[[Any], Any] | None:
    """A generated function ``fn(env)`` for an expression that computes a value (arithmetic,
    ``sum()``, such as a ranking's ``points:``), or None: code generation off, something the
    generator does not translate, or a plain read or literal (its closure is as fast)."""
    if not isinstance(tree, ast.BinOp | ast.UnaryOp | ast.Call):
        return None
    return _env_function(tree, scope, condition=False)


def _env_function(tree: ast.expr, scope: Scope, *, condition: bool
                  ) -> Callable[[Any], Any] | None:
    if not enabled():
        return None
    gen = _Generator(scope, rules_ok=condition, dates_ok=True)
    try:
        plain: ast.expr | None = None
        if condition:
            try:
                plain = gen.plain(tree)
            except _NotTwoValued:
                plain = None
            result = gen.kleene(tree)
        else:
            result = gen.value(tree).code
        body = _prologue(gen)
        unknowable = [var for name, var in gen.locals.items()
                      if gen.facts[name].default is None] + list(gen.data_locals.values()) \
            + list(gen.item_locals.values())
        if plain is None:
            body.append(ast.Return(value=result))
        elif unknowable:
            known = _and([_is(_name(v), _name("_U"), negate=True) for v in unknowable])
            body.append(ast.If(test=known, body=[ast.Return(value=plain)], orelse=[]))
            body.append(ast.Return(value=result))
        else:
            body.append(ast.Return(value=plain))
        namespace = {**_NAMESPACE, **gen.namespace}
        name = "condition" if condition else "value"
        generated: Callable[[Any], Any] = _function(name, ("env",), body,
                                                     f"<zorgflow {name}>", namespace)
    except (Unsupported, RecursionError):
        return None
    return generated


def _local_reads(getter: str, source: ast.expr, reads: Mapping[str, str],
                 fallback: Callable[[str], ast.expr] | None = None) -> list[ast.stmt]:
    """``getter = source.get``, then ``var = getter(name, fallback)`` for each name read into
    a local (the fallback: unknown, unless ``fallback`` gives another for the name)."""
    if not reads:
        return []
    body: list[ast.stmt] = [ast.Assign(targets=[_store(getter)], value=ast.Attribute(
        value=source, attr="get", ctx=ast.Load()))]
    for name, var in reads.items():
        default = _name("_U") if fallback is None else fallback(name)
        body.append(ast.Assign(targets=[_store(var)],
                               value=_call(getter, [_const(name), default])))
    return body


def _fact_reads(gen: _Generator, facts: ast.expr) -> list[ast.stmt]:
    """The facts read, each into its local, a fact's default standing in for it unknown."""
    def fallback(name: str) -> ast.expr:
        default = gen.facts[name].default
        return _name("_U") if default is None else gen.literal(default)

    return _local_reads("_get", facts, gen.locals, fallback)


def _prologue(gen: _Generator, *, candidate: bool = True) -> list[ast.stmt]:
    """Read into locals what the expression reads: facts (with their defaults), event data,
    the candidate's fields (``env.item``; not with ``candidate=False``), and the rule-set
    decider and clock when it uses them."""
    def of_env(owner: str) -> ast.expr:
        return ast.Attribute(value=_name("env"), attr=owner, ctx=ast.Load())

    body = _fact_reads(gen, of_env("facts"))
    body += _local_reads("_data", of_env("data"), gen.data_locals)
    if candidate:
        body += _local_reads("_item", of_env("item"), gen.item_locals)
    if gen.reads_rules:
        body.append(ast.Assign(targets=[_store("_decide")], value=ast.Attribute(
            value=_name("env"), attr="decide", ctx=ast.Load())))
    if gen.reads_time:
        body.append(ast.Assign(targets=[_store("_today")], value=ast.Attribute(
            value=_name("env"), attr="today", ctx=ast.Load())))
    return body
