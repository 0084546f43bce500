"""The runtime: `Engine`, `Case`, `Actor`, `Signal`, `HistoryEntry`."""

from .case import Actor, Case, HistoryEntry, Signal
from .engine import Engine

__all__ = ["Actor", "Case", "Engine", "HistoryEntry", "Signal"]
