"""1. Decisions: the LZN rule set ``afsluitcriteria`` on random fact sets.

Baseline: `afsluitcriteria_by_hand`, a hand-written Python function with the same three-valued
semantics. A second comparison (issue 18) gives all 13 facts, known, to `engine.decide` and to
`afsluitcriteria_two_valued`, plain two-valued Python as an application developer writes it.
The peers (simpleeval, cel-python, zen-engine) evaluate the four criteria, written as
expressions from the same clause sources, in two-valued (closed-world) logic: a missing fact is
filled in as false (or 'geen'); they give no explanation.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

from .common import (
    AT,
    BOOLEAN_FACTS,
    NETWORK_FACT,
    NETWORK_VALUES,
    WORKFLOWS,
    BenchError,
    Row,
    afsluitcriteria_by_hand,
    afsluitcriteria_clauses,
    engine,
    fmt_pct,
    fmt_rate,
    fmt_ratio,
    fresh_engine,
    interleaved,
    median,
    not_installed,
    perf_counter,
    section,
    spread,
)

SEED = 20260105
VERIFY = 2_000
CLOSED_WORLD = {**dict.fromkeys(BOOLEAN_FACTS, False), NETWORK_FACT: "geen"}


def make_inputs(n: int, seed: int = SEED) -> list[dict[str, Any]]:
    """``n`` fact sets: each boolean fact the criteria read is True, False or missing, and
    overgedragen_aan_netwerk is one of its four values or missing (all equally likely)."""
    rng = random.Random(seed)
    k = len(BOOLEAN_FACTS)
    bools = rng.choices((True, False, None), k=n * k)
    networks = rng.choices((*NETWORK_VALUES, None), k=n)
    inputs = []
    for i in range(n):
        row = bools[i * k:(i + 1) * k]
        facts: dict[str, Any] = {name: v for name, v in zip(BOOLEAN_FACTS, row, strict=True)
                                 if v is not None}
        if networks[i] is not None:
            facts[NETWORK_FACT] = networks[i]
        inputs.append(facts)
    return inputs


def closed_world(facts: Mapping[str, Any]) -> dict[str, Any]:
    return {**CLOSED_WORLD, **facts}


def make_known_inputs(n: int, seed: int = SEED + 1) -> list[dict[str, Any]]:
    """``n`` fact sets with all 13 facts given (each boolean true or false, the network one of
    its four values): the inputs of the two-valued comparison."""
    rng = random.Random(seed)
    k = len(BOOLEAN_FACTS)
    bools = rng.choices((True, False), k=n * k)
    networks = rng.choices(NETWORK_VALUES, k=n)
    return [{**dict(zip(BOOLEAN_FACTS, bools[i * k:(i + 1) * k], strict=True)),
             NETWORK_FACT: networks[i]} for i in range(n)]


def afsluitcriteria_two_valued(facts: Mapping[str, Any]) -> list[str]:
    """The four LZN afsluitcriteria as an application developer writes them by hand: plain
    two-valued Python over a dict in which every fact is given; no checks, no unknowns."""
    matched = []
    if ((facts["zelfredzaamheid_vergroot"] or facts["netwerkondersteuning_vergroot"])
            and facts["open_voor_hulpverlening"] and facts["toegeleid_naar_reguliere_zorg"]
            and (not facts["multiproblematiek"] or facts["procesregisseur_tjg_overgedragen"])):
        matched.append("zelfredzaamheid_vergroot")
    if facts["zorg_ketenpartner_adequaat"]:
        matched.append("zorg_bij_ketenpartner")
    if facts["overgedragen_aan_netwerk"] != "geen":
        matched.append("overgedragen_ander_netwerk")
    if (facts["besluit_lzn_overleg_afsluiten"]
            and (facts["te_weinig_perspectief"] or facts["disproportionele_inzet"])
            and not facts["kinderen_betrokken"] and not facts["ernstig_geweld"]
            and not facts["inwoners_willen_meewerken"]):
        matched.append("geen_perspectief")
    return matched


# -- the peers: each returns (version, evaluate(facts) -> matched ids) or None -------------------
Peer = tuple[str, Callable[[Mapping[str, Any]], list[str]]]


def _expressions(criteria: list[tuple[str, str, tuple[str, ...]]]) -> list[tuple[str, str]]:
    out = []
    for cid, mode, clauses in criteria:
        if mode not in ("all", "any"):
            raise BenchError(f"criterion {cid} has mode {mode!r}; the peers know all/any")
        joiner = " and " if mode == "all" else " or "
        out.append((cid, joiner.join(f"({c})" for c in clauses)))
    return out


def peer_simpleeval(criteria: list[Any]) -> Peer | None:
    try:
        import simpleeval
    except ImportError:
        return None
    s = simpleeval.SimpleEval()
    parsed = [(cid, src, s.parse(src)) for cid, src in _expressions(criteria)]
    defaults = CLOSED_WORLD

    def evaluate(facts: Mapping[str, Any]) -> list[str]:
        s.names = {**defaults, **facts}
        return [cid for cid, src, tree in parsed if s.eval(src, previously_parsed=tree)]

    return metadata.version("simpleeval"), evaluate


def _to_cel(source: str) -> str:
    source = re.sub(r"\band\b", "&&", source)
    source = re.sub(r"\bor\b", "||", source)
    return re.sub(r"\bnot\s+", "!", source)


def peer_cel(criteria: list[Any]) -> Peer | None:
    try:
        import celpy
    except ImportError:
        return None
    env = celpy.Environment()
    programs = [(cid, env.program(env.compile(_to_cel(src))))
                for cid, src in _expressions(criteria)]
    defaults = CLOSED_WORLD
    to_cel = celpy.json_to_cel

    def evaluate(facts: Mapping[str, Any]) -> list[str]:
        activation = to_cel({**defaults, **facts})
        return [cid for cid, program in programs if program.evaluate(activation)]

    return metadata.version("cel-python"), evaluate


def peer_zen(criteria: list[Any]) -> Peer | None:
    try:
        import zen
    except ImportError:
        return None
    compiled = [(cid, zen.compile_expression(src)) for cid, src in _expressions(criteria)]
    defaults = CLOSED_WORLD

    def evaluate(facts: Mapping[str, Any]) -> list[str]:
        context = {**defaults, **facts}
        return [cid for cid, expression in compiled if expression.evaluate(context) is True]

    return metadata.version("zen-engine"), evaluate


PEERS = (
    ("simpleeval", "simpleeval", peer_simpleeval),
    ("cel-python", "cel-python", peer_cel),
    ("zen-engine", "zen-engine", peer_zen),
)


# -- the measurement ------------------------------------------------------------------------------
def _timed_loop(fn: Callable[[Mapping[str, Any]], Any], inputs: list[dict[str, Any]]) -> float:
    start = perf_counter()
    for facts in inputs:
        fn(facts)
    return perf_counter() - start


Loop = Callable[[list[dict[str, Any]]], float]


def _plan(loop: Loop, inputs: list[dict[str, Any]], budget: float | None, min_time: float,
          floor: int) -> tuple[list[dict[str, Any]], int]:
    """(inputs, passes) for one contender. A slow one (``budget`` given) gets the prefix of
    the inputs that fits in ``budget`` seconds (at least ``floor``); a fast one gets them all,
    passed over often enough that a repetition lasts at least ``min_time``."""
    sample = inputs[:floor]
    per_input = loop(sample) / len(sample)
    if budget is not None and per_input * len(inputs) > budget:
        return inputs[:max(floor, int(budget / per_input))], 1
    return inputs, max(1, math.ceil(min_time / (per_input * len(inputs))))


def run(n: int, repeats: int, peer_budget: float, peer_verify: int = VERIFY,
        min_time: float = 0.2, floor: int = 200) -> list[Row]:
    """``peer_budget``: seconds per repetition for each slow contender (the peers and the
    memo-off diagnostic get a prefix of the inputs that fits, at least ``floor``);
    ``peer_verify``: how many inputs each peer is checked on; ``min_time``: the shortest
    repetition of a fast contender (it passes over the inputs several times)."""
    eng = engine()
    criteria = afsluitcriteria_clauses(eng)
    inputs = make_inputs(n)
    decide = eng.decide
    at = AT

    # the hand-written function and the engine must agree before anything is timed
    for i, facts in enumerate(inputs[:VERIFY]):
        ours, theirs = decide("lzn", "afsluitcriteria", facts, at).matched, \
            afsluitcriteria_by_hand(facts)
        if list(ours) != theirs:
            raise BenchError(f"engine.decide and the hand-written function disagree on input "
                             f"{i}: {facts}\n  engine.decide: {ours}\n  hand-written: {theirs}")
        if not decide("lzn", "afsluitcriteria", facts, at).explanation:
            raise BenchError(f"engine.decide gave an empty explanation on input {i}")

    def hand(inputs: list[dict[str, Any]]) -> float:
        fn = afsluitcriteria_by_hand
        start = perf_counter()
        for facts in inputs:
            fn(facts)
        return perf_counter() - start

    def engine_matched(inputs: list[dict[str, Any]]) -> float:
        start = perf_counter()
        for facts in inputs:
            decide("lzn", "afsluitcriteria", facts, at).matched  # noqa: B018
        return perf_counter() - start

    def engine_explained(inputs: list[dict[str, Any]]) -> float:
        start = perf_counter()
        for facts in inputs:
            d = decide("lzn", "afsluitcriteria", facts, at)
            d.matched  # noqa: B018
            d.explanation  # noqa: B018
        return perf_counter() - start

    # the comparison: 13 given facts, all known, against plain two-valued Python;
    # decide is called as an application calls it, without `at` (the rule set reads no time)
    known = make_known_inputs(n)
    for i, facts in enumerate(known[:VERIFY]):
        ours, theirs = decide("lzn", "afsluitcriteria", facts).matched, \
            afsluitcriteria_two_valued(facts)
        if list(ours) != theirs:
            raise BenchError(f"engine.decide and the two-valued hand-written function disagree "
                             f"on input {i}: {facts}\n  engine.decide: {ours}\n  "
                             f"hand-written: {theirs}")

    def two_valued(inputs: list[dict[str, Any]]) -> float:
        fn = afsluitcriteria_two_valued
        start = perf_counter()
        for facts in known[:len(inputs)]:
            fn(facts)
        return perf_counter() - start

    def engine_known(inputs: list[dict[str, Any]]) -> float:
        start = perf_counter()
        for facts in known[:len(inputs)]:
            decide("lzn", "afsluitcriteria", facts).matched  # noqa: B018
        return perf_counter() - start

    contenders: dict[str, tuple[Loop, float | None]] = {
        "hand": (hand, None), "matched": (engine_matched, None),
        "explained": (engine_explained, None),
        "two_valued": (two_valued, None), "known": (engine_known, None),
    }
    # diagnostic: explanations built from scratch every time (the engine memoises explanation
    # lines on the values read; with 3 values per boolean fact nearly every line is a memo hit)
    cold = _memo_off_runner(at)
    if cold is not None:
        contenders["cold"] = (cold, peer_budget)

    durable = _durable_runner(at, inputs[:peer_verify])
    if durable is not None:
        contenders["durable"] = (durable, peer_budget)

    versions: dict[str, str] = {}
    missing = []
    for label, package, make in PEERS:
        peer = make(criteria)
        if peer is None:
            missing.append((label, package))
            continue
        versions[label], evaluate = peer
        for i, facts in enumerate(inputs[:peer_verify]):
            want = afsluitcriteria_by_hand(closed_world(facts))
            if evaluate(facts) != want:
                raise BenchError(f"{label} disagrees with the closed-world hand-written function "
                                 f"on input {i}: {facts}: {evaluate(facts)} != {want}")
        contenders[label] = (lambda inputs, evaluate=evaluate: _timed_loop(evaluate, inputs),
                             peer_budget)

    # plan sizes (this also warms every contender up), then measure in turns
    plans = {name: _plan(loop, inputs, budget, min_time, floor)
             for name, (loop, budget) in contenders.items()}
    runs = {name: (lambda loop=loop, plan=plans[name]:
                   sum(loop(plan[0]) for _ in range(plan[1])))
            for name, (loop, _) in contenders.items()}
    times = interleaved(runs, repeats)

    def rate(name: str) -> float:
        subset, passes = plans[name]
        return len(subset) * passes / median(times[name])

    def sample(name: str) -> str:
        size = len(plans[name][0])
        return "" if size >= n else f" (first {size:,} inputs per run)"

    base = rate("hand")
    rows = [section(f"**1. Decisions** — LZN `afsluitcriteria` on {n:,} random fact sets; "
                    "ratio = decisions/s ÷ hand-written")]
    rows.append(Row("hand-written Python function, three-valued (baseline)", fmt_rate(base),
                    "1.00×", fmt_pct(spread(times["hand"]))))
    r = rate("matched")
    rows.append(Row("`engine.decide`, `.matched` only (explanation not read)", fmt_rate(r),
                    fmt_ratio(r / base), fmt_pct(spread(times["matched"])), "≥ 0.10×",
                    r / base >= 0.10))
    r = rate("explained")
    rows.append(Row("`engine.decide`, reading `.explanation`", fmt_rate(r), fmt_ratio(r / base),
                    fmt_pct(spread(times["explained"])), "≥ 100k/s", r >= 100_000))
    two = rate("two_valued")
    rows.append(Row("hand-written Python function, two-valued, all 13 facts given (baseline of "
                    "the next row)", fmt_rate(two), fmt_ratio(two / base),
                    fmt_pct(spread(times["two_valued"]))))
    r = rate("known")
    rows.append(Row("`engine.decide` over the same 13 given facts (no `at`), `.matched` only: "
                    f"**{fmt_ratio(r / two)} the two-valued hand-written function**",
                    fmt_rate(r), fmt_ratio(r / base), fmt_pct(spread(times["known"])),
                    "≥ 0.10× two-valued", r / two >= 0.10))
    if "cold" in times:
        r = rate("cold")
        rows.append(Row("↳ diagnostic: reading `.explanation` with the explanation memo off"
                        + sample("cold"), fmt_rate(r), fmt_ratio(r / base),
                        fmt_pct(spread(times["cold"]))))
    native = rate("matched")
    if "durable" in times:
        r = rate("durable")
        rows.append(Row(f"`engine.decide` on `rules_backend=\"durable\"` (durable-rules "
                        f"{metadata.version('durable-rules')}), `.matched` only: "
                        f"{fmt_ratio(r / native)} the native back end" + sample("durable"),
                        fmt_rate(r), fmt_ratio(r / base), fmt_pct(spread(times["durable"]))))
    else:
        rows.append(not_installed("`rules_backend=\"durable\"`: durable-rules back end",
                                  '-e ".[durable]"'))
    for label, _, _ in PEERS:
        if label in versions:
            r = rate(label)
            rows.append(Row(f"{label} {versions[label]}: the 4 criteria as expressions, "
                            f"two-valued, no explanation{sample(label)}", fmt_rate(r),
                            fmt_ratio(r / base), fmt_pct(spread(times[label]))))
    for label, package in missing:
        rows.append(not_installed(f"{label}: the 4 criteria as expressions", package))
    return rows


def _memo_off_runner(at: Any) -> Callable[[list[dict[str, Any]]], float] | None:
    """A run on a fresh engine with the explanation memo limits set to 0 (private names: if
    they are gone, the diagnostic row is left out)."""
    try:
        from zorgflow.rules import expr, rulesets
    except ImportError:
        return None
    if not (hasattr(expr, "_MEMO_LIMIT") and hasattr(rulesets, "_CRITERION_MEMO")):
        return None
    eng = fresh_engine()
    decide = eng.decide

    def cold(inputs: list[dict[str, Any]]) -> float:
        saved = expr._MEMO_LIMIT, rulesets._CRITERION_MEMO
        expr._MEMO_LIMIT = rulesets._CRITERION_MEMO = 0
        try:
            start = perf_counter()
            for facts in inputs:
                d = decide("lzn", "afsluitcriteria", facts, at)
                d.matched  # noqa: B018
                d.explanation  # noqa: B018
            return perf_counter() - start
        finally:
            expr._MEMO_LIMIT, rulesets._CRITERION_MEMO = saved

    return cold


def _durable_runner(at: Any, check: list[dict[str, Any]]
                    ) -> Callable[[list[dict[str, Any]]], float] | None:
    """``engine.decide`` on an engine with the durable-rules back end (None when durable-rules
    is not installed). It must agree with the hand-written function on ``check`` first."""
    import zorgflow

    try:
        eng = zorgflow.Engine.from_directory(WORKFLOWS, rules_backend="durable")
    except zorgflow.MissingDependency:
        return None
    decide = eng.decide
    for i, facts in enumerate(check):
        ours = decide("lzn", "afsluitcriteria", facts, at).matched
        if list(ours) != afsluitcriteria_by_hand(facts):
            raise BenchError(f"the durable back end and the hand-written function disagree on "
                             f"input {i}: {facts}: {ours}")

    def durable(inputs: list[dict[str, Any]]) -> float:
        start = perf_counter()
        for facts in inputs:
            decide("lzn", "afsluitcriteria", facts, at).matched  # noqa: B018
        return perf_counter() - start

    return durable
