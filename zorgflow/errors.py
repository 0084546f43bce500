"""Every exception zorgflow raises, in one tree::

    ZorgflowError
    ├── WorkflowError                a definition is wrong; .errors lists each Problem
    │   └── RulesBackendError        the chosen rules back end cannot express a rule set
    ├── TransitionRejected           a start, event or fact change was refused; .reasons
    ├── InvalidFacts (ValueError)    facts given to decide do not fit the workflow
    ├── CaseFormatError              a serialised case is malformed, truncated or altered
    ├── UnknownWorkflow              no such workflow, version, rule set or cycle is loaded
    ├── RuleError                    a rule set could not be evaluated on the facts given
    ├── MissingDependency (ImportError)   an optional extra is not installed
    │   ├── GraphvizMissing          the graphviz package or its dot program
    │   └── TemplatesMissing         Jinja2, for the process document
    ├── StoreError                   a store cannot do what was asked
    │   ├── CaseNotFound (KeyError)
    │   ├── CaseExists
    │   ├── ConcurrentUpdate         a save based on an older version; nothing written
    │   ├── StoreUnavailable         the database could not do the step; try again
    │   └── UnstorableValue (ValueError)  a value no store can keep (NaN, NUL, a surrogate)
    ├── ExampleFailed                an example in a workflow file did not go as it said
    ├── CaseMismatch (ValueError)    a case drawn over a workflow it does not belong to
    ├── SaveConflict                 `zorgflow serve`: the file changed since it was loaded
    ├── UsageError                   bad command-line use (the CLI exits 2)
    ├── ExprError                    a condition that does not parse or check (.offset)
    └── ValueProblem (ValueError)    a value that does not fit its declared type

An argument of the wrong kind (a naive datetime, a role given as one string) raises
`TypeError` or `ValueError`, as Python's own functions do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class ZorgflowError(Exception):
    """Base class of the errors zorgflow raises about workflows, cases and facts."""


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


class RulesBackendError(WorkflowError):
    """The selected rules back end cannot express some rule sets of a workflow.

    ``.errors`` lists every criterion it cannot express, each with the file, line and column
    of the clause and the reason. Raised when the engine is built (or a workflow added), never
    halfway through a decision.
    """


class TransitionRejected(ZorgflowError):
    """An event, start or fact change was refused. ``.reasons`` says why, readably.

    The case given to the refused call is unchanged.
    """

    def __init__(self, event: str, reasons: Sequence[str]) -> None:
        self.event = event
        self.reasons: list[str] = list(reasons)
        super().__init__(f"'{event}' rejected: " + "; ".join(self.reasons))


class InvalidFacts(ZorgflowError, ValueError):
    """Facts given to `Engine.decide` are not facts of the workflow, or do not fit their
    declared types. A `ValueError` too. The message never shows a personal value."""


class CaseFormatError(ZorgflowError):
    """A serialised case is malformed, truncated or tampered with."""


class UnknownWorkflow(ZorgflowError):
    """No workflow (or no such version, rule set or cycle) is loaded under that name."""


class RuleError(ZorgflowError):
    """A rule set could not be evaluated on the facts given (e.g. overlapping rows at run time)."""


class MissingDependency(ZorgflowError, ImportError):
    """An optional dependency (an extra such as ``zorgflow[durable]``) is not installed."""


class GraphvizMissing(MissingDependency):
    """The ``graphviz`` Python package or Graphviz's ``dot`` program is not installed."""


class TemplatesMissing(MissingDependency):
    """Jinja2, which writes the process document, is not installed."""


class StoreError(ZorgflowError):
    """The store cannot do what was asked (bad use, a schema it cannot read, no engine)."""


class CaseNotFound(StoreError, KeyError):
    """No case with that id is stored."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "case not found"


class CaseExists(StoreError):
    """`create` was given a case whose id is already stored."""


class ConcurrentUpdate(StoreError):
    """A save was based on an older version than the stored one; nothing was written.

    Load the case again and repeat the step (``expected`` is what the caller based its change
    on, ``actual`` what is stored now).
    """

    def __init__(self, case_id: str, expected: int, actual: int) -> None:
        self.case_id, self.expected, self.actual = case_id, expected, actual
        super().__init__(f"case {case_id} was changed by someone else: the save expected "
                         f"version {expected}, the store holds version {actual}; load it "
                         "again and repeat the step")


class StoreUnavailable(StoreError):
    """The database could not do the step (busy, unreachable, restarted, a deadlock); nothing
    was written. The step may be tried again."""


class UnstorableValue(StoreError, ValueError):
    """A case (or an argument) holds a value no store can keep, the same on every back end:
    a float that is NaN or infinite, text with a NUL character (``\\x00``) or a lone surrogate
    (half of a UTF-16 pair, e.g. ``"\\ud800"``, left by bad decoding), a number too long to
    write, data that is not JSON, or an id that is not text. Refused before the database is
    touched: nothing was written. The message names the fact or field, never its value.
    A `ValueError` too."""


class ExampleFailed(ZorgflowError):
    """An example did not go as it said; the message says which step and why."""


class CaseMismatch(ZorgflowError, ValueError):
    """A case does not belong to the workflow drawn (other workflow, or steps it lacks)."""


class SaveConflict(ZorgflowError):
    """`zorgflow serve`: the file changed on disk since the page loaded it."""


class UsageError(ZorgflowError):
    """Bad command-line use (the CLI exits 2): a path that is not there, a wrong option."""


class ExprError(ZorgflowError):
    """A mistake in a condition; ``offset`` is the 0-based column inside its text."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class ValueProblem(ZorgflowError, ValueError):
    """A value does not fit its declared type; the message says what would."""
