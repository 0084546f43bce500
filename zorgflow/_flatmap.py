"""Small read-only maps kept as flat tuples: ``{"a": 1, "b": 2}`` as ``("a", 1, "b", 2)``.

A case keeps a few maps of one or two entries (its case roles, timers and tasks) and the data
of each history record for as long as it lives. A dict of one entry takes 184 bytes, the flat
tuple 56, and the garbage collector stops tracking a tuple that holds only plain values. For
the few entries these maps hold, reading one is about as fast as reading a dict.

Keys are unique and keep the order they were put in. A flat map is never changed: `put`
returns a new one. Only `of` and `put` make one, so it always has an even length (nothing here
checks that again).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import chain
from typing import Any

#: A flat map: keys at even positions, each followed by its value.
FlatMap = tuple[Any, ...]

EMPTY: FlatMap = ()


def of(values: Mapping[Any, Any]) -> FlatMap:
    """The flat form of ``values`` (in its order)."""
    if not values:
        return EMPTY
    if len(values) == 1:  # most hold one entry: no chain for it
        ((key, value),) = values.items()
        return (key, value)
    if len(values) == 2:
        (key, value), (other, second) = values.items()
        return (key, value, other, second)
    return tuple(chain.from_iterable(values.items()))


def to_dict(flat: FlatMap) -> dict[Any, Any]:
    """The dict ``flat`` holds."""
    return dict(zip(flat[::2], flat[1::2]))  # noqa: B905 (even by construction)


def get(flat: FlatMap, key: Any, default: Any = None) -> Any:
    """The value of ``key`` in ``flat``, or ``default``."""
    if flat:
        if flat[0] == key:  # most hold one entry
            return flat[1]
        if len(flat) > 2:
            keys = flat[::2]
            if key in keys:
                return flat[2 * keys.index(key) + 1]
    return default


def keys(flat: FlatMap) -> tuple[Any, ...]:
    """The keys, in order."""
    return flat[::2]


def items(flat: FlatMap) -> Iterator[tuple[Any, Any]]:
    """(key, value) pairs, in order."""
    return zip(flat[::2], flat[1::2])  # noqa: B905 (even by construction)


def put(flat: FlatMap, key: Any, value: Any) -> FlatMap:
    """``flat`` with ``key`` set to ``value`` (in its place if it was there, else last)."""
    if len(flat) == 2 and flat[0] == key:  # most hold one entry
        return (flat[0], value)
    keys_ = flat[::2]
    if key in keys_:
        at = 2 * keys_.index(key) + 1
        return (*flat[:at], value, *flat[at + 1:])
    return (*flat, key, value)
