"""The condition language: Python-like expressions compiled to closures, never evaluated.

The source is parsed with :mod:`ast` and every node is checked against a whitelist; the tree
is then turned, once, into nested Python closures. Names are type-checked against the declared
facts, data fields and rule sets, so that comparing a boolean fact with text is a load error,
not a guard that silently never passes.
"""

from __future__ import annotations

import ast
import difflib
import io
import tokenize
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from datetime import date, datetime
from typing import Any, Protocol

from .._frozen import Frozen, record
from ..errors import ExprError
from ..model import DataField, Fact, FactType, RuleSet, TableRuleSet
from ..model.calendar import days_between, local_date, months_between
from .arithmetic import OPERATIONS, field_total, negated
from .codegen import condition_code, date_plus, is_last_step_data, value_code
from .logic import UNKNOWN, k_not

MAX_SOURCE = 2_000
_MEMO_LIMIT = 512
MAX_DEPTH = 40

BOOL = FactType("boolean")
INT = FactType("integer")
NUM = FactType("number")
STR = FactType("string")
DATE = FactType("date")

_EMPTY: Mapping[str, Any] = {}
Fn = Callable[["Env"], Any]


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name``, if one is close enough to suggest."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def suggest(name: str, known: Iterable[str]) -> str:
    """`` — did you mean 'x'?`` or an empty string."""
    close = closest(name, known)
    return f" — did you mean '{close}'?" if close else ""


@record
class Scope(Frozen):
    """What names an expression may use where it stands."""

    facts: Mapping[str, Fact]
    data: Mapping[str, DataField] | None = None
    item: Mapping[str, FactType] | None = None
    item_name: str = "kandidaat"
    rules: Mapping[str, RuleSet] | None = None
    #: in an invariant, ``history.last.data.x`` is the data of the step that led here
    last_step: bool = False


class Env:
    """What an expression is evaluated against. Cheap to build; ``today`` is cached."""

    # (`zorgflow.engine.step.quick_fire` makes one without a call, setting each slot right
    # after: a slot added here is set there too, as a test checks)
    __slots__ = ("_today", "at", "data", "decide", "facts", "item")

    def __init__(
        self,
        facts: Mapping[str, Any],
        at: datetime,
        data: Mapping[str, Any] = _EMPTY,
        decide: Callable[[str], Any] | None = None,
        item: Mapping[str, Any] | None = None,
    ) -> None:
        self.facts = facts
        self.at = at
        self.data = data
        self.decide = decide
        self.item = item
        self._today: date | None = None

    def today(self) -> date:
        """The date of ``at`` in Europe/Amsterdam."""
        if self._today is None:
            self._today = local_date(self.at)
        return self._today

    def with_item(self, item: Mapping[str, Any]) -> Env:
        """The same environment, looking at one candidate."""
        env = Env(self.facts, self.at, self.data, self.decide, item)
        env._today = self._today
        return env


@record
class Expr(Frozen):
    """A compiled expression. Call it with an `Env`."""

    source: str
    fn: Fn
    type: FactType | None
    facts_read: tuple[str, ...] = ()
    data_read: tuple[str, ...] = ()
    item_read: tuple[str, ...] = ()
    rules_read: tuple[str, ...] = ()
    personal: frozenset[str] = field(default_factory=frozenset)
    #: (fact, "fact = ", personal?) for each fact read, prepared for explanations
    plan: tuple[tuple[str, str, bool], ...] = ()
    #: true when the value depends on the facts read only (no data, time or rule sets)
    pure: bool = False
    #: event data fields read that are personal data (masked in explanations)
    personal_data_read: frozenset[str] = field(default_factory=frozenset)
    #: (call, its function, reads personal data?) for each ``today()``, ``days_since(x)`` and
    #: ``months_since(x)``: explanations show what they came to
    computed: tuple[tuple[str, Fn, bool], ...] = ()
    #: whether the value depends on the time (``today()``, ``days_since``, ``months_since``)
    uses_time: bool = False
    #: the checked syntax tree, for `zorgflow.rules.codegen` (never run as it stands)
    tree: ast.expr | None = field(default=None, compare=False, repr=False)
    #: the closure interpreter's function when ``fn`` is generated code (the reference)
    closure: Fn | None = field(default=None, compare=False, repr=False)
    _lines: dict[Any, tuple[Any, str]] = field(default_factory=dict, compare=False, repr=False)

    def __call__(self, env: Env) -> Any:
        return self.fn(env)

    @property
    def reference(self) -> Fn:
        """The closure interpreter's function (``fn`` may be generated code that meets it)."""
        return self.closure if self.closure is not None else self.fn

    def explain_line(self, env: Env, indent: str = "    ") -> tuple[Any, str]:
        """The value and the explanation line ``true: source  (fact = value)``.

        Lines of pure expressions are memoised on the values read (bounded), since the same
        few combinations of true/false/unknown come back again and again.
        """
        key: Any = None
        if self.pure:
            facts = env.facts
            key = (indent, *[facts.get(name, UNKNOWN) for name in self.facts_read])
            try:
                cached = self._lines.get(key)
            except TypeError:  # an unhashable value (a list): no memo
                key, cached = None, None
            if cached is not None:
                return cached
        value = self.reference(env)
        used = self.values_used(env)
        word = "true" if value is True else "false" if value is False else "unknown"
        line = f"{indent}{word}: {self.source}  ({used})" if used else \
            f"{indent}{word}: {self.source}"
        if key is not None and len(self._lines) < _MEMO_LIMIT:
            self._lines[key] = (value, line)
        return value, line

    def values_used(self, env: Env) -> str:
        """``kinderen_betrokken = false, ernstig_geweld = unknown`` (personal data masked)."""
        facts = env.facts
        parts = [prefix + shown(facts.get(name, UNKNOWN), personal)
                 for name, prefix, personal in self.plan]
        for call, fn, personal in self.computed:
            parts.append(f"{call} = " + (MASK if personal else show(fn(env))))
        if not self.data_read and not self.item_read:
            return ", ".join(parts)
        for name in self.data_read:
            value = shown(env.data.get(name, UNKNOWN), name in self.personal_data_read)
            parts.append(f"data.{name} = {value}")
        if env.item is not None:
            for name in self.item_read:
                parts.append(f"{name} = {show(env.item.get(name, UNKNOWN))}")
        return ", ".join(parts)


#: What explanations show instead of a value read from personal data.
MASK = "<persoonsgegeven>"


def shown(value: Any, personal: bool) -> str:
    """``value`` as explanations print it, or `MASK` when it is (or is read from) personal
    data: the one place that decides."""
    return MASK if personal else show(value)


def show(value: Any) -> str:
    """A value as explanations print it."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is UNKNOWN or value is None:
        return "unknown"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


_CMP = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in",
}
_FUNCTIONS = {"known": 1, "today": 0, "days_since": 1, "months_since": 1, "len": 1,
              "add_days": 2, "add_months": 2, "sum": 1}
_LITERAL_NAMES = {"true": True, "false": False}
_RULE_ATTRIBUTES = ("matched", "holds", "outcome", "first")
_NO_NONE = ("there is no 'none': a fact that is not set is unknown; test it with known(x) or "
            "not known(x)")
_NUMERIC = ("integer", "number")


def _is_num(t: FactType | None) -> bool:
    return t is not None and t.name in _NUMERIC


def _is_date(t: FactType | None) -> bool:
    return t is not None and t.name == "date"


class _Compiler:
    def __init__(self, source: str, scope: Scope) -> None:
        self.source = source
        self.scope = scope
        self.facts: dict[str, None] = {}
        self.data: dict[str, None] = {}
        self.item: dict[str, None] = {}
        self.rules: dict[str, None] = {}
        self.uses_time = False
        self.computed: dict[str, tuple[Fn, bool]] = {}

    def fail(self, node: ast.AST, message: str) -> ExprError:
        """An error at ``node``. ``ast`` counts columns in UTF-8 bytes; positions in the
        file count characters, so the offset is converted (``é`` is two bytes, one column)."""
        column = getattr(node, "col_offset", 0)
        text = " ".join(self.source.strip().splitlines())  # as `parse` read it
        if not text.isascii():
            column = len(text.encode("utf-8")[:column].decode("utf-8", "ignore"))
        return ExprError(message, column)

    # -- dispatch ------------------------------------------------------------------------
    def compile(self, node: ast.AST, depth: int = 0) -> tuple[Fn, FactType | None]:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"expression nested deeper than {MAX_DEPTH} levels")
        method = getattr(self, "c_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"{_describe(node)} is not allowed in a condition")
        result: tuple[Fn, FactType | None] = method(node, depth + 1)
        return result

    def c_Constant(self, node: ast.Constant, depth: int) -> tuple[Fn, FactType | None]:
        value = node.value
        if isinstance(value, bool):
            return _const(value), BOOL
        if isinstance(value, int):
            return _const(value), INT
        if isinstance(value, float):
            return _const(value), NUM
        if isinstance(value, str):
            return _const(value), STR
        if value is None:
            raise self.fail(node, _NO_NONE)
        raise self.fail(node, f"the literal {value!r} is not allowed")

    def c_List(self, node: ast.List | ast.Tuple, depth: int) -> tuple[Fn, FactType | None]:
        items: list[Any] = []
        item_type: FactType | None = None
        for element in node.elts:
            if not isinstance(element, ast.Constant) or isinstance(element.value, bytes):
                raise self.fail(element, "a list may only hold literal values")
            fn, t = self.compile(element, depth)
            items.append(fn(None))  # type: ignore[arg-type]
            item_type = t if item_type is None or item_type == t else STR
        frozen = tuple(items)
        return _const(frozen), FactType("list", items=item_type)

    c_Tuple = c_List

    def c_Name(self, node: ast.Name, depth: int) -> tuple[Fn, FactType | None]:
        if node.id in ("none", "null"):
            raise self.fail(node, _NO_NONE)
        if node.id in _LITERAL_NAMES:
            return _const(_LITERAL_NAMES[node.id]), BOOL
        if node.id in ("facts", "data", "rules", self.scope.item_name):
            raise self.fail(node, f"'{node.id}' needs a name after it, e.g. '{node.id}.x'")
        return self.fact(node, node.id)

    def fact(self, node: ast.AST, name: str) -> tuple[Fn, FactType | None]:
        fact = self.scope.facts.get(name)
        if fact is None:
            raise self.fail(node, f"unknown fact '{name}'{suggest(name, self.scope.facts)}")
        self.facts[name] = None
        default = UNKNOWN if fact.default is None else fact.default

        def get_fact(env: Env) -> Any:
            return env.facts.get(name, default)

        return get_fact, fact.type

    def c_Attribute(self, node: ast.Attribute, depth: int) -> tuple[Fn, FactType | None]:
        if node.attr.startswith("_"):
            raise self.fail(node, f"'{node.attr}': names starting with '_' are not allowed")
        base = node.value
        if isinstance(base, ast.Name):
            if base.id == "facts":
                return self.fact(node, node.attr)
            if base.id == "data":
                return self.data_field(node)
            if self.scope.item is not None and base.id == self.scope.item_name:
                return self.item_field(node)
        if (isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name)
                and base.value.id == "rules"):
            return self.rule_attribute(node, base.attr)
        if self.scope.last_step and is_last_step_data(base):
            return self.data_field(node)
        raise self.fail(node, f"'{ast.unparse(node)}' is not a name this condition can use "
                              "(use a fact, facts.x, data.x or rules.X.matched)")

    def data_field(self, node: ast.Attribute) -> tuple[Fn, FactType | None]:
        fields = self.scope.data
        name = node.attr
        if fields is None:
            raise self.fail(node, f"'data.{name}' is only available in a transition's guard")
        if name not in fields:
            raise self.fail(node, f"unknown data field '{name}'{suggest(name, fields)}"
                                  " (declare it under the transition's data:)")
        self.data[name] = None

        def get_data(env: Env) -> Any:
            return env.data.get(name, UNKNOWN)

        return get_data, fields[name].type

    def item_field(self, node: ast.Attribute) -> tuple[Fn, FactType | None]:
        fields = self.scope.item or {}
        name = node.attr
        if name not in fields:
            raise self.fail(node, f"unknown field '{self.scope.item_name}.{name}'"
                                  f"{suggest(name, fields)}")
        self.item[name] = None

        def get_item(env: Env) -> Any:
            assert env.item is not None
            return env.item.get(name, UNKNOWN)

        return get_item, fields[name]

    def rule_attribute(self, node: ast.Attribute, rule_id: str) -> tuple[Fn, FactType | None]:
        rules = self.scope.rules
        if rules is None:
            raise self.fail(node, "rule sets cannot be used here")
        if rule_id not in rules:
            raise self.fail(node, f"unknown rule set '{rule_id}'{suggest(rule_id, rules)}")
        rule_set = rules[rule_id]
        self.rules[rule_id] = None
        attr = node.attr
        if attr == "matched":
            ids = _rule_ids(rule_set)

            def matched(env: Env) -> Any:
                assert env.decide is not None
                decision = env.decide(rule_id)
                return Matched(decision.matched, decision.undecided)

            return matched, FactType("list", items=FactType("enum", values=ids))
        if attr == "holds":
            def holds(env: Env) -> Any:
                assert env.decide is not None
                return env.decide(rule_id).holds

            return holds, BOOL
        if attr == "outcome":
            def outcome(env: Env) -> Any:
                assert env.decide is not None
                decision = env.decide(rule_id)
                if rule_set.kind == "criteria":
                    return Matched(decision.matched, decision.undecided)
                return UNKNOWN if decision.outcome is None else decision.outcome

            if rule_set.kind == "criteria":  # the ids that hold, as .matched
                return outcome, FactType("list", items=FactType("enum", values=_rule_ids(
                    rule_set)))
            # a table's output row(s), a ranking's candidates: records of no declared type,
            # usable only where no type is needed (see `untyped`)
            return outcome, None
        if attr == "first":
            return self.first_candidate(node, rule_id, rule_set)
        raise self.fail(node, "rule sets offer .matched, .holds and .outcome (a ranking also "
                              f".first), not '.{attr}'{suggest(attr, _RULE_ATTRIBUTES)}")

    def first_candidate(self, node: ast.Attribute, rule_id: str, rule_set: RuleSet
                        ) -> tuple[Fn, FactType | None]:
        """``rules.X.first``: the id of the best-placed candidate of ranking X; unknown while
        the candidates are unknown or none is eligible."""
        if rule_set.kind != "ranking":
            raise self.fail(node, f"'.first' is the best-placed candidate of a ranking, and "
                                  f"'{rule_id}' is a {rule_set.kind}; use "
                                  f"rules.{rule_id}.matched")
        candidates = self.scope.facts.get(rule_set.candidates)
        id_type = candidates.type.fields.get(rule_set.candidate_id) if candidates else None

        def first(env: Env) -> Any:
            assert env.decide is not None
            matched = env.decide(rule_id).matched
            return matched[0] if matched else UNKNOWN

        personal = candidates is not None and candidates.personal_data
        self.computed.setdefault(ast.unparse(node), (first, personal))
        return first, id_type if id_type is not None and id_type.name == "string" else STR

    def c_UnaryOp(self, node: ast.UnaryOp, depth: int) -> tuple[Fn, FactType | None]:
        operand, t = self.compile(node.operand, depth)
        if isinstance(node.op, ast.Not):
            self.expect_bool(node.operand, t, "'not'")
            name = _plain_fact(node.operand, self.scope)
            if name is not None:
                def not_fact(env: Env) -> Any:
                    value = env.facts.get(name, UNKNOWN)
                    return UNKNOWN if value is UNKNOWN else not value

                return not_fact, BOOL

            def negate(env: Env) -> Any:
                return k_not(operand(env))

            return negate, BOOL
        if isinstance(node.op, ast.USub):
            if t is None:
                raise self.untyped(node, node.operand, "'-' needs a number")
            if not _is_num(t):
                raise self.fail(node, "'-' needs a number")

            def minus(env: Env) -> Any:
                return negated(operand(env))

            return minus, t
        raise self.fail(node, f"the operator in '{ast.unparse(node)}' is not allowed")

    def c_BoolOp(self, node: ast.BoolOp, depth: int) -> tuple[Fn, FactType | None]:
        parts = []
        for value in node.values:
            fn, t = self.compile(value, depth)
            self.expect_bool(value, t, "'and'/'or'")
            parts.append(fn)
        return (_and(parts) if isinstance(node.op, ast.And) else _or(parts)), BOOL

    def c_BinOp(self, node: ast.BinOp, depth: int) -> tuple[Fn, FactType | None]:
        symbol = _ARITHMETIC.get(type(node.op))
        if symbol is None:
            raise self.fail(node, "only '+', '-', '*' and '/' are allowed for arithmetic")
        left, lt = self.compile(node.left, depth)
        right, rt = self.compile(node.right, depth)
        for side, t in ((node.left, lt), (node.right, rt)):
            if t is None:
                raise self.untyped(node, side, f"`{ast.unparse(node)}`: '{symbol}' needs "
                                               "numbers")
        if not (_is_num(lt) and _is_num(rt)):
            raise self.fail(node, f"`{ast.unparse(node)}`: '{symbol}' needs numbers")
        both_int = lt is not None and rt is not None and lt.name == rt.name == "integer"
        operate = OPERATIONS[symbol]

        def arithmetic(env: Env) -> Any:
            return operate(left(env), right(env))

        return arithmetic, NUM if symbol == "/" or not both_int else INT

    def c_Compare(self, node: ast.Compare, depth: int) -> tuple[Fn, FactType | None]:
        operands = [node.left, *node.comparators]
        compiled = [self.compile(o, depth) for o in operands]
        checks: list[Fn] = []
        for i, op in enumerate(node.ops):
            symbol = _CMP.get(type(op))
            if symbol is None:
                raise self.fail(node, f"the comparison '{ast.unparse(node)}' is not allowed")
            (lf, lt), (rf, rt) = compiled[i], compiled[i + 1]
            lf, rf = self.check_compare(node, symbol, operands[i], lt, lf, operands[i + 1], rt, rf)
            checks.append(_comparison(symbol, lf, rf))
        return (checks[0] if len(checks) == 1 else _and(checks)), BOOL

    def c_Call(self, node: ast.Call, depth: int) -> tuple[Fn, FactType | None]:
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            name = ast.unparse(node.func)
            raise self.fail(node, f"calling '{name}' is not allowed; functions are: "
                                  + ", ".join(_FUNCTIONS) + suggest(name, _FUNCTIONS))
        name = node.func.id
        if name in ("today", "days_since", "months_since"):
            self.uses_time = True
        if node.keywords or len(node.args) != _FUNCTIONS[name]:
            raise self.fail(node, f"{name}() takes {_FUNCTIONS[name]} argument(s)")
        if name == "today":
            def today(env: Env) -> Any:
                return env.today()

            self.computed.setdefault("today()", (today, False))
            return today, DATE
        if name in ("add_days", "add_months"):
            return self.date_plus(node, name, depth)
        if name == "sum":
            return self.total(node, depth)
        argument = node.args[0]
        t: FactType | None
        if (name in ("days_since", "months_since") and isinstance(argument, ast.Constant)
                and isinstance(argument.value, str)):
            day = self.literal_for(node, DATE, argument.value, ast.unparse(node))
            arg, t = _const(day), DATE
            personal = False
        else:
            # what the argument reads, to know whether its result may be shown
            outer_facts, outer_data = self.facts, self.data
            self.facts, self.data = {}, {}
            try:
                arg, t = self.compile(argument, depth)
            finally:
                read_facts, read_data = self.facts, self.data
                self.facts = {**outer_facts, **read_facts}
                self.data = {**outer_data, **read_data}
            data = self.scope.data or {}
            personal = (any(self.scope.facts[n].personal_data for n in read_facts)
                        or any(n in data and data[n].personal_data for n in read_data))
        if name == "known":
            return (lambda env: arg(env) is not UNKNOWN), BOOL
        if t is None:
            raise self.untyped(node, argument, f"{name}() needs "
                                               + ("a list" if name == "len" else "a date"))
        if name == "len":
            if t.name != "list":
                raise self.fail(node, "len() needs a list")
            return (lambda env: UNKNOWN if (v := arg(env)) is UNKNOWN else len(v)), INT
        if not _is_date(t):
            raise self.fail(node, f"{name}() needs a date, and `{ast.unparse(node.args[0])}` is "
                                  f"{t.describe()}")
        between = days_between if name == "days_since" else months_between

        def since(env: Env) -> Any:
            value = arg(env)
            if value is UNKNOWN:
                return UNKNOWN
            return between(value, env.today())

        self.computed.setdefault(ast.unparse(node), (since, personal))
        return since, INT

    def total(self, node: ast.Call, depth: int) -> tuple[Fn, FactType | None]:
        """``sum(list.field)``: the total of a number field over the records of a list fact
        (``sum(kandidaten.voorkeur_overleg)``); unknown while the list, or the field of any
        record in it, is unknown; 0 for an empty list."""
        argument = node.args[0]
        hint = "sum() needs a number field of a list of records"
        example = " (e.g. `sum(kandidaten.voorkeur_overleg)`)"
        if not isinstance(argument, ast.Attribute):
            raise self.fail(node, hint + example)
        base = argument.value
        if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) \
                and base.value.id == "facts":
            list_name = base.attr
        elif isinstance(base, ast.Name) and base.id not in ("facts", "data", "rules"):
            list_name = base.id
        else:
            raise self.fail(node, hint + example)
        if list_name not in self.scope.facts:
            raise self.fail(base, f"unknown fact '{list_name}'"
                                  f"{suggest(list_name, self.scope.facts)}")
        list_fact = self.scope.facts[list_name]
        if list_fact.type.name != "list" or not list_fact.type.fields:
            raise self.fail(node, f"{hint}; '{list_name}' is {list_fact.type.describe()}")
        field_name = argument.attr
        field_type = list_fact.type.fields.get(field_name)
        if field_type is None:
            raise self.fail(argument, f"unknown field '{list_name}.{field_name}'"
                                      f"{suggest(field_name, list_fact.type.fields)}")
        if not _is_num(field_type):
            raise self.fail(node, f"{hint}; '{list_name}.{field_name}' is "
                                  f"{field_type.describe()}")
        self.facts[list_name] = None
        fact_default = list_fact.default

        def total(env: Env) -> Any:
            return field_total(env.facts.get(list_name, UNKNOWN if fact_default is None
                                             else fact_default), field_name)

        self.computed.setdefault(ast.unparse(node), (total, list_fact.personal_data))
        return total, field_type if field_type.name == "integer" else NUM

    def date_plus(self, node: ast.Call, name: str, depth: int) -> tuple[Fn, FactType | None]:
        """``add_days(d, n)`` / ``add_months(d, n)``: the date ``n`` days or calendar months
        after ``d`` (31 January + 1 month = 28/29 February); unknown when either is unknown,
        or when the date would fall outside the calendar."""
        day_node, count_node = node.args
        if isinstance(day_node, ast.Constant) and isinstance(day_node.value, str):
            day_fn: Fn = _const(self.literal_for(node, DATE, day_node.value, ast.unparse(node)))
            day_type: FactType | None = DATE
        else:
            day_fn, day_type = self.compile(day_node, depth)
        count_fn, count_type = self.compile(count_node, depth)
        if day_type is None or not _is_date(day_type):
            raise self.fail(node, f"{name}() needs a date first, and "
                                  f"`{ast.unparse(day_node)}` is "
                                  f"{day_type.describe() if day_type else 'of no known type'}")
        if count_type is None or count_type.name != "integer":
            raise self.fail(node, f"{name}() needs a whole number second, and "
                                  f"`{ast.unparse(count_node)}` is "
                                  f"{count_type.describe() if count_type else 'of no known type'}")
        months = name == "add_months"

        def plus(env: Env) -> Any:
            return date_plus(day_fn(env), count_fn(env), months)

        return plus, DATE

    # -- type checks ---------------------------------------------------------------------
    def expect_bool(self, node: ast.AST, t: FactType | None, where: str) -> None:
        if t is None:
            raise self.untyped(node, node, f"{where} needs true/false")
        if t.name != "boolean":
            raise self.fail(node, f"{where} needs true/false, but `{ast.unparse(node)}` is "
                                  f"{t.describe()}")

    def check_compare(
        self, node: ast.AST, symbol: str,
        lnode: ast.AST, lt: FactType | None, lf: Fn,
        rnode: ast.AST, rt: FactType | None, rf: Fn,
    ) -> tuple[Fn, Fn]:
        text = ast.unparse(node)
        if lt is None or rt is None:
            # a value of no known type is only compared (==, !=) with another such value
            if symbol in ("==", "!=") and lt is None and rt is None:
                return lf, rf
            side, other = (lnode, rt) if lt is None else (rnode, lt)
            if symbol in ("==", "!="):
                needs = f"two values of one kind (the other side is {_type_of(other)})"
            elif symbol in ("in", "not in"):
                needs = "a list on its right" if side is rnode else "a value of a known type"
            else:
                needs = "numbers or dates"
            raise self.untyped(node, side, f"`{text}`: '{symbol}' needs {needs}")
        if symbol in ("in", "not in"):
            if rt.name != "list":
                raise self.fail(node, f"`{text}`: the right side of '{symbol}' must be a list")
            item = rt.items
            if isinstance(lnode, ast.Constant) and item is not None:
                lf = _const(self.literal_for(node, item, lnode.value, text))
            elif isinstance(rnode, ast.List | ast.Tuple):
                values = rf(None)  # type: ignore[arg-type]
                converted = tuple(self.literal_for(node, lt, v, text) for v in values)
                rf = _const(converted)
            elif item is not None:
                self.compatible(node, lt, item, text)
            elif rt.fields:
                raise self.fail(node, f"`{text}`: {rt.describe()} holds records, not "
                                      f"{lt.describe()}")
            return lf, rf
        # a literal on one side is checked (and converted) against the other side's type
        if isinstance(rnode, ast.Constant):
            rf = _const(self.literal_for(node, lt, rnode.value, text))
            rt = lt
        elif isinstance(lnode, ast.Constant):
            lf = _const(self.literal_for(node, rt, lnode.value, text))
            lt = rt
        self.compatible(node, lt, rt, text)
        if symbol not in ("==", "!=") and not (
            (_is_num(lt) and _is_num(rt)) or (_is_date(lt) and _is_date(rt))
        ):
            raise self.fail(node, f"`{text}`: '{symbol}' compares numbers or dates only")
        return lf, rf

    def untyped(self, node: ast.AST, operand: ast.AST, needs: str) -> ExprError:
        """The load error for ``operand`` (within ``node``), whose type is not known when
        the workflow loads (a table's or a ranking's ``outcome``), used where ``needs`` says
        a type is needed: at run time it would never hold, or fail."""
        return self.fail(node, f"{needs}, but {_untyped_text(operand, self.scope)}")

    def compatible(self, node: ast.AST, a: FactType, b: FactType, text: str) -> None:
        if a.fields or b.fields:
            if a != b:
                raise self.fail(node, f"`{text}` compares {a.describe()} with {b.describe()}")
            return
        names = {a.name, b.name}
        if names <= {"integer", "number"} or names <= {"string", "enum"} or a.name == b.name:
            if a.name == b.name == "enum" and not set(a.values) & set(b.values):
                raise self.fail(node, f"`{text}`: the two sides have no value in common")
            return
        raise self.fail(node, f"`{text}` compares {a.describe()} with {b.describe()}")

    def literal_for(self, node: ast.AST, t: FactType, value: Any, text: str) -> Any:
        """Check a literal against a type; convert ISO text to a date for date types."""
        kind = t.name
        if kind == "enum":
            if not isinstance(value, str) or value not in t.values:
                raise self.fail(node, f"`{text}`: {value!r} is not one of {', '.join(t.values)}"
                                      + (suggest(value, t.values) if isinstance(value, str)
                                         else ""))
            return value
        if kind == "boolean" and not isinstance(value, bool):
            raise self.fail(node, f"`{text}` compares true/false with {value!r}; "
                                  "use the fact alone or 'not fact'")
        if kind in _NUMERIC and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise self.fail(node, f"`{text}` compares a number with {value!r}")
        if kind == "string" and not isinstance(value, str):
            raise self.fail(node, f"`{text}` compares text with {value!r}")
        if kind == "date":
            try:
                if not isinstance(value, str):
                    raise ValueError(value)
                return date.fromisoformat(value)
            except ValueError:
                raise self.fail(node, f"`{text}`: {value!r} is not a date (YYYY-MM-DD)") from None
        if kind == "list":
            if t.items is not None and not t.fields:
                return self.literal_for(node, t.items, value, text)
            raise self.fail(node, f"`{text}` compares {t.describe()} with {value!r}")
        return value


def _plain_fact(node: ast.AST, scope: Scope) -> str | None:
    """The fact name when ``node`` is a bare fact (or facts.x) without a default."""
    if isinstance(node, ast.Name):
        name = node.id
    elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
          and node.value.id == "facts"):
        name = node.attr
    else:
        return None
    fact = scope.facts.get(name)
    return name if fact is not None and fact.default is None else None


def _type_of(t: FactType | None) -> str:
    return t.describe() if t is not None else "of no known type"


def _untyped_text(node: ast.AST, scope: Scope) -> str:
    """What ``node`` (of no known type: a table's or ranking's ``outcome``) is, and what to
    write instead."""
    text = f"`{ast.unparse(node)}`"
    for part in ast.walk(node):
        if (isinstance(part, ast.Attribute) and part.attr == "outcome"
                and isinstance(part.value, ast.Attribute)
                and isinstance(part.value.value, ast.Name) and part.value.value.id == "rules"):
            rid = part.value.attr
            rule_set = (scope.rules or {}).get(rid)
            if rule_set is None:
                continue
            if not isinstance(rule_set, TableRuleSet):  # a ranking
                what = f"the candidates ranking '{rid}' finds eligible"
                instead = (f"`rules.{rid}.matched` (their ids, best first), "
                           f"`len(rules.{rid}.matched)` or `rules.{rid}.holds`")
            else:
                collect = rule_set.hit_policy == "collect"
                rows = "the outputs of the rows" if collect else "the outputs of the row"
                what = f"{rows} of table '{rid}' that matched"
                row = rule_set.rows[0].id if rule_set.rows else "row"
                instead = (f"`'{row}' in rules.{rid}.matched` (which rows matched), "
                           f"`rules.{rid}.holds` (whether one did)"
                           + ("" if collect else f" or `known(rules.{rid}.outcome)`"))
            return (f"{text} is {what} (records, of no type known when the workflow loads); "
                    f"use {instead}")
    return f"{text} has no type known when the workflow loads"


def _describe(node: ast.AST) -> str:
    names = {
        "ListComp": "a comprehension", "SetComp": "a comprehension",
        "DictComp": "a comprehension", "GeneratorExp": "a generator",
        "Lambda": "a lambda", "Subscript": "indexing ('[...]')", "IfExp": "'x if y else z'",
        "NamedExpr": "':='", "Starred": "'*'", "JoinedStr": "an f-string", "Dict": "a mapping",
        "Set": "a set", "Await": "'await'", "Yield": "'yield'",
    }
    return names.get(type(node).__name__, f"'{type(node).__name__}'")


def _rule_ids(rule_set: RuleSet) -> tuple[str, ...]:
    if rule_set.kind == "criteria":
        return tuple(c.id for c in rule_set.criteria)
    if rule_set.kind == "table":
        return tuple(r.id for r in rule_set.rows)
    return ()


_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def _const(value: Any) -> Fn:
    def constant(env: Env) -> Any:
        return value

    return constant


def _and(parts: list[Fn]) -> Fn:
    if len(parts) == 2:
        first, second = parts

        def and2(env: Env) -> Any:
            a = first(env)
            if a is False:
                return False
            b = second(env)
            if b is False:
                return False
            return True if (a is True and b is True) else UNKNOWN

        return and2

    def and_n(env: Env) -> Any:
        result: Any = True
        for part in parts:
            value = part(env)
            if value is False:
                return False
            if value is not True:
                result = UNKNOWN
        return result

    return and_n


def _or(parts: list[Fn]) -> Fn:
    def or_n(env: Env) -> Any:
        result: Any = False
        for part in parts:
            value = part(env)
            if value is True:
                return True
            if value is not False:
                result = UNKNOWN
        return result

    return or_n


class Matched(tuple[str, ...]):
    """The ids of the criteria that hold, knowing which are still ``undecided``.

    Comparisons with it are three-valued: ``'x' in matched`` is unknown while criterion x is.
    """

    undecided: frozenset[str]

    def __new__(cls, matched: Iterable[str], undecided: Iterable[str] = ()) -> Matched:
        self = super().__new__(cls, matched)
        self.undecided = frozenset(undecided)
        return self


def _member(a: Any, b: Any) -> Any:
    if a in b:
        return True
    if b.__class__ is Matched and a in b.undecided:
        return UNKNOWN
    return False


def _equal(a: Any, b: Any) -> Any:
    matched, other = (a, b) if a.__class__ is Matched else (b, a)
    if matched.__class__ is not Matched:
        return a == b
    if not isinstance(other, tuple | list):
        return False
    definite, target = set(matched), set(other)
    if not definite <= target <= definite | matched.undecided:
        return False
    return True if not matched.undecided else UNKNOWN


def _comparison(symbol: str, left: Fn, right: Fn) -> Fn:
    def unknown_guarded(test: Callable[[Any, Any], bool]) -> Fn:
        def compare(env: Env) -> Any:
            a = left(env)
            if a is UNKNOWN:
                return UNKNOWN
            b = right(env)
            if b is UNKNOWN:
                return UNKNOWN
            return test(a, b)

        return compare

    tests: dict[str, Callable[[Any, Any], Any]] = {
        "==": _equal, "!=": lambda a, b: k_not(_equal(a, b)),
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
        "in": _member, "not in": lambda a, b: k_not(_member(a, b)),
    }
    return unknown_guarded(tests[symbol])


def parse(source: str) -> ast.expr:
    """Parse ``source`` as one expression, with the size limits applied."""
    if not isinstance(source, str):
        raise ExprError(f"a condition must be text, not {type(source).__name__}")
    if len(source) > MAX_SOURCE:
        raise ExprError(f"condition is {len(source):,} characters long; the limit is "
                        f"{MAX_SOURCE:,}: split it into criteria")
    if not source.strip():
        raise ExprError("empty condition")
    # a folded YAML scalar may keep line breaks; a condition is one logical line
    text = " ".join(source.strip().splitlines())
    if not text.isascii():
        _refuse_disguised_names(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"not a valid condition: {exc.msg}", max((exc.offset or 1) - 1, 0)) \
            from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("condition is too deeply nested or malformed") from None
    return tree.body


def _refuse_disguised_names(text: str) -> None:
    """Refuse a name or keyword that is not written as it reads: Python reads names in
    their NFKC form, so ``ｔｒｕｅ`` (fullwidth) or ``𝐭𝐫𝐮𝐞`` (mathematical bold) would be
    taken for ``true`` and ``ﬁ`` for ``fi``. Text inside quotes is a value and may hold
    anything."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    try:
        for token in tokens:
            name = token.string
            if token.type != tokenize.NAME or name.isascii():
                continue
            plain = unicodedata.normalize("NFKC", name)
            if plain == name:
                continue  # a name of other letters: not a fact, refused as unknown
            at = next((n for n, c in enumerate(name)
                       if unicodedata.normalize("NFKC", c) != c), 0)
            char = name[at]
            raise ExprError(
                f"`{name}` is not written in plain letters: '{char}' (U+{ord(char):04X} "
                f"{unicodedata.name(char, 'a compatibility character')}) is read as "
                f"'{unicodedata.normalize('NFKC', char)}', so this reads as `{plain}`; "
                f"write `{plain}`", token.start[1] + at)
    except (tokenize.TokenError, SyntaxError):
        pass  # not a valid condition: ast.parse says why
    finally:
        tokens.close()


class Compile(Protocol):
    """What compiles an expression: `compile_expr`, or the compile stage's, which records a
    mistake with its position and goes on."""

    def __call__(self, source: str, scope: Scope, *, expect_bool: bool = False) -> Expr: ...


def compile_expr(source: str, scope: Scope, *, expect_bool: bool = False) -> Expr:
    """Compile ``source`` in ``scope``. Raises `ExprError` for anything not allowed."""
    node = parse(source)
    compiler = _Compiler(source, scope)
    try:
        fn, t = compiler.compile(node)
    except RecursionError:
        raise ExprError("condition is too deeply nested") from None
    if expect_bool:
        compiler.expect_bool(node, t, "a condition")
    personal = frozenset(n for n in compiler.facts if scope.facts[n].personal_data)
    plan = tuple((n, f"{n} = ", n in personal) for n in compiler.facts)
    pure = not (compiler.data or compiler.item or compiler.rules or compiler.uses_time
                or any(scope.facts[n].default is not None for n in compiler.facts))
    data = scope.data or {}
    personal_data = frozenset(n for n in compiler.data if n in data and data[n].personal_data)
    computed = tuple((call, f, hidden) for call, (f, hidden) in compiler.computed.items())
    # a condition (a guard, a ranking's when:, a true/false value a step sets) and a computed
    # value also run as generated code; the closure stays as the reference
    if expect_bool or (t is not None and t.name == "boolean"
                       and isinstance(node, ast.BoolOp | ast.Compare | ast.UnaryOp | ast.Call)):
        generated = condition_code(node, scope)
    else:
        generated = value_code(node, scope)
    closure = None
    if generated is not None:
        fn, closure = generated, fn
    return Expr(" ".join(source.split()), fn, t, tuple(compiler.facts), tuple(compiler.data),
                tuple(compiler.item), tuple(compiler.rules), personal, plan, pure, personal_data,
                computed=computed, uses_time=compiler.uses_time, tree=node, closure=closure)
