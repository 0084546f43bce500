"""``verify`` as the page types: bounded, a few at a time, remembered per text.

`zorgflow.verify.verify` explores a workflow's state space; on a large workflow that takes
seconds. Here it runs with small bounds (`VerifyLimits`), in at most ``slots`` request
threads at once: a check that finds them all busy does not wait but says verify was skipped
for this keystroke (the next change checks again), and a save waits at most ``save_wait``
seconds for one. The answer for a text is kept (a few texts, most recent first), so the save
that follows the last check of a text does not verify it again.

A finding is answered as its severity, kind, message and the events of its shortest path,
with the line of the element it is about when that can be found in the text: never its
witness (the facts and data that show it), and verify's messages name elements, not values.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .._yaml import Document, read_yaml
from ..model import Workflow
from ..verify import SEARCH_BUDGET, Finding, Report, verify
from .files import digest

__all__ = ["Verification", "VerifyLimits", "findings_of", "locate"]

#: sections of a workflow whose entries are keyed by id, in the order a name is looked up
_SECTIONS = ("states", "rules", "invariants", "facts", "roles", "cycles")
_QUOTED = re.compile(r"'([^'\n]{1,200})'")


@dataclass(frozen=True, slots=True)
class VerifyLimits:
    """How much verification one text may cost in ``serve``.

    ``max_states`` and ``time_limit`` (seconds) bound the search of the state space and
    ``budget`` each witness search (see `zorgflow.verify.verify`); ``slots`` verifications
    run at once, at most; a save waits up to ``save_wait`` seconds for a slot.
    """

    max_states: int = 20_000
    time_limit: float = 2.0
    budget: int = SEARCH_BUDGET
    slots: int = 2
    save_wait: float = 5.0

    def __post_init__(self) -> None:
        if self.max_states < 1 or self.slots < 1 or self.budget < 1:
            raise ValueError("max_states, budget and slots must be at least 1")
        if not self.time_limit > 0 or self.save_wait < 0:
            raise ValueError("time_limit must be positive and save_wait not negative")


class Verification:
    """Runs `verify` for the request threads of one server, within its `VerifyLimits`."""

    #: texts whose answer is kept
    CACHE_SIZE = 16

    def __init__(self, limits: VerifyLimits | None = None) -> None:
        self.limits = limits or VerifyLimits()
        self._slots = threading.BoundedSemaphore(self.limits.slots)
        self._answers: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._answers_lock = threading.Lock()

    def cached(self, text: str) -> dict[str, Any] | None:
        """The answer kept for ``text``, or None."""
        key = digest(text)
        with self._answers_lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def answer(self, workflow: Workflow, text: str, *, wait: float = 0.0) -> dict[str, Any]:
        """The verify answer for ``workflow``, loaded from ``text``: kept, or verified now
        when a slot is free within ``wait`` seconds, else `skipped`."""
        kept = self.cached(text)
        if kept is not None:
            return kept
        if not self._acquire(wait):
            return self.skipped()
        try:
            kept = self.cached(text)  # verified by another request while this one waited
            if kept is not None:
                return kept
            answer = self._verify(workflow, text)
        finally:
            self._slots.release()
        self._keep(text, answer)
        return answer

    def _acquire(self, wait: float) -> bool:
        """Take a slot, waiting at most ``wait`` seconds (0: not at all)."""
        if wait > 0:
            return self._slots.acquire(timeout=wait)
        return self._slots.acquire(blocking=False)

    def skipped(self) -> dict[str, Any]:
        """The answer when every slot is busy."""
        slots = self.limits.slots
        return self._summary("skipped", [], note=(
            f"verify skipped: {slots} verification{'s' if slots != 1 else ''} already "
            "running; it runs again on the next change"))

    def not_run(self) -> dict[str, Any]:
        """The answer for a text that does not load (or that is saved without it)."""
        return self._summary("not_run", [], note="verify runs once the text loads without "
                             "errors")

    def _verify(self, workflow: Workflow, text: str) -> dict[str, Any]:
        limits = self.limits
        began = time.monotonic()
        try:
            report = verify(workflow, limits.budget, max_states=limits.max_states,
                            time_limit=limits.time_limit)
        except Exception as exc:  # a bug in verify must not take the editor down
            return self._summary("failed", [], note=(
                f"verify failed ({type(exc).__name__}); run `zorgflow verify` on the file "
                "to see why"))
        seconds = time.monotonic() - began
        findings = findings_of(report.findings, text)
        status = "cut_off" if report.cut_off else "complete"
        answer = self._summary(status, findings, note=_note(report, limits))
        answer.update(states=report.nodes, stopped=report.stopped, seconds=round(seconds, 3))
        return answer

    def _summary(self, status: str, findings: list[dict[str, Any]], *,
                 note: str) -> dict[str, Any]:
        errors = sum(1 for f in findings if f["severity"] == "error")
        return {"status": status, "findings": findings, "errors": errors,
                "warnings": len(findings) - errors, "cut_off": status == "cut_off",
                "stopped": "", "note": note, "max_states": self.limits.max_states,
                "time_limit": self.limits.time_limit}

    def _keep(self, text: str, answer: dict[str, Any]) -> None:
        with self._answers_lock:
            self._answers[digest(text)] = answer
            while len(self._answers) > self.CACHE_SIZE:
                self._answers.popitem(last=False)


def _note(report: Report, limits: VerifyLimits) -> str:
    """What the answer covers: all of the state space, or how far it got."""
    if report.stopped:
        return (f"verify cut off after {report.nodes:,} abstract states "
                f"({report.stopped.split(' (')[0]}; serve checks at most "
                f"{limits.max_states:,} states in {limits.time_limit:g} s): the findings are "
                "real but incomplete; run `zorgflow verify` on the file for the full search")
    if report.cut_off:
        return ("a witness search hit its bound: the findings are real but may be "
                "incomplete; run `zorgflow verify` on the file for the full search")
    return f"verified: {report.nodes:,} abstract states, all explored"


def findings_of(findings: Iterable[Finding], text: str) -> list[dict[str, Any]]:
    """``findings`` as JSON-ready dicts, with the line of what each is about where found.

    Never a witness: the facts and data it holds are left out."""
    found = list(findings)
    doc: Document | None = read_yaml(text, "<serve>")[0] if found else None
    rows = []
    for finding in found:
        line, column = locate(finding, doc) if doc is not None else (0, 0)
        rows.append({"severity": finding.severity, "kind": finding.kind,
                     "message": finding.message, "path": list(finding.path),
                     "line": line or None, "column": column or None})
    return rows


def locate(finding: Finding, doc: Document) -> tuple[int, int]:
    """Line and column of the element ``finding`` is about (an invariant by its id, a state,
    rule set, … by a name quoted in its message, a transition by event and from-state), or
    ``(0, 0)`` when none is found."""
    data = doc.data
    if not isinstance(data, Mapping):
        return (0, 0)
    names = _QUOTED.findall(finding.message)
    if finding.kind.startswith("invariant "):
        names.insert(0, finding.kind.removeprefix("invariant "))
        sections: tuple[str, ...] = ("invariants", *_SECTIONS)
    else:
        sections = _SECTIONS
    if finding.kind == "event never fires" and names:
        where = _transition(data, names[0], names[1] if len(names) > 1 else None)
        if where is not None:
            return doc.where(("transitions", where))
    for name in names:
        for section in sections:
            entries = data.get(section)
            if isinstance(entries, Mapping) and name in entries:
                return doc.where((section, name), key=True)
        event = name.split(" (", 1)[0]
        where = _transition(data, event, None)
        if where is not None:
            return doc.where(("transitions", where))
    return (0, 0)


def _transition(data: Mapping[str, Any], event: str, state: str | None) -> int | None:
    """The index of the transition for ``event`` (from ``state``, when given), or None."""
    transitions = data.get("transitions")
    if not isinstance(transitions, list):
        return None
    for index, item in enumerate(transitions):
        if not isinstance(item, Mapping) or item.get("event") != event:
            continue
        sources = item.get("from")
        sources = sources if isinstance(sources, list) else [sources]
        if state is None or state in sources:
            return index
    return None
