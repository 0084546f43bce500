"""YAML file → validated, immutable `Workflow`.

Two layers, every problem collected with ``file:line:column``: the structure against the JSON
Schema shipped in ``zorgflow/schema``, then the meaning (names that must exist, one initial
state, reachability, expressions that compile and type-check, tables without overlaps).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path as FsPath
from types import MappingProxyType
from typing import Any, cast

from ._yaml import MAX_BYTES, Document, Path, read_yaml, size_problem
from .errors import Problem, ValueProblem, WorkflowError
from .model import (
    Acknowledgement,
    Cell,
    CriteriaRuleSet,
    Criterion,
    Cycle,
    DataField,
    DifferentPeople,
    Duration,
    Example,
    ExampleStart,
    ExampleStep,
    Expectation,
    Expression,
    Fact,
    FactType,
    Invariant,
    InvariantKind,
    RankingCriterion,
    RankingRuleSet,
    Role,
    RuleSet,
    State,
    StepAction,
    TableInput,
    TableRow,
    TableRuleSet,
    TaskDefinition,
    Timer,
    Transition,
    Unit,
    WarningRule,
    Where,
    Workflow,
    Zgw,
    ZgwBrondatum,
    ZgwProperty,
    ZgwResult,
    ZgwRole,
)
from .model.values import coerce
from .model.zgw import (
    CATALOGUS_URL,
    DURATION,
    MAX_LENGTH,
    PROCESTYPE_URL,
    RESULTAAT_URL,
    RESULTAATTYPEOMSCHRIJVING_URL,
    URL,
    LazyPattern,
)
from .program import compile_workflow
from .rules.expr import show, suggest

_UNITS: dict[str, Unit] = {
    "day": "days", "days": "days", "dag": "days", "dagen": "days",
    "week": "weeks", "weeks": "weeks", "weken": "weeks",
    "month": "months", "months": "months", "maand": "months", "maanden": "months",
    "year": "years", "years": "years", "jaar": "years", "jaren": "years",
}
_DURATION = re.compile(r"^\s*(?:(\d+)|facts\.([a-z][a-z0-9_]*))\s+([a-z]+)\s*$")
_CELL_CMP = re.compile(r"^\s*(<=|>=|!=|<|>|==)\s*(.+?)\s*$")
_CELL_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*\.\.\s*(-?\d+(?:\.\d+)?)\s*$")
_INVARIANT_KINDS: tuple[InvariantKind, ...] = (
    "implies", "requires_case_role", "always_reachable", "never")
_STEP_ACTIONS: tuple[StepAction, ...] = ("event", "set_facts", "decide", "due", "allowed",
                                         "complete")


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the workflow format."""
    text = resources.files("zorgflow").joinpath("schema/workflow.schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(schema())


def workflow_files(folder: FsPath) -> list[FsPath]:
    """The workflow files of a folder: its ``*.yaml`` and ``*.yml`` files (not those in
    subfolders) that are not migration plans (``kind: migration``), sorted by name. Every
    command and `Engine.from_directory` find them so."""
    return sorted(f for f in [*folder.glob("*.yaml"), *folder.glob("*.yml")]
                  if not is_migration_plan(f))


#: a top-level ``kind: migration`` line, as a plan file has it
_PLAN_KIND = re.compile(rb"^kind:[ \t]*([\"']?)migration\1[ \t]*(?:#.*)?$", re.MULTILINE)


def is_migration_plan(path: FsPath) -> bool:
    """Whether the file at ``path`` says ``kind: migration`` at its top level (a plan kept
    beside the workflows). A file that cannot be read is not a plan: loading it says why."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False  # a pipe or a device is never opened here (it could block)
        with open(os.open(path, _OPEN_FLAGS), "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                return False
            return _PLAN_KIND.search(stream.read(MAX_BYTES + 1)) is not None
    except OSError:
        return False


def load_workflow(path: str | FsPath) -> Workflow:
    """Load and validate one workflow file. Raises `WorkflowError` listing every problem.

    The file's size is checked before it is read, and no more than `MAX_BYTES` (4 MB) and one
    byte is ever read; a named pipe, a device or a folder is refused without reading from it.
    """
    name = str(path)
    data = _read_file(FsPath(path), name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WorkflowError([Problem(name, 0, 0, f"not UTF-8 text ({exc.reason})")]) from None
    if "\r" in text:  # line ends as reading in text mode gives them
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return load_workflow_text(text, name)


#: open without waiting for a writer (a named pipe) or becoming a terminal's owner (a device)
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_BINARY", 0))


def _read_file(file: FsPath, name: str) -> bytes:
    """The bytes of ``file``, at most `MAX_BYTES`: its size is checked before reading, and
    reading stops one byte past the limit (a file that grows while it is read)."""
    def refused(message: str) -> WorkflowError:
        return WorkflowError([Problem(name, 0, 0, message)])

    try:
        mode = os.stat(file).st_mode
        if not stat.S_ISREG(mode):
            raise refused(_not_a_file(mode))
        # what is opened is checked again below: the path may be replaced in between
        fd = os.open(file, _OPEN_FLAGS)
    except FileNotFoundError:
        raise refused("file not found") from None
    except IsADirectoryError:
        raise refused(_not_a_file(stat.S_IFDIR)) from None
    except OSError as exc:
        raise refused(f"cannot read: {exc.strerror}") from None
    with open(fd, "rb") as stream:
        try:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise refused(_not_a_file(info.st_mode))
            if info.st_size > MAX_BYTES:
                raise WorkflowError([size_problem(name, info.st_size)])
            data = stream.read(MAX_BYTES + 1)
        except OSError as exc:
            raise refused(f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise WorkflowError([size_problem(name, None)])
    return data


def _not_a_file(mode: int) -> str:
    """Why a path that is not a regular file is not read, by what it is."""
    if stat.S_ISDIR(mode):
        return "is a folder, not a workflow file"
    what = ("is a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "is a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "is a socket" if stat.S_ISSOCK(mode) else "is something else")
    return (f"{what}, not a regular file: zorgflow reads workflows from files only; save the "
            "workflow to a .yaml file and give that")


def load_workflow_text(text: str, file: str = "<text>") -> Workflow:
    """Load a workflow from YAML text; ``file`` is used in error messages. A text of more than
    `MAX_BYTES` (4 MB) in UTF-8 is refused, as a file of that size is."""
    doc, problems = read_yaml(text, file)
    if doc.data is None:
        raise WorkflowError(problems or [Problem(file, 1, 1, "the file holds no workflow "
                                                 "(it is empty or only null)")])
    if not isinstance(doc.data, dict):
        raise WorkflowError([*problems, doc.problem((), "a workflow file must be a mapping "
                                                        "(id:, version:, states:, …)")])
    if doc.data.get("kind") == "migration" and "id" not in doc.data:
        raise WorkflowError([*problems, doc.problem(
            ("kind",), "this is a migration plan (kind: migration), not a workflow: check it "
            "with 'zorgflow migrate check OLD.yaml NEW.yaml --plan FILE'")])
    problems += _schema_problems(doc)
    if problems:
        raise WorkflowError(problems)
    builder = _Builder(doc, text)
    workflow = builder.build()
    _, compile_problems = compile_workflow(workflow, known_problems=bool(builder.problems),
                                           unchecked_rows=builder.broken_rows)
    if builder.problems or compile_problems:
        raise WorkflowError([*builder.problems, *compile_problems])
    return workflow


# -- structure ---------------------------------------------------------------------------------


_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def _schema_problems(doc: Document) -> list[Problem]:
    problems = []
    for error in _validator().iter_errors(doc.data):
        path: Path = tuple(error.absolute_path)
        problems.extend(_explain_schema_error(doc, path, error))
    return problems


def _explain_schema_error(doc: Document, path: Path, error: Any) -> list[Problem]:
    where = ".".join(str(p) for p in path) or "the top level"
    validator = error.validator
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        return [
            doc.problem((*path, key),
                        f"unknown key '{key}' in {where}{suggest(key, allowed)}"
                        f" (allowed: {', '.join(allowed)})", key=True)
            for key in extra
        ]
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [doc.problem(path, f"{where} is missing '{missing}'", key=True)]
    if validator == "enum":
        options = [str(o) for o in error.validator_value]
        got = error.instance
        hint = suggest(got, options) if isinstance(got, str) else ""
        return [doc.problem(path, f"{where}: {got!r} is not one of {', '.join(options)}{hint}")]
    if validator == "type":
        wanted = error.validator_value
        wanted = " or ".join(map(_article, wanted)) if isinstance(wanted, list) \
            else _article(wanted)
        return [doc.problem(path, f"{where} must be {wanted}, not "
                                  f"{_json_type(error.instance)}")]
    if validator == "pattern" and error.validator_value == "^[a-z][a-z0-9_]*$":
        return [doc.problem(path, f"{where}: {error.instance!r} is not a valid identifier "
                                  "(lowercase letters, digits and _, starting with a letter)")]
    if validator == "pattern" and error.validator_value == "^rules\\.[a-z][a-z0-9_]*$":
        got = str(error.instance)
        name = got.rsplit(".", 1)[-1]
        guess = f" — did you mean 'rules.{name}'?" if _IDENTIFIER.fullmatch(name) else ""
        return [doc.problem(path, f"{where}: {got!r} should name a rule set as rules.<id>, "
                                  f"e.g. 'rules.afsluitcriteria'{guess}")]
    if validator == "pattern" and error.validator_value == "^\\d{4}-\\d{2}-\\d{2}$":
        return [doc.problem(path, f"{where}: {error.instance!r} should be a date written "
                                  "YYYY-MM-DD, e.g. '2026-01-08'")]
    if validator == "maxLength":
        return [doc.problem(path, f"{where} is {len(error.instance)} characters long, more than "
                                  f"the {error.validator_value} allowed: shorten it")]
    if validator == "propertyNames":
        return [doc.problem((*path, error.instance), f"{where}: {error.instance!r} is not a "
                            "valid identifier (lowercase letters, digits and _)", key=True)]
    return [doc.problem(path, f"{where}: {error.message}")]


def _article(word: str) -> str:
    return {"object": "a mapping", "array": "a list", "integer": "a whole number",
            "string": "text", "boolean": "true or false", "number": "a number"}.get(word, word)


def _json_type(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    return "text"


# -- meaning ----------------------------------------------------------------------------------


class _Builder:
    def __init__(self, doc: Document, text: str) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.lines = text.splitlines()
        self.problems: list[Problem] = []
        #: (table, row) with mistakes: left out of the overlap analysis (only noise there)
        self.broken_rows: set[tuple[str, str]] = set()

    def error(self, path: Path, message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, key=key))

    def where(self, path: Path) -> Where:
        """Where the value at ``path`` stands, and how it is written (quoted, a block)."""
        line, column = self.doc.where(path)
        indicator = ""
        if line and line <= len(self.lines):
            text = self.lines[line - 1]
            indicator = text[column - 1] if column - 1 < len(text) else ""
        block = self.block_lines(line) if indicator in (">", "|") and indicator else ()
        return Where(self.doc.file, line, column, indicator in ("'", '"'), block)

    def block_lines(self, line: int) -> tuple[tuple[int, int, int], ...]:
        """(line, indentation, length) of the non-empty lines of the block scalar whose
        indicator stands on ``line``."""
        found: list[tuple[int, int, int]] = []
        for number in range(line + 1, len(self.lines) + 1):
            raw = self.lines[number - 1]
            content = raw.strip()
            if not content:
                continue
            indent = len(raw) - len(raw.lstrip())
            if found and indent < found[0][1]:
                break
            found.append((number, indent, len(content)))
        return tuple(found)

    def expression(self, path: Path, value: Any) -> Expression:
        """The expression at ``path``, remembering where it stands."""
        return Expression(_expr_text(value), self.where(path))

    def optional_expression(self, path: Path, value: Any) -> Expression | None:
        """`expression`, or None where nothing is written."""
        return None if value is None else self.expression(path, value)

    def check_name(self, path: Path, name: str, known: Iterable[str], what: str) -> bool:
        known = list(known)
        if name in known:
            return True
        self.error(path, f"unknown {what} '{name}'{suggest(name, known)}")
        return False

    # -- pieces ------------------------------------------------------------------------------
    def build(self) -> Workflow:
        d = self.data
        roles = {rid: Role(rid, r["label"], bool(r.get("case_role", False)),
                           r.get("description", ""), r.get("source", ""),
                           assumption=r.get("assumption", ""))
                 for rid, r in d["roles"].items()}
        self.roles = roles
        for n, role in enumerate(d.get("default_set_by", [])):
            self.check_name(("default_set_by", n), role, roles, "role")
        visible_to, visible_cite, visible_assumption = self.visible_to()
        self.events = {t["event"] for t in d["transitions"]}
        facts = {fid: self.fact(fid, f) for fid, f in d.get("facts", {}).items()}
        self.facts = facts
        different = tuple(self.different_people(n, g)
                          for n, g in enumerate(d.get("different_people", [])))
        for n, role in enumerate(d["start_by"]):
            if self.check_name(("start_by", n), role, roles, "role") and roles[role].case_role:
                self.error(("start_by", n), f"'{role}' is a case role: nobody holds it before "
                                            "a case exists; name an organisational role")
        cycles = {cid: self.cycle(cid, c) for cid, c in d.get("cycles", {}).items()}
        states = {sid: self.state(sid, s, cycles) for sid, s in d["states"].items()}
        self.states = states
        self.check_initial(states)
        workflow_timers = self.workflow_timers(states)
        tasks = self.tasks(states, cycles)
        self.task_ids = tasks
        rules = self.rule_sets()
        transitions = tuple(self.transition(n, t, states, rules)
                            for n, t in enumerate(d["transitions"]))
        self.check_determinism(transitions)
        self.check_returns(transitions)
        self.check_reachability(states, transitions)
        self.check_rankings(rules)
        invariants = tuple(self.invariant(iid, i) for iid, i in d.get("invariants", {}).items())
        examples = tuple(self.example(n, e) for n, e in enumerate(d.get("examples", [])))
        zgw = self.zgw(states, transitions) if "zgw" in d else None
        return Workflow(
            id=d["id"], version=d["version"], label=d["label"], start_by=tuple(d["start_by"]),
            roles=_frozen(roles), facts=_frozen(facts), states=_frozen(states),
            transitions=transitions, rules=_frozen(rules), cycles=_frozen(cycles),
            invariants=invariants, examples=examples,
            cite=d.get("source", ""), description=d.get("description", ""),
            file=self.doc.file, assumption=d.get("assumption", ""), different_people=different,
            tasks=_frozen(tasks), timers=workflow_timers,
            acknowledged_warnings=tuple(Acknowledgement(a["kind"], a["about"], a["reason"])
                                        for a in d.get("acknowledged_warnings", [])),
            visible_to=visible_to, visible_to_cite=visible_cite,
            visible_to_assumption=visible_assumption, zgw=zgw,
            processing_activity=d.get("processing_activity", ""),
        )

    def visible_to(self) -> tuple[frozenset[str], str, str]:
        """``visible_to:`` (a list of roles, or a mapping with ``roles:`` and its
        provenance): the roles, its source and its assumption. Every name must be a role of
        the workflow (an organisational role or a case role)."""
        raw = self.data.get("visible_to")
        if raw is None:
            return frozenset(), "", ""
        spec: Mapping[str, Any] = raw if isinstance(raw, dict) else {"roles": raw}
        base: Path = ("visible_to", "roles") if isinstance(raw, dict) else ("visible_to",)
        self.check_roles(base, spec["roles"])
        return (frozenset(spec["roles"]), spec.get("source", ""),
                spec.get("assumption", ""))

    def check_roles(self, path: Path, names: Iterable[str]) -> None:
        """Each of ``names`` (a list at ``path``) must be a role of the workflow."""
        for n, role in enumerate(names):
            self.check_name((*path, n), role, self.roles, "role")

    def fact_type(self, path: Path, spec: Mapping[str, Any]) -> FactType:
        name = spec.get("type", "string")
        values = tuple(spec.get("values", ()))
        if name == "enum" and not values:
            self.error(path, "an enum needs 'values:' listing the allowed values")
        if name != "enum" and values:
            self.error((*path, "values"), f"'values:' only applies to type enum, not {name}")
        if len(set(values)) != len(values):
            self.error((*path, "values"), "an enum value is listed twice")
        items = spec.get("items")
        item_type: FactType | None = None
        fields: dict[str, FactType] = {}
        if name == "list":
            if isinstance(items, str):
                scalars = ("boolean", "string", "integer", "number", "date", "datetime")
                if items not in scalars:
                    self.error((*path, "items"), f"unknown item type '{items}'"
                                                 f"{suggest(items, scalars)} (one of "
                                                 f"{', '.join(scalars)}, or record fields)")
                    items = "string"
                item_type = FactType(items)  # type: ignore[arg-type]
            elif isinstance(items, dict):
                fields = {k: self.fact_type((*path, "items", k), v) for k, v in items.items()}
            else:
                self.error(path, "a list needs 'items:' (a type name, or record fields)")
        elif items is not None:
            self.error((*path, "items"), f"'items:' only applies to type list, not {name}")
        return FactType(name, values, item_type, fields, spec.get("minimum"), spec.get("maximum"))

    def fact(self, fid: str, spec: Mapping[str, Any]) -> Fact:
        path: Path = ("facts", fid)
        ftype = self.fact_type(path, spec)
        set_by = spec.get("set_by")
        if set_by is None:
            set_by = self.data.get("default_set_by", [])
        for n, role in enumerate(spec.get("set_by", [])):
            self.check_name((*path, "set_by", n), role, self.roles, "role")
        written_by = spec.get("written_by", [])
        for n, event in enumerate(written_by):
            self.check_name((*path, "written_by", n), event, self.events, "event")
        events_only = spec.get("set_by") == []
        if events_only and not written_by:
            self.error((*path, "set_by"), f"'set_by: []' means nobody sets '{fid}' by hand, so "
                       "name the events that write it in 'written_by:' (or list the roles "
                       "that may set it)")
        states = self.data.get("states", {})
        for n, sid in enumerate(spec.get("set_in", [])):
            self.check_name((*path, "set_in", n), sid, states, "state")
        personal = bool(spec.get("personal_data", False))
        visible_to = spec.get("visible_to")
        if visible_to is not None:
            self.check_roles((*path, "visible_to"), visible_to)
            if not personal:
                self.error((*path, "visible_to"), f"'visible_to' says who sees personal data, "
                           f"and '{fid}' is not marked personal: remove 'visible_to' (or add "
                           "'personal_data: true')", key=True)
        if spec.get("dossier") and personal:
            self.error((*path, "dossier"), f"'{fid}' is personal data and cannot go into an "
                       "anonymous dossier: remove 'dossier: true' (or, if it is not personal, "
                       "'personal_data: true')")
        default = spec.get("default")
        if default is not None:
            try:
                default = coerce(ftype, default)
            except ValueProblem as exc:
                self.error((*path, "default"), f"default of '{fid}': {exc}")
        return Fact(fid, spec["label"], ftype, personal, tuple(set_by), spec.get("source", ""),
                    default, spec.get("description", ""),
                    assumption=spec.get("assumption", ""), events_only=events_only,
                    written_by=tuple(written_by), set_in=tuple(spec.get("set_in", ())),
                    set_when=self.optional_expression((*path, "set_when"),
                                                      spec.get("set_when")),
                    dossier=bool(spec.get("dossier", False)),
                    visible_to=None if visible_to is None else frozenset(visible_to),
                    special_category=bool(spec.get("special_category", False)),
                    data_subject=self.data_subject(path, fid, spec, ftype, personal))

    def data_subject(self, path: Path, fid: str, spec: Mapping[str, Any], ftype: FactType,
                     personal: bool) -> bool:
        """``data_subject: true``: the fact's value identifies a data subject, so it must be
        personal text (a BSN, a client number)."""
        if not spec.get("data_subject", False):
            return False
        if not personal or ftype.name != "string":
            self.error((*path, "data_subject"), f"'{fid}' identifies a data subject, so it must "
                       "be text marked personal: give it 'type: string' and "
                       "'personal_data: true' (or remove 'data_subject: true')")
            return False
        return True

    def different_people(self, n: int, spec: Mapping[str, Any]) -> DifferentPeople:
        path: Path = ("different_people", n)
        for m, role in enumerate(spec["roles"]):
            if self.check_name((*path, "roles", m), role, self.roles, "role") and \
                    not self.roles[role].case_role:
                self.error((*path, "roles", m), f"'{role}' is not a case role: only case "
                           "roles are held by one actor in a case")
        if len(spec["roles"]) < 2 and not spec.get("and_the_assigner"):
            self.error((*path, "roles"), "one role is always held by one person: name two or "
                       "more roles, or add 'and_the_assigner: true'")
        return DifferentPeople(tuple(spec["roles"]), bool(spec.get("and_the_assigner", False)),
                               spec.get("source", ""), spec.get("assumption", ""))

    def duration(self, path: Path, text: str, *, allow_fact: bool) -> Duration | None:
        match = _DURATION.match(text)
        unit = _UNITS.get(match.group(3)) if match else None
        if not match or unit is None:
            self.error(path, f"'{text}' is not a duration: write e.g. '1 month', '14 days' or "
                             "'facts.interval_dagen days'")
            return None
        if match.group(2):
            fact = match.group(2)
            if not allow_fact:
                self.error(path, "a fact cannot be used here; give a fixed duration")
                return None
            if self.check_name(path, fact, self.facts, "fact") and \
                    self.facts[fact].type.name != "integer":
                self.error(path, f"fact '{fact}' must be an integer to be used as a duration")
            return Duration(unit, fact=fact)
        return Duration(unit, amount=int(match.group(1)))

    def cycle(self, cid: str, spec: Mapping[str, Any]) -> Cycle:
        path: Path = ("cycles", cid)
        try:
            first = date.fromisoformat(spec["first"])
        except ValueError:
            self.error((*path, "first"), f"'{spec['first']}' is not a valid date")
            first = date(2000, 1, 1)
        every = self.duration((*path, "every"), spec["every"], allow_fact=False)
        return Cycle(cid, spec["label"], first, every or Duration("weeks", amount=1),
                     spec.get("source", ""), spec.get("assumption", ""))

    def timer(self, tpath: Path, t: Mapping[str, Any], states: tuple[str, ...] = ()) -> Timer:
        """A timer under a state (``states`` empty) or at the top level."""
        after: tuple[Duration, ...] = ()
        if ("after" in t) == ("at" in t):
            self.error(tpath, f"timer '{t['signal']}' needs exactly one of 'after:' (a "
                              "duration) or 'at:' (a date fact)", key=True)
        if "after" in t:
            parts = [part.strip() for part in t["after"].split("|")]
            parsed = [self.duration((*tpath, "after"), part, allow_fact=True) for part in parts]
            after = tuple(d for d in parsed if d is not None)
            if len(after) == len(parts) and after[-1].fact is not None:
                self.error((*tpath, "after"), "the last duration after '|' must be fixed "
                                              "(e.g. '| 1 month'), so the timer always runs")
        anchor = None
        if "at" in t:
            anchor = t["at"].split(".", 1)[1]
            if self.check_name((*tpath, "at"), anchor, self.facts, "fact") and \
                    self.facts[anchor].type.name != "date":
                self.error((*tpath, "at"), f"fact '{anchor}' is "
                           f"{self.facts[anchor].type.describe()}; a timer is anchored on a "
                           "date fact")
        elif "offset" in t:
            self.error((*tpath, "offset"), "'offset:' goes with 'at:' (a date fact)")
        offset = tuple(d for part in t.get("offset", "").split("+") if part.strip()
                       for d in [self.duration((*tpath, "offset"), part.strip(),
                                               allow_fact=False)] if d is not None)
        for m, event in enumerate(t.get("reset_by", [])):
            self.check_name((*tpath, "reset_by", m), event, self.events, "event")
        if anchor is not None and t.get("reset_by"):
            self.error((*tpath, "reset_by"), "an anchored timer is due on its date; nothing "
                                             "restarts it")
        return Timer(t["signal"], t.get("label", t["signal"]), after,
                     tuple(t.get("reset_by", ())), t.get("source", ""), t.get("assumption", ""),
                     states=states, anchor=anchor, offset=offset,
                     while_=self.optional_expression((*tpath, "while"), t.get("while")))

    def workflow_timers(self, states: Mapping[str, State]) -> tuple[Timer, ...]:
        timers = []
        seen = {t.signal: sid for sid, s in states.items() for t in s.timers}
        for n, t in enumerate(self.data.get("timers", [])):
            tpath: Path = ("timers", n)
            where = t["in"]
            if where == "all":
                names = tuple(states)
            elif where == "open":
                names = tuple(sid for sid, s in states.items() if not s.final)
            else:
                names = tuple(where)
                for m, sid in enumerate(names):
                    self.check_name((*tpath, "in", m), sid, states, "state")
            if t["signal"] in seen:
                other = seen[t["signal"]]
                self.error((*tpath, "signal"), f"signal '{t['signal']}' is also the signal of "
                           + (f"a timer of state '{other}'" if other else "another timer")
                           + ": give each timer its own signal")
            seen[t["signal"]] = ""
            timers.append(self.timer(tpath, t, names))
        return tuple(timers)

    def tasks(self, states: Mapping[str, State], cycles: Mapping[str, Cycle]
              ) -> dict[str, TaskDefinition]:
        result = {}
        for tid, spec in self.data.get("tasks", {}).items():
            path: Path = ("tasks", tid)
            self.check_name((*path, "role"), spec["role"], self.roles, "role")
            opened_in, opened_by = _names(spec.get("opened_in")), _names(spec.get("opened_by"))
            if bool(opened_in) == bool(opened_by):
                self.error(path, f"task '{tid}' needs exactly one of 'opened_in:' (states) or "
                                 "'opened_by:' (events)", key=True)
            for m, sid in enumerate(opened_in):
                where: Path = (*path, "opened_in", m) if isinstance(spec["opened_in"], list) \
                    else (*path, "opened_in")
                self.check_name(where, sid, states, "state")
            for m, event in enumerate(opened_by):
                where = (*path, "opened_by", m) if isinstance(spec["opened_by"], list) \
                    else (*path, "opened_by")
                self.check_name(where, event, self.events, "event")
            due_after, due_cycle = None, None
            due = spec.get("due")
            if due is not None:
                if due.startswith("next "):
                    due_cycle = due[5:].strip()
                    self.check_name((*path, "due"), due_cycle, cycles, "cycle")
                else:
                    due_after = self.duration((*path, "due"), due, allow_fact=False)
            result[tid] = TaskDefinition(tid, spec["label"], spec["role"], opened_in, opened_by,
                               due_after, due_cycle, spec.get("source", ""),
                               spec.get("assumption", ""), spec.get("description", ""))
        return result

    def state(self, sid: str, spec: Mapping[str, Any], cycles: Mapping[str, Cycle]) -> State:
        path: Path = ("states", sid)
        timers = [self.timer((*path, "timers", n), t)
                  for n, t in enumerate(spec.get("timers", []))]
        shows = spec.get("shows_cycle")
        if shows is not None:
            self.check_name((*path, "shows_cycle"), shows, cycles, "cycle")
        if spec.get("initial") and spec.get("final"):
            self.error(path, f"state '{sid}' cannot be both initial and final", key=True)
        return State(sid, spec["label"], bool(spec.get("initial", False)),
                     bool(spec.get("final", False)), spec.get("source", ""),
                     spec.get("description", ""), tuple(timers), shows,
                     spec.get("assumption", ""))

    def check_initial(self, states: Mapping[str, State]) -> None:
        initial = [s.id for s in states.values() if s.initial]
        if not initial:
            self.error(("states",), "no initial state: mark exactly one state 'initial: true'",
                       key=True)
        for extra in initial[1:]:
            self.error(("states", extra), f"second initial state '{extra}' (the first is "
                                          f"'{initial[0]}'): exactly one state may be initial",
                       key=True)

    def data_field(self, path: Path, fid: str, spec: Mapping[str, Any],
                   rules: Mapping[str, RuleSet]) -> DataField:
        enum_from = spec.get("enum_from")
        if enum_from is not None:
            if "type" in spec:
                self.error(path, "give either 'type' or 'enum_from', not both")
            rid = enum_from.split(".", 1)[1]
            values: tuple[str, ...] = ()
            if self.check_name((*path, "enum_from"), rid, rules, "rule set"):
                rs = rules[rid]
                if rs.kind == "criteria":
                    values = tuple(c.id for c in rs.criteria)
                elif rs.kind == "table":
                    values = tuple(r.id for r in rs.rows)
                else:
                    self.error((*path, "enum_from"), f"rule set '{rid}' is a ranking; "
                                                     "enum_from needs criteria or a table")
                    values = ()
            # unknown rule set: typed as text, so the guard does not add follow-on errors
            ftype = FactType("enum", values) if values else FactType("string")
        elif "type" not in spec:
            self.error(path, f"data field '{fid}' needs 'type:' (or 'enum_from:')", key=True)
            ftype = FactType("string")
        else:
            ftype = self.fact_type(path, spec)
        return DataField(fid, spec.get("label", fid), ftype, bool(spec.get("required", True)),
                         enum_from, bool(spec.get("personal_data", False)))

    def transition(self, n: int, spec: Mapping[str, Any], states: Mapping[str, State],
                   rules: Mapping[str, RuleSet]) -> Transition:
        path: Path = ("transitions", n)
        sources = spec["from"] if isinstance(spec["from"], list) else [spec["from"]]
        for m, sid in enumerate(sources):
            spath: Path = (*path, "from", m) if isinstance(spec["from"], list) else (*path, "from")
            if self.check_name(spath, sid, states, "state") and states[sid].final:
                self.error(spath, f"final state '{sid}' has an outgoing transition "
                                  f"('{spec['event']}'): remove it or make the state not final")
        returns = bool(spec.get("returns", False))
        if ("to" in spec) == returns:
            self.error(path, f"transition '{spec['event']}' needs exactly one of 'to:' (the "
                             "state it leads to) or 'returns: true' (back to where the case "
                             "came from)", key=True)
        elif not returns:
            self.check_name((*path, "to"), spec["to"], states, "state")
        agreement = spec.get("agreement", [])
        by = spec.get("by", agreement)
        if "by" not in spec and not agreement:
            self.error(path, f"transition '{spec['event']}' needs 'by:' (the roles that may "
                             "fire it) or 'agreement:' (the roles that decide it together)",
                       key=True)
        elif agreement and "by" in spec and set(spec["by"]) != set(agreement):
            self.error((*path, "by"), "with 'agreement:', the event is fired by the roles that "
                                      "agree: leave 'by:' out (or make it the same roles)")
        for m, role in enumerate(agreement):
            self.check_name((*path, "agreement", m), role, self.roles, "role")
        for m, role in enumerate(by if "by" in spec else []):
            self.check_name((*path, "by", m), role, self.roles, "role")
        data = {fid: self.data_field((*path, "data", fid), fid, f, rules)
                for fid, f in spec.get("data", {}).items()}
        if agreement:
            for fid, field in data.items():
                if field.personal_data:
                    self.error((*path, "data", fid), f"'{spec['event']}' is decided together "
                               f"(agreement:), and its data field '{fid}' is personal data: a "
                               "pending agreement keeps its data with the case, outside the "
                               "encrypted personal data; let a plain event carry it")
        when = spec.get("when")
        for role in spec.get("assigns", {}):
            if self.check_name((*path, "assigns", role), role, self.roles, "role") and \
                    not self.roles[role].case_role:
                self.error((*path, "assigns", role), f"'{role}' is not a case role (add "
                                                     "'case_role: true' to it under roles:)",
                           key=True)
        for fact in spec.get("sets", {}):
            self.check_name((*path, "sets", fact), fact, self.facts, "fact")
        raw_paths = spec.get("escalation_path")
        paths = tuple(raw_paths if isinstance(raw_paths, list) else
                      [raw_paths] if raw_paths is not None else [])
        criteria_ids = [c.id for rs in rules.values() if rs.kind == "criteria"
                        for c in rs.criteria]
        for m, path_id in enumerate(paths):
            where: Path = (*path, "escalation_path", m) if isinstance(raw_paths, list) \
                else (*path, "escalation_path")
            self.check_name(where, path_id, criteria_ids,
                            "escalation path (a criterion of a rule set)")
        return Transition(
            event=spec["event"], label=spec.get("label", spec["event"]),
            from_states=tuple(sources),
            target=spec.get("to", ""), by=tuple(by), data=_frozen(data),
            when=None if when is None else self.expression((*path, "when"), when),
            assigns=_frozen({k: self.expression((*path, "assigns", k), v)
                             for k, v in spec.get("assigns", {}).items()}),
            sets=_frozen({k: self.expression((*path, "sets", k), v)
                          for k, v in spec.get("sets", {}).items()}),
            sends=spec.get("sends"), escalation=bool(spec.get("escalation", False)),
            escalation_paths=paths, cite=spec.get("source", ""),
            description=spec.get("description", ""), assumption=spec.get("assumption", ""),
            warnings=tuple(
                WarningRule(wid, w["label"],
                            self.expression((*path, "warnings", wid, "when"), w["when"]),
                            w.get("source", ""), w.get("assumption", ""))
                for wid, w in spec.get("warnings", {}).items()),
            agreement=tuple(agreement), returns=returns,
        )

    def check_determinism(self, transitions: tuple[Transition, ...]) -> None:
        seen: dict[tuple[str, str], int] = {}
        for n, t in enumerate(transitions):
            for sid in t.from_states:
                key = (sid, t.event)
                if key in seen:
                    self.error(("transitions", n, "event"),
                               f"event '{t.event}' leaves state '{sid}' twice (also transition "
                               f"#{seen[key] + 1}): one event may have one target per state")
                else:
                    seen[key] = n

    def check_returns(self, transitions: tuple[Transition, ...]) -> None:
        """A returning transition needs somewhere to return to."""
        for n, t in enumerate(transitions):
            if t.returns and not any(other.target in t.from_states
                                     and set(other.from_states) - set(t.from_states)
                                     for other in transitions):
                self.error(("transitions", n, "returns"), f"'{t.event}' returns the case to "
                           "where it came from, but no transition leads into "
                           f"{', '.join(t.from_states)} from another state")

    def check_reachability(self, states: Mapping[str, State],
                           transitions: tuple[Transition, ...]) -> None:
        initial = [s.id for s in states.values() if s.initial]
        if not initial:
            return
        reached = {initial[0]}
        frontier = [initial[0]]
        while frontier:
            current = frontier.pop()
            for t in transitions:
                if current in t.from_states and t.target in states and t.target not in reached:
                    reached.add(t.target)
                    frontier.append(t.target)
        for sid in states:
            if sid not in reached:
                self.error(("states", sid), f"state '{sid}' cannot be reached from the initial "
                                            f"state '{initial[0]}': add a transition to it or "
                                            "remove it", key=True)

    # -- rule sets ---------------------------------------------------------------------------
    def rule_sets(self) -> dict[str, RuleSet]:
        result: dict[str, RuleSet] = {}
        for rid, spec in self.data.get("rules", {}).items():
            path: Path = ("rules", rid)
            label, source = spec["label"], spec.get("source", "")
            desc = spec.get("description", "")
            if spec["kind"] == "criteria":
                criteria = []
                for cid, c in spec["criteria"].items():
                    modes = [m for m in ("when", "all", "any") if m in c]
                    if len(modes) != 1:
                        self.error((*path, "criteria", cid), f"criterion '{cid}' needs exactly "
                                   "one of 'when:', 'all:' or 'any:'", key=True)
                        modes = modes or ["when"]
                    mode = modes[0]
                    raw = c.get(mode, "true")
                    cpath: Path = (*path, "criteria", cid, mode)
                    clauses = tuple(self.expression((*cpath, n), x) for n, x in enumerate(raw))\
                        if isinstance(raw, list) else (self.expression(cpath, raw),)
                    criteria.append(Criterion(cid, c["label"], mode, clauses,  # type: ignore[arg-type]
                                              c.get("source", ""),
                                              assumption=c.get("assumption", "")))
                result[rid] = CriteriaRuleSet(rid, label, tuple(criteria), source, desc,
                                              assumption=spec.get("assumption", ""))
            elif spec["kind"] == "table":
                result[rid] = self.table(rid, spec)
            else:
                crit = tuple(
                    RankingCriterion(cid, c["label"], c.get("weight", 1),
                                     self.optional_expression((*path, "criteria", cid, "when"),
                                                              c.get("when")),
                                     self.optional_expression(
                                         (*path, "criteria", cid, "points"), c.get("points")),
                                     bool(c.get("required", False)), c.get("source", ""),
                                     c.get("assumption", ""))
                    for cid, c in spec["criteria"].items()
                )
                for rc in crit:
                    if (rc.when is None) == (rc.points is None):
                        self.error((*path, "criteria", rc.id), f"criterion '{rc.id}' needs "
                                   "exactly one of 'when:' or 'points:'", key=True)
                result[rid] = RankingRuleSet(rid, label, spec["candidates"],
                                             spec.get("candidate_id", "id"), crit, source, desc,
                                             assumption=spec.get("assumption", ""))
        return result

    def table(self, rid: str, spec: Mapping[str, Any]) -> TableRuleSet:
        path: Path = ("rules", rid)
        inputs = []
        for iid, i in spec["inputs"].items():
            ipath: Path = (*path, "inputs", iid)
            ftype = self.fact_type(ipath, i)
            # a mistake in 'from:' is shown at the input, as the input is what it computes
            where = self.where(ipath)
            inputs.append(TableInput(iid, i.get("label", iid), ftype,
                                     Expression(_expr_text(i.get("from", iid)), where), where))
        types = {i.id: i.type for i in inputs}
        outputs = tuple(spec["outputs"])
        rows = []
        seen: set[str] = set()
        for n, r in enumerate(spec["rows"]):
            rpath: Path = (*path, "rows", n)
            before = len(self.problems)
            if r["id"] in seen:
                self.error((*rpath, "id"), f"row id '{r['id']}' is used twice")
            seen.add(r["id"])
            cells = {}
            for iid, raw in r.get("when", {}).items():
                if self.check_name((*rpath, "when", iid), iid, types, "input"):
                    cells[iid] = self.cell((*rpath, "when", iid), types[iid], raw)
            for out in r["then"]:
                self.check_name((*rpath, "then", out), out, outputs, "output")
            rows.append(TableRow(r["id"], cells, dict(r["then"]), r.get("source", ""),
                                 r.get("label", ""), self.where(rpath),
                                 r.get("assumption", "")))
            if len(self.problems) > before:
                self.broken_rows.add((rid, r["id"]))
        return TableRuleSet(rid, spec["label"], spec["hit_policy"], tuple(inputs), outputs,
                            tuple(rows), spec.get("source", ""), spec.get("description", ""),
                            assumption=spec.get("assumption", ""))

    def cell(self, path: Path, t: FactType, raw: Any) -> Cell:
        text = _cell_text(raw)
        if raw == "any":
            return Cell("any", (), text)
        if raw is None or raw == "absent":
            return Cell("absent", (), "absent")
        if isinstance(raw, list):
            return Cell("in", tuple(self.cell_value(path, t, v) for v in raw), text)
        if isinstance(raw, str) and t.name in ("integer", "number"):
            if m := _CELL_RANGE.match(raw):
                lo, hi = float(m.group(1)), float(m.group(2))
                return Cell("range", (_num(lo), _num(hi)), text)
            if m := _CELL_CMP.match(raw):
                op = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "!=": "ne", "==": "eq"}
                try:
                    bound = float(m.group(2))
                except ValueError:
                    self.error(path, f"'{raw}': '{m.group(2)}' is not a number")
                    return Cell("any", (), text)
                return Cell(op[m.group(1)], (_num(bound),), text)  # type: ignore[arg-type]
        if isinstance(raw, str) and (m := _CELL_CMP.match(raw)) and m.group(1) in ("!=", "=="):
            value = self.cell_value(path, t, m.group(2).strip("'\""))
            return Cell("ne" if m.group(1) == "!=" else "eq", (value,), text)
        return Cell("eq", (self.cell_value(path, t, raw),), text)

    def cell_value(self, path: Path, t: FactType, value: Any) -> Any:
        if t.name == "enum" and value not in t.values:
            self.error(path, f"{value!r} is not one of {', '.join(t.values)}"
                             f"{suggest(str(value), t.values)}")
        elif t.name == "boolean" and not isinstance(value, bool):
            self.error(path, f"{value!r} is not true or false")
        elif t.name in ("integer", "number") and (isinstance(value, bool)
                                                  or not isinstance(value, int | float)):
            self.error(path, f"{value!r} is not a number; write e.g. 5, '< 5' or '0..4'")
        return value

    def check_rankings(self, rules: Mapping[str, RuleSet]) -> None:
        """A ranking's candidates: a fact that is a list of records with the id field."""
        for rid, rs in rules.items():
            if rs.kind != "ranking":
                continue
            path: Path = ("rules", rid)
            fact = self.facts.get(rs.candidates)
            if fact is None:
                self.check_name((*path, "candidates"), rs.candidates, self.facts, "fact")
            elif fact.type.name != "list" or not fact.type.fields:
                self.error((*path, "candidates"), f"fact '{rs.candidates}' must be a list "
                                                  "of records (type: list, items: {…})")
            elif rs.candidate_id not in fact.type.fields:
                self.error((*path, "candidate_id"), f"records of '{rs.candidates}' have no "
                           f"field '{rs.candidate_id}'")

    def invariant(self, iid: str, spec: Mapping[str, Any]) -> Invariant:
        path: Path = ("invariants", iid)
        forms = [k for k in _INVARIANT_KINDS if k in spec]
        if len(forms) != 1:
            self.error(path, f"invariant '{iid}' needs exactly one of implies, "
                             "requires_case_role, always_reachable, never", key=True)
        if forms and forms[0] in ("implies", "requires_case_role") and "in_state" not in spec:
            self.error(path, f"invariant '{iid}': '{forms[0]}' needs 'in_state:'", key=True)
        for key in ("in_state", "always_reachable"):
            value = spec.get(key)
            for m, sid in enumerate([value] if isinstance(value, str) else value or []):
                where: Path = (*path, key) if isinstance(value, str) else (*path, key, m)
                self.check_name(where, sid, self.states, "state")
        role = spec.get("requires_case_role")
        if role is not None and self.check_name((*path, "requires_case_role"), role,
                                                self.roles, "role") \
                and not self.roles[role].case_role:
            self.error((*path, "requires_case_role"), f"'{role}' is not a case role")
        never = spec.get("never")
        if never is not None:
            self.check_name((*path, "never", "event"), never["event"], self.events, "event")
        forbidden = never or {}
        # without exactly one form the workflow is not returned: any kind will do
        return Invariant(
            id=iid, label=spec["label"], kind=forms[0] if forms else "never",
            states=_names(spec.get("in_state")),
            condition=self.expression((*path, "implies"), spec.get("implies", "")),
            role=role or "", goals=_names(spec.get("always_reachable")),
            event=forbidden.get("event", ""),
            when=self.optional_expression((*path, "never", "when"), forbidden.get("when")),
            cite=spec.get("source", ""),
            description=spec.get("description", ""), assumption=spec.get("assumption", ""),
        )

    # -- the zgw: block (docs/zgw.md) --------------------------------------------------------
    def zgw(self, states: Mapping[str, State], transitions: tuple[Transition, ...]) -> Zgw:
        """The ``zgw:`` block: its values in the forms the Catalogi API takes, a RolType for
        every role, a result for every way into a final state, and Eigenschappen only of facts
        that may leave the case."""
        spec: Mapping[str, Any] = self.data["zgw"]
        base: Path = ("zgw",)
        catalogus = self.zgw_url((*base, "catalogus"), spec["catalogus"], CATALOGUS_URL,
                                 "the URL of a catalogus in the Catalogi API",
                                 "https://openzaak.example.nl/catalogi/api/v1/catalogussen/"
                                 "<uuid>")
        procestype = self.zgw_url((*base, "selectielijst_procestype"),
                                  spec["selectielijst_procestype"], PROCESTYPE_URL,
                                  "the URL of a ProcesType of the Selectielijst API",
                                  "https://selectielijst.openzaak.nl/api/v1/procestypen/<uuid>")
        for key in ("doorlooptijd", "servicenorm", "verlengingstermijn"):
            if key in spec:
                self.zgw_duration((*base, key), spec[key])
        if spec["verlenging_mogelijk"] and "verlengingstermijn" not in spec:
            self.error((*base, "verlenging_mogelijk"), "with 'verlenging_mogelijk: true', say "
                       "by how long a case may be extended: add 'verlengingstermijn:' (e.g. P6W)")
        if not spec["verlenging_mogelijk"] and "verlengingstermijn" in spec:
            self.error((*base, "verlengingstermijn"), "'verlengingstermijn' goes with "
                       "'verlenging_mogelijk: true': remove it (or allow the extension)",
                       key=True)
        for n, url in enumerate(spec["producten_of_diensten"]):
            self.zgw_url((*base, "producten_of_diensten", n), url, None,
                         "a URL of a product or service", "https://producten.example.nl/"
                         "wmo-ondersteuning")
        reference = spec["referentieproces"]
        if "link" in reference:
            self.zgw_url((*base, "referentieproces", "link"), reference["link"], None,
                         "a URL", "https://www.gemmaonline.nl/…")
        begin = self.zgw_date((*base, "begin_geldigheid"), spec["begin_geldigheid"])
        versiedatum = self.zgw_date((*base, "versiedatum"), spec["versiedatum"]) \
            if "versiedatum" in spec else begin
        end = self.zgw_date((*base, "einde_geldigheid"), spec["einde_geldigheid"]) \
            if "einde_geldigheid" in spec else None
        if end is not None and end < begin:
            self.error((*base, "einde_geldigheid"), f"einde_geldigheid {end} lies before "
                       f"begin_geldigheid {begin}: the zaaktype would never be valid")
        identificatie = spec.get("identificatie", self.data["id"])
        omschrijving = spec.get("omschrijving", self.data["label"])
        for key, value, given in (("identificatie", identificatie, "the workflow id"),
                                  ("omschrijving", omschrijving, "the workflow label")):
            if key not in spec and len(value) > MAX_LENGTH[key]:
                self.error(base, f"{given} is {len(value)} characters long, and a ZaakType "
                           f"{key} holds at most {MAX_LENGTH[key]}: add a shorter "
                           f"'{key}:' to zgw", key=True)
        eindstatus: Mapping[str, Any] = spec.get("eindstatus", {})
        self.zgw_statuses(states, eindstatus.get("omschrijving", "Afgehandeld"))
        properties = self.zgw_properties(spec.get("eigenschappen", []))
        return Zgw(
            catalogus=catalogus, identificatie=identificatie, omschrijving=omschrijving,
            doel=spec["doel"], aanleiding=spec["aanleiding"], onderwerp=spec["onderwerp"],
            handeling_initiator=spec["handeling_initiator"],
            handeling_behandelaar=spec["handeling_behandelaar"],
            doorlooptijd=spec["doorlooptijd"],
            vertrouwelijkheidaanduiding=spec["vertrouwelijkheidaanduiding"],
            indicatie_intern_of_extern=spec["indicatie_intern_of_extern"],
            opschorting_en_aanhouding_mogelijk=spec["opschorting_en_aanhouding_mogelijk"],
            verlenging_mogelijk=spec["verlenging_mogelijk"],
            publicatie_indicatie=spec["publicatie_indicatie"],
            producten_of_diensten=tuple(spec["producten_of_diensten"]),
            referentieproces_naam=reference["naam"], verantwoordelijke=spec["verantwoordelijke"],
            begin_geldigheid=begin, versiedatum=versiedatum,
            selectielijst_procestype=procestype, roles=_frozen(self.zgw_roles(spec["rollen"])),
            results=self.zgw_results(spec["resultaten"], states, transitions, properties),
            properties=properties,
            toelichting=spec.get("toelichting", self.data.get("description", "")),
            servicenorm=spec.get("servicenorm"), verlengingstermijn=spec.get("verlengingstermijn"),
            publicatietekst=spec.get("publicatietekst", ""),
            trefwoorden=tuple(spec.get("trefwoorden", ())),
            verantwoordingsrelatie=tuple(spec.get("verantwoordingsrelatie", ())),
            referentieproces_link=reference.get("link"), einde_geldigheid=end,
            eindstatus_omschrijving=eindstatus.get("omschrijving", "Afgehandeld"),
            eindstatus_statustekst=eindstatus.get("statustekst", ""),
            cite=spec.get("source", ""), assumption=spec.get("assumption", ""),
            where=self.where(base),
            selectielijst_procestype_at=self.where((*base, "selectielijst_procestype")),
        )

    def zgw_url(self, path: Path, value: str, form: LazyPattern | None, what: str,
                example: str) -> str:
        """``value``, after checking it has the form of a URL (or of ``form``)."""
        if not (form or URL).match(value):
            self.error(path, f"{value!r} is not {what}: write e.g. {example}")
        return value

    def zgw_duration(self, path: Path, value: str) -> None:
        if not DURATION.match(value):
            self.error(path, f"{value!r} is not an ISO 8601 duration as the Catalogi API takes "
                             "it: write e.g. P10Y (10 years), P6M, P8W or P42D")

    def zgw_date(self, path: Path, value: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.error(path, f"'{value}' is not a valid date (YYYY-MM-DD)")
            return date(2000, 1, 1)

    def zgw_statuses(self, states: Mapping[str, State], eindstatus: str) -> None:
        """Each state that is not final becomes a StatusType named by its label, the final
        ones the eindstatus: the labels must fit and tell the StatusTypen apart."""
        seen = {eindstatus: "the eindstatus"}
        for sid, state in states.items():
            if state.final:
                continue
            path: Path = ("states", sid, "label")
            most = MAX_LENGTH["statustype.omschrijving"]
            if len(state.label) > most:
                self.error(path, f"the label of state '{sid}' is {len(state.label)} characters "
                           f"long; with a zgw: block it is a StatusType omschrijving, which "
                           f"holds at most {most}: shorten it")
            if state.label in seen:
                self.error(path, f"state '{sid}' has the label of {seen[state.label]} "
                           f"('{state.label}'); with a zgw: block each state that is not final "
                           "is a StatusType, told apart by its label: give it another label"
                           + (" (or give zgw.eindstatus another omschrijving)"
                              if seen[state.label] == "the eindstatus" else ""))
            seen.setdefault(state.label, f"state '{sid}'")

    def zgw_roles(self, spec: Mapping[str, Any]) -> dict[str, ZgwRole]:
        """A RolType for every role, in the order of ``roles:``."""
        path: Path = ("zgw", "rollen")
        for rid in spec:
            if rid not in self.roles:
                self.error((*path, rid), f"unknown role '{rid}'{suggest(rid, self.roles)}",
                           key=True)
        result: dict[str, ZgwRole] = {}
        generic = "adviseur, behandelaar, belanghebbende, beslisser, initiator, " \
                  "klantcontacter, zaakcoordinator, mede_initiator"
        for rid, role in self.roles.items():
            if rid not in spec:
                self.error(path, f"role '{rid}' has no omschrijving_generiek: add "
                           f"'{rid}: {{omschrijving_generiek: …}}' under zgw.rollen (one of "
                           f"{generic})", key=True)
                continue
            r = spec[rid]
            omschrijving = r.get("omschrijving", role.label)
            most = MAX_LENGTH["roltype.omschrijving"]
            if "omschrijving" not in r and len(omschrijving) > most:
                self.error((*path, rid), f"the label of role '{rid}' is {len(omschrijving)} "
                           f"characters long, and a RolType omschrijving holds at most {most}: "
                           "add a shorter 'omschrijving:'", key=True)
            result[rid] = ZgwRole(rid, r["omschrijving_generiek"], omschrijving,
                                  r.get("source", ""), r.get("assumption", ""))
        return result

    def zgw_properties(self, spec: list[Mapping[str, Any]]) -> tuple[ZgwProperty, ...]:
        """The allow-list of facts exported as Eigenschappen: never personal data, never a
        special category of it, never free text (which can name a person) or a list."""
        result: list[ZgwProperty] = []
        facts: set[str] = set()
        names: set[str] = set()
        for n, p in enumerate(spec):
            path: Path = ("zgw", "eigenschappen", n)
            fid = p["fact"]
            if not self.check_name((*path, "fact"), fid, self.facts, "fact"):
                continue
            fact = self.facts[fid]
            if fact.personal_data or fact.special_category:
                what = "personal data" if fact.personal_data else \
                    "a special category of personal data"
                self.error((*path, "fact"), f"'{fid}' is {what} and never leaves the case as "
                           "an Eigenschap: remove it from zgw.eigenschappen")
            elif fact.type.name in ("string", "list"):
                self.error((*path, "fact"), f"'{fid}' is {fact.type.describe()}; only a "
                           "boolean, enum, number, date or datetime fact becomes an Eigenschap "
                           "(free text can name a person, a list has no Eigenschap form): "
                           "remove it from zgw.eigenschappen")
            if fid in facts:
                self.error((*path, "fact"), f"fact '{fid}' is listed twice in zgw.eigenschappen")
            facts.add(fid)
            naam = p.get("naam", fid)
            most = MAX_LENGTH["eigenschap.naam"]
            if "naam" not in p and len(fid) > most:
                self.error((*path, "fact"), f"the fact id '{fid}' is {len(fid)} characters long, "
                           f"and an Eigenschap naam holds at most {most}: add 'naam:' "
                           f"(e.g. '{fid[:most].rstrip('_')}')")
            if naam in names:
                self.error((*path, "naam") if "naam" in p else (*path, "fact"),
                           f"two Eigenschappen are named '{naam}': give one another 'naam:'")
            names.add(naam)
            definitie = p.get("definitie", fact.label)
            most = MAX_LENGTH["eigenschap.definitie"]
            if "definitie" not in p and len(definitie) > most:
                self.error((*path, "fact"), f"the label of '{fid}' is {len(definitie)} "
                           f"characters long, and an Eigenschap definitie holds at most {most}: "
                           "add a shorter 'definitie:'")
            result.append(ZgwProperty(fid, naam, definitie, p.get("toelichting", ""),
                                      p.get("source", ""), p.get("assumption", "")))
        return tuple(result)

    def zgw_results(self, spec: list[Mapping[str, Any]], states: Mapping[str, State],
                    transitions: tuple[Transition, ...], properties: tuple[ZgwProperty, ...]
                    ) -> tuple[ZgwResult, ...]:
        """The ResultaatTypen, and a check that every way into a final state has one."""
        finals = ", ".join(sid for sid, s in states.items() if s.final)
        results: list[ZgwResult] = []
        sound: list[bool] = []
        seen: set[str] = set()
        for n, r in enumerate(spec):
            path: Path = ("zgw", "resultaten", n)
            before = len(self.problems)
            ends = _names(r["state"])
            for m, sid in enumerate(ends):
                where: Path = (*path, "state", m) if isinstance(r["state"], list) \
                    else (*path, "state")
                if self.check_name(where, sid, states, "state") and not states[sid].final:
                    self.error(where, f"'{sid}' is not a final state: a result is how a case "
                               f"ends; name a final state ({finals})")
            into = [t for t in transitions if not t.returns and t.target in ends]
            events = _names(r.get("event"))
            for m, event in enumerate(events):
                where = (*path, "event", m) if isinstance(r["event"], list) else (*path, "event")
                if self.check_name(where, event, self.events, "event") and \
                        not any(t.event == event for t in into):
                    self.error(where, f"event '{event}' does not lead into "
                               f"{' or '.join(repr(s) for s in ends)}: name an event that does")
            field, values = self.zgw_result_data(path, r, [t for t in into
                                                           if t.event in events])
            if r["omschrijving"] in seen:
                self.error((*path, "omschrijving"), f"two results are named "
                           f"'{r['omschrijving']}': give each ResultaatType its own omschrijving")
            seen.add(r["omschrijving"])
            self.zgw_url((*path, "resultaattypeomschrijving"), r["resultaattypeomschrijving"],
                         RESULTAATTYPEOMSCHRIJVING_URL,
                         "the URL of a generic result type of the VNG Referentielijsten API",
                         "https://referentielijsten-api.vng.cloud/api/v1/"
                         "resultaattypeomschrijvingen/<uuid>")
            self.zgw_url((*path, "selectielijstklasse"), r["selectielijstklasse"], RESULTAAT_URL,
                         "the URL of a Resultaat of the Selectielijst API",
                         "https://selectielijst.openzaak.nl/api/v1/resultaten/<uuid>")
            if "archiefactietermijn" in r:
                self.zgw_duration((*path, "archiefactietermijn"), r["archiefactietermijn"])
            elif r["archiefnominatie"] == "vernietigen":
                self.error((*path, "archiefnominatie"), "a result to destroy needs "
                           "'archiefactietermijn:' (how long after the brondatum; the "
                           "Selectielijst class's bewaartermijn, e.g. P15Y)")
            brondatum = self.zgw_brondatum((*path, "brondatum"), r["brondatum"], properties)
            results.append(ZgwResult(
                omschrijving=r["omschrijving"], states=ends,
                resultaattypeomschrijving=r["resultaattypeomschrijving"],
                selectielijstklasse=r["selectielijstklasse"],
                archiefnominatie=r["archiefnominatie"], brondatum=brondatum, events=events,
                data_field=field, data_values=values,
                archiefactietermijn=r.get("archiefactietermijn"),
                toelichting=r.get("toelichting", ""), cite=r.get("source", ""),
                assumption=r.get("assumption", ""), where=self.where(path),
                selectielijstklasse_at=self.where((*path, "selectielijstklasse")),
                archiefnominatie_at=self.where((*path, "archiefnominatie")),
                archiefactietermijn_at=self.where((*path, "archiefactietermijn"))
                if "archiefactietermijn" in r else self.where(path),
                afleidingswijze_at=self.where((*path, "brondatum", "afleidingswijze")),
                vernietiging=self.zgw_destruction(path, r)))
            sound.append(len(self.problems) == before)
        if all(sound):
            self.zgw_coverage(tuple(results), states, transitions)
        return tuple(results)

    def zgw_destruction(self, path: Path, spec: Mapping[str, Any]) -> str:
        """``vernietiging:``: what retention destroys of a case with this result when its
        archiefactiedatum has come: the whole case (``zaak``, the default) or only its
        personal data (``persoonsgegevens``); only with ``archiefnominatie: vernietigen``."""
        how: str = spec.get("vernietiging", "zaak")
        if "vernietiging" in spec and spec["archiefnominatie"] != "vernietigen":
            self.error((*path, "vernietiging"), "'vernietiging' says what is destroyed when the "
                       "case's retention ends, and this result is kept for good "
                       f"(archiefnominatie: {spec['archiefnominatie']}): remove it", key=True)
        return how

    def zgw_result_data(self, path: Path, spec: Mapping[str, Any], into: list[Transition]
                        ) -> tuple[str | None, tuple[Any, ...]]:
        """A result's ``data: {field: value or [values]}``: an enum or boolean data field of
        each of its events (``into``: their transitions into its states)."""
        if "data" not in spec:
            return None, ()
        data: Mapping[str, Any] = spec["data"]
        if "event" not in spec:
            self.error((*path, "data"), "'data:' tests a data field of an event: add 'event:' "
                       "(the event that ends the case with that data)", key=True)
            return None, ()
        if len(data) != 1:
            self.error((*path, "data"), "'data:' names one data field of the event, e.g. "
                       "{afsluitreden: geen_perspectief} or {afsluitreden: [a, b]}", key=True)
            return None, ()
        field, raw = next(iter(data.items()))
        values = tuple(raw) if isinstance(raw, list) else (raw,)
        for t in into:
            spec_field = t.data.get(field)
            if spec_field is None:
                known = f" (its data fields: {', '.join(t.data)})" if t.data else \
                    " (it has no data)"
                self.error((*path, "data", field), f"event '{t.event}' has no data field "
                           f"'{field}'{suggest(field, t.data)}{known}", key=True)
                continue
            ftype = spec_field.type
            if ftype.name not in ("enum", "boolean"):
                self.error((*path, "data", field), f"data field '{field}' of '{t.event}' is "
                           f"{ftype.describe()}; a result can test an enum or boolean field "
                           "only", key=True)
                continue
            for m, value in enumerate(values):
                where: Path = (*path, "data", field, m) if isinstance(raw, list) \
                    else (*path, "data", field)
                if ftype.name == "boolean" and not isinstance(value, bool):
                    self.error(where, f"{value!r} is not true or false")
                elif ftype.name == "enum" and value not in ftype.values:
                    self.error(where, f"{value!r} is not a value of '{field}' (one of "
                               f"{', '.join(ftype.values)}){suggest(str(value), ftype.values)}")
        return field, values

    def zgw_brondatum(self, path: Path, spec: Mapping[str, Any],
                      properties: tuple[ZgwProperty, ...]) -> ZgwBrondatum:
        """``brondatumArchiefprocedure``, under the Catalogi API's rules ztc-004 to ztc-008."""
        how = spec["afleidingswijze"]
        missing = {"gerelateerde_zaak": "a related zaaktype", "hoofdzaak": "a main zaaktype",
                   "ingangsdatum_besluit": "a besluittype", "vervaldatum_besluit": "a "
                   "besluittype", "zaakobject": "a zaakobjecttype"}
        if how in missing:
            self.error((*path, "afleidingswijze"), f"afleidingswijze '{how}' needs "
                       f"{missing[how]}, and the export has none: use afgehandeld, termijn, "
                       "eigenschap or ander_datumkenmerk")
        rules = (("datumkenmerk", ("eigenschap", "zaakobject", "ander_datumkenmerk"), "ztc-004"),
                 ("objecttype", ("zaakobject", "ander_datumkenmerk"), "ztc-006"),
                 ("registratie", ("ander_datumkenmerk",), "ztc-007"),
                 ("procestermijn", ("termijn",), "ztc-008"))
        for key, kinds, rule in rules:
            if how in kinds and key not in spec:
                self.error(path, f"afleidingswijze '{how}' needs '{key}:' ({rule})", key=True)
            elif how not in kinds and key in spec:
                self.error((*path, key), f"'{key}' goes with afleidingswijze "
                           f"{' or '.join(kinds)} only ({rule}): remove it", key=True)
        if "einddatum_bekend" in spec and how in ("afgehandeld", "termijn"):
            self.error((*path, "einddatum_bekend"), f"'einddatum_bekend' has no meaning with "
                       f"afleidingswijze '{how}' (ztc-005): remove it", key=True)
        if "procestermijn" in spec:
            self.zgw_duration((*path, "procestermijn"), spec["procestermijn"])
        if how == "eigenschap" and "datumkenmerk" in spec:
            dates = [p.naam for p in properties if p.fact in self.facts
                     and self.facts[p.fact].type.name in ("date", "datetime")]
            if spec["datumkenmerk"] not in dates:
                self.error((*path, "datumkenmerk"), f"'{spec['datumkenmerk']}' is not the naam "
                           "of a date Eigenschap of zgw.eigenschappen"
                           + (f" (one of {', '.join(dates)})" if dates else
                              ": export a date fact there first"))
        return ZgwBrondatum(how, spec.get("procestermijn"), spec.get("datumkenmerk"),
                            spec.get("einddatum_bekend"), spec.get("objecttype"),
                            spec.get("registratie"))

    def zgw_coverage(self, results: tuple[ZgwResult, ...], states: Mapping[str, State],
                     transitions: tuple[Transition, ...]) -> None:
        """Every way into a final state (an event, and the values of the data fields results
        test) matches a result, and every result is the first match of some way."""
        absent = object()
        used: set[int] = set()
        gaps: list[str] = []
        for t in transitions:
            if t.returns or t.target not in states or not states[t.target].final:
                continue
            fields = sorted({f for r in results for f in [r.data_field]
                             if f is not None and f in t.data and t.target in r.states
                             and (not r.events or t.event in r.events)})
            domains: list[tuple[Any, ...]] = []
            for name in fields:
                ftype = t.data[name].type
                values: tuple[Any, ...] = ftype.values if ftype.name == "enum" else (True, False)
                domains.append(values if t.data[name].required else (*values, absent))
            for combination in itertools.product(*domains):
                data = {f: v for f, v in zip(fields, combination, strict=True) if v is not absent}
                first = next((n for n, r in enumerate(results)
                              if r.matches(t.target, t.event, data)), None)
                if first is not None:
                    used.add(first)
                    continue
                shown = ", ".join(f"{f} {'absent' if v is absent else repr(v)}"
                                  for f, v in zip(fields, combination, strict=True))
                gaps.append(f"'{t.event}' into '{t.target}'" + (f" with {shown}" if shown else ""))
        for gap in gaps[:10]:
            self.error(("zgw", "resultaten"), f"a case that ends by {gap} matches no result: "
                       "add a result for it to zgw.resultaten (state:, and event: or data: to "
                       "narrow it), or widen one", key=True)
        if len(gaps) > 10:
            self.error(("zgw", "resultaten"), f"… and {len(gaps) - 10} more ways to end a case "
                       "match no result", key=True)
        for n, result in enumerate(results):
            if n not in used:
                self.error(("zgw", "resultaten", n), f"result '{result.omschrijving}' never "
                           "applies: no case ends so, or an earlier result takes every case it "
                           "matches; remove it, or move it before the wider one")

    # -- examples ----------------------------------------------------------------------------
    def example(self, n: int, spec: Mapping[str, Any]) -> Example:
        path: Path = ("examples", n)
        actors = {a: tuple(r) for a, r in spec.get("actors", {}).items()}
        for actor, roles in actors.items():
            for m, role in enumerate(roles):
                self.check_name((*path, "actors", actor, m), role, self.roles, "role")

        def known_actors(where: Path, who: Any) -> None:
            if who is not None:
                self.check_name(where, str(who), actors, "actor")

        start = spec.get("start", {})
        known_actors((*path, "start", "by"), start.get("by"))
        steps: list[ExampleStep] = []
        for m, step in enumerate(spec["steps"]):
            spath: Path = (*path, "steps", m)
            actions = [k for k in _STEP_ACTIONS if k in step]
            if len(actions) != 1:
                self.error(spath, "a step does exactly one of event, set_facts, decide, due, "
                                  "allowed, complete")
            if "event" in step:
                self.check_name((*spath, "event"), step["event"], self.events, "event")
            if "complete" in step:
                self.check_name((*spath, "complete"), step["complete"], self.task_ids, "task")
            if "decide" in step:
                self.check_name((*spath, "decide"), step["decide"], self.data.get("rules", {}),
                                "rule set")
            if "expect" in step and "state" in step["expect"]:
                self.check_name((*spath, "expect", "state"), step["expect"]["state"],
                                self.states, "state")
            for event in step.get("expect", {}).get("agreements", None) or {}:
                self.check_name((*spath, "expect", "agreements", event), event, self.events,
                                "event")
            for fact in step.get("expect", {}).get("dossier", None) or {}:
                self.check_name((*spath, "expect", "dossier", fact), fact, self.facts, "fact")
            known_actors((*spath, "by"), step.get("by"))
            # without exactly one action the workflow is not returned: any will do
            steps.append(self.example_step(spath, step, actions[0] if actions else "event"))
        line, _ = self.doc.where(path)
        return Example(spec["name"], _frozen(actors), _example_start(start), tuple(steps), line,
                       spec.get("source", ""), spec.get("assumption", ""))

    def example_step(self, path: Path, spec: Mapping[str, Any], action: StepAction
                     ) -> ExampleStep:
        line, _ = self.doc.where(path)
        return ExampleStep(
            action=action, event=spec.get("event", ""), data=_frozen(dict(spec.get("data", {}))),
            facts_to_set=_frozen(dict(spec.get("set_facts", {}))),
            rule_set=spec.get("decide", ""), by=spec.get("by"), at=spec.get("at"),
            task=spec.get("complete", ""),
            expect=_expectation(spec.get("expect", {})), note=spec.get("note", ""), line=line,
        )


def _frozen(mapping: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(mapping)


def _names(value: str | list[str] | None) -> tuple[str, ...]:
    """The states an invariant names: one, a list, or none."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _example_start(spec: Mapping[str, Any]) -> ExampleStart:
    return ExampleStart(spec.get("by"), spec.get("at"), _frozen(dict(spec.get("facts") or {})))


def _expectation(spec: Mapping[str, Any]) -> Expectation:
    return Expectation(
        state=spec.get("state"), rejected=spec.get("rejected"),
        facts=_frozen_or_none(spec.get("facts")), dossier=_frozen_or_none(spec.get("dossier")),
        matched=_tuple_or_none(spec.get("matched")), holds=spec.get("holds"),
        outcome=spec.get("outcome"), expects_outcome="outcome" in spec,
        signals=_tuple_or_none(spec.get("signals")), events=_tuple_or_none(spec.get("events")),
        warnings=_tuple_or_none(spec.get("warnings")),
        tasks=_tuple_or_none(spec.get("tasks")),
        agreements=None if spec.get("agreements") is None else _frozen(
            {event: tuple(roles) for event, roles in spec["agreements"].items()}),
    )


def _frozen_or_none(mapping: dict[str, Any] | None) -> Mapping[str, Any] | None:
    return None if mapping is None else _frozen(dict(mapping))


def _tuple_or_none(items: list[Any] | None) -> tuple[Any, ...] | None:
    return None if items is None else tuple(items)


def _expr_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, str) else value


def _cell_text(raw: Any) -> str:
    if isinstance(raw, list):
        return "in [" + ", ".join(show(v) for v in raw) + "]"
    if isinstance(raw, str) and _CELL_CMP.match(raw):
        return raw.strip()
    return "= " + show(raw)


def _num(value: float) -> int | float:
    return int(value) if value == int(value) else value
