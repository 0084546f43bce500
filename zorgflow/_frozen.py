"""`Frozen`: the ``__eq__``, ``__hash__`` and ``__repr__`` of zorgflow's frozen dataclasses,
written once; `record`: a frozen dataclass on it whose ``__init__`` is not compiled either.

``@dataclass`` writes each method it adds as source text and compiles it, per class: about
0.15 ms a method on Python 3.11, which over the fifty classes ``import zorgflow`` defines was
a fifth of the time the import took. Those classes are declared
``@dataclass(frozen=True, slots=True, eq=False, repr=False)`` on this base, which gives them
what ``eq=True`` and ``repr=True`` would have: equal when of the same class with equal
compared fields, hashed on those fields, and shown as ``Name(field=value, ...)``
(tests/test_model_record.py holds them to twins made by ``@dataclass``).

The workflow model's classes, made only when a workflow is loaded, are declared ``@record``
instead: the same dataclass, but its ``__init__``, ``__setattr__`` and ``__delattr__`` are
shared functions rather than three compiled per class (an ``__init__`` about a microsecond
slower per object, paid while loading; the import takes about a quarter less for it).
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, dataclass, field, fields
from inspect import Parameter, Signature
from typing import Any, TypeVar, dataclass_transform

#: per class: the names of the fields compared (and hashed), and of the fields shown
_COMPARED: dict[type, tuple[str, ...]] = {}
_HASHED: dict[type, tuple[str, ...]] = {}
_SHOWN: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    """Fill the three tables for ``cls`` (on first use: the class is complete by then)."""
    found = fields(cls)
    _COMPARED[cls] = tuple(f.name for f in found if f.compare)
    _HASHED[cls] = tuple(f.name for f in found if (f.compare if f.hash is None else f.hash))
    _SHOWN[cls] = tuple(f.name for f in found if f.repr)
    return _COMPARED[cls]


class Frozen:
    """Base of a frozen dataclass declared with ``eq=False, repr=False``: the equality, hash
    and repr ``@dataclass`` would have generated, shared by every such class; for a `record`
    also what ``frozen=True`` would have (a ``@dataclass(frozen=True)`` has its own)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __getstate__(self) -> list[Any]:
        return [getattr(self, f.name) for f in fields(self)]  # type: ignore[arg-type]

    def __setstate__(self, state: list[Any]) -> None:
        for f, value in zip(fields(self), state, strict=True):  # type: ignore[arg-type]
            object.__setattr__(self, f.name, value)

    def __eq__(self, other: object) -> bool:
        cls = self.__class__
        if other.__class__ is not cls:
            return NotImplemented
        names = _COMPARED.get(cls) or _names(cls)
        # tuples, as the generated method compares on Python 3.11 and 3.12 (identical values
        # are equal, even NaN; 3.13 compares field by field, which differs only for a NaN
        # held in a field itself, and the loader refuses NaN)
        return tuple([getattr(self, n) for n in names]) == tuple([getattr(other, n)
                                                                  for n in names])

    def __hash__(self) -> int:
        cls = self.__class__
        if cls not in _HASHED:
            _names(cls)
        return hash(tuple([getattr(self, n) for n in _HASHED[cls]]))

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        cls = self.__class__
        if cls not in _SHOWN:
            _names(cls)
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in _SHOWN[cls])
        return f"{cls.__qualname__}({shown})"


_T = TypeVar("_T")


@dataclass_transform(frozen_default=True, eq_default=False, field_specifiers=(field, Field))
def record(cls: type[_T]) -> type[_T]:
    """``@dataclass(frozen=True, slots=True, eq=False, repr=False)`` for a subclass of
    `Frozen`, with nothing compiled: the ``__init__`` is a shared one that takes the fields in
    order, by position or keyword, as the generated one would (defaults, factories, fields
    with ``init=False``); copying and pickling go through `Frozen`."""
    if not issubclass(cls, Frozen):
        raise TypeError(f"@record is for subclasses of Frozen, not {cls.__qualname__}")
    if hasattr(cls, "__post_init__"):  # and with it InitVar, which only it reads
        raise TypeError(f"@record does not call __post_init__ ({cls.__qualname__}): use "
                        "@dataclass(frozen=True, slots=True, eq=False, repr=False)")
    made: Any = dataclass(slots=True, init=False, eq=False, repr=False)(cls)
    keyword_only = [f.name for f in fields(made) if f.kw_only is True]
    if keyword_only:
        raise TypeError(f"@record takes fields by position too; {cls.__qualname__} has "
                        f"keyword-only {', '.join(keyword_only)}: use @dataclass")
    # frozen, as far as dataclasses can tell: a frozen dataclass may inherit from it
    made.__dataclass_params__.frozen = True
    made.__init__ = _init_of(made)
    return made  # type: ignore[no-any-return]


def _init_of(cls: type) -> Callable[..., None]:
    """The ``__init__`` of a `record` class: the same arguments, the same refusals."""
    every = fields(cls)
    names = tuple(f.name for f in every if f.init)
    known = frozenset(names)
    count = len(names)
    fixed = tuple((f.name, f.default, f.default_factory) for f in every if not f.init
                  and (f.default is not MISSING or f.default_factory is not MISSING))
    defaults = {f.name: f.default for f in every if f.init and f.default is not MISSING}
    factories = {f.name: f.default_factory for f in every
                 if f.init and f.default_factory is not MISSING}
    owner = f"{cls.__qualname__}.__init__()"
    # what Python says of a def with these parameters (self counts)
    least = 1 + sum(1 for n in names if n not in defaults and n not in factories)
    takes = (f"{count + 1} positional argument{'s' if count else ''}" if least == count + 1
             else f"from {least} to {count + 1} positional arguments")
    put = object.__setattr__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        given = len(args)
        for name, value in zip(names, args, strict=False):  # the rest come by keyword
            put(self, name, value)
        taken = 0
        missing = []
        for name in names[given:]:
            if name in kwargs:
                put(self, name, kwargs[name])
                taken += 1
            elif name in defaults:
                put(self, name, defaults[name])
            elif name in factories:
                put(self, name, factories[name]())
            else:
                missing.append(name)
        if taken != len(kwargs):
            for name in kwargs:
                if name not in known:
                    raise TypeError(f"{owner} got an unexpected keyword argument '{name}'")
                if name in names[:given]:
                    raise TypeError(f"{owner} got multiple values for argument '{name}'")
        if given > count:  # after the keywords, as Python checks
            raise TypeError(f"{owner} takes {takes} but {given + 1} were given")
        if missing:
            raise TypeError(f"{owner} missing {len(missing)} required positional "
                            f"argument{'s' if len(missing) > 1 else ''}: {_listed(missing)}")
        for name, default, factory in fixed:
            put(self, name, default if factory is MISSING else factory())

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__signature__ = Signature(  # type: ignore[attr-defined]
        [Parameter("self", Parameter.POSITIONAL_OR_KEYWORD)]
        + [Parameter(f.name, Parameter.POSITIONAL_OR_KEYWORD, annotation=f.type,
                     default=(f.default if f.default is not MISSING else
                              Parameter.empty if f.default_factory is MISSING else
                              _FACTORY))
           for f in every if f.init],
        return_annotation=None)
    return __init__


def _listed(names: list[str]) -> str:
    """'a'; 'a' and 'b'; 'a', 'b', and 'c': as Python lists missing arguments."""
    quoted = [repr(n) for n in names]
    if len(quoted) < 3:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


class _Factory:
    """How a signature shows a default made per object (``<factory>``, as dataclasses do)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()
