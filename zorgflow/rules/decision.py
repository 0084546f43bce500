"""`Decision`: what a rule set answered, which criteria or rows held, and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .expr import MASK
from .logic import UNKNOWN, truth_word


class Decision:
    """The answer of a rule set on some facts.

    ``outcome`` is the rule set's answer (criteria: the ids that hold; table: the output row,
    or the list of rows under ``collect``; ranking: the ordered eligible candidates), ``None``
    when there is none. ``matched`` lists the ids of the criteria, rows or candidates that
    held, in definition (ranking: rank) order. ``holds`` is true, false or unknown.
    ``explanation`` (readable lines) is built only when read.

    ``personal`` is true when the outcome is personal data (a ranking over a fact marked
    ``personal_data``: the candidates' ids). Then `as_text`, `to_dict`, ``repr`` and the
    explanation show `MASK` in place of ids and candidate values; ``outcome`` and ``matched``
    keep the real values for the application to use.
    """

    __slots__ = ("_env", "_explain", "_lines", "holds", "matched", "outcome", "personal",
                 "rule_set", "undecided")

    def __init__(
        self,
        rule_set: str,
        outcome: Any,
        matched: list[str],
        holds: Any,
        explain: Callable[..., list[str]],
        env: Any = None,
        undecided: tuple[str, ...] = (),
        personal: bool = False,
    ) -> None:
        self.rule_set = rule_set
        self.outcome = outcome
        self.matched = matched
        self.holds = holds
        self._explain = explain
        self._env = env
        self._lines: list[str] | None = None
        #: ids of criteria whose value is unknown (criteria rule sets)
        self.undecided = undecided
        self.personal = personal

    @property
    def explanation(self) -> list[str]:
        """One line per criterion/row and per clause: true, false or unknown, with values."""
        if self._lines is None:
            self._lines = self._explain(self._env) if self._env is not None else self._explain()
            self._env = None
        return list(self._lines)

    @property
    def unknown(self) -> bool:
        """True when the answer depends on facts not yet known."""
        return self.holds is UNKNOWN

    def as_text(self) -> str:
        """The explanation as one block of text, headed by the outcome."""
        head = f"{self.rule_set}: {truth_word(self.holds)}"
        if self.matched:
            head += " (" + ", ".join(self.shown_matched) + ")"
        return "\n".join([head, *self.explanation])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: rule set, outcome, matched, holds and explanation."""
        return {
            "rule_set": self.rule_set,
            "outcome": self.shown_outcome,
            "matched": self.shown_matched,
            "holds": truth_word(self.holds),
            "explanation": self.explanation,
        }

    def __repr__(self) -> str:
        return (f"Decision(rule_set={self.rule_set!r}, outcome={self.shown_outcome!r}, "
                f"matched={self.shown_matched!r})")

    @property
    def shown_matched(self) -> list[str]:
        """``matched`` as reports show it: masked when it is personal data."""
        return [MASK] * len(self.matched) if self.personal else list(self.matched)

    @property
    def shown_outcome(self) -> Any:
        """``outcome`` as reports show it: ranked candidates' ids masked when personal."""
        if not self.personal or not isinstance(self.outcome, list):
            return self.outcome
        return [{**entry, "id": MASK} if isinstance(entry, dict) else MASK
                for entry in self.outcome]
