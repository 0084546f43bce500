"""The workflow as a `transitions` Machine: a reference model and a drawing source.

Cases are never bound to it (binding costs 65–330 µs and 11–17 KB per model); the engine's own
compiled table runs cases. The machine only knows states and events, not roles or guards.
"""

from __future__ import annotations

from typing import Any

from ..model import Workflow


def build_machine(workflow: Workflow, model: Any = None) -> Any:
    """A `transitions.Machine` with the workflow's states and transitions (no guards). A
    returning transition (``returns: true``) leads, in the machine, to the first state it can
    return to: the machine keeps no history of where a case came from."""
    from transitions import Machine

    transitions = [
        {"trigger": t.event, "source": list(t.from_states), "dest": workflow.targets(t)[0]}
        for t in workflow.transitions if workflow.targets(t)
    ]
    return Machine(
        model=model if model is not None else Machine.self_literal,
        states=list(workflow.states),
        transitions=transitions,
        initial=workflow.initial.id,
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )
