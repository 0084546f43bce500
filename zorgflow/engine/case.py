"""Plain-data runtime objects: `Actor`, `Case`, `HistoryEntry`, `Signal`.

A `Case` is immutable: the engine returns a new one for every accepted change, so a refused
call can never leave a half-changed case behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import EllipsisType, MappingProxyType
from typing import Any

from .. import _flatmap as flatmap
from .._flatmap import FlatMap
from .._frozen import Frozen
from ..errors import CaseFormatError
from ..model.calendar import parse_datetime
from ..model.values import number_text, to_json
from . import digest
from .digest import Key
from .facts import Facts
from .record import (
    ACTOR,
    AT,
    DATA,
    EVENT,
    FROM_STATE,
    KIND,
    ROLE,
    SEQ,
    TO_STATE,
    WORKFLOW_VERSION,
    Once,
    Record,
    all_plain,
    dossier_of,
    explanation_of,
    flat,
    from_dict,
    frozen_facts,
    outside,
    raw_signal_keys,
    record,
    signal_keys,
    to_dict,
    typed,
    unflat,
    warnings_of,
    why,
)

FORMAT = "zorgflow.case"
FORMAT_VERSION = 1


class Actor:
    """Someone acting on cases: an id and the organisational roles they hold."""

    __slots__ = ("id", "roles")

    def __init__(self, id: str, roles: Iterable[str] = ()) -> None:
        if not isinstance(id, str) or not id:
            raise ValueError("an actor needs a non-empty text id")
        if isinstance(roles, str):
            raise TypeError("roles must be a collection of role ids, not one string: "
                            f"use roles={{{roles!r}}}")
        roles = frozenset(roles)
        for role in roles:
            if not isinstance(role, str):
                raise TypeError(f"role ids must be text, not {type(role).__name__}")
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "roles", roles)

    id: str
    roles: frozenset[str]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"an Actor cannot be changed (its '{name}' neither): make a new "
                             "Actor")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("an Actor cannot be changed: make a new Actor")

    def __repr__(self) -> str:
        return f"Actor({self.id!r}, roles={sorted(self.roles)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Actor) and (self.id, self.roles) == (other.id, other.roles)

    def __hash__(self) -> int:
        return hash((self.id, self.roles))


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Signal(Frozen):
    """A timer signal: its name, when it is (or was) due, and a label."""

    name: str
    due_at: datetime
    label: str = ""


def _field(index: int, doc: str) -> Any:
    return property(lambda self: self._r[index], doc=doc)


class HistoryEntry:
    """One accepted step of a case. ``kind`` is start, fire, set_facts or signal.

    Read-only (attributes are properties). ``explanation`` (the guard's explanation for
    guarded events) is produced the first time it is read.
    """

    __slots__ = ("_r",)

    def __init__(
        self,
        seq: int,
        at: datetime,
        actor: str,
        role: str | None,
        kind: str,
        event: str,
        from_state: str | None,
        to_state: str,
        data: Mapping[str, Any],
        workflow_version: int,
        explanation: tuple[str, ...] | Callable[[], Iterable[str]] = (),
        dossier: Mapping[str, Any] | None = None,
        warnings: Iterable[str] = (),
    ) -> None:
        self._r: Record = record(
            seq=seq, at=at, actor=actor, role=role, kind=kind, event=event,
            from_state=from_state, to_state=to_state, data=data,
            workflow_version=workflow_version,
            explanation=Once(explanation) if callable(explanation) else explanation,
            dossier=dossier, warnings=tuple(warnings))

    @classmethod
    def _view(cls, r: Record) -> HistoryEntry:
        entry = cls.__new__(cls)
        entry._r = r
        return entry

    seq = _field(SEQ, "1-based position in the history.")
    at = _field(AT, "When it happened (aware datetime).")
    actor = _field(ACTOR, "Id of the actor (``zorgflow`` for signals).")
    role = _field(ROLE, "The role the actor acted under.")
    kind = _field(KIND, "start, fire, set_facts or signal.")
    event = _field(EVENT, "The event (or signal) name.")
    from_state = _field(FROM_STATE, "State before (None for start).")
    to_state = _field(TO_STATE, "State after.")
    workflow_version = _field(WORKFLOW_VERSION, "Workflow version used.")

    @property
    def data(self) -> Mapping[str, Any]:
        """Event data, facts set, or signal details (read-only)."""
        return MappingProxyType(frozen_facts(unflat(self._r[DATA])))

    @property
    def dossier(self) -> Mapping[str, Any] | None:
        """What an event with ``sends: anonymous_dossier`` sent on (read-only)."""
        dossier = dossier_of(self._r)
        return None if dossier is None else MappingProxyType(frozen_facts(unflat(dossier)))

    @property
    def explanation(self) -> tuple[str, ...]:
        """The guard's explanation (empty for unguarded steps)."""
        return explanation_of(self._r)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The soft conditions that held at this step (their Dutch labels), in the order the
        workflow declares them; a warning never refuses a step."""
        return warnings_of(self._r)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HistoryEntry) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        r = self._r
        return (f"HistoryEntry(seq={r[SEQ]}, kind={r[KIND]!r}, event={r[EVENT]!r}, "
                f"{r[FROM_STATE]} -> {r[TO_STATE]}, actor={r[ACTOR]!r})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return to_dict(self._r)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> HistoryEntry:
        """Read what `to_dict` wrote. Raises `CaseFormatError`."""
        return cls._view(from_dict(raw))


class _StoredEntries:
    """History entries read from stored data, turned into records the first time the history
    is read. Shared by every later version of the case, so that happens once."""

    __slots__ = ("_parsed", "_raw")

    def __init__(self, raw: list[Any]) -> None:
        self._raw: list[Any] | None = raw
        self._parsed: tuple[Record, ...] = ()

    def __len__(self) -> int:
        raw = self._raw
        return len(raw) if raw is not None else len(self._parsed)

    def signal_keys(self) -> list[tuple[Any, Any]]:
        raw = self._raw
        return signal_keys(self._parsed) if raw is None else raw_signal_keys(raw)

    def parsed(self) -> tuple[Record, ...]:
        raw = self._raw  # once: another thread may finish parsing meanwhile
        if raw is not None:
            parsed = tuple(from_dict(e) for e in raw)
            _check_contiguous(parsed)
            self._parsed = parsed
            self._raw = None
        return self._parsed


class _EntriesLater(_StoredEntries):
    """History entries a store reads only when the history is first read (`Case.history`,
    `Case.to_dict`, a save of entries before the version loaded). The case row gives how many
    there are and the timer signals among them, which is all the engine needs otherwise.

    ``read`` returns the entries in `HistoryEntry.to_dict` form, oldest first: the ``count``
    entries of the version loaded, never newer ones. Shared by every later version of the
    case, so it is called at most once (twice if two threads read the history at once)."""

    __slots__ = ("_count", "_read", "_signals", "_state")

    def __init__(self, count: int, signals: list[tuple[Any, Any]],
                 read: Callable[[], list[Any]], state: str) -> None:
        super().__init__([])
        self._raw = None
        self._count = count
        self._signals = signals
        self._read: Callable[[], list[Any]] | None = read
        self._state = state  # where the history must end

    def __len__(self) -> int:
        return self._count

    def signal_keys(self) -> list[tuple[Any, Any]]:
        return list(self._signals)

    def parsed(self) -> tuple[Record, ...]:
        read = self._read  # once: another thread may finish reading meanwhile
        if read is not None:
            raw = read()
            if len(raw) != self._count:
                raise CaseFormatError(f"the store gave {len(raw)} history entries for a case "
                                      f"at version {self._count}")
            _check_stored_history(self._state, raw)
            parsed = tuple(from_dict(e) for e in raw)
            _check_contiguous(parsed)
            self._parsed = parsed
            self._read = None
        return self._parsed


class Case:
    """One case: its workflow version, state, facts, case roles and history.

    Treat it as a value: the engine never changes a case, it returns a new one.
    """

    __slots__ = ("_agreements", "_entries", "_facts", "_history", "_id", "_normalised",
                 "_returns_to", "_roles", "_state", "_stored", "_tasks", "_timers",
                 "_workflow_id", "_workflow_version")

    def __init__(
        self,
        id: str,
        workflow_id: str,
        workflow_version: int,
        state: str,
        facts: Mapping[str, Any],
        case_roles: Mapping[str, str] | FlatMap,
        history: tuple[Record, ...],
        timers: Mapping[str, datetime] | FlatMap,
        *,
        normalised: bool = True,
        stored: _StoredEntries | None = None,
        agreements: Agreements | None = None,
        tasks: Mapping[str, TaskRecord] | FlatMap | None = None,
        returns_to: str | None = None,
    ) -> None:
        self._id = id
        self._workflow_id = workflow_id
        self._workflow_version = workflow_version
        self._state = state
        self._facts = Facts.of(facts)
        # case roles, timers and tasks: a case keeps them as flat maps (zorgflow._flatmap)
        self._roles: FlatMap = _flat(case_roles)
        self._history = tuple(history)  # (a tuple passes as it is; steps add to it)
        self._timers: FlatMap = _flat(timers)
        self._agreements: Agreements = agreements if agreements is not None else _NONE
        self._tasks: FlatMap = _task_map(tasks) if tasks is not None else flatmap.EMPTY
        self._returns_to = returns_to
        self._normalised = normalised
        # Entries read from storage and not parsed yet; they come before ``_history``.
        self._stored = stored
        self._entries: tuple[HistoryEntry, ...] | None = None  # the views, once read

    id = property(lambda self: self._id, doc="The case id.")
    workflow_id = property(lambda self: self._workflow_id, doc="The workflow's id.")
    workflow_version = property(lambda self: self._workflow_version,
                                doc="The workflow version this case runs on.")
    state = property(lambda self: self._state, doc="The current state id.")

    @property
    def history(self) -> tuple[HistoryEntry, ...]:
        """Every accepted step, oldest first."""
        entries = self._entries
        if entries is None:
            view = HistoryEntry._view
            entries = self._entries = tuple(view(r) for r in self._records())
        return entries

    def _records(self) -> tuple[Record, ...]:
        # Never rewrites the case's own fields: threads may share a case.
        stored = self._stored
        return self._history if stored is None else stored.parsed() + self._history

    @property
    def facts(self) -> Mapping[str, Any]:
        """The known facts (read-only). A fact not in here is unknown."""
        return MappingProxyType(self._facts.to_dict())

    @property
    def case_roles(self) -> Mapping[str, str]:
        """Case role → the id of the actor assigned to it in this case."""
        return MappingProxyType(flatmap.to_dict(self._roles))

    @property
    def agreements(self) -> Mapping[str, Mapping[str, str]]:
        """Pending joint decisions: event → {role: id of the actor who agreed}. An event
        leaves here when the last agreement makes it take effect, and every pending agreement
        lapses when the case leaves its state."""
        return MappingProxyType({event: MappingProxyType(dict(roles))
                                 for event, (roles, _) in self._agreements.items()})

    @property
    def timers(self) -> Mapping[str, datetime]:
        """Signal name → when its timer (re)started."""
        return MappingProxyType(flatmap.to_dict(self._timers))

    @property
    def version(self) -> int:
        """Number of history entries; a store uses it for optimistic concurrency."""
        stored = self._stored
        return len(self._history) + (len(stored) if stored is not None else 0)

    def _entries_after(self, seq: int) -> tuple[HistoryEntry, ...]:
        """The entries after sequence number ``seq``, without reading stored ones before it."""
        stored = self._stored
        if stored is not None and seq >= len(stored):
            records = self._history[seq - len(stored):]
        else:
            records = self._records()[seq:]
        return tuple(HistoryEntry._view(r) for r in records)

    def _signal_keys(self) -> list[tuple[Any, Any]]:
        """(signal, due time as written) of every signal entry, oldest first. Reads stored
        entries only for their kind; a case loaded from a store has them from its row."""
        stored = self._stored
        own = signal_keys(self._history)
        return own if stored is None else stored.signal_keys() + own

    def _signals_recorded(self) -> set[tuple[str, Any]]:
        """(signal, due time) of every signal entry, due times as aware datetimes: compared as
        instants, since a case read back from storage has fixed UTC offsets where the engine
        computes with Europe/Amsterdam. Reads stored entries only for their kind."""
        found = set()
        for name, due_at in self._signal_keys():
            try:
                found.add((name, parse_datetime(due_at)))
            except (ValueError, TypeError):
                continue  # not a due time this engine wrote; it matches no timer
        return found

    def _evolve(self, *records: Record, state: str | None = None,
                facts: Facts | None = None, case_roles: FlatMap | None = None,
                timers: FlatMap | None = None,
                agreements: Agreements | None = None,
                tasks: FlatMap | None = None,
                returns_to: str | EllipsisType | None = ...) -> Case:
        """The next version of this case: ``records`` appended to its history, the fields
        given replaced and the rest shared (a case is never changed, so sharing is safe)."""
        new = Case.__new__(Case)
        new._id = self._id
        new._workflow_id = self._workflow_id
        new._workflow_version = self._workflow_version
        new._state = self._state if state is None else state
        new._facts = self._facts if facts is None else facts
        new._roles = self._roles if case_roles is None else case_roles
        new._history = self._history + records if records else self._history
        new._timers = self._timers if timers is None else timers
        new._agreements = self._agreements if agreements is None else agreements
        new._tasks = self._tasks if tasks is None else tasks
        new._returns_to = (self._returns_to if isinstance(returns_to, EllipsisType)
                           else returns_to)
        new._normalised = True
        new._stored = self._stored
        new._entries = None
        return new

    def _checked(self, facts: Facts) -> Case:
        """This case checked against its workflow, holding ``facts`` (typed): `_evolve` with
        facts only, made on the first step of every case read from outside."""
        new = Case.__new__(Case)
        new._id = self._id
        new._workflow_id = self._workflow_id
        new._workflow_version = self._workflow_version
        new._state = self._state
        new._facts = facts
        new._roles = self._roles
        new._history = self._history
        new._timers = self._timers
        new._agreements = self._agreements
        new._tasks = self._tasks
        new._returns_to = self._returns_to
        new._normalised = True
        new._stored = self._stored
        new._entries = None
        return new

    def _next(self, entry: Record, state: str, facts: Facts, case_roles: FlatMap,
              timers: FlatMap, agreements: Agreements, tasks: FlatMap,
              returns_to: str | None) -> Case:
        """`_evolve` for one step's record, every field given (made on every step: no
        keywords, no defaults to look at). `zorgflow.engine.step.quick_fire` makes the next
        case the same way, without the call: a new field goes there too."""
        new = Case.__new__(Case)
        new._id = self._id
        new._workflow_id = self._workflow_id
        new._workflow_version = self._workflow_version
        new._state = state
        new._facts = facts
        new._roles = case_roles
        new._history = (*self._history, entry)
        new._timers = timers
        new._agreements = agreements
        new._tasks = tasks
        new._returns_to = returns_to
        new._normalised = True
        new._stored = self._stored
        new._entries = None
        return new

    def __repr__(self) -> str:
        return (f"<Case {self._id} {self._workflow_id} v{number_text(self._workflow_version)} "
                f"state={self._state} history={self.version}>")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Case) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self, *, key: Key | None = None, key_id: str | None = None) -> dict[str, Any]:
        """A JSON-serialisable, versioned form with a digest.

        Without ``key`` the digest is a plain SHA-256: it catches accidents (truncation, a
        stray edit), not forgery, since anyone can recompute it. With ``key`` (bytes, at
        least 16) the case is signed: ``hmac-sha256:<key_id>:<hex>``, which only a holder of
        the key can produce. For rotation pass every key by id (``{key_id: bytes}``) and
        ``key_id=`` for the one that signs; a single key is written with id ``default``
        unless ``key_id`` says otherwise.
        """
        body: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "id": self._id,
            "workflow": {"id": self._workflow_id, "version": self._workflow_version},
            "state": self._state,
            "facts": to_json(self._facts.to_dict()),
            "case_roles": flatmap.to_dict(self._roles),
            "timers": {k: v.isoformat() for k, v in flatmap.items(self._timers)},
            "history": [HistoryEntry._view(r).to_dict() for r in self._records()],
        }
        body.update(self._progress())
        body["digest"] = digest.sign(body, key, key_id)
        return body

    def _progress(self) -> dict[str, Any]:
        """What a case holds besides its state, facts, roles and timers, in JSON form: the
        pending agreements and the tasks (only keys that hold something, so a case without any
        has the form, and the digest, of an earlier release)."""
        progress: dict[str, Any] = {}
        if self._agreements:
            progress["agreements"] = {
                event: {"roles": dict(roles), "data": to_json(unflat(data))}
                for event, (roles, data) in self._agreements.items()}
        if self._tasks:
            progress["tasks"] = {tid: _task_json(record)
                                 for tid, record in flatmap.items(self._tasks)}
        if self._returns_to is not None:
            progress["returns_to"] = self._returns_to
        return progress

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, verify: bool = True, key: Key | None = None,
                  key_id: str | None = None) -> Case:
        """Read what `to_dict` wrote; refuses a truncated or altered dict (`CaseFormatError`).

        With ``key`` (what `to_dict` signed with: bytes, or ``{key_id: bytes}`` of every key
        still accepted) only a case signed with one of those keys is read; a case with a plain
        digest is refused, as anyone could have recomputed it. Without ``key`` a plain digest
        is checked, and a signed case is refused (its signature cannot be checked). Read data
        from outside your own storage under a key.

        With ``verify=True`` (the default) the digest is recomputed and every history entry is
        read and checked now. ``verify=False`` is for data that comes from storage which already
        guarantees its integrity (a database transaction, a store of your own): the digest is
        not recomputed, the case's own fields are still checked, the history's length and its
        first and last entries are checked, and each entry is read from the list given the
        first time the history is read (a malformed entry then raises `CaseFormatError`; leave
        the list unchanged meanwhile). It makes a restore several times cheaper; never use it
        for data that crossed a trust boundary. Under a key, once the signature checks, the
        entries are read when first needed too (only a holder of the key can have written
        them), from the bytes the signature was checked on, not from the list given.

        Facts come back as JSON values (dates as text) until an `Engine` first uses the case,
        which checks them against the workflow's declared types.
        """
        try:
            return cls._read(raw, verify, key, key_id)
        except RecursionError:  # JSON from outside may nest thousands deep
            raise CaseFormatError("case data is nested too deeply to read") from None

    @classmethod
    def _read(cls, raw: Mapping[str, Any], verify: bool, key: Key | None,
              key_id: str | None) -> Case:
        """`from_dict`, but for data nested too deeply (`RecursionError`)."""
        if not isinstance(raw, Mapping):
            raise CaseFormatError(f"expected a mapping, got {type(raw).__name__}")
        if raw.get("format") != FORMAT:
            raise CaseFormatError(f"not a zorgflow case (format {outside(raw.get('format'))})")
        if raw.get("format_version") != FORMAT_VERSION:
            version = outside(raw.get("format_version"))
            raise CaseFormatError(f"case format version {version} is not supported (this "
                                  f"zorgflow reads version {FORMAT_VERSION})")
        if not verify:
            if key is not None:
                raise ValueError("key= checks a signature, which verify=False skips: "
                                 "drop one of the two")
            trusted = cls._read_trusted(raw)
            if trusted is not None:
                return trusted
            # something is off: the careful reading below says precisely what
        missing = [k for k in _CASE_KEYS if k not in raw]
        if missing:
            raise CaseFormatError(f"case is truncated: missing {', '.join(missing)}")
        if verify:
            body = {k: v for k, v in raw.items() if k != "digest"}
            checked = digest.check(body, raw["digest"], key, key_id)
        # a signature that checks means `to_dict` wrote the case: as sound as our own storage
        eager = verify and key is None
        if verify and not eager:
            signed = cls._read_trusted(raw)
            if signed is not None:
                signed._stored = _signed_entries(checked, raw["history"], signed._state)
                return signed
        try:
            workflow = typed(raw, "workflow", dict)
            entries = typed(raw, "history", list)
            stored: _StoredEntries | None = None
            if not verify:
                stored = _StoredEntries(entries)
            elif not eager:
                stored = _signed_entries(checked, entries, typed(raw, "state", str))
            case = cls(
                id=typed(raw, "id", str),
                workflow_id=typed(workflow, "id", str),
                workflow_version=typed(workflow, "version", int),
                state=typed(raw, "state", str),
                facts=frozen_facts(typed(raw, "facts", dict)),
                case_roles=_case_roles(typed(raw, "case_roles", dict)),
                history=tuple(from_dict(e) for e in entries) if eager else (),
                timers={k: parse_datetime(v) for k, v in typed(raw, "timers", dict).items()},
                normalised=False,
                stored=stored,
                agreements=read_agreements(raw.get("agreements")),
                tasks=read_tasks(raw.get("tasks")),
                returns_to=_optional_text(raw, "returns_to"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise CaseFormatError(f"malformed case: {why(exc)}") from None
        if eager:
            _check_history(case)
        else:
            _check_stored_history(case.state, entries)
        return case

    @classmethod
    def _read_trusted(cls, raw: Mapping[str, Any]) -> Case | None:
        """`from_dict(raw, verify=False)` for a well-formed dict, with no call per field (it
        is on the path of every restore from storage); None when anything is irregular."""
        try:
            id, workflow, state = raw["id"], raw["workflow"], raw["state"]
            facts, roles, timers = raw["facts"], raw["case_roles"], raw["timers"]
            entries, _ = raw["history"], raw["digest"]
            workflow_id, workflow_version = workflow["id"], workflow["version"]
        except (KeyError, TypeError):
            return None
        if (id.__class__ is not str or state.__class__ is not str
                or workflow.__class__ is not dict or workflow_id.__class__ is not str
                or workflow_version.__class__ is not int
                or facts.__class__ is not dict or roles.__class__ is not dict
                or timers.__class__ is not dict or entries.__class__ is not list or not entries):
            return None
        for role, holder in roles.items():
            if role.__class__ is not str or holder.__class__ is not str or not holder:
                return None
        parsed_timers: list[Any] = []
        for signal, text in timers.items():
            if text.__class__ is not str:
                return None
            try:
                started = datetime.fromisoformat(text)
            except ValueError:
                return None
            if started.tzinfo is None:
                return None
            parsed_timers += (signal, started)
        first, last = entries[0], entries[-1]
        if (first.__class__ is not dict or first.get("kind") != "start" or first.get("seq") != 1
                or last.__class__ is not dict or last.get("seq") != len(entries)
                or last.get("to") != state):
            return None
        agreements, tasks, returns_to = _NONE, flatmap.EMPTY, None
        if "agreements" in raw or "tasks" in raw or "returns_to" in raw:
            try:
                agreements = read_agreements(raw.get("agreements"))
                tasks = read_tasks(raw.get("tasks"))
                returns_to = _optional_text(raw, "returns_to")
            except (KeyError, ValueError, TypeError):
                return None
        # as `__init__` makes it, from the compact forms (no conversions to look for); Facts
        # keeps the values in a tuple of its own: the dict given is not kept
        case = Case.__new__(cls)
        case._id = id
        case._workflow_id = workflow_id
        case._workflow_version = workflow_version
        case._state = state
        case._facts = Facts(facts) if all_plain(facts) else Facts(frozen_facts(facts))
        case._roles = flatmap.of(roles)
        case._history = ()
        case._timers = tuple(parsed_timers)
        case._agreements = agreements
        case._tasks = tasks
        case._returns_to = returns_to
        case._normalised = False
        case._stored = _StoredEntries(entries)
        case._entries = None
        return case

    @classmethod
    def _from_store(cls, id: str, workflow_id: str, workflow_version: int, state: str,
                    facts: dict[str, Any], case_roles: dict[str, str], timers: dict[str, str],
                    progress: Mapping[str, Any] | None, *, version: int,
                    signals: Iterable[Any], history: Callable[[], list[Any]]) -> Case:
        """A case from a store's case row, without its history: ``version`` is how many
        entries it has and ``signals`` the (signal, due time as written) pairs of its signal
        entries; ``history()`` reads the entries (in `HistoryEntry.to_dict` form) when they
        are first needed, and they are checked then (count, order, the state they end in).
        Facts are typed when an engine first uses the case; ``progress`` is what `_progress`
        wrote."""
        progress = progress or {}
        try:
            parsed_timers = {k: parse_datetime(v) for k, v in timers.items()}
            agreements = read_agreements(progress.get("agreements"))
            tasks = read_tasks(progress.get("tasks"))
            returns_to = _optional_text(progress, "returns_to")
            keys = [(name, due_at) for name, due_at in signals]
        except (KeyError, ValueError, TypeError) as exc:
            raise CaseFormatError(f"case {id}: malformed {why(exc)}") from None
        if version.__class__ is not int or version < 1:
            raise CaseFormatError(f"case {id}: version {outside(version)} is not a count of "
                                  "history entries")
        return cls(id, workflow_id, workflow_version, state, facts, case_roles, (),
                   parsed_timers, normalised=False,
                   stored=_EntriesLater(version, keys, history, state),
                   agreements=agreements, tasks=tasks, returns_to=returns_to)


def _signed_entries(data: bytes, entries: list[Any], state: str) -> _EntriesLater:
    """The history of a signed case, read when first needed from ``data``, the bytes its
    signature was checked on, not from ``entries``, the list given (its owner may change
    it); the timer signals among them are taken now."""
    def read() -> list[Any]:
        try:
            body = json.loads(data.decode("utf-8", "surrogatepass"))
        except RecursionError:
            raise CaseFormatError("case data is nested too deeply to read") from None
        history: list[Any] = body["history"]
        return history

    return _EntriesLater(len(entries), raw_signal_keys(entries), read, state)


_CASE_KEYS = ("id", "workflow", "state", "facts", "case_roles", "timers", "history", "digest")

#: Pending agreements: event → (role → actor id, the event data agreed on, kept `flat`).
Agreements = dict[str, tuple[dict[str, str], tuple[Any, ...]]]
_NONE: Agreements = {}


#: A task as a case keeps it: opened at, due at (or None), done at and by (or None).
TaskRecord = tuple[datetime, datetime | None, datetime | None, str | None]


def _flat(values: Mapping[str, Any] | FlatMap) -> FlatMap:
    return values if isinstance(values, tuple) else flatmap.of(values)


def _task_map(tasks: Mapping[str, TaskRecord] | FlatMap) -> FlatMap:
    """``tasks`` as a flat map, each record checked for its four fields (the steps read them
    by position)."""
    flat = _flat(tasks)
    if len(flat) % 2 or any(not isinstance(record, tuple) or len(record) != 4
                            for record in flat[1::2]):
        raise TypeError("tasks should map each task id to its record (opened_at, due_at, "
                        "done_at, done_by)")
    return flat


def _optional_text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise TypeError(f"'{key}' should be a state id")
    return value


def _task_json(record: TaskRecord) -> dict[str, Any]:
    opened_at, due_at, done_at, done_by = record
    result: dict[str, Any] = {"opened_at": opened_at.isoformat()}
    if due_at is not None:
        result["due_at"] = due_at.isoformat()
    if done_at is not None:
        result["done_at"] = done_at.isoformat()
        result["done_by"] = done_by
    return result


def read_tasks(raw: Any) -> FlatMap:
    """Tasks from their JSON form (None: none), as the flat map a case keeps (task id,
    `TaskRecord`, …). Raises `TypeError`/`ValueError` saying what is malformed."""
    if raw is None:
        return flatmap.EMPTY
    if not isinstance(raw, dict):
        raise TypeError("'tasks' should be a mapping of task: {opened_at, due_at, ...}")
    result: list[Any] = []
    for tid, task in raw.items():
        if not isinstance(tid, str) or not isinstance(task, dict):
            raise TypeError("'tasks' should be a mapping of task: {opened_at, due_at, ...}")
        opened = task.get("opened_at")
        if opened is None:
            raise ValueError(f"task '{tid}' has no opened_at (when it was opened)")
        if len(task) == 1:  # an open task without a deadline: no call for the rest
            result += (tid, (_moment(opened), None, None, None))
            continue
        due, done = task.get("due_at"), task.get("done_at")
        done_by = task.get("done_by")
        if (done is None) != (done_by is None) or not (done_by is None
                                                       or isinstance(done_by, str)):
            raise ValueError(f"task '{tid}' should have both done_at and done_by, or neither")
        result += (tid, (_moment(opened), None if due is None else _moment(due),
                         None if done is None else _moment(done), done_by))
    return tuple(result)


def _moment(value: Any) -> datetime:
    """`parse_datetime`, without its calls for an ISO text with an offset (read on every
    restore)."""
    if value.__class__ is str:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return moment
    return parse_datetime(value)


def read_agreements(raw: Any) -> Agreements:
    """Pending agreements from their JSON form (None: none). Raises `TypeError`/`ValueError`
    saying what is malformed."""
    if raw is None:
        return _NONE
    if not isinstance(raw, dict):
        raise TypeError("'agreements' should be a mapping of event: {roles, data}")
    result: Agreements = {}
    for event, pending in raw.items():
        if not isinstance(event, str) or not isinstance(pending, dict):
            raise TypeError("'agreements' should be a mapping of event: {roles, data}")
        roles = _case_roles(typed(pending, "roles", dict))
        if not roles:
            raise ValueError(f"agreement to '{event}' names nobody who agreed")
        result[event] = (roles, flat(frozen_facts(typed(pending, "data", dict))))
    return result


def _check_stored_history(state: str, entries: list[Any]) -> None:
    """The cheap part of `_check_history`, on raw entries: length, order and last state."""
    if not entries:
        raise CaseFormatError("case has no history (every case starts with a 'start' entry)")
    first, last = entries[0], entries[-1]
    if not isinstance(first, dict) or first.get("kind") != "start" or first.get("seq") != 1:
        raise CaseFormatError("history does not begin with 'start'")
    if not isinstance(last, dict) or last.get("seq") != len(entries):
        seq = outside(last.get("seq")) if isinstance(last, dict) else "?"
        raise CaseFormatError(f"history is not contiguous: it has {len(entries)} entries, the "
                              f"last has seq {seq}")
    if last.get("to") != state:
        raise CaseFormatError(f"state '{state}' is not where the history ends "
                              f"({outside(last.get('to'))})")


def _check_history(case: Case) -> None:
    records = case._records()
    if not records:
        raise CaseFormatError("case has no history (every case starts with a 'start' entry)")
    _check_contiguous(records)
    if records[0][KIND] != "start":
        raise CaseFormatError("history does not begin with 'start'")
    if records[-1][TO_STATE] != case.state:
        raise CaseFormatError(f"state '{case.state}' is not where the history ends "
                              f"('{records[-1][TO_STATE]}')")


def _check_contiguous(records: tuple[Record, ...]) -> None:
    for n, r in enumerate(records, start=1):
        if r[SEQ] != n:
            raise CaseFormatError(f"history is not contiguous: entry {n} has seq {outside(r[SEQ])}")


def _case_roles(raw: Mapping[Any, Any]) -> dict[str, str]:
    for role, holder in raw.items():
        if not isinstance(role, str):
            raise TypeError(f"case role names should be text, not {type(role).__name__}")
        if not isinstance(holder, str):
            raise TypeError(f"case role '{role}' should hold an actor id (text), not "
                            f"{type(holder).__name__}")
        if not holder:
            raise ValueError(f"case role '{role}' holds an empty actor id")
    return dict(raw)
