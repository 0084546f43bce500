"""zorgflow: Dutch social-care case processes as YAML state machines.

The public API::

    import zorgflow
    wf = zorgflow.load_workflow("workflows/lzn.yaml")
    engine = zorgflow.Engine.from_directory("workflows")
    case = engine.start("lzn", actor=zorgflow.Actor("a.jansen", roles={"sociaal_contactpunt"}))

Public modules: `zorgflow` (this one), `zorgflow.store`, `zorgflow.service` (the case
service, views and the timer worker), `zorgflow.testing`, `zorgflow.web` (optional: ``pip
install "zorgflow[web]"``) and the pytest plugin. Every other module is internal and may
change without notice; what they offer to applications is re-exported here.
"""

from __future__ import annotations

from ._version import __version__
from .engine import Actor, Case, CaseWriter, Engine, HistoryEntry, Signal, Task, TimerStatus
from .errors import (
    CaseExists,
    CaseFormatError,
    CaseMismatch,
    CaseNotFound,
    ConcurrentUpdate,
    ExampleFailed,
    GraphvizMissing,
    IdempotencyMismatch,
    InvalidFacts,
    MissingDependency,
    Problem,
    Reason,
    RuleError,
    RulesBackendError,
    StoreError,
    StoreUnavailable,
    TemplatesMissing,
    TransitionRejected,
    UnknownWorkflow,
    WorkflowError,
    ZorgflowError,
)
from .loader import load_workflow, load_workflow_text
from .model import Workflow
from .rules.decision import Decision
from .rules.durable import check as durable_gaps
from .rules.logic import UNKNOWN
from .scenarios import ExampleResult, run_examples
from .zgw import ZaaktypeUrls, export_zaaktype, zaaktype_urls

__all__ = [
    "UNKNOWN",
    "Actor",
    "Case",
    "CaseExists",
    "CaseFormatError",
    "CaseMismatch",
    "CaseNotFound",
    "CaseWriter",
    "ConcurrentUpdate",
    "Decision",
    "Engine",
    "ExampleFailed",
    "ExampleResult",
    "GraphvizMissing",
    "HistoryEntry",
    "IdempotencyMismatch",
    "InvalidFacts",
    "MissingDependency",
    "Problem",
    "Reason",
    "RuleError",
    "RulesBackendError",
    "Signal",
    "StoreError",
    "StoreUnavailable",
    "Task",
    "TemplatesMissing",
    "TimerStatus",
    "TransitionRejected",
    "UnknownWorkflow",
    "Workflow",
    "WorkflowError",
    "ZaaktypeUrls",
    "ZorgflowError",
    "__version__",
    "durable_gaps",
    "export_zaaktype",
    "load_workflow",
    "load_workflow_text",
    "run_examples",
    "zaaktype_urls",
]

# Public names say where users find them (reprs, tracebacks, documentation), not which
# internal module defines them.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type) or callable(_value):
        _value.__module__ = __name__
del _name, _value
