"""pytest plugin: the ``examples:`` of workflow YAML files become pytest items.

``pytest workflows/`` runs them; a failing example shows the step and the explanation.
A YAML file is taken for a workflow when it has top-level ``states:`` and ``transitions:``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .engine import Engine
from .errors import ExampleFailed, WorkflowError
from .loader import load_workflow
from .scenarios import run_example

_WORKFLOW_KEYS = re.compile(r"^states:\s*$.*^transitions:\s*$", re.MULTILINE | re.DOTALL)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect workflow YAML files."""
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    try:
        head = file_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not _WORKFLOW_KEYS.search(head):
        return None
    return WorkflowFile.from_parent(parent, path=file_path)


class WorkflowFile(pytest.File):
    """A workflow file: one item that validates it, one per example."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            workflow = load_workflow(self.path)
        except WorkflowError as exc:
            yield InvalidWorkflow.from_parent(self, name="validate", error=exc)
            return
        engine = Engine([workflow])
        for example in workflow.examples:
            yield ExampleItem.from_parent(self, name=example.name, workflow=workflow,
                                          example=example, engine=engine)


class InvalidWorkflow(pytest.Item):
    """Fails with the loader's problems."""

    def __init__(self, *, error: Exception, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        return str(self.error)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.path.name}: validate"


class ExampleItem(pytest.Item):
    """One example of a workflow file."""

    def __init__(self, *, workflow: Any, example: Any, engine: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workflow = workflow
        self.example = example
        self.engine = engine

    def runtest(self) -> None:
        result = run_example(self.engine, self.workflow, self.example)
        if not result.passed:
            raise ExampleFailed(result.message)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ExampleFailed):
            return f"example '{self.example.name}' ({self.path.name}:{self.example.line}):\n" \
                   f"  {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.example.line - 1, 0), f"example: {self.example.name}"
