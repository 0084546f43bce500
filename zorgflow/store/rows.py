"""Cases as the rows a store writes, and back: one row per case, per case role, per history
entry and per personal-data value. Shared by every back end."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..engine import Case, Engine
from ..model.values import to_json
from .base import Cipher, StoreError

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


def dumps(value: Any) -> str:
    """Compact JSON, the way every JSON column is written. Refuses text with a NUL character
    (PostgreSQL cannot store it; refused on every back end alike), naming the field only."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if "\\u0000" in text and _NUL.search(text):
        where = [k for k, v in value.items() if _NUL.search(json.dumps(v))] if isinstance(
            value, dict) else []
        raise StoreError(f"{', '.join(map(repr, where)) or 'a value'} holds a NUL character "
                         "(\\x00), which the store refuses: remove it and try again")
    return text


# JSON's escape of NUL, not preceded by an escaped backslash (text that spells "\u0000").
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


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
        if case.version <= after:
            raise StoreError(f"case {case.id} has no history after version {after} (it is at "
                             f"version {case.version}): nothing to save")
        fact_names, event_fields, setting_events = self._personal_names(case)
        entries = case._entries_after(after)
        if [e.seq for e in entries] != list(range(after + 1, case.version + 1)):
            raise StoreError(f"case {case.id}: its history entries after {after} are not "
                             f"numbered {after + 1}..{case.version}; was the case changed "
                             "outside the engine?")
        facts, current = self._split(to_json(dict(case.facts)), fact_names)
        row = CaseRow(
            id=case.id, workflow_id=case.workflow_id, workflow_version=case.workflow_version,
            state=case.state, version=case.version, facts=dumps(facts),
            timers=dumps({k: v.isoformat() for k, v in case.timers.items()}),
            next_due_at=self.engine.next_due(case))
        facts_changed = any(e.kind in ("start", "set_facts") or e.event in setting_events
                            for e in entries)
        personal = [self._personal_row(CURRENT_FACTS, name, value)
                    for name, value in current.items()] if facts_changed else []
        rows = []
        for entry in entries:
            raw = entry.to_dict()
            names = (event_fields.get(entry.event, frozenset()) if entry.kind == "fire"
                     else fact_names if entry.kind in ("start", "set_facts") else frozenset())
            data, hidden = self._split(raw["data"], names)
            personal.extend(self._personal_row(entry.seq, k, v) for k, v in hidden.items())
            rows.append(HistoryRow(
                seq=entry.seq, at=entry.at, actor=entry.actor, role=entry.role, kind=entry.kind,
                event=entry.event, from_state=entry.from_state, to_state=entry.to_state,
                data=dumps(data), workflow_version=entry.workflow_version,
                explanation=dumps(raw["explanation"]) if "explanation" in raw else None,
                dossier=dumps(raw["dossier"]) if "dossier" in raw else None))
        return CaseWrite(row, rows, personal, facts_changed)

    # -- rows to cases ---------------------------------------------------------------------
    def build(self, row: CaseRow, roles: Mapping[str, str], history: Iterable[HistoryRow],
              personal: Iterable[PersonalRow]) -> Case:
        """The case the rows hold."""
        values: dict[int, dict[str, Any]] = {}
        for p in personal:
            values.setdefault(p.seq, {})[p.name] = self._personal_value(row.id, p)
        facts = json.loads(row.facts)
        facts.update(values.get(CURRENT_FACTS, {}))
        entries = [entry_dict(h, values.get(h.seq)) for h in history]
        return Case._from_storage(row.id, row.workflow_id, row.workflow_version, row.state,
                                  facts, dict(roles), json.loads(row.timers), entries)

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

    def _personal_row(self, seq: int, name: str, value: Any) -> PersonalRow:
        try:
            text = dumps(value)
        except StoreError:
            raise StoreError(f"'{name}' holds a NUL character (\\x00), which the store refuses: "
                             "remove it and try again") from None
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
    return entry


def utc_text(moment: datetime) -> str:
    """``moment`` as fixed-width UTC text, which sorts as time does (SQLite keeps time as
    text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_utc_text(text: str) -> datetime:
    """The reverse of `utc_text`."""
    return datetime.fromisoformat(text)


def find_filter(workflow_id: str | None, state: str | None, role_holder: str | None, *,
                mark: str, roles_table: str) -> tuple[str, list[str]]:
    """The ``WHERE`` clause (or "") and its parameters behind ``Store.find``; ``mark`` is the
    back end's parameter mark (``?`` or ``%s``)."""
    where, params = [], []
    for column, value in (("workflow_id", workflow_id), ("state", state)):
        if value is not None:
            where.append(f"{column} = {mark}")
            params.append(value)
    if role_holder is not None:
        where.append(f"id IN (SELECT case_id FROM {roles_table} WHERE actor_id = {mark})")
        params.append(role_holder)
    return (" WHERE " + " AND ".join(where)) if where else "", params
