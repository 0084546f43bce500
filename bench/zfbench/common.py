"""What every measurement shares: paths, the engine and actors, the hand-written LZN
afsluitcriteria, the shared `transitions` baseline, timing and the result rows."""

from __future__ import annotations

import ast
import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"

#: every measurement passes this aware datetime: computing "now" is not what we measure
AT = datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=1)))

perf_counter = time.perf_counter
T = TypeVar("T")


class BenchError(SystemExit):
    """The bench found something wrong (a disagreement, a changed workflow): stop loudly."""

    def __init__(self, message: str) -> None:
        super().__init__(f"\nBENCH ABORTED: {message}\n")


# -- the engine ----------------------------------------------------------------------------------
_ENGINE: Any = None


def engine() -> Any:
    """One `zorgflow.Engine` over workflows/ (loaded once per process)."""
    global _ENGINE
    if _ENGINE is None:
        import zorgflow

        _ENGINE = zorgflow.Engine.from_directory(WORKFLOWS)
    return _ENGINE


def fresh_engine() -> Any:
    import zorgflow

    return zorgflow.Engine.from_directory(WORKFLOWS)


def actors() -> dict[str, Any]:
    import zorgflow

    return {
        "scp": zorgflow.Actor("s.de.vries", roles={"sociaal_contactpunt"}),
        "coord": zorgflow.Actor("a.jansen", roles={"lzn_coordinator"}),
        # a ketenpartner; he holds the case role casusregisseur once he is assigned to a case
        "regisseur": zorgflow.Actor("k.bakker", roles={"ketenpartner"}),
    }


# -- the hand-written afsluitcriteria -------------------------------------------------------------
CRITERIA_IDS = ("zelfredzaamheid_vergroot", "zorg_bij_ketenpartner",
                "overgedragen_ander_netwerk", "geen_perspectief")
BOOLEAN_FACTS = (
    "zelfredzaamheid_vergroot", "netwerkondersteuning_vergroot", "open_voor_hulpverlening",
    "toegeleid_naar_reguliere_zorg",
    "multiproblematiek", "procesregisseur_tjg_overgedragen",
    "zorg_ketenpartner_adequaat",
    "besluit_lzn_overleg_afsluiten", "te_weinig_perspectief", "disproportionele_inzet",
    "kinderen_betrokken", "ernstig_geweld", "inwoners_willen_meewerken",
)
NETWORK_FACT = "overgedragen_aan_netwerk"
NETWORK_VALUES = ("geen", "lthg", "zorg_en_veiligheidshuis", "ander")


def afsluitcriteria_by_hand(facts: Mapping[str, Any]) -> list[str]:
    """The four LZN afsluitcriteria written by hand, three-valued.

    A fact missing from ``facts`` is unknown; a clause, and so a criterion, holds only when it is
    definitely true: ``not x`` is true only when x is known to be False, ``a or b`` when one of
    them is known to be True, ``x != 'geen'`` only when x is known and is not 'geen'.
    """
    get = facts.get
    matched = []
    if ((get("zelfredzaamheid_vergroot") is True or get("netwerkondersteuning_vergroot") is True)
            and get("open_voor_hulpverlening") is True
            and get("toegeleid_naar_reguliere_zorg") is True
            and (get("multiproblematiek") is False
                 or get("procesregisseur_tjg_overgedragen") is True)):
        matched.append("zelfredzaamheid_vergroot")
    if get("zorg_ketenpartner_adequaat") is True:
        matched.append("zorg_bij_ketenpartner")
    network = get("overgedragen_aan_netwerk")
    if network is not None and network != "geen":
        matched.append("overgedragen_ander_netwerk")
    if (get("besluit_lzn_overleg_afsluiten") is True
            and (get("te_weinig_perspectief") is True or get("disproportionele_inzet") is True)
            and get("kinderen_betrokken") is False and get("ernstig_geweld") is False
            and get("inwoners_willen_meewerken") is False):
        matched.append("geen_perspectief")
    return matched


def afsluitcriteria_clauses(eng: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    """(criterion id, mode, clause sources) of the LZN rule set, checked against the
    hand-written function: if policy staff changed the criteria, the bench must be updated."""
    rule_set = eng.workflow("lzn").rules["afsluitcriteria"]
    criteria = [(c.id, c.mode, tuple(c.clauses)) for c in rule_set.criteria]
    ids = tuple(c[0] for c in criteria)
    if ids != CRITERIA_IDS:
        raise BenchError(f"lzn afsluitcriteria has criteria {ids}, the hand-written function "
                         f"knows {CRITERIA_IDS}: update bench/zfbench/common.py")
    read: set[str] = set()
    for _, _, clauses in criteria:
        for clause in clauses:
            read |= {n.id for n in ast.walk(ast.parse(clause, mode="eval"))
                     if isinstance(n, ast.Name)}
    expected = {*BOOLEAN_FACTS, NETWORK_FACT}
    if read != expected:
        raise BenchError(f"lzn afsluitcriteria reads {sorted(read)}, the bench randomises "
                         f"{sorted(expected)}: update bench/zfbench/common.py")
    return criteria


# -- the raw `transitions` baseline ---------------------------------------------------------------
class TransitionsModel:
    """A case as a `transitions` app would keep it: a plain object with its facts."""

    def __init__(self) -> None:
        self.facts: dict[str, Any] = {}

    def may_close(self, afsluitreden: str | None = None, **_: Any) -> bool:
        """The condition callback on ``afsluiten`` (same rule as the engine's guard)."""
        return afsluitreden in afsluitcriteria_by_hand(self.facts)


def agree_trigger(event: str) -> str:
    """The baseline's trigger for a first agreement to a joint decision (``agreement:``): a
    step that records and leaves the state as it is, as the engine's ``agree`` step does."""
    return f"akkoord_{event}"


def transitions_machine(eng: Any) -> Any:
    """ONE `transitions.Machine` with the LZN states and triggers, no models bound yet, and a
    condition callback on ``afsluiten``. Models are bound with ``machine.add_model``. A joint
    decision also gets an internal trigger (`agree_trigger`) for its first agreement."""
    from transitions import Machine

    wf = eng.workflow("lzn")
    spec = []
    for t in wf.transitions:
        row: dict[str, Any] = {"trigger": t.event, "source": list(t.from_states), "dest": t.target}
        if t.event == "afsluiten":
            row["conditions"] = "may_close"
        spec.append(row)
        if t.agreement:
            spec.append({"trigger": agree_trigger(t.event), "source": list(t.from_states),
                         "dest": None})
    return Machine(model=None, states=list(wf.states), transitions=spec,
                   initial=wf.initial.id, auto_transitions=False, send_event=False)


def transition_table(eng: Any) -> dict[tuple[str, str], str]:
    """The plain ``{(state, event): target}`` table of the LZN workflow; a first agreement to a
    joint decision (`agree_trigger`) stays in its state."""
    table = {}
    for t in eng.workflow("lzn").transitions:
        for s in t.from_states:
            table[(s, t.event)] = t.target
            if t.agreement:
                table[(s, agree_trigger(t.event))] = s
    return table


# -- timing ---------------------------------------------------------------------------------------
def interleaved(runs: Mapping[str, Callable[[], T]], repeats: int) -> dict[str, list[T]]:
    """Run every contender ``repeats`` times, taking turns (and rotating who goes first), so
    that the noise of the machine falls on all of them alike. Each run returns its own measured
    value (it times only what it measures, not its set-up)."""
    names = list(runs)
    values: dict[str, list[T]] = {n: [] for n in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            gc.collect()
            values[name].append(runs[name]())
    return values


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> float:
    """(max − min) / median: how much the repetitions disagree."""
    m = statistics.median(values)
    return (max(values) - min(values)) / m if m else 0.0


# -- result rows ----------------------------------------------------------------------------------
@dataclass
class Row:
    label: str
    result: str = ""
    ratio: str = ""
    spread: str = ""
    goal: str = ""
    met: bool | None = None
    section: bool = False


def section(title: str) -> Row:
    return Row(title, section=True)


def fmt_rate(per_second: float, unit: str = "/s") -> str:
    if per_second >= 1e6:
        return f"{per_second / 1e6:.2f} M{unit}"
    if per_second >= 1e3:
        return f"{per_second / 1e3:.1f} k{unit}"
    return f"{per_second:.0f}{unit}"


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:.1f} µs" if us < 100 else f"{us:.0f} µs"


def fmt_bytes(n: float) -> str:
    return f"{n:,.0f} B" if n < 10_000 else f"{n / 1024:.1f} KiB"


def fmt_ratio(x: float) -> str:
    """1.00× / 0.13× / 0.00037× (two significant digits below 0.1)."""
    return f"{x:.2f}×" if x >= 0.1 else f"{x:.2g}×"


def fmt_pct(x: float) -> str:
    return f"±{x * 50:.0f}%"  # half the range, as a ± around the median


def not_installed(label: str, package: str) -> Row:
    return Row(f"{label}", result="not installed", ratio="—",
               goal=f"`pip install {package}`")
