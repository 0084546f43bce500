"""`Frozen`: the ``__eq__``, ``__hash__`` and ``__repr__`` of zorgflow's frozen dataclasses,
written once.

``@dataclass`` writes each method it adds as source text and compiles it, per class: about
0.15 ms a method on Python 3.11, which over the fifty classes ``import zorgflow`` defines was
a fifth of the time the import took. Those classes are declared
``@dataclass(frozen=True, slots=True, eq=False, repr=False)`` on this base, which gives them
what ``eq=True`` and ``repr=True`` would have: equal when of the same class with equal
compared fields, hashed on those fields, and shown as ``Name(field=value, ...)``
(tests/test_model_record.py holds them to twins made by ``@dataclass``).
"""

from __future__ import annotations

import reprlib
from dataclasses import fields

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
    and repr ``@dataclass`` would have generated, shared by every such class."""

    __slots__ = ()

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
