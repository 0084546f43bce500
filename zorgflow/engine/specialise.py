"""A function of this package made again for fixed values of some of its inputs.

`specialise(function, fixed)` reads the source of ``function`` (this package's own code,
never text from a workflow), replaces each read of an attribute of a fixed argument
(``ct.target``, ``program.tasks``) by its value, and leaves out what those values decide:
an ``if`` whose test they settle keeps one branch, ``and``/``or``/``not``, comparisons and
``x if c else y`` of known values become their result, and a ``for`` loop over a known
tuple of a few items is written out once per item. The values enter the new function as
constants or as names in its globals, never as text. It takes the same arguments and, for
those fixed values, does exactly what ``function`` does, only without looking up what they
already say (`zorgflow.engine.step` makes one per transition for the step that is allowed as
it comes).

A function whose source cannot be read (no ``.py`` files installed) is not specialised:
`specialise` returns None and the caller keeps the general function.

The function made takes the fixed values as they are when it is made (they belong to a
compiled workflow, which does not change) and the globals of ``function``'s module as they
are then: a name of that module replaced later (a test's monkeypatch) is not seen by it.
"""

from __future__ import annotations
import __future__

import ast
import builtins
import copy
import dis
import inspect
import types
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from .._frozen import Frozen

#: a tuple no longer than this is written out item by item in a ``for`` loop
_UNROLL = 8
_UNKNOWN = object()
#: the classes of a value written into the code as a constant (exactly these: a subclass of
#: str, such as an enum member, goes into the globals)
_LITERALS = frozenset({str, int, float, bool, type(None)})


def specialise(function: Callable[..., Any], fixed: Mapping[str, Mapping[str, Any]],
               name: str) -> Callable[..., Any] | None:
    """``function`` made for ``fixed``: per argument name, the attribute values to take as
    given (only attributes listed; reading any other still happens at run time). ``name``
    names the new function in tracebacks."""
    tree = _tree(function)
    if tree is None or _stored(tree) & set(fixed) or _changes(tree, fixed) or not _plain(tree):
        return None  # no source, a fixed value changed or replaced, or a shape not handled
    namespace: dict[str, Any] = {}
    folder = _Folder(fixed, namespace, _free_reads(tree))
    body = folder.block(tree.body)
    function_code = _compiled(tree, body, name)
    lost = _locals(function.__code__) - _locals(function_code)
    if lost:
        # a local assigned only in a branch left out would be read as a global: an
        # assignment that never runs keeps it local (reading it raises UnboundLocalError)
        never = ast.If(test=ast.Constant(value=False), orelse=[], body=[ast.Assign(
            targets=[ast.Name(id=n, ctx=ast.Store()) for n in sorted(lost)],
            value=ast.Constant(value=None))])
        function_code = _compiled(tree, [never, *body], name)
    globals_ = {**function.__globals__, **namespace, "__builtins__": builtins}
    made = types.FunctionType(function_code, globals_, tree.name, function.__defaults__)
    made.__kwdefaults__ = function.__kwdefaults__
    return made


def _changes(tree: ast.FunctionDef, fixed: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether the function assigns to (or deletes) an attribute taken as fixed."""
    return any(isinstance(n, ast.Attribute) and not isinstance(n.ctx, ast.Load)
               and isinstance(n.value, ast.Name) and n.attr in fixed.get(n.value.id, ())
               for n in ast.walk(tree))


def _compiled(tree: ast.FunctionDef, body: list[ast.stmt], name: str) -> types.CodeType:
    """The code of ``tree``'s function with ``body``."""
    definition = ast.FunctionDef(name=tree.name, args=tree.args, body=body or [ast.Pass()],
                                 decorator_list=[], returns=None, type_comment=None)
    module = ast.Module(body=[definition], type_ignores=[])
    ast.fix_missing_locations(module)
    code = compile(module, f"<zorgflow {name}>", "exec")
    return next(c for c in code.co_consts if isinstance(c, types.CodeType))


def _locals(code: types.CodeType) -> set[str]:
    """The local names of a function's code (those nested functions read included)."""
    return {*code.co_varnames, *code.co_cellvars}


_TREES: dict[Callable[..., Any], ast.FunctionDef | None] = {}


def _tree(function: Callable[..., Any]) -> ast.FunctionDef | None:
    """The definition of ``function`` (read once), without its docstring and annotations."""
    if function in _TREES:
        return _TREES[function]
    try:
        source = inspect.getsource(function)  # a function at the top of its module
        module = ast.parse(source)
        # the file read must be the code running (not a file changed since it was imported)
        flags = function.__code__.co_flags & __future__.annotations.compiler_flag
        with warnings.catch_warnings():  # said when the module was imported, not again
            warnings.simplefilter("ignore", SyntaxWarning)
            compiled = compile(module, "<template>", "exec", flags=flags, dont_inherit=True)
    except (OSError, TypeError, SyntaxError):
        _TREES[function] = None
        return None
    same = any(isinstance(c, types.CodeType) and _shape(c) == _shape(function.__code__)
               for c in compiled.co_consts)
    definition = module.body[0]
    if not same or not isinstance(definition, ast.FunctionDef):
        _TREES[function] = None
        return None
    body = definition.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    args = definition.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        arg.annotation = None
    definition.body = body
    _TREES[function] = definition
    return definition


def _shape(code: types.CodeType) -> tuple[Any, ...]:
    """What compiling the same source gives again, wherever it starts: the names, the local
    variables, the plain constants, how many lines it spans and its instructions, with what
    differs with how the module was compiled left out (where jumps land, a method call read
    as an attribute, of nested functions too)."""
    lines = [line for _, _, line in code.co_lines() if line is not None]
    return (code.co_names, code.co_varnames,
            tuple(c for c in code.co_consts if not isinstance(c, types.CodeType)),
            max(lines) - code.co_firstlineno, _instructions(code))


_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


def _instructions(code: types.CodeType) -> tuple[Any, ...]:
    """Each instruction of ``code`` and of the functions it defines: its operation, and its
    argument by value (a name, a constant), not by position."""
    found: list[Any] = []
    # a jump by the index of the instruction it lands on (offsets differ: a method call
    # and an attribute read take different room); EXTENDED_ARG belongs to what follows
    steps: list[dis.Instruction] = []
    index: dict[int, int] = {}  # offset -> the index of the instruction there
    pending: list[int] = []
    for ins in dis.get_instructions(code):
        pending.append(ins.offset)
        if ins.opname != "EXTENDED_ARG":
            index.update(dict.fromkeys(pending, len(steps)))
            pending = []
            steps.append(ins)
    for ins in steps:
        op = "LOAD_ATTR" if ins.opname == "LOAD_METHOD" else ins.opname
        if ins.opcode in _JUMPS:
            found.append((op, index.get(ins.argval)))
        elif isinstance(ins.argval, types.CodeType):
            found.append((op, _instructions(ins.argval)))
        else:
            found.append((op, repr(ins.argval)))
    return tuple(found)


class _Folder:
    """Rewrites statements for the fixed values: one pass, a new tree."""

    def __init__(self, fixed: Mapping[str, Mapping[str, Any]], namespace: dict[str, Any],
                 free: set[str]) -> None:
        self.fixed = fixed
        self.namespace = namespace
        self.names: dict[int, str] = {}  # id of a value in the namespace -> its name
        #: names the function reads outside the loops that give them their values
        self.free = free
        #: inside an ``is`` comparison: every value goes in by reference (a constant written
        #: into the code is a copy, and equal constants are merged)
        self.by_reference = 0

    # -- values -----------------------------------------------------------------------------
    def node_for(self, value: Any) -> ast.expr:
        """A constant for a literal (or a tuple of them), else a name in the namespace."""
        if _literal(value) and not (self.by_reference and _by_value(value)):
            return ast.Constant(value=value)
        key = id(value)
        name = self.names.get(key)
        if name is None:
            name = self.names[key] = f"_fixed{len(self.names)}"
            self.namespace[name] = value
        return ast.Name(id=name, ctx=ast.Load())

    def truth(self, node: ast.expr) -> Any:
        """True or False when ``node``'s value is known here, else `_UNKNOWN` (also when
        asking its truth raises: that happens when the code runs, as it would)."""
        value = self.value_of(node)
        if value is _UNKNOWN:
            return _UNKNOWN
        try:
            return bool(value)
        except Exception:
            return _UNKNOWN

    def value_of(self, node: ast.expr) -> Any:
        """The value of ``node`` when it is known here, else `_UNKNOWN`."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.namespace:
            return self.namespace[node.id]
        return _UNKNOWN

    # -- statements ---------------------------------------------------------------------------
    def block(self, statements: list[ast.stmt], bound: Mapping[str, Any] | None = None
              ) -> list[ast.stmt]:
        """``statements`` rewritten. A local name given a known value (``x = None``) is known
        in the statements after it, until one of them may give it another."""
        known = dict(bound or {})
        out: list[ast.stmt] = []
        # (statement, the loop variables it sees): a loop written out adds its body once per
        # item, in place, so that what one item's statements settle holds for the next
        queue: list[tuple[ast.stmt, Mapping[str, Any]]] = [(s, {}) for s in statements]
        while queue:
            statement, loop = queue.pop(0)
            unrolled = self.unrolled(statement, {**known, **loop})
            if unrolled is not None:
                assert isinstance(statement, ast.For)
                queue[:0] = [(s, {**loop, **names}) for names in unrolled
                             for s in statement.body]
                continue
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                    and isinstance(statement.targets[0], ast.Name):
                name = statement.targets[0].id
                for walrus in _stored(statement.value):
                    known.pop(walrus, None)
                value = self.expr(statement.value, {**known, **loop})
                out.append(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                                      value=value))
                known.pop(name, None)
                if self.value_of(value) is not _UNKNOWN:
                    known[name] = self.value_of(value)
                continue
            stored = _stored(statement)
            # a loop may read what it stores later on; an `if` test, only what it stores
            for name in (_stored(statement.test) if isinstance(statement, ast.If)
                         else stored):
                known.pop(name, None)
            out.extend(self.statement(statement, {**known, **loop}))
            for name in stored:  # an `if` stores after its test, in a block of its own
                known.pop(name, None)
            if out and isinstance(out[-1], ast.Return | ast.Raise):
                break  # nothing after it runs
        return out

    def unrolled(self, node: ast.stmt, bound: Mapping[str, Any]
                 ) -> list[dict[str, Any]] | None:
        """For a ``for`` loop over a known tuple of a few items (with no ``break``,
        ``continue`` or ``else``): the loop variables of each item. None otherwise."""
        if not isinstance(node, ast.For) or node.orelse or _breaks(node.body):
            return None
        items = self.value_of(self.expr(node.iter, bound))
        if not isinstance(items, tuple) or len(items) > _UNROLL:
            return None
        names = [_bind(node.target, item) for item in items]
        variables = _stored(node.target)
        if any(n is None for n in names) or variables & self.free:
            return None  # read after the loop: it must hold its last value
        if any(variables & _stored(s) for s in node.body):
            return None  # the body gives a loop variable another value
        if variables & _read_late(node.body):
            return None  # a lambda or generator reads one when it runs: it must be set
        return [n for n in names if n is not None]

    def statement(self, node: ast.stmt, bound: Mapping[str, Any]) -> list[ast.stmt]:
        if isinstance(node, ast.If):
            test = self.expr(node.test, bound)
            known = self.truth(test)
            if known is not _UNKNOWN:
                return self.block(node.body if known else node.orelse, bound)
            return [ast.If(test=test, body=self.block(node.body, bound) or [ast.Pass()],
                           orelse=self.block(node.orelse, bound))]
        rewritten = _Rewrite(self, bound).visit(copy.deepcopy(node))
        return rewritten if isinstance(rewritten, list) else [rewritten]

    # -- expressions --------------------------------------------------------------------------
    def expr(self, node: ast.expr, bound: Mapping[str, Any]) -> ast.expr:
        result: ast.expr = _Rewrite(self, bound).visit(copy.deepcopy(node))
        return result


class _Rewrite(ast.NodeTransformer):
    """Replaces what is fixed by its value and folds what that settles."""

    def __init__(self, folder: _Folder, bound: Mapping[str, Any]) -> None:
        self.folder = folder
        self.bound = bound

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and node.id in self.bound:
            return self.folder.node_for(self.bound[node.id])
        return node

    def _scope(self, node: ast.AST, names: set[str], late: bool = False) -> Any:
        """Visit a lambda or comprehension without the names it binds itself; one that may
        run later (``late``: a lambda, a generator) without any local name's value."""
        # what is evaluated where it stands, in the scope around: a lambda's defaults, a
        # comprehension's first iterable
        if isinstance(node, ast.Lambda):
            node.args.defaults = [self.visit(d) for d in node.args.defaults]
            node.args.kw_defaults = [d if d is None else self.visit(d)
                                     for d in node.args.kw_defaults]
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            node.generators[0].iter = self.visit(node.generators[0].iter)
        outer, fixed = self.bound, self.folder.fixed
        self.bound = {} if late else {k: v for k, v in outer.items() if k not in names}
        self.folder.fixed = {k: v for k, v in fixed.items() if k not in names}
        try:
            self.generic_visit(node)
        finally:
            self.bound, self.folder.fixed = outer, fixed
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        args = node.args
        return self._scope(node, {a.arg for a in [*args.posonlyargs, *args.args,
                                                  *args.kwonlyargs]}
                           | {a.arg for a in (args.vararg, args.kwarg) if a is not None},
                           late=True)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
                       ) -> Any:
        return self._scope(node, set().union(*(_stored(g.target) for g in node.generators)),
                           late=isinstance(node, ast.GeneratorExp))

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and isinstance(node.value, ast.Name):
            attributes = self.folder.fixed.get(node.value.id)
            if attributes is not None and node.attr in attributes:
                return self.folder.node_for(attributes[node.attr])
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            owner = self.folder.value_of(node.value)
            if isinstance(owner, Frozen):  # a field of a frozen dataclass never changes
                return self.folder.node_for(getattr(owner, node.attr))
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            owner = self.folder.value_of(node.value)
            key = self.folder.value_of(node.slice)
            if isinstance(owner, tuple) and isinstance(key, int):
                return self.folder.node_for(owner[key])
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        """``d.get(k)`` of a known dict and key (a table the program made once)."""
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get" and not node.keywords \
                and len(node.args) == 1:
            owner = self.folder.value_of(func.value)
            key = self.folder.value_of(node.args[0])
            if owner.__class__ is dict and key is not _UNKNOWN:
                return self.folder.node_for(owner.get(key))
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            value = self.folder.truth(node.operand)
            if value is not _UNKNOWN:
                return ast.Constant(value=not value)
        return node

    def visit_If(self, node: ast.If) -> Any:
        self.generic_visit(node)
        value = self.folder.truth(node.test)
        if value is _UNKNOWN:
            return node
        return (node.body if value else node.orelse) or ast.Pass()

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        """``a and b``: the first false operand, else the last; ``a or b``: the first true
        one, else the last. A known operand that does not decide is left out (unless it is
        the last); one that decides ends the operation there."""
        self.generic_visit(node)
        deciding = isinstance(node.op, ast.Or)  # the truth that ends the operation
        values: list[ast.expr] = []
        last = node.values[-1]
        for operand in node.values:
            value = self.folder.truth(operand)
            if value is _UNKNOWN or operand is last:
                values.append(operand)
            elif value == deciding:
                values.append(operand)
                break
        return values[0] if len(values) == 1 else ast.BoolOp(op=node.op, values=values)

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        identity = _compares_identity(node)
        self.folder.by_reference += identity
        try:
            self.generic_visit(node)
        finally:
            self.folder.by_reference -= identity
        if len(node.ops) != 1:
            return node
        left = self.folder.value_of(node.left)
        right = self.folder.value_of(node.comparators[0])
        if left is _UNKNOWN or right is _UNKNOWN:
            return node
        compare = _COMPARE.get(type(node.ops[0]))
        if compare is None:
            return node
        if isinstance(node.ops[0], ast.Is | ast.IsNot) and (_by_value(left)
                                                            or _by_value(right)):
            return node  # whether two equal texts or numbers are one object is Python's choice
        try:
            result = compare(left, right)
        except Exception:  # it raises when the code runs, as it should
            return node
        return ast.Constant(value=result) if result.__class__ is bool else node

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        value = self.folder.truth(node.test)
        if value is _UNKNOWN:
            return node
        return node.body if value else node.orelse


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


def _by_value(value: Any) -> bool:
    """Whether ``value`` is a constant whose identity the code running need not share: a
    text, a number or a tuple of them (None, True and False are one object each)."""
    return value is not None and value is not True and value is not False and _literal(value)


def _literal(value: Any) -> bool:
    cls = value.__class__
    if cls in _LITERALS:
        return True
    if cls is tuple or cls is frozenset:
        return all(_literal(v) for v in value)
    return False


def _bind(target: ast.expr, item: Any) -> dict[str, Any] | None:
    """The loop variables for one item (None when the target is not a name or a tuple of
    names the item fits)."""
    if isinstance(target, ast.Name):
        return {target.id: item}
    if isinstance(target, ast.Tuple) and isinstance(item, tuple) \
            and len(target.elts) == len(item):
        names: dict[str, Any] = {}
        for element, value in zip(target.elts, item, strict=True):
            if not isinstance(element, ast.Name):
                return None
            names[element.id] = value
        return names
    return None


def _stored(node: ast.AST) -> set[str]:
    """The names ``node`` may give a value (or delete), anywhere in it."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            names.add(n.id)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names.add(n.name)
        elif isinstance(n, ast.alias):
            names.add((n.asname or n.name).partition(".")[0])
    return names


#: what a function written out may not hold: its own scopes and declarations, whose names
#: the rewriting here does not follow
_NOT_HANDLED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Global, ast.Nonlocal,
                ast.Await, ast.Yield, ast.YieldFrom, ast.Match, ast.With, ast.AsyncWith,
                ast.AsyncFor, ast.While, ast.Delete)


def _plain(definition: ast.FunctionDef) -> bool:
    """Whether ``definition`` holds only what the rewriting follows: no nested ``def`` or
    ``class``, no declarations, no loops but ``for``, no ``with``, ``match`` or ``del``
    (a lambda or generator is rewritten without the values of local names, which it reads
    when it runs), and no text or number written in the code compared by identity (``is``):
    the function made holds its own copy of it, another object."""
    literal_names = _names_of_literals(definition)
    return not any(isinstance(n, _NOT_HANDLED) or _identity_of_a_literal(n, literal_names)
                   for s in definition.body for n in ast.walk(s))


def _identity_of_a_literal(node: ast.AST, literal_names: set[str]) -> bool:
    """Whether ``node`` is an ``is`` comparison of something written in the code (a text,
    a number, a tuple of them, or a name given one)."""
    return (isinstance(node, ast.Compare) and _compares_identity(node)
            and any(_of_literals(side) or (isinstance(side, ast.Name)
                                           and side.id in literal_names)
                    for side in [node.left, *node.comparators]))


def _compares_identity(node: ast.Compare) -> bool:
    """Whether ``node`` has an ``is`` or ``is not`` among its comparisons."""
    return any(isinstance(op, ast.Is | ast.IsNot) for op in node.ops)


def _of_literals(node: ast.AST) -> bool:
    """Whether ``node`` is made of constants only, one of them a text or a number."""
    parts = list(ast.walk(node))
    return (any(isinstance(p, ast.Constant) and _by_value(p.value) for p in parts)
            and all(isinstance(p, ast.Constant | ast.Tuple | ast.UnaryOp | ast.BinOp
                               | ast.BoolOp | ast.IfExp | ast.Load | ast.operator
                               | ast.unaryop | ast.boolop) for p in parts))


def _names_of_literals(definition: ast.FunctionDef) -> set[str]:
    """The names the function gives a value made of constants only (or one such value's
    item, in a ``for`` over it)."""
    names: set[str] = set()
    for n in ast.walk(definition):
        if isinstance(n, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.NamedExpr) \
                and n.value is not None and _of_literals(n.value):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            names |= {t.id for target in targets for t in ast.walk(target)
                      if isinstance(t, ast.Name)}
        elif isinstance(n, ast.For | ast.comprehension) and _of_literals(n.iter):
            names |= {t.id for t in ast.walk(n.target) if isinstance(t, ast.Name)}
    return names


def _read_late(statements: list[ast.stmt]) -> set[str]:
    """The names lambdas and generators in ``statements`` read (when they run)."""
    return {n.id for s in statements for late in ast.walk(s)
            if isinstance(late, ast.Lambda | ast.GeneratorExp)
            for n in ast.walk(late) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _free_reads(node: ast.AST, bound: frozenset[str] = frozenset()) -> set[str]:
    """The names read in ``node`` outside the ``for`` loops, comprehensions and lambdas that
    give them their values."""
    if isinstance(node, ast.For):
        inner = bound | _stored(node.target)
        reads = _free_reads(node.iter, bound)
        for statement in [*node.body, *node.orelse]:
            reads |= _free_reads(statement, inner)
        return reads
    if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        first = node.generators[0].iter  # read in the scope around
        return _free_reads(first, bound) | _free_reads_in(node, bound | _stored(node))
    if isinstance(node, ast.Lambda):
        eager = set().union(*(_free_reads(d, bound) for d in
                              [*node.args.defaults, *node.args.kw_defaults] if d is not None))
        return eager | _free_reads_in(node, bound | {a.arg for a in ast.walk(node.args)
                                                     if isinstance(a, ast.arg)})
    if isinstance(node, ast.Name):  # a read, a deletion, or `x += …` (which reads it)
        return {node.id} if not isinstance(node.ctx, ast.Store) and node.id not in bound \
            else set()
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        reads = {node.target.id} - bound
        return reads | _free_reads(node.value, bound)
    return _free_reads_in(node, bound)


def _free_reads_in(node: ast.AST, bound: frozenset[str]) -> set[str]:
    reads: set[str] = set()
    for child in ast.iter_child_nodes(node):
        reads |= _free_reads(child, bound)
    return reads


def _breaks(statements: list[ast.stmt]) -> bool:
    """Whether a loop body leaves the loop early (``break``/``continue`` of this loop)."""
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Break | ast.Continue):
                return True
            if isinstance(node, ast.FunctionDef | ast.Lambda):
                return True  # a nested scope: do not write it out
    return False
