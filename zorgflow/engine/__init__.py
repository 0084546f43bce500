"""The runtime: `Engine`, `Case`, `Actor`, `Signal`, `Task`, `TimerStatus`, `HistoryEntry`,
and `CaseWriter`, the protocol a store implements so that the engine can save what it
changes."""

from .case import Actor, Case, HistoryEntry, Signal
from .engine import CaseWriter, Engine
from .work import Task, TimerStatus

__all__ = ["Actor", "Case", "CaseWriter", "Engine", "HistoryEntry", "Signal", "Task",
           "TimerStatus"]
