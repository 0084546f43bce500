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

from importlib import import_module as _import_module
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .scenarios import ExampleResult, run_examples
    from .zgw import ZaaktypeUrls, export_zaaktype, zaaktype_urls

#: names imported on first use (PEP 562), so that `import zorgflow` does not pay for what most
#: programs never call: the examples runner, the ZGW export
_LAZY = {
    "ExampleResult": ("zorgflow.scenarios", "ExampleResult"),
    "run_examples": ("zorgflow.scenarios", "run_examples"),
    "ZaaktypeUrls": ("zorgflow.zgw", "ZaaktypeUrls"),
    "export_zaaktype": ("zorgflow.zgw", "export_zaaktype"),
    "zaaktype_urls": ("zorgflow.zgw", "zaaktype_urls"),
}

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


def _public(value: Any) -> Any:
    """``value``, saying where users find it (reprs, tracebacks, documentation), not which
    internal module defines it."""
    if isinstance(value, type) or callable(value):
        value.__module__ = __name__
    return value


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'zorgflow' has no attribute '{name}'")
    module, attribute = _LAZY[name]
    value = _public(getattr(_import_module(module), attribute))
    globals()[name] = value  # later lookups find it without calling this
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__} - {"TYPE_CHECKING", "Any"})


for _name in __all__:
    if _name not in _LAZY:
        _public(globals()[_name])
del _name
