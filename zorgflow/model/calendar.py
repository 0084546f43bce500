"""Calendar arithmetic in Europe/Amsterdam: day boundaries, months, DST-safe durations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..errors import ValueProblem
from .workflow import Cycle, Duration, Timer

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

#: How far a timer whose interval is a fact (``after: facts.x days``) may run, either way, in
#: each unit: about 100 years. The fact is refused beyond it when it is set, so that a case's
#: timers can always be worked out (see `interval_limits`).
TIMER_LIMIT: dict[str, int] = {"days": 36_525, "weeks": 5_218, "months": 1_200, "years": 100}

_OUTSIDE = "falls outside the calendar (the years 1 to 9999)"


def require_aware(at: datetime, what: str = "at") -> datetime:
    """Refuse naive datetimes: every time in zorgflow is timezone-aware."""
    if not isinstance(at, datetime):
        raise TypeError(f"{what} must be a timezone-aware datetime, not {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (e.g. datetime.now(timezone.utc))")
    return at


def now() -> datetime:
    """The current time, aware (UTC)."""
    return datetime.now(UTC)


def local_date(at: datetime) -> date:
    """The calendar date of ``at`` in Europe/Amsterdam."""
    return at.astimezone(AMSTERDAM).date()


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months; the 31st clamps to the month's last day.

    Raises `ValueProblem` when the result would fall before the year 1 or after 9999."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not MINYEAR <= year <= MAXYEAR:
        raise ValueProblem(f"a date plus a number of months {_OUTSIDE}")
    if day.day <= 28:  # every month has it
        return date(year, month + 1, day.day)
    # December has 31 days (and the year 9999 has no next January to count back from)
    last = 31 if month == 11 else (date(year, month + 2, 1) - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last))


def days_between(start: date, end: date) -> int:
    """Whole days from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    return (end - start).days


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (31 Jan → 28 Feb counts as one)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if months > 0 and add_months(start, months) > end:
        months -= 1
    elif months < 0 and add_months(start, months) < end:
        months += 1
    return months


def add_duration(at: datetime, amount: int, unit: str) -> datetime:
    """``at`` plus a calendar duration, keeping the local (Amsterdam) wall-clock time.

    "1 month" after 31 January 09:00 is 28/29 February 09:00 local time, and "1 day" across
    a DST change is the same wall-clock time the next day (23 or 25 hours later).

    Raises `ValueProblem` when the time (or ``at`` itself, in Amsterdam or in ``at``'s own
    zone) falls before the year 1 or after 9999, never an `OverflowError`.
    """
    if unit not in TIMER_LIMIT:  # pragma: no cover - the loader only accepts the four units
        raise ValueError(f"unknown unit {unit!r}")
    try:
        local = at.astimezone(AMSTERDAM)
        day = local.date()
        if unit == "days":
            day = day + timedelta(days=amount)
        elif unit == "weeks":
            day = day + timedelta(weeks=amount)
        elif unit == "months":
            day = add_months(day, amount)
        else:
            day = add_months(day, 12 * amount)
        wall = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=AMSTERDAM)
        # Round-trip through UTC resolves a wall time that falls in a DST gap or fold.
        return wall.astimezone(UTC).astimezone(at.tzinfo)
    except OverflowError:
        raise ValueProblem(f"a time plus a number of {unit} {_OUTSIDE}") from None


def cycle_date(cycle: Cycle, on_or_after: date) -> date:
    """The first date of ``cycle`` on or after ``on_or_after`` (its first date when that is
    later). Raises `ValueProblem` or `OverflowError` when that date would fall after
    9999-12-31."""
    day = cycle.first
    step = cycle.every
    if step.unit in ("days", "weeks") and step.amount:
        period = step.amount * (7 if step.unit == "weeks" else 1)
        if on_or_after > day:
            day = day + timedelta(days=-(-(on_or_after - day).days // period) * period)
        return day
    n = 0
    while day < on_or_after:
        n += 1
        months = (step.amount or 1) * n * (12 if step.unit == "years" else 1)
        day = add_months(cycle.first, months)
    return day


def interval_limits(timers: Iterable[Timer]) -> dict[str, tuple[int, str]]:
    """For each fact that some timer takes its interval from (``after: facts.x days``): the
    largest amount it may hold either way and the unit that sets that limit (`TIMER_LIMIT`;
    the smallest when the fact is used with several units)."""
    limits: dict[str, tuple[int, str]] = {}
    for timer in timers:
        for duration in timer.after:
            if duration.fact is None:
                continue
            limit = TIMER_LIMIT[duration.unit]
            known = limits.get(duration.fact)
            if known is None or limit < known[0]:
                limits[duration.fact] = (limit, duration.unit)
    return limits


def duration_amount(duration: Duration, facts: dict[str, object]) -> int | None:
    """The amount of ``duration`` given the facts, or None when its fact is unknown."""
    if duration.fact is None:
        return duration.amount
    value = facts.get(duration.fact)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def parse_date(value: object) -> date:
    """A date from a ``date`` or an ISO ``YYYY-MM-DD`` string; ValueError otherwise."""
    if isinstance(value, datetime):
        raise ValueError("expected a date, got a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise ValueError(f"expected a date, got {type(value).__name__}")


def parse_datetime(value: object) -> datetime:
    """An aware datetime from a ``datetime`` or an ISO string with offset."""
    if isinstance(value, datetime):
        return require_aware(value, "the time")
    if isinstance(value, str):
        return require_aware(datetime.fromisoformat(value), f"'{value}'")
    raise ValueError(f"expected a date and time, got {type(value).__name__}")
