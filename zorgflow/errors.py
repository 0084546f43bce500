"""The exceptions zorgflow raises. ``ZorgflowError`` is the base of all of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class ZorgflowError(Exception):
    """Base class of the errors zorgflow raises about workflows, cases and facts. An argument
    of the wrong kind (a naive datetime, a role given as one string) raises `TypeError` or
    `ValueError`, as Python's own functions do."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in a workflow definition, with where it is.

    ``line`` and ``column`` are 1-based; 0 means the position is not known.
    """

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}: {self.message}"
        return f"{self.file}: {self.message}"


class WorkflowError(ZorgflowError):
    """A workflow definition is wrong. ``.errors`` lists every problem found."""

    def __init__(self, errors: Iterable[Problem]) -> None:
        self.errors: list[Problem] = sorted(errors, key=lambda p: (p.file, p.line, p.column))
        count = len(self.errors)
        head = f"{count} problem{'s' if count != 1 else ''} in the workflow definition"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.errors))


class TransitionRejected(ZorgflowError):
    """An event, start or fact change was refused. ``.reasons`` says why, readably.

    The case given to the refused call is unchanged.
    """

    def __init__(self, event: str, reasons: Sequence[str]) -> None:
        self.event = event
        self.reasons: list[str] = list(reasons)
        super().__init__(f"'{event}' rejected: " + "; ".join(self.reasons))


class CaseFormatError(ZorgflowError):
    """A serialised case is malformed, truncated or tampered with."""


class InvalidFacts(ZorgflowError, ValueError):
    """Facts given to `Engine.decide` are not facts of the workflow, or do not fit their
    declared types. A `ValueError` too. The message never shows a personal value."""


class UnknownWorkflow(ZorgflowError):
    """No workflow (or no such version, rule set or cycle) is loaded under that name."""


class RuleError(ZorgflowError):
    """A rule set could not be evaluated on the facts given (e.g. overlapping rows at run time)."""


class RulesBackendError(WorkflowError):
    """The selected rules back end cannot express some rule sets of a workflow.

    ``.errors`` lists every criterion it cannot express, each with the file, line and column
    of the clause and the reason. Raised when the engine is built (or a workflow added), never
    halfway through a decision.
    """


class MissingDependency(ZorgflowError, ImportError):
    """An optional dependency (an extra such as ``zorgflow[durable]``) is not installed."""
