"""The runtime: `Engine`, `Case`, `Actor`, `Signal`, `HistoryEntry`, and `CaseWriter`, the
protocol a store implements so that the engine can save what it changes."""

from .case import Actor, Case, HistoryEntry, Signal
from .engine import CaseWriter, Engine

__all__ = ["Actor", "Case", "CaseWriter", "Engine", "HistoryEntry", "Signal"]
