"""`Facts`: what a case knows, as a small read-only mapping of fact id → value.

A case keeps its facts for as long as it lives, and many cases live at once. A dict of 11 facts
takes 464 bytes (its table has room for 21). `Facts` keeps the values in one tuple and the fact
ids, in the same order, in another, which every `Facts` with the same ids in the same order
shares: 176 bytes for those 11, and 304 when nothing shares its ids. Reading one fact costs a
short scan of the ids; the engine takes a dict (`to_dict`) where it reads many.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

#: The tuples of fact ids in use, each kept once. Cases follow a few paths through a workflow,
#: so there are few; when there are this many (ids set in every order, say) the table starts
#: again, so that it never grows without bound and keeps the ids in use now. A `Facts` made
#: before holds on to its own tuple, so nothing is lost, only shared less.
_MAX_SHARED = 4096
_SHARED: dict[tuple[str, ...], tuple[str, ...]] = {}


def _shared(names: tuple[str, ...]) -> tuple[str, ...]:
    if len(_SHARED) >= _MAX_SHARED:
        _SHARED.clear()
    return _SHARED.setdefault(names, names)


class Facts(Mapping[str, Any]):
    """A read-only mapping of fact id → value, in the order the facts were set."""

    __slots__ = ("_names", "_values")

    _names: tuple[str, ...]
    _values: tuple[Any, ...]

    def __init__(self, values: Mapping[str, Any] = MappingProxyType({})) -> None:
        names = tuple(values)
        shared = _SHARED.get(names)
        self._names = shared if shared is not None else _shared(names)
        self._values = tuple(values.values())

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Facts:
        """``values`` as `Facts` (the same object when it is one already)."""
        return values if isinstance(values, Facts) else cls(values)

    def pairs(self) -> Iterator[tuple[str, Any]]:
        """(fact id, value) pairs, in order, without a view object."""
        return zip(self._names, self._values)  # noqa: B905 (same length)

    def replaced(self, values: Mapping[str, Any]) -> Facts:
        """These facts with the values of some of them (ids these facts hold) replaced."""
        names = self._names
        new = list(self._values)
        for name, value in values.items():
            new[names.index(name)] = value
        result = Facts.__new__(Facts)
        result._names = names
        result._values = tuple(new)
        return result

    def updated(self, values: Mapping[str, Any]) -> Facts:
        """These facts with ``values`` set: a fact held keeps its place, a new one comes
        last (in the order given), as a dict updated with them would hold them."""
        if len(values) == 1:  # most steps set one fact: no dict made
            ((name, value),) = values.items()
            names = self._names
            held = self._values
            result = _new(Facts)
            if name in names:
                at = names.index(name)
                result._names = names
                result._values = held[:at] + (value,) + held[at + 1:]  # noqa: RUF005
            else:
                grown = names + (name,)  # noqa: RUF005 (no list made)
                shared = _SHARED.get(grown)
                result._names = shared if shared is not None else _shared(grown)
                result._values = held + (value,)  # noqa: RUF005
            return result
        merged = self.to_dict()
        merged.update(values)
        return Facts(merged)

    def to_dict(self) -> dict[str, Any]:
        """A new dict of the same facts, in the same order."""
        return dict(zip(self._names, self._values))  # noqa: B905 (same length)

    def __getitem__(self, name: str) -> Any:
        if name in self._names:
            return self._values[self._names.index(name)]
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        names = self._names
        return self._values[names.index(name)] if name in names else default

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Facts):
            if self._names is other._names:
                return self._values == other._values
            return self.to_dict() == other.to_dict()
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Facts({sorted(self._names)})"  # the ids only: values may be personal

    def __reduce__(self) -> tuple[Any, ...]:
        return (Facts, (self.to_dict(),))


_new = object.__new__

EMPTY = Facts()
