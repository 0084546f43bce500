"""One private durable-rules ``Host`` per engine, and the evaluation of one fact set on it.

durable-rules has sharp edges, each handled here:

- ``durable.lang`` keeps one global host; we never touch it. Each engine builds its own
  ``durable.engine.Host``, with the host's background dispatch threads switched off (they
  would race our synchronous calls for the pending actions, and they never stop).
- Facts kept in one session pile up, and after ~46,000 distinct facts durable raises a
  spurious "already observed" error (jruizgit/rules#376). Every evaluation therefore asserts
  its message into a fresh session id and deletes that session afterwards.
- A message that matches no rule raises ``MessageNotHandledException``, and deleting that
  session afterwards crashes the process (a segmentation fault in 2.0.28). Every rule set
  therefore has a rule that matches every message of ours (``seen``); that it fired is
  checked on every evaluation.
- An exception inside an action is swallowed into the session's state; the state is checked
  after every evaluation and turned into a `RuleError`.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from ...errors import MissingDependency, RuleError
from .translate import MARKER, Translation

#: the key of the rule that matches every message
SEEN = "seen"
Fired = dict[tuple[int, bool], None]


def load_durable() -> tuple[Any, Any]:
    """``(durable.engine, durable_rules_engine)``, imported on first use only."""
    try:
        engine = importlib.import_module("durable.engine")
        core = importlib.import_module("durable_rules_engine")
    except ImportError as exc:  # not installed, or its C core does not load (Python >= 3.13)
        raise MissingDependency(
            "the durable rules back end needs durable-rules: pip install 'zorgflow[durable]' "
            f"(it builds on Python 3.11 and 3.12 only; here: {exc})") from exc
    return engine, core


class _Collector:
    """Where the actions of the running evaluation record what fired (one per session)."""

    __slots__ = ("fired",)

    def __init__(self) -> None:
        self.fired: Fired | None = None


def _action(collector: _Collector, key: tuple[int, bool]) -> Callable[[Any], None]:
    def action(c: Any) -> None:
        collector.fired[key] = None  # type: ignore[index]  # None outside an evaluation: fails

    return action


class Session:
    """A private durable-rules host and a lock around it (the C core is not thread safe)."""

    def __init__(self) -> None:
        engine, core = load_durable()
        host_class = type("ZorgflowHost", (engine.Host,), {"_run": _no_dispatch_threads})
        self._host = host_class()
        self._core = core
        self._not_handled = engine.MessageNotHandledException
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        self._collector = _Collector()
        weakref.finalize(self, _free, self._host, core)

    def register(self, name: str, translation: Translation) -> None:
        """Register a translated rule set under ``name`` (unique within this session)."""
        collector = self._collector
        rules: dict[str, Any] = {
            SEEN: {"all": [{"m": {MARKER: 1}}], "run": _action(collector, (-1, True))}}
        for i, criterion in enumerate(translation.criteria):
            for truth, condition in ((True, criterion.when_true), (False, criterion.when_false)):
                if condition is not None:
                    rules[f"c{i}_{'t' if truth else 'f'}"] = {
                        "all": [{"m": condition}], "run": _action(collector, (i, truth))}
        with self._lock:
            self._host.set_rulesets({name: rules})

    def run(self, name: str, message: Mapping[str, Any]) -> Fired:
        """Assert ``message`` in a fresh session of rule set ``name``; what fired, as
        ``(criterion index, truth)`` keys."""
        fired: Fired = {}
        with self._lock:
            sid = str(next(self._sids))
            self._collector.fired = fired
            try:
                state = self._host.assert_fact(name, {**message, "sid": sid})
            except self._not_handled:
                state = None
            except self._core.error as exc:
                raise RuleError(f"durable-rules could not take the facts: {exc}") from None
            finally:
                self._collector.fired = None
            if state is not None:
                self._host.delete_state(name, sid)
        if state is None or (-1, True) not in fired:
            # never expected: the `seen` rule matches every message (see the module docstring)
            raise RuleError("durable-rules did not handle the facts; its session "
                            f"{name}/{sid} is left in place")
        if state.get("exception"):
            raise RuleError(f"an action inside durable-rules failed: {state['exception']}")
        return fired


def _no_dispatch_threads(host: Any) -> None:
    """Replaces ``Host._run``: no timer threads polling the rule sets in the background."""


def _free(host: Any, core: Any) -> None:
    """Release the rule sets of a host that is no longer used (best effort)."""
    for ruleset in list(getattr(host, "_ruleset_list", ())):
        handle = getattr(ruleset, "_handle", None)
        if handle is not None:
            with contextlib.suppress(Exception):  # at garbage collection nothing can be done
                core.delete_ruleset(handle)
