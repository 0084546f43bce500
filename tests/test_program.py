"""The compile stage: every expression of a workflow compiled once, every mistake (invariants
included) a load error at its file:line:column."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

import zorgflow
import zorgflow.rules.expr as expr_module
from zorgflow.loader import load_workflow_text
from zorgflow.scenarios import run_examples
from zorgflow.testing import state_machine_for
from zorgflow.verify import verify

ROOT = Path(__file__).resolve().parent.parent
LZN = ROOT / "workflows" / "lzn.yaml"
LZN_TEXT = LZN.read_text(encoding="utf-8")

IMPLIES = "    implies: known(history.last.data.reden)\n"
NEVER_CLOSE = '      when: "not (data.afsluitreden in rules.afsluitcriteria.matched)"\n'


def edited(old: str, new: str) -> str:
    assert LZN_TEXT.count(old) == 1, f"{old!r} must occur once"
    return LZN_TEXT.replace(old, new)


def position_of(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first ``needle`` in ``text``."""
    before = text[:text.index(needle)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def only_problem(text: str) -> zorgflow.Problem:
    with pytest.raises(zorgflow.WorkflowError) as caught:
        load_workflow_text(text, "lzn.yaml")
    assert len(caught.value.errors) == 1, caught.value
    return caught.value.errors[0]


def test_a_typo_in_an_invariant_is_a_load_error_at_its_position() -> None:
    text = edited(NEVER_CLOSE,
                  NEVER_CLOSE.replace("afsluitcriteria.matched", "afsluitcriteria.matchd"))
    problem = only_problem(text)
    assert (problem.line, problem.column) == position_of(text, "rules.afsluitcriteria.matchd")
    assert "matchd" in problem.message


def test_an_invariant_reads_the_data_of_the_step_that_led_there() -> None:
    text = edited(IMPLIES, IMPLIES.replace("data.reden", "data.rede"))
    problem = only_problem(text)
    assert (problem.line, problem.column) == position_of(text, "history.last.data.rede")
    assert "unknown data field 'rede'" in problem.message
    assert "did you mean 'reden'" in problem.message


def test_a_typo_in_a_never_condition_is_a_load_error() -> None:
    old = "when: \"kinderen_betrokken and data.afsluitreden == 'geen_perspectief'\""
    text = edited(old, old.replace("kinderen_betrokken", "kinderen_betrokke"))
    problem = only_problem(text)
    # the quote is not part of the condition: the column is that of its first letter
    assert (problem.line, problem.column) == position_of(text, "kinderen_betrokke and")
    assert "unknown fact 'kinderen_betrokke'" in problem.message


def test_mistakes_of_the_loader_and_of_the_compile_stage_come_together() -> None:
    text = edited(NEVER_CLOSE, NEVER_CLOSE.replace("matched", "matchd"))
    assert "by: [lzn_coordinator]" in text
    text = text.replace("by: [lzn_coordinator]", "by: [lzn_coordinatr]", 1)
    with pytest.raises(zorgflow.WorkflowError) as caught:
        load_workflow_text(text, "lzn.yaml")
    messages = [p.message for p in caught.value.errors]
    assert any("unknown role 'lzn_coordinatr'" in m for m in messages), messages
    assert any("matchd" in m for m in messages), messages


def test_each_expression_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # every compile_expr, wherever it is called from, parses its text first
    calls: list[str] = []
    real = expr_module.parse

    def counting(source: str) -> ast.expr:
        calls.append(source)
        return real(source)

    monkeypatch.setattr(expr_module, "parse", counting)
    workflow = zorgflow.load_workflow(LZN)
    loaded = len(calls)
    assert loaded > 20  # guards, criteria, tables, invariants of the LZN
    engine = zorgflow.Engine([workflow])
    verify(workflow)
    run_examples(workflow, engine)
    state_machine_for(workflow, engine)
    assert len(calls) == loaded, "the engine, verify, examples and the machine compiled again"


def test_a_workflow_made_in_code_is_compiled_when_first_used() -> None:
    workflow = zorgflow.load_workflow(LZN)
    copy = replace(workflow, label="Kopie")
    assert copy.compiled is None
    engine = zorgflow.Engine([copy])
    assert engine.decide("lzn", "afsluitcriteria",
                         {"zorg_ketenpartner_adequaat": True}).matched == ["zorg_bij_ketenpartner"]
    assert copy.compiled is not None and copy.compiled is not workflow.compiled
