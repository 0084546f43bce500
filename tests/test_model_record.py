"""zorgflow's frozen dataclasses share `Frozen`'s ``__eq__``, ``__hash__`` and ``__repr__``
instead of the ones ``@dataclass`` would generate (which cost import time): they must behave
exactly as the generated ones would, which a twin of each class made by ``@dataclass`` itself
shows, on the values found in the shipped workflows, their compiled form and an engine's
answers."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zorgflow
from zorgflow._frozen import Frozen

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"


def _frozen_values(value: Any, seen: set[int]) -> Iterator[Frozen]:
    """Every `Frozen` reachable from ``value`` (each once)."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, Frozen):
        yield value
        for f in dataclasses.fields(value):  # type: ignore[arg-type]
            yield from _frozen_values(getattr(value, f.name), seen)
    elif type(value).__module__.startswith("zorgflow.") and not callable(value):
        # a compiled program and the like: look inside for the frozen values it holds
        names = getattr(type(value), "__slots__", ()) or list(getattr(value, "__dict__", {}))
        for name in names:
            yield from _frozen_values(getattr(value, name, None), seen)
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _frozen_values(v, seen)
    elif isinstance(value, list | tuple | frozenset | set):
        for v in value:
            yield from _frozen_values(v, seen)


def _shipped() -> list[Frozen]:
    found: list[Frozen] = []
    seen: set[int] = set()
    for path in sorted(WORKFLOWS.glob("*.yaml")):
        workflow = zorgflow.load_workflow(path)
        found += _frozen_values(workflow, seen)
        found += _frozen_values(workflow.compiled, seen)
    engine = zorgflow.Engine.from_directory(WORKFLOWS)
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    coord = zorgflow.Actor("c", roles={"lzn_coordinator"})
    case = engine.start("lzn", actor=zorgflow.Actor("s", roles={"sociaal_contactpunt"}), at=at)
    case = engine.fire(case, "passend_bevonden", actor=coord, at=at)
    case = engine.fire(case, "geen_actief_dossier", actor=coord, at=at)
    case = engine.fire(case, "casusregisseur_benoemd", actor=coord, at=at,
                       data={"casusregisseur": "k", "ketenpartner": "GGZ"})
    later = datetime(2027, 1, 5, 9, tzinfo=UTC)
    found += _frozen_values([engine.due(case, later), engine.tasks(case, later),
                             engine.timers(case), engine.timer_status(case)],
                            seen)
    try:
        zorgflow.load_workflow_text("id: x\nversion: 1\nstates: {}\n", "bad.yaml")
    except zorgflow.WorkflowError as exc:
        found += _frozen_values(exc.errors, seen)
    return found


RECORDS = _shipped()
_TWINS: dict[type, type] = {}


def _twin(cls: type) -> type:
    """A class with the same fields, made by ``@dataclass`` with its own eq, hash and repr."""
    if cls not in _TWINS:
        spec = [(f.name, Any, dataclasses.field(compare=f.compare, repr=f.repr, hash=f.hash))
                for f in dataclasses.fields(cls)]
        twin = dataclasses.make_dataclass(cls.__name__, spec, frozen=True)
        twin.__qualname__ = cls.__qualname__
        _TWINS[cls] = twin
    return _TWINS[cls]


def _as_twin(record: Frozen) -> Any:
    values = {f.name: getattr(record, f.name)
              for f in dataclasses.fields(record)}  # type: ignore[arg-type]
    return _twin(type(record))(**values)


def test_the_shipped_workflows_hold_every_kind_of_record() -> None:
    kinds = {type(r).__name__ for r in RECORDS}
    assert {"Workflow", "State", "Transition", "Fact", "FactType", "Role", "Where",
            "CriteriaRuleSet", "Zgw", "Expr", "CompiledTimer", "Problem", "Signal",
            "TimerStatus"} <= kinds


KINDS: list[type] = sorted({type(r) for r in RECORDS}, key=lambda t: t.__name__)


@pytest.mark.parametrize("kind", KINDS, ids=[k.__name__ for k in KINDS])
def test_repr_and_hash_are_what_dataclass_would_generate(kind: type) -> None:
    for record in (r for r in RECORDS if type(r) is kind):
        twin = _as_twin(record)
        assert repr(record) == repr(twin)
        try:
            expected: int | None = hash(twin)
        except TypeError:  # a field holds a dict: unhashable, as the generated hash is
            expected = None
        if expected is None:
            with pytest.raises(TypeError):
                hash(record)
        else:
            assert hash(record) == expected, repr(record)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(RECORDS), st.sampled_from(RECORDS), st.data())
def test_equality_is_what_dataclass_would_generate(a: Frozen, b: Frozen, data: Any) -> None:
    if type(a) is type(b) and data.draw(st.booleans()):
        # the same class, one field changed (or not): the interesting comparisons
        names = [f.name for f in dataclasses.fields(a) if f.init]  # type: ignore[arg-type]
        name = data.draw(st.sampled_from(names))
        b = dataclasses.replace(a, **{name: getattr(b, name)})  # type: ignore[type-var]
    assert (a == b) == (_as_twin(a) == _as_twin(b))
    assert (a != b) == (_as_twin(a) != _as_twin(b))
    assert (a == "x") is False and (a != object()) is True


def test_records_stay_frozen() -> None:
    record = RECORDS[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.id = "x"  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del record.id  # type: ignore[attr-defined]


# -- @record: the same dataclass, with a shared __init__, __setattr__ and __delattr__ --------
RECORD_KINDS = [k for k in KINDS if not k.__dataclass_params__.init]  # type: ignore[attr-defined]


def _init_twin(cls: type) -> type:
    """A frozen class made by ``@dataclass`` with the same fields, defaults and factories."""
    spec = [(f.name, Any, dataclasses.field(default=f.default, init=f.init,
                                            default_factory=f.default_factory))
            for f in dataclasses.fields(cls)]
    twin = dataclasses.make_dataclass(cls.__name__, spec, frozen=True)
    twin.__qualname__ = cls.__qualname__
    return twin


def test_the_model_classes_are_records() -> None:
    names = {k.__name__ for k in RECORD_KINDS}
    assert {"Workflow", "State", "Transition", "Fact", "Zgw", "Expr", "CompiledTimer"} <= names


@pytest.mark.parametrize("kind", RECORD_KINDS, ids=[k.__name__ for k in RECORD_KINDS])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_record_takes_the_arguments_a_generated_init_takes(kind: type, data: Any) -> None:
    sample = next(r for r in RECORDS if type(r) is kind)
    twin = _init_twin(kind)
    names = [f.name for f in dataclasses.fields(kind) if f.init]
    values = {n: getattr(sample, n) for n in names}
    positional = data.draw(st.integers(0, len(names) + 1), "positional")
    args = [values[n] for n in names[:positional]]
    if positional > len(names):
        args.append("one too many")
    keywords = data.draw(st.sets(st.sampled_from([*names, "onbekend"])), "keywords")
    kwargs = {n: values.get(n, 1) for n in sorted(keywords)}

    def outcome(cls: type) -> tuple[str, Any]:
        try:
            made = cls(*args, **kwargs)
        except TypeError as exc:
            return "refused", str(exc)
        return "made", {f.name: getattr(made, f.name) for f in dataclasses.fields(made)}

    assert outcome(kind) == outcome(twin)


def test_a_record_has_the_signature_and_copies_of_a_dataclass() -> None:
    import copy
    import inspect
    import pickle

    pickled = 0
    for kind in RECORD_KINDS:
        # the twin's annotations are Any: compare names, and which ones have defaults
        ours = [(p.name, p.default is inspect.Parameter.empty)
                for p in inspect.signature(kind).parameters.values()]
        theirs = [(p.name, p.default is inspect.Parameter.empty)
                  for p in inspect.signature(_init_twin(kind)).parameters.values()]
        assert ours == theirs, kind
        sample = next(r for r in RECORDS if type(r) is kind)
        values = [getattr(sample, f.name) for f in dataclasses.fields(sample)]
        made = copy.copy(sample)
        assert made == sample and type(made) is kind
        try:  # what deepcopy can copy (a read-only mapping it cannot) it copies
            copy.deepcopy(values)
        except TypeError:
            pass
        else:
            made = copy.deepcopy(sample)
            assert made == sample and type(made) is kind
        try:  # what pickle can write (no functions, no read-only mappings) comes back
            pickle.dumps(values)
        except (TypeError, AttributeError, pickle.PicklingError):
            continue
        assert pickle.loads(pickle.dumps(sample)) == sample
        pickled += 1
    assert pickled >= 10


@pytest.mark.parametrize("kind", RECORD_KINDS, ids=[k.__name__ for k in RECORD_KINDS])
def test_a_record_stays_frozen(kind: type) -> None:
    sample = next(r for r in RECORDS if type(r) is kind)
    name = dataclasses.fields(sample)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError, match=f"cannot assign to field '{name}'"):
        setattr(sample, name, "x")
    with pytest.raises(dataclasses.FrozenInstanceError, match=f"cannot delete field '{name}'"):
        delattr(sample, name)
    with pytest.raises(AttributeError):
        sample.not_a_field = 1


def test_record_is_for_frozen_classes_only() -> None:
    from zorgflow._frozen import record

    with pytest.raises(TypeError, match="subclasses of Frozen"):
        record(type("Plain", (), {"__annotations__": {"a": "int"}}))
    after = type("After", (Frozen,), {"__annotations__": {"a": "int"},
                                      "__post_init__": lambda self: None})
    with pytest.raises(TypeError, match="does not call __post_init__"):
        record(after)
    keyword = type("Keyword", (Frozen,), {"__annotations__": {"a": "int"},
                                          "a": dataclasses.field(kw_only=True)})
    with pytest.raises(TypeError, match="keyword-only a"):
        record(keyword)


def test_a_frozen_dataclass_may_inherit_from_a_record() -> None:
    @dataclasses.dataclass(frozen=True)
    class Named(zorgflow.model.workflow.Role):
        extra: str = "x"

    named = Named("rol", "Rol", extra="y")
    assert (named.id, named.extra) == ("rol", "y")
    assert dataclasses.replace(named, extra="z").extra == "z"
    with pytest.raises(dataclasses.FrozenInstanceError):
        named.id = "ander"  # type: ignore[misc]
    assert named == Named("rol", "Rol", extra="y")
