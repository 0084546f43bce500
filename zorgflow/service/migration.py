"""Applying a migration plan to the cases of a store: `read_plan` and `CaseService.migrate`'s
result, `MigrationRun`.

Each case moves in its own transaction (one history entry of kind ``migrate``); a case that
cannot move stays on its version, with the reasons; running the plan again moves only the cases
still on the old version, so it is safe to repeat after an interruption.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..engine import Engine
from ..migration_plan import MigrationPlan, load_plan, plan_header

#: What happened to one case: moved (or, in a dry run, would move), was on the new version
#: already by this plan, could not move (``reasons`` say why), or failed for another reason
#: (its data could not be read, the store gave up): ``reasons`` hold the error's code and text.
Outcome = Literal["moved", "would move", "already moved", "blocked", "failed"]


def read_plan(engine: Engine, path: str | Path) -> MigrationPlan:
    """The migration plan in the file at ``path``, checked against the two versions it names,
    both of which ``engine`` must have loaded (`UnknownWorkflow` otherwise). Raises
    `WorkflowError` with every problem of the plan at ``file:line:column``."""
    workflow, old, new = plan_header(path)
    return load_plan(path, engine.workflow(workflow, old), engine.workflow(workflow, new))


@dataclass(frozen=True, slots=True)
class CaseMigration:
    """What a migration did to one case. ``reasons`` name states, facts and roles, never a
    fact's value."""

    case_id: str
    outcome: Outcome
    old_state: str | None = None
    new_state: str | None = None
    reasons: tuple[str, ...] = ()


@dataclass(slots=True)
class MigrationRun:
    """What `CaseService.migrate` did (``dry_run``: would do), case by case."""

    workflow: str
    from_version: int
    to_version: int
    dry_run: bool
    cases: list[CaseMigration] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        """Cases per outcome."""
        return Counter(c.outcome for c in self.cases)

    @property
    def ok(self) -> bool:
        """Every case looked at moved (or would), or had moved already."""
        return all(c.outcome in ("moved", "would move", "already moved") for c in self.cases)

    def as_text(self, limit: int = 20) -> str:
        """The run for people: counts per outcome and per move, then the cases that did not
        move, with why."""
        verb = "would move" if self.dry_run else "moved"
        counts = self.counts
        lines = [f"{self.workflow} {self.from_version} → {self.to_version}"
                 f"{' (dry run: nothing written)' if self.dry_run else ''}: "
                 f"{counts[verb]} case(s) {verb}, {counts['already moved']} moved before, "
                 f"{counts['blocked']} cannot move, {counts['failed']} failed"]
        moves = Counter((c.old_state, c.new_state) for c in self.cases if c.outcome == verb)
        for (old, new), n in sorted(moves.items(), key=lambda item: (str(item[0][0]),
                                                                     str(item[0][1]))):
            lines.append(f"  {old} → {new}: {n}")
        stuck = [c for c in self.cases if c.outcome in ("blocked", "failed")]
        for c in stuck[:limit]:
            where = f" in '{c.old_state}'" if c.old_state else ""
            lines.append(f"{c.outcome.upper()} {c.case_id}{where}: " + "; ".join(c.reasons))
        if len(stuck) > limit:
            lines.append(f"... and {len(stuck) - limit} more that did not move")
        return "\n".join(lines)
