"""Three-valued (Kleene) logic: true, false and unknown."""

from __future__ import annotations

from typing import Any, Final


class _Unknown:
    """The value of a fact that is not known yet. A singleton: compare with ``is``."""

    __slots__ = ()
    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "unknown"

    def __bool__(self) -> bool:
        raise TypeError("unknown has no truth value in two-valued logic; use the Kleene helpers")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()

Truth = bool | _Unknown


def k_not(value: Any) -> Any:
    """``not``: unknown stays unknown."""
    if value is UNKNOWN:
        return UNKNOWN
    return not value


def k_and(*values: Any) -> Any:
    """``and``: false wins, then unknown, else true."""
    result: Any = True
    for value in values:
        if value is False:
            return False
        if value is UNKNOWN:
            result = UNKNOWN
    return result


def k_or(*values: Any) -> Any:
    """``or``: true wins, then unknown, else false."""
    result: Any = False
    for value in values:
        if value is True:
            return True
        if value is UNKNOWN:
            result = UNKNOWN
    return result


def truth_word(value: Any) -> str:
    """``true``, ``false`` or ``unknown`` — the words explanations use."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "unknown"
