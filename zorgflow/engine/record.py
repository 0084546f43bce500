"""The history record: one accepted step of a case, declared once.

A record is a plain tuple, in the order of `FIELDS`. A case keeps many records for a long
time, and the garbage collector stops tracking a tuple that holds only plain values (not one
that holds a dict, nor a tuple subclass such as a named tuple), so data and dossier are kept
as flat maps (name/value tuples, `zorgflow._flatmap`). `HistoryEntry` is the view users read;
`to_dict`/`from_dict` are its JSON form, which stores and `Case.to_dict` write.

To add a field: add it to `FIELDS` (its index follows), to `record`, and to `to_dict`/
`from_dict` (both the fast and the careful reading); a store that keeps it needs a column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .. import _flatmap
from ..errors import CaseFormatError
from ..model.calendar import parse_datetime
from ..model.values import number_text, to_json

#: ``{"a": 1}`` as ``("a", 1)`` (data and dossier), and back
flat = _flatmap.of
unflat = _flatmap.to_dict

#: The fields of a record, in tuple order.
FIELDS = ("seq", "at", "actor", "role", "kind", "event", "from_state", "to_state", "data",
          "workflow_version", "explanation", "dossier", "warnings")
(SEQ, AT, ACTOR, ROLE, KIND, EVENT, FROM_STATE, TO_STATE, DATA, WORKFLOW_VERSION, EXPLANATION,
 DOSSIER, WARNINGS) = range(len(FIELDS))

#: The kinds of step a record can be.
KINDS = ("start", "fire", "set_facts", "agree", "complete", "signal", "migrate")

#: A record without explanation, dossier and warnings leaves those three out (it ends after
#: ``workflow_version``): most records have none, and a case keeps its records for long. Read
#: them with `explanation_of`, `dossier_of` and `warnings_of`.
Record = tuple[Any, ...]
#: Explanation lines, or a callable that works them out from the record the first time they
#: are read (it is given the record, so it need not keep the record's time and data again).
Explanation = tuple[str, ...] | Callable[[Record], tuple[str, ...]]


def record(*, seq: int, at: datetime, actor: str, role: str | None, kind: str, event: str,
           from_state: str | None, to_state: str, data: Mapping[str, Any],
           workflow_version: int, explanation: Explanation = (),
           dossier: Mapping[str, Any] | None = None, warnings: tuple[str, ...] = ()
           ) -> Record:
    """A new record; ``data`` and ``dossier`` are kept flat."""
    if not explanation and dossier is None and not warnings:
        return (seq, at, actor, role, kind, event, from_state, to_state, flat(data),
                workflow_version)
    return (seq, at, actor, role, kind, event, from_state, to_state, flat(data),
            workflow_version, explanation, None if dossier is None else flat(dossier), warnings)


def frozen(value: Any) -> Any:
    """``value`` with every mapping made a read-only view and every list a tuple, all the
    way down: what a case hands out cannot change it (or the caller's data it was read from).
    """
    cls = value.__class__
    if cls is str or cls is int or cls is bool or cls is float or value is None:
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    return value


def frozen_facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    """A case's own copy of ``facts``, each value `frozen`."""
    own = dict(facts)
    if all_plain(own):  # most are: no call per value
        return own
    return {name: frozen(value) for name, value in own.items()}


def all_plain(values: Mapping[str, Any]) -> bool:
    """Whether `frozen` hands back every value of ``values`` as it is (checked in one C
    call)."""
    return _PLAIN.issuperset(map(type, values.values()))


#: the values `frozen` hands back as they are
_PLAIN = frozenset({str, int, bool, float, type(None)})


def explanation_of(r: Record) -> tuple[str, ...]:
    """A record's explanation lines (worked out now if they were deferred)."""
    if len(r) <= EXPLANATION:
        return ()
    lines = r[EXPLANATION]
    return tuple(lines(r)) if callable(lines) else lines


def dossier_of(r: Record) -> tuple[Any, ...] | None:
    """A record's dossier, kept `flat` (None when its step sent none)."""
    dossier: tuple[Any, ...] | None = r[DOSSIER] if len(r) > DOSSIER else None
    return dossier


def warnings_of(r: Record) -> tuple[str, ...]:
    """A record's warnings (their labels)."""
    warnings: tuple[str, ...] = r[WARNINGS] if len(r) > WARNINGS else ()
    return warnings


class Once:
    """``work(*args)``'s lines, worked out the first time they are read, then kept: an
    explanation is read rarely, long after its step, and must say what held at the step."""

    __slots__ = ("_args", "_lines", "_work")

    def __init__(self, work: Callable[..., Iterable[str]], *args: Any) -> None:
        self._work = work
        self._args = args
        self._lines: tuple[str, ...] | None = None

    def __call__(self, entry: Record | None = None) -> tuple[str, ...]:
        if self._lines is None:
            self._lines = tuple(self._work(*self._args))
        return self._lines


def to_dict(r: Record) -> dict[str, Any]:
    """A record in its JSON form (``from``/``to`` for the states; explanation and dossier only
    when there are any)."""
    result: dict[str, Any] = {
        "seq": r[SEQ], "at": r[AT].isoformat(), "actor": r[ACTOR], "role": r[ROLE],
        "kind": r[KIND], "event": r[EVENT], "from": r[FROM_STATE], "to": r[TO_STATE],
        "data": to_json(unflat(r[DATA])), "workflow_version": r[WORKFLOW_VERSION],
    }
    explanation = explanation_of(r)
    if explanation:
        result["explanation"] = list(explanation)
    dossier, warnings = dossier_of(r), warnings_of(r)
    if dossier is not None:
        result["dossier"] = to_json(unflat(dossier))
    if warnings:
        result["warnings"] = list(warnings)
    return result


def from_dict(raw: Mapping[str, Any]) -> Record:
    """A record from its JSON form; `CaseFormatError` saying what is wrong if malformed."""
    if raw.__class__ is dict:
        # the common case without a call per field; anything irregular is read below
        get = raw.get
        seq, at, actor, role = get("seq"), get("at"), get("actor"), get("role")
        kind, event, source, target = get("kind"), get("event"), get("from"), get("to")
        data, version = get("data"), get("workflow_version")
        explanation, dossier, warnings = get("explanation"), get("dossier"), get("warnings")
        if (seq.__class__ is int and at.__class__ is str and actor.__class__ is str
                and kind.__class__ is str and event.__class__ is str
                and target.__class__ is str and data.__class__ is dict
                and version.__class__ is int and (role is None or role.__class__ is str)
                and (source is None or source.__class__ is str)
                and (explanation is None or explanation.__class__ is list)
                and (dossier is None or dossier.__class__ is dict)
                and (warnings is None or warnings.__class__ is list)):
            try:
                moment = datetime.fromisoformat(at)
            except ValueError:
                moment = None
            if (moment is not None and moment.tzinfo is not None
                    and (not explanation or all(line.__class__ is str
                                                for line in explanation))
                    and (not warnings or all(line.__class__ is str for line in warnings))):
                if not explanation and dossier is None and not warnings:
                    return (seq, moment, actor, role, kind, event, source, target,
                            flat(data), version)
                return (seq, moment, actor, role, kind, event, source, target,
                        flat(data), version,
                        tuple(explanation) if explanation else (),
                        None if dossier is None else flat(dossier),
                        tuple(warnings) if warnings else ())
    if not isinstance(raw, Mapping):
        raise CaseFormatError(f"history entry: expected a mapping, got {type(raw).__name__}")
    try:
        return record(
            seq=typed(raw, "seq", int), at=parse_datetime(raw["at"]),
            actor=typed(raw, "actor", str), role=_optional(raw, "role", str),
            kind=typed(raw, "kind", str), event=typed(raw, "event", str),
            from_state=_optional(raw, "from", str), to_state=typed(raw, "to", str),
            data=typed(raw, "data", dict),
            workflow_version=typed(raw, "workflow_version", int),
            explanation=_lines(raw.get("explanation")),
            dossier=_optional(raw, "dossier", dict),
            warnings=_lines(raw.get("warnings"), "warnings"))
    except (KeyError, ValueError, TypeError) as exc:
        raise CaseFormatError(f"history entry {raw.get('seq', '?')}: {why(exc)}") from None


def signal_keys(records: Iterable[Record]) -> list[tuple[Any, Any]]:
    """(signal, due time as written) of each signal record."""
    return [(r[EVENT], unflat(r[DATA]).get("due_at")) for r in records if r[KIND] == "signal"]


def raw_signal_keys(entries: Iterable[Any]) -> list[tuple[Any, Any]]:
    """`signal_keys` of entries in JSON form, without reading them. An entry that is not a
    signal as this engine writes it matches no timer; reading the history reports what is
    wrong with it."""
    return [(e.get("event"), e["data"].get("due_at")) for e in entries
            if isinstance(e, Mapping) and e.get("kind") == "signal"
            and isinstance(e.get("data"), Mapping)]


def typed(raw: Mapping[str, Any], key: str, kind: type) -> Any:
    """``raw[key]``, refused (`TypeError`) unless it is a ``kind`` (a bool is no int)."""
    value = raw[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"'{key}' should be {kind.__name__}, is {type(value).__name__}")
    return value



def _optional(raw: Mapping[str, Any], key: str, kind: type) -> Any:
    return None if raw.get(key) is None else typed(raw, key, kind)


def _lines(value: Any, key: str = "explanation") -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
        raise TypeError(f"'{key}' should be a list of text lines")
    return tuple(value)


def outside(value: Any) -> str:
    """A value read from a case's dict, for a message: text quoted and cut short, a number
    (never a huge one written out), anything else by its kind."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return "nothing" if value is None else type(value).__name__


def why(exc: Exception) -> str:
    """What a reading error says, in words (a `KeyError` is a missing key)."""
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}"
    return str(exc)
