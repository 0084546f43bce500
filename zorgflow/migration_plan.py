"""Migration plans: how cases of one workflow version move to another, read from YAML (the
engine applies them, `zorgflow.migrate` checks them).

A plan is data (see docs/migration.md)::

    kind: migration
    workflow: lzn
    from_version: 1
    to_version: 2
    states:                        # old → new; a state left out keeps its id
      aanmelding: intake
      beoordeling:                 # conditional: the first rule whose `when` holds
        - {to: spoed, when: "facts.urgent"}
        - {to: regulier}
      afgesloten: {to: gearchiveerd, final_ok: true}   # a live → final move must say so
    facts:
      renamed: {oud_feit: nieuw_feit}
      defaults: {nieuw_feit: false}
    case_roles: {regisseur: casusregisseur}

`load_plan` checks it against both versions and raises `WorkflowError` with every problem at
``file:line:column``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from ._yaml import Document, Path, read_yaml
from .errors import Problem, WorkflowError
from .model import Workflow
from .rules.expr import Expr, Scope, compile_expr

_TOP = ("kind", "workflow", "from_version", "to_version", "states", "facts", "case_roles",
        "description")


@dataclass(frozen=True, slots=True)
class Rule:
    """One way an old state maps: to ``to`` when ``when`` holds (always, without it)."""

    to: str
    when: Expr | None = None
    final_ok: bool = False

    @property
    def text(self) -> str:
        """How the rule reads in a report."""
        return self.to if self.when is None else f"{self.to} when {self.when.source}"


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """A checked plan. ``states`` holds every old state (identity filled in for those kept
    that the file leaves out; an old state missing from the new version and from the file
    has no rules)."""

    file: str
    workflow: str
    from_version: int
    to_version: int
    states: Mapping[str, tuple[Rule, ...]]
    facts_renamed: Mapping[str, str] = field(default_factory=dict)
    facts_defaults: Mapping[str, Any] = field(default_factory=dict)
    case_roles: Mapping[str, str] = field(default_factory=dict)

    def role(self, old: str) -> str | None:
        """The new id of case role ``old`` (None: the new version has no such role)."""
        return self.case_roles.get(old)

    def fact(self, old: str) -> str | None:
        """The new id of fact ``old`` (None: dropped)."""
        return self.facts_renamed.get(old)


def identity_plan(old: Workflow, new: Workflow) -> MigrationPlan:
    """The plan that keeps every id: what migrating without a plan would do."""
    return MigrationPlan(
        "<identity>", old.id, old.version, new.version,
        {s: ((Rule(s),) if s in new.states else ()) for s in old.states},
        {f: f for f in old.facts if f in new.facts}, {},
        {r: r for r in _case_roles(old) if r in _case_roles(new)})


def _case_roles(wf: Workflow) -> set[str]:
    return {r for r, role in wf.roles.items() if role.case_role}


def load_plan(path: str | FsPath, old: Workflow, new: Workflow) -> MigrationPlan:
    """Read and check the plan file at ``path`` against the two versions."""
    name = str(path)
    return load_plan_text(_read_plan(path), old, new, name)


def _read_plan(path: str | FsPath) -> str:
    """The text of the plan file at ``path``; a `WorkflowError` when it cannot be read."""
    name = str(path)
    try:
        return FsPath(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowError([Problem(name, 0, 0, "plan file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError([Problem(name, 0, 0, f"cannot read the plan: {exc}")]) from None


def load_plan_text(text: str, old: Workflow, new: Workflow,
                   file: str = "<plan>") -> MigrationPlan:
    """Read and check a plan given as YAML text (``file`` names it in messages)."""
    doc, problems = read_yaml(text, file)
    if doc.data is None:
        raise WorkflowError(problems or [Problem(file, 1, 1, "the plan is empty")])
    if not isinstance(doc.data, dict):
        raise WorkflowError([*problems, doc.problem((), "a migration plan must be a mapping "
                                                        "(kind: migration, workflow:, …)")])
    reader = _PlanReader(doc, old, new)
    plan = reader.read()
    problems += reader.problems
    if problems:
        raise WorkflowError(problems)
    return plan


class _PlanReader:
    def __init__(self, doc: Document, old: Workflow, new: Workflow) -> None:
        self.doc, self.old, self.new = doc, old, new
        self.problems: list[Problem] = []

    def error(self, path: Path, message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, key=key))

    def mapping(self, path: Path, value: Any, what: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a mapping (name: value, …)")
            return {}
        return value

    def read(self) -> MigrationPlan:
        data: dict[str, Any] = self.doc.data
        for key in data:
            if key not in _TOP:
                self.error((key,), f"unknown key '{key}' in a migration plan; the keys are "
                           + ", ".join(_TOP), key=True)
        if data.get("kind") != "migration":
            self.error(("kind",), "a migration plan says 'kind: migration' (so that a "
                       "workflow folder's loader can tell it from a workflow)")
        if data.get("workflow") != self.old.id:
            self.error(("workflow",), f"the plan is for workflow '{data.get('workflow')}', "
                       f"but the versions given are of '{self.old.id}': write "
                       f"'workflow: {self.old.id}' or give the right workflow files")
        for key, wf in (("from_version", self.old), ("to_version", self.new)):
            if data.get(key) != wf.version:
                self.error((key,), f"{key} is {data.get(key)!r}, but the {key[:-8]} version "
                           f"given is {wf.version}: write '{key}: {wf.version}' or load "
                           f"version {data.get(key)!r}")
        roles = self.case_roles(data.get("case_roles"))
        renamed, defaults = self.facts(data.get("facts"))
        states = self.states(data.get("states"))
        return MigrationPlan(self.doc.file, self.old.id, self.old.version, self.new.version,
                             states, renamed, defaults, roles)

    def states(self, raw: Any) -> dict[str, tuple[Rule, ...]]:
        given = self.mapping(("states",), raw, "states:")
        scope = Scope(self.old.facts, rules=self.old.rules)
        result: dict[str, tuple[Rule, ...]] = {}
        for sid, spec in given.items():
            path: Path = ("states", sid)
            if sid not in self.old.states:
                self.error(path, f"'{sid}' is not a state of {self.old.id} version "
                           f"{self.old.version}; the states are "
                           f"{', '.join(self.old.states)}", key=True)
                continue
            specs = spec if isinstance(spec, list) else [spec]
            rules = []
            unconditional: list[int] = []
            for i, item in enumerate(specs):
                ipath: Path = (*path, i) if isinstance(spec, list) else path
                if isinstance(item, str):
                    item = {"to": item}
                if not isinstance(item, dict) or not isinstance(item.get("to"), str):
                    self.error(ipath, "a mapping is a new state id, {to: id, when: condition} "
                               "or a list of those")
                    continue
                for k in item:
                    if k not in ("to", "when", "final_ok"):
                        self.error((*ipath, k), f"unknown key '{k}'; a rule has to:, when: "
                                   "and final_ok:", key=True)
                if item.get("when") is None:
                    unconditional.append(i)
                rules.append(self.rule(ipath, sid, item, scope))
            for j in unconditional:
                if j < len(specs) - 1:
                    self.error((*path, j), "a rule without 'when:' must come last: the "
                               "rules after it can never be used")
            result[sid] = tuple(rules)
        for sid in self.old.states:
            if sid not in result:
                result[sid] = (Rule(sid),) if sid in self.new.states else ()
        return result

    def rule(self, path: Path, sid: str, item: Mapping[str, Any], scope: Scope) -> Rule:
        to = item["to"]
        if to not in self.new.states:
            self.error((*path, "to") if (*path, "to") in self.doc.marks else path,
                       f"'{to}' is not a state of {self.new.id} version {self.new.version}; "
                       f"the states are {', '.join(self.new.states)}")
        final_ok = item.get("final_ok", False)
        if not isinstance(final_ok, bool):
            self.error((*path, "final_ok"), "final_ok is true or false")
            final_ok = False
        if to in self.new.states and self.new.states[to].final \
                and not self.old.states[sid].final and not final_ok:
            self.error(path, f"'{sid}' is a live state but '{to}' is final: cases in it would "
                       "be closed by the migration; add 'final_ok: true' to this rule "
                       f"({{to: {to}, final_ok: true}}) if that is intended")
        when = None
        if item.get("when") is not None:
            source = item["when"]
            try:
                when = compile_expr(str(source), scope, expect_bool=True)
            except Exception as exc:  # ExprError and friends: say where
                self.error((*path, "when"), f"condition '{source}': {exc}; conditions read "
                           f"the facts of {self.old.id} version {self.old.version}")
        return Rule(to, when, final_ok)

    def facts(self, raw: Any) -> tuple[dict[str, str], dict[str, Any]]:
        spec = self.mapping(("facts",), raw, "facts:")
        for key in spec:
            if key not in ("renamed", "defaults", "dropped"):
                self.error(("facts", key), f"unknown key '{key}'; facts: has renamed:, "
                           "defaults: and dropped:", key=True)
        dropped = self.dropped(spec.get("dropped"))
        renamed: dict[str, str] = {}
        for o, n in self.mapping(("facts", "renamed"), spec.get("renamed"),
                                 "facts.renamed").items():
            path: Path = ("facts", "renamed", o)
            if o not in self.old.facts:
                self.error(path, f"'{o}' is not a fact of version {self.old.version}", key=True)
            elif not isinstance(n, str) or n not in self.new.facts:
                self.error(path, f"'{n}' is not a fact of version {self.new.version}; the "
                           f"facts are {', '.join(self.new.facts)}")
            elif self.old.facts[o].personal_data and not self.new.facts[n].personal_data:
                self.error(path, f"'{o}' holds personal data but '{n}' of version "
                           f"{self.new.version} is not marked personal_data: the values "
                           "would lose their protection; mark it personal_data: true in the "
                           "new version, or list it under facts: dropped: instead")
            elif n in renamed.values():
                self.error(path, f"two facts would both become '{n}': rename one of them to "
                           "another fact, or list it under facts: dropped:")
            else:
                renamed[o] = n
        for f in self.old.facts:
            if f in self.new.facts and f not in renamed and f not in renamed.values() \
                    and f not in dropped:
                if self.old.facts[f].personal_data and not self.new.facts[f].personal_data:
                    self.error(("facts",) if "facts" in self.doc.data else (),
                               f"fact '{f}' holds personal data in version "
                               f"{self.old.version} but not in version {self.new.version}: "
                               "the values would lose their protection; mark it "
                               "personal_data: true in the new version, or list it under "
                               "facts: dropped:")
                    continue
                renamed[f] = f
        defaults: dict[str, Any] = {}
        for f, value in self.mapping(("facts", "defaults"), spec.get("defaults"),
                                     "facts.defaults").items():
            if f not in self.new.facts:
                self.error(("facts", "defaults", f), f"'{f}' is not a fact of version "
                           f"{self.new.version}; a default is for a fact of the new version",
                           key=True)
            else:
                defaults[f] = value
        return renamed, defaults

    def dropped(self, raw: Any) -> set[str]:
        """``facts: dropped:``: old facts whose values do not move, though the new version
        has a fact of that id."""
        if raw is None:
            return set()
        if not isinstance(raw, list):
            self.error(("facts", "dropped"), "facts: dropped: is a list of fact ids")
            return set()
        result = set()
        for i, f in enumerate(raw):
            if not isinstance(f, str) or f not in self.old.facts:
                self.error(("facts", "dropped", i), f"'{f}' is not a fact of version "
                           f"{self.old.version}")
            else:
                result.add(f)
        return result

    def case_roles(self, raw: Any) -> dict[str, str]:
        spec = self.mapping(("case_roles",), raw, "case_roles:")
        old_roles, new_roles = _case_roles(self.old), _case_roles(self.new)
        result: dict[str, str] = {}
        for o, n in spec.items():
            path: Path = ("case_roles", o)
            if o not in old_roles:
                self.error(path, f"'{o}' is not a case role of version {self.old.version}",
                           key=True)
            elif not isinstance(n, str) or n not in new_roles:
                self.error(path, f"'{n}' is not a case role of version {self.new.version}; "
                           f"the case roles are {', '.join(sorted(new_roles)) or 'none'}")
            else:
                result[o] = n
        for r in sorted(old_roles):
            if r in result or r in spec:
                continue
            if r in new_roles:
                result[r] = r
            else:
                self.error(("case_roles",) if "case_roles" in self.doc.data else (),
                           f"case role '{r}' of version {self.old.version} is not in version "
                           f"{self.new.version}: cases holding it would lose who holds it; map "
                           f"it under case_roles: ({r}: <a case role of version "
                           f"{self.new.version}>)")
        return result


def plan_header(path: str | FsPath) -> tuple[str, int, int]:
    """(workflow, from_version, to_version) of the plan file at ``path``, read before the
    versions it names are looked up (raises `WorkflowError` when they are not there)."""
    name = str(path)
    doc, problems = read_yaml(_read_plan(path), name)
    if problems or not isinstance(doc.data, dict):
        raise WorkflowError(problems or [Problem(name, 1, 1, "a migration plan must be a "
                                                 "mapping (kind: migration, workflow:, …)")])
    found: list[Any] = []
    for key, kind in (("workflow", str), ("from_version", int), ("to_version", int)):
        value = doc.data.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            what = "a name" if kind is str else "a whole number"
            problems.append(doc.problem((key,) if key in doc.data else (),
                                        f"'{key}:' is missing or not {what}: a plan says "
                                        "which workflow and versions it moves cases between"))
        found.append(value)
    if problems:
        raise WorkflowError(problems)
    return found[0], found[1], found[2]
