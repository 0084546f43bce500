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
    ├── IdempotencyMismatch          an idempotency key reused with a different request
    ├── ExampleFailed                an example in a workflow file did not go as it said
    ├── CaseMismatch (ValueError)    a case drawn over a workflow it does not belong to
    ├── SaveConflict                 `zorgflow serve`: the file changed since it was loaded
    ├── UsageError                   bad command-line use (the CLI exits 2)
    ├── ExprError                    a condition that does not parse or check (.offset)
    └── ValueProblem (ValueError)    a value that does not fit its declared type

An argument of the wrong kind (a naive datetime, a role given as one string) raises
`TypeError` or `ValueError`, as Python's own functions do.

Codes, HTTP statuses and problem details
----------------------------------------
Every `ZorgflowError` has a stable ``.code`` (text; applications and front ends may rely on
it), an ``.http_status`` (the answer a web service gives) and ``.to_problem(lang=None)``, the
error as RFC 9457 problem details: ``type`` (``urn:zorgflow:problem:<code>``, a name, not an
address to fetch), ``title`` (the code's title), ``status``, ``detail`` (the message) and
``code``; a `TransitionRejected` adds ``event`` and ``reasons`` (a list of
``{"code", "detail"}``), a `ConcurrentUpdate` adds ``case_id``, ``expected_version`` and
``actual_version``, a `WorkflowError` adds ``errors`` (file, line, column, detail each).

A refusal (`TransitionRejected`) has one code per reason (``.codes``, in the order the
reasons were checked: event, state, role, data, guard); its own ``.code`` and status are those
of its first reason. The other errors have one code per class:

======================  ======  ==========================================================
code                    status  raised as / meaning
======================  ======  ==========================================================
not_found               404     `CaseNotFound`: no case with that id is stored
unknown_workflow        404     `UnknownWorkflow`: no such workflow, version, rule set, cycle
forbidden               403     reason: the actor lacks the role, or does not hold the
                                case role, the step (or the fact) needs
separation_of_duties    403     reason: one person would hold two roles that must be held
                                by different people, or agree twice to a joint decision
conflict                409     `ConcurrentUpdate` (a save based on a stale version),
                                `SaveConflict` (a served file changed since it was read)
case_exists             409     `CaseExists`: a new case's id is taken
wrong_state             409     reason: the step is not possible in the case's state
task_done               409     reason: the task was completed already
agreement_conflict      409     reason: the joint decision was agreed to already by that
                                role, or about other data
migration_blocked       409     reason: a case cannot move by a migration plan (its state
                                maps nowhere, a fact does not fit, another version)
unknown_event           422     reason: the workflow has no such event
unknown_task            422     reason: the workflow has no such task
invalid_data            422     reason: event data or facts missing, unknown or of the
                                wrong type; `InvalidFacts`
guard_false             422     reason: the event's condition (or a fact's ``set_when``)
                                is false
guard_unknown           422     reason: that condition is unknown (facts are missing)
rejected                422     `TransitionRejected` whose reason has no code of its own
idempotency_mismatch    422     `IdempotencyMismatch`: a key reused with another request
case_format             422     `CaseFormatError`: a serialised case is malformed/altered
case_mismatch           422     `CaseMismatch`: a case drawn over another workflow
unstorable_value        422     `UnstorableValue`: a value no store can keep
invalid_value           422     `ValueProblem`: a value does not fit its declared type
rule_error              422     `RuleError`: a rule set could not be evaluated
workflow_invalid        422     `WorkflowError`: a workflow definition is wrong
rules_backend           422     `RulesBackendError`: the rules back end cannot express it
expression_invalid      422     `ExprError`: a condition does not parse or check
example_failed          422     `ExampleFailed`: an example did not go as it said
usage_error             400     `UsageError`: bad command-line use
store_error             500     `StoreError`: the store cannot do what was asked
missing_dependency      500     `MissingDependency`, `GraphvizMissing`, `TemplatesMissing`
store_unavailable       503     `StoreUnavailable`: the database could not do the step;
                                try again
zorgflow_error          500     `ZorgflowError` itself (never raised as such)
======================  ======  ==========================================================

`HTTP_STATUS` holds the same table as data (code → status).

Messages
--------
Messages exist in English and Dutch. The catalogs are package data, read at run time:
``zorgflow/messages/en.json`` and ``nl.json``, each one JSON object of message id → template
with named placeholders (``"reason.unknown_event": "unknown event '{event}'"``); both have the
same ids and placeholders. ``title.<code>`` is the title of each code; ``reason.*`` the reasons
the engine gives. The language is English unless ``lang="nl"`` is passed (`ZorgflowError.detail`,
`ZorgflowError.to_problem`, `Reason.text`) or the environment variable ``ZORGFLOW_LANG`` is
``nl`` when the error is raised: then ``str(error)`` and the ``.reasons`` are Dutch too.
Identifiers (states, events, roles, facts) are never translated. Errors whose messages are
built elsewhere (e.g. by a store or the loader) keep their English detail under a Dutch title.
"""

from __future__ import annotations

import functools
import json
import os
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from types import MappingProxyType
from typing import Any, TypeAlias

from ._frozen import Frozen, record

#: the languages messages exist in; the first is the default
LANGUAGES: tuple[str, ...] = ("en", "nl")

#: the ``type`` of a problem-details answer is this followed by the code
PROBLEM_TYPE = "urn:zorgflow:problem:"

#: every code with the HTTP status that goes with it (the table in the module docstring)
HTTP_STATUS: Mapping[str, int] = MappingProxyType({
    "not_found": 404,
    "unknown_workflow": 404,
    "forbidden": 403,
    "separation_of_duties": 403,
    "conflict": 409,
    "case_exists": 409,
    "wrong_state": 409,
    "task_done": 409,
    "agreement_conflict": 409,
    "migration_blocked": 409,
    "unknown_event": 422,
    "unknown_task": 422,
    "invalid_data": 422,
    "guard_false": 422,
    "guard_unknown": 422,
    "rejected": 422,
    "idempotency_mismatch": 422,
    "case_format": 422,
    "case_mismatch": 422,
    "unstorable_value": 422,
    "invalid_value": 422,
    "rule_error": 422,
    "workflow_invalid": 422,
    "rules_backend": 422,
    "expression_invalid": 422,
    "example_failed": 422,
    "usage_error": 400,
    "store_error": 500,
    "missing_dependency": 500,
    "store_unavailable": 503,
    "zorgflow_error": 500,
})

_LANGUAGE_TAG = re.compile(r"[-_.@]")


# -- messages --------------------------------------------------------------------------------


def language(lang: str | None = None) -> str:
    """The language to speak: ``lang`` if given (``"en"``, ``"nl"``; ``"nl-NL"`` and
    ``"nl_NL.UTF-8"`` read as ``"nl"``), else the environment variable ``ZORGFLOW_LANG``, else
    English. An unknown ``lang`` is a `ValueError`; an unknown ``ZORGFLOW_LANG`` means English,
    so that a stray setting never stops an application."""
    if lang is None:
        return _known(os.environ.get("ZORGFLOW_LANG", "")) or LANGUAGES[0]
    if not isinstance(lang, str):
        raise TypeError(f"lang must be a language code (str), not {type(lang).__name__}")
    known = _known(lang)
    if known is None:
        raise ValueError(f"no messages in language {lang!r}; zorgflow speaks "
                         f"{', '.join(LANGUAGES)}")
    return known


def _known(tag: str) -> str | None:
    base = _LANGUAGE_TAG.split(tag.strip(), maxsplit=1)[0].lower()
    return base if base in LANGUAGES else None


@functools.cache
def catalog(lang: str) -> Mapping[str, str]:
    """The message catalog of ``lang`` (message id → template), read once from the package
    data ``zorgflow/messages/<lang>.json``."""
    lang = language(lang)
    text = resources.files("zorgflow").joinpath(f"messages/{lang}.json").read_text("utf-8")
    data = json.loads(text)
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in data.items()):
        raise RuntimeError(f"zorgflow/messages/{lang}.json is not a mapping of message id to "
                           "text; the installation is damaged")
    return MappingProxyType(data)


def placeholders(template: str) -> frozenset[str]:
    """The names of the placeholders in a catalog template (``{event}`` → ``event``)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template)
                     if name is not None)


@record
class Phrase(Frozen):
    """A piece of text whose words depend on the language: a catalog message id and the
    values of its placeholders (text, or phrases and lists to say in the same language)."""

    key: str
    params: Mapping[str, Param]

    def text(self, lang: str | None = None) -> str:
        """The phrase in ``lang`` (default: see `language`)."""
        return _render(self.key, self.params, language(lang))


@record
class Joined(Frozen):
    """Items said one after the other, with the catalog's separator ``sep`` between them
    (e.g. ``sep.and``: " and " / " en "); ``sep=None`` puts nothing between them."""

    items: tuple[Param, ...]
    sep: str | None = None


#: what a placeholder of a message may hold
Param: TypeAlias = "str | Phrase | Joined"


def phrase(key: str, /, **params: Param) -> Phrase:
    """A `Phrase` of the message ``key`` with ``params``."""
    return Phrase(key, params)


def message(key: str, lang: str | None = None, /, **params: Param) -> str:
    """The catalog message ``key`` in ``lang`` (default: see `language`), its placeholders
    filled with ``params``."""
    return _render(key, params, language(lang))


def title(code: str, lang: str | None = None) -> str:
    """The short title of an error code (``"Forbidden"``, ``"Niet toegestaan"``)."""
    return _render(f"title.{code}", {}, language(lang))


def _render(key: str, params: Mapping[str, Param], lang: str) -> str:
    template = catalog(lang).get(key)
    if template is None:
        template = catalog(LANGUAGES[0])[key]
    return template.format_map({name: _say(value, lang) for name, value in params.items()})


def _say(value: Param, lang: str) -> str:
    if isinstance(value, Phrase):
        return _render(value.key, value.params, lang)
    if isinstance(value, Joined):
        sep = catalog(lang).get(value.sep, catalog(LANGUAGES[0])[value.sep]) if value.sep else ""
        return sep.join(_say(item, lang) for item in value.items)
    return str(value)


class Reason(str):
    """One reason a step was refused. It is the reason's text (a `str`, in the language of
    the moment it was made: English, or Dutch under ``ZORGFLOW_LANG=nl``) and carries a stable
    ``code`` (``forbidden``, ``wrong_state``, … see the table above), the catalog message id
    ``key`` and its ``params``, so that `text` says it in either language.

    >>> Reason("unknown_event", "reason.unknown_event", event="passend").text("nl")
    "onbekende gebeurtenis 'passend'"
    """

    code: str
    key: str
    params: Mapping[str, Param]
    lang: str

    def __new__(cls, code: str, key: str, /, **params: Param) -> Reason:
        return cls._make(code, key, params, language())

    @classmethod
    def _make(cls, code: str, key: str, params: Mapping[str, Param], lang: str) -> Reason:
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown error code {code!r}")
        self = str.__new__(cls, _render(key, params, lang))
        self.code = code
        self.key = key
        self.params = MappingProxyType(dict(params))
        self.lang = lang
        return self

    @classmethod
    def plain(cls, text: str, code: str = "rejected") -> Reason:
        """A reason given as text only (the same in every language)."""
        return cls._make(code, "reason.plain", {"text": str(text)}, language())

    def text(self, lang: str | None = None) -> str:
        """The reason in ``lang``; without ``lang``, as it was made (``str(reason)``)."""
        if lang is None:
            return str.__str__(self)
        return _render(self.key, self.params, language(lang))

    def in_language(self, lang: str | None = None) -> Reason:
        """The same reason, its text in ``lang`` (default: see `language`)."""
        lang = language(lang)
        if lang == self.lang:
            return self
        return Reason._make(self.code, self.key, self.params, lang)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reason, (self.code, self.key, dict(self.params), self.lang))


def _reason(code: str, key: str, params: Mapping[str, Param], lang: str) -> Reason:
    """A `Reason` again, for pickle and copy."""
    return Reason._make(code, key, params, lang)


# -- the errors ------------------------------------------------------------------------------


class ZorgflowError(Exception):
    """Base class of the errors zorgflow raises about workflows, cases and facts.

    ``code`` is stable text naming the kind of error, ``http_status`` the HTTP answer for it
    (both in the table of this module); `to_problem` gives the error as problem details.
    """

    #: stable text naming the kind of error (see the module's table)
    code: str = "zorgflow_error"
    #: the language the message was made in, for messages from the catalogs (else None)
    lang: str | None = None
    _phrase: Phrase | None = None

    @property
    def http_status(self) -> int:
        """The HTTP status that goes with ``code``."""
        return HTTP_STATUS.get(self.code, 500)

    def _speak(self, phrase: Phrase) -> str:
        """Remember the message as ``phrase`` and say it in the language of the moment (for
        the constructors of errors whose messages are in the catalogs)."""
        self._phrase = phrase
        self.lang = language()
        return _render(phrase.key, phrase.params, self.lang)

    def _language(self, lang: str | None) -> str:
        if lang is not None:
            return language(lang)
        return self.lang or language()

    def detail(self, lang: str | None = None) -> str:
        """The message in ``lang`` (without: as raised, ``str(error)``). Messages built from
        the catalogs exist in every language; others are in English whatever ``lang``."""
        if lang is None or self._phrase is None:
            return str(self)
        return _render(self._phrase.key, self._phrase.params, language(lang))

    def to_problem(self, lang: str | None = None) -> dict[str, Any]:
        """The error as RFC 9457 problem details, JSON-ready: ``type``
        (``urn:zorgflow:problem:<code>``), ``title``, ``status``, ``detail`` and ``code``,
        plus what the class adds. ``lang``: ``"en"`` or ``"nl"``; without it, the language the
        error was raised in."""
        lang = self._language(lang)
        problem: dict[str, Any] = {
            "type": PROBLEM_TYPE + self.code,
            "title": title(self.code, lang),
            "status": self.http_status,
            "detail": self.detail(lang),
            "code": self.code,
        }
        problem.update(self._problem_members(lang))
        return problem

    def _problem_members(self, lang: str) -> dict[str, Any]:
        """Members a class adds to its problem details."""
        return {}


@record
class Problem(Frozen):
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

    code = "workflow_invalid"

    def __init__(self, errors: Iterable[Problem]) -> None:
        self.errors: list[Problem] = sorted(errors, key=lambda p: (p.file, p.line, p.column))
        count = len(self.errors)
        super().__init__(self._speak(phrase(
            "error.workflow_invalid_one" if count == 1 else "error.workflow_invalid_many",
            count=str(count), problems="\n".join(f"  {p}" for p in self.errors))))

    def _problem_members(self, lang: str) -> dict[str, Any]:
        return {"errors": [{"file": p.file, "line": p.line, "column": p.column,
                            "detail": p.message} for p in self.errors]}


class RulesBackendError(WorkflowError):
    """The selected rules back end cannot express some rule sets of a workflow.

    ``.errors`` lists every criterion it cannot express, each with the file, line and column
    of the clause and the reason. Raised when the engine is built (or a workflow added), never
    halfway through a decision.
    """

    code = "rules_backend"


class TransitionRejected(ZorgflowError):
    """An event, start or fact change was refused. ``.reasons`` says why, readably: each a
    `Reason` (a `str` with a ``code``), in the order checked (event, state, role, data,
    guard). ``.codes`` lists their codes; ``.code`` is the first one's.

    The case given to the refused call is unchanged. Reasons given as plain text get the code
    ``rejected``.
    """

    code = "rejected"

    def __init__(self, event: str, reasons: Iterable[str], *, lang: str | None = None
                 ) -> None:
        self.event = event
        self.lang = language(lang)
        self.reasons: list[Reason] = [
            (r if isinstance(r, Reason) else Reason.plain(r)).in_language(self.lang)
            for r in reasons]
        self.codes: list[str] = [r.code for r in self.reasons]
        if self.codes:
            self.code = self.codes[0]
        super().__init__(self.detail(self.lang))

    def detail(self, lang: str | None = None) -> str:
        """``'<event>' rejected: <reason>; <reason>`` in ``lang`` (without: as raised)."""
        lang = self._language(lang)
        return message("rejected", lang, event=self.event,
                       reasons="; ".join(r.text(lang) for r in self.reasons))

    def _problem_members(self, lang: str) -> dict[str, Any]:
        return {"event": self.event,
                "reasons": [{"code": r.code, "detail": r.text(lang)} for r in self.reasons]}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rejected, (type(self), self.event, self.reasons, self.lang))


def _rejected(cls: type[TransitionRejected], event: str, reasons: Sequence[str], lang: str
              ) -> TransitionRejected:
    """A `TransitionRejected` again, for pickle and copy."""
    return cls(event, reasons, lang=lang)


class InvalidFacts(ZorgflowError, ValueError):
    """Facts given to `Engine.decide` are not facts of the workflow, or do not fit their
    declared types. A `ValueError` too. The message never shows a personal value."""

    code = "invalid_data"


class CaseFormatError(ZorgflowError):
    """A serialised case is malformed, truncated or tampered with."""

    code = "case_format"


class UnknownWorkflow(ZorgflowError):
    """No workflow (or no such version, rule set or cycle) is loaded under that name."""

    code = "unknown_workflow"


class RuleError(ZorgflowError):
    """A rule set could not be evaluated on the facts given (e.g. overlapping rows at run time)."""

    code = "rule_error"


class MissingDependency(ZorgflowError, ImportError):
    """An optional dependency (an extra such as ``zorgflow[durable]``) is not installed."""

    code = "missing_dependency"


class GraphvizMissing(MissingDependency):
    """The ``graphviz`` Python package or Graphviz's ``dot`` program is not installed."""


class TemplatesMissing(MissingDependency):
    """Jinja2, which writes the process document, is not installed."""


class StoreError(ZorgflowError):
    """The store cannot do what was asked (bad use, a schema it cannot read, no engine)."""

    code = "store_error"


class CaseNotFound(StoreError, KeyError):
    """No case with that id is stored."""

    code = "not_found"

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "case not found"


class CaseExists(StoreError):
    """`create` was given a case whose id is already stored."""

    code = "case_exists"


class ConcurrentUpdate(StoreError):
    """A save was based on an older version than the stored one; nothing was written.

    Load the case again and repeat the step (``expected`` is what the caller based its change
    on, ``actual`` what is stored now).
    """

    code = "conflict"

    def __init__(self, case_id: str, expected: int, actual: int) -> None:
        self.case_id, self.expected, self.actual = case_id, expected, actual
        super().__init__(self._speak(phrase("error.concurrent_update", case_id=str(case_id),
                                            expected=str(expected), actual=str(actual))))

    def _problem_members(self, lang: str) -> dict[str, Any]:
        return {"case_id": str(self.case_id), "expected_version": self.expected,
                "actual_version": self.actual}

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.case_id, self.expected, self.actual))


class StoreUnavailable(StoreError):
    """The database could not do the step (busy, unreachable, restarted, a deadlock); nothing
    was written. The step may be tried again."""

    code = "store_unavailable"


class UnstorableValue(StoreError, ValueError):
    """A case (or an argument) holds a value no store can keep, the same on every back end:
    a float that is NaN or infinite, text with a NUL character (``\\x00``) or a lone surrogate
    (half of a UTF-16 pair, e.g. ``"\\ud800"``, left by bad decoding), a number too long to
    write, data that is not JSON, or an id that is not text. Refused before the database is
    touched: nothing was written. The message names the fact or field, never its value.
    A `ValueError` too."""

    code = "unstorable_value"


class IdempotencyMismatch(ZorgflowError):
    """An idempotency key was used before on the case for a different request (another
    event, actor or data); nothing was done. Keys are scoped to a case: a repeated request
    must be the same request, a new request needs a new key."""

    code = "idempotency_mismatch"

    def __init__(self, case_id: str, key: str) -> None:
        self.case_id, self.key = case_id, key
        super().__init__(self._speak(phrase("error.idempotency_mismatch",
                                            case_id=str(case_id), key=str(key))))

    def _problem_members(self, lang: str) -> dict[str, Any]:
        return {"case_id": str(self.case_id)}

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.case_id, self.key))


class ExampleFailed(ZorgflowError):
    """An example did not go as it said; the message says which step and why."""

    code = "example_failed"


class CaseMismatch(ZorgflowError, ValueError):
    """A case does not belong to the workflow drawn (other workflow, or steps it lacks)."""

    code = "case_mismatch"


class SaveConflict(ZorgflowError):
    """`zorgflow serve`: the file changed on disk since the page loaded it."""

    code = "conflict"


class UsageError(ZorgflowError):
    """Bad command-line use (the CLI exits 2): a path that is not there, a wrong option."""

    code = "usage_error"


class ExprError(ZorgflowError):
    """A mistake in a condition; ``offset`` is the 0-based column inside its text."""

    code = "expression_invalid"

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class ValueProblem(ZorgflowError, ValueError):
    """A value does not fit its declared type; the message says what would. Given as a
    `Phrase`, the message is in English and `phrase` says it in any language."""

    code = "invalid_value"

    def __init__(self, message: str | Phrase) -> None:
        if isinstance(message, Phrase):
            # said in English (it goes into English messages); `to_problem` says it in any
            self._phrase = message
            message = _render(message.key, message.params, LANGUAGES[0])
        super().__init__(message)

    @property
    def phrase(self) -> str | Phrase:
        """The problem as a message's placeholder holds it: a `Phrase`, said in the language of
        the message it goes into (or, for a message given as text, that text)."""
        return self._phrase if self._phrase is not None else str(self)
