"""`Facts`: what a case knows, as a small read-only mapping of fact id → value.

A case keeps its facts for as long as it lives, and many cases live at once. A dict of 11 facts
takes 464 bytes (its table has room for 21). `Facts` keeps only the values, in a tuple, and
shares where each fact's value is (a dict of fact id → position) with every other `Facts`
whose facts have the same ids in the same order: 176 bytes for those 11. Reading one fact costs
a method call more than a dict's; the engine takes a dict (`to_dict`) where it reads many.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

#: The shared positions, by the fact ids in order. Cases follow a few paths through a workflow,
#: so there are few; past this many (made-up ids, say) a new `Facts` gets its own.
_MAX_SHARED = 4096
_SHARED: dict[tuple[str, ...], dict[str, int]] = {}


def _share(names: tuple[str, ...]) -> dict[str, int]:
    positions = {name: i for i, name in enumerate(names)}
    if len(_SHARED) < _MAX_SHARED:
        positions = _SHARED.setdefault(names, positions)
    return positions


class Facts(Mapping[str, Any]):
    """A read-only mapping of fact id → value, in the order the facts were set."""

    __slots__ = ("_positions", "_values")

    _positions: dict[str, int]
    _values: tuple[Any, ...]

    def __init__(self, values: Mapping[str, Any] = MappingProxyType({})) -> None:
        names = tuple(values)
        positions = _SHARED.get(names)
        self._positions = positions if positions is not None else _share(names)
        self._values = tuple(values.values())

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Facts:
        """``values`` as `Facts` (the same object when it is one already)."""
        return values if isinstance(values, Facts) else cls(values)

    def pairs(self) -> Iterator[tuple[str, Any]]:
        """(fact id, value) pairs, in order, without a view object."""
        return zip(self._positions, self._values)  # noqa: B905 (same length)

    def replaced(self, values: Mapping[str, Any]) -> Facts:
        """These facts with the values of some of them (ids these facts hold) replaced."""
        positions = self._positions
        new = list(self._values)
        for name, value in values.items():
            new[positions[name]] = value
        result = Facts.__new__(Facts)
        result._positions = positions
        result._values = tuple(new)
        return result

    def to_dict(self) -> dict[str, Any]:
        """A new dict of the same facts, in the same order."""
        return dict(zip(self._positions, self._values))  # noqa: B905 (same length)

    def __getitem__(self, name: str) -> Any:
        return self._values[self._positions[name]]

    def get(self, name: str, default: Any = None) -> Any:
        at = self._positions.get(name)
        return default if at is None else self._values[at]

    def __contains__(self, name: object) -> bool:
        return name in self._positions

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Facts):
            if self._positions is other._positions:
                return self._values == other._values
            return self.to_dict() == other.to_dict()
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Facts({sorted(self._positions)})"  # the ids only: values may be personal

    def __reduce__(self) -> tuple[Any, ...]:
        return (Facts, (self.to_dict(),))


EMPTY = Facts()
