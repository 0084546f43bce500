"""Which rows of a decision table can match the same input: a sweep, not a pairwise test.

Each input of a table has a list of representative sample values (index 0 is "unknown");
each cell of a row covers some of them, as a few intervals of sample indices (a range or a
comparison is one interval found by bisection on sorted numbers, ``in`` a few points, ``!=``
two intervals). Two rows overlap when their covers meet on every input. The search sweeps
the first input for the groups of rows whose intervals share a point (the maximal cliques of
an interval graph), and sweeps each such group on the next input, and so on: rows that are
apart on some input are never compared, so a table whose rows are told apart by one input
costs O(n log n) per input instead of the n² pairs the obvious test examines.

The work is bounded (`OVERLAP_STEPS`); a check that hits the bound says so instead of
hanging the loader.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._frozen import Frozen, record
from ..model import Cell

Cover = tuple[tuple[int, int], ...]
"""Sorted, disjoint, inclusive intervals of sample indices that a cell matches."""

OVERLAP_STEPS = 4_000_000
"""Bound on the sweep's work (interval events handled plus pairs recorded)."""

OVERLAP_PAIRS = 10_000
"""Stop collecting overlapping pairs beyond this many: the table needs rework anyway."""


@record
class PairSearch(Frozen):
    """The overlapping row pairs found (row indices, ``a < b``), in row order."""

    pairs: tuple[tuple[int, int], ...]
    complete: bool
    """False when the work bound or the pair bound stopped the search early."""


def cover_of(cell: Cell | None, samples: Sequence[Any], index: Mapping[Any, int],
             numeric: bool, test: Callable[[Any], Any]) -> Cover:
    """The sample indices ``cell`` matches; ``test`` is the cell's own test (the reference,
    used where no faster way applies). ``samples[0]`` is the unknown value."""
    last = len(samples) - 1
    op = "any" if cell is None else cell.op
    if op == "any":
        return ((0, last),)
    if op == "absent":
        return ((0, 0),)
    assert cell is not None
    try:
        if op == "eq":
            k = index.get(cell.values[0])
            return () if k is None or k == 0 else ((k, k),)
        if op == "in":
            points = sorted({k for v in cell.values if (k := index.get(v))})
            return _runs(points)
        if op == "ne":
            k = index.get(cell.values[0])
            if k is None or k == 0:
                return ((1, last),) if last >= 1 else ()
            return tuple((lo, hi) for lo, hi in ((1, k - 1), (k + 1, last)) if lo <= hi)
        if numeric:
            numbers = samples[1:]
            lo, hi = _bounds(cell, numbers)
            return ((lo + 1, hi),) if lo < hi else ()
    except TypeError:  # a value of the wrong type (reported elsewhere): scan instead
        pass
    return _runs([k for k in range(1, last + 1) if _holds(test, samples[k])])


def _bounds(cell: Cell, numbers: Sequence[Any]) -> tuple[int, int]:
    """Half-open positions ``[lo, hi)`` in the sorted ``numbers`` that the cell matches."""
    op, values = cell.op, cell.values
    if op == "range":
        return bisect.bisect_left(numbers, values[0]), bisect.bisect_right(numbers, values[1])
    x = values[0]
    if op == "lt":
        return 0, bisect.bisect_left(numbers, x)
    if op == "le":
        return 0, bisect.bisect_right(numbers, x)
    if op == "gt":
        return bisect.bisect_right(numbers, x), len(numbers)
    if op == "ge":
        return bisect.bisect_left(numbers, x), len(numbers)
    raise TypeError(op)


def _holds(test: Callable[[Any], Any], value: Any) -> bool:
    try:
        return test(value) is True
    except TypeError:
        return False


def _runs(points: Sequence[int]) -> Cover:
    runs: list[tuple[int, int]] = []
    for k in points:
        if runs and runs[-1][1] == k - 1:
            runs[-1] = (runs[-1][0], k)
        else:
            runs.append((k, k))
    return tuple(runs)


def first_common(a: Cover, b: Cover) -> int | None:
    """The smallest sample index both covers hold, or None."""
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        if lo <= min(a[i][1], b[j][1]):
            return lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return None


def overlapping_pairs(covers: Sequence[Sequence[Cover]], widths: Sequence[int], *,
                      steps: int = OVERLAP_STEPS, max_pairs: int = OVERLAP_PAIRS
                      ) -> PairSearch:
    """Pairs of rows whose covers meet on every input.

    ``covers[row][input]`` is a row's cover of that input; ``widths[input]`` the number of
    samples of the input (a cover ``((0, width - 1),)`` matches everything).
    """
    depth_count = len(widths)
    found: set[tuple[int, int]] = set()
    seen: set[tuple[int, frozenset[int]]] = set()
    budget = [steps]

    def search(group: list[int], depth: int) -> bool:
        """False once a bound is reached."""
        if depth == depth_count:
            for pair in itertools.combinations(sorted(group), 2):
                found.add(pair)
                budget[0] -= 1
                if budget[0] <= 0 or len(found) > max_pairs:
                    return False
            return True
        key = (depth, frozenset(group))
        if key in seen:
            return True
        seen.add(key)
        full = ((0, widths[depth] - 1),)
        if all(covers[r][depth] == full for r in group):
            return search(group, depth + 1)
        events: list[tuple[int, int, int]] = []
        for r in group:
            for lo, hi in covers[r][depth]:
                events.append((lo, 1, r))
                events.append((hi + 1, 0, r))  # ends sort before starts at the same index
        budget[0] -= len(events)
        if budget[0] <= 0:
            return False
        events.sort()
        active: dict[int, None] = {}
        grew = False
        for _, starts, r in events:
            if starts:
                active[r] = None
                grew = True
                continue
            if grew and len(active) > 1 and not search(list(active), depth + 1):
                return False
            grew = False
            del active[r]
        return True

    complete = search(list(range(len(covers))), 0) if covers else True
    return PairSearch(tuple(sorted(found)), complete)
