"""The package's layering, enforced by reading the imports of every module (parsed with `ast`,
never imported).

Three rules, each offence reported as ``path:line: what``:

1. No import inside a function (any ``def``/``async def``, at any depth, methods included),
   except of the optional, heavy dependencies in `LAZY_IMPORTS`. A zorgflow module or the
   standard library is imported at the top of the module (``if TYPE_CHECKING:`` at module
   level is the top of the module).
2. A module imports from its own layer and lower ones only (`LAYERS`; imports under
   ``if TYPE_CHECKING:`` count). No module but the façade ``zorgflow/__init__.py`` imports the
   root package ``zorgflow``; every zorgflow module is in a layer; the modules under a
   `STDLIB_ONLY` prefix import no third-party package at all.
3. No cycle between the top-level units of the package (``zorgflow.engine``,
   ``zorgflow.loader``, …: the first component after ``zorgflow.``), the façade left out.

To move a module or add one, edit the data below, not the code.
"""

from __future__ import annotations

import ast
import itertools
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "zorgflow"

# The layers, lowest first. A module may import from its own layer and lower ones only. A
# module's layer is the one holding the longest prefix of its dotted name, compared by whole
# components (``zorgflow.rules`` holds ``zorgflow.rules.durable.host``, not ``zorgflow.rulesx``).
LAYERS: dict[int, tuple[str, ...]] = {
    # the leaves everything may use: the exception types, the version string, the base of the
    # frozen dataclasses, the small maps a case keeps as flat tuples
    0: ("zorgflow.errors", "zorgflow._version", "zorgflow._frozen", "zorgflow._flatmap"),
    # the workflow model: its dataclasses, the fact types and their coercion, and the
    # Europe/Amsterdam calendar (zorgflow.model.calendar); standard library only
    1: ("zorgflow.model",),
    # the rules: expressions, three-valued logic, decisions, rule sets, the durable back end
    2: ("zorgflow.rules",),
    # the one compile stage: model -> program
    3: ("zorgflow.program",),
    # reading workflows and migration plans: YAML -> model
    4: ("zorgflow.loader", "zorgflow._yaml", "zorgflow.migration_plan"),
    # running cases
    5: ("zorgflow.engine",),
    # keeping cases: SQLite, PostgreSQL
    6: ("zorgflow.store",),
    # the engine and a store together; a case's ZGW form (zaaktype, archiving, zaak sync)
    7: ("zorgflow.service", "zorgflow.zgw"),
    # proving workflows: verification, example scenarios
    8: ("zorgflow.verify", "zorgflow.scenarios"),
    # tools on top: the test helpers, the pytest plugin, diagrams and documents, migration
    # plans (checked with the verifier, measured on a store)
    9: ("zorgflow.testing", "zorgflow.pytest_plugin", "zorgflow.render", "zorgflow.migrate"),
    # the web server
    10: ("zorgflow.serve", "zorgflow.web"),
    # the command line
    11: ("zorgflow.cli", "zorgflow.__main__"),
}

# Modules under these prefixes may import the standard library and lower zorgflow layers only:
# no third-party package at all, not even lazily.
STDLIB_ONLY: tuple[str, ...] = ("zorgflow.model",)

# The optional or heavy third-party packages that may be imported inside a function (so that
# ``import zorgflow`` works without them), by the top-level name they are imported as.
LAZY_IMPORTS: frozenset[str] = frozenset({
    "jsonschema",
    "transitions",
    "graphviz",
    "psycopg",
    "jinja2",
    "markupsafe",  # comes with jinja2
    "durable",  # durable-rules
    "cryptography",
    "opentelemetry",
    "httpx",
    "fastapi",
    "uvicorn",
    "starlette",
    "hypothesis",
})

# The public façade: exempt as an importer from rules 2 and 3 (it re-exports from every layer).
FACADE = PACKAGE

# The real package, found from this file so the test runs from any working directory.
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE

# Offences are listed grouped by kind, in this order.
KINDS = ("parse", "unlayered", "root", "upward", "stdlib-only", "lazy", "cycle")


@dataclass(frozen=True)
class Offence:
    kind: str
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


@dataclass(frozen=True)
class Import:
    """One import statement of a zorgflow module."""

    path: str  # relative to the folder holding the package, with forward slashes
    module: str  # the importing module, e.g. ``zorgflow.store.sql``
    line: int
    text: str  # the statement, as written (normalised by `ast.unparse`)
    targets: tuple[str, ...]  # the modules it imports, absolute; "" for a relative import
    # that climbs above the package
    function: str | None  # the qualified name of the enclosing function, if any


def module_name(root: Path, path: Path) -> str:
    """``zorgflow/store/sql.py`` -> ``zorgflow.store.sql``; ``zorgflow/engine/__init__.py``
    -> ``zorgflow.engine``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    """The layer of the longest prefix of ``module`` in `LAYERS`; None when none matches."""
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            if has_prefix(module, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), layer)
    return None if best is None else best[1]


def has_prefix(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def unit_of(module: str) -> str | None:
    """``zorgflow.rules.durable.host`` -> ``rules``; None for the root package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def top_name(module: str) -> str:
    return module.split(".")[0]


def is_zorgflow(module: str) -> bool:
    return top_name(module) == PACKAGE


def is_stdlib(module: str) -> bool:
    return top_name(module) in sys.stdlib_module_names


class ImportCollector(ast.NodeVisitor):
    """Every import statement of one module, resolved, with its enclosing function."""

    def __init__(self, path: str, module: str, is_package: bool, modules: set[str]) -> None:
        self.path = path
        self.module = module
        # the package relative imports start from: the module itself for an ``__init__.py``
        self.package = module.split(".") if is_package else module.split(".")[:-1]
        self.modules = modules
        self.scope: list[str] = []  # enclosing classes and functions, outermost first
        self.functions = 0  # how many of them are functions
        self.imports: list[Import] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_function(node)

    def visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self.functions += 1
        self.generic_visit(node)
        self.functions -= 1
        self.scope.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_Import(self, node: ast.Import) -> None:
        self.add(node, tuple(alias.name for alias in node.names))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0:
            base = node.module or ""
        else:
            keep = len(self.package) - (node.level - 1)
            if keep < 1:  # climbs above the package
                self.add(node, ("",))
                return
            base = ".".join(self.package[:keep] + ([node.module] if node.module else []))
        targets: list[str] = []
        for alias in node.names:
            # ``from . import api`` imports the submodule ``api`` when there is one
            submodule = f"{base}.{alias.name}"
            target = submodule if submodule in self.modules else base
            if target not in targets:
                targets.append(target)
        self.add(node, tuple(targets))

    def add(self, node: ast.Import | ast.ImportFrom, targets: tuple[str, ...]) -> None:
        function = ".".join(self.scope) if self.functions else None
        self.imports.append(
            Import(self.path, self.module, node.lineno, ast.unparse(node), targets, function))


def collect(root: Path) -> tuple[dict[str, str], list[Import], list[Offence]]:
    """The modules under ``root`` (name -> path), their imports, and the files that do not
    parse."""
    files = sorted(root.rglob("*.py"))
    paths = {module_name(root, file): file for file in files}
    modules = set(paths)
    names: dict[str, str] = {}
    imports: list[Import] = []
    problems: list[Offence] = []
    for module, file in paths.items():
        path = file.relative_to(root.parent).as_posix()
        names[module] = path
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=path)
        except SyntaxError as exc:
            problems.append(Offence("parse", path, exc.lineno or 1, f"does not parse: {exc.msg}"))
            continue
        collector = ImportCollector(path, module, file.name == "__init__.py", modules)
        collector.visit(tree)
        imports.extend(collector.imports)
    return names, imports, problems


def lazy_offences(imports: list[Import]) -> Iterator[Offence]:
    """Rule 1: imports inside functions."""
    for imp in imports:
        if imp.function is None:
            continue
        where = f"`{imp.text}` inside function {imp.function}()"
        if any(target == "" or is_zorgflow(target) for target in imp.targets):
            yield Offence("lazy", imp.path, imp.line,
                          f"{where}: import zorgflow modules at the top of the module")
            continue
        refused = sorted({top_name(t) for t in imp.targets} - LAZY_IMPORTS)
        if refused:
            yield Offence("lazy", imp.path, imp.line,
                          f"{where}: {', '.join(refused)} is not an optional dependency "
                          "(LAZY_IMPORTS); import it at the top of the module")


def layer_offences(names: dict[str, str], imports: list[Import]) -> Iterator[Offence]:
    """Rule 2: unlayered modules, imports of the root package, upward imports, third-party
    imports where only the standard library may be."""
    for module, path in names.items():
        if module != FACADE and layer_of(module) is None:
            yield Offence("unlayered", path, 1,
                          f"module {module} is in no layer: add it to the layer table (LAYERS)")
    for imp in imports:
        if imp.module == FACADE:
            continue
        own = layer_of(imp.module)
        for target in imp.targets:
            if target == "":
                yield Offence("upward", imp.path, imp.line,
                              f"`{imp.text}` climbs above the {PACKAGE} package")
            elif target == PACKAGE:
                yield Offence("root", imp.path, imp.line,
                              f"`{imp.text}` imports the root package {PACKAGE} (the public "
                              "façade): import the module that defines it instead")
            elif is_zorgflow(target):
                theirs = layer_of(target)
                if theirs is None:
                    if target not in names:  # an unlayered module in the tree is reported once
                        yield Offence("unlayered", imp.path, imp.line,
                                      f"`{imp.text}` imports {target}, which is in no layer: "
                                      "add it to the layer table (LAYERS)")
                elif own is not None and theirs > own:
                    yield Offence("upward", imp.path, imp.line,
                                  f"`{imp.text}`: {imp.module} (layer {own}) imports {target} "
                                  f"(layer {theirs}), a higher layer")
            elif not is_stdlib(target) and any(has_prefix(imp.module, p) for p in STDLIB_ONLY):
                yield Offence("stdlib-only", imp.path, imp.line,
                              f"`{imp.text}`: {imp.module} may import only the standard "
                              f"library, not the third-party {top_name(target)}")


def cycle_offences(imports: list[Import]) -> Iterator[Offence]:
    """Rule 3: every elementary cycle between the package's top-level units."""
    # unit -> unit it imports -> (path, line) of the first import that does
    edges: dict[str, dict[str, tuple[str, int]]] = {}
    for imp in sorted(imports, key=lambda i: (i.path, i.line)):
        source = unit_of(imp.module)
        if imp.module == FACADE or source is None:
            continue
        for target in imp.targets:
            unit = unit_of(target) if is_zorgflow(target) else None
            if unit is not None and unit != source:
                edges.setdefault(source, {}).setdefault(unit, (imp.path, imp.line))
    for cycle in cycles({unit: set(targets) for unit, targets in edges.items()}):
        steps = list(itertools.pairwise(cycle))
        sites = [edges[a][b] for a, b in steps]
        evidence = "; ".join(f"{a} -> {b} at {path}:{line}"
                             for (a, b), (path, line) in zip(steps, sites, strict=True))
        yield Offence("cycle", sites[0][0], sites[0][1],
                      f"cycle between packages: {' -> '.join(cycle)} ({evidence})")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle of ``graph``, each once: it starts and ends at its smallest
    node."""
    found: list[list[str]] = []
    for start in sorted(graph):
        extend_cycles(graph, start, [start], found)
    return found


def extend_cycles(graph: dict[str, set[str]], start: str, path: list[str],
                  found: list[list[str]]) -> None:
    for following in sorted(graph.get(path[-1], ())):
        if following == start:
            found.append([*path, start])
        elif following > start and following not in path:
            extend_cycles(graph, start, [*path, following], found)


def offences(root: Path) -> list[str]:
    """Every offence against the layering of the package in the folder ``root``, as
    ``path:line: what``, grouped by kind."""
    names, imports, problems = collect(root)
    found = [*problems, *lazy_offences(imports), *layer_offences(names, imports),
             *cycle_offences(imports)]
    found.sort(key=lambda o: (KINDS.index(o.kind), o.path, o.line, o.what))
    return [str(offence) for offence in found]


# -- the real package ------------------------------------------------------------------------


def test_zorgflow_respects_its_layers() -> None:
    assert PACKAGE_DIR.is_dir(), PACKAGE_DIR
    found = offences(PACKAGE_DIR)
    if found:
        pytest.fail(f"{len(found)} offences against the layering of {PACKAGE}/ "
                    f"(see tests/test_layers.py):\n" + "\n".join(found), pytrace=False)


# -- the checker itself, on fake packages ----------------------------------------------------

# A small package without offences: a lazy import of an optional dependency, a downward
# TYPE_CHECKING import, relative imports inside package ``__init__.py`` files, a submodule
# imported with ``from . import``, and a façade that imports from everywhere.
CLEAN = {
    "__init__.py": """\
        from ._version import __version__
        from .engine import Case
        from .cli import main
        """,
    "_version.py": """\
        __version__ = "0.0.0"
        """,
    "errors.py": """\
        from __future__ import annotations

        from dataclasses import dataclass


        @dataclass
        class Problem:
            text: str
        """,
    "model/__init__.py": """\
        from .types import Duration
        from .calendar import add
        """,
    "model/types.py": """\
        from __future__ import annotations

        from dataclasses import dataclass

        from ..errors import Problem


        @dataclass
        class Duration:
            days: int
        """,
    "model/calendar.py": """\
        from datetime import date
        from zoneinfo import ZoneInfo

        from .types import Duration

        AMSTERDAM = ZoneInfo("Europe/Amsterdam")


        def add(day: date, duration: Duration) -> date:
            return day
        """,
    "rules/__init__.py": """\
        from . import expr
        """,
    "rules/expr.py": """\
        import ast

        from zorgflow.model import Duration


        def parse(text: str) -> ast.AST:
            return ast.parse(text)
        """,
    "loader.py": """\
        from __future__ import annotations

        import yaml

        from . import rules
        from .errors import Problem
        from .model.types import Duration


        def validate(document: object) -> None:
            import jsonschema

            jsonschema.validate(document, {})
        """,
    "engine/__init__.py": """\
        from .case import Case
        """,
    "engine/case.py": """\
        from __future__ import annotations

        from typing import TYPE_CHECKING

        import zorgflow.errors

        if TYPE_CHECKING:
            from ..loader import validate
            from ..model import Duration


        class Case:
            def machine(self) -> object:
                def build() -> object:
                    from transitions import Machine

                    return Machine()

                return build()

            async def render(self) -> object:
                import graphviz

                return graphviz.Digraph()
        """,
    "store/__init__.py": """\
        from .sql import Store
        """,
    "store/sql.py": """\
        import sqlite3

        from ..engine import Case


        class Store:
            def connect(self, dsn: str) -> object:
                import psycopg

                return psycopg.connect(dsn)
        """,
    "serve/__init__.py": """\
        from .app import serve
        """,
    "serve/api.py": """\
        from ..store import Store
        """,
    "serve/app.py": """\
        from . import api
        from ..engine.case import Case


        def serve() -> None:
            pass
        """,
    # three modules on top of layers nothing in this package reaches: an upward import of
    # them is an upward import only, not a cycle too
    "program.py": """\
        from .model import Duration


        def compile(model: object) -> object:
            return model
        """,
    "service.py": """\
        class Service:
            pass
        """,
    "verify.py": """\
        def prove() -> None:
            pass
        """,
    "cli.py": """\
        from .serve import serve


        def main() -> None:
            serve()
        """,
}


def make_package(tmp_path: Path, files: dict[str, str]) -> Path:
    """A fake ``zorgflow/`` folder in ``tmp_path`` holding ``files`` (dedented), with an empty
    ``__init__.py`` in every folder that has none."""
    root = tmp_path / PACKAGE
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    return root


def only_offence(tmp_path: Path, changes: dict[str, str]) -> str:
    """The one offence of the clean package with ``changes``; fails unless there is exactly
    one."""
    found = offences(make_package(tmp_path, {**CLEAN, **changes}))
    assert len(found) == 1, "\n".join(found) or "no offence"
    return found[0]


def test_a_clean_package_has_no_offences(tmp_path: Path) -> None:
    assert offences(make_package(tmp_path, CLEAN)) == []


def test_relative_imports_resolve_against_the_right_package(tmp_path: Path) -> None:
    root = make_package(tmp_path, {
        **CLEAN,
        "store/sql.py": "from ..engine import Case\n",
        "engine/__init__.py": "from .case import Case\nfrom . import case\n",
        "rules/durable/host.py": "from ...errors import Problem\nfrom .. import expr\n",
    })
    _, imports, _ = collect(root)
    targets = {(i.path, i.line): i.targets for i in imports}
    assert targets[("zorgflow/store/sql.py", 1)] == ("zorgflow.engine",)
    assert targets[("zorgflow/serve/app.py", 1)] == ("zorgflow.serve.api",)
    assert targets[("zorgflow/engine/__init__.py", 1)] == ("zorgflow.engine.case",)
    assert targets[("zorgflow/engine/__init__.py", 2)] == ("zorgflow.engine.case",)
    assert targets[("zorgflow/rules/durable/host.py", 1)] == ("zorgflow.errors",)
    assert targets[("zorgflow/rules/durable/host.py", 2)] == ("zorgflow.rules.expr",)
    assert layer_of("zorgflow.rules.durable.host") == 2
    assert layer_of("zorgflow.rulesets") is None


@pytest.mark.parametrize(("statement", "named"), [
    ("from . import expr", "import zorgflow modules at the top"),
    ("from ..errors import Problem", "import zorgflow modules at the top"),
    ("import zorgflow.errors", "import zorgflow modules at the top"),
    ("from zorgflow import errors", "import zorgflow modules at the top"),
    ("import ast", "ast is not an optional dependency"),
    ("import jsonschema, json", "json is not an optional dependency"),
    ("from yaml import safe_load", "yaml is not an optional dependency"),
])
def test_an_import_inside_a_function_is_reported(
        tmp_path: Path, statement: str, named: str) -> None:
    found = only_offence(tmp_path, {"rules/logic.py": f"""\
        import json


        class Logic:
            def outer(self) -> None:
                async def inner() -> None:
                    {statement}
        """})
    assert found.startswith("zorgflow/rules/logic.py:7: "), found
    assert "inside function Logic.outer.inner()" in found, found
    assert named in found, found


@pytest.mark.parametrize("statement", [
    "from zorgflow.service import Service",
    "import zorgflow.program",
    "from ..verify import prove",
])
def test_an_upward_import_is_reported(tmp_path: Path, statement: str) -> None:
    found = only_offence(tmp_path, {
        "rules/logic.py": f"from __future__ import annotations\n\n{statement}\n"})
    assert found.startswith("zorgflow/rules/logic.py:3: "), found
    assert "zorgflow.rules.logic (layer 2) imports zorgflow." in found, found
    assert "a higher layer" in found, found


def test_an_upward_type_checking_import_is_reported(tmp_path: Path) -> None:
    found = only_offence(tmp_path, {"model/facts.py": """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from ..service import Service
        """})
    assert found.startswith("zorgflow/model/facts.py:4: "), found
    assert "(layer 1) imports zorgflow.service (layer 7)" in found, found


def test_a_relative_import_that_resolves_upward_is_reported(tmp_path: Path) -> None:
    found = only_offence(tmp_path, {
        "rules/durable/__init__.py": "from __future__ import annotations\n\n"
                                     "from ...program import compile\n"})
    assert found.startswith("zorgflow/rules/durable/__init__.py:3: "), found
    assert "zorgflow.rules.durable (layer 2) imports zorgflow.program (layer 3)" in found, found


def test_a_relative_import_above_the_package_is_reported(tmp_path: Path) -> None:
    found = only_offence(tmp_path, {"engine/values.py": "from ... import elsewhere\n"})
    assert found.startswith("zorgflow/engine/values.py:1: "), found
    assert "climbs above the zorgflow package" in found, found


def test_a_cycle_between_packages_is_reported(tmp_path: Path) -> None:
    # render and testing share layer 9, so only the cycle can catch this
    found = only_offence(tmp_path, {
        "render/graph.py": "from ..engine import Case\nfrom ..testing import example\n",
        "testing.py": "from .engine import Case\n\nfrom .render.graph import draw\n",
    })
    assert found.startswith("zorgflow/render/graph.py:2: cycle between packages: "
                            "render -> testing -> render "), found
    assert "testing -> render at zorgflow/testing.py:3" in found, found


def test_every_cycle_is_reported_once(tmp_path: Path) -> None:
    # render -> testing -> render, and pytest_plugin -> render -> testing -> pytest_plugin
    root = make_package(tmp_path, {
        **CLEAN,
        "render/__init__.py": "from .graph import draw\n",
        "render/graph.py": "from ..testing import example\n",
        "testing.py": "from .render import draw\nfrom .pytest_plugin import plugin\n",
        "pytest_plugin.py": "from .render.graph import draw\n",
    })
    assert offences(root) == [
        "zorgflow/pytest_plugin.py:1: cycle between packages: "
        "pytest_plugin -> render -> testing -> pytest_plugin "
        "(pytest_plugin -> render at zorgflow/pytest_plugin.py:1; "
        "render -> testing at zorgflow/render/graph.py:1; "
        "testing -> pytest_plugin at zorgflow/testing.py:2)",
        "zorgflow/render/graph.py:1: cycle between packages: render -> testing -> render "
        "(render -> testing at zorgflow/render/graph.py:1; "
        "testing -> render at zorgflow/testing.py:1)",
    ]


@pytest.mark.parametrize("statement", [
    "from .. import __version__",
    "import zorgflow",
    "from zorgflow import Case",
])
def test_an_import_of_the_root_package_is_reported(tmp_path: Path, statement: str) -> None:
    found = only_offence(tmp_path, {"store/rows.py": f'"""Rows."""\n\n{statement}\n'})
    assert found.startswith("zorgflow/store/rows.py:3: "), found
    assert "imports the root package zorgflow" in found, found


def test_a_module_in_no_layer_is_reported(tmp_path: Path) -> None:
    found = only_offence(tmp_path, {"calendar.py": "from .model.types import Duration\n"})
    assert found == ("zorgflow/calendar.py:1: module zorgflow.calendar is in no layer: "
                     "add it to the layer table (LAYERS)")


def test_an_import_of_a_module_in_no_layer_is_reported(tmp_path: Path) -> None:
    found = only_offence(tmp_path, {"cli.py": "from .serve import serve\nfrom .gone import x\n"})
    assert found.startswith("zorgflow/cli.py:2: `from .gone import x` imports zorgflow.gone, "
                            "which is in no layer"), found


@pytest.mark.parametrize(("statement", "line"), [
    ("import yaml", 3),
    ("from jsonschema import validate", 3),
    ("if TYPE_CHECKING:\n    from yaml import Node", 4),
    ("def f() -> None:\n    import jsonschema", 4),
])
def test_a_third_party_import_in_the_model_is_reported(
        tmp_path: Path, statement: str, line: int) -> None:
    found = only_offence(tmp_path, {
        "model/facts.py": f"from typing import TYPE_CHECKING\n\n{statement}\n"})
    assert found.startswith(f"zorgflow/model/facts.py:{line}: "), found
    assert "zorgflow.model.facts may import only the standard library" in found, found


def test_a_file_that_does_not_parse_is_reported(tmp_path: Path) -> None:
    found = only_offence(tmp_path, {"engine/broken.py": "x = 1\ndef (:\n"})
    assert found.startswith("zorgflow/engine/broken.py:2: does not parse"), found
