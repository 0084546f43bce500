"""5. ``import zorgflow`` time beyond a bare interpreter.

``python -c "import zorgflow"`` and ``python -c "pass"`` are run in fresh subprocesses, taking
turns, ``runs`` times each; the difference of the medians is the cost of the import.

Measured with a warm bytecode cache, as after ``pip install`` (which compiles the package):
the subprocesses get ``PYTHONPYCACHEPREFIX`` pointing at a temporary folder (so nothing is
written into the source tree) and ``PYTHONDONTWRITEBYTECODE`` removed, and both commands run
once before timing. A diagnostic row repeats the measurement with the environment as it is: if
it sets ``PYTHONDONTWRITEBYTECODE``, every run compiles zorgflow's sources again. One more run
with ``-X importtime`` names the modules that cost the most (for the notes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from .common import ROOT, Row, fmt_pct, median, perf_counter, section, spread


def _wall(code: str, env: dict[str, str]) -> float:
    start = perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return perf_counter() - start


def largest_imports(env: dict[str, str], top: int = 6) -> list[tuple[str, float, float]]:
    """(module, self ms, cumulative ms) of the costliest modules ``import zorgflow`` loads
    beyond what a bare interpreter loads."""
    bare = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True).stderr
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import zorgflow"], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stderr
    seen = {line.split("|")[-1].strip() for line in bare.splitlines() if "|" in line}
    rows = []
    for line in out.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = (p.strip() for p in line[len("import time:"):].split("|"))
        if name in seen:
            continue
        rows.append((name, int(own) / 1000, int(cumulative) / 1000))
    rows.sort(key=lambda r: r[1], reverse=True)
    return rows[:top]


def _measure(runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    for code in ("pass", "import zorgflow", "pass", "import zorgflow"):  # warm caches
        _wall(code, env)
    bare: list[float] = []
    loaded: list[float] = []
    for i in range(runs):
        pair = [("pass", bare), ("import zorgflow", loaded)]
        for code, into in pair if i % 2 == 0 else reversed(pair):
            into.append(_wall(code, env))
    return bare, loaded


def run(runs: int, diagnostic: bool = True) -> tuple[list[Row], list[tuple[str, float, float]]]:
    """The rows, and the costliest imports (warm cache) for the notes."""
    inherited = dict(os.environ)
    inherited.pop("PYTHONPROFILEIMPORTTIME", None)
    cache = tempfile.mkdtemp(prefix="zorgflow-bench-pycache-")
    try:
        warm = {k: v for k, v in inherited.items() if k != "PYTHONDONTWRITEBYTECODE"}
        warm["PYTHONPYCACHEPREFIX"] = cache
        bare, loaded = _measure(runs, warm)
        top = largest_imports(warm)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    base = median(bare)
    extra = median(loaded) - base
    rows = [
        section(f"**5. Import** — fresh subprocesses, {runs} runs each, medians, warm bytecode "
                "cache"),
        Row('`python -c "pass"` (baseline)', f"{base * 1000:.0f} ms", "1.00×",
            fmt_pct(spread(bare))),
        Row('`python -c "import zorgflow"`: time beyond the bare interpreter',
            f"{extra * 1000:.0f} ms", f"{median(loaded) / base:.2f}× the bare start",
            fmt_pct(spread(loaded)), "< 80 ms", extra < 0.080),
    ]
    if diagnostic and inherited.get("PYTHONDONTWRITEBYTECODE"):
        cold_bare, cold_loaded = _measure(runs, inherited)
        cold = median(cold_loaded) - median(cold_bare)
        rows.append(Row("↳ diagnostic: the same with `PYTHONDONTWRITEBYTECODE` set, as in this "
                        "environment (sources compiled on every run)", f"{cold * 1000:.0f} ms",
                        f"{median(cold_loaded) / median(cold_bare):.2f}× the bare start",
                        fmt_pct(spread(cold_loaded))))
    return rows, top
