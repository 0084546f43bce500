"""Moving cases to a new workflow version: plans (`load_plan`), their verification over the
old version's abstract states (`check_plan`) and their impact on a store (`impact`)."""

from ..migration_plan import (
    MigrationPlan,
    Rule,
    identity_plan,
    load_plan,
    load_plan_text,
)
from .check import (
    CaseVerdict,
    Gap,
    Impact,
    MigrationReport,
    blockers,
    case_verdict,
    check_plan,
    impact,
)

__all__ = ["CaseVerdict", "Gap", "Impact", "MigrationPlan", "MigrationReport", "Rule",
           "blockers", "case_verdict", "check_plan", "identity_plan", "impact", "load_plan",
           "load_plan_text"]
