"""zorgflow: Dutch social-care case processes as YAML state machines.

The public API::

    import zorgflow
    wf = zorgflow.load_workflow("workflows/lzn.yaml")
    engine = zorgflow.Engine.from_directory("workflows")
    case = engine.start("lzn", actor=zorgflow.Actor("a.jansen", roles={"sociaal_contactpunt"}))
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .engine import Actor, Case, Engine, HistoryEntry, Signal
from .errors import (
    CaseFormatError,
    InvalidFacts,
    MissingDependency,
    Problem,
    RuleError,
    RulesBackendError,
    TransitionRejected,
    UnknownWorkflow,
    WorkflowError,
    ZorgflowError,
)
from .rules.decision import Decision
from .rules.logic import UNKNOWN

if TYPE_CHECKING:
    from .model import Workflow

__version__ = "0.1.0"


def load_workflow(path: str | Path) -> Workflow:
    """Load and validate one workflow YAML file. Raises `WorkflowError` listing every problem
    with ``file:line:column``."""
    from .loader import load_workflow as _load

    return _load(path)


__all__ = [
    "UNKNOWN",
    "Actor",
    "Case",
    "CaseFormatError",
    "Decision",
    "Engine",
    "HistoryEntry",
    "InvalidFacts",
    "MissingDependency",
    "Problem",
    "RuleError",
    "RulesBackendError",
    "Signal",
    "TransitionRejected",
    "UnknownWorkflow",
    "Workflow",
    "WorkflowError",
    "ZorgflowError",
    "__version__",
    "load_workflow",
]


def __getattr__(name: str) -> object:
    if name == "Workflow":
        from .model import Workflow

        return Workflow
    raise AttributeError(f"module 'zorgflow' has no attribute {name!r}")
