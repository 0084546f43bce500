"""The benchmark suite still runs: `python bench/run.py --quick` exits 0 and prints every
section of the table. Nothing here is timed; the speeds are the bench's business."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_prints_every_section() -> None:
    results = ROOT / "bench" / "results" / "latest.md"
    before = results.stat().st_mtime_ns if results.exists() else None
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--no-write"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    table = run.stdout
    for title in ("**1. Decisions**", "**2. Events**", "**3. Memory per live case**",
                  "**4. Restore**", "**5. Import**", "**6. Stores**", "**7. Analysis**",
                  "**8. Migration**"):
        assert title in table, f"{title} is missing from the table:\n{table}"
    restore = table[table.index("**4. Restore**"):table.index("**5. Import**")]
    assert "models bound (baseline)" in restore
    assert "`Case.from_dict(d, verify=False)` + first `engine.fire`" in restore
    assert "Goals met:" in table
    after = results.stat().st_mtime_ns if results.exists() else None
    assert after == before, "--no-write wrote bench/results/latest.md"
