"""5. ``import zorgflow`` time beyond a bare interpreter.

``python -c "import zorgflow"`` and ``python -c "pass"`` are run in fresh subprocesses, taking
turns, ``runs`` times each; the difference of the medians is the cost of the import.

Measured with a warm bytecode cache, as after ``pip install`` (which compiles the package):
the subprocesses get ``PYTHONPYCACHEPREFIX`` pointing at a temporary folder (so nothing is
written into the source tree) and ``PYTHONDONTWRITEBYTECODE`` removed, and both commands run
once before timing. A diagnostic row repeats the measurement with the environment as it is: if
it sets ``PYTHONDONTWRITEBYTECODE``, every run compiles zorgflow's sources again. A third
command, taking turns with the two, imports only the modules from outside zorgflow that
``import zorgflow`` loads: no import of zorgflow can be cheaper. One more run with
``-X importtime`` names the modules that cost the most (for the notes).
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


def dependencies(env: dict[str, str]) -> list[str]:
    """The top-level modules from outside zorgflow that ``import zorgflow`` loads beyond what
    a bare interpreter has (the standard library's and PyYAML), importable by name."""
    code = ("import sys; before = set(sys.modules); import zorgflow; "
            "print(' '.join(sorted(m for m in set(sys.modules) - before if '.' not in m "
            "and not m.startswith(('_', 'zorgflow', 'cython')))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout
    return out.split()


def _measure(runs: int, env: dict[str, str], deps: list[str] | None = None
             ) -> tuple[list[float], list[float], list[float]]:
    """Wall times of a bare start, of ``import zorgflow`` and (with ``deps``) of importing
    only those modules, taking turns."""
    commands = ["pass", "import zorgflow"] + ([f"import {', '.join(deps)}"] if deps else [])
    for code in commands * 2:  # warm caches
        _wall(code, env)
    times: list[list[float]] = [[] for _ in commands]
    for i in range(runs):
        order = list(zip(commands, times, strict=True))
        for code, into in order if i % 2 == 0 else reversed(order):
            into.append(_wall(code, env))
    return times[0], times[1], times[2] if deps else []


def run(runs: int, diagnostic: bool = True) -> tuple[list[Row], list[tuple[str, float, float]]]:
    """The rows, and the costliest imports (warm cache) for the notes."""
    inherited = dict(os.environ)
    inherited.pop("PYTHONPROFILEIMPORTTIME", None)
    cache = tempfile.mkdtemp(prefix="zorgflow-bench-pycache-")
    try:
        warm = {k: v for k, v in inherited.items() if k != "PYTHONDONTWRITEBYTECODE"}
        warm["PYTHONPYCACHEPREFIX"] = cache
        deps = dependencies(warm)
        bare, loaded, floor = _measure(runs, warm, deps)
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
        Row(f"↳ diagnostic, the floor: importing only the {len(deps)} modules from outside "
            "zorgflow that it loads (the standard library's, PyYAML), beyond the bare "
            "interpreter", f"{(median(floor) - base) * 1000:.0f} ms",
            f"{median(floor) / base:.2f}× the bare start", fmt_pct(spread(floor))),
    ]
    if diagnostic and inherited.get("PYTHONDONTWRITEBYTECODE"):
        cold_bare, cold_loaded, _ = _measure(runs, inherited)
        cold = median(cold_loaded) - median(cold_bare)
        rows.append(Row("↳ diagnostic: the same with `PYTHONDONTWRITEBYTECODE` set, as in this "
                        "environment (sources compiled on every run)", f"{cold * 1000:.0f} ms",
                        f"{median(cold_loaded) / median(cold_bare):.2f}× the bare start",
                        fmt_pct(spread(cold_loaded))))
    return rows, top
