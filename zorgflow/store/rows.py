"""Cases as the rows a store writes, and back: one row per case, per case role, per history
entry and per personal-data value. Shared by every back end."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..engine import Case, Engine
from ..model.values import to_json
from .base import Cipher, StoreError, UnstorableValue

_PersonalNames = tuple[frozenset[str], dict[str, frozenset[str]], frozenset[str]]

#: Sequence number under which a case's current personal facts are kept (entries start at 1).
CURRENT_FACTS = 0


@dataclass(frozen=True, slots=True)
class CaseRow:
    """The ``cases`` row: everything but the roles, the history and the personal data."""

    id: str
    workflow_id: str
    workflow_version: int
    state: str
    version: int
    facts: str  # JSON, without personal data
    timers: str  # JSON: signal -> ISO time the timer started
    next_due_at: datetime | None
    #: JSON: pending agreements, open tasks, where an escalation returns to (None: nothing)
    progress: str | None = None
    #: JSON list of [signal, due time as written] of every signal entry in the history, so
    #: that a case loads without its history (None in a save: no new signal entries, the
    #: stored list stands)
    signals: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One ``history`` row; ``data`` is JSON without personal data."""

    seq: int
    at: datetime
    actor: str
    role: str | None
    kind: str
    event: str
    from_state: str | None
    to_state: str
    data: str
    workflow_version: int
    explanation: str | None  # JSON list of lines
    dossier: str | None  # JSON
    warnings: str | None = None  # JSON list of the warnings' labels


@dataclass(frozen=True, slots=True)
class PersonalRow:
    """One personal value: of the current facts (``seq`` 0) or of history entry ``seq``.
    Exactly one of ``value`` (JSON) and ``secret`` (the cipher's token of that JSON) is set."""

    seq: int
    name: str
    value: str | None
    secret: bytes | None


@dataclass(frozen=True, slots=True)
class CaseWrite:
    """Everything one save (or create) writes; made by `CaseCodec.write`."""

    row: CaseRow
    history: list[HistoryRow]
    personal: list[PersonalRow]
    facts_changed: bool


def dumps(value: Any, what: str, each: str | None = None, **where: Any) -> str:
    """Compact JSON, the way every JSON column is written, on every back end alike.

    Refuses (`UnstorableValue`) what a store cannot keep: NaN and infinite floats, text with a
    NUL character or a lone surrogate (in a value or a key), numbers too long to write and
    data that is not JSON. ``what`` names the value in the message ("the data of history entry
    {seq}", formatted with ``where`` only when refusing); for a mapping, ``each`` names the
    item at fault, with ``{key}`` for its key ("fact '{key}'"). Messages name, never show, the
    value. Floats come back as floats on PostgreSQL too (see `_NUMBER_FORMS`)."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        raise _refusal(value, what, each, where) from None
    if ((not text.isascii() and _SURROGATE.search(text))
            or ("\\u0000" in text and _NUL.search(text))):
        raise _refusal(value, what, each, where)
    if "e+" in text or "-0.0" in text:
        text = _NUMBER_FORMS.sub(_plain_number, text)
    return text


def storable_text(value: Any, what: str, *, key: bool = False, **where: Any) -> str:
    """``value`` if it is text a store can keep (in a text column); `UnstorableValue` naming
    ``what`` ("the actor id of history entry {seq}", formatted with ``where`` only when
    refusing) if it is not text, or holds a NUL character or a lone surrogate, or, for a
    ``key`` (an id the database indexes), is longer than `MAX_KEY_LENGTH`."""
    if value.__class__ is not str and not isinstance(value, str):
        raise UnstorableValue(f"{what.format(**where)} must be text (str), not "
                              f"{type(value).__name__}; nothing was written")
    if _BAD_TEXT.search(value):
        raise _unstorable(what.format(**where), _text_problem(value))
    if key and len(value) > MAX_KEY_LENGTH:
        raise UnstorableValue(f"{what.format(**where)} is {len(value)} characters long; a "
                              f"store keeps ids of at most {MAX_KEY_LENGTH}: use a shorter "
                              "one; nothing was written")
    return value


def storable_time(moment: datetime, seq: int) -> None:
    """`UnstorableValue` for the time of history entry ``seq`` when it falls before the year 1
    or after 9999 in UTC (``0001-01-01T00:00+14:00``): PostgreSQL would store it and then
    could not read the case back, so no back end keeps it. The engine never records such a
    time; a case changed outside it may hold one."""
    if moment.year not in (1, 9999):
        return
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise UnstorableValue(f"the time of history entry {seq} falls before the year 1 or "
                              "after 9999 in UTC, which the store refuses: record the step "
                              "at a time within the calendar; nothing was written") from None


#: The longest case id or case role holder a store keeps: PostgreSQL cannot index text of
#: more than about 2,700 bytes, and every back end refuses alike (4 bytes a character).
MAX_KEY_LENGTH = 500


def text_argument(value: Any, name: str, *, optional: bool = False) -> str | None:
    """An id or name given to a store method: `TypeError` if it is not a str (or None, when
    ``optional``), `UnstorableValue` if it holds what no stored text can (no case has it)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        kind = "a str or None" if optional else "a str"
        raise TypeError(f"{name} must be {kind}, not {type(value).__name__}")
    if _BAD_TEXT.search(value):
        what, _ = _text_problem(value)
        raise UnstorableValue(f"{name} holds {what}, which no stored case has: remove it and "
                              "try again")
    return value


#: Characters no store keeps in text: NUL (PostgreSQL refuses it in text and JSON) and
#: surrogates (a lone half of a UTF-16 pair cannot be written as UTF-8).
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
#: The same in JSON text (``ensure_ascii=False``): surrogates as they are, and NUL as JSON's
#: escape of it, not preceded by an escaped backslash (text that spells "\u0000" is fine).
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
#: Numbers PostgreSQL's jsonb would read back as something else: a float in exponent form
#: (jsonb keeps 1e+16 as the integer 10000000000000000) and -0.0 (jsonb has no negative
#: zero). Written as 10000000000000000.0 and 0.0, on every back end. Strings are matched
#: only to be skipped.
_NUMBER_FORMS = re.compile(r'"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?e\+\d+)|-0\.0(?=[,\]}]|$)')

_Problem = tuple[str, str]  # what the value holds, how to fix it
_NUL_PROBLEM = ("a NUL character (\\x00)", "remove it")
_SURROGATE_PROBLEM = ("a lone surrogate (half of a UTF-16 pair, as text decoded wrongly "
                      "leaves)", "decode the text as UTF-8 or remove the character")
_NUMBER_FIX = "give a finite number (or None to leave it unknown)"


def _plain_number(match: re.Match[str]) -> str:
    if match.group(1):
        return format(Decimal(match.group(1)), "f") + ".0"
    text = match.group(0)
    return text if text.startswith('"') else "0.0"


def _text_problem(text: str) -> _Problem:
    return _NUL_PROBLEM if "\x00" in text else _SURROGATE_PROBLEM


def _problem(value: Any) -> _Problem | None:
    """What in ``value`` (looking into lists and mappings) a store cannot keep, if anything."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return _text_problem(value) if _BAD_TEXT.search(value) else None
    if isinstance(value, int):
        try:
            int.__repr__(value)
        except ValueError:
            return (f"a number of more than {sys.get_int_max_str_digits()} digits",
                    "give a smaller number")
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN (not a number)", _NUMBER_FIX
        return ("an infinite number", _NUMBER_FIX) if math.isinf(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _key_problem(key)
            if found is not None:
                return found[0] + " in a name", found[1]
            found = _problem(item)
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for item in value:
            found = _problem(item)
            if found is not None:
                return found
        return None
    return (f"a {type(value).__name__} value, which is not JSON data",
            "give text, a number, true/false, a list or a mapping")


def _key_problem(key: Any) -> _Problem | None:
    """What a store cannot keep in a mapping's key (JSON writes keys as text)."""
    if isinstance(key, str | int | float) or key is None:
        return _problem(key)
    return f"a {type(key).__name__} as a name", "name it with text"


def _refusal(value: Any, what: str, each: str | None, where: dict[str, Any]
             ) -> UnstorableValue:
    """The `UnstorableValue` for a value `dumps` could not write, naming the item at fault."""
    what = what.format(**where)
    try:
        if each is not None and isinstance(value, Mapping):
            for key, item in value.items():
                problem = _key_problem(key)
                if problem is not None:
                    return _unstorable(f"a name in {what}", problem)
                problem = _problem(item)
                if problem is not None:
                    return _unstorable(each.format(key=key, **where), problem)
        problem = _problem(value)
    except RecursionError:
        problem = None
    return _unstorable(what, problem or ("data nested too deeply to write",
                                         "store it less deeply nested"))


def _unstorable(where: str, problem: _Problem) -> UnstorableValue:
    what, fix = problem
    return UnstorableValue(f"{where} holds {what}, which the store refuses: {fix} and try "
                           "again; nothing was written")


class CaseCodec:
    """Knows, through the engine, which values of a case are personal data and when its next
    timer falls due, and turns cases into rows and rows into cases."""

    def __init__(self, engine: Engine, cipher: Cipher | None = None) -> None:
        if not isinstance(engine, Engine):
            raise TypeError(f"a store needs the zorgflow Engine that runs its cases, got "
                            f"{type(engine).__name__}")
        self.engine = engine
        self.cipher = cipher
        self._personal: dict[tuple[str, int], _PersonalNames] = {}

    # -- cases to rows ---------------------------------------------------------------------
    def write(self, case: Case, after: int) -> CaseWrite:
        """What saving ``case`` writes, when the store holds its version ``after`` (0 for a
        new case): its ``cases`` row, the history entries after ``after``, and the personal
        values of these entries and, when these entries may have changed them, of the case's
        current facts (``facts_changed``: then the stored current ones are replaced)."""
        if not isinstance(case, Case):
            raise TypeError(f"expected a Case, got {type(case).__name__}")
        if isinstance(after, bool) or not isinstance(after, int):
            raise TypeError("expected_version must be the int version of the case that was "
                            "loaded")
        if after < 0:
            raise ValueError("expected_version must be 0 or more: the version of the case "
                             "that was loaded")
        # Everything is checked before the database is touched: a refusal writes nothing.
        storable_text(case.id, "the case id", key=True)
        storable_text(case.workflow_id, "the workflow id of case {case}", case=case.id)
        storable_text(case.state, "the state of case {case}", case=case.id)
        if case.version <= after:
            raise StoreError(f"case {case.id} has no history after version {after} (it is at "
                             f"version {case.version}): nothing to save")
        for role, holder in case.case_roles.items():
            storable_text(role, "a case role name of case {case}", key=True, case=case.id)
            storable_text(holder, "the holder of case role '{role}' of case {case}", key=True,
                          role=role, case=case.id)
        fact_names, event_fields, setting_events = self._personal_names(case)
        entries = case._entries_after(after)
        if [e.seq for e in entries] != list(range(after + 1, case.version + 1)):
            raise StoreError(f"case {case.id}: its history entries after {after} are not "
                             f"numbered {after + 1}..{case.version}; was the case changed "
                             "outside the engine?")
        facts, current = self._split(to_json(dict(case.facts)), fact_names)
        facts_text = dumps(facts, "the facts", "fact '{key}'")
        timers = dumps({k: v.isoformat() for k, v in case.timers.items()}, "the timers",
                       "timer '{key}'")
        pending = case._progress()
        progress = dumps(pending, "the pending agreements and tasks", "'{key}'") \
            if pending else None
        facts_changed = any(e.kind in ("start", "set_facts") or e.event in setting_events
                            for e in entries)
        personal = [self._personal_row(CURRENT_FACTS, name, value, "fact '{key}'")
                    for name, value in current.items()] if facts_changed else []
        rows = []
        for entry in entries:
            raw, seq = entry.to_dict(), entry.seq
            names = (event_fields.get(entry.event, frozenset()) if entry.kind == "fire"
                     else fact_names if entry.kind in ("start", "set_facts") else frozenset())
            field = _FIELD if entry.kind == "fire" else _FACT
            data, hidden = self._split(raw["data"], names)
            personal.extend(self._personal_row(seq, k, v, field) for k, v in hidden.items())
            actor, role, kind, event = entry.actor, entry.role, entry.kind, entry.event
            from_state, to_state = entry.from_state, entry.to_state
            texts = (actor, role or "", kind, event, from_state or "", to_state)
            try:  # one search for all of them; the careful check says which, if any
                clean = not _BAD_TEXT.search("\n".join(texts))
            except TypeError:
                clean = False
            if not clean:
                for value, name in zip(texts, _ENTRY_TEXTS, strict=True):
                    storable_text(value, name, seq=seq)
            storable_time(entry.at, seq)
            rows.append(HistoryRow(
                seq=seq, at=entry.at, actor=actor, role=role, kind=kind, event=event,
                from_state=from_state, to_state=to_state,
                data=dumps(data, "the data of history entry {seq}", field, seq=seq),
                workflow_version=entry.workflow_version,
                explanation=dumps(raw["explanation"], "the explanation of history entry {seq}",
                                  seq=seq) if "explanation" in raw else None,
                dossier=dumps(raw["dossier"], "the dossier of history entry {seq}",
                              "dossier field '{key}' of history entry {seq}", seq=seq
                              ) if "dossier" in raw else None,
                warnings=dumps(raw["warnings"], "the warnings of history entry {seq}", seq=seq
                               ) if "warnings" in raw else None))
        signals = None
        if after == 0 or any(e.kind == "signal" for e in entries):
            signals = dumps(case._signal_keys(), "the timer signals of case {case}",
                            case=case.id)
        row = CaseRow(
            id=case.id, workflow_id=case.workflow_id, workflow_version=case.workflow_version,
            state=case.state, version=case.version, facts=facts_text, timers=timers,
            next_due_at=self.engine.next_due(case), progress=progress, signals=signals)
        return CaseWrite(row, rows, personal, facts_changed)

    # -- rows to cases ---------------------------------------------------------------------
    def build(self, row: CaseRow, roles: Mapping[str, str], current: Iterable[PersonalRow],
              history: Callable[[], list[dict[str, Any]]]) -> Case:
        """The case the rows hold: ``current`` are the personal values of its current facts;
        ``history()`` gives its history entries (see `entries`), read when they are first
        needed."""
        facts = json.loads(row.facts)
        for p in current:
            facts[p.name] = self._personal_value(row.id, p)
        try:
            signals = json.loads(row.signals or "[]")
        except ValueError:
            raise StoreError(f"case {row.id}: its stored list of timer signals is not JSON"
                             ) from None
        return Case._from_store(row.id, row.workflow_id, row.workflow_version, row.state,
                                facts, dict(roles), json.loads(row.timers),
                                json.loads(row.progress) if row.progress else None,
                                version=row.version, signals=signals, history=history)

    def entries(self, case_id: str, history: Iterable[HistoryRow],
                personal: Iterable[PersonalRow]) -> list[dict[str, Any]]:
        """History rows in `HistoryEntry.to_dict` form, with the personal values of their
        entries (``personal``: rows whose ``seq`` is an entry's)."""
        values: dict[int, dict[str, Any]] = {}
        for p in personal:
            values.setdefault(p.seq, {})[p.name] = self._personal_value(case_id, p)
        return [entry_dict(h, values.get(h.seq)) for h in history]

    # -- personal data ---------------------------------------------------------------------
    def _personal_names(self, case: Case) -> _PersonalNames:
        """Personal facts, personal data fields per event, and the events that set a
        personal fact."""
        key = (case.workflow_id, case.workflow_version)
        names = self._personal.get(key)
        if names is None:
            workflow = self.engine.workflow(*key)
            facts = frozenset(f.id for f in workflow.facts.values() if f.personal_data)
            fields: dict[str, set[str]] = {}
            for transition in workflow.transitions:
                fields.setdefault(transition.event, set()).update(
                    d.id for d in transition.data.values() if d.personal_data)
            setting = frozenset(t.event for t in workflow.transitions if facts & set(t.sets))
            names = facts, {event: frozenset(f) for event, f in fields.items()}, setting
            self._personal[key] = names
        return names

    @staticmethod
    def _split(values: Mapping[str, Any], personal: frozenset[str]
               ) -> tuple[dict[str, Any], dict[str, Any]]:
        plain: dict[str, Any] = {}
        hidden: dict[str, Any] = {}
        for name, value in values.items():
            (hidden if name in personal else plain)[name] = value
        return plain, hidden

    def _personal_row(self, seq: int, name: str, value: Any, each: str) -> PersonalRow:
        """A personal value as its row; ``each`` names it in a refusal ("fact '{key}'", with
        ``{seq}`` for the history entry)."""
        text = dumps(value, each, key=name, seq=seq)
        if self.cipher is None:
            return PersonalRow(seq, name, text, None)
        return PersonalRow(seq, name, None, self.cipher.encrypt(text.encode("utf-8")))

    def _personal_value(self, case_id: str, row: PersonalRow) -> Any:
        if row.secret is None:
            return json.loads(row.value or "null")
        if self.cipher is None:
            raise StoreError(f"case {case_id} holds encrypted personal data: open the store "
                             "with the cipher it was written with (cipher=...)")
        try:
            return json.loads(self.cipher.decrypt(bytes(row.secret)).decode("utf-8"))
        except Exception as exc:  # the cipher's own error type is unknown to us
            raise StoreError(f"case {case_id}: personal value '{row.name}' of entry {row.seq} "
                             f"cannot be decrypted with this cipher ({type(exc).__name__}); "
                             "is it the key the store was written with?") from None


#: The text fields of a history entry, as a refusal names them.
_ENTRY_TEXTS = tuple(f"the {name} of history entry {{seq}}" for name in (
    "actor id", "role", "kind", "event", "from-state", "to-state"))
#: How a refusal names an item of a history entry's data: an event's data field, or a fact.
_FIELD = "data field '{key}' of history entry {seq}"
_FACT = "fact '{key}' of history entry {seq}"


def entry_dict(row: HistoryRow, personal: Mapping[str, Any] | None) -> dict[str, Any]:
    """A history row in `HistoryEntry.to_dict` form."""
    data = json.loads(row.data)
    if personal:
        data.update(personal)
    entry: dict[str, Any] = {
        "seq": row.seq, "at": row.at.isoformat(), "actor": row.actor, "role": row.role,
        "kind": row.kind, "event": row.event, "from": row.from_state, "to": row.to_state,
        "data": data, "workflow_version": row.workflow_version,
    }
    if row.explanation is not None:
        entry["explanation"] = json.loads(row.explanation)
    if row.dossier is not None:
        entry["dossier"] = json.loads(row.dossier)
    if row.warnings is not None:
        entry["warnings"] = json.loads(row.warnings)
    return entry


def utc_text(moment: datetime) -> str:
    """``moment`` as fixed-width UTC text, which sorts as time does (SQLite keeps time as
    text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_utc_text(text: str) -> datetime:
    """The reverse of `utc_text`."""
    return datetime.fromisoformat(text)


def find_filter(workflow_id: str | None, state: str | None, role_holder: str | None, *,
                mark: str, roles_table: str, after: str | None = None,
                id_column: str = "id") -> tuple[str, list[str]]:
    """The ``WHERE`` clause (or "") and its parameters behind ``Store.find``; ``mark`` is the
    back end's parameter mark (``?`` or ``%s``); ``after``: only ids that sort after it, the
    way ``id_column`` (the id as the back end orders it) sorts."""
    where, params = [], []
    for column, value in (("workflow_id", workflow_id), ("state", state)):
        if value is not None:
            where.append(f"{column} = {mark}")
            params.append(value)
    if role_holder is not None:
        where.append(f"id IN (SELECT case_id FROM {roles_table} WHERE actor_id = {mark})")
        params.append(role_holder)
    if after is not None:
        where.append(f"{id_column} > {mark}")
        params.append(after)
    return (" WHERE " + " AND ".join(where)) if where else "", params


def limit_argument(limit: Any, name: str = "limit") -> int | None:
    """A ``limit`` given to a store method: an int of 0 or more, or None (no limit); a bool or
    another type is a `TypeError`, a negative number a `ValueError`."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"{name} must be an int or None (no limit), not "
                        f"{type(limit).__name__}")
    if limit < 0:
        raise ValueError(f"{name} must be 0 or more, or None for no limit")
    return limit


def count_argument(value: Any, name: str, least: int, meaning: str) -> int:
    """An int of ``least`` or more given to a store method (``meaning`` says what it is, for
    the message): a bool or another type is a `TypeError`, a smaller number a `ValueError`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int ({meaning}), not {type(value).__name__}")
    if value < least:
        raise ValueError(f"{name} must be {least} or more: {meaning}")
    return value


def moment_argument(value: Any, name: str) -> datetime:
    """An aware datetime given to a store method: anything else is a `TypeError`, a naive one
    (no time zone) a `ValueError`."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), e.g. "
                         "datetime.now(ZoneInfo('Europe/Amsterdam'))")
    return value


def key_argument(value: Any, name: str) -> str:
    """An id a store indexes, given to a store method: `text_argument`, and `UnstorableValue`
    when it is longer than `MAX_KEY_LENGTH`."""
    text_argument(value, name)
    text: str = value
    if len(text) > MAX_KEY_LENGTH:
        raise UnstorableValue(f"{name} is {len(text)} characters long; a store keeps ids of at "
                              f"most {MAX_KEY_LENGTH}: use a shorter one; nothing was written")
    return text
